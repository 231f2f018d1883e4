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
``squeue``) without recording an end is reported failed, never "running" for ever. A folder whose
run lock is held (``numpy_model/runlock.py``: a runner is working in it, wherever it was started) is
running: ``run`` skips it and ``exec`` leaves it alone. Exit codes: 0 all
selected runs done, 1 some failed, 2 bad usage (unknown figure, folder without params, sbatch error).

The code is in the package ``numpy_model/sweeps/`` (one module per part, listed in its
``__init__``); this module keeps ``python -m numpy_model.sweep ...`` and ``from numpy_model import sweep``
working and re-exports the public names.
"""
import sys

from .sweeps.collect import BASE_COLUMNS, collect
from .sweeps.common import (DEFAULT_ROOT, DONE, ERROR_LOG, FAILED, LOCK, NOT_EXPANDED, PENDING, PKG_ROOT,
                            RUN_LOG, RUN_META, RUNNING, SLURM_ALIVE, STATUS, THREAD_VARS, SweepError,
                            child_env)
from .sweeps.common import fmt_duration as _fmt_duration
from .sweeps.common import pid_alive as _pid_alive
from .sweeps.common import pid_start as _pid_start
from .sweeps.cli import cmd_run, main
from .sweeps.execute import execute
from .sweeps.expand import expand, write_run_folder
from .sweeps.folders import Liveness, Run, read_status, refresh, status_lock, write_status
from .sweeps.local import run_local
from .sweeps.metrics import run_summary, student_metrics
from .sweeps.slurm import submit_slurm, wait_for
from .sweeps.status import select, status_table
from .sweeps.targets import Group, figure_name, resolve

__all__ = ["BASE_COLUMNS", "DEFAULT_ROOT", "DONE", "ERROR_LOG", "FAILED", "LOCK", "NOT_EXPANDED", "PENDING",
           "PKG_ROOT", "RUN_LOG", "RUN_META", "RUNNING", "SLURM_ALIVE", "STATUS", "THREAD_VARS", "Group",
           "Liveness", "Run", "SweepError", "child_env", "cmd_run", "collect", "execute", "expand",
           "figure_name", "main", "read_status", "refresh", "resolve", "run_local", "run_summary", "select",
           "status_lock", "status_table", "student_metrics", "submit_slurm", "wait_for", "write_run_folder",
           "write_status", "_fmt_duration", "_pid_alive", "_pid_start"]

if __name__ == "__main__":
    sys.exit(main())
