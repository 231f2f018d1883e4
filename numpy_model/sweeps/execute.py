"""exec: one run, with status and logs. `python -m numpy_model.sweep exec RUN_DIR` runs the runner of
one folder as a child process: status running -> runner -> status done/failed, with run.log (everything
the runner printed) and error.log (its warnings and errors)."""
import contextlib
import os
import resource
import shlex
import signal
import subprocess
import sys
import threading

from .. import provenance, runlock
from .common import (DONE, ERROR_LOG, FAILED, INFO_LINE, RUN_LOG, RUNNING, child_env, fmt_duration, now,
                     pid_start, sha256, slurm_job_of_env)
from .folders import Liveness, Run, read_status, status_lock, write_status
from .metrics import run_summary

EXIT_SKIPPED = 3      # the folder is running elsewhere: nothing was done


def _set_pdeathsig():
    """Child side: die with the wrapper (Linux), so a killed wrapper never leaves a stray run."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)    # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def signal_name(num):
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def start_attempt(run, live, t0, iso0):
    """Record a new attempt as running. Returns (status, None), or (None, exit code) when the folder
    is running elsewhere (3) or has no params file (1, recorded as failed)."""
    with status_lock(run.dir):
        old = read_status(run.dir)
        me = slurm_job_of_env()
        other = old.get("pid") != os.getpid() and not (me and old.get("slurm_job") == me)   # not a requeue
        if old["state"] == RUNNING and other and live.alive(old, run.dir):
            print(f"{run.label}: already running (pid {old.get('pid')} on {old.get('host')}); skipped",
                  file=sys.stderr)
            return None, EXIT_SKIPPED
        held = runlock.holder(run.dir)
        if held is not None:              # a runner not started by the sweep (or a stale status)
            print(f"{run.label}: in use by a runner ({runlock.describe(held)}); skipped", file=sys.stderr)
            return None, EXIT_SKIPPED
        st = {"state": RUNNING, "attempt": int(old.get("attempt", 0)) + 1, "start_time": iso0, "start_ts": t0,
              "host": live.host, "pid": os.getpid(), "pid_start": pid_start(os.getpid()),
              "slurm_job": me, "params": run.params_file, "args": run.args}
        if st["slurm_job"]:
            st["slurm_out"] = old.get("slurm_out")
        if run.figure:
            st["figure"] = run.figure
        if not run.expanded():
            st.update(state=FAILED, end_time=iso0, end_ts=t0, exit_code=None,
                      error=f"no params file {run.params_file} in {run.dir} (expand the sweep first)")
            write_status(run.dir, st)
            with open(run.file(ERROR_LOG), "w", encoding="utf-8") as fh:
                fh.write(st["error"] + "\n")
            return None, 1
        st["params_sha256"] = sha256(run.params_path)
        write_status(run.dir, st)
    return st, None


def run_child(run, attempt, cmd, log, err):
    """Run the runner, its stdout to `log`, its stderr to `log` and (warnings, errors) `err`; a
    signal to this wrapper stops it. Returns (exit code, the error lines, the signal received)."""
    child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.PIPE, env=child_env(threads=None),
                             preexec_fn=_set_pdeathsig, text=True, errors="replace", bufsize=1)
    got = {"signal": None}

    def forward(signum, frame):     # Slurm time limit / scancel / kill: stop the run, record why
        first = got["signal"] is None   # (SIGTERM: the runner checkpoints at the end of the epoch
        got["signal"] = signum          # and stops; a second SIGINT would stop it at once, so
        with contextlib.suppress(ProcessLookupError):      # never forward SIGINT)
            child.send_signal(signal.SIGTERM)
        if first:                   # record it now: Slurm kills everything KillWait seconds later,
            threading.Thread(target=note_signal, args=(run, attempt, signum), daemon=True).start()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
        signal.signal(sig, forward)
    with status_lock(run.dir):
        cur = read_status(run.dir)
        if cur.get("attempt") == attempt:
            cur["child_pid"] = child.pid
            write_status(run.dir, cur)
    errors = []
    for line in child.stderr:
        log.write(line)
        log.flush()
        if not INFO_LINE.match(line.rstrip("\n")):
            err.write(line)
            err.flush()
            errors.append(line.rstrip("\n"))
    return child.wait(), errors, got["signal"]


def note_signal(run, attempt, signum):
    """The interim end of an attempt stopped by a signal, written at once; the runner's exit, if it
    comes in time, replaces it with the full record."""
    t1, iso1 = now()
    finish_attempt(run, attempt, state=FAILED, end_time=iso1, end_ts=t1, exit_code=None,
                   error=f"terminated by {signal_name(signum)} (Slurm time limit or scancel, kill, or "
                         f"Ctrl-C); waiting for the runner to checkpoint and stop")


def classify_exit(run, rc, signum, errors, t0):
    """(error or None, summary of model.pkl or None) of a runner that exited with `rc`."""
    if rc == 0 and signum is None:
        pkl = run.file("model.pkl")
        if not os.path.exists(pkl) or os.path.getmtime(pkl) < t0 - 1:
            return "the runner exited with code 0 but wrote no model.pkl", None
        try:
            return None, run_summary(pkl)
        except Exception as exc:  # noqa: BLE001 - a summary failure must not lose the run
            return None, {"error": f"{type(exc).__name__}: {exc}"}
    if signum is not None:
        error = (f"terminated by {signal_name(signum)} (Slurm time limit or scancel, kill, or "
                 f"Ctrl-C); the runner exited with {rc}")
        stopped = [e for e in errors if e.startswith("stopped:")]
        return error + (f" ({stopped[-1]})" if stopped else ""), None
    if rc < 0:
        return f"the runner was killed by {signal_name(-rc)}", None
    msgs = [e for e in errors if e.startswith("error:")]
    tb = [e for e in errors if e and not e.startswith((" ", "warning:"))]
    return f"exit code {rc}: " + (msgs[-1] if msgs else tb[-1] if tb else f"the runner exited with code {rc}"), None


def finish_attempt(run, attempt, **fields):
    """Record the end of `attempt` (unless a newer attempt has started meanwhile)."""
    with status_lock(run.dir):
        cur = read_status(run.dir)
        if cur.get("attempt") == attempt:
            cur.update(fields)
            write_status(run.dir, cur)


def execute(run_dir, plots=False, python=None):
    """Run one folder: status running -> runner -> status done/failed. Returns 0 when done."""
    run = Run(run_dir)
    live = Liveness()
    if not os.path.isdir(run.dir):
        print(f"error: {run.dir}: no such run folder", file=sys.stderr)
        return 2
    t0, iso0 = now()
    st, code = start_attempt(run, live, t0, iso0)
    if st is None:
        return code
    attempt = st["attempt"]
    cmd = [python or sys.executable, "-m", "numpy_model.cli", "--params", run.params_path, *run.args]
    if not plots:
        cmd.append("--no-plots")
    # provenance is gathered before the run: nothing slow stands between a signal and the status write
    prov = provenance.record(params_path=run.params_path, command=cmd, start_time=iso0)
    where = f"Slurm job {st['slurm_job']} on {live.host}" if st["slurm_job"] else f"{live.host}"
    with open(run.file(RUN_LOG), "w", encoding="utf-8") as log, \
            open(run.file(ERROR_LOG), "w", encoding="utf-8") as err:
        log.write(f"# {iso0} attempt {attempt} on {where}, wrapper pid {os.getpid()}\n"
                  f"# {' '.join(shlex.quote(c) for c in cmd)}\n")
        log.flush()
        rc, errors, signum = run_child(run, attempt, cmd, log, err)
        t1, iso1 = now()
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)         # the runner is the only child
        cpu = round(ru.ru_utime + ru.ru_stime, 3)
        error, summary = classify_exit(run, rc, signum, errors, t0)
        state = DONE if error is None else FAILED
        if error:
            err.write(f"[{iso1}] run failed: {error}\n")
        log.write(f"# {iso1} {state} after {fmt_duration(t1 - t0)} (exit code {rc})"
                  + (f": {error}" if error else "") + "\n")
    finish_attempt(run, attempt, state=state, end_time=iso1, end_ts=t1, duration_s=round(t1 - t0, 3), cpu_s=cpu,
                   exit_code=rc, error=error, test_mse=summary,
                   provenance=dict(prov, end_time=iso1))
    return 0 if state == DONE else 1
