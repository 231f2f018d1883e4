"""Figures of a run (numpy_model.analysis.plots, docs/model.md §10.1): which files, valid PNGs, headless, atomic,
robust."""
import copy
import json
import os
import struct
import warnings

import matplotlib
import numpy as np
import pytest

from conftest import GOLDEN
from numpy_model.analysis.plots import draw, figure, mse, weights
from numpy_model.params import validate
from numpy_model.analysis.plots import plot_run
from numpy_model.run import simulate

plt = pytest.importorskip("matplotlib.pyplot")   # imported only to check that no figure stays open

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REC_FLAGS = ["rec_MSE", "rec_target", "rec_WPP", "rec_WIP", "rec_BPP", "rec_BII", "rec_BPI", "rec_uP",
             "rec_uP_breve", "rec_rP_breve", "rec_uI", "rec_uI_breve", "rec_rI_breve", "rec_vbas",
             "rec_vapi", "rec_lat_mismatch"]


def _run(case, task="fw_only", flags=None, **over):
    """Simulate a small run in-process: 2 students (and a teacher for teacher tasks)."""
    with open(os.path.join(GOLDEN, case, "params.json")) as fh:
        raw = json.load(fh)
    raw.update(dict(random_seed=[3, 4], dataset_size=4, epochs=2, settling_time=0.1, rec_per_steps=10))
    if flags is not None:   # exactly these rec flags on
        raw.update({f: f in flags for f in REC_FLAGS})
    raw.update(over)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return simulate(validate(raw, task, warn=lambda m: None), task)


@pytest.fixture(scope="module")
def runs():
    return {
        # golden errormc skip flags (WPP WIP BII BPI uP_breve uI_breve rP_breve vbas MSE) + target overlay
        "errormc": _run("emc_skip_8421", rec_target=True),
        "sacramento2018": _run("sac_8421", flags=[f for f in REC_FLAGS if f != "rec_BII"]),
        "dPC": _run("dpc_8421", flags=["rec_MSE", "rec_WPP", "rec_vapi"]),
        "ann": _run("ann_8421", flags=["rec_MSE", "rec_WPP", "rec_WIP"]),
        "bw_only": _run("emc_skip_8421", task="bw_only", flags=["rec_MSE", "rec_WPP"], noise_type=None),
    }


def _names(paths):
    return sorted(os.path.basename(p)[:-len(".png")] for p in paths)


def _check_pngs(paths, out_dir):
    assert len(set(paths)) == len(paths)
    for p in paths:
        assert os.path.dirname(p) == str(out_dir)
        with open(p, "rb") as fh:
            data = fh.read()
        assert data[:8] == PNG_SIGNATURE, p
        assert data[12:16] == b"IHDR"
        width, height = struct.unpack(">II", data[16:24])
        assert (width, height) == (1200, 800), p          # figsize (6, 4) at 200 dpi
        assert data[-8:-4] == b"IEND", p                  # complete file
        assert len(data) < 1_000_000, p
    # nothing else in the directory: no temporary files, no figure that was not reported
    assert sorted(os.listdir(out_dir)) == sorted(os.path.basename(p) for p in paths)


def _plot(models, out_dir, **kw):
    """plot_run with warnings as errors (e.g. 'More than 20 figures'), then no figure may stay open."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        paths = plot_run(models, str(out_dir), log=_fail_log, strict=True, **kw)
    assert plt.get_fignums() == []    # the object API never registers figures with pyplot
    return paths


def _fail_log(msg):
    raise AssertionError(f"unexpected log message: {msg}")


def _only(models, keep):
    """Copies of the networks with only the `keep` series left (the others removed)."""
    out = []
    for m in models:
        c = copy.copy(m)
        for k in list(vars(c)):
            if (k.endswith("_time_series") or k.startswith("MSE_")) and k not in keep:
                delattr(c, k)
        out.append(c)
    return out


def _layers(prefix, n, start=1):
    return [f"{prefix}_layer{i}" for i in range(start, start + n)]


def test_errormc_skip_figures(runs, tmp_path):
    paths = _plot(runs["errormc"], tmp_path)
    expected = (["MSE", "MSE_val", "MSE_test", "WPP_layer1", "BII_layer1"]   # skip: one full matrix each
                + _layers("WIP", 3) + _layers("BPI", 3) + _layers("uP_breve", 3) + _layers("rP_breve", 3)
                + _layers("vbas", 3))
    assert _names(paths) == sorted(expected)   # uI_breve has no figure (docs/model.md §10.1)
    _check_pngs(paths, tmp_path)


def test_sacramento_figures(runs, tmp_path):
    paths = _plot(runs["sacramento2018"], tmp_path)
    expected = (["MSE", "MSE_val", "MSE_test", "uI_layer0", "rI_breve_layer0"]
                + _layers("WPP", 3) + _layers("WIP", 2) + _layers("BPP", 2) + _layers("BPI", 2)
                + _layers("BPP+BPI", 2) + _layers("uP", 3) + _layers("uP_breve", 3) + _layers("rP_breve", 3)
                + _layers("vbas", 3) + _layers("vapi", 2) + _layers("lat_mismatch", 2))
    assert _names(paths) == sorted(expected)
    _check_pngs(paths, tmp_path)


@pytest.mark.parametrize("kind, expected", [
    ("dPC", ["MSE", "MSE_val", "MSE_test", "WPP_layer1", "WPP_layer2", "WPP_layer3", "vapi_layer1",
             "vapi_layer2"]),
    ("ann", ["MSE", "MSE_val", "MSE_test", "WPP_layer1", "WPP_layer2", "WPP_layer3", "WIP_layer1",
             "WIP_layer2", "WIP_layer3"]),
])
def test_only_recorded_series_are_plotted(runs, tmp_path, kind, expected):
    paths = _plot(runs[kind], tmp_path)
    assert _names(paths) == sorted(expected)
    _check_pngs(paths, tmp_path)


def test_no_teacher_run_with_empty_mse(runs, tmp_path):
    models = runs["bw_only"]
    assert not any(getattr(m, "is_teacher", False) for m in models)
    assert all(m.MSE_time_series == [] and m.MSE_val_time_series == [] for m in models)
    paths = _plot(models, tmp_path)
    assert _names(paths) == ["WPP_layer1"]
    _check_pngs(paths, tmp_path)


def test_empty_training_mse_is_skipped(runs, tmp_path):
    """The published plot_exp crashes on an empty MSE_time_series; we skip that figure only."""
    models = _only(runs["ann"], {"MSE_time_series", "MSE_val_time_series", "MSE_test_time_series"})
    for m in models:
        m.MSE_time_series = []
    paths = _plot(models, tmp_path)
    assert _names(paths) == ["MSE_test", "MSE_val"]
    _check_pngs(paths, tmp_path)


def test_teacher_only_and_empty_lists(runs, tmp_path):
    teacher = [m for m in runs["ann"] if m.is_teacher]
    assert len(teacher) == 1
    assert _plot(teacher, tmp_path) == []
    assert _plot([], tmp_path) == []
    assert os.listdir(tmp_path) == []


def test_angle_plots(runs, tmp_path):
    models = _only(runs["sacramento2018"], set())
    rng = np.random.default_rng(0)
    students = [m for m in models if not m.is_teacher]
    R = len(runs["sacramento2018"][1].WPP_time_series)
    for m in students:
        L = len(m.layers)
        tpre = int(m.settling_time / m.dt / m.rec_per_steps)
        m.angle_BP_updates_time_series = rng.uniform(0, 90, ((R - tpre) * m.dataset_size, L - 1))
        wb = rng.uniform(0, 90, (R, L - 2))
        wb[3, 0] = np.nan                                # zero matrices give NaN angles
        m.angle_WPPT_BPP_time_series = wb
        m.angle_jacobians_BP_time_series = [list(r) for r in rng.uniform(0, 90, (R, L - 2))]  # lists work too
        m.angle_WPPT_BII_time_series = rng.uniform(0, 90, R)   # skip mode: one angle per record
        m.angle_BPP_RHS_time_series = np.zeros((0, L - 2))     # empty: skipped
    paths = _plot(models, tmp_path)
    expected = []
    for prefix, n in [("angle_MC_BP_ANN", 3), ("angle_WPPT_BPP", 2), ("angle_jacobians_BP", 2),
                      ("angle_WPPT_BII", 1)]:
        for i in range(n):
            expected += [f"{prefix}{i}", f"{prefix}{i}_mean"]
    assert _names(paths) == sorted(expected)
    _check_pngs(paths, tmp_path)


def test_many_students_and_usetex_requested(runs, tmp_path):
    """12 students (legend capped at MAX_LEGEND entries); a user rc asking for LaTeX is overridden."""
    base = _only(runs["ann"], {"WPP_time_series", "MSE_time_series"})
    students = []
    for i in range(12):
        c = copy.copy(base[1 + i % 2])
        c.seed = 100 + i
        students.append(c)
    with matplotlib.rc_context({"text.usetex": True}):
        paths = _plot([base[0]] + students, tmp_path)
    assert _names(paths) == ["MSE", "WPP_layer1", "WPP_layer2", "WPP_layer3"]
    _check_pngs(paths, tmp_path)
    handles = figure._student_handles(students, figure._colours(len(students)))
    assert len(handles) == figure.MAX_LEGEND and handles[-1].get_label() == "+3 more seeds"
    assert figure._student_handles(students[:1], figure._colours(1)) == []


def test_every_file_is_written_atomically(runs, tmp_path, monkeypatch):
    calls = []
    real = figure.atomic_write_bytes

    def spy(path, data):
        calls.append(path)
        real(path, data)
    monkeypatch.setattr(figure, "atomic_write_bytes", spy)
    paths = _plot(_only(runs["ann"], {"WPP_time_series", "MSE_val_time_series"}), tmp_path)
    assert paths and calls == paths


def test_a_failing_figure_is_logged_and_the_others_are_written(runs, tmp_path):
    models = _only(runs["ann"], {"WPP_time_series", "MSE_test_time_series"})
    models[1].WPP_time_series = [["not a number"] * 3 for _ in range(30)]
    messages = []
    paths = plot_run(models, str(tmp_path), log=messages.append)
    assert _names(paths) == ["MSE_test"]
    assert len(messages) == 3 and all(m.startswith("warning: could not plot WPP_layer") for m in messages)
    with pytest.raises(ValueError):
        plot_run(models, str(tmp_path), log=messages.append, strict=True)
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]


def test_teacher_blocks_are_embedded_in_the_skip_matrix(runs):
    teacher, student = runs["errormc"][0], runs["errormc"][1]
    N = sum(student.layers)
    ref = weights._teacher_reference(teacher, "WPP", 0, student, (N, N)).reshape(N, N)
    off = np.cumsum([0] + student.layers)
    for k, blk in enumerate(teacher.WPP):
        np.testing.assert_array_equal(ref[off[k + 1]:off[k + 2], off[k]:off[k + 1]], blk)
    assert np.isnan(ref).sum() == N * N - sum(b.size for b in teacher.WPP)
    # shapes without a counterpart get no teacher lines
    assert weights._teacher_reference(teacher, "WIP", 0, student, student.WIP[0].shape) is None


def test_decimation_keeps_the_envelope():
    rng = np.random.default_rng(1)
    Y = rng.normal(size=(100_003, 3))
    Y[500:700, 1] = np.nan
    x = np.arange(len(Y))
    X, Yd = draw._decimate(x, Y, bins=1000)
    assert Yd.shape[0] <= 2000 and X.shape == Yd.shape
    for j in range(3):
        assert np.nanmax(Yd[:, j]) == np.nanmax(Y[:, j]) and np.nanmin(Yd[:, j]) == np.nanmin(Y[:, j])
        assert np.all(np.diff(X[:, j]) >= 0)
    small = Y[:50]
    X2, Y2 = draw._decimate(x[:50], small, bins=1000)
    np.testing.assert_array_equal(Y2, small)


def test_validation_boundaries_truncate_like_the_simulator():
    """Tpres = 0.3, dt = 0.1: a sample lasts int(0.3 / 0.1) = 2 steps in the simulator (not round() = 3),
    so with D = 4 samples a validation lasts 8 steps and MSE_val.png marks new validations at 8, 16."""
    assert mse._validation_boundaries(24, 4, 0.3, 0.1) == [8, 16]
    assert mse._validation_boundaries(8, 4, 0.3, 0.1) == []          # a single validation: no line
    assert mse._validation_boundaries(400, 10, 0.2, 0.01) == [200]   # T = 20 (golden params)
    assert mse._validation_boundaries(24, None, 0.3, 0.1) == []      # unknown D or T: no lines
    assert mse._validation_boundaries(24, 4, None, 0.1) == []
    assert mse._validation_boundaries(24, 4, 0.3, 0.0) == []


def test_validation_boundaries_match_the_simulated_validations(tmp_path):
    models = _run("ann_8421", flags=["rec_MSE"], Tpres=0.3, dt=0.1)   # 2 epochs: 2 validations
    s = models[1]
    n = len(s.MSE_val_time_series)
    assert n == 2 * s.dataset_size * 2                               # 2 validations of D·T, T = 2
    assert mse._validation_boundaries(n, s.dataset_size, s.Tpres, s.dt) == [n // 2]
    assert mse._validation_schedule(s) == "2 validations, every 1 epoch"
    assert "MSE_val" in _names(_plot(models, tmp_path))


def test_validation_schedule_follows_the_published_rule():
    from types import SimpleNamespace as NS
    assert mse._validation_schedule(NS(epochs=1000)) == "10 validations, every 100 epochs"
    assert mse._validation_schedule(NS(epochs=1)) == "1 validation"
    assert mse._validation_schedule(NS(epochs=None)) == "validation phases"
