"""collect: one CSV row per seed of every done run of a group (written atomically)."""
import csv
import io
import math
import os
import sys

from ..io import atomic_write_bytes
from .common import DONE
from .. import provenance
from .folders import Liveness, refresh
from .metrics import student_metrics, students

BASE_COLUMNS = ["figure", "run", "state", "mc_model", "layers", "error_layers", "seed", "final_test_mse",
                "last_val_mse", "mean_update_angle", "update_angle_per_layer", "n_test_records",
                "version", "params_hash"]


def _header(group):
    value_keys = []
    for run in group.runs:
        for k in run.values:
            if k not in value_keys and k not in BASE_COLUMNS:
                value_keys.append(k)
    return BASE_COLUMNS[:2] + value_keys + BASE_COLUMNS[2:]


def _rows(group):
    """(rows, the runs left out with why)."""
    from ..io import LoadError, load_models
    live = Liveness()
    rows, missing = [], []
    for run in group.runs:
        st = refresh(run, live)
        if st["state"] != DONE:
            missing.append(f"{run.label} ({st['state']})")
            continue
        try:
            models = load_models(run.file("model.pkl"))
        except LoadError as exc:
            missing.append(f"{run.label} ({exc})")
            continue
        for m in students(models):
            row = {"figure": group.figure or run.figure or "", "run": run.label, "state": st["state"],
                   "mc_model": getattr(m, "mc_model", ""),
                   "layers": "-".join(str(x) for x in getattr(m, "layers", [])),
                   "error_layers": "-".join(str(x) for x in (getattr(m, "error_layers", None) or [])),
                   "seed": getattr(m, "seed", "")}
            row.update({k: v for k, v in run.values.items() if k not in BASE_COLUMNS})
            row.update(student_metrics(m))
            row.update(provenance.csv_fields(m))
            rows.append(row)
    return rows, missing


def _csv_bytes(header, rows):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: ("" if v is None or (isinstance(v, float) and math.isnan(v)) else
                        repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue().encode("utf-8")


def collect(group, out_path=None, out=None):
    """One CSV row per seed of every done run of `group`, written atomically. Returns (path, rows)."""
    out = sys.stdout if out is None else out
    header = _header(group)
    rows, missing = _rows(group)
    if out_path is None:
        out_path = os.path.join(group.home, "metrics.csv")
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    atomic_write_bytes(out_path, _csv_bytes(header, rows))
    n_runs = len(group.runs) - len(missing)
    print(f"{group.name}: wrote {len(rows)} rows ({n_runs} of {len(group.runs)} runs) to {out_path}", file=out)
    if missing:
        print(f"  not included ({len(missing)} runs not done): " + ", ".join(missing[:8])
              + (", ..." if len(missing) > 8 else ""), file=out)
    return out_path, rows
