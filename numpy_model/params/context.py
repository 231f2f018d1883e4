"""The quantities of a filled params dict that several rules need, computed once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..timing import settling_steps, steps_per_sample, train_steps
from .schema import MAX_STEPS, effective_task, effective_teacher_model

Warn = Callable[[str], None]


@dataclass(frozen=True)
class Context:
    """What several rules need, computed once from the filled params dict."""

    task: str                # the task that runs (genMNIST forces fw_only_no_teacher)
    given: frozenset         # keys present in the file
    model: str               # students
    teacher: str
    signal: str
    layers: list
    L: int
    P: int                   # neuron layers, L - 1
    tl: list                 # teacher layers (layers if absent)
    has_teacher: bool        # the task runs a teacher (fw_only, fw_bw)
    T: int | None            # steps per sample; None beyond MAX_STEPS (check_time refuses it)
    n_settle: int | None     # settling steps; None beyond MAX_STEPS
    n_train: int | None      # steps of one pass over the training input


def _countable(value: float, dt: float) -> bool:
    """Whether value/dt steps can be counted (check_time refuses the others)."""
    return value / dt <= MAX_STEPS


def context(p: dict, task: str, given: frozenset) -> Context:
    """The Context of the filled params dict ``p`` run with ``task`` (docs/model.md §6.1, §7.2)."""
    layers, dt, Tpres = p["layers"], p["dt"], p["Tpres"]
    run_task = effective_task(p, task)
    T = n_settle = n_train = None
    if _countable(Tpres, dt):
        T = steps_per_sample(Tpres, dt)
        # genMNIST trains on its 10 samples, dataset_size is ignored
        n_train = 10 * T if p["input_signal"] == "genMNIST" else train_steps(p["dataset_size"], Tpres, dt)
    if _countable(p["settling_time"], dt):
        n_settle = settling_steps(p["settling_time"], dt)
    return Context(
        task=run_task, given=given, model=p["mc_model"], teacher=effective_teacher_model(p),
        signal=p["input_signal"], layers=layers, L=len(layers), P=len(layers) - 1,
        tl=p["teacher_layers"] if p["teacher_layers"] is not None else layers,
        has_teacher=run_task in ("fw_only", "fw_bw"), T=T, n_settle=n_settle, n_train=n_train)
