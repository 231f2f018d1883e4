"""Scalar loops over weights stored as blocks (kernels.Blocks), shared by the compiled kernels.

A weight matrix reaches a kernel as a tuple of its stored (S, rows, cols) arrays plus an int64
(nb, 2) array `offs` of where each sits in the full matrix (row start, column start); a dense
matrix is one block at (0, 0). Only stored entries are read or written, as in the NumPy step
(kernels.matvec, Transposes.refresh, rank1). Compiled with the loops of numpy_model.models.loops
by `compiled.jit_module`; every expression keeps the grouping of the NumPy step it mirrors and
every sum runs over its index in order (docs/model.md §0).
"""
import numpy as np

from .loops import _k_peak


def offsets(blocks):
    """The int64 (nb, 2) (row start, column start) of every stored array of a Blocks layout (a
    layout with none stores one empty placeholder array, see `nonempty`)."""
    return np.array([(r.start, c.start) for r, c in blocks.stored] or [(0, 0)], dtype=np.int64)


def nonempty(arrays, S):
    """A tuple of stored arrays for a kernel: numba cannot index an empty tuple, so a matrix with
    no stored block (the B_II of a 2-layer net) passes one empty (S, 0, 0) array."""
    return tuple(arrays) if len(arrays) else (np.zeros((S, 0, 0)),)


def _kb_matvec(Ws, offs, nb, s, x, out, mul):
    """out[rows of b] = W_b x[cols of b] (mul: times out) for the first nb stored arrays of seed s;
    four rows at a time, so that four independent sums are in flight."""
    for b in range(nb):
        W = Ws[b][s]
        r0, c0 = offs[b, 0], offs[b, 1]
        n, m = W.shape
        for q in range(n // 4):
            i = 4 * q
            a0 = a1 = a2 = a3 = 0.0
            for j in range(m):
                xj = x[c0 + j]
                a0 += W[i, j] * xj
                a1 += W[i + 1, j] * xj
                a2 += W[i + 2, j] * xj
                a3 += W[i + 3, j] * xj
            _kb_put(out, r0 + i, a0, mul)
            _kb_put(out, r0 + i + 1, a1, mul)
            _kb_put(out, r0 + i + 2, a2, mul)
            _kb_put(out, r0 + i + 3, a3, mul)
        for i in range(n - n % 4, n):
            a = 0.0
            for j in range(m):
                a += W[i, j] * x[c0 + j]
            _kb_put(out, r0 + i, a, mul)


def _kb_put(out, i, a, mul):
    if mul:
        out[i] = a * out[i]
    else:
        out[i] = a


def _kb_vecmat(x, Bs, offs, s, out):
    """out[cols of b] = x[rows of b] B_b (B_b the stored transpose of a backward block), every
    sum over the rows in order; four columns at a time."""
    for b in range(len(Bs)):
        B = Bs[b][s]
        r0, c0 = offs[b, 0], offs[b, 1]
        n, m = B.shape
        for q in range(m // 4):
            j = 4 * q
            a0 = a1 = a2 = a3 = 0.0
            for i in range(n):
                xi = x[r0 + i]
                a0 += xi * B[i, j]
                a1 += xi * B[i, j + 1]
                a2 += xi * B[i, j + 2]
                a3 += xi * B[i, j + 3]
            out[c0 + j], out[c0 + j + 1], out[c0 + j + 2], out[c0 + j + 3] = a0, a1, a2, a3
        for j in range(m - m % 4, m):
            a = 0.0
            for i in range(n):
                a += x[r0 + i] * B[i, j]
            out[c0 + j] = a


def _kb_forward_pass(plastic, fw, keep, Ws, dWs, offs, s, r, r_prev, post, dense_lr, lr_mat, lr_blk,
                     vbas, refresh, Bs, n0):
    """One pass over the stored W_PP of seed s, four rows at a time: v_bas = W_PP r from the
    pre-update rows; in a plastic step, first the BP refresh of the B_II^T rows these rows are the
    source of (from the pre-update rows), then dW = (post r_prev^T) * (dt eta) (kept in dWs when
    `keep`) and, when `fw`, W += dW (docs/model.md §4.4.1, §4.4.3). The rate dt eta is the
    (S, rows, cols) lr_mat of a dense matrix (dense_lr), else one lr_blk[b] per stored array."""
    for b in range(len(Ws)):
        W, dW = Ws[b][s], dWs[b][s]
        r0, c0 = offs[b, 0], offs[b, 1]
        n, m = W.shape
        for i4 in range(0, n, 4):
            k = min(4, n - i4)
            if k == 4:
                a0 = a1 = a2 = a3 = 0.0
                for j in range(m):
                    xj = r[c0 + j]
                    a0 += W[i4, j] * xj
                    a1 += W[i4 + 1, j] * xj
                    a2 += W[i4 + 2, j] * xj
                    a3 += W[i4 + 3, j] * xj
                vbas[r0 + i4], vbas[r0 + i4 + 1], vbas[r0 + i4 + 2], vbas[r0 + i4 + 3] = a0, a1, a2, a3
            else:
                for i in range(i4, i4 + k):
                    a = 0.0
                    for j in range(m):
                        a += W[i, j] * r[c0 + j]
                    vbas[r0 + i] = a
            if not plastic:
                continue
            _kb_refresh_rows(refresh, Bs, W, b, i4, i4 + k, s, n0)
            if not (keep or fw):
                continue
            for i in range(i4, i4 + k):
                p = post[r0 + i]
                if dense_lr:
                    lr = lr_mat[s, i]
                    for j in range(m):
                        d = (p * r_prev[c0 + j]) * lr[j]
                        if keep:
                            dW[i, j] = d
                        if fw:
                            W[i, j] += d
                else:
                    rate = lr_blk[b]
                    for j in range(m):
                        d = (p * r_prev[c0 + j]) * rate
                        if keep:
                            dW[i, j] = d
                        if fw:
                            W[i, j] += d


def _kb_refresh_rows(refresh, Bs, W, b, i0, i1, s, n0):
    """B_II^T from rows i0 .. i1-1 of the pre-update stored array b of W_PP (common.bp_refresh):
    mode 1 (dense, equal sizes) B^T[i] = W[i, n0:] * mask[i] + N^T[i]; mode 2 by the rectangles
    `pairs` = (dst array, dst row, dst col, src array, src row, src col, rows, cols):
    B^T[dst] = N^T[dst] + W[src] (Transposes with transpose False)."""
    mode, Ns, mask, pairs, rest = refresh
    if mode == 1:
        B, N = Bs[0][s], Ns[0][s]
        for i in range(i0, min(i1, B.shape[0])):
            for j in range(B.shape[1]):
                B[i, j] = W[i, n0 + j] * mask[s, i, j] + N[i, j]
    elif mode == 2:
        for p in range(pairs.shape[0]):
            if pairs[p, 3] != b:
                continue
            db, dr, dc, sr, sc, nr, nc = pairs[p, 0], pairs[p, 1], pairs[p, 2], pairs[p, 4], pairs[p, 5], \
                pairs[p, 6], pairs[p, 7]
            B, N = Bs[db][s], Ns[db][s]
            for i in range(max(i0, sr), min(i1, sr + nr)):
                q = dr + i - sr
                for j in range(nc):
                    B[q, dc + j] = N[q, dc + j] + W[i, sc + j]


def _kb_refresh_rest(refresh, Bs, s):
    """The parts of B_II^T no pair covers are N^T at every refresh (kernels.Transposes.rest):
    rectangles (array, row, col, rows, cols)."""
    mode, Ns, mask, pairs, rest = refresh
    if mode != 2:
        return
    for p in range(rest.shape[0]):
        b, r0, c0, nr, nc = rest[p, 0], rest[p, 1], rest[p, 2], rest[p, 3], rest[p, 4]
        B, N = Bs[b][s], Ns[b][s]
        for i in range(r0, r0 + nr):
            for j in range(c0, c0 + nc):
                B[i, j] = N[i, j]


def _kb_lateral(plastic, apply, Ws, Is, s, dense_lr, lr_mat, lr_blk, dWs):
    """A lateral rule per stored array: dW = (dt eta) (W - I) in a plastic phase (kernels.
    scale_diff), W += dW where it is applied (dense_lr: a per-entry rate matrix; else one per array)."""
    if not (plastic or apply):
        return
    for b in range(len(Ws)):
        W, I, dW = Ws[b][s], Is[b], dWs[b][s]
        n, m = W.shape
        for i in range(n):
            for j in range(m):
                if plastic:
                    rate = lr_mat[s, i, j] if dense_lr else lr_blk[b]
                    dW[i, j] = rate * (W[i, j] - I[i, j])
                if apply:
                    W[i, j] += dW[i, j]


def _kb_watch(check_every, step, s, u, Ws, found, det):
    """loops._k_watch over every stored array of the forward weights: the first detection sets
    found[s] and det[s] = (step, code of u, code of W_PP)."""
    if check_every <= 0 or found[s] or step % check_every != 0:
        return
    cu, cw = _k_peak(u), 0
    for b in range(len(Ws)):
        c = _k_peak(Ws[b][s].ravel())
        if c == 1 or (c == 2 and cw == 0):
            cw = c
    if cu != 0 or cw != 0:
        found[s] = True
        det[s, 0] = step
        det[s, 1] = cu
        det[s, 2] = cw


def _kb_capture_dw(every, out, s, t, dWs):
    """loops._k_capture_dw over the stored arrays of dW_PP, one after the other (row-major)."""
    if every > 0 and t % every == every - 1:
        row = t // every
        k = 0
        for b in range(len(dWs)):
            dW = dWs[b][s]
            for i in range(dW.shape[0]):
                for j in range(dW.shape[1]):
                    out[s, row, k] = dW[i, j]
                    k += 1
