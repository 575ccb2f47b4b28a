"""The graph_data stage end to end: `snakemake --cores 2 graph_data --configfile configs/ci.yaml` in a temporary
working directory, then every dataset passes `gapbench data check`, and a second run has nothing to do."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gapbench.config import load_config
from gapbench.graphs.data import check_dataset, dataset_paths

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_graph_data_stage_on_ci_config(tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "OMP_NUM_THREADS": "1"}
    cmd = [str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--cores", "2", "graph_data",
           "--configfile", str(REPO / "configs" / "ci.yaml")]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    targets = dataset_paths(load_config(REPO / "configs" / "ci.yaml"))
    assert {t.split("/")[3] for t in targets} == {"planted_star", "map", "ising", "duplicates"}
    for target in targets:
        assert "ok (" in check_dataset(tmp_path / target)
        log = tmp_path / target.replace("results/data/graphs", "results/logs/graphs")
        assert "written and checked" in Path(f"{log}.log").read_text()
    again = subprocess.run([*cmd, "-n"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
