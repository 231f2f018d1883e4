"""Bad input through the real command line (`python runner.py ...`, numpy_model.cli).

Every invalid params file must end with exit code 2, one message on stderr that starts with "error:" and
names the offending key, no Python traceback, and nothing written next to the params file.
"""
import json
import os
import pickle
import re

import dill
import pytest

from conftest import run_cli

MINIMAL = {"mc_model": "ann", "layers": [2, 1], "dataset_size": 2, "settling_time": 0, "epochs": 1}
DELETE = object()


def with_(base=MINIMAL, **over):
    raw = dict(base)
    for key, value in over.items():
        if value is DELETE:
            raw.pop(key)
        else:
            raw[key] = value
    return raw


EMC = with_(mc_model="errormc", layers=[3, 2, 1])

# (id, params content, task, key that must be named in stderr, further required substring or None)
INVALID = [
    ("unknown-key-suggestion", with_(laers=[2, 1]), "fw_only", "laers", "did you mean 'layers'"),
    ("misspelt-key-suggestion", with_(MINIMAL, epochs=DELETE, epoch=1), "fw_only", "epoch",
     "did you mean 'epochs'"),
    ("missing-required-key", with_(mc_model=DELETE), "fw_only", "mc_model", "required"),
    ("dt-string", with_(dt="0.01"), "fw_only", "dt", "\"0.01\""),
    ("dt-bool", with_(dt=True), "fw_only", "dt", "true"),
    ("gbas-bool", with_(gbas=False), "fw_only", "gbas", None),
    ("mc_model-list", with_(mc_model=["ann"]), "fw_only", "mc_model", None),
    ("input_signal-list", with_(input_signal=["step"]), "fw_only", "input_signal", None),
    ("eta_fw-length", with_(eta_fw=[1.0, 1.0]), "fw_only", "eta_fw", "L-1 = 1"),
    ("error_layers-length", with_(EMC, error_layers=[0, 2]), "fw_only", "error_layers", "len(layers) = 3"),
    ("dt-zero", with_(dt=0), "fw_only", "dt", "> 0"),
    ("dt-negative", with_(dt=-0.01), "fw_only", "dt", None),
    ("gl-negative", with_(gl=-0.03), "fw_only", "gl", ">= 0"),
    ("gapi-negative", with_(EMC, gapi=-1), "fw_only", "gapi", None),
    ("settling-longer-than-input", with_(settling_time=5), "fw_only", "settling_time",
     "longer than the training input"),
    ("random_seed-empty", with_(random_seed=[]), "fw_only", "random_seed", "non-empty"),
    ("random_seed-too-big", with_(random_seed=[2 ** 32]), "fw_only", "random_seed", "4294967295"),
    ("random_seed-negative", with_(random_seed=[5, -1]), "fw_only", "random_seed", None),
    ("rec_per_steps-zero", with_(rec_per_steps=0), "fw_only", "rec_per_steps", ">= 1"),
    ("activation-unknown", with_(activation="sigmoid"), "fw_only", "activation", "tanh"),
    ("activation-list-length", with_(EMC, activation=["tanh"]), "fw_only", "activation", "L-1 = 2"),
    ("model_type-PAL", with_(mc_model="sacramento2018", layers=[3, 2, 1], model_type="PAL"), "fw_only",
     "model_type", "PAL"),
    ("dPC-with-FA", with_(mc_model="dPC", layers=[3, 2, 1], model_type="FA"), "fw_only", "model_type",
     "dPC"),
    ("realistic-with-layered", with_(EMC, init_realistic_connectivity=True), "fw_only",
     "init_realistic_connectivity", "skip"),
    ("errormc-fw_bw-OU", with_(EMC, noise_type="OU"), "fw_bw", "noise_type", "OU"),
    ("Tpres-below-dt", with_(Tpres=0.001), "fw_only", "Tpres", None),
    ("layers-zero-size", with_(layers=[2, 0]), "fw_only", "layers", None),
    ("init-range-reversed", with_(init_WPP_range=[1, -1]), "fw_only", "init_WPP_range", "lo > hi"),
]


def listing(directory):
    return sorted(os.listdir(directory))


def assert_clean_failure(proc, directory, before, *needles):
    err = proc.stderr
    assert proc.returncode == 2, (proc.returncode, err, proc.stdout)
    assert err.startswith("error:"), err
    assert "Traceback" not in err and "Traceback" not in proc.stdout, err
    for needle in needles:
        assert needle in err, (needle, err)
    after = listing(directory)
    assert after == before, (before, after)
    assert "model.pkl" not in after and not any(f.endswith(".png") for f in after)


def test_invalid_cases_are_many_and_distinct():
    ids = [c[0] for c in INVALID]
    assert len(ids) == len(set(ids)) >= 18
    assert len({json.dumps(c[1], sort_keys=True) + c[2] for c in INVALID}) == len(INVALID)


@pytest.mark.parametrize("raw, task, key, extra", [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_params_file(tmp_path, raw, task, key, extra):
    path = tmp_path / "params.json"
    path.write_text(json.dumps(raw))
    before = listing(tmp_path)
    proc = run_cli("--params", str(path), "--task", task, "--quiet")
    assert_clean_failure(proc, tmp_path, before)
    # the temporary path contains the test id (and so often the key): judge the message without it
    msg = proc.stderr.replace(str(path), "<P>")
    assert re.match(rf"error: <P>: (unknown key '{re.escape(key)}'|{re.escape(key)}: )", msg), msg
    assert msg.count("\n") == 1, msg                  # one message, one line
    if extra:
        assert extra in msg, msg


# ------------------------------------------------------------------------------------------------
# broken files (the message names the file instead of a key)
# ------------------------------------------------------------------------------------------------

def test_invalid_json(tmp_path):
    path = tmp_path / "params.json"
    path.write_text('{"mc_model": "ann", "layers": [2, 1],}')
    before = listing(tmp_path)
    proc = run_cli("--params", str(path), "--task", "fw_only")
    assert_clean_failure(proc, tmp_path, before, str(path), "invalid JSON", "line 1")


def test_duplicate_key(tmp_path):
    path = tmp_path / "params.json"
    path.write_text('{"mc_model": "ann", "layers": [2, 1], "dt": 0.01, "dt": 0.02}')
    before = listing(tmp_path)
    proc = run_cli("--params", str(path), "--task", "fw_only")
    assert_clean_failure(proc, tmp_path, before, "dt", "duplicate key")


def test_non_object_json(tmp_path):
    path = tmp_path / "params.json"
    path.write_text(json.dumps([MINIMAL]))
    before = listing(tmp_path)
    proc = run_cli("--params", str(path), "--task", "fw_only")
    assert_clean_failure(proc, tmp_path, before, str(path), "expected a JSON object")


def test_not_utf8(tmp_path):
    path = tmp_path / "params.json"
    path.write_bytes(b'{"mc_model": "ann\xff"}')
    before = listing(tmp_path)
    proc = run_cli("--params", str(path), "--task", "fw_only")
    assert_clean_failure(proc, tmp_path, before, str(path), "UTF-8")


def test_missing_params_file(tmp_path):
    path = tmp_path / "params.json"
    before = listing(tmp_path)
    proc = run_cli("--params", str(path), "--task", "fw_only")
    assert_clean_failure(proc, tmp_path, before, str(path), "no such file")


def test_params_file_is_a_directory(tmp_path):
    path = tmp_path / "params.json"
    path.mkdir()
    before = listing(tmp_path)
    proc = run_cli("--params", str(path), "--task", "fw_only")
    assert_clean_failure(proc, tmp_path, before, str(path), "is a directory")
    assert os.listdir(path) == []


def test_unknown_task_value(tmp_path):
    """argparse rejects the choice with exit code 2; its message comes after the usage line."""
    path = tmp_path / "params.json"
    path.write_text(json.dumps(MINIMAL))
    before = listing(tmp_path)
    proc = run_cli("--params", str(path), "--task", "train")
    assert proc.returncode == 2, proc.stderr
    assert "error: argument --task: invalid choice: 'train'" in proc.stderr
    assert "fw_only" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert listing(tmp_path) == before


# ------------------------------------------------------------------------------------------------
# --load
# ------------------------------------------------------------------------------------------------

@pytest.fixture
def params_dir(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    (d / "params.json").write_text(json.dumps(MINIMAL))
    return d


def test_load_missing_file(params_dir, tmp_path):
    target = tmp_path / "nope" / "model.pkl"
    before = listing(params_dir)
    proc = run_cli("--params", str(params_dir / "params.json"), "--load", str(target))
    assert_clean_failure(proc, params_dir, before, str(target), "no such file")


def test_load_directory(params_dir, tmp_path):
    target = tmp_path / "adir"
    target.mkdir()
    before = listing(params_dir)
    proc = run_cli("--params", str(params_dir / "params.json"), "--load", str(target))
    assert_clean_failure(proc, params_dir, before, str(target), "not a file")


@pytest.mark.parametrize("content", [b"hello, I am not a pickle\n", b"", b"\x80\x04\x95garbage"],
                         ids=["text", "empty", "truncated-pickle"])
def test_load_not_a_pickle(params_dir, content):
    target = params_dir / "model.pkl"
    target.write_bytes(content)
    before = listing(params_dir)
    proc = run_cli("--params", str(params_dir / "params.json"), "--load", str(target))
    assert_clean_failure_allow_pkl(proc, params_dir, before, str(target), "not a readable model.pkl")
    assert target.read_bytes() == content            # the bad file is left alone, not overwritten


def test_load_pickle_of_wrong_object(params_dir, tmp_path):
    target = tmp_path / "other.pkl"
    target.write_bytes(pickle.dumps({"WPP": [1, 2]}))
    before = listing(params_dir)
    proc = run_cli("--params", str(params_dir / "params.json"), "--load", str(target))
    assert_clean_failure(proc, params_dir, before, str(target), "expected a list of saved networks")


def assert_clean_failure_allow_pkl(proc, directory, before, *needles):
    """As assert_clean_failure, for the case where the bad model.pkl itself sits in the directory."""
    err = proc.stderr
    assert proc.returncode == 2, (proc.returncode, err)
    assert err.startswith("error:"), err
    assert "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    assert listing(directory) == before
    assert not any(f.endswith(".png") for f in listing(directory))


# ------------------------------------------------------------------------------------------------
# the valid minimal run
# ------------------------------------------------------------------------------------------------

def test_valid_minimal_params_run_and_load(params_dir):
    proc = run_cli("--params", str(params_dir / "params.json"))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "error:" not in proc.stderr
    pkl = params_dir / "model.pkl"
    assert pkl.is_file()
    assert not any(f.startswith(".tmp-") for f in listing(params_dir))   # atomic write cleaned up
    with open(pkl, "rb") as fh:
        models = dill.load(fh)
    assert isinstance(models, list) and len(models) == 2                  # teacher + one student
    assert models[0].is_teacher and not models[1].is_teacher
    assert [m.mc_model for m in models] == ["ann", "ann"]
    assert models[1].layers == [2, 1] and models[1].WPP[0].shape == (1, 2)
    # --load of what was just written works and re-saves it
    proc = run_cli("--params", str(params_dir / "params.json"), "--load", str(pkl), "--quiet")
    assert proc.returncode == 0, proc.stderr
    with open(pkl, "rb") as fh:
        again = dill.load(fh)
    assert len(again) == 2 and (again[1].WPP[0] == models[1].WPP[0]).all()
