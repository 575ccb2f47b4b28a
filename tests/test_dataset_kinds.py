"""Graph dataset kinds are named in one registry (gapbench.graphs.kinds) and everything else derives from it.

A kind registered from a module outside src/gapbench gets its `gapbench graphs make` subcommand, its generator
runs, its label check guards the store, its flags, variant names, task and metric reach the workflow helpers, and
the config sections it declares join the config schema, so it runs through graph_make, train_graph and the tables
like a built-in - all without a gapbench file edited. The built-in kinds' derived pieces agree with their entries.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gapbench.graphs import kinds, variants

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

PLUGIN = '''
"""A user's dataset kind: paths of n nodes, target y_v = sum of x over v and its path neighbours."""
from dataclasses import asdict, dataclass

import numpy as np

from gapbench.graphs import variants
from gapbench.graphs.kinds import INT, DatasetKind, Flag, TableSection, register_dataset_kind


@dataclass(frozen=True)
class NeighbourSumParams:
    n: int
    n_graphs: int
    scale: float = 1.0
    split: tuple = (0.8, 0.1, 0.1)
    seed: int = 0

    @property
    def variant(self):
        return variants.make("neighbour_sum", n=self.n)  # also the RNG label


def pairs(n):
    return np.stack([np.arange(n - 1), np.arange(1, n)])


def neighbour_sum(x, n):
    y = x.copy()
    y[1:] += x[:-1]
    y[:-1] += x[1:]
    return y


def make(params):
    import torch
    from torch_geometric.data import Data

    from gapbench.graphs.data import rng, split_sizes, undirected_edge_index

    ei = undirected_edge_index(pairs(params.n))
    splits = {}
    for split, count in split_sizes(params.n_graphs, params.split).items():
        x = params.scale * rng(params.seed, "neighbour_sum", params.variant, split).standard_normal((count, params.n))
        splits[split] = [Data(x=torch.as_tensor(xb[:, None], dtype=torch.float32), edge_index=ei,
                              y=torch.as_tensor(neighbour_sum(xb, params.n), dtype=torch.float32),
                              label_mask=torch.ones(params.n, dtype=torch.bool)) for xb in x]
    meta = {"kind": "neighbour_sum", "variant": params.variant, "seed": params.seed, "params": {"n": params.n},
            "generator": asdict(params), "task": "node_regression", "metric": "rmse"}
    return splits, meta


def verify_labels(path, meta, graphs):
    for i, g in enumerate(graphs):
        want = neighbour_sum(g.x[:, 0].double().numpy(), g.num_nodes)
        if np.abs(g.y.double().numpy() - want).max() > 1e-5:
            return i, "y is not the neighbour sum of x"
    return None


# the config section graphs.neighbour_sum; train.graph.neighbour_sum takes the shape of train.graph.ising
SCHEMA = {
    "type": "object", "additionalProperties": False, "default": {}, "description": "paths, y = neighbour sum of x",
    "properties": {
        "n": {"type": "array", "items": {"type": "integer", "minimum": 2}, "uniqueItems": True, "default": [5],
              "description": "path nodes, one dataset each"},
        "scale": {"type": "number", "exclusiveMinimum": 0, "default": 1.0, "description": "std of x"},
        "n_graphs": {"type": "integer", "minimum": 3, "default": 20, "description": "graphs per dataset"},
    },
}

register_dataset_kind(DatasetKind(
    "neighbour_sum", "n{n}", {"n": INT}, {"n": "n"}, "node", "mse", "rmse",
    {"x": ("float32", ("N", 1)), "edge_index": ("int64", (2, "E")), "y": ("float32", ("N",)),
     "label_mask": ("bool", ("N",))},
    params=NeighbourSumParams, make=make, verify_labels=verify_labels,
    flags=(Flag("n", {"type": int, "required": True, "help": "path nodes"}),
           Flag("scale", {"type": float, "default": 1.0, "help": "std of x"}, "scale")),
    help="paths, y = neighbour sum of x", table=TableSection("Neighbour sums on paths: RMSE by n", "n"),
    schema=SCHEMA))
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """The plugin module on sys.path and registered; unregistered afterwards."""
    (tmp_path / "my_kinds.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    module = importlib.import_module("my_kinds")
    yield tmp_path, module
    kinds.DATASET_KINDS.pop("neighbour_sum", None)
    sys.modules.pop("my_kinds", None)


def _gapbench(args, plugin_dir: Path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_dir), str(REPO / "src")]),
           "GAPBENCH_PLUGINS": "my_kinds"}
    return subprocess.run([sys.executable, "-m", "gapbench", *args], capture_output=True, text=True, env=env)


def test_a_plugin_kind_is_generated_and_checked_through_the_cli(plugin):
    where, _ = plugin
    out = where / "data" / "neighbour_sum" / "n5"
    made = _gapbench(["graphs", "make", "neighbour-sum", "--n", "5", "--scale", "2", "--n-graphs", "10",
                      "--out", str(out), "--no-progress"], where)
    assert made.returncode == 0, made.stderr
    checked = _gapbench(["data", "check", str(out)], where)
    assert checked.returncode == 0 and "neighbour_sum/n5" in checked.stdout, checked.stdout + checked.stderr
    from gapbench.graphs.data import load

    train = load(out, "train")
    assert train.meta["generator"]["scale"] == 2.0 and len(train) == 8
    assert float(train[0].y[2]) == pytest.approx(float(train[0].x[1:4, 0].sum()), abs=1e-5)
    # without the plugin the kind is unknown, in one line
    bare = subprocess.run([sys.executable, "-m", "gapbench", "graphs", "make", "neighbour-sum", "--n", "5"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "src"),
                                                               "GAPBENCH_PLUGINS": ""})
    assert bare.returncode == 2 and "neighbour-sum" in bare.stderr


def test_the_plugin_label_check_guards_the_store(plugin, tmp_path):
    from gapbench.errors import StoreError
    from gapbench.graphs.data import write_dataset

    _, module = plugin
    splits, meta, extra = kinds.generate(kinds.DATASET_KINDS["neighbour_sum"],
                                         module.NeighbourSumParams(n=4, n_graphs=10))
    splits["valid"][0].y = splits["valid"][0].y + 0.5
    with pytest.raises(StoreError, match=r"valid\[0\]: stored labels differ .*neighbour sum"):
        write_dataset(tmp_path / "bad", splits, meta, extra)
    assert not (tmp_path / "bad").exists()


def test_the_plugin_kind_reaches_the_workflow_helpers(plugin):
    from gapbench.graphs.data import dataset_paths
    from gapbench.tables.graphs import _metric
    from gapbench.train.graph_tasks import task_for

    config = {"graphs": {"neighbour_sum": {"n": [4, 9], "scale": 0.5, "n_graphs": 10}}}
    assert variants.of_config(config, "neighbour_sum") == ["n4", "n9"]
    assert variants.make_args(config, "neighbour_sum", "n9") == ["--n", "9", "--scale", "0.5"]
    with pytest.raises(Exception, match="not a neighbour_sum variant"):
        variants.make_args(config, "neighbour_sum", "n9-k1")
    assert "results/data/graphs/neighbour_sum/n9" in dataset_paths(
        {"graphs": {**config["graphs"], **{k.config_section: {"n": [], "leaves": [], "depths": [], "trees": [],
                                                              "names": [], "laws": [], "data_seeds": []}
                                           for k in kinds.DATASET_KINDS.values() if k.name != "neighbour_sum"}}})
    task = task_for({"kind": "neighbour_sum"}, None)
    assert (task.level, task.loss, task.metric) == ("node", "mse", "rmse")

    class Cell:
        usable, ident = [], {"experiment": "neighbour_sum", "variant": "n4"}

    assert _metric(Cell()) == ("rmse", False)


def _pipeline_config(path: Path) -> Path:
    """configs/ci.yaml with the plugin kind alone: no PDE, no built-in graph dataset, no memory experiment."""
    config = yaml.safe_load((REPO / "configs" / "ci.yaml").read_text())
    config["plugins"] = ["my_kinds"]
    config["pde"]["equations"], config["train"]["pde"]["equations"] = [], []
    graphs = config["graphs"]
    graphs["planted_star"]["leaves"], graphs["map"]["n"], graphs["ising"]["trees"], graphs["duplicates"]["n"] = \
        [], [], [], []
    graphs["neighbour_sum"] = {"n": [5, 7], "scale": 2.0, "n_graphs": 10}
    graph = config["train"]["graph"]
    graph["memory"].update(planted_star=[], duplicates=[])
    graph["neighbour_sum"] = {"models": ["node_gcn", "edge_gcn"], "depths": [1], "widths": [4], "lrs": [0.01],
                              "epochs": 1}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.mark.slow
def test_a_plugin_kind_runs_through_the_pipeline_to_the_tables(tmp_path):
    """graph_make, train_graph_neighbour_sum and tables_build on the plugin kind, as `snakemake tables` on a
    config naming the plugin; the plugin reaches gapbench only through PYTHONPATH and the config key."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "my_kinds.py").write_text(PLUGIN)
    config = _pipeline_config(tmp_path / "config.yaml")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{plugins}", "OMP_NUM_THREADS": "1", "GAPBENCH_PROGRESS": "0"}
    env.pop("SNAKEMAKE_PROFILE", None)
    env.pop("GAPBENCH_PLUGINS", None)  # the workflow exports it from the config key
    proc = subprocess.run([str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--directory",
                           str(tmp_path), "--configfile", str(config), "--workflow-profile", "none", "--cores", "2",
                           "tables"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert "train_graph_neighbour_sum" in proc.stderr
    data = tmp_path / "results/data/graphs"
    assert sorted(p.name for p in data.iterdir()) == ["neighbour_sum"]
    assert sorted(p.name for p in (data / "neighbour_sum").iterdir()) == ["n5", "n7"]
    meta = yaml.safe_load((data / "neighbour_sum/n7/meta.json").read_text())
    assert meta["generator"]["scale"] == 2.0 and meta["generator"]["n_graphs"] == 10  # flags from the section
    with open(tmp_path / "results/tables/graphical_models.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["section"] == "neighbour_sum"]
    assert sorted((r["param"], r["model"]) for r in rows) == [("5", "edge_gcn"), ("5", "node_gcn"),
                                                              ("7", "edge_gcn"), ("7", "node_gcn")]
    assert all(r["metric"] == "rmse" and float(r["test_mean"]) > 0 for r in rows), rows
    assert "Neighbour sums on paths: RMSE by n" in (tmp_path / "results/tables/graphical_models.md").read_text()


def test_a_bad_plugin_kind_section_is_one_line_naming_its_key(plugin, tmp_path):
    where, _ = plugin
    config = {"plugins": ["my_kinds"], "graphs": {"neighbour_sum": {"scale": -1}}}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(config))
    proc = _gapbench(["config", "check", str(tmp_path / "bad.yaml")], where)
    assert proc.returncode == 2 and "config key graphs.neighbour_sum.scale" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    config["graphs"]["neighbour_sum"] = {}
    config["train"] = {"graph": {"neighbour_sum": {"depths": [-1]}}}  # the train section has ising's shape
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(config))
    proc = _gapbench(["config", "check", str(tmp_path / "bad.yaml")], where)
    assert proc.returncode == 2 and "config key train.graph.neighbour_sum.depths[0]" in proc.stderr, proc.stderr


def test_a_plugin_kind_without_its_config_section_is_refused_by_the_config_check(plugin):
    from gapbench.config import validate_config
    from gapbench.errors import ConfigError

    kinds.register_dataset_kind(dataclasses.replace(kinds.DATASET_KINDS["neighbour_sum"], name="sectionless",
                                                    schema=None))
    try:
        with pytest.raises(ConfigError, match=r"dataset kind 'sectionless' has no section graphs.sectionless .*"
                                              r"allowed: DatasetKind\(\.\.\., schema="):
            validate_config({})
    finally:
        kinds.DATASET_KINDS.pop("sectionless")


@pytest.mark.parametrize("kind", [k for k in kinds.generated_kinds()], ids=lambda k: k.name)
def test_builtin_flags_are_the_parameter_fields(kind):
    """Every flag sets a field of the kind's parameter dataclass, and every field without a default has one
    (or is common to all kinds: n_graphs, split, seed)."""
    fields = {f.name: f for f in dataclasses.fields(kinds.resolve(kind.params))}
    flags = {flag.name for flag in kind.flags}
    assert flags <= set(fields)
    required = {n for n, f in fields.items() if f.default is dataclasses.MISSING}
    assert required <= flags | {"n_graphs", "split", "seed"}
    assert set(kind.variant_fields) <= flags  # the variant name is made of parameters


def test_the_rule_flags_of_the_builtins_are_the_historical_commands():
    """The graph_data rule's flags for ci.yaml's datasets: those the per-kind rules passed before the registry."""
    import yaml

    from gapbench.config import validate_config

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config.update(yaml.safe_load((REPO / "configs" / "ci.yaml").read_text()))
    validate_config(config, REPO / "workflow" / "schemas" / "config.schema.yaml")
    assert variants.make_args(config, "planted_star", "n8-k2-paper-s0") == [
        "--leaves", "8", "--depth", "2", "--law", "paper", "--data-seed", "0", "--width", "10", "--activation",
        "relu", "--weight-law", "uniform", "--weight-scale", "1.0", "--readout", "projection"]
    assert variants.make_args(config, "map", "n16") == ["--n", "16", "--unary-scale", "0.1", "--hard-fraction", "1.0"]
    assert variants.make_args(config, "ising", "path") == ["--tree", "path", "--n-nodes", "12", "--coupling", "1.0",
                                                        "--field-std", "1.0"]
    assert variants.make_args(config, "duplicates", "n8") == ["--n", "8"]
