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
from .compiled import _k_check, _k_dphi, _k_phi
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


# ------------------------------------------------------------------------ compiled kernel (numba)
# The same sub-steps as `step` above, one seed at a time in plain scalar loops (seeds are the
# outer loop), compiled by numpy_model.models.compiled.jit_module when the numba backend runs.
# The stored arrays are the dense (single-block) ones; every expression keeps the grouping of
# the NumPy sub-step named in its comment.
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
    from .compiled import act_codes
    lay, S = C.lay, C.S
    actP, slopeP, offP = act_codes(C.phiP, S)
    empty3 = np.zeros((S, 1, 1))
    mode, N_B, mask = 0, empty3, empty3
    if C.refresh is not None:                       # ("mask", view, mask): B = W_view^T * mask + N
        mode = 1
        (r, c), mask = C.refresh[1], np.ascontiguousarray(C.refresh[2])
        assert r.start == 0 and c.start == lay.n0 and mask.shape[1:] == (lay.NPh, lay.NP)
        N_B = np.ascontiguousarray(C.N_B[0])
    return dict(ints=(lay.n0, lay.NP, lay.NPh, lay.out.start, lay.out.stop, mode),
                floats=(float(C.c_ann),),
                arrays=(actP, slopeP, offP, C.lr_WPP[0], N_B, mask))


def compiled_phase(C, st, t0, n, X, Y, has_y, nudge, phase, want_mse, mse_mode, mse_out, cap_mode,
                   cap_out, step_base, check_every, found, det):
    """Steps t0 .. t0+n-1 of a phase for every seed in one compiled call (numpy_model.models.
    compiled.run_phase drives it); the buffer swaps of `step` are done by parity afterwards."""
    from .compiled import static
    k = static(C, _compiled_static)
    _kernel_phase(t0, n, X, Y, has_y, nudge, phase.plastic, phase.fw, want_mse, mse_mode, cap_mode,
                  step_base, check_every, k["ints"], k["floats"], k["arrays"],
                  (st.u, st.u_old, st.r_full, st.r_full_prev),
                  (st.WPP[0], st.dWPP[0], st.B[0]), mse_out, cap_out, found, det)
    if n % 2:                 # the rate swap and the advance's swap, once per step
        st.r_full, st.r_full_prev = st.r_full_prev, st.r_full
        st.u_old, st.u = st.u, st.u_old


def _kernel_phase(t0, n, X, Y, has_y, nudge, plastic, fw, want_mse, mse_mode, cap_mode, step_base,
                  check_every, ints, floats, arrays, buffers, weights, mse_out, cap_out, found, det):
    n0, NP, NPh, o0, o1, mode = ints
    c_ann = floats[0]
    actP, slopeP, offP, lr_WPP, N_B, mask = arrays
    u_, u_old_, r_, rp_ = buffers
    WPP_, dWPP_, B_ = weights
    S = u_.shape[0]
    N = n0 + NP
    NU = 2 * NP
    D = np.empty(NU)
    du = np.empty(NU)
    d = np.empty(NP)
    for s in range(S):
        u, u_old, r, r_prev = u_[s], u_old_[s], r_[s], rp_[s]
        W, dW, lrW, B = WPP_[s], dWPP_[s], lr_WPP[s], B_[s]
        sP, oP = slopeP[s], offP[s]
        for k in range(n):
            t = t0 + k
            if cap_mode == 1:                       # the output before the step (teacher)
                for j in range(o1 - o0):
                    cap_out[s, t, j] = r[n0 + o0 + j]
            elif cap_mode == 2:
                for j in range(o1 - o0):
                    cap_out[s, t, j] = u[o0 + j]
            r, r_prev = r_prev, r                   # the rate buffers swap
            # r = phi(u_P), d = phi'(u_P) (1 - tanh**2 from the same bits)
            for i in range(NP):
                r[n0 + i] = _k_phi(actP[i], u[i], sP[i], oP[i])
                if actP[i] == 4 and sP[i] == 1.0 and oP[i] == 0.0:
                    d[i] = 1.0 - r[n0 + i] * r[n0 + i]
                else:
                    d[i] = _k_dphi(actP[i], u[i])
            for j in range(n0):
                r[j] = X[s, t, j]
            # hidden errors: D_E = (d B_PP) u_E; each sum over its index in order, rows interleaved
            for i in range(NPh):
                D[NP + i] = 0.0
            for j in range(NP):
                uj = u[NP + j]
                for i in range(NPh):
                    D[NP + i] += (d[i] * B[i, j]) * uj
            # output errors: d (y - r), or 0 without a target
            for i in range(o0, o1):
                if has_y and nudge:
                    D[NP + i] = d[i] * (Y[s, t, i - o0] - r[n0 + i])
                else:
                    D[NP + i] = 0.0
            # D_P = (c W_PP) r
            for i in range(NP):
                D[i] = 0.0
            for j in range(N):
                rj = r[j]
                for i in range(NP):
                    D[i] += (c_ann * W[i, j]) * rj
            for i in range(NU):
                du[i] = D[i] - u[i]
            # plasticity (not applied yet): dW_PP = (u_E r_prev^T) lr; BP refresh from the pre-update W_PP
            if plastic:
                for i in range(NP):
                    ui = u[NP + i]
                    for j in range(N):
                        dW[i, j] = (ui * r_prev[j]) * lrW[i, j]
                if mode == 1:
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
            if want_mse:                            # record.mse after the step
                acc = 0.0
                for j in range(o1 - o0):
                    if mse_mode == 0:
                        e = r[n0 + o0 + j] - Y[s, t, j]
                    elif mse_mode == 1:
                        e = r[n0 + o0 + j] - _k_phi(actP[o0 + j], Y[s, t, j], sP[o0 + j], oP[o0 + j])
                    else:
                        e = u[o0 + j] - Y[s, t, j]
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
