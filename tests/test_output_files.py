"""Output files: written with the usual mode (0666 minus the umask, like the stores), figures without a creation
date (identical results give identical files), and a run with a non-finite headline metric is not usable."""

from __future__ import annotations

import json
import os
import stat

import pytest

from gapbench.tables import collect, figures, render
from gapbench.train import common


@pytest.fixture()
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_metrics_tables_checkpoints_figures_are_0644(tmp_path, umask_022):
    common.write_json_atomic(tmp_path / "metrics.json", {"a": 1})
    common.write_csv_atomic(tmp_path / "curves.csv", ["a"], [{"a": 1}])
    common.save_checkpoint(tmp_path / "last.pt", {"a": 1})
    render.write_text(tmp_path / "table.md", "| a |\n")
    plt = figures._plt()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    figures._save(fig, tmp_path / "figs", "f")
    for name in ("metrics.json", "curves.csv", "last.pt", "table.md", "figs/f.png", "figs/f.pdf"):
        assert _mode(tmp_path / name) == 0o644, name


def test_pdf_figures_have_no_creation_date(tmp_path):
    plt = figures._plt()
    out = []
    for run in ("a", "b"):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [1, 0, 2])
        figures._save(fig, tmp_path / run, "f")
        out.append((tmp_path / run / "f.pdf").read_bytes())
    assert b"/CreationDate" not in out[0] and out[0] == out[1]


@pytest.mark.parametrize("value", [None, "nan", float("nan"), float("inf")])
def test_non_finite_headline_metric_is_not_usable(tmp_path, value):
    path = tmp_path / "train/graph/planted_star/n16-k1/edge_gcn/seed0/metrics.json"
    path.parent.mkdir(parents=True)
    metrics = {"task": "graph", "status": "ok", "test": value, "valid": 0.1}
    path.write_text(json.dumps(metrics))
    run = collect.read_run(path)
    assert not run.usable and run.status == "non-finite" and "test" in run.reason
    path.write_text(json.dumps({**metrics, "test": 0.5}))
    assert collect.read_run(path).usable
