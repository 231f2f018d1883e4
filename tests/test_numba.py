"""The numba backend (numpy_model/models/compiled.py and the `_kernel_*` of each model module)
against the NumPy reference step: the errormc, sacramento2018, dPC and ann configurations of the
reference-oracle suite over >= 2000 steps, the golden cases and an exact resume on numba, backend selection and fallback."""
import json
import os
import shutil
import subprocess
import sys

import dill
import numpy as np
import pytest

from conftest import GOLDEN, ROOT, run_cli
from numpy_model.models import compiled
from numpy_model.params import validate
from numpy_model.run import simulate

pytestmark = pytest.mark.skipif(compiled.numba_version() is None,
                                reason="numba is not importable (pip install -e \".[fast]\")")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_reference import CONFIGS, build_params  # noqa: E402

RTOL = 1e-12
# every errormc configuration of the reference-oracle suite; longer: 20 steps per sample,
# 10 samples, 10 epochs (2000 training steps + settling + validation and test passes)
EMC = sorted(n for n in CONFIGS if n.startswith("emc"))
LONG = dict(Tpres=0.2, dataset_size=10, epochs=10, rec_per_steps=50)
# every ann configuration of the reference-oracle suite, as long
ANN = sorted(n for n in CONFIGS if n.startswith("ann"))
SAC = sorted(n for n in CONFIGS if n.startswith("sac"))
DPC = sorted(n for n in CONFIGS if n.startswith("dPC"))


def _flat(v):
    out = []

    def rec(z):
        if z is None:
            return
        if isinstance(z, (list, tuple)):
            for e in z:
                rec(e)
        else:
            out.append(np.asarray(z, float).ravel())
    rec(v)
    return np.concatenate(out) if out else np.zeros(0)


def assert_close(a, b, what, terms=None):
    """rtol 1e-12, with an absolute floor of 1e-12 times the variable's scale (at least 1e-2):
    error signals of a converged net are rounding noise (1e-15), where the two backends' last
    bits differ (1-ulp libm functions, summation order). `terms`: the values a variable is a
    cancelling sum of; their scale counts too (its rounding is theirs)."""
    x, y = _flat(a), _flat(b)
    assert x.shape == y.shape, what
    assert np.array_equal(np.isnan(x), np.isnan(y)), what
    ok = np.isfinite(x)
    scale = max(np.max(np.abs(x[ok]), initial=0.0), 1e-2)
    if terms is not None:
        t = _flat(terms)
        scale = max(scale, np.max(np.abs(t[np.isfinite(t)]), initial=0.0))
    np.testing.assert_allclose(y[ok], x[ok], rtol=RTOL, atol=RTOL * scale, err_msg=what)


def run(name, backend, **over):
    raw, task = build_params(name)
    raw.update(over)
    P = validate(raw, task, warn=lambda m: None)
    P["backend"] = backend
    info, lines = {}, []
    return simulate(P, task, log=lines.append, info=info), info, lines


# sacramento2018/dPC: v_api = B_PP r_P + B_PI r_I and lat_mismatch = u_breve_I - c v_bas vanish in
# the self-predicting state: their rounding is that of their terms (rates, lookahead voltages)
CANCELLING = {"vapi_time_series": "rP_breve_time_series", "lat_mismatch_time_series": "uI_breve_time_series"}
CANCELLING_STATE = {"vapi": "r_full", "vapi_prev": "r_full_prev"}


def compare_models(ref, got):
    assert len(ref) == len(got)
    for i, (a, b) in enumerate(zip(ref, got)):
        names = [k for k in vars(a) if k.endswith("_time_series")]
        names += [k for k in ("WPP", "WIP", "BPI", "BII", "uP", "uI", "uP_breve", "rP_breve") if k in vars(a)]
        for k in names:
            assert_close(getattr(a, k), getattr(b, k), f"model {i} {k}", getattr(a, CANCELLING.get(k, ""), None))
        if not getattr(a, "is_teacher", False):
            for k, v in a.state.items():
                if isinstance(v, (np.ndarray, tuple)):
                    assert_close(v, b.state[k], f"model {i} state {k}", a.state.get(CANCELLING_STATE.get(k)))


@pytest.mark.parametrize("name", EMC)
def test_numba_matches_numpy_errormc(name):
    ref, info_ref, _ = run(name, "numpy", **LONG)
    got, info, lines = run(name, "numba", **LONG)
    assert info_ref["backend"] == "numpy"
    assert info["backend"] == "numba" and not any(line.startswith("warning:") for line in lines)
    compare_models(ref, got)


# per-block storage compiles one kernel per number of stored blocks (~20 s each on a cold cache):
# three layouts in the default suite, every configuration in the slow step
PER_BLOCK_DEFAULT = ("emc_layered_BP_L4_errlayers_differ", "emc_fw_layered_bw_skip", "emc_skip_FA_fill_all_L4")


@pytest.mark.parametrize("name", [n if n in PER_BLOCK_DEFAULT else pytest.param(n, marks=pytest.mark.slow)
                                  for n in EMC])
def test_numba_matches_numpy_errormc_per_block(name, monkeypatch):
    """The same with every weight matrix stored per block (the layout of the Fig 4/5 nets): the
    compiled per-block kernel against NumPy's per-block step."""
    from numpy_model.models.kernels import STORAGE_ENV
    monkeypatch.setenv(STORAGE_ENV, "blocks")
    test_numba_matches_numpy_errormc(name)


def _compiled(kind):
    from numpy_model.models import MODELS
    return hasattr(MODELS[kind], "compiled_phase")


def check_backends(name, info_ref, info, lines):
    """The students run compiled; a teacher of a model without a kernel falls back with one warning."""
    assert info_ref["backend"] == "numpy"
    teacher = CONFIGS[name].get("teacher_mc_model")
    warn = [line for line in lines if line.startswith("warning:")]
    if teacher is None or _compiled(teacher):
        assert info["backend"] == "numba" and not warn, (info, warn)
    else:
        assert info["backend"] == "numba (teacher numpy)", info
        assert len(warn) == 1 and f"teacher ({teacher}) runs on numpy" in warn[0], warn


@pytest.mark.parametrize("name", ANN + SAC + DPC)
def test_numba_matches_numpy_ann_sacramento2018_dpc(name):
    ref, info_ref, _ = run(name, "numpy", **LONG)
    got, info, lines = run(name, "numba", **LONG)
    check_backends(name, info_ref, info, lines)
    compare_models(ref, got)


# a 16-unit layer between 3 and 2 units: W_PP rows (the output's) and B_PP rows (the first
# layer's) of 16 entries take the view branch of the span loops (loops.SPAN_VIEW), the others
# the short one; BP (transposed refresh) and FA
WIDE = [(name, mt) for name in ("ann_BP_L4_2seeds", "sac_BP_L4_SPS_lat_dWPPact_2seeds") for mt in ("BP", "FA")]
WIDE += [("dPC_BP_L4_etaPI_sac_teacher", "BP")]               # dPC has no FA (docs/model.md §12.12)


# The kernels write the dW arrays only on a step whose dW is read (loops._k_dw_kept): a monitor
# record, a --compare BP capture or the last step of the call. A training phase of 23 steps with a
# record every 10 ends on a step no record reads: the state handed back must still hold its dW.
@pytest.mark.parametrize("kind", ["ann", "sacramento2018", "dPC", "errormc"])
def test_a_phase_hands_back_the_dw_of_its_last_step(kind):
    from numpy_model.ensemble import Ensemble
    from numpy_model.protocol import make_monitor, run_phase
    from numpy_model.run import build
    from numpy_model.state import Phase
    raw = {"mc_model": kind, "layers": [4, 3, 2], "random_seed": [1, 2], "dataset_size": 2, "epochs": 1,
           "settling_time": 0.2, "rec_per_steps": 10, "rec_dWPP": True, "eta_IP": [0.1, 0.1], "eta_PI": [0.1, 0.1]}
    if kind in ("sacramento2018", "dPC"):
        raw["init_in_SPS"] = False          # else the lateral rules start (and stay) at 0
    P = validate(raw, "fw_only", warn=lambda m: None)
    rng = np.random.RandomState(0)
    X, Y = rng.uniform(0, 1, (2, 23, 4)), rng.uniform(-0.5, 0.5, (2, 23, 2))
    out = {}
    for backend in ("numpy", "numba"):
        ens, _ = compiled.choose(Ensemble.from_inits(build(P, "fw_only")[0], P), backend, "test")
        assert ens.c.backend == backend
        mon = make_monitor(ens, P, 23, rate_target=ens.rate_target)
        run_phase(ens, mon, X, Y, True, Phase(fw=True, lat=True))
        out[backend] = {k: getattr(ens.state, k) for k in ("dWPP", "dWIP", "dBPI")
                        if getattr(ens.state, k, None) is not None}
    assert out["numpy"].keys() == out["numba"].keys()
    big = [k for k, ref in out["numpy"].items() if np.abs(_flat(ref)).max() > 1e-6]
    assert "dWPP" in big, "dW_PP of the last step is ~0: nothing to check"
    for k, ref in out["numpy"].items():
        x, y = _flat(ref), _flat(out["numba"][k])
        np.testing.assert_allclose(y, x, rtol=RTOL, atol=RTOL * max(np.abs(x).max(), 1e-2), err_msg=k)


@pytest.mark.parametrize("name,model_type", WIDE)
def test_numba_matches_numpy_on_rows_of_both_span_loop_branches(name, model_type):
    from numpy_model.ensemble import Ensemble
    from numpy_model.models.loops import SPAN_VIEW
    from numpy_model.run import build
    over = dict(LONG, layers=[4, 3, 16, 2], model_type=model_type)
    raw, task = build_params(name)
    P = validate(dict(raw, **over), task, warn=lambda m: None)
    C = Ensemble.from_inits(build(P, task)[0], P).c
    for blocks in (C.WPP, C.B):
        lengths = np.diff(blocks.row_spans(), axis=1)
        assert lengths.max() >= SPAN_VIEW > lengths[lengths > 0].min()
    ref, info_ref, _ = run(name, "numpy", **over)
    got, info, lines = run(name, "numba", **over)
    check_backends(name, info_ref, info, lines)
    compare_models(ref, got)


def test_divergence_found_by_the_compiled_check():
    """Seeds driven to NaN and to runaway are reported at the same step, with the same message,
    by both backends' checks; the third seed runs on unaffected."""
    from numpy_model.protocol import DivergenceWatch, make_monitor, run_phase
    from numpy_model.run import _ensemble, build
    from numpy_model.state import Phase
    raw, task = build_params("emc_skip_realistic_fill_scaled_8421")
    raw.update(random_seed=[1, 2, 3])
    P = validate(raw, task, warn=lambda m: None)
    found, states = {}, {}
    for backend in ("numpy", "numba"):
        students, _, _ = build(P, task)
        ens = _ensemble(students, P).vary(backend=backend)
        ens.state.u[0, 2] = np.nan
        ens.state.WPP[0][1, 0, 3] = 2e6
        rng = np.random.RandomState(0)
        X, Y = rng.uniform(0, 1, (3, 120, 8)), rng.uniform(0, 1, (3, 120, 1))
        watch = DivergenceWatch(ens.seeds)
        watch.where = ("training", 0)
        with np.errstate(all="ignore"):
            run_phase(ens, make_monitor(ens, P, 200), X, Y, True, Phase(fw=True, lat=True), watch=watch)
        found[backend], states[backend] = watch.messages, ens.seed_state(2)
    assert found["numpy"] == found["numba"] and len(found["numba"]) == 2
    assert "voltages not finite" in found["numba"][0] and "detected at step 50" in found["numba"][0]
    assert "runaway" in found["numba"][1]
    for k, v in states["numpy"].items():
        if isinstance(v, (np.ndarray, tuple)):
            assert_close(v, states["numba"][k], f"healthy seed: {k}")


@pytest.mark.parametrize("name", ["ann_BP_L4_2seeds", "sac_BP_L4_SPS_lat_dWPPact_2seeds",
                                  "dPC_BP_L4_etaPI_sac_teacher"])
def test_divergence_found_by_the_compiled_check_of_every_model(name):
    """The same detections (step, message) on both backends for ann, sacramento2018 and dPC."""
    from numpy_model.protocol import DivergenceWatch, make_monitor, run_phase
    from numpy_model.run import _ensemble, build
    from numpy_model.state import Phase
    raw, task = build_params(name)
    raw.update(random_seed=[1, 2, 3])
    P = validate(raw, task, warn=lambda m: None)
    found, states = {}, {}
    for backend in ("numpy", "numba"):
        students, _, _ = build(P, task)
        ens = _ensemble(students, P).vary(backend=backend)
        ens.state.u[0, 2] = np.nan
        ens.state.WPP[0][1, 0, 3] = 2e6
        rng = np.random.RandomState(0)
        X = rng.uniform(0, 1, (3, 120, ens.lay.n0))
        Y = rng.uniform(0, 1, (3, 120, ens.lay.n_out))
        watch = DivergenceWatch(ens.seeds)
        watch.where = ("training", 0)
        with np.errstate(all="ignore"):
            run_phase(ens, make_monitor(ens, P, 200), X, Y, True, Phase(fw=True, lat=True), watch=watch)
        found[backend], states[backend] = watch.messages, ens.seed_state(2)
    assert found["numpy"] == found["numba"] and len(found["numba"]) == 2, found
    for k, v in states["numpy"].items():
        if isinstance(v, (np.ndarray, tuple)):
            assert_close(v, states["numba"][k], f"healthy seed: {k}")


def test_backend_resolution():
    assert compiled.resolve("numpy") == ("numpy", None)
    assert compiled.resolve("auto") == ("numba", None)
    assert compiled.resolve("numba") == ("numba", None)
    with pytest.raises(ValueError):
        compiled.resolve("cuda")


def test_no_numba_means_numpy_with_a_warning(tmp_path):
    """Without numba: auto is numpy silently, an explicit numba warns and runs on numpy."""
    code = ("import sys; sys.modules['numba'] = None\n"
            "from numpy_model.models import compiled\n"
            "print(compiled.resolve('auto')); print(compiled.resolve('numba'))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": ROOT}).stdout.splitlines()
    assert out[0] == "('numpy', None)"
    assert out[1].startswith("('numpy', 'backend numba: numba is not importable")


def test_importing_the_models_does_not_import_numba():
    code = "import sys, numpy_model.run, numpy_model.models.errormc; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": ROOT}).stdout.strip()
    assert out == "False"


@pytest.mark.parametrize("case", ["emc_skip_8421"])
def test_cli_backend_option_log_and_provenance(case, tmp_path):
    shutil.copy(os.path.join(GOLDEN, case, "params.json"), tmp_path / "params.json")
    proc = run_cli("--params", str(tmp_path / "params.json"), "--backend", "numba")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert sum(line.startswith("backend: numba") for line in lines) == 1
    # the golden case's teacher is an ann, compiled too: no warning line
    assert not any(line.startswith("warning:") for line in lines), lines
    proc = run_cli("--params", str(tmp_path / "params.json"), "--backend", "auto", "--quiet")
    assert proc.returncode == 0 and proc.stderr == ""
    with np.load(tmp_path / "results.npz") as z:
        assert json.loads(str(z["meta"]))["backend"] == "numba"
    proc = run_cli("--params", str(tmp_path / "params.json"), "--backend", "numpy", "--quiet")
    assert proc.returncode == 0 and "warning" not in proc.stderr
    with open(tmp_path / "model.pkl", "rb") as fh:
        assert dill.load(fh)[1].provenance["backend"] == "numpy"


def test_teacher_without_a_kernel_falls_back_with_one_warning(monkeypatch):
    """A teacher that cannot compile runs on numpy (one warning; auto: said on the backend line)."""
    from numpy_model.models import ann
    monkeypatch.setattr(ann, "compiled_unsupported", lambda C: "no kernel here")
    _, info, lines = run("emc_layered_BP_L3_2seeds", "numba", teacher_mc_model="ann")
    warn = [line for line in lines if line.startswith("warning:")]
    assert len(warn) == 1 and "teacher (ann) runs on numpy (no kernel here)" in warn[0], lines
    assert info["backend"] == "numba (teacher numpy)"
    _, info, lines = run("emc_layered_BP_L3_2seeds", "auto", teacher_mc_model="ann")
    assert info["backend"] == "numba (teacher numpy)" and not any(x.startswith("warning:") for x in lines)
    assert any(x.startswith("backend: numba (teacher numpy)") and "no kernel here" in x for x in lines), lines


@pytest.mark.parametrize("signal", ["step", "cartpole"])
def test_resume_on_numba_is_bit_identical(signal, tmp_path):
    """A run stopped after a checkpoint and resumed on numba equals the uninterrupted numba run
    (cartpole: the closed-loop tests' generators, rewound after their draws ahead, resume too)."""
    from test_resume import assert_same, load
    if signal == "cartpole":
        from test_cartpole_run import FIG2A
        p = dict(FIG2A, dt=0.05, epochs=6, rec_per_steps=333, checkpoint_every=1, backend="numba")
    else:
        with open(os.path.join(GOLDEN, "emc_skip_8421", "params.json")) as fh:
            p = json.load(fh)
        p.update(random_seed=[3, 4], dataset_size=10, epochs=6, settling_time=0.1, rec_per_steps=50,
                 checkpoint_every=1, teacher_mc_model="errormc", backend="numba",
                 init_realistic_connectivity=True)
    for d in ("ref", "cut"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "params.json").write_text(json.dumps(p))
    assert run_cli("--params", str(tmp_path / "ref" / "params.json"), "--quiet").returncode == 0
    # the interrupted run: a stop request at the checkpoint after epoch 3 (as SIGTERM makes)
    from numpy_model.params import load_params
    from numpy_model.checkpoint import Checkpointer, Preempted

    class StopAfter3(Checkpointer):
        def __call__(self, run):
            self.stop_requested = run.next_epoch == 3
            super().__call__(run)
    P = load_params(tmp_path / "cut" / "params.json", warn=lambda m: None)
    with pytest.raises(Preempted):
        simulate(P, "fw_only", checkpointer=StopAfter3(str(tmp_path / "cut"), P, "fw_only", None),
                 log=lambda line: None)
    proc = run_cli("--params", str(tmp_path / "cut" / "params.json"), "--resume", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert_same(load(tmp_path / "cut" / "model.pkl"), load(tmp_path / "ref" / "model.pkl"))


@pytest.mark.parametrize("case", ["ann_8421", "sac_8421", "dpc_8421"])
def test_golden_case_runs_compiled(case, tmp_path):
    """The golden case of a compiled model (and its teacher) really runs on numba."""
    shutil.copy(os.path.join(GOLDEN, case, "params.json"), tmp_path / "params.json")
    proc = run_cli("--params", str(tmp_path / "params.json"), "--task", "fw_only", "--backend", "numba")
    assert proc.returncode == 0, proc.stderr
    assert not any(line.startswith("warning: backend") for line in proc.stderr.splitlines()), proc.stderr
    with open(tmp_path / "model.pkl", "rb") as fh:
        assert all(m.provenance["backend"] == "numba" for m in dill.load(fh))


@pytest.mark.parametrize("name", ["ann_BP_L4_2seeds", "sac_BP_L3_sac_teacher_fw_bw", "dPC_BP_L3_dPC_teacher_tanh"])
def test_per_block_storage_falls_back_with_its_reason(name, monkeypatch):
    """Per-block weights have no compiled kernel: students and teacher run on numpy, one warning
    line says why for each, and the numbers are numpy's."""
    from numpy_model.models.kernels import STORAGE_ENV
    monkeypatch.setenv(STORAGE_ENV, "blocks")
    ref, _, _ = run(name, "numpy")
    got, info, lines = run(name, "numba")
    warn = [line for line in lines if line.startswith("warning:")]
    assert info["backend"] == "numpy" and len(warn) == 1, (info, warn)
    assert warn[0].count("weights stored per block") == 2, warn
    assert "students' model runs on numpy" in warn[0] and "the teacher (" in warn[0], warn
    compare_models(ref, got)


@pytest.mark.parametrize("name", ["errormc_skip", "errormc_layered", "sacramento2018", "dPC", "ann"])
def test_compare_pass_on_numba_matches_numpy(name, monkeypatch):
    """--compare BP: the pass runs in one compiled call per recorded weight set on numba and gives
    numpy's angles (degrees; arccos amplifies the last bits near 0) and state after the pass."""
    from test_compare import CASES, params
    case, over, expected = CASES[name]
    calls = []
    real = compiled.sample_updates
    monkeypatch.setattr(compiled, "sample_updates", lambda *a: calls.append(1) or real(*a))
    out = {}
    for backend in ("numpy", "numba"):
        P = params(case, epochs=4, **over)
        P["backend"] = backend
        out[backend] = simulate(P, "fw_only", compare="BP", log=lambda line: None)[1:]
        R = len(out[backend][0].WPP_time_series)
        TPRE = int(P["settling_time"] / P["dt"] / P["rec_per_steps"])
        assert len(calls) == (0 if backend == "numpy" else R - TPRE)
    for a, b in zip(out["numpy"], out["numba"]):
        for k in expected:
            x, y = np.array(getattr(a, k)), np.array(getattr(b, k))
            assert x.shape == y.shape and np.array_equal(np.isnan(x), np.isnan(y)), k
            np.testing.assert_allclose(y[~np.isnan(y)], x[~np.isnan(x)], rtol=0, atol=1e-6, err_msg=k)
        for k, v in a.state.items():
            if isinstance(v, (np.ndarray, tuple)):
                assert_close(v, b.state[k], f"state {k}", a.state.get(CANCELLING_STATE.get(k)))


def test_compare_pass_on_numba_per_block_errormc(monkeypatch):
    """The compiled --compare BP pass over per-block weights (dW_PP captured block after block)."""
    from numpy_model.models.kernels import STORAGE_ENV
    monkeypatch.setenv(STORAGE_ENV, "blocks")
    test_compare_pass_on_numba_matches_numpy("errormc_layered", monkeypatch)


def test_kernel_cache_folder_follows_every_kernel_source(tmp_path, monkeypatch):
    """numba checks only the entry point's file: the cache folder is named after a digest of all
    kernel sources, so an edit of a shared loop cannot bring back a stale kernel."""
    import numba
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("y = 2\n")
    before = compiled.sources_digest([a, b])
    b.write_text("y = 3\n")
    assert compiled.sources_digest([a, b]) != before
    assert compiled.sources_digest([a, b]) == compiled.sources_digest([a, b])
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "user"))
    here = compiled.kernel_cache_dir()
    assert here.startswith(str(tmp_path / "user")) and os.path.basename(here).startswith("numba-")
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    from numpy_model import closed_loop
    from numpy_model.models import block_loops, errormc, loops
    assert os.path.abspath(closed_loop.__file__) in compiled.kernel_sources()
    assert os.path.abspath(loops.__file__) in compiled.kernel_sources()
    compiled.jit_module(errormc)
    for fn in (errormc._kernel_phase, loops._k_phi, block_loops._kb_watch, closed_loop._k_cartpole):
        assert fn._cache._cache_path.startswith(compiled.kernel_cache_dir())
    assert numba.config.CACHE_DIR == ""          # the user's setting is restored


@pytest.mark.parametrize("name", sorted(compiled.ACT_CODES))
def test_compiled_activations_follow_numpy_at_the_edges(name):
    """The compiled phi and phi' of every activation give NumPy's values (within libm's last bit)
    where NumPy overflows to inf or makes NaN: a soft_relu unit beyond u = 74 made exp(-10 u) = 0,
    which raised ZeroDivisionError in the kernel under numba's default (Python) error model."""
    from numpy_model.circuit import activations
    from numpy_model.models import errormc, loops
    compiled.jit_module(errormc)
    x = np.array([-800.0, -75.0, -1.0, -0.0, 0.0, 1e-300, 0.3, 75.0, 100.0, 800.0, np.inf, -np.inf, np.nan])
    code = compiled.ACT_CODES[name]
    with np.errstate(all="ignore"):
        for s, o in ((1.0, 0.0), (2.5, 0.2)):
            want = activations.phi(name, x, np.full_like(x, s), np.full_like(x, o))
            got = np.array([loops._k_phi(code, v, s, o) for v in x])
            np.testing.assert_allclose(got, want, rtol=1e-15, atol=0, equal_nan=True, err_msg=f"phi s={s} o={o}")
        if name not in compiled.D_CODES:             # dms_tanh: no derivative in NumPy either
            with pytest.raises(ValueError):
                activations.dphi(name, x)
            return
        want = activations.dphi(name, x)
        got = np.array([loops._k_dphi(code, v) for v in x])
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0, equal_nan=True, err_msg="dphi")


@pytest.mark.parametrize("model", ["errormc"] + [pytest.param(m, marks=pytest.mark.slow)
                                                 for m in ("sacramento2018", "dPC", "ann")])
def test_cartpole_closed_loop_on_numba_matches_numpy(model):
    """The closed-loop cart-pole tests (teacher and students) run in the compiled kernel: the same
    trajectories, forces and failures as the NumPy loop. rec_per_steps = 333 ends chunks in the
    middle of an action; lateral learning runs during the test; the resets drawn ahead are given
    back to each seed's generator, or the later tests would start elsewhere. The failing pole is
    unstable and amplifies the backends' last-bit differences (1e-11 after three tests); failures
    must agree exactly (dPC with eta_fw [1, 0.5] has a student whose forces grow to 5e4 and whose
    trajectories part after two tests: a smaller rate here). The recorded inputs are the states the
    network saw (the kernel's chunks end at the records), compared as the trajectories."""
    from test_cartpole_run import FIG2A
    over = dict(dt=0.05, rec_per_steps=333, rec_input=True, activation=["tanh", "linear"], eta_IP=[0.01, 0],
                eta_PI=[0, 0.02], mc_model=model, eta_fw=[0.2, 0.1] if model == "dPC" else [1, 0.5])
    runs = {}
    for backend in ("numpy", "numba"):
        P = validate(dict(FIG2A, **over), "fw_only", warn=lambda m: None)
        P["backend"] = backend
        runs[backend] = simulate(P, "fw_only", log=lambda m: None)
    ref, got = runs["numpy"], runs["numba"]
    inputs = [(a.__dict__.pop("input_time_series"), b.__dict__.pop("input_time_series")) for a, b in zip(ref, got)]
    compare_models(ref, got)
    for (a, b), (x, y) in zip(zip(ref, got), inputs):
        assert a.state_log.shape == b.state_log.shape and a.penalty_log.sum() > 10
        np.testing.assert_array_equal(a.penalty_log, b.penalty_log)
        x, y = _flat(x), _flat(y)                     # the recorded inputs: cart-pole states too
        np.testing.assert_allclose(y, x, rtol=1e-9, atol=1e-9 * np.abs(x).max(), err_msg="input_time_series")
        for k in ("state_log", "action_log"):
            x, y = getattr(a, k), getattr(b, k)
            np.testing.assert_allclose(y, x, rtol=1e-9, atol=1e-9 * np.abs(x).max(), err_msg=k)


def test_compiled_cartpole_physics_is_physics_step():
    """closed_loop._k_cartpole (the compiled closed loop's physics) is physics_step bit for bit,
    failures included."""
    from numpy_model import closed_loop
    from numpy_model.models import errormc
    compiled.jit_module(errormc)
    rng = np.random.RandomState(3)
    states = np.vstack([rng.uniform(-3, 3, (200, 4)), [[0, 0, closed_loop.THETA_LIMIT, 0], [2.4, 0, 0, 0]]])
    for state, force in zip(states, rng.uniform(-80, 80, len(states))):
        want, failed = closed_loop.physics_step(state, force, 0.01)
        c = state.copy()
        assert closed_loop._k_cartpole(c, force, 0.01) == failed
        np.testing.assert_array_equal(c, want)


def test_act_arrays_derivative_names_and_lookahead_mask():
    """errormc's kernel arrays: phi' codes from d_names, and the 1 - phi**2 shortcut only where phi
    is tanh of u_breve itself (not where a DMS mask takes the rate of u, nor where phi' is named
    otherwise); the other models' kernels refuse derivative names."""
    from numpy_model.circuit.activations import Population
    pop = Population(["tanh", "tanh", "dms_tanh"], [2, 1, 1], d_names=["tanh", "linear", "linear"])
    mask = np.array([True, False, True, True])
    codes, slope, offset, tanh1, dcodes, look = compiled.act_arrays(pop, 2, mask)
    assert codes.tolist() == [4, 4, 4, 6] and dcodes.tolist() == [4, 4, 0, 0]
    assert tanh1.tolist() == [[True, False, False, False]] * 2
    assert look.tolist() == [[True, False, True, True]] * 2
    assert compiled.act_codes(pop, 2) is None
    assert compiled.act_codes(Population(["dms_tanh"], [1]), 1) is None      # phi' of dms_tanh: none


def test_compiled_tanh_is_within_1_4_ulp_and_keeps_the_special_values():
    """loops._k_tanh (Cephes' tanh, used by the compiled tanh and dms_tanh): within 1.4 ulp of the
    exact value (x87 long double as the reference where it has more bits than double) over each
    branch and their border, odd, -0.0 kept, +-1 at +-inf, NaN for NaN."""
    from numpy_model.models import errormc, loops
    compiled.jit_module(errormc)
    if np.finfo(np.longdouble).nmant <= 52:
        pytest.skip("no extended precision to measure ulp against")
    import numba

    @numba.njit
    def many(x, out):
        for i in range(x.shape[0]):
            out[i] = loops._k_tanh(x[i])
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-a, a, 200_000) for a in (1e-8, 1e-3, 0.3, 0.625, 0.7, 3.0, 25.0)]
                       + [np.nextafter(0.625, 0) + np.arange(-50, 50) * 1e-16])
    got = np.empty_like(x)
    many(x, got)
    exact = np.tanh(x.astype(np.longdouble))
    ulp = np.abs((got.astype(np.longdouble) - exact) / np.spacing(np.abs(exact).astype(float)))
    assert ulp.max() <= 1.4, ulp.max()
    neg = np.empty_like(x)
    many(-x, neg)
    np.testing.assert_array_equal(neg, -got)                      # odd, bit for bit
    special = np.array([-0.0, 0.0, np.inf, -np.inf, np.nan, 1e-310, 22.5, -700.0])
    out = np.empty_like(special)
    many(special, out)
    assert np.signbit(out[0]) and not np.signbit(out[1])
    np.testing.assert_array_equal(out[2:], [1.0, -1.0, np.nan, 1e-310, 1.0, -1.0])
    # as close to NumPy's tanh as libm's is: NumPy (the reference backend) within 2 ulp everywhere
    np.testing.assert_allclose(got, np.tanh(x), rtol=3 * np.finfo(float).eps, atol=0)
