"""`runner.py --load`: never silently replace another run's outputs.

``--load B/model.pkl --params A/params.json`` writes model.pkl and results.npz next to A/params.json.
:func:`params_diff` names the params keys in which the loaded networks differ from A/params.json (the
command line prints them as one warning); :func:`foreign_outputs` lists the files in A that belong to a
different run than the loaded one (the command line refuses to overwrite them without ``--force``).
Replotting a run in its own folder (``--load A/model.pkl``) is never refused.
"""
import hashlib
import json
import os

from .provenance import canonical_params_json, of_models

__all__ = ["foreign_outputs", "npz_run_id", "params_diff", "saved_params"]


def saved_params(models):
    """The params the loaded students were run with (students share them), or None."""
    students = [m for m in models if not getattr(m, "is_teacher", False)] or list(models)
    for m in students:
        p = getattr(m, "params", None)
        if isinstance(p, dict):
            return p
    return None


def params_diff(models, P):
    """Sorted keys whose values differ between the loaded networks' params and ``P`` (keys present in
    only one of them count); [] when they agree or the networks carry no params."""
    saved = saved_params(models)
    if saved is None:
        return []
    # backend, specialize: how the loop ran (same results within rounding), absent before they existed
    keys = {k for k in set(saved) | set(P) if not str(k).startswith("_comment") and k not in ("backend", "specialize")}

    def canon(d, k):
        return canonical_params_json({"v": d[k]}) if k in d else None
    return sorted(k for k in keys if canon(saved, k) != canon(P, k))


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


def _same_bytes(a, b):
    try:
        return os.path.getsize(a) == os.path.getsize(b) and _sha256(a) == _sha256(b)
    except OSError:
        return False


def npz_run_id(path):
    """The ``run_id`` in a results.npz's meta (no pickle involved), or None."""
    import numpy as np
    try:
        with np.load(path) as z:
            return json.loads(str(z["meta"])).get("run_id")
    except Exception:  # noqa: BLE001 - unreadable or older file: no identity
        return None


def foreign_outputs(load_path, models, out_pkl, out_npz):
    """Existing ``out_pkl`` / ``out_npz`` that are not outputs of the run in ``load_path``. [] when
    loading a run in its own folder: ``out_pkl`` is the loaded file, or ``out_npz`` carries the loaded
    run's ``run_id`` (model.pkl and results.npz are written together). Otherwise a model.pkl that is
    not a byte-identical copy of the loaded one, and any results.npz, belong to another run."""
    if os.path.exists(out_pkl) and _same_file(load_path, out_pkl):
        return []
    run_id = (of_models(models) or {}).get("run_id")
    if run_id is not None and os.path.exists(out_npz) and npz_run_id(out_npz) == run_id:
        return []
    foreign = []
    if os.path.exists(out_pkl) and not _same_bytes(load_path, out_pkl):
        foreign.append(out_pkl)
    if os.path.exists(out_npz):
        foreign.append(out_npz)
    return foreign
