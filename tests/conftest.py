"""Shared pytest set-up: repository paths, the venv's executables on PATH, GPU marker handling."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="no CUDA device on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def ci_pipeline(tmp_path_factory) -> Path:
    """The whole pipeline of configs/ci.yaml run once per session in a temporary directory; the slow end-to-end
    tests of the stages (graph data, PDE data, PDE training) check its outputs instead of running their own."""
    import subprocess

    workdir = tmp_path_factory.mktemp("ci_pipeline")
    proc = subprocess.run([str(BIN / "snakemake"), *ci_snakemake_args(workdir), "--cores", "2"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return workdir


def ci_snakemake_args(workdir: Path) -> list[str]:
    """Snakemake arguments of a run of configs/ci.yaml in ``workdir``."""
    return ["-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile",
            str(REPO / "configs" / "ci.yaml")]


def nothing_to_do(workdir: Path, *targets: str) -> bool:
    """Does a dry run of ``targets`` in the ci pipeline's ``workdir`` find nothing to do?"""
    import subprocess

    again = subprocess.run([str(BIN / "snakemake"), *ci_snakemake_args(workdir), "-n", *targets],
                           capture_output=True, text=True)
    return again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
