"""Provenance in every result: model.pkl (Network.provenance), results.npz meta, and the helpers the
sweep uses for status.json and the metrics CSV (numpy_model/provenance.py)."""
import json
import os
import re
import sys

import dill
import numpy as np
import pytest

import numpy_model
from numpy_model.models import compiled
from conftest import ROOT, run_cli
from numpy_model import provenance
from numpy_model.params import load_params

NPZ_KEYS = ("numpy", "version", "params_hash", "command", "host", "python", "scipy", "backend",
            "blas_threads", "git_commit", "git_dirty", "start_time", "end_time", "run_id")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("prov")
    with open(os.path.join(ROOT, "examples", "quickstart", "params.json"), encoding="utf-8") as fh:
        p = json.load(fh)
    p.update(dataset_size=5, epochs=1, settling_time=0.1, random_seed=[1, 2])
    (d / "params.json").write_text(json.dumps(p))
    run = run_cli("--params", str(d / "params.json"), "--quiet")
    assert run.returncode == 0, run.stderr
    return d


def test_results_npz_meta_has_the_provenance(run_dir):
    with np.load(run_dir / "results.npz") as z:       # allow_pickle=False
        meta = json.loads(str(z["meta"]))
    assert set(NPZ_KEYS) <= set(meta)
    assert meta["version"] == numpy_model.__version__
    assert meta["numpy"] == np.__version__
    # backend auto: numba when importable (the teacher may run on numpy: "numba (teacher numpy)")
    assert meta["backend"].split()[0] == compiled.resolve("auto")[0]
    assert meta["python"] == "%d.%d.%d" % sys.version_info[:3]
    assert meta["params_hash"] == provenance.params_hash(load_params(run_dir / "params.json"))
    assert "--params" in meta["command"] and str(run_dir / "params.json") in meta["command"]
    assert meta["start_time"] <= meta["end_time"]
    assert meta["blas_threads"] == 1                  # runner.py sets one BLAS thread
    if meta["git_commit"] is not None:                # run from a checkout
        assert re.fullmatch("[0-9a-f]{40}", meta["git_commit"]) and isinstance(meta["git_dirty"], bool)


def test_every_network_in_model_pkl_carries_it(run_dir):
    with open(run_dir / "model.pkl", "rb") as fh:
        models = dill.load(fh)
    with np.load(run_dir / "results.npz") as z:
        meta = json.loads(str(z["meta"]))
    assert len(models) == 3
    for m in models:
        assert tuple(m.provenance) == provenance.KEYS
        assert m.provenance == {k: meta[k] for k in provenance.KEYS}
    # the students hold the params that were hashed
    assert provenance.params_hash(models[1].params) == meta["params_hash"]
    assert provenance.csv_fields(models[1]) == {"version": numpy_model.__version__,
                                                "params_hash": meta["params_hash"]}


def test_reload_keeps_the_provenance_of_the_run(run_dir):
    with np.load(run_dir / "results.npz") as z:
        before = json.loads(str(z["meta"]))["run_id"]
    run = run_cli("--params", str(run_dir / "params.json"), "--load", str(run_dir / "model.pkl"), "--quiet")
    assert run.returncode == 0, run.stderr
    with np.load(run_dir / "results.npz") as z:
        assert json.loads(str(z["meta"]))["run_id"] == before


def test_params_hash_is_canonical():
    a = {"mc_model": "errormc", "layers": [4, 2, 1], "_comment": "x"}
    b = {"_comment_layers": "y", "layers": [4, 2, 1], "mc_model": "errormc"}
    assert provenance.params_hash(a) == provenance.params_hash(b)
    assert provenance.canonical_params_json(a) == '{"layers":[4,2,1],"mc_model":"errormc"}'
    assert provenance.params_hash(a) != provenance.params_hash(dict(a, layers=[4, 3, 1]))


def test_record_for_the_sweep(tmp_path):
    """status.json: provenance.record(params_path=..., command=...) from the wrapper process."""
    path = os.path.join(ROOT, "examples", "quickstart", "params.json")
    rec = provenance.record(params_path=path, command=["python", "-m", "numpy_model.cli", "--params", path])
    assert tuple(rec) == provenance.KEYS and rec["end_time"] is None
    assert rec["params_hash"] == provenance.params_hash(load_params(path))
    assert rec["command"].startswith("python -m numpy_model.cli --params ")
    json.dumps(rec)                                                    # JSON-able
    (tmp_path / "bad.json").write_text("{")
    assert provenance.record(params_path=str(tmp_path / "bad.json"))["params_hash"] is None
    assert provenance.csv_fields(object()) == {"version": "", "params_hash": ""}


def test_git_is_quietly_absent_outside_a_checkout(tmp_path):
    assert provenance.git_info(str(tmp_path)) == {"git_commit": None, "git_dirty": None}


def test_version_is_single_sourced():
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as fh:
        text = fh.read()
    assert re.search(r'^dynamic = \["version"\]', text, re.M)
    assert 'version = {attr = "numpy_model.__version__"}' in text
    assert not re.search(r'^version = "', text, re.M)
    with open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8") as fh:
        first = re.search(r"^## \[?(\d+\.\d+\.\d+)", fh.read(), re.M).group(1)
    assert first == numpy_model.__version__ == provenance.package_version()
    with open(os.path.join(ROOT, "CITATION.cff"), encoding="utf-8") as fh:
        cff = fh.read()
    assert re.search(r"^version: (\S+)$", cff, re.M).group(1) == numpy_model.__version__
    assert "10.1371/journal.pcbi.1014164" in cff
