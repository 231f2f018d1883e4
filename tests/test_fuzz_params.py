"""Property-based tests (hypothesis): generated INVALID params files always give one clear ParamsError
naming the key or the file problem, never another exception; through the real CLI: exit code 2,
"error: ..." on stderr, no traceback, nothing written.

Categories: wrong JSON types for every schema key, wrong list shapes (lengths vs layers), out-of-range
numbers (negative, zero, NaN/Infinity tokens, huge), missing required keys, unknown keys, broken JSON,
wrong encodings, non-object top level. At least MIN_TOTAL generated inputs run (checked at the end).
"""
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from numpy_model.params import (ACTIVATIONS, MAX_ARRAY_VALUES, MAX_STEPS, SCHEMA, SEED_MAX, ParamsError,
                                load_params, validate)

MIN_TOTAL = 500
RUNS = Counter()                # generated inputs actually run, per test
FUZZ = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.filter_too_much])


def fuzz(n):
    """hypothesis settings: n generated examples, no deadline, no example database in the repo."""
    return settings(FUZZ, max_examples=n)
PER_KEY = 5                     # wrong-type examples per schema key (109 keys)

MODELS = ("errormc", "sacramento2018", "dPC", "ann")
BASES = {m: {"mc_model": m, "layers": [4, 3, 2]} for m in MODELS}
WORK = tempfile.mkdtemp(prefix="fuzz-params-")


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    for name in os.listdir(WORK):
        os.unlink(os.path.join(WORK, name))
    os.rmdir(WORK)


def test_bases_are_valid():
    for base in BASES.values():
        validate(base, warn=lambda msg: None)


# ------------------------------------------------------------------------------------------------
# writing files: values may be Raw tokens that json.dumps cannot produce (1e400, NaN, ...)
# ------------------------------------------------------------------------------------------------
class Raw:
    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return f"Raw({self.text})"


def dumps(obj):
    raws = []

    def enc(o):
        if isinstance(o, Raw):
            raws.append(o.text)
            return f"@@RAW{len(raws) - 1}@@"
        raise TypeError(type(o))

    text = json.dumps(obj, default=enc, allow_nan=True)
    for i, raw in enumerate(raws):
        text = text.replace(f'"@@RAW{i}@@"', raw)
    return text


def write(data):
    fd, path = tempfile.mkstemp(dir=WORK, suffix=".json")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def expect_error(data, name, key=None):
    """load_params(file with `data`) must raise ParamsError naming `key` (or the file, key=None)."""
    RUNS[name] += 1
    path = write(data)
    try:
        with pytest.raises(ParamsError) as info:
            load_params(path, warn=lambda msg: None)
    finally:
        os.unlink(path)
    msg = str(info.value)
    if key is None:
        assert f"params file {path!r}" in msg, msg
    else:
        assert key in msg, (key, msg)
    return msg


# ------------------------------------------------------------------------------------------------
# strategies
# ------------------------------------------------------------------------------------------------
small = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(-10, 10), st.text(max_size=5))
JSON_KINDS = {
    "null": st.none(),
    "bool": st.booleans(),
    "int": st.integers(-10**6, 10**6) | st.sampled_from([2**63, -2**63 - 1, 10**30]),
    "float": st.floats(allow_nan=False, allow_infinity=False),
    "str": st.text(max_size=12),
    "list": st.lists(small, max_size=4),
    "dict": st.dictionaries(st.text(max_size=4), small, max_size=3),
}
ACCEPTED = {"bool": {"bool"}, "int": {"int"}, "number": {"int", "float"}, "str": {"str"},
            "choice": {"str"}, "int_list": {"list"}, "number_list": {"list"}, "range": {"list"},
            "eta_fw": {"list"}, "seeds": {"list"}, "activation": {"str", "list"}}


def wrong_kind(key):
    k = SCHEMA[key]
    ok = set(ACCEPTED[k.kind])
    if k.nullable or (k.choices is not None and None in k.choices):
        ok.add("null")
    return st.one_of([s for kind, s in JSON_KINDS.items() if kind not in ok])


bases = st.sampled_from(MODELS).map(lambda m: dict(BASES[m]))


# ------------------------------------------------------------------------------------------------
# 1. wrong JSON type, for every schema key
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", list(SCHEMA))
@fuzz(PER_KEY)
@given(data=st.data())
def test_wrong_type_for_every_key(key, data):
    raw = data.draw(bases)
    raw[key] = data.draw(wrong_kind(key), label=key)
    expect_error(dumps(raw), "wrong_type", key)


# ------------------------------------------------------------------------------------------------
# 2. wrong shapes: list lengths that do not fit layers
# ------------------------------------------------------------------------------------------------
def other_length(n, lo=0, hi=7):
    return st.integers(lo, hi).filter(lambda m: m != n)


@st.composite
def wrong_shape(draw):
    model = draw(st.sampled_from(MODELS))
    layers = draw(st.lists(st.integers(1, 6), min_size=2, max_size=5))
    L, P = len(layers), len(layers) - 1
    raw = {"mc_model": model, "layers": layers}
    choices = ["error_layers", "teacher_error_layers", "activation", "error_activation", "activation_slope",
               "activation_offset", "eta_fw", "init_range", "teacher_layers", "random_seed", "layers"]
    if model == "errormc" or (model in ("sacramento2018", "dPC") and L >= 3):
        choices += ["eta_IP", "eta_PI"]
    what = draw(st.sampled_from(choices))
    rate = st.floats(0, 2)
    if what in ("error_layers", "teacher_error_layers"):
        n = draw(other_length(L, 1))
        raw[what] = [0] + draw(st.lists(st.integers(1, 6), min_size=n - 1, max_size=n - 1))
    elif what in ("activation", "error_activation"):
        n = draw(other_length(P, 1))
        raw[what] = draw(st.lists(st.sampled_from(ACTIVATIONS), min_size=n, max_size=n))
    elif what in ("activation_slope", "activation_offset"):
        n = draw(other_length(P))
        raw[what] = draw(st.lists(st.floats(-2, 2), min_size=n, max_size=n))
    elif what == "eta_fw":
        n = draw(other_length(P, 1))
        raw[what] = draw(st.lists(rate, min_size=n, max_size=n))
    elif what in ("eta_IP", "eta_PI"):
        need = L - 1 if model == "errormc" else L - 2
        raw[what] = draw(st.lists(rate, max_size=need - 1))
    elif what == "init_range":
        what = draw(st.sampled_from([k for k in SCHEMA if k.endswith("_range")]))
        n = draw(other_length(2))
        raw[what] = sorted(draw(st.lists(st.floats(-1, 1), min_size=n, max_size=n)))
    elif what == "teacher_layers":
        t = draw(st.lists(st.integers(1, 6), min_size=2, max_size=5))
        assume(t[0] != layers[0] or t[-1] != layers[-1])
        raw[what] = t
    elif what == "random_seed":
        raw[what] = []
    else:  # layers too short
        raw[what] = draw(st.lists(st.integers(1, 6), max_size=1))
    return raw, what


@fuzz(120)
@given(case=wrong_shape())
def test_wrong_shapes(case):
    raw, key = case
    expect_error(dumps(raw), "wrong_shape", key)


# ------------------------------------------------------------------------------------------------
# 3. out-of-range numbers: negative, zero, NaN/Infinity tokens, huge
# ------------------------------------------------------------------------------------------------
NONFINITE = st.sampled_from([Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e400"), Raw("-1e999")])
NUMBER_KEYS = [k for k, v in SCHEMA.items() if v.kind == "number"]
BOUNDED = [k for k in NUMBER_KEYS + [k for k, v in SCHEMA.items() if v.kind == "int"]
           if SCHEMA[k].minimum is not None]
LIST_KEYS = [k for k, v in SCHEMA.items() if v.kind in ("number_list", "range", "eta_fw")]


def below_minimum(key):
    k = SCHEMA[key]
    lo = k.minimum
    if k.kind == "int":
        return st.integers(max_value=int(lo) - 1).filter(lambda x: x >= -10**30) | st.just(-10**30)
    vals = st.floats(max_value=lo, allow_nan=False, allow_infinity=False, exclude_max=not k.exclusive_minimum)
    return vals | st.sampled_from([-1e300, -5e-324, lo - 1.0])


@st.composite
def out_of_range(draw):
    raw = draw(bases)
    how = draw(st.sampled_from(["nonfinite", "below", "list_entry", "seed", "huge", "tiny_dt", "lo_gt_hi"]))
    if how == "nonfinite":
        key = draw(st.sampled_from(NUMBER_KEYS))
        raw[key] = draw(NONFINITE)
    elif how == "below":
        key = draw(st.sampled_from(BOUNDED))
        raw[key] = draw(below_minimum(key))
    elif how == "list_entry":                         # NaN/inf or (for bounded lists) negative entries
        key = draw(st.sampled_from(LIST_KEYS))
        n = len(raw["layers"]) - 1 if SCHEMA[key].kind in ("eta_fw", "number_list") else 2
        vals = [0.0] * n
        bounded = SCHEMA[key].kind == "eta_fw" or SCHEMA[key].minimum is not None
        negative = st.floats(max_value=-1e-9, allow_infinity=False)
        bad = draw(NONFINITE | negative) if bounded else draw(NONFINITE)
        vals[draw(st.integers(0, n - 1))] = bad
        raw[key] = vals
    elif how == "seed":
        key = "random_seed"
        raw[key] = [draw(st.integers(max_value=-1) | st.integers(min_value=SEED_MAX + 1)
                         | st.floats(allow_nan=False).filter(lambda x: not x.is_integer()))]
    elif how == "huge":                               # valid types, sizes no run can have
        key = draw(st.sampled_from(["dataset_size", "epochs", "layers", "Tpres"]))
        if key == "dataset_size":
            raw[key] = draw(st.integers(10**11, 10**40))
        elif key == "epochs":
            raw[key] = draw(st.integers(MAX_STEPS, 10**40))
        elif key == "layers":
            big = draw(st.integers(MAX_ARRAY_VALUES, 10**30))
            raw[key][draw(st.integers(0, len(raw[key]) - 1))] = big
        else:
            raw[key] = draw(st.floats(1e11, 1e308))
    elif how == "tiny_dt":                            # Tpres/dt overflows the step count
        key = "dt"
        raw[key] = draw(st.floats(5e-324, 1e-14))
    else:
        key = draw(st.sampled_from([k for k, v in SCHEMA.items() if v.kind == "range"]))
        lo = draw(st.floats(-1e6, 1e6))
        raw[key] = [lo, lo - draw(st.floats(1e-3, 1e6))]
    return raw, key


@fuzz(150)
@given(case=out_of_range())
def test_out_of_range_numbers(case):
    raw, key = case
    expect_error(dumps(raw), "out_of_range", key)


# ------------------------------------------------------------------------------------------------
# 4. missing required keys, 5. unknown keys
# ------------------------------------------------------------------------------------------------
@fuzz(30)
@given(raw=bases, drop=st.sampled_from([("mc_model",), ("layers",), ("mc_model", "layers")]),
       extra=st.sets(st.sampled_from([("epochs", 3), ("dt", 0.02), ("rec_MSE", False), ("model_type", "FA"),
                                      ("_comment", "x")])))
def test_missing_required_keys(raw, drop, extra):
    raw = {k: v for k, v in raw.items() if k not in drop}
    raw.update(dict(extra))
    msg = expect_error(dumps(raw), "missing", drop[0])
    assert "required" in msg


identifier = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,24}", fullmatch=True)
unknown_key = (identifier | st.text(min_size=1, max_size=12)).filter(
    lambda k: k not in SCHEMA and not k.startswith("_comment"))


@fuzz(80)
@given(raw=bases, keys=st.lists(unknown_key, min_size=1, max_size=3, unique=True), value=small)
def test_unknown_keys(raw, keys, value):
    for k in keys:
        raw[k] = value
    msg = expect_error(dumps(raw), "unknown", repr(keys[0]))
    assert msg.startswith("unknown key")
    assert all(repr(k) in msg for k in keys)


# ------------------------------------------------------------------------------------------------
# 6. broken JSON, 7. wrong encodings, 8. non-object top level
# ------------------------------------------------------------------------------------------------
valid_text = bases.map(lambda raw: json.dumps({**raw, "epochs": 2, "_comment": "a run"}, indent=1))


@st.composite
def broken_json(draw):
    text = draw(valid_text)
    how = draw(st.sampled_from(["truncate", "trailing_comma", "python", "quotes", "comment", "garbage",
                                "empty", "equals", "deep", "bigint", "duplicate"]))
    if how == "truncate":
        return text[:draw(st.integers(0, len(text) - 1))]
    if how == "trailing_comma":
        return text[:-1].rstrip() + ",\n}"
    if how == "python":
        return text.replace('"a run"', draw(st.sampled_from(["True", "None", "'x'", "nan", "inf"])))
    if how == "quotes":
        return text.replace('"', "'")
    if how == "comment":
        return "// params\n" + text
    if how == "garbage":
        return text + draw(st.text(min_size=1, max_size=5).filter(lambda s: s.strip()))
    if how == "empty":
        return draw(st.sampled_from(["", " ", "\n\t "]))
    if how == "equals":
        return text.replace(":", "=", 1)
    if how == "deep":                                  # deeper than the JSON parser's recursion limit
        n = draw(st.integers(5000, 50000))
        return text[:-1] + ', "output": ' + "[" * n + "]" * n + "}"
    if how == "bigint":                                # longer than Python's int/str conversion limit
        return text.replace('"epochs": 2', '"epochs": ' + "9" * draw(st.integers(4301, 6000)))
    return text[:-1] + ', "epochs": 3}'                # duplicate key


@fuzz(100)
@given(text=broken_json())
def test_broken_json(text):
    expect_error(text, "broken_json", key="epochs" if "epochs\": 3}" in text else None)


@fuzz(40)
@given(data=st.binary(max_size=200))
def test_random_bytes(data):
    try:                                               # random bytes that happen to be valid JSON objects
        assume(not isinstance(json.loads(data.decode("utf-8-sig")), dict))
    except (ValueError, RecursionError):
        pass
    expect_error(data, "random_bytes")


@st.composite
def wrongly_encoded(draw):
    raw = draw(bases)
    raw["_comment"] = draw(st.text(st.characters(min_codepoint=0x80, max_codepoint=0x2FFF), min_size=1,
                                   max_size=8))
    text = json.dumps(raw, ensure_ascii=False)
    enc = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "bom+utf-16",
                                "latin-1"]))
    if enc == "bom+utf-16":
        data = b"\xef\xbb\xbf" + text.encode("utf-16-le")
    elif enc == "latin-1":
        chars = draw(st.text(st.characters(min_codepoint=0xA0, max_codepoint=0xFF), min_size=1, max_size=8))
        raw["_comment"] = chars
        data = json.dumps(raw, ensure_ascii=False).encode("latin-1")
    else:
        data = text.encode(enc)
    try:
        data.decode("utf-8-sig")
        assume("\x00" in data.decode("utf-8-sig"))     # decodable: only if it has NUL bytes (UTF-16/32)
    except UnicodeDecodeError:
        pass
    return data


@fuzz(60)
@given(data=wrongly_encoded())
def test_wrong_encodings(data):
    msg = expect_error(data, "encoding")
    assert "UTF-8" in msg


json_values = st.recursive(small, lambda inner: st.lists(inner, max_size=3), max_leaves=8)


@fuzz(40)
@given(value=json_values)
def test_non_object_top_level(value):
    msg = expect_error(dumps(value), "non_object")
    assert "JSON object" in msg


# ------------------------------------------------------------------------------------------------
# the real CLI on a sample of all categories
# ------------------------------------------------------------------------------------------------
def _as_text(case):
    raw, _key = case
    return dumps(raw)


any_invalid = st.one_of(
    st.sampled_from(list(SCHEMA)).flatmap(lambda k: st.tuples(bases, wrong_kind(k), st.just(k))).map(
        lambda t: dumps({**t[0], t[2]: t[1]})),
    wrong_shape().map(_as_text),
    out_of_range().map(_as_text),
    broken_json(),
    wrongly_encoded(),
    st.lists(unknown_key, min_size=1, max_size=2).map(
        lambda ks: dumps({**BASES["ann"], **{k: 1 for k in ks}})),
    json_values.map(dumps),
)
ENV = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": ROOT}


@fuzz(40)
@given(data=any_invalid)
def test_cli_exit_code_2_no_traceback_nothing_written(data):
    RUNS["cli"] += 1
    with tempfile.TemporaryDirectory(dir=WORK) as d:
        path = os.path.join(d, "params.json")
        with open(path, "wb") as fh:
            fh.write(data if isinstance(data, bytes) else data.encode("utf-8"))
        res = subprocess.run([sys.executable, os.path.join(ROOT, "runner.py"), "--params", path],
                             capture_output=True, text=True, errors="replace", env=ENV, cwd=d, timeout=60)
        assert res.returncode == 2, res.stderr
        lines = res.stderr.splitlines()
        assert "Traceback" not in res.stderr and lines and lines[-1].startswith("error: "), res.stderr
        assert all(line.startswith(("error: ", "warning: ")) for line in lines), res.stderr
        assert res.stdout == ""
        assert os.listdir(d) == ["params.json"]


def test_at_least_min_total_generated_inputs_ran():
    expected = {"wrong_type", "wrong_shape", "out_of_range", "missing", "unknown", "broken_json",
                "random_bytes", "encoding", "non_object", "cli"}
    if not expected <= set(RUNS):
        pytest.skip("only part of the module ran")
    assert sum(RUNS.values()) >= MIN_TOTAL, RUNS
    print(f"generated invalid inputs run: {sum(RUNS.values())} {dict(RUNS)}")


# ------------------------------------------------------------------------------------------------
# regressions: inputs the fuzzing found that used to raise something other than ParamsError
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, key", [
    ('{"mc_model": "ann", "layers": [2, 1], "dt": 5e-324}', "dt"),               # OverflowError (int(inf))
    ('{"mc_model": "ann", "layers": [2, 1], "settling_time": 1e300, "dt": 1e-10}', "settling_time"),
    ('{"mc_model": "ann", "layers": [2, 1], "epochs": ' + "9" * 4301 + "}", None),  # ValueError (int limit)
    ('{"mc_model": "ann", "layers": ' + "[" * 20000 + "]" * 20000 + "}", None),  # RecursionError
    ('{"mc_model": "ann", "layers": [2, 1000000000000]}', "layers"),             # MemoryError in the run
    ('{"mc_model": "ann", "layers": [2, 1], "dataset_size": 1000000000000}', "dataset_size"),
    ('{"mc_model": "ann", "layers": [2, 1], "Tpres": 1e300}', "Tpres"),         # OverflowError in the run
    ('{"mc_model": "ann", "layers": [2, 1], "epochs": 100000000000000000000}', "epochs"),
])
def test_regressions(text, key):
    expect_error(text, "regression", key)


def test_utf16_without_bom_is_reported_as_an_encoding_problem():
    msg = expect_error('{"mc_model": "ann", "layers": [2, 1]}'.encode("utf-16-le"), "regression")
    assert "UTF-8" in msg and "NUL" in msg
