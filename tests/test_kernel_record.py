"""Monitor records taken inside the compiled kernel (numpy_model/models/kernel_record.py): the
same records as the Python monitor, bit for bit (the MSE within rounding: the kernel's sum), one
kernel call per phase, the plan's selection of every variable, and the fallback for a variable
that is computed, not selected (lat_mismatch)."""
import os
import sys

import numpy as np
import pytest

from numpy_model.models import compiled, kernel_record
from numpy_model.record import Grow

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_numba import LONG, run  # noqa: E402
from test_specialize import _arrays, _flat  # noqa: E402

needs_numba = pytest.mark.skipif(compiled.numba_version() is None,
                                 reason="numba is not importable (pip install -e \".[fast]\")")

# every model, every recordable variable of it on (the reference suite's configurations record all
# of them), records every 7 steps: they fall inside phases and carry across phase boundaries
CASES = ("emc_skip_realistic_fill_scaled_8421", "emc_layered_BP_L5_latrates_dWPPact_slopes", "sac_FA_L3_noSPS_lat",
         "dPC_BP_L3_dPC_teacher_tanh", "ann_BP_L5_slopes_noise")
EVERY7 = dict(LONG, rec_per_steps=7)


def _python_records(monkeypatch):
    monkeypatch.setattr(kernel_record, "plan", lambda ens, mon: None)


@needs_numba
@pytest.mark.parametrize("name", CASES)
def test_kernel_records_equal_the_python_monitor(name, monkeypatch):
    calls = []
    real = kernel_record.Plan.apply

    def spy(self, *a):
        calls.append(a[2].shape[1])           # records per phase
        return real(self, *a)
    monkeypatch.setattr(kernel_record.Plan, "apply", spy)
    got, _, _ = run(name, "numba", **EVERY7)
    assert sum(calls) > 10 and len(calls) > 5, "the kernel took the records"
    monkeypatch.undo()
    _python_records(monkeypatch)
    ref, _, _ = run(name, "numba", **EVERY7)
    for i, (a, b) in enumerate(zip(ref, got)):
        A, B = _arrays(a), _arrays(b)
        assert A.keys() == B.keys()
        assert any(k.endswith("_time_series") and k != "MSE_time_series" for k in A)
        for k in A:
            x, y = _flat(A[k]), _flat(B[k])
            if k == "MSE_time_series":          # the kernel's sum of squares (loops._k_mse), not NumPy's
                np.testing.assert_allclose(y, x, rtol=1e-13, atol=1e-300, err_msg=f"model {i} {k}")
            else:
                assert x.shape == y.shape and np.array_equal(x, y, equal_nan=True), f"model {i} {k}"
        if not getattr(a, "is_teacher", False):
            assert len(a.MSE_time_series) > 10
        assert getattr(a, "target_time_series", None) is None or \
            [None if t is None else np.asarray(t).tolist() for t in a.target_time_series] == \
            [None if t is None else np.asarray(t).tolist() for t in b.target_time_series]


@needs_numba
def test_one_kernel_call_per_phase(monkeypatch):
    """With the records in the kernel, a phase is one compiled call, whatever rec_per_steps."""
    from numpy_model.models import errormc
    calls = []
    real = errormc.compiled_phase

    def spy(*a, **k):
        calls.append((a[3], k.get("rec") is not None))
        return real(*a, **k)
    monkeypatch.setattr(errormc, "compiled_phase", spy)
    run("emc_skip_realistic_fill_scaled_8421", "numba", **dict(LONG, rec_per_steps=3))
    assert calls and all(rec for _, rec in calls)
    # settling + per epoch training and validation + testing (+ the teacher's 4 passes)
    assert len(calls) <= 4 + 1 + 2 * LONG["epochs"] + 1


@needs_numba
@pytest.mark.parametrize("name", ["sac_BP_L4_SPS_lat_dWPPact_2seeds", "dPC_BP_L3_noSPS_dWPPact"])
def test_a_computed_variable_keeps_the_python_record(name, monkeypatch):
    """lat_mismatch = u_breve_I - c v_bas is computed: no plan (records in Python chunks), same numbers."""
    plans = []
    real = kernel_record._build

    def spy(ens, mon):
        plans.append(real(ens, mon))
        return plans[-1]
    monkeypatch.setattr(kernel_record, "_build", spy)
    got, _, _ = run(name, "numba", **dict(LONG, epochs=2, rec_lat_mismatch=True))
    student = [m for m in got if not getattr(m, "is_teacher", False)][0]
    assert len(student.lat_mismatch_time_series) > 0
    assert any(p is None for p in plans)


def _plan_of(name, **over):
    """The plan of a student's monitor of configuration `name`, and the ensemble."""
    from test_reference import build_params
    from numpy_model.ensemble import Ensemble
    from numpy_model.params import validate
    from numpy_model.protocol import make_monitor
    from numpy_model.run import build
    raw, task = build_params(name)
    raw.update(over)
    P = validate(raw, task, warn=lambda m: None)
    students, _, _ = build(P, task)
    ens = Ensemble.from_inits(students, P)
    mon = make_monitor(ens, P, 100, rate_target=ens.rate_target)
    return kernel_record.plan(ens, mon), ens, mon


@pytest.mark.parametrize("name", CASES)
def test_plan_selects_every_recorded_value(name):
    """Gathering the plan's columns from a row built from the state gives Monitor.tick's values."""
    plan, ens, mon = _plan_of(name)
    assert plan is not None
    st, S = ens.state, ens.S
    row = np.full((S, 1, plan.row), np.nan)
    model = ens.model
    flat_w = []
    for w in model.RECORD_WEIGHTS:
        v = getattr(st, w)
        blocks = (v if getattr(model, "RECORD_ALL_BLOCKS", False) else v[:1]) if v is not None else ()
        flat_w += list(blocks) or [None]
    for kind, index, col in plan.src:
        a = getattr(st, model.RECORD_BUFFERS[index]) if kind == 0 else flat_w[index]
        row[:, 0, col:col + a[0].size] = a.reshape(S, -1)
    x = np.random.default_rng(0).uniform(size=(S, 1, ens.lay.n0))
    y = np.random.default_rng(1).uniform(size=(S, 1, ens.lay.n_out))
    row[:, 0, 0] = 0.0
    ref = kernel_record._outputs(ens, mon, st)
    mon.counter = mon.every - 1
    mon.tick(ens, x[:, 0], y[:, 0])
    n_python = {name: [g.n for g in mon.store[name]] for name in mon.names}
    plan.apply(ens, mon, row, np.array([0]), x, y)
    for name in mon.names:
        for k, g in enumerate(mon.store[name]):
            assert g.n == n_python[name][k] + 1
            np.testing.assert_array_equal(g.view()[:, -1], g.view()[:, -2], err_msg=f"{name} {k}")
    assert len(ref) == sum(len(mon.store[n]) for n in mon.names) + bool(mon.rec_error)
    if mon.rec_error:
        np.testing.assert_array_equal(mon.errors.view()[:, -1], mon.errors.view()[:, -2])
    if mon.rec_input:
        np.testing.assert_array_equal(mon.inputs.view()[:, -1], x[:, 0])


def test_plan_refuses_a_computed_value():
    plan, _, mon = _plan_of("sac_BP_L4_SPS_lat_dWPPact_2seeds")
    assert "lat_mismatch" in mon.names and plan is None
    plan, _, mon = _plan_of("sac_BP_L4_SPS_lat_dWPPact_2seeds", rec_lat_mismatch=False)
    assert "lat_mismatch" not in mon.names and plan is not None


def test_plan_reads_unchanged_state_after_the_phase():
    """ann's v_bas is no kernel buffer (ann never changes it): a constant column, read from the state."""
    plan, ens, mon = _plan_of("ann_BP_L5_slopes_noise")
    assert "vbas" in mon.names
    assert [name for name, _, _ in plan.consts] == ["vbas"]
    assert plan.n_const == ens.state.vbas.shape[1]


def test_grow_extend_appends_in_bulk():
    g = Grow(2, (3,), capacity=2)
    g.append(np.zeros((2, 3)))
    vals = np.arange(2 * 5 * 3, dtype=float).reshape(2, 5, 3)
    g.extend(vals)
    assert g.n == 6 and g.data.shape[1] >= 6
    np.testing.assert_array_equal(g.view()[:, 1:], vals)
    g.extend(np.zeros((2, 0, 3)))
    assert g.n == 6


@needs_numba
def test_closed_loop_records_in_the_kernel_equal_the_python_monitor(monkeypatch):
    """The closed-loop cart-pole tests take their records in the kernel too (chunks of
    compiled.CLOSED_LOOP_CHUNK steps, not one per record): the same numbers as the Python records,
    inputs (the cart-pole states the network saw) included."""
    from numpy_model.params import validate
    from numpy_model.run import simulate
    from test_cartpole_run import FIG2A
    over = dict(dt=0.05, rec_per_steps=37, rec_input=True, rec_uP=True, rec_vbas=True,
                activation=["tanh", "linear"], eta_IP=[0.01, 0], eta_PI=[0, 0.02])
    applied, inside = [], []
    real, real_loop = kernel_record.Plan.apply, compiled.closed_loop

    def loop(*a, **k):
        inside.append(True)
        try:
            return real_loop(*a, **k)
        finally:
            inside.pop()
    monkeypatch.setattr(compiled, "closed_loop", loop)
    monkeypatch.setattr(kernel_record.Plan, "apply", lambda self, *a: (applied.append(bool(inside)),
                                                                        real(self, *a)))
    runs = []
    for python in (False, True):
        if python:
            _python_records(monkeypatch)
        P = validate(dict(FIG2A, **over), "fw_only", warn=lambda m: None)
        P["backend"] = "numba"
        runs.append(simulate(P, "fw_only", log=lambda m: None))
    assert sum(applied) > 2, "closed-loop phases (no target) recorded by the kernel"
    for i, (a, b) in enumerate(zip(*runs)):
        A, B = _arrays(a), _arrays(b)
        assert "input_time_series" in A and A.keys() == B.keys()
        for k in A:
            x, y = _flat(A[k]), _flat(B[k])
            if k == "MSE_time_series":
                np.testing.assert_allclose(y, x, rtol=1e-13, atol=1e-300, err_msg=f"model {i} {k}")
            else:
                assert x.shape == y.shape and np.array_equal(x, y, equal_nan=True), f"model {i} {k}"
        for k in ("state_log", "action_log", "penalty_log"):
            np.testing.assert_array_equal(getattr(a, k), getattr(b, k), err_msg=k)


@pytest.mark.parametrize("how", ["difference", "sign", "clip", "scale"])
def test_plan_refuses_any_function_of_the_state(how, monkeypatch):
    """A recorded value that is any function of the state but a selection (a future variable of a
    layers_of) is found: no plan, so the Python monitor records it."""
    from numpy_model.models import errormc
    real = errormc.layers_of
    fn = {"difference": lambda a: a - a[:, :1], "sign": np.sign, "clip": lambda a: np.minimum(a, 1.0),
          "scale": lambda a: 2.0 * a}[how]

    def layers_of(C, st, name):
        layers = real(C, st, name)
        return [fn(x) for x in layers] if name == "uP_breve" else layers
    monkeypatch.setattr(errormc, "layers_of", layers_of)
    plan, _, mon = _plan_of("emc_skip_realistic_fill_scaled_8421")
    assert "uP_breve" in mon.names and plan is None


@pytest.mark.parametrize("name", ["emc_layered_L2", "emc_layered_BP_L4_errlayers_differ"])
def test_plan_of_per_block_storage_and_matrices_without_blocks(name, monkeypatch):
    """Per-block storage (the Fig 4/5 layout): every stored block is a source; a matrix with no
    stored block (B_II of a 2-layer net) reads nothing. The plan selects what Monitor.tick records."""
    from numpy_model.models.kernels import STORAGE_ENV
    monkeypatch.setenv(STORAGE_ENV, "blocks")
    plan, ens, _ = _plan_of(name)
    assert plan is not None and any(len(getattr(ens.state, w)) != 1 for w in ("WPP", "B"))
    test_plan_selects_every_recorded_value(name)
