"""Run folders and their status: ``Run``, ``status.json`` (read, write, lock), and whether the
process behind a pending/running status is still there (``Liveness``, ``refresh``)."""
import contextlib
import fcntl
import json
import os
import re
import socket
import subprocess

from .. import runlock
from ..io import atomic_write_bytes
from .common import (ERROR_LOG, FAILED, LOCK, NOT_EXPANDED, PENDING, RUN_META, RUNNING, SLURM_ALIVE,
                     STATUS, append, json_bytes, now, pid_alive, sha256)


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
        self.params_file = meta.get("params") or find_params(self.dir) or "params.json"

    @property
    def params_path(self):
        return os.path.join(self.dir, self.params_file)

    def expanded(self):
        return os.path.isfile(self.params_path)

    def file(self, name):
        return os.path.join(self.dir, name)


def find_params(d):
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
    st["updated"] = now()[1]
    atomic_write_bytes(os.path.join(d, STATUS), json_bytes(st))


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


class Liveness:
    """Is the process behind a pending/running status still there? True, False, or None (cannot tell).
    A folder whose run lock is held (numpy_model/runlock.py) is running, wherever the runner is;
    otherwise Slurm runs: their job id in squeue (one squeue call per instance); local runs: the
    wrapper's pid on this host (it starts before, and ends after, the runner that takes the lock)."""

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

    def alive(self, st, run_dir=None):
        if run_dir is not None and runlock.holder(run_dir) is not None:
            return True
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
        return pid_alive(st.get("pid"), st.get("pid_start"))


def _death_reason(cur):
    if cur["state"] == PENDING:
        return (f"Slurm job {cur['slurm_job']} ended before the run started (cancelled, or the job "
                f"failed to start; see the Slurm output {cur.get('slurm_out', '')})")
    if cur.get("slurm_job"):
        return (f"Slurm job {cur['slurm_job']} is no longer running but the run recorded no end "
                f"(killed: time limit, memory, scancel or node failure; see {cur.get('slurm_out', 'the Slurm output')})")
    return (f"the run's process (pid {cur.get('pid')} on {cur.get('host')}) is gone without "
            f"recording an end (killed?)")


def refresh(run, live):
    """The run's status; a pending/running status whose process is gone becomes failed (persisted)."""
    if not run.expanded() and not os.path.exists(run.file(STATUS)):
        return {"state": NOT_EXPANDED}
    st = read_status(run.dir)
    if st["state"] not in (PENDING, RUNNING) or live.alive(st, run.dir) is not False:
        return st
    with status_lock(run.dir):
        cur = read_status(run.dir)
        same = all(cur.get(k) == st.get(k) for k in ("state", "attempt", "pid", "slurm_job"))
        if not same:
            return cur
        t, iso = now()
        reason = _death_reason(cur)
        cur.update(state=FAILED, error=reason, end_time=iso, end_ts=t, detected_dead=True)
        write_status(run.dir, cur)
        append(run.file(ERROR_LOG), f"[{iso}] {reason}")
    return cur


def stale(run, st):
    """A done run whose params file changed since it ran."""
    sha = st.get("params_sha256")
    try:
        return bool(sha) and run.expanded() and sha256(run.params_path) != sha
    except OSError:
        return False
