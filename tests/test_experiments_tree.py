"""experiments/ is committed in the published layout: its params files are exactly what
`python -m numpy_model.sweep expand all` writes (run.json, sweep.json and run outputs are not
committed, see .gitignore)."""
import fnmatch
import os
import re
import subprocess
import sys

from conftest import ROOT

EXPERIMENTS = os.path.join(ROOT, "experiments")
COMMAND = "python -m numpy_model.sweep expand all"
HOW = f"edit numpy_model/experiments.py, then regenerate with: {COMMAND}"


def params_files(root):
    """{relative path: bytes} of every params*.json under root."""
    out = {}
    for d, _, files in os.walk(root):
        for name in fnmatch.filter(files, "params*.json"):
            path = os.path.join(d, name)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, root).replace(os.sep, "/")] = fh.read()
    return out


def test_committed_params_are_what_expand_writes(tmp_path):
    run = subprocess.run([sys.executable, "-m", "numpy_model.sweep", "expand", "all", "--root",
                          str(tmp_path)], cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ROOT})
    assert run.returncode == 0, run.stderr
    expected, committed = params_files(tmp_path), params_files(EXPERIMENTS)
    assert len(expected) == 307
    missing = sorted(set(expected) - set(committed))
    extra = sorted(set(committed) - set(expected))
    changed = sorted(p for p in set(expected) & set(committed) if expected[p] != committed[p])
    assert not (missing or extra or changed), (
        f"experiments/ is out of date (missing {missing[:3]}, not expanded {extra[:3]}, differing "
        f"{changed[:3]}; {len(missing)}/{len(extra)}/{len(changed)} in all): {HOW}")


def test_published_commands_find_their_params():
    for path in ("Fig2a_cartpole_ideal_emc/params_errormc.json",
                 "Fig2a_cartpole_tanh_emc/params_errormc.json",
                 "Fig3_multilayer_comparison/8-4-2-1/errormc/params.json",
                 "Fig3_multilayer_comparison/2-1/untrained_ann/params.json",
                 "FigA2_multilayer_comparison_ideal_lat_inh/4-2-1/errormc/params.json",
                 "FigC1_dPC_linear/16-8-4-2-1/dPC/params.json", "Fig4_populations/runs/lr159/params.json",
                 "Fig5_rep_unit_noise/runs/lr49/params.json", "Fig5_error_unit_noise/runs/lr39/params.json"):
        assert os.path.isfile(os.path.join(EXPERIMENTS, path)), f"{path}: {HOW}"
    assert os.path.isdir(os.path.join(EXPERIMENTS, "DMS_plots"))      # DMS_task.py's default --out


def test_readme_commands_name_committed_params():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        paths = re.findall(r"--params (experiments/\S+\.json)", fh.read())
    assert len(paths) >= 8
    missing = [p for p in paths if not os.path.isfile(os.path.join(ROOT, p))]
    assert not missing, f"README names params files that are not in experiments/: {missing}; {HOW}"
