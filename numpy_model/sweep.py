"""Sweeps: every figure's runs from one command, locally or on Slurm.

    python -m numpy_model.sweep list                                  # the figures and their run counts
    python -m numpy_model.sweep show FIG                              # base params, swept values, notes
    python -m numpy_model.sweep expand FIG|all [--root experiments]   # write the published layout
    python -m numpy_model.sweep run TARGET... [-j N] [--force] [--slurm [slurm options]]
    python -m numpy_model.sweep status TARGET...
    python -m numpy_model.sweep rerun --failed TARGET... [-j N] [--slurm ...]
    python -m numpy_model.sweep collect TARGET... [--out CSV]
    python -m numpy_model.sweep exec RUN_DIR                          # one run (used by run and slurm_script.sh)

A TARGET is a figure name (Fig2a, Fig3, FigA1, FigA2, FigC1, Fig4, Fig5, or all), a run folder (a folder
with a params file) or a folder holding run folders. A run is `python runner.py --params DIR/params.json
ARGS --no-plots` (ARGS from DIR/run.json, written by `expand`). Each run folder gets

* ``status.json``: state (pending / running / done / failed), start and end time, duration, CPU time
  of the runner, exit code, host and pid or Slurm job id, and the final test MSE (mean of
  ``MSE_test_time_series`` per seed, summarised);
* ``run.log``: everything the run printed (progress, warnings, errors), with a header and footer;
* ``error.log``: the warnings and errors alone (empty for a clean run).

A run whose process is gone (same host: its pid no longer exists; Slurm: its job is no longer in
``squeue``) without recording an end is reported failed, never "running" for ever. Exit codes: 0 all
selected runs done, 1 some failed, 2 bad usage (unknown figure, folder without params, sbatch error).
"""

import argparse
import contextlib
import csv
import datetime
import fcntl
import hashlib
import io
import json
import math
import os
import re
import resource
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time

from . import experiments as ex
from .io import atomic_write_bytes

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
NOT_EXPANDED = "not expanded"
STATUS, RUN_LOG, ERROR_LOG, RUN_META, LOCK = "status.json", "run.log", "error.log", "run.json", ".status.lock"
PKG_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # the repo (slurm_script.sh)
DEFAULT_ROOT = "experiments"
SLURM_ALIVE = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD",
               "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED"}
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
# lines of the runner's stderr that are progress/summary, not warnings or errors (kept out of error.log)
_INFO_LINE = re.compile(r"^(\[\s*\d+(\.\d+)?s\] .*: epoch \d+/\d+"
                        r"|  \S+ seed \d+: validation MSE .*"
                        r"|saved \d+ networks to .*|wrote \d+ figures to .*)$")
_PROGRESS = re.compile(r"^\[\s*\d+(\.\d+)?s\] (.*: epoch \d+/\d+)$")


class SweepError(Exception):
    """Bad usage: unknown figure, folder without params file, sbatch failure (exit code 2)."""


# ----------------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------------

def _now():
    t = time.time()
    return t, datetime.datetime.fromtimestamp(t).astimezone().isoformat(timespec="seconds")


def _json_bytes(obj):
    return (json.dumps(obj, indent=1) + "\n").encode("utf-8")


def _natural_key(s):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        h.update(fh.read())
    return h.hexdigest()


def _fmt_duration(sec):
    if sec is None or sec != sec:
        return ""
    sec = max(0.0, sec)
    if sec < 60:
        return f"{sec:.1f}s"
    m, s = divmod(int(round(sec)), 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


def _pid_start(pid):
    """Start time of process `pid` (clock ticks since boot; None where /proc is unavailable)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _pid_alive(pid, start=None):
    if not pid:
        return False
    if os.path.isdir("/proc"):
        if not os.path.exists(f"/proc/{pid}"):
            return False
        try:
            with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
                if re.search(r"^State:\s+Z", fh.read(), re.M):
                    return False          # a zombie has finished
        except OSError:
            return False
        return start is None or _pid_start(pid) in (None, start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _slurm_job_of_env(env=os.environ):
    if env.get("SLURM_ARRAY_JOB_ID") and env.get("SLURM_ARRAY_TASK_ID"):
        return f"{env['SLURM_ARRAY_JOB_ID']}_{env['SLURM_ARRAY_TASK_ID']}"
    return env.get("SLURM_JOB_ID") or None


def child_env(threads=1, extra=None):
    """Environment of a run: the package importable, headless matplotlib, unbuffered output, and
    `threads` BLAS/OpenMP threads unless the caller set them (N runs in parallel on N cores)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PKG_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("MPLBACKEND", "Agg")
    env["PYTHONUNBUFFERED"] = "1"
    if threads:
        for var in THREAD_VARS:
            env.setdefault(var, str(threads))
    env.update(extra or {})
    return env


# ----------------------------------------------------------------------------------------------
# run folders and their status
# ----------------------------------------------------------------------------------------------

class Run:
    """A run folder: its params file, runner arguments and swept values (from run.json if present)."""

    def __init__(self, path, label=None, figure=None):
        self.dir = os.path.abspath(path)
        self.label = label or os.path.relpath(self.dir)
        meta = {}
        try:
            with open(os.path.join(self.dir, RUN_META), encoding="utf-8") as fh:
                meta = json.load(fh)
        except (OSError, ValueError):
            pass
        self.figure = figure or meta.get("figure")
        self.args = list(meta.get("args", []))
        self.values = dict(meta.get("values", {}))
        self.params_file = meta.get("params") or _find_params(self.dir) or "params.json"

    @property
    def params_path(self):
        return os.path.join(self.dir, self.params_file)

    def expanded(self):
        return os.path.isfile(self.params_path)

    def file(self, name):
        return os.path.join(self.dir, name)


def _find_params(d):
    if os.path.isfile(os.path.join(d, "params.json")):
        return "params.json"
    try:
        cands = sorted(f for f in os.listdir(d) if re.fullmatch(r"params.*\.json", f))
    except OSError:
        return None
    return cands[0] if len(cands) == 1 else None


def read_status(d):
    try:
        with open(os.path.join(d, STATUS), encoding="utf-8") as fh:
            st = json.load(fh)
        return st if isinstance(st, dict) and "state" in st else {"state": FAILED, "error": "unreadable status.json"}
    except FileNotFoundError:
        return {"state": PENDING}
    except (OSError, ValueError):
        return {"state": FAILED, "error": "unreadable status.json"}


def write_status(d, st):
    st = dict(st)
    st["updated"] = _now()[1]
    atomic_write_bytes(os.path.join(d, STATUS), _json_bytes(st))


@contextlib.contextmanager
def status_lock(d):
    """Serialise read-modify-write of status.json between the run, status checks and submissions."""
    fd = os.open(os.path.join(d, LOCK), os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _append(path, text):
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text if text.endswith("\n") else text + "\n")


class Liveness:
    """Is the process behind a pending/running status still there? True, False, or None (cannot tell).
    Slurm runs: their job id in squeue (one squeue call per instance); local runs: pid on this host."""

    def __init__(self):
        self.host = socket.gethostname()
        self._squeue = False

    def squeue(self):
        if self._squeue is False:
            self._squeue = None
            try:
                user = os.environ.get("USER") or __import__("pwd").getpwuid(os.getuid()).pw_name
                out = subprocess.run(["squeue", "-h", "-r", "-u", user, "-o", "%i|%T"], capture_output=True,
                                     text=True, timeout=60)
                if out.returncode == 0:
                    self._squeue = dict(line.split("|", 1) for line in out.stdout.split() if "|" in line)
            except (OSError, subprocess.SubprocessError, KeyError):
                pass
        return self._squeue

    def alive(self, st):
        job = st.get("slurm_job")
        if job:
            jobs = self.squeue()
            if jobs is None:
                return None
            return jobs.get(job) in SLURM_ALIVE
        if st.get("state") == PENDING:
            return None                      # queued by a local manager, or never started
        if st.get("host") != self.host:
            return None
        return _pid_alive(st.get("pid"), st.get("pid_start"))


def refresh(run, live):
    """The run's status; a pending/running status whose process is gone becomes failed (persisted)."""
    if not run.expanded() and not os.path.exists(run.file(STATUS)):
        return {"state": NOT_EXPANDED}
    st = read_status(run.dir)
    if st["state"] not in (PENDING, RUNNING) or live.alive(st) is not False:
        return st
    with status_lock(run.dir):
        cur = read_status(run.dir)
        same = all(cur.get(k) == st.get(k) for k in ("state", "attempt", "pid", "slurm_job"))
        if not same:
            return cur
        t, iso = _now()
        if cur["state"] == PENDING:
            reason = (f"Slurm job {cur['slurm_job']} ended before the run started (cancelled, or the job "
                      f"failed to start; see the Slurm output {cur.get('slurm_out', '')})")
        elif cur.get("slurm_job"):
            reason = (f"Slurm job {cur['slurm_job']} is no longer running but the run recorded no end "
                      f"(killed: time limit, memory, scancel or node failure; see {cur.get('slurm_out', 'the Slurm output')})")
        else:
            reason = (f"the run's process (pid {cur.get('pid')} on {cur.get('host')}) is gone without "
                      f"recording an end (killed?)")
        cur.update(state=FAILED, error=reason, end_time=iso, end_ts=t, detected_dead=True)
        write_status(run.dir, cur)
        _append(run.file(ERROR_LOG), f"[{iso}] {reason}")
    return cur


def _stale(run, st):
    """A done run whose params file changed since it ran."""
    sha = st.get("params_sha256")
    try:
        return bool(sha) and run.expanded() and _sha256(run.params_path) != sha
    except OSError:
        return False


# ----------------------------------------------------------------------------------------------
# metrics of a saved run (status summary and collect)
# ----------------------------------------------------------------------------------------------

def _n_validations(epochs):
    return len([e for e in range(epochs) if (epochs > 1 and (10 * e) % epochs == 0) or epochs == 1])


def student_metrics(m):
    """Per-seed metrics: final test MSE (mean of MSE_test_time_series), the mean validation MSE of the
    last validation, and the time-mean update angle (nan_to_num of angle_BP_updates_time_series,
    averaged per layer, then over layers) if the run compared with backprop."""
    import numpy as np
    out = {"final_test_mse": None, "last_val_mse": None, "mean_update_angle": None,
           "update_angle_per_layer": None, "n_test_records": 0}
    def series(name):
        x = getattr(m, name, None)
        return np.zeros(0) if x is None else np.asarray(x, dtype=float).ravel()

    test = series("MSE_test_time_series")
    if test.size:
        out["final_test_mse"] = float(test.mean())
        out["n_test_records"] = int(test.size)
    val = series("MSE_val_time_series")
    n_val = _n_validations(int(getattr(m, "epochs", 0) or 0))
    if val.size and n_val:
        per = max(1, val.size // n_val)
        out["last_val_mse"] = float(val[-per:].mean())
    ang = getattr(m, "angle_BP_updates_time_series", None)
    if ang is not None and len(ang):
        a = np.nan_to_num(np.asarray(ang, dtype=float))
        per_layer = a.reshape(a.shape[0], -1).mean(axis=0)
        out["mean_update_angle"] = float(per_layer.mean())
        out["update_angle_per_layer"] = " ".join(f"{v:.6g}" for v in per_layer)
    return out


def _students(models):
    return [m for m in models if not getattr(m, "is_teacher", False)]


def run_summary(pkl):
    """Summary of model.pkl for status.json: per-seed final test MSE and its mean/min/max."""
    from .io import load_models
    studs = _students(load_models(pkl))
    per = [student_metrics(m)["final_test_mse"] for m in studs]
    vals = [v for v in per if v is not None]
    return {"n_seeds": len(studs), "seeds": [getattr(m, "seed", None) for m in studs],
            "per_seed": per,
            "mean": sum(vals) / len(vals) if vals else None,
            "min": min(vals) if vals else None, "max": max(vals) if vals else None}


# ----------------------------------------------------------------------------------------------
# exec: one run, with status and logs
# ----------------------------------------------------------------------------------------------

def _set_pdeathsig():
    """Child side: die with the wrapper (Linux), so a killed wrapper never leaves a stray run."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)    # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _signal_name(num):
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def execute(run_dir, plots=False, python=None):
    """Run one folder: status running -> runner -> status done/failed. Returns 0 when done."""
    run = Run(run_dir)
    live = Liveness()
    if not os.path.isdir(run.dir):
        print(f"error: {run.dir}: no such run folder", file=sys.stderr)
        return 2
    t0, iso0 = _now()
    with status_lock(run.dir):
        old = read_status(run.dir)
        me = _slurm_job_of_env()
        other = old.get("pid") != os.getpid() and not (me and old.get("slurm_job") == me)   # not a requeue
        if old["state"] == RUNNING and other and live.alive(old):
            print(f"{run.label}: already running (pid {old.get('pid')} on {old.get('host')}); skipped",
                  file=sys.stderr)
            return 3
        attempt = int(old.get("attempt", 0)) + 1
        st = {"state": RUNNING, "attempt": attempt, "start_time": iso0, "start_ts": t0,
              "host": live.host, "pid": os.getpid(), "pid_start": _pid_start(os.getpid()),
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
            return 1
        st["params_sha256"] = _sha256(run.params_path)
        write_status(run.dir, st)

    cmd = [python or sys.executable, "-m", "numpy_model.cli", "--params", run.params_path, *run.args]
    if not plots:
        cmd.append("--no-plots")
    where = f"Slurm job {st['slurm_job']} on {live.host}" if st["slurm_job"] else f"{live.host}"
    got = {"signal": None}
    with open(run.file(RUN_LOG), "w", encoding="utf-8") as log, \
            open(run.file(ERROR_LOG), "w", encoding="utf-8") as err:
        log.write(f"# {iso0} attempt {attempt} on {where}, wrapper pid {os.getpid()}\n"
                  f"# {' '.join(shlex.quote(c) for c in cmd)}\n")
        log.flush()
        child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.PIPE, env=child_env(threads=None),
                                 preexec_fn=_set_pdeathsig, text=True, errors="replace", bufsize=1)

        def forward(signum, frame):     # Slurm time limit / scancel / kill: stop the run, record why
            got["signal"] = signum      # (SIGTERM: the runner checkpoints at the end of the epoch and
            with contextlib.suppress(ProcessLookupError):      # stops; a second SIGINT would stop it
                child.send_signal(signal.SIGTERM)              # at once, so never forward SIGINT)

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
            if not _INFO_LINE.match(line.rstrip("\n")):
                err.write(line)
                err.flush()
                errors.append(line.rstrip("\n"))
        rc = child.wait()
        t1, iso1 = _now()
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)         # the runner is the only child
        cpu = round(ru.ru_utime + ru.ru_stime, 3)
        pkl = run.file("model.pkl")
        summary, error = None, None
        if rc == 0 and got["signal"] is None:
            if not os.path.exists(pkl) or os.path.getmtime(pkl) < t0 - 1:
                error = "the runner exited with code 0 but wrote no model.pkl"
            else:
                try:
                    summary = run_summary(pkl)
                except Exception as exc:  # noqa: BLE001 - a summary failure must not lose the run
                    summary = {"error": f"{type(exc).__name__}: {exc}"}
        elif got["signal"] is not None:
            error = (f"terminated by {_signal_name(got['signal'])} (Slurm time limit or scancel, kill, or "
                     f"Ctrl-C); the runner exited with {rc}")
            stopped = [e for e in errors if e.startswith("stopped:")]
            if stopped:
                error += f" ({stopped[-1]})"
        elif rc < 0:
            error = f"the runner was killed by {_signal_name(-rc)}"
        else:
            msgs = [e for e in errors if e.startswith("error:")]
            tb = [e for e in errors if e and not e.startswith((" ", "warning:"))]
            error = (msgs[-1] if msgs else tb[-1] if tb else f"the runner exited with code {rc}")
            error = f"exit code {rc}: {error}"
        state = DONE if error is None else FAILED
        if error:
            err.write(f"[{iso1}] run failed: {error}\n")
        log.write(f"# {iso1} {state} after {_fmt_duration(t1 - t0)} (exit code {rc})"
                  + (f": {error}" if error else "") + "\n")
    with status_lock(run.dir):
        cur = read_status(run.dir)
        if cur.get("attempt") == attempt:
            cur.update(state=state, end_time=iso1, end_ts=t1, duration_s=round(t1 - t0, 3), cpu_s=cpu, exit_code=rc,
                       error=error, test_mse=summary)
            write_status(run.dir, cur)
    return 0 if state == DONE else 1


# ----------------------------------------------------------------------------------------------
# targets: figures, run folders
# ----------------------------------------------------------------------------------------------

def figure_name(name):
    """Canonical figure name (case-insensitive; the published folder names work too) or None."""
    low = name.lower().rstrip("/")
    for key, fig in ex.FIGURES.items():
        if low == key.lower() or low in (r.lower() for r in fig.roots) and not fig.alias_of:
            return key
    return None


class Group:
    """Runs that belong together: a figure (home = ROOT/sweeps/FIG) or a set of folders."""

    def __init__(self, name, runs, home, figure=None):
        self.name, self.runs, self.home, self.figure = name, runs, home, figure


def resolve(targets, root=DEFAULT_ROOT):
    groups, loose = [], []
    for t in targets:
        if t.lower() == "all":
            names = [k for k, f in ex.FIGURES.items() if not f.alias_of]
        elif figure_name(t) and not os.path.isdir(t):
            names = [figure_name(t)]
        elif os.path.isdir(t):
            loose.extend(_discover(t))
            continue
        else:
            known = ", ".join(ex.FIGURES)
            raise SweepError(f"{t}: not a figure ({known}, all) nor a run folder")
        for name in names:
            runs = [Run(os.path.join(root, spec.path), label=spec.path, figure=name)
                    for spec in ex.FIGURES[name].runs()]
            groups.append(Group(name, runs, os.path.join(root, "sweeps", name), figure=name))
    if loose:
        seen, runs = set(), []
        for r in loose:
            if r.dir not in seen:
                seen.add(r.dir)
                runs.append(r)
        common = os.path.commonpath([r.dir for r in runs])
        home = os.path.dirname(common) if len(runs) == 1 else common
        for r in runs:
            r.label = os.path.relpath(r.dir, home)
        groups.append(Group(os.path.basename(home) or "runs", runs, home))
    return groups


def _discover(d):
    if _find_params(d) or os.path.exists(os.path.join(d, RUN_META)):
        return [Run(d)]
    found = []
    for dirpath, dirnames, _ in os.walk(d):
        dirnames[:] = sorted((x for x in dirnames if not x.startswith(".") and x != "sweeps"), key=_natural_key)
        if dirpath != d and (_find_params(dirpath) or os.path.exists(os.path.join(dirpath, RUN_META))):
            found.append(dirpath)
            dirnames[:] = []
    if not found:
        raise SweepError(f"{d}: no run folders (folders with a params*.json) in it")
    return [Run(p) for p in sorted(found, key=_natural_key)]


# ----------------------------------------------------------------------------------------------
# expand
# ----------------------------------------------------------------------------------------------

def write_run_folder(d, params, args=(), values=None, params_file="params.json", figure=None):
    """Write one run folder (params file and run.json); only files whose content changes are
    rewritten. Returns True if anything was written."""
    os.makedirs(d, exist_ok=True)
    changed = False
    meta = {"figure": figure, "params": params_file, "args": list(args), "values": dict(values or {})}
    for name, data in ((params_file, _json_bytes(params)), (RUN_META, _json_bytes(meta))):
        path = os.path.join(d, name)
        try:
            with open(path, "rb") as fh:
                if fh.read() == data:
                    continue
        except OSError:
            pass
        atomic_write_bytes(path, data)
        changed = True
    return changed


def expand(name, root=DEFAULT_ROOT, out=None):
    out = sys.stdout if out is None else out
    from .params import ParamsError, validate
    fig = ex.FIGURES[name]
    specs = fig.runs()
    written, problems = 0, {}
    for spec in specs:
        d = os.path.join(root, spec.path)
        written += write_run_folder(d, spec.params, spec.args, spec.values, spec.params_file,
                                    figure=fig.alias_of or name)
        try:
            validate(spec.params, "fw_only", warn=lambda m: None)
        except ParamsError as exc:
            problems.setdefault(str(exc), []).append(spec.path)
    home = os.path.join(root, "sweeps", name)
    os.makedirs(home, exist_ok=True)
    desc = dict(fig.describe(), runs=[s.path for s in specs])
    atomic_write_bytes(os.path.join(home, "sweep.json"), _json_bytes(desc))
    alias = f" (the runs of {fig.alias_of})" if fig.alias_of else ""
    print(f"{name}: {len(specs)} runs{alias} under {root}/ ({written} written, {len(specs) - written} "
          f"unchanged); description in {os.path.join(home, 'sweep.json')}", file=out)
    for msg, paths in problems.items():
        print(f"  note: {len(paths)} run(s) will fail as things stand ({paths[0]}"
              f"{', ...' if len(paths) > 1 else ''}): {msg}", file=out)
    return len(specs)


# ----------------------------------------------------------------------------------------------
# status
# ----------------------------------------------------------------------------------------------

def _progress_of(run):
    try:
        with open(run.file(RUN_LOG), "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 4096))
            tail = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    for line in reversed(tail):
        m = _PROGRESS.match(line)
        if m:
            return m.group(2)
    return ""


def _row(run, st, now):
    state = st["state"]
    start, end = st.get("start_ts"), st.get("end_ts")
    dur = (end if state in (DONE, FAILED) and end else now) - start if start and state != PENDING else None
    where = ""
    if st.get("slurm_job"):
        where = f"slurm {st['slurm_job']}" + (f" {st['host']}" if st.get("host") and state != PENDING else "")
    elif st.get("host") and state != PENDING:
        where = f"{st['host']} pid {st.get('pid')}"
    mse = ""
    tm = st.get("test_mse") or {}
    if state == DONE and tm.get("mean") is not None:
        mse = f"{tm['mean']:.3g}" + (f" ({tm['n_seeds']} seeds)" if tm.get("n_seeds", 1) > 1 else "")
    note = ""
    if state == FAILED:
        note = (st.get("error") or "").replace("\n", " ")
    elif state == RUNNING:
        note = _progress_of(run)
    elif state == PENDING and st.get("slurm_job"):
        note = "queued on Slurm"
    elif state == DONE and _stale(run, st):
        note = "params changed since this run (run reruns it)"
    started = (st.get("start_time") or "")[:19].replace("T", " ") if state != PENDING else ""
    return [run.label, state, started, _fmt_duration(dur) if dur is not None else "", where, mse, note]


def status_table(group, live, out=None, only=None):
    out = sys.stdout if out is None else out
    now = time.time()
    rows, counts = [], {}
    for run in group.runs:
        st = refresh(run, live)
        counts[st["state"]] = counts.get(st["state"], 0) + 1
        if only and st["state"] not in only:
            continue
        rows.append(_row(run, st, now))
    head = ["run", "state", "started", "time", "where", "test MSE", "note"]
    width = [max([len(head[i])] + [len(r[i]) for r in rows]) for i in range(len(head) - 1)]
    title = f"{group.name}: {len(group.runs)} runs" + (f" ({group.home})" if group.figure else "")
    print(title, file=out)
    for r in [head] + rows:
        cells = [c.ljust(w) for c, w in zip(r[:-1], width)] + [r[-1][:160]]
        print("  " + "  ".join(cells).rstrip(), file=out)
    order = [DONE, FAILED, RUNNING, PENDING, NOT_EXPANDED]
    print("  " + ", ".join(f"{counts[k]} {k}" for k in order if counts.get(k)), file=out)
    return counts


# ----------------------------------------------------------------------------------------------
# run (local pool or Slurm job array)
# ----------------------------------------------------------------------------------------------

def select(group, live, force=False, failed_only=False, out=None):
    """The runs of `group` to (re)run: not done (or forced / params changed), not alive elsewhere."""
    out = sys.stdout if out is None else out
    todo, missing = [], []
    for run in group.runs:
        st = refresh(run, live)
        state = st["state"]
        if state == NOT_EXPANDED or not run.expanded():
            missing.append(run)
            continue
        if failed_only:
            if state == FAILED:
                todo.append(run)
            continue
        if state in (RUNNING, PENDING) and (st.get("slurm_job") or state == RUNNING):
            alive = live.alive(st)
            if alive or (alive is None and not force):
                what = "queued on Slurm" if state == PENDING else "running"
                print(f"  {run.label}: {what} ({st.get('slurm_job') or st.get('host')}); skipped", file=out)
                continue
        if state == DONE and not force:
            if _stale(run, st):
                print(f"  {run.label}: params changed since the run; rerunning", file=out)
            else:
                continue
        todo.append(run)
    if missing:
        hint = f"python -m numpy_model.sweep expand {group.figure}" if group.figure else "write its params.json"
        raise SweepError(f"{group.name}: {len(missing)} run folder(s) have no params file, e.g. "
                         f"{missing[0].dir} ({hint})")
    return todo


def run_local(runs, jobs, plots=False, threads=1, out=None):
    """At most `jobs` runs at a time, each in its own `exec` process. Returns (done, failed) labels."""
    out = sys.stdout if out is None else out
    env = child_env(threads=threads)
    queue, active, done, failed = list(runs), {}, [], []
    n = len(runs)

    def finish(p):
        run, logf = active.pop(p)
        logf.seek(0)
        wrapper_out = logf.read().decode("utf-8", "replace").strip()
        logf.close()
        st = read_status(run.dir)
        if st["state"] in (RUNNING, PENDING) and p.returncode != 3:
            with status_lock(run.dir):
                st = read_status(run.dir)
                if st["state"] in (RUNNING, PENDING):
                    t, iso = _now()
                    why = (f"the run's wrapper process exited with {p.returncode} without recording an end"
                           + (f": {wrapper_out.splitlines()[-1]}" if wrapper_out else ""))
                    st.update(state=FAILED, end_time=iso, end_ts=t, error=why, exit_code=p.returncode)
                    write_status(run.dir, st)
                    _append(run.file(ERROR_LOG), f"[{iso}] {why}")
        k = len(done) + len(failed) + 1
        if st["state"] == DONE:
            done.append(run.label)
            tm = (st.get("test_mse") or {}).get("mean")
            mse = f", test MSE {tm:.3g}" if tm is not None else ""
            print(f"[{k}/{n}] done    {run.label} ({_fmt_duration(st.get('duration_s'))}{mse})", file=out, flush=True)
        elif p.returncode == 3:
            print(f"[{k}/{n}] skipped {run.label}: {wrapper_out}", file=out, flush=True)
            done.append(run.label)
        else:
            failed.append(run.label)
            print(f"[{k}/{n}] FAILED  {run.label}: {st.get('error')} (see {run.file(ERROR_LOG)})", file=out,
                  flush=True)

    def stop(signum, frame):            # kill/hangup of the manager: stop its runs like Ctrl-C
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        while queue or active:
            while queue and len(active) < jobs:
                run = queue.pop(0)
                logf = tempfile.TemporaryFile()
                cmd = [sys.executable, "-m", "numpy_model.sweep", "exec", run.dir] + (["--plots"] if plots else [])
                p = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env)
                active[p] = (run, logf)
            time.sleep(0.05)
            for p in [p for p in active if p.poll() is not None]:
                finish(p)
    except KeyboardInterrupt:
        print("interrupted: stopping the running runs (they are recorded as failed)", file=out, flush=True)
        for p in active:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
        for p in list(active):
            p.wait()
            finish(p)
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return done, failed


def _script_path(script):
    path = script or os.path.join(PKG_ROOT, "slurm_script.sh")
    if not os.path.isfile(path):
        raise SweepError(f"{path}: no such sbatch script (give --slurm-script)")
    return os.path.abspath(path)


def submit_slurm(group, runs, opts, out=None):
    """One job array for `runs`: task i runs line i+1 of a list file written next to the array."""
    out = sys.stdout if out is None else out
    slurm_dir = os.path.abspath(os.path.join(group.home, "slurm"))
    os.makedirs(slurm_dir, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
    listfile = os.path.join(slurm_dir, f"array-{stamp}.txt")
    atomic_write_bytes(listfile, "".join(r.dir + "\n" for r in runs).encode("utf-8"))
    n = len(runs)
    limit = opts.array_limit if opts.array_limit and opts.array_limit < n else None
    cmd = [opts.sbatch, "--parsable", f"--array=0-{n - 1}" + (f"%{limit}" if limit else ""),
           f"--job-name={opts.job_name or 'sweep-' + group.name}", f"--output={slurm_dir}/%A_%a.out",
           f"--chdir={os.getcwd()}"]
    for flag, value in (("--time", opts.time), ("--cpus-per-task", opts.cpus_per_task),
                        ("--partition", opts.partition), ("--mem", opts.mem), ("--account", opts.account)):
        if value:
            cmd.append(f"{flag}={value}")
    for extra in opts.sbatch_arg or []:
        cmd.extend(shlex.split(extra))
    cmd += [_script_path(opts.slurm_script), listfile]
    env = child_env(threads=None, extra={"SWEEP_PYTHON": opts.python or sys.executable})
    if opts.activate:
        env["SWEEP_ACTIVATE"] = os.path.abspath(opts.activate)
    if opts.plots:
        env["SWEEP_EXEC_ARGS"] = "--plots"
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SweepError(f"sbatch could not be run ({exc}); is Slurm installed?") from exc
    if res.returncode != 0:
        raise SweepError(f"sbatch failed (exit code {res.returncode}): {res.stderr.strip() or res.stdout.strip()}")
    job = res.stdout.strip().split(";")[0].strip()
    t, iso = _now()
    _append(os.path.join(slurm_dir, "submissions.jsonl"),
            json.dumps({"job": job, "submitted": iso, "runs": n, "list": listfile,
                        "command": " ".join(shlex.quote(c) for c in cmd)}))
    for i, run in enumerate(runs):
        task = f"{job}_{i}"
        with status_lock(run.dir):
            st = read_status(run.dir)
            if st.get("slurm_job") == task:          # the task started already
                continue
            write_status(run.dir, {"state": PENDING, "attempt": st.get("attempt", 0), "slurm_job": task,
                                   "submitted": iso, "slurm_out": f"{slurm_dir}/{job}_{i}.out",
                                   "params": run.params_file, "args": run.args})
    print(f"{group.name}: submitted job array {job} ({n} tasks"
          + (f", at most {limit} at a time" if limit else "") + f"); task list {listfile}", file=out, flush=True)
    return job


def wait_for(groups, poll=2.0, timeout=None, out=None):
    """Poll until no run of `groups` is pending or running (dead ones are marked failed)."""
    out = sys.stdout if out is None else out
    t0 = time.time()
    last = None
    while True:
        live = Liveness()
        counts = {}
        for g in groups:
            for run in g.runs:
                s = refresh(run, live)["state"]
                counts[s] = counts.get(s, 0) + 1
        line = ", ".join(f"{counts[k]} {k}" for k in (DONE, FAILED, RUNNING, PENDING) if counts.get(k))
        if line != last:
            print(f"[{_fmt_duration(time.time() - t0)}] {line}", file=out, flush=True)
            last = line
        if not counts.get(RUNNING) and not counts.get(PENDING):
            return counts
        if timeout and time.time() - t0 > timeout:
            raise SweepError(f"--wait: still {line} after {timeout:g} s")
        time.sleep(poll)


def cmd_run(args, failed_only=False, out=None):
    out = sys.stdout if out is None else out
    groups = resolve(args.targets, args.root)
    live = Liveness()
    plan = []
    for g in groups:
        todo = select(g, live, force=args.force, failed_only=failed_only, out=out)
        plan.append((g, todo))
        what = "failed runs to rerun" if failed_only else "runs to run"
        print(f"{g.name}: {len(todo)} of {len(g.runs)} {what}", file=out, flush=True)
    runs = [r for _, todo in plan for r in todo]
    if not runs:
        return 0
    if args.slurm:
        for g, todo in plan:
            if todo:
                submit_slurm(g, todo, args, out=out)
        if not args.wait:
            print("follow with: python -m numpy_model.sweep status " + " ".join(shlex.quote(t) for t in args.targets),
                  file=out)
            return 0
        subset = [Group(g.name, todo, g.home, g.figure) for g, todo in plan if todo]
        counts = wait_for(subset, poll=args.poll, timeout=args.timeout, out=out)
        for g in subset:
            status_table(g, Liveness(), out=out)
        return 1 if counts.get(FAILED) else 0
    jobs = args.jobs or os.cpu_count() or 1
    print(f"running {len(runs)} runs, at most {jobs} at a time", file=out, flush=True)
    t0 = time.time()
    done, failed = run_local(runs, jobs, plots=args.plots, threads=args.threads, out=out)
    print(f"{len(done)} done, {len(failed)} failed in {_fmt_duration(time.time() - t0)}"
          + (": rerun them with `python -m numpy_model.sweep rerun --failed "
             + " ".join(shlex.quote(t) for t in args.targets) + "`" if failed else ""), file=out)
    return 1 if failed else 0


# ----------------------------------------------------------------------------------------------
# collect
# ----------------------------------------------------------------------------------------------

BASE_COLUMNS = ["figure", "run", "state", "mc_model", "layers", "error_layers", "seed", "final_test_mse",
                "last_val_mse", "mean_update_angle", "update_angle_per_layer", "n_test_records"]


def collect(group, out_path=None, out=None):
    """One CSV row per seed of every done run of `group`, written atomically. Returns (path, rows)."""
    out = sys.stdout if out is None else out
    from .io import LoadError, load_models
    live = Liveness()
    value_keys = []
    for run in group.runs:
        for k in run.values:
            if k not in value_keys and k not in BASE_COLUMNS:
                value_keys.append(k)
    header = BASE_COLUMNS[:2] + value_keys + BASE_COLUMNS[2:]
    rows, missing = [], []
    for run in group.runs:
        st = refresh(run, live)
        if st["state"] != DONE:
            missing.append(f"{run.label} ({st['state']})")
            continue
        try:
            models = load_models(run.file("model.pkl"))
        except LoadError as exc:
            missing.append(f"{run.label} ({exc})")
            continue
        for m in _students(models):
            row = {"figure": group.figure or run.figure or "", "run": run.label, "state": st["state"],
                   "mc_model": getattr(m, "mc_model", ""),
                   "layers": "-".join(str(x) for x in getattr(m, "layers", [])),
                   "error_layers": "-".join(str(x) for x in (getattr(m, "error_layers", None) or [])),
                   "seed": getattr(m, "seed", "")}
            row.update({k: v for k, v in run.values.items() if k not in BASE_COLUMNS})
            row.update(student_metrics(m))
            rows.append(row)
    if out_path is None:
        out_path = os.path.join(group.home, "metrics.csv")
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: ("" if v is None or (isinstance(v, float) and math.isnan(v)) else
                        repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    atomic_write_bytes(out_path, buf.getvalue().encode("utf-8"))
    n_runs = len(group.runs) - len(missing)
    print(f"{group.name}: wrote {len(rows)} rows ({n_runs} of {len(group.runs)} runs) to {out_path}", file=out)
    if missing:
        print(f"  not included ({len(missing)} runs not done): " + ", ".join(missing[:8])
              + (", ..." if len(missing) > 8 else ""), file=out)
    return out_path, rows


# ----------------------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------------------

def _parser():
    ap = argparse.ArgumentParser(prog="python -m numpy_model.sweep",
                                 description="Every figure's runs: expand, run (locally or on Slurm), "
                                             "status, rerun, collect.")
    sub = ap.add_subparsers(dest="cmd", required=True)

    def root_opt(p):
        p.add_argument("--root", default=DEFAULT_ROOT, help="experiments folder (default: ./experiments)")

    def targets(p):
        p.add_argument("targets", nargs="+", metavar="TARGET",
                       help="figure (" + ", ".join(ex.FIGURES) + ", all), run folder, or folder of run folders")
        root_opt(p)

    def run_opts(p):
        p.add_argument("-j", "--jobs", type=int, default=None,
                       help="local: at most N runs at a time (default: number of cores)")
        p.add_argument("--force", action="store_true", help="also rerun runs that are done")
        p.add_argument("--plots", action="store_true", help="write the per-run PNG figures (default: none)")
        p.add_argument("--threads", type=int, default=1,
                       help="BLAS/OpenMP threads per local run unless set in the environment (default 1)")
        s = p.add_argument_group("Slurm (--slurm: one job array per figure, one task per run)")
        s.add_argument("--slurm", action="store_true", help="submit to Slurm instead of running locally")
        s.add_argument("--array-limit", type=int, default=20, metavar="K",
                       help="at most K tasks of the array at a time (sbatch --array=0-(n-1)%%K; 0: no limit; "
                            "default 20)")
        s.add_argument("--time", help="sbatch --time (default: slurm_script.sh's #SBATCH line)")
        s.add_argument("--cpus-per-task", type=int, help="sbatch --cpus-per-task (default 1)")
        s.add_argument("--partition", help="sbatch --partition")
        s.add_argument("--mem", help="sbatch --mem")
        s.add_argument("--account", help="sbatch --account")
        s.add_argument("--job-name", help="sbatch --job-name (default sweep-<figure>)")
        s.add_argument("--sbatch-arg", action="append", metavar="ARG", help="extra sbatch argument(s), repeatable")
        s.add_argument("--activate", metavar="FILE",
                       help="file sourced by each task before running (e.g. a venv's bin/activate)")
        s.add_argument("--python", help="interpreter of the tasks (default: this one)")
        s.add_argument("--slurm-script", help="sbatch script (default: slurm_script.sh in the repo)")
        s.add_argument("--sbatch", default="sbatch", help=argparse.SUPPRESS)
        s.add_argument("--wait", action="store_true", help="wait until every submitted run has ended")
        s.add_argument("--poll", type=float, default=2.0, help=argparse.SUPPRESS)
        s.add_argument("--timeout", type=float, default=None, help="--wait: give up after this many seconds")

    sub.add_parser("list", help="the figures, their run counts and scripts")
    p = sub.add_parser("show", help="a figure's description: base params, swept values, notes")
    p.add_argument("figure")
    p = sub.add_parser("expand", help="write the figure's run folders (params + run.json)")
    p.add_argument("figures", nargs="+", metavar="FIGURE")
    root_opt(p)
    p = sub.add_parser("run", help="run (or submit) the runs that are not done")
    targets(p)
    run_opts(p)
    p = sub.add_parser("rerun", help="rerun only the failed runs")
    p.add_argument("--failed", action="store_true", required=True, help="select the failed runs")
    targets(p)
    run_opts(p)
    p = sub.add_parser("status", help="table of the runs: state, time, where, test MSE, note")
    targets(p)
    p.add_argument("--state", action="append", choices=[PENDING, RUNNING, DONE, FAILED],
                   help="only list runs in this state (repeatable)")
    p = sub.add_parser("collect", help="one CSV of per-seed metrics per figure (atomic)")
    targets(p)
    p.add_argument("--out", help="CSV path (default: ROOT/sweeps/<figure>/metrics.csv, or metrics.csv next "
                                 "to the run folders); one target only")
    p = sub.add_parser("exec", help="run one folder now (used by run and slurm_script.sh)")
    p.add_argument("run_dir")
    p.add_argument("--plots", action="store_true")
    return ap


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "exec":
            return execute(args.run_dir, plots=args.plots)
        if args.cmd == "list":
            for name, fig in ex.FIGURES.items():
                extra = f" (= the {fig.alias_of} runs)" if fig.alias_of else ""
                print(f"{name:6s} {len(fig.runs()):4d} runs{extra}  {fig.title}  [{fig.script}]")
            return 0
        if args.cmd == "show":
            name = figure_name(args.figure)
            if not name:
                raise SweepError(f"{args.figure}: unknown figure ({', '.join(ex.FIGURES)})")
            print(json.dumps(dict(ex.FIGURES[name].describe(), runs=[s.path for s in ex.FIGURES[name].runs()]),
                             indent=1))
            return 0
        if args.cmd == "expand":
            names = []
            for f in args.figures:
                if f.lower() == "all":
                    names += [k for k, v in ex.FIGURES.items() if not v.alias_of]
                elif figure_name(f):
                    names.append(figure_name(f))
                else:
                    raise SweepError(f"{f}: unknown figure ({', '.join(ex.FIGURES)}, all)")
            for name in dict.fromkeys(names):
                expand(name, args.root)
            return 0
        if args.cmd == "run":
            return cmd_run(args)
        if args.cmd == "rerun":
            return cmd_run(args, failed_only=True)
        if args.cmd == "status":
            live = Liveness()
            for g in resolve(args.targets, args.root):
                status_table(g, live, only=args.state)
            return 0
        if args.cmd == "collect":
            groups = resolve(args.targets, args.root)
            if args.out and len(groups) > 1:
                raise SweepError("--out needs a single figure or set of run folders")
            for g in groups:
                collect(g, args.out)
            return 0
    except SweepError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
