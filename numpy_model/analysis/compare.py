"""Comparison with backprop (`--compare BP`, docs/model.md §9), vectorised over the ensemble.

* `compare_updates`: for every recorded weight set after settling, drive the network through the
  final training sequence (target nudging, no plasticity applied) and, at the end of every
  sample, the angle between its forward update dWPP and the backprop update of an ANN with the
  same weights (`angle_BP_updates_time_series`).
* `compare_recorded`: angles computed from the recorded series only: WPP^T vs the backward
  weights, Jacobians (sacramento2018), backward weights vs the right-hand side (layered modes).
"""
import warnings

import numpy as np

from ..circuit.activations import dphi, phi
from ..models import common, compiled
from ..models.kernels import mv, outer
from ..state import COMPARE
from ..timing import settling_records, steps_per_sample


def deg(c):
    """Angle in degrees of a cosine; exactly 0 where |1 - c| < 1e-6 (§9)."""
    c = np.asarray(c, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(np.abs(1 - c) < 1e-6, 0.0, np.arccos(c) * 180 / np.pi)


def cos(A, B):
    """trace(A^T B) / ||A||_F / ||B||_F over the last two axes (NaN for a zero matrix)."""
    num = np.einsum("...ij,...ij->...", A, B)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / np.sqrt(np.einsum("...ij,...ij->...", A, A)) / np.sqrt(np.einsum("...ij,...ij->...", B, B))


def _layer_phi(ens, k, v):
    """phi of layer k (with this network's slope/offset) on layer-k vectors (S, ..., n_k)."""
    sl = ens.lay.p(k)
    per_seed = lambda a: None if a is None else a[:, sl].reshape(  # noqa: E731 - (S, 1.., n_k)
        (a.shape[0],) + (1,) * (v.ndim - 2) + (-1,))
    return phi(ens.phiP.names[k], v, per_seed(ens.phiP.slope), per_seed(ens.phiP.offset))


def _layer_dphi(ens, k, v):
    return dphi(ens.phiP.names[k], v)


def _c(ens):
    g = ens.g
    return g["gb"] / ((g["gb"] + g["ga"]) + g["gl"])


def ann_bp_updates(ens, W, x, y):
    """Backprop updates of an ANN with forward weights W (list of (S, n_{k+1}, n_k)) for inputs x
    (S, ..., n_0) and targets y (S, ..., n_out): per layer (S, ..., n_{k+1}, n_k) (§9.1 step 3)."""
    g, L = ens.g, ens.lay.L
    c = _c(ens)
    batch = (1,) * (x.ndim - 2)
    W = [w.reshape(w.shape[:1] + batch + w.shape[1:]) for w in W]      # broadcast over the samples
    v, r = [], []
    inp = x
    for k in range(L - 1):
        vk = mv(c * W[k], inp)
        if k == L - 2 and ens.kind in ("sacramento2018", "dPC"):
            vk = (((g["gb"] + g["ga"]) + g["gl"]) / (g["gb"] + g["gl"])) * vk
        v.append(vk)
        r.append(_layer_phi(ens, k, vk))
        inp = r[-1]
    if ens.rate_target:
        delta = _layer_dphi(ens, L - 2, v[-1]) * (y - r[-1])
    else:
        delta = y - v[-1]
    dW = [None] * (L - 1)
    for i in range(L - 2, 0, -1):
        dW[i] = outer(delta, r[i - 1])
        delta = _layer_dphi(ens, i - 1, v[i - 1]) * mv(np.swapaxes(W[i], -1, -2), delta)
    dW[0] = outer(delta, x)
    return dW


def _stack_series(students, name):
    """(per layer) arrays (S, R, ...) of a recorded series of every student."""
    series = [getattr(m, name) for m in students]
    n_layers = len(series[0][0])
    return [np.stack([np.stack([rec[k] for rec in s]) for s in series]) for k in range(n_layers)]


def _has(students, *names):
    return all(getattr(students[0], n, None) for n in names)


def hierarchical(ens, W):
    """The layer-to-next-layer blocks W[k] (S, ..., n_{k+1}, n_k) of stored forward weights."""
    lay = ens.lay
    if ens.fw_mode == "skip":
        return [W[0][..., lay.p(k), lay.pre_cols(k)] for k in range(lay.L - 1)]
    return ens.c.WPP.layers(W)


def compare_updates(ens, students, P):
    """angle_BP_updates_time_series per student, (records - TPRE) * D rows x (L-1) layers."""
    B_name = "BII_time_series" if ens.kind == "errormc" else "BPP_time_series"
    needed = ["WPP_time_series", B_name] + ([] if ens.kind == "ann" else ["WIP_time_series", "BPI_time_series"])
    missing = [n for n in needed if not getattr(students[0], n, None)]
    if missing:
        warnings.warn(f"--compare BP: update angles skipped, not recorded: {', '.join(missing)} "
                      f"(set the matching rec_* flags)")
        return None
    lay = ens.lay
    T = steps_per_sample(P["Tpres"], P["dt"])
    TPRE = settling_records(P["settling_time"], P["dt"], P["rec_per_steps"])
    X = np.stack([m.input for m in students])
    Y = np.stack([m.target for m in students])
    DT = X.shape[1]
    rec = {n: _stack_series(students, n) for n in needed}
    R = rec["WPP_time_series"][0].shape[1]
    ones = np.ones_like(np.asarray(ens.eta_fw, dtype=float))                       # eta_fw <- 1
    cmp = ens.vary(lr_WPP=common.forward_blocks(lay, ens.fw_mode, ones, ens.dt, ens.S)[1],
                   fused_update=False)                                         # dW_PP is read
    cmp, _ = compiled.choose(cmp, ens.c.backend, "--compare BP pass")
    n_samples = DT // T
    ends = slice(T - 1, n_samples * T, T)                  # the last step of every sample
    rows = []
    for r in range(TPRE, R):
        ens.set_layers("WPP", [a[:, r] for a in rec["WPP_time_series"]])
        ens.set_layers("BII" if ens.kind == "errormc" else "BPP", [a[:, r] for a in rec[B_name]])
        if ens.kind != "ann":
            ens.set_layers("WIP", [a[:, r] for a in rec["WIP_time_series"]])
            ens.set_layers("BPI", [a[:, r] for a in rec["BPI_time_series"]])
        dW = sample_updates(cmp, X, Y, T)
        dW_BP = ann_bp_updates(ens, hierarchical(ens, ens.state.WPP), X[:, ends], Y[:, ends])
        rows.append(np.stack([deg(cos(a, b)) for a, b in zip(hierarchical(ens, dW), dW_BP)], axis=-1))
    return np.concatenate(rows, axis=1) if rows else np.zeros((ens.S, 0, lay.L - 1))


def sample_updates(cmp, X, Y, T):
    """One pass of the ensemble through X with target nudging under the COMPARE phase (dW_PP
    computed, not applied; §9.1 step 2): dW_PP at the end of every sample, per stored block
    (S, len(X[0]) // T, rows, cols). On the numba backend the pass is one compiled call."""
    if cmp.c.backend == "numba":
        return compiled.sample_updates(cmp, X, Y, T)
    ends = []
    for t in range(X.shape[1]):
        cmp.step(X[:, t], Y[:, t], COMPARE)
        if t % T == T - 1:
            ends.append([w.copy() for w in cmp.state.dWPP])
    return [np.stack([e[b] for e in ends], axis=1) for b in range(len(cmp.state.dWPP))]


def compare_recorded(ens, students, P):
    """Angles from the recorded series (§9.2, 9.3); returns {attribute: (S, R, n) array}."""
    out = {}
    kind, lay = ens.kind, ens.lay
    L = lay.L
    c = _c(ens)
    layered = ens.fw_mode == "layered" and ens.bw_mode == "layered"
    if ens.fw_mode == ens.bw_mode:
        if kind in ("sacramento2018", "dPC") and _has(students, "WPP_time_series", "BPP_time_series") and L > 2:
            W = _stack_series(students, "WPP_time_series")
            B = _stack_series(students, "BPP_time_series")
            out["angle_WPPT_BPP_time_series"] = np.stack(
                [deg(cos(np.swapaxes(W[j + 1], -1, -2), B[j])) for j in range(L - 2)], axis=-1)
        elif kind == "errormc" and lay.layers[1:] == lay.error_layers[1:] and \
                _has(students, "WPP_time_series", "BII_time_series"):
            W = _stack_series(students, "WPP_time_series")
            B = _stack_series(students, "BII_time_series")
            if ens.fw_mode == "skip":
                n0 = lay.n0
                out["angle_WPPT_BII_time_series"] = deg(cos(np.swapaxes(W[0][..., n0:, n0:], -1, -2), B[0]))[..., None]
            elif L > 2:
                out["angle_WPPT_BII_time_series"] = np.stack(
                    [deg(cos(np.swapaxes(W[j + 1], -1, -2), B[j])) for j in range(L - 2)], axis=-1)
    d = lambda k, v: dphi(ens.phiP.names[k], v)  # noqa: E731 - nominal derivative of layer k
    if kind == "sacramento2018" and L > 2 and _has(students, "WPP_time_series", "BPP_time_series", "vbas_time_series"):
        W = _stack_series(students, "WPP_time_series")
        B = _stack_series(students, "BPP_time_series")
        V = _stack_series(students, "vbas_time_series")
        jac, rhs = [], []
        for j in range(L - 2):
            dj, dj1 = d(j, c * V[j]), d(j + 1, c * V[j + 1])
            WT = np.swapaxes(W[j + 1], -1, -2)
            JfT = dj[..., :, None] * WT
            Jg = B[j] * dj1[..., None, :]
            jac.append(deg(cos(Jg, JfT)))
            rhs.append(deg(cos(B[j], JfT * dj1[..., None, :])))
        out["angle_jacobians_BP_time_series"] = np.stack(jac, axis=-1)
        if layered:
            out["angle_BPP_RHS_time_series"] = np.stack(rhs, axis=-1)
    if kind == "errormc" and layered and L > 2 and _has(
            students, "WPP_time_series", "WIP_time_series", "BPI_time_series", "BII_time_series",
            "uP_breve_time_series", "uI_breve_time_series"):
        W = _stack_series(students, "WPP_time_series")
        WIP = _stack_series(students, "WIP_time_series")
        BPI = _stack_series(students, "BPI_time_series")
        B = _stack_series(students, "BII_time_series")
        UP = _stack_series(students, "uP_breve_time_series")
        UE = _stack_series(students, "uI_breve_time_series")
        angles = []
        for j in range(L - 2):
            PR1, PR0 = d(j + 1, UP[j + 1]), d(j, UP[j])
            PE1, PE0 = d(j + 1, UE[j + 1]), d(j, UE[j])
            M = PE1[..., :, None] * WIP[j + 1] * PR1[..., None, :]
            M = M @ (W[j + 1] * PR0[..., None, :])
            M = M @ (BPI[j] * PE0[..., None, :])
            angles.append(deg(cos(np.swapaxes(M, -1, -2), B[j])))
        out["angle_BII_RHS_time_series"] = np.stack(angles, axis=-1)
    return out


def run_compare(ens, students, P):
    """Run every comparison and attach the angle series to the saved student objects."""
    updates = compare_updates(ens, students, P)
    if updates is not None:                 # lists of rows of floats (fast to pickle: 1e5 rows)
        for s, m in enumerate(students):
            m.angle_BP_updates_time_series = updates[s].tolist()
    for name, arr in compare_recorded(ens, students, P).items():
        for s, m in enumerate(students):
            setattr(m, name, arr[s].tolist())
