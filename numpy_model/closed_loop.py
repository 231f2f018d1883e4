"""Closed-loop cart-pole test of a whole ensemble (docs/model.md §7.5), vectorised over seeds.

`physics_step` is the published Euler step of the cart-pole (one place for the equation; the
Gymnasium environment in `numpy_model.cartpole` uses it too). Each network has its own cart-pole;
resets draw (rng.rand(4) - 0.5) * 2.0 from that network's own generator (`reset_rng`): the
published code draws them from numpy's global stream instead (a documented deviation).
"""
import numpy as np

from .state import CLOSED_LOOP
from .timing import CARTPOLE_SIM_TIME, CARTPOLE_STEPS_PER_ACTION as STEPS_PER_ACTION

GRAVITY, MASS_CART, MASS_POLE, LENGTH = 9.8, 1.0, 0.1, 0.5
X_LIMIT = 2.4
THETA_LIMIT = 70 * 2 * np.pi / 360


def physics_step(state, force, dt):
    """One Euler step with the old state values on the right-hand side (§7.5).
    state (..., 4) = (x, x_dot, theta, theta_dot); force (...). Returns (new_state, failed)."""
    x, x_dot, theta, theta_dot = (state[..., i] for i in range(4))
    total = MASS_CART + MASS_POLE
    sin, cos = np.sin(theta), np.cos(theta)
    temp = (force + MASS_POLE * LENGTH * theta_dot ** 2 * sin) / total
    theta_acc = (GRAVITY * sin - cos * temp) / (LENGTH * (4 / 3 - MASS_POLE * cos ** 2 / total))
    x_acc = temp - MASS_POLE * LENGTH * theta_acc * cos / total
    new = np.stack([x + dt * x_dot, x_dot + dt * x_acc, theta + dt * theta_dot,
                    theta_dot + dt * theta_acc], axis=-1)
    failed = (new[..., 0] < -X_LIMIT) | (new[..., 0] > X_LIMIT) | \
        (new[..., 2] < -THETA_LIMIT) | (new[..., 2] > THETA_LIMIT)
    return new, failed


def _k_cartpole(c, force, dt):
    """physics_step of one cart-pole for the compiled closed loop (numpy_model.models.loops.
    _k_cl_end), same grouping: the state c = (x, x_dot, theta, theta_dot) is advanced in place;
    returns whether it failed."""
    x, x_dot, theta, theta_dot = c[0], c[1], c[2], c[3]
    total = MASS_CART + MASS_POLE
    sin, cos = np.sin(theta), np.cos(theta)
    temp = (force + MASS_POLE * LENGTH * theta_dot ** 2 * sin) / total
    theta_acc = (GRAVITY * sin - cos * temp) / (LENGTH * (4 / 3 - MASS_POLE * cos ** 2 / total))
    x_acc = temp - MASS_POLE * LENGTH * theta_acc * cos / total
    c[0], c[1], c[2], c[3] = x + dt * x_dot, x_dot + dt * x_acc, theta + dt * theta_dot, theta_dot + dt * theta_acc
    return (c[0] < -X_LIMIT) or (c[0] > X_LIMIT) or (c[2] < -THETA_LIMIT) or (c[2] > THETA_LIMIT)


def reset_state(rng, n=None):
    """The published reset: U(-1, 1) per state variable (n: n resets at once, (n, 4), the values
    of n calls in turn)."""
    return (rng.rand(*((4,) if n is None else (n, 4))) - 0.5) * 2.0


def reset_rng(seed):
    """The explicit per-network generator of the cart-pole starts (deviation: the published code
    uses the global numpy stream)."""
    return np.random.RandomState(np.random.SeedSequence([int(seed), 75]).generate_state(1)[0])


def cartpole_test(ens, mon, rngs, rescale, dt, sim_time=CARTPOLE_SIM_TIME):
    """One closed-loop test of every network (§7.5). Network steps have no target, no forward
    or backward learning, lateral plasticity on, and are recorded. Returns per-seed logs:
    state_log (S, sim, 4), action_log (S, sim-1), penalty_log (S, sim-1)."""
    S = ens.S
    sim = int(sim_time / dt)
    sub = int(sim / 10)
    state = np.stack([reset_state(r) for r in rngs])
    states = np.empty((S, sim, 4))
    actions = np.empty((S, sim - 1))
    penalties = np.empty((S, sim - 1))
    states[:, 0] = state
    if ens.c.backend == "numba":          # the same loop, network and physics in one kernel
        from .models import compiled
        compiled.closed_loop(ens, mon, rngs, rescale, dt, sub, state, (states, actions, penalties))
        return states, actions, penalties
    out = ens.lay.out
    for tt in range(1, sim):
        if tt % sub == 0:
            state = np.stack([reset_state(r) for r in rngs])
        for _ in range(STEPS_PER_ACTION):
            ens.step(state, None, CLOSED_LOOP)
            mon.tick(ens, state, None)
        force = ens.rPb[:, out][:, 0] * rescale
        state, failed = physics_step(state, force, dt)
        states[:, tt] = state
        actions[:, tt - 1] = force
        penalties[:, tt - 1] = failed
        if failed.any():
            state = state.copy()
            for s in np.flatnonzero(failed):
                state[s] = reset_state(rngs[s])
    return states, actions, penalties
