"""Plain, per-network reference implementation of the four models and the run protocol.

Written ONLY from the project's specification, SPEC.md (sections 0, 2-4, 6.1, 6.4, 6.5, 7.1-7.3,
8.1-8.3; kept in the project's shared folder, not in this repository), as an independent check of
the vectorised production package `numpy_model/`. It simulates one network (one seed) at a time,
in the style of the published code: Python lists of per-layer vectors, loops over layers, np.dot on
per-layer matrices, explicit buffer copies.

Only the INITIAL STATE comes from the production package (`numpy_model.circuit.init.draw_network`,
`numpy_model.circuit.init.apply_sps`, `numpy_model.run.teacher_seed`, `numpy_model.params.validate`).
Everything after construction (dynamics, plasticity, BP refresh of B from W, protocol, shuffling,
recording, MSE) is implemented here.
"""
import copy

import numpy as np

RATE_TARGET_DEFAULT = {"errormc": True, "ann": True, "sacramento2018": False, "dPC": False}


# --------------------------------------------------------------------------------------------
# SPEC 2: activation functions and nominal derivatives
# --------------------------------------------------------------------------------------------
def act(name, x, s=1.0, o=0.0):
    if name == "linear":
        return (x - o) * s
    if name == "relu":
        return np.maximum(x - o, 0) * s
    if name == "soft_relu":
        E = np.exp(-10 * (x - o))
        return np.log((1 + E) / E) / 10 * s
    if name == "logistic":
        return 1 / (1 + np.exp(-(x - o) * s))
    if name == "tanh":
        return np.tanh((x - o) * s)
    if name == "hard_sigmoid":
        return np.maximum(0, np.minimum(1, (x - o) / 6 + 1 / 2)) * s
    raise ValueError(name)


def heaviside(x):
    return np.heaviside(x, 0.0)


def dact(name, x):
    """Nominal derivative (slope 1, offset 0), SPEC 2 quirk."""
    if name == "linear":
        return np.ones_like(x)
    if name == "relu":
        return heaviside(x)
    if name == "soft_relu":
        return 1 / (1 + np.exp(-10 * x))
    if name == "logistic":
        sig = 1 / (1 + np.exp(-x))
        return sig * (1 - sig)
    if name == "tanh":
        return 1 - np.tanh(x) ** 2
    if name == "hard_sigmoid":
        z = x / 6 + 1 / 2
        return heaviside(z) * heaviside(1 - z)
    raise ValueError(name)


def mse(a, y):
    """SPEC 8.3: (||a - [y]||_2)^2, y passed as a one-element list."""
    return np.linalg.norm(a - [y]) ** 2


def _offsets(sizes):
    off = [0]
    for s in sizes:
        off.append(off[-1] + s)
    return off


# --------------------------------------------------------------------------------------------
# one network
# --------------------------------------------------------------------------------------------
class RefNet:
    """One network of kind sacramento2018 / dPC / ann / errormc (SPEC 4.1-4.4)."""

    @classmethod
    def from_saved_init(cls, kind, init, params):
        return cls(kind, init, params)

    def __init__(self, kind, init, P):
        self.kind = kind
        self.P = P
        self.layers = list(init.layers)
        self.error_layers = list(init.error_layers)
        self.L = len(self.layers)
        L = self.L
        self.model_type = init.model_type
        self.fw_mode = init.fw_mode
        self.bw_mode = init.bw_mode
        self.dt = P["dt"]
        self.gl, self.gb, self.ga = P["gl"], P["gbas"], P["gapi"]
        self.gd, self.gn, self.gt = P["gden"], P["gnI"], P["gntgt"]
        if kind == "dPC":
            self.gn = 0
        self.rng = init.rng
        self.seed = init.seed

        cp = lambda lst: [np.array(a, dtype=float) for a in lst]  # noqa: E731
        self.uP = cp(init.uP)
        self.uI = cp(init.uI)
        self.WPP = cp(init.WPP)
        self.WIP = cp(init.WIP)
        self.BPI = cp(init.BPI)
        self.BPP = cp(init.BPP) if init.BPP is not None else None
        self.BII = cp(init.BII) if init.BII is not None else None
        self.N_B = cp(init.N_B) if init.N_B is not None else None

        self.activation = list(init.activation)
        self.slope = [s if np.ndim(s) == 0 else np.array(s, dtype=float) for s in init.slope]
        self.offset = [o if np.ndim(o) == 0 else np.array(o, dtype=float) for o in init.offset]
        if kind == "errormc":
            self.error_activation = list(init.error_activation)
            es = P.get("activation_slope")
            eo = P.get("activation_offset")
            self.e_slope = list(es) if es is not None else [1.0] * (L - 1)
            self.e_offset = list(eo) if eo is not None else [0.0] * (L - 1)

        # learning rates
        if kind == "errormc" and self.fw_mode == "skip":
            self.eta_fw = np.array(init.eta_fw, dtype=float)
        else:
            self.eta_fw = list(np.diag(np.asarray(init.eta_fw))) if np.ndim(init.eta_fw) == 2 \
                else list(init.eta_fw)
        self.eta_IP = list(P["eta_IP"])
        self.eta_PI = list(P["eta_PI"])

        self.varphi_transfer = P["varphi_transfer"]
        self.dWPP_use_activation = P["dWPP_use_activation"]
        self.dWPP_low_pass = P.get("dWPP_low_pass", False)
        self.tauLO = P.get("tauLO")
        self.noise_type = P.get("noise_type")
        if P.get("rate_target") is not None:
            self.rate_target = bool(P["rate_target"])
        else:
            self.rate_target = RATE_TARGET_DEFAULT[kind]

        gl, gb, ga, gd, gn, gt = self.gl, self.gb, self.ga, self.gd, self.gn, self.gt
        # time constants
        if kind in ("sacramento2018", "dPC"):
            self.tauP = [1 / ((gl + gb) + ga) for _ in range(L - 2)] + [1 / ((gl + gb) + gt)]
            self.tauP_notgt = 1 / (gl + gb)
            self.tauI = [1 / ((gl + gd) + gn) for _ in range(L - 2)]
        elif kind == "errormc":
            self.tauP = [1 / ((gl + gb) + ga) for _ in range(L - 1)]
            self.tauI = [1 / (gl + gd) for _ in range(L - 2)] + [1 / (gl + gt)]

        # buffers
        self.x_last = np.zeros(self.layers[0])
        self.uP_old = [u.copy() for u in self.uP]
        self.uI_old = [u.copy() for u in self.uI]
        self._uP_breve = [u.copy() for u in self.uP]
        self._uI_breve = [u.copy() for u in self.uI]
        self.rP_breve = [self.phi(k, self.uP[k]) for k in range(L - 1)]
        if kind == "sacramento2018":
            self.rI_breve = [self.phi(k + 1, self.uI[k]) for k in range(L - 2)]
        elif kind == "dPC":
            self.rI_breve = [r for r in self.rP_breve]
            self._uI_breve = [u for u in self._uP_breve]
        elif kind == "errormc":
            self.rI_breve = [self.psi(k, self.uI[k]) for k in range(L - 1)]
            self.d_rP_breve = [np.zeros(n) for n in self.layers[1:]]
        else:
            self.rI_breve = [u.copy() for u in self.uI]
        self.vbas = [np.zeros(n) for n in self.layers[1:]]
        if kind == "errormc":
            self.vden = [np.zeros(e) for e in self.error_layers[1:]]
            self.vapi = [np.zeros(n) for n in self.layers[1:]]
        elif kind in ("sacramento2018", "dPC"):
            self.vden = [np.zeros(n) for n in self.layers[2:]]
            self.vapi = [np.zeros(n) for n in self.layers[1:L - 1]]
        else:
            self.vden = []
            self.vapi = []
        self.dWPP = [np.zeros_like(w) for w in self.WPP]
        self.dWIP = [np.zeros_like(w) for w in self.WIP]
        self.dBPI = [np.zeros_like(w) for w in self.BPI]
        if kind == "errormc" and self.dWPP_low_pass:
            self.L_W = [np.zeros_like(w) for w in self.WPP]

    # activations ------------------------------------------------------------------------
    def phi(self, k, x):
        return act(self.activation[k], x, self.slope[k], self.offset[k])

    def dphi(self, k, x):
        return dact(self.activation[k], x)

    def psi(self, k, x):
        return act(self.error_activation[k], x, self.e_slope[k], self.e_offset[k])

    # ann: the breve voltage IS the voltage (same object)
    @property
    def uP_breve(self):
        return self.uP if self.kind == "ann" else self._uP_breve

    @property
    def uI_breve(self):
        return self.uI if self.kind == "ann" else self._uI_breve

    def output_rate(self):
        return self.rP_breve[-1]

    def output_voltage(self):
        return self.uP_breve[-1]

    # --------------------------------------------------------------------------------------
    def evolve(self, x, y, learn_weights, learn_lat_weights, learn_bw_weights,
               validation=False, testing=False):
        y_dyn = None if (validation or testing) else y
        if y_dyn is not None:
            y_dyn = np.asarray(y_dyn, dtype=float)
        x = np.asarray(x, dtype=float)
        if self.kind in ("sacramento2018", "dPC"):
            self._evolve_sac(x, y_dyn, learn_weights, learn_lat_weights, learn_bw_weights)
        elif self.kind == "ann":
            self._evolve_ann(x, y_dyn, learn_weights, learn_lat_weights, learn_bw_weights)
        else:
            self._evolve_emc(x, y_dyn, learn_weights, learn_lat_weights, learn_bw_weights)

    # SPEC 4.1 / 4.2 ---------------------------------------------------------------------
    def _evolve_sac(self, x, y, LW, LL, LB):
        L, dt = self.L, self.dt
        gl, gb, ga, gd, gn, gt = self.gl, self.gb, self.ga, self.gd, self.gn, self.gt
        dpc = self.kind == "dPC"
        nP, nI = L - 1, L - 2

        # 1. buffers
        rP_prev = [r.copy() for r in self.rP_breve]
        rI_prev = [r.copy() for r in self.rI_breve]
        x_prev = self.x_last.copy()
        vbas_prev = [v.copy() for v in self.vbas]
        vden_prev = [v.copy() for v in self.vden]
        vapi_prev = [v.copy() for v in self.vapi]

        # dPC: interneuron rates := previous pyramidal rates (same arrays). SPEC 4.2 gives this for
        # k <= L-3 only; the golden outputs (dpc_8421) show that the recorded ŭI/r̆I of dPC are the
        # whole previous ŭP/r̆P lists (L-1 entries) -- not in the SPEC, inferred from the goldens.
        if dpc:
            self.rI_breve = [r for r in self.rP_breve]
            self._uI_breve = [u for u in self._uP_breve]

        # 2. lookahead
        for k in range(nP):
            self._uP_breve[k] = self.uP_old[k] + (self.tauP[k] * (self.uP[k] - self.uP_old[k])) / dt
        if not dpc:
            for k in range(nI):
                self._uI_breve[k] = self.uI_old[k] + (self.tauI[k] * (self.uI[k] - self.uI_old[k])) / dt
        for k in range(nP):
            self.rP_breve[k] = self.phi(k, self._uP_breve[k])
        if not dpc:
            for k in range(nI):
                self.rI_breve[k] = self.phi(k + 1, self._uI_breve[k])

        # 3.
        self.x_last = x.copy()
        self.uP_old = [u.copy() for u in self.uP]
        self.uI_old = [u.copy() for u in self.uI]

        # 4. dendrites
        for k in range(nP):
            pre = x if k == 0 else self.rP_breve[k - 1]
            self.vbas[k] = np.dot(self.WPP[k], pre)
        for k in range(nI):
            self.vden[k] = np.dot(self.WIP[k], self.rP_breve[k])
            self.vapi[k] = np.dot(self.BPP[k], self.rP_breve[k + 1]) + np.dot(self.BPI[k], self.rI_breve[k])

        # 5. increments
        duI = []
        for k in range(nI):
            tau = self.tauI[k]
            duI.append(dt * ((tau * (gd * self.vden[k] + gn * self._uP_breve[k + 1]) - self.uI[k]) / tau))
        duP = []
        for k in range(nP):
            tau = self.tauP[k]
            if k < L - 2:
                duP.append(dt * ((tau * (gb * self.vbas[k] + ga * self.vapi[k]) - self.uP[k]) / tau))
            elif y is not None:
                duP.append(dt * ((tau * (gb * self.vbas[k] + gt * y) - self.uP[k]) / tau))
            else:
                duP.append(dt * ((self.tauP_notgt * (gb * self.vbas[k]) - self.uP[k]) / tau))

        # 6. plasticity
        if LW or LL or LB:
            dWPP = []
            for k in range(nP):
                if k < L - 2:
                    c = gb / ((gl + gb) + ga)
                else:
                    c = gb / (gl + gb)
                if self.dWPP_use_activation:
                    post = self.rP_breve[k] - self.phi(k, c * vbas_prev[k])
                else:
                    post = self._uP_breve[k] - c * vbas_prev[k]
                pre = x_prev if k == 0 else rP_prev[k - 1]
                dWPP.append((dt * self.eta_fw[k]) * np.outer(post, pre))
            self.dWPP = dWPP
            if not dpc:
                dWIP = []
                for k in range(nI):
                    post = self.rI_breve[k] - self.phi(k + 1, (gd / (gl + gd)) * vden_prev[k])
                    dWIP.append((dt * self.eta_IP[k]) * np.outer(post, rP_prev[k]))
                self.dWIP = dWIP
            dBPI = []
            for k in range(nI):
                if self.eta_PI[k] != 0:
                    dBPI.append((dt * self.eta_PI[k]) * np.outer(-vapi_prev[k], rI_prev[k]))
                else:
                    dBPI.append(np.zeros_like(self.BPI[k]))
            self.dBPI = dBPI
            self.dBPP = [np.zeros_like(b) for b in self.BPP]
            if self.model_type == "BP":
                for k in range(nI):
                    self.BPP[k] = self.N_B[k] + self.WPP[k + 1].T
                    if not dpc:
                        self.BPI[k] = -self.BPP[k]

        # 7. apply
        for k in range(nP):
            self.uP[k] = self.uP[k] + duP[k]
        if not dpc:
            for k in range(nI):
                self.uI[k] = self.uI[k] + duI[k]
        if LW:
            for k in range(nP):
                self.WPP[k] = self.WPP[k] + self.dWPP[k]
        if LL:
            if not dpc:
                for k in range(nI):
                    self.WIP[k] = self.WIP[k] + self.dWIP[k]
            for k in range(nI):
                self.BPI[k] = self.BPI[k] + self.dBPI[k]
        # LB: BPP += 0

    # SPEC 4.3 ---------------------------------------------------------------------------
    def _evolve_ann(self, x, y, LW, LL, LB):
        L, dt = self.L, self.dt
        gl, gb = self.gl, self.gb
        nP = L - 1
        rP_prev = [r.copy() for r in self.rP_breve]
        x_prev = self.x_last.copy()
        d = []
        for k in range(nP):
            self.rP_breve[k] = self.phi(k, self.uP[k])
            d.append(self.dphi(k, self.uP[k]))
        self.x_last = x.copy()

        duI = []
        for k in range(nP):
            if k < L - 2:
                duI.append(np.dot(np.dot(np.diag(d[k]), self.BPP[k]), self.uI[k + 1]) - self.uI[k])
            elif y is not None:
                duI.append(np.dot(np.diag(d[k]), y - self.rP_breve[k]) - self.uI[k])
            else:
                duI.append(0 - self.uI[k])
        duP = []
        for k in range(nP):
            pre = x if k == 0 else self.rP_breve[k - 1]
            duP.append(np.dot((gb / (gb + gl)) * self.WPP[k], pre) - self.uP[k])

        if LW or LL or LB:
            dWPP = []
            for k in range(nP):
                pre = x_prev if k == 0 else rP_prev[k - 1]
                dWPP.append((dt * self.eta_fw[k]) * np.outer(self.uI[k], pre))
            self.dWPP = dWPP
            if self.model_type == "BP":
                for k in range(L - 2):
                    self.BPP[k] = self.WPP[k + 1].T.copy()

        for k in range(nP):
            self.uP[k] += duP[k]
            self.uI[k] += duI[k]
        if LW:
            for k in range(nP):
                self.WPP[k] = self.WPP[k] + self.dWPP[k]

    # SPEC 4.4 ---------------------------------------------------------------------------
    def _fw_blocks(self):
        """Layered forward blocks (n_{k+1} x n_k), also cut from a skip-mode full matrix."""
        if self.fw_mode == "layered":
            return self.WPP
        off = _offsets(self.layers)
        W = self.WPP[0]
        return [W[off[k + 1]:off[k + 2], off[k]:off[k + 1]] for k in range(self.L - 1)]

    def _evolve_emc(self, x, y, LW, LL, LB):
        L, dt = self.L, self.dt
        gl, gb, ga, gd, gt = self.gl, self.gb, self.ga, self.gd, self.gt
        nP = L - 1
        n0 = self.layers[0]
        poff = _offsets(self.layers[1:])
        eoff = _offsets(self.error_layers[1:])

        # 1. buffers
        rP_prev = [r.copy() for r in self.rP_breve]
        rE_prev = [r.copy() for r in self.rI_breve]  # noqa: F841 (buffered as in the spec)
        x_prev = self.x_last.copy()
        vbas_prev = [v.copy() for v in self.vbas]
        vden_prev = [v.copy() for v in self.vden]  # noqa: F841
        vapi_prev = [v.copy() for v in self.vapi]  # noqa: F841

        # 2. lookahead
        for k in range(nP):
            self._uP_breve[k] = self.uP_old[k] + (self.tauP[k] * (self.uP[k] - self.uP_old[k])) / dt
            self._uI_breve[k] = self.uI_old[k] + (self.tauI[k] * (self.uI[k] - self.uI_old[k])) / dt
        for k in range(nP):
            self.rP_breve[k] = self.phi(k, self._uP_breve[k])
            self.d_rP_breve[k] = self.dphi(k, self._uP_breve[k])
            self.rI_breve[k] = self.psi(k, self._uI_breve[k])

        # 3.
        self.x_last = x.copy()
        self.uP_old = [u.copy() for u in self.uP]
        self.uI_old = [u.copy() for u in self.uI]

        # 4. basal
        if self.fw_mode == "layered":
            for k in range(nP):
                pre = x if k == 0 else self.rP_breve[k - 1]
                self.vbas[k] = np.dot(self.WPP[k], pre)
        else:
            r_all = np.concatenate([x] + [r for r in self.rP_breve])
            z = np.dot(self.WPP[0], r_all)[n0:]
            for k in range(nP):
                self.vbas[k] = z[poff[k]:poff[k + 1]].copy()

        # 5. error dendrites
        if self.bw_mode == "skip":
            B = self.BII[0]
            assert np.array_equal(B, np.triu(B)), "BII_full must be upper-triangular (SPEC 4.4 step 5)"
            a_all = np.dot(B, np.concatenate([r for r in self.rI_breve]))
        for k in range(L - 2):
            if self.bw_mode == "layered":
                a = np.dot(self.BII[k], self.rI_breve[k + 1])
            else:
                a = a_all[eoff[k]:eoff[k + 1]].copy()
            if self.varphi_transfer:
                self.vden[k] = np.dot(self.WIP[k], self.d_rP_breve[k]) * a
            else:
                self.vden[k] = a

        # 6. apical
        for k in range(nP):
            self.vapi[k] = np.dot(self.BPI[k], self.rI_breve[k])
        # 7. noise (only OU crashes; otherwise xi == 0)
        if LB and self.noise_type == "OU":
            raise NotImplementedError("errormc OU noise (SPEC 4.4.7) is broken in the original")
        vapi_noise = [v + 0.0 for v in self.vapi]

        # 8. increments
        duE = []
        for k in range(nP):
            tau = self.tauI[k]
            if k < L - 2:
                duE.append(dt * ((tau * (gd * self.vden[k]) - self.uI[k]) / tau))
            elif y is not None:
                drive = np.dot(np.dot(gt * self.WIP[k], np.diag(self.d_rP_breve[k])), y - self.rP_breve[k])
                duE.append(dt * ((tau * drive - self.uI[k]) / tau))
            else:
                duE.append(dt * ((0 - self.uI[k]) / tau))
        duP = []
        for k in range(nP):
            tau = self.tauP[k]
            v = vapi_noise[k] if LB else self.vapi[k]
            duP.append(dt * ((tau * (gb * self.vbas[k] + ga * v) - self.uP[k]) / tau))

        # 9. plasticity
        if LW or LB or LL:
            c = gb / ((gl + gb) + ga)
            post = []
            for k in range(nP):
                if self.dWPP_use_activation:
                    post.append(self.rP_breve[k] - self.phi(k, c * vbas_prev[k]))
                else:
                    post.append(self._uP_breve[k] - c * vbas_prev[k])
            if self.fw_mode == "layered":
                dWPP = []
                for k in range(nP):
                    pre = x_prev if k == 0 else rP_prev[k - 1]
                    dWPP.append((dt * self.eta_fw[k]) * np.outer(post[k], pre))
                self.dWPP = dWPP
            else:
                off = _offsets(self.layers)
                D = np.zeros_like(self.WPP[0])
                for i in range(1, L):
                    for j in range(i):
                        pre = x_prev if j == 0 else rP_prev[j - 1]
                        D[off[i]:off[i + 1], off[j]:off[j + 1]] = \
                            (dt * self.eta_fw[i - 1, j]) * np.outer(post[i - 1], pre)
                self.dWPP = [D]
            dWIP, dBPI = [], []
            for k in range(nP):
                if self.eta_IP[k] != 0:
                    dWIP.append(((-dt) * self.eta_IP[k]) * (self.WIP[k] - np.eye(*self.WIP[k].shape)))
                else:
                    dWIP.append(np.zeros_like(self.WIP[k]))
                if self.eta_PI[k] != 0:
                    dBPI.append(((-dt) * self.eta_PI[k]) * (self.BPI[k] - np.eye(*self.BPI[k].shape)))
                else:
                    dBPI.append(np.zeros_like(self.BPI[k]))
            self.dWIP, self.dBPI = dWIP, dBPI
            # 4.4.3 BII refresh from the current (pre-update) WPP
            if self.model_type == "BP":
                if self.bw_mode == "layered":
                    Wl = self._fw_blocks()
                    for k in range(L - 2):
                        Iw = np.eye(*self.WIP[k + 1].shape)
                        Ib = np.eye(*self.BPI[k].shape)
                        self.BII[k] = np.dot(np.dot(Iw, Wl[k + 1]), Ib).T
                        self.BII[k] += self.N_B[k]
                else:
                    NP = sum(self.layers[1:])
                    if self.fw_mode == "skip":
                        Wh = self.WPP[0][n0:, n0:]
                    else:
                        Wh = np.zeros((NP, NP))
                        for k in range(1, L - 1):
                            Wh[poff[k]:poff[k + 1], poff[k - 1]:poff[k]] = self.WPP[k]
                    E = sum(self.error_layers[1:])
                    D_WIP = np.zeros((E, NP))
                    D_BPI = np.zeros((NP, E))
                    for k in range(nP):
                        D_WIP[eoff[k]:eoff[k + 1], poff[k]:poff[k + 1]] = np.eye(*self.WIP[k].shape)
                        D_BPI[poff[k]:poff[k + 1], eoff[k]:eoff[k + 1]] = np.eye(*self.BPI[k].shape)
                    core = np.dot(np.dot(D_WIP, Wh), D_BPI).T
                    self.BII = [np.triu(core + self.N_B[0])]

        # 10. apply
        for k in range(nP):
            self.uP[k] = self.uP[k] + duP[k]
            self.uI[k] = self.uI[k] + duE[k]
        if LW:
            for k in range(len(self.WPP)):
                if self.dWPP_low_pass:
                    self.L_W[k] = self.L_W[k] + (dt / self.tauLO) * (self.dWPP[k] - self.L_W[k])
                    self.WPP[k] = self.WPP[k] + self.L_W[k]
                else:
                    self.WPP[k] = self.WPP[k] + self.dWPP[k]
        if LL:
            for k in range(nP):
                self.WIP[k] = self.WIP[k] + self.dWIP[k]
                self.BPI[k] = self.BPI[k] + self.dBPI[k]

    # recording helpers -----------------------------------------------------------------
    def lat_mismatch(self):
        gl, gb, ga = self.gl, self.gb, self.ga
        L = self.L
        vhat = [(gb / ((gl + gb) + ga)) * v for v in self.vbas]
        vhat[-1] = vhat[-1] * (((gl + gb) + ga) / (gl + gb))
        return [self.uI_breve[k] - vhat[k + 1] for k in range(L - 2)]


# --------------------------------------------------------------------------------------------
# recorder (SPEC 8)
# --------------------------------------------------------------------------------------------
LAYER_FLAGS = [
    ("rec_WPP", "WPP"), ("rec_WIP", "WIP"), ("rec_BPI", "BPI"), ("rec_BPP", "BPP"), ("rec_BII", "BII"),
    ("rec_dWPP", "dWPP"), ("rec_dWIP", "dWIP"), ("rec_dBPI", "dBPI"),
    ("rec_uP", "uP"), ("rec_uI", "uI"), ("rec_uP_breve", "uP_breve"), ("rec_rP_breve", "rP_breve"),
    ("rec_uI_breve", "uI_breve"), ("rec_rI_breve", "rI_breve"), ("rec_vbas", "vbas"), ("rec_vapi", "vapi"),
    ("rec_lat_mismatch", "lat_mismatch"),
]


class Recorder:
    def __init__(self, net, flags, every, rate_target, rec_rate_MSE_present, rec_rate_MSE):
        self.net = net
        self.every = int(every)
        self.counter = 0
        self.rate_target = rate_target
        self.rrm_present = rec_rate_MSE_present
        self.rrm = rec_rate_MSE
        self.names = []
        for flag, name in LAYER_FLAGS:
            if not flags.get(flag):
                continue
            if name == "BII" and net.kind != "errormc":
                continue
            if name == "BPP" and net.kind == "errormc":
                continue
            if name == "lat_mismatch" and net.kind != "sacramento2018":
                continue
            self.names.append(name)
        self.series = {f"{n}_time_series": [] for n in self.names}
        self.rec_MSE = bool(flags.get("rec_MSE"))
        self.rec_input = bool(flags.get("rec_input"))
        self.rec_target = bool(flags.get("rec_target"))
        self.rec_error = bool(flags.get("rec_error"))
        if self.rec_MSE:
            self.series.update(MSE_time_series=[], MSE_val_time_series=[], MSE_test_time_series=[])
        if self.rec_input:
            self.series["input_time_series"] = []
        if self.rec_target:
            self.series["target_time_series"] = []
        if self.rec_error:
            self.series["error_time_series"] = []

    def mse(self, y):
        net = self.net
        if self.rrm_present:
            if self.rrm and self.rate_target:
                return mse(net.output_rate(), y)
            if self.rrm and not self.rate_target:
                return mse(net.output_rate(), net.phi(net.L - 2, np.asarray(y)))
            if not self.rrm and not self.rate_target:
                return mse(net.output_voltage(), y)
            raise ValueError("rec_rate_MSE false with rate_target true")
        if self.rate_target:
            return mse(net.output_rate(), y)
        return mse(net.output_voltage(), y)

    def tick(self, x, y):
        self.counter += 1
        if self.counter % self.every != 0:
            return
        self.counter = 0
        net = self.net
        for name in self.names:
            val = net.lat_mismatch() if name == "lat_mismatch" else getattr(net, name)
            self.series[f"{name}_time_series"].append(copy.deepcopy([np.array(v) for v in val]))
        if self.rec_input:
            self.series["input_time_series"].append(np.array(x, copy=True))
        if self.rec_target:
            self.series["target_time_series"].append([None if y is None else np.array(y, copy=True)])
        if y is not None:
            if self.rec_MSE:
                self.series["MSE_time_series"].append(self.mse(y))
            if self.rec_error:
                out = net.output_rate() if self.rate_target else net.output_voltage()
                self.series["error_time_series"].append(out - [y])


# --------------------------------------------------------------------------------------------
# protocol (SPEC 5.1, 6.1, 6.4, 6.5, 7.1-7.3)
# --------------------------------------------------------------------------------------------
TASK_FLAGS = {"fw_only": (True, True, False), "fw_bw": (True, True, True)}


def step_input(IN, D, T, n0):
    X = IN.uniform(0, 1, (3 * D, n0))
    parts = [X[0:D], X[D:2 * D], X[2 * D:3 * D]]
    return [np.repeat(p, T, axis=0) for p in parts]


def shuffle(X, Y, rng, T, D, d):
    X = np.asarray(X)
    Y = np.asarray(Y)
    Xs = X[T - 1::T]
    Ys = Y[T - 1::T]
    p = rng.permutation(D)
    Xs, Ys = Xs[p], Ys[p]
    Xr = np.repeat(Xs, T, axis=0)
    Yr = np.repeat(Ys, T, axis=0)
    Yd = np.concatenate([Yr[:d], Yr[:len(Yr) - d]], axis=0)
    return Xr, Yd


def _flags_of(P, teacher):
    flags = {k: v for k, v in P.items() if k.startswith("rec_")}
    if teacher:
        flags["rec_MSE"] = False
        flags["rec_error"] = False
        flags["rec_uP_breve"] = True
    return flags


def _state(net):
    out = {name: [np.array(a) for a in getattr(net, name)]
           for name in ("WPP", "WIP", "BPI", "uP", "uI", "uP_breve", "rP_breve")}
    if net.kind == "errormc":
        out["BII"] = [np.array(a) for a in net.BII]
    else:
        out["BPP"] = [np.array(a) for a in net.BPP]
    out["rng_state"] = net.rng.get_state()
    return out


def ref_run(params, task="fw_only"):
    """Teacher + all students, one at a time. Returns [teacher_dict, student_dict, ...]."""
    from numpy_model.circuit.init import apply_sps, draw_network
    from numpy_model.params import validate
    from numpy_model.run import teacher_seed

    if task not in TASK_FLAGS:
        raise ValueError(task)
    P = validate(params, task, warn=lambda m: None)
    assert P["input_signal"] == "step"
    kind = P["mc_model"]
    seeds = list(P["random_seed"])
    dt = P["dt"]
    T = int(P["Tpres"] / dt)
    D = P["dataset_size"]
    n_settle = int(P["settling_time"] / dt)
    epochs = P["epochs"]
    every = P["rec_per_steps"]

    # construction (initial state only) -- SPEC 5.1
    inits = [draw_network(kind, P, s) for s in seeds]
    if P["init_in_SPS"] and kind in ("sacramento2018", "dPC"):
        for net in inits:
            apply_sps(net, P)
    Pt = dict(P)
    if kind != "errormc":
        Pt["fw_connection_mode"] = Pt["bw_connection_mode"] = "layered"
    t_seed = teacher_seed(seeds)
    tkind = P["teacher_mc_model"] or kind
    tinit = draw_network(tkind, Pt, t_seed, teacher=True)
    if tkind in ("sacramento2018", "dPC"):
        apply_sps(tinit, Pt)

    # inputs -- SPEC 6.1
    IN = np.random.RandomState(t_seed)
    Xtr, Xva, Xte = step_input(IN, D, T, P["layers"][0])

    # students' rate_target decides the target kind -- SPEC 6.4
    rate_target = bool(P["rate_target"]) if P["rate_target"] is not None else RATE_TARGET_DEFAULT[kind]
    rrm_present = P["rec_rate_MSE"] is not None

    # teacher run
    teacher = RefNet.from_saved_init(tkind, tinit, Pt)
    trec = Recorder(teacher, _flags_of(P, True), every, teacher.rate_target, rrm_present,
                    P["rec_rate_MSE"])
    assert n_settle <= len(Xtr)
    for t in range(n_settle):
        teacher.evolve(Xtr[t], None, False, False, False)
        trec.tick(Xtr[t], None)
    targets = []
    for X in (Xtr, Xva, Xte):
        tg = []
        for t in range(len(X)):
            tg.append((teacher.rP_breve[-1] if rate_target else teacher.uP_breve[-1]).copy())
            teacher.evolve(X[t], None, False, False, False)
            trec.tick(X[t], None)
        targets.append(tg)
    tout = dict(trec.series)
    tout.update(_state(teacher))
    tout.update(input=Xtr, input_validation=Xva, input_testing=Xte, target=np.array(targets[0]),
                target_validation=np.array(targets[1]), target_testing=np.array(targets[2]),
                seed=t_seed, kind=tkind)
    results = [tout]

    LW, LL, LB = TASK_FLAGS[task]
    for init in inits:
        net = RefNet.from_saved_init(kind, init, P)
        rec = Recorder(net, _flags_of(P, False), every, rate_target, rrm_present, P["rec_rate_MSE"])
        d = net.L - 1
        tr_X, tr_Y = Xtr.copy(), np.array(targets[0])
        va_X, va_Y = Xva.copy(), np.array(targets[1])
        te_X, te_Y = Xte.copy(), np.array(targets[2])
        # settling
        for t in range(n_settle):
            net.evolve(tr_X[t], None, False, False, False)
            rec.tick(tr_X[t], None)
        for epoch in range(epochs):
            tr_X, tr_Y = shuffle(tr_X, tr_Y, net.rng, T, D, d)
            for t in range(len(tr_X)):
                net.evolve(tr_X[t], tr_Y[t], LW, LL, LB)
                rec.tick(tr_X[t], tr_Y[t])
            if (epochs > 1 and (10 * epoch) % epochs == 0) or epochs == 1:
                use_X, use_Y = va_X, va_Y
                va_X, va_Y = shuffle(va_X, va_Y, net.rng, T, D, d)
                for t in range(len(use_X)):
                    net.evolve(use_X[t], use_Y[t], LW, LL, LB, validation=True)
                    rec.tick(use_X[t], use_Y[t])
                    if rec.rec_MSE:
                        rec.series["MSE_val_time_series"].append(rec.mse(use_Y[t]))
        te_X, te_Y = shuffle(te_X, te_Y, net.rng, T, D, d)
        for t in range(len(te_X)):
            net.evolve(te_X[t], te_Y[t], False, False, False, testing=True)
            rec.tick(te_X[t], te_Y[t])
            if rec.rec_MSE:
                rec.series["MSE_test_time_series"].append(rec.mse(te_Y[t]))
        out = dict(rec.series)
        out.update(_state(net))
        out.update(input=tr_X, input_validation=va_X, input_testing=te_X, target=tr_Y,
                   target_validation=va_Y, target_testing=te_Y, seed=init.seed, kind=kind)
        results.append(out)
    return results
