"""Shared pieces of every model (docs/model.md §3): lookahead, Euler increment, batched products
over the seed axis, and weights stored as their populated blocks.

Block storage. A weight matrix over all units of two populations (post rows x pre columns) is
kept as a tuple of stored arrays of shape (S, rows, cols), one per populated block, each with its
place in the full matrix (a `Blocks` layout) and one learning rate dt*eta per block. Products
touch only what is stored, and a rank-1 update is written in place into a preallocated buffer.
Small nets keep one dense block over the whole matrix (then the learning rate is a 0/1-structured
matrix, as the published per-layer rates are), because there one NumPy call per matrix beats one
per layer; `dense_below` decides, from the per-seed sizes only, so the choice never depends on S.

Every product keeps the published grouping of its factors; summation order inside a dot product
is BLAS's (docs/model.md §0, "float evaluation order").
"""
import os
from dataclasses import dataclass

import numpy as np

# Batched matrix-vector product over the seed axis: (S, a, b), (S, b) -> (S, a). numpy >= 2.2 has
# it as one gufunc (the same kernel and numbers as matmul, less call overhead).
if hasattr(np, "matvec"):
    mv = np.matvec
else:                                             # pragma: no cover - numpy < 2.2
    def mv(W, v, out=None):
        r = np.matmul(W, v[..., None])[..., 0]
        if out is None:
            return r
        out[...] = r
        return out

#: a matrix with at most this many entries per seed is stored as one dense block
DENSE_ENTRIES = 2048
#: "auto" (by size), "dense" or "blocks": the environment variable NUMPY_MODEL_WEIGHT_STORAGE
#: forces one storage for every matrix (the tests run both; the numbers agree within an ulp)
STORAGE_ENV = "NUMPY_MODEL_WEIGHT_STORAGE"


def storage():
    value = os.environ.get(STORAGE_ENV, "auto")
    if value not in ("auto", "dense", "blocks"):
        raise ValueError(f"{STORAGE_ENV}={value!r}: expected auto, dense or blocks")
    return value


def lookahead(u, u_old, tau, dt, out=None):
    """Prospective voltage u_breve = u_old + (tau (u - u_old)) / dt (§3)."""
    return np.add(u_old, (tau * (u - u_old)) / dt, out=out)


def euler_increment(drive, u, tau_drive, tau_div, dt):
    """Delta u = dt ((tau D - u) / tau) (§3); tau_drive differs from tau_div only for the
    sacramento2018/dPC output without a target (quirk §12.5)."""
    return dt * ((tau_drive * drive - u) / tau_div)


def outer(a, b):
    """Batched outer product (S, .., m), (S, .., n) -> (S, .., m, n); each entry is the single
    product a_i b_j."""
    return np.multiply(a[..., :, None], b[..., None, :])


@dataclass(frozen=True)
class Blocks:
    """Where the stored arrays of one weight matrix sit in the full (rows x cols) matrix.

    `stored[b]` = (row slice, column slice) of stored array b; `views[k]` = (b, row slice,
    column slice inside array b) of the published per-layer block k (what is recorded/saved)."""
    shape: tuple
    stored: tuple
    views: tuple

    @classmethod
    def of(cls, shape, layer_blocks, dense=None):
        """Layout for the per-layer blocks `layer_blocks` = [(row slice, col slice)] of a
        (rows x cols) matrix: one array per block, or one dense array if `dense` (default: when
        the matrix is small)."""
        if dense is None:
            mode = storage()
            dense = mode == "dense" or (mode == "auto" and shape[0] * shape[1] <= DENSE_ENTRIES)
        if dense:
            full = (slice(0, shape[0]), slice(0, shape[1]))
            return cls(tuple(shape), (full,), tuple((0, r, c) for r, c in layer_blocks))
        rows = [r for r, _ in layer_blocks]
        assert all(a.stop <= b.start or b.stop <= a.start for i, a in enumerate(rows) for b in rows[i + 1:]), \
            "per-block storage needs one block per row range"
        return cls(tuple(shape), tuple(layer_blocks),
                   tuple((k, slice(None), slice(None)) for k in range(len(layer_blocks))))

    @property
    def dense(self):
        return len(self.stored) == 1 and self.stored[0] == (slice(0, self.shape[0]), slice(0, self.shape[1]))

    def zeros(self, S):
        return tuple(np.zeros((S, r.stop - r.start, c.stop - c.start)) for r, c in self.stored)

    def from_layers(self, S, arrays):
        """Stored arrays from per-layer (S, ...) arrays (the published lists)."""
        W = self.zeros(S)
        self.set_layers(W, arrays)
        return W

    def set_layers(self, W, arrays):
        for (b, r, c), a in zip(self.views, arrays):
            W[b][:, r, c] = a

    def layers(self, W):
        """Per-layer views (S, .., n_post, n_pre) of the stored arrays."""
        return [W[b][..., r, c] for b, r, c in self.views]

    def full(self, W):
        """The whole (S, rows, cols) matrix (for tests and analyses; never in the time loop)."""
        out = np.zeros((W[0].shape[0],) + self.shape)
        for (r, c), a in zip(self.stored, W):
            out[:, r, c] = a
        return out

    def lr(self, S, rates):
        """Per stored array: the learning rate dt*eta of each per-layer block, as a scalar for a
        per-block array, or as a (S, rows, cols) matrix of the block rates for a dense one."""
        if not self.dense:
            return tuple(float(x) for x in rates)
        m = np.zeros(self.shape)
        for (_, r, c), x in zip(self.views, rates):
            m[r, c] = x
        return (np.broadcast_to(m, (S,) + m.shape).copy(),)

    def locate(self, r0, c0, nr, nc, missing_ok=False):
        """(stored array, row slice, col slice) holding full-matrix rows r0 .. r0+nr and columns
        c0 .. c0+nc; None if no stored array does and `missing_ok` (a structurally zero block)."""
        for b, (r, c) in enumerate(self.stored):
            if r.start <= r0 and r0 + nr <= r.stop and c.start <= c0 and c0 + nc <= c.stop:
                return b, slice(r0 - r.start, r0 - r.start + nr), slice(c0 - c.start, c0 - c.start + nc)
        if missing_ok:
            return None
        raise ValueError(f"no stored block of a {self.shape} matrix holds rows {r0}..{r0 + nr - 1}, "
                         f"columns {c0}..{c0 + nc - 1}")

    def row_spans(self):
        """int64 (rows, 2): per row of the full matrix, the [first, last + 1) column of the
        per-layer blocks in that row ((0, 0) for a row without one). A compiled kernel over a
        dense matrix runs its row loops over these spans only: the entries outside them are
        structural zeros (zero at start, zero learning rate), whose products add nothing."""
        span = np.zeros((self.shape[0], 2), np.int64)
        span[:, 0] = self.shape[1]
        for b, r, c in self.views:
            R, C = self.stored[b]
            rows = range(self.shape[0])[R][r]
            cols = range(self.shape[1])[C][c]
            if len(rows) and len(cols):
                span[rows.start:rows.stop, 0] = np.minimum(span[rows.start:rows.stop, 0], cols.start)
                span[rows.start:rows.stop, 1] = np.maximum(span[rows.start:rows.stop, 1], cols.stop)
        span[span[:, 1] == 0, 0] = 0
        return span


def matvec(W, blocks, v, out):
    """out = W v over the stored blocks (rows no block covers stay as they are: zero)."""
    for a, (r, c) in zip(W, blocks.stored):
        mv(a, v[:, c], out=out[:, r])
    return out


def vecmat_T(BT, blocks, r, out):
    """out = B r with B stored transposed: out[cols] = r[rows] @ B^T[rows, cols]."""
    for a, (rr, cc) in zip(BT, blocks.stored):
        np.matmul(r[:, None, rr], a, out=out[:, None, cc])
    return out


def rank1(dW, blocks, post, pre, lr):
    """dW = (post pre^T) * lr, in place in the preallocated buffers dW (§4.4.1)."""
    for d, (r, c), rate in zip(dW, blocks.stored, lr):
        np.multiply(post[:, r, None], pre[:, None, c], out=d)
        np.multiply(d, rate, out=d)
    return dW


def rank1_add(W, blocks, post, pre, lr):
    """W += lr post pre^T per stored block and seed, in one BLAS ger pass (per-block storage):
    (lr post_i) pre_j instead of (post_i pre_j) lr, a regrouping within an ulp (§4.4.1)."""
    from scipy.linalg.blas import dger        # here: scipy.linalg takes 0.2 s to import
    for a, (r, c), rate in zip(W, blocks.stored, lr):
        for s in range(a.shape[0]):
            out = dger(rate, pre[s, c], post[s, r], a=a[s].T, overwrite_a=True)
            if not np.shares_memory(out, a):          # never silently update a copy
                a[s] = out.T


def add_into(W, dW):
    for a, d in zip(W, dW):
        a += d


def copy_into(W, src):
    for a, b in zip(W, src):
        np.copyto(a, b)


def scale_diff(W, I, lr, out):
    """out = lr * (W - I) per stored array (the errormc lateral decay towards identity, §4.4.2)."""
    for o, a, i, rate in zip(out, W, I, lr):
        np.multiply(rate, a - i, out=o)
    return out


@dataclass(frozen=True)
class Transposes:
    """BP backward weights B = N + W^T on the overlap of each block pair (§4.1 step 6, §4.4.3).

    `pairs` = [(dst array, dst rows, dst cols, src array, src rows, src cols)]: the dst sub-block
    becomes N + (src sub-block)^T, or N + src when B is stored transposed (`transpose` False:
    a contiguous add). `rest` = [(array, rows, cols)]: the parts of the populated blocks that no
    pair covers (error and representation sizes differ); they are set to N at every refresh,
    as the published refresh rebuilds B from N (the initial B may hold other noise there)."""
    pairs: tuple
    transpose: bool = True
    rest: tuple = ()

    def refresh(self, B, N, W):
        for b, r, c in self.rest:
            np.copyto(B[b][:, r, c], N[b][:, r, c])
        for db, dr, dc, sb, sr, sc in self.pairs:
            src = W[sb][:, sr, sc]
            np.add(N[db][:, dr, dc], np.swapaxes(src, 1, 2) if self.transpose else src,
                   out=B[db][:, dr, dc])


def masked_transpose(B, N, W_T, mask):
    """Dense BP refresh B = W_T * mask + N, W_T a transposed view of the forward weights and mask
    the 0/1 pattern of the populated blocks (exact: 0 * w adds 0)."""
    np.multiply(W_T, mask, out=B)
    B += N
