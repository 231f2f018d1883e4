"""Progress: a bar with ETA on a terminal (tested in a pseudo-terminal), plain periodic log lines
when stderr is a pipe or file (CI, Slurm logs), nothing with --quiet."""
import io
import json
import os
import pty
import re
import subprocess
import sys

import pytest

from conftest import ROOT
from numpy_model.progress import Progress, format_duration, make_progress

TINY = {"mc_model": "ann", "layers": [2, 1], "dataset_size": 3, "epochs": 30, "settling_time": 0,
        "random_seed": [1, 2]}
LOG_LINE = re.compile(r"^\[\s*\d+(\.\d+)?s\] .*: epoch \d+/\d+$")   # what numpy_model.sweep parses


def _params(tmp_path, **over):
    path = tmp_path / "params.json"
    path.write_text(json.dumps({**TINY, **over}))
    return path


def _cmd(path, *extra):
    return [sys.executable, os.path.join(ROOT, "runner.py"), "--params", str(path), "--no-plots", *extra]


ENV = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": ROOT}


def run_in_pty(args):
    """Run with stderr on a pseudo-terminal; returns (returncode, everything written to it)."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave,
                                env=ENV, cwd=ROOT)
    finally:
        os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:          # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=120), b"".join(chunks).decode("utf-8", "replace")


def test_bar_on_a_terminal(tmp_path):
    rc, out = run_in_pty(_cmd(_params(tmp_path)))
    assert rc == 0, out
    assert "\r" in out and "ETA" in out
    bar_lines = [seg for seg in out.replace("\r\n", "\n").split("\r") if "epochs" in seg]
    assert any(seg.startswith("training") for seg in bar_lines), out
    assert any("[" in seg and "#" in seg for seg in bar_lines), out          # the bar itself
    assert "2 seeds" in out and "elapsed" in out and "30/30" in out
    # the bar line is finished before the summary: the summary starts a line of its own
    assert re.search(r"\n\s+ann seed 1: validation MSE", out.replace("\r\n", "\n")), out
    assert not any(LOG_LINE.match(line) for line in out.replace("\r", "\n").splitlines())


def test_log_lines_without_terminal(tmp_path):
    res = subprocess.run(_cmd(_params(tmp_path)), capture_output=True, text=True, env=ENV, cwd=ROOT,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert "\r" not in res.stderr and "\x1b" not in res.stderr
    lines = [line for line in res.stderr.splitlines() if LOG_LINE.match(line)]
    assert lines[0].endswith("settling: epoch 0/30")
    assert any(line.endswith("training: epoch 30/30") for line in lines)
    assert lines[-1].endswith("testing: epoch 30/30")
    assert any("ETA" in line and "2 seeds" in line for line in lines)
    # periodic, not one line per epoch: at most every 10 % plus the phase changes
    assert 5 <= len(lines) <= 14, lines


def test_quiet_prints_nothing(tmp_path):
    rc, out = run_in_pty(_cmd(_params(tmp_path), "--quiet"))
    assert rc == 0 and out == ""
    res = subprocess.run(_cmd(_params(tmp_path), "--quiet"), capture_output=True, text=True, env=ENV,
                         cwd=ROOT, timeout=120)
    assert res.returncode == 0 and res.stderr == ""
    assert make_progress(quiet=True) is None


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_log_lines_every_interval_and_eta():
    clock, buf = Clock(), io.StringIO()
    p = Progress(stream=buf, seeds=1, tty=False, interval=10.0, clock=clock)
    p(phase="settling", epoch=0, epochs=1000)
    for e in range(1, 1001):
        clock.t += 1.0                           # 1 s per epoch: a line every 10 s (and every 10 %)
        p(phase="training", epoch=e, epochs=1000)
    lines = buf.getvalue().splitlines()
    # settling, the first training epoch (phase change), then one line per 10 s, and the last epoch
    assert [int(line.split("epoch ")[1].split("/")[0]) for line in lines] == \
        [0, 1] + list(range(11, 1000, 10)) + [1000]
    assert "ETA 0:15:09" in lines[10]          # epoch 91 after 91 s: 909 epochs left at 1 s each
    assert lines[-1].endswith("training: epoch 1000/1000") and "100 %" in lines[-1]
    assert format_duration(3725) == "1:02:05" and format_duration(None) == "?"


def test_other_stderr_output_ends_the_bar_line(monkeypatch):
    buf = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buf)
    p = Progress(stream=buf, seeds=3, tty=True, clock=Clock())
    p(phase="training", epoch=1, epochs=10)
    assert sys.stderr is not buf                  # a guard stands in while the bar line is open
    print("warning: seed 3 diverged", file=sys.stderr)
    assert buf.getvalue().endswith("\nwarning: seed 3 diverged\n")
    assert sys.stderr is buf
    p(phase="testing", epoch=10, epochs=10)
    assert buf.getvalue().endswith("\n") and buf.getvalue().count("\r") == 2


@pytest.mark.parametrize("cols", [40, 200])
def test_bar_never_wraps(monkeypatch, cols):
    import numpy_model.progress as prog
    monkeypatch.setattr(prog, "_columns", lambda stream: cols)
    buf = io.StringIO()
    p = Progress(stream=buf, seeds=12, tty=True, clock=Clock())
    p(phase="comparing with backprop", epoch=5, epochs=5)
    line = buf.getvalue().strip("\r\n")
    assert 0 < len(line) <= cols - 1


def test_eta_after_a_resume_counts_only_the_epochs_run_since():
    clock, buf = Clock(), io.StringIO()
    p = Progress(stream=buf, seeds=2, tty=False, clock=clock)
    p(phase="training", epoch=40, epochs=100)        # first report of a run resumed after epoch 39
    clock.t += 20.0
    p(phase="training", epoch=50, epochs=100)        # 10 epochs in 20 s: 50 left -> 100 s
    first, second = buf.getvalue().splitlines()
    assert "ETA ?" in first and "40 %" in first
    assert "ETA 0:01:40" in second
