"""What users look for first: `gapbench --version`, the licence, how to cite; every reference can be opened."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

import gapbench

REPO = Path(__file__).resolve().parents[1]


def test_version_is_the_package_version_everywhere():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    out = subprocess.run([sys.executable, "-m", "gapbench", "--version"], capture_output=True, text=True,
                         env={"PYTHONPATH": str(REPO / "src")}, check=True).stdout
    assert out.strip() == f"gapbench {project['version']}" == f"gapbench {gapbench.__version__}"
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert citation["version"] == project["version"]


def test_licence_and_citation_of_the_two_papers():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and (REPO / "LICENSE").read_text().startswith("MIT License")
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0" and citation["license"] == "MIT"
    urls = {ref["url"] for ref in citation["references"]}
    assert urls == {"https://arxiv.org/abs/2410.09867", "https://arxiv.org/abs/2409.02313"}


# Files outside the repository (a design reference, a coordination note) and issue-tracker numbers mean nothing
# to a reader of a clone; what they held is written into docs/ (docs/science.md).
OUTSIDE_REFERENCES = re.compile(r"design\.md|COORDINATION|seed-talk\.md|style\.md|\b[Ii]ssues? ?#?\d|(?<![\w&])#\d{1,4}\b")


def test_no_reference_to_files_outside_the_repository_or_to_issue_numbers():
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    offenders = []
    for name in tracked.split():
        path = REPO / name
        if name.startswith("results/") or path.suffix not in {".py", ".md", ".smk", ".yaml", ".yml", ".toml", ".cff",
                                                              ".sh", ".txt", ""} or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE_REFERENCES.search(line):
                offenders.append(f"{name}:{number}: {line.strip()}")
    offenders = [o for o in offenders if not o.startswith("tests/test_project_meta.py:")]
    assert not offenders, "\n".join(offenders)


def test_the_reference_pattern_catches_what_it_must():
    for bad in ("see design.md, Part II", "COORDINATION.md", "(issue 7)", "Issue 12 asks", "fixes #12", "issues 3/5"):
        assert OUTSIDE_REFERENCES.search(bad), bad
    for fine in ("colour '#008080'", "a dataset issue", "x[0]  # comment", "issues.md"):
        assert not OUTSIDE_REFERENCES.search(fine), fine
