"""An ensemble: S networks of one model and shape, run together (docs/model.md §0, §3).

`Ensemble` pairs the frozen `Constants` with the dynamic `State` (numpy_model.state) and the
model module that advances them (numpy_model.models). It holds no equations; its properties are
read-only views for recorders, analyses and tests. A variant (DMS output nonlinearity, the
--compare BP learning rates) is `ens.vary(...)`: new constants over the same state.
"""
import numpy as np

from .circuit.activations import phi
from .circuit.layout import Layout
from .models import MODELS
from .state import FROZEN, State


class Ensemble:
    __slots__ = ("c", "state", "model")

    def __init__(self, constants, state):
        self.c, self.state = constants, state
        self.model = MODELS[constants.kind]

    def __getstate__(self):
        return {"c": self.c, "state": self.state}

    def __setstate__(self, d):
        self.__init__(d["c"], d["state"])

    @classmethod
    def from_inits(cls, inits, P, taur=None, rate_target=None):
        """Stack per-seed initial networks (numpy_model.circuit.init.NetInit) into an ensemble."""
        first = inits[0]
        model = MODELS[first.kind]
        lay = Layout(first.kind, first.layers, first.error_layers, [len(u) for u in first.uI])
        C = model.constants(inits, P, lay, taur=taur, rate_target=rate_target)
        return cls(C, model.initial_state(inits, C))

    def vary(self, **changes):
        """The same networks (shared state) under changed constants."""
        return Ensemble(self.c.replace(**changes), self.state)

    def step(self, x, y, phase=FROZEN):
        self.model.step(self.c, self.state, x, y, phase)

    # ------------------------------------------------------------------ recording and saving
    def layers_of(self, name):
        """Current value of a recordable variable as per-layer (S, ...) arrays (§8.1)."""
        return self.model.layers_of(self.c, self.state, name)

    def set_layers(self, name, arrays):
        """Write per-layer (S, ...) weights (the published lists) into the stored blocks."""
        c, st = self.c, self.state
        if name == "WPP" and c.fw_mode == "skip":
            st.WPP[0][...] = arrays[0][:, c.lay.n0:, :]
        elif name == "WPP":
            c.WPP.set_layers(st.WPP, arrays)
        elif name in ("WIP", "BPI") and c.kind != "ann":
            getattr(c, name).set_layers(getattr(st, name), arrays)
        elif name == "BII":
            c.B.set_layers(st.B, [np.swapaxes(a, 1, 2) for a in arrays])
        elif name == "BPP":
            c.B.set_layers(st.B, arrays)
        else:
            raise KeyError(name)

    def seed_state(self, s):
        """Seed s's complete dynamic state (plain arrays), as saved in model.pkl and checkpoints."""
        return self.state.take(s)

    def restore(self, states):
        """Set every seed's dynamic state from `seed_state` dicts."""
        self.state.load(State.stack(states))

    # ------------------------------------------------------------------ read-only views
    kind = property(lambda self: self.c.kind)
    S = property(lambda self: self.c.S)
    seeds = property(lambda self: list(self.c.seeds))
    lay = property(lambda self: self.c.lay)
    layers = property(lambda self: self.c.lay.layers)
    error_layers = property(lambda self: self.c.lay.error_layers)
    dt = property(lambda self: self.c.dt)
    g = property(lambda self: self.c.g)
    rate_target = property(lambda self: self.c.rate_target)
    model_type = property(lambda self: self.c.model_type)
    fw_mode = property(lambda self: self.c.fw_mode)
    bw_mode = property(lambda self: self.c.bw_mode)
    eta_fw = property(lambda self: self.c.eta_fw)
    eta_IP = property(lambda self: list(self.c.eta_IP))
    eta_PI = property(lambda self: list(self.c.eta_PI))
    phiP = property(lambda self: self.c.phiP)
    rngs = property(lambda self: self.state.rngs)
    u = property(lambda self: self.state.u)
    uP = property(lambda self: self.state.u[:, :self.lay.NP])
    uI = property(lambda self: self.state.u[:, self.lay.NP:])
    uPb = property(lambda self: self.state.ub[:, :self.lay.NP])
    uIb = property(lambda self: self.state.ub[:, self.lay.NP:])
    rPb = property(lambda self: self.state.r_full[:, self.lay.n0:])
    rIb = property(lambda self: self.state.rIb)
    dP = property(lambda self: self.state.dP)
    vbas = property(lambda self: self.state.vbas)
    vapi = property(lambda self: self.state.vapi)
    vden = property(lambda self: self.state.vden)

    def full(self, name):
        """A weight matrix as one (S, rows, cols) array over all units (tests, analyses):
        WPP, WIP, BPI, dWPP; "B" is BII (errormc) or BPP; "N_B" its BP noise."""
        c, st = self.c, self.state
        if name in ("B", "N_B"):
            M = c.B.full(st.B if name == "B" else c.N_B)
            return np.swapaxes(M, 1, 2) if c.kind == "errormc" else M
        blocks = c.WPP if name in ("WPP", "dWPP") else getattr(c, name.lstrip("d"))
        if blocks is None:                     # ann: W_IP, B_PI are not part of the dynamics
            return np.zeros((c.S, 0, 0))
        return blocks.full(getattr(st, name))

    def output_rate(self):
        return self.rPb[:, self.lay.out]

    def output_voltage(self):
        return (self.uP if self.kind == "ann" else self.uPb)[:, self.lay.out]

    def phi_out(self, y):
        """Output-layer activation phi_out(y) with the output units' slope/offset."""
        out, pop = self.lay.out, self.c.phiP
        s = None if pop.slope is None else pop.slope[:, out]
        o = None if pop.offset is None else pop.offset[:, out]
        return phi(pop.names[-1], y, s, o)
