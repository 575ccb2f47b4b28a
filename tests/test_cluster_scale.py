"""The paper-scale DAG (configs/paper.yaml) builds in a dry run; job counts per rule (docs/cluster.md).

The build time is measured by benchmarks/cluster_dag.py (target < 20 s); this test only guards that
the dry run finishes and that every stage contributes jobs.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _dry_run():
    """`dry_run(configfile) -> ({rule: jobs}, seconds)` from benchmarks/cluster_dag.py (one implementation)."""
    spec = importlib.util.spec_from_file_location("cluster_dag", REPO / "benchmarks" / "cluster_dag.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dry_run


@pytest.mark.slow
def test_paper_dag_builds_with_every_stage():
    counts, elapsed = _dry_run()(REPO / "configs" / "paper.yaml")
    total = counts.pop("total")
    assert total == sum(counts.values())
    for prefix in ("pde_shard", "pde_observe", "graph_", "train_pde_model", "train_graph_", "tables_build"):
        assert any(rule.startswith(prefix) for rule in counts), f"no {prefix}* jobs in the paper DAG"
    print(f"paper DAG: {total} jobs in {elapsed:.1f} s; " + ", ".join(f"{r}={n}" for r, n in sorted(counts.items())))
