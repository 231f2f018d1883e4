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
from .block_loops import _kb_capture_dw, _kb_watch
from .loops import (_k_after_step, _k_bp_refresh_T_rows, _k_capture, _k_cl_begin, _k_cl_end, _k_dphi,
                    _k_phi, _k_dw_kept, _k_plasticity_span, _k_scaled_matvec_span, _k_scaled_vecmat_T,
                    _k_sum, _k_to_T, same_dims)
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


def rates(C, st, x):
    """r = phi(u_P), d = phi'(u_P) (no lookahead), the input rates x."""
    n0, NP = C.lay.n0, C.lay.NP
    uP = st.u[:, :NP]
    rP = st.r_full[:, n0:]
    C.phiP(uP, out=rP)
    d = C.phiP.d(uP, rP)
    st.r_full[:, :n0] = x
    return rP, d


def somatic_drive(C, st, y, rP, d):
    """D = [c W_PP r | (d B_PP) u_E], output errors d (y - r) (0 without a target)."""
    lay = C.lay
    NP = lay.NP
    uE = st.u[:, NP:]
    D = np.empty_like(st.u)
    DE = D[:, NP:]
    for B, (r, c) in zip(st.B, C.B.stored):
        mv(d[:, r, None] * B, uE[:, c], out=DE[:, r])
    DE[:, lay.out] = 0.0 if y is None else d[:, lay.out] * (y - rP[:, lay.out])
    for W, (r, c) in zip(st.WPP, C.WPP.stored):
        mv(C.c_ann * W, st.r_full[:, c], out=D[:, r])
    return D


def plasticity(C, st, uE):
    """dW_PP = (dt eta) u_E r_prev^T (not applied yet), the BP refresh from the pre-update W_PP."""
    common.forward_plasticity(C, st, uE)
    if C.refresh is not None:
        common.bp_refresh(C, st)


def step(C, st, x, y, phase):
    """One dt for every network (§4.3), in place."""
    st.r_full, st.r_full_prev = st.r_full_prev, st.r_full
    uE = st.u[:, C.lay.NP:]
    rP, d = rates(C, st, x)
    du = somatic_drive(C, st, y, rP, d) - st.u
    if phase.plastic:
        plasticity(C, st, uE)
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


# ------------------------------------------------------------------------ compiled kernel (numba)
# The same sub-steps as `step` above, one seed at a time in plain scalar loops (seeds are the
# outer loop), compiled by numpy_model.models.compiled.jit_module when the numba backend runs.
# The stored arrays are the dense (single-block) ones, whose row loops run over the columns of
# each row's populated block only (kernels.Blocks.row_spans); every expression keeps the grouping
# of the NumPy sub-step named in its comment.
SIZE_SPECIALISED = True     # the training kernel takes a size key (models/specialize.py)
#: what the kernel hands a monitor record (loops._k_record; kernel_record): its buffers, its arrays
RECORD_BUFFERS = ("u", "u_old", "r_full", "r_full_prev")
RECORD_WEIGHTS = ("WPP", "dWPP", "B")


def compiled_unsupported(C):
    """Why these ann constants cannot run compiled, or None."""
    from .compiled import act_codes
    if not (C.WPP.dense and C.B.dense):
        return "weights stored per block (large nets or NUMPY_MODEL_WEIGHT_STORAGE=blocks)"
    if C.fused_update or C.dWPP_low_pass:
        return "fused forward update"
    if C.refresh is not None and not isinstance(C.refresh, tuple):
        return "BP refresh per block"
    if act_codes(C.phiP, C.S) is None:
        return "activation without a compiled version"
    return None


def _compiled_static(C):
    """Constant kernel arguments of C (built once per constants)."""
    from .compiled import act_codes, plain_code, transposed_refresh_rows
    lay, S = C.lay, C.S
    actP, slopeP, offP = act_codes(C.phiP, S)
    mode, NT, maskT = transposed_refresh_rows(C)
    return dict(ints=(lay.n0, lay.NP, lay.NPh, lay.out.start, lay.out.stop, mode, plain_code(actP, slopeP, offP)),
                arrays=(actP, slopeP, offP, C.lr_WPP[0], NT, maskT),
                spans=(C.WPP.row_spans(), np.full(lay.NP, float(C.c_ann))))


def compiled_phase(C, st, t0, n, X, Y, has_y, nudge, phase, want_mse, mse_mode, mse_out, cap_mode,
                   cap_out, step_base, check_every, found, det, dw_every=0, cl=None, rec=None):
    """Steps t0 .. t0+n-1 of a phase for every seed in one compiled call (numpy_model.models.
    compiled.run_phase drives it; dw_every > 0: dW_PP at every sample's end into cap_out); the
    buffer swaps of `step` are done by parity afterwards."""
    from .compiled import NO_CLOSED_LOOP, NO_RECORD, scratch, static
    from .specialize import check_ran, kernel_key
    k = static(C, _compiled_static)
    NP = C.lay.NP
    switches = (has_y and nudge, phase.plastic, phase.fw, want_mse, mse_mode, cap_mode, check_every, dw_every)
    buffers, weights = (st.u, st.u_old, st.r_full, st.r_full_prev), (st.WPP[0], st.dWPP[0], st.B[0])
    work, cl = scratch(2 * NP, 2 * NP, NP) + (np.empty(st.WPP[0].shape[1:]),), cl or NO_CLOSED_LOOP
    K = kernel_key(C, phase, _kernel_dims, switches, k["ints"], k["arrays"], k["spans"], buffers, weights, work, X, Y,
                   cl)
    check_ran(_kernel_phase(K, t0, n, step_base, switches, X, Y, k["ints"], k["arrays"], k["spans"], buffers,
                            weights, mse_out, cap_out, found, det, cl, work,
                            rec or NO_RECORD, weights))
    if n % 2:                 # the rate swap and the advance's swap, once per step
        st.r_full, st.r_full_prev = st.r_full_prev, st.r_full
        st.u_old, st.u = st.u, st.u_old


def _kernel_rates(n0, plain, actP, sP, oP, u, r, d, x, t):
    """rates: r = phi(u_P), d = phi'(u_P) (1 - tanh**2 from the same bits), the input rates;
    plain >= 0: every unit's code, slope 1, offset 0 (compiled.plain_code: a switch, not a lookup)."""
    for i in range(d.shape[0]):
        code, slope, off = (plain, 1.0, 0.0) if plain >= 0 else (actP[i], sP[i], oP[i])
        r[n0 + i] = _k_phi(code, u[i], slope, off)
        if code == 4 and slope == 1.0 and off == 0.0:
            d[i] = 1.0 - r[n0 + i] * r[n0 + i]
        else:
            d[i] = _k_dphi(code, u[i])
    for j in range(n0):
        r[j] = x[t, j]


def _kernel_somatic_drive(c_vec, NPh, o0, o1, nudged, y, t, W, spanW, BT, d, r, n0, u, D, du):
    """somatic_drive D = [c W_PP r | (d B_PP) u_E], output errors d (y - r) (0 without a target),
    and du = D - u; each sum over its index in order (c_vec: c per row; BT: B_PP transposed)."""
    NP = d.shape[0]
    _k_scaled_vecmat_T(BT, d, u[NP:], n0, D[NP:NP + NPh], spanW)
    for i in range(o0, o1):
        if nudged:
            D[NP + i] = d[i] * (y[t, i - o0] - r[n0 + i])
        else:
            D[NP + i] = 0.0
    _k_scaled_matvec_span(W, c_vec, r, D[:NP], spanW)
    for i in range(du.shape[0]):
        du[i] = D[i] - u[i]


def _kernel_plasticity(mode, n0, u, r_prev, W, dW, lrW, spanW, B, BT, NT, maskT, fw, keep):
    """plasticity: BP refresh B_PP = W_PP^T * mask + N from the pre-update W_PP (into the
    transposed copy BT the kernel reads; into B only when kept), then dW_PP = (u_E r_prev^T) lr
    and, when fw, W_PP += dW_PP in the same pass (apply_forward: u_E is the pre-advance error
    either way); dW_PP written only when kept (loops._k_dw_kept: a step whose arrays are read)."""
    NP = W.shape[0]
    if mode == 1:
        _k_bp_refresh_T_rows(BT, W, n0, NT, maskT, spanW, B, keep)
    _k_plasticity_span(u[NP:], r_prev, lrW, dW, W, spanW, fw, keep)


def _kernel_dims(switches, ints, arrays, spans, buffers, weights, work, X, Y, cl):
    """Every int the time loop's bounds and branches read, but the step counters (specialize.kernel_key)."""
    b, w, a = buffers, weights, arrays
    return (switches + ints + (cl[0], X.shape[2], Y.shape[2], b[0].shape[1], b[1].shape[1], b[2].shape[1],
                               b[3].shape[1], work[0].shape[0], work[1].shape[0], work[2].shape[0])
            + work[3].shape
            + w[0].shape[1:] + w[1].shape[1:] + w[2].shape[1:] + a[3].shape[1:] + a[4].shape[1:] + a[5].shape[1:]
            + spans[0].shape)


def _kernel_phase(K, t0, n, step_base, switches, X, Y, ints, arrays, spans, buffers, weights, mse_out, cap_out,
                  found, det, cl, work, rec, rec_w):
    """Every seed through steps t0 .. t0+n-1 of `step` (the seeds are the outer loop); `work`: the
    scratch vectors D, du, d and B_PP transposed, BT (copied from B at each seed's start, and
    back where B is read: loops._k_dw_kept). K: () or the key of a kernel specialised for these sizes
    (specialize.kernel_key; False if it does not hold them)."""
    if not same_dims(K, _kernel_dims(switches, ints, arrays, spans, buffers, weights, work, X, Y, cl)):
        return False
    nudged, plastic, fw, want_mse, mse_mode, cap_mode, check_every, dw_every = switches
    n0, NP, NPh, o0, o1, mode, plain = ints
    actP, slopeP, offP, lr_WPP, NT, maskT = arrays
    spanW, c_vec = spans
    u_, u_old_, r_, rp_ = buffers
    WPP_, dWPP_, B_ = weights
    D, du, d, BT = work
    for s in range(u_.shape[0]):
        u, u_old, r, r_prev = u_[s], u_old_[s], r_[s], rp_[s]
        W, dW, lrW, B = WPP_[s], dWPP_[s], lr_WPP[s], B_[s]
        sP, oP, x, y = slopeP[s], offP[s], X[s], Y[s]
        _k_to_T(B, BT, n0, spanW)
        nxt = rec[0]                                    # the step of the next record
        for t in range(t0, t0 + n):
            _k_capture(cap_mode, cap_out, s, t, r, u, n0, o0, o1)
            _k_cl_begin(cl, s, t, x)
            r, r_prev = r_prev, r                   # the rate buffers swap
            _kernel_rates(n0, plain, actP, sP, oP, u, r, d, x, t)
            _kernel_somatic_drive(c_vec, NPh, o0, o1, nudged, y, t, W, spanW, BT, d, r, n0, u, D, du)
            if plastic:                             # (with fw: apply_forward too)
                _kernel_plasticity(mode, n0, u, r_prev, W, dW, lrW, spanW, B, BT, NT[s], maskT[s], fw,
                                   _k_dw_kept(t, t0 + n - 1, nxt, dw_every))
            u, u_old = u_old, u                     # advance: u_old <- u, u <- u + Delta u
            _k_sum(u_old, du, u)
            # record.mse after the step; the monitor's record (the buffers in RECORD_BUFFERS order)
            nxt = _k_after_step((want_mse, mse_mode, mse_out), rec, nxt, s, t, r, u, y, n0, o0, actP, sP, oP,
                                (u, u_old, r, r_prev), rec_w)
            _kb_watch(check_every, step_base + t - t0 + 1, s, u, (WPP_,), found, det)
            _kb_capture_dw(dw_every, cap_out, s, t, (dWPP_,))
            _k_cl_end(cl, s, t, r)
    return True
