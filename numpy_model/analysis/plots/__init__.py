"""PNG figures of one run, as the published `plot_exp.plot` makes them (docs/model.md §10.1).

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

Modules: `figure` (the headless writer: one figure at a time, atomic PNGs; colours, legends), `draw`
(decimated lines, bands, limits), `series` (accessors of the saved objects), and one module per kind
of figure: `mse`, `weights`, `voltages` (voltages and rates), `angles`, `cartpole`.
"""
import os

import matplotlib

from .angles import ANGLES, _plot_angles
from .cartpole import _plot_cartpole
from .figure import RC, _colours, _Writer
from .mse import _plot_mse_test, _plot_mse_train, _plot_mse_val
from .voltages import NEURONS, _plot_neurons
from .weights import _plot_weights

__all__ = ["plot_run"]


def plot_run(models, out_dir, log=print, strict=False):
    """Write the PNG figures of one run into `out_dir` (docs/model.md §10.1) and return the written paths.

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
        w.run("MSE", _plot_mse_train, w, students)
        if not cartpole:
            w.run("MSE_val", _plot_mse_val, w, students)
            w.run("MSE_test", _plot_mse_test, w, students)
        _plot_weights(w, students, colours, teacher)
        for name, prefix, label, ylabel, mode in NEURONS:
            _plot_neurons(w, students, colours, name, prefix, label, ylabel, mode)
        for attr, prefix, title, sliced in ANGLES:
            _plot_angles(w, students, colours, attr, prefix, title, sliced)
        w.run("cartpole_dynamics", _plot_cartpole, w, students, colours)
    return w.written
