"""The run lock (numpy_model/runlock.py): one runner per run folder. A second runner is refused with
exit code 2 and one line naming the holder, writing nothing; the lock goes with its holder, even
after SIGKILL; --load needs no lock; the sweep sees a locked folder as running."""
import json
import os
import re
import signal
import subprocess
import sys
import time

from conftest import GOLDEN, ROOT, run_cli
from numpy_model import runlock

BUSY = re.compile(r"^error: (.+) is in use by another runner \(pid (\d+), started "
                  r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\); wait for it or stop it$")


def params(d, **over):
    with open(os.path.join(GOLDEN, "sac_8421", "params.json")) as fh:
        p = json.load(fh)
    p.update(dict(random_seed=[3], dataset_size=10, epochs=40, settling_time=0.1, rec_per_steps=50,
                  checkpoint_every=1))
    p.update(over)
    d.mkdir(parents=True, exist_ok=True)
    (d / "params.json").write_text(json.dumps(p))
    return d / "params.json"


def start(path):
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.Popen([sys.executable, os.path.join(ROOT, "runner.py"), "--params", str(path),
                             "--quiet", "--no-plots"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def wait_locked(d, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        held = runlock.holder(str(d))
        if held and held.get("pid") == proc.pid:
            return held
        time.sleep(0.02)
    raise AssertionError(f"the runner never held the lock of {d} (exit code {proc.poll()})")


def snapshot(d):
    return {f.name: (f.stat().st_size, f.stat().st_mtime_ns, f.read_bytes() if f.name == "params.json" else b"")
            for f in d.iterdir()}


def test_second_runner_is_refused_and_writes_nothing(tmp_path):
    d = tmp_path / "run"
    path = params(d, epochs=100000, checkpoint_every=0)      # no checkpoint for 10 minutes
    first = start(path)
    try:
        held = wait_locked(d, first)
        before = snapshot(d)
        second = run_cli("--params", str(path), "--fresh")    # --fresh would delete checkpoints
        assert second.returncode == 2, second.stderr
        assert second.stdout == ""
        lines = second.stderr.splitlines()
        assert len(lines) == 1, second.stderr
        m = BUSY.match(lines[0])
        assert m, lines[0]
        assert m.group(1) == str(d) and int(m.group(2)) == first.pid and m.group(3) == held["started"]
        assert snapshot(d) == before                          # no params edit, no output, no checkpoint
        # the sweep takes a locked folder for a running one: skipped, nothing written
        env = {**os.environ, "PYTHONPATH": ROOT, "MPLBACKEND": "Agg"}
        res = subprocess.run([sys.executable, "-m", "numpy_model.sweep", "run", str(d)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stdout + res.stderr
        assert f"in use by a runner (pid {first.pid}" in res.stdout and "0 of 1 runs to run" in res.stdout
        assert snapshot(d) == before
        res = subprocess.run([sys.executable, "-m", "numpy_model.sweep", "exec", str(d)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 3 and f"in use by a runner (pid {first.pid}" in res.stderr, res.stderr
        assert not (d / "status.json").exists() and not (d / "run.log").exists()
        assert first.poll() is None
    finally:
        first.kill()
        first.wait()


def test_lock_released_after_sigkill_then_resume(tmp_path):
    d = tmp_path / "run"
    path = params(d)
    first = start(path)
    ckpt = d / "checkpoint.pkl"
    wait_locked(d, first)
    deadline = time.time() + 60
    while not ckpt.exists() and time.time() < deadline and first.poll() is None:
        time.sleep(0.02)                                      # under way: the first checkpoint
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert (d / "run.lock").exists()                          # left behind, but no longer held
    assert runlock.holder(str(d)) is None
    run = run_cli("--params", str(path))
    assert run.returncode == 0, run.stderr
    assert "resuming from" in run.stderr or first.returncode == 0    # (unless it had just finished)
    assert (d / "model.pkl").exists() and not ckpt.exists()
    assert sorted(f.name for f in d.iterdir()) == ["model.pkl", "params.json", "results.npz"]

    # --load (replot/recompare, no simulation) needs no lock; a run is refused naming the holder
    with runlock.RunLock(str(d)):
        load = run_cli("--params", str(path), "--load", str(d / "model.pkl"), "--quiet")
        assert load.returncode == 0, load.stderr
        refused = run_cli("--params", str(path), "--quiet")
        assert refused.returncode == 2 and f"(pid {os.getpid()}, started " in refused.stderr
    assert not (d / "run.lock").exists() and runlock.holder(str(d)) is None
