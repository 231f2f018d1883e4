"""results.npz: the saved networks as arrays only (np.load with allow_pickle=False), golden key scheme."""
import json
import os

import numpy as np
import pytest

from conftest import GOLDEN, run_cli
from numpy_model.analysis.export import export_npz
from numpy_model.params import validate
from numpy_model.run import simulate


def _params(case, **over):
    with open(os.path.join(GOLDEN, case, "params.json")) as fh:
        raw = json.load(fh)
    raw.update(over)
    return validate(raw, "fw_only", warn=lambda msg: None)


def _expected_series(value):
    """What the npz must hold for a *_time_series attribute: {key suffix: array}."""
    if value and isinstance(value[0], list) and not np.isscalar(value[0][0]):
        return {f"/L{l}": np.array([np.asarray(rec[l], dtype=float) for rec in value])
                for l in range(len(value[0]))}
    return {"": np.array(value, dtype=float)}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    P = _params("sac_8421", random_seed=[7, 8], dataset_size=3, epochs=2, settling_time=0.1,
                rec_per_steps=5, rec_uI=True, rec_input=True, rec_target=True, rec_error=True,
                rec_dWPP=True)
    models = simulate(P, "fw_only", compare="BP")
    path = tmp_path_factory.mktemp("npz") / "results.npz"
    export_npz(models, path)
    return models, path


def test_loads_without_pickle_and_equals_the_objects(tiny_run):
    models, path = tiny_run
    with np.load(path, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    assert all(a.dtype != object for a in data.values())
    n_checked = 0
    for i, m in enumerate(models):
        attrs = vars(m)
        for attr, value in attrs.items():
            if attr.endswith("_time_series"):
                if attr == "target_time_series":     # per record [y or None]: None -> NaN row
                    got = data[f"m{i}/{attr}/L0"]
                    for rec, row in zip(value, got):
                        assert np.isnan(row).all() if rec[0] is None else np.array_equal(row, rec[0])
                    continue
                for suffix, want in _expected_series(value).items():
                    np.testing.assert_array_equal(data[f"m{i}/{attr}{suffix}"], want, err_msg=attr)
                    n_checked += 1
        for name in ("WPP", "WIP", "BPI", "BPP", "BII", "uP", "uI", "uP_breve", "rP_breve"):
            for l, a in enumerate(attrs.get(name) or []):
                np.testing.assert_array_equal(data[f"final/m{i}/{name}/L{l}"], a)
                n_checked += 1
        for name in ("input", "input_validation", "input_testing", "target", "target_validation",
                     "target_testing"):
            np.testing.assert_array_equal(data[f"m{i}/{name}"], attrs[name])
        assert data[f"m{i}/seed"].shape == () and int(data[f"m{i}/seed"]) == m.seed
        assert float(data[f"m{i}/dt"]) == m.dt and list(data[f"m{i}/layers"]) == list(m.layers)
    assert n_checked > 50
    # every series of the students is there, including the --compare BP angles
    assert "m1/angle_BP_updates_time_series" in data and data["m1/angle_BP_updates_time_series"].ndim == 2
    assert data["m2/MSE_time_series"].ndim == 1
    meta = json.loads(str(data["meta"]))
    assert meta["seeds"] == [7, 8] and meta["teacher_seed"] == models[0].seed
    assert [mm["mc_model"] for mm in meta["models"]] == [m.mc_model for m in models]
    assert [mm["layers"] for mm in meta["models"]] == [list(m.layers) for m in models]
    assert meta["models"][1]["params"]["dataset_size"] == 3
    assert meta["skipped"] == []


def test_golden_key_names_for_the_series(tmp_path):
    """A run of the ann_8421 golden case (fewer epochs) gives the golden.npz key names for the
    m0/m1 series, the sequences and the final arrays."""
    models = simulate(_params("ann_8421", epochs=1), "fw_only")
    export_npz(models, tmp_path / "results.npz")
    ours = set(np.load(tmp_path / "results.npz").files)
    gold = np.load(os.path.join(GOLDEN, "ann_8421", "golden.npz"))
    wanted = {k for k in gold.files if not k.startswith(("init/", "posttrain/"))}
    assert wanted <= ours, sorted(wanted - ours)[:10]
    for k in sorted(wanted):
        np.testing.assert_allclose(np.load(tmp_path / "results.npz")[k], gold[k], rtol=1e-9, atol=1e-12,
                                   err_msg=k)


def test_cli_writes_results_npz_next_to_model_pkl(tmp_path):
    p = {"mc_model": "ann", "layers": [2, 1], "dataset_size": 3, "epochs": 2, "settling_time": 0,
         "rec_WPP": True}
    (tmp_path / "params.json").write_text(json.dumps(p))
    run = run_cli("--params", str(tmp_path / "params.json"), "--quiet")
    assert run.returncode == 0, run.stderr
    assert sorted(os.listdir(tmp_path)) == ["model.pkl", "params.json", "results.npz"]   # no temp files
    with np.load(tmp_path / "results.npz", allow_pickle=False) as z:
        assert z["m1/WPP_time_series/L0"].shape[1:] == (1, 2)
        assert json.loads(str(z["meta"]))["seeds"] == [56789]


def test_odd_objects_are_exported_as_far_as_possible(tmp_path):
    """Older or diverged objects: ragged series and out-of-range ints are skipped (listed in meta), the
    rest is written."""
    from numpy_model.io import Network
    m = Network(seed=1, mc_model="ann", layers=[2, 1], rec_per_steps=10**30, WPP=[np.ones((1, 2))],
                MSE_time_series=[0.5, 0.25], vbas_time_series=[[np.zeros(2)], [np.zeros(3)]])
    export_npz([m], tmp_path / "results.npz")
    with np.load(tmp_path / "results.npz", allow_pickle=False) as z:
        np.testing.assert_array_equal(z["m0/MSE_time_series"], [0.5, 0.25])
        np.testing.assert_array_equal(z["final/m0/WPP/L0"], np.ones((1, 2)))
        assert float(z["m0/rec_per_steps"]) == 1e30
        skipped = json.loads(str(z["meta"]))["skipped"]
    assert len(skipped) == 1 and skipped[0].startswith("m0/vbas_time_series")
