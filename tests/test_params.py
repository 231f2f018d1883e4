"""Tests of numpy_model.params: the params.json schema, defaults and validation messages."""

import glob
import json
import math
import os
import subprocess
import sys
import warnings

import pytest

from numpy_model.params import (
    SCHEMA,
    ParamsError,
    ParamsWarning,
    effective_rate_target,
    effective_task,
    effective_teacher_model,
    load_params,
    params_reference_markdown,
    teacher_init_range,
    validate,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the golden params: tests/fixtures/golden is the primary copy, the shared folder next to the checkout
# (ROOT/../shared/golden) a second one that is checked against it when present
GOLDEN_FIXTURES = os.path.join(REPO, "tests", "fixtures", "golden")
SHARED_GOLDEN = os.path.join(REPO, "..", "shared", "golden")
GOLDEN = sorted(glob.glob(os.path.join(GOLDEN_FIXTURES, "*", "params.json")))
MODELS = ["errormc", "sacramento2018", "dPC", "ann"]
BASE = {"mc_model": "errormc", "layers": [8, 4, 2, 1]}


def write(tmp_path, obj, name="params.json"):
    path = tmp_path / name
    path.write_text(json.dumps(obj, allow_nan=True))
    return path


def collect(raw, task="fw_only"):
    msgs = []
    p = validate(raw, task, warn=msgs.append)
    return p, msgs


# ------------------------------------------------------------------------------------------------
# invalid params: (id, overrides, keys to delete, task, key named in the message, extra substring)
# ------------------------------------------------------------------------------------------------
DELETE = object()
INVALID = [
    ("unknown-key", {"laers": [8, 1]}, "fw_only", "laers", "did you mean 'layers'"),
    ("missing-mc_model", {"mc_model": DELETE}, "fw_only", "mc_model", "required"),
    ("missing-layers", {"layers": DELETE}, "fw_only", "layers", "required"),
    ("layers-zero", {"layers": [8, 0]}, "fw_only", "layers", "[8, 0]"),
    ("layers-too-short", {"layers": [8]}, "fw_only", "layers", "at least 2"),
    ("layers-string", {"layers": "8-4-1"}, "fw_only", "layers", None),
    ("layers-float", {"layers": [8, 4.0, 1]}, "fw_only", "layers", None),
    ("layers-bool", {"layers": [8, True]}, "fw_only", "layers", None),
    ("mc_model-bad", {"mc_model": "errorMC"}, "fw_only", "mc_model", "sacramento2018"),
    ("teacher_mc_model-bad", {"teacher_mc_model": "bp"}, "fw_only", "teacher_mc_model", None),
    ("model_type-PAL", {"mc_model": "sacramento2018", "model_type": "PAL"}, "fw_only", "model_type",
     "PAL noise model is not implemented"),
    ("model_type-bad", {"model_type": "bp"}, "fw_only", "model_type", "\"FA\""),
    ("activation-bad", {"activation": "sigmoid"}, "fw_only", "activation", "hard_sigmoid"),
    ("activation-list-length", {"activation": ["tanh", "tanh"]}, "fw_only", "activation", "L-1 = 3"),
    ("activation-list-name", {"activation": ["tanh", "tanh", "ReLU"]}, "fw_only", "activation", "ReLU"),
    ("activation-number", {"activation": 1}, "fw_only", "activation", None),
    ("error_activation-length", {"error_activation": ["linear"]}, "fw_only", "error_activation", None),
    ("input_signal-bad", {"input_signal": "mnist"}, "fw_only", "input_signal", "genMNIST"),
    ("fw_connection_mode-bad", {"fw_connection_mode": "full"}, "fw_only", "fw_connection_mode", None),
    ("bw_connection_mode-bad", {"bw_connection_mode": None}, "fw_only", "bw_connection_mode", None),
    ("eta_fw_conversion-bad", {"eta_fw_conversion": "scaled"}, "fw_only", "eta_fw_conversion",
     "fill_scaled"),
    ("task-bad", {}, "train", "task", "fw_only_no_teacher"),
    ("error_layers-length", {"error_layers": [0, 4, 1]}, "fw_only", "error_layers", "len(layers) = 4"),
    ("error_layers-zero", {"error_layers": [0, 0, 2, 1]}, "fw_only", "error_layers", ">= 1"),
    ("eta_fw-length", {"eta_fw": [1, 0.2]}, "fw_only", "eta_fw", "L-1 = 3"),
    ("eta_fw-scalar", {"eta_fw": 1.0}, "fw_only", "eta_fw", None),
    ("eta_fw-negative", {"eta_fw": [1, -0.2, 0.05]}, "fw_only", "eta_fw", ">= 0"),
    ("eta_fw-matrix-layered", {"eta_fw": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}, "fw_only", "eta_fw",
     "skip"),
    ("eta_fw-matrix-sacramento", {"mc_model": "sacramento2018", "fw_connection_mode": "skip",
                                  "eta_fw": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}, "fw_only", "eta_fw", None),
    ("eta_fw-matrix-shape", {"fw_connection_mode": "skip", "eta_fw": [[1, 0], [0, 1]]}, "fw_only",
     "eta_fw", "3x3"),
    ("eta_IP-short-errormc", {"eta_IP": [0, 0]}, "fw_only", "eta_IP", "at least 3"),
    ("eta_PI-short-sacramento", {"mc_model": "sacramento2018", "eta_PI": [0.1]}, "fw_only", "eta_PI",
     "at least 2"),
    ("eta_IP-short-for-teacher", {"mc_model": "sacramento2018", "teacher_mc_model": "errormc",
                                  "eta_IP": [0, 0]}, "fw_only", "eta_IP", "teacher"),
    ("eta_PI-string", {"eta_PI": "0"}, "fw_only", "eta_PI", None),
    ("activation_slope-length", {"activation_slope": [1, 1]}, "fw_only", "activation_slope", None),
    ("activation_offset-nan", {"activation_offset": [0, float("nan"), 0]}, "fw_only",
     "activation_offset", "NaN"),
    ("init-range-reversed", {"init_WPP_range": [1, -1]}, "fw_only", "init_WPP_range", "lo > hi"),
    ("init-range-length", {"init_BII_range": [-1, 0, 1]}, "fw_only", "init_BII_range", None),
    ("teacher-range-bad", {"init_teacher_WIP_range": "0"}, "fw_only", "init_teacher_WIP_range", None),
    ("teacher_layers-input", {"teacher_layers": [4, 4, 2, 1]}, "fw_only", "teacher_layers",
     "same input and output size"),
    ("teacher_layers-output", {"teacher_layers": [8, 4, 2]}, "fw_only", "teacher_layers", None),
    ("teacher_error_layers-length", {"teacher_error_layers": [0, 4, 1]}, "fw_only",
     "teacher_error_layers", None),
    ("teacher-depth-vs-activation-list", {"teacher_layers": [8, 3, 1], "teacher_error_layers": [0, 3, 1],
                                          "activation": ["tanh", "tanh", "linear"]}, "fw_only",
     "activation", "teacher"),
    ("dt-zero", {"dt": 0}, "fw_only", "dt", "> 0"),
    ("dt-negative", {"dt": -0.01}, "fw_only", "dt", None),
    ("dt-bool", {"dt": True}, "fw_only", "dt", None),
    ("dt-string", {"dt": "0.01"}, "fw_only", "dt", None),
    ("dt-nan", {"dt": float("nan")}, "fw_only", "dt", "NaN"),
    ("gbas-inf", {"gbas": float("inf")}, "fw_only", "gbas", None),
    ("Tpres-zero", {"Tpres": 0}, "fw_only", "Tpres", None),
    ("Tpres-below-dt", {"Tpres": 0.005}, "fw_only", "Tpres", "int(Tpres/dt) = 0"),
    ("dataset_size-zero", {"dataset_size": 0}, "fw_only", "dataset_size", ">= 1"),
    ("dataset_size-float", {"dataset_size": 100.0}, "fw_only", "dataset_size", "integer"),
    ("epochs-negative", {"epochs": -1}, "fw_only", "epochs", None),
    ("settling_time-negative", {"settling_time": -1}, "fw_only", "settling_time", None),
    ("settling_time-too-long", {"dataset_size": 10, "settling_time": 20}, "fw_only", "settling_time",
     "longer than the training input"),
    ("settling_time-too-long-cartpole", {"input_signal": "cartpole", "layers": [4, 4, 1],
                                         "dataset_size": 1, "Tpres": 1, "settling_time": 1.5},
     "fw_only", "settling_time", None),
    ("random_seed-empty", {"random_seed": []}, "fw_only", "random_seed", "non-empty"),
    ("random_seed-int", {"random_seed": 56789}, "fw_only", "random_seed", None),
    ("random_seed-negative", {"random_seed": [1, -1]}, "fw_only", "random_seed", None),
    ("random_seed-too-big", {"random_seed": [2**32]}, "fw_only", "random_seed", "4294967295"),
    ("random_seed-float", {"random_seed": [56789.0]}, "fw_only", "random_seed", None),
    ("rec_per_steps-zero", {"rec_per_steps": 0}, "fw_only", "rec_per_steps", None),
    ("rec_MSE-string", {"rec_MSE": "yes"}, "fw_only", "rec_MSE", "true or false"),
    ("rec_MSE-int", {"rec_MSE": 1}, "fw_only", "rec_MSE", None),
    ("gl-negative", {"gl": -0.03}, "fw_only", "gl", None),
    ("errormc-time-constant", {"gl": 0, "gden": 0}, "fw_only", "gl", "gl+gden"),
    ("ann-time-constant", {"mc_model": "ann", "gl": 0, "gbas": 0}, "fw_only", "gl", "gl+gbas"),
    ("teacher-time-constant", {"mc_model": "ann", "teacher_mc_model": "sacramento2018", "gl": 0,
                               "gden": 0, "gnI": 0}, "fw_only", "gl", "sacramento2018"),
    ("sps-divides-by-gden", {"mc_model": "sacramento2018", "gden": 0}, "fw_only", "gden", "init_in_SPS"),
    ("WT_noise-negative", {"WT_noise": -0.5}, "fw_only", "WT_noise", None),
    ("slope_std-negative", {"activation_slope_std": -1}, "fw_only", "activation_slope_std", None),
    ("taur-zero", {"taur": 0}, "fw_only", "taur", None),
    ("tauLO-zero", {"tauLO": 0}, "fw_only", "tauLO", None),
    ("noise_type-bad", {"noise_type": "pink"}, "fw_only", "noise_type", None),
    ("noise_scale-negative", {"noise_scale": [-1]}, "fw_only", "noise_scale", None),
    ("nested-object", {"gapi": {"value": 0.06}}, "fw_only", "gapi", None),
    ("dPC-FA", {"mc_model": "dPC", "model_type": "FA"}, "fw_only", "model_type", "dPC"),
    ("dPC-FA-teacher", {"mc_model": "ann", "teacher_mc_model": "dPC", "model_type": "FA"}, "fw_only",
     "model_type", "teacher_mc_model"),
    ("realistic-layered", {"init_realistic_connectivity": True}, "fw_only",
     "init_realistic_connectivity", "skip"),
    ("realistic-sacramento", {"mc_model": "sacramento2018", "init_realistic_connectivity": True,
                              "fw_connection_mode": "skip", "bw_connection_mode": "skip"}, "fw_only",
     "init_realistic_connectivity", None),
    ("realistic-too-deep", {"layers": [9, 8, 7, 6, 5, 4, 3, 2, 1], "init_realistic_connectivity": True,
                            "fw_connection_mode": "skip", "bw_connection_mode": "skip"}, "fw_only",
     "init_realistic_connectivity", "at most 7"),
    ("fill_scaled-too-deep", {"layers": [9, 8, 7, 6, 5, 4, 3, 2, 1], "fw_connection_mode": "skip",
                              "eta_fw_conversion": "fill_scaled"}, "fw_only", "eta_fw_conversion", None),
    ("rec_rate_MSE-false-errormc", {"rec_rate_MSE": False}, "fw_only", "rec_rate_MSE", "rate target"),
    ("rec_rate_MSE-false-rate_target", {"mc_model": "sacramento2018", "rate_target": True,
                                        "rec_rate_MSE": False}, "fw_only", "rec_rate_MSE", None),
    ("rate_target-string", {"rate_target": "yes"}, "fw_only", "rate_target", None),
    ("errormc-FA-unequal-sizes", {"model_type": "FA", "error_layers": [0, 3, 2, 1]}, "fw_only",
     "error_layers", "docs/model.md §12.11"),
    ("errormc-fw_bw-OU", {"noise_type": "OU"}, "fw_bw", "noise_type", "crashes"),
    ("errormc-bw_only-OU", {"noise_type": "OU"}, "bw_only", "noise_type", None),
    ("cartpole-layers", {"input_signal": "cartpole", "layers": [4, 4, 2]}, "fw_only", "layers",
     "cartpole"),
    ("genMNIST-layers", {"input_signal": "genMNIST", "layers": [10, 50, 10], "settling_time": 1}, "fw_only", "layers",
     "784"),
    ("target_rescale_factor-zero", {"input_signal": "cartpole", "layers": [4, 4, 1],
                                    "target_rescale_factor": 0}, "fw_only", "target_rescale_factor", None),
    ("output-number", {"output": 3}, "fw_only", "output", None),
    ("specialize-unknown", {"specialize": "yes"}, "fw_only", "specialize", "always"),
]


@pytest.mark.parametrize("overrides, task, key, extra", [c[1:] for c in INVALID],
                         ids=[c[0] for c in INVALID])
def test_invalid_params_raise_with_key_in_message(tmp_path, overrides, task, key, extra):
    raw = dict(BASE)
    for k, v in overrides.items():
        if v is DELETE:
            raw.pop(k)
        else:
            raw[k] = v
    path = write(tmp_path, raw)
    with pytest.raises(ParamsError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore", ParamsWarning)
        load_params(path, task)
    msg = str(info.value)
    assert key in msg
    if extra is not None:
        assert extra in msg, msg
    assert isinstance(info.value, ValueError)


def test_invalid_cases_are_distinct_and_many():
    ids = [c[0] for c in INVALID]
    assert len(ids) == len(set(ids)) >= 20


def test_message_names_key_value_and_allowed():
    with pytest.raises(ParamsError) as info:
        validate({"mc_model": "ann", "layers": [8, 0]})
    assert str(info.value) == "layers: expected a list of at least 2 positive integers, got [8, 0]"
    assert info.value.key == "layers"


def test_close_match_suggestion():
    with pytest.raises(ParamsError, match=r"unknown key 'laers'; did you mean 'layers'\?"):
        validate({"mc_model": "ann", "layers": [2, 1], "laers": [2, 1]})
    with pytest.raises(ParamsError, match=r"did you mean 'init_WPP_range'"):
        validate({"mc_model": "ann", "layers": [2, 1], "init_WPP_rang": [0, 1]})
    with pytest.raises(ParamsError) as info:
        validate({"mc_model": "ann", "layers": [2, 1], "zzzzqqq": 1})
    assert "zzzzqqq" in str(info.value) and "did you mean" not in str(info.value)


def test_several_unknown_keys_are_all_reported():
    with pytest.raises(ParamsError) as info:
        validate({"mc_model": "ann", "layers": [2, 1], "epoch": 3, "setling_time": 1})
    msg = str(info.value)
    assert "'epoch'" in msg and "'epochs'" in msg and "'setling_time'" in msg and "'settling_time'" in msg


# ------------------------------------------------------------------------------------------------
# file errors
# ------------------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(ParamsError, match="no such file"):
        load_params(tmp_path / "nope.json")


def test_directory(tmp_path):
    with pytest.raises(ParamsError, match="is a directory"):
        load_params(tmp_path)


def test_bad_json_reports_line_and_column(tmp_path):
    path = tmp_path / "params.json"
    path.write_text('{\n  "mc_model": "ann",\n  "layers": [2, 1],,\n}\n')
    with pytest.raises(ParamsError, match=r"invalid JSON at line 3, column \d+"):
        load_params(path)


def test_empty_file(tmp_path):
    path = tmp_path / "params.json"
    path.write_text("")
    with pytest.raises(ParamsError, match="invalid JSON at line 1, column 1"):
        load_params(path)


@pytest.mark.parametrize("content", ["[1, 2]", '"params"', "3", "null"], ids=["list", "str", "int", "null"])
def test_top_level_not_an_object(tmp_path, content):
    path = tmp_path / "params.json"
    path.write_text(content)
    with pytest.raises(ParamsError, match="expected a JSON object"):
        load_params(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "params.json"
    path.write_bytes(b'{"mc_model": "ann", "layers": [2, 1], "output": "caf\xe9"}')
    with pytest.raises(ParamsError, match="UTF-8"):
        load_params(path)


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "params.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"mc_model": "ann", "layers": [2, 1]}).encode())
    assert load_params(path)["mc_model"] == "ann"


def test_duplicate_keys(tmp_path):
    path = tmp_path / "params.json"
    path.write_text('{"_comment": "a", "_comment": "b", "mc_model": "ann", "layers": [2, 1], '
                    '"dt": 0.01, "dt": 0.1}')
    with pytest.raises(ParamsError, match="dt: duplicate key"):
        load_params(path)


def test_validate_rejects_non_mapping():
    with pytest.raises(ParamsError, match="params: expected a JSON object"):
        validate([("mc_model", "ann")])


# ------------------------------------------------------------------------------------------------
# defaults
# ------------------------------------------------------------------------------------------------
DOCUMENTED_DEFAULTS = {
    "teacher_mc_model": None,
    "model_type": "BP",
    "dt": 0.01,
    "Tpres": 0.2,
    "settling_time": 20,
    "dataset_size": 100,
    "epochs": 1,
    "gl": 0.03,
    "gbas": 0.1,
    "gapi": 0.06,
    "gden": 0.1,
    "gnI": 0.06,
    "gntgt": 0.06,
    "activation": "tanh",
    "error_activation": "linear",
    "WT_noise": 0.0,
    "init_WPP_range": [-1, 1],
    "init_BPP_range": [-1, 1],
    "init_BII_range": [-1, 1],
    "init_WIP_range": [0, 0],
    "init_BPI_range": [0, 0],
    "input_signal": "step",
    "random_seed": [56789],
    "rec_per_steps": 1,
    "fw_connection_mode": "layered",
    "bw_connection_mode": "layered",
    "eta_fw_conversion": "fill_diag",
    "init_realistic_connectivity": False,
    "copy_teacher_weights": False,
    "copy_teacher_voltages": False,
    "noise_type": None,
}
PRESENCE_KEYS = ["rate_target", "target_rate", "rec_rate_MSE", "activation_slope_std",
                 "activation_offset_std", "activation_slope", "activation_offset", "taur",
                 "teacher_layers", "teacher_error_layers"]
EXPECTED_LATERAL = {"errormc": 3, "sacramento2018": 2, "dPC": 2, "ann": 3}


@pytest.mark.parametrize("model", MODELS)
def test_minimal_file_gets_documented_defaults(tmp_path, model):
    path = write(tmp_path, {"_comment": "minimal", "mc_model": model, "layers": [8, 4, 2, 1]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a minimal file must not warn
        p = load_params(path)
    assert list(p) == list(SCHEMA)
    assert "_comment" not in p
    for key, value in DOCUMENTED_DEFAULTS.items():
        assert p[key] == value, key
        assert type(p[key]) is type(value), key
    for key in PRESENCE_KEYS:
        assert p[key] is None, key
    for key in SCHEMA:
        if key.startswith("rec_") and key not in ("rec_per_steps", "rec_rate_MSE"):
            assert p[key] is (key == "rec_MSE"), key
    assert p["error_layers"] == [0, 4, 2, 1]
    assert p["eta_fw"] == [1.0, 1.0, 1.0]
    assert p["eta_IP"] == p["eta_PI"] == [0.0] * EXPECTED_LATERAL[model]
    assert p["alpha"] == [1e-06] * 3
    assert effective_teacher_model(p) == model
    assert teacher_init_range(p, "WPP") == [-1, 1]
    assert teacher_init_range(p, "BPI") == [0, 0]


def test_defaults_are_not_shared_between_calls():
    a = validate({"mc_model": "ann", "layers": [2, 1]})
    a["random_seed"].append(1)
    a["init_WPP_range"][0] = 5
    b = validate({"mc_model": "ann", "layers": [2, 1]})
    assert b["random_seed"] == [56789] and b["init_WPP_range"] == [-1, 1]


def test_values_kept_as_given_and_raw_not_mutated():
    raw = {"mc_model": "errormc", "layers": [4, 3, 1], "activation": "tanh", "gl": 1,
           "eta_fw": [1, 2], "fw_connection_mode": "skip", "_comment_x": "dropped"}
    before = json.loads(json.dumps(raw))
    p, msgs = collect(raw)
    assert raw == before
    assert p["activation"] == "tanh" and p["gl"] == 1 and type(p["gl"]) is int
    assert p["eta_fw"] == [1, 2] and p["eta_fw"] is not raw["eta_fw"]
    assert "_comment_x" not in p
    assert msgs == []


def test_derived_defaults_follow_layers_and_models():
    p = validate({"mc_model": "sacramento2018", "layers": [3, 2], "teacher_mc_model": "errormc"})
    assert p["error_layers"] == [0, 2]
    assert p["eta_fw"] == [1.0]
    assert p["eta_IP"] == [0.0]  # sacramento needs 0, the errormc teacher needs L-1 = 1
    assert effective_teacher_model(p) == "errormc"


# ------------------------------------------------------------------------------------------------
# valid special cases
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", GOLDEN, ids=[os.path.basename(os.path.dirname(g)) for g in GOLDEN])
def test_golden_params_validate_cleanly(path):
    with open(path) as fh:
        raw = json.load(fh)
    msgs = []
    p = load_params(path, "fw_only", warn=msgs.append)
    for key, value in raw.items():
        if not key.startswith("_comment"):
            assert p[key] == value, key
    if raw["mc_model"] == "dPC":  # the published code forces dPC students to linear, with a warning
        assert len(msgs) == 1 and msgs[0].startswith("activation:")
    else:
        assert msgs == []
    assert effective_rate_target(p) == (raw["mc_model"] in ("errormc", "ann"))


def test_golden_present():
    assert len(GOLDEN) == 4


def test_shared_golden_params_equal_the_fixtures():
    if not os.path.isdir(SHARED_GOLDEN):
        pytest.skip("no shared golden folder next to the checkout")
    for path in GOLDEN:
        case = os.path.basename(os.path.dirname(path))
        shared = os.path.join(SHARED_GOLDEN, case, "params.json")
        if os.path.exists(shared):
            with open(path, "rb") as a, open(shared, "rb") as b:
                assert json.load(a) == json.load(b), case


def test_eta_fw_matrix_allowed_for_errormc_skip():
    p, msgs = collect({"mc_model": "errormc", "layers": [4, 2, 1], "fw_connection_mode": "skip",
                       "eta_fw": [[1, 0], [0.5, 0.2]]})
    assert p["eta_fw"] == [[1, 0], [0.5, 0.2]] and msgs == []
    _, msgs = collect({"mc_model": "errormc", "layers": [4, 2, 1], "fw_connection_mode": "skip",
                       "eta_fw": [[1, 3], [0.5, 0.2]]})
    assert len(msgs) == 1 and msgs[0].startswith("eta_fw:")


def test_settling_time_equal_to_input_is_allowed():
    p = validate({"mc_model": "ann", "layers": [2, 1], "dataset_size": 10, "settling_time": 2})
    assert p["settling_time"] == 2
    with pytest.raises(ParamsError, match="settling_time"):
        validate({"mc_model": "ann", "layers": [2, 1], "dataset_size": 10, "settling_time": 2.02})


def test_genmnist_ignores_dataset_size_and_forces_task():
    raw = {"mc_model": "errormc", "layers": [10, 50, 784], "input_signal": "genMNIST", "dataset_size": 1,
           "settling_time": 1, "noise_type": "OU"}
    p = validate(raw, "fw_bw")  # the task is forced to fw_only_no_teacher, so no OU crash
    assert effective_task(p, "fw_bw") == "fw_only_no_teacher"
    with pytest.raises(ParamsError, match="settling_time"):
        validate(dict(raw, settling_time=2.5))


def test_errormc_fw_bw_without_OU_is_allowed():
    p = validate({"mc_model": "errormc", "layers": [2, 1]}, "fw_bw")
    assert p["noise_type"] is None
    validate({"mc_model": "sacramento2018", "layers": [2, 1], "noise_type": "OU"}, "fw_bw")


def test_errormc_FA_unequal_sizes_allowed_with_bw_skip():
    validate({"mc_model": "errormc", "layers": [4, 3, 1], "error_layers": [0, 2, 1], "model_type": "FA",
              "bw_connection_mode": "skip"})
    validate({"mc_model": "errormc", "layers": [4, 3, 1], "error_layers": [0, 2, 1], "model_type": "BP"})


def test_teacher_only_constraints_skipped_without_teacher():
    raw = {"mc_model": "sacramento2018", "teacher_mc_model": "errormc", "layers": [4, 3, 1],
           "eta_IP": [0.1]}
    with pytest.raises(ParamsError, match="eta_IP"):
        validate(raw, "fw_only")
    validate(raw, "bw_only")


def test_teacher_layers_valid():
    p = validate({"mc_model": "errormc", "layers": [4, 3, 1], "teacher_layers": [4, 8, 5, 1],
                  "teacher_error_layers": [0, 8, 5, 1], "teacher_mc_model": "errormc", "eta_IP": [0, 0, 0],
                  "eta_PI": [0, 0, 0]})
    assert p["teacher_layers"] == [4, 8, 5, 1]
    with pytest.raises(ParamsError, match="teacher_error_layers"):  # errormc teacher needs its sizes
        validate({"mc_model": "errormc", "layers": [4, 3, 1], "teacher_layers": [4, 8, 5, 1],
                  "teacher_mc_model": "errormc", "eta_IP": [0, 0, 0], "eta_PI": [0, 0, 0]})


def test_null_means_absent_for_presence_keys():
    p = validate({"mc_model": "ann", "layers": [2, 1], "taur": None, "rate_target": None,
                  "teacher_layers": None})
    assert p["taur"] is None and p["rate_target"] is None and p["teacher_layers"] is None
    with pytest.raises(ParamsError, match="dt"):
        validate({"mc_model": "ann", "layers": [2, 1], "dt": None})


def test_cartpole_minimal():
    p = validate({"mc_model": "errormc", "layers": [4, 4, 1], "input_signal": "cartpole",
                  "activation": ["tanh", "linear"]})
    assert p["target_rescale_factor"] == 76.6
    assert validate({"mc_model": "errormc", "layers": [4, 4, 1], "input_signal": "cartpole", "dt": 20,
                     "Tpres": 100, "settling_time": 100})["dt"] == 20
    with pytest.raises(ParamsError, match=r"dt: .*at most 20 for input_signal \"cartpole\".*got 25"):
        validate({"mc_model": "errormc", "layers": [4, 4, 1], "input_signal": "cartpole", "dt": 25,
                  "Tpres": 100, "settling_time": 100})


# ------------------------------------------------------------------------------------------------
# rate target and warnings
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model, extra, expected", [
    ("errormc", {}, True),
    ("ann", {}, True),
    ("sacramento2018", {}, False),
    ("dPC", {}, False),
    ("sacramento2018", {"rate_target": True}, True),
    ("errormc", {"rate_target": False}, False),
    ("sacramento2018", {"target_rate": True}, True),  # honoured (deviation from §12.4)
    ("errormc", {"target_rate": False}, False),
    ("errormc", {"target_rate": True, "rate_target": False}, False),
])
def test_effective_rate_target(model, extra, expected):
    p, _ = collect(dict({"mc_model": model, "layers": [2, 1]}, **extra))
    assert effective_rate_target(p) is expected


def test_effective_rate_target_for_other_model():
    p = validate({"mc_model": "sacramento2018", "layers": [2, 1], "teacher_mc_model": "ann"})
    assert effective_rate_target(p) is False
    assert effective_rate_target(p, "ann") is True


def test_rec_rate_MSE_allowed_combinations():
    validate({"mc_model": "sacramento2018", "layers": [2, 1], "rec_rate_MSE": False})
    validate({"mc_model": "sacramento2018", "layers": [2, 1], "rec_rate_MSE": True})
    validate({"mc_model": "errormc", "layers": [2, 1], "rec_rate_MSE": True})
    validate({"mc_model": "errormc", "layers": [2, 1], "rec_rate_MSE": False, "rate_target": False})


def test_warning_rate_target_and_target_rate_disagree():
    _, msgs = collect({"mc_model": "errormc", "layers": [2, 1], "rate_target": True, "target_rate": False})
    assert len(msgs) == 1 and "rate_target wins" in msgs[0] and msgs[0].startswith("target_rate:")
    _, msgs = collect({"mc_model": "errormc", "layers": [2, 1], "target_rate": False})
    assert msgs == []
    _, msgs = collect({"mc_model": "errormc", "layers": [2, 1], "target_rate": True})
    assert msgs == []


@pytest.mark.parametrize("model", ["sacramento2018", "dPC", "ann"])
def test_warning_skip_forced_to_layered(model):
    p, msgs = collect({"mc_model": model, "layers": [4, 2, 1], "fw_connection_mode": "skip",
                       "bw_connection_mode": "skip"})
    assert p["fw_connection_mode"] == "skip"  # value kept as given
    assert [m.split(":")[0] for m in msgs] == ["fw_connection_mode", "bw_connection_mode"]
    assert all("forced" in m for m in msgs)


def test_other_warnings():
    _, msgs = collect({"mc_model": "errormc", "layers": [2, 1], "rec_BPP": True, "rec_noise": True})
    assert sorted(m.split(":")[0] for m in msgs) == ["rec_BPP", "rec_noise"]
    _, msgs = collect({"mc_model": "dPC", "layers": [2, 1], "activation": ["linear"]})
    assert msgs == []
    _, msgs = collect({"mc_model": "ann", "layers": [2, 1], "Tpres": 0.3, "dt": 0.1, "settling_time": 0})
    assert len(msgs) == 1 and msgs[0].startswith("Tpres:") and "truncated to 2" in msgs[0]


def test_default_warn_uses_warnings_module():
    with pytest.warns(ParamsWarning, match="fw_connection_mode"):
        validate({"mc_model": "ann", "layers": [2, 1], "fw_connection_mode": "skip"})


def test_warning_points_at_caller(tmp_path):
    path = write(tmp_path, {"mc_model": "ann", "layers": [2, 1], "fw_connection_mode": "skip"})
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        load_params(path)
    assert len(rec) == 1 and rec[0].filename == __file__


# ------------------------------------------------------------------------------------------------
# schema and documentation
# ------------------------------------------------------------------------------------------------
REQUIRED_SCHEMA_KEYS = """
mc_model teacher_mc_model model_type layers error_layers teacher_layers teacher_error_layers dt Tpres
settling_time dataset_size epochs activation error_activation activation_slope activation_offset
activation_slope_std activation_offset_std gl gbas gapi gden gnI gntgt eta_fw eta_IP eta_PI eta_bw
eta_fw_conversion WT_noise init_WPP_range init_WIP_range init_BPI_range init_BPP_range init_BII_range
init_teacher_WPP_range init_teacher_WIP_range init_teacher_BPI_range init_teacher_BPP_range
init_teacher_BII_range init_WIP_identity init_BPI_identity init_realistic_connectivity fw_connection_mode
bw_connection_mode WPP_skip_connection_range BII_skip_connection_range init_in_SPS dWPP_use_activation
varphi_transfer rate_target rec_rate_MSE taur input_signal target_rescale_factor copy_teacher_weights
copy_teacher_voltages random_seed rec_per_steps dtxi tauHP tauLO tauxi noise_type noise_mode noise_scale
noise_deg alpha inter_low_pass pyr_hi_pass dWPP_low_pass dWPP_r_low_pass dWPP_post_low_pass
gate_regularizer target_rate activation_noise_std output varphi_regularizer
rec_MSE rec_error rec_input rec_target rec_WPP rec_WIP rec_BPP rec_BII rec_BPI rec_dWPP rec_dWIP rec_dBPP
rec_dBII rec_dBPI rec_uP rec_uP_breve rec_rP_breve rec_rP_breve_HI rec_uI rec_uI_breve rec_rI_breve
rec_vbas rec_vapi rec_vapi_noise rec_noise rec_epsilon rec_epsilon_LO rec_lat_mismatch
""".split()


def test_schema_covers_every_spec_key():
    missing = [k for k in REQUIRED_SCHEMA_KEYS if k not in SCHEMA]
    assert missing == []


def test_only_mc_model_and_layers_required():
    assert sorted(k for k, v in SCHEMA.items() if v.required) == ["layers", "mc_model"]


def test_every_key_has_doc_and_allowed():
    for name, k in SCHEMA.items():
        assert k.name == name
        assert k.doc.strip(), name
        assert k.allowed.strip(), name
        assert "\n" not in k.doc, name


def test_schema_defaults_validate_themselves():
    # every non-derived default passes its own key check (e.g. no default outside its allowed range)
    raw = {"mc_model": "errormc", "layers": [8, 4, 2, 1]}
    for name, k in SCHEMA.items():
        if not k.required and k.derive is None:
            raw[name] = k.default
    validate(raw)


def test_markdown_table():
    md = params_reference_markdown()
    lines = [ln for ln in md.splitlines() if ln.startswith("| `")]
    assert len(lines) == len(SCHEMA)
    for line, name in zip(lines, SCHEMA):
        assert line.startswith(f"| `{name}` |")
        assert line.count(" | ") == 3  # four columns, no unescaped pipe inside a cell
    assert md.startswith("| key | type | default | meaning / allowed |")
    assert "*required*" in md


def test_module_prints_markdown():
    out = subprocess.run([sys.executable, "-m", "numpy_model.params"], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == params_reference_markdown().strip()


def test_nan_parsed_from_json_is_rejected(tmp_path):
    path = tmp_path / "params.json"
    path.write_text('{"mc_model": "ann", "layers": [2, 1], "init_WPP_range": [-Infinity, 1]}')
    with pytest.raises(ParamsError, match="init_WPP_range"):
        load_params(path)
    assert math.isinf(json.loads('[-Infinity]')[0])  # json really produces infinities
