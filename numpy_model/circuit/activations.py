"""Activation functions phi(x; s, o) and their nominal derivatives (docs/model.md §2).

Every derivative is the *nominal* one (slope 1, offset 0), whatever slope/offset the forward
activation uses: the published code looks derivatives up by the bare function name (quirk 12.1).
"""
import numpy as np

NAMES = ("linear", "relu", "soft_relu", "logistic", "tanh", "hard_sigmoid")


def phi(name, x, s=None, o=None, out=None):
    """phi(x; s, o) of docs/model.md §2 (table); s/o are None (meaning 1/0, exact) or per-unit arrays.
    `out` (optional) receives the result."""
    if o is not None:
        x = x - o
    if name == "linear":
        if s is None:
            if out is None:
                return x.copy()   # contiguous: a strided view makes the next matmul slow
            out[...] = x
            return out
        return np.multiply(x, s, out=out)
    if name == "relu":
        y = np.maximum(x, 0, out=out if s is None else None)
    elif name == "soft_relu":
        e = np.exp(-10 * x)
        y = np.divide(np.log((1 + e) / e), 10, out=out if s is None else None)
    elif name == "logistic":
        return np.divide(1, 1 + np.exp(-x if s is None else -x * s), out=out)
    elif name == "tanh":
        return np.tanh(x if s is None else x * s, out=out)
    elif name == "hard_sigmoid":
        y = np.maximum(0, np.minimum(1, x / 6 + 1 / 2), out=out if s is None else None)
    elif name == "dms_tanh":   # the DMS script's output nonlinearity tanh((x - 0.5) 20), §7.7
        return np.tanh((x - 0.5) * 20, out=out)
    else:
        raise ValueError(f"unknown activation {name!r}")
    return y if s is None else np.multiply(y, s, out=out)


def dphi(name, x):
    """Nominal derivative phi'(x) with s = 1, o = 0 (§2, quirk 12.1)."""
    if name == "linear":
        return np.ones_like(x)
    if name == "relu":
        return (x > 0).astype(float)
    if name == "soft_relu":
        with np.errstate(over="ignore"):      # exp overflow -> inf -> derivative 0, exactly
            return 1 / (1 + np.exp(-10 * x))
    if name == "logistic":
        sig = 1 / (1 + np.exp(-x))
        return sig * (1 - sig)
    if name == "tanh":
        return 1 - np.tanh(x) ** 2
    if name == "hard_sigmoid":
        z = x / 6 + 1 / 2
        return (z > 0).astype(float) * (1 - z > 0).astype(float)
    raise ValueError(f"unknown activation {name!r}")


class Population:
    """The activation of a population of units (all layers concatenated along the last axis).

    Layers are grouped into runs of equal activation name, so applying phi costs one call per
    run, not one per layer. Slopes/offsets are per-unit arrays, or None when they are exactly 1/0
    everywhere (then they are skipped; (x - 0) * 1 == x in IEEE arithmetic, so this is exact).
    """

    def __init__(self, names, sizes, slope=None, offset=None, d_names=None):
        """names/sizes per layer; slope/offset: per-unit arrays of shape (S, n) or None;
        d_names: the derivative used per layer, if not that of `names` (DMS quirk, §7.7)."""
        self.names = list(names)
        self.d_names = list(d_names) if d_names is not None else None
        self.sizes = list(sizes)
        self.runs = []  # (name, start, stop): consecutive layers sharing an activation
        start = 0
        for name, size in zip(self.names, self.sizes):
            if self.runs and self.runs[-1][0] == name:
                self.runs[-1] = (name, self.runs[-1][1], start + size)
            else:
                self.runs.append((name, start, start + size))
            start += size
        self.slope = None if slope is None or np.all(slope == 1.0) else np.asarray(slope, float)
        self.offset = None if offset is None or np.all(offset == 0.0) else np.asarray(offset, float)

    def __call__(self, x, out=None):
        """phi of every unit; `out` (optional) receives the result."""
        if len(self.runs) == 1:
            return phi(self.runs[0][0], x, self.slope, self.offset, out=out)
        if out is None:
            out = np.empty_like(x)
        for name, a, b in self.runs:
            s = None if self.slope is None else self.slope[..., a:b]
            o = None if self.offset is None else self.offset[..., a:b]
            phi(name, x[..., a:b], s, o, out=out[..., a:b])
        return out

    def d(self, x, y=None):
        """Nominal phi'(x). If `y` is phi(x) itself (same x, no slope/offset) the tanh derivative
        reuses it: 1 - tanh(x)**2 is then computed from identical bits."""
        if self.d_names is not None:
            return Population(self.d_names, self.sizes).d(x)
        if len(self.runs) == 1:
            name = self.runs[0][0]
            if name == "tanh" and y is not None and self.slope is None and self.offset is None:
                return 1 - y ** 2
            return dphi(name, x)
        out = np.empty_like(x)
        for name, a, b in self.runs:
            out[..., a:b] = dphi(name, x[..., a:b])
        return out
