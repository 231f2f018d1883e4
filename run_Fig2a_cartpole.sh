#!/usr/bin/env bash
# Fig 2a: closed-loop cart-pole, ideal and tanh error-MC (2 runs of 10 seeds).
# Expands the sweep (python -m numpy_model.sweep expand) and runs every run folder that is not done yet:
# locally, at most as many at a time as there are cores (-j N to change), or on Slurm with --slurm
# (one job array per figure; --time, --partition, --cpus-per-task, --array-limit K, --wait, ...).
# SWEEP_ROOT sets the experiments folder (default ./experiments). All other arguments go to `python -m numpy_model.sweep run`. Then: status / rerun --failed / collect.
#   bash run_Fig2a_cartpole.sh [-j N] [--force] [--slurm [...]]
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python}
ROOT=${SWEEP_ROOT:-experiments}    # where the run folders go
$PY -m numpy_model.sweep expand --root "$ROOT" Fig2a
exec $PY -m numpy_model.sweep run --root "$ROOT" Fig2a "$@"
