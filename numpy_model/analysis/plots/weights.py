"""Weight figures: one line per matrix entry and student, the teacher's weights as constants."""
import numpy as np
from matplotlib.lines import Line2D

from .draw import _finite_range, _lines, _pick, _set_limits
from .figure import _student_handles
from .series import _layer_stacks, _n_layers, _series, _shape_str, _time_label

# weight series: (record name, file prefix, mathtext label, draw teacher constants)
WEIGHTS = [
    ("WPP", "WPP", r"forward weights $W_{PP}$", True),
    ("WIP", "WIP", r"weights $W_{IP}$", True),
    ("BPP", "BPP", r"backward weights $B_{PP}$", False),
    ("BII", "BII", r"backward weights $B_{II}$", False),
    ("BPI", "BPI", r"weights $B_{PI}$", False),
]


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


def _drawn_entries(stacks, n_entries, ref):
    """(indices of the entries to draw, number of always-zero entries left out): an entry is left out
    when it is exactly zero (or NaN) in every record of every student and in the teacher's matrix."""
    used = np.zeros(n_entries, bool)
    for st in stacks:
        if st is not None and st[1].shape[1] == n_entries:
            with np.errstate(invalid="ignore"):
                used |= np.any(st[1] != 0, axis=0) & np.any(np.isfinite(st[1]), axis=0)
    if ref is not None:
        used |= np.isfinite(ref) & (ref != 0)
    idx = np.flatnonzero(used)
    if idx.size == 0:
        return np.arange(n_entries), 0      # all zero: draw them anyway (flat lines at 0)
    return idx, n_entries - idx.size


def _weight_title(label, s0, name, k, shape, hidden_zero, n_drawn, n_used):
    """'<label> layer k (shape)' or '<label> (skip mode: full N×N matrix)', plus what was left out."""
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
    if n_drawn < n_used:
        notes.append(f"{n_drawn} of {n_used} entries drawn")
    title = f"{label} {where}"
    if notes:
        title += "\n" + "; ".join(notes)
    return title


def _draw_teacher(ax, ref, x0, x1, ys, handles):
    """The teacher's (finite, distinct) values as black dashed constants from x0 to x1."""
    vals = np.unique(ref[np.isfinite(ref)])
    if vals.size:
        ax.hlines(vals, x0, x1, colors="k", linestyles="--", lw=0.8)
        ys.append(vals)
        handles.append(Line2D([], [], color="k", ls="--", lw=0.8, label="teacher"))


def _plot_weight_layer(w, students, colours, teacher, name, prefix, label, k, use_teacher, sum_with=None):
    """{prefix}_layer{k+1}.png: the entries of layer k of the weights `name` (+ `sum_with`) over time."""
    stacks = _layer_stacks(students, name, k, sum_with)
    if all(st is None for st in stacks):
        return
    s0 = next(s for s, st in zip(students, stacks) if st is not None)
    shape = np.shape(_series(s0, name + "_time_series")[0][k])
    n_entries = max(st[1].shape[1] for st in stacks if st is not None)
    ref = _teacher_reference(teacher, name, k, s0, shape) if use_teacher and sum_with is None else None
    if ref is not None and ref.size != n_entries:
        ref = None
    idx, hidden_zero = _drawn_entries(stacks, n_entries, ref)
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
        _draw_teacher(ax, ref[sel], x0, x1, ys, handles)
    _set_limits(ax, x0, x1, _finite_range(ys))
    ax.set_title(_weight_title(label, s0, name, k, shape, hidden_zero, sel.size, idx.size))
    ax.set_xlabel(_time_label(s0))
    ax.set_ylabel("weight (a.u.)")
    w.save(fig, f"{prefix}_layer{k + 1}", handles)


def _plot_weights(w, students, colours, teacher):
    """Every layer of every recorded weight series; BPP+BPI for sacramento2018."""
    for name, prefix, label, use_teacher in WEIGHTS:
        for k in range(_n_layers(students, name + "_time_series")):
            w.run(f"{prefix}_layer{k + 1}", _plot_weight_layer, w, students, colours, teacher, name,
                  prefix, label, k, use_teacher)
    if getattr(students[0], "mc_model", None) == "sacramento2018":
        n = min(_n_layers(students, "BPP_time_series"), _n_layers(students, "BPI_time_series"))
        for k in range(n):
            w.run(f"BPP+BPI_layer{k + 1}", _plot_weight_layer, w, students, colours, None, "BPP",
                  "BPP+BPI", r"sum of weights $B_{PP}+B_{PI}$", k, False, "BPI")
