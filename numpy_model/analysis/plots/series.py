"""Accessors of the saved network objects (model.pkl): recorded series, per-layer stacks, labels."""
import numpy as np

from ...timing import settling_records


def _series(m, name):
    """The recorded series `name` of network m, or None if it was not recorded or is empty."""
    s = getattr(m, name, None)
    if s is None:
        return None
    try:
        if len(s) == 0:
            return None
    except TypeError:
        return None
    return s


def _tpre(m):
    """TPRE, the number of settling records of network m (timing.settling_records, docs/model.md §8.2);
    0 if m does not say."""
    try:
        return settling_records(m.settling_time, m.dt, m.rec_per_steps)
    except (AttributeError, TypeError, ZeroDivisionError):
        return 0


def _time_label(m):
    rps = getattr(m, "rec_per_steps", None)
    return f"time (records; 1 record = {rps} dt)" if rps is not None else "time (records)"


def _shape_str(shape):
    return "×".join(str(int(d)) for d in shape) if len(shape) else "scalar"


def _entry(rec, k):
    """Layer k of one record as a flat float array, or None (e.g. a target entry [None])."""
    v = rec[k]
    if v is None:
        return None
    return np.ravel(np.asarray(v, dtype=float))


def _stack(series, k, start):
    """(records, entries) float array of layer k from record `start` on; None entries become NaN."""
    rows = [_entry(rec, k) for rec in series[start:]]
    n = max((r.size for r in rows if r is not None), default=0)
    if not rows or n == 0:
        return None
    out = np.full((len(rows), n), np.nan)
    for i, r in enumerate(rows):
        if r is not None and r.size == n:
            out[i] = r
    return out


def _layer_stacks(students, name, k, sum_with=None):
    """Per student (or None): (x, Y) of layer k of the series `name` (+ `sum_with`) from TPRE on
    (weights, voltages and rates alike)."""
    out = []
    for s in students:
        ser = _series(s, name + "_time_series")
        if ser is None or k >= len(ser[0]):
            out.append(None)
            continue
        t0 = _tpre(s)
        Y = _stack(ser, k, t0)
        if Y is not None and sum_with is not None:
            other = _series(s, sum_with + "_time_series")
            Y2 = _stack(other, k, t0) if other is not None and k < len(other[0]) else None
            Y = Y + Y2 if Y2 is not None and Y2.shape == Y.shape else None
        out.append(None if Y is None else (t0 + np.arange(Y.shape[0]), Y))
    return out


def _n_layers(students, attr):
    n = 0
    for s in students:
        ser = _series(s, attr)
        if ser is not None:
            try:
                n = max(n, len(ser[0]))
            except TypeError:
                pass
    return n


def _target_stack(s, t0):
    """(records, n_out) targets from target_time_series (entries [y] or [None]) from t0 on, or None."""
    ser = _series(s, "target_time_series")
    if ser is None:
        return None
    return _stack(ser, 0, t0)


def _angle_array(a):
    """An angle series as a (rows, columns) float array, or None."""
    try:
        A = np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        rows = [np.ravel(np.asarray(r, dtype=float)) for r in a]
        n = max((r.size for r in rows), default=0)
        A = np.full((len(rows), n), np.nan)
        for i, r in enumerate(rows):
            A[i, :r.size] = r
    if A.ndim == 0 or A.size == 0:
        return None
    if A.ndim == 1:
        A = A[:, None]
    elif A.ndim > 2:
        A = A.reshape(A.shape[0], -1)
    return A
