"""``results.npz``: the saved networks as plain numeric arrays, for sharing results safely.

``model.pkl`` is a dill pickle, and loading a pickle can run arbitrary code. ``results.npz`` holds the
same recorded series and final arrays as numeric arrays only, so ``np.load(path)`` (default
``allow_pickle=False``) reads it without running anything. Key scheme (that of the golden files,
tests/fixtures/golden/README.md; ``m0`` is the teacher when there is one, then the students in
``random_seed`` order):

=================================  ==========================================================================
``m{i}/{attr}/L{l}``               a ``*_time_series`` whose records are per-layer arrays: layer ``l`` stacked
                                   over the records, shape ``(T, *layer shape)``
``m{i}/{attr}``                    a ``*_time_series`` of scalars or of per-layer scalars (MSE series,
                                   ``--compare BP`` angles): shape ``(T,)`` or ``(T, n)``
``final/m{i}/{name}/L{l}``         final per-layer state ``WPP``, ``WIP``, ``BPI``, ``BPP``/``BII``, ``uP``,
                                   ``uI``, ``uP_breve``, ``rP_breve``
``m{i}/input`` ... ``m{i}/target_testing``   the sequences the network was driven with (and the cart-pole
                                   ``state_log``, ``action_log``, ``penalty_log``)
``m{i}/seed``, ``m{i}/dt``, ...    numeric scalars of the object as 0-d arrays; ``m{i}/layers``,
                                   ``m{i}/error_layers`` as integer arrays
``meta``                           a JSON string (0-d unicode array): format, seeds, model kinds, layers,
                                   activations and the validated params of every network, and the run's
                                   provenance (``version``, ``git_commit``, ``numpy``, ``params_hash``,
                                   ``command``, ``host``, ``start_time``, ...: numpy_model/provenance.py)
=================================  ==========================================================================

A ``target_time_series`` record without a target (settling) is stored as a row of NaN. Not exported:
the random generator ``rng`` and the internal simulation ``state`` (only needed to continue or compare a
run: use model.pkl for that).
"""
import io
import json
import numbers

import numpy as np

from ..io import atomic_write_bytes

__all__ = ["FINAL_NAMES", "SEQUENCES", "export_npz", "npz_arrays"]

FORMAT = "numpy_model results.npz"
FORMAT_VERSION = 1
FINAL_NAMES = ("WPP", "WIP", "BPI", "BPP", "BII", "uP", "uI", "uP_breve", "rP_breve")
SEQUENCES = ("input", "input_validation", "input_testing", "target", "target_validation",
             "target_testing", "state_log", "action_log", "penalty_log")
# numeric scalars stored as m{i}/{name}; strings and lists go into meta
SCALARS = ("seed", "is_teacher", "rate_target", "dt", "Tpres", "dataset_size", "settling_time",
           "rec_per_steps", "epochs", "target_rescale_factor", "gl", "gbas", "gapi", "gden", "gnI",
           "gntgt", "format_version")
META_FIELDS = ("mc_model", "model_type", "layers", "error_layers", "activation", "input_signal",
               "fw_connection_mode", "bw_connection_mode", "eta_fw", "eta_IP", "eta_PI", "format_version",
               "diverged")


def _float(a):
    return np.asarray(a, dtype=np.float64)


def _numeric(v):
    """bool, int64 or float64 array of a scalar or list; ints beyond int64 become float64."""
    a = np.asarray(v)
    if a.dtype == bool or a.dtype.kind in "iuf":
        return a.astype(np.float64 if a.dtype.kind == "u" else a.dtype, copy=False)
    if a.dtype == object:       # Python ints beyond int64
        return a.astype(np.float64)
    raise TypeError(f"not numeric ({a.dtype})")


def _is_scalar(v):
    return isinstance(v, numbers.Number) or (isinstance(v, np.ndarray) and v.ndim == 0)


def _scalar_or_nan(v):
    return np.nan if v is None else v


def _series_arrays(attr, series):
    """{key suffix: array} for one *_time_series list (see the module docstring)."""
    if len(series) == 0:
        return {attr: np.zeros((0,))}
    first = series[0]
    if not isinstance(first, (list, tuple)):
        return {attr: _float([_scalar_or_nan(v) for v in series])}
    if all(v is not None and _is_scalar(v) for v in first):      # per-layer scalars, e.g. angles
        return {attr: _float([[_scalar_or_nan(v) for v in rec] for rec in series])}
    # per-layer arrays; None (e.g. no target during settling) becomes NaN of the layer's shape
    out = {}
    for lay in range(len(first)):
        shape = next((np.shape(rec[lay]) for rec in series if rec[lay] is not None), ())
        out[f"{attr}/L{lay}"] = _float([np.full(shape, np.nan) if rec[lay] is None else rec[lay]
                                        for rec in series])
    return out


def _jsonable(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return v if v is None or isinstance(v, (str, bool, int, float)) else repr(v)


def npz_arrays(models):
    """The ``{key: array}`` dict that :func:`export_npz` writes (plus ``meta``)."""
    arrays, skipped, meta_models = {}, [], []
    for i, m in enumerate(models):
        attrs = vars(m)
        pre = f"m{i}"
        for attr in sorted(a for a in attrs if a.endswith("_time_series")):
            try:
                for suffix, arr in _series_arrays(attr, list(attrs[attr])).items():
                    arrays[f"{pre}/{suffix}"] = arr
            except (TypeError, ValueError) as exc:   # ragged or non-numeric: keep the others
                skipped.append(f"{pre}/{attr}: {exc}")
        for name in FINAL_NAMES + SEQUENCES:
            value = attrs.get(name)
            try:
                if name in FINAL_NAMES and isinstance(value, (list, tuple)):
                    for lay, a in enumerate(value):
                        arrays[f"final/{pre}/{name}/L{lay}"] = _float(a)
                elif name in SEQUENCES and value is not None:
                    arrays[f"{pre}/{name}"] = _float(value)
            except (TypeError, ValueError) as exc:
                skipped.append(f"{pre}/{name}: {exc}")
        for name in SCALARS + ("layers", "error_layers"):
            if isinstance(attrs.get(name), (numbers.Number, list, tuple, np.ndarray)):
                try:
                    arrays[f"{pre}/{name}"] = _numeric(attrs[name])
                except (TypeError, ValueError, OverflowError) as exc:
                    skipped.append(f"{pre}/{name}: {exc}")
        info = {"index": i, "key": pre, "role": "teacher" if attrs.get("is_teacher") else "student",
                "seed": _jsonable(attrs.get("seed"))}
        info.update({k: _jsonable(attrs[k]) for k in META_FIELDS if k in attrs})
        info["params"] = _jsonable(attrs.get("params"))
        meta_models.append(info)
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "seeds": [mm["seed"] for mm in meta_models if mm["role"] == "student"],
        "teacher_seed": next((mm["seed"] for mm in meta_models if mm["role"] == "teacher"), None),
        "models": meta_models, "skipped": skipped,
        "key_scheme": "m{i}/{attr}/L{l}, m{i}/{attr}, final/m{i}/{name}/L{l}, m{i}/input..., m{i}/seed, "
                      "meta; m0 is the teacher when there is one (see numpy_model/analysis/export.py)",
    }
    from ..provenance import of_models
    prov = of_models(models)
    if prov:
        meta.update({k: _jsonable(v) for k, v in prov.items() if k not in meta})
    arrays["meta"] = np.array(json.dumps(meta, allow_nan=True))
    return arrays


def export_npz(models, path):
    """Write ``results.npz`` atomically (temporary file + rename); returns the dict written."""
    arrays = npz_arrays(models)
    buf = io.BytesIO()
    np.savez(buf, **arrays)          # uncompressed: float64 weights barely compress, and zlib costs
    # seconds per run on the 10-1000-784 nets
    atomic_write_bytes(path, buf.getvalue())
    return arrays
