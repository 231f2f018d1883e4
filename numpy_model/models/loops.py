"""Scalar loops shared by the compiled model kernels (the numba backend, numpy_model.models.compiled).

Plain Python over one seed's arrays, compiled by `compiled.jit_module` with numba.njit(cache=True)
and inlined into each model's `_kernel_phase`; every expression keeps the grouping of the NumPy
step it mirrors (no fastmath). Activations follow numpy_model.circuit.activations (codes in
`compiled.ACT_CODES`), the lookahead and Euler step docs/model.md §3.
"""
import math

import numpy as np

from ..closed_loop import _k_cartpole


#: rows of at least this many entries run through views indexed from 0 (_k_rank1_span, _k_rank1_add_span)
SPAN_VIEW = 16


def _k_tanh(x):
    """tanh(x) as the Cephes Math Library computes it (S. L. Moshier, tanh.c): for |x| < 0.625
    x + x^3 P(x^2) / Q(x^2), else 1 - 2 / (exp(2|x|) + 1) with the sign of x (1 beyond 22).
    Within 1.4 ulp of the exact value, as close to NumPy's np.tanh as libm's tanh is (closer on
    most inputs), and 3-5x faster than libm's tanh: the rational branch needs no call and
    vectorises (tests/test_numba.py measures the ulp)."""
    z = abs(x)
    if z >= 0.625:
        r = 1.0 if z > 22.0 else 1.0 - 2.0 / (math.exp(2.0 * z) + 1.0)
        return r if x >= 0.0 else -r
    s = x * x
    p = (-9.64399179425052238628e-1 * s - 9.92877231001918586564e1) * s - 1.61468768441708447952e3
    q = ((s + 1.12811678491632931402e2) * s + 2.23548839060100448583e3) * s + 4.84406305325125486048e3
    return x + x * (s * (p / q)) if s != 0.0 else x          # tanh(x) = x below 1e-162, -0.0 kept


def _k_phi(code, x, s, o):
    """phi(x; s, o) of one unit (numpy_model.circuit.activations.phi): x - o first, then the slope."""
    x = x - o
    if code == 0:                                   # linear
        return x * s
    if code == 1:                                   # relu: np.maximum(x, 0) keeps -0.0 and NaN
        y = x if (x >= 0.0 or x != x) else 0.0
        return y * s
    if code == 2:                                   # soft_relu
        e = math.exp(-10.0 * x)
        return (math.log((1.0 + e) / e) / 10.0) * s
    if code == 3:                                   # logistic
        return 1.0 / (1.0 + math.exp(-x * s))
    if code == 4:                                   # tanh
        return _k_tanh(x * s)
    if code == 6:                                   # dms_tanh: tanh((x - 0.5) 20), no slope
        return _k_tanh((x - 0.5) * 20.0)
    v = x / 6.0 + 0.5                               # hard_sigmoid: maximum(0, minimum(1, v))
    m = 1.0 if v >= 1.0 else v
    h = 0.0 if 0.0 >= m else m
    return h * s


def _k_phi_unit(plain, act, slope, offset, i, x):
    """phi of unit i at x: plain >= 0 (compiled.plain_code: every unit has that code, slope 1,
    offset 0) takes it as a switch, not a per-unit lookup (the same numbers)."""
    if plain >= 0:
        return _k_phi(plain, x, 1.0, 0.0)
    return _k_phi(act[i], x, slope[i], offset[i])


def _k_dphi(code, x):
    """Nominal phi'(x) (slope 1, offset 0; numpy_model.circuit.activations.dphi)."""
    if code == 0:
        return 1.0
    if code == 1:
        return 1.0 if x > 0.0 else 0.0
    if code == 2:
        return 1.0 / (1.0 + math.exp(-10.0 * x))
    if code == 3:
        sig = 1.0 / (1.0 + math.exp(-x))
        return sig * (1.0 - sig)
    if code == 4:
        t = _k_tanh(x)
        return 1.0 - t * t
    z = x / 6.0 + 0.5
    return (1.0 if z > 0.0 else 0.0) * (1.0 if 1.0 - z > 0.0 else 0.0)


def _k_lookahead(u, u_old, tau, dt):
    """u_breve = u_old + (tau (u - u_old)) / dt (kernels.lookahead)."""
    return u_old + (tau * (u - u_old)) / dt


def _k_euler(drive, u, tau_drive, tau_div, dt):
    """Delta u = dt ((tau D - u) / tau) (kernels.euler_increment)."""
    return dt * ((tau_drive * drive - u) / tau_div)


def _k_peak(a):
    """0 if every entry of the flat array a is finite and within DIVERGENCE_LIMIT, 1 if one is
    not finite, 2 if one is beyond the limit (protocol.DivergenceWatch.check)."""
    nonfinite = False
    peak = 0.0
    for i in range(a.shape[0]):
        v = a[i]
        if not np.isfinite(v):
            nonfinite = True
        elif abs(v) > peak:
            peak = abs(v)
    if nonfinite:
        return 1
    return 2 if peak > 1e6 else 0


def _k_peak_rows(W):
    """_k_peak of a 2-D array (row by row: no flattened copy, which would need an allocation)."""
    code = 0
    for i in range(W.shape[0]):
        c = _k_peak(W[i])
        if c == 1:
            return 1
        if c == 2:
            code = 2
    return code


def _k_capture(mode, out, s, t, r, ub, n0, o0, o1):
    """The output before the step (a teacher's capture): rates (mode 1) or u_breve (mode 2)."""
    if mode == 1:
        for j in range(o1 - o0):
            out[s, t, j] = r[n0 + o0 + j]
    elif mode == 2:
        for j in range(o1 - o0):
            out[s, t, j] = ub[o0 + j]


def _k_record(rec, s, t, mse, bufs, weights):
    """A monitor record after step t, in the kernel (numpy_model.models.kernel_record): this seed's
    MSE and the recorded sources (bufs: the current buffers, weights: every stored array, as the
    model's RECORD_BUFFERS / RECORD_WEIGHTS name them) into row s, record k of the preallocated
    rec = (first step, every, sources (kind 0 buffer | 1 weights, index, offset), out (S, R, L)).
    Returns the step of the next record."""
    first, every, src, out = rec
    row = out[s, (t - first) // every]
    row[0] = mse
    for j in range(src.shape[0]):
        idx, off = src[j, 1], src[j, 2]
        if src[j, 0] == 0:
            b = bufs[idx]
            for i in range(b.shape[0]):
                row[off + i] = b[i]
        else:
            w = weights[idx][s]
            cols = w.shape[1]
            for i in range(w.shape[0]):
                for c in range(cols):
                    row[off + i * cols + c] = w[i, c]
    return t + every


def _k_after_step(mse, rec, nxt, s, t, r, ub, y, n0, o0, act, slope, offset, bufs, weights):
    """After step t of seed s: record.mse (mse = (wanted, mode, out): into out[s, t] when wanted;
    _k_mse) and, when t is `nxt`, the monitor's record (_k_record). Returns the next record's step."""
    want, mode, out = mse
    if want or t == nxt:
        m = _k_mse(mode, r, ub, y, t, n0, o0, act, slope, offset)
        if want:
            out[s, t] = m
        if t == nxt:
            return _k_record(rec, s, t, m, bufs, weights)
    return nxt


def _k_mse(mode, r, ub, y, t, n0, o0, act, slope, offset):
    """record.mse of one seed after step t (targets y[t]): of the rates (mode 0), of the rates against phi(y)
    (mode 1), of u_breve (mode 2); sqrt(sum d^2)**2 as np.linalg.norm(d)**2."""
    acc = 0.0
    for j in range(y.shape[1]):
        if mode == 0:
            d = r[n0 + o0 + j] - y[t, j]
        elif mode == 1:
            d = r[n0 + o0 + j] - _k_phi(act[o0 + j], y[t, j], slope[o0 + j], offset[o0 + j])
        else:
            d = ub[o0 + j] - y[t, j]
        acc += d * d
    root = np.sqrt(acc)
    return root * root


def _k_matvec(W, x, out, mul):
    """out = W x (mul: out = (W x) * out), every sum over the columns in order; four rows at a
    time, so that four independent sums are in flight."""
    n, m = W.shape
    for b in range(n // 4):
        i = 4 * b
        a0 = a1 = a2 = a3 = 0.0
        for j in range(m):
            xj = x[j]
            a0 += W[i, j] * xj
            a1 += W[i + 1, j] * xj
            a2 += W[i + 2, j] * xj
            a3 += W[i + 3, j] * xj
        _k_put(out, i, a0, mul)
        _k_put(out, i + 1, a1, mul)
        _k_put(out, i + 2, a2, mul)
        _k_put(out, i + 3, a3, mul)
    for i in range(n - n % 4, n):
        a = 0.0
        for j in range(m):
            a += W[i, j] * x[j]
        _k_put(out, i, a, mul)


def _k_scaled_matvec_span(M, a, x, out, span):
    """out_i = sum_j (a_i M_ij) x_j over row i's span [span_i0, span_i1) of a dense matrix (its
    populated blocks, kernels.Blocks.row_spans; the products skipped are of structural zeros),
    every sum in order of j; four rows of one span at a time (four sums in flight), through row
    views indexed from 0."""
    n = M.shape[0]
    i = 0
    while i < n:
        lo, hi = span[i, 0], span[i, 1]
        xs = x[lo:hi]
        if i + 3 < n and span[i + 1, 0] == lo and span[i + 2, 0] == lo and span[i + 3, 0] == lo \
                and span[i + 1, 1] == hi and span[i + 2, 1] == hi and span[i + 3, 1] == hi:
            s0, s1, s2, s3 = a[i], a[i + 1], a[i + 2], a[i + 3]
            m0, m1, m2, m3 = M[i, lo:hi], M[i + 1, lo:hi], M[i + 2, lo:hi], M[i + 3, lo:hi]
            a0 = a1 = a2 = a3 = 0.0
            for j in range(hi - lo):
                xj = xs[j]
                a0 += (s0 * m0[j]) * xj
                a1 += (s1 * m1[j]) * xj
                a2 += (s2 * m2[j]) * xj
                a3 += (s3 * m3[j]) * xj
            out[i], out[i + 1], out[i + 2], out[i + 3] = a0, a1, a2, a3
            i += 4
        else:
            si, acc, m0 = a[i], 0.0, M[i, lo:hi]
            for j in range(hi - lo):
                acc += (si * m0[j]) * xs[j]
            out[i] = acc
            i += 1


def _k_rank1_span(post, x, lr, dW, W, span, fw):
    """dW = (post x^T) * lr over the row spans of a dense matrix (kernels.rank1; the rest of dW
    keeps its zeros), and W += dW in the same pass when fw (kernels.add_into). Rows of at least
    SPAN_VIEW entries through views indexed from 0 (an offset index makes numba check for
    negative indices, which keeps the compiler from vectorising; shorter rows are faster without
    the views)."""
    for i in range(dW.shape[0]):
        lo, hi, p = span[i, 0], span[i, 1], post[i]
        if hi - lo >= SPAN_VIEW:
            w, dw, rate, xs = W[i, lo:hi], dW[i, lo:hi], lr[i, lo:hi], x[lo:hi]
            if fw:
                for j in range(hi - lo):
                    d = (p * xs[j]) * rate[j]
                    dw[j] = d
                    w[j] += d
            else:
                for j in range(hi - lo):
                    dw[j] = (p * xs[j]) * rate[j]
            continue
        w, dw, rate = W[i], dW[i], lr[i]
        if fw:
            for j in range(lo, hi):
                d = (p * x[j]) * rate[j]
                dw[j] = d
                w[j] += d
        else:
            for j in range(lo, hi):
                dw[j] = (p * x[j]) * rate[j]


def _k_rank1_add_span(post, x, lr, W, span):
    """W += (post x^T) * lr over the row spans, without keeping dW (the same expression as
    _k_rank1_span, so the same W); views as there."""
    for i in range(W.shape[0]):
        lo, hi, p = span[i, 0], span[i, 1], post[i]
        if hi - lo >= SPAN_VIEW:
            w, rate, xs = W[i, lo:hi], lr[i, lo:hi], x[lo:hi]
            for j in range(hi - lo):
                w[j] += (p * xs[j]) * rate[j]
            continue
        w, rate = W[i], lr[i]
        for j in range(lo, hi):
            w[j] += (p * x[j]) * rate[j]


def _k_plasticity_span(post, x, lr, dW, W, span, apply, keep):
    """dW = (post x^T) * lr and, when `apply`, W += dW (_k_rank1_span); dW is only written when
    `keep` (_k_dw_kept: a step whose dW is read), otherwise W += (post x^T) * lr directly (the
    same numbers; nothing at all without `apply`). block_loops._kb_rank1_row is the same
    keep-or-apply loop per row; calling it here (on the row views) measured 4-8 % slower on the
    16- and 32-wide nets, so these loops stay written out (README, Performance)."""
    if keep:
        _k_rank1_span(post, x, lr, dW, W, span, apply)
    elif apply:
        _k_rank1_add_span(post, x, lr, W, span)


def _k_dw_kept(t, last, nxt, dw_every):
    """Whether anything reads the dW arrays of step t: the last step of the kernel call (the
    state it hands back), a monitor record (t == nxt), a --compare BP capture (every dw_every
    steps). The other steps' dW are overwritten unread, so the kernels skip writing them."""
    return t == last or t == nxt or (dw_every > 0 and t % dw_every == dw_every - 1)


def same_dims(K, dims):
    """Whether the kernel key K (specialize.size_key: a tuple of tuples of lengths dims + 1) is () or holds
    the int tuple `dims`. Compiled (specialize.register_same_dims), it compares `dims` with the
    lengths as constants: after `if not same_dims(K, dims): return`, the compiler takes every entry
    of dims as that constant (loop bounds, switches), so a small net's short loops unroll."""
    return len(K) == 0 or tuple(len(k) - 1 for k in K) == tuple(dims)


def _k_put(out, i, a, mul):
    if mul:
        out[i] = a * out[i]
    else:
        out[i] = a


def _k_sum(a, b, out):
    """out = a + b (the advance u <- u_old + Delta u)."""
    for i in range(out.shape[0]):
        out[i] = a[i] + b[i]


def _k_forward_post(use_act, plain, c_fw, act, slope, offset, ub, r, n0, vbas_prev, post):
    """Postsynaptic term of the forward rule (common.forward_post): u_breve - c v_bas,prev, or
    r - phi(c v_bas,prev) (plain: as _k_phi_unit)."""
    for i in range(post.shape[0]):
        if use_act:
            post[i] = r[n0 + i] - _k_phi_unit(plain, act, slope, offset, i, c_fw * vbas_prev[i])
        else:
            post[i] = ub[i] - c_fw * vbas_prev[i]


def _k_bp_refresh_T_rows(BT, W, n0, NT, maskT, span, B, keep):
    """The BP refresh B_PP = W_PP[:, n0:]^T * mask + N (common.bp_refresh, ("mask", view, mask) of
    ann, sacramento2018 and dPC) from the pre-update W_PP, into B_PP^T stored in W_PP's shape
    (BT[j, n0 + i] = B_ij; NT and maskT likewise): BT = W_PP * mask^T + N^T, the same expression per
    entry, row by row over W_PP's row spans past the inputs (the rows of the layers above the
    first), contiguously; written back into B_PP itself only when kept (_k_dw_kept: a
    step whose arrays are read)."""
    for j in range(BT.shape[0]):
        lo, hi = span[j, 0], span[j, 1]
        if lo < n0 or hi == lo:
            continue
        b, w, m, noise = BT[j, lo:hi], W[j, lo:hi], maskT[j, lo:hi], NT[j, lo:hi]
        for k in range(hi - lo):
            b[k] = w[k] * m[k] + noise[k]
    if keep:
        _k_from_T(BT, B, n0, 0, 1.0, span)


def _k_scaled_vecmat_T(BT, a, x, n0, out, span):
    """out_i = sum_j (a_i B_ij) x_j from B^T stored in W_PP's shape (BT[j, n0 + i] = B_ij), over
    W_PP's row spans past the inputs: row by row, each adding its products to the out_i it
    reaches, so that every out_i is summed over j in order from 0.0, the numbers of
    _k_scaled_matvec_span on B."""
    for i in range(out.shape[0]):
        out[i] = 0.0
    for j in range(BT.shape[0]):
        lo, hi = span[j, 0], span[j, 1]
        if lo < n0 or hi == lo:
            continue
        xj, row, o, s = x[j], BT[j, lo:hi], out[lo - n0:hi - n0], a[lo - n0:hi - n0]
        for k in range(hi - lo):
            o[k] += (s[k] * row[k]) * xj


def _k_to_T(B, BT, n0, span):
    """BT[j, n0 + i] = B_ij: B_PP into its transposed copy in W_PP's shape, over W_PP's row spans
    past the inputs."""
    for j in range(BT.shape[0]):
        lo, hi = span[j, 0], span[j, 1]
        if lo < n0:
            continue
        for k in range(lo, hi):
            BT[j, k] = B[k - n0, j]


def _k_from_T(BT, M, n0, c0, sign, span):
    """M[i, j - c0] = sign BT[j, n0 + i] over W_PP's row spans past the inputs: B_PP back from its
    transposed copy (c0 = 0, sign = 1.0), or sacramento2018's B_PI = -B_PP[:, n1:] (c0 = n1,
    sign = -1.0: refresh_backward; B_PI's populated entries are those, compiled.BPI_from_B_spans).
    sign x is x or -x exactly."""
    for j in range(BT.shape[0]):
        lo, hi = span[j, 0], span[j, 1]
        if lo < n0:
            continue
        for k in range(lo, hi):
            M[k - n0, j - c0] = sign * BT[j, k]


def _k_lookahead_rates(n0, dt, tau_look, plain, act, slope, offset, u, u_old, ub, r, x, t):
    """u_breve = lookahead(u, u_old), r_P = phi(u_breve_P), the input rates x[t] (sacramento2018,
    dPC); plain >= 0: every unit's code, slope 1, offset 0 (compiled.plain_code: a switch, not a
    per-unit lookup; the same numbers)."""
    for i in range(u.shape[0]):
        ub[i] = _k_lookahead(u[i], u_old[i], tau_look[i], dt)
    for i in range(act.shape[0]):
        r[n0 + i] = _k_phi_unit(plain, act, slope, offset, i, ub[i])
    for j in range(n0):
        r[j] = x[t, j]


def _k_apical(BT, n0, spW, BPI, spPI, ones, rP, rI, vapi, tmp):
    """v_api = B_PP r_P + (B_PI r_I) (sacramento2018.apical) from B_PP transposed in W_PP's shape
    (BT, over W_PP's row spans spW: _k_scaled_vecmat_T) and B_PI's row spans spPI (`ones`: 1.0
    per row, so that (1 B_ij) r_j = B_ij r_j exactly)."""
    _k_scaled_vecmat_T(BT, ones, rP, n0, vapi, spW)
    _k_scaled_matvec_span(BPI, ones, rI, tmp, spPI)
    for i in range(tmp.shape[0]):
        vapi[i] += tmp[i]


def _k_pyramidal_drive(gb, NPh, o0, o1, target, y, t, gx, vbas, vapi, api, D):
    """D_P = g_b v_bas + g_x [v_api | y] (sacramento2018.pyramidal_drive; 0 without a target)."""
    for i in range(NPh):
        api[i] = vapi[i]
    for i in range(o0, o1):
        api[i] = y[t, i - o0] if target else 0.0
    for i in range(vbas.shape[0]):
        D[i] = vbas[i] * gb + gx[i] * api[i]


def _k_forward_post_units(use_act, plain, c_fw, act, slope, offset, ub, r, n0, vbas_prev, post):
    """_k_forward_post with a per-unit c (sacramento2018, dPC)."""
    for i in range(post.shape[0]):
        if use_act:
            post[i] = r[n0 + i] - _k_phi_unit(plain, act, slope, offset, i, c_fw[i] * vbas_prev[i])
        else:
            post[i] = ub[i] - c_fw[i] * vbas_prev[i]


def _k_cl_begin(cl, s, t, x):
    """Closed loop (cl[0] = 1; numpy_model.models.compiled.closed_loop): the cart-pole state of
    seed s as the input x[t] of step t, after the reset at the start of every sub-th action."""
    mode, k0, sub, o, spa, rescale, dt, cart, pool, used, states, actions, penalties = cl
    if mode == 0:
        return
    k = k0 + t                                      # network step of the test
    if k % spa == 0 and (k // spa + 1) % sub == 0:
        _k_cl_reset(cart, pool, used, s)
    for j in range(cart.shape[1]):
        x[t, j] = cart[s, j]


def _k_cl_end(cl, s, t, r):
    """Closed loop, after the last network step of an action: the force r_out * rescale drives the
    cart-pole one step (closed_loop.physics_step); logs, and a reset when it failed."""
    mode, k0, sub, o, spa, rescale, dt, cart, pool, used, states, actions, penalties = cl
    if mode == 0 or (k0 + t) % spa != spa - 1:
        return
    tt = (k0 + t) // spa + 1                        # the action
    force = r[o] * rescale
    failed = _k_cartpole(cart[s], force, dt)
    for j in range(cart.shape[1]):
        states[s, tt, j] = cart[s, j]
    actions[s, tt - 1] = force
    penalties[s, tt - 1] = 1.0 if failed else 0.0
    if failed:
        _k_cl_reset(cart, pool, used, s)


def _k_cl_reset(cart, pool, used, s):
    """The next of seed s's pre-drawn reset states (closed_loop.reset_state)."""
    for j in range(cart.shape[1]):
        cart[s, j] = pool[s, used[s], j]
    used[s] += 1
