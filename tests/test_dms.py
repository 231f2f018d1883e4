"""DMS_task.py (Fig 2b, docs/model.md §7.7): trial generator, seeds, network and a --quick run."""
import os

import dill
import numpy as np

import DMS_task as dms
from conftest import run_cli  # noqa: F401  (puts the repository root on sys.path)


def test_generate_trials():
    trials = dms.generate(20, 42)
    for x, y in trials:
        delay = len(x) - 750
        assert 50 <= delay < 250
        s1, s2 = x[250], x[-1]
        assert s1 in (-1, 1) and s2 in (-1, 1)
        assert np.all(x[:250] == 0) and np.all(x[250:500] == s1) and np.all(x[500:500 + delay] == 0)
        assert np.all(x[500 + delay:] == s2)
        assert y == abs(s1 + s2) - 1
    assert {y for _, y in trials} == {-1.0, 1.0}
    x, y = dms.generate(1, 44, 1, -1)[0]
    assert x[300] == 1 and x[-1] == -1 and y == -1


def test_network_seeds_chain():
    seeds = dms.network_seeds(3, 0)
    G = np.random.RandomState(0)
    first = int(G.randint(12345))
    assert seeds[0] == first
    G = np.random.RandomState(seeds[0])           # the next seed continues G after the weight draws
    G.uniform(size=2), G.uniform(size=2), G.uniform(size=4), G.uniform(size=1)
    G.uniform(size=4), G.uniform(size=1), G.uniform(size=2)
    assert seeds[1] == 1 + int(G.randint(12345))
    assert dms.network_seeds(3, 0) == seeds           # reproducible


def test_dms_network_output_nonlinearity_and_lookahead():
    P, ens = dms.build([5, 6])
    assert ens.phiP.names == ["soft_relu", "dms_tanh"]
    v = np.array([[0.0, 0.0, 0.6]])
    np.testing.assert_allclose(ens.phiP(np.repeat(v, 2, 0))[:, 2], np.tanh((0.6 - 0.5) * 20))
    assert np.all(ens.phiP.d(np.repeat(v, 2, 0))[:, 2] == 1.0)    # derivative stays linear
    assert not ens.c.rep_lookahead.any() and ens.c.error_lookahead is None
    assert np.all(ens.uP == 0) and np.all(ens.uI == 0)


def test_dms_quick_run(tmp_path):
    assert dms.main(["--quick", "--out", str(tmp_path)]) == 0
    for name in ("model.pkl", "MSE_val.png", "example_upup.png", "example_updown.png",
                 "example_downup.png", "example_downdown.png"):
        assert (tmp_path / name).stat().st_size > 0
    with open(tmp_path / "model.pkl", "rb") as fh:
        nets = dill.load(fh)
    assert len(nets) == 2
    assert len(nets[0].MSE_val_time_series) == 2 * 4 and len(nets[0].MSE_test_time_series) == 4
    assert nets[0].uP_init[0].shape == (2,)


def test_dms_runs_compiled_and_matches_numpy(tmp_path, capsys):
    """The DMS nets (soft_relu / dms_tanh outputs whose derivative is the linear one, rates of the
    instantaneous voltage) run in the compiled errormc kernel, with the numbers of the NumPy step."""
    import pytest
    from numpy_model.models import compiled
    if compiled.numba_version() is None:
        pytest.skip("numba is not importable")
    from test_numba import assert_close
    runs = {}
    for backend in ("numpy", "numba"):
        out = tmp_path / backend
        assert dms.main(["--quick", "--no-plots", "--backend", backend, "--out", str(out)]) == 0
        assert f"backend: {backend}" in capsys.readouterr().out
        with open(out / "model.pkl", "rb") as fh:
            runs[backend] = dill.load(fh)
    for a, b in zip(runs["numpy"], runs["numba"]):
        names = [k for k in vars(a) if k.endswith("_time_series")] + ["WPP", "BII", "uP", "uI"]
        for k in names:
            assert_close(getattr(a, k), getattr(b, k), k)
        assert len(a.rP_breve_time_series) > 10
