"""dPC: dendritic predictive coding (Mikulasch et al., 2023; docs/model.md §4.2).

The pyramidal dynamics, time constants and forward rule of sacramento2018 (its equations are
reused from `numpy_model.models.sacramento2018`), with the interneuron replaced by the
pyramidal rates of the previous step and no interneuron soma:

    r_I := r_breve_P of the previous step (hidden layers);  u_I is never updated
    v_api = B_PP r_P,layer-above + B_PI r_I,   B_PP = W_PP initially, B_PI = B_PI,init W_IP,init
    lateral rule   dB_PI = (dt eta_PI) (-v_api,prev) r_I,prev^T      (no W_IP plasticity)
    BP             B_PP = W_PP^T + N, refreshed from the pre-update W_PP
A linear activation is used for the students whatever `activation` says (§4.2).
"""
import numpy as np

from . import common, sacramento2018 as sac
from .block_loops import _kb_capture_dw, _kb_watch
from .loops import (_k_after_step, _k_apical, _k_bp_refresh_T_rows, _k_capture, _k_cl_begin, _k_cl_end, _k_euler,
                    _k_forward_post_units, _k_lookahead_rates, _k_pyramidal_drive, _k_dw_kept,
                    _k_plasticity_span, _k_scaled_matvec_span, _k_sum, _k_to_T, same_dims)
from .kernels import add_into, euler_increment, lookahead, matvec, rank1

RATE_TARGET_DEFAULT = False
interneuron_sizes = sac.interneuron_sizes
lateral_length = sac.lateral_length


def constants(nets, P, lay, taur=None, rate_target=None):
    return sac.constants(nets, P, lay, taur, rate_target, kind="dPC")


def initial_state(nets, C):
    st = sac.initial_state(nets, C)
    st.rIb = st.r_full[:, C.lay.n0:C.lay.n0 + C.lay.NPh].copy()
    st.rIb_prev = st.rIb.copy()
    st.r_full_prev2 = st.r_full.copy()
    st.ub_prev = st.ub.copy()
    return st


def step(C, st, x, y, phase):
    """One dt for every network (§4.2), in place."""
    n0, NP, NPh = C.lay.n0, C.lay.NP, C.lay.NPh
    st.r_full, st.r_full_prev, st.r_full_prev2 = st.r_full_prev2, st.r_full, st.r_full_prev
    st.vbas, st.vbas_prev = st.vbas_prev, st.vbas
    st.vapi, st.vapi_prev = st.vapi_prev, st.vapi
    st.ub, st.ub_prev = st.ub_prev, st.ub
    rI = st.r_full_prev[:, n0:n0 + NPh]            # r_breve_I := r_breve_P of the previous step
    rI_prev = st.r_full_prev2[:, n0:n0 + NPh]
    ub = lookahead(st.u, st.u_old, C.tau_look, C.dt, out=st.ub)
    rP = st.r_full[:, n0:]
    C.phiP(ub[:, :NP], out=rP)
    st.r_full[:, :n0] = x
    matvec(st.WPP, C.WPP, st.r_full, st.vbas)
    sac.apical(C, st, rP, rI)
    D = np.zeros_like(st.u)
    tau_drive = sac.pyramidal_drive(C, st, y, D)
    du = euler_increment(D, st.u, tau_drive, C.tau, C.dt)
    du[:, NP:] = 0.0                                # dPC interneuron somata are never updated
    post = None
    if phase.plastic:
        post = common.forward_post(C, st)
        common.forward_plasticity(C, st, post)
        if C.lr_PI is not None:
            rank1(st.dBPI, C.BPI, -st.vapi_prev, rI_prev, C.lr_PI)
        if C.refresh is not None:
            common.bp_refresh(C, st)
    common.advance(st, du)
    if phase.fw:
        common.apply_forward(C, st, post)
    if phase.lat and C.lr_PI is not None:
        add_into(st.BPI, st.dBPI)


def layers_of(C, st, name):
    """dPC's recordable variables: its "interneuron" values are the previous pyramidal ones."""
    lay = C.lay
    if name == "uI_breve":
        return lay.split(st.ub_prev[:, :lay.NP])
    if name == "rI_breve":
        return lay.split(st.r_full_prev[:, lay.n0:])
    if name == "lat_mismatch":
        return sac.lat_mismatch(C, st, st.ub_prev[:, lay.p_sizes[0]:lay.NP])
    return sac.shared_layers(C, st, name)


# ------------------------------------------------------------------------ compiled kernel (numba)
# The same sub-steps as `step` above, one seed at a time in plain scalar loops (seeds are the
# outer loop), compiled by numpy_model.models.compiled.jit_module when the numba backend runs.
# The stored arrays are the dense (single-block) ones, whose row loops run over the columns of
# each row's populated blocks only (kernels.Blocks.row_spans); every expression keeps the
# grouping of the NumPy sub-step named in its comment.
def compiled_unsupported(C):
    """Why these dPC constants cannot run compiled, or None (as sacramento2018)."""
    return sac.compiled_unsupported(C)


SIZE_SPECIALISED = True     # the training kernel takes a size key (models/specialize.py)
#: what the kernel hands a monitor record (loops._k_record; kernel_record): its buffers, its arrays
RECORD_BUFFERS = ("u", "u_old", "ub", "ub_prev", "r_full", "r_full_prev", "r_full_prev2", "vbas", "vbas_prev",
                  "vapi", "vapi_prev")
RECORD_WEIGHTS = ("WPP", "dWPP", "BPI", "dBPI", "B")


def _compiled_static(C):
    """Constant kernel arguments of C (built once per constants)."""
    from .compiled import act_codes, plain_code, transposed_refresh_rows
    lay, S, g = C.lay, C.S, C.g
    actP, slopeP, offP = act_codes(C.phiP, S)
    mode, NT, maskT = transposed_refresh_rows(C)
    has_PI = C.lr_PI is not None
    return dict(
        ints=(lay.n0, lay.NP, lay.NPh, lay.NI, lay.out.start, lay.out.stop, mode, plain_code(actP, slopeP, offP)),
        floats=(float(C.dt), float(g["gb"])),
        flags=(bool(C.dWPP_use_activation), has_PI),
        arrays=(np.ascontiguousarray(C.tau, dtype=float), np.ascontiguousarray(C.tau_look, dtype=float),
                np.ascontiguousarray(C.tau_drive_nt, dtype=float), np.ascontiguousarray(C.gx, dtype=float),
                np.ascontiguousarray(C.c_fw, dtype=float), actP, slopeP, offP,
                C.lr_WPP[0], C.lr_PI[0] if has_PI else np.zeros((S, 1, 1)), NT, maskT),
        spans=(C.WPP.row_spans(), C.BPI.row_spans(), np.ones(lay.NP)))


def compiled_phase(C, st, t0, n, X, Y, has_y, nudge, phase, want_mse, mse_mode, mse_out, cap_mode,
                   cap_out, step_base, check_every, found, det, dw_every=0, cl=None, rec=None):
    """Steps t0 .. t0+n-1 of a phase for every seed in one compiled call (numpy_model.models.
    compiled.run_phase drives it; dw_every > 0: dW_PP at every sample's end into cap_out); the
    buffer rotations of `step` are done afterwards."""
    from .compiled import NO_CLOSED_LOOP, NO_RECORD, scratch, static
    from .specialize import check_ran, kernel_key
    k = static(C, _compiled_static)
    NP, NI, NPh = C.lay.NP, C.lay.NI, C.lay.NPh
    switches = (has_y and nudge, phase.plastic, phase.fw, phase.lat, want_mse, mse_mode, cap_mode, check_every,
                dw_every)
    buffers = (st.u, st.u_old, st.ub, st.ub_prev, st.r_full, st.r_full_prev, st.r_full_prev2, st.vbas, st.vbas_prev,
               st.vapi, st.vapi_prev)
    weights = (st.WPP[0], st.dWPP[0], st.BPI[0], st.dBPI[0], st.B[0])
    work = scratch(NP, NP + NI, NP, NP, NPh, NPh) + (np.empty(st.WPP[0].shape[1:]),)
    cl = cl or NO_CLOSED_LOOP
    K = kernel_key(C, phase, _kernel_dims, switches, k["ints"], k["flags"], k["arrays"], k["spans"], buffers, weights,
                   work, X, Y, cl)
    check_ran(_kernel_phase(K, t0, n, step_base, switches, X, Y, k["ints"], k["floats"], k["flags"], k["arrays"],
                            k["spans"], buffers, weights, mse_out, cap_out, found, det, cl, work,
                            rec or NO_RECORD, weights))
    for _ in range(n % 3):    # the three rate buffers rotate once per step
        st.r_full, st.r_full_prev, st.r_full_prev2 = st.r_full_prev2, st.r_full, st.r_full_prev
    if n % 2:                 # the swaps of step 1 and the advance, once per step
        st.vbas, st.vbas_prev = st.vbas_prev, st.vbas
        st.vapi, st.vapi_prev = st.vapi_prev, st.vapi
        st.ub, st.ub_prev = st.ub_prev, st.ub
        st.u_old, st.u = st.u, st.u_old


def _kernel_rates(n0, dt, tau_look, plain, actP, sP, oP, u, u_old, ub, r, x, t):
    """u_breve = lookahead(u, u_old), r_P = phi(u_breve_P), the input rates."""
    _k_lookahead_rates(n0, dt, tau_look, plain, actP, sP, oP, u, u_old, ub, r, x, t)


def _kernel_dendrites(n0, W, BT, BPI, spans, r, r_prev, vbas, vapi, tmp):
    """v_bas = W_PP r, apical v_api = B_PP r_P + (B_PI r_I), r_I = r_breve_P of the previous step,
    over each matrix's row spans (`ones`: (1 W_ij) r_j = W_ij r_j exactly; BT: B_PP transposed)."""
    spW, spPI, ones = spans
    _k_scaled_matvec_span(W, ones, r, vbas, spW)
    _k_apical(BT, n0, spW, BPI, spPI, ones, r[n0:], r_prev[n0:], vapi, tmp)


def _kernel_somatic_drive(g, NPh, o0, o1, target, y, t, gx, vbas, vapi, u, tau, tau_nt, api, D, du):
    """pyramidal_drive g_b v_bas + g_x [v_api | y] and its Euler increment; the interneuron somata
    are never updated (du = 0)."""
    dt, gb = g
    NP = D.shape[0]
    _k_pyramidal_drive(gb, NPh, o0, o1, target, y, t, gx, vbas, vapi, api, D)
    for i in range(NP):
        du[i] = _k_euler(D[i], u[i], tau[i] if target else tau_nt[i], tau[i], dt)
    for i in range(NP, du.shape[0]):
        du[i] = 0.0


def _kernel_plasticity(flags, n0, c_fw, acts, ub, r, r_prev, r_prev2, vbas_prev, vapi_prev, W, dW, lrW,
                       BPI, dBPI, lrP, post, neg, B, BT, NT, maskT, spans):
    """The BP refresh B_PP = W_PP^T * mask + N from the pre-update W_PP (into the transposed copy
    BT the kernel reads; into B only when kept), then dW_PP and dB_PI = (-v_api,prev r_I,prev^T) lr,
    each applied in the same pass where the phase applies it (apply: W_PP in a forward phase,
    B_PI in a lateral one; nothing reads them in between)."""
    use_act, has_PI, mode, fw, lat, keep = flags
    actP, sP, oP, plain = acts
    spW, spPI, _ = spans
    if mode == 1:
        _k_bp_refresh_T_rows(BT, W, n0, NT, maskT, spW, B, keep)
    _k_forward_post_units(use_act, plain, c_fw, actP, sP, oP, ub, r, n0, vbas_prev, post)
    _k_plasticity_span(post, r_prev, lrW, dW, W, spW, fw, keep)
    if has_PI:
        for i in range(neg.shape[0]):
            neg[i] = -vapi_prev[i]
        _k_plasticity_span(neg, r_prev2[n0:], lrP, dBPI, BPI, spPI, lat, keep)


def _kernel_dims(switches, ints, flags, arrays, spans, buffers, weights, work, X, Y, cl):
    """Every int the time loop's bounds and branches read, but the step counters (specialize.kernel_key)."""
    b, w, a = buffers, weights, arrays
    return (switches + ints + flags + (cl[0], X.shape[2], Y.shape[2])
            + (b[0].shape[1], b[1].shape[1], b[2].shape[1], b[3].shape[1], b[4].shape[1], b[5].shape[1],
               b[6].shape[1], b[7].shape[1], b[8].shape[1], b[9].shape[1], b[10].shape[1])
            + w[0].shape[1:] + w[1].shape[1:] + w[2].shape[1:] + w[3].shape[1:] + w[4].shape[1:]
            + a[8].shape[1:] + a[9].shape[1:] + a[10].shape[1:] + a[11].shape[1:]
            + (work[0].shape[0], work[1].shape[0], work[2].shape[0], work[3].shape[0], work[4].shape[0],
               work[5].shape[0]) + work[6].shape + spans[0].shape + spans[1].shape + spans[2].shape)


def _kernel_phase(K, t0, n, step_base, switches, X, Y, ints, floats, flags, arrays, spans, buffers, weights, mse_out,
                  cap_out, found, det, cl, work, rec, rec_w):
    """Every seed through steps t0 .. t0+n-1 of `step` (the seeds are the outer loop); `work`: the
    scratch vectors D, du, post, api, tmp, neg and B_PP transposed, BT (copied from B at each
    seed's start, and back where B is read: loops._k_dw_kept). K: () or the key of a kernel
    specialised for these sizes (specialize.kernel_key; False if it does not hold them)."""
    if not same_dims(K, _kernel_dims(switches, ints, flags, arrays, spans, buffers, weights, work, X, Y, cl)):
        return False
    target, plastic, fw, lat, want_mse, mse_mode, cap_mode, check_every, dw_every = switches
    n0, NP, NPh, NI, o0, o1, mode, plain = ints
    dt, gb = floats
    use_act, has_PI = flags
    tau, tau_look, tau_nt, gx, c_fw, actP, slopeP, offP, lr_WPP, lr_PI, NT, maskT = arrays
    u_, u_old_, ub_, ubp_, r_, rp_, rp2_, vb_, vbp_, va_, vap_ = buffers
    WPP_, dWPP_, BPI_, dBPI_, B_ = weights
    D, du, post, api, tmp, neg, BT = work
    for s in range(u_.shape[0]):
        u, u_old, ub, ub_prev = u_[s], u_old_[s], ub_[s], ubp_[s]
        r, r_prev, r_prev2, vbas, vbas_prev = r_[s], rp_[s], rp2_[s], vb_[s], vbp_[s]
        vapi, vapi_prev = va_[s], vap_[s]
        W, dW, BPI, dBPI, B = WPP_[s], dWPP_[s], BPI_[s], dBPI_[s], B_[s]
        sP, oP, x, y = slopeP[s], offP[s], X[s], Y[s]
        _k_to_T(B, BT, n0, spans[0])
        nxt = rec[0]                                    # the step of the next record
        for t in range(t0, t0 + n):
            _k_capture(cap_mode, cap_out, s, t, r, ub, n0, o0, o1)
            _k_cl_begin(cl, s, t, x)
            r, r_prev, r_prev2 = r_prev2, r, r_prev         # rotation; r_I := r_prev[n0:n0+NPh]
            vbas, vbas_prev, vapi, vapi_prev = vbas_prev, vbas, vapi_prev, vapi
            ub, ub_prev = ub_prev, ub
            _kernel_rates(n0, dt, tau_look, plain, actP, sP, oP, u, u_old, ub, r, x, t)
            _kernel_dendrites(n0, W, BT, BPI, spans, r, r_prev, vbas, vapi, tmp)
            _kernel_somatic_drive((dt, gb), NPh, o0, o1, target, y, t, gx, vbas, vapi, u, tau, tau_nt, api,
                                  D, du)
            if plastic:                                     # (and apply, as the phase says)
                _kernel_plasticity((use_act, has_PI, mode, fw, lat, _k_dw_kept(t, t0 + n - 1, nxt, dw_every)),
                                   n0, c_fw, (actP, sP, oP, plain), ub, r, r_prev, r_prev2, vbas_prev, vapi_prev,
                                   W, dW, lr_WPP[s], BPI, dBPI, lr_PI[s], post, neg, B, BT, NT[s], maskT[s], spans)
            u, u_old = u_old, u                             # advance: u_old <- u, u <- u + Delta u
            _k_sum(u_old, du, u)
            # record.mse after the step; the monitor's record (the buffers in RECORD_BUFFERS order)
            nxt = _k_after_step((want_mse, mse_mode, mse_out), rec, nxt, s, t, r, ub, y, n0, o0, actP, sP, oP,
                                (u, u_old, ub, ub_prev, r, r_prev, r_prev2, vbas, vbas_prev, vapi, vapi_prev), rec_w)
            _kb_watch(check_every, step_base + t - t0 + 1, s, u, (WPP_,), found, det)
            _kb_capture_dw(dw_every, cap_out, s, t, (dWPP_,))
            _k_cl_end(cl, s, t, r)
    return True
