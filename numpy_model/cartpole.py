"""Cart-pole with a continuous force: the published physics and closed-loop test (docs/model.md §7.5), the
linear controller of the special cart-pole teacher (§5.8), and a check against Gymnasium's own
``CartPole-v1``.

Physics (§7.5), explicit Euler with the *old* state on every right-hand side::

    temp   = (F + m_p*l*θ̇**2*sinθ) / (m_c + m_p)
    θ̈      = (g*sinθ - cosθ*temp) / (l*(4/3 - m_p*cosθ**2/(m_c + m_p)))
    ẍ      = temp - m_p*l*θ̈*cosθ/(m_c + m_p)
    x, ẋ, θ, θ̇  +=  dt*ẋ, dt*ẍ, dt*θ̇, dt*θ̈

with g = 9.8, m_c = 1.0, m_p = 0.1, l = 0.5, and failure when |x| > 2.4 or |θ| > 70° (strict
inequalities, evaluated on the new state). The products are evaluated left to right exactly as written
(e.g. ``((m_p*l)*θ̇**2)*sinθ``); ``sin``/``cos`` are NumPy's float64 ones. Sign convention (the same as
Gymnasium's CartPole): F > 0 pushes the cart towards +x, and θ > 0 is the pole leaning towards +x,
which F > 0 counteracts (∂θ̈/∂F < 0).

The environment is registered as ``"numpy_model/CartPoleForce-v0"`` with ``max_episode_steps=2000``:
the published test (§7.5) resets the cart-pole every ``sub = int(int(200/dt)/10) = 2000`` steps
(20 s at dt = 0.01), so a Gymnasium episode is one such segment (plus earlier termination on failure).
"""
import numpy as np
import gymnasium
from gymnasium import spaces

from .closed_loop import physics_step

X_THRESHOLD = 2.4
THETA_THRESHOLD = 70 * 2 * np.pi / 360          # 70° in radians, grouped as in §7.5
TARGET_RESCALE_FACTOR = 76.6                     # §5.8
LQR_GAINS = (1.0, 4.2, 62.8, 16.3)               # §5.8: weights of (x, ẋ, θ, θ̇)
ENV_ID = "numpy_model/CartPoleForce-v0"
EPISODE_STEPS = 2000                             # = int(int(200/0.01)/10), the published reset period


def cartpole_step(state, force, dt):
    """One Euler step (§7.5): returns (new state as float64 array (4,), failed: bool).
    The equations live in `numpy_model.closed_loop.physics_step` (also used, vectorised over
    seeds, by the closed-loop tests of a trained ensemble)."""
    new, failed = physics_step(np.asarray(state, dtype=np.float64), float(force), dt)
    return new, bool(failed)


def cartpole_failed(state):
    """Failure test of §7.5: x < −2.4 or x > 2.4 or θ < −70° or θ > 70°."""
    x, theta = float(state[0]), float(state[2])
    return bool(x < -X_THRESHOLD or x > X_THRESHOLD or theta < -THETA_THRESHOLD or theta > THETA_THRESHOLD)


class CartPoleEnv(gymnasium.Env):
    """Continuous-force cart-pole with the published physics (§7.5).

    * Action: the force F, ``Box(-inf, inf, (1,), float64)`` (the published code never clips F;
      ``check_env`` accepts an unbounded Box). ``step`` also accepts a plain scalar.
    * Observation: (x, ẋ, θ, θ̇), ``Box(-inf, inf, (4,), float64)``.
    * Reward: 1.0 on every step, including the terminating one (Gymnasium CartPole convention, so the
      return equals the episode length); ``info["penalty"]`` is 1 on the failing step and 0 otherwise
      (the published ``penalty_log`` entry). ``terminated`` is True on failure. Stepping after
      termination simply keeps integrating.
    * Reset: U(−1, 1) per state, drawn as ``(rng.rand(4) − 0.5)*2.0``. By default ``rng`` is
      Gymnasium's ``self.np_random`` (PCG64, seeded by ``reset(seed=...)``; ``random(4)`` is used in
      place of ``rand(4)``). With ``legacy_rng=numpy.random.RandomState(...)`` the draws come from that
      RandomState instead, reproducing the published stream exactly; ``reset(seed=s)`` then also
      re-seeds it with ``legacy_rng.seed(s)``.
      ``reset(options={"state": (x, ẋ, θ, θ̇)})`` sets the state exactly and draws nothing.
    """

    metadata = {"render_modes": []}

    def __init__(self, dt=0.01, legacy_rng=None, render_mode=None):
        if not dt > 0:
            raise ValueError(f"dt must be > 0, got {dt!r}")
        if render_mode is not None:
            raise ValueError("CartPoleEnv has no render modes")
        self.dt = float(dt)
        self.legacy_rng = legacy_rng
        self.render_mode = None
        self.action_space = spaces.Box(-np.inf, np.inf, shape=(1,), dtype=np.float64)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(4,), dtype=np.float64)
        self.state = np.zeros(4, dtype=np.float64)

    def _draw_state(self):
        rng = self.legacy_rng
        if rng is not None:
            return (np.asarray(rng.rand(4), dtype=np.float64) - 0.5) * 2.0
        return (self.np_random.random(4) - 0.5) * 2.0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if seed is not None and self.legacy_rng is not None:
            self.legacy_rng.seed(seed)
        if options is not None and options.get("state") is not None:
            state = np.array(options["state"], dtype=np.float64).reshape(-1)
            if state.shape != (4,):
                raise ValueError(f"options['state'] must have 4 entries, got shape {state.shape}")
            self.state = state
        else:
            self.state = self._draw_state()
        return self.state.copy(), {}

    def step(self, action):
        F = np.asarray(action, dtype=np.float64).reshape(-1)
        if F.size != 1:
            raise ValueError(f"action must be a single force, got shape {np.shape(action)}")
        self.state, failed = cartpole_step(self.state, F[0], self.dt)
        return self.state.copy(), 1.0, failed, False, {"penalty": int(failed)}


if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="numpy_model.cartpole:CartPoleEnv",
                       max_episode_steps=EPISODE_STEPS)


def published_cartpole_test(controller, dt=0.01, rng=None):
    """The published closed-loop test loop (§7.5), step by step.

    ``controller(state) -> F`` gets a copy of the current state (x, ẋ, θ, θ̇) and returns the force
    (for a network this is where the 4 circuit steps and ``F = r̆P[out][0]·target_rescale_factor``
    happen: the caller's business). ``rng`` (anything with ``.rand(4)``) drives the resets; it defaults
    to a fresh ``numpy.random.RandomState(0)``. The published code uses numpy's global (legacy)
    stream instead, unseeded within the test: pass ``numpy.random.mtrand._rand`` or a RandomState in the
    right state to reproduce a given run.

    Returns ``{"state_log": (sim, 4), "action_log": (sim−1,), "penalty_log": (sim−1,),
    "failures": int}`` with ``sim = int(200/dt)`` (20000 at dt = 0.01).
    """
    if rng is None:
        rng = np.random.RandomState(0)
    sim = int(200 / dt)
    sub = int(sim / 10)
    env = CartPoleEnv(dt=dt, legacy_rng=rng)
    state, _ = env.reset()                      # creating the published cart-pole performs a reset
    state_log = np.empty((sim, 4), dtype=np.float64)
    action_log = np.empty(sim - 1, dtype=np.float64)
    penalty_log = np.empty(sim - 1, dtype=np.int64)
    state_log[0] = state
    for tt in range(1, sim):
        if tt % sub == 0:
            state, _ = env.reset()
        F = float(controller(state.copy()))
        state, _, failed, _, info = env.step(F)
        state_log[tt], action_log[tt - 1], penalty_log[tt - 1] = state, F, info["penalty"]
        if failed:
            state, _ = env.reset()
    return {"state_log": state_log, "action_log": action_log, "penalty_log": penalty_log,
            "failures": int(penalty_log.sum())}


def lqr_teacher_force(state, target_rescale_factor=TARGET_RESCALE_FACTOR):
    """The force of the cart-pole teacher at steady state (§5.8):
    rate ≈ (1·x + 4.2·ẋ + 62.8·θ + 16.3·θ̇)/target_rescale_factor, F = rate·target_rescale_factor.

    The published sign is used as is: all gains positive, i.e. F = +K·state. With this physics
    (F > 0 accelerates the cart to +x and the pole to −θ) it keeps the pole up; the positive x gain is
    the usual non-minimum-phase term (push away first so the pole tips towards the centre)."""
    x, x_dot, theta, theta_dot = (float(v) for v in np.asarray(state, dtype=np.float64).reshape(-1)[:4])
    k_x, k_xd, k_t, k_td = LQR_GAINS
    rate = (k_x * x + k_xd * x_dot + k_t * theta + k_td * theta_dot) / target_rescale_factor
    return rate * target_rescale_factor


def evaluate_on_cartpole_v1(policy, n_episodes=10, seed=0):
    """Run ``policy(obs) -> F`` on Gymnasium's own ``CartPole-v1`` (500-step limit, fails at 12°/2.4).

    CartPole-v1's observation is (x, ẋ, θ, θ̇) in the same order, units (m, m/s, rad, rad/s) and
    sign conventions as ours, so it is passed through unchanged. The continuous force is mapped to
    the discrete action as ``1 if F > 0 else 0`` (1 = push right with +10 N, 0 = push left with
    −10 N; F == 0 maps to left). Episode i is reset with ``seed + i``.
    Returns ``(mean episode length, list of lengths)``."""
    env = gymnasium.make("CartPole-v1")
    lengths = []
    try:
        for i in range(n_episodes):
            obs, _ = env.reset(seed=seed + i)
            n, done = 0, False
            while not done:
                action = 1 if float(policy(np.asarray(obs, dtype=np.float64))) > 0 else 0
                obs, _, terminated, truncated, _ = env.step(action)
                n += 1
                done = terminated or truncated
            lengths.append(n)
    finally:
        env.close()
    return float(np.mean(lengths)), lengths


def circuit_policy(saved):
    """A controller ``policy(obs) -> F`` from one saved, trained network (teacher or student) of
    a cart-pole run: the observation is held as input for 4 network steps (no plasticity at all,
    so evaluating never changes the circuit), then F = output rate x target_rescale_factor, as in
    the published closed loop (§7.5)."""
    from .closed_loop import STEPS_PER_ACTION
    from .run import restore_ensemble

    ens = restore_ensemble([saved])
    rescale = saved.target_rescale_factor
    out = ens.lay.out

    def policy(obs):
        x = np.asarray(obs, dtype=np.float64)[None, :]
        for _ in range(STEPS_PER_ACTION):
            ens.step(x, None)
        return float(ens.rPb[0, out][0] * rescale)
    return policy


def evaluate_models(models, n_episodes=10, seed=0, log=print):
    """CartPole-v1 mean episode length (and the published 200 s test on our environment) of every
    network of a cart-pole model.pkl; returns a list of dict rows."""
    from .closed_loop import reset_rng
    rows = []
    for m in models:
        role = "teacher" if getattr(m, "is_teacher", False) else "student"
        mean_len, _ = evaluate_on_cartpole_v1(circuit_policy(m), n_episodes=n_episodes, seed=seed)
        test = published_cartpole_test(circuit_policy(m), dt=m.dt, rng=reset_rng(m.seed))
        row = {"role": role, "seed": m.seed, "cartpole_v1_mean_length": mean_len,
               "failures_per_200s": int(test["penalty_log"].sum())}
        rows.append(row)
        log(f"{role:8s} seed {m.seed:>7}: CartPole-v1 mean episode length {mean_len:6.1f} "
            f"(of 500, {n_episodes} episodes); failures in a 200 s test on {ENV_ID}: "
            f"{row['failures_per_200s']}")
    return rows


def main(argv=None):
    """`python -m numpy_model.cartpole MODEL_PKL`: score a trained cart-pole run on Gymnasium."""
    import argparse
    import sys

    from .io import LoadError, load_models
    ap = argparse.ArgumentParser(prog="python -m numpy_model.cartpole", description=main.__doc__)
    ap.add_argument("model_pkl", help="model.pkl of a run with input_signal cartpole")
    ap.add_argument("--episodes", type=int, default=10, help="CartPole-v1 episodes per network")
    ap.add_argument("--seed", type=int, default=0, help="seed of the first CartPole-v1 episode")
    args = ap.parse_args(argv)
    try:
        models = load_models(args.model_pkl)
    except LoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if any(getattr(m, "input_signal", None) != "cartpole" for m in models):
        print(f"error: {args.model_pkl}: not a cart-pole run (input_signal must be 'cartpole')",
              file=sys.stderr)
        return 2
    evaluate_models(models, args.episodes, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
