"""Initial connectivity: skip/realistic block generators and eta_fw conversion (docs/model.md §5.4, 5.5)."""
import os

import numpy as np

H = 10 ** -0.5  # 0.31622776601683794
Q = 10 ** -1.5  # 0.03162277660168379
_SYMBOLS = {"h": H, "q": Q}


def markov_table():
    """The 7x7 connectivity table C[source][target] (Markov et al. 2014, as used by the paper)."""
    path = os.path.join(os.path.dirname(__file__), "data", "connectivity.csv")
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line and not line.startswith("#"):
                rows.append([_SYMBOLS[v] if v in _SYMBOLS else float(v) for v in line.split(",")])
    return np.array(rows)


def _offsets(sizes):
    return np.concatenate([[0], np.cumsum(sizes)]).astype(int)


def skip_generator(sizes, hier_range, skip_range, rng):
    """Skip generator (§5.4): block matrix M[pre rows, post cols] over groups `sizes`."""
    off = _offsets(sizes)
    m = len(sizes)
    M = np.zeros((off[-1], off[-1]))
    for idx in range(m - 1):
        M[off[idx]:off[idx + 1], off[idx + 1]:off[idx + 2]] = rng.uniform(
            hier_range[0], hier_range[1], (sizes[idx], sizes[idx + 1]))
        M[:off[idx + 1], off[idx + 2]:] = rng.uniform(
            skip_range[0], skip_range[1], (off[idx + 1], off[-1] - off[idx + 2]))
    return M


def realistic_generator(layers, error_layers, w_range, b_range, rng):
    """Realistic generator (§5.4): returns (W_full[post, pre] over all neuron layers incl.
    input, B_full[post, pre] over error layers), both masked by the Markov table."""
    C = markov_table()
    L = len(layers)
    if L - 1 > C.shape[0]:
        raise ValueError("init_realistic_connectivity supports at most 7 neuron layers")
    F = np.zeros((L, L))
    F[1][0] = 1
    for i in range(1, L):
        for j in range(1, L):
            F[i][j] = C[j - 1][i - 1]
    a, b = w_range
    off = _offsets(layers)
    W = np.zeros((off[-1], off[-1]))
    for i in range(L):
        for j in range(L):
            W[off[i]:off[i + 1], off[j]:off[j + 1]] = rng.uniform(
                a * F[i][j], b * F[i][j], (layers[i], layers[j]))
    c, d = b_range
    e = list(error_layers[1:])
    eoff = _offsets(e)
    B = np.zeros((eoff[-1], eoff[-1]))
    for p in range(L - 1):
        for q in range(L - 1):
            B[eoff[p]:eoff[p + 1], eoff[q]:eoff[q + 1]] = rng.uniform(
                c * C[q][p], d * C[q][p], (e[p], e[q]))
    return np.tril(W), np.triu(B)


def convert_eta_fw(eta, method):
    """eta_fw list -> lower-triangular (L-1)x(L-1) matrix E[post-1][pre] (§5.5)."""
    eta = np.asarray(eta, dtype=float)
    if eta.ndim == 2:
        return eta
    P = len(eta)
    if method == "fill_diag":
        return np.tril(np.diag(eta))
    if method == "fill_all":
        return np.tril(np.repeat(eta[:, None], P, axis=1))
    if method == "fill_scaled":
        C = markov_table()
        K = np.zeros((P, P))
        K[0][0] = 1
        for i in range(P):
            for j in range(1, P):
                K[i][j] = C[j - 1][i]
        return np.tril(np.diag(eta) @ np.tril(K))
    raise ValueError(f"unknown eta_fw_conversion {method!r}")
