import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
GOLDEN = os.path.join(FIXTURES, "golden")
GOLDEN_CASES = sorted(d for d in os.listdir(GOLDEN) if os.path.isdir(os.path.join(GOLDEN, d)))

if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def run_cli(*args, cwd=ROOT, timeout=600, plots=False):
    """Run `python runner.py ARGS` and return the CompletedProcess (without the per-run figures
    unless plots=True: they are tested in test_plots.py and cost seconds per run)."""
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": ROOT}
    extra = [] if plots or "--help" in args else ["--no-plots"]
    return subprocess.run([sys.executable, os.path.join(ROOT, "runner.py"), *args, *extra], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


# Weight storage (numpy_model/models/kernels.py): the test nets are small, so "auto" stores each
# matrix as one dense block; "blocks" forces per-block storage with the fused forward update, the
# layout of the large Fig 4/5 nets. Modules that compare numbers run under both (blocks in the
# slow step of CI).
@pytest.fixture(params=["auto", pytest.param("blocks", marks=pytest.mark.slow)])
def weight_storage(request, monkeypatch):
    monkeypatch.setenv("NUMPY_MODEL_WEIGHT_STORAGE", request.param)
    return request.param
