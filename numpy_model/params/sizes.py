"""Rules on time and sizes: countable time steps, and runs and arrays that can exist."""

from __future__ import annotations

from ..recvars import MATRIX_FLAGS, UNIT_FLAGS
from ..timing import CARTPOLE_SIM_TIME, CARTPOLE_STEPS_PER_ACTION, cartpole_test_steps, student_total_steps
from .context import Context, Warn
from .errors import ParamsError, _err, _fmt
from .schema import MAX_ARRAY_VALUES, MAX_STEPS


def _warn_truncation(name: str, value: float, dt: float, warn: Warn) -> None:
    q = value / dt
    if int(q) != round(q) and abs(q - round(q)) < 1e-9 * max(1.0, abs(q)):
        warn(f"{name}: {name}/dt = {q!r} is truncated to {int(q)} steps (not {round(q)}), as published")


def check_time(p: dict, ctx: Context, warn: Warn) -> None:
    """Tpres and settling_time are countable steps of dt, >= 1 per sample; settling fits the input."""
    dt = p["dt"]
    for name in ("Tpres", "settling_time"):
        q = p[name] / dt
        if not q <= MAX_STEPS:      # also catches inf: int() of it would raise OverflowError
            raise ParamsError(
                f"{name}: {name}/dt = {_fmt(p[name])}/{_fmt(dt)} = {q:.3g} time steps, more than the "
                f"{MAX_STEPS:.0e} steps a run can simulate; expected a larger dt or a smaller {name}", name)
    T, n_settle, n_train = ctx.T, ctx.n_settle, ctx.n_train
    if T < 1:
        raise _err("Tpres", f"at least one time step per sample, Tpres >= dt = {dt}", p["Tpres"],
                   f"int(Tpres/dt) = {T}")
    _warn_truncation("Tpres", p["Tpres"], dt, warn)
    _warn_truncation("settling_time", p["settling_time"], dt, warn)
    if ctx.signal in ("step", "cartpole"):
        desc = f"dataset_size*Tpres = {p['dataset_size']}*{p['Tpres']}"
    else:  # genMNIST: 10 samples, dataset_size ignored
        desc = f"10 genMNIST samples * Tpres = 10*{p['Tpres']}"
    if n_settle > n_train:
        raise ParamsError(
            f"settling_time: {_fmt(p['settling_time'])} ({n_settle} steps of dt = {dt}) is longer than "
            f"the training input ({desc} = {n_train} steps); expected settling_time <= "
            f"{n_train * dt:g}", "settling_time")


def _count(n: int) -> str:
    """An exact count, or its order of magnitude when huge (str() of huge ints is limited)."""
    return str(n) if n < 10**15 else f"~10^{int(n.bit_length() * 0.30103)}"


def _largest_matrix(model: str, layers: list, error_layers, fw: str, bw: str) -> int:
    """Values of the largest weight matrix of one network (an upper estimate)."""
    n = list(layers)
    e = list(error_layers) if error_layers is not None else [0] + n[1:]
    cand = [a * b for a, b in zip(n, n[1:])]
    if model == "dPC":
        cand += [x * x for x in n[1:]]                   # square BPI
    if model == "errormc":
        cand += [a * b for a, b in zip(e[1:], n[1:])] + [a * b for a, b in zip(e[1:], e[2:])]
        if fw == "skip":
            cand.append(sum(n) ** 2)
        if bw == "skip":
            cand.append(sum(e[1:]) ** 2)
    return max(cand)


def _by_samples(p: dict, ctx: Context) -> bool:
    """Whether dataset_size (not Tpres/dt) is the larger factor of n_train."""
    return p["input_signal"] != "genMNIST" and p["dataset_size"] >= ctx.T


# Up to this many epochs the validations are listed (timing.validation_epochs); beyond, at most 10 run.
LISTED_EPOCHS = 10**4


def _student_steps(p: dict, ctx: Context) -> int:
    """Time steps of one student as numpy_model.protocol runs them (docs/model.md §7.2, §7.4); for
    more than LISTED_EPOCHS epochs an upper bound: 10 validations and every epoch's cart-pole test."""
    epochs, cartpole, dt = p["epochs"], p["input_signal"] == "cartpole", p["dt"]
    if epochs <= LISTED_EPOCHS:
        return student_total_steps(epochs, ctx.n_train, ctx.n_settle, cartpole, dt)
    per_epoch = ctx.n_train + (cartpole_test_steps(dt) if cartpole else 0)
    return student_total_steps(10, ctx.n_train, ctx.n_settle, cartpole, dt) + (epochs - 10) * per_epoch


def _check_step_count(p: dict, ctx: Context) -> int:
    """Refuse more than MAX_STEPS time steps per network; return the steps of one student."""
    epochs, n_train = p["epochs"], ctx.n_train
    if p["input_signal"] == "cartpole":
        per_test = CARTPOLE_STEPS_PER_ACTION * CARTPOLE_SIM_TIME / p["dt"]
        if not per_test <= MAX_STEPS:
            raise ParamsError(f"dt: {_fmt(p['dt'])} makes a 200 ms cart-pole test {per_test:.3g} time steps, "
                              f"more than {MAX_STEPS:.0e}; expected a larger dt", "dt")
    total = _student_steps(p, ctx)
    if total > MAX_STEPS:
        key = "epochs" if 3 * n_train <= MAX_STEPS else "dataset_size" if _by_samples(p, ctx) else "Tpres"
        raise ParamsError(
            f"{key}: the run would simulate {_count(total)} time steps per network (epochs {_count(epochs)} "
            f"x {_count(n_train)} steps of dataset_size*Tpres/dt, plus settling_time, validation and test), "
            f"more than {MAX_STEPS:.0e}; expected fewer epochs, a smaller dataset_size or Tpres/dt", key)
    return total


def _recorded_values(p: dict, ctx: Context, matrix: int) -> int:
    """Values of the largest recorded variable per record (an upper estimate)."""
    unit = p["layers"][0]
    if any(p[k] for k in UNIT_FLAGS):
        unit = max([unit, *p["layers"], *p["error_layers"], *ctx.tl])
    if any(p[k] for k in MATRIX_FLAGS):
        unit = max(unit, matrix)
    return unit


def _check_arrays(p: dict, ctx: Context, total: int) -> None:
    """Refuse input sequences, weight matrices or recording buffers beyond MAX_ARRAY_VALUES."""
    S, n0, n_train, tl = len(p["random_seed"]), p["layers"][0], ctx.n_train, ctx.tl
    fw, bw = p["fw_connection_mode"], p["bw_connection_mode"]
    matrix = _largest_matrix(ctx.model, p["layers"], p["error_layers"], fw, bw)
    if ctx.has_teacher:
        t_err = p["teacher_error_layers"] if p["teacher_error_layers"] is not None else (
            p["error_layers"] if len(p["error_layers"]) == len(tl) else None)
        matrix = max(matrix, _largest_matrix(ctx.teacher, tl, t_err, fw, bw))
    unit = _recorded_values(p, ctx, matrix)
    records = total // p["rec_per_steps"] + 1
    arrays = (
        (S * n_train * n0, "layers" if n0 >= n_train else "dataset_size" if _by_samples(p, ctx) else "Tpres",
         f"the input sequence (random_seed: {S} seeds x dataset_size*Tpres/dt = {_count(n_train)} steps x "
         f"layers[0] = {n0})"),
        (S * matrix, "layers",
         f"a weight matrix (random_seed: {S} seeds x {_count(matrix)} weights of layers/error_layers/"
         f"teacher_layers)"),
        (S * records * unit, "rec_per_steps",
         f"a recording buffer (random_seed: {S} seeds x {_count(records)} records of {_count(total)} steps "
         f"(epochs, dataset_size, Tpres/dt, settling_time) / rec_per_steps x {_count(unit)} values)"),
    )
    for values, key, what in arrays:
        if values > MAX_ARRAY_VALUES:
            raise ParamsError(f"{key}: {what} would need {_count(values)} values ({_count(8 * values)} "
                              f"bytes), more than the limit of {MAX_ARRAY_VALUES} "
                              f"({8 * MAX_ARRAY_VALUES // 2**30} GiB) for one array", key)


def check_sizes(p: dict, ctx: Context, warn: Warn) -> None:
    """Refuse runs whose step counts or arrays cannot exist (astronomic sizes would otherwise end in a
    MemoryError, an OverflowError or numpy's "array is too big" deep inside the simulation)."""
    _check_arrays(p, ctx, _check_step_count(p, ctx))
