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
from .compiled import _k_check, _k_euler, _k_lookahead, _k_phi
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
# The stored arrays are the dense (single-block) ones; every expression keeps the grouping of
# the NumPy sub-step named in its comment.
def compiled_unsupported(C):
    """Why these dPC constants cannot run compiled, or None (as sacramento2018)."""
    return sac.compiled_unsupported(C)


def _compiled_static(C):
    """Constant kernel arguments of C (built once per constants)."""
    from .compiled import act_codes
    lay, S, g = C.lay, C.S, C.g
    actP, slopeP, offP = act_codes(C.phiP, S)
    empty3 = np.zeros((S, 1, 1))
    mode, N_B, mask = 0, empty3, empty3
    if C.refresh is not None:                       # ("mask", view, mask): B = W_view^T * mask + N
        mode = 1
        (r, c), mask = C.refresh[1], np.ascontiguousarray(C.refresh[2])
        assert r.start == 0 and c.start == lay.n0 and mask.shape[1:] == (lay.NPh, lay.NP)
        N_B = np.ascontiguousarray(C.N_B[0])
    has_PI = C.lr_PI is not None
    return dict(
        ints=(lay.n0, lay.NP, lay.NPh, lay.NI, lay.out.start, lay.out.stop, mode),
        floats=(float(C.dt), float(g["gb"])),
        flags=(bool(C.dWPP_use_activation), has_PI),
        arrays=(np.ascontiguousarray(C.tau, dtype=float), np.ascontiguousarray(C.tau_look, dtype=float),
                np.ascontiguousarray(C.tau_drive_nt, dtype=float), np.ascontiguousarray(C.gx, dtype=float),
                np.ascontiguousarray(C.c_fw, dtype=float), actP, slopeP, offP,
                C.lr_WPP[0], C.lr_PI[0] if has_PI else empty3, N_B, mask))


def compiled_phase(C, st, t0, n, X, Y, has_y, nudge, phase, want_mse, mse_mode, mse_out, cap_mode,
                   cap_out, step_base, check_every, found, det):
    """Steps t0 .. t0+n-1 of a phase for every seed in one compiled call (numpy_model.models.
    compiled.run_phase drives it); the buffer rotations of `step` are done afterwards."""
    from .compiled import static
    k = static(C, _compiled_static)
    _kernel_phase(t0, n, X, Y, has_y, nudge, phase.plastic, phase.fw, phase.lat, want_mse, mse_mode,
                  cap_mode, step_base, check_every, k["ints"], k["floats"], k["flags"], k["arrays"],
                  (st.u, st.u_old, st.ub, st.ub_prev, st.r_full, st.r_full_prev, st.r_full_prev2,
                   st.vbas, st.vbas_prev, st.vapi, st.vapi_prev),
                  (st.WPP[0], st.dWPP[0], st.BPI[0], st.dBPI[0], st.B[0]), mse_out, cap_out, found, det)
    for _ in range(n % 3):    # the three rate buffers rotate once per step
        st.r_full, st.r_full_prev, st.r_full_prev2 = st.r_full_prev2, st.r_full, st.r_full_prev
    if n % 2:                 # the swaps of step 1 and the advance, once per step
        st.vbas, st.vbas_prev = st.vbas_prev, st.vbas
        st.vapi, st.vapi_prev = st.vapi_prev, st.vapi
        st.ub, st.ub_prev = st.ub_prev, st.ub
        st.u_old, st.u = st.u, st.u_old


def _kernel_phase(t0, n, X, Y, has_y, nudge, plastic, fw, lat, want_mse, mse_mode, cap_mode, step_base,
                  check_every, ints, floats, flags, arrays, buffers, weights, mse_out, cap_out, found, det):
    n0, NP, NPh, NI, o0, o1, mode = ints
    dt, gb = floats
    use_act, has_PI = flags
    tau, tau_look, tau_nt, gx, c_fw, actP, slopeP, offP, lr_WPP, lr_PI, N_B, mask = arrays
    u_, u_old_, ub_, ubp_, r_, rp_, rp2_, vb_, vbp_, va_, vap_ = buffers
    WPP_, dWPP_, BPI_, dBPI_, B_ = weights
    S = u_.shape[0]
    N = n0 + NP
    NU = NP + NI
    D = np.empty(NP)
    du = np.empty(NU)
    post = np.empty(NP)
    api = np.empty(NP)
    tmp = np.empty(NPh)
    for s in range(S):
        u, u_old, ub, ub_prev = u_[s], u_old_[s], ub_[s], ubp_[s]
        r, r_prev, r_prev2, vbas, vbas_prev = r_[s], rp_[s], rp2_[s], vb_[s], vbp_[s]
        vapi, vapi_prev = va_[s], vap_[s]
        W, dW, lrW, BPI, dBPI, B = WPP_[s], dWPP_[s], lr_WPP[s], BPI_[s], dBPI_[s], B_[s]
        sP, oP = slopeP[s], offP[s]
        for k in range(n):
            t = t0 + k
            if cap_mode == 1:                       # the output before the step (teacher)
                for j in range(o1 - o0):
                    cap_out[s, t, j] = r[n0 + o0 + j]
            elif cap_mode == 2:
                for j in range(o1 - o0):
                    cap_out[s, t, j] = ub[o0 + j]
            # buffer rotation and swaps; r_I := r_breve_P of the previous step (r_prev[n0:n0+NPh])
            r, r_prev, r_prev2 = r_prev2, r, r_prev
            vbas, vbas_prev = vbas_prev, vbas
            vapi, vapi_prev = vapi_prev, vapi
            ub, ub_prev = ub_prev, ub
            # u_breve, r_P = phi(u_breve_P)
            for i in range(NU):
                ub[i] = _k_lookahead(u[i], u_old[i], tau_look[i], dt)
            for i in range(NP):
                r[n0 + i] = _k_phi(actP[i], ub[i], sP[i], oP[i])
            for j in range(n0):
                r[j] = X[s, t, j]
            # v_bas = W_PP r; each sum over its index in order, rows interleaved
            for i in range(NP):
                vbas[i] = 0.0
            for j in range(N):
                rj = r[j]
                for i in range(NP):
                    vbas[i] += W[i, j] * rj
            # apical: v_api = B_PP r_P + (B_PI r_I)
            for i in range(NPh):
                vapi[i] = 0.0
                tmp[i] = 0.0
            for j in range(NP):
                rj = r[n0 + j]
                for i in range(NPh):
                    vapi[i] += B[i, j] * rj
            for j in range(NPh):
                rj = r_prev[n0 + j]
                for i in range(NPh):
                    tmp[i] += BPI[i, j] * rj
            for i in range(NPh):
                vapi[i] += tmp[i]
            # pyramidal drive g_b v_bas + g_x [v_api | y]; the interneuron somata stay
            for i in range(NPh):
                api[i] = vapi[i]
            target = has_y and nudge
            for i in range(o0, o1):
                api[i] = Y[s, t, i - o0] if target else 0.0
            for i in range(NP):
                D[i] = vbas[i] * gb + gx[i] * api[i]
            for i in range(NP):
                du[i] = _k_euler(D[i], u[i], tau[i] if target else tau_nt[i], tau[i], dt)
            for i in range(NP, NU):
                du[i] = 0.0
            # plasticity (not applied yet) and the BP refresh from the pre-update W_PP
            if plastic:
                for i in range(NP):
                    if use_act:
                        post[i] = r[n0 + i] - _k_phi(actP[i], c_fw[i] * vbas_prev[i], sP[i], oP[i])
                    else:
                        post[i] = ub[i] - c_fw[i] * vbas_prev[i]
                for i in range(NP):
                    for j in range(N):
                        dW[i, j] = (post[i] * r_prev[j]) * lrW[i, j]
                if has_PI:
                    lrP = lr_PI[s]
                    for i in range(NPh):
                        for j in range(NPh):
                            dBPI[i, j] = (-vapi_prev[i] * r_prev2[n0 + j]) * lrP[i, j]
                if mode == 1:                       # B_PP = W_PP^T * mask + N
                    Ns, ms = N_B[s], mask[s]
                    for i in range(NPh):
                        for j in range(NP):
                            B[i, j] = W[j, n0 + i] * ms[i, j] + Ns[i, j]
            # advance: u_old <- u, u <- u + Delta u
            u, u_old = u_old, u
            for i in range(NU):
                u[i] = u_old[i] + du[i]
            if fw:
                for i in range(NP):
                    for j in range(N):
                        W[i, j] += dW[i, j]
            if lat and has_PI:
                for i in range(NPh):
                    for j in range(NPh):
                        BPI[i, j] += dBPI[i, j]
            if want_mse:                            # record.mse after the step
                acc = 0.0
                for j in range(o1 - o0):
                    if mse_mode == 0:
                        e = r[n0 + o0 + j] - Y[s, t, j]
                    elif mse_mode == 1:
                        e = r[n0 + o0 + j] - _k_phi(actP[o0 + j], Y[s, t, j], sP[o0 + j], oP[o0 + j])
                    else:
                        e = ub[o0 + j] - Y[s, t, j]
                    acc += e * e
                root = np.sqrt(acc)
                mse_out[s, t] = root * root
            if check_every > 0 and not found[s] and (step_base + k + 1) % check_every == 0:
                codes = _k_check(u, W)
                if codes[0] != 0 or codes[1] != 0:
                    found[s] = True
                    det[s, 0] = step_base + k + 1
                    det[s, 1] = codes[0]
                    det[s, 2] = codes[1]
