import os
import subprocess
import sys

import numpy as np
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


def assert_same(a, b, where="model"):
    """Recursive bit-for-bit equality of saved objects."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=where)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, np.random.RandomState):
        sa, sb = a.get_state(), b.get_state()
        assert sa[0] == sb[0] and np.array_equal(sa[1], sb[1]) and sa[2:] == sb[2:], where
    elif hasattr(a, "__dict__") and not isinstance(a, type):
        # provenance (times, command, run id) describes the run; it is not a result
        assert_same({k: v for k, v in vars(a).items() if k != "provenance"},
                    {k: v for k, v in vars(b).items() if k != "provenance"}, where)
    else:
        assert a == b or (a != a and b != b), f"{where}: {a!r} != {b!r}"
