"""cartpole_dynamics.png: cart position and pole angle of every student's closed-loop tests."""
import numpy as np
from matplotlib.lines import Line2D

from .draw import _line
from .figure import _student_handles
from .series import _series


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
