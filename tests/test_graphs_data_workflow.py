"""The graph_data stage end to end: in the session's run of configs/ci.yaml (``ci_pipeline``, conftest) every
dataset passes `gapbench data check`, and a second run of graph_data has nothing to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from gapbench.config import load_config
from gapbench.graphs.data import check_dataset, dataset_paths

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_graph_data_stage_on_ci_config(ci_pipeline):
    """The graph datasets of the session's ci pipeline run: every kind, each checked and logged."""
    from conftest import nothing_to_do

    tmp_path = ci_pipeline
    targets = dataset_paths(load_config(REPO / "configs" / "ci.yaml"))
    assert {t.split("/")[3] for t in targets} == {"planted_star", "map", "ising", "duplicates"}
    for target in targets:
        assert "ok (" in check_dataset(tmp_path / target)
        log = (tmp_path / "results/logs/graphs/all.log").read_text()  # one job makes them all (graphs.job_scope)
        assert "written and checked" in log and f"--out {target}" in log
    assert nothing_to_do(tmp_path, "graph_data")
