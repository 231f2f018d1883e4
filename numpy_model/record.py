"""Monitors: sample chosen variables every `rec_per_steps` recorded steps into preallocated
arrays (like Brian2's StateMonitor), docs/model.md §8. Export happens once, at the end (numpy_model.io)."""
import numpy as np

from .recvars import LAYER_VARS  # rec_* flag -> variable name of Ensemble.layers_of


class Grow:
    """An append-only array with a leading seed axis: values of shape (S, *shape)."""

    def __init__(self, S, shape=(), capacity=16):
        self.data = np.empty((S, max(int(capacity), 1)) + tuple(shape))
        self.n = 0

    def append(self, value):
        if self.n == self.data.shape[1]:
            self.data = np.concatenate([self.data, np.empty_like(self.data)], axis=1)
        self.data[:, self.n] = value
        self.n += 1

    def extend(self, values):
        """Append values[:, k] for every k (values: (S, m, *shape))."""
        m = values.shape[1]
        if self.n + m > self.data.shape[1]:
            grown = np.empty((self.data.shape[0], max(2 * self.data.shape[1], self.n + m)) + self.data.shape[2:])
            grown[:, :self.n] = self.data[:, :self.n]
            self.data = grown
        self.data[:, self.n:self.n + m] = values
        self.n += m

    def view(self):
        return self.data[:, :self.n]


def mse(ens, y, rate_target, rec_rate_MSE):
    """MSE = (||a - y||_2)^2 per seed (§8.3; a sum of squares, quirk 12.17)."""
    if rate_target:
        d = ens.output_rate() - y
    elif rec_rate_MSE:
        d = ens.output_rate() - ens.phi_out(y)
    else:
        d = ens.output_voltage() - y
    return np.sqrt(np.einsum("si,si->s", d, d)) ** 2


class Monitor:
    """Records the enabled variables every `every` recorded steps (counter semantics, §8.2)."""

    def __init__(self, ens, flags, every, capacity, rate_target, rec_rate_MSE, rec_MSE):
        self.every = int(every)
        self.counter = 0
        self.names = [LAYER_VARS[f] for f in LAYER_VARS if flags.get(f)]
        self.rate_target, self.rec_rate_MSE, self.rec_MSE = rate_target, rec_rate_MSE, rec_MSE
        self.rec_input, self.rec_target, self.rec_error = (bool(flags.get(k)) for k in
                                                           ("rec_input", "rec_target", "rec_error"))
        S = ens.S
        cap = max(int(capacity), 1)
        self.store = {name: [Grow(S, a.shape[1:], cap) for a in ens.layers_of(name)] for name in self.names}
        self.mse = Grow(S, (), cap)
        self.mse_val = Grow(S, (), 16)
        self.mse_test = Grow(S, (), 16)
        self.inputs = Grow(S, (ens.lay.n0,), cap)
        self.targets = []   # per record: (S, n_out) array or None
        self.errors = Grow(S, (1, ens.lay.n_out), cap)
        self.n = 0

    def tick(self, ens, x, y):
        """Call after every recorded step; y is the target passed to that step (or None)."""
        self.counter += 1
        if self.counter % self.every:
            return
        self.counter = 0
        self.n += 1
        for name in self.names:
            for grow, arr in zip(self.store[name], ens.layers_of(name)):
                grow.append(arr)
        if self.rec_input:
            self.inputs.append(x)
        if self.rec_target:
            self.targets.append(None if y is None else np.array(y, copy=True))
        if y is not None:
            if self.rec_MSE:
                self.mse.append(mse(ens, y, self.rate_target, self.rec_rate_MSE))
            if self.rec_error:
                out = ens.output_rate() if self.rate_target else ens.output_voltage()
                self.errors.append((out - y)[:, None, :])

    def seed_series(self, s):
        """Series of seed s in the published layout: name_time_series[record][layer] ..."""
        out = {}
        for name in self.names:
            layers = [g.view()[s] for g in self.store[name]]
            out[f"{name}_time_series"] = [[layer[r] for layer in layers] for r in range(self.n)]
        if self.rec_MSE:
            out["MSE_time_series"] = [float(v) for v in self.mse.view()[s]]
            out["MSE_val_time_series"] = [float(v) for v in self.mse_val.view()[s]]
            out["MSE_test_time_series"] = [float(v) for v in self.mse_test.view()[s]]
        if self.rec_input:
            out["input_time_series"] = list(self.inputs.view()[s])
        if self.rec_target:
            out["target_time_series"] = [[None if y is None else y[s]] for y in self.targets]
        if self.rec_error:
            out["error_time_series"] = list(self.errors.view()[s])
        return out
