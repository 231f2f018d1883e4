"""The README's params reference is generated from the schema and must stay in sync."""
import os
import re

from conftest import ROOT
from numpy_model.params import SCHEMA, params_reference_markdown


def readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        return fh.read()


def test_params_reference_in_readme_is_up_to_date():
    text = readme()
    block = re.search(r"<!-- params-reference:start -->\n(.*?)<!-- params-reference:end -->", text, re.S)
    assert block, "README is missing the params reference markers"
    assert block.group(1).strip() == params_reference_markdown().strip(), \
        "regenerate with: python -m numpy_model.params"


def test_every_schema_key_documented_in_readme():
    text = readme()
    missing = [k for k in SCHEMA if f"`{k}`" not in text]
    assert not missing


def test_readme_starts_with_the_two_commands():
    text = readme()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    assert "runner.py --params examples/quickstart/params.json" in blocks[0]
    assert "pytest" in blocks[1]
