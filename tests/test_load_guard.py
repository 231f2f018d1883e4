"""`--load` never destroys another run: a warning when the params differ, exit 2 instead of
overwriting another run's model.pkl / results.npz (unless --force), replotting in place still works."""
import json
import os

import dill

from conftest import ROOT, run_cli


def _params(folder, **over):
    with open(os.path.join(ROOT, "examples", "quickstart", "params.json"), encoding="utf-8") as fh:
        p = json.load(fh)
    p.update(dataset_size=5, epochs=2, settling_time=0.1, random_seed=[1, 2], **over)
    folder.mkdir()
    (folder / "params.json").write_text(json.dumps(p))
    return str(folder / "params.json")


def _bytes(folder):
    return {n: (folder / n).read_bytes() for n in ("model.pkl", "results.npz")}


def _two_runs(tmp_path):
    a = _params(tmp_path / "A", layers=[5, 3, 2], error_layers=[0, 3, 2], model_type="FA")
    b = _params(tmp_path / "B")
    for p in (a, b):
        run = run_cli("--params", p, "--quiet")
        assert run.returncode == 0, run.stderr
    return a, b


def test_load_refuses_to_overwrite_another_run(tmp_path):
    a, _ = _two_runs(tmp_path)
    before = _bytes(tmp_path / "A")
    b_pkl = str(tmp_path / "B" / "model.pkl")
    run = run_cli("--params", a, "--load", b_pkl, "--quiet")
    assert run.returncode == 2, run.stderr
    warning = [line for line in run.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "layers" in warning[0] and "model_type" in warning[0], run.stderr
    error = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and b_pkl in error[0] and str(tmp_path / "A" / "model.pkl") in error[0]
    assert str(tmp_path / "A" / "results.npz") in error[0] and "--force" in error[0]
    assert _bytes(tmp_path / "A") == before                     # nothing touched

    run = run_cli("--params", a, "--load", b_pkl, "--quiet", "--force")
    assert run.returncode == 0, run.stderr
    with open(tmp_path / "A" / "model.pkl", "rb") as fh:
        assert [m.layers for m in dill.load(fh)] == [[4, 3, 1]] * 3


def test_load_into_a_folder_without_outputs_warns_only(tmp_path):
    _, b = _two_runs(tmp_path)
    c = _params(tmp_path / "C", layers=[5, 3, 2], error_layers=[0, 3, 2])
    run = run_cli("--params", c, "--load", str(tmp_path / "B" / "model.pkl"), "--quiet")
    assert run.returncode == 0, run.stderr
    assert "differ: error_layers, layers" in run.stderr
    with open(tmp_path / "C" / "model.pkl", "rb") as fh:
        assert [m.layers for m in dill.load(fh)] == [[4, 3, 1]] * 3


def test_replot_in_its_own_folder_works_as_before(tmp_path):
    a, _ = _two_runs(tmp_path)
    pkl = str(tmp_path / "A" / "model.pkl")
    run = run_cli("--params", a, "--load", pkl, "--quiet")
    assert run.returncode == 0 and "warning" not in run.stderr, run.stderr
    # a moved model.pkl of the run whose results.npz is still there is the same run too
    os.replace(pkl, tmp_path / "A" / "saved.pkl")
    run = run_cli("--params", a, "--load", str(tmp_path / "A" / "saved.pkl"), "--quiet")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "A" / "model.pkl").exists()
