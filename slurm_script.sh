#!/usr/bin/env bash
# sbatch wrapper: one sweep run per Slurm task (see README, "Sweeps: every figure from one command").
#
#   sbatch --array=0-(n-1)%K slurm_script.sh LIST_FILE   # task i runs the folder on line i+1 of LIST_FILE
#   sbatch slurm_script.sh RUN_DIR                       # a single run folder
#
# `python -m numpy_model.sweep run FIG --slurm` writes LIST_FILE and submits this script; its --time,
# --cpus-per-task, --partition, --mem, --account and --sbatch-arg options override the #SBATCH lines.
# Environment (read by each task):
#   SWEEP_ACTIVATE   file to source first (a venv's bin/activate, a conda or `module load` setup script)
#   SWEEP_PYTHON     interpreter to use (default: python3 after activation; the manager passes its own)
#   SWEEP_EXEC_ARGS  extra arguments of `numpy_model.sweep exec` (e.g. --plots)
#SBATCH --job-name=numpy_model
#SBATCH --time=12:00:00
#SBATCH --cpus-per-task=1
#SBATCH --output=slurm-%A_%a.out
set -eo pipefail

target=${1:?usage: sbatch [--array=0-N] slurm_script.sh LIST_FILE | RUN_DIR}
if [ -d "$target" ]; then
    run_dir=$target
else
    task=${SLURM_ARRAY_TASK_ID:?a LIST_FILE needs a job array (sbatch --array=0-N ...)}
    run_dir=$(sed -n "$((task + 1))p" "$target")
    [ -n "$run_dir" ] || { echo "slurm_script.sh: no line $((task + 1)) in $target" >&2; exit 2; }
fi

if [ -n "${SWEEP_ACTIVATE:-}" ]; then
    # shellcheck disable=SC1090
    source "$SWEEP_ACTIVATE"
fi
PY=${SWEEP_PYTHON:-python3}
threads=${SLURM_CPUS_PER_TASK:-1}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$threads} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-$threads} \
       MKL_NUM_THREADS=${MKL_NUM_THREADS:-$threads} MPLBACKEND=${MPLBACKEND:-Agg}

echo "$(date -Is) task ${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}_${SLURM_ARRAY_TASK_ID:-} on $(hostname): $run_dir"
# not exec'd: the wrapper records status.json, run.log and error.log in the run folder
"$PY" -m numpy_model.sweep exec "$run_dir" ${SWEEP_EXEC_ARGS:-}
