"""MSE.png, MSE_val.png, MSE_test.png: mean ± std over the students, log y."""
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .draw import _fill, _line, _mean_std
from .series import _series


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
