"""Derived time quantities of a run: the one place they are computed (docs/model.md §7).

Every count truncates as the simulator does (`int(Tpres / dt)`, never `round`): for
Tpres = 0.3, dt = 0.1 a sample lasts int(2.9999999999999996) = 2 steps. Functions take plain
numbers so that the protocol (params dicts), plots and sweeps (saved objects) share them.
"""

CARTPOLE_SIM_TIME = 200.0    # ms of one closed-loop cart-pole test (§7.5)
CARTPOLE_STEPS_PER_ACTION = 4


def steps_per_sample(Tpres, dt):
    """T: simulated steps one input sample is held (§6.1)."""
    return int(Tpres / dt)


def settling_steps(settling_time, dt):
    """Steps of the settling phase (§7.2.1)."""
    return int(settling_time / dt)


def settling_records(settling_time, dt, rec_per_steps):
    """TPRE: records taken during settling, int(settling_time / dt / rec_per_steps) (§8.2, §9.1)."""
    return max(0, int(settling_time / dt / rec_per_steps))


def validation_epochs(epochs):
    """Epochs (0-based) after whose training a validation runs: (10 e) % E == 0, or E == 1 (§7.2.3)."""
    return [e for e in range(epochs) if (epochs > 1 and (10 * e) % epochs == 0) or epochs == 1]


def cartpole_test_steps(dt):
    """Network steps of one closed-loop cart-pole test: int(200 / dt) control steps x 4 (§7.5)."""
    return int(CARTPOLE_SIM_TIME / dt) * CARTPOLE_STEPS_PER_ACTION


def train_steps(dataset_size, Tpres, dt):
    """Steps of one pass over a split of dataset_size samples (step/cartpole input, §6.1)."""
    return dataset_size * steps_per_sample(Tpres, dt)


def student_total_steps(epochs, n_train, n_settle, cartpole=False, dt=None):
    """Recorded steps of the students' protocol (§7.2): settling, every training epoch, every
    validation, the test; plus every closed-loop test for cart-pole (one per epoch and one final)."""
    total = n_settle + epochs * n_train + len(validation_epochs(epochs)) * n_train + n_train
    if cartpole:
        total += (epochs + 1) * cartpole_test_steps(dt)
    return total


def teacher_total_steps(n_settle, split_lengths, cartpole=False, dt=None):
    """Recorded steps of the teacher pass (§6.4): settling, train/val/test, one cart-pole test."""
    total = n_settle + sum(split_lengths)
    if cartpole:
        total += cartpole_test_steps(dt)
    return total


def of_params(P):
    """(T, settling steps) of a params dict."""
    return steps_per_sample(P["Tpres"], P["dt"]), settling_steps(P["settling_time"], P["dt"])
