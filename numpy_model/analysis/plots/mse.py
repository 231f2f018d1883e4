"""MSE.png, MSE_val.png, MSE_test.png: mean ± std over the students, log y."""
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ...timing import train_steps, validation_epochs
from .draw import _fill, _line, _mean_std
from .series import _series


def _mse_rows(students, attr):
    """The students that recorded `attr` and their series as flat float arrays."""
    have = [s for s in students if _series(s, attr) is not None]
    return have, [np.asarray(_series(s, attr), dtype=float).ravel() for s in have]


def _over(have):
    return f"mean ± std over {len(have)} student{'s' if len(have) > 1 else ''}"


def _mean_band(w, name, rows, x0, title, xlabel, n_students, boundaries=()):
    """Write `name`.png: mean (black) ± std (grey band) over the rows from x = x0 on, log y when the
    mean has positive values; dashed vertical lines at `boundaries`."""
    mean, std, _ = _mean_std(rows)
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
    for b in boundaries:
        ax.axvline(b, color="k", ls="--", lw=0.6, alpha=0.6)
    ax.set_xlim(x[0] - 0.5 if len(x) == 1 else x[0], x[-1] + 0.5 if len(x) == 1 else x[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("MSE (a.u.)" + (", log scale" if logy else ""))
    ax.set_title(title)
    handles = [Line2D([], [], color="k", lw=1.0, label="mean"),
               Patch(color="grey", alpha=0.35, label="± std")] if n_students > 1 else []
    w.save(fig, name, handles)


def _smoothing_window(m):
    """Moving-average window of MSE.png in records, at least 1: the published int(10·Tpres/dt/rec_per_steps)
    (docs/model.md §10.1), which truncates the product, not T (so it is not 10·T/rec_per_steps)."""
    try:
        return max(1, int(10 * m.Tpres / m.dt / m.rec_per_steps))
    except (AttributeError, TypeError, ZeroDivisionError):
        return 1


def _plot_mse_train(w, students):
    """MSE.png: the training MSE, smoothed over about 10 samples."""
    have, rows = _mse_rows(students, "MSE_time_series")
    if not have:
        return
    m0 = have[0]
    n = min(len(r) for r in rows)
    win = min(_smoothing_window(m0), n)
    k = np.ones(win) / win
    rows = [np.convolve(r[:n], k, mode="valid") for r in rows]
    title = f"output MSE during training, validation and test\n{_over(have)}"
    if win > 1:
        title += f", moving average over {win} records"
    xlabel = f"records with a target (1 record = {getattr(m0, 'rec_per_steps', '?')} dt)"
    _mean_band(w, "MSE", rows, (win - 1) / 2, title, xlabel, len(have))


def _validation_boundaries(n, dataset_size, Tpres, dt):
    """Positions in a validation MSE series of n steps where a new validation starts: every D·T steps,
    one pass over the D validation samples of T = int(Tpres/dt) steps each, truncated as the simulator
    does (docs/model.md §6.1, §7.2); none if a single validation fits or D, T are unknown."""
    try:
        span = train_steps(dataset_size, Tpres, dt)
    except (TypeError, ValueError, OverflowError, ZeroDivisionError):
        return []
    if not span or n <= span:
        return []
    return list(range(span, n, span))


def _plot_mse_val(w, students):
    """MSE_val.png: the validation MSE, all validations one after the other."""
    have, rows = _mse_rows(students, "MSE_val_time_series")
    if not have:
        return
    m0 = have[0]
    title = f"validation MSE ({_validation_schedule(m0)})\n{_over(have)}"
    xlabel = "validation step (dt); dashed lines: start of a new validation"
    bounds = _validation_boundaries(min(len(r) for r in rows), getattr(m0, "dataset_size", None),
                                    getattr(m0, "Tpres", None), getattr(m0, "dt", None))
    _mean_band(w, "MSE_val", rows, 0, title, xlabel, len(have), bounds)


def _plot_mse_test(w, students):
    """MSE_test.png: the test MSE."""
    have, rows = _mse_rows(students, "MSE_test_time_series")
    if not have:
        return
    _mean_band(w, "MSE_test", rows, 0, f"test MSE\n{_over(have)}", "test step (dt)", len(have))


def _validation_schedule(m):
    """'every k epochs' from the published rule (docs/model.md §7.2)."""
    E = getattr(m, "epochs", None)
    if not isinstance(E, (int, np.integer)) or E < 1:
        return "validation phases"
    ep = validation_epochs(int(E))
    if len(ep) <= 1:
        return f"{len(ep)} validation"
    steps = set(np.diff(ep).tolist())
    if len(steps) == 1:
        k = steps.pop()
        return f"{len(ep)} validations, every {k} epoch{'s' if k > 1 else ''}"
    return f"{len(ep)} validations"
