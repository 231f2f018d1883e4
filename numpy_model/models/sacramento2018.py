"""sacramento2018: pyramidal cells and interneurons (Sacramento et al., NeurIPS 2018; docs/model.md §4.1).

Pyramidal units u_P (layers 1..L-1) and interneurons u_I (one population per hidden layer, the
size of the layer above), per layer k:

    u_breve = u_old + tau_look (u - u_old) / dt;   r_P = phi(u_breve_P),  r_I = phi_{k+1}(u_breve_I)
    v_bas = W_PP r_P,prev-layer;   v_den = W_IP r_P;   v_api = B_PP r_P,layer-above + B_PI r_I
    soma, pyramidal  du_P = dt (tau_P (g_b v_bas + g_a v_api) - u_P) / tau_P,  tau_P = 1/(g_l+g_b+g_a)
    soma, output     du_P = dt (tau_P (g_b v_bas + g_t y) - u_P) / tau_P,      tau_P = 1/(g_l+g_b+g_t)
                     without a target the drive's tau is 1/(g_l+g_b) (quirk §12.5)
    soma, interneuron du_I = dt (tau_I (g_d v_den + g_n u_breve_P,layer-above) - u_I) / tau_I,  tau_I = 1/(g_l+g_d+g_n)
    forward rule   dW_PP = (dt eta) (u_breve_P - c v_bas,prev) r_prev^T,  c = g_b/(g_l+g_b+g_a) (output: g_b/(g_l+g_b))
    lateral rules  dW_IP = (dt eta_IP) (r_I - phi(g_d/(g_l+g_d) v_den,prev)) r_P,prev^T
                   dB_PI = (dt eta_PI) (-v_api,prev) r_I,prev^T
    BP             B_PP = W_PP^T + N,  B_PI = -B_PP,  refreshed from the pre-update W_PP (§4.1 step 6)
"""
import numpy as np

from ..circuit.activations import Population
from ..state import Constants
from . import common
from .kernels import Blocks, Transposes, add_into, euler_increment, lookahead, matvec, rank1

RATE_TARGET_DEFAULT = False


def interneuron_sizes(layers, error_layers):
    """One interneuron population per hidden layer, the size of the layer above (§5.2)."""
    return list(layers[2:])


def lateral_length(L):
    return max(L - 2, 0)


def time_constants(g, lay):
    """(tau of [u_P | u_I], tau of the drive without a target), §4.1."""
    tauP = np.full(lay.NP, 1 / ((g["gl"] + g["gb"]) + g["ga"]))
    tauP[lay.out] = 1 / ((g["gl"] + g["gb"]) + g["gt"])
    tauI = np.full(lay.NI, 1 / ((g["gl"] + g["gd"]) + g["gn"]))
    no_target = tauP.copy()
    no_target[lay.out] = 1 / (g["gl"] + g["gb"])
    return np.concatenate([tauP, tauI]), np.concatenate([no_target, tauI])


def forward_gain(g, lay):
    """c per pyramidal unit: g_b/(g_l+g_b+g_a), output (and every unit of a 2-layer net) g_b/(g_l+g_b)."""
    c = np.full(lay.NP, g["gb"] / ((g["gl"] + g["gb"]) + g["ga"]))
    c[lay.out] = g["gb"] / (g["gl"] + g["gb"])
    if lay.L == 2:
        c[:] = g["gb"] / (g["gl"] + g["gb"])
    return c


def backward_blocks(lay):
    """B_PP blocks (rows P layer k, cols P layer k+1) and their BP pairs from W_PP."""
    return Blocks.of((lay.NPh, lay.NP), [(lay.p(k), lay.p(k + 1)) for k in range(lay.L - 2)])


def bp_refresh(lay, WB, BB):
    """B_PP[k] = N + W_PP[k+1]^T: a masked transposed view when both are dense, else per block."""
    if WB.dense and BB.dense:
        mask = np.zeros(BB.shape)
        for k in range(lay.L - 2):
            mask[lay.p(k), lay.p(k + 1)] = 1.0
        return ("mask", (slice(0, lay.NP), slice(lay.n0, lay.N)), mask)
    pairs = []
    for k in range(lay.L - 2):
        db, dr, dc = _find(BB, lay.p(k), lay.p(k + 1))
        sb, sr, sc = _find(WB, lay.p(k + 1), lay.pre_cols(k + 1))
        pairs.append((db, dr, dc, sb, sr, sc))
    return Transposes(tuple(pairs))


def _find(blocks, rows, cols):
    for b, (r, c) in enumerate(blocks.stored):
        if r.start <= rows.start and rows.stop <= r.stop and c.start <= cols.start and cols.stop <= c.stop:
            return b, slice(rows.start - r.start, rows.stop - r.start), slice(cols.start - c.start, cols.stop - c.start)
    raise ValueError("BP refresh: a block outside the stored weights")


def constants(nets, P, lay, taur=None, rate_target=None, kind="sacramento2018"):
    """Frozen constants of a sacramento2018 (or, with kind="dPC", a dPC) ensemble."""
    first, S, dt = nets[0], len(nets), P["dt"]
    g = common.conductances(P, kind)
    WB, lr_WPP = common.forward_blocks(lay, "layered", first.eta_fw, dt, S)
    BB = backward_blocks(lay)
    bpi_cols = lay.p if kind == "dPC" else lay.i
    BPIB = Blocks.of((lay.NPh, lay.NPh if kind == "dPC" else lay.NI),
                     [(lay.p(k), bpi_cols(k)) for k in range(lay.L - 2)], dense=BB.dense)
    WIPB = Blocks.of((lay.NI, lay.NP), [(lay.i(k), lay.p(k)) for k in range(lay.L - 2)])
    eta_IP, eta_PI = tuple(P["eta_IP"] or ()), tuple(P["eta_PI"] or ())
    tau, tau_nt = time_constants(g, lay)
    phiP = common.population(nets, "activation", "slope", "offset", lay.p_sizes)
    n1 = lay.p_sizes[0]
    phiI = None if kind == "dPC" else Population(
        phiP.names[1:], lay.i_sizes, None if phiP.slope is None else phiP.slope[:, n1:],
        None if phiP.offset is None else phiP.offset[:, n1:])
    gx = np.full(lay.NP, g["ga"])
    gx[lay.out] = g["gt"]
    N_B = refresh = None
    if first.model_type == "BP":
        N_B = BB.from_layers(S, common.stack_layers(nets, "N_B"))
        refresh = bp_refresh(lay, WB, BB)
        if isinstance(refresh, tuple):
            refresh = refresh[:2] + (np.broadcast_to(refresh[2], (S,) + refresh[2].shape).copy(),)
    return Constants(
        kind=kind, S=S, seeds=tuple(n.seed for n in nets), lay=lay, dt=dt, g=g,
        model_type=first.model_type, fw_mode="layered", bw_mode="layered", teacher=first.teacher,
        eta_fw=first.eta_fw, eta_IP=eta_IP, eta_PI=eta_PI,
        rate_target=RATE_TARGET_DEFAULT if rate_target is None else rate_target,
        phiP=phiP, phiI=phiI, tau=tau, tau_look=common.tau_look(tau, taur, first.teacher),
        tau_drive_nt=tau_nt, gx=gx, WPP=WB, lr_WPP=lr_WPP, c_fw=forward_gain(g, lay),
        WIP=WIPB, lr_IP=WIPB.lr(S, [dt * x for x in eta_IP[:lay.L - 2]]),
        BPI=BPIB, lr_PI=BPIB.lr(S, [dt * x for x in eta_PI[:lay.L - 2]]) if any(eta_PI) else None,
        B=BB, N_B=N_B, refresh=refresh, **common.switches(P, kind, WB))


def initial_state(nets, C):
    S = C.S
    st = common.initial_state(nets, C, C.lay.NP, C.phiI)
    st.WIP = C.WIP.from_layers(S, common.stack_layers(nets, "WIP"))
    st.BPI = C.BPI.from_layers(S, common.stack_layers(nets, "BPI"))
    st.B = C.B.from_layers(S, common.stack_layers(nets, "BPP"))
    st.dWIP, st.dBPI = C.WIP.zeros(S), C.BPI.zeros(S)
    st.vapi, st.vapi_prev = np.zeros((S, C.lay.NPh)), np.zeros((S, C.lay.NPh))
    st.vden, st.vden_prev = np.zeros((S, C.lay.NI)), np.zeros((S, C.lay.NI))
    return st


def apical(C, st, rP, rI):
    """v_api = B_PP r_P + B_PI r_I."""
    matvec(st.B, C.B, rP, st.vapi)
    st.vapi += matvec(st.BPI, C.BPI, rI, np.zeros_like(st.vapi))


def pyramidal_drive(C, st, y, D):
    """D_P = g_b v_bas + g_x [v_api | y]; returns the tau of the drive (§4.1 step 5)."""
    lay = C.lay
    api = np.empty((C.S, lay.NP))
    api[:, :lay.NPh] = st.vapi
    api[:, lay.out] = 0.0 if y is None else y
    DP = D[:, :lay.NP]
    np.multiply(st.vbas, C.g["gb"], out=DP)
    DP += C.gx * api
    return C.tau if y is not None else C.tau_drive_nt


def refresh_backward(C, st):
    """BP: B_PP from W_PP, and B_PI = -B_PP (sacramento2018)."""
    common.bp_refresh(C, st)
    n1 = C.lay.p_sizes[0]
    for bpi, b, (r, c) in zip(st.BPI, st.B, C.B.stored):
        np.negative(b[:, :, n1:] if C.B.dense else b, out=bpi)


def step(C, st, x, y, phase):
    """One dt for every network (§4.1 steps 1-7), in place."""
    lay, g, n0, NP = C.lay, C.g, C.lay.n0, C.lay.NP
    common.swap(st)
    st.rIb, st.rIb_prev = st.rIb_prev, st.rIb
    st.vden, st.vden_prev = st.vden_prev, st.vden
    st.vapi, st.vapi_prev = st.vapi_prev, st.vapi
    ub = lookahead(st.u, st.u_old, C.tau_look, C.dt, out=st.ub)
    rP = st.r_full[:, n0:]
    C.phiP(ub[:, :NP], out=rP)
    C.phiI(ub[:, NP:], out=st.rIb)
    st.r_full[:, :n0] = x
    matvec(st.WPP, C.WPP, st.r_full, st.vbas)
    matvec(st.WIP, C.WIP, rP, st.vden)
    apical(C, st, rP, st.rIb)
    D = np.empty_like(st.u)
    tau_drive = pyramidal_drive(C, st, y, D)
    DI = D[:, NP:]
    np.multiply(st.vden, g["gd"], out=DI)
    DI += g["gn"] * ub[:, lay.p_sizes[0]:NP]
    du = euler_increment(D, st.u, tau_drive, C.tau, C.dt)
    post = None
    if phase.plastic:
        post = common.forward_post(C, st)
        common.forward_plasticity(C, st, post)
        postI = st.rIb - C.phiI((g["gd"] / (g["gl"] + g["gd"])) * st.vden_prev)
        rank1(st.dWIP, C.WIP, postI, st.r_full_prev[:, n0:], C.lr_IP)
        if C.lr_PI is not None:
            rank1(st.dBPI, C.BPI, -st.vapi_prev, st.rIb_prev, C.lr_PI)
        if C.refresh is not None:
            refresh_backward(C, st)
    common.advance(st, du)
    if phase.fw:
        common.apply_forward(C, st, post)
    if phase.lat:
        add_into(st.WIP, st.dWIP)
        if C.lr_PI is not None:
            add_into(st.BPI, st.dBPI)


def lat_mismatch(C, st, uIb):
    """u_breve_I - predicted basal voltage of the layer above, c v_bas (output: g_b/(g_l+g_b) v_bas)."""
    g, lay = C.g, C.lay
    n1 = lay.p_sizes[0]
    vhat = (g["gb"] / ((g["gl"] + g["gb"]) + g["ga"])) * st.vbas[:, n1:]
    vhat[:, -lay.n_out:] *= ((g["gl"] + g["gb"]) + g["ga"]) / (g["gl"] + g["gb"])
    return lay.split(uIb - vhat, lay.p_sizes[1:])


def layers_of(C, st, name):
    """sacramento2018's recordable variables in the published per-layer layout (§8.1)."""
    lay = C.lay
    if name == "uI_breve":
        return lay.split(st.ub[:, lay.NP:], lay.i_sizes)
    if name == "rI_breve":
        return lay.split(st.rIb, lay.i_sizes)
    if name == "lat_mismatch":
        return lat_mismatch(C, st, st.ub[:, lay.NP:])
    return shared_layers(C, st, name)


def shared_layers(C, st, name):
    """Variables sacramento2018 and dPC record alike."""
    lay = C.lay
    if name == "vapi":
        return lay.split(st.vapi, lay.p_sizes[:-1])
    if name in ("WIP", "dWIP"):
        return C.WIP.layers(getattr(st, name))
    if name in ("BPI", "dBPI"):
        return C.BPI.layers(getattr(st, name))
    if name in ("BPP", "dBPP"):
        B = C.B.layers(st.B)
        return [np.zeros_like(b) for b in B] if name == "dBPP" else B
    return common.layers_of(C, st, name)
