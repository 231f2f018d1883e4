"""expand: a figure's description (numpy_model/experiments.py, docs/model.md §11) -> its run folders."""
import os
import sys

from .. import experiments as ex
from ..io import atomic_write_bytes
from .common import DEFAULT_ROOT, RUN_META, json_bytes


def write_run_folder(d, params, args=(), values=None, params_file="params.json", figure=None):
    """Write one run folder (params file and run.json); only files whose content changes are
    rewritten. Returns True if anything was written."""
    os.makedirs(d, exist_ok=True)
    changed = False
    meta = {"figure": figure, "params": params_file, "args": list(args), "values": dict(values or {})}
    for name, data in ((params_file, json_bytes(params)), (RUN_META, json_bytes(meta))):
        path = os.path.join(d, name)
        try:
            with open(path, "rb") as fh:
                if fh.read() == data:
                    continue
        except OSError:
            pass
        atomic_write_bytes(path, data)
        changed = True
    return changed


def expand(name, root=DEFAULT_ROOT, out=None):
    """Write the run folders of figure `name` under `root` and its sweep.json. Returns the run count."""
    out = sys.stdout if out is None else out
    from ..params import ParamsError, validate
    fig = ex.FIGURES[name]
    specs = fig.runs()
    written, problems = 0, {}
    for spec in specs:
        d = os.path.join(root, spec.path)
        written += write_run_folder(d, spec.params, spec.args, spec.values, spec.params_file,
                                    figure=fig.alias_of or name)
        try:
            validate(spec.params, "fw_only", warn=lambda m: None)
        except ParamsError as exc:
            problems.setdefault(str(exc), []).append(spec.path)
    home = os.path.join(root, "sweeps", name)
    os.makedirs(home, exist_ok=True)
    desc = dict(fig.describe(), runs=[s.path for s in specs])
    atomic_write_bytes(os.path.join(home, "sweep.json"), json_bytes(desc))
    alias = f" (the runs of {fig.alias_of})" if fig.alias_of else ""
    print(f"{name}: {len(specs)} runs{alias} under {root}/ ({written} written, {len(specs) - written} "
          f"unchanged); description in {os.path.join(home, 'sweep.json')}", file=out)
    for msg, paths in problems.items():
        print(f"  note: {len(paths)} run(s) will fail as things stand ({paths[0]}"
              f"{', ...' if len(paths) > 1 else ''}): {msg}", file=out)
    return len(specs)
