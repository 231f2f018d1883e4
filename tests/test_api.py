"""The Python API (numpy_model.load_params / simulate / load / save) gives what runner.py gives."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import numpy_model as nm
from conftest import ROOT, assert_same, run_cli
from numpy_model.params import ParamsError


def _tiny(tmp_path, **over):
    with open(os.path.join(ROOT, "examples", "quickstart", "params.json"), encoding="utf-8") as fh:
        p = json.load(fh)
    p.update(dataset_size=5, epochs=2, settling_time=0.1, random_seed=[1, 2], rec_WIP=True, **over)
    path = tmp_path / "params.json"
    path.write_text(json.dumps(p))
    return path


@pytest.mark.parametrize("compare", [None, "BP"])
def test_api_and_cli_give_identical_networks(tmp_path, compare):
    path = _tiny(tmp_path, rec_BII=True, rec_BPI=True)
    run = run_cli("--params", str(path), "--quiet", *(["--compare", compare] if compare else []))
    assert run.returncode == 0, run.stderr
    cli_models = nm.load(tmp_path / "model.pkl")
    api_models = nm.simulate(nm.load_params(path), compare=compare)
    assert len(api_models) == len(cli_models) == 3 and api_models[0].is_teacher
    n_arrays = 0
    for i, (a, c) in enumerate(zip(api_models, cli_models)):
        va = {k: v for k, v in vars(a).items() if k != "provenance"}
        vc = {k: v for k, v in vars(c).items() if k != "provenance"}
        assert va.keys() == vc.keys(), i
        assert_same(va, vc, f"model {i}")
        n_arrays += sum(isinstance(v, (np.ndarray, list)) for v in va.values())
        assert a.provenance["params_hash"] == c.provenance["params_hash"]
    assert n_arrays > 50
    if compare:
        assert api_models[1].angle_BP_updates_time_series


def test_paths_dicts_seeds_and_save(tmp_path):
    path = _tiny(tmp_path)
    P = nm.load_params(str(path))
    assert P == nm.load_params(json.loads(path.read_text())) and "eta_IP" in P     # defaults filled
    with pytest.raises(ParamsError, match="layres"):
        nm.load_params({"mc_model": "errormc", "layres": [2, 1]})
    models = nm.simulate(path, seeds=[7])
    assert [m.seed for m in models[1:]] == [7] and models[1].params["random_seed"] == [7]
    assert models[1].provenance["version"] == nm.__version__
    out = nm.save(models, tmp_path / "saved.pkl")
    again = nm.load(out)
    np.testing.assert_array_equal(again[1].WPP[0], models[1].WPP[0])
    no_teacher = nm.simulate(P, task="fw_only_no_teacher")
    assert [m.seed for m in no_teacher] == [1, 2]


def test_import_is_cheap_and_lazy():
    code = ("import sys, numpy_model as nm; assert 'numpy' not in sys.modules, 'numpy imported'; "
            "assert callable(nm.simulate) and callable(nm.load_params) and callable(nm.load) "
            "and callable(nm.save); print(nm.__version__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == nm.__version__
    assert {"simulate", "load_params", "load", "save", "__version__"} <= set(dir(nm))
