"""input_signal cartpole: the linear teacher, the training signal and the closed-loop tests."""
import json

import numpy as np
import pytest

from numpy_model.closed_loop import THETA_LIMIT, physics_step, reset_rng
from numpy_model.params import validate
from numpy_model.run import simulate

FIG2A = {"mc_model": "errormc", "layers": [4, 4, 1], "error_layers": [0, 4, 1], "model_type": "BP",
         "WT_noise": 0, "gl": 0.03, "gbas": 0.1, "gapi": 0.0006, "gden": 0.1, "gnI": 0.06,
         "gntgt": 0.06, "dt": 0.01, "Tpres": 1, "dataset_size": 3, "epochs": 2, "settling_time": 2,
         "activation": ["linear", "linear"], "error_activation": "linear", "eta_fw": [1, 0.5],
         "eta_IP": [0, 0], "eta_PI": [0, 0], "init_WPP_range": [-1, 1], "init_BII_range": [1, 1],
         "init_WIP_range": [0, 0], "init_BPI_range": [0, 0], "init_teacher_WPP_range": [-3, 3],
         "init_teacher_BII_range": [1, 1], "input_signal": "cartpole", "target_rescale_factor": 76.6,
         "rec_per_steps": 10000, "rec_WPP": True, "rec_MSE": True, "random_seed": [56789, 12345]}


@pytest.fixture(scope="module")
def run():
    P = validate(dict(FIG2A), "fw_only", warn=lambda m: None)
    return P, simulate(P, "fw_only")


def test_cartpole_teacher_is_the_published_linear_controller(run):
    P, models = run
    teacher = models[0]
    w = (0.1 / (0.1 + 0.0006 + 0.03)) ** -2
    np.testing.assert_array_equal(teacher.WPP[0], w * np.eye(4))
    np.testing.assert_array_equal(teacher.WPP[1], np.array([[1, 4.2, 62.8, 16.3]]) / 76.6)
    np.testing.assert_array_equal(teacher.BII[0], teacher.WPP[1].T)
    assert teacher.layers == [4, 4, 1] and teacher.activation == ["linear", "linear"]


def test_cartpole_signal_and_logs(run):
    P, models = run
    T = 100
    for m in models:
        assert m.input.shape == (3 * T, 4)
        assert np.all(np.abs(m.input) <= 1.5) and np.abs(m.input).max() > 0.5
        assert m.target_rescale_factor == 76.6
    teacher, students = models[0], models[1:]
    assert teacher.state_log.shape == (20000, 4) and teacher.penalty_log.shape == (19999,)
    for m in students:
        tests = P["epochs"] + 1          # after every epoch, plus the final test
        assert m.state_log.shape == (tests * 20000, 4)
        assert m.action_log.shape == m.penalty_log.shape == (tests * 19999,)
        assert m.MSE_test_time_series == []          # cart-pole testing is only a closed-loop test
        assert len(m.MSE_val_time_series) == P["epochs"] * 3 * T
        assert set(np.unique(m.penalty_log)) <= {0.0, 1.0}
    # the linear teacher balances far better than 2-epoch students
    assert teacher.penalty_log.sum() < min(m.penalty_log[:19999].sum() for m in students)


def test_closed_loop_trajectory_is_the_physics(run):
    """Each logged state follows from the previous one and the logged force, unless a reset
    happened (failure or every 2000 steps)."""
    P, models = run
    m = models[0]
    states, forces, pen = m.state_log, m.action_log, m.penalty_log
    new, failed = physics_step(states[:-1], forces, 0.01)
    reset_before = np.zeros(19999, bool)
    reset_before[1:] = pen[:-1] == 1                  # reset after a failure
    reset_before[(np.arange(19999) + 1) % 2000 == 0] = True   # periodic reset at tt % 2000 == 0
    ok = ~reset_before
    np.testing.assert_array_equal(new[ok], states[1:][ok])
    np.testing.assert_array_equal(failed[ok], (pen == 1)[ok])


def test_physics_step_formulas():
    s = np.array([0.1, -0.2, 0.05, 0.3])
    F = 1.5
    x, xd, th, thd = s
    temp = (F + 0.1 * 0.5 * thd ** 2 * np.sin(th)) / (1.0 + 0.1)
    thacc = (9.8 * np.sin(th) - np.cos(th) * temp) / (0.5 * (4 / 3 - 0.1 * np.cos(th) ** 2 / (1.0 + 0.1)))
    xacc = temp - 0.1 * 0.5 * thacc * np.cos(th) / (1.0 + 0.1)
    new, failed = physics_step(s, F, 0.01)
    np.testing.assert_array_equal(new, [x + 0.01 * xd, xd + 0.01 * xacc, th + 0.01 * thd, thd + 0.01 * thacc])
    assert not failed
    assert physics_step(np.array([0, 0, THETA_LIMIT + 0.1, 0]), 0.0, 0.01)[1]
    assert physics_step(np.array([2.45, 0, 0, 0]), 0.0, 0.01)[1]


def test_reset_generator_is_explicit_and_per_seed():
    a, b = reset_rng(1), reset_rng(1)
    assert np.array_equal(a.rand(4), b.rand(4))
    assert not np.array_equal(reset_rng(1).rand(4), reset_rng(2).rand(4))


def test_trained_circuits_scored_on_gymnasium_cartpole_v1(run, tmp_path):
    """The command `python -m numpy_model.cartpole model.pkl` scores teacher and students on
    Gymnasium's CartPole-v1; the linear teacher circuit balances for the full 500 steps."""
    from numpy_model.cartpole import evaluate_models, main
    from numpy_model.io import save_models

    P, models = run
    rows = evaluate_models(models, n_episodes=2, log=lambda msg: None)
    assert [r["role"] for r in rows] == ["teacher", "student", "student"]
    assert rows[0]["cartpole_v1_mean_length"] == 500.0
    assert all(1 <= r["cartpole_v1_mean_length"] <= 500 for r in rows)
    save_models(str(tmp_path / "model.pkl"), models)
    assert main([str(tmp_path / "model.pkl"), "--episodes", "1"]) == 0
    assert main([str(tmp_path / "missing.pkl")]) == 2


def test_reset_state_in_bulk_is_the_calls_in_turn():
    """The compiled closed loop draws its resets ahead in bulk: the same values as one call each."""
    from numpy_model.closed_loop import reset_state
    a, b = reset_rng(7), reset_rng(7)
    np.testing.assert_array_equal(reset_state(a, 5), np.stack([reset_state(b) for _ in range(5)]))
    np.testing.assert_array_equal(a.rand(3), b.rand(3))
