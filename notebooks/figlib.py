"""Loading, reducing and plotting helpers for the figure notebooks (docs/model.md §10.2).

The notebooks in this folder import this module (they put their own folder on `sys.path`), so
their cells stay short and the reductions below can be unit-tested (tests/test_notebooks.py).

Everything works on the objects saved in `model.pkl` (a dill list, teacher first when there is
one; §8.4) through their published attribute names only, so the same code reads the runs of
this package (`numpy_model.io.Network`) and, where the classes can be unpickled, published ones.

Only numpy, scipy, matplotlib and dill are used; matplotlib without LaTeX (mathtext only).
"""
import glob
import os
import re

import dill
import numpy as np

#: entries of penalty_log / action_log per cart-pole test: sim - 1 = int(200/dt) - 1 (§7.5)
CARTPOLE_STEPS_PER_TEST = 19999
#: rows of state_log per cart-pole test (the initial state plus one per step)
CARTPOLE_ROWS_PER_TEST = 20000


class NoRunsFound(FileNotFoundError):
    """Raised when a notebook finds none of the runs it needs."""


# --------------------------------------------------------------------------------------------
# matplotlib set-up and saving
# --------------------------------------------------------------------------------------------

def setup_matplotlib():
    """No LaTeX (mathtext only), readable sizes, 200 dpi files like the published plots."""
    import matplotlib
    import matplotlib.pyplot as plt
    matplotlib.rcParams.update({
        "text.usetex": False,
        "font.size": 10,
        "axes.titlesize": 10,
        "axes.labelsize": 10,
        "legend.fontsize": 8,
        "savefig.dpi": 200,
        "savefig.bbox": "tight",
        "figure.dpi": 100,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })
    return plt


def save_figure(fig, out_dir, name, formats=("png", "pdf")):
    """Save `fig` as OUT_DIR/name.<fmt> for each format, print and return the paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for fmt in formats:
        path = os.path.join(out_dir, f"{name}.{fmt}")
        fig.savefig(path)
        print("saved", os.path.normpath(path))
        paths.append(path)
    return paths


# --------------------------------------------------------------------------------------------
# finding and loading runs
# --------------------------------------------------------------------------------------------

def natural_key(text):
    """Sort key that orders lr2 before lr10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(text))]


def load_models(path):
    """dill-load a model.pkl: a list of saved networks (teacher first when there is one).
    Pickles can run code when loaded: only load files you trust."""
    with open(path, "rb") as fh:
        models = dill.load(fh)
    if not isinstance(models, (list, tuple)) or len(models) == 0:
        raise ValueError(f"{path}: expected a non-empty list of networks, got {type(models).__name__}")
    return list(models)


def load_run(path, quiet=False):
    """Models of one model.pkl, or None (with a printed note) if the file is missing."""
    if not os.path.isfile(path):
        if not quiet:
            print(f"note: skipping missing run {os.path.normpath(path)}")
        return None
    return load_models(path)


def load_runs(pattern_or_paths, quiet=False):
    """{path: models} for a glob pattern (sorted naturally) or an explicit list of paths.
    Missing paths of an explicit list are skipped with a printed note."""
    if isinstance(pattern_or_paths, str):
        paths = sorted(glob.glob(pattern_or_paths), key=natural_key)
    else:
        paths = list(pattern_or_paths)
    runs = {}
    for path in paths:
        models = load_run(path, quiet=quiet)
        if models is not None:
            runs[path] = models
    return runs


def format_ranges(indices):
    """[0, 1, 2, 5, 7, 8] -> '0-2, 5, 7-8'."""
    out, idx = [], sorted(indices)
    i = 0
    while i < len(idx):
        j = i
        while j + 1 < len(idx) and idx[j + 1] == idx[j] + 1:
            j += 1
        out.append(f"{idx[i]}" if i == j else f"{idx[i]}-{idx[j]}")
        i = j + 1
    return ", ".join(out)


def require_runs(found, directory, what="runs"):
    """Raise NoRunsFound naming `directory` if nothing was found."""
    if not found:
        raise NoRunsFound(f"no {what} found under {os.path.abspath(directory)} "
                          f"(set the paths in the parameters cell)")
    return found


def split_teacher(models, teacher_first=True):
    """(teacher or None, [students]).

    Uses the `is_teacher` attribute when every object has it (this package's runs); otherwise
    (published objects) element 0 is the teacher if `teacher_first`."""
    if all(hasattr(m, "is_teacher") for m in models):
        teachers = [m for m in models if m.is_teacher]
        return (teachers[0] if teachers else None), [m for m in models if not m.is_teacher]
    if teacher_first:
        return models[0], list(models[1:])
    return None, list(models)


def students(models, teacher_first=True):
    return split_teacher(models, teacher_first)[1]


def teacher(models, teacher_first=True):
    return split_teacher(models, teacher_first)[0]


# --------------------------------------------------------------------------------------------
# reductions (§10.2)
# --------------------------------------------------------------------------------------------

def _series(net, name):
    value = getattr(net, name, None)
    if value is None:
        return None
    return np.asarray(value, dtype=float)


def test_loss(net, skip=10):
    """Fig3: mean of MSE_test_time_series[skip:] (published: skip = 10)."""
    s = _series(net, "MSE_test_time_series")
    if s is None or s.size <= skip:
        raise ValueError(f"{net!r}: MSE_test_time_series has {0 if s is None else s.size} entries, "
                         f"need more than {skip}")
    return float(np.mean(s[skip:]))


def time_mean_test_mse(net):
    """Fig4/Fig5: time-mean of the whole MSE_test_time_series."""
    return test_loss(net, skip=0)


def mean_angles(net):
    """Fig3: time-mean of nan_to_num(angle_BP_updates_time_series), one value per layer
    (rows x layers -> layers). None if the run has no such series (no --compare BP)."""
    a = _series(net, "angle_BP_updates_time_series")
    if a is None or a.size == 0:
        return None
    if a.ndim == 1:
        a = a[:, None]
    return np.mean(np.nan_to_num(a), axis=0)


def penalty_per_test(net, steps_per_test=CARTPOLE_STEPS_PER_TEST):
    """Fig2a: penalty_log reshaped to (tests, steps_per_test), first entry of each test zeroed,
    summed per test (number of failures in each 200 s closed-loop test)."""
    p = _series(net, "penalty_log")
    if p is None or p.size == 0:
        raise ValueError(f"{net!r}: no penalty_log (not a cart-pole run?)")
    if p.size % steps_per_test:
        raise ValueError(f"{net!r}: penalty_log has {p.size} entries, not a multiple of "
                         f"{steps_per_test} per test")
    p = p.reshape(-1, steps_per_test).copy()
    p[:, 0] = 0
    return p.sum(axis=1)


def cartpole_test_block(net, test=-1, rows_per_test=CARTPOLE_ROWS_PER_TEST,
                        steps_per_test=CARTPOLE_STEPS_PER_TEST):
    """(states (rows_per_test, 4) = x, x', theta, theta'; forces (steps_per_test,)) of one test."""
    states = np.asarray(net.state_log, dtype=float).reshape(-1, rows_per_test, 4)
    forces = np.asarray(net.action_log, dtype=float).reshape(-1, steps_per_test)
    return states[test], forces[test]


def cartpole_window(net, start_from_end, stop_from_end, rows_per_test=CARTPOLE_ROWS_PER_TEST,
                    steps_per_test=CARTPOLE_STEPS_PER_TEST, dt=0.01):
    """Rows [len - start_from_end, len - stop_from_end) of state_log (published example: 18000,
    12001) with the force applied just before each state (NaN for the first state of a test):
    returns (time = row * dt, states (n, 4), forces (n,))."""
    states = np.asarray(net.state_log, dtype=float).reshape(-1, 4)
    actions = np.asarray(net.action_log, dtype=float).ravel()
    n = len(states)
    rows = np.arange(max(n - start_from_end, 0), max(n - stop_from_end, 0))
    test, j = np.divmod(rows, rows_per_test)
    idx = test * steps_per_test + j - 1
    forces = np.where(j > 0, actions[np.clip(idx, 0, len(actions) - 1)], np.nan)
    return rows * dt, states[rows], forces


def dms_epoch_means(net, epochs=None):
    """Fig2b: per-epoch mean of MSE_val_time_series (one entry per validation trial), then the
    mean test MSE: array of length epochs + 1. `epochs` defaults to net.epochs, else to
    len(val) // len(test) (the published val and test sets have the same size)."""
    val = _series(net, "MSE_val_time_series")
    test = _series(net, "MSE_test_time_series")
    if val is None or test is None or val.size == 0 or test.size == 0:
        raise ValueError(f"{net!r}: needs MSE_val_time_series and MSE_test_time_series")
    if epochs is None:
        epochs = getattr(net, "epochs", None) or val.size // test.size
    if val.size % epochs:
        raise ValueError(f"{net!r}: {val.size} validation MSEs do not split into {epochs} epochs")
    return np.append(val.reshape(epochs, -1).mean(axis=1), test.mean())


def population_sizes(net):
    """Fig4: (n_R, n_E) = sizes of the (single) hidden representation and error populations."""
    return int(net.layers[1]), int(net.error_layers[1])


def population_grid(values, nR_list, nE_list):
    """values: {(n_R, n_E): [per-seed values]} -> (mean, std, count) arrays of shape
    (len(nR_list), len(nE_list)), rows = n_R, columns = n_E; NaN where nothing was found."""
    mean = np.full((len(nR_list), len(nE_list)), np.nan)
    std = np.full_like(mean, np.nan)
    count = np.zeros(mean.shape, dtype=int)
    for (nR, nE), vals in values.items():
        if nR in nR_list and nE in nE_list and len(vals):
            i, j = nR_list.index(nR), nE_list.index(nE)
            mean[i, j], std[i, j], count[i, j] = np.mean(vals), np.std(vals), len(vals)
    return mean, std, count


def collect_multilayer(path_template, root, nets, models, skip=10, teacher_first=True):
    """Fig3: for each (net, model) whose run exists (path_template.format(root=, net=, model=)),
    the per-seed test losses and the per-seed per-layer angles (array (seeds, layers); only if
    every student has angle_BP_updates_time_series). Missing runs are skipped with a note.
    Returns (loss, angles): dicts keyed by (net, model)."""
    loss, angles = {}, {}
    for net in nets:
        for model in models:
            runs = load_run(path_template.format(root=root, net=net, model=model))
            if runs is None:
                continue
            studs = students(runs, teacher_first)
            loss[net, model] = np.array([test_loss(s, skip) for s in studs])
            a = [mean_angles(s) for s in studs]
            if studs and all(x is not None for x in a):
                angles[net, model] = np.array(a)
    return loss, angles


def sigma_act(net, default=None):
    """Fig5: the activation slope/offset noise std of a run, from its saved params when present
    (representation units `activation_slope_std`, else error units `error_activation_slope_std`;
    0 when the keys are absent or None), else `default` (from the published run index)."""
    params = getattr(net, "params", None)
    keys = ("activation_slope_std", "error_activation_slope_std")
    if isinstance(params, dict) and any(k in params for k in keys):
        return float(params.get(keys[0]) or params.get(keys[1]) or 0.0)
    return default


# --------------------------------------------------------------------------------------------
# Fig8: phi' read out by high-pass filtering a noisy rate
# --------------------------------------------------------------------------------------------

def phi(name, x):
    if name == "tanh":
        return np.tanh(x)
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "logistic":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "linear":
        return np.asarray(x, dtype=float).copy()
    raise ValueError(f"unknown activation {name!r}")


def dphi(name, x):
    if name == "tanh":
        return 1.0 - np.tanh(x) ** 2
    if name == "relu":
        return (np.asarray(x) > 0).astype(float)
    if name == "logistic":
        s = 1.0 / (1.0 + np.exp(-x))
        return s * (1.0 - s)
    if name == "linear":
        return np.ones_like(np.asarray(x, dtype=float))
    raise ValueError(f"unknown activation {name!r}")


def high_pass(r, dt, tau):
    """h_0 = r_0, h_{t+1} = h_t + (r_{t+1} - r_t) - (dt/tau) h_t (§10.2, varphi' transfer)."""
    from scipy.signal import lfilter
    return lfilter([1.0, -1.0], [1.0, -(1.0 - dt / tau)], np.asarray(r, dtype=float))


def varphi_transfer(name, sigma, rng, n_samples=50, Tpres=100.0, dt=0.01, tau=None,
                    u_range=(-5.0, 5.0)):
    """Estimate phi'(u) from the high-passed rate of a noisy voltage.

    n_samples voltages in linspace(u_range), shuffled with `rng`, each held for Tpres/dt steps,
    plus white noise N(0, sigma); r = phi(u + noise); high pass with tau (default 10 dt);
    relu; mean per sample; rescaled so that its maximum equals max phi'.
    Returns (u, estimate, phi'(u)), sorted by u."""
    tau = 10 * dt if tau is None else tau
    steps = int(round(Tpres / dt))
    u = np.linspace(u_range[0], u_range[1], n_samples)
    order = rng.permutation(n_samples)
    v = np.repeat(u[order], steps) + rng.normal(0.0, sigma, n_samples * steps)
    h = np.maximum(high_pass(phi(name, v), dt, tau), 0.0)
    est = np.empty(n_samples)
    est[order] = h.reshape(n_samples, steps).mean(axis=1)
    exact = dphi(name, u)
    if est.max() > 0:
        est = est * exact.max() / est.max()
    return u, est, exact


# --------------------------------------------------------------------------------------------
# plotting helpers
# --------------------------------------------------------------------------------------------

def boxes(ax, data, positions, color, width=0.6, label=None):
    """Box plots of the lists in `data` at `positions` (empty lists skipped), filled `color`."""
    keep = [(p, np.asarray(d, dtype=float)) for p, d in zip(positions, data) if len(d)]
    if not keep:
        return None
    bp = ax.boxplot([d for _, d in keep], positions=[p for p, _ in keep], widths=width,
                    patch_artist=True, manage_ticks=False,
                    medianprops=dict(color="k", lw=1.2),
                    flierprops=dict(marker="o", ms=3, mfc=color, mec=color, alpha=0.7))
    for patch in bp["boxes"]:
        patch.set_facecolor(color)
        patch.set_alpha(0.75)
    if label is not None:
        bp["boxes"][0].set_label(label)
    return bp


def grouped_boxes(ax, values, groups, series, colors, labels=None, span=0.8, connect=False,
                  bars=None, bar_label="untrained (median)", group_labels=None):
    """Box plots of values[(group, series)] (lists), one slot per series within each group at
    x = group index. `connect`: line through the medians of each series. `bars`: dict like
    `values`; a translucent bar from 0 to its median is drawn behind each box."""
    import matplotlib.patches as mpatches
    labels = labels or {}
    w = span / max(len(series), 1)
    any_bar = False
    for j, s in enumerate(series):
        xs = np.arange(len(groups)) - span / 2 + w * (j + 0.5)
        data = [values.get((g, s), []) for g in groups]
        if not any(len(d) for d in data):
            continue
        if bars is not None:
            for x, g in zip(xs, groups):
                if len(bars.get((g, s), [])):
                    ax.bar(x, np.median(bars[g, s]), width=0.95 * w, color=colors[s], alpha=0.25,
                           zorder=0, lw=0)
                    any_bar = True
        boxes(ax, data, xs, colors[s], width=0.75 * w, label=labels.get(s, s))
        if connect:
            m = medians(data)
            ok = np.isfinite(m)
            ax.plot(xs[ok], m[ok], "-", color=colors[s], lw=1, zorder=3)
    if any_bar:
        # legend proxy (zero size at (0, 0), inside the limits set below and bottom = 0)
        ax.add_patch(mpatches.Rectangle((0, 0), 0, 0, color="0.5", alpha=0.25, label=bar_label))
    ax.set_xticks(range(len(groups)), [str(g) for g in (group_labels or groups)])
    ax.set_xlim(-0.5, len(groups) - 0.5)


def medians(data):
    return np.array([np.median(d) if len(d) else np.nan for d in data])
