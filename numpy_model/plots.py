"""PNG figures of one run, as the published `plot_exp.plot` makes them (SPEC 10.1).

Entry point: `plot_run(models, out_dir, log=print) -> list[str]`, where `models` is the list saved to
model.pkl (teacher first if there is one, attribute `is_teacher`). It writes next to the params file:

* MSE.png, MSE_val.png, MSE_test.png: mean ± std over the students (log y);
* weights WPP_layer{i}, WIP_layer{i}, BPP_layer{i}, BII_layer{i}, BPI_layer{i}, BPP+BPI_layer{i}
  (sacramento2018), with the teacher's weights as constant black dashed lines where they correspond;
* voltages and rates uP_layer{i}, uP_breve_layer{i}, rP_breve_layer{i} (target overlay on the output),
  vbas_layer{i}, vapi_layer{i}, lat_mismatch_layer{i}, uI_layer0 and rI_breve_layer0 (output only);
* comparison angles angle_MC_BP_ANN{i}, angle_WPPT_BPP{i}, angle_WPPT_BII{i}, angle_jacobians_BP{i},
  angle_BPP_RHS{i}, angle_BII_RHS{i}, each with a `_mean` companion (mean ± std band);
* cartpole_dynamics.png when a student has a `state_log`.

Only series that were recorded (present and non-empty) are plotted; nothing else is written.
Differences from the published code, all for robustness or readability: an empty MSE series is skipped
instead of crashing; the MSE series is not sliced by TPRE (settling records carry no target, so it holds
no settling entries); entries of a weight matrix that are exactly zero for all records and students
(the unconnected entries of skip mode) are not drawn; at most MAX_LINES entries per student and figure
are drawn (evenly spaced; the title says so); cartpole_dynamics.png shows every student instead of the
last one. Figures use the object API (no pyplot state, one figure alive at a time), mathtext instead of
LaTeX (`text.usetex` is forced off), 200 dpi at 6×4 inches, and every PNG is written atomically with a
256-colour palette (about half the size of a true-colour PNG, no visible difference for line plots).
Long series are drawn as a per-pixel min/max envelope, so a Fig3 run (10 seeds, 1012 records, 10^5
angles per seed) plots in seconds.
"""
import io
import math
import os
import warnings

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from PIL import Image

from .io import atomic_write_bytes

DPI = 200
FIGSIZE = (6, 4)
MAX_LEGEND = 10      # legend entries at most (students beyond are summarised as "+N more")
MAX_LINES = 200      # matrix entries / neurons drawn per student and figure
MAX_BINS = 600       # long series are drawn as a min/max envelope of this many bins (~1.5 px each)

RC = {
    "text.usetex": False,
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 7,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "savefig.dpi": DPI,
}

# weight series: (record name, file prefix, mathtext label, draw teacher constants)
WEIGHTS = [
    ("WPP", "WPP", r"forward weights $W_{PP}$", True),
    ("WIP", "WIP", r"weights $W_{IP}$", True),
    ("BPP", "BPP", r"backward weights $B_{PP}$", False),
    ("BII", "BII", r"backward weights $B_{II}$", False),
    ("BPI", "BPI", r"weights $B_{PI}$", False),
]

# per-neuron series: (record name, file prefix, title, y label, which list entries -> file index)
#   "all": entry k -> layer{k+1};  "hidden": entries 0..L-3 -> layer{k+1};  "out": last entry -> layer0
NEURONS = [
    ("uP", "uP", r"somatic voltage $u_P$", "voltage (a.u.)", "all"),
    ("rP_breve", "rP_breve", r"lookahead rate $\breve{r}_P$", "rate (a.u.)", "all"),
    ("uP_breve", "uP_breve", r"lookahead voltage $\breve{u}_P$", "voltage (a.u.)", "all"),
    ("rP_breve_HI", "rP_breve_HI", r"high-passed lookahead rate $\breve{r}_P^{HI}$", "rate (a.u.)", "out"),
    ("uI", "uI", r"{unit} voltage $u_I$", "voltage (a.u.)", "out"),
    ("rI_breve", "rI_breve", r"{unit} lookahead rate $\breve{r}_I$", "rate (a.u.)", "out"),
    ("vbas", "vbas", r"basal potential $v_{bas}$", "voltage (a.u.)", "all"),
    ("vapi", "vapi", r"apical potential $v_{api}$ (before noise)", "voltage (a.u.)", "hidden"),
    ("lat_mismatch", "lat_mismatch", r"lateral mismatch $\breve{u}_I - \hat{v}_{bas}$", "voltage (a.u.)", "all"),
    ("vapi_noise", "vapi_noise", r"apical potential with noise $v_{api}$", "voltage (a.u.)", "all"),
    ("noise", "noise", "apical noise", "voltage (a.u.)", "all"),
    ("epsilon", "epsilon", r"$\epsilon$", "a.u.", "all"),
    ("epsilon_LO", "epsilon_LO", r"low-passed $\epsilon$", "a.u.", "all"),
]

# comparison angles: (attribute, file prefix, title, sliced by TPRE)
ANGLES = [
    ("angle_BP_updates_time_series", "angle_MC_BP_ANN",
     r"angle between $\Delta W_{{PP}}$ (network) and $\Delta W$ (backprop), layer {h}", False),
    ("angle_WPPT_BPP_time_series", "angle_WPPT_BPP",
     r"angle between $W_{{PP}}^T$ and $B_{{PP}}$, hidden layer {h}", True),
    ("angle_WPPT_BII_time_series", "angle_WPPT_BII",
     r"angle between $W_{{PP}}^T$ and $B_{{II}}$, index {i} (padding zeros included)", True),
    ("angle_jacobians_BP_time_series", "angle_jacobians_BP",
     r"angle between the Jacobians $J_g$ and $J_f^T$, hidden layer {h}", True),
    ("angle_BPP_RHS_time_series", "angle_BPP_RHS",
     r"angle between $B_{{PP}}$ and its steady-state RHS, hidden layer {h}", True),
    ("angle_BII_RHS_time_series", "angle_BII_RHS",
     r"angle between $B_{{II}}$ and its steady-state RHS, hidden layer {h}", True),
]


# ----------------------------------------------------------------------------------------------------
# small helpers

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
    """Number of settling records: int(settling_time/dt/rec_per_steps) (SPEC 8.2)."""
    try:
        return max(0, int(m.settling_time / m.dt / m.rec_per_steps))
    except (AttributeError, TypeError, ZeroDivisionError):
        return 0


def _colours(n):
    return [matplotlib.colormaps["rainbow"](v) for v in (np.linspace(0, 1, n) if n > 1 else [0.0])]


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


def _student_handles(students, colours):
    """Legend handles 'seed <s>' (at most MAX_LEGEND-1 plus '+N more')."""
    n = len(students)
    if n <= 1:
        return []
    show = n if n <= MAX_LEGEND else MAX_LEGEND - 1
    hs = [Line2D([], [], color=colours[i], lw=1.5, label=f"seed {getattr(students[i], 'seed', i)}")
          for i in range(show)]
    if show < n:
        hs.append(Line2D([], [], color="none", label=f"+{n - show} more seeds"))
    return hs


class _Writer:
    """Creates one figure at a time, saves it atomically as PNG and discards it."""

    def __init__(self, out_dir, log, strict):
        self.out_dir, self.log, self.strict = out_dir, log, strict
        self.written = []

    def new(self):
        fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        return fig, fig.add_subplot()

    def save(self, fig, name, handles=()):
        handles = list(handles)
        if handles:
            fig.legend(handles=handles, loc="outside right upper", frameon=False)
        path = os.path.join(self.out_dir, name + ".png")
        with warnings.catch_warnings():
            # constrained layout may warn that a long title does not fit: cosmetic, never fatal
            warnings.filterwarnings("ignore", message=".*constrained_layout.*")
            warnings.filterwarnings("ignore", message=".*[Ll]ayout.*not applied.*")
            fig.canvas.draw()
        rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3]
        fig.clear()
        # a 256-colour palette (no dithering) looks the same for line plots and halves the file size
        img = Image.fromarray(np.ascontiguousarray(rgb)).quantize(
            colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        buf = io.BytesIO()
        img.save(buf, format="PNG", dpi=(DPI, DPI))
        atomic_write_bytes(path, buf.getvalue())
        self.written.append(path)

    def run(self, name, func, *args):
        """Call one figure function; a failing figure is logged and skipped unless strict."""
        try:
            func(*args)
        except Exception as exc:  # noqa: BLE001 - one bad figure must not lose the others
            if self.strict:
                raise
            self.log(f"warning: could not plot {name}: {type(exc).__name__}: {exc}")


# ----------------------------------------------------------------------------------------------------
# figures

def _plot_mse(w, students, colours, which):
    """MSE.png (smoothed), MSE_val.png, MSE_test.png: mean ± std over students, log y."""
    attr = {"train": "MSE_time_series", "val": "MSE_val_time_series", "test": "MSE_test_time_series"}[which]
    have = [s for s in students if _series(s, attr) is not None]
    if not have:
        return
    m0 = have[0]
    rows = [np.asarray(_series(s, attr), dtype=float).ravel() for s in have]
    title2 = f"mean ± std over {len(have)} student{'s' if len(have) > 1 else ''}"
    D = getattr(m0, "dataset_size", None)
    T = None
    try:
        T = int(round(m0.Tpres / m0.dt))
    except (AttributeError, TypeError, ZeroDivisionError):
        pass
    if which == "train":
        try:
            win = max(1, int(10 * m0.Tpres / m0.dt / m0.rec_per_steps))
        except (AttributeError, TypeError, ZeroDivisionError):
            win = 1
        n = min(len(r) for r in rows)
        win = min(win, n)
        k = np.ones(win) / win
        rows = [np.convolve(r[:n], k, mode="valid") for r in rows]
        x0 = (win - 1) / 2
        name, title = "MSE", f"output MSE during training, validation and test\n{title2}"
        if win > 1:
            title += f", moving average over {win} records"
        xlabel = f"records with a target (1 record = {getattr(m0, 'rec_per_steps', '?')} dt)"
    elif which == "val":
        x0 = 0
        name = "MSE_val"
        title = f"validation MSE ({_validation_schedule(m0)})\n{title2}"
        xlabel = "validation step (dt); dashed lines: start of a new validation"
    else:
        x0 = 0
        name = "MSE_test"
        title = f"test MSE\n{title2}"
        xlabel = "test step (dt)"
    mean, std, A = _mean_std(rows)
    x = x0 + np.arange(len(mean))
    fig, ax = w.new()
    lo, hi = mean - std, mean + std
    pos_mean = mean[np.isfinite(mean) & (mean > 0)]
    logy = pos_mean.size > 0
    if logy:
        # mean - std is often <= 0 on a log axis: the band is cut at the bottom of the plot, which is
        # set by the mean curve (not by the band) so that the curve stays readable
        bottom = float(pos_mean.min()) * 0.5
        top = float(np.nanmax(np.where(np.isfinite(hi), hi, np.nan))) * 1.5
        lo = np.where(lo > bottom * 0.1, lo, bottom * 0.1)
        ax.set_yscale("log")
    _fill(ax, x, lo, hi)
    _line(ax, x, mean, color="k", lw=1.0)
    if logy:
        ax.set_ylim(bottom, max(top, bottom * 10))
    if which == "val" and D and T and len(mean) > D * T:
        for b in range(D * T, len(mean), D * T):
            ax.axvline(b, color="k", ls="--", lw=0.6, alpha=0.6)
    ax.set_xlim(x[0] - 0.5 if len(x) == 1 else x[0], x[-1] + 0.5 if len(x) == 1 else x[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("MSE (a.u.)" + (", log scale" if logy else ""))
    ax.set_title(title)
    handles = [Line2D([], [], color="k", lw=1.0, label="mean"),
               Patch(color="grey", alpha=0.35, label="± std")] if len(have) > 1 else []
    w.save(fig, name, handles)


def _validation_schedule(m):
    """'every k epochs' from the published rule (SPEC 7.2.3)."""
    E = getattr(m, "epochs", None)
    if not isinstance(E, (int, np.integer)) or E < 1:
        return "validation phases"
    ep = [e for e in range(E) if (E > 1 and (10 * e) % E == 0) or E == 1]
    if len(ep) <= 1:
        return f"{len(ep)} validation"
    steps = set(np.diff(ep).tolist())
    if len(steps) == 1:
        k = steps.pop()
        return f"{len(ep)} validations, every {k} epoch{'s' if k > 1 else ''}"
    return f"{len(ep)} validations"


def _teacher_reference(teacher, name, k, student, shape):
    """The teacher's matrix matching layer k of the student's `name` weights, as a flat array with NaN
    where there is no counterpart, or None. Layered students: same shape required. Skip-mode WPP (one
    full N×N matrix): the teacher's layered blocks are placed at their position in the full matrix."""
    if teacher is None:
        return None
    tw = getattr(teacher, name, None)
    if tw is None or len(tw) == 0:
        return None
    if k < len(tw) and np.shape(tw[k]) == tuple(shape):
        return np.ravel(np.asarray(tw[k], dtype=float))
    layers = list(getattr(student, "layers", []))
    N = sum(layers)
    if name == "WPP" and k == 0 and tuple(shape) == (N, N) and len(tw) == len(layers) - 1:
        ref = np.full((N, N), np.nan)
        off = np.concatenate([[0], np.cumsum(layers)])
        for i, blk in enumerate(tw):
            blk = np.asarray(blk, dtype=float)
            if blk.shape != (layers[i + 1], layers[i]):
                return None
            ref[off[i + 1]:off[i + 2], off[i]:off[i + 1]] = blk
        return ref.ravel()
    return None


def _weight_stacks(students, name, k, sum_with=None):
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


def _plot_weight_layer(w, students, colours, teacher, name, prefix, label, k, use_teacher, sum_with=None):
    stacks = _weight_stacks(students, name, k, sum_with)
    if all(st is None for st in stacks):
        return
    s0 = next(s for s, st in zip(students, stacks) if st is not None)
    shape = np.shape(_series(s0, name + "_time_series")[0][k])
    n_entries = max(st[1].shape[1] for st in stacks if st is not None)
    ref = _teacher_reference(teacher, name, k, s0, shape) if use_teacher and sum_with is None else None
    if ref is not None and ref.size != n_entries:
        ref = None
    used = np.zeros(n_entries, bool)
    for st in stacks:
        if st is not None and st[1].shape[1] == n_entries:
            with np.errstate(invalid="ignore"):
                used |= np.any(st[1] != 0, axis=0) & np.any(np.isfinite(st[1]), axis=0)
    if ref is not None:
        used |= np.isfinite(ref) & (ref != 0)
    idx = np.flatnonzero(used)
    hidden_zero = n_entries - idx.size
    if idx.size == 0:
        idx = np.arange(n_entries)      # all zero: draw them anyway (flat lines at 0)
        hidden_zero = 0
    sel = idx[_pick(idx.size)]
    fig, ax = w.new()
    ys, xs = [], []
    for st, c in zip(stacks, colours):
        if st is None or st[1].shape[1] != n_entries:
            continue
        x, Y = st
        _lines(ax, x, Y[:, sel], c)
        ys.append(Y[:, sel])
        xs.append(x)
    x0, x1 = min(x[0] for x in xs), max(x[-1] for x in xs)
    handles = _student_handles(students, colours)
    if ref is not None:
        vals = ref[sel]
        vals = np.unique(vals[np.isfinite(vals)])
        if vals.size:
            ax.hlines(vals, x0, x1, colors="k", linestyles="--", lw=0.8)
            ys.append(vals)
            handles.append(Line2D([], [], color="k", ls="--", lw=0.8, label="teacher"))
    _set_limits(ax, x0, x1, _finite_range(ys))
    skip_full = len(shape) == 2 and len(getattr(s0, "layers", [])) > 2 and shape[0] == shape[1] == sum(
        s0.layers) and name in ("WPP", "BII")
    if skip_full:
        where = f"(skip mode: full {_shape_str(shape)} matrix)"
    elif name == "BII" and len(shape) == 2 and shape[0] == shape[1] and shape[0] == sum(
            getattr(s0, "error_layers", [])[1:]):
        where = f"(skip mode: full {_shape_str(shape)} matrix)"
    else:
        where = f"layer {k + 1} ({_shape_str(shape)})"
    notes = []
    if hidden_zero:
        notes.append(f"{hidden_zero} always-zero entries not drawn")
    if sel.size < idx.size:
        notes.append(f"{sel.size} of {idx.size} entries drawn")
    title = f"{label} {where}"
    if notes:
        title += "\n" + "; ".join(notes)
    ax.set_title(title)
    ax.set_xlabel(_time_label(s0))
    ax.set_ylabel("weight (a.u.)")
    w.save(fig, f"{prefix}_layer{k + 1}", handles)


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


def _plot_neuron_layer(w, students, colours, name, prefix, label, ylabel, k, file_idx, where, target):
    stacks = _weight_stacks(students, name, k)
    if all(st is None for st in stacks):
        return
    s0 = next(s for s, st in zip(students, stacks) if st is not None)
    n = max(st[1].shape[1] for st in stacks if st is not None)
    sel = _pick(n)
    fig, ax = w.new()
    ys, xs = [], []
    handles = _student_handles(students, colours)
    drew_target = False
    for s, st, c in zip(students, stacks, colours):
        if st is None:
            continue
        (x, Y), t0 = st, _tpre(s)
        cols = sel[sel < Y.shape[1]]
        _lines(ax, x, Y[:, cols], c)
        ys.append(Y[:, cols])
        xs.append(x)
        if target:
            Tg = _target_stack(s, t0)
            if Tg is not None and Tg.shape[0] == Y.shape[0] and np.isfinite(Tg).any():
                _lines(ax, x, Tg, c if len(students) > 1 else "k", lw=1.0, ls="--", alpha=1.0)
                ys.append(Tg)
                drew_target = True
    if drew_target:
        handles.append(Line2D([], [], color="k" if len(students) == 1 else "grey", ls="--", lw=1.0,
                              label="target"))
    x0, x1 = min(x[0] for x in xs), max(x[-1] for x in xs)
    _set_limits(ax, x0, x1, _finite_range(ys))
    title = f"{label}, {where}"
    if sel.size < n:
        title += f"\n{sel.size} of {n} neurons drawn"
    ax.set_title(title)
    ax.set_xlabel(_time_label(s0))
    ax.set_ylabel(ylabel)
    w.save(fig, f"{prefix}_layer{file_idx}", handles)


def _plot_neurons(w, students, colours, name, prefix, label, ylabel, mode):
    attr = name + "_time_series"
    n = _n_layers(students, attr)
    if n == 0:
        return
    L = len(getattr(students[0], "layers", [])) or (n + 1)
    rate_target = bool(getattr(students[0], "rate_target", False))
    if mode == "out":
        kind = getattr(students[0], "mc_model", "")
        label = label.replace("{unit}", "interneuron" if kind in ("sacramento2018", "dPC") else "error-unit")
        todo = [(n - 1, 0, "output layer" if n == L - 1 else "last layer (mirrors the output)")]
    elif mode == "hidden":
        todo = [(k, k + 1, f"layer {k + 1}") for k in range(min(n, max(L - 2, 0)))]
    else:
        todo = [(k, k + 1, f"layer {k + 1}" + (" (output)" if k == L - 2 else "")) for k in range(n)]
    for k, fidx, where in todo:
        is_out = (k == n - 1) and n == L - 1
        target = is_out and ((name == "rP_breve" and rate_target) or (name == "uP_breve" and not rate_target))
        w.run(f"{prefix}_layer{fidx}", _plot_neuron_layer, w, students, colours, name, prefix, label,
              ylabel, k, fidx, where, target)


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


def _plot_angles(w, students, colours, attr, prefix, title_fmt, sliced):
    data = []
    for s in students:
        ser = _series(s, attr)
        A = None if ser is None else _angle_array(ser)
        if A is not None and sliced:
            A = A[_tpre(s):]
            if A.shape[0] == 0:
                A = None
        data.append(A)
    have = [(s, A, c) for s, A, c in zip(students, data, colours) if A is not None]
    if not have:
        return
    s0 = have[0][0]
    ncol = max(A.shape[1] for _, A, _ in have)
    t0 = _tpre(s0) if sliced else 0
    xlabel = _time_label(s0) if sliced else "trainset * epochs (one point per compared sample)"
    for i in range(ncol):
        title = title_fmt.format(i=i, h=i + 1)
        cols = [(s, A[:, i], c) for s, A, c in have if i < A.shape[1]]

        def one(i=i, title=title, cols=cols):
            fig, ax = w.new()
            for s, y, c in cols:
                _line(ax, t0 + np.arange(len(y)), y, color=c, lw=0.8)
            _finish_angle(ax, title, xlabel, sliced, [y for _, y, _ in cols], t0)
            w.save(fig, f"{prefix}{i}", _student_handles(students, colours))

        def mean(i=i, title=title, cols=cols):
            mu, sd, _ = _mean_std([y for _, y, _ in cols])
            x = t0 + np.arange(len(mu))
            fig, ax = w.new()
            _fill(ax, x, mu - sd, mu + sd)
            _line(ax, x, mu, color="k", lw=1.0)
            n = len(cols)
            _finish_angle(ax, title + f"\nmean ± std over {n} student{'s' if n > 1 else ''}", xlabel, sliced,
                          [mu - sd, mu + sd], t0)
            w.save(fig, f"{prefix}{i}_mean", [Line2D([], [], color="k", lw=1.0, label="mean"),
                                              Patch(color="grey", alpha=0.35, label="± std")])

        w.run(f"{prefix}{i}", one)
        w.run(f"{prefix}{i}_mean", mean)


def _finish_angle(ax, title, xlabel, sliced, ys, t0):
    n = max(len(y) for y in ys)
    if sliced:
        r = _finite_range(ys)
        _set_limits(ax, t0, t0 + n - 1, None if r is None else (min(r[0], 0.0), max(r[1], 1.0)))
    else:
        ax.set_xlim(0, max(n - 1, 1))
        ax.set_ylim(-5, 100)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("angle (degrees)")


def _plot_cartpole(w, students, colours):
    have = [(s, c) for s, c in zip(students, colours) if _series(s, "state_log") is not None]
    if not have:
        return
    fig, ax = w.new()
    for s, c in have:
        S = np.asarray(s.state_log, dtype=float)
        if S.ndim != 2 or S.shape[1] < 3:
            continue
        x = np.arange(S.shape[0])
        _line(ax, x, S[:, 0], color=c, lw=0.6)
        _line(ax, x, S[:, 2], color=c, lw=0.6, ls=":")
    ax.set_ylim(-1.5, 1.5)
    ax.set_xlabel("cart-pole step (dt)")
    ax.set_ylabel(r"$x$ (solid), $\theta$ in rad (dotted)")
    ax.set_title("cart-pole dynamics during the closed-loop tests")
    handles = _student_handles([s for s, _ in have], [c for _, c in have])
    handles += [Line2D([], [], color="k", lw=0.8, label=r"cart position $x$"),
                Line2D([], [], color="k", lw=0.8, ls=":", label=r"pole angle $\theta$")]
    w.save(fig, "cartpole_dynamics", handles)


# ----------------------------------------------------------------------------------------------------

def plot_run(models, out_dir, log=print, strict=False):
    """Write the PNG figures of one run into `out_dir` (SPEC 10.1) and return the written paths.

    `models` is the list saved to model.pkl (teacher first when `is_teacher`). Series that were not
    recorded, or are empty, are skipped silently. A figure that fails is reported through `log` and
    skipped (raised instead if `strict`). Each PNG is written atomically."""
    models = list(models or [])
    teacher = next((m for m in models if getattr(m, "is_teacher", False)), None)
    students = [m for m in models if not getattr(m, "is_teacher", False)]
    w = _Writer(out_dir, log, strict)
    if not students:
        return w.written
    os.makedirs(out_dir, exist_ok=True)
    colours = _colours(len(students))
    cartpole = getattr(students[0], "input_signal", None) == "cartpole"
    with matplotlib.rc_context(RC):
        w.run("MSE", _plot_mse, w, students, colours, "train")
        if not cartpole:
            w.run("MSE_val", _plot_mse, w, students, colours, "val")
            w.run("MSE_test", _plot_mse, w, students, colours, "test")
        for name, prefix, label, use_teacher in WEIGHTS:
            for k in range(_n_layers(students, name + "_time_series")):
                w.run(f"{prefix}_layer{k + 1}", _plot_weight_layer, w, students, colours, teacher, name,
                      prefix, label, k, use_teacher)
        if getattr(students[0], "mc_model", None) == "sacramento2018":
            n = min(_n_layers(students, "BPP_time_series"), _n_layers(students, "BPI_time_series"))
            for k in range(n):
                w.run(f"BPP+BPI_layer{k + 1}", _plot_weight_layer, w, students, colours, None, "BPP",
                      "BPP+BPI", r"sum of weights $B_{PP}+B_{PI}$", k, False, "BPI")
        for name, prefix, label, ylabel, mode in NEURONS:
            _plot_neurons(w, students, colours, name, prefix, label, ylabel, mode)
        for attr, prefix, title, sliced in ANGLES:
            _plot_angles(w, students, colours, attr, prefix, title, sliced)
        w.run("cartpole_dynamics", _plot_cartpole, w, students, colours)
    return w.written
