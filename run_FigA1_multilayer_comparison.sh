#!/usr/bin/env bash
# Fig A1: drawn from the Fig 3 runs (the published notebook reads Fig3_multilayer_comparison for both), so this runs the Fig 3 sweep.
# Expands the sweep (python -m numpy_model.sweep expand) and runs every run folder that is not done yet:
# locally, at most as many at a time as there are cores (-j N to change), or on Slurm with --slurm
# (one job array per figure; --time, --partition, --cpus-per-task, --array-limit K, --wait, ...).
# SWEEP_ROOT sets the experiments folder (default ./experiments). All other arguments go to `python -m numpy_model.sweep run`. Then: status / rerun --failed / collect.
#   bash run_FigA1_multilayer_comparison.sh [-j N] [--force] [--slurm [...]]
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python}
ROOT=${SWEEP_ROOT:-experiments}    # where the run folders go
$PY -m numpy_model.sweep expand --root "$ROOT" FigA1
exec $PY -m numpy_model.sweep run --root "$ROOT" FigA1 "$@"
