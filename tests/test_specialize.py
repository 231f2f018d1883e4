"""Size-specialised kernels (numpy_model/models/specialize.py, the `specialize` params key): the
same numbers bit for bit as the general kernel, the key's checks, when a run uses one, and the
activation switch (compiled.plain_code) both kernels take."""
import os
import sys

import numpy as np
import pytest

from numpy_model.models import MODELS, ann, compiled, errormc, specialize
from numpy_model.models.compiled import plain_code
from numpy_model.models.loops import same_dims
from numpy_model.state import Phase

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_numba import LONG, run  # noqa: E402

needs_numba = pytest.mark.skipif(compiled.numba_version() is None,
                                 reason="numba is not importable (pip install -e \".[fast]\")")
TRAIN = Phase(fw=True, lat=True)


# ------------------------------------------------------------------------ numbers, compiled
def raw_kind(name):
    from test_reference import build_params
    return build_params(name)[0]["mc_model"]


def _arrays(model):
    """Every recorded series, weight and state array of a saved network, flattened per name."""
    out = {}
    for k, v in vars(model).items():
        if k.endswith("_time_series") or k in ("WPP", "WIP", "BPI", "BII", "uP", "uI"):
            out[k] = v
    for k, v in model.state.items():
        if isinstance(v, (np.ndarray, tuple)):
            out["state " + k] = v
    return out


def _flat(v):
    if isinstance(v, (list, tuple)):
        parts = [_flat(e) for e in v if e is not None]
        return np.concatenate(parts) if parts else np.zeros(0)
    return np.asarray(v, float).ravel()


# three configurations in the default suite (each new net compiles a kernel of its own, 30-75 s on
# a cold cache): the Fig 3 net (tanh everywhere: the activation a constant switch), dPC with a sac
# teacher and ann with per-unit slopes (-1 switches); the rest, other models, layouts and options,
# in the slow step
SPECIALISED_DEFAULT = ("emc_skip_realistic_fill_scaled_8421", "dPC_BP_L4_etaPI_sac_teacher", "ann_BP_L5_slopes_noise")
SPECIALISED = sorted(SPECIALISED_DEFAULT + (
    "emc_layered_BP_L5_latrates_dWPPact_slopes", "sac_BP_L4_SPS_lat_dWPPact_2seeds",
    "emc_layered_FA_L4_varphi_off", "emc_skip_realistic_fill_scaled_L6_lat_dWPPact",
    "emc_layered_dWPP_low_pass_epochs1", "emc_layered_BP_L3_slope_offset_noise", "sac_FA_L3_noSPS_lat",
    "sac_BP_L5_noSPS_mixed_acts_noise", "dPC_BP_L3_noSPS_dWPPact", "ann_FA_L3_mixed"))


@needs_numba
@pytest.mark.parametrize("name", [n if n in SPECIALISED_DEFAULT else pytest.param(n, marks=pytest.mark.slow)
                                  for n in SPECIALISED])
def test_specialised_kernel_gives_the_general_kernels_numbers_bit_for_bit(name, monkeypatch):
    general, info, _ = run(name, "numba", specialize="never", **LONG)
    keys, kernel_key = [], specialize.kernel_key
    monkeypatch.setattr(specialize, "kernel_key", lambda *a: keys.append(kernel_key(*a)) or keys[-1])
    got, info_s, lines = run(name, "numba", specialize="always", **LONG)
    assert info["backend"] == info_s["backend"] == "numba"
    assert "compiled for this net's sizes" in lines[0], lines
    assert any(keys) and not all(keys), "training on the specialised kernel, the other phases on the general one"
    kind = raw_kind(name)
    assert any(len(sig[0]) for sig in MODELS[kind]._kernel_phase.signatures)
    for i, (a, b) in enumerate(zip(general, got)):
        A, B = _arrays(a), _arrays(b)
        assert A.keys() == B.keys()
        for k in A:
            x, y = _flat(A[k]), _flat(B[k])
            assert x.shape == y.shape and np.array_equal(x, y, equal_nan=True), f"model {i} {k}"
    # and so within rounding of the NumPy reference (the general kernel's test, tests/test_numba.py)
    ref, _, _ = run(name, "numpy", **LONG)
    for a, b in zip(ref, got):
        for k in ("WPP", "uP"):
            np.testing.assert_allclose(_flat(getattr(b, k)), _flat(getattr(a, k)), rtol=1e-12, atol=1e-12)


@needs_numba
def test_runner_specialize_option_overrides_the_key_and_says_so(tmp_path):
    import json
    from conftest import run_cli
    from test_reference import build_params
    raw, task = build_params(SPECIALISED_DEFAULT[0])
    raw.update(LONG, specialize="never")
    path = tmp_path / "params.json"
    path.write_text(json.dumps(raw))
    run = run_cli("--params", str(path), "--task", task, "--backend", "numba", "--specialize", "always")
    assert run.returncode == 0, run.stderr
    assert "compiled for this net's sizes" in run.stdout + run.stderr
    run = run_cli("--params", str(path), "--task", task, "--backend", "numba", "--fresh", "--force")
    assert run.returncode == 0, run.stderr
    assert "compiled for this net's sizes" not in run.stdout + run.stderr
    run = run_cli("--params", str(path), "--task", task, "--specialize", "sometimes")
    assert run.returncode != 0 and "--specialize" in run.stderr


@needs_numba
def test_compiled_same_dims_compares_with_the_keys_lengths():
    import numba
    compiled.jit_module(errormc)                # registers the compiled same_dims

    @numba.njit
    def check(K, dims):
        return same_dims(K, dims)

    K = specialize.size_key((2, 3, 0, -1, True))
    assert check(K, (2, 3, 0, -1, True))
    assert not check(K, (2, 4, 0, -1, True))
    assert not check(K, (3, 2, 0, -1, True))
    assert not check(K, (2, 3, 0, 0, True))      # a -1 switch is not 0
    assert not check(K, (2, 3, 0, -1, False))
    assert check((), (5, 6))                     # the general kernel: any sizes


def test_same_dims_in_python_is_the_same_comparison():
    K = specialize.size_key((2, 3, 0, -1))
    assert [len(k) for k in K] == [3, 4, 1, 0]
    assert same_dims(K, (2, 3, 0, -1)) and not same_dims(K, (2, 3, 1, -1)) and same_dims((), (1, 2))
    assert not same_dims(K, (2, 3, 0, 0))


def test_a_kernel_reporting_a_wrong_key_stops_the_run():
    specialize.check_ran(True)
    with pytest.raises(RuntimeError, match="internal error"):
        specialize.check_ran(False)


# --------------------------------------------------------------------------------- the key
class _C:
    def __init__(self, on):
        self.specialize = on


def test_kernel_key_only_for_marked_training_phases_of_small_sizes():
    calls = []

    def dims(values):
        return lambda: calls.append(1) or values

    assert specialize.kernel_key(_C(False), TRAIN, dims((3, 4))) == () and not calls
    assert specialize.kernel_key(_C(True), Phase(lat=True), dims((3, 4))) == () and not calls
    assert specialize.kernel_key(_C(True), TRAIN, dims((3, True, -1))) == ((0,) * 4, (0,) * 2, ())
    assert specialize.kernel_key(_C(True), TRAIN, dims((3, specialize.SPECIALIZE_MAX))) != ()
    assert specialize.kernel_key(_C(True), TRAIN, dims((3, specialize.SPECIALIZE_MAX + 1))) == ()
    assert specialize.kernel_key(_C(True), TRAIN, dims((3, -2))) == ()
    # memoised per dims: the same key object
    assert specialize.kernel_key(_C(True), TRAIN, dims((7, 1))) is specialize.kernel_key(_C(True), TRAIN,
                                                                                          dims((7, 1)))


# ------------------------------------------------------------------------------ the policy
def _ensemble(kind="errormc", layers=(4, 3, 2), backend="numba", storage="auto", monkeypatch=None):
    from numpy_model.ensemble import Ensemble
    from numpy_model.params import validate
    from numpy_model.run import build
    if monkeypatch is not None:
        monkeypatch.setenv("NUMPY_MODEL_WEIGHT_STORAGE", storage)
    raw = {"mc_model": kind, "layers": list(layers), "random_seed": [1, 2], "dataset_size": 2, "epochs": 1,
           "settling_time": 0.2}
    P = validate(raw, "fw_only", warn=lambda m: None)
    students, _, _ = build(P, "fw_only")
    return Ensemble.from_inits(students, P).vary(backend=backend)


def test_choose_follows_mode_work_backend_model_and_storage(monkeypatch):
    ens = _ensemble()
    assert not specialize.choose(ens, "never", 1e12).c.specialize
    assert specialize.choose(ens, "always", 0).c.specialize
    assert not specialize.choose(ens, "auto", specialize.SPECIALIZE_MIN_WORK - 1).c.specialize
    assert specialize.choose(ens, "auto", specialize.SPECIALIZE_MIN_WORK).c.specialize
    assert not specialize.choose(_ensemble(backend="numpy"), "always", 0).c.specialize
    for kind in ("ann", "dPC", "sacramento2018"):
        assert specialize.choose(_ensemble(kind), "always", 0).c.specialize
    monkeypatch.delattr(ann, "SIZE_SPECIALISED")
    assert not specialize.choose(_ensemble("ann"), "always", 0).c.specialize          # no size-keyed kernel
    blocks = _ensemble(storage="blocks", monkeypatch=monkeypatch)
    assert not specialize.choose(blocks, "always", 0).c.specialize     # per-block: bound by weights
    with pytest.raises(ValueError, match="specialize 'yes'"):
        specialize.choose(ens, "yes", 0)


# ------------------------------------------------------------------------- plain_code
def test_plain_code_is_the_code_only_when_every_unit_takes_it_plainly():
    codes, ones, zeros = np.full(3, 4), np.ones((2, 3)), np.zeros((2, 3))
    look, tanh1 = np.ones((2, 3), bool), np.ones((2, 3), bool)
    assert plain_code(codes, ones, zeros) == 4
    assert plain_code(codes, ones, zeros, tanh1, codes, look) == 4
    assert plain_code(np.zeros(3, int), ones, zeros, look=look) == 0
    assert plain_code(np.array([4, 4, 0]), ones, zeros) == -1                       # mixed phi
    slope = ones.copy()
    slope[1, 2] = 2.0
    assert plain_code(codes, slope, zeros) == -1                                     # a slope
    offset = zeros.copy()
    offset[0, 0] = 0.1
    assert plain_code(codes, ones, offset) == -1                                     # an offset
    assert plain_code(codes, ones, zeros, dcodes=np.array([4, 4, 0])) == -1          # another phi'
    part = look.copy()
    part[1, 0] = False
    assert plain_code(codes, ones, zeros, look=part) == -1                           # a rate of u
    t = tanh1.copy()
    t[0, 1] = False
    assert plain_code(codes, ones, zeros, tanh1=t) == -1                             # tanh, not 1 - phi^2
    assert plain_code(np.zeros(0, int), np.ones((2, 0)), np.zeros((2, 0))) == -1     # no units
