"""ann: a rate network with explicit error units, no lookahead (docs/model.md §4.3).

Representation units u_P and error units u_E (stored as uI), one per representation unit:

    r = phi(u_P)
    u_P    <- c W_PP r_prev-layer,                      c = g_b / (g_b + g_l)
    u_E    <- phi'(u_P) (B_PP u_E,layer-above)          hidden layers
    u_E    <- phi'(u_P) (y - r)                         output layer (0 without a target)
    forward rule  dW_PP = (dt eta) u_E r_prev^T
    BP            B_PP = W_PP^T + N (N = 0), refreshed from the pre-update W_PP
W_IP and B_PI exist only as recorded placeholders (copies of the initial W_PP and B_PP).
"""
import numpy as np

from ..state import Constants
from . import common, sacramento2018 as sac
from .kernels import mv

RATE_TARGET_DEFAULT = True


def interneuron_sizes(layers, error_layers):
    """One error unit per representation unit (§5.2)."""
    return list(layers[1:])


def lateral_length(L):
    return 0


def constants(nets, P, lay, taur=None, rate_target=None):
    first, S, dt = nets[0], len(nets), P["dt"]
    g = common.conductances(P, "ann")
    WB, lr_WPP = common.forward_blocks(lay, "layered", first.eta_fw, dt, S)
    BB = sac.backward_blocks(lay)
    N_B = refresh = None
    if first.model_type == "BP":
        N_B = BB.zeros(S)
        refresh = sac.bp_refresh(lay, WB, BB)
        if isinstance(refresh, tuple):
            refresh = refresh[:2] + (np.broadcast_to(refresh[2], (S,) + refresh[2].shape).copy(),)
    ones = np.ones(lay.NP + lay.NI)
    return Constants(
        kind="ann", S=S, seeds=tuple(n.seed for n in nets), lay=lay, dt=dt, g=g,
        model_type=first.model_type, fw_mode="layered", bw_mode="layered", teacher=first.teacher,
        eta_fw=first.eta_fw, eta_IP=tuple(P["eta_IP"] or ()), eta_PI=tuple(P["eta_PI"] or ()),
        rate_target=RATE_TARGET_DEFAULT if rate_target is None else rate_target,
        phiP=common.population(nets, "activation", "slope", "offset", lay.p_sizes),
        tau=ones, tau_look=ones, WPP=WB, lr_WPP=lr_WPP, c_ann=g["gb"] / (g["gb"] + g["gl"]),
        B=BB, N_B=N_B, refresh=refresh,
        extra={"WIP": common.stack_layers(nets, "WIP"), "BPI": common.stack_layers(nets, "BPI")},
        **common.switches(P, "ann", WB))


def initial_state(nets, C):
    st = common.initial_state(nets, C, C.lay.NP, None)
    st.B = C.B.from_layers(C.S, common.stack_layers(nets, "BPP"))
    return st


def step(C, st, x, y, phase):
    """One dt for every network (§4.3), in place."""
    lay = C.lay
    n0, NP = lay.n0, lay.NP
    st.r_full, st.r_full_prev = st.r_full_prev, st.r_full
    uP, uE = st.u[:, :NP], st.u[:, NP:]
    rP = st.r_full[:, n0:]
    C.phiP(uP, out=rP)
    d = C.phiP.d(uP, rP)
    st.r_full[:, :n0] = x
    D = np.empty_like(st.u)
    DE = D[:, NP:]
    for B, (r, c) in zip(st.B, C.B.stored):
        mv(d[:, r, None] * B, uE[:, c], out=DE[:, r])
    DE[:, lay.out] = 0.0 if y is None else d[:, lay.out] * (y - rP[:, lay.out])
    for W, (r, c) in zip(st.WPP, C.WPP.stored):
        mv(C.c_ann * W, st.r_full[:, c], out=D[:, r])
    du = D - st.u
    if phase.plastic:
        common.forward_plasticity(C, st, uE)
        if C.refresh is not None:
            common.bp_refresh(C, st)
    common.advance(st, du)
    if phase.fw:
        common.apply_forward(C, st, uE)


def layers_of(C, st, name):
    """ann's recordable variables; W_IP and B_PI are the constant placeholders."""
    lay = C.lay
    if name == "uI_breve":
        return lay.split(st.u[:, lay.NP:], lay.i_sizes)
    if name in ("WIP", "dWIP", "BPI", "dBPI"):
        arrs = C.extra[name.lstrip("d")]
        return [np.zeros_like(a) for a in arrs] if name.startswith("d") else arrs
    if name in ("BPP", "dBPP"):
        B = C.B.layers(st.B)
        return [np.zeros_like(b) for b in B] if name == "dBPP" else B
    return common.layers_of(C, st, name)
