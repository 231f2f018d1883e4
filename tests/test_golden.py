"""Same params and seeds as the published implementation give the same numbers
(golden outputs in tests/fixtures/golden, copied from ../shared/golden)."""
import json
import os
import shutil

import dill
import numpy as np
import pytest

from conftest import GOLDEN, GOLDEN_CASES, run_cli
from numpy_model.models import compiled

pytestmark = pytest.mark.usefixtures("weight_storage")   # auto and per-block storage (conftest)

RTOL, ATOL = 1e-9, 1e-12


def ours(models, key, compared=False):
    """Our value for a golden key, or None where the key is not part of this kind of run."""
    parts = key.split("/")
    if parts[0] == "init" or ("angle" in key and not compared) or (parts[0] == "posttrain" and compared):
        return None
    if parts[0] in ("final", "posttrain"):
        _, m, name, lay = parts
        return np.asarray(getattr(models[int(m[1:])], name)[int(lay[1:])], dtype=float)
    obj = models[int(parts[0][1:])]
    value = getattr(obj, parts[1])
    if len(parts) == 3:
        return np.array([np.asarray(step[int(parts[2][1:])], dtype=float) for step in value])
    return np.asarray(np.array([np.asarray(v, dtype=float) for v in value]) if isinstance(value, list)
                      else value, dtype=float)


NUMBA = pytest.param("numba", marks=pytest.mark.skipif(compiled.numba_version() is None,
                                                       reason="numba is not importable"))


@pytest.mark.parametrize("backend", ["numpy", NUMBA])
@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_golden_case_matches_published_numbers(case, backend, tmp_path):
    """Both backends (models without a compiled kernel run on numpy under --backend numba)."""
    src = os.path.join(GOLDEN, case)
    shutil.copy(os.path.join(src, "params.json"), tmp_path / "params.json")
    run = run_cli("--params", str(tmp_path / "params.json"), "--task", "fw_only", "--quiet",
                  "--backend", backend)
    assert run.returncode == 0, run.stderr
    with open(tmp_path / "model.pkl", "rb") as fh:
        models = dill.load(fh)
    gold = np.load(os.path.join(src, "golden.npz"))
    has_posttrain = any(k.startswith("posttrain/") for k in gold.keys())
    compared, bad = 0, []
    for key in sorted(gold.keys()):
        if key.startswith("final/") and has_posttrain:
            continue   # with --compare, final/ is after the comparison pass
        value = ours(models, key)
        if value is None:
            continue
        ref = gold[key]
        compared += 1
        if value.shape != ref.shape:
            bad.append(f"{key}: shape {value.shape} != {ref.shape}")
        elif not np.allclose(value, ref, rtol=RTOL, atol=ATOL, equal_nan=True):
            bad.append(f"{key}: max abs dev {np.max(np.abs(value - ref)):.3e}")
    assert not bad, bad[:10]
    assert compared >= 60


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_initial_state_matches_published_draws(case):
    """init/ keys: the first draw (voltages, weights, BP noise) in the published RNG order."""
    from numpy_model.circuit.init import apply_sps, draw_network
    from numpy_model.params import validate
    from numpy_model.run import build

    with open(os.path.join(GOLDEN, case, "params.json")) as fh:
        P = validate(json.load(fh), "fw_only", warn=lambda msg: None)
    students, teacher, t_seed = build(P, "fw_only")
    gold = np.load(os.path.join(GOLDEN, case, "golden.npz"))
    assert t_seed == 123055
    for m, net in (("m0", teacher), ("m1", students[0])):
        for name in ("WPP", "WIP", "BPI", "BPP", "BII", "uP", "uI"):
            k = 0
            while f"init/{m}/{name}/L{k}" in gold:
                ref = gold[f"init/{m}/{name}/L{k}"]
                got = np.asarray(getattr(net, name)[k])
                # raw draws are bit-identical; matrix products (dPC's BPI, SPS) may differ in
                # the last bit between BLAS builds
                np.testing.assert_allclose(got, ref, rtol=1e-14, atol=1e-15, err_msg=f"{m}/{name}/L{k}")
                k += 1


COMPARE_CASES = [c for c in GOLDEN_CASES
                 if any(k.startswith("posttrain/") for k in np.load(os.path.join(GOLDEN, c, "golden.npz")).keys())]


def compare_with_golden(models, case, compared):
    gold = np.load(os.path.join(GOLDEN, case, "golden.npz"))
    has_posttrain = any(k.startswith("posttrain/") for k in gold.keys())
    compared_keys, bad = 0, []
    for key in sorted(gold.keys()):
        if key.startswith("final/") and has_posttrain and not compared:
            continue
        value = ours(models, key, compared)
        if value is None:
            continue
        ref = gold[key]
        compared_keys += 1
        atol = 1e-5 if "angle" in key else ATOL   # degrees: arccos is ill-conditioned near 0
        if value.shape != ref.shape:
            bad.append(f"{key}: shape {value.shape} != {ref.shape}")
        elif not np.allclose(value, ref, rtol=RTOL, atol=atol, equal_nan=True):
            bad.append(f"{key}: max abs dev {np.nanmax(np.abs(value - ref)):.3e}")
    return compared_keys, bad


@pytest.mark.parametrize("case", COMPARE_CASES)
def test_golden_compare_BP(case, tmp_path):
    """--compare BP: every golden array incl. the angle series and the state after the
    comparison pass (final/)."""
    shutil.copy(os.path.join(GOLDEN, case, "params.json"), tmp_path / "params.json")
    run = run_cli("--params", str(tmp_path / "params.json"), "--task", "fw_only", "--compare", "BP", "--quiet")
    assert run.returncode == 0, run.stderr
    with open(tmp_path / "model.pkl", "rb") as fh:
        models = dill.load(fh)
    n, bad = compare_with_golden(models, case, compared=True)
    assert not bad, bad[:10]
    assert n >= 80
    assert any("angle" in k for k in np.load(os.path.join(GOLDEN, case, "golden.npz")).keys())


@pytest.mark.parametrize("case", COMPARE_CASES)
def test_load_then_compare_equals_compare_in_run(case, tmp_path):
    """--load model.pkl --compare BP recomputes the comparison without simulating and gives
    the golden numbers too."""
    shutil.copy(os.path.join(GOLDEN, case, "params.json"), tmp_path / "params.json")
    assert run_cli("--params", str(tmp_path / "params.json"), "--quiet").returncode == 0
    os.replace(tmp_path / "model.pkl", tmp_path / "plain.pkl")
    run = run_cli("--params", str(tmp_path / "params.json"), "--load", str(tmp_path / "plain.pkl"),
                  "--compare", "BP", "--quiet")
    assert run.returncode == 0, run.stderr
    with open(tmp_path / "model.pkl", "rb") as fh:
        models = dill.load(fh)
    n, bad = compare_with_golden(models, case, compared=True)
    assert not bad, bad[:10]
