"""Comparison angles (--compare BP): one line per student, and a mean ± std companion."""
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .draw import _fill, _finite_range, _line, _mean_std, _set_limits
from .figure import _student_handles
from .series import _angle_array, _series, _time_label, _tpre

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
