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
    `_k_*` helpers of this module with numba.njit(cache=True), in place."""
    import sys
    import numba
    for mod in (sys.modules[__name__], module):
        if mod.__name__ in _COMPILED:
            continue
        for name, fn in list(vars(mod).items()):
            if (name.startswith("_kernel_") or name.startswith("_k_")) and callable(fn) \
                    and not isinstance(fn, numba.core.registry.CPUDispatcher):
                setattr(mod, name, numba.njit(cache=True)(fn))
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


def _k_check(u, W):
    """Divergence codes of one seed (protocol.DivergenceWatch.check): (voltages, forward
    weights), each 0 fine, 1 not finite, 2 beyond DIVERGENCE_LIMIT."""
    codes = np.zeros(2, np.int64)
    for which in range(2):
        nonfinite = False
        peak = 0.0
        if which == 0:
            for i in range(u.shape[0]):
                v = u[i]
                if not np.isfinite(v):
                    nonfinite = True
                elif abs(v) > peak:
                    peak = abs(v)
        else:
            for i in range(W.shape[0]):
                for j in range(W.shape[1]):
                    v = W[i, j]
                    if not np.isfinite(v):
                        nonfinite = True
                    elif abs(v) > peak:
                        peak = abs(v)
        if nonfinite:
            codes[which] = 1
        elif peak > 1e6:
            codes[which] = 2
    return codes


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
