"""The four models, one module each, named after its paper (docs/model.md §4):

* `errormc`          representation + error neurons (Max et al., PLOS Comput Biol 2026), §4.4
* `sacramento2018`   pyramidal cells + interneurons (Sacramento et al., NeurIPS 2018), §4.1
* `dpc`              dendritic predictive coding (Mikulasch et al., 2023), §4.2
* `ann`              rate network with explicit error units, §4.3

Each module has `constants(nets, P, layout, taur, rate_target)`, `initial_state(nets, C)`,
`step(C, state, x, y, phase)` built from named sub-steps, `layers_of(C, state, name)` (what it
records) and its per-model facts (`RATE_TARGET_DEFAULT`, `interneuron_sizes`, `lateral_length`).
`kernels` and `common` hold the pieces they share. `MODELS` maps `mc_model` to its module.
"""
from . import ann, dpc, errormc, sacramento2018
from .kernels import euler_increment, lookahead, mv, outer  # noqa: F401 - the shared kernels

MODELS = {"errormc": errormc, "sacramento2018": sacramento2018, "dPC": dpc, "ann": ann}

#: mc_model -> whether the rate (not the voltage) is the target by default (§8.3)
RATE_TARGET_DEFAULT = {name: m.RATE_TARGET_DEFAULT for name, m in MODELS.items()}


def interneuron_sizes(kind, layers, error_layers):
    """Sizes of the second population (§5.2 table m)."""
    return MODELS[kind].interneuron_sizes(layers, error_layers)


def lateral_length(kind, L):
    """Entries of eta_IP / eta_PI a network of `kind` with L layers reads."""
    return MODELS[kind].lateral_length(L)


def step(ens, x, y, phase=None, **flags):
    """Advance every network of an Ensemble by one dt (phase: a `numpy_model.state.Phase`;
    or the flags fw/lat/compare)."""
    from ..state import Phase
    ens.step(x, y, phase if phase is not None else Phase(**flags))
