#!/usr/bin/env bash
# sbatch wrapper: one sweep run per Slurm task (see README, "Sweeps: every figure from one command").
#
#   sbatch --array=0-(n-1)%K slurm_script.sh LIST_FILE   # task i runs the folder on line i+1 of LIST_FILE
#   sbatch slurm_script.sh RUN_DIR                       # a single run folder
#   sbatch slurm_script.sh python runner.py --params DIR/params.json ...   # any command (the published form)
#
# A first argument that is a command (python, python3, or any executable) is run as given, in the
# repo root (relative paths are relative to it), with the environment below: `exec "$@"`.
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

usage="usage: sbatch [--array=0-N] slurm_script.sh LIST_FILE | RUN_DIR | COMMAND [ARGS...]"
target=${1:?$usage}

# the repo: where this script is (under sbatch it runs from a copy in the spool folder, so ask
# Slurm for the submitted script's path), else the folder sbatch was called from
repo_root() {
    local dir
    for dir in "$(dirname "$0")" \
               "$(dirname "$(scontrol show job "${SLURM_JOB_ID:-}" 2>/dev/null | sed -n 's/^ *Command=\([^ ]*\).*/\1/p' | head -n 1)")" \
               "${SLURM_SUBMIT_DIR:-}"; do
        if [ -n "$dir" ] && [ -f "$dir/runner.py" ] && [ -d "$dir/numpy_model" ]; then
            cd "$dir" && pwd
            return
        fi
    done
    pwd
}

mode=list
if [ -d "$target" ]; then
    mode=dir
elif [ -f "$target" ] && [ ! -x "$target" ]; then
    mode=list
elif [ "$target" = python ] || [ "$target" = python3 ] || command -v "$target" >/dev/null 2>&1; then
    mode=command
fi
if [ "$mode" = dir ]; then
    run_dir=$target
elif [ "$mode" = list ]; then
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

if [ "$mode" = command ]; then
    cd "$(repo_root)"
    echo "$(date -Is) job ${SLURM_JOB_ID:-} on $(hostname) in $(pwd): $*"
    exec "$@"
fi

echo "$(date -Is) task ${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}_${SLURM_ARRAY_TASK_ID:-} on $(hostname): $run_dir"
# not exec'd: the wrapper records status.json, run.log and error.log in the run folder
"$PY" -m numpy_model.sweep exec "$run_dir" ${SWEEP_EXEC_ARGS:-}
