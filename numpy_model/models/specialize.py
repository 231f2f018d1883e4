"""Size-specialised kernels (the `specialize` params key): a training phase's kernel compiled for
one net's sizes, which the compiler then knows as constants (loop bounds, switches), so a small
net's short loops become straight-line code. Same arithmetic in the same order: the same numbers
bit for bit as the general kernel.

How: a kernel takes a key K, () or size_key(dims): a tuple of tuples whose *lengths* are the
sizes. numba types a tuple by its length, so each key is a type of its own, dispatched and cached
on disk like any other; the kernel starts with `if not loops.same_dims(K, dims): return False`,
whose compiled version (register_same_dims) compares dims with K's lengths as a constant tuple, so
after it every entry of dims is that constant. `numba.literally` would do the same through
numba's slow dispatch path (ms per call); this key costs a few us.
"""


_REGISTERED = []


def register_same_dims(numba):
    """The compiled loops.same_dims: `dims == lengths of K`, the lengths a constant tuple taken
    from K's type (an empty K: True); once per process."""
    from numba.extending import overload
    if _REGISTERED:
        return
    _REGISTERED.append(True)
    from .loops import same_dims

    @overload(same_dims)
    def _same_dims(K, dims):
        lengths = tuple(len(k) - 1 for k in K.types) if len(K) else None
        if lengths is None:
            return lambda K, dims: True
        return lambda K, dims: dims == lengths


#: a kernel specialised for its sizes takes sizes up to this (larger nets are bound by their
#: weights, not by loop overhead)
SPECIALIZE_MAX = 128
#: specialize "auto": runs that train at least this many seed-steps (S x training steps); below,
#: the extra compile (5-35 s, once per net, model and machine: it is cached) would not pay back
SPECIALIZE_MIN_WORK = 1e8
SPECIALIZE = ("auto", "always", "never")


def size_key(dims):
    """The key of a kernel specialised for the ints `dims` (each >= -1, e.g. a -1 switch): a
    tuple of tuples of lengths dims + 1. numba types a tuple by its length, so every key compiles
    (and caches on disk) a kernel of its own, in which loops.same_dims makes each entry of dims a
    constant."""
    return tuple((0,) * (int(v) + 1) for v in dims)


def kernel_key(C, phase, dims, *args):
    """The key a phase's kernel runs with: size_key(dims(*args)) for a training phase (W_PP
    applied) of constants marked `specialize` whose dims are all within -1 .. SPECIALIZE_MAX, else
    () (the one general kernel). dims: the model's `_kernel_dims`, called (as Python, also when
    compiled) only then."""
    if not (C.specialize and phase.fw):
        return ()
    values = getattr(dims, "py_func", dims)(*args)
    key = _KEYS.get(values)
    if key is None:
        values = tuple(int(v) for v in values)
        small = max(values, default=0) <= SPECIALIZE_MAX and min(values, default=0) >= -1
        key = _KEYS[values] = size_key(values) if small else ()
    return key


_KEYS = {}      # kernel_key's keys by their dims (building one walks every length)


def choose(ens, mode, work):
    """The ensemble marked to run its training phase on a size-specialised kernel (kernel_key):
    mode "always", or "auto" when it trains at least SPECIALIZE_MIN_WORK seed-steps (`work`); only
    on numba, for a net whose weights are each stored as one dense array."""
    if mode not in SPECIALIZE:
        raise ValueError(f"specialize {mode!r}: expected one of {', '.join(SPECIALIZE)}")
    from . import MODELS
    from .kernels import Blocks
    C = ens.c
    small = all(v.dense for v in vars(C).values() if isinstance(v, Blocks))
    able = C.backend == "numba" and small and getattr(MODELS[C.kind], "SIZE_SPECIALISED", False)
    on = able and (mode == "always" or mode == "auto" and work >= SPECIALIZE_MIN_WORK)
    return ens.vary(specialize=bool(on))


def check_ran(ok):
    """A kernel returns False when its key does not hold its sizes (a bug: kernel_key builds it
    from the same arguments); never run on silently."""
    if not ok:
        raise RuntimeError("internal error: a specialised kernel was called with a key that does not match "
                           "its arguments (please report it)")
