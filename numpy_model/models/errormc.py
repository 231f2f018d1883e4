"""errormc: the error-neuron microcircuit (Max et al., PLOS Comput Biol 2026; docs/model.md §4.4).

Representation units u_R (stored as uP) and error units u_E (stored as uI), per layer k:

    u_breve       = u_old + tau_look (u - u_old) / dt                       lookahead (§3)
    r_R = phi(u_breve_R),  r_E = psi(u_breve_E)
    v_bas         = W_PP r_R,prev-layer                                      basal dendrite
    v_api         = B_PI r_E                                                 apical dendrite
    v_den         = B_II r_E(layer above)   [* (W_IP phi'(u_breve_R)) with varphi_transfer]
    soma, rep     du_R = dt (tau_R (g_b v_bas + g_a v_api) - u_R) / tau_R,   tau_R = 1/(g_l+g_b+g_a)
    soma, error   du_E = dt (tau_E g_d v_den - u_E) / tau_E,                 tau_E = 1/(g_l+g_d)
    output error  du_E = dt (tau_E g_t W_IP (phi'(u_breve_R) (y - r_R)) - u_E) / tau_E,  tau_E = 1/(g_l+g_t)
    forward rule  dW_PP = (dt eta) (u_breve_R - c v_bas,prev) r_prev^T,     c = g_b/(g_l+g_b+g_a)   (§4.4.1)
    lateral rule  dW_IP = -(dt eta_IP) (W_IP - I),  dB_PI = -(dt eta_PI) (B_PI - I)                (§4.4.2)
    BP            B_II = [triu](W_PP^T + N_II), refreshed from the pre-update W_PP                 (§4.4.3)

The output-error drive is evaluated as g_t (W_IP (phi' (y - r))), a regrouping of the published
(g_t W_IP phi') (y - r) within a few ulp. B_II is stored transposed, so its BP refresh is a
contiguous W + N^T per block.
"""
import numpy as np

from ..state import Constants
from . import common
from .block_loops import (_kb_capture_dw, _kb_dot, _kb_forward_pass, _kb_lateral, _kb_low_pass, _kb_matvec,
                          _kb_refresh_rest, _kb_vecmat, _kb_watch)
from .loops import (_k_after_step, _k_capture, _k_cl_begin, _k_cl_end, _k_dphi, _k_dw_kept, _k_euler, _k_forward_post,
                    _k_lookahead, _k_phi, same_dims)
from .kernels import (Blocks, Transposes, add_into, euler_increment, lookahead, matvec, mv,
                      scale_diff, vecmat_T)

RATE_TARGET_DEFAULT = True
RECORDS = ("BII",)
#: the buffers `step` swaps once per step (the compiled driver swaps them by parity)
SWAPS = (("r_full", "r_full_prev"), ("vbas", "vbas_prev"), ("rIb", "rIb_prev"), ("vden", "vden_prev"),
         ("vapi", "vapi_prev"), ("u", "u_old"))


def interneuron_sizes(layers, error_layers):
    """Error-unit layer sizes e_1 .. e_{L-1} (§5.2)."""
    return list(error_layers[1:])


def lateral_length(L):
    return L - 1


# ----------------------------------------------------------------------------------- constants
def time_constants(g, lay):
    """tau of u = [u_R | u_E]: 1/(g_l+g_b+g_a) and 1/(g_l+g_d), output errors 1/(g_l+g_t)."""
    tauP = np.full(lay.NP, 1 / ((g["gl"] + g["gb"]) + g["ga"]))
    tauE = np.full(lay.NI, 1 / (g["gl"] + g["gd"]))
    tauE[lay.i_out] = 1 / (g["gl"] + g["gt"])
    return np.concatenate([tauP, tauE])


def forward_gain(g):
    """c = g_b / (g_l + g_b + g_a) (§4.4.1)."""
    return g["gb"] / ((g["gl"] + g["gb"]) + g["ga"])


def _backward_blocks(lay, bw_mode):
    """Blocks of B_II^T (rows e_{k+2}, cols e_{k+1}) and the BP pairs (kp, kq) of §4.4.3."""
    NE, L = lay.NI, lay.L
    if bw_mode == "skip":
        return Blocks.of((NE, NE), [(slice(0, NE), slice(0, NE))], dense=True), \
            [(kp, kq) for kp in range(L - 1) for kq in range(kp, L - 1)]
    blocks = [(lay.i(k + 1), lay.i(k)) for k in range(L - 2)]
    return Blocks.of((NE, NE), blocks), [(k, k + 1) for k in range(L - 2)]


def _bp_refresh(lay, WB, BB, pairs, N_B):
    """BII^T[q, p] = W_PP[P(q), n0 + P(p)] + N^T on the overlap of error and rep sizes."""
    e, n = lay.i_sizes, lay.p_sizes
    sub = []
    for kp, kq in pairs:
        nr, nc = min(e[kp], n[kp]), min(e[kq], n[kq])       # BII rows (layer kp) / cols (kq)
        q0, p0 = lay.i_off[kq], lay.i_off[kp]                # in BII^T: rows q, cols p
        sub.append((q0, p0, lay.p_off[kq], lay.n0 + lay.p_off[kp], nc, nr))
    equal = all(e[k] == n[k] for k in range(len(e)))
    if BB.dense and WB.dense and equal:                      # one masked transposed view
        mask = np.zeros(BB.shape)
        for q0, p0, _, _, nq, np_ in sub:
            mask[q0:q0 + nq, p0:p0 + np_] = 1.0
        NE = lay.NI
        view = (slice(0, NE), slice(lay.n0, lay.n0 + NE))
        return ("mask", view, np.broadcast_to(mask, (N_B[0].shape[0],) + mask.shape).copy())
    pairs_out, rest = [], []
    for (kp, kq), (q0, p0, wr0, wc0, nq, np_) in zip(pairs, sub):
        db, dr, dc = BB.locate(q0, p0, nq, np_)
        src = WB.locate(wr0, wc0, nq, np_, missing_ok=True)
        if src is None:                  # a forward block that is structurally zero: B = N there
            rest.append((db, dr, dc))
        else:
            pairs_out.append((db, dr, dc) + src)
        for r0, r1, c0, c1 in ((q0 + nq, q0 + e[kq], p0, p0 + e[kp]), (q0, q0 + nq, p0 + np_, p0 + e[kp])):
            if r1 > r0 and c1 > c0:
                rest.append(BB.locate(r0, c0, r1 - r0, c1 - c0))
    return Transposes(tuple(pairs_out), transpose=False, rest=tuple(rest))


def constants(nets, P, lay, taur=None, rate_target=None):
    """Frozen constants of an errormc ensemble from its per-seed initial networks."""
    first, S = nets[0], len(nets)
    g = common.conductances(P, "errormc")
    dt = P["dt"]
    WB, lr_WPP = common.forward_blocks(lay, first.fw_mode, first.eta_fw, dt, S)
    diag_IP = [(lay.i(k), lay.p(k)) for k in range(lay.L - 1)]
    diag_PI = [(lay.p(k), lay.i(k)) for k in range(lay.L - 1)]
    WIPB, BPIB = Blocks.of((lay.NI, lay.NP), diag_IP), Blocks.of((lay.NP, lay.NI), diag_PI)
    eta_IP, eta_PI = tuple(P["eta_IP"] or ()), tuple(P["eta_PI"] or ())
    lr_IP = WIPB.lr(S, [(-dt) * x for x in eta_IP]) if any(eta_IP) else None
    lr_PI = BPIB.lr(S, [(-dt) * x for x in eta_PI]) if any(eta_PI) else None
    BB, pairs = _backward_blocks(lay, first.bw_mode)
    N_B = refresh = None
    if first.model_type == "BP":
        N_B = _noise_T(nets, lay, BB)
        refresh = _bp_refresh(lay, WB, BB, pairs, N_B)
    tau = time_constants(g, lay)
    return Constants(
        kind="errormc", S=S, seeds=tuple(n.seed for n in nets), lay=lay, dt=dt, g=g,
        model_type=first.model_type, fw_mode=first.fw_mode, bw_mode=first.bw_mode,
        teacher=first.teacher, eta_fw=first.eta_fw, eta_IP=eta_IP, eta_PI=eta_PI,
        rate_target=RATE_TARGET_DEFAULT if rate_target is None else rate_target,
        phiP=common.population(nets, "activation", "slope", "offset", lay.p_sizes),
        psiE=common.population(nets, "error_activation", "error_slope", "error_offset", lay.i_sizes),
        tau=tau, tau_look=common.tau_look(tau, taur, first.teacher),
        WPP=WB, lr_WPP=lr_WPP, c_fw=forward_gain(g),
        WIP=WIPB, lr_IP=lr_IP, I_WIP=WIPB.from_layers(1, [np.eye(*w.shape)[None] for w in first.WIP]),
        BPI=BPIB, lr_PI=lr_PI, I_BPI=BPIB.from_layers(1, [np.eye(*b.shape)[None] for b in first.BPI]),
        B=BB, N_B=N_B, refresh=refresh, **common.switches(P, "errormc", WB))


def _noise_T(nets, lay, BB):
    """N_II^T per stored block (skip: triu(N) as published, so that [triu] is exact)."""
    def T(blocks):
        return [np.swapaxes(np.asarray(b), -1, -2) for b in blocks]
    if nets[0].bw_mode == "skip":
        return BB.from_layers(len(nets), T([np.stack([np.triu(n.N_B[0]) for n in nets])]))
    return BB.from_layers(len(nets), [np.swapaxes(np.stack([n.N_B[k] for n in nets]), 1, 2)
                                      for k in range(len(nets[0].N_B))])


# --------------------------------------------------------------------------------------- state
def initial_state(nets, C):
    lay, S = C.lay, C.S
    st = common.initial_state(nets, C, lay.NP, C.psiE)
    st.WIP = C.WIP.from_layers(S, common.stack_layers(nets, "WIP"))
    st.BPI = C.BPI.from_layers(S, common.stack_layers(nets, "BPI"))
    st.B = C.B.from_layers(S, [np.swapaxes(np.stack([n.BII[k] for n in nets]), 1, 2)   # skip: BII[0] only
                               for k in range(len(C.B.views))])
    st.dWIP, st.dBPI = C.WIP.zeros(S), C.BPI.zeros(S)
    st.dP = np.zeros((S, lay.NP))
    st.vapi, st.vapi_prev = np.zeros((S, lay.NP)), np.zeros((S, lay.NP))
    st.vden, st.vden_prev = np.zeros((S, lay.NI)), np.zeros((S, lay.NI))
    return st


# ---------------------------------------------------------------------------------------- step
def rates(C, st):
    """Lookahead voltages and rates r_R = phi(u_breve_R), r_E = psi(u_breve_E), phi'(u_breve_R)."""
    NP = C.lay.NP
    ub = lookahead(st.u, st.u_old, C.tau_look, C.dt, out=st.ub)
    uPb, uEb = ub[:, :NP], ub[:, NP:]
    rP = st.r_full[:, C.lay.n0:]
    if C.rep_lookahead is None:
        C.phiP(uPb, out=rP)
        st.dP = C.phiP.d(uPb, rP)
    else:                                   # DMS: instantaneous rates where the mask is off
        C.phiP(np.where(C.rep_lookahead, uPb, st.u[:, :NP]), out=rP)
        st.dP = C.phiP.d(uPb)
    argE = uEb if C.error_lookahead is None else np.where(C.error_lookahead, uEb, st.u[:, NP:])
    C.psiE(argE, out=st.rIb)
    return rP, st.rIb


def dendrites(C, st, rE):
    """v_bas = W_PP r, v_api = B_PI r_E, v_den = B_II r_E [* W_IP phi'] (§4.4 steps 4-6)."""
    matvec(st.WPP, C.WPP, st.r_full, st.vbas)
    matvec(st.BPI, C.BPI, rE, st.vapi)
    vecmat_T(st.B, C.B, rE, st.vden)
    if C.varphi_transfer:          # the output errors' v_den is never used (their B_II row is 0)
        hidden = C.WIP.stored if C.WIP.dense else C.WIP.stored[:-1]
        for W, (r, c) in zip(st.WIP, hidden):
            np.multiply(mv(W, st.dP[:, c]), st.vden[:, r], out=st.vden[:, r])


def somatic_drive(C, st, y, rP):
    """D = [g_b v_bas + g_a v_api | g_d v_den], output errors g_t W_IP (phi' (y - r)) (§4.4 step 8)."""
    lay, g = C.lay, C.g
    NP = lay.NP
    D = np.empty_like(st.u)
    DP, DE = D[:, :NP], D[:, NP:]
    np.multiply(st.vbas, g["gb"], out=DP)
    DP += g["ga"] * st.vapi
    np.multiply(st.vden, g["gd"], out=DE)
    if y is None:
        DE[:, lay.i_out] = 0.0
    else:
        b, r, c = C.WIP.views[-1]
        W_out = st.WIP[b][:, r, c]
        e = st.dP[:, lay.out] * (y - rP[:, lay.out])
        np.multiply(mv(W_out, e), g["gt"], out=DE[:, lay.i_out])
    return D


def plasticity(C, st):
    """dW_PP, dW_IP, dB_PI (not applied yet) and the BP refresh of B_II (§4.4.1-4.4.3)."""
    post = common.forward_post(C, st)
    common.forward_plasticity(C, st, post)
    if C.lr_IP is not None:
        scale_diff(st.WIP, C.I_WIP, C.lr_IP, st.dWIP)
    if C.lr_PI is not None:
        scale_diff(st.BPI, C.I_BPI, C.lr_PI, st.dBPI)
    if C.refresh is not None:
        common.bp_refresh(C, st)
    return post


def step(C, st, x, y, phase):
    """One dt for every network of the ensemble (§4.4 steps 1-10), in place."""
    common.swap(st)
    st.rIb, st.rIb_prev = st.rIb_prev, st.rIb
    st.vden, st.vden_prev = st.vden_prev, st.vden
    st.vapi, st.vapi_prev = st.vapi_prev, st.vapi
    rP, rE = rates(C, st)
    st.r_full[:, :C.lay.n0] = x
    dendrites(C, st, rE)
    du = euler_increment(somatic_drive(C, st, y, rP), st.u, C.tau, C.tau, C.dt)
    post = plasticity(C, st) if phase.plastic else None
    common.advance(st, du)
    if phase.fw:
        common.apply_forward(C, st, post)
    if phase.lat:
        if C.lr_IP is not None:
            add_into(st.WIP, st.dWIP)
        if C.lr_PI is not None:
            add_into(st.BPI, st.dBPI)


# ----------------------------------------------------------------------------------- recording
def layers_of(C, st, name):
    """errormc's recordable variables in the published per-layer layout (§8.1)."""
    lay = C.lay
    if name in ("BII", "dBII"):
        B = [np.swapaxes(v, 1, 2) for v in C.B.layers(st.B)]
        return [np.zeros_like(b) for b in B] if name == "dBII" else B
    if name in ("WIP", "dWIP", "BPI", "dBPI"):
        blocks = C.WIP if name.endswith("WIP") else C.BPI
        return blocks.layers(getattr(st, name))
    if name == "uI_breve":
        return lay.split(st.ub[:, lay.NP:], lay.i_sizes)
    if name == "rI_breve":
        return lay.split(st.rIb, lay.i_sizes)
    if name == "vapi":
        return lay.split(st.vapi)
    return common.layers_of(C, st, name)


# ------------------------------------------------------------------------ compiled kernel (numba)
# The sub-steps of `step` for one seed in scalar loops (seeds the outer loop, the time loop inside the
# call; compiled.jit_module). Weights come as their stored blocks (block_loops; dense = one block);
# every expression keeps the NumPy sub-step's grouping, every sum runs in index order. One pass over
# W_PP computes v_bas, refreshes B_II^T and applies the forward rule (Fig 4/5 nets: memory-bound).
def compiled_unsupported(C):
    """Why these errormc constants cannot run compiled, or None."""
    from .compiled import common_unsupported
    return common_unsupported(C, (), (C.phiP, C.psiE), dms=True, low_pass=True)


def _compiled_static(C):
    """Constant kernel arguments of C (built once per constants)."""
    from .block_loops import offsets
    from .compiled import act_arrays, block_refresh_arrays, plain_code, rates_arg
    lay, S, g = C.lay, C.S, C.g
    b_out, r_out, c_out = C.WIP.views[-1]
    actP, actE = act_arrays(C.phiP, S, C.rep_lookahead), act_arrays(C.psiE, S, C.error_lookahead)
    return dict(
        ints=(lay.n0, lay.out.start, lay.out.stop, lay.i_out.start, lay.i_out.stop, b_out,
              r_out.start or 0, c_out.start or 0, len(C.WIP.stored) - (0 if C.WIP.dense else 1),
              plain_code(*actP), plain_code(*actE[:3], look=actE[5])),
        floats=(float(C.dt), float(g["gb"]), float(g["ga"]), float(g["gd"]), float(g["gt"]), float(C.c_fw),
                float(C.dt / C.tauLO)),
        flags=(bool(C.varphi_transfer), bool(C.dWPP_use_activation), C.lr_IP is not None, C.lr_PI is not None,
               C.WPP.dense, C.WIP.dense, C.BPI.dense, not C.fused_update, bool(C.dWPP_low_pass)),
        arrays=(np.ascontiguousarray(C.tau, dtype=float), np.ascontiguousarray(C.tau_look, dtype=float))
        + actP + actE[:3] + actE[5:],
        rates=rates_arg(C.WPP, C.lr_WPP, S) + rates_arg(C.WIP, C.lr_IP, S) + rates_arg(C.BPI, C.lr_PI, S),
        ident=(tuple(a[0] for a in C.I_WIP), tuple(a[0] for a in C.I_BPI)),
        offs=(offsets(C.WPP), offsets(C.WIP), offsets(C.BPI), offsets(C.B)),
        refresh=block_refresh_arrays(C))


SIZE_SPECIALISED = True     # the training kernel takes a size key (models/specialize.py)
_BUFFERS = ("u", "u_old", "ub", "r_full", "r_full_prev", "vbas", "vbas_prev", "rIb", "rIb_prev", "vden",
            "vden_prev", "vapi", "vapi_prev", "dP")
_WEIGHTS = ("WPP", "dWPP", "WIP", "dWIP", "BPI", "dBPI", "B", "LWPP")
#: what the kernel hands a monitor record (loops._k_record; kernel_record): its buffers, every stored array
RECORD_BUFFERS, RECORD_WEIGHTS, RECORD_ALL_BLOCKS = _BUFFERS, _WEIGHTS, True


def compiled_phase(C, st, t0, n, X, Y, has_y, nudge, phase, want_mse, mse_mode, mse_out, cap_mode,
                   cap_out, step_base, check_every, found, det, dw_every=0, cl=None, rec=None):
    """Steps t0 .. t0+n-1 of every seed in one compiled call (compiled.run_phase, which swaps the SWAPS
    buffers after an odd n; dw_every: compiled.sample_updates; cl: compiled.closed_loop; rec: the
    monitor records the kernel takes, kernel_record)."""
    from .compiled import NO_CLOSED_LOOP, NO_RECORD, contiguous_blocks, scratch, static
    from .specialize import check_ran, kernel_key
    k, lay = static(C, _compiled_static), C.lay
    if st.dP.shape != (C.S, lay.NP) or not st.dP.flags.c_contiguous:
        st.dP = np.ascontiguousarray(np.broadcast_to(st.dP, (C.S, lay.NP)))
    steps = (t0, n, step_base, check_every, mse_mode, cap_mode, dw_every)
    switches = (has_y and nudge, phase.plastic, phase.fw, phase.lat, want_mse)
    buffers, weights = tuple(getattr(st, b) for b in _BUFFERS), contiguous_blocks(st, _WEIGHTS, C.S)
    work, cl = scratch(lay.NP, lay.n_out, lay.i_sizes[-1]), cl or NO_CLOSED_LOOP
    K = kernel_key(C, phase, _kernel_dims, steps, switches, k["ints"], k["flags"], k["rates"], k["offs"],
                   k["refresh"], buffers, weights, work, X, Y, cl)
    check_ran(_kernel_phase(K, steps, switches, X, Y, k["ints"], k["floats"], k["flags"], k["arrays"], k["rates"],
                            k["ident"], k["offs"], k["refresh"], buffers, weights, mse_out, cap_out, found, det, cl,
                            work, rec or NO_RECORD, sum(weights, ())))


def _kernel_dims(steps, switches, ints, flags, rates, offs, refresh, buffers, weights, work, X, Y, cl):
    """Every int the time loop's bounds and branches read, but the step counters (specialize.kernel_key;
    offs: those of each matrix's first block, its only one when specialised)."""
    b, (W, dW, WIP, dWIP, BPI, dBPI, B, LW), o = buffers, weights, offs
    return (steps[3:] + switches + ints + flags + (refresh[0], cl[0], X.shape[2], Y.shape[2])
            + (o[0][0, 0], o[0][0, 1], o[1][0, 0], o[1][0, 1], o[2][0, 0], o[2][0, 1], o[3][0, 0], o[3][0, 1])
            + rates[0].shape[1:] + rates[2].shape[1:] + rates[4].shape[1:]
            + (b[0].shape[1], b[1].shape[1], b[2].shape[1], b[3].shape[1], b[4].shape[1], b[5].shape[1],
               b[6].shape[1], b[7].shape[1], b[8].shape[1], b[9].shape[1], b[10].shape[1], b[11].shape[1],
               b[12].shape[1], b[13].shape[1], work[0].shape[0], work[1].shape[0], work[2].shape[0])
            + W[0].shape[1:] + dW[0].shape[1:] + WIP[0].shape[1:] + dWIP[0].shape[1:] + BPI[0].shape[1:]
            + dBPI[0].shape[1:] + B[0].shape[1:] + LW[0].shape[1:])


def _kernel_rates(n0, dt, tau_look, act, u, u_old, ub, r, dP, rE):
    """rates: u_breve = lookahead(u, u_old), r_R = phi(u_breve_R), phi'(u_breve_R), r_E = psi(u_breve_E) (DMS masks)."""
    actP, sP, oP, tanh1, dcP, lookP, actE, sE, oE, lookE, cP, cE = act
    NP = dP.shape[0]
    for i in range(u.shape[0]):
        ub[i] = _k_lookahead(u[i], u_old[i], tau_look[i], dt)
    for i in range(NP):
        if cP >= 0:                 # compiled.plain_code: one activation, slope 1, offset 0, lookahead
            x = _k_phi(cP, ub[i], 1.0, 0.0)
            r[n0 + i] = x
            dP[i] = 1.0 - x * x if cP == 4 else _k_dphi(cP, ub[i])
            continue
        x = _k_phi(actP[i], ub[i] if lookP[i] else u[i], sP[i], oP[i])
        r[n0 + i] = x
        dP[i] = 1.0 - x * x if tanh1[i] else _k_dphi(dcP[i], ub[i])
    for i in range(rE.shape[0]):
        if cE >= 0:
            rE[i] = _k_phi(cE, ub[NP + i], 1.0, 0.0)
        else:
            rE[i] = _k_phi(actE[i], ub[NP + i] if lookE[i] else u[NP + i], sE[i], oE[i])


def _kernel_output_drive(o0, nudged, y, t, WIPo, ro, co, dP, r, n0, gt, e, DE):
    """The output errors' drive g_t W_IP (phi' (y - r)) (W_IP's output block: WIPo[ro.., co..]); 0 unnudged."""
    if nudged:
        for j in range(e.shape[0]):
            e[j] = dP[o0 + j] * (y[t, j] - r[n0 + o0 + j])
    for i in range(DE.shape[0]):
        DE[i] = _kb_dot(WIPo[ro + i, co:co + e.shape[0]], e) * gt if nudged else 0.0


def _kernel_somatic_drive(g, io0, vbas, vapi, vden, DE, u, tau, u_new):
    """somatic_drive D = [g_b v_bas + g_a v_api | g_d v_den] (the output errors' DE), its Euler
    increment dt ((tau D - u) / tau), and the advance u_new = u + that (u_new: the u_old buffer)."""
    gb, ga, gd, dt = g
    NP, NI = vbas.shape[0], vden.shape[0]
    for i in range(NP):
        u_new[i] = u[i] + _k_euler(vbas[i] * gb + ga * vapi[i], u[i], tau[i], tau[i], dt)
    for i in range(NI):
        D = DE[i - io0] if io0 <= i < io0 + DE.shape[0] else vden[i] * gd
        u_new[NP + i] = u[NP + i] + _k_euler(D, u[NP + i], tau[NP + i], tau[NP + i], dt)


def _kernel_phase(K, steps, switches, X, Y, ints, floats, flags, arrays, rates, ident, offs, refresh, buffers,
                  weights, mse_out, cap_out, found, det, cl, work, rec, rec_w):
    """Every seed through steps t0 .. t0+n-1 of `step` (seeds the outer loop); work: post, e, DE; rec, rec_w:
    the monitor records (loops._k_record; rec_w: the weights as one tuple).
    K: () or the key of a kernel specialised for these sizes (specialize.kernel_key; False if it
    does not hold them)."""
    if not same_dims(K, _kernel_dims(steps, switches, ints, flags, rates, offs, refresh, buffers, weights, work, X, Y,
                                     cl)):
        return False
    t0, n, step_base, check_every, mse_mode, cap_mode, dw_every = steps
    nudged, plastic, fw, lat, want_mse = switches
    n0, o0, o1, io0, io1, b_out, r_out, c_out, n_varphi, plainP, plainE = ints
    dt, gb, ga, gd, gt, c_fw, c_lo = floats
    varphi, use_act, has_IP, has_PI, dense_W, dense_IP, dense_PI, keep, low_pass = flags
    tau, tau_look, actP, slopeP, offP, tanh1_, dcodeP, lookP_, actE, slopeE, offE, lookE_ = arrays
    lrW, lrW_b, lrIP, lrIP_b, lrPI, lrPI_b = rates
    I_WIP, I_BPI = ident
    oW, oIP, oPI, oB = offs
    (u_, u_old_, ub_, r_, rp_, vb_, vbp_, rI_, rIp_, vd_, vdp_, va_, vap_, dP_) = buffers
    WPP, dWPP, WIP, dWIP, BPI, dBPI, B, LWPP = weights
    post, e, DE = work
    for s in range(u_.shape[0]):
        u, u_old, ub, dP = u_[s], u_old_[s], ub_[s], dP_[s]
        r, r_prev, vbas, vbas_prev = r_[s], rp_[s], vb_[s], vbp_[s]
        rE, rE_prev, vden, vden_prev, vapi, vapi_prev = rI_[s], rIp_[s], vd_[s], vdp_[s], va_[s], vap_[s]
        sP, oP, sE, oE, x, y = slopeP[s], offP[s], slopeE[s], offE[s], X[s], Y[s]
        act = (actP, sP, oP, tanh1_[s], dcodeP, lookP_[s], actE, sE, oE, lookE_[s], plainP, plainE)
        WIPo = WIP[b_out][s]
        nxt = rec[0]                                                   # the step of the next record
        for t in range(t0, t0 + n):
            _k_capture(cap_mode, cap_out, s, t, r, ub, n0, o0, o1)
            _k_cl_begin(cl, s, t, x)
            r, r_prev, vbas, vbas_prev = r_prev, r, vbas_prev, vbas       # step 1: buffer swaps
            rE, rE_prev, vden, vden_prev, vapi, vapi_prev = rE_prev, rE, vden_prev, vden, vapi_prev, vapi
            _kernel_rates(n0, dt, tau_look, act, u, u_old, ub, r, dP, rE)
            for j in range(n0):
                r[j] = x[t, j]
            # dendrites, plasticity, somatic drive (section 4.4 steps 4-8), each matrix read once
            _kb_matvec(BPI, oPI, len(BPI), s, rE, vapi, False)        # v_api = B_PI r_E
            _kernel_output_drive(o0, nudged, y, t, WIPo, r_out, c_out, dP, r, n0, gt, e, DE)
            _kb_vecmat(rE, B, oB, s, vden)                             # v_den = B_II r_E, old B_II
            if plastic:                     # plasticity: the forward rule's post term, B_II^T = N^T
                _k_forward_post(use_act, plainP, c_fw, actP, sP, oP, ub, r, n0, vbas_prev, post)
                _kb_refresh_rest(refresh, B, s)
            keep_t = keep and (low_pass or _k_dw_kept(t, t0 + n - 1, nxt, dw_every))    # dW_PP read after t
            _kb_forward_pass(plastic, fw and not low_pass, keep_t, WPP, dWPP, oW, s, r, r_prev, post, dense_W, lrW,
                             lrW_b, vbas, refresh, B, n0)            # v_bas, B_II refresh, dW_PP (applied)
            _kb_low_pass(fw and low_pass, WPP, dWPP, LWPP, s, c_lo)    # or W_PP += L, L low-passing dW_PP
            if varphi:                                                 # v_den * (W_IP phi')
                _kb_matvec(WIP, oIP, n_varphi, s, dP, vden, True)
            _kernel_somatic_drive((gb, ga, gd, dt), io0, vbas, vapi, vden, DE, u, tau, u_old)
            u, u_old = u_old, u                                            # advance (done above)
            _kb_lateral(plastic and has_IP, lat and has_IP, WIP, I_WIP, s, dense_IP, lrIP, lrIP_b, dWIP)
            _kb_lateral(plastic and has_PI, lat and has_PI, BPI, I_BPI, s, dense_PI, lrPI, lrPI_b, dBPI)
            # record.mse after the step; the monitor's record (the buffers in RECORD_BUFFERS order)
            nxt = _k_after_step((want_mse, mse_mode, mse_out), rec, nxt, s, t, r, ub, y, n0, o0, actP, sP, oP,
                                (u, u_old, ub, r, r_prev, vbas, vbas_prev, rE, rE_prev, vden, vden_prev, vapi,
                                 vapi_prev, dP), rec_w)
            _kb_watch(check_every, step_base + t - t0 + 1, s, u, WPP, found, det)
            _kb_capture_dw(dw_every, cap_out, s, t, dWPP)
            _k_cl_end(cl, s, t, r)
    return True
