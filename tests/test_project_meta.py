"""What users look for first: `gapbench --version`, the licence, how to cite."""

from __future__ import annotations

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
