"""The two halves of a simulated ensemble of S networks of one model (docs/model.md §0, §3):

* `Constants`: what is fixed for a run (layout, time constants, conductances, activations,
  learning rates per weight block, BP noise), computed once by the model's `constants`;
  frozen: a variant (DMS, --compare BP) is made with `dataclasses.replace`.
* `State`: the dynamic state, arrays with a leading seed axis S (voltages, rate and dendrite
  buffers, weights stored per block, last increments, each seed's shuffling generator).
  `take(s)` gives one seed's state, `State.stack` puts per-seed states back together; both are
  derived from the fields, so saving, checkpoints, resume, --cont, --compare and DMS share them.

`Phase` names what a step may change, as the protocol's phases do (§7).
"""
import dataclasses
from dataclasses import dataclass, field
from typing import NamedTuple, Optional

import numpy as np


class Phase(NamedTuple):
    """fw: learn forward weights; lat: learn lateral weights (and refresh BP backward weights);
    compare: compute the forward plasticity without applying it (§9.1)."""
    fw: bool = False
    lat: bool = False
    compare: bool = False

    @property
    def plastic(self):
        return self.fw or self.lat or self.compare


FROZEN = Phase()                        # settling, test, the teacher: no plasticity
CLOSED_LOOP = Phase(lat=True)           # cart-pole closed-loop test (§7.5)
COMPARE = Phase(compare=True)           # --compare BP pass (§9.1)


@dataclass(frozen=True)
class Constants:
    """Per-run constants of one ensemble (docs/model.md §4). Arrays with a leading S axis are
    per seed (activation slope/offset noise, BP noise)."""
    kind: str
    S: int
    seeds: tuple
    lay: object                  # numpy_model.circuit.layout.Layout
    dt: float
    g: dict                      # conductances gl, gb, ga, gd, gn, gt (zeroed where unused)
    model_type: str              # "BP" | "FA"
    fw_mode: str
    bw_mode: str
    teacher: bool
    eta_fw: object
    eta_IP: tuple
    eta_PI: tuple
    rate_target: bool
    phiP: object                 # activations.Population of the representation/pyramidal units
    tau: np.ndarray              # time constants of u = [uP | uI]
    tau_look: np.ndarray         # tau * taur (lookahead), students only
    WPP: object                  # kernels.Blocks of the forward weights
    lr_WPP: tuple                # dt * eta_fw per stored block
    psiE: object = None          # errormc error units
    phiI: object = None          # sacramento2018 interneurons
    c_fw: object = None          # gain of the forward rule's basal prediction
    c_ann: float = None
    tau_drive_nt: np.ndarray = None   # sacramento2018/dPC: tau of the drive without a target
    gx: np.ndarray = None        # sacramento2018/dPC: apical conductance (output: g_t)
    WIP: object = None
    lr_IP: tuple = None
    I_WIP: tuple = None
    BPI: object = None
    lr_PI: tuple = None
    I_BPI: tuple = None
    B: object = None             # backward weights (errormc BII stored transposed; BPP)
    N_B: tuple = None            # BP noise per stored block of B
    refresh: object = None       # kernels.Transposes or a (view, mask) rule of the BP refresh
    varphi_transfer: bool = False
    dWPP_use_activation: bool = False
    dWPP_low_pass: bool = False
    fused_update: bool = False   # W_PP += lr post r^T in one pass; dW_PP is then not kept
    tauLO: float = 1.0
    rep_lookahead: Optional[np.ndarray] = None     # per-unit masks (DMS); None: everywhere
    error_lookahead: Optional[np.ndarray] = None
    extra: dict = field(default_factory=dict)       # placeholders recorded but unused (ann)
    backend: str = "numpy"      # "numpy" | "numba": how protocol.run_phase advances it (models/compiled.py)
    specialize: bool = False    # numba: the training phase runs a kernel compiled for its sizes (models/specialize.py)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


def _take(value, s):
    if value is None:
        return None
    if isinstance(value, tuple):
        return tuple(np.array(a[s]) for a in value)
    if isinstance(value, list):          # per-seed objects (generators)
        return value[s]
    return np.array(value[s])


def _stack(values):
    first = values[0]
    if first is None:
        return None
    if isinstance(first, tuple):
        return tuple(np.stack([v[k] for v in values]) for k in range(len(first)))
    if isinstance(first, np.ndarray):
        return np.stack(values)
    return list(values)


@dataclass
class State:
    """Dynamic state of an ensemble; every array has the seed axis first. Weights are tuples of
    stored blocks (see `Constants.WPP` etc. for where they sit). Fields a model does not use
    are None. "_prev" buffers are swapped each step, never copied."""
    u: np.ndarray                        # [uP | uI] somatic voltages
    u_old: np.ndarray
    ub: np.ndarray                       # lookahead voltages u_breve
    r_full: np.ndarray                   # [x | r_breve_P]
    r_full_prev: np.ndarray
    vbas: np.ndarray
    vbas_prev: np.ndarray
    WPP: tuple
    dWPP: tuple
    rngs: list                           # per seed: the shuffling generator (§6.5)
    rIb: np.ndarray = None               # lookahead rates of the second population
    rIb_prev: np.ndarray = None
    dP: np.ndarray = None                # errormc phi'(uP_breve)
    vapi: np.ndarray = None
    vapi_prev: np.ndarray = None
    vden: np.ndarray = None
    vden_prev: np.ndarray = None
    ub_prev: np.ndarray = None           # dPC
    r_full_prev2: np.ndarray = None      # dPC
    WIP: tuple = None
    dWIP: tuple = None
    BPI: tuple = None
    dBPI: tuple = None
    B: tuple = None                      # errormc BII^T / BPP
    LWPP: tuple = None                   # low-passed dWPP (errormc dWPP_low_pass)

    def take(self, s):
        """Seed s's state as a dict of plain arrays (no seed axis): light to pickle."""
        return {f.name: _take(getattr(self, f.name), s) for f in dataclasses.fields(self)}

    @classmethod
    def stack(cls, per_seed):
        """The ensemble state of `take` dicts, one per seed."""
        return cls(**{f.name: _stack([d[f.name] for d in per_seed]) for f in dataclasses.fields(cls)})

    def load(self, other):
        """Copy another State's values into this one's arrays, in place."""
        for f in dataclasses.fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, np.ndarray):
                mine[...] = theirs
            elif isinstance(mine, tuple):
                for a, b in zip(mine, theirs):
                    a[...] = b
            else:
                setattr(self, f.name, theirs)
