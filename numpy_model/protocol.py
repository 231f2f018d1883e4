"""The run protocol (§6.4, 6.5, 7): teacher targets, settling, epochs, validation, testing.

Knows nothing about equations: it feeds inputs/targets to the ensemble's step under the phase's
`numpy_model.state.Phase` and ticks monitors.
"""
import numpy as np

from . import timing
from .closed_loop import cartpole_test, reset_rng
from .record import Monitor, mse
from .recvars import REC_FLAGS, applies
from .signals import shuffle
from .state import FROZEN, Phase
from .timing import validation_epochs  # noqa: F401 - re-exported

# task -> (phase of training and validation, has_teacher)  (docs/model.md §7.1); learning the
# backward weights (fw_bw, bw_only) is the lateral phase: BII/BPP are refreshed with it
TASKS = {
    "fw_only": (Phase(fw=True, lat=True), True),
    "fw_bw": (Phase(fw=True, lat=True), True),
    "bw_only": (Phase(lat=True), False),
    "fw_only_no_teacher": (Phase(fw=True, lat=True), False),
}


def steps_per_sample(P):
    return timing.steps_per_sample(P["Tpres"], P["dt"])


def settling_steps(P):
    return timing.settling_steps(P["settling_time"], P["dt"])


DIVERGENCE_LIMIT = 1e6      # |voltage| or |weight| beyond this counts as runaway
CHECK_EVERY = 50            # steps between divergence checks


class DivergenceWatch:
    """Flags seeds whose voltages or forward weights become NaN/inf or run away. The other seeds
    are unaffected (seeds never mix), so the run continues and saves them all."""

    def __init__(self, seeds):
        self.seeds = list(seeds)
        self.found = {}         # seed index -> description
        self.where = ("settling", 0)
        self.step = 0

    def check(self, ens):
        bad = {}
        for var, arrs in (("voltages", (ens.u,)), ("forward weights WPP", ens.state.WPP)):
            nonfinite = np.zeros(ens.S, bool)
            peak = np.zeros(ens.S)
            for arr in arrs:
                flat = arr.reshape(ens.S, -1)
                with np.errstate(invalid="ignore"):
                    nonfinite |= ~np.isfinite(flat).all(axis=1)
                    peak = np.maximum(peak, np.max(np.abs(np.where(np.isfinite(flat), flat, 0)), axis=1,
                                                   initial=0.0))
            runaway = peak > DIVERGENCE_LIMIT
            for s in np.flatnonzero(nonfinite | runaway):
                what = f"{var} {'not finite' if nonfinite[s] else 'beyond 1e6 (runaway)'}"
                bad[int(s)] = f"{bad[int(s)]}, {what}" if int(s) in bad else what
        for s, what in bad.items():
            self._found(s, what, self.step)

    def _found(self, s, what, step):
        if s not in self.found:
            phase, epoch = self.where
            self.found[s] = (f"seed {self.seeds[s]} diverged: {what} in epoch {epoch} ({phase}), "
                             f"detected at step {step} of the run")

    def report(self, s, voltages, weights, step):
        """A detection of the compiled check (codes per variable: 0 fine, 1 not finite, 2 runaway)."""
        parts = [f"{var} {'not finite' if code == 1 else 'beyond 1e6 (runaway)'}"
                 for var, code in (("voltages", voltages), ("forward weights WPP", weights)) if code]
        if parts:
            self._found(s, ", ".join(parts), step)

    @property
    def messages(self):
        return [self.found[s] for s in sorted(self.found)]


def run_phase(ens, mon, X, Y, nudge, phase=FROZEN, mse_sink=None, capture=None, capture_rate=True,
              watch=None):
    """Run len(X[0]) steps under `phase` (what may learn). X: (S, n, n0); Y: (S, n, n_out) or None.
    nudge: the target enters the dynamics; otherwise it is only used for the MSE.
    capture: a list receiving the output (rate or voltage) *before* every step (teacher).
    watch: a DivergenceWatch checked every CHECK_EVERY steps.
    On the numba backend (ens.c.backend) the phase runs in the model's compiled kernel
    (numpy_model.models.compiled.run_phase); the --compare pass has its own driver
    (numpy_model.analysis.compare.sample_updates)."""
    if ens.c.backend == "numba" and not phase.compare:
        from .models import compiled
        return compiled.run_phase(ens, mon, X, Y, nudge, phase, mse_sink=mse_sink, capture=capture,
                                  capture_rate=capture_rate, watch=watch)
    n = X.shape[1]
    with np.errstate(invalid="ignore", over="ignore"):   # a diverging seed is reported by `watch`
        for t in range(n):
            x = X[:, t]
            y = None if Y is None else Y[:, t]
            if capture is not None:
                capture.append((ens.output_rate() if capture_rate else ens.output_voltage())[0].copy())
            ens.step(x, y if nudge else None, phase)
            if mse_sink is not None and y is not None:
                mse_sink.append(mse(ens, y, mon.rate_target, mon.rec_rate_MSE))
            mon.tick(ens, x, y)
            if watch is not None:
                watch.step += 1
                if watch.step % CHECK_EVERY == 0:
                    watch.check(ens)


def make_monitor(ens, P, total_steps, teacher=False, rate_target=True):
    flags = {k: bool(P.get(k)) for k in REC_FLAGS}
    if teacher:
        flags["rec_MSE"] = flags["rec_error"] = False
        flags["rec_uP_breve"] = True
    for k in flags:
        flags[k] = flags[k] and applies(k, ens.kind)
    every = P["rec_per_steps"]
    return Monitor(ens, flags, every, total_steps // every + 1, rate_target,
                   P.get("rec_rate_MSE") is not None and bool(P.get("rec_rate_MSE")), flags["rec_MSE"])


def _cartpole_logs(S):
    return {"state_log": [[] for _ in range(S)], "action_log": [[] for _ in range(S)],
            "penalty_log": [[] for _ in range(S)]}


def _run_cartpole_test(ens, mon, P, rngs, logs):
    states, actions, penalties = cartpole_test(ens, mon, rngs, P["target_rescale_factor"], P["dt"])
    for s in range(ens.S):
        logs["state_log"][s].append(states[s])
        logs["action_log"][s].append(actions[s])
        logs["penalty_log"][s].append(penalties[s])


def finish_logs(logs, s):
    """Concatenate seed s's cart-pole logs over tests (§7.5)."""
    return {k: np.concatenate(v[s]) if v[s] else np.zeros((0, 4) if k == "state_log" else 0)
            for k, v in logs.items()}


def run_teacher(teacher, data, P, rate_target):
    """Teacher pass (§6.4): settle, then train/val/test passes recording its output before
    each step (and, for cart-pole, one closed-loop test). Returns (targets per split as
    (n, n_out) arrays, monitor, cart-pole logs or None)."""
    n_settle = settling_steps(P)
    total = timing.teacher_total_steps(n_settle, [len(v) for v in data.values()],
                                       P["input_signal"] == "cartpole", P["dt"])
    mon = make_monitor(teacher, P, total, teacher=True, rate_target=rate_target)
    X = {k: v[None] for k, v in data.items()}
    run_phase(teacher, mon, X["train"][:, :n_settle], None, False)
    targets = {}
    for split in ("train", "val", "test"):
        cap = []
        run_phase(teacher, mon, X[split], None, False, capture=cap, capture_rate=rate_target)
        targets[split] = np.array(cap)
    logs = None
    if P["input_signal"] == "cartpole":
        logs = _cartpole_logs(1)
        _run_cartpole_test(teacher, mon, P, [reset_rng(s) for s in teacher.seeds], logs)
    return targets, mon, logs


class StudentRun:
    """Everything the per-student protocol needs to continue: the ensemble, monitor, current
    (shuffled) arrays, cart-pole logs and generators, divergence watch, and the position
    (`next_epoch`: -1 before settling). Pickled whole into checkpoints."""

    def __init__(self, ens, data, targets, P, task):
        S = ens.S
        epochs = P["epochs"]
        n_settle = settling_steps(P)
        DT = data["train"].shape[0]
        self.ens, self.P, self.task = ens, P, task
        self.cartpole = P["input_signal"] == "cartpole"
        total = timing.student_total_steps(epochs, DT, n_settle, self.cartpole, P["dt"])
        self.logs = self.rngs = None
        if self.cartpole:
            self.logs = _cartpole_logs(S)
            self.rngs = [reset_rng(s) for s in ens.seeds]
        self.mon = make_monitor(ens, P, total, rate_target=ens.rate_target)
        self.arrays = {split: [np.repeat(data[split][None], S, axis=0),
                               None if targets is None else np.repeat(targets[split][None], S, axis=0)]
                       for split in ("train", "val", "test")}
        self.watch = DivergenceWatch(ens.seeds)
        self.next_epoch = -1

    def shuffle_split(self, split):
        """Per-seed shuffle with target delay (§6.5); genMNIST is never shuffled."""
        if self.P["input_signal"] not in ("step", "cartpole"):
            return
        ens = self.ens
        T, delay = steps_per_sample(self.P), len(ens.layers) - 1
        X, Y = self.arrays[split]
        Xn = np.empty_like(X)
        Yn = None if Y is None else np.empty_like(Y)
        for s in range(ens.S):
            xs, ys = shuffle(X[s], None if Y is None else Y[s], ens.rngs[s], T, delay)
            Xn[s] = xs
            if Y is not None:
                Yn[s] = ys
        self.arrays[split] = [Xn, Yn]


def run_students(ens, data, targets, P, task, progress=None, run=None, checkpoint=None):
    """Per-student protocol (§7.2), all seeds at once, resumable: pass a StudentRun from a
    checkpoint as `run`; `checkpoint(run)` is called after every epoch. Returns the StudentRun."""
    run = run or StudentRun(ens, data, targets, P, task)
    ens, mon, watch = run.ens, run.mon, run.watch
    learn, _ = TASKS[task]
    epochs = P["epochs"]
    val_epochs = set(validation_epochs(epochs))
    report = progress or (lambda **kw: None)
    if run.next_epoch < 0:
        report(phase="settling", epoch=0, epochs=epochs)
        watch.where = ("settling", 0)
        run_phase(ens, mon, run.arrays["train"][0][:, :settling_steps(P)], None, False, watch=watch)
        run.next_epoch = 0
    for epoch in range(run.next_epoch, epochs):
        watch.where = ("training", epoch)
        run.shuffle_split("train")
        X, Y = run.arrays["train"]
        run_phase(ens, mon, X, Y, True, learn, watch=watch)
        if epoch in val_epochs:
            watch.where = ("validation", epoch)
            Xv, Yv = run.arrays["val"]          # captured before this validation's shuffle (7.3)
            run.shuffle_split("val")
            run_phase(ens, mon, Xv, Yv, False, learn, mse_sink=mon.mse_val if mon.rec_MSE else None, watch=watch)
        if run.cartpole:
            _run_cartpole_test(ens, mon, P, run.rngs, run.logs)
        watch.check(ens)
        run.next_epoch = epoch + 1
        report(phase="training", epoch=epoch + 1, epochs=epochs)
        if checkpoint is not None:
            checkpoint(run)
    watch.where = ("testing", epochs)
    if run.cartpole:      # testing is only a closed-loop test; MSE_test stays empty (§7.2.4)
        _run_cartpole_test(ens, mon, P, run.rngs, run.logs)
    else:
        run.shuffle_split("test")
        X, Y = run.arrays["test"]
        run_phase(ens, mon, X, Y, False, mse_sink=mon.mse_test if mon.rec_MSE else None, watch=watch)
    watch.check(ens)
    report(phase="testing", epoch=epochs, epochs=epochs)
    return run
