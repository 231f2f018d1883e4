"""Constants and small helpers shared by the sweep modules."""
import datetime
import hashlib
import json
import os
import re
import time

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
NOT_EXPANDED = "not expanded"
STATUS, RUN_LOG, ERROR_LOG, RUN_META, LOCK = "status.json", "run.log", "error.log", "run.json", ".status.lock"
PKG_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))   # the repo
DEFAULT_ROOT = "experiments"
SLURM_ALIVE = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD",
               "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED"}
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
# lines of the runner's stderr that are progress/summary, not warnings or errors (kept out of error.log)
INFO_LINE = re.compile(r"^(\[\s*\d+(\.\d+)?s\] .*: epoch \d+/\d+"
                       r"|  \S+ seed \d+: validation MSE .*"
                       r"|saved \d+ networks to .*|wrote \d+ figures to .*|backend: .*)$")
PROGRESS = re.compile(r"^\[\s*\d+(\.\d+)?s\] (.*: epoch \d+/\d+)$")


class SweepError(Exception):
    """Bad usage: unknown figure, folder without params file, sbatch failure (exit code 2)."""


def now():
    """(epoch seconds, local ISO time)."""
    t = time.time()
    return t, datetime.datetime.fromtimestamp(t).astimezone().isoformat(timespec="seconds")


def json_bytes(obj):
    return (json.dumps(obj, indent=1) + "\n").encode("utf-8")


def natural_key(s):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        h.update(fh.read())
    return h.hexdigest()


def fmt_duration(sec):
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


def append(path, text):
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text if text.endswith("\n") else text + "\n")


def pid_start(pid):
    """Start time of process `pid` (clock ticks since boot; None where /proc is unavailable)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def pid_alive(pid, start=None):
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
        return start is None or pid_start(pid) in (None, start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def slurm_job_of_env(env=os.environ):
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
