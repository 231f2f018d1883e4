"""Sweeps on a real Slurm (pytest -m slurm; CI sets one up with .ci/local_slurm.sh): a tiny sweep as one
job array, a failing run reported failed and fixed by `rerun --failed --slurm`, killed tasks reported
failed, and a job in the published form (sbatch slurm_script.sh python runner.py ...).
Skipped without sbatch, unless REQUIRE_SLURM=1 (then it fails)."""
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slurm

TINY = {"mc_model": "errormc", "teacher_mc_model": "ann", "layers": [3, 2, 1], "dataset_size": 2,
        "epochs": 1, "settling_time": 0, "random_seed": [1, 2], "rec_per_steps": 10, "rec_MSE": True}
LONG = dict(TINY, epochs=200000, rec_per_steps=1000)


def _slurm_ready():
    if not shutil.which("sbatch"):
        return "sbatch not found"
    try:
        res = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"sinfo failed: {exc}"
    if res.returncode != 0 or not re.search(r"^(idle|mix|alloc|comp)", res.stdout, re.M):
        return f"no usable Slurm node (sinfo: {res.stdout.strip() or res.stderr.strip()})"
    return None


@pytest.fixture(scope="module", autouse=True)
def slurm():
    why = _slurm_ready()
    if why:
        if os.environ.get("REQUIRE_SLURM"):
            pytest.fail(f"REQUIRE_SLURM is set but Slurm is not usable: {why}")
        pytest.skip(f"Slurm not available: {why}")


def sweep_cli(*args, timeout=600):
    env = {**os.environ, "PYTHONPATH": ROOT, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "numpy_model.sweep", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def make_runs(base, spec):
    dirs = []
    for name, params in spec:
        d = os.path.join(base, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "params.json"), "w") as fh:
            json.dump(params, fh)
        dirs.append(d)
    return dirs


def status(d):
    with open(os.path.join(d, "status.json")) as fh:
        return json.load(fh)


def test_job_array_sweep_failure_and_rerun(tmp_path):
    base = str(tmp_path / "sweep")
    dirs = make_runs(base, [("r0", TINY), ("r1", TINY), ("r2", {"mc_model": "errormc", "layerz": [3, 1]}),
                            ("r3", TINY)])
    res = sweep_cli("run", base, "--slurm", "--array-limit", "2", "--time", "0:10:00", "--wait",
                    "--poll", "1", "--timeout", "300")
    out = res.stdout + res.stderr
    assert res.returncode == 1, out                       # one run failed, the others are done
    m = re.search(r"submitted job array (\d+) \(4 tasks, at most 2 at a time\)", out)
    assert m, out
    job = m.group(1)
    for i, d in enumerate(dirs):
        st = status(d)
        assert st["slurm_job"] == f"{job}_{i}"
        if i == 2:
            assert st["state"] == "failed" and st["exit_code"] == 2 and "unknown key 'layerz'" in st["error"]
            assert "unknown key 'layerz'" in open(os.path.join(d, "error.log")).read()
        else:
            assert st["state"] == "done" and st["exit_code"] == 0, st
            assert st["test_mse"]["n_seeds"] == 2 and os.path.isfile(os.path.join(d, "model.pkl"))
            assert "training: epoch 1/1" in open(os.path.join(d, "run.log")).read()
    table = sweep_cli("status", base).stdout
    assert re.search(rf"r2\s+failed .*slurm {job}_2", table) and "3 done, 1 failed" in table
    sub = open(os.path.join(base, "slurm", "submissions.jsonl")).read()
    assert "--array=0-3%2" in sub
    listfile = json.loads(sub.splitlines()[0])["list"]
    assert open(listfile).read().split() == dirs

    csv_path = str(tmp_path / "metrics.csv")
    assert sweep_cli("collect", base, "--out", csv_path).returncode == 0
    assert len(list(csv.DictReader(open(csv_path)))) == 6

    with open(os.path.join(dirs[2], "params.json"), "w") as fh:
        json.dump(TINY, fh)
    res = sweep_cli("rerun", "--failed", base, "--slurm", "--wait", "--poll", "1", "--timeout", "300")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 of 4 failed runs to rerun" in res.stdout
    job2 = re.search(r"submitted job array (\d+) \(1 tasks", res.stdout).group(1)
    st = status(dirs[2])
    assert st["state"] == "done" and st["slurm_job"] == f"{job2}_0" and st["attempt"] == 2
    assert [status(d)["slurm_job"] for d in (dirs[0], dirs[1], dirs[3])] == [f"{job}_0", f"{job}_1", f"{job}_3"]
    assert sweep_cli("collect", base, "--out", csv_path).returncode == 0
    rows = list(csv.DictReader(open(csv_path)))
    assert len(rows) == 8 and all(r["final_test_mse"] for r in rows)
    assert "4 done" in sweep_cli("status", base).stdout


def _wait(pred, timeout=120, what=""):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return
        time.sleep(0.5)
    raise AssertionError(f"timeout waiting for {what}")


def test_killed_and_cancelled_tasks_are_failed(tmp_path):
    base = str(tmp_path / "sweep")
    dirs = make_runs(base, [("killed", LONG), ("cancelled", LONG)])
    res = sweep_cli("run", base, "--slurm", "--array-limit", "0")
    assert res.returncode == 0, res.stdout + res.stderr
    job = re.search(r"submitted job array (\d+)", res.stdout).group(1)
    try:
        _kill_and_cancel(base, dirs, job)
    finally:
        subprocess.run(["scancel", job], capture_output=True)      # never leave the long runs behind


def _kill_and_cancel(base, dirs, job):
    def running():
        try:
            return all(status(d)["state"] == "running" for d in dirs)
        except (OSError, ValueError, KeyError):
            return False
    _wait(running, what="both tasks running")
    assert re.search(r"killed\s+running .*slurm " + job, sweep_cli("status", base).stdout)
    # the run's process is SIGKILLed (as by the OOM killer): it cannot record its end, the task ends,
    # and squeue no longer lists it
    os.kill(status(dirs[0])["pid"], signal.SIGKILL)
    # plain scancel: SIGTERM, the run records that it was terminated
    subprocess.run(["scancel", status(dirs[1])["slurm_job"]], check=True)

    def ended():
        return "2 failed" in sweep_cli("status", base).stdout
    _wait(ended, what="both runs failed")
    killed, cancelled = status(dirs[0]), status(dirs[1])
    assert killed["state"] == "failed"
    assert f"Slurm job {killed['slurm_job']} is no longer running" in killed["error"]
    assert cancelled["state"] == "failed" and "terminated by SIGTERM" in cancelled["error"]


def test_published_form_sbatch_python_runner(tmp_path):
    """The published README's form: `sbatch slurm_script.sh python runner.py --params ...` runs the
    command in the task, in the repo root."""
    d = tmp_path / "run"
    d.mkdir()
    (d / "params.json").write_text(json.dumps(TINY))
    env = {**os.environ, "MPLBACKEND": "Agg"}
    res = subprocess.run(["sbatch", "--wait", "--time=0:10:00", f"--output={tmp_path}/slurm-%j.out",
                          "slurm_script.sh", "python", "runner.py", "--params", str(d / "params.json"),
                          "--no-plots"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    outs = list(tmp_path.glob("slurm-*.out"))
    log = outs[0].read_text() if outs else ""
    assert res.returncode == 0, res.stdout + res.stderr + log
    assert (d / "model.pkl").is_file() and (d / "results.npz").is_file()
    assert f"in {ROOT}: python runner.py" in log and "saved 3 networks" in log, log
