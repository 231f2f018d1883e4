"""Voltage and rate figures: one line per neuron and student, the target on the output."""
import numpy as np
from matplotlib.lines import Line2D

from .draw import _finite_range, _lines, _pick, _set_limits
from .figure import _student_handles
from .series import _layer_stacks, _n_layers, _target_stack, _time_label, _tpre

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


def _plot_neuron_layer(w, students, colours, name, prefix, label, ylabel, k, file_idx, where, target):
    stacks = _layer_stacks(students, name, k)
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
