"""Monitor records taken inside the compiled kernel (the numba backend; README "Backends").

At every `rec_per_steps`-th step the kernel (loops._k_record) copies the arrays the monitor reads,
its *sources*, into one row of a preallocated (S, records, width) array: the model's buffers
(RECORD_BUFFERS: the kernel's current ones, after its swaps) and stored weights (RECORD_WEIGHTS),
with the step's MSE in column 0. What the monitor keeps of them (record.Monitor: every variable
per layer, the output error) is a selection of those numbers: `layers_of` slices, transposes and
zero-fills. `plan` finds that selection once, by evaluating the monitor's variables on a state
whose arrays hold the number of each element, and checks with two more numberings that no value
is computed from others. A monitor that records a computed variable (sacramento2018's lat_mismatch)
keeps the Python record (compiled.run_phase then runs in chunks up to each record, as before).
State the kernel does not change (e.g. ann's v_bas) is read once, after the phase.
"""
import copy
import weakref

import numpy as np

_MSE = 1            # columns before the sources in a record row: the MSE
_PLANS = weakref.WeakKeyDictionary()    # Monitor -> (key, Plan or None)


class _Probe:
    """Stands in for an ensemble's state: logs the attributes read (`used`) and, with `values`,
    returns those arrays instead of the state's."""

    def __init__(self, st, values=None):
        self.__dict__.update(_st=st, _values=values or {}, used=[])

    def __getattr__(self, name):
        self.used.append(name)
        return self._values[name] if name in self._values else getattr(self._st, name)


def _outputs(ens, mon, st):
    """The monitor's per-record arrays evaluated on state `st`: [(key, (S, ...) array)]."""
    out = []
    for name in mon.names:
        for k, arr in enumerate(ens.model.layers_of(ens.c, st, name)):
            out.append(((name, k), arr))
    if mon.rec_error:
        view = copy.copy(ens)
        view.state = st
        out.append((("error", 0), view.output_rate() if mon.rate_target else view.output_voltage()))
    return out


class Plan:
    """src: the kernel's sources table (kind 0 buffer / 1 weights, index, column); width: the
    columns the kernel writes; row: a record row's length (then the `n_const` columns of the
    sources the kernel leaves unchanged, consts: (name, block or None, column), and a zero);
    gathers: [(key, shape, slice of `index`, None or (mask, values) of the elements that are no
    state: ann's W_IP, a constant)]; index: every recorded value's column, in one gather."""

    def __init__(self, src, width, consts, n_const, gathers):
        self.src, self.width, self.consts, self.n_const = src, width, consts, n_const
        self.row = width + n_const + 1
        self.index = np.concatenate([idx.ravel() for _, idx, _ in gathers] or [np.zeros(0, np.int64)])
        ends = np.cumsum([0] + [idx.size for _, idx, _ in gathers])
        self.gathers = [(key, idx.shape, slice(a, b), const)
                        for (key, idx, const), a, b in zip(gathers, ends[:-1], ends[1:])]

    def start(self, mon, S, n):
        """For n steps from the monitor's counter on: (the kernel's `rec` argument, the steps it
        records at, the (S, R, row) rows it fills), the last two for `finish`."""
        steps = np.arange(mon.every - mon.counter - 1, n, mon.every)
        rows = np.empty((S, len(steps), self.row))
        return (int(steps[0]) if len(steps) else -1, mon.every, self.src, rows), steps, rows

    def finish(self, ens, mon, steps, rows, n, X, Y):
        """After the kernel ran the n steps `start` set up: its records into `mon` (apply), and
        the monitor's counter moved on by n."""
        self.apply(ens, mon, rows, steps, X, Y)
        mon.counter = (mon.counter + n) % mon.every

    def apply(self, ens, mon, rows, steps, X, Y):
        """Append the R records the kernel took (rows (S, R, row), at the phase's `steps`) to
        `mon`, exactly as R calls of Monitor.tick would (counter aside)."""
        S, R = rows.shape[0], rows.shape[1]
        if R == 0:
            return
        for name, block, c in self.consts:
            v = getattr(ens.state, name)
            v = v if block is None else v[block]
            rows[:, :, self.width + c:self.width + c + v[0].size] = v.reshape(S, 1, -1)
        rows[:, :, -1] = 0.0                                # the zero column
        picked = rows[:, :, self.index]
        values = {}
        for key, shape, part, const in self.gathers:
            v = picked[:, :, part].reshape((S, R) + shape)
            values[key] = v if const is None else np.where(const[0][:, None], const[1][:, None], v)
        for name in mon.names:
            for k, grow in enumerate(mon.store[name]):
                grow.extend(values[(name, k)])
        if mon.rec_input:
            mon.inputs.extend(X[:, steps])
        if mon.rec_target:
            mon.targets.extend(None if Y is None else np.array(Y[:, t], copy=True) for t in steps)
        if Y is not None:
            if mon.rec_MSE:
                mon.mse.extend(rows[:, :, 0])
            if mon.rec_error:
                mon.errors.extend((values[("error", 0)] - Y[:, steps])[:, :, None, :])
        mon.n += R


def plan(ens, mon):
    """The Plan of `mon` on ens's compiled kernel, or None when its records need Python (see the
    module doc). Built once per monitor and ensemble constants."""
    hit = _PLANS.get(mon)
    if hit is not None and hit[0]() is ens.c:
        return hit[1]
    found = _build(ens, mon)
    _PLANS[mon] = (weakref.ref(ens.c), found)
    return found


def _data(v, S):
    """The arrays of a state attribute (a tuple of blocks or one array), or None if not data."""
    arrays = v if isinstance(v, tuple) else (v,) if isinstance(v, np.ndarray) else None
    ok = arrays is not None and all(isinstance(a, np.ndarray) and a.shape[:1] == (S,) for a in arrays)
    return arrays if ok else None


def _build(ens, mon):
    model, st, S = ens.model, ens.state, ens.S
    buffers, weights = getattr(model, "RECORD_BUFFERS", None), getattr(model, "RECORD_WEIGHTS", None)
    if buffers is None:
        return None
    all_blocks = getattr(model, "RECORD_ALL_BLOCKS", False)
    probe = _Probe(st)
    _outputs(ens, mon, probe)
    # each weight name's position in the kernel's flat tuple (a None or empty matrix: one placeholder)
    flat, w_index = 0, {}
    for name in weights:
        v = getattr(st, name)
        w_index[name] = flat
        flat += max(len(v), 1) if all_blocks and v is not None else 1
    kernel, const = [], []              # (name, block or None, per-seed shape)
    for name in dict.fromkeys(probe.used):
        v = getattr(st, name)
        arrays = _data(v, S)
        if not arrays:
            continue                    # not data (a generator, a flag): read as it is; or no block
        ours = name in buffers or name in weights
        if ours and (len(arrays) != 1 and not all_blocks or arrays[0].ndim != (2 if name in buffers else 3)):
            return None
        for j, a in enumerate(arrays):
            (kernel if ours else const).append((name, j if isinstance(v, tuple) else None, a.shape[1:]))
    src, numbers, col = [], {}, _MSE
    for part in (kernel, const):        # columns: MSE, the kernel's sources, the constants
        for name, j, shape in part:
            if part is kernel:
                src.append((0, buffers.index(name), col) if name in buffers else (1, w_index[name] + j, col))
            numbers.setdefault(name, {})[j] = col + 1 + np.arange(int(np.prod(shape)), dtype=float).reshape(shape)
            col += int(np.prod(shape))
        if part is kernel:
            width = col
    total = col
    consts = [(name, j, c) for (name, j, _), c in zip(const, np.cumsum([0] + [int(np.prod(sh)) for *_, sh in const]))]

    def state_of(scale, shift):
        vals = {}
        for name, per in numbers.items():
            arrs = {j: np.array(np.broadcast_to(a * scale + shift, (S,) + a.shape)) for j, a in per.items()}
            vals[name] = arrs[None] if None in arrs else tuple(arrs[j] for j in range(len(arrs)))
        return _Probe(st, vals)

    real = _outputs(ens, mon, st)
    A, B, C = (_outputs(ens, mon, state_of(*n)) for n in ((1.0, 0.0), (3.0, 0.25), (-2.0, -0.5)))
    gathers = []
    for (key, value), (_, a), (_, b), (_, c) in zip(real, A, B, C):
        a, b, c, value = (np.asarray(v, float) for v in (a, b, c, value))
        if a.shape[:1] != (S,) or not a.shape == b.shape == c.shape == value.shape:
            return None
        # no state in it (zeros, constants): the same under every numbering and on the state itself
        # (a third, negative numbering catches sign- or clip-like functions of the state)
        fixed = (a == b) & (a == c) & (a == value)
        picked = (a == np.round(a)) & (a >= 1) & (a <= total) & (b == 3 * a + 0.25) & (c == -2 * a - 0.5)
        same = (picked == picked[:1]).all() and (np.where(picked, a, 0) == np.where(picked, a[:1], 0)).all()
        if not (fixed | picked).all() or not same:
            return None                 # computed from the numbers, or not the same selection for every seed
        idx = np.where(picked[0], a[0] - 1, total).astype(np.int64)     # column total: a zero
        const = np.where(fixed, value, 0.0)
        gathers.append((key, idx, (fixed[:1], const) if const.any() else None))
    return Plan(np.array(src, np.int64).reshape(-1, 3), width, consts, total - width, gathers)
