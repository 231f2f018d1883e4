"""The figure notebooks (notebooks/*.ipynb) run headless on tiny fake run trees of the published
layout and write every figure; the helpers of notebooks/figlib.py are unit-tested."""
import atexit
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from types import SimpleNamespace

import numpy as np
import pytest

from numpy_model.io import Network, save_models

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NB_DIR = os.path.join(ROOT, "notebooks")
NOTEBOOKS = ["fig2a_cartpole.ipynb", "fig2b_dms.ipynb", "fig3_multilayer.ipynb",
             "fig4_populations.ipynb", "fig5_noise.ipynb", "fig8_varphi_transfer.ipynb"]

spec = importlib.util.spec_from_file_location("figlib", os.path.join(NB_DIR, "figlib.py"))
fl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fl)

try:        # the test extra of pyproject.toml; without them only the figlib tests run
    import ipykernel  # noqa: F401
    import nbclient
    import nbclient.exceptions
    import nbformat
except ImportError:
    nbclient = nbformat = None
needs_jupyter = pytest.mark.skipif(nbclient is None, reason="needs nbclient, nbformat, ipykernel (pip install -e '.[test]')")


# --------------------------------------------------------------------------------------------
# running a notebook
# --------------------------------------------------------------------------------------------

def parameters_cell(nb):
    cell = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in cell.metadata.get("tags", []), "first code cell must be tagged 'parameters'"
    return cell


def _kernel_manager(_dirs=[]):
    """A kernel manager whose kernel is this interpreter (whatever 'python3' kernelspecs the user
    or the system has installed)."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    if not _dirs:
        d = tempfile.mkdtemp(prefix="nbtest-kernels-")
        atexit.register(shutil.rmtree, d, ignore_errors=True)
        os.makedirs(os.path.join(d, "numpy-model-test"))
        with open(os.path.join(d, "numpy-model-test", "kernel.json"), "w") as fh:
            json.dump({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                       "display_name": "numpy_model tests", "language": "python"}, fh)
        _dirs.append(d)
    return KernelManager(kernel_name="numpy-model-test", kernel_spec_manager=KernelSpecManager(kernel_dirs=_dirs))


def run_notebook(name, params, timeout=120):
    """Execute notebooks/<name> with the kernel of this interpreter, cwd = notebooks/, after
    appending `NAME = repr(value)` overrides to its parameters cell. Returns (nb, stdout)."""
    nb = nbformat.read(os.path.join(NB_DIR, name), as_version=4)
    cell = parameters_cell(nb)
    cell.source += "\n\n# injected by tests/test_notebooks.py\n" + "\n".join(
        f"{k} = {v!r}" for k, v in params.items())
    env = {**os.environ, "MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
           # unpickling the saved networks needs numpy_model (installed, or this checkout)
           "PYTHONPATH": os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p])}
    client = nbclient.NotebookClient(nb, km=_kernel_manager(), timeout=timeout,
                                     resources={"metadata": {"path": NB_DIR}})
    client.execute(env=env)
    out = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                  for o in c.get("outputs", []) if o.get("output_type") == "stream")
    return nb, out


def assert_figures(out_dir, names, stdout):
    for name in names:
        for ext in ("png", "pdf"):
            path = os.path.join(out_dir, f"{name}.{ext}")
            assert os.path.isfile(path) and os.path.getsize(path) > 1000, path
            assert os.path.normpath(path) in stdout, f"{path} not printed"


def net(**attrs):
    attrs.setdefault("mc_model", "errormc")
    attrs.setdefault("layers", [4, 3, 1])
    attrs.setdefault("seed", 0)
    attrs.setdefault("is_teacher", False)
    return Network(**attrs)


# --------------------------------------------------------------------------------------------
# the committed notebooks
# --------------------------------------------------------------------------------------------

@needs_jupyter
def test_notebooks_are_clean_and_generated():
    r = subprocess.run([sys.executable, os.path.join(NB_DIR, "make_notebooks.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    for name in NOTEBOOKS:
        nb = nbformat.read(os.path.join(NB_DIR, name), as_version=4)
        nbformat.validate(nb)
        params = parameters_cell(nb).source
        assert "OUT_DIR" in params
        for c in nb.cells:
            if c.cell_type == "code":
                assert c.outputs == [] and c.execution_count is None, name
                assert not re.search(r"""["'](/|[A-Za-z]:\\)""", c.source), f"absolute path in {name}"


# --------------------------------------------------------------------------------------------
# Fig 3: real tiny runs
# --------------------------------------------------------------------------------------------

FIG3_NETS = ["2-1", "4-2-1"]
FIG3_MODELS = ["errormc", "sacramento2018", "dPC", "ann"]


def _fig3_runs(net_name, model, trained):
    from numpy_model.experiments import fig3_params
    from numpy_model.params import validate
    from numpy_model.run import simulate
    p = fig3_params(net_name, model, trained)
    p.update(dataset_size=5, random_seed=[56789, 12345, 23456], settling_time=1, rec_per_steps=20)
    if trained:
        p["epochs"] = 3
    with _nowarn():
        models = simulate(validate(p, "fw_only", warn=lambda m: None), "fw_only", compare="BP")
    assert all(m.is_teacher or m.angle_BP_updates_time_series for m in models)
    return models


class _nowarn:
    def __enter__(self):
        import warnings
        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


@pytest.fixture(scope="module")
def fig3_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("exp") / "Fig3_multilayer_comparison"
    for net_name in FIG3_NETS:
        for model in FIG3_MODELS:
            for trained in (True, False):
                if (net_name, model, trained) == ("4-2-1", "dPC", False):
                    continue            # a missing run is skipped with a note
                d = root / net_name / (model if trained else f"untrained_{model}")
                d.mkdir(parents=True)
                save_models(str(d / "model.pkl"), _fig3_runs(net_name, model, trained))
    return root


@needs_jupyter
def test_fig3_notebook(fig3_tree, tmp_path):
    out = tmp_path / "out"
    _, stdout = run_notebook("fig3_multilayer.ipynb", dict(
        ROOT=str(fig3_tree), NETS=FIG3_NETS + ["8-4-2-1"], OUT_DIR=str(out)))
    assert_figures(out, ["results", "results_stacked", "results_angles_per_layer"], stdout)
    assert "skipping missing run" in stdout and "untrained_dPC" in stdout
    assert "8-4-2-1" in stdout


@needs_jupyter
def test_fig3_notebook_c1_layout(fig3_tree, tmp_path):
    """The same notebook with another layout (FigC1: one directory per variant, no untrained
    runs) and runs without angle series (loss panels only)."""
    exp = tmp_path / "experiments"
    for variant in ["dPC_linear", "dPC_nonlin_US"]:
        for net_name in FIG3_NETS:
            d = exp / f"FigC1_{variant}" / net_name / "dPC"
            d.mkdir(parents=True)
            models = fl.load_models(str(fig3_tree / net_name / "dPC" / "model.pkl"))
            for m in models:            # runs made without --compare BP
                m.__dict__.pop("angle_BP_updates_time_series", None)
            save_models(str(d / "model.pkl"), models)
    _, stdout = run_notebook("fig3_multilayer.ipynb", dict(
        ROOT=str(exp), NETS=FIG3_NETS, MODELS=["dPC_linear", "dPC_nonlin_US"],
        RUN_PATH="{root}/FigC1_{model}/{net}/dPC/model.pkl", UNTRAINED_PATH=None,
        OUT_DIR=str(exp), FIG_NAME="comparison_dPC"))
    assert_figures(exp, ["comparison_dPC", "comparison_dPC_stacked"], stdout)
    assert "angle panels skipped" in stdout
    assert not (exp / "comparison_dPC_angles_per_layer.png").exists()


@needs_jupyter
def test_fig3_notebook_nothing_found(tmp_path):
    empty = tmp_path / "nothing_here"
    empty.mkdir()
    with pytest.raises(nbclient.exceptions.CellExecutionError) as err:
        run_notebook("fig3_multilayer.ipynb", dict(ROOT=str(empty), NETS=["2-1"], OUT_DIR=str(tmp_path)))
    assert "NoRunsFound" in str(err.value) and str(empty) in str(err.value)


# --------------------------------------------------------------------------------------------
# Fig 2a, 2b, 4, 5: synthetic networks with series of the published shapes
# --------------------------------------------------------------------------------------------

def _cartpole_net(rng, tests, p_fail, teacher=False, seed=0):
    steps, rows = fl.CARTPOLE_STEPS_PER_TEST, fl.CARTPOLE_ROWS_PER_TEST
    penalty = (rng.random(tests * steps) < p_fail).astype(float)
    t = np.arange(tests * rows) * 0.01
    states = np.stack([np.sin(t / 7 + seed), np.cos(t / 7), 0.3 * np.sin(t / 3 + seed), np.cos(t / 3)], axis=1)
    states += rng.normal(0, 0.02, states.shape)
    return net(is_teacher=teacher, seed=seed, penalty_log=penalty, state_log=states,
               action_log=rng.normal(0, 5, tests * steps), layers=[4, 4, 1])


@needs_jupyter
def test_fig2a_notebook(tmp_path):
    rng = np.random.default_rng(0)
    exp = tmp_path / "experiments"
    for name, p in (("ideal", 2e-4), ("tanh", 5e-4)):
        d = exp / f"Fig2a_cartpole_{name}_emc"
        d.mkdir(parents=True)
        models = [_cartpole_net(rng, 1, 2e-5, teacher=True)]
        models += [_cartpole_net(rng, 6, p * (1 + k), seed=k) for k in range(3)]
        save_models(str(d / "model.pkl"), models)
    out = exp / "cartpole_plots"
    _, stdout = run_notebook("fig2a_cartpole.ipynb", dict(
        RUN_DIRS={"ideal": str(exp / "Fig2a_cartpole_ideal_emc"), "tanh": str(exp / "Fig2a_cartpole_tanh_emc"),
                  "absent": str(exp / "Fig2a_cartpole_absent_emc")},
        OUT_DIR=str(out)))
    assert_figures(out, ["val_penalty", "example_trajectories_ideal", "example_cartpole"], stdout)
    assert "skipping missing run" in stdout


@needs_jupyter
def test_fig2b_notebook(tmp_path):
    rng = np.random.default_rng(1)
    d = tmp_path / "experiments" / "DMS_plots"
    d.mkdir(parents=True)
    epochs, trials = 5, 6
    models = []
    for k in range(4):
        scale = np.repeat(np.linspace(2, 0.2, epochs), trials)
        models.append(net(seed=k, epochs=epochs, layers=[1, 2, 1],
                          MSE_val_time_series=list(scale * rng.random(epochs * trials)),
                          MSE_test_time_series=list(0.2 * rng.random(trials))))
    save_models(str(d / "model.pkl"), models)
    _, stdout = run_notebook("fig2b_dms.ipynb", dict(RUN_DIR=str(d), OUT_DIR=str(d)))
    assert_figures(d, ["MSE_val_test"], stdout)
    assert "4 networks, 5 validation epochs + test" in stdout


@needs_jupyter
def test_fig4_notebook(tmp_path):
    rng = np.random.default_rng(2)
    runs = tmp_path / "Fig4_populations" / "runs"
    NR, NE = [5, 8], [3, 6]
    i = 0
    for a, nR in enumerate(NR):
        for b, nE in enumerate(NE):
            for s in range(3):
                if (nR, nE) != (8, 6) and i != 4:     # one cell empty, one run missing
                    d = runs / f"lr{i}"
                    d.mkdir(parents=True)
                    mse = 10.0 ** (-1 - a - 0.5 * b) * (1 + rng.random(40))
                    save_models(str(d / "model.pkl"), [net(layers=[10, nR, 12], error_layers=[0, nE, 12],
                                                           seed=s, MSE_test_time_series=list(mse))])
                i += 1
    out = tmp_path / "Fig4_populations"
    _, stdout = run_notebook("fig4_populations.ipynb", dict(
        RUNS_DIR=str(runs), N_RUNS=14, N_R=NR, N_E=NE, OUT_DIR=str(out)))
    assert_figures(out, ["MSE_nR_vs_nE"], stdout)
    assert "skipped 6 missing runs: lr4, 9-13" in stdout


@needs_jupyter
def test_fig5_notebook(tmp_path):
    rng = np.random.default_rng(3)
    exp = tmp_path / "experiments"
    per = 3

    def make(dirname, sigmas, with_params):
        for g, sigma in enumerate(sigmas):
            for s in range(per):
                d = exp / dirname / "runs" / f"lr{g * per + s}"
                d.mkdir(parents=True)
                attrs = dict(seed=s, MSE_test_time_series=list((1e-3 + 1e-2 * sigma) * (1 + rng.random(30))))
                if with_params:
                    attrs["params"] = {"activation_slope_std": sigma or None, "activation_offset_std": sigma or None}
                save_models(str(d / "model.pkl"), [net(**attrs)])

    make("Fig5_rep_unit_noise", [0.1, 0.3, 0.5, 1.0, 0.0], with_params=True)
    make("Fig5_error_unit_noise", [0.1, 0.3, 0.5, 1.0], with_params=False)   # published-like: no params
    out = exp / "Fig5_noise_plots"
    _, stdout = run_notebook("fig5_noise.ipynb", dict(
        REP_RUNS_DIR=str(exp / "Fig5_rep_unit_noise" / "runs"), ERR_RUNS_DIR=str(exp / "Fig5_error_unit_noise" / "runs"),
        N_REP_RUNS=5 * per, N_ERR_RUNS=4 * per + 1, RUNS_PER_GROUP=per, OUT_DIR=str(out)))
    assert_figures(out, ["MSE_vs_sigma_act"], stdout)
    assert "skipped 1 missing runs: lr12" in stdout
    assert "0.0: '3 runs" in stdout and "1.0: '3 runs" in stdout


@needs_jupyter
def test_fig8_notebook(tmp_path):
    out = tmp_path / "varphi_prime_transfer"
    _, stdout = run_notebook("fig8_varphi_transfer.ipynb", dict(N_SAMPLES=15, TPRES=2.0, OUT_DIR=str(out)))
    assert_figures(out, ["tanh activation", "relu activation", "logistic activation", "activation"], stdout)


# --------------------------------------------------------------------------------------------
# figlib
# --------------------------------------------------------------------------------------------

def test_test_loss_and_time_mean():
    n = net(MSE_test_time_series=[100.0] * 10 + [1.0, 3.0])
    assert fl.test_loss(n) == 2.0
    assert fl.test_loss(n, skip=0) == pytest.approx(np.mean([100.0] * 10 + [1.0, 3.0]))
    assert fl.time_mean_test_mse(n) == fl.test_loss(n, skip=0)
    with pytest.raises(ValueError, match="MSE_test_time_series"):
        fl.test_loss(net(MSE_test_time_series=[1.0] * 10))


def test_test_loss_on_a_real_run(fig3_tree):
    models = fl.load_models(str(fig3_tree / "2-1" / "ann" / "model.pkl"))
    teacher, studs = fl.split_teacher(models)
    assert teacher.is_teacher and len(studs) == 3
    for s in studs:
        assert fl.test_loss(s) == pytest.approx(np.mean(s.MSE_test_time_series[10:]))


def test_mean_angles():
    a = np.array([[10.0, np.nan], [30.0, 20.0]])
    np.testing.assert_allclose(fl.mean_angles(net(angle_BP_updates_time_series=a.tolist())), [20.0, 10.0])
    np.testing.assert_allclose(fl.mean_angles(net(angle_BP_updates_time_series=[5.0, 15.0])), [10.0])
    assert fl.mean_angles(net()) is None
    assert fl.mean_angles(net(angle_BP_updates_time_series=[])) is None


def test_penalty_per_test():
    steps = 5
    p = np.zeros((3, steps))
    p[0, 0] = 1          # first entry of each test is zeroed
    p[1, [0, 2, 4]] = 1
    p[2, 1:] = 1
    np.testing.assert_array_equal(fl.penalty_per_test(net(penalty_log=list(p.ravel())), steps), [0, 2, 4])
    with pytest.raises(ValueError, match="multiple"):
        fl.penalty_per_test(net(penalty_log=[0.0] * 7), steps)
    with pytest.raises(ValueError, match="penalty_log"):
        fl.penalty_per_test(net())


def test_cartpole_window_aligns_forces():
    rows, steps = 4, 3          # two tests: states 0..7, actions 0..5
    n = net(state_log=[[i, 0, 0, 0] for i in range(8)], action_log=[10.0 * i for i in range(6)])
    t, states, forces = fl.cartpole_window(n, 6, 1, rows_per_test=rows, steps_per_test=steps, dt=0.5)
    np.testing.assert_array_equal(states[:, 0], [2, 3, 4, 5, 6])
    np.testing.assert_array_equal(t, [1.0, 1.5, 2.0, 2.5, 3.0])
    np.testing.assert_array_equal(forces, [10.0, 20.0, np.nan, 30.0, 40.0])
    st, fo = fl.cartpole_test_block(n, -1, rows, steps)
    np.testing.assert_array_equal(st[:, 0], [4, 5, 6, 7])
    np.testing.assert_array_equal(fo, [30, 40, 50])


def test_dms_epoch_means():
    n = net(MSE_val_time_series=[1, 1, 3, 3, 0, 2], MSE_test_time_series=[4, 6], epochs=3)
    np.testing.assert_allclose(fl.dms_epoch_means(n), [1, 3, 1, 5])
    del n.epochs
    np.testing.assert_allclose(fl.dms_epoch_means(n), [1, 3, 1, 5])      # len(val) // len(test)
    np.testing.assert_allclose(fl.dms_epoch_means(n, epochs=2), [5 / 3, 5 / 3, 5])
    with pytest.raises(ValueError):
        fl.dms_epoch_means(n, epochs=4)


def test_population_grid_rows_are_nR():
    values = {(50, 100): [1.0, 3.0], (100, 50): [5.0], (7, 7): [9.0]}
    mean, std, count = fl.population_grid(values, [50, 100], [50, 100])
    np.testing.assert_array_equal(count, [[0, 2], [1, 0]])
    assert mean[0, 1] == 2.0 and std[0, 1] == 1.0 and mean[1, 0] == 5.0
    assert np.isnan(mean[0, 0])
    assert fl.population_sizes(net(layers=[10, 50, 784], error_layers=[0, 100, 784])) == (50, 100)


def test_sigma_act():
    assert fl.sigma_act(net(params={"activation_slope_std": 0.3}), default=9) == 0.3
    assert fl.sigma_act(net(params={"activation_slope_std": None}), default=9) == 0.0
    assert fl.sigma_act(net(params={"activation_slope_std": None, "error_activation_slope_std": 0.5}),
                        default=9) == 0.5
    assert fl.sigma_act(net(params={}), default=9) == 9
    assert fl.sigma_act(net(), default=0.5) == 0.5


def test_split_teacher_without_is_teacher_attribute():
    a, b, c = (SimpleNamespace(WPP=[]) for _ in range(3))
    assert fl.split_teacher([a, b, c]) == (a, [b, c])
    assert fl.split_teacher([a, b, c], teacher_first=False) == (None, [a, b, c])
    t, s = net(is_teacher=True), net()
    assert fl.split_teacher([t, s], teacher_first=False) == (t, [s])


def test_load_runs_and_require(tmp_path, capsys):
    for i in (0, 2, 10):
        (tmp_path / f"lr{i}").mkdir()
        save_models(str(tmp_path / f"lr{i}" / "model.pkl"), [net(seed=i)])
    runs = fl.load_runs(str(tmp_path / "lr*" / "model.pkl"))
    assert [m[0].seed for m in runs.values()] == [0, 2, 10]
    runs = fl.load_runs([str(tmp_path / f"lr{i}" / "model.pkl") for i in (0, 1)])
    assert len(runs) == 1 and "skipping missing run" in capsys.readouterr().out
    with pytest.raises(fl.NoRunsFound, match=re.escape(str(tmp_path / "x"))):
        fl.require_runs({}, str(tmp_path / "x"))
    assert fl.format_ranges([5, 0, 1, 2, 7, 8]) == "0-2, 5, 7-8"


def test_high_pass_matches_the_recursion():
    rng = np.random.default_rng(0)
    r = rng.normal(size=200)
    dt, tau = 0.01, 0.1
    h = np.empty_like(r)
    h[0] = r[0]
    for t in range(len(r) - 1):
        h[t + 1] = h[t] + (r[t + 1] - r[t]) - dt / tau * h[t]
    np.testing.assert_allclose(fl.high_pass(r, dt, tau), h, rtol=1e-12, atol=1e-12)


def test_varphi_transfer_is_seeded_and_tracks_phi_prime():
    from numpy_model.circuit.activations import dphi, phi
    u = np.linspace(-3, 3, 13)
    for name in ("tanh", "relu", "logistic"):
        np.testing.assert_allclose(fl.phi(name, u), phi(name, u))
        np.testing.assert_allclose(fl.dphi(name, u), dphi(name, u))
    a = fl.varphi_transfer("tanh", 0.05, np.random.default_rng(7), n_samples=21, Tpres=5.0)
    b = fl.varphi_transfer("tanh", 0.05, np.random.default_rng(7), n_samples=21, Tpres=5.0)
    np.testing.assert_array_equal(a[1], b[1])
    # long presentations: the transient after each voltage jump is small against the noise response
    u, est, exact = fl.varphi_transfer("tanh", 0.1, np.random.default_rng(7), n_samples=21, Tpres=100.0)
    assert np.max(np.abs(est - exact)) < 0.1
    assert abs(u[np.argmax(est)]) < 0.5
