"""An ensemble: many networks of one kind and shape, state arrays with a leading seed axis S.

Holds data only (arrays and constants); the equations live in `numpy_model.models`.
"""
import numpy as np

from .activations import Population
from .init import RATE_TARGET_DEFAULT
from .layout import Layout, gather_T

KINDS = ("errormc", "sacramento2018", "dPC", "ann")


def _stack(per_seed):
    return np.stack(per_seed, axis=0)


def _per_unit(values_per_seed, sizes):
    """Stack per-seed per-layer slope/offset lists into (S, n) arrays."""
    rows = []
    for values in values_per_seed:
        rows.append(np.concatenate([np.broadcast_to(np.asarray(v, float), (n,)).copy()
                                    for v, n in zip(values, sizes)]))
    return _stack(rows)


class Ensemble:
    """State of S networks of one kind; build with `Ensemble.from_inits`."""

    def __init__(self):
        pass

    @classmethod
    def from_inits(cls, inits, P, taur=None, rate_target=None):
        self = cls()
        first = inits[0]
        kind = first.kind
        self.kind = kind
        self.S = S = len(inits)
        self.seeds = [n.seed for n in inits]
        self.inits = inits
        self.teacher = first.teacher
        self.model_type = first.model_type
        self.fw_mode, self.bw_mode = first.fw_mode, first.bw_mode
        lay = self.lay = Layout(kind, first.layers, first.error_layers, [len(u) for u in first.uI])
        self.layers, self.error_layers = lay.layers, lay.error_layers
        self.dt = P["dt"]
        gl, gb, ga, gd, gn, gt = (P[k] for k in ("gl", "gbas", "gapi", "gden", "gnI", "gntgt"))
        if kind == "ann":
            ga = gd = gn = gt = 0.0
        if kind == "dPC":
            gn = 0.0
        self.g = dict(gl=gl, gb=gb, ga=ga, gd=gd, gn=gn, gt=gt)
        self.rate_target = RATE_TARGET_DEFAULT[kind] if rate_target is None else rate_target
        NP, NI, L = lay.NP, lay.NI, lay.L

        # activations (per-unit slope/offset, per-seed)
        self.phiP = Population(first.activation, lay.p_sizes,
                               _per_unit([n.slope for n in inits], lay.p_sizes),
                               _per_unit([n.offset for n in inits], lay.p_sizes))
        if kind == "errormc":
            # error units: error_activation with the base slope/offset lists, never noise (SPEC 5.6)
            self.psiE = Population(first.error_activation, lay.i_sizes,
                                   _per_unit([n.error_slope for n in inits], lay.i_sizes),
                                   _per_unit([n.error_offset for n in inits], lay.i_sizes))
        elif kind == "sacramento2018":
            # an interneuron uses the activation (and slope/offset) of the layer above
            sl = self.phiP.slope[:, lay.p_sizes[0]:] if self.phiP.slope is not None else None
            of = self.phiP.offset[:, lay.p_sizes[0]:] if self.phiP.offset is not None else None
            self.phiI = Population(first.activation[1:], lay.i_sizes, sl, of)

        # time constants (SPEC 4.1-4.4)
        tauP = np.empty(NP)
        tauI = np.empty(NI)
        if kind in ("sacramento2018", "dPC"):
            tauP[:] = 1 / ((gl + gb) + ga)
            tauP[lay.out] = 1 / ((gl + gb) + gt)
            tauI[:] = 1 / ((gl + gd) + gn)
            self.tau_drive_notgt = tauP.copy()
            self.tau_drive_notgt[lay.out] = 1 / (gl + gb)
            self.gx = np.full(NP, ga)
            self.gx[lay.out] = gt
        elif kind == "errormc":
            tauP[:] = 1 / ((gl + gb) + ga)
            tauI[:] = 1 / (gl + gd)
            tauI[lay.i_out] = 1 / (gl + gt)
        else:
            tauP[:] = 1.0
            tauI[:] = 1.0
        self.tauP, self.tauI = tauP, tauI
        look = taur if (taur is not None and not self.teacher) else 1.0
        # both populations as one vector u = [uP | uI]: one lookahead, one Euler step, one swap
        self.tau = np.concatenate([tauP, tauI])
        self.tau_look = self.tau * look if look != 1.0 else self.tau
        if kind in ("sacramento2018", "dPC"):
            self.tau_drive_nt = np.concatenate([self.tau_drive_notgt, tauI])
        self.rep_lookahead = None  # per-unit bool masks (DMS); None = lookahead everywhere
        self.error_lookahead = None

        # voltages
        u = _stack([np.concatenate(list(n.uP) + list(n.uI)) for n in inits])
        self.u, self.u_old, self.ub = u, u.copy(), u.copy()
        self.D = np.zeros_like(u)          # somatic drive buffer [P | I]
        self.apical = np.zeros((S, NP))    # sacramento2018/dPC: [vapi | target]
        # rates: full vector [x, rP]; the "prev" buffers are swapped every step
        self.r_full = np.zeros((S, lay.N))
        own = [n.extra.get("rates_from", (n.uP, n.uI)) for n in inits]
        self.r_full[:, lay.n0:] = self.phiP(_stack([np.concatenate(o[0]) for o in own]))
        self.r_full_prev = self.r_full.copy()
        self.rIb = self._rI_init(_stack([np.concatenate(o[1]) if o[1] else np.zeros(0) for o in own]))
        self.rIb_prev = self.rIb.copy()
        self.dP = np.zeros((S, NP))  # errormc phi'(uP_breve)
        self.vbas = np.zeros((S, NP))
        self.vbas_prev = np.zeros((S, NP))
        NA = NP if kind == "errormc" else (lay.NPh if kind in ("sacramento2018", "dPC") else 0)
        self.vapi = np.zeros((S, NA))
        self.vapi_prev = np.zeros((S, NA))
        ND = NI if kind in ("errormc", "sacramento2018", "dPC") else 0
        self.vden = np.zeros((S, ND))
        self.vden_prev = np.zeros((S, ND))
        if kind == "dPC":
            self.r_full_prev2 = self.r_full.copy()
            self.ub_prev = self.ub.copy()
        self._build_weights(inits, P)
        self.dWPP = np.zeros_like(self.WPP)
        self.dWIP = np.zeros_like(self.WIP)
        self.dBPI = np.zeros_like(self.BPI)
        self.rngs = [n.rng for n in inits]
        # switches and derived constants
        self.varphi_transfer = bool(P.get("varphi_transfer", False))
        self.dWPP_use_activation = bool(P.get("dWPP_use_activation", False))
        self.dWPP_low_pass = bool(P.get("dWPP_low_pass", False)) and kind == "errormc"
        self.tauLO = P.get("tauLO", 1.0)
        self.LWPP = np.zeros_like(self.WPP) if self.dWPP_low_pass else None
        if kind == "errormc":
            self.c_fw = gb / ((gl + gb) + ga)
        elif kind in ("sacramento2018", "dPC"):
            c = np.full(NP, gb / ((gl + gb) + ga))
            c[lay.out] = gb / (gl + gb)
            if L == 2:
                c[:] = gb / (gl + gb)
            self.c_fw = c
        self.c_ann = gb / (gb + gl)
        return self

    def _rI_init(self, uI):
        lay = self.lay
        if self.kind == "errormc":
            return self.psiE(uI)
        if self.kind == "sacramento2018":
            return self.phiI(uI)
        if self.kind == "dPC":
            return self.r_full[:, lay.n0:lay.n0 + lay.NPh].copy()
        return np.zeros_like(self.uI)

    def __setstate__(self, state):
        """After unpickling (checkpoints), re-link errormc's BII and BPI as views of BB."""
        self.__dict__.update(state)
        if "BB" in state:
            NE = self.lay.NI
            self.B, self.BPI = self.BB[:, :NE], self.BB[:, NE:]

    # views of the combined voltage buffers (valid until the next step swaps them)
    @property
    def uP(self):
        return self.u[:, :self.lay.NP]

    @property
    def uI(self):
        return self.u[:, self.lay.NP:]

    @property
    def uPb(self):
        return self.ub[:, :self.lay.NP]

    @property
    def uIb(self):
        return self.ub[:, self.lay.NP:]

    @property
    def uPb_prev(self):
        return self.ub_prev[:, :self.lay.NP]

    # ------------------------------------------------------------------ weights
    def _build_weights(self, inits, P):
        lay, kind, S = self.lay, self.kind, self.S
        NP, N, L, n0 = lay.NP, lay.N, lay.L, lay.n0
        first = inits[0]
        # forward WPP (NP x N), rows = post P units, cols = [input, P units]
        WPP = np.zeros((S, NP, N))
        for s, net in enumerate(inits):
            if net.fw_mode == "skip":
                WPP[s] = net.WPP[0][n0:, :]
            else:
                for k in range(L - 1):
                    WPP[s, lay.p(k), lay.pre_cols(k)] = net.WPP[k]
        self.WPP = WPP
        self.eta_fw = first.eta_fw
        self.m_WPP = self.fw_mask(first.eta_fw)
        self.eta_IP = list(P["eta_IP"]) if P.get("eta_IP") is not None else []
        self.eta_PI = list(P["eta_PI"]) if P.get("eta_PI") is not None else []
        self.B = None
        self.N_B = None
        self.B_mask = None
        self.B_fresh = False       # B outside the BP gather not yet reset to N_B
        self.gtW_out = None
        if kind == "errormc":
            self._build_errormc(inits)
        elif kind in ("sacramento2018", "dPC"):
            self._build_sacramento(inits)
        else:
            self._build_ann(inits)

    def fw_mask(self, eta):
        """dt * eta per forward block, as a (S, NP, N) matrix: a list gives the hierarchical
        blocks; an (L-1)x(L-1) matrix (errormc skip) every block E[post-1][pre], pre < post."""
        lay, dt, L = self.lay, self.dt, self.lay.L
        eta = np.asarray(eta, dtype=float)
        mask = np.zeros((lay.NP, lay.N))
        if eta.ndim == 2:
            for i in range(1, L):
                for j in range(i):
                    mask[lay.p(i - 1), lay.full_cols(j)] = dt * eta[i - 1][j]
        else:
            for k in range(L - 1):
                mask[lay.p(k), lay.pre_cols(k)] = dt * eta[k]
        return self._full(mask)

    def set_layers(self, name, arrays):
        """Inverse of `layers_of` for weights: write per-layer (S, ...) arrays in place."""
        lay, L = self.lay, self.lay.L
        if name == "WPP":
            if self.fw_mode == "skip":
                self.WPP[...] = arrays[0][:, lay.n0:, :]
            else:
                for k in range(L - 1):
                    self.WPP[:, lay.p(k), lay.pre_cols(k)] = arrays[k]
        elif name == "WIP":
            for k, a in enumerate(arrays):
                self.WIP[:, lay.i(k), lay.p(k)] = a
        elif name == "BPI":
            for k, a in enumerate(arrays):
                cols = lay.p(k) if self.kind == "dPC" else lay.i(k)
                self.BPI[:, lay.p(k), cols] = a
        elif name == "BPP":
            for k, a in enumerate(arrays):
                self.B[:, lay.p(k), lay.p(k + 1)] = a
        elif name == "BII":
            if self.bw_mode == "skip":
                self.B[...] = arrays[0]
            else:
                for k, a in enumerate(arrays):
                    self.B[:, lay.i(k), lay.i(k + 1)] = a
        else:
            raise KeyError(name)
        self.gtW_out = None
        self.B_fresh = False

    def _full(self, mask):
        """A per-block rate mask repeated over seeds (multiplying without broadcasting is faster)."""
        return np.broadcast_to(mask, (self.S,) + mask.shape).copy()

    def _blockdiag(self, per_seed_lists, rows, cols, r_off, c_off):
        M = np.zeros((self.S, rows, cols))
        for s, blocks in enumerate(per_seed_lists):
            for k, b in enumerate(blocks):
                M[s, r_off[k]:r_off[k] + b.shape[0], c_off[k]:c_off[k] + b.shape[1]] = b
        return M

    def _build_errormc(self, inits):
        lay, S, dt = self.lay, self.S, self.dt
        NP, NE, L = lay.NP, lay.NI, lay.L
        self.WIP = self._blockdiag([n.WIP for n in inits], NE, NP, lay.i_off, lay.p_off)
        # BII and BPI both read the error rates: one stacked matrix [BII; BPI], one matmul
        self.BB = np.zeros((S, NE + NP, NE))
        self.BB[:, NE:] = self._blockdiag([n.BPI for n in inits], NP, NE, lay.p_off, lay.i_off)
        self.BPI = self.BB[:, NE:]
        self.I_WIP = self._blockdiag([[np.eye(*w.shape) for w in inits[0].WIP]], NE, NP, lay.i_off, lay.p_off)[0]
        self.I_BPI = self._blockdiag([[np.eye(*b.shape) for b in inits[0].BPI]], NP, NE, lay.p_off, lay.i_off)[0]
        m_IP = np.zeros((NE, NP))
        m_PI = np.zeros((NP, NE))
        for k in range(L - 1):
            if self.eta_IP[k] != 0:
                m_IP[lay.i(k), lay.p(k)] = (-dt) * self.eta_IP[k]
            if self.eta_PI[k] != 0:
                m_PI[lay.p(k), lay.i(k)] = (-dt) * self.eta_PI[k]
        self.m_IP = self._full(m_IP) if m_IP.any() else None
        self.m_PI = self._full(m_PI) if m_PI.any() else None
        B = self.BB[:, :NE]
        for s, net in enumerate(inits):
            if net.bw_mode == "skip":
                B[s] = net.BII[0]
            else:
                for k, b in enumerate(net.BII):
                    B[s, lay.i(k), lay.i(k + 1)] = b
        self.B = B
        # BP refresh: BII <- [triu](gather(WPP)^T + N_BII) (SPEC 4.4.3)
        if self.model_type == "BP":
            N = np.zeros((S, NE, NE))
            for s, net in enumerate(inits):
                if net.bw_mode == "skip":
                    N[s] = net.N_B[0]
                else:
                    for k, b in enumerate(net.N_B):
                        N[s, lay.i(k), lay.i(k + 1)] = b
            self.N_B = N
            pairs = []
            e, n = lay.i_sizes, lay.p_sizes
            if self.bw_mode == "skip":
                blocks = [(kp, kq) for kp in range(L - 1) for kq in range(L - 1)]
            else:
                blocks = [(k, k + 1) for k in range(L - 2)]
            for kp, kq in blocks:
                nr, nc = min(e[kp], n[kp]), min(e[kq], n[kq])
                # BII[p, q] = WPP[P(q), n0 + P(p)]
                pairs.append((lay.i_off[kp], lay.i_off[kq], lay.p_off[kq], lay.n0 + lay.p_off[kp], nr, nc, lay.N))
            dst, src = gather_T((NE, NE), pairs)
            if self.bw_mode == "skip":      # triu(M + N) = triu(M) + triu(N)
                keep = (dst // NE) <= (dst % NE)
                dst, src = dst[keep], src[keep]
                self.N_B = np.triu(self.N_B)
            self._set_gather(dst, src)

    def _build_sacramento(self, inits):
        lay, dt, kind = self.lay, self.dt, self.kind
        NP, NI, NPh, L = lay.NP, lay.NI, lay.NPh, lay.L
        hid_off = lay.p_off[:-1]
        self.WIP = self._blockdiag([n.WIP for n in inits], NI, NP, lay.i_off, lay.p_off)
        self.B = self._blockdiag([n.BPP for n in inits], NPh, NP, hid_off, lay.p_off[1:])
        if kind == "dPC":
            self.BPI = self._blockdiag([n.BPI for n in inits], NPh, NPh, hid_off, hid_off)
        else:
            self.BPI = self._blockdiag([n.BPI for n in inits], NPh, NI, hid_off, lay.i_off)
        m_IP = np.zeros((NI, NP))
        m_PI = np.zeros(self.BPI.shape[1:])
        for k in range(L - 2):
            m_IP[lay.i(k), lay.p(k)] = dt * self.eta_IP[k]
            if self.eta_PI[k] != 0:
                cols = lay.p(k) if kind == "dPC" else lay.i(k)
                m_PI[lay.p(k), cols] = dt * self.eta_PI[k]
        self.m_IP = self._full(m_IP)
        self.m_PI = self._full(m_PI) if m_PI.any() else None
        if self.model_type == "BP":
            self.N_B = self._blockdiag([n.N_B for n in inits], NPh, NP, hid_off, lay.p_off[1:])
            # BPP[k][a, b] = WPP[k+1][b, a]: rows p_off[k], cols p_off[k+1]; src rows p_off[k+1], cols n0+p_off[k]
            pairs = [(lay.p_off[k], lay.p_off[k + 1], lay.p_off[k + 1], lay.n0 + lay.p_off[k],
                      lay.p_sizes[k], lay.p_sizes[k + 1], lay.N) for k in range(L - 2)]
            self._set_gather(*gather_T((NPh, NP), pairs))

    def _build_ann(self, inits):
        lay, S, L = self.lay, self.S, self.lay.L
        NP, NPh = lay.NP, lay.NPh
        self.B = self._blockdiag([n.BPP for n in inits], NPh, NP, lay.p_off[:-1], lay.p_off[1:])
        # placeholders (recorded, never used)
        self.WIP_list = [[w.copy() for w in n.WIP] for n in inits]
        self.BPI_list = [[b.copy() for b in n.BPI] for n in inits]
        self.WIP = np.zeros((S, 0, 0))
        self.BPI = np.zeros((S, 0, 0))
        if self.model_type == "BP":
            self.N_B = np.zeros_like(self.B)
            pairs = [(lay.p_off[k], lay.p_off[k + 1], lay.p_off[k + 1], lay.n0 + lay.p_off[k],
                      lay.p_sizes[k], lay.p_sizes[k + 1], lay.N) for k in range(L - 2)]
            self._set_gather(*gather_T((NPh, NP), pairs))
        self.m_IP = self.m_PI = None

    def _set_gather(self, dst, src):
        """Precomputed BP refresh B[dst] = N_B[dst] + WPP[src] (SPEC 4.1, 4.4.3). When every pair
        is a plain transpose (B[r, c] = WPP[c, n0 + r], equal population sizes) it becomes a
        0/1 mask on a transposed view of WPP, which is cheaper than fancy indexing."""
        self.g_dst, self.g_src = dst, src
        self.N_B_dst = self.N_B.reshape(self.S, -1)[:, dst].copy()
        rows, cols = self.B.shape[1:]
        r, c = dst // cols, dst % cols
        sr, sc = src // self.lay.N, src % self.lay.N
        self.B_mask = None
        # the masked transposed view reads every entry of B (strided): right for small or dense
        # B; for a large, sparsely populated B (big layered nets) the gather is much cheaper
        dense = rows * cols <= 4096 or len(dst) > 0.3 * rows * cols
        if dense and np.array_equal(sr, c) and np.array_equal(sc, self.lay.n0 + r) and \
                rows <= self.lay.NP and cols <= self.lay.NP:
            mask = np.zeros((rows, cols))
            mask[r, c] = 1.0
            self.B_mask = np.broadcast_to(mask, self.B.shape).copy()

    # ------------------------------------------------------------------ views
    @property
    def rPb(self):
        """Lookahead rates r_breve_P of this step (a view into the full rate vector)."""
        return self.r_full[:, self.lay.n0:]

    # ------------------------------------------------------------------ per-layer views
    def layers_of(self, name):
        """Current value of a recordable variable as a list of per-layer (S, ...) arrays, in
        the published layout (SPEC 8.1; golden README "Layers")."""
        lay, kind = self.lay, self.kind
        L, n0 = lay.L, lay.n0
        P = lay.p_sizes
        if name == "uP":
            return lay.split(self.uP)
        if name == "uP_breve":
            return lay.split(self.uP if kind == "ann" else self.uPb)
        if name == "rP_breve":
            return lay.split(self.rPb)
        if name == "uI":
            return lay.split(self.uI, lay.i_sizes)
        if name == "uI_breve":
            if kind == "ann":
                return lay.split(self.uI, lay.i_sizes)
            if kind == "dPC":
                return lay.split(self.uPb_prev)
            return lay.split(self.uIb, lay.i_sizes)
        if name == "rI_breve":
            if kind == "dPC":
                return lay.split(self.r_full_prev[:, n0:])
            return lay.split(self.rIb, lay.i_sizes)
        if name == "vbas":
            return lay.split(self.vbas)
        if name == "vapi":
            return lay.split(self.vapi, P if kind == "errormc" else P[:-1])
        if name in ("WPP", "dWPP"):
            W = self.WPP if name == "WPP" else self.dWPP
            if self.fw_mode == "skip":
                full = np.zeros((self.S, lay.N, lay.N))
                full[:, n0:, :] = W
                return [full]
            return [W[:, lay.p(k), lay.pre_cols(k)] for k in range(L - 1)]
        if name in ("WIP", "dWIP"):
            if kind == "ann":
                return self._placeholder("WIP_list", name)
            W = self.WIP if name == "WIP" else self.dWIP
            return [W[:, lay.i(k), lay.p(k)] for k in range(len(lay.i_sizes))]
        if name in ("BPI", "dBPI"):
            if kind == "ann":
                return self._placeholder("BPI_list", name)
            W = self.BPI if name == "BPI" else self.dBPI
            if kind == "dPC":
                return [W[:, lay.p(k), lay.p(k)] for k in range(L - 2)]
            return [W[:, lay.p(k), lay.i(k)] for k in range(len(lay.i_sizes))]
        if name in ("BPP", "dBPP"):
            W = self.B if name == "BPP" else np.zeros_like(self.B)
            return [W[:, lay.p(k), lay.p(k + 1)] for k in range(L - 2)]
        if name in ("BII", "dBII"):
            W = self.B if name == "BII" else np.zeros_like(self.B)
            if self.bw_mode == "skip":
                return [W]
            return [W[:, lay.i(k), lay.i(k + 1)] for k in range(L - 2)]
        if name == "lat_mismatch":
            g = self.g
            c = g["gb"] / ((g["gl"] + g["gb"]) + g["ga"])
            vhat = c * self.vbas[:, P[0]:]
            vhat[:, -lay.n_out:] *= ((g["gl"] + g["gb"]) + g["ga"]) / (g["gl"] + g["gb"])
            uIb = self.uPb_prev[:, P[0]:] if kind == "dPC" else self.uIb
            return lay.split(uIb - vhat, P[1:])
        raise KeyError(name)

    # names of the per-seed arrays that make up the dynamic state (for save/restore)
    DYNAMIC = ("u", "u_old", "ub", "ub_prev", "r_full", "r_full_prev", "r_full_prev2", "rIb",
               "rIb_prev", "dP", "vbas", "vbas_prev", "vden", "vden_prev", "vapi", "vapi_prev",
               "WPP", "WIP", "BB", "B", "BPI", "dWPP", "dWIP", "dBPI", "LWPP")

    def seed_state(self, s):
        """Seed s's complete dynamic state (voltages, rate buffers, dendrites, weights)."""
        state = {}
        for name in self.DYNAMIC:
            if name in ("B", "BPI") and self.kind == "errormc":
                continue  # views into BB
            value = getattr(self, name, None)
            if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == self.S:
                state[name] = np.array(value[s])
        return state

    def restore(self, states):
        """Set every seed's dynamic state from `seed_state` dicts (in place where views exist)."""
        for name in states[0]:
            stacked = np.stack([st[name] for st in states])
            current = getattr(self, name, None)
            if isinstance(current, np.ndarray) and current.shape == stacked.shape:
                current[...] = stacked
            else:
                setattr(self, name, stacked)
        self.gtW_out = None
        self.B_fresh = False

    def _placeholder(self, attr, name):
        blocks = getattr(self, attr)
        arrs = [np.stack([b[k] for b in blocks]) for k in range(len(blocks[0]))]
        return [np.zeros_like(a) for a in arrs] if name.startswith("d") else arrs

    def output_rate(self):
        return self.rPb[:, self.lay.out]

    def output_voltage(self):
        return (self.uP if self.kind == "ann" else self.uPb)[:, self.lay.out]

    def phi_out(self, y):
        """Output-layer activation phi_out(y) with the output units' slope/offset."""
        from .activations import phi
        out = self.lay.out
        s = None if self.phiP.slope is None else self.phiP.slope[:, out]
        o = None if self.phiP.offset is None else self.phiP.offset[:, out]
        return phi(self.phiP.names[-1], y, s, o)
