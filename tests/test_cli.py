"""Command-line behaviour: tasks, --load, --cont, taur, outputs next to the params file."""
import json
import os

import dill
import numpy as np
import pytest

from conftest import GOLDEN, run_cli


def small_params(tmp_path, case="emc_skip_8421", **over):
    with open(os.path.join(GOLDEN, case, "params.json")) as fh:
        p = json.load(fh)
    p.update(dict(random_seed=[3, 4], dataset_size=4, epochs=2, settling_time=0.1, rec_per_steps=10))
    p.update(over)
    path = tmp_path / "params.json"
    path.write_text(json.dumps(p))
    return path


def load(path):
    with open(path, "rb") as fh:
        return dill.load(fh)


@pytest.mark.parametrize("task, n_models, has_targets", [
    ("fw_only", 3, True), ("fw_bw", 3, True), ("bw_only", 2, False), ("fw_only_no_teacher", 2, False)])
def test_tasks_run_and_save_next_to_params(tmp_path, task, n_models, has_targets):
    path = small_params(tmp_path, noise_type=None)
    run = run_cli("--params", str(path), "--task", task, "--quiet")
    assert run.returncode == 0, run.stderr
    models = load(tmp_path / "model.pkl")
    assert len(models) == n_models
    students = models[-2:]
    assert [m.seed for m in students] == [3, 4]
    for m in students:
        assert (len(m.MSE_test_time_series) > 0) == has_targets
        assert m.input.shape == (4 * 20, 8)
    if not has_targets:
        # inputs are still shuffled per seed (docs/model.md §6.5; the published code crashes here)
        assert not np.array_equal(students[0].input, students[1].input)


def test_fw_bw_equals_fw_only_without_apical_noise(tmp_path):
    """With noise_type != OU the apical noise is zero and errormc has no BII rule (§4.4.7)."""
    path = small_params(tmp_path, noise_type=None)
    assert run_cli("--params", str(path), "--task", "fw_only", "--quiet").returncode == 0
    a = load(tmp_path / "model.pkl")
    assert run_cli("--params", str(path), "--task", "fw_bw", "--quiet").returncode == 0
    b = load(tmp_path / "model.pkl")
    for x, y in zip(a[1:], b[1:]):
        np.testing.assert_array_equal(x.WPP[0], y.WPP[0])


def test_load_reloads_without_simulating(tmp_path):
    path = small_params(tmp_path)
    assert run_cli("--params", str(path), "--quiet").returncode == 0
    before = load(tmp_path / "model.pkl")
    other = tmp_path / "saved.pkl"
    os.replace(tmp_path / "model.pkl", other)
    # a params file that could not even be simulated proves nothing is simulated
    run = run_cli("--params", str(path), "--load", str(other), "--quiet")
    assert run.returncode == 0, run.stderr
    after = load(tmp_path / "model.pkl")
    for x, y in zip(before, after):
        np.testing.assert_array_equal(x.WPP[0], y.WPP[0])
        assert getattr(x, "MSE_val_time_series", None) == getattr(y, "MSE_val_time_series", None)


def test_cont_initialises_teacher_and_students_from_saved_weights(tmp_path):
    path = small_params(tmp_path, case="sac_8421")
    assert run_cli("--params", str(path), "--quiet").returncode == 0
    first = load(tmp_path / "model.pkl")
    saved = tmp_path / "first.pkl"
    os.replace(tmp_path / "model.pkl", saved)
    p = json.loads(path.read_text())
    p.update(epochs=0, rec_WPP=True, rec_per_steps=1)  # no training: weights stay the loaded ones
    path.write_text(json.dumps(p))
    assert run_cli("--params", str(path), "--cont", str(saved), "--quiet").returncode == 0
    cont = load(tmp_path / "model.pkl")
    for x, y in zip(first, cont):
        for k in range(len(x.WPP)):
            np.testing.assert_array_equal(x.WPP[k], y.WPP_time_series[0][k])
    # the teacher really uses the loaded weights: its targets are reproduced
    np.testing.assert_array_equal(first[0].WPP[0], cont[0].WPP[0])


def test_taur_changes_students_only(tmp_path):
    path = small_params(tmp_path, case="sac_8421")
    assert run_cli("--params", str(path), "--quiet").returncode == 0
    base = load(tmp_path / "model.pkl")
    p = json.loads(path.read_text())
    p["taur"] = 0.5
    path.write_text(json.dumps(p))
    run = run_cli("--params", str(path), "--quiet")
    assert run.returncode == 0, run.stderr
    tau = load(tmp_path / "model.pkl")
    np.testing.assert_array_equal(base[0].target, tau[0].target)       # teacher unchanged
    assert not np.allclose(base[1].uP_breve_time_series[-1][0], tau[1].uP_breve_time_series[-1][0])


@pytest.mark.parametrize("model, extra", [
    ("ann", {}), ("sacramento2018", {}), ("dPC", {}),
    ("errormc", {"teacher_error_layers": [0, 5, 2, 1]}),
    ("errormc", {"teacher_error_layers": [0, 5, 2, 1], "fw_connection_mode": "skip",
                 "bw_connection_mode": "skip", "eta_fw": [[1, 0], [0.5, 1]], "teacher_mc_model": "errormc"}),
])
def test_deeper_teacher_than_students(tmp_path, model, extra):
    """teacher_layers of another depth: the teacher never learns, its eta_fw shape is adapted."""
    p = {"mc_model": model, "layers": [3, 4, 1], "teacher_layers": [3, 5, 2, 1], "dataset_size": 2,
         "settling_time": 0, "epochs": 1, **extra}
    (tmp_path / "params.json").write_text(json.dumps(p))
    run = run_cli("--params", str(tmp_path / "params.json"), "--quiet")
    assert run.returncode == 0, run.stderr
    models = load(tmp_path / "model.pkl")
    assert models[0].layers == [3, 5, 2, 1] and models[1].layers == [3, 4, 1]
    assert models[1].target.shape == (2 * 20, 1)


def test_plots_written_by_default_and_replotted_by_load(tmp_path):
    """runner.py writes the per-run PNGs next to the params file; --no-plots skips them; --load
    (optionally with --compare BP) replots and recompares without simulating."""
    path = small_params(tmp_path, case="sac_8421", rec_WPP=True, rec_BPP=True, rec_WIP=True, rec_BPI=True)
    run = run_cli("--params", str(path), "--quiet", "--no-plots")
    assert run.returncode == 0, run.stderr
    assert not list(tmp_path.glob("*.png"))
    os.replace(tmp_path / "model.pkl", tmp_path / "saved.pkl")
    saved = load(tmp_path / "saved.pkl")
    # a different number of epochs: a simulation would produce other series, --load must not
    p = json.loads(path.read_text())
    p["epochs"] = 3
    path.write_text(json.dumps(p))
    run = run_cli("--params", str(path), "--load", str(tmp_path / "saved.pkl"), "--compare", "BP",
                  "--quiet", plots=True)
    assert run.returncode == 0, run.stderr
    reloaded = load(tmp_path / "model.pkl")
    assert reloaded[1].MSE_val_time_series == saved[1].MSE_val_time_series
    pngs = {f.name for f in tmp_path.glob("*.png")}
    assert {"MSE.png", "MSE_val.png", "MSE_test.png", "WPP_layer1.png", "angle_MC_BP_ANN0.png",
            "angle_WPPT_BPP0_mean.png"} <= pngs, sorted(pngs)
    assert all((tmp_path / f).stat().st_size > 1000 for f in pngs)
    models = load(tmp_path / "model.pkl")
    assert models[1].angle_BP_updates_time_series


def test_load_older_pickle_without_state(tmp_path):
    """A model.pkl of an earlier version (no `state`, no `format_version`) still loads and
    replots; --compare BP on it stops with a clear message instead of a traceback."""
    path = small_params(tmp_path, case="ann_8421", rec_WPP=True, rec_BPP=True)
    assert run_cli("--params", str(path), "--quiet").returncode == 0
    models = load(tmp_path / "model.pkl")
    for m in models:
        del m.__dict__["state"], m.__dict__["format_version"]
    with open(tmp_path / "old.pkl", "wb") as fh:
        dill.dump(models, fh)
    run = run_cli("--params", str(path), "--load", str(tmp_path / "old.pkl"), "--quiet", plots=True)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "MSE.png").stat().st_size > 0
    run = run_cli("--params", str(path), "--load", str(tmp_path / "old.pkl"), "--compare", "BP", "--quiet")
    assert run.returncode == 2 and "no saved simulation state" in run.stderr
    assert "Traceback" not in run.stderr
