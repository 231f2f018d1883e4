"""The local pool: at most N runs at a time, each in its own `exec` process."""
import contextlib
import json
import signal
import subprocess
import sys
import tempfile
import time

from .. import timing
from .common import DONE, ERROR_LOG, FAILED, PENDING, RUNNING, append, child_env, fmt_duration, now
from .execute import EXIT_SKIPPED
from .folders import read_status, status_lock, write_status


def _record_wrapper_exit(run, returncode, wrapper_out):
    """A wrapper that exited without recording an end (it crashed): the run is failed."""
    with status_lock(run.dir):
        st = read_status(run.dir)
        if st["state"] in (RUNNING, PENDING):
            t, iso = now()
            why = (f"the run's wrapper process exited with {returncode} without recording an end"
                   + (f": {wrapper_out.splitlines()[-1]}" if wrapper_out else ""))
            st.update(state=FAILED, end_time=iso, end_ts=t, error=why, exit_code=returncode)
            write_status(run.dir, st)
            append(run.file(ERROR_LOG), f"[{iso}] {why}")
    return st


class _Pool:
    """The `exec` processes of run_local, and the done/failed labels of the runs they ran."""

    def __init__(self, n, plots, threads, out):
        self.n, self.plots, self.out = n, plots, out
        self.env = child_env(threads=threads)
        self.active, self.done, self.failed = {}, [], []

    def start(self, run):
        logf = tempfile.TemporaryFile()
        cmd = [sys.executable, "-m", "numpy_model.sweep", "exec", run.dir] + (["--plots"] if self.plots else [])
        p = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=self.env)
        self.active[p] = (run, logf)

    def finish(self, p):
        run, logf = self.active.pop(p)
        logf.seek(0)
        wrapper_out = logf.read().decode("utf-8", "replace").strip()
        logf.close()
        st = read_status(run.dir)
        if st["state"] in (RUNNING, PENDING) and p.returncode != EXIT_SKIPPED:
            st = _record_wrapper_exit(run, p.returncode, wrapper_out)
        self._report(run, st, p.returncode, wrapper_out)

    def _report(self, run, st, returncode, wrapper_out):
        k, n, out = len(self.done) + len(self.failed) + 1, self.n, self.out
        if st["state"] == DONE:
            self.done.append(run.label)
            tm = (st.get("test_mse") or {}).get("mean")
            mse = f", test MSE {tm:.3g}" if tm is not None else ""
            print(f"[{k}/{n}] done    {run.label} ({fmt_duration(st.get('duration_s'))}{mse})", file=out, flush=True)
        elif returncode == EXIT_SKIPPED:
            print(f"[{k}/{n}] skipped {run.label}: {wrapper_out}", file=out, flush=True)
            self.done.append(run.label)
        else:
            self.failed.append(run.label)
            print(f"[{k}/{n}] FAILED  {run.label}: {st.get('error')} (see {run.file(ERROR_LOG)})", file=out,
                  flush=True)

    def finish_ended(self):
        for p in [p for p in self.active if p.poll() is not None]:
            self.finish(p)

    def stop_all(self):
        print("interrupted: stopping the running runs (they are recorded as failed)", file=self.out, flush=True)
        for p in self.active:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
        for p in list(self.active):
            p.wait()
            self.finish(p)


def _stop(signum, frame):            # kill/hangup of the manager: stop its runs like Ctrl-C
    raise KeyboardInterrupt


def expected_work(run):
    """A run's expected cost, for ordering only: seeds x steps x weights per seed (dense over the
    layers) x 2 with `--compare` (its pass drives every recorded weight set through an epoch
    again); 0 when its params cannot be read (such a run fails fast anyway)."""
    from ..params import validate
    try:
        with open(run.params_path, encoding="utf-8") as fh:
            P = validate(json.load(fh), "fw_only", warn=lambda msg: None)      # with the defaults
    except (OSError, ValueError, TypeError, RecursionError):                  # (ParamsError: ValueError)
        return 0
    layers = [int(n) for n in P["layers"]]
    T, n_settle = timing.of_params(P)
    steps = timing.student_total_steps(int(P["epochs"]), int(P["dataset_size"]) * T, n_settle)
    seeds = len(P["random_seed"])
    weights = sum(a * b for a, b in zip(layers[:-1], layers[1:])) + sum(layers)
    return seeds * steps * weights * (2 if "--compare" in run.args else 1)


def run_local(runs, jobs, plots=False, threads=1, out=None):
    """At most `jobs` runs at a time, each in its own `exec` process, the longest expected first
    (so that no long run starts last while the other cores idle). Returns (done, failed) labels."""
    pool = _Pool(len(runs), plots, threads, sys.stdout if out is None else out)
    queue = sorted(runs, key=expected_work, reverse=True)       # stable: ties keep their order
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        while queue or pool.active:
            while queue and len(pool.active) < jobs:
                pool.start(queue.pop(0))
            time.sleep(0.05)
            pool.finish_ended()
    except KeyboardInterrupt:
        pool.stop_all()
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return pool.done, pool.failed
