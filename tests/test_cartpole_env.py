"""Cart-pole environment, published closed-loop test, LQR teacher force and CartPole-v1 check
(numpy_model/cartpole.py; docs/model.md §5.8, 7.5)."""
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from numpy_model.cartpole import (ENV_ID, EPISODE_STEPS, THETA_THRESHOLD, CartPoleEnv, cartpole_failed,
                                  cartpole_step, evaluate_on_cartpole_v1, lqr_teacher_force,
                                  published_cartpole_test)

# Warnings check_env gives for any unbounded Box (the published force is never clipped), and the
# one it gives when handed a wrapped env. Anything else is a failure.
EXPECTED_WARNINGS = ("minimum value is -infinity", "maximum value is infinity",
                     "symmetric and normalized space", "is different from the unwrapped version")


def _check_env_strict(env):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    unexpected = [str(w.message) for w in caught
                  if not any(text in str(w.message) for text in EXPECTED_WARNINGS)]
    assert not unexpected, unexpected


def test_check_env_unwrapped_and_wrapped():
    _check_env_strict(gymnasium.make(ENV_ID).unwrapped)
    _check_env_strict(gymnasium.make(ENV_ID))
    _check_env_strict(gymnasium.make(ENV_ID, legacy_rng=np.random.RandomState(3)).unwrapped)


def test_registration():
    env = gymnasium.make(ENV_ID)
    assert env.spec.max_episode_steps == EPISODE_STEPS == int(int(200 / 0.01) / 10) == 2000
    assert env.unwrapped.dt == 0.01
    assert gymnasium.make(ENV_ID, dt=0.02).unwrapped.dt == 0.02
    assert env.observation_space.dtype == np.float64 and env.action_space.dtype == np.float64
    import importlib

    import numpy_model.cartpole as cp
    with warnings.catch_warnings():              # executing the module again does not re-register
        warnings.simplefilter("error")
        importlib.reload(cp)
    assert ENV_ID in gymnasium.registry


def test_one_step_equals_formulas():
    x, x_dot, theta, theta_dot, F, dt = 0.1, -0.2, 0.3, 0.4, 5.0, 0.01
    g, m_c, m_p, l = 9.8, 1.0, 0.1, 0.5
    sin, cos = float(np.sin(theta)), float(np.cos(theta))
    temp = (F + m_p * l * theta_dot ** 2 * sin) / (m_c + m_p)
    theta_acc = (g * sin - cos * temp) / (l * (4 / 3 - m_p * cos ** 2 / (m_c + m_p)))
    x_acc = temp - m_p * l * theta_acc * cos / (m_c + m_p)
    expected = [x + dt * x_dot, x_dot + dt * x_acc, theta + dt * theta_dot, theta_dot + dt * theta_acc]

    env = CartPoleEnv(dt=dt)
    env.reset(options={"state": [x, x_dot, theta, theta_dot]})
    obs, reward, terminated, truncated, info = env.step(np.array([F]))
    assert obs.tolist() == expected                               # bit for bit
    np.testing.assert_allclose(obs, [0.098, -0.15351792496362635, 0.304, 0.37683243682043366],
                               rtol=1e-14)
    assert (reward, terminated, truncated, info) == (1.0, False, False, {"penalty": 0})
    # scalar actions work too, and the module-level step agrees
    env.reset(options={"state": [x, x_dot, theta, theta_dot]})
    assert env.step(F)[0].tolist() == expected
    assert cartpole_step([x, x_dot, theta, theta_dot], F, dt)[0].tolist() == expected


def test_failure_bounds():
    lim = 70 * 2 * np.pi / 360
    assert THETA_THRESHOLD == lim
    assert not cartpole_failed([2.4, 0, 0, 0]) and not cartpole_failed([-2.4, 0, 0, 0])
    assert cartpole_failed([np.nextafter(2.4, 3), 0, 0, 0]) and cartpole_failed([-2.41, 0, 0, 0])
    assert not cartpole_failed([0, 0, lim, 0]) and not cartpole_failed([0, 0, -lim, 0])
    assert cartpole_failed([0, 0, np.nextafter(lim, 2), 0]) and cartpole_failed([0, 0, -1.23, 0])
    assert not cartpole_failed([0, 100.0, 0, -100.0])            # velocities never fail

    env = CartPoleEnv()
    env.reset(options={"state": [2.399, 1.0, 0.0, 0.0]})         # x crosses 2.4 in this step
    obs, reward, terminated, _, info = env.step(0.0)
    assert obs[0] > 2.4 and terminated and info == {"penalty": 1} and reward == 1.0
    env.reset(options={"state": [0.0, 0.0, lim - 0.001, 1.0]})   # θ crosses 70° in this step
    obs, _, terminated, _, info = env.step(0.0)
    assert obs[2] > lim and terminated and info["penalty"] == 1


def test_reset_distribution_and_seeding():
    env = CartPoleEnv()
    states = np.array([env.reset(seed=s)[0] for s in range(2000)])
    assert states.min() >= -1 and states.max() <= 1
    assert np.all(np.abs(states.mean(axis=0)) < 0.05)
    assert np.all(states.min(axis=0) < -0.99) and np.all(states.max(axis=0) > 0.99)
    np.testing.assert_allclose(states.var(axis=0), 1 / 3, atol=0.03)

    a, b = gymnasium.make(ENV_ID), gymnasium.make(ENV_ID)
    assert np.array_equal(a.reset(seed=11)[0], b.reset(seed=11)[0])
    assert not np.array_equal(a.reset(seed=11)[0], a.reset(seed=12)[0])
    a.reset(seed=5), b.reset(seed=5)
    for _ in range(3):                                           # the stream continues identically
        assert np.array_equal(a.reset()[0], b.reset()[0])
    for F in (1.0, -3.0, 0.5):
        assert np.array_equal(a.step(np.array([F]))[0], b.step(np.array([F]))[0])
    # default path: the same formula on Gymnasium's PCG64 generator
    c = CartPoleEnv()
    obs, _ = c.reset(seed=9)
    gen, _ = gymnasium.utils.seeding.np_random(9)
    assert np.array_equal(obs, (gen.random(4) - 0.5) * 2.0)


def test_legacy_randomstate_stream():
    ref = np.random.RandomState(1234)
    env = CartPoleEnv(legacy_rng=np.random.RandomState(1234))
    for _ in range(5):
        assert np.array_equal(env.reset()[0], (ref.rand(4) - 0.5) * 2.0)
    # reset(seed=s) re-seeds the RandomState
    assert np.array_equal(env.reset(seed=7)[0], (np.random.RandomState(7).rand(4) - 0.5) * 2.0)


def test_published_loop_structure():
    """Replays published_cartpole_test's logs against §7.5 step by step."""
    seen = []

    def controller(state):
        seen.append(state.copy())
        return 3.0 * np.sin(len(seen) * 0.01)                    # arbitrary, state-independent

    out = published_cartpole_test(controller, rng=np.random.RandomState(42))
    S, A, P = out["state_log"], out["action_log"], out["penalty_log"]
    assert S.shape == (20000, 4) and A.shape == (19999,) and P.shape == (19999,)
    assert len(seen) == 19999 and out["failures"] == P.sum() > 0

    draws = np.random.RandomState(42)
    assert np.array_equal(S[0], (draws.rand(4) - 0.5) * 2.0)     # creation performs a reset
    current = S[0]
    for tt in range(1, 20000):
        if tt % 2000 == 0:
            current = (draws.rand(4) - 0.5) * 2.0
        assert np.array_equal(seen[tt - 1], current)
        assert A[tt - 1] == 3.0 * np.sin(tt * 0.01)
        new, failed = cartpole_step(current, A[tt - 1], 0.01)
        assert np.array_equal(S[tt], new) and P[tt - 1] == int(failed)
        current = (draws.rand(4) - 0.5) * 2.0 if failed else new


def _run_episode(env, policy, **reset_kwargs):
    obs, _ = env.reset(**reset_kwargs)
    n = 0
    while True:
        obs, _, terminated, truncated, _ = env.step(np.array([policy(obs)]))
        n += 1
        if terminated or truncated:
            return obs, n, terminated, truncated


def test_lqr_sign_and_value():
    s = np.array([0.5, -0.25, 0.1, 0.2])
    assert lqr_teacher_force(s) == pytest.approx(1 * 0.5 + 4.2 * -0.25 + 62.8 * 0.1 + 16.3 * 0.2)
    # F > 0 for a pole leaning to +θ, and that F decelerates the fall (∂θ̈/∂F < 0)
    up, _ = cartpole_step([0, 0, 0.1, 0], lqr_teacher_force([0, 0, 0.1, 0]), 0.01)
    free, _ = cartpole_step([0, 0, 0.1, 0], 0.0, 0.01)
    assert up[3] < 0 < free[3]


def test_lqr_keeps_pole_up_for_whole_episodes():
    env = gymnasium.make(ENV_ID)
    # moderate starts (U(-0.5, 0.5) per state): always balanced for the full 2000 steps, and settled
    rng = np.random.default_rng(5)
    for _ in range(8):
        obs, n, terminated, truncated = _run_episode(env, lqr_teacher_force,
                                                     options={"state": rng.uniform(-0.5, 0.5, 4)})
        assert truncated and not terminated and n == 2000
        assert abs(obs[0]) < 0.01 and np.all(np.abs(obs[1:]) < 1e-3)
    # full reset distribution U(-1, 1): the pole never falls; the failures that happen are all the
    # cart leaving the track (|x| > 2.4), from the large-|x|/|ẋ| starts (measured: 11 of 20 seeds survive)
    survived = 0
    for seed in range(20):
        obs, n, terminated, truncated = _run_episode(env, lqr_teacher_force, seed=seed)
        assert abs(obs[2]) < THETA_THRESHOLD
        if terminated:
            assert abs(obs[0]) > 2.4
        survived += bool(truncated)
    assert survived >= 8


def test_published_test_failures_lqr_vs_zero():
    lqr = published_cartpole_test(lqr_teacher_force)             # RandomState(0) resets
    S = lqr["state_log"]
    fail_rows = np.flatnonzero(lqr["penalty_log"]) + 1
    assert lqr["failures"] <= 10                                 # measured: 6 (all |x| > 2.4)
    assert np.all(np.abs(S[fail_rows, 0]) > 2.4) and np.all(np.abs(S[:, 2]) <= THETA_THRESHOLD)
    zero = published_cartpole_test(lambda s: 0.0)
    assert zero["failures"] > 300                                # measured: 407
    assert np.all(zero["action_log"] == 0)


def test_zero_force_fails_quickly():
    env = gymnasium.make(ENV_ID)
    for seed in range(10):
        _, n, terminated, _ = _run_episode(env, lambda s: 0.0, seed=seed)
        assert terminated and n < 300                            # measured: at most 111 steps


def test_evaluate_on_cartpole_v1():
    lqr_mean, lqr_lengths = evaluate_on_cartpole_v1(lqr_teacher_force, n_episodes=10, seed=0)
    rs = np.random.RandomState(1)
    rand_mean, rand_lengths = evaluate_on_cartpole_v1(lambda s: rs.rand() - 0.5, n_episodes=10, seed=0)
    assert len(lqr_lengths) == len(rand_lengths) == 10
    assert lqr_mean == 500.0                                     # every episode hits the v1 limit
    assert rand_mean < 50                                        # measured: 20.4
