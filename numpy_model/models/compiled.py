"""The compiled (Numba) backend: backend choice, compilation, kernel arguments and the phase driver
(the shared scalar loops are in numpy_model.models.loops).

A model module that can be compiled keeps its kernel next to its NumPy step (`_kernel_*`
functions written as plain scalar loops over one seed, same sub-steps, same grouping of every
expression; no fastmath, so no FMA contraction), plus `compiled_unsupported(C)` (None, or why
these constants cannot be compiled) and `compiled_phase(C, st, ...)` (one compiled call over all
seeds for a chunk of steps). Nothing here imports numba at import time: `jit_module` compiles
a module's `_kernel_*` functions and the `_k_*` loops with `numba.njit(cache=True)` the first
time the numba backend runs, replacing them in the module (so compiled kernels call compiled helpers). The
compiled code is cached on disk (`kernel_cache_dir`: a folder named after a digest of the kernel
sources, so an edit anywhere in them recompiles), and a second run pays no compile.

The phase driver `run_phase` is `numpy_model.protocol.run_phase` for a compiled ensemble: the
kernel advances every seed (the outer loop: its state stays in cache) up to the next monitor
record, writing per-step MSE (validation/test sinks) and the output before each step (teacher
capture) into preallocated arrays, and running the divergence check every CHECK_EVERY steps;
Python ticks the monitor between chunks.
"""
import glob
import hashlib
import os
import shutil
import weakref

import numpy as np

BACKENDS = ("auto", "numpy", "numba")
#: activation name -> code of the compiled activations (numpy_model.circuit.activations.NAMES)
ACT_CODES = {"linear": 0, "relu": 1, "soft_relu": 2, "logistic": 3, "tanh": 4, "hard_sigmoid": 5, "dms_tanh": 6}
#: the activations with a compiled (nominal) derivative phi' (dms_tanh has none, as in NumPy)
D_CODES = {name: code for name, code in ACT_CODES.items() if name != "dms_tanh"}


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


def backend_line(backend):
    """The log line saying which backend runs ("backend: numba, numba 0.68.1")."""
    version = numba_version() if "numba" in backend else None
    return f"backend: {backend}" + (f", numba {version}" if version else "")


def unsupported(C):
    """Why constants C cannot run compiled (a short phrase), or None."""
    from . import MODELS
    model = MODELS[C.kind]
    check = getattr(model, "compiled_unsupported", None)
    if check is None:
        return f"mc_model {C.kind} has no compiled kernel yet"
    return check(C)


def common_unsupported(C, weights, populations, dms=False, low_pass=False):
    """The checks every compiled model shares: dense `weights` (the kernels of models that take
    per-block ones pass none), switches and activations with a compiled version (dms: the DMS
    lookahead masks and derivative names too; low_pass: dWPP_low_pass); why not (a short phrase)
    or None."""
    if not all(w.dense for w in weights):
        return "weights stored per block (large nets or NUMPY_MODEL_WEIGHT_STORAGE=blocks)"
    if C.dWPP_low_pass and not low_pass:
        return "dWPP_low_pass"
    if not dms and (C.rep_lookahead is not None or getattr(C, "error_lookahead", None) is not None):
        return "lookahead masks (DMS)"
    if any(act_codes(pop, C.S, d_names=dms) is None for pop in populations):
        return "activation without a compiled version"
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
#: The kernels are compiled without numba's runtime (NRT). With it, every array view the time loop
#: takes (a row, a block of a seed, a buffer swapped in) atomically increments and decrements a
#: reference count, about half of a small net's step (measured with perf: 0.43 us instead of 1.05
#: per errormc 8-4-2-1 training seed-step). Without it a kernel can allocate nothing: every array,
#: scratch vectors too (`scratch`), is made by the caller, which keeps it alive for the call.
NO_NRT = {"_nrt": False}


#: the `cl` argument of a phase that is not a closed loop (the kernels' _k_cl_* hooks do nothing);
#: same types as compiled.closed_loop's, so that both run one compiled kernel
NO_CLOSED_LOOP = (0, 0, 1, 0, 1, 0.0, 0.0, np.zeros((1, 4)), np.zeros((1, 1, 4)), np.zeros(1, np.int64),
                  np.zeros((1, 1, 4)), np.zeros((1, 1)), np.zeros((1, 1)))


#: the `rec` argument of a phase whose monitor records are not taken in the kernel (no record step)
NO_RECORD = (-1, 1, np.zeros((0, 3), np.int64), np.zeros((1, 1, 1)))


def scratch(*sizes):
    """Work vectors of these lengths for a kernel (which cannot allocate: NO_NRT)."""
    return tuple(np.empty(n) for n in sizes)


def jit_module(module):
    """Compile (lazily, once per process) the `_kernel_*` functions of `module` and the shared
    `_k_*` and `_kb_*` loops (numpy_model.models.loops, block_loops, also as imported into `module`) with
    numba.njit(cache=True), in place. Only `_kernel_phase` is
    an entry point; every other kernel is inlined into its caller at numba IR level
    (inline="always"), so the time loop is one function: no per-step calls passing dozens of
    arrays, no per-call reference counting (numba 0.68's inliner refuses a function of more than
    30 arguments, "Calling a closure with *args": group them into tuples). error_model="numpy": a
    division by zero gives inf or NaN as in NumPy (numba's default raises ZeroDivisionError, e.g.
    soft_relu beyond u = 74)."""
    import numba

    from .. import closed_loop
    from . import block_loops, loops, specialize
    if loops.__name__ in _COMPILED and module.__name__ in _COMPILED:
        return                                        # done in this process: no digest, no I/O
    specialize.register_same_dims(numba)
    user_dir = numba.config.CACHE_DIR
    cache = kernel_cache_dir()
    if not os.path.isdir(cache):                      # sources changed: drop the stale caches
        for old in glob.glob(os.path.join(os.path.dirname(cache), "numba-*")):
            shutil.rmtree(old, ignore_errors=True)
    numba.config.CACHE_DIR = cache                    # read when njit(cache=True) sets up the cache
    try:
        for mod in (closed_loop, loops, block_loops, module):
            if mod.__name__ in _COMPILED:
                continue
            for name, fn in list(vars(mod).items()):
                if name.startswith(("_kernel_", "_k_", "_kb_", "_kbf_")) and callable(fn) \
                        and not isinstance(fn, numba.core.registry.CPUDispatcher):
                    if name.startswith("_kbf_"):    # vectorised sums (block_loops): reassociation only
                        jitted = numba.njit(cache=True, fastmath={"reassoc"}, error_model="numpy", **NO_NRT)(fn)
                    else:               # _k_tanh a call: as fast, and its copies compiled 30 % longer
                        inline = "never" if name in ("_kernel_phase", "_k_tanh") else "always"
                        jitted = numba.njit(cache=True, inline=inline, error_model="numpy", **NO_NRT)(fn)
                    setattr(mod, name, jitted)
            _COMPILED.add(mod.__name__)
    finally:
        numba.config.CACHE_DIR = user_dir


def sources_digest(paths):
    """sha256 (hex) of the contents of `paths`, in the given order."""
    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as fh:
            h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()


def kernel_sources():
    """Every file with compiled code: numpy_model/models/*.py and closed_loop.py."""
    here = os.path.dirname(os.path.abspath(__file__))
    return sorted(glob.glob(os.path.join(here, "*.py"))) + [os.path.join(os.path.dirname(here), "closed_loop.py")]


def kernel_cache_dir():
    """The folder numba caches this package's kernels in, named after a digest of every kernel
    source (`kernel_sources`). numba checks only the stamp of the entry point's own file, so an
    edited shared loop (loops.py) would otherwise come back from the cache stale (numba issues
    #1833, #8851). Under NUMBA_CACHE_DIR when set, else in the sources' __pycache__ when writable,
    else in ~/.cache/numpy_model."""
    import numba
    here = os.path.dirname(os.path.abspath(__file__))
    name = "numba-" + sources_digest(kernel_sources())[:16]
    user = numba.config.CACHE_DIR
    if user:
        return os.path.join(user, "numpy_model", name)
    local = os.path.join(here, "__pycache__")
    try:
        os.makedirs(local, exist_ok=True)
        if os.access(local, os.W_OK):
            return os.path.join(local, name)
    except OSError:
        pass
    return os.path.join(os.path.expanduser("~"), ".cache", "numpy_model", name)


def act_codes(pop, S, d_names=False):
    """(codes (n,), slopes (S, n), offsets (S, n)) of a Population; None if it cannot compile: a
    phi or phi' without a compiled version, or per-layer derivative names (the DMS output layer),
    which only the errormc kernel takes (d_names=True)."""
    if pop.d_names is not None and not d_names or any(name not in ACT_CODES for name in pop.names) \
            or any(name not in D_CODES for name in (pop.d_names or pop.names)):
        return None
    codes = _per_unit(pop.names, pop.sizes, ACT_CODES)
    n = codes.shape[0]
    # writable copies: numba types a read-only array apart, and each type compiles the kernel anew
    slope = np.ones((S, n)) if pop.slope is None else np.array(np.broadcast_to(pop.slope, (S, n)), float)
    offset = np.zeros((S, n)) if pop.offset is None else np.array(np.broadcast_to(pop.offset, (S, n)), float)
    return codes, slope, offset


def _per_unit(names, sizes, table):
    return np.repeat(np.array([table[name] for name in names], np.int64), sizes)


def act_arrays(pop, S, lookahead=None):
    """errormc: act_codes, where phi' = 1 - phi**2 exactly ((S, n) bools: phi and phi' tanh, slope 1,
    offset 0, lookahead rate), the codes of phi' (d_names when given) and the lookahead mask
    ((S, n) bools: the rate of u_breve, else of u; C.rep_lookahead, None = everywhere)."""
    codes, slope, offset = act_codes(pop, S, d_names=True)
    dcodes = _per_unit(pop.d_names or pop.names, pop.sizes, D_CODES)
    look = np.array(np.broadcast_to(True if lookahead is None else lookahead, slope.shape), np.bool_)
    tanh1 = (codes == 4)[None] & (dcodes == 4)[None] & (slope == 1.0) & (offset == 0.0) & look
    return codes, slope, offset, tanh1, dcodes, look


def plain_code(codes, slope, offset, tanh1=None, dcodes=None, look=None):
    """The activation code of a population whose units all have it with slope 1, offset 0, the
    lookahead rate and the same phi' (so phi(x) = phi(x - 0) 1 and, for tanh, phi' = 1 - phi**2),
    else -1: the kernels then take the code as a switch, not a per-unit lookup (the same numbers)."""
    c = int(codes[0]) if len(codes) else -1
    plain = (len(codes) and (codes == c).all() and (slope == 1.0).all() and (offset == 0.0).all()
             and (dcodes is None or (dcodes == c).all()) and (look is None or look.all())
             and (tanh1 is None or c != 4 or tanh1.all()))
    return c if plain else -1


def rates_arg(blocks, lr, S):
    """(per-entry (S, rows, cols) rates of a dense matrix, per-array scalars of a per-block one)."""
    empty3, none = np.zeros((S, 1, 1)), np.zeros(0)
    if lr is None:
        return empty3, none
    return (lr[0], none) if blocks.dense else (empty3, np.array(lr, dtype=float))


def block_refresh_arrays(C):
    """(mode, N^T per stored array of B_II^T, mask, pairs, rest) of the errormc BP refresh
    (block_loops._kb_refresh_rows): mode 0 none; 1 B^T = W_PP[:, n0:] * mask + N^T (one masked
    dense view); 2 rectangles of kernels.Transposes, pairs (dst array, row, col, src array, row,
    col, rows, cols) and rest (array, row, col, rows, cols)."""
    empty3 = np.zeros((C.S, 1, 1))
    no_pairs, no_rest = np.zeros((0, 8), np.int64), np.zeros((0, 5), np.int64)
    if C.refresh is None:
        return 0, (empty3,), empty3, no_pairs, no_rest
    if isinstance(C.refresh, tuple):                # ("mask", view, mask)
        assert C.refresh[1][0].start == 0 and C.refresh[1][1].start == C.lay.n0
        return 1, (C.N_B[0],), np.ascontiguousarray(C.refresh[2]), no_pairs, no_rest
    from .block_loops import nonempty
    R = C.refresh
    assert not R.transpose
    pairs = [(db, dr.start, dc.start, sb, sr.start, sc.start, dr.stop - dr.start, dc.stop - dc.start)
             for db, dr, dc, sb, sr, sc in R.pairs]
    rest = [(b, r.start, c.start, r.stop - r.start, c.stop - c.start) for b, r, c in R.rest]
    return (2, nonempty(C.N_B, C.S), empty3, np.array(pairs, np.int64).reshape(-1, 8),
            np.array(rest, np.int64).reshape(-1, 5))


def contiguous_blocks(st, names, S):
    """The stored-array tuples st.<name> for a kernel, each array C-contiguous float64 (numba
    indexes a tuple of arrays only when they share one type); a copy replaces a state array that
    is not, so the kernel updates the state in place (block_loops.nonempty for a matrix without
    stored blocks, and for a state variable that is None: LWPP without dWPP_low_pass)."""
    from .block_loops import nonempty
    out = []
    for name in names:
        arrays = getattr(st, name)
        if arrays is None:
            out.append(nonempty((), S))
            continue
        if not all(a.flags.c_contiguous and a.dtype == np.float64 for a in arrays):
            arrays = tuple(np.ascontiguousarray(a, dtype=np.float64) for a in arrays)
            setattr(st, name, arrays)
        out.append(nonempty(arrays, S))
    return tuple(out)


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
#: network steps of a closed-loop chunk at most (its pre-drawn resets: 2 x 4 doubles per action)
CLOSED_LOOP_CHUNK = 1 << 14


def run_phase(ens, mon, X, Y, nudge, phase, mse_sink=None, capture=None, capture_rate=True, watch=None):
    """protocol.run_phase on the compiled kernel of ens's model (same arguments, same results
    within rounding): one call, in which the kernel takes the monitor's records (kernel_record), or,
    for a monitor that needs Python (a computed variable), chunks of steps up to each record."""
    from ..protocol import CHECK_EVERY
    from . import kernel_record
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
    plan = kernel_record.plan(ens, mon)
    t = 0
    with np.errstate(invalid="ignore", over="ignore"):
        if plan is not None:            # one call; the kernel takes the records (kernel_record)
            rec, steps, rows = plan.start(mon, S, n)
            model.compiled_phase(C, st, 0, n, X, Yc, has_y, nudge, phase, want_mse, mse_mode, mse_out, cap_mode,
                                 cap_out, step0, check_every, found, det, rec=rec)
            _swap_buffers(model, st, n)
            plan.finish(ens, mon, steps, rows, n, X, Y if has_y else None)
            t = n
        while t < n:                    # chunks up to each record, taken in Python (Monitor.tick)
            m = min(n - t, mon.every - mon.counter)
            model.compiled_phase(C, st, t, m, X, Yc, has_y, nudge, phase, want_mse, mse_mode, mse_out,
                                 cap_mode, cap_out, step0 + t if watch is not None else -1, check_every,
                                 found, det)
            _swap_buffers(model, st, m)
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


def closed_loop(ens, mon, rngs, rescale, dt, sub, cart, logs):
    """The loop of closed_loop.cartpole_test on the compiled kernel (same arguments; cart: the
    start states (S, 4), advanced in place; logs: the arrays it fills, same values within
    rounding): the kernel runs each seed's network and cart-pole (loops._k_cl_begin, _k_cl_end) in
    chunks of at most CLOSED_LOOP_CHUNK steps. The resets a chunk may need are drawn ahead from each
    seed's generator, which is then rewound and advanced by the draws used, so that it ends where
    the step-by-step loop leaves it. The kernel takes the monitor's records (kernel_record; else
    the chunks also end at each record)."""
    from ..closed_loop import STEPS_PER_ACTION as spa, reset_state
    from ..state import CLOSED_LOOP
    from . import kernel_record
    model, C, st = ens.model, ens.c, ens.state
    jit_module(model)
    plan = kernel_record.plan(ens, mon)
    S, n0, n_out = C.S, C.lay.n0, C.lay.n_out
    found, det = np.zeros(S, np.bool_), np.full((S, 3), -1, np.int64)
    total, k = (logs[0].shape[1] - 1) * spa, 0
    with np.errstate(invalid="ignore", over="ignore"):
        while k < total:
            m = min(total - k, CLOSED_LOOP_CHUNK if plan is not None else mon.every - mon.counter, CLOSED_LOOP_CHUNK)
            n_draw = 2 * (m // spa) + 3                  # resets in m steps: at most 2 per action
            saved = [r.get_state() for r in rngs]
            pool = np.stack([reset_state(r, n_draw) for r in rngs])
            used, X = np.zeros(S, np.int64), np.empty((S, m, n0))
            cl = (1, k, sub, n0 + C.lay.out.start, spa, float(rescale), float(dt), cart, pool, used, *logs)
            rec = None
            if plan is not None:                         # the kernel takes the records (kernel_record)
                rec, steps, rows = plan.start(mon, S, m)
            model.compiled_phase(C, st, 0, m, X, np.zeros((S, m, n_out)), False, False, CLOSED_LOOP, False, 0,
                                 np.empty((S, 0)), 0, np.empty((S, 0, n_out)), -1, 0, found, det, cl=cl, rec=rec)
            _swap_buffers(model, st, m)
            for r, state, n in zip(rngs, saved, used):
                r.set_state(state)
                r.rand(int(n), 4)
            if plan is not None:
                plan.finish(ens, mon, steps, rows, m, X, None)
            else:
                mon.counter += m - 1
                mon.tick(ens, X[:, m - 1], None)
            k += m


def _swap_buffers(model, st, n):
    """After n compiled steps: the kernel's buffer swaps (once per step) of the models that
    declare them in SWAPS (the others swap themselves in compiled_phase)."""
    if n % 2:
        for a, b in getattr(model, "SWAPS", ()):
            va, vb = getattr(st, a), getattr(st, b)
            setattr(st, a, vb)
            setattr(st, b, va)


def transposed_refresh_arrays(C):
    """(mode, N_B, mask) of a dense transposed BP refresh B = W_view^T * mask + N (sacramento2018,
    dPC, ann): mode 0 without BP (N_B and mask then unused placeholders)."""
    lay, S = C.lay, C.S
    if C.refresh is None:
        empty3 = np.zeros((S, 1, 1))
        return 0, empty3, empty3
    (r, c), mask = C.refresh[1], np.ascontiguousarray(C.refresh[2])
    assert r.start == 0 and c.start == lay.n0 and mask.shape[1:] == (lay.NPh, lay.NP)
    return 1, np.ascontiguousarray(C.N_B[0]), mask


def transposed_refresh_rows(C):
    """transposed_refresh_arrays with N_B and mask in W_PP's shape (like_W), for the kernels that
    keep B_PP transposed in W_PP's shape (ann, sacramento2018, dPC) and loop over W_PP's row spans."""
    assert B_from_W_spans(C), "B_PP's blocks are not W_PP's past the inputs, transposed"
    mode, N_B, mask = transposed_refresh_arrays(C)
    n0 = C.lay.n0
    return (mode, like_W(N_B, n0), like_W(mask, n0)) if mode else (mode, N_B, mask)


def B_from_W_spans(C):
    """Whether B_PP's populated entries (i, j) are those of W_PP's rows past the inputs, (j, n0 + i):
    the kernel then keeps B_PP transposed in W_PP's shape and loops over W_PP's row spans."""
    lay = C.lay
    in_B = np.zeros((lay.NPh, lay.NP), bool)
    for i, (lo, hi) in enumerate(C.B.row_spans()):
        in_B[i, lo:hi] = True
    from_W = np.zeros_like(in_B)
    for j, (lo, hi) in enumerate(C.WPP.row_spans()):
        if lo >= lay.n0:
            from_W[lo - lay.n0:hi - lay.n0, j] = True
    return bool((in_B == from_W).all())


def BPI_from_B_spans(C):
    """Whether B_PI's populated entries (i, j) are B_PP's (i, n1 + j), n1 the first hidden layer's
    size (sacramento2018: the refresh B_PI = -B_PP[:, n1:] then writes exactly B_PI's blocks)."""
    n1, spB, spPI = C.lay.p_sizes[0], C.B.row_spans(), C.BPI.row_spans()
    return all((hi - lo == 0 and b1 - b0 == 0) or (lo + n1, hi + n1) == (b0, b1)
               for (lo, hi), (b0, b1) in zip(spPI, spB))


def like_W(a, n0):
    """An (S, NPh, NP) array of B_PP's shape transposed into W_PP's (S, NP, n0 + NP):
    out[:, j, n0 + i] = a[:, i, j] (the rest 0, never read)."""
    S, NPh, NP = a.shape
    out = np.zeros((S, NP, n0 + NP))
    out[:, :, n0:n0 + NPh] = a.transpose(0, 2, 1)
    return out


def sample_updates(ens, X, Y, T):
    """The --compare BP pass of one recorded weight set on the compiled kernel: every seed driven
    through X with target nudging under the COMPARE phase (dW_PP computed, not applied); returns
    dW_PP at the end of every sample, [(S, len(X[0]) // T, rows, cols)] (numpy_model.analysis.
    compare.sample_updates on numpy)."""
    from ..state import COMPARE
    model, C, st = ens.model, ens.c, ens.state
    jit_module(model)
    S, n = X.shape[0], X.shape[1]
    shapes = [a.shape[1:] for a in st.dWPP]
    out = np.empty((S, n // T, sum(r * c for r, c in shapes)))
    with np.errstate(invalid="ignore", over="ignore"):
        model.compiled_phase(C, st, 0, n, np.ascontiguousarray(X, dtype=float),
                             np.ascontiguousarray(Y, dtype=float), True, True, COMPARE, False, 0,
                             np.empty((S, 0)), 0, out, -1, 0, np.zeros(S, np.bool_),
                             np.full((S, 3), -1, np.int64), dw_every=T)
    _swap_buffers(model, st, n)
    ends = np.cumsum([0] + [r * c for r, c in shapes])
    return [out[:, :, a:b].reshape((S, n // T) + shape) for a, b, shape in zip(ends[:-1], ends[1:], shapes)]
