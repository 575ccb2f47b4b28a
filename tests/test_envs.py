"""Conda environments and the rules' command: the workflow runs gapbench from the checkout's src/ only.

A conda environment built by `snakemake --sdm conda` holds the third-party packages of envs/*.yaml and no
gapbench; the rules run `python3 -m gapbench` with src/ on PYTHONPATH (shell prefix in common.smk). These tests
check the parts that can be checked without conda-forge: every env file parses and lists only third-party
packages with pyproject's pins (tests/test_foundation.py compares the pins), and one rule of configs/ci.yaml
runs in an interpreter whose site-packages lack gapbench.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def test_env_files_list_only_third_party_packages():
    for path in sorted((REPO / "envs").glob("*.yaml")):
        env = yaml.safe_load(path.read_text())
        assert env["channels"][0] == "conda-forge", path.name
        deps = env["dependencies"]
        assert all(isinstance(d, str) for d in deps), f"{path.name}: a pip section (gapbench is not installed)"
        assert not any(d.split("=")[0] in ("gapbench", "pip") for d in deps), path.name
        assert any(d.startswith("python=") for d in deps), path.name
    train = yaml.safe_load((REPO / "envs" / "train.yaml").read_text())["dependencies"]
    assert "pytorch=2.13.0=cuda*" in train  # a GPU build even when the env is built on a GPU-less login node


def test_every_rule_uses_an_env_file_that_exists():
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for line in smk.read_text().splitlines():
            if line.strip().startswith('"../../envs/'):
                assert (smk.parent / line.strip().strip('"')).resolve().is_file(), f"{smk.name}: {line.strip()}"


def _interpreter_without_gapbench(root: Path) -> Path:
    """A venv that sees the test venv's packages (one path in a .pth file) but not its .pth files, so the
    editable gapbench install is invisible: only PYTHONPATH can provide gapbench."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    query = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.run([str(root / "bin" / "python"), "-c", query], capture_output=True, text=True,
                               check=True).stdout.strip())
    (site / "third_party.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return root / "bin" / "python"


@pytest.mark.slow
def test_a_rule_runs_with_gapbench_absent_from_site_packages(tmp_path):
    python = _interpreter_without_gapbench(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PATH=f"{python.parent}:/usr/bin:/bin", OMP_NUM_THREADS="1")
    absent = subprocess.run([str(python), "-c", "import gapbench"], env=env, capture_output=True, text=True)
    assert absent.returncode != 0 and "No module named 'gapbench'" in absent.stderr
    present = subprocess.run([str(python), "-c", "import torch_geometric, snakemake"], env=env)
    assert present.returncode == 0

    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(REPO / "config.yaml", work / "config.yaml")
    target = "results/data/graphs/duplicates/n8"  # a graph_data rule of configs/ci.yaml
    proc = subprocess.run(
        [str(python), "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--cores", "1", target,
         "--configfile", str(REPO / "configs" / "ci.yaml")],
        cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = (work / "results/logs/graphs/all.log").read_text()  # one job makes every dataset (graphs.job_scope)
    assert "written and checked" in log and "\r" not in log
    check = subprocess.run([str(python), "-m", "gapbench", "data", "check", target], cwd=work, capture_output=True,
                           text=True, env={**env, "PYTHONPATH": str(REPO / "src")})
    assert check.returncode == 0 and "ok (" in check.stdout
