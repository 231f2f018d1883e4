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
from .block_loops import _kb_capture_dw, _kb_watch
from .loops import (_k_after_step, _k_apical, _k_bp_refresh_T_rows, _k_capture, _k_cl_begin, _k_cl_end, _k_euler,
                    _k_forward_post_units, _k_from_T, _k_lookahead_rates, _k_phi_unit, _k_pyramidal_drive,
                    _k_dw_kept, _k_plasticity_span, _k_scaled_matvec_span, _k_sum, _k_to_T, same_dims)
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
        db, dr, dc = BB.locate(*_rect(lay.p(k), lay.p(k + 1)))
        sb, sr, sc = WB.locate(*_rect(lay.p(k + 1), lay.pre_cols(k + 1)))
        pairs.append((db, dr, dc, sb, sr, sc))
    return Transposes(tuple(pairs))


def _rect(rows, cols):
    return rows.start, cols.start, rows.stop - rows.start, cols.stop - cols.start


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


# ------------------------------------------------------------------------ compiled kernel (numba)
# The same sub-steps as `step` above, one seed at a time in plain scalar loops (seeds are the
# outer loop), compiled by numpy_model.models.compiled.jit_module when the numba backend runs.
# The stored arrays are the dense (single-block) ones, whose row loops run over the columns of
# each row's populated blocks only (kernels.Blocks.row_spans); every expression keeps the
# grouping of the NumPy sub-step named in its comment.
def compiled_unsupported(C):
    """Why these sacramento2018 constants cannot run compiled, or None."""
    from .compiled import act_codes
    if not (C.WPP.dense and C.WIP.dense and C.BPI.dense and C.B.dense):
        return "weights stored per block (large nets or NUMPY_MODEL_WEIGHT_STORAGE=blocks)"
    if C.fused_update or C.dWPP_low_pass:
        return "fused forward update"
    if C.refresh is not None and not isinstance(C.refresh, tuple):
        return "BP refresh per block"
    if act_codes(C.phiP, C.S) is None or (C.phiI is not None and act_codes(C.phiI, C.S) is None):
        return "activation without a compiled version"
    return None


SIZE_SPECIALISED = True     # the training kernel takes a size key (models/specialize.py)
#: what the kernel hands a monitor record (loops._k_record; kernel_record): its buffers, its arrays
RECORD_BUFFERS = ("u", "u_old", "ub", "r_full", "r_full_prev", "vbas", "vbas_prev", "rIb", "rIb_prev", "vden",
                  "vden_prev", "vapi", "vapi_prev")
RECORD_WEIGHTS = ("WPP", "dWPP", "WIP", "dWIP", "BPI", "dBPI", "B")


def _compiled_static(C):
    """Constant kernel arguments of C (built once per constants)."""
    from .compiled import BPI_from_B_spans, act_codes, plain_code, transposed_refresh_rows
    lay, S, g = C.lay, C.S, C.g
    actP, slopeP, offP = act_codes(C.phiP, S)
    actI, slopeI, offI = act_codes(C.phiI, S)
    mode, NT, maskT = transposed_refresh_rows(C)
    assert not mode or BPI_from_B_spans(C), "B_PI's blocks are not B_PP's past the first hidden layer"
    has_PI = C.lr_PI is not None
    return dict(
        ints=(lay.n0, lay.NP, lay.NPh, lay.NI, lay.p_sizes[0], lay.out.start, lay.out.stop, mode,
              plain_code(actP, slopeP, offP), plain_code(actI, slopeI, offI)),
        floats=(float(C.dt), float(g["gb"]), float(g["gd"]), float(g["gn"]),
                float(g["gd"] / (g["gl"] + g["gd"]))),
        flags=(bool(C.dWPP_use_activation), has_PI),
        arrays=(np.ascontiguousarray(C.tau, dtype=float), np.ascontiguousarray(C.tau_look, dtype=float),
                np.ascontiguousarray(C.tau_drive_nt, dtype=float), np.ascontiguousarray(C.gx, dtype=float),
                np.ascontiguousarray(C.c_fw, dtype=float), actP, slopeP, offP, actI, slopeI, offI,
                C.lr_WPP[0], C.lr_IP[0], C.lr_PI[0] if has_PI else np.zeros((S, 1, 1)), NT, maskT),
        spans=(C.WPP.row_spans(), C.WIP.row_spans(), C.BPI.row_spans(), np.ones(lay.NP)))


def compiled_phase(C, st, t0, n, X, Y, has_y, nudge, phase, want_mse, mse_mode, mse_out, cap_mode,
                   cap_out, step_base, check_every, found, det, dw_every=0, cl=None, rec=None):
    """Steps t0 .. t0+n-1 of a phase for every seed in one compiled call (numpy_model.models.
    compiled.run_phase drives it; dw_every > 0: dW_PP at every sample's end into cap_out); the
    buffer swaps of `step` are done by parity afterwards."""
    from .compiled import NO_CLOSED_LOOP, NO_RECORD, scratch, static
    from .specialize import check_ran, kernel_key
    k = static(C, _compiled_static)
    NP, NI, NPh = C.lay.NP, C.lay.NI, C.lay.NPh
    switches = (has_y and nudge, phase.plastic, phase.fw, phase.lat, want_mse, mse_mode, cap_mode, check_every,
                dw_every)
    buffers = (st.u, st.u_old, st.ub, st.r_full, st.r_full_prev, st.vbas, st.vbas_prev, st.rIb, st.rIb_prev, st.vden,
               st.vden_prev, st.vapi, st.vapi_prev)
    weights = (st.WPP[0], st.dWPP[0], st.WIP[0], st.dWIP[0], st.BPI[0], st.dBPI[0], st.B[0])
    work = scratch(NP + NI, NP + NI, NP, NI, NP, NPh, NPh) + (np.empty(st.WPP[0].shape[1:]),)
    cl = cl or NO_CLOSED_LOOP
    K = kernel_key(C, phase, _kernel_dims, switches, k["ints"], k["flags"], k["arrays"], k["spans"], buffers, weights,
                   work, X, Y, cl)
    check_ran(_kernel_phase(K, t0, n, step_base, switches, X, Y, k["ints"], k["floats"], k["flags"], k["arrays"],
                            k["spans"], buffers, weights, mse_out, cap_out, found, det, cl, work,
                            rec or NO_RECORD, weights))
    if n % 2:                 # step 1's swaps and the advance's swap, once per step
        common.swap(st)
        st.rIb, st.rIb_prev = st.rIb_prev, st.rIb
        st.vden, st.vden_prev = st.vden_prev, st.vden
        st.vapi, st.vapi_prev = st.vapi_prev, st.vapi
        st.u_old, st.u = st.u, st.u_old


def _kernel_rates(n0, dt, tau_look, plain, plainI, actP, sP, oP, actI, sI, oI, u, u_old, ub, r, rI, x, t):
    """u_breve = lookahead(u, u_old), r_P = phi(u_breve_P), the input rates, r_I = phi_I(u_breve_I)
    (plain, plainI: compiled.plain_code of each population, as loops._k_phi_unit)."""
    _k_lookahead_rates(n0, dt, tau_look, plain, actP, sP, oP, u, u_old, ub, r, x, t)
    NP = actP.shape[0]
    for i in range(rI.shape[0]):
        rI[i] = _k_phi_unit(plainI, actI, sI, oI, i, ub[NP + i])


def _kernel_dendrites(n0, W, WIP, BT, BPI, spans, r, rI, vbas, vden, vapi, tmp):
    """v_bas = W_PP r, v_den = W_IP r_P, apical v_api = B_PP r_P + (B_PI r_I), over each matrix's
    row spans (its populated blocks; `ones`: (1 W_ij) r_j = W_ij r_j exactly; BT: B_PP transposed)."""
    spW, spIP, spPI, ones = spans
    _k_scaled_matvec_span(W, ones, r, vbas, spW)
    _k_scaled_matvec_span(WIP, ones, r[n0:], vden, spIP)
    _k_apical(BT, n0, spW, BPI, spPI, ones, r[n0:], rI, vapi, tmp)


def _kernel_somatic_drive(g, NPh, o0, o1, n1, target, y, t, gx, vbas, vden, vapi, ub, u, tau, tau_nt,
                          api, D, du):
    """pyramidal_drive g_b v_bas + g_x [v_api | y], interneurons g_d v_den + g_n u_breve_P,above,
    and the Euler increment (tau_drive = tau with a target, tau_nt without)."""
    dt, gb, gd, gn = g
    NP = vbas.shape[0]
    _k_pyramidal_drive(gb, NPh, o0, o1, target, y, t, gx, vbas, vapi, api, D)
    for i in range(vden.shape[0]):
        D[NP + i] = vden[i] * gd + gn * ub[n1 + i]
    for i in range(du.shape[0]):
        du[i] = _k_euler(D[i], u[i], tau[i] if target else tau_nt[i], tau[i], dt)


def _kernel_plasticity(flags, n0, n1, cI, c_fw, acts, ub, r, r_prev, rI, rI_prev, vbas_prev, vden_prev,
                       vapi_prev, W, dW, lrW, WIP, dWIP, lrI, BPI, dBPI, lrP, post, postI, neg, bp, spans):
    """The BP refresh from the pre-update W_PP (B_PP = W_PP^T * mask + N into the transposed copy
    BT the kernel reads, into B only when kept; B_PI = -B_PP), then dW_PP, dW_IP, dB_PI, each
    applied in the same pass where the phase applies it (apply: W_PP in a forward phase, W_IP and
    B_PI in a lateral one; nothing reads them in between); bp = (B, BT, NT, maskT), one argument
    (compiled.jit_module: at most 30)."""
    use_act, has_PI, mode, fw, lat, keep = flags
    B, BT, NT, maskT = bp
    actP, sP, oP, actI, sI, oI, plain, plainI = acts
    spW, spIP, spPI, _ = spans
    if mode == 1:
        _k_bp_refresh_T_rows(BT, W, n0, NT, maskT, spW, B, keep)
        _k_from_T(BT, BPI, n0, n1, -1.0, spW)
    _k_forward_post_units(use_act, plain, c_fw, actP, sP, oP, ub, r, n0, vbas_prev, post)
    _k_plasticity_span(post, r_prev, lrW, dW, W, spW, fw, keep)
    for i in range(postI.shape[0]):
        postI[i] = rI[i] - _k_phi_unit(plainI, actI, sI, oI, i, cI * vden_prev[i])
    _k_plasticity_span(postI, r_prev[n0:], lrI, dWIP, WIP, spIP, lat, keep)
    if has_PI:
        for i in range(neg.shape[0]):
            neg[i] = -vapi_prev[i]
        _k_plasticity_span(neg, rI_prev, lrP, dBPI, BPI, spPI, lat, keep)


def _kernel_dims(switches, ints, flags, arrays, spans, buffers, weights, work, X, Y, cl):
    """Every int the time loop's bounds and branches read, but the step counters (specialize.kernel_key)."""
    b, w, a, v = buffers, weights, arrays, work
    return (switches + ints + flags + (cl[0], X.shape[2], Y.shape[2])
            + (b[0].shape[1], b[1].shape[1], b[2].shape[1], b[3].shape[1], b[4].shape[1], b[5].shape[1],
               b[6].shape[1], b[7].shape[1], b[8].shape[1], b[9].shape[1], b[10].shape[1], b[11].shape[1],
               b[12].shape[1], v[0].shape[0], v[1].shape[0], v[2].shape[0], v[3].shape[0], v[4].shape[0],
               v[5].shape[0], v[6].shape[0]) + v[7].shape
            + w[0].shape[1:] + w[1].shape[1:] + w[2].shape[1:] + w[3].shape[1:] + w[4].shape[1:] + w[5].shape[1:]
            + w[6].shape[1:] + a[11].shape[1:] + a[12].shape[1:] + a[13].shape[1:] + a[14].shape[1:]
            + a[15].shape[1:] + spans[0].shape + spans[1].shape + spans[2].shape + spans[3].shape)


def _kernel_phase(K, t0, n, step_base, switches, X, Y, ints, floats, flags, arrays, spans, buffers, weights, mse_out,
                  cap_out, found, det, cl, work, rec, rec_w):
    """Every seed through steps t0 .. t0+n-1 of `step` (the seeds are the outer loop); `work`: the
    scratch vectors D, du, post, postI, api, tmp, neg and B_PP transposed, BT (copied from B at
    each seed's start, and back where B is read: loops._k_dw_kept). K: () or the key of a kernel
    specialised for these sizes (specialize.kernel_key; False if it does not hold them)."""
    if not same_dims(K, _kernel_dims(switches, ints, flags, arrays, spans, buffers, weights, work, X, Y, cl)):
        return False
    target, plastic, fw, lat, want_mse, mse_mode, cap_mode, check_every, dw_every = switches
    n0, NP, NPh, NI, n1, o0, o1, mode, plain, plainI = ints
    dt, gb, gd, gn, cI = floats
    use_act, has_PI = flags
    (tau, tau_look, tau_nt, gx, c_fw, actP, slopeP, offP, actI, slopeI, offI, lr_WPP, lr_IP, lr_PI,
     NT, maskT) = arrays
    (u_, u_old_, ub_, r_, rp_, vb_, vbp_, rI_, rIp_, vd_, vdp_, va_, vap_) = buffers
    (WPP_, dWPP_, WIP_, dWIP_, BPI_, dBPI_, B_) = weights
    D, du, post, postI, api, tmp, neg, BT = work
    for s in range(u_.shape[0]):
        u, u_old, ub = u_[s], u_old_[s], ub_[s]
        r, r_prev, vbas, vbas_prev = r_[s], rp_[s], vb_[s], vbp_[s]
        rI, rI_prev, vden, vden_prev, vapi, vapi_prev = rI_[s], rIp_[s], vd_[s], vdp_[s], va_[s], vap_[s]
        W, dW, WIP, dWIP, BPI, dBPI, B = WPP_[s], dWPP_[s], WIP_[s], dWIP_[s], BPI_[s], dBPI_[s], B_[s]
        sP, oP, sI, oI, x, y = slopeP[s], offP[s], slopeI[s], offI[s], X[s], Y[s]
        acts = (actP, sP, oP, actI, sI, oI, plain, plainI)
        _k_to_T(B, BT, n0, spans[0])
        nxt = rec[0]                                    # the step of the next record
        for t in range(t0, t0 + n):
            _k_capture(cap_mode, cap_out, s, t, r, ub, n0, o0, o1)
            _k_cl_begin(cl, s, t, x)
            r, r_prev, vbas, vbas_prev = r_prev, r, vbas_prev, vbas       # step 1: buffer swaps
            rI, rI_prev, vden, vden_prev, vapi, vapi_prev = rI_prev, rI, vden_prev, vden, vapi_prev, vapi
            _kernel_rates(n0, dt, tau_look, plain, plainI, actP, sP, oP, actI, sI, oI, u, u_old, ub, r, rI, x, t)
            _kernel_dendrites(n0, W, WIP, BT, BPI, spans, r, rI, vbas, vden, vapi, tmp)
            _kernel_somatic_drive((dt, gb, gd, gn), NPh, o0, o1, n1, target, y, t, gx, vbas, vden, vapi,
                                  ub, u, tau, tau_nt, api, D, du)
            if plastic:                             # (and apply, as the phase says)
                _kernel_plasticity((use_act, has_PI, mode, fw, lat, _k_dw_kept(t, t0 + n - 1, nxt, dw_every)),
                                   n0, n1, cI, c_fw, acts, ub, r, r_prev, rI,
                                   rI_prev, vbas_prev, vden_prev, vapi_prev, W, dW, lr_WPP[s], WIP, dWIP,
                                   lr_IP[s], BPI, dBPI, lr_PI[s], post, postI, neg, (B, BT, NT[s], maskT[s]), spans)
            u, u_old = u_old, u                     # advance: u_old <- u, u <- u + Delta u
            _k_sum(u_old, du, u)
            # record.mse after the step; the monitor's record (the buffers in RECORD_BUFFERS order)
            nxt = _k_after_step((want_mse, mse_mode, mse_out), rec, nxt, s, t, r, ub, y, n0, o0, actP, sP, oP,
                                (u, u_old, ub, r, r_prev, vbas, vbas_prev, rI, rI_prev, vden, vden_prev, vapi,
                                 vapi_prev), rec_w)
            _kb_watch(check_every, step_base + t - t0 + 1, s, u, (WPP_,), found, det)
            _kb_capture_dw(dw_every, cap_out, s, t, (dWPP_,))
            _k_cl_end(cl, s, t, r)
    return True
