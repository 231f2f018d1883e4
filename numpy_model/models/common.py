"""Pieces every model module shares: conductances, forward-weight blocks and their rates,
activations, the buffer swap and Euler advance, the forward rule's postsynaptic term, and the
recordable variables that mean the same in every model (docs/model.md §3, §4, §8.1)."""
import numpy as np

from ..circuit.activations import Population
from ..state import State
from .kernels import Blocks, add_into, masked_transpose, rank1, rank1_add


def conductances(P, kind):
    """g_l, g_b, g_a, g_d, g_n, g_t; the ones a model has no compartment for are 0 (§4)."""
    g = dict(gl=P["gl"], gb=P["gbas"], ga=P["gapi"], gd=P["gden"], gn=P["gnI"], gt=P["gntgt"])
    if kind == "ann":
        g.update(ga=0.0, gd=0.0, gn=0.0, gt=0.0)
    elif kind == "dPC":
        g.update(gn=0.0)
    return g


def forward_blocks(lay, fw_mode, eta_fw, dt, S):
    """Blocks of W_PP (post P units x [input | P units]) and dt*eta per stored block (§5.5):
    a list eta gives the layered blocks; an (L-1)x(L-1) matrix every block E[post-1][pre]."""
    eta = np.asarray(eta_fw, dtype=float)
    L = lay.L
    if eta.ndim == 2:
        pairs = [(i, j) for i in range(1, L) for j in range(i)]
        blocks = [(lay.p(i - 1), lay.full_cols(j)) for i, j in pairs]
        B = Blocks.of((lay.NP, lay.N), blocks, dense=True)
        return B, B.lr(S, [dt * eta[i - 1][j] for i, j in pairs])
    B = Blocks.of((lay.NP, lay.N), [(lay.p(k), lay.pre_cols(k)) for k in range(L - 1)],
                  dense=True if fw_mode == "skip" else None)
    return B, B.lr(S, [dt * eta[k] for k in range(L - 1)])


def _per_unit(values_per_seed, sizes):
    """Per-seed per-layer slope/offset lists as one (S, n) array."""
    return np.stack([np.concatenate([np.broadcast_to(np.asarray(v, float), (n,)).copy()
                                     for v, n in zip(values, sizes)]) for values in values_per_seed])


def population(nets, act, slope, offset, sizes):
    """The Population of the per-layer activations `act` with per-seed slope/offset lists."""
    return Population(getattr(nets[0], act), sizes, _per_unit([getattr(n, slope) for n in nets], sizes),
                      _per_unit([getattr(n, offset) for n in nets], sizes))


def tau_look(tau, taur, teacher):
    """tau of the lookahead: tau * taur for students with taur set, else tau."""
    look = taur if (taur is not None and not teacher) else 1.0
    return tau * look if look != 1.0 else tau


def switches(P, kind, WB):
    """Options of the dynamics. The forward update is fused (one BLAS pass, no dW_PP kept) for
    per-block weights unless dW_PP is recorded or low-passed; --compare turns it off."""
    low_pass = bool(P.get("dWPP_low_pass", False)) and kind == "errormc"
    return dict(varphi_transfer=bool(P.get("varphi_transfer", False)),
                dWPP_use_activation=bool(P.get("dWPP_use_activation", False)),
                dWPP_low_pass=low_pass, tauLO=P.get("tauLO", 1.0),
                fused_update=not WB.dense and not low_pass and not P.get("rec_dWPP"))


def stack_layers(nets, name):
    """Per-layer (S, ...) arrays of the per-seed lists `name`."""
    per = [getattr(n, name) for n in nets]
    return [np.stack([p[k] for p in per]) for k in range(len(per[0]))]


def forward_weights(nets, C):
    if C.fw_mode == "skip":
        return (np.stack([np.asarray(n.WPP[0])[C.lay.n0:, :] for n in nets]),)
    return C.WPP.from_layers(C.S, stack_layers(nets, "WPP"))


def initial_state(nets, C, NP, pop2):
    """Voltages, rate buffers and forward weights common to every model (§5.2, §5.3)."""
    S, lay = C.S, C.lay
    u = np.stack([np.concatenate(list(n.uP) + list(n.uI)) for n in nets])
    r_full = np.zeros((S, lay.N))
    own = [n.extra.get("rates_from", (n.uP, n.uI)) for n in nets]
    r_full[:, lay.n0:] = C.phiP(np.stack([np.concatenate(o[0]) for o in own]))
    rIb = None
    if pop2 is not None:
        rIb = pop2(np.stack([np.concatenate(o[1]) if len(o[1]) else np.zeros(0) for o in own]))
    WPP = forward_weights(nets, C)
    return State(u=u, u_old=u.copy(), ub=u.copy(), r_full=r_full, r_full_prev=r_full.copy(),
                 vbas=np.zeros((S, NP)), vbas_prev=np.zeros((S, NP)), WPP=WPP,
                 dWPP=C.WPP.zeros(S), rngs=[n.rng for n in nets], rIb=rIb,
                 rIb_prev=None if rIb is None else rIb.copy(),
                 LWPP=C.WPP.zeros(S) if C.dWPP_low_pass else None)


def swap(st):
    """Step 1 (§3): the rate and basal buffers of this step become the previous ones."""
    st.r_full, st.r_full_prev = st.r_full_prev, st.r_full
    st.vbas, st.vbas_prev = st.vbas_prev, st.vbas


def advance(st, du):
    """u_old <- u (buffer swap), u <- u + Delta u."""
    st.u_old, st.u = st.u, st.u_old
    np.add(st.u_old, du, out=st.u)


def forward_post(C, st):
    """Postsynaptic term of the forward rule: u_breve - c v_bas,prev, or with
    dWPP_use_activation r_breve - phi(c v_bas,prev) (§4.1 step 6, §4.4.1)."""
    NP = C.lay.NP
    if C.dWPP_use_activation:
        return st.r_full[:, C.lay.n0:] - C.phiP(C.c_fw * st.vbas_prev)
    return st.ub[:, :NP] - C.c_fw * st.vbas_prev


def forward_plasticity(C, st, post):
    """dW_PP = (dt eta) post r_prev^T (§4.1 step 6, §4.4.1), unless fused into the update."""
    if not C.fused_update:
        rank1(st.dWPP, C.WPP, post, st.r_full_prev, C.lr_WPP)


def apply_forward(C, st, post):
    """W_PP += dW_PP (fused: W_PP += (dt eta) post r_prev^T), or through the low-pass
    LWPP += (dt/tauLO)(dW_PP - LWPP) (errormc)."""
    if C.fused_update:
        rank1_add(st.WPP, C.WPP, post, st.r_full_prev, C.lr_WPP)
    elif C.dWPP_low_pass:
        for L, d, W in zip(st.LWPP, st.dWPP, st.WPP):
            L += (C.dt / C.tauLO) * (d - L)
            W += L
    else:
        add_into(st.WPP, st.dWPP)


def bp_refresh(C, st):
    """BP backward weights from the current (pre-update) forward weights (§4.1, §4.4.3)."""
    if isinstance(C.refresh, tuple):           # ("mask", view of W_PP, 0/1 mask): dense, exact
        _, (r, c), mask = C.refresh
        W = st.WPP[0][:, r, c]
        view = W if C.kind == "errormc" else np.swapaxes(W, 1, 2)
        masked_transpose(st.B[0], C.N_B[0], view[:, :mask.shape[1], :mask.shape[2]], mask)
    else:
        C.refresh.refresh(st.B, C.N_B, st.WPP)


def layers_of(C, st, name):
    """Variables with the same meaning in every model, per layer (§8.1)."""
    lay = C.lay
    NP = lay.NP
    if name == "uP":
        return lay.split(st.u[:, :NP])
    if name == "uP_breve":
        return lay.split(st.u[:, :NP] if C.kind == "ann" else st.ub[:, :NP])
    if name == "rP_breve":
        return lay.split(st.r_full[:, lay.n0:])
    if name == "uI":
        return lay.split(st.u[:, NP:], lay.i_sizes)
    if name == "vbas":
        return lay.split(st.vbas)
    if name in ("WPP", "dWPP"):
        W = getattr(st, name)
        if C.fw_mode == "skip":
            full = np.zeros((C.S, lay.N, lay.N))
            full[:, lay.n0:, :] = W[0]
            return [full]
        return C.WPP.layers(W)
    raise KeyError(name)
