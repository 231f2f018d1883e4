"""Every section of docs/model.md that the code cites (§x.y) exists: users clone the project and
follow these anchors without any other file."""
import os
import re
import subprocess

from conftest import ROOT


def sections():
    """{section number: its text}; a numbered item "n." at the start of a line of section x counts
    as x.n (the quirks of §12 are cited as §12.n, the steps of §7.2 as §7.2.n)."""
    with open(os.path.join(ROOT, "docs", "model.md"), encoding="utf-8") as fh:
        text = fh.read()
    parts = re.split(r"^#+ (?:Appendix )?([0-9A-Z]+(?:\.[0-9]+)*)\.? .*$", text, flags=re.M)
    found = {}
    for number, body in zip(parts[1::2], parts[2::2]):
        found[number] = body
        for item in re.findall(r"^(\d+)\. ", body, re.M):
            found.setdefault(f"{number}.{item}", "")
    return found


def cited():
    files = subprocess.run(["git", "ls-files", "numpy_model", "DMS_task.py", "runner.py", "README.md"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    refs = {}
    for f in files:
        if not f.endswith((".py", ".md")):
            continue
        with open(os.path.join(ROOT, f), encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                for m in re.finditer(r"§\s?(\d+(?:\.\d+)*)", line):
                    refs.setdefault(m.group(1).rstrip("."), []).append(f"{f}:{n}")
    return refs


def test_cited_sections_exist():
    have = set(sections())
    assert {"4.4", "4.4.3", "7.5", "12"} <= have
    missing = {ref: where[:3] for ref, where in cited().items() if ref not in have}
    assert not missing, f"cited sections with no heading in docs/model.md: {missing}"
