"""The schema of ``params.json``: every key with its constraint, default, meaning and group.

``SCHEMA`` is the ordered, read-only mapping ``key -> Key``; the params reference, the key checks of
:func:`~numpy_model.params.validate` and the defaults it fills in all come from it. Also here: the
vocabulary (model names, activations, ...), the sanity limits, and the quantities derived from a
validated params dict (``effective_*``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping

from .. import models as _models
from ..recvars import REC_VARIABLES
from .constraints import Activation, Bool, Choice, Constraint, EtaFw, Int, ListOf, Number, Range, Seeds, Str

MC_MODELS = tuple(_models.MODELS)        # the model registry (numpy_model/models)
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
# Number of areas in the Markov et al. connectivity table (docs/model.md §5.4); the realistic init and
# the fill_scaled conversion index it by neuron layer.
MAX_REALISTIC_NEURON_LAYERS = 7
# Class defaults of ``rate_target`` (docs/model.md §6.4); the published code never reads the key
# ``target_rate`` (§12.4).
RATE_TARGET_CLASS_DEFAULT = MappingProxyType(dict(_models.RATE_TARGET_DEFAULT))   # the model registry
INIT_RANGE_NAMES = ("WPP", "WIP", "BPI", "BPP", "BII")


@dataclass(frozen=True)
class Key:
    """One params.json key.

    ``constraint`` checks a given value on its own and describes the allowed values (``allowed``);
    ``kind``, ``minimum``, ``exclusive_minimum``, ``choices`` and ``nullable`` are read from it.
    ``derive`` computes a default that depends on other (already validated) keys; ``default_doc`` is
    how that default is shown in the documentation.
    """

    name: str
    constraint: Constraint
    default: Any
    doc: str
    required: bool = False
    derive: Callable[[dict], Any] | None = None
    default_doc: str = ""
    group: str = ""

    def check(self, value) -> None:
        """Raise ParamsError unless ``value`` is allowed for this key (independent of other keys)."""
        self.constraint.check(self.name, value)

    @property
    def allowed(self) -> str:
        return str(self.constraint)

    @property
    def kind(self) -> str:
        return self.constraint.kind

    @property
    def nullable(self) -> bool:
        return self.constraint.nullable

    @property
    def minimum(self):
        return self.constraint.minimum

    @property
    def exclusive_minimum(self) -> bool:
        return self.constraint.exclusive_minimum

    @property
    def choices(self):
        return self.constraint.choices

    @property
    def type_name(self) -> str:
        t = self.constraint.type_name
        return t + " or null" if self.nullable else t

    def default_text(self) -> str:
        if self.required:
            return "*required*"
        if self.default_doc:
            return self.default_doc
        if self.default is None:
            return "absent"
        return "`" + json.dumps(self.default) + "`"


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
    published code never reads ``target_rate``, docs/model.md §12.4; all its files agree with the
    class defaults, so parity holds), else the class default (errormc/ann True, sacramento2018/dPC False).
    """
    rt = params.get("rate_target")
    if rt is not None:
        return bool(rt)
    if params.get("target_rate") is not None:
        return bool(params["target_rate"])
    return RATE_TARGET_CLASS_DEFAULT[mc_model or params["mc_model"]]


def effective_task(params: Mapping, task: str) -> str:
    """The task that actually runs: genMNIST forces ``fw_only_no_teacher`` (docs/model.md §5.1)."""
    return "fw_only_no_teacher" if params.get("input_signal") == "genMNIST" else task


def _L(p: dict) -> int:
    return len(p["layers"])


def _lateral_length(model: str, L: int) -> int:
    """Entries of eta_IP / eta_PI that a network of ``model`` with ``L`` layers reads (the registry)."""
    return _models.lateral_length(model, L)


def _default_lateral(p: dict) -> list:
    L = _L(p)
    n = L - 1 if p["mc_model"] in ("errormc", "ann") else max(L - 2, 0)
    teacher = effective_teacher_model(p)
    tL = len(p["teacher_layers"]) if p.get("teacher_layers") is not None else L
    n = max(n, _lateral_length(teacher, tL))
    return [0.0] * n


# ----------------------------------------------------------------------------------------------
# the keys
# ----------------------------------------------------------------------------------------------

_K: list[Key] = []


def _k(name, constraint, default, doc, **kw):
    _K.append(Key(name, constraint, default, doc, **kw))


PAL_REFUSED = "the deprecated PAL noise model is not implemented"
LIST_L1 = "a list of L-1 finite numbers, or null (= absent)"
LATERAL = ("a list of finite numbers >= 0 with at least the number of entries used "
           "(errormc L-1, sacramento2018/dPC L-2, ann none)")
LATERAL_DEFAULT = "zeros: L-1 entries (errormc, ann), L-2 (sacramento2018, dPC)"
POSITIVE = Number(min=0, exclusive=True)

# Texts the user sees (these docs, in README.md, and the messages) cite docs/model.md §x.y.

# --- model and architecture -------------------------------------------------------------------
G = "model"
_k("mc_model", Choice(*MC_MODELS), None, "Student model.", required=True, group=G)
_k("teacher_mc_model", Choice(*MC_MODELS, None), None,
   "Teacher model (tasks fw_only, fw_bw); absent = same as mc_model.",
   default_doc="absent (= mc_model)", group=G)
_k("model_type", Choice(*MODEL_TYPES, refused={"PAL": PAL_REFUSED}), "BP",
   "Backward weights: BP = transposed forward weights (+ WT_noise), FA = fixed random feedback. "
   "PAL (deprecated sacramento2018 noise model) is not implemented.", group=G)
_k("layers", ListOf(Int(min=1), min_len=2, text="a list of at least 2 positive integers"), None,
   "Layer sizes [n_0 (input), n_1, ..., n_out]; L = len(layers).", required=True, group=G)
_k("error_layers",
   ListOf(Int(), min_len=1, text="a list of len(layers) integers, entries after the first >= 1"), None,
   "errormc error-unit population sizes per layer; the first entry is ignored (conventionally 0).",
   derive=lambda p: [0] + list(p["layers"][1:]), default_doc="`[0] + layers[1:]`", group=G)
_k("teacher_layers", ListOf(Int(min=1), min_len=2, nullable=True,
                            text="a list of at least 2 positive integers, or null (= absent)"), None,
   "Teacher layer sizes; absent = layers. Must have the same input and output size as layers.", group=G)
_k("teacher_error_layers",
   ListOf(Int(), min_len=1, nullable=True,
          text="a list of len(teacher_layers or layers) integers, entries after the first >= 1, "
               "or null (= absent)"), None,
   "Teacher error-unit sizes (errormc teacher); absent = error_layers.", group=G)
_k("fw_connection_mode", Choice(*CONNECTION_MODES), "layered",
   "errormc forward weights: layered (adjacent layers only) or skip (one block matrix). "
   "Other models are forced to layered.", group=G)
_k("bw_connection_mode", Choice(*CONNECTION_MODES), "layered",
   "errormc error-to-error weights BII: layered or skip. Other models are forced to layered.", group=G)
_k("varphi_transfer", Bool(), True, "errormc: multiply the hidden error dendrite by WIP @ phi'.", group=G)
_k("dWPP_use_activation", Bool(), False, "Forward plasticity compares rates instead of voltages.", group=G)
_k("init_in_SPS", Bool(), True, "sacramento2018/dPC: start in the self-predicting state.", group=G)

# --- time and data -----------------------------------------------------------------------------
G = "time"
_k("dt", POSITIVE, 0.01, "Integration time step (ms).", group=G)
_k("Tpres", POSITIVE, 0.2,
   "Presentation time per sample (ms); T = int(Tpres/dt) >= 1 steps per sample.", group=G)
_k("settling_time", Number(min=0), 20,
   "Settling time before training (ms), int(settling_time/dt) steps on the training input; "
   "must not be longer than that input.", group=G)
_k("dataset_size", Int(min=1), 100,
   "Samples per split (train, validation, test); ignored for genMNIST.", group=G)
_k("epochs", Int(min=0), 1, "Training epochs.", group=G)
_k("input_signal", Choice(*INPUT_SIGNALS), "step",
   "Input: step (uniform random samples), cartpole (layers [4, ..., 1]), genMNIST (layers [10, ..., 784]).",
   group=G)
_k("target_rescale_factor", POSITIVE, 76.6,
   "cartpole: scale between the network output and the force.", group=G)
_k("random_seed", Seeds(SEED_MAX), [56789], "Student seeds, one network per seed.", group=G)

# --- activations -------------------------------------------------------------------------------
G = "activation"
_k("activation", Activation(ACTIVATIONS), "tanh",
   "Representation/pyramidal activation, for all neuron layers or per layer. dPC students use linear.",
   group=G)
_k("error_activation", Activation(ACTIVATIONS), "linear",
   "errormc error-unit activation, all layers or per layer.", group=G)
_k("activation_slope", ListOf(Number(), nullable=True, text=LIST_L1), None,
   "Per-layer activation slope (length L-1); absent = 1.", group=G)
_k("activation_offset", ListOf(Number(), nullable=True, text=LIST_L1), None,
   "Per-layer activation offset (length L-1); absent = 0.", group=G)
_k("activation_slope_std", Number(min=0, nullable=True), None,
   "Std of per-neuron Gaussian noise on the slope (students, representation units); absent = none.",
   group=G)
_k("activation_offset_std", Number(min=0, nullable=True), None,
   "Std of per-neuron Gaussian noise on the offset (students, representation units); absent = none.",
   group=G)
_k("error_activation_slope_std", Number(min=0, nullable=True), None,
   "errormc: std of per-neuron Gaussian noise on the error units' activation slope (students only; "
   "base slope from activation_slope); absent = none. Not in the published code, whose error units never "
   "get noise (docs/model.md §5.6, 12.19); used by the Fig 5 error-unit-noise runs. Draws: on the global RNG right "
   "after the representation-unit slope/offset draws, all error-unit slopes (per layer, error_layers[k+1] "
   "values) before all error-unit offsets; phi' stays nominal.", group=G)
_k("error_activation_offset_std", Number(min=0, nullable=True), None,
   "errormc: std of per-neuron Gaussian noise on the error units' activation offset (students only; base "
   "offset from activation_offset); absent = none. See error_activation_slope_std.", group=G)

# --- conductances ------------------------------------------------------------------------------
G = "conductances"
_k("gl", Number(min=0), 0.03, "Leak conductance g_l.", group=G)
_k("gbas", Number(min=0), 0.1, "Basal conductance g_b.", group=G)
_k("gapi", Number(min=0), 0.06, "Apical conductance g_a.", group=G)
_k("gden", Number(min=0), 0.1, "Interneuron/error-unit dendritic conductance g_d.", group=G)
_k("gnI", Number(min=0), 0.06, "sacramento2018 interneuron nudging conductance g_n.", group=G)
_k("gntgt", Number(min=0), 0.06, "Output (target) nudging conductance g_t.", group=G)

# --- learning rates ----------------------------------------------------------------------------
G = "learning"
_k("eta_fw", EtaFw(text="a list of L-1 finite numbers >= 0 (errormc skip: or an (L-1)x(L-1) list of lists)"),
   None,
   "Forward learning rates per neuron layer; errormc with fw_connection_mode skip also accepts an "
   "(L-1)x(L-1) matrix [post layer - 1][pre layer].",
   derive=lambda p: [1.0] * (_L(p) - 1), default_doc="`[1.0] * (L-1)`", group=G)
_k("eta_IP", ListOf(Number(min=0), text=LATERAL), None,
   "Lateral rates: errormc WIP decay to identity, sacramento2018 WIP learning.",
   derive=_default_lateral, default_doc=LATERAL_DEFAULT, group=G)
_k("eta_PI", ListOf(Number(min=0), text=LATERAL), None,
   "Lateral rates: errormc BPI decay to identity, sacramento2018/dPC BPI learning.",
   derive=_default_lateral, default_doc=LATERAL_DEFAULT, group=G)
_k("eta_bw", ListOf(Number(min=0)), [], "Backward learning rates (PAL only; unused).", group=G)
_k("eta_fw_conversion", Choice(*ETA_FW_CONVERSIONS), "fill_diag",
   "errormc skip: how a list eta_fw becomes the (L-1)x(L-1) matrix (fill_scaled uses the Markov table).",
   group=G)
_k("WT_noise", Number(min=0), 0.0,
   "BP mode: half-width of the uniform noise added to the transposed weights (students only).", group=G)
_k("taur", Number(min=0, exclusive=True, nullable=True), None,
   "Prospectivity scaling of the lookahead, students only; absent = 1 (plain lookahead).", group=G)
_k("rate_target", Bool(nullable=True), None,
   "Override the class default (errormc/ann: targets are rates; sacramento2018/dPC: voltages).",
   default_doc="absent (= class default)", group=G)

# --- initialisation ----------------------------------------------------------------------------
G = "init"
for _name, _lo_hi in (("WPP", [-1, 1]), ("WIP", [0, 0]), ("BPI", [0, 0]), ("BPP", [-1, 1]),
                      ("BII", [-1, 1])):
    _k(f"init_{_name}_range", Range(), _lo_hi,
       f"Uniform init range [lo, hi] of the student {_name} weights.", group=G)
for _name in INIT_RANGE_NAMES:
    _k(f"init_teacher_{_name}_range", Range(nullable=True), None,
       f"Uniform init range of the teacher {_name} weights; absent = init_{_name}_range.",
       default_doc=f"absent (= init_{_name}_range)", group=G)
del _name, _lo_hi
_k("init_WIP_identity", Bool(), True, "errormc: add a rectangular identity to WIP after drawing.", group=G)
_k("init_BPI_identity", Bool(), True, "errormc: add a rectangular identity to BPI after drawing.", group=G)
_k("init_realistic_connectivity", Bool(), False,
   "errormc skip/skip: mask WPP/BII init by the Markov et al. table (at most 7 neuron layers).", group=G)
_k("WPP_skip_connection_range", Range(), [0, 0],
   "errormc fw skip: init range of the non-adjacent forward blocks.", group=G)
_k("BII_skip_connection_range", Range(), [0, 0],
   "errormc bw skip: init range of the non-adjacent BII blocks.", group=G)
_k("copy_teacher_weights", Bool(), False, "Copy the teacher's weights into every student at init.", group=G)
_k("copy_teacher_voltages", Bool(), False, "Copy the teacher's voltages into every student at init.",
   group=G)

# --- PAL / noise options (dead outside PAL except where stated) ------------------------------
G = "noise"
_k("dtxi", POSITIVE, 0.01, "Noise resampling interval (ms; PAL/errormc noise).", group=G)
_k("tauHP", POSITIVE, 0.1, "High-pass time constant (ms; PAL only).", group=G)
_k("tauLO", POSITIVE, 100.0, "Low-pass time constant (ms) of dWPP_low_pass.", group=G)
_k("tauxi", POSITIVE, 0.1, "OU noise time constant (ms; PAL only).", group=G)
_k("noise_type", Choice(*NOISE_TYPES), None,
   "Apical noise type (PAL); errormc + OU + backward learning (tasks fw_bw, bw_only) is refused.",
   default_doc="`null` (no noise)", group=G)
_k("noise_mode", Choice(*NOISE_MODES), "const", "Noise scaling mode (PAL only).", group=G)
_k("noise_scale", ListOf(Number(min=0)), [0.0], "Per-layer noise amplitude (PAL only).", group=G)
_k("noise_deg", Number(), 30, "Unused (dead option).", group=G)
_k("alpha", ListOf(Number()), None, "Per-layer BPP regularizer strength (PAL only).",
   derive=lambda p: [1e-06] * (_L(p) - 1), default_doc="`[1e-06] * (L-1)`", group=G)
_k("inter_low_pass", Bool(), False, "Low-pass filter the interneuron dendrite (PAL only).", group=G)
_k("pyr_hi_pass", Bool(), False, "High-pass filter the presynaptic rate of BPP learning (PAL only).",
   group=G)
_k("dWPP_low_pass", Bool(), False, "Low-pass filter the forward weight updates (time constant tauLO).",
   group=G)
_k("dWPP_r_low_pass", Bool(), False, "Low-pass variant of the forward update (PAL only).", group=G)
_k("dWPP_post_low_pass", Bool(), False, "Low-pass variant of the forward update (PAL only).", group=G)
_k("gate_regularizer", Bool(), False, "Gate the BPP regularizer by d_relu(r_pre) (PAL only).", group=G)
_k("varphi_regularizer", Bool(), False, "Regularizer of the form phi' B phi' (PAL only; never read).",
   group=G)

# --- never read ---------------------------------------------------------------------------------
G = "unused"
_k("target_rate", Bool(nullable=True), None,
   "Whether the target is a rate (true) or a voltage (false). Honoured here (the published code "
   "never reads it; all published files agree with the class defaults); rate_target, if present, wins.",
   group="protocol")
_k("activation_noise_std", Number(min=0, nullable=True), None, "Never read (dead option).", group=G)
_k("output", Str(nullable=True), None, "Never read (output path note of the published files).", group=G)

# --- recording -------------------------------------------------------------------------------------
G = "recording"
_k("rec_per_steps", Int(min=1), 1, "Record every rec_per_steps simulated steps.", group=G)
_k("checkpoint_every", Int(min=0), 0,
   "Write a checkpoint (next to params.json; the run resumes from it) every N epochs; 0 = every "
   "10 minutes of wall time. Also written on SIGTERM/SIGINT at the next epoch boundary.", group=G)
_k("backend", Choice("auto", "numpy", "numba"), "auto",
   "How the time loop runs: numpy (the reference, no compiler), numba (each phase in one compiled "
   "call; pip install -e \".[fast]\"), auto = numba when importable, else numpy. What cannot be "
   "compiled runs on numpy with a warning; runner.py --backend overrides it. Results agree within "
   "rounding (rtol 1e-12), not bit for bit.", group="time")
_k("specialize", Choice("auto", "always", "never"), "auto",
   "numba: run the training phases on a kernel compiled for this net's sizes (constant loop bounds; "
   "dense nets, every size <= 128; the same numbers bit for bit; 8-4-2-1: errormc 1.6x, the other "
   "models 1.2-1.3x faster). Its compile takes 5-35 s once per net, model and machine (then cached); "
   "auto = when the run trains at least 1e8 seed-steps (seeds x epochs x training steps), where the "
   "compile pays back on the first run. runner.py --specialize overrides it.", group="time")
_k("rec_rate_MSE", Bool(nullable=True), None,
   "MSE definition (docs/model.md §8.3): true = rates, false = voltages (refused if the rate target is on); "
   "absent = follow the rate target.", group=G)
for _var in REC_VARIABLES:      # docs/model.md §8.1
    _k(_var.flag, Bool(), _var.flag == "rec_MSE", "Record " + _var.doc[0].lower() + _var.doc[1:], group=G)
del _var

SCHEMA: Mapping[str, Key] = MappingProxyType({k.name: k for k in _K})
assert len(SCHEMA) == len(_K), "duplicate schema key"
del _K, G

# Per-neuron activation noise on the error units (new keys, applied in init.py). Were the simulator
# without it (``ERROR_UNIT_NOISE_SIMULATED``, the package's switch), validate() would refuse the keys
# for errormc instead of running silently without noise.
ERROR_UNIT_NOISE_KEYS = ("error_activation_slope_std", "error_activation_offset_std")

PAL_ONLY_REC_FLAGS = tuple(v.flag for v in REC_VARIABLES if v.published_only)
