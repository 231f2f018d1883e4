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


def run_cli(*args, cwd=ROOT, timeout=600):
    """Run `python runner.py ARGS` and return the CompletedProcess."""
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, os.path.join(ROOT, "runner.py"), *args], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli
