"""Write the figure notebooks of this folder from the cell sources below (clean JSON, no outputs).

    python notebooks/make_notebooks.py          # rewrite every notebook
    python notebooks/make_notebooks.py --check  # exit 1 if a notebook differs from its source

Edit the cells here, not in Jupyter, then rerun this script; the test suite checks that the
committed notebooks are what this script writes. In every notebook the first code cell holds
the parameters (tagged "parameters", papermill convention); all paths are relative to this
folder, where Jupyter starts the kernel.
"""
import os
import sys
import textwrap

import nbformat

HERE = os.path.dirname(os.path.abspath(__file__))

SETUP = '''\
import os
import sys

sys.path.insert(0, os.path.abspath("."))   # this notebook's folder (Jupyter starts the kernel here): figlib.py
import numpy as np
import figlib as fl

plt = fl.setup_matplotlib()
'''


def md(text):
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip("\n"))


def code(text, tags=None):
    cell = nbformat.v4.new_code_cell(textwrap.dedent(text).strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def params(text):
    return code(text, tags=["parameters"])


# ============================================================================================
# Fig 2a: cart-pole
# ============================================================================================

FIG2A = [
    md('''
    # Fig 2a: cart-pole balancing with an error-neuron microcircuit

    docs/model.md §10.2 "cart-pole plot". Reads `Fig2a_cartpole_ideal_emc/model.pkl` and
    `Fig2a_cartpole_tanh_emc/model.pkl` (a list `[teacher, student_1, ...]`; the teacher is the LQR
    controller of §5.8) and uses `penalty_log`, `state_log` and `action_log` of the closed-loop
    tests (§7.5: one test after each epoch plus a final one; 19999 penalty/action entries and
    20000 states per test).

    Writes to `OUT_DIR`:
    * `val_penalty.{png,pdf}`: failures per test, box plots over seeds per epoch, ideal vs tanh;
      the LQR teacher's median as a dashed line;
    * `example_trajectories_ideal.{png,pdf}`: cart position and pole angle of every ideal student in
      its last test;
    * `example_cartpole.{png,pdf}`: a window of one network's trajectory (published: element
      `[1][0]`, the teacher of the tanh run, rows `[len-18000, len-12001)`).

    Differences from the published notebook: the y-axis is symlog (linear below 1), so tests with no
    failure are drawn instead of dropped by a log axis; time is `row x DT_CP` in seconds of
    cart-pole physics (the published figure scales rows by 1/10).
    '''),
    params('''
    # paths are relative to this notebook's folder
    RUN_DIRS = {
        "ideal": "../experiments/Fig2a_cartpole_ideal_emc",
        "tanh": "../experiments/Fig2a_cartpole_tanh_emc",
    }
    LABELS = {"ideal": "ideal (linear hidden layer)", "tanh": "tanh hidden layer"}
    COLORS = {"ideal": "C0", "tanh": "C1"}
    OUT_DIR = "../experiments/cartpole_plots"
    STEPS_PER_TEST = 19999        # penalty_log / action_log entries per closed-loop test
    ROWS_PER_TEST = 20000         # state_log rows per test
    DT_CP = 0.01                  # cart-pole physics step (s)
    TRAJECTORY_RUN = "ideal"      # example trajectories: every student of this run ...
    TRAJECTORY_TEST = -1          # ... in this test (-1: the last one)
    EXAMPLE_RUN = "tanh"          # example_cartpole: network EXAMPLE_NET of this run's model.pkl
    EXAMPLE_NET = 0               # (0 = the teacher, as published)
    EXAMPLE_ROWS_FROM_END = (18000, 12001)   # state_log rows [len - a, len - b)
    '''),
    code(SETUP),
    code('''
    runs = {}
    for name, run_dir in RUN_DIRS.items():
        models = fl.load_run(os.path.join(run_dir, "model.pkl"))
        if models is not None:
            runs[name] = models
    fl.require_runs(runs, os.path.commonpath([os.path.abspath(d) for d in RUN_DIRS.values()]),
                    "cart-pole runs (model.pkl in " + ", ".join(RUN_DIRS.values()) + ")")

    penalties, lqr = {}, []
    for name, models in runs.items():
        teacher, students = fl.split_teacher(models, teacher_first=True)
        penalties[name] = np.array([fl.penalty_per_test(s, STEPS_PER_TEST) for s in students])
        if teacher is not None and getattr(teacher, "penalty_log", None) is not None:
            lqr.extend(fl.penalty_per_test(teacher, STEPS_PER_TEST))
        print(f"{name}: {len(students)} students x {penalties[name].shape[1]} tests; "
              f"median failures per test: {np.median(penalties[name], axis=0)}")
    print("LQR teacher failures per test:", lqr)
    '''),
    code('''
    n_tests = max(p.shape[1] for p in penalties.values())
    names = list(penalties)
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for j, name in enumerate(names):
        pos = np.arange(penalties[name].shape[1]) - 0.4 + width * (j + 0.5)
        fl.boxes(ax, list(penalties[name].T), pos, COLORS.get(name, f"C{j}"), width=0.8 * width,
                 label=LABELS.get(name, name))
    if lqr:
        ax.axhline(np.median(lqr), color="k", ls="--", lw=1, label="LQR (teacher, median)")
    ax.set_yscale("symlog", linthresh=1)
    ax.set_ylim(bottom=-0.2)
    ax.set_xticks(range(n_tests), [str(e + 1) for e in range(n_tests - 1)] + ["final"])
    ax.set_xlabel("training epoch (closed-loop test after each epoch)")
    ax.set_ylabel(f"failures per closed-loop test ({(STEPS_PER_TEST + 1) * DT_CP:g} s)")
    ax.legend(frameon=False)
    fl.save_figure(fig, OUT_DIR, "val_penalty")
    plt.show()
    '''),
    code('''
    if TRAJECTORY_RUN in runs:
        students = fl.students(runs[TRAJECTORY_RUN], teacher_first=True)
        fig, (ax_x, ax_th) = plt.subplots(2, 1, figsize=(6, 4), sharex=True)
        for k, s in enumerate(students):
            states, _ = fl.cartpole_test_block(s, TRAJECTORY_TEST, ROWS_PER_TEST, STEPS_PER_TEST)
            t = np.arange(len(states)) * DT_CP
            ax_x.plot(t, states[:, 0], lw=0.6, color=f"C{k % 10}", label=f"seed {s.seed}")
            ax_th.plot(t, np.degrees(states[:, 2]), lw=0.6, color=f"C{k % 10}")
        for ax, bound in ((ax_x, 2.4), (ax_th, 70)):     # failure bounds (§7.5)
            ax.axhline(bound, color="0.6", ls=":", lw=0.8)
            ax.axhline(-bound, color="0.6", ls=":", lw=0.8)
        ax_x.set_ylabel("cart position $x$ (m)")
        ax_th.set_ylabel(r"pole angle $\\theta$ (deg)")
        ax_th.set_xlabel("time (s)")
        which = "last test" if TRAJECTORY_TEST == -1 else f"test {TRAJECTORY_TEST}"
        ax_x.set_title(f"{LABELS.get(TRAJECTORY_RUN, TRAJECTORY_RUN)}: every student, {which} "
                       f"(dotted: failure bounds)")
        ax_x.legend(frameon=False, ncol=5, fontsize=7)
        fl.save_figure(fig, OUT_DIR, f"example_trajectories_{TRAJECTORY_RUN}")
        plt.show()
    else:
        print(f"note: no run {TRAJECTORY_RUN!r}: example trajectories skipped")
    '''),
    code('''
    if EXAMPLE_RUN in runs and len(runs[EXAMPLE_RUN]) > EXAMPLE_NET:
        net = runs[EXAMPLE_RUN][EXAMPLE_NET]
        t, states, forces = fl.cartpole_window(net, *EXAMPLE_ROWS_FROM_END, rows_per_test=ROWS_PER_TEST,
                                               steps_per_test=STEPS_PER_TEST, dt=DT_CP)
        role = "teacher (LQR)" if fl.teacher(runs[EXAMPLE_RUN]) is net else f"network {EXAMPLE_NET}"
        fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(6, 4), sharex=True, height_ratios=[2, 1])
        ax1.plot(t, states[:, 0], color="C0", lw=1, label="$x$")
        ax1.set_yscale("symlog", linthresh=0.1)
        ax1.set_ylabel("cart position $x$ (m)", color="C0")
        ax1b = ax1.twinx()
        ax1b.plot(t, np.degrees(states[:, 2]), color="C3", lw=1, label=r"$\\theta$")
        ax1b.set_ylabel(r"pole angle $\\theta$ (deg)", color="C3")
        ax1b.spines["right"].set_visible(True)
        ax2.plot(t, forces, color="k", lw=0.8)
        ax2.set_ylabel("force $F$ (N)")
        ax2.set_xlabel("time (s)")
        ax1.set_title(f"{LABELS.get(EXAMPLE_RUN, EXAMPLE_RUN)} run, {role}")
        fl.save_figure(fig, OUT_DIR, "example_cartpole")
        plt.show()
    else:
        print(f"note: no network {EXAMPLE_NET} in run {EXAMPLE_RUN!r}: example_cartpole skipped")
    '''),
]

# ============================================================================================
# Fig 2b: delayed match-to-sample
# ============================================================================================

FIG2B = [
    md('''
    # Fig 2b: delayed match-to-sample (DMS)

    §10.2 "Fig2b (DMS)" and 7.7. Reads `model.pkl` of the DMS task (a list of 10 networks, no
    teacher) with one validation MSE per trial (`MSE_val_time_series`: epochs x 50 trials) and one
    test MSE per trial (`MSE_test_time_series`: 50 trials).

    Writes `MSE_val_test.{png,pdf}` to `OUT_DIR`: per network the mean MSE over the trials of each
    validation epoch and of the test set, box plots over networks.

    The published notebook reads `experiments/Fig2b_DMS_plots` with `EPOCHS = 15`, while the
    published `DMS_task.py` writes `experiments/DMS_plots` with 10 epochs (§12.18); here the
    default is the script's directory and the number of epochs is read from the saved networks.
    The example figure (`example.pdf`) runs network 0 on new trials and needs the DMS task in the
    simulator; it is skipped (see the last cell).
    '''),
    params('''
    # paths are relative to this notebook's folder
    RUN_DIR = "../experiments/DMS_plots"   # published notebook: "../experiments/Fig2b_DMS_plots"
    EPOCHS = None                          # None: net.epochs, else len(val) // len(test) (published: 15)
    OUT_DIR = RUN_DIR
    FIG_NAME = "MSE_val_test"
    '''),
    code(SETUP),
    code('''
    path = os.path.join(RUN_DIR, "model.pkl")
    models = fl.require_runs(fl.load_run(path), RUN_DIR, "DMS run (model.pkl)")
    nets = fl.students(models, teacher_first=False)
    means = np.array([fl.dms_epoch_means(n, EPOCHS) for n in nets])   # (networks, epochs + 1)
    epochs = means.shape[1] - 1
    print(f"{len(nets)} networks, {epochs} validation epochs + test")
    print("median over networks:", np.round(np.median(means, axis=0), 3))
    '''),
    code('''
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    pos = np.arange(epochs + 1)
    fl.boxes(ax, list(means[:, :epochs].T), pos[:epochs], "C0", label="validation")
    fl.boxes(ax, [means[:, epochs]], pos[epochs:], "C1", label="test")
    for row in means:
        ax.plot(pos, row, color="0.6", lw=0.4, zorder=0)
    ax.set_xticks(pos, [str(e + 1) for e in range(epochs)] + ["test"])
    ax.set_xlabel("epoch (validation before training in that epoch)")
    ax.set_ylabel("MSE per trial (mean over trials)")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False)
    fl.save_figure(fig, OUT_DIR, FIG_NAME)
    plt.show()
    '''),
    md('''
    ## Example trials (not made here)

    The published `example.pdf` runs network 0 without learning on one new trial per stimulus pair
    (`generate(1, seed=j, +1, ±1)`) and plots the input, hidden rates and output rate. That needs
    the DMS task in the simulator, which `numpy_model` does not have yet.
    '''),
    code('''
    print("note: example trials skipped: they need the DMS task in the simulator (not available yet)")
    '''),
]

# ============================================================================================
# Fig 3 / A1 / A2 / C1: multilayer comparison
# ============================================================================================

FIG3 = [
    md('''
    # Fig 3 (and A1, A2, C1): test loss and alignment with backprop, per model and network size

    §10.2 "Fig3 / FigA1". For every network size in `NETS` and model in `MODELS` it reads the
    trained run `RUN_PATH` and the untrained run `UNTRAINED_PATH` (published layout
    `Fig3_multilayer_comparison/<net>/<model>/model.pkl` and `.../untrained_<model>/model.pkl`,
    lists `[teacher, student_1, ...]`); missing runs are skipped with a note.

    * test loss per seed = mean of `MSE_test_time_series[SKIP_RECORDS:]`;
    * angle per seed = time-mean of `nan_to_num(angle_BP_updates_time_series)` per layer (runs made
      with `--compare BP`); the summary panels use the mean over layers, `angles_per_layer` shows
      each layer.

    Writes to `OUT_DIR`:
    * `FIG_NAME.{png,pdf}`: box plots of the trained test loss (symlog, linear below
      `SYMLOG_THRESHOLD`) with a translucent bar at the untrained median, and of the angles
      (models in `ANGLE_EXCLUDE`, i.e. the ANN, left out), side by side;
    * `FIG_NAME_stacked.{png,pdf}`: the same panels stacked, medians connected, no bars;
    * `FIG_NAME_angles_per_layer.{png,pdf}`: angles per layer, one panel per network size.

    Other figures from the same notebook (set the parameters cell; their directories are not in
    the published repo, so their layout is a guess that follows Fig 3):
    * **A1**: the same figure with its own root, e.g. `ROOT = "../experiments/FigA1_..."`;
    * **A2**: `ROOT = "../experiments/FigA2_multilayer_comparison_ideal_lat_inh"`;
    * **C1**: `ROOT = "../experiments"`, `MODELS = ["dPC_linear", "dPC_nonlin_noUS", "dPC_nonlin_US"]`,
      `RUN_PATH = "{root}/FigC1_{model}/{net}/dPC/model.pkl"`, `UNTRAINED_PATH = None`,
      `OUT_DIR = "../experiments"`, `FIG_NAME = "comparison_dPC"`.
    '''),
    params('''
    # paths are relative to this notebook's folder; {root}, {net}, {model} are filled in
    ROOT = "../experiments/Fig3_multilayer_comparison"
    NETS = ["2-1", "4-2-1", "8-4-2-1", "16-8-4-2-1", "32-16-8-4-2-1"]
    MODELS = ["errormc", "sacramento2018", "dPC", "ann"]
    RUN_PATH = "{root}/{net}/{model}/model.pkl"                    # trained runs
    UNTRAINED_PATH = "{root}/{net}/untrained_{model}/model.pkl"    # None: no untrained bars
    OUT_DIR = ROOT
    FIG_NAME = "results"
    SKIP_RECORDS = 10               # test loss = mean of MSE_test_time_series[SKIP_RECORDS:]
    SYMLOG_THRESHOLD = 1e-5
    ANGLE_EXCLUDE = ["ann"]         # no angle panel for these models
    MODEL_LABELS = {"errormc": "error-MC", "sacramento2018": "Sacramento et al. 2018",
                    "dPC": "dendritic PC", "ann": "ANN"}
    MODEL_COLORS = {"errormc": "C3", "sacramento2018": "C0", "dPC": "C2", "ann": "0.5"}
    '''),
    code(SETUP),
    code('''
    loss, angles = fl.collect_multilayer(RUN_PATH, ROOT, NETS, MODELS, SKIP_RECORDS)
    fl.require_runs(loss, ROOT, "trained runs (" + RUN_PATH + ")")
    nets = [net for net in NETS if any((net, m) in loss for m in MODELS)]   # x axis: sizes with runs
    if len(nets) < len(NETS):
        print("note: no trained runs for", [net for net in NETS if net not in nets])
    if UNTRAINED_PATH:
        loss_u, angles_u = fl.collect_multilayer(UNTRAINED_PATH, ROOT, NETS, MODELS, SKIP_RECORDS)
    else:
        loss_u, angles_u = {}, {}
    angle_models = [m for m in MODELS if m not in ANGLE_EXCLUDE]
    angles = {k: v for k, v in angles.items() if k[1] in angle_models}
    angles_u = {k: v for k, v in angles_u.items() if k[1] in angle_models}
    mean_angle = {k: v.mean(axis=1) for k, v in angles.items()}       # per seed: mean over layers
    mean_angle_u = {k: v.mean(axis=1) for k, v in angles_u.items()}
    if not angles:
        print("note: no angle_BP_updates_time_series in the trained runs (made without --compare BP?): "
              "angle panels skipped")
    labels = {m: MODEL_LABELS.get(m, m) for m in MODELS}
    colors = {m: MODEL_COLORS.get(m, f"C{i}") for i, m in enumerate(MODELS)}
    print(f"{'net':>14} {'model':>16} {'seeds':>5} {'median loss':>12} {'untrained':>10} {'angle':>7}")
    for net in nets:
        for m in MODELS:
            if (net, m) in loss:
                lu = np.median(loss_u[net, m]) if (net, m) in loss_u else np.nan
                an = np.median(mean_angle[net, m]) if (net, m) in mean_angle else np.nan
                print(f"{net:>14} {m:>16} {len(loss[net, m]):>5} {np.median(loss[net, m]):12.3g} {lu:10.3g} {an:7.1f}")
    '''),
    code('''
    def loss_panel(ax, bars, connect):
        fl.grouped_boxes(ax, loss, nets, MODELS, colors, labels, connect=connect,
                         bars=loss_u if bars else None)
        ax.set_yscale("symlog", linthresh=SYMLOG_THRESHOLD)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("test loss (MSE)")
        ax.set_xlabel("network size (units per layer)")


    def angle_panel(ax, bars, connect):
        fl.grouped_boxes(ax, mean_angle, nets, angle_models, colors, labels, connect=connect,
                         bars=mean_angle_u if bars else None)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("angle to backprop update (deg)\\n(time mean, mean over layers)")
        ax.set_xlabel("network size (units per layer)")


    panels = [loss_panel] + ([angle_panel] if angles else [])
    for stacked in (False, True):
        n = len(panels)
        shape, size = ((n, 1), (6.5, 3.2 * n)) if stacked else ((1, n), (6 * n, 3.6))
        fig, axs = plt.subplots(*shape, figsize=size, squeeze=False)
        for ax, panel, letter in zip(axs.flat, panels, "ab"):
            panel(ax, bars=not stacked and bool(UNTRAINED_PATH), connect=stacked)
            ax.set_title(letter, loc="left", fontweight="bold")
        handles, names = axs.flat[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="upper center", ncol=len(names), frameon=False,
                   bbox_to_anchor=(0.5, 1.0 + 0.06 / (n if stacked else 1)))
        fig.tight_layout()
        fl.save_figure(fig, OUT_DIR, FIG_NAME + ("_stacked" if stacked else ""))
        plt.show()
    '''),
    code('''
    nets_with_angles = [net for net in nets if any((net, m) in angles for m in angle_models)]
    if nets_with_angles:
        n = len(nets_with_angles)
        fig, axs = plt.subplots(1, n, figsize=(2.2 + 2.2 * n, 3.2), squeeze=False, sharey=True)
        for ax, net in zip(axs[0], nets_with_angles):
            n_layers = max(angles[net, m].shape[1] for m in angle_models if (net, m) in angles)
            per_layer = {(k, m): angles[net, m][:, k] for m in angle_models if (net, m) in angles
                         for k in range(angles[net, m].shape[1])}
            fl.grouped_boxes(ax, per_layer, list(range(n_layers)), angle_models, colors, labels,
                             group_labels=[str(k + 1) for k in range(n_layers)])
            ax.set_title(net)
            ax.set_xlabel("weight layer (1 = input)")
        axs[0, 0].set_ylabel("angle to backprop update (deg)")
        axs[0, 0].set_ylim(bottom=0)
        handles, names = axs[0, 0].get_legend_handles_labels()
        fig.legend(handles, names, loc="upper center", ncol=len(names), frameon=False,
                   bbox_to_anchor=(0.5, 1.06))
        fig.tight_layout()
        fl.save_figure(fig, OUT_DIR, FIG_NAME + "_angles_per_layer")
        plt.show()
    '''),
]

# ============================================================================================
# Fig 4: population sizes
# ============================================================================================

FIG4 = [
    md('''
    # Fig 4: test MSE vs number of representation and error units

    §10.2 "Fig4" and 11.3. Reads `RUNS_DIR/lr{i}/model.pkl` for `i < N_RUNS` (published:
    `Fig4_populations/runs/lr0 ... lr159`, one student per file, no teacher; missing runs are
    skipped). Each run is put in the cell of its own hidden population sizes, read from the saved
    network: `n_R = layers[1]`, `n_E = error_layers[1]` (in the published runs
    `lr{10 (4a + b) + s}` has `n_R = N_R[a]`, `n_E = N_E[b]`, seed `s`).

    Per cell: the mean (and std) over seeds of the time-mean test MSE. Writes
    `FIG_NAME.{png,pdf}` to `OUT_DIR`: a heatmap with rows = `n_R` and columns = `n_E`, labelled
    accordingly (the published heatmap has the two axis labels swapped, §10.2).

    The published digit reconstructions (`example_50_50.pdf`, `example_1000_1000.pdf`) rerun the
    stored test inputs through the network and need genMNIST in the simulator; they are skipped.
    '''),
    params('''
    # paths are relative to this notebook's folder
    RUNS_DIR = "../experiments/Fig4_populations/runs"
    N_RUNS = 200                      # lr0 ... lr{N_RUNS-1}; missing ones are skipped
    N_R = [50, 100, 500, 1000]        # hidden representation units (rows)
    N_E = [50, 100, 500, 1000]        # hidden error units (columns)
    OUT_DIR = "../experiments/Fig4_populations"
    FIG_NAME = "MSE_nR_vs_nE"
    '''),
    code(SETUP),
    code('''
    values, missing = {}, []
    for i in range(N_RUNS):
        models = fl.load_run(os.path.join(RUNS_DIR, f"lr{i}", "model.pkl"), quiet=True)
        if models is None:
            missing.append(i)
            continue
        net = fl.students(models, teacher_first=False)[0]
        values.setdefault(fl.population_sizes(net), []).append(fl.time_mean_test_mse(net))
    if missing:
        print(f"note: skipped {len(missing)} missing runs: lr{fl.format_ranges(missing)}")
    fl.require_runs(values, RUNS_DIR, "runs (lr*/model.pkl)")
    other = sorted(k for k in values if k[0] not in N_R or k[1] not in N_E)
    if other:
        print("note: runs with sizes outside N_R x N_E are not shown:", other)
    mean, std, count = fl.population_grid(values, N_R, N_E)
    print("seeds per cell (rows n_R, columns n_E):\\n", count)
    '''),
    code('''
    from matplotlib.colors import LogNorm

    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    finite = mean[np.isfinite(mean)]
    norm = LogNorm(finite.min(), finite.max()) if finite.min() > 0 and finite.max() > finite.min() else None
    im = ax.imshow(np.ma.masked_invalid(mean), origin="lower", cmap="viridis", norm=norm)
    ax.set_facecolor("0.85")
    ax.set_xticks(range(len(N_E)), [str(n) for n in N_E])
    ax.set_yticks(range(len(N_R)), [str(n) for n in N_R])
    ax.set_xlabel("hidden error units $n_E$")
    ax.set_ylabel("hidden representation units $n_R$")
    for i in range(len(N_R)):
        for j in range(len(N_E)):
            if count[i, j]:
                light = norm is not None and norm(mean[i, j]) < 0.5
                ax.text(j, i, f"{mean[i, j]:.3g}\\n±{std[i, j]:.2g}", ha="center", va="center",
                        fontsize=7, color="w" if light else "k")
            else:
                ax.text(j, i, "n/a", ha="center", va="center", fontsize=7, color="0.4")
    fig.colorbar(im, ax=ax, label="test MSE (time mean; mean ± std over seeds)")
    fl.save_figure(fig, OUT_DIR, FIG_NAME)
    plt.show()
    '''),
    code('''
    print("note: digit reconstructions skipped: they need genMNIST in the simulator (not available yet)")
    '''),
]

# ============================================================================================
# Fig 5: activation noise
# ============================================================================================

FIG5 = [
    md('''
    # Fig 5: robustness to noisy activation functions

    §10.2 "Fig5" and 11.4. Reads `REP_RUNS_DIR/lr{i}/model.pkl` (`i < N_REP_RUNS`) and
    `ERR_RUNS_DIR/lr{i}/model.pkl` (`i < N_ERR_RUNS`); one student per file, missing runs skipped.
    The noise level of a run is `activation_slope_std` of its saved params when it has them
    (absent or None: 0), else the published table: run `i` is in group `i // RUNS_PER_GROUP` with
    `REP_GROUP_SIGMAS` / `ERR_GROUP_SIGMAS`.

    Per run: the time-mean test MSE. Writes `FIG_NAME.{png,pdf}` to `OUT_DIR` (the published
    notebook does not save this figure): box plots vs σ_act, noise on representation units (C1) and
    on error units (C0, σ > 0 only), log y-axis.

    Note (§11.4, 12.19): the published "error unit noise" runs are identical to the
    representation-unit ones (that code has no switch for noise on error units).
    '''),
    params('''
    # paths are relative to this notebook's folder
    REP_RUNS_DIR = "../experiments/Fig5_rep_unit_noise/runs"
    ERR_RUNS_DIR = "../experiments/Fig5_error_unit_noise/runs"
    N_REP_RUNS = 50
    N_ERR_RUNS = 40
    RUNS_PER_GROUP = 10
    REP_GROUP_SIGMAS = [0.1, 0.3, 0.5, 1.0, 0.0]   # lr0-9, ..., lr40-49 (no noise: the Fig4 baseline)
    ERR_GROUP_SIGMAS = [0.1, 0.3, 0.5, 1.0]
    SIGMAS = [0.0, 0.1, 0.3, 0.5, 1.0]             # x axis
    OUT_DIR = "../experiments/Fig5_noise_plots"
    FIG_NAME = "MSE_vs_sigma_act"
    '''),
    code(SETUP),
    code('''
    def collect(runs_dir, n_runs, group_sigmas):
        out, missing = {}, []
        for i in range(n_runs):
            models = fl.load_run(os.path.join(runs_dir, f"lr{i}", "model.pkl"), quiet=True)
            if models is None:
                missing.append(i)
                continue
            net = fl.students(models, teacher_first=False)[0]
            group = i // RUNS_PER_GROUP
            sigma = fl.sigma_act(net, default=group_sigmas[group] if group < len(group_sigmas) else None)
            out.setdefault(sigma, []).append(fl.time_mean_test_mse(net))
        if missing:
            print(f"note: {runs_dir}: skipped {len(missing)} missing runs: lr{fl.format_ranges(missing)}")
        return out


    rep = collect(REP_RUNS_DIR, N_REP_RUNS, REP_GROUP_SIGMAS)
    err = collect(ERR_RUNS_DIR, N_ERR_RUNS, ERR_GROUP_SIGMAS)
    fl.require_runs(rep or err, os.path.commonpath([os.path.abspath(REP_RUNS_DIR), os.path.abspath(ERR_RUNS_DIR)]),
                    "Fig5 runs (lr*/model.pkl)")
    for name, d in (("rep", rep), ("error", err)):
        print(name, {s: f"{len(v)} runs, median {np.median(v):.3g}" for s, v in sorted(d.items(), key=str)})
    '''),
    code('''
    fig, ax = plt.subplots(figsize=(5, 3.4))
    pos = np.arange(len(SIGMAS))
    fl.boxes(ax, [rep.get(s, []) for s in SIGMAS], pos - 0.2, "C1", width=0.35,
             label="noise on representation units")
    fl.boxes(ax, [err.get(s, []) if s > 0 else [] for s in SIGMAS], pos + 0.2, "C0", width=0.35,
             label="noise on error units")
    ax.set_yscale("log")
    ax.set_xticks(pos, [f"{s:g}" for s in SIGMAS])
    ax.set_xlabel(r"$\\sigma_\\mathrm{act}$ (std of activation slope and offset)")
    ax.set_ylabel("test MSE (time mean)")
    ax.legend(frameon=False)
    fl.save_figure(fig, OUT_DIR, FIG_NAME)
    plt.show()
    '''),
]

# ============================================================================================
# Fig 8: phi' by high-pass filtering
# ============================================================================================

FIG8 = [
    md('''
    # Fig 8: reading out φ′ by high-pass filtering a noisy rate

    §10.2 "varphi' transfer" (standalone, no runs needed). `N_SAMPLES` voltages in
    `linspace(*U_RANGE)`, shuffled, each held for `TPRES / DT` steps, plus white noise N(0, σ) for σ in
    `SIGMAS`; then φ, the discrete high pass `h_{t+1} = h_t + (r_{t+1} - r_t) - (DT/TAU) h_t`
    (`h_0 = r_0`), relu, the mean per sample, rescaled so that its maximum equals max φ′; compared
    with φ′ for tanh, relu and logistic.

    Unlike the published notebook (unseeded global RNG), all draws come from
    `np.random.default_rng(SEED)`, so the figure is reproducible.

    Writes to `OUT_DIR`: `<name> activation.{png,pdf}` per activation and `activation.{png,pdf}`
    with all three.
    '''),
    params('''
    # paths are relative to this notebook's folder
    SEED = 2024
    ACTIVATIONS = ["tanh", "relu", "logistic"]
    SIGMAS = [0.1, 0.05]          # std of the voltage noise
    N_SAMPLES = 50                # voltages in linspace(*U_RANGE)
    U_RANGE = (-5.0, 5.0)
    TPRES = 100.0                 # each voltage held for TPRES / DT steps
    DT = 0.01
    TAU = 10 * DT                 # high-pass time constant
    OUT_DIR = "../varphi_prime_transfer"
    '''),
    code(SETUP),
    code('''
    rng = np.random.default_rng(SEED)
    results = {}
    for name in ACTIVATIONS:
        for sigma in SIGMAS:
            u, est, exact = fl.varphi_transfer(name, sigma, rng, N_SAMPLES, TPRES, DT, TAU, U_RANGE)
            results[name, sigma] = (u, est, exact)
            print(f"{name:>8} sigma={sigma:<5g} max |estimate - phi'| = {np.max(np.abs(est - exact)):.3f}")
    '''),
    code('''
    def panel(ax, name):
        u_fine = np.linspace(*U_RANGE, 400)
        ax.plot(u_fine, fl.dphi(name, u_fine), color="k", lw=1.2, label=r"$\\varphi'(u)$")
        for k, sigma in enumerate(SIGMAS):
            u, est, _ = results[name, sigma]
            ax.plot(u, est, "o", ms=3, color=f"C{k}", alpha=0.8,
                    label=rf"high-pass readout, $\\sigma = {sigma:g}$")
        ax.set_title(name)
        ax.set_xlabel("voltage $u$")
        ax.set_ylabel(r"$\\varphi'(u)$ (readout rescaled to max)")


    for name in ACTIVATIONS:
        fig, ax = plt.subplots(figsize=(4, 3))
        panel(ax, name)
        ax.legend(frameon=False, loc="upper left", fontsize=7)
        fl.save_figure(fig, OUT_DIR, f"{name} activation")
        plt.show()

    fig, axs = plt.subplots(1, len(ACTIVATIONS), figsize=(3.6 * len(ACTIVATIONS), 3), squeeze=False)
    for ax, name in zip(axs[0], ACTIVATIONS):
        panel(ax, name)
    fig.tight_layout()
    handles, names = axs[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=len(names), frameon=False, bbox_to_anchor=(0.5, 1.0))
    fl.save_figure(fig, OUT_DIR, "activation")
    plt.show()
    '''),
]

NOTEBOOKS = {
    "fig2a_cartpole.ipynb": FIG2A,
    "fig2b_dms.ipynb": FIG2B,
    "fig3_multilayer.ipynb": FIG3,
    "fig4_populations.ipynb": FIG4,
    "fig5_noise.ipynb": FIG5,
    "fig8_varphi_transfer.ipynb": FIG8,
}


def build(cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = cells
    for i, cell in enumerate(nb.cells):      # stable ids: no diff noise when regenerated
        cell["id"] = f"cell-{i}"
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    check = "--check" in argv
    stale = []
    for name, cells in NOTEBOOKS.items():
        path = os.path.join(HERE, name)
        text = build(cells)
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old != text:
            stale.append(name)
            if not check:
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(text)
    if check and stale:
        print("notebooks differ from make_notebooks.py:", ", ".join(stale))
        return 1
    if not check:
        print("wrote" if stale else "unchanged", ", ".join(stale or NOTEBOOKS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
