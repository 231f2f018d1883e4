"""The single schema of ``params.json``: every key, its type, default, meaning and allowed values.

Public API
----------
``SCHEMA``                       ordered, read-only mapping ``key -> Key``
``ParamsError``                  ``ValueError`` whose message names the key, the bad value and what is allowed
``ParamsWarning``                category of the non-fatal warnings emitted by :func:`validate`
``load_params(path, task, warn)``  read a params.json file and :func:`validate` it
``validate(raw, task, warn)``      check a raw dict, return a NEW dict with every schema key present
``effective_rate_target(params, mc_model=None)``  the ``rate_target`` a network of that model really uses
``effective_teacher_model(params)``, ``teacher_init_range(params, name)``, ``effective_task(params, task)``
``params_reference_markdown()``  Markdown table of the schema (``python -m numpy_model.params`` prints it)

Conventions: ``L = len(layers)``; a "neuron layer" is every layer but the input, so per-layer lists have
length ``L-1``. Keys whose *presence* changes the published behaviour default to ``None`` (= absent); an
explicit JSON ``null`` for them also means "absent". Values are returned as given (a string activation stays
a string, ints stay ints); only missing keys are filled in.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import numbers
import os
import sys
import warnings
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping

__all__ = [
    "ACTIVATIONS",
    "CONNECTION_MODES",
    "ETA_FW_CONVERSIONS",
    "INPUT_SIGNALS",
    "Key",
    "MC_MODELS",
    "MODEL_TYPES",
    "ParamsError",
    "ParamsWarning",
    "SCHEMA",
    "TASKS",
    "effective_rate_target",
    "effective_task",
    "effective_teacher_model",
    "load_params",
    "params_reference_markdown",
    "teacher_init_range",
    "validate",
]

MC_MODELS = ("errormc", "sacramento2018", "dPC", "ann")
MODEL_TYPES = ("BP", "FA")
ACTIVATIONS = ("linear", "relu", "soft_relu", "logistic", "tanh", "hard_sigmoid")
INPUT_SIGNALS = ("step", "cartpole", "genMNIST")
CONNECTION_MODES = ("layered", "skip")
ETA_FW_CONVERSIONS = ("fill_diag", "fill_all", "fill_scaled")
TASKS = ("fw_only", "bw_only", "fw_bw", "fw_only_no_teacher")
NOISE_TYPES = (None, "OU", "hold_white_noise")
NOISE_MODES = ("const", "uP", "uP_breve", "vapi", "uP_adaptive")
SEED_MAX = 2**32 - 1
# Sanity limits: beyond them a run cannot exist (MemoryError / OverflowError deep in the simulation), so
# validate() refuses it with a clear message. Time steps per network and run; values of one array.
MAX_STEPS = 10**12
MAX_ARRAY_VALUES = 2**33        # 64 GiB of float64
# Number of areas in the Markov et al. connectivity table (SPEC 5.4); the realistic init and the
# fill_scaled conversion index it by neuron layer.
MAX_REALISTIC_NEURON_LAYERS = 7
# Class defaults of ``rate_target`` (SPEC 6.4); the key ``target_rate`` is never read (SPEC 12.4).
RATE_TARGET_CLASS_DEFAULT = MappingProxyType(
    {"errormc": True, "ann": True, "sacramento2018": False, "dPC": False}
)
INIT_RANGE_NAMES = ("WPP", "WIP", "BPI", "BPP", "BII")


class ParamsError(ValueError):
    """Invalid params. The message names the offending key, the bad value and what is allowed."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


class ParamsWarning(UserWarning):
    """A params value that is accepted but ignored or overridden (as in the published code)."""


def _fmt(value, limit: int = 120) -> str:
    """JSON-like rendering of a value for messages."""
    try:
        s = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError, RecursionError):
        try:
            s = repr(value)
        except (RecursionError, ValueError):
            s = f"<{type(value).__name__}>"
    if len(s) > limit:
        s = s[: limit - 3] + "..."
    return s


# ----------------------------------------------------------------------------------------------
# schema
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """One params.json key.

    ``kind`` is one of: ``bool``, ``int``, ``number``, ``str``, ``choice``, ``int_list``, ``number_list``,
    ``range``, ``activation``, ``eta_fw``, ``seeds``. ``minimum`` bounds numbers (and the entries of
    ``number_list``); ``exclusive_minimum`` makes the bound strict. ``nullable`` keys accept JSON null.
    ``derive`` computes a default that depends on other (already validated) keys; ``default_doc`` is
    how that default is shown in the documentation.
    """

    name: str
    kind: str
    default: Any
    doc: str
    allowed: str = ""
    choices: tuple | None = None
    minimum: float | None = None
    exclusive_minimum: bool = False
    nullable: bool = False
    required: bool = False
    derive: Callable[[dict], Any] | None = None
    default_doc: str = ""
    group: str = ""

    def __post_init__(self):
        if not self.allowed:
            object.__setattr__(self, "allowed", _auto_allowed(self))

    @property
    def type_name(self) -> str:
        names = {
            "bool": "bool",
            "int": "int",
            "number": "number",
            "str": "string",
            "choice": "string",
            "int_list": "list of int",
            "number_list": "list of number",
            "range": "[lo, hi]",
            "activation": "string or list of string",
            "eta_fw": "list of number, or list of lists",
            "seeds": "list of int",
        }
        t = names[self.kind]
        return t + " or null" if self.nullable else t

    def default_text(self) -> str:
        if self.required:
            return "*required*"
        if self.default_doc:
            return self.default_doc
        if self.default is None:
            return "absent"
        return "`" + json.dumps(self.default) + "`"


def _auto_allowed(k: Key) -> str:
    if k.kind == "bool":
        s = "true or false"
    elif k.kind in ("int", "number"):
        s = "an integer" if k.kind == "int" else "a finite number"
        if k.minimum is not None:
            s += f" {'>' if k.exclusive_minimum else '>='} {_num(k.minimum)}"
    elif k.kind == "choice":
        s = "one of " + ", ".join(_fmt(c) for c in k.choices)
    elif k.kind == "str":
        s = "a string"
    elif k.kind == "number_list":
        s = "a list of finite numbers"
        if k.minimum is not None:
            s += f" {'>' if k.exclusive_minimum else '>='} {_num(k.minimum)}"
    elif k.kind == "range":
        s = "a list [lo, hi] of two finite numbers with lo <= hi"
    elif k.kind == "activation":
        s = "one of " + ", ".join(_fmt(a) for a in ACTIVATIONS) + ", or a list of L-1 such names"
    elif k.kind == "seeds":
        s = f"a non-empty list of integers in [0, {SEED_MAX}]"
    else:  # int_list, eta_fw: always given explicitly
        s = ""
    if k.nullable and k.kind != "choice":
        s += ", or null (= absent)"
    return s


def _num(x) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def _L(p: dict) -> int:
    return len(p["layers"])


def _lateral_length(model: str, L: int) -> int:
    """Entries of eta_IP / eta_PI that a network of ``model`` with ``L`` layers reads."""
    if model == "errormc":
        return L - 1
    if model in ("sacramento2018", "dPC"):
        return max(L - 2, 0)
    return 0  # ann: unused


def _default_lateral(p: dict) -> list:
    L = _L(p)
    n = L - 1 if p["mc_model"] in ("errormc", "ann") else max(L - 2, 0)
    teacher = effective_teacher_model(p)
    tL = len(p["teacher_layers"]) if p.get("teacher_layers") is not None else L
    n = max(n, _lateral_length(teacher, tL))
    return [0.0] * n


_K: list[Key] = []


def _k(name, kind, default, doc, **kw):
    _K.append(Key(name, kind, default, doc, **kw))


# --- model and architecture -------------------------------------------------------------------
G = "model"
_k("mc_model", "choice", None, "Student model.", choices=MC_MODELS, required=True, group=G)
_k("teacher_mc_model", "choice", None,
   "Teacher model (tasks fw_only, fw_bw); absent = same as mc_model.",
   choices=MC_MODELS + (None,), nullable=True, default_doc="absent (= mc_model)", group=G)
_k("model_type", "choice", "BP",
   "Backward weights: BP = transposed forward weights (+ WT_noise), FA = fixed random feedback. "
   "PAL (deprecated sacramento2018 noise model) is not implemented.",
   choices=MODEL_TYPES, group=G)
_k("layers", "int_list", None,
   "Layer sizes [n_0 (input), n_1, ..., n_out]; L = len(layers).",
   allowed="a list of at least 2 positive integers", required=True, group=G)
_k("error_layers", "int_list", None,
   "errormc error-unit population sizes per layer; the first entry is ignored (conventionally 0).",
   allowed="a list of len(layers) integers, entries after the first >= 1",
   derive=lambda p: [0] + list(p["layers"][1:]), default_doc="`[0] + layers[1:]`", group=G)
_k("teacher_layers", "int_list", None,
   "Teacher layer sizes; absent = layers. Must have the same input and output size as layers.",
   allowed="a list of at least 2 positive integers, or null (= absent)", nullable=True, group=G)
_k("teacher_error_layers", "int_list", None,
   "Teacher error-unit sizes (errormc teacher); absent = error_layers.",
   allowed="a list of len(teacher_layers or layers) integers, entries after the first >= 1, "
           "or null (= absent)", nullable=True, group=G)
_k("fw_connection_mode", "choice", "layered",
   "errormc forward weights: layered (adjacent layers only) or skip (one block matrix). "
   "Other models are forced to layered.", choices=CONNECTION_MODES, group=G)
_k("bw_connection_mode", "choice", "layered",
   "errormc error-to-error weights BII: layered or skip. Other models are forced to layered.",
   choices=CONNECTION_MODES, group=G)
_k("varphi_transfer", "bool", True,
   "errormc: multiply the hidden error dendrite by WIP @ phi'.", group=G)
_k("dWPP_use_activation", "bool", False,
   "Forward plasticity compares rates instead of voltages.", group=G)
_k("init_in_SPS", "bool", True,
   "sacramento2018/dPC: start in the self-predicting state.", group=G)

# --- time and data -----------------------------------------------------------------------------
G = "time"
_k("dt", "number", 0.01, "Integration time step (ms).", minimum=0, exclusive_minimum=True, group=G)
_k("Tpres", "number", 0.2,
   "Presentation time per sample (ms); T = int(Tpres/dt) >= 1 steps per sample.",
   minimum=0, exclusive_minimum=True, group=G)
_k("settling_time", "number", 20,
   "Settling time before training (ms), int(settling_time/dt) steps on the training input; "
   "must not be longer than that input.", minimum=0, group=G)
_k("dataset_size", "int", 100,
   "Samples per split (train, validation, test); ignored for genMNIST.", minimum=1, group=G)
_k("epochs", "int", 1, "Training epochs.", minimum=0, group=G)
_k("input_signal", "choice", "step",
   "Input: step (uniform random samples), cartpole (layers [4, ..., 1]), genMNIST (layers [10, ..., 784]).",
   choices=INPUT_SIGNALS, group=G)
_k("target_rescale_factor", "number", 76.6,
   "cartpole: scale between the network output and the force.", minimum=0,
   exclusive_minimum=True, group=G)
_k("random_seed", "seeds", [56789], "Student seeds, one network per seed.", group=G)

# --- activations -------------------------------------------------------------------------------
G = "activation"
_k("activation", "activation", "tanh",
   "Representation/pyramidal activation, for all neuron layers or per layer. dPC students use linear.",
   group=G)
_k("error_activation", "activation", "linear", "errormc error-unit activation, all layers or per layer.",
   group=G)
_k("activation_slope", "number_list", None,
   "Per-layer activation slope (length L-1); absent = 1.", nullable=True,
   allowed="a list of L-1 finite numbers, or null (= absent)", group=G)
_k("activation_offset", "number_list", None,
   "Per-layer activation offset (length L-1); absent = 0.", nullable=True,
   allowed="a list of L-1 finite numbers, or null (= absent)", group=G)
_k("activation_slope_std", "number", None,
   "Std of per-neuron Gaussian noise on the slope (students, representation units); absent = none.",
   minimum=0, nullable=True, group=G)
_k("activation_offset_std", "number", None,
   "Std of per-neuron Gaussian noise on the offset (students, representation units); absent = none.",
   minimum=0, nullable=True, group=G)
_k("error_activation_slope_std", "number", None,
   "errormc: std of per-neuron Gaussian noise on the error units' activation slope (students only; "
   "base slope from activation_slope); absent = none. Not in the published code, whose error units never "
   "get noise (SPEC 5.6, 12.19); used by the Fig 5 error-unit-noise runs. Draws: on the global RNG right "
   "after the representation-unit slope/offset draws, all error-unit slopes (per layer, error_layers[k+1] "
   "values) before all error-unit offsets; phi' stays nominal.",
   minimum=0, nullable=True, group=G)
_k("error_activation_offset_std", "number", None,
   "errormc: std of per-neuron Gaussian noise on the error units' activation offset (students only; base "
   "offset from activation_offset); absent = none. See error_activation_slope_std.",
   minimum=0, nullable=True, group=G)

# --- conductances ------------------------------------------------------------------------------
G = "conductances"
_k("gl", "number", 0.03, "Leak conductance g_l.", minimum=0, group=G)
_k("gbas", "number", 0.1, "Basal conductance g_b.", minimum=0, group=G)
_k("gapi", "number", 0.06, "Apical conductance g_a.", minimum=0, group=G)
_k("gden", "number", 0.1, "Interneuron/error-unit dendritic conductance g_d.", minimum=0, group=G)
_k("gnI", "number", 0.06, "sacramento2018 interneuron nudging conductance g_n.", minimum=0, group=G)
_k("gntgt", "number", 0.06, "Output (target) nudging conductance g_t.", minimum=0, group=G)

# --- learning rates ----------------------------------------------------------------------------
G = "learning"
_k("eta_fw", "eta_fw", None,
   "Forward learning rates per neuron layer; errormc with fw_connection_mode skip also accepts an "
   "(L-1)x(L-1) matrix [post layer - 1][pre layer].",
   allowed="a list of L-1 finite numbers >= 0 (errormc skip: or an (L-1)x(L-1) list of lists)",
   derive=lambda p: [1.0] * (_L(p) - 1), default_doc="`[1.0] * (L-1)`", group=G)
_k("eta_IP", "number_list", None,
   "Lateral rates: errormc WIP decay to identity, sacramento2018 WIP learning.", minimum=0,
   allowed="a list of finite numbers >= 0 with at least the number of entries used "
           "(errormc L-1, sacramento2018/dPC L-2, ann none)",
   derive=_default_lateral,
   default_doc="zeros: L-1 entries (errormc, ann), L-2 (sacramento2018, dPC)", group=G)
_k("eta_PI", "number_list", None,
   "Lateral rates: errormc BPI decay to identity, sacramento2018/dPC BPI learning.", minimum=0,
   allowed="a list of finite numbers >= 0 with at least the number of entries used "
           "(errormc L-1, sacramento2018/dPC L-2, ann none)",
   derive=_default_lateral,
   default_doc="zeros: L-1 entries (errormc, ann), L-2 (sacramento2018, dPC)", group=G)
_k("eta_bw", "number_list", [], "Backward learning rates (PAL only; unused).", minimum=0, group=G)
_k("eta_fw_conversion", "choice", "fill_diag",
   "errormc skip: how a list eta_fw becomes the (L-1)x(L-1) matrix (fill_scaled uses the Markov table).",
   choices=ETA_FW_CONVERSIONS, group=G)
_k("WT_noise", "number", 0.0,
   "BP mode: half-width of the uniform noise added to the transposed weights (students only).",
   minimum=0, group=G)
_k("taur", "number", None,
   "Prospectivity scaling of the lookahead, students only; absent = 1 (plain lookahead).",
   minimum=0, exclusive_minimum=True, nullable=True, group=G)
_k("rate_target", "bool", None,
   "Override the class default (errormc/ann: targets are rates; sacramento2018/dPC: voltages).",
   nullable=True, default_doc="absent (= class default)", group=G)

# --- initialisation ----------------------------------------------------------------------------
G = "init"
for _name, _lo_hi in (("WPP", [-1, 1]), ("WIP", [0, 0]), ("BPI", [0, 0]), ("BPP", [-1, 1]),
                      ("BII", [-1, 1])):
    _k(f"init_{_name}_range", "range", _lo_hi,
       f"Uniform init range [lo, hi] of the student {_name} weights.", group=G)
for _name in INIT_RANGE_NAMES:
    _k(f"init_teacher_{_name}_range", "range", None,
       f"Uniform init range of the teacher {_name} weights; absent = init_{_name}_range.",
       nullable=True, default_doc=f"absent (= init_{_name}_range)", group=G)
del _name, _lo_hi
_k("init_WIP_identity", "bool", True, "errormc: add a rectangular identity to WIP after drawing.",
   group=G)
_k("init_BPI_identity", "bool", True, "errormc: add a rectangular identity to BPI after drawing.",
   group=G)
_k("init_realistic_connectivity", "bool", False,
   "errormc skip/skip: mask WPP/BII init by the Markov et al. table (at most 7 neuron layers).", group=G)
_k("WPP_skip_connection_range", "range", [0, 0],
   "errormc fw skip: init range of the non-adjacent forward blocks.", group=G)
_k("BII_skip_connection_range", "range", [0, 0],
   "errormc bw skip: init range of the non-adjacent BII blocks.", group=G)
_k("copy_teacher_weights", "bool", False, "Copy the teacher's weights into every student at init.",
   group=G)
_k("copy_teacher_voltages", "bool", False, "Copy the teacher's voltages into every student at init.",
   group=G)

# --- PAL / noise options (dead outside PAL except where stated) ------------------------------
G = "noise"
_k("dtxi", "number", 0.01, "Noise resampling interval (ms; PAL/errormc noise).", minimum=0,
   exclusive_minimum=True, group=G)
_k("tauHP", "number", 0.1, "High-pass time constant (ms; PAL only).", minimum=0,
   exclusive_minimum=True, group=G)
_k("tauLO", "number", 100.0, "Low-pass time constant (ms) of dWPP_low_pass.", minimum=0,
   exclusive_minimum=True, group=G)
_k("tauxi", "number", 0.1, "OU noise time constant (ms; PAL only).", minimum=0,
   exclusive_minimum=True, group=G)
_k("noise_type", "choice", None,
   "Apical noise type (PAL); errormc + OU + backward learning (tasks fw_bw, bw_only) is refused.",
   choices=NOISE_TYPES, nullable=True, default_doc="`null` (no noise)", group=G)
_k("noise_mode", "choice", "const", "Noise scaling mode (PAL only).", choices=NOISE_MODES, group=G)
_k("noise_scale", "number_list", [0.0], "Per-layer noise amplitude (PAL only).", minimum=0, group=G)
_k("noise_deg", "number", 30, "Unused (dead option).", group=G)
_k("alpha", "number_list", None, "Per-layer BPP regularizer strength (PAL only).",
   derive=lambda p: [1e-06] * (_L(p) - 1), default_doc="`[1e-06] * (L-1)`", group=G)
_k("inter_low_pass", "bool", False, "Low-pass filter the interneuron dendrite (PAL only).", group=G)
_k("pyr_hi_pass", "bool", False, "High-pass filter the presynaptic rate of BPP learning (PAL only).",
   group=G)
_k("dWPP_low_pass", "bool", False, "Low-pass filter the forward weight updates (time constant tauLO).",
   group=G)
_k("dWPP_r_low_pass", "bool", False, "Low-pass variant of the forward update (PAL only).", group=G)
_k("dWPP_post_low_pass", "bool", False, "Low-pass variant of the forward update (PAL only).", group=G)
_k("gate_regularizer", "bool", False, "Gate the BPP regularizer by d_relu(r_pre) (PAL only).", group=G)
_k("varphi_regularizer", "bool", False, "Regularizer of the form phi' B phi' (PAL only; never read).",
   group=G)

# --- never read ---------------------------------------------------------------------------------
G = "unused"
_k("target_rate", "bool", None,
   "Whether the target is a rate (true) or a voltage (false). Honoured here (the published code "
   "never reads it; all published files agree with the class defaults); rate_target, if present, wins.",
   nullable=True, group="protocol")
_k("activation_noise_std", "number", None, "Never read (dead option).", minimum=0, nullable=True,
   group=G)
_k("output", "str", None, "Never read (output path note of the published files).", nullable=True,
   group=G)

# --- recording -------------------------------------------------------------------------------------
G = "recording"
_k("rec_per_steps", "int", 1, "Record every rec_per_steps simulated steps.", minimum=1, group=G)
_k("checkpoint_every", "int", 0,
   "Write a checkpoint (next to params.json; the run resumes from it) every N epochs; 0 = every "
   "10 minutes of wall time. Also written on SIGTERM/SIGINT at the next epoch boundary.",
   minimum=0, group=G)
_k("rec_rate_MSE", "bool", None,
   "MSE definition (SPEC 8.3): true = rates, false = voltages (refused if the rate target is on); "
   "absent = follow the rate target.", nullable=True, group=G)
_REC_DOCS = {
    "rec_MSE": "MSE_time_series, MSE_val_time_series, MSE_test_time_series (sum of squares).",
    "rec_error": "Output error (rate or voltage minus target).",
    "rec_input": "Current input x.",
    "rec_target": "Current target [y].",
    "rec_WPP": "Forward weights WPP.",
    "rec_WIP": "WIP weights.",
    "rec_BPP": "BPP weights (not errormc).",
    "rec_BII": "BII weights (errormc).",
    "rec_BPI": "BPI weights.",
    "rec_dWPP": "Last WPP increment.",
    "rec_dWIP": "Last WIP increment.",
    "rec_dBPP": "Last BPP increment.",
    "rec_dBII": "Last BII increment.",
    "rec_dBPI": "Last BPI increment.",
    "rec_uP": "Representation/pyramidal somatic voltages uP after the update.",
    "rec_uP_breve": "Lookahead voltages of uP.",
    "rec_rP_breve": "Lookahead rates of the representation/pyramidal units.",
    "rec_rP_breve_HI": "High-passed lookahead rates (PAL only; forced off otherwise).",
    "rec_uI": "Interneuron/error-unit somatic voltages uI after the update.",
    "rec_uI_breve": "Lookahead voltages of uI.",
    "rec_rI_breve": "Lookahead rates of the interneurons/error units.",
    "rec_vbas": "Basal dendritic potentials.",
    "rec_vapi": "Apical dendritic potentials (before noise).",
    "rec_vapi_noise": "Apical potentials with noise (PAL only; forced off otherwise).",
    "rec_noise": "Apical noise (PAL only; forced off otherwise).",
    "rec_epsilon": "PAL only; forced off otherwise.",
    "rec_epsilon_LO": "PAL only; forced off otherwise.",
    "rec_lat_mismatch": "Lateral mismatch uI_breve - predicted basal voltage of the layer above.",
}
for _name, _doc in _REC_DOCS.items():
    _k(_name, "bool", _name == "rec_MSE", "Record " + _doc[0].lower() + _doc[1:], group=G)
del _name, _doc

SCHEMA: Mapping[str, Key] = MappingProxyType({k.name: k for k in _K})
assert len(SCHEMA) == len(_K), "duplicate schema key"
del _K, G

# Per-neuron activation noise on the error units (new keys, applied in init.py). Were it switched off,
# validate() would refuse the keys for errormc instead of running silently without noise.
ERROR_UNIT_NOISE_KEYS = ("error_activation_slope_std", "error_activation_offset_std")
ERROR_UNIT_NOISE_SIMULATED = True

PAL_ONLY_REC_FLAGS = ("rec_rP_breve_HI", "rec_vapi_noise", "rec_noise", "rec_epsilon", "rec_epsilon_LO")


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def _err(key: str, expected: str, value: Any, extra: str = "") -> ParamsError:
    msg = f"{key}: expected {expected}, got {_fmt(value)}"
    if extra:
        msg += f" ({extra})"
    return ParamsError(msg, key)


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _is_list(v) -> bool:
    return isinstance(v, (list, tuple))


def _finite(v) -> bool:
    return _is_number(v) and math.isfinite(v)


def _above(v, minimum, exclusive) -> bool:
    return minimum is None or (v > minimum if exclusive else v >= minimum)


def _check_key(k: Key, v: Any) -> None:
    """Type/range check of a single key, independent of the other keys."""
    name, allowed = k.name, k.allowed
    if v is None:
        if k.nullable:
            return
        raise _err(name, allowed, v)
    kind = k.kind
    if kind == "bool":
        if not isinstance(v, bool):
            raise _err(name, allowed, v)
    elif kind == "int":
        if not _is_int(v) or not _above(v, k.minimum, k.exclusive_minimum):
            raise _err(name, allowed, v)
    elif kind == "number":
        if not _is_number(v):
            raise _err(name, allowed, v)
        if not math.isfinite(v):
            raise _err(name, allowed, v, "NaN and infinities are not allowed")
        if not _above(v, k.minimum, k.exclusive_minimum):
            raise _err(name, allowed, v)
    elif kind == "str":
        if not isinstance(v, str):
            raise _err(name, allowed, v)
    elif kind == "choice":
        if name == "model_type" and v == "PAL":
            raise ParamsError(
                f"model_type: the deprecated PAL noise model is not implemented, got \"PAL\"; "
                f"expected {allowed}", name)
        if not (isinstance(v, str) or v is None) or v not in k.choices:
            raise _err(name, allowed, v)
    elif kind == "int_list":
        if not _is_list(v) or len(v) < 1 or not all(_is_int(x) for x in v):
            raise _err(name, allowed, v)
        if name in ("layers", "teacher_layers") and (len(v) < 2 or not all(x >= 1 for x in v)):
            raise _err(name, allowed, v)
    elif kind == "number_list":
        if not _is_list(v) or not all(_is_number(x) for x in v):
            raise _err(name, allowed, v)
        if not all(math.isfinite(x) for x in v):
            raise _err(name, allowed, v, "NaN and infinities are not allowed")
        if not all(_above(x, k.minimum, k.exclusive_minimum) for x in v):
            raise _err(name, allowed, v)
    elif kind == "range":
        if not _is_list(v) or len(v) != 2 or not all(_is_number(x) for x in v):
            raise _err(name, allowed, v)
        if not all(math.isfinite(x) for x in v):
            raise _err(name, allowed, v, "NaN and infinities are not allowed")
        if v[0] > v[1]:
            raise _err(name, allowed, v, "lo > hi")
    elif kind == "activation":
        if isinstance(v, str):
            if v not in ACTIVATIONS:
                raise _err(name, allowed, v)
        elif _is_list(v):
            bad = [a for a in v if not isinstance(a, str) or a not in ACTIVATIONS]
            if bad or not v:
                raise _err(name, allowed, v, f"unknown activation {_fmt(bad[0])}" if bad else "")
        else:
            raise _err(name, allowed, v)
    elif kind == "eta_fw":
        ok = _is_list(v) and len(v) > 0 and (
            all(_is_number(x) for x in v)
            or all(_is_list(r) and all(_is_number(x) for x in r) for r in v))
        if not ok:
            raise _err(name, allowed, v)
        flat = [x for r in v for x in r] if _is_list(v[0]) else list(v)
        if not all(math.isfinite(x) for x in flat):
            raise _err(name, allowed, v, "NaN and infinities are not allowed")
        if not all(x >= 0 for x in flat):
            raise _err(name, allowed, v, "learning rates must be >= 0")
    elif kind == "seeds":
        if (not _is_list(v) or not v or not all(_is_int(x) and 0 <= x <= SEED_MAX for x in v)):
            raise _err(name, allowed, v)
    else:  # pragma: no cover - schema bug
        raise AssertionError(f"unknown kind {kind!r} of key {name!r}")


# ----------------------------------------------------------------------------------------------
# derived quantities
# ----------------------------------------------------------------------------------------------


def effective_teacher_model(params: Mapping) -> str:
    """Model of the teacher: ``teacher_mc_model`` if given, else ``mc_model``."""
    t = params.get("teacher_mc_model")
    return params["mc_model"] if t is None else t


def teacher_init_range(params: Mapping, name: str) -> list:
    """Teacher init range of weight ``name`` (WPP, WIP, BPI, BPP, BII); falls back to the student range."""
    if name not in INIT_RANGE_NAMES:
        raise ValueError(f"name: expected one of {INIT_RANGE_NAMES}, got {name!r}")
    r = params.get(f"init_teacher_{name}_range")
    return params.get(f"init_{name}_range", SCHEMA[f"init_{name}_range"].default) if r is None else r


def effective_rate_target(params: Mapping, mc_model: str | None = None) -> bool:
    """Whether a network of ``mc_model`` (default: the students') uses rate targets.

    ``rate_target`` if present, else ``target_rate`` if present (a documented deviation: the
    published code never reads ``target_rate``, SPEC 12.4; all its files agree with the class
    defaults, so parity holds), else the class default (errormc/ann True, sacramento2018/dPC False).
    """
    rt = params.get("rate_target")
    if rt is not None:
        return bool(rt)
    if params.get("target_rate") is not None:
        return bool(params["target_rate"])
    return RATE_TARGET_CLASS_DEFAULT[mc_model or params["mc_model"]]


def effective_task(params: Mapping, task: str) -> str:
    """The task that actually runs: genMNIST forces ``fw_only_no_teacher`` (SPEC 5.1)."""
    return "fw_only_no_teacher" if params.get("input_signal") == "genMNIST" else task


# ----------------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------------


def _default_warn(message: str) -> None:
    # point the warning at the first frame outside this module (the caller of validate/load_params)
    level, frame = 1, sys._getframe(0)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, ParamsWarning, stacklevel=level)


def validate(raw: Mapping, task: str = "fw_only",
             warn: Callable[[str], None] | None = None) -> dict:
    """Validate a raw params dict and return a NEW dict with every schema key present.

    Missing keys get their documented (possibly derived) defaults; given values are deep-copied unchanged.
    Keys starting with ``_comment`` are dropped. Raises :class:`ParamsError` for unknown keys, wrong types,
    impossible values and unsupported combinations. Non-fatal findings (values the published code ignores
    or overrides) are passed as strings to ``warn`` (default: ``warnings.warn`` with ``ParamsWarning``).
    """
    if warn is None:
        warn = _default_warn
    if not isinstance(raw, Mapping):
        raise _err("params", "a JSON object (dict) of parameters", raw)
    if not isinstance(task, str) or task not in TASKS:
        raise _err("task", "one of " + ", ".join(_fmt(t) for t in TASKS), task)

    given = {}
    unknown = []
    for key, value in raw.items():
        if not isinstance(key, str):
            raise ParamsError(f"{_fmt(key)}: parameter names must be strings", str(key))
        if key.startswith("_comment"):
            continue
        if key not in SCHEMA:
            unknown.append(key)
            continue
        given[key] = value
    if unknown:
        raise _unknown_keys_error(unknown)

    for key in SCHEMA:
        k = SCHEMA[key]
        if key not in given:
            if k.required:
                raise ParamsError(f"{key}: required key is missing; expected {k.allowed}", key)
            continue
        _check_key(k, given[key])

    p: dict = {}
    for key, k in SCHEMA.items():
        if key in given:
            p[key] = copy.deepcopy(given[key])
        elif k.derive is None:
            p[key] = copy.deepcopy(k.default)
    for key, k in SCHEMA.items():  # derived defaults see the complete non-derived dict
        if key not in p:
            p[key] = k.derive(p)
    p = {key: p[key] for key in SCHEMA}  # schema order

    _check_combinations(p, task, warn, frozenset(given))
    return p


def _unknown_keys_error(unknown: list[str]) -> ParamsError:
    parts = []
    for key in unknown:
        match = difflib.get_close_matches(key, list(SCHEMA), n=1, cutoff=0.6)
        if not match:
            lower = {k.lower(): k for k in SCHEMA}
            match = [lower[key.lower()]] if key.lower() in lower else []
        parts.append((key, match[0] if match else None))
    if len(parts) == 1:
        key, m = parts[0]
        msg = f"unknown key {key!r}" + (f"; did you mean {m!r}?" if m else "")
        msg += " (the allowed keys are listed in README.md, section Params reference)"
        return ParamsError(msg, key)
    items = [f"{key!r}" + (f" (did you mean {m!r}?)" if m else "") for key, m in parts]
    return ParamsError("unknown keys " + ", ".join(items)
                       + " (the allowed keys are listed in README.md, section Params reference)", parts[0][0])


def _check_error_layers(name: str, el: list, layers: list, layers_name: str) -> None:
    if len(el) != len(layers):
        raise _err(name, f"a list of len({layers_name}) = {len(layers)} integers "
                         f"(the first entry is ignored)", el)
    if not all(x >= 1 for x in el[1:]):
        raise _err(name, "entries after the first >= 1 (error-unit population sizes)", el)


def _check_per_layer_list(name: str, v, n: int, what: str, extra: str = "") -> None:
    if _is_list(v) and len(v) != n:
        raise _err(name, f"{what} of length L-1 = {n}", v, extra)


def _check_combinations(p: dict, task: str, warn: Callable[[str], None], given: frozenset) -> None:
    """Cross-key checks on the filled dict ``p``; ``given`` are the keys present in the file."""
    layers = p["layers"]
    L = len(layers)
    P = L - 1  # neuron layers
    model = p["mc_model"]
    teacher = effective_teacher_model(p)
    signal = p["input_signal"]
    run_task = effective_task(p, task)
    has_teacher = run_task in ("fw_only", "fw_bw")

    # --- sizes ---------------------------------------------------------------------------------
    _check_error_layers("error_layers", p["error_layers"], layers, "layers")
    t_layers = p["teacher_layers"]
    if t_layers is not None:
        if t_layers[0] != layers[0] or t_layers[-1] != layers[-1]:
            raise _err("teacher_layers", f"the same input and output size as layers {_fmt(layers)} "
                                         f"(first entry {layers[0]}, last entry {layers[-1]})", t_layers)
    tl = t_layers if t_layers is not None else layers
    if p["teacher_error_layers"] is not None:
        _check_error_layers("teacher_error_layers", p["teacher_error_layers"], tl,
                            "teacher_layers" if t_layers is not None else "layers")
    elif teacher == "errormc" and len(p["error_layers"]) != len(tl):
        raise ParamsError(
            f"teacher_error_layers: the errormc teacher has {len(tl)} layers (teacher_layers) but "
            f"error_layers {_fmt(p['error_layers'])} has {len(p['error_layers'])} entries; give "
            f"teacher_error_layers as a list of {len(tl)} integers", "teacher_error_layers")

    # --- input signals ------------------------------------------------------------------------
    if signal == "cartpole" and (layers[0] != 4 or layers[-1] != 1):
        raise _err("layers", "layers[0] == 4 and layers[-1] == 1 for input_signal \"cartpole\" "
                             "(state x, x', theta, theta' in, one force out)", layers)
    if signal == "genMNIST" and (layers[0] != 10 or layers[-1] != 784):
        raise _err("layers", "layers[0] == 10 and layers[-1] == 784 for input_signal \"genMNIST\" "
                             "(one-hot digit in, 28x28 image out)", layers)

    # --- per-layer lists -----------------------------------------------------------------------
    _check_per_layer_list("activation", p["activation"], P, "an activation name or a list")
    _check_per_layer_list("error_activation", p["error_activation"], P, "an activation name or a list")
    for name in ("activation_slope", "activation_offset"):
        if p[name] is not None:
            _check_per_layer_list(name, p[name], P, "a list of finite numbers")
    if len(tl) != L:
        for name in ("activation", "error_activation", "activation_slope", "activation_offset"):
            if _is_list(p[name]):
                raise ParamsError(
                    f"{name}: a per-layer list of length {P} does not fit the teacher "
                    f"(teacher_layers {_fmt(tl)} has {len(tl) - 1} neuron layers); give a single name "
                    f"or use a teacher of the same depth", name)

    # eta_fw
    eta_fw = p["eta_fw"]
    if _is_list(eta_fw[0]):
        if not (model == "errormc" and p["fw_connection_mode"] == "skip"):
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
    if (model == "errormc" and p["fw_connection_mode"] == "skip" and not _is_list(eta_fw[0])
            and p["eta_fw_conversion"] == "fill_scaled" and P > MAX_REALISTIC_NEURON_LAYERS):
        raise ParamsError(
            f"eta_fw_conversion: \"fill_scaled\" uses the {MAX_REALISTIC_NEURON_LAYERS}-area Markov et al. "
            f"table and supports at most {MAX_REALISTIC_NEURON_LAYERS} neuron layers, got layers "
            f"{_fmt(layers)} ({P}); use \"fill_diag\" or \"fill_all\", or give eta_fw as a matrix",
            "eta_fw_conversion")

    # eta_IP / eta_PI
    for name in ("eta_IP", "eta_PI"):
        for m, n_l, who in ((model, L, "the students"), (teacher, len(tl), "the teacher")):
            if who == "the teacher" and not has_teacher:
                continue
            need = _lateral_length(m, n_l)
            if len(p[name]) < need:
                raise _err(name, f"a list of at least {need} numbers ({m} with {n_l} layers reads "
                                 f"{need} entries, for {who})", p[name])

    # --- time ------------------------------------------------------------------------------------
    dt = p["dt"]
    for name in ("Tpres", "settling_time"):
        q = p[name] / dt
        if not q <= MAX_STEPS:      # also catches inf: int() of it would raise OverflowError
            raise ParamsError(
                f"{name}: {name}/dt = {_fmt(p[name])}/{_fmt(dt)} = {q:.3g} time steps, more than the "
                f"{MAX_STEPS:.0e} steps a run can simulate; expected a larger dt or a smaller {name}", name)
    T = int(p["Tpres"] / dt)
    if T < 1:
        raise _err("Tpres", f"at least one time step per sample, Tpres >= dt = {dt}", p["Tpres"],
                   f"int(Tpres/dt) = {T}")
    _warn_truncation("Tpres", p["Tpres"], dt, warn)
    _warn_truncation("settling_time", p["settling_time"], dt, warn)
    n_settle = int(p["settling_time"] / dt)
    if signal in ("step", "cartpole"):
        n_train = p["dataset_size"] * T
        desc = f"dataset_size*Tpres = {p['dataset_size']}*{p['Tpres']}"
    else:  # genMNIST: 10 samples, dataset_size ignored
        n_train = 10 * T
        desc = f"10 genMNIST samples * Tpres = 10*{p['Tpres']}"
    if n_settle > n_train:
        raise ParamsError(
            f"settling_time: {_fmt(p['settling_time'])} ({n_settle} steps of dt = {dt}) is longer than "
            f"the training input ({desc} = {n_train} steps); expected settling_time <= "
            f"{n_train * dt:g}", "settling_time")
    _check_sizes(p, model, teacher, tl, has_teacher, T, n_settle, n_train)

    # --- conductances / time constants ---------------------------------------------------------
    _check_time_constants(p, model, L, "students")
    if has_teacher and teacher != model:
        _check_time_constants(p, teacher, len(tl), "teacher")
    if signal == "cartpole" and not p["gbas"] > 0:
        raise _err("gbas", "a number > 0 for input_signal \"cartpole\" (the cartpole teacher's weight "
                           "is (gbas/(gbas+gapi+gl))^-2)", p["gbas"])

    # --- model-specific restrictions ---------------------------------------------------------
    for m, who in ((model, "mc_model"), (teacher, "teacher_mc_model")):
        if m == "dPC" and p["model_type"] == "FA" and (who == "mc_model" or has_teacher):
            raise ParamsError(
                f"model_type: \"FA\" is not supported for dPC ({who} \"dPC\"): the published code builds "
                f"the feedback weights from copies of WPP_init with wrong shapes (SPEC 12.12); "
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
            f"sizes and crashes with a shape error, SPEC 12.11), got error_layers "
            f"{_fmt(p['error_layers'])} for layers {_fmt(layers)}; use model_type \"BP\", "
            f"bw_connection_mode \"skip\" or equal sizes", "error_layers")

    if model == "errormc" and run_task in ("fw_bw", "bw_only") and p["noise_type"] == "OU":
        raise ParamsError(
            f"noise_type: errormc with task {_fmt(run_task)} and noise_type \"OU\" is not supported: the "
            f"published OU update uses an undefined variable and crashes (SPEC 4.4.7, 12.6), and errormc "
            f"has no backward-weight learning rule; use task \"fw_only\" or noise_type null", "noise_type")

    # --- rate target / MSE --------------------------------------------------------------------
    rt = effective_rate_target(p)
    if p["rec_rate_MSE"] is False and rt:
        src = ("rate_target is true" if p["rate_target"] is not None
               else "target_rate is true" if p["target_rate"] is not None
               else f"{model} uses rate targets by default")
        raise ParamsError(
            f"rec_rate_MSE: false (voltage MSE) is not allowed when the rate target is on ({src}); "
            f"expected true or absent, or set rate_target false", "rec_rate_MSE")
    if p["target_rate"] is not None:
        if p["rate_target"] is not None and p["target_rate"] != p["rate_target"]:
            warn(f"target_rate: {_fmt(p['target_rate'])} disagrees with rate_target "
                 f"{_fmt(p['rate_target'])}; rate_target wins")

    # --- error-unit activation noise (new keys, not in the published code) ------------------
    for name in ERROR_UNIT_NOISE_KEYS:
        if p[name] is None:
            continue
        if model != "errormc":
            warn(f"{name}: only errormc has error units; ignored for {model}")
        elif not ERROR_UNIT_NOISE_SIMULATED:
            raise ParamsError(
                f"{name}: activation noise on error units is validated but not available yet in the "
                f"simulator (it would silently run without noise); remove the key or wait for it", name)

    # --- accepted but overridden/ignored, as published --------------------------------------
    if model != "errormc":
        for name in ("fw_connection_mode", "bw_connection_mode"):
            if p[name] == "skip":
                warn(f"{name}: \"skip\" is only implemented for errormc; {model} is forced to "
                     f"\"layered\" (as published)")
    elif p["rec_BPP"]:
        warn("rec_BPP: errormc has no BPP; the flag is forced off (as published)")
    acts = [p["activation"]] if isinstance(p["activation"], str) else list(p["activation"])
    if model == "dPC" and "activation" in given and any(a != "linear" for a in acts):
        warn(f"activation: dPC students use linear activations, {_fmt(p['activation'])} is ignored for "
             f"them (as published; the teacher keeps it)")
    for name in PAL_ONLY_REC_FLAGS:
        if p[name]:
            warn(f"{name}: PAL-only recording flag, forced off (as published)")


def _count(n: int) -> str:
    """An exact count, or its order of magnitude when huge (str() of huge ints is limited)."""
    return str(n) if n < 10**15 else f"~10^{int(n.bit_length() * 0.30103)}"


def _largest_matrix(model: str, layers: list, error_layers, fw: str, bw: str) -> int:
    """Values of the largest weight matrix of one network (an upper estimate)."""
    n = list(layers)
    e = list(error_layers) if error_layers is not None else [0] + n[1:]
    cand = [a * b for a, b in zip(n, n[1:])]
    if model == "dPC":
        cand += [x * x for x in n[1:]]                   # square BPI
    if model == "errormc":
        cand += [a * b for a, b in zip(e[1:], n[1:])] + [a * b for a, b in zip(e[1:], e[2:])]
        if fw == "skip":
            cand.append(sum(n) ** 2)
        if bw == "skip":
            cand.append(sum(e[1:]) ** 2)
    return max(cand)


def _check_sizes(p: dict, model: str, teacher: str, tl: list, has_teacher: bool, T: int, n_settle: int,
                 n_train: int) -> None:
    """Refuse runs whose step counts or arrays cannot exist (astronomic sizes would otherwise end in a
    MemoryError, an OverflowError or numpy's "array is too big" deep inside the simulation)."""
    S = len(p["random_seed"])
    epochs = p["epochs"]
    by_samples = p["input_signal"] != "genMNIST" and p["dataset_size"] >= T    # the larger factor of n_train
    total = n_settle + (epochs + min(epochs, 10) + 1) * n_train     # as numpy_model.protocol counts
    if p["input_signal"] == "cartpole":
        per_test = 4 * 200 / p["dt"]
        if not per_test <= MAX_STEPS:
            raise ParamsError(f"dt: {_fmt(p['dt'])} makes a 200 ms cart-pole test {per_test:.3g} time steps, "
                              f"more than {MAX_STEPS:.0e}; expected a larger dt", "dt")
        total += (epochs + 1) * int(per_test)
    if total > MAX_STEPS:
        key = "epochs" if 3 * n_train <= MAX_STEPS else "dataset_size" if by_samples else "Tpres"
        raise ParamsError(
            f"{key}: the run would simulate {_count(total)} time steps per network (epochs {_count(epochs)} "
            f"x {_count(n_train)} steps of dataset_size*Tpres/dt, plus settling_time, validation and test), "
            f"more than {MAX_STEPS:.0e}; expected fewer epochs, a smaller dataset_size or Tpres/dt", key)
    n0 = p["layers"][0]
    matrix = _largest_matrix(model, p["layers"], p["error_layers"], p["fw_connection_mode"],
                             p["bw_connection_mode"])
    if has_teacher:
        t_err = p["teacher_error_layers"] if p["teacher_error_layers"] is not None else (
            p["error_layers"] if len(p["error_layers"]) == len(tl) else None)
        matrix = max(matrix, _largest_matrix(teacher, tl, t_err, p["fw_connection_mode"],
                                             p["bw_connection_mode"]))
    unit = n0
    if any(p[k] for k in ("rec_uP", "rec_uP_breve", "rec_rP_breve", "rec_uI", "rec_uI_breve",
                          "rec_rI_breve", "rec_vbas", "rec_vapi", "rec_lat_mismatch")):
        unit = max([unit, *p["layers"], *p["error_layers"], *tl])
    if any(p[k] for k in ("rec_WPP", "rec_WIP", "rec_BPI", "rec_BPP", "rec_BII", "rec_dWPP", "rec_dWIP",
                          "rec_dBPP", "rec_dBII", "rec_dBPI")):
        unit = max(unit, matrix)
    records = total // p["rec_per_steps"] + 1
    arrays = (
        (S * n_train * n0, "layers" if n0 >= n_train else "dataset_size" if by_samples else "Tpres",
         f"the input sequence (random_seed: {S} seeds x dataset_size*Tpres/dt = {_count(n_train)} steps x "
         f"layers[0] = {n0})"),
        (S * matrix, "layers",
         f"a weight matrix (random_seed: {S} seeds x {_count(matrix)} weights of layers/error_layers/"
         f"teacher_layers)"),
        (S * records * unit, "rec_per_steps",
         f"a recording buffer (random_seed: {S} seeds x {_count(records)} records of {_count(total)} steps "
         f"(epochs, dataset_size, Tpres/dt, settling_time) / rec_per_steps x {_count(unit)} values)"),
    )
    for values, key, what in arrays:
        if values > MAX_ARRAY_VALUES:
            raise ParamsError(f"{key}: {what} would need {_count(values)} values ({_count(8 * values)} "
                              f"bytes), more than the limit of {MAX_ARRAY_VALUES} "
                              f"({8 * MAX_ARRAY_VALUES // 2**30} GiB) for one array", key)


def _warn_truncation(name: str, value: float, dt: float, warn) -> None:
    q = value / dt
    if int(q) != round(q) and abs(q - round(q)) < 1e-9 * max(1.0, abs(q)):
        warn(f"{name}: {name}/dt = {q!r} is truncated to {int(q)} steps (not {round(q)}), as published")


def _check_time_constants(p: dict, model: str, L: int, who: str) -> None:
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
                f"{key}: the time constant 1/({expr}) of the {model} {what} ({who}) must be positive and finite, "
                f"got {expr} = {value!r} ({', '.join(f'{k} = {p[k]!r}' for k in expr.split('+'))})", key)
    if model in ("sacramento2018", "dPC") and p["init_in_SPS"] and L > 2 and not gd > 0:
        raise ParamsError(
            f"gden: init_in_SPS for {model} ({who}) divides by gden (SPEC 4.1), expected gden > 0, got "
            f"{gd!r}; set init_in_SPS false or gden > 0", "gden")


# ----------------------------------------------------------------------------------------------
# file loading
# ----------------------------------------------------------------------------------------------


def _no_duplicates(pairs):
    out = {}
    for key, value in pairs:
        if key in out and not key.startswith("_comment"):
            raise ParamsError(f"{key}: duplicate key in the params file (JSON would silently keep the "
                              f"last value); expected each key once", key)
        out[key] = value
    return out


def load_params(path, task: str = "fw_only", warn: Callable[[str], None] | None = None) -> dict:
    """Read ``path`` (a params.json) and return :func:`validate` of its content."""
    fname = os.fspath(path)
    label = f"params file {fname!r}"
    if os.path.isdir(fname):
        raise ParamsError(f"{label}: is a directory, expected a JSON file", fname)
    try:
        with open(fname, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise ParamsError(f"{label}: no such file", fname) from None
    except OSError as e:
        raise ParamsError(f"{label}: cannot be read ({e.strerror or e})", fname) from None
    for bom, enc in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                     (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
        if data.startswith(bom):
            raise ParamsError(f"{label}: expected UTF-8 text, got {enc} (byte order mark {bom.hex(' ')}); "
                              f"save the file as UTF-8", fname)
    nul = data.find(b"\x00")
    if nul >= 0:      # never in JSON text; typical of UTF-16/UTF-32 without a byte order mark
        raise ParamsError(f"{label}: expected UTF-8 text, got a NUL byte at offset {nul} "
                          f"(UTF-16 or UTF-32?); save the file as UTF-8", fname)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ParamsError(f"{label}: expected UTF-8 text, got byte 0x{data[e.start]:02x} at offset "
                          f"{e.start} that is not valid UTF-8", fname) from None
    try:
        raw = json.loads(text, object_pairs_hook=_no_duplicates)
    except ParamsError:
        raise
    except json.JSONDecodeError as e:
        raise ParamsError(f"{label}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}",
                          fname) from None
    except ValueError as e:    # e.g. an integer literal longer than Python's int/str conversion limit
        raise ParamsError(f"{label}: invalid JSON: {e}", fname) from None
    except RecursionError:
        raise ParamsError(f"{label}: invalid JSON: nested too deeply", fname) from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{label}: expected a JSON object {{\"key\": value, ...}} at the top level, "
                          f"got {type(raw).__name__} {_fmt(raw, 60)}", fname)
    return validate(raw, task, warn=warn)


# ----------------------------------------------------------------------------------------------
# documentation
# ----------------------------------------------------------------------------------------------


def params_reference_markdown() -> str:
    """Markdown table (key | type | default | meaning / allowed) generated from SCHEMA."""

    def esc(s: str) -> str:
        return s.replace("|", "\\|")

    lines = [
        "| key | type | default | meaning / allowed |",
        "|---|---|---|---|",
    ]
    for k in SCHEMA.values():
        meaning = k.doc
        if k.allowed:
            meaning += f" Allowed: {k.allowed}."
        lines.append(f"| `{k.name}` | {esc(k.type_name)} | {esc(k.default_text())} | {esc(meaning)} |")
    notes = (
        "\n`L = len(layers)`. Keys starting with `_comment` are allowed and ignored. Keys whose default is "
        "*absent* change the behaviour only when present; `null` also means absent.\n"
    )
    return "\n".join(lines) + "\n" + notes


if __name__ == "__main__":  # pragma: no cover
    print(params_reference_markdown(), end="")
