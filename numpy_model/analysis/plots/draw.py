"""Drawing long series: evenly picked lines, min/max envelopes per pixel bin, axis limits, mean ± std."""
import math
import warnings

import numpy as np
from matplotlib.collections import LineCollection

MAX_LINES = 200      # matrix entries / neurons drawn per student and figure
MAX_BINS = 600       # long series are drawn as a min/max envelope of this many bins (~1.5 px each)


def _pick(n, limit=MAX_LINES):
    """Evenly spaced indices (at most `limit`) out of range(n)."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(int))


def _finite_range(arrays):
    lo, hi = math.inf, -math.inf
    for a in arrays:
        a = np.asarray(a, dtype=float)
        a = a[np.isfinite(a)]
        if a.size:
            lo, hi = min(lo, float(a.min())), max(hi, float(a.max()))
    return (lo, hi) if lo <= hi else None


def _set_limits(ax, x0, x1, yrange):
    if x1 <= x0:
        x0, x1 = x0 - 0.5, x0 + 0.5
    ax.set_xlim(x0, x1)
    if yrange is None:
        ax.set_ylim(-1, 1)
        return
    lo, hi = yrange
    pad = 0.05 * (hi - lo) if hi > lo else max(abs(hi) * 0.05, 1e-3)
    ax.set_ylim(lo - pad, hi + pad)


def _decimate(x, Y, bins=None):
    """Min/max envelope per bin of the rows of Y (records, lines): at most 2·bins points per line that
    look the same at figure resolution. Returns (X, Yd), both (points, lines)."""
    bins = bins or MAX_BINS
    x = np.asarray(x, dtype=float)
    R, n = Y.shape
    if R <= 2 * bins:
        return np.repeat(x[:, None], n, axis=1), Y
    b = -(-R // bins)
    nb = -(-R // b)
    pad = nb * b - R
    Yp = np.concatenate([Y, np.repeat(Y[-1:], pad, axis=0)]) if pad else Y
    Yb = Yp.reshape(nb, b, n)
    nan = np.isnan(Yb)
    imin = np.where(nan, np.inf, Yb).argmin(axis=1)            # (nb, n); NaN-only bins stay NaN
    imax = np.where(nan, -np.inf, Yb).argmax(axis=1)
    first, second = np.minimum(imin, imax), np.maximum(imin, imax)
    base = (np.arange(nb) * b)[:, None]
    rows = np.stack([base + first, base + second], axis=1).reshape(2 * nb, n)
    rows = np.minimum(rows, R - 1)
    return x[rows], np.take_along_axis(Y, rows, axis=0)


def _band(x, lo, hi, bins=None):
    """Bin-wise min of lo and max of hi (for fill_between of long series)."""
    bins = bins or MAX_BINS
    R = len(x)
    if R <= 2 * bins:
        return x, lo, hi
    b = -(-R // bins)
    starts = np.arange(0, R, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo_b = np.fmin.reduceat(lo, starts)
        hi_b = np.fmax.reduceat(hi, starts)
    xb = np.asarray(x, dtype=float)[np.minimum(starts + b // 2, R - 1)]
    return xb, lo_b, hi_b


def _lines(ax, x, Y, colour, lw=0.8, ls="-", alpha=1.0):
    """Draw every column of Y (records, lines) against x as one LineCollection."""
    if Y.size == 0:
        return
    X, Yd = _decimate(x, Y)
    segs = np.stack([X.T, Yd.T], axis=-1)
    ax.add_collection(LineCollection(segs, colors=[colour], linewidths=lw, linestyles=ls, alpha=alpha))


def _line(ax, x, y, **kw):
    """ax.plot of one long series, decimated."""
    X, Y = _decimate(x, np.asarray(y, dtype=float)[:, None])
    ax.plot(X[:, 0], Y[:, 0], **kw)


def _fill(ax, x, lo, hi):
    xb, lb, hb = _band(x, np.asarray(lo, dtype=float), np.asarray(hi, dtype=float))
    ax.fill_between(xb, lb, hb, color="grey", alpha=0.35, lw=0)


def _mean_std(rows):
    """Mean and std over students of equally long rows (truncated to the shortest)."""
    n = min(len(r) for r in rows)
    A = np.array([np.asarray(r[:n], dtype=float) for r in rows])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(A, axis=0), np.nanstd(A, axis=0), A
