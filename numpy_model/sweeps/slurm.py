"""Slurm: one job array per group (task i runs the folder on line i+1 of a list file, with
slurm_script.sh), and waiting until every submitted run has ended."""
import json
import os
import shlex
import subprocess
import sys
import time

from ..io import atomic_write_bytes
from .common import (DONE, FAILED, PENDING, PKG_ROOT, RUNNING, SweepError, append, child_env, fmt_duration,
                     now)
from .folders import Liveness, read_status, refresh, status_lock, write_status


def script_path(script):
    path = script or os.path.join(PKG_ROOT, "slurm_script.sh")
    if not os.path.isfile(path):
        raise SweepError(f"{path}: no such sbatch script (give --slurm-script)")
    return os.path.abspath(path)


def _sbatch_command(group, n, listfile, slurm_dir, opts):
    """(sbatch command, array limit or None) of an array of `n` tasks."""
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
    return cmd + [script_path(opts.slurm_script), listfile], limit


def _sbatch(cmd, opts):
    """Run sbatch; returns the job id."""
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
    return res.stdout.strip().split(";")[0].strip()


def _mark_pending(runs, job, iso, slurm_dir):
    for i, run in enumerate(runs):
        task = f"{job}_{i}"
        with status_lock(run.dir):
            st = read_status(run.dir)
            if st.get("slurm_job") == task:          # the task started already
                continue
            write_status(run.dir, {"state": PENDING, "attempt": st.get("attempt", 0), "slurm_job": task,
                                   "submitted": iso, "slurm_out": f"{slurm_dir}/{job}_{i}.out",
                                   "params": run.params_file, "args": run.args})


def submit_slurm(group, runs, opts, out=None):
    """One job array for `runs`: task i runs line i+1 of a list file written next to the array."""
    out = sys.stdout if out is None else out
    slurm_dir = os.path.abspath(os.path.join(group.home, "slurm"))
    os.makedirs(slurm_dir, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
    listfile = os.path.join(slurm_dir, f"array-{stamp}.txt")
    atomic_write_bytes(listfile, "".join(r.dir + "\n" for r in runs).encode("utf-8"))
    n = len(runs)
    cmd, limit = _sbatch_command(group, n, listfile, slurm_dir, opts)
    job = _sbatch(cmd, opts)
    t, iso = now()
    append(os.path.join(slurm_dir, "submissions.jsonl"),
           json.dumps({"job": job, "submitted": iso, "runs": n, "list": listfile,
                       "command": " ".join(shlex.quote(c) for c in cmd)}))
    _mark_pending(runs, job, iso, slurm_dir)
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
            print(f"[{fmt_duration(time.time() - t0)}] {line}", file=out, flush=True)
            last = line
        if not counts.get(RUNNING) and not counts.get(PENDING):
            return counts
        if timeout and time.time() - t0 > timeout:
            raise SweepError(f"--wait: still {line} after {timeout:g} s")
        time.sleep(poll)
