"""Block layout of a network: all units of a population concatenated, weights as block matrices.

Index conventions (0-based layer list index k = neuron layer k+1, docs/model.md §0):
  P units  : concat(uP[0..L-2])                      size NP = sum(layers[1:])
  full rate: concat(x, rP[0..L-2])                   size N  = n0 + NP (columns of WPP)
  I units  : errormc error units e[1:], sacramento2018/dPC interneurons layers[2:], ann layers[1:]
  apical   : errormc all P layers; sacramento2018/dPC hidden P layers (NPh = NP - n_out)
"""
import numpy as np


def offsets(sizes):
    """[0, sizes[0], sizes[0] + sizes[1], ...] as ints (a Python loop: called per record)."""
    out = [0]
    for v in sizes:
        out.append(out[-1] + int(v))
    return out


class Layout:
    def __init__(self, kind, layers, error_layers, m_sizes):
        self.kind = kind
        self.layers = list(layers)
        self.error_layers = list(error_layers)
        self.L = len(layers)
        self.n0 = layers[0]
        self.p_sizes = list(layers[1:])
        self.p_off = offsets(self.p_sizes)
        self.NP = self.p_off[-1]
        self.N = self.n0 + self.NP
        self.n_out = layers[-1]
        self.NPh = self.NP - self.n_out
        self.i_sizes = list(m_sizes)
        self.i_off = offsets(self.i_sizes)
        self.NI = self.i_off[-1]
        self.out = slice(self.NP - self.n_out, self.NP)
        self.i_out = slice(self.NI - self.i_sizes[-1], self.NI) if self.i_sizes else slice(0, 0)

    def p(self, k):
        return slice(self.p_off[k], self.p_off[k + 1])

    def i(self, k):
        return slice(self.i_off[k], self.i_off[k + 1])

    def pre_cols(self, k):
        """Columns of the full rate vector read by forward block k (input for k = 0)."""
        if k == 0:
            return slice(0, self.n0)
        return slice(self.n0 + self.p_off[k - 1], self.n0 + self.p_off[k])

    def full_cols(self, j):
        """Columns of neuron layer j (0 = input) in the full rate vector."""
        return slice(0, self.n0) if j == 0 else self.pre_cols(j)

    def split(self, vec, sizes=None):
        sizes = self.p_sizes if sizes is None else sizes
        off = offsets(sizes)
        return [vec[..., off[k]:off[k + 1]] for k in range(len(sizes))]


def gather_T(dst_shape, pairs):
    """Flat (dst, src) index arrays for dst[r0+a, c0+b] = src[sr0+b, sc0+a] over the given
    blocks `pairs` = [(r0, c0, sr0, sc0, nrows, ncols)], src given with its column count."""
    dst, src = [], []
    for (r0, c0, sr0, sc0, nr, nc, src_cols) in pairs:
        a, b = np.meshgrid(np.arange(nr), np.arange(nc), indexing="ij")
        dst.append(((r0 + a) * dst_shape[1] + (c0 + b)).ravel())
        src.append(((sr0 + b) * src_cols + (sc0 + a)).ravel())
    if not dst:
        return np.zeros(0, int), np.zeros(0, int)
    return np.concatenate(dst), np.concatenate(src)
