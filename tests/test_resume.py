"""Long runs that survive: checkpoints with exact resume after SIGKILL/SIGTERM, divergence."""
import json
import os
import random
import signal
import subprocess
import sys
import time

import dill
import numpy as np

from conftest import GOLDEN, ROOT, assert_same, run_cli


def params(tmp_path, **over):
    with open(os.path.join(GOLDEN, "sac_8421", "params.json")) as fh:
        p = json.load(fh)
    p.update(dict(random_seed=[3, 4], dataset_size=10, epochs=30, settling_time=0.1, rec_per_steps=50,
                  checkpoint_every=1))
    p.update(over)
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "params.json").write_text(json.dumps(p))
    return tmp_path / "params.json"


def load(path):
    with open(path, "rb") as fh:
        return dill.load(fh)


def start(path):
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.Popen([sys.executable, os.path.join(ROOT, "runner.py"), "--params", str(path),
                             "--quiet", "--no-plots"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_sigkill_at_random_points_then_resume_is_bit_identical(tmp_path):
    # epochs: enough that 4 kills (each <= 0.3 s after a new checkpoint) rarely reach the end, even
    # at ~15 ms per epoch on the compiled backend
    ref = params(tmp_path / "ref", epochs=80)
    assert run_cli("--params", str(ref), "--quiet").returncode == 0
    expected = load(tmp_path / "ref" / "model.pkl")
    path = params(tmp_path / "killed", epochs=80)
    ckpt = tmp_path / "killed" / "checkpoint.pkl"
    rng = random.Random(1)
    kills, epochs_seen = 0, []
    for _ in range(4):
        proc = start(path)
        before = ckpt.stat().st_mtime_ns if ckpt.exists() else None
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:   # wait for progress: a new checkpoint
            if ckpt.exists() and ckpt.stat().st_mtime_ns != before:
                break
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.3))                        # then die at a random point
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        if (tmp_path / "killed" / "model.pkl").exists():
            break     # killed after it had finished and saved (while writing results.npz): rerunning
                      # the command then starts a new run, as it should; nothing left to resume
        if ckpt.exists():          # (absent if the run happened to finish just before the kill)
            epochs_seen.append(load(ckpt)["run"].next_epoch)
    assert kills >= 2, "the run finished before it could be killed twice"
    assert epochs_seen == sorted(epochs_seen) and epochs_seen[-1] > 0   # every restart resumed
    run = run_cli("--params", str(path), "--quiet")      # resumes automatically, then finishes
    assert run.returncode == 0, run.stderr
    assert_same(load(tmp_path / "killed" / "model.pkl"), expected)
    assert not (tmp_path / "killed" / "checkpoint.pkl").exists()     # cleaned up when done
    assert not list((tmp_path / "killed").glob(".tmp-*"))


def test_sigterm_writes_checkpoint_and_stops_then_resume(tmp_path):
    ref = params(tmp_path / "ref", epochs=150)
    assert run_cli("--params", str(ref), "--quiet").returncode == 0
    path = params(tmp_path / "term", epochs=150)
    proc = start(path)
    deadline = time.time() + 60
    while not (tmp_path / "term" / "checkpoint.pkl").exists() and time.time() < deadline:
        time.sleep(0.02)                 # the run is under way (first epoch done)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    assert "checkpoint" in err and (tmp_path / "term" / "checkpoint.pkl").exists()
    assert not (tmp_path / "term" / "model.pkl").exists()
    run = run_cli("--params", str(path), "--resume", "--quiet")
    assert run.returncode == 0, run.stderr
    assert_same(load(tmp_path / "term" / "model.pkl"), load(tmp_path / "ref" / "model.pkl"))


def test_resume_without_checkpoint_and_fresh(tmp_path):
    path = params(tmp_path, epochs=2)
    run = run_cli("--params", str(path), "--resume", "--quiet")
    assert run.returncode == 2 and "no checkpoint" in run.stderr
    assert run_cli("--params", str(path), "--fresh", "--quiet").returncode == 0


def test_one_seed_diverges_others_saved(tmp_path):
    path = params(tmp_path / "a", epochs=2, random_seed=[3, 4, 5])
    assert run_cli("--params", str(path), "--quiet").returncode == 0
    models = load(tmp_path / "a" / "model.pkl")
    models[2].WPP[0][0, 0] = np.nan           # student with seed 4
    with open(tmp_path / "bad.pkl", "wb") as fh:
        dill.dump(models, fh)
    run = run_cli("--params", str(path), "--cont", str(tmp_path / "bad.pkl"), "--quiet")
    assert run.returncode == 4
    assert "seed 4 diverged" in run.stderr and "forward weights" in run.stderr and "epoch 0" in run.stderr
    assert "Traceback" not in run.stderr
    saved = load(tmp_path / "a" / "model.pkl")
    assert [m.seed for m in saved[1:]] == [3, 4, 5]
    assert saved[2].diverged.startswith("seed 4 diverged")
    for m in (saved[1], saved[3]):
        assert getattr(m, "diverged", None) is None
        assert np.isfinite(m.WPP[0]).all() and np.isfinite(m.MSE_test_time_series).all()


def test_crash_while_saving_keeps_previous_model_pkl(tmp_path):
    """The process dies in the middle of writing model.pkl (after the bytes, before the rename):
    the previous model.pkl is untouched and still loads."""
    path = params(tmp_path, epochs=1)
    assert run_cli("--params", str(path), "--quiet").returncode == 0
    before = (tmp_path / "model.pkl").read_bytes()
    code = (
        "import os, sys\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "import numpy_model.io as io\n"
        "def crash(fd):\n"
        "    os._exit(9)\n"
        "os.fsync = crash\n"
        "io.save_models(sys.argv[1], [io.Network(WPP=[1.0] * 10 ** 6)])\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "model.pkl"), ROOT])
    assert proc.returncode == 9
    assert (tmp_path / "model.pkl").read_bytes() == before
    models = load(tmp_path / "model.pkl")
    assert [m.seed for m in models[1:]] == [3, 4]
