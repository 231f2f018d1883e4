"""Scalar loops over weights stored as blocks (kernels.Blocks), shared by the compiled kernels.

A weight matrix reaches a kernel as a tuple of its stored (S, rows, cols) arrays plus an int64
(nb, 2) array `offs` of where each sits in the full matrix (row start, column start); a dense
matrix is one block at (0, 0). Only stored entries are read or written, as in the NumPy step
(kernels.matvec, Transposes.refresh, rank1). Compiled with the loops of numpy_model.models.loops
by `compiled.jit_module`. Every loop runs over row views with plain range indices (an offset
index would make numba check for negative indices and keep the compiler from vectorising).
Every expression keeps the grouping of the NumPy step it mirrors; sums run over their index in
order, except dot products of rows of at least DOT_VECTOR entries: `_kbf_dot` is compiled with
reassociation allowed (and nothing else of fastmath: no FMA contraction), so that it runs in
vector registers like BLAS's, a regrouping within rounding as BLAS's is (docs/model.md §0).
"""
import numpy as np

from .loops import _k_matvec, _k_peak, _k_peak_rows, _k_put

#: rows at least this long are summed by the vectorised `_kbf_dot`
DOT_VECTOR = 128


def offsets(blocks):
    """The int64 (nb, 2) (row start, column start) of every stored array of a Blocks layout (a
    layout with none stores one empty placeholder array, see `nonempty`)."""
    return np.array([(r.start, c.start) for r, c in blocks.stored] or [(0, 0)], dtype=np.int64)


def nonempty(arrays, S):
    """A tuple of stored arrays for a kernel: numba cannot index an empty tuple, so a matrix with
    no stored block (the B_II of a 2-layer net) passes one empty (S, 0, 0) array."""
    return tuple(arrays) if len(arrays) else (np.zeros((S, 0, 0)),)


def _kbf_dot(w, x):
    """sum_j w_j x_j of two 1-D views, reassociated by the compiler (vector partial sums)."""
    acc = 0.0
    for j in range(w.shape[0]):
        acc += w[j] * x[j]
    return acc


def _kb_dot(w, x):
    """sum_j w_j x_j of two 1-D views of one length: in order for short rows, else `_kbf_dot`."""
    if w.shape[0] >= DOT_VECTOR:
        return _kbf_dot(w, x)
    acc = 0.0
    for j in range(w.shape[0]):
        acc += w[j] * x[j]
    return acc


def _kb_rows(W, x, out, mul):
    """out = W x (mul: times out) for one stored array and views x, out of its columns and rows:
    long rows by `_kbf_dot`, short ones in order by loops._k_matvec (four rows at a time)."""
    if W.shape[1] >= DOT_VECTOR:
        for i in range(W.shape[0]):
            _k_put(out, i, _kbf_dot(W[i], x), mul)
    else:
        _k_matvec(W, x, out, mul)


def _kb_matvec(Ws, offs, nb, s, x, out, mul):
    """out[rows of b] = W_b x[cols of b] (mul: times out) for the first nb stored arrays of seed s."""
    for b in range(nb):
        W = Ws[b][s]
        n, m = W.shape
        _kb_rows(W, x[offs[b, 1]:offs[b, 1] + m], out[offs[b, 0]:offs[b, 0] + n], mul)


def _kb_vecmat(x, Bs, offs, s, out):
    """out[cols of b] = x[rows of b] B_b (B_b the stored transpose of a backward block), row by
    row: every sum over the rows in order, each step a contiguous vector update."""
    for b in range(len(Bs)):
        B = Bs[b][s]
        n, m = B.shape
        xs, o = x[offs[b, 0]:offs[b, 0] + n], out[offs[b, 1]:offs[b, 1] + m]
        for j in range(m):
            o[j] = 0.0
        for i in range(n):
            xi, row = xs[i], B[i]
            for j in range(m):
                o[j] += xi * row[j]


def _kb_forward_pass(plastic, fw, keep, Ws, dWs, offs, s, r, r_prev, post, dense_lr, lr_mat, lr_blk,
                     vbas, refresh, Bs, n0):
    """One pass over the stored W_PP of seed s, row by row: v_bas = W_PP r from the pre-update
    row; in a plastic step, first the BP refresh of the B_II^T row it is the source of (from the
    pre-update row), then dW = (post r_prev^T) * (dt eta) (kept in dWs when `keep`) and, when `fw`,
    W += dW (docs/model.md §4.4.1, §4.4.3). The rate dt eta is the (S, rows, cols) lr_mat of a
    dense matrix (dense_lr), else one lr_blk[b] per stored array. Short rows (a small net): each
    job over the whole array in turn (the same numbers)."""
    for b in range(len(Ws)):
        W, dW = Ws[b][s], dWs[b][s]
        n, m = W.shape
        r0, c0 = offs[b, 0], offs[b, 1]
        x, x_prev, v, p = r[c0:c0 + m], r_prev[c0:c0 + m], vbas[r0:r0 + n], post[r0:r0 + n]
        if m < DOT_VECTOR:             # short rows (small nets): whole-array loops, all in L1
            _kb_rows(W, x, v, False)
            if plastic:
                _kb_refresh_block(refresh, Bs, W, b, s, n0)
                _kb_rank1_block(W, dW, p, x_prev, dense_lr, lr_mat[s], lr_blk[b], keep, fw)
            continue
        for i in range(n):
            v[i] = _kbf_dot(W[i], x)
            if not plastic:
                continue
            _kb_refresh_row(refresh, Bs, W, b, i, s, n0)
            if dense_lr:
                _kb_rank1_row(W[i], dW[i], p[i], x_prev, lr_mat[s, i], keep, fw)
            else:
                _kb_rank1_row_scalar(W[i], dW[i], p[i], x_prev, lr_blk[b], keep, fw)


def _kb_rank1_block(W, dW, p, x, dense_lr, lr, rate, keep, fw):
    """The forward rule on a whole stored array, row by row (_kb_rank1_row, _kb_rank1_row_scalar)."""
    for i in range(W.shape[0]):
        if dense_lr:
            _kb_rank1_row(W[i], dW[i], p[i], x, lr[i], keep, fw)
        else:
            _kb_rank1_row_scalar(W[i], dW[i], p[i], x, rate, keep, fw)


def _kb_low_pass(on, Ws, dWs, Ls, s, c):
    """dWPP_low_pass (common.apply_forward): L += (dt / tauLO) (dW - L), then W += L, for every
    stored array of seed s (when on)."""
    if not on:
        return
    for b in range(len(Ws)):
        W, dW, L = Ws[b][s], dWs[b][s], Ls[b][s]
        for i in range(W.shape[0]):
            for j in range(W.shape[1]):
                L[i, j] += c * (dW[i, j] - L[i, j])
                W[i, j] += L[i, j]


def _kb_refresh_block(refresh, Bs, W, b, s, n0):
    """_kb_refresh_row for every row of the stored array b of W_PP."""
    for i in range(W.shape[0]):
        _kb_refresh_row(refresh, Bs, W, b, i, s, n0)


def _kb_rank1_row(w, dw, p, x, lr, keep, fw):
    """One row of the forward rule, per-entry rates: d_j = (p x_j) lr_j; dw = d (keep), w += d (fw)."""
    m = w.shape[0]
    if keep and fw:
        for j in range(m):
            d = (p * x[j]) * lr[j]
            dw[j] = d
            w[j] += d
    elif keep:
        for j in range(m):
            dw[j] = (p * x[j]) * lr[j]
    elif fw:
        for j in range(m):
            w[j] += (p * x[j]) * lr[j]


def _kb_rank1_row_scalar(w, dw, p, x, rate, keep, fw):
    """_kb_rank1_row with one rate for the row (a per-block array)."""
    m = w.shape[0]
    if keep and fw:
        for j in range(m):
            d = (p * x[j]) * rate
            dw[j] = d
            w[j] += d
    elif keep:
        for j in range(m):
            dw[j] = (p * x[j]) * rate
    elif fw:
        for j in range(m):
            w[j] += (p * x[j]) * rate


def _kb_refresh_row(refresh, Bs, W, b, i, s, n0):
    """B_II^T from row i of the pre-update stored array b of W_PP (common.bp_refresh): mode 1
    (dense, equal sizes) B^T[i] = W[i, n0:] * mask[i] + N^T[i]; mode 2 by the rectangles `pairs`
    = (dst array, dst row, dst col, src array, src row, src col, rows, cols):
    B^T[dst] = N^T[dst] + W[src] (kernels.Transposes with transpose False)."""
    mode, Ns, mask, pairs, rest = refresh
    if mode == 1:
        B = Bs[0][s]
        if i < B.shape[0]:
            m = B.shape[1]
            dst, noise, w, k = B[i], Ns[0][s][i], W[i, n0:n0 + m], mask[s, i]
            for j in range(m):
                dst[j] = w[j] * k[j] + noise[j]
    elif mode == 2:
        for p in range(pairs.shape[0]):
            sr, nr = pairs[p, 4], pairs[p, 6]
            if pairs[p, 3] != b or i < sr or i >= sr + nr:
                continue
            db, q, dc, sc, nc = pairs[p, 0], pairs[p, 1] + i - sr, pairs[p, 2], pairs[p, 5], pairs[p, 7]
            dst, noise, w = Bs[db][s][q, dc:dc + nc], Ns[db][s][q, dc:dc + nc], W[i, sc:sc + nc]
            for j in range(nc):
                dst[j] = noise[j] + w[j]


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
            dst, noise = B[i, c0:c0 + nc], N[i, c0:c0 + nc]
            for j in range(nc):
                dst[j] = noise[j]


def _kb_lateral(plastic, apply, Ws, Is, s, dense_lr, lr_mat, lr_blk, dWs):
    """A lateral rule per stored array: dW = (dt eta) (W - I) in a plastic phase (kernels.
    scale_diff), W += dW where it is applied (dense_lr: a per-entry rate matrix; else one per array)."""
    if not (plastic or apply):
        return
    for b in range(len(Ws)):
        W, I, dW, lr, rate = Ws[b][s], Is[b], dWs[b][s], lr_mat[s], lr_blk[b] if not dense_lr else 0.0
        n, m = W.shape
        if plastic and dense_lr:
            for i in range(n):
                for j in range(m):
                    dW[i, j] = lr[i, j] * (W[i, j] - I[i, j])
        elif plastic:
            for i in range(n):
                for j in range(m):
                    dW[i, j] = rate * (W[i, j] - I[i, j])
        if apply:
            for i in range(n):
                for j in range(m):
                    W[i, j] += dW[i, j]


def _kb_watch(check_every, step, s, u, Ws, found, det):
    """The divergence check of seed s after `step` (every check_every steps, 0: never): voltages u
    and every stored array of the forward weights Ws (a dense matrix: a 1-tuple); the first
    detection sets found[s] and det[s] = (step, code of u, code of W_PP)."""
    if check_every <= 0 or found[s] or step % check_every != 0:
        return
    cu, cw = _k_peak(u), 0
    for b in range(len(Ws)):
        c = _k_peak_rows(Ws[b][s])
        if c == 1 or (c == 2 and cw == 0):
            cw = c
    if cu != 0 or cw != 0:
        found[s] = True
        det[s, 0] = step
        det[s, 1] = cu
        det[s, 2] = cw


def _kb_capture_dw(every, out, s, t, dWs):
    """dW_PP after step t at the end of every sample (every = steps per sample; 0: off), its stored
    arrays one after the other, row-major, into out[s, t // every] (the --compare BP pass,
    docs/model.md §9.1)."""
    if every > 0 and t % every == every - 1:
        row = t // every
        k = 0
        for b in range(len(dWs)):
            dW = dWs[b][s]
            for i in range(dW.shape[0]):
                for j in range(dW.shape[1]):
                    out[s, row, k] = dW[i, j]
                    k += 1
