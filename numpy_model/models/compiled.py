"""The compiled (Numba) backend: backend choice, shared scalar kernels and the phase driver.

A model module that can be compiled keeps its kernel next to its NumPy step (`_kernel_*`
functions written as plain scalar loops over one seed, same sub-steps, same grouping of every
expression; no fastmath, so no FMA contraction), plus `compiled_unsupported(C)` (None, or why
these constants cannot be compiled) and `compiled_phase(C, st, ...)` (one compiled call over all
seeds for a chunk of steps). Nothing here imports numba at import time: `jit_module` compiles a
module's `_kernel_*` / `_k_*` functions with `numba.njit(cache=True)` the first time the numba
backend runs, replacing them in the module (so compiled kernels call compiled helpers). The
compiled code is cached on disk (numba's cache next to the sources), so a second run pays no
compile.

The phase driver `run_phase` is `numpy_model.protocol.run_phase` for a compiled ensemble: the
kernel advances every seed (the outer loop: its state stays in cache) up to the next monitor
record, writing per-step MSE (validation/test sinks) and the output before each step (teacher
capture) into preallocated arrays, and running the divergence check every CHECK_EVERY steps;
Python ticks the monitor between chunks.
"""
import math
import weakref

import numpy as np

BACKENDS = ("auto", "numpy", "numba")
#: activation name -> code of the compiled activations (numpy_model.circuit.activations.NAMES)
ACT_CODES = {"linear": 0, "relu": 1, "soft_relu": 2, "logistic": 3, "tanh": 4, "hard_sigmoid": 5}


def numba_version():
    """The importable numba's version, or None."""
    try:
        import numba
    except ImportError:
        return None
    return numba.__version__


def resolve(requested):
    """(backend that runs: "numpy" | "numba", warning or None) for a requested backend."""
    if requested not in BACKENDS:
        raise ValueError(f"backend {requested!r}: expected one of {', '.join(BACKENDS)}")
    if requested == "numpy":
        return "numpy", None
    if numba_version() is None:
        if requested == "numba":
            return "numpy", ("backend numba: numba is not importable (pip install -e \".[fast]\"); "
                             "running on numpy")
        return "numpy", None
    return "numba", None


def unsupported(C):
    """Why constants C cannot run compiled (a short phrase), or None."""
    from . import MODELS
    model = MODELS[C.kind]
    check = getattr(model, "compiled_unsupported", None)
    if check is None:
        return f"mc_model {C.kind} has no compiled kernel yet"
    return check(C)


def common_unsupported(C, weights, populations):
    """The checks every compiled model shares: dense weights, switches without a compiled
    version, activations with a compiled version; why not (a short phrase) or None."""
    if not all(w.dense for w in weights):
        return "weights stored per block (large nets or NUMPY_MODEL_WEIGHT_STORAGE=blocks)"
    if C.dWPP_low_pass:
        return "dWPP_low_pass"
    if C.fused_update:
        return "fused forward update"
    if C.rep_lookahead is not None or getattr(C, "error_lookahead", None) is not None:
        return "lookahead masks (DMS)"
    if any(act_codes(pop, C.S) is None for pop in populations):
        return "activation without a compiled version (DMS)"
    return None


def choose(ens, backend, who):
    """The ensemble set to run on `backend` where it can; (ensemble, warning or None)."""
    if backend != "numba":
        return ens.vary(backend="numpy"), None
    why = unsupported(ens.c)
    if why is not None:
        return ens.vary(backend="numpy"), f"backend numba: the {who} runs on numpy ({why})"
    return ens.vary(backend="numba"), None


# ------------------------------------------------------------------------------ compilation
_COMPILED = set()


def jit_module(module):
    """Compile (lazily, once per process) the `_kernel_*` functions of `module` and the shared
    `_k_*` helpers of this module with numba.njit(cache=True), in place. Only `_kernel_phase` is
    an entry point; every other kernel is inlined into its caller at numba IR level
    (inline="always"), so the time loop is one function: no per-step calls passing dozens of
    arrays, no per-call reference counting."""
    import sys
    import numba
    for mod in (sys.modules[__name__], module):
        if mod.__name__ in _COMPILED:
            continue
        for name, fn in list(vars(mod).items()):
            if (name.startswith("_kernel_") or name.startswith("_k_")) and callable(fn) \
                    and not isinstance(fn, numba.core.registry.CPUDispatcher):
                inline = "never" if name == "_kernel_phase" else "always"
                setattr(mod, name, numba.njit(cache=True, inline=inline)(fn))
        _COMPILED.add(mod.__name__)


# ----------------------------------------------------------------- shared scalar kernels
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
        return math.tanh(x * s)
    v = x / 6.0 + 0.5                               # hard_sigmoid: maximum(0, minimum(1, v))
    m = 1.0 if v >= 1.0 else v
    h = 0.0 if 0.0 >= m else m
    return h * s


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
        t = math.tanh(x)
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


def _k_watch(check_every, step, s, u, W, found, det):
    """The divergence check of seed s after `step` (every check_every steps, 0: never): voltages u
    and forward weights W; the first detection sets found[s] and det[s] = (step, codes u, W)."""
    if check_every <= 0 or found[s] or step % check_every != 0:
        return
    cu, cw = _k_peak(u), _k_peak(W.ravel())
    if cu != 0 or cw != 0:
        found[s] = True
        det[s, 0] = step
        det[s, 1] = cu
        det[s, 2] = cw


def _k_capture(mode, out, s, t, r, ub, n0, o0, o1):
    """The output before the step (a teacher's capture): rates (mode 1) or u_breve (mode 2)."""
    if mode == 1:
        for j in range(o1 - o0):
            out[s, t, j] = r[n0 + o0 + j]
    elif mode == 2:
        for j in range(o1 - o0):
            out[s, t, j] = ub[o0 + j]


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


def _k_put(out, i, a, mul):
    if mul:
        out[i] = a * out[i]
    else:
        out[i] = a


def _k_vecmat(x, B, out):
    """out = x B (= B^T x with B^T the stored matrix), every sum over the rows in order; four
    columns at a time."""
    n, m = B.shape
    for b in range(m // 4):
        j = 4 * b
        a0 = a1 = a2 = a3 = 0.0
        for i in range(n):
            xi = x[i]
            a0 += xi * B[i, j]
            a1 += xi * B[i, j + 1]
            a2 += xi * B[i, j + 2]
            a3 += xi * B[i, j + 3]
        out[j], out[j + 1], out[j + 2], out[j + 3] = a0, a1, a2, a3
    for j in range(m - m % 4, m):
        a = 0.0
        for i in range(n):
            a += x[i] * B[i, j]
        out[j] = a


def _k_rank1(post, x, lr, dW):
    """dW = (post x^T) * lr (kernels.rank1)."""
    for i in range(dW.shape[0]):
        p = post[i]
        for j in range(dW.shape[1]):
            dW[i, j] = (p * x[j]) * lr[i, j]


def _k_scale_diff(W, I, lr, dW):
    """dW = lr (W - I) (kernels.scale_diff)."""
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            dW[i, j] = lr[i, j] * (W[i, j] - I[i, j])


def _k_lateral(plastic, apply, W, I, lr, dW):
    """A lateral rule: dW = lr (W - I) in a plastic phase, W += dW where it is applied."""
    if plastic:
        _k_scale_diff(W, I, lr, dW)
    if apply:
        _k_add_into(W, dW)


def _k_add_into(W, dW):
    """W += dW (kernels.add_into)."""
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            W[i, j] += dW[i, j]


def _k_sum(a, b, out):
    """out = a + b (the advance u <- u_old + Delta u)."""
    for i in range(out.shape[0]):
        out[i] = a[i] + b[i]


def refresh_indices(refresh, lay):
    """Flat (rest rows, rest cols, dest rows, dest cols, source rows, source cols) of a BP refresh
    (kernels.Transposes over dense arrays): B^T[rest] = N^T, B^T[dest] = N^T + W_PP[source]."""
    none = np.zeros(0, np.int64)
    if refresh is None:
        return (none,) * 6
    NI = lay.NI
    out = [[] for _ in range(6)]
    for _, r, c in refresh.rest:
        rr, cc = np.meshgrid(np.arange(NI)[r], np.arange(NI)[c], indexing="ij")
        out[0].append(rr.ravel())
        out[1].append(cc.ravel())
    for _, dr, dc, _, sr, sc in refresh.pairs:
        a, b = np.meshgrid(np.arange(NI)[dr], np.arange(NI)[dc], indexing="ij")
        p, q = np.meshgrid(np.arange(lay.NP)[sr], np.arange(lay.N)[sc], indexing="ij")
        for k, v in enumerate((a, b, p, q)):
            out[2 + k].append(v.ravel())
    return tuple(np.concatenate(v).astype(np.int64) if v else none for v in out)


def act_codes(pop, S):
    """(codes (n,), slopes (S, n), offsets (S, n)) of a Population; None if it cannot compile."""
    if pop.d_names is not None or any(name not in ACT_CODES for name in pop.names):
        return None
    codes = np.empty(sum(pop.sizes), np.int64)
    for name, a, b in pop.runs:
        codes[a:b] = ACT_CODES[name]
    n = codes.shape[0]
    slope = np.ones((S, n)) if pop.slope is None else np.ascontiguousarray(np.broadcast_to(pop.slope, (S, n)))
    offset = np.zeros((S, n)) if pop.offset is None else np.ascontiguousarray(np.broadcast_to(pop.offset, (S, n)))
    return codes, slope, offset


def act_arrays(pop, S):
    """act_codes plus where phi' = 1 - phi**2 exactly (tanh, slope 1, offset 0): (S, n) bools."""
    codes, slope, offset = act_codes(pop, S)
    return codes, slope, offset, (codes == 4)[None] & (slope == 1.0) & (offset == 0.0)


def refresh_arrays(C, lay):
    """(mode, N^T (S, .., ..), mask, indices) of the BP refresh of B_II^T from W_PP: mode 0 none,
    1 B = W_PP[:, n0:] * mask + N (one masked view), 2 by index lists (refresh_indices)."""
    empty3 = np.zeros((C.S, 1, 1))
    if C.refresh is None:
        return 0, empty3, empty3, refresh_indices(None, lay)
    if isinstance(C.refresh, tuple):                # ("mask", view, mask)
        assert C.refresh[1][0].start == 0 and C.refresh[1][1].start == lay.n0
        return 1, C.N_B[0], np.ascontiguousarray(C.refresh[2]), refresh_indices(None, lay)
    return 2, C.N_B[0], empty3, refresh_indices(C.refresh, lay)


def _k_forward_post(use_act, c_fw, act, slope, offset, ub, r, n0, vbas_prev, post):
    """Postsynaptic term of the forward rule (common.forward_post): u_breve - c v_bas,prev, or
    r - phi(c v_bas,prev)."""
    for i in range(post.shape[0]):
        if use_act:
            post[i] = r[n0 + i] - _k_phi(act[i], c_fw * vbas_prev[i], slope[i], offset[i])
        else:
            post[i] = ub[i] - c_fw * vbas_prev[i]


def _k_bp_refresh(refresh, B, W, n0):
    """B^T from the pre-update W_PP (common.bp_refresh) by the refresh_arrays of one seed."""
    mode, N_B, mask, idx = refresh
    if mode == 1:
        for i in range(B.shape[0]):
            for j in range(B.shape[1]):
                B[i, j] = W[i, n0 + j] * mask[i, j] + N_B[i, j]
    elif mode == 2:
        rest_r, rest_c, dst_r, dst_c, src_r, src_c = idx
        for q in range(rest_r.shape[0]):
            B[rest_r[q], rest_c[q]] = N_B[rest_r[q], rest_c[q]]
        for q in range(dst_r.shape[0]):
            B[dst_r[q], dst_c[q]] = N_B[dst_r[q], dst_c[q]] + W[src_r[q], src_c[q]]


# ---------------------------------------------------------------------------- per-run cache
_STATIC = {}


def static(C, build):
    """The model's constant kernel arguments of constants C, built once (keyed by identity)."""
    key = id(C)
    hit = _STATIC.get(key)
    if hit is not None and hit[0]() is C:
        return hit[1]
    value = build(C)
    _STATIC[key] = (weakref.ref(C, lambda _, k=key: _STATIC.pop(k, None)), value)
    return value


# ---------------------------------------------------------------------------- phase driver
def run_phase(ens, mon, X, Y, nudge, phase, mse_sink=None, capture=None, capture_rate=True, watch=None):
    """protocol.run_phase on the compiled kernel of ens's model (same arguments, same results
    within rounding): chunks of steps up to the next monitor record."""
    from ..protocol import CHECK_EVERY
    model, C, st = ens.model, ens.c, ens.state
    jit_module(model)
    S, n = X.shape[0], X.shape[1]
    n_out = C.lay.n_out
    X = np.ascontiguousarray(X, dtype=float)
    has_y = Y is not None
    Yc = np.ascontiguousarray(Y, dtype=float) if has_y else np.zeros((S, n, n_out))
    want_mse = mse_sink is not None and has_y
    mse_mode = 0 if mon.rate_target else (1 if mon.rec_rate_MSE else 2)
    mse_out = np.empty((S, n if want_mse else 0))
    cap_mode = 0 if capture is None else (1 if capture_rate else 2)
    cap_out = np.empty((S, n if capture is not None else 0, n_out))
    found = np.zeros(S, np.bool_)
    for s in (watch.found if watch is not None else ()):
        found[s] = True
    det = np.full((S, 3), -1, np.int64)           # detection step, code voltages, code weights
    step0 = watch.step if watch is not None else -1
    check_every = CHECK_EVERY if watch is not None else 0
    t = 0
    with np.errstate(invalid="ignore", over="ignore"):
        while t < n:
            m = min(n - t, mon.every - mon.counter)
            model.compiled_phase(C, st, t, m, X, Yc, has_y, nudge, phase, want_mse, mse_mode, mse_out,
                                 cap_mode, cap_out, step0 + t if watch is not None else -1, check_every,
                                 found, det)
            if m % 2:                   # the kernel's buffer swaps, once per step (models that
                for a, b in getattr(model, "SWAPS", ()):     # declare them; others swap themselves)
                    va, vb = getattr(st, a), getattr(st, b)
                    setattr(st, a, vb)
                    setattr(st, b, va)
            mon.counter += m - 1
            last = t + m - 1
            mon.tick(ens, X[:, last], Y[:, last] if has_y else None)
            t += m
    if watch is not None:
        watch.step += n
        for s in np.flatnonzero(det[:, 0] >= 0):
            watch.report(int(s), int(det[s, 1]), int(det[s, 2]), int(det[s, 0]))
    if want_mse:
        mse_sink.extend(mse_out)
    if capture is not None:
        capture.extend(cap_out[0].copy())


def _k_bp_refresh_T(B, W, n0, N_B, mask):
    """B_PP = W_PP[:, n0:]^T * mask + N (common.bp_refresh, ("mask", view, mask) of ann,
    sacramento2018 and dPC) from the pre-update W_PP."""
    for i in range(B.shape[0]):
        for j in range(W.shape[0]):
            B[i, j] = W[j, n0 + i] * mask[i, j] + N_B[i, j]


def _k_lookahead_rates(n0, dt, tau_look, act, slope, offset, u, u_old, ub, r, x, t):
    """u_breve = lookahead(u, u_old), r_P = phi(u_breve_P), the input rates x[t] (sacramento2018, dPC)."""
    for i in range(u.shape[0]):
        ub[i] = _k_lookahead(u[i], u_old[i], tau_look[i], dt)
    for i in range(act.shape[0]):
        r[n0 + i] = _k_phi(act[i], ub[i], slope[i], offset[i])
    for j in range(n0):
        r[j] = x[t, j]


def _k_apical(B, BPI, rP, rI, vapi, tmp):
    """v_api = B_PP r_P + (B_PI r_I) (sacramento2018.apical)."""
    _k_matvec(B, rP, vapi, False)
    _k_matvec(BPI, rI, tmp, False)
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


def _k_forward_post_units(use_act, c_fw, act, slope, offset, ub, r, n0, vbas_prev, post):
    """_k_forward_post with a per-unit c (sacramento2018, dPC)."""
    for i in range(post.shape[0]):
        if use_act:
            post[i] = r[n0 + i] - _k_phi(act[i], c_fw[i] * vbas_prev[i], slope[i], offset[i])
        else:
            post[i] = ub[i] - c_fw[i] * vbas_prev[i]
