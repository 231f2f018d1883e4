"""example/params_template.json: every params key with its default and a one-line comment; it runs."""
import json
import os

import dill
import pytest

from conftest import ROOT, run_cli
from numpy_model.params import SCHEMA, load_params
from numpy_model.template import PATH, template_json

TEMPLATE = os.path.join(ROOT, PATH)
FIG3_ERRORMC = os.path.join(ROOT, "experiments", "Fig3_multilayer_comparison", "8-4-2-1", "errormc",
                            "params.json")


def _raw():
    with open(TEMPLATE, encoding="utf-8") as fh:
        return json.load(fh)


def test_template_is_generated_from_the_schema():
    with open(TEMPLATE, encoding="utf-8") as fh:
        assert fh.read() == template_json(), "regenerate with: python -m numpy_model.template"


def test_every_key_present_with_a_comment_and_no_unknown_key():
    raw = _raw()
    keys = [k for k in raw if not k.startswith("_comment")]
    assert keys == list(SCHEMA)                                    # all of them, in schema order
    comments = {k[len("_comment_"):]: v for k, v in raw.items() if k.startswith("_comment_")}
    assert set(comments) == set(SCHEMA)
    for key, text in comments.items():
        assert isinstance(text, str) and text.strip() and "\n" not in text, key


def test_values_are_the_defaults_or_the_published_fig3_errormc_run():
    raw = _raw()
    msgs = []
    P = load_params(TEMPLATE, warn=msgs.append)
    assert msgs == [] and P == {k: v for k, v in raw.items() if not k.startswith("_comment")}
    with open(FIG3_ERRORMC, encoding="utf-8") as fh:
        published = json.load(fh)
    for key, value in published.items():
        if not key.startswith("_comment") and key not in ("epochs", "random_seed"):
            assert P[key] == value, key
    assert P["epochs"] == 10 and P["random_seed"] == published["random_seed"][:1]
    for key, k in SCHEMA.items():
        if key not in published and k.derive is None and not k.required:
            assert P[key] == k.default, key


def test_template_runs_as_is(tmp_path):
    path = tmp_path / "params_template.json"
    path.write_bytes(open(TEMPLATE, "rb").read())
    run = run_cli("--params", str(path), "--quiet")                  # about 4 s
    assert run.returncode == 0, run.stderr
    with open(tmp_path / "model.pkl", "rb") as fh:
        teacher, student = dill.load(fh)
    assert student.layers == [8, 4, 2, 1] and student.epochs == 10 and student.mc_model == "errormc"
    assert len(student.MSE_test_time_series) > 0


def test_template_command_help_writes_nothing(tmp_path, capsys, monkeypatch):
    from numpy_model import template
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        template.main(["--help"])
    assert info.value.code == 0 and "usage" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
    assert template.main([str(tmp_path / "t.json")]) == 0 and (tmp_path / "t.json").is_file()
