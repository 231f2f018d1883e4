"""status: the table of a group's runs, and which runs of a group to (re)run."""
import os
import sys
import time

from .. import runlock
from .common import (DONE, FAILED, NOT_EXPANDED, PENDING, PROGRESS, RUN_LOG, RUNNING, SweepError,
                     fmt_duration)
from .folders import refresh, stale


def _progress_of(run):
    try:
        with open(run.file(RUN_LOG), "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 4096))
            tail = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    for line in reversed(tail):
        m = PROGRESS.match(line)
        if m:
            return m.group(2)
    return ""


def _note(run, st):
    state = st["state"]
    if state == FAILED:
        return (st.get("error") or "").replace("\n", " ")
    if state == RUNNING:
        return _progress_of(run)
    if state == PENDING and st.get("slurm_job"):
        return "queued on Slurm"
    if state == DONE and stale(run, st):
        return "params changed since this run (run reruns it)"
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
    started = (st.get("start_time") or "")[:19].replace("T", " ") if state != PENDING else ""
    return [run.label, state, started, fmt_duration(dur) if dur is not None else "", where, mse, _note(run, st)]


def status_table(group, live, out=None, only=None):
    """Print the table of `group` (only the states in `only`, if given). Returns the state counts."""
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


def _alive_elsewhere(run, st, live, force, out):
    """Is the run running or queued (then say so)? A folder whose run lock is held is running, whatever
    its status says (a runner started by hand, or by another sweep)."""
    state = st["state"]
    if state in (RUNNING, PENDING) and (st.get("slurm_job") or state == RUNNING):
        alive = live.alive(st, run.dir)
        if alive or (alive is None and not force):
            what = "queued on Slurm" if state == PENDING else "running"
            print(f"  {run.label}: {what} ({st.get('slurm_job') or st.get('host')}); skipped", file=out)
            return True
    held = runlock.holder(run.dir)
    if held is not None:
        print(f"  {run.label}: in use by a runner ({runlock.describe(held)}); skipped", file=out)
        return True
    return False


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
        if failed_only and state != FAILED:
            continue
        if _alive_elsewhere(run, st, live, force, out):
            continue
        if state == DONE and not force:
            if stale(run, st):
                print(f"  {run.label}: params changed since the run; rerunning", file=out)
            else:
                continue
        todo.append(run)
    if missing:
        hint = f"python -m numpy_model.sweep expand {group.figure}" if group.figure else "write its params.json"
        raise SweepError(f"{group.name}: {len(missing)} run folder(s) have no params file, e.g. "
                         f"{missing[0].dir} ({hint})")
    return todo
