"""Input signals, teacher targets and the per-epoch shuffle with target delay (docs/model.md §6)."""
import numpy as np


def step_inputs(IN, D, T, n0, low=0.0, high=1.0):
    """`step` (and `cartpole`) input: one uniform vector per sample, each held T steps (§6.1)."""
    X = IN.uniform(low, high, (3 * D, n0))
    return {split: np.repeat(X[i * D:(i + 1) * D], T, axis=0)
            for i, split in enumerate(("train", "val", "test"))}


def shuffle(X, Y, rng, T, delay):
    """One seed's shuffle (§6.5): permute the D (input, target) pairs taken from the last
    row of every T-chunk, re-expand, and delay the targets by `delay` steps. Y may be None."""
    D = X.shape[0] // T
    p = rng.permutation(D)
    Xs = np.repeat(X[T - 1::T][p], T, axis=0)
    if Y is None:
        return Xs, None
    Ys = np.repeat(Y[T - 1::T][p], T, axis=0)
    if delay > 0:
        Ys = np.concatenate([Ys[:delay], Ys[:-delay]], axis=0)
    return Xs, Ys
