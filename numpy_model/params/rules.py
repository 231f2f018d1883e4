"""Cross-key rules: what params.json forbids in combination, as small named checks.

``RULES`` is the table of contents: each rule takes the filled params dict ``p``, the
:class:`Context` computed once from it and the ``warn`` callback, and raises :class:`ParamsError`
(or warns) for one concern. They run in this order, so the first problem found is reported.
"""

from __future__ import annotations

import math

from .constraints import _is_list
from .context import Context, Warn, context
from .errors import ParamsError, _err, _fmt
from .schema import (ERROR_UNIT_NOISE_KEYS, MAX_REALISTIC_NEURON_LAYERS, PAL_ONLY_REC_FLAGS, _lateral_length,
                     effective_rate_target)
from ..timing import CARTPOLE_SIM_TIME
from .sizes import check_sizes, check_time


# ----------------------------------------------------------------------------------------------
# sizes and shapes
# ----------------------------------------------------------------------------------------------


def _error_layers_fit(name: str, el: list, layers: list, layers_name: str) -> None:
    if len(el) != len(layers):
        raise _err(name, f"a list of len({layers_name}) = {len(layers)} integers "
                         f"(the first entry is ignored)", el)
    if not all(x >= 1 for x in el[1:]):
        raise _err(name, "entries after the first >= 1 (error-unit population sizes)", el)


def check_error_layers(p: dict, ctx: Context, warn: Warn) -> None:
    """error_layers has one entry per layer, populations >= 1."""
    _error_layers_fit("error_layers", p["error_layers"], ctx.layers, "layers")


def check_teacher_layers(p: dict, ctx: Context, warn: Warn) -> None:
    """teacher_layers keeps the input and output sizes; the teacher's error layers fit its layers."""
    layers, t_layers = ctx.layers, p["teacher_layers"]
    if t_layers is not None:
        if t_layers[0] != layers[0] or t_layers[-1] != layers[-1]:
            raise _err("teacher_layers", f"the same input and output size as layers {_fmt(layers)} "
                                         f"(first entry {layers[0]}, last entry {layers[-1]})", t_layers)
    tl = ctx.tl
    if p["teacher_error_layers"] is not None:
        _error_layers_fit("teacher_error_layers", p["teacher_error_layers"], tl,
                          "teacher_layers" if t_layers is not None else "layers")
    elif ctx.teacher == "errormc" and len(p["error_layers"]) != len(tl):
        raise ParamsError(
            f"teacher_error_layers: the errormc teacher has {len(tl)} layers (teacher_layers) but "
            f"error_layers {_fmt(p['error_layers'])} has {len(p['error_layers'])} entries; give "
            f"teacher_error_layers as a list of {len(tl)} integers", "teacher_error_layers")


def check_signal_shapes(p: dict, ctx: Context, warn: Warn) -> None:
    """cartpole and genMNIST fix the input and output sizes."""
    layers = ctx.layers
    if ctx.signal == "cartpole" and (layers[0] != 4 or layers[-1] != 1):
        raise _err("layers", "layers[0] == 4 and layers[-1] == 1 for input_signal \"cartpole\" "
                             "(state x, x', theta, theta' in, one force out)", layers)
    if ctx.signal == "cartpole" and not int(CARTPOLE_SIM_TIME / p["dt"]) >= 10:
        raise _err("dt", f"at most {CARTPOLE_SIM_TIME / 10:g} for input_signal \"cartpole\" (a "
                         f"{CARTPOLE_SIM_TIME:g} ms closed-loop test has int({CARTPOLE_SIM_TIME:g} / dt) "
                         f"control steps and resets the cart-pole every tenth of them)", p["dt"])
    if ctx.signal == "genMNIST" and (layers[0] != 10 or layers[-1] != 784):
        raise _err("layers", "layers[0] == 10 and layers[-1] == 784 for input_signal \"genMNIST\" "
                             "(one-hot digit in, 28x28 image out)", layers)


def _per_layer_list(name: str, v, n: int, what: str, extra: str = "") -> None:
    if _is_list(v) and len(v) != n:
        raise _err(name, f"{what} of length L-1 = {n}", v, extra)


def check_per_layer_lists(p: dict, ctx: Context, warn: Warn) -> None:
    """Per-layer activation lists have L-1 entries and fit a teacher of the same depth."""
    P = ctx.P
    _per_layer_list("activation", p["activation"], P, "an activation name or a list")
    _per_layer_list("error_activation", p["error_activation"], P, "an activation name or a list")
    for name in ("activation_slope", "activation_offset"):
        if p[name] is not None:
            _per_layer_list(name, p[name], P, "a list of finite numbers")
    tl = ctx.tl
    if len(tl) != ctx.L:
        for name in ("activation", "error_activation", "activation_slope", "activation_offset"):
            if _is_list(p[name]):
                raise ParamsError(
                    f"{name}: a per-layer list of length {P} does not fit the teacher "
                    f"(teacher_layers {_fmt(tl)} has {len(tl) - 1} neuron layers); give a single name "
                    f"or use a teacher of the same depth", name)


# ----------------------------------------------------------------------------------------------
# learning rates
# ----------------------------------------------------------------------------------------------


def check_eta_fw(p: dict, ctx: Context, warn: Warn) -> None:
    """eta_fw: L-1 rates, or an (L-1)x(L-1) matrix for errormc skip; fill_scaled needs the Markov table."""
    eta_fw, P, model = p["eta_fw"], ctx.P, ctx.model
    skip = model == "errormc" and p["fw_connection_mode"] == "skip"
    if _is_list(eta_fw[0]):
        if not skip:
            raise _err("eta_fw", f"a list of L-1 = {P} numbers (a matrix is only allowed for errormc "
                                 f"with fw_connection_mode \"skip\")", eta_fw,
                       f"mc_model {_fmt(model)}, fw_connection_mode {_fmt(p['fw_connection_mode'])}")
        if len(eta_fw) != P or any(len(r) != P for r in eta_fw):
            raise _err("eta_fw", f"an (L-1)x(L-1) = {P}x{P} matrix or a list of {P} numbers", eta_fw)
        if any(eta_fw[i][j] != 0 for i in range(P) for j in range(i + 1, P)):
            warn(f"eta_fw: entries above the diagonal of the {P}x{P} matrix are ignored "
                 f"(only pre layer <= post layer - 1 connections exist)")
    elif len(eta_fw) != P:
        raise _err("eta_fw", f"a list of L-1 = {P} numbers", eta_fw)
    if (skip and not _is_list(eta_fw[0]) and p["eta_fw_conversion"] == "fill_scaled"
            and P > MAX_REALISTIC_NEURON_LAYERS):
        raise ParamsError(
            f"eta_fw_conversion: \"fill_scaled\" uses the {MAX_REALISTIC_NEURON_LAYERS}-area Markov et al. "
            f"table and supports at most {MAX_REALISTIC_NEURON_LAYERS} neuron layers, got layers "
            f"{_fmt(ctx.layers)} ({P}); use \"fill_diag\" or \"fill_all\", or give eta_fw as a matrix",
            "eta_fw_conversion")


def check_lateral_rates(p: dict, ctx: Context, warn: Warn) -> None:
    """eta_IP / eta_PI have at least the entries the students (and the teacher, if it runs) read."""
    nets = [(ctx.model, ctx.L, "the students")]
    if ctx.has_teacher:
        nets.append((ctx.teacher, len(ctx.tl), "the teacher"))
    for name in ("eta_IP", "eta_PI"):
        for m, n_l, who in nets:
            need = _lateral_length(m, n_l)
            if len(p[name]) < need:
                raise _err(name, f"a list of at least {need} numbers ({m} with {n_l} layers reads "
                                 f"{need} entries, for {who})", p[name])


# ----------------------------------------------------------------------------------------------
# conductances and models
# ----------------------------------------------------------------------------------------------


def _time_constants(p: dict, model: str, L: int, who: str) -> None:
    gl, gb, ga, gd, gn, gt = (p[k] for k in ("gl", "gbas", "gapi", "gden", "gnI", "gntgt"))
    sums: list[tuple[str, float, str]] = []
    if model == "errormc":
        sums = [("gl+gbas+gapi", (gl + gb) + ga, "representation units"),
                ("gl+gden", gl + gd, "hidden error units"),
                ("gl+gntgt", gl + gt, "output error units")]
    elif model in ("sacramento2018", "dPC"):
        sums = [("gl+gbas+gapi", (gl + gb) + ga, "hidden pyramidal units"),
                ("gl+gbas+gntgt", (gl + gb) + gt, "output pyramidal units"),
                ("gl+gbas", gl + gb, "output pyramidal units without target"),
                ("gl+gden", gl + gd, "interneuron dendritic prediction")]
        if model == "sacramento2018":
            sums.append(("gl+gden+gnI", (gl + gd) + gn, "interneurons"))
    elif model == "ann":
        sums = [("gl+gbas", gb + gl, "rate units")]
    for expr, value, what in sums:
        if not (value > 0 and math.isfinite(1.0 / value)):
            key = expr.split("+")[0]
            raise ParamsError(
                f"{key}: the time constant 1/({expr}) of the {model} {what} ({who}) must be positive and "
                f"finite, got {expr} = {value!r} ({', '.join(f'{k} = {p[k]!r}' for k in expr.split('+'))})",
                key)
    if model in ("sacramento2018", "dPC") and p["init_in_SPS"] and L > 2 and not gd > 0:
        raise ParamsError(   # docs/model.md §4.1
            f"gden: init_in_SPS for {model} ({who}) divides by gden (docs/model.md §4.1), expected gden > 0, got "
            f"{gd!r}; set init_in_SPS false or gden > 0", "gden")


def check_time_constants(p: dict, ctx: Context, warn: Warn) -> None:
    """Every time constant 1/(sum of conductances) the students and the teacher use is finite."""
    _time_constants(p, ctx.model, ctx.L, "students")
    if ctx.has_teacher and ctx.teacher != ctx.model:
        _time_constants(p, ctx.teacher, len(ctx.tl), "teacher")
    if ctx.signal == "cartpole" and not p["gbas"] > 0:
        raise _err("gbas", "a number > 0 for input_signal \"cartpole\" (the cartpole teacher's weight "
                           "is (gbas/(gbas+gapi+gl))^-2)", p["gbas"])


def check_model_restrictions(p: dict, ctx: Context, warn: Warn) -> None:
    """Combinations the published code crashes on (docs/model.md §12.6, §12.11, §12.12) or cannot build."""
    model, layers, P = ctx.model, ctx.layers, ctx.P
    for m, who in ((model, "mc_model"), (ctx.teacher, "teacher_mc_model")):
        if m == "dPC" and p["model_type"] == "FA" and (who == "mc_model" or ctx.has_teacher):
            raise ParamsError(
                f"model_type: \"FA\" is not supported for dPC ({who} \"dPC\"): the published code builds "
                f"the feedback weights from copies of WPP_init with wrong shapes (docs/model.md §12.12); "
                f"expected \"BP\"", "model_type")
    if p["init_realistic_connectivity"]:
        if not (model == "errormc" and p["fw_connection_mode"] == "skip"
                and p["bw_connection_mode"] == "skip"):
            raise ParamsError(
                f"init_realistic_connectivity: true requires mc_model \"errormc\" with fw_connection_mode "
                f"and bw_connection_mode \"skip\", got mc_model {_fmt(model)}, fw_connection_mode "
                f"{_fmt(p['fw_connection_mode'])}, bw_connection_mode {_fmt(p['bw_connection_mode'])}",
                "init_realistic_connectivity")
        if P > MAX_REALISTIC_NEURON_LAYERS:
            raise ParamsError(
                f"init_realistic_connectivity: the Markov et al. table has {MAX_REALISTIC_NEURON_LAYERS} "
                f"areas, so at most {MAX_REALISTIC_NEURON_LAYERS} neuron layers are supported, got layers "
                f"{_fmt(layers)} ({P} neuron layers)", "init_realistic_connectivity")
    if (model == "errormc" and p["model_type"] == "FA" and p["bw_connection_mode"] == "layered"
            and list(p["error_layers"][1:]) != list(layers[1:])):
        raise ParamsError(
            f"error_layers: errormc with model_type \"FA\" and bw_connection_mode \"layered\" needs "
            f"error_layers[1:] == layers[1:] (the published code draws the fixed BII with representation "
            f"sizes and crashes with a shape error, docs/model.md §12.11), got error_layers "
            f"{_fmt(p['error_layers'])} for layers {_fmt(layers)}; use model_type \"BP\", "
            f"bw_connection_mode \"skip\" or equal sizes", "error_layers")
    if model == "errormc" and ctx.task in ("fw_bw", "bw_only") and p["noise_type"] == "OU":
        raise ParamsError(
            f"noise_type: errormc with task {_fmt(ctx.task)} and noise_type \"OU\" is not supported: the "
            f"published OU update uses an undefined variable and crashes (docs/model.md §4.4.7, 12.6), and errormc "
            f"has no backward-weight learning rule; use task \"fw_only\" or noise_type null", "noise_type")


# ----------------------------------------------------------------------------------------------
# targets, new keys, ignored values
# ----------------------------------------------------------------------------------------------


def check_rate_target(p: dict, ctx: Context, warn: Warn) -> None:
    """A voltage MSE needs a voltage target; target_rate disagreeing with rate_target is overridden."""
    if p["rec_rate_MSE"] is False and effective_rate_target(p):
        src = ("rate_target is true" if p["rate_target"] is not None
               else "target_rate is true" if p["target_rate"] is not None
               else f"{ctx.model} uses rate targets by default")
        raise ParamsError(
            f"rec_rate_MSE: false (voltage MSE) is not allowed when the rate target is on ({src}); "
            f"expected true or absent, or set rate_target false", "rec_rate_MSE")
    if p["target_rate"] is not None:
        if p["rate_target"] is not None and p["target_rate"] != p["rate_target"]:
            warn(f"target_rate: {_fmt(p['target_rate'])} disagrees with rate_target "
                 f"{_fmt(p['rate_target'])}; rate_target wins")


def _error_unit_noise_simulated() -> bool:
    from . import ERROR_UNIT_NOISE_SIMULATED     # the package's switch, read at validation time
    return ERROR_UNIT_NOISE_SIMULATED


def check_error_unit_noise(p: dict, ctx: Context, warn: Warn) -> None:
    """Error-unit activation noise (new keys, not in the published code) needs errormc and the simulator."""
    for name in ERROR_UNIT_NOISE_KEYS:
        if p[name] is None:
            continue
        if ctx.model != "errormc":
            warn(f"{name}: only errormc has error units; ignored for {ctx.model}")
        elif not _error_unit_noise_simulated():
            raise ParamsError(
                f"{name}: activation noise on error units is validated but not available yet in the "
                f"simulator (it would silently run without noise); remove the key or wait for it", name)


def warn_ignored(p: dict, ctx: Context, warn: Warn) -> None:
    """Values accepted but overridden or ignored, as in the published code."""
    model = ctx.model
    if model != "errormc":
        for name in ("fw_connection_mode", "bw_connection_mode"):
            if p[name] == "skip":
                warn(f"{name}: \"skip\" is only implemented for errormc; {model} is forced to "
                     f"\"layered\" (as published)")
    elif p["rec_BPP"]:
        warn("rec_BPP: errormc has no BPP; the flag is forced off (as published)")
    acts = [p["activation"]] if isinstance(p["activation"], str) else list(p["activation"])
    if model == "dPC" and "activation" in ctx.given and any(a != "linear" for a in acts):
        warn(f"activation: dPC students use linear activations, {_fmt(p['activation'])} is ignored for "
             f"them (as published; the teacher keeps it)")
    for name in PAL_ONLY_REC_FLAGS:
        if p[name]:
            warn(f"{name}: PAL-only recording flag, forced off (as published)")


RULES = (
    check_error_layers,
    check_teacher_layers,
    check_signal_shapes,
    check_per_layer_lists,
    check_eta_fw,
    check_lateral_rates,
    check_time,
    check_sizes,
    check_time_constants,
    check_model_restrictions,
    check_rate_target,
    check_error_unit_noise,
    warn_ignored,
)


def check_combinations(p: dict, task: str, warn: Warn, given: frozenset) -> None:
    """Apply RULES to the filled dict ``p``; ``given`` are the keys present in the file."""
    ctx = context(p, task, given)
    for rule in RULES:
        rule(p, ctx, warn)
