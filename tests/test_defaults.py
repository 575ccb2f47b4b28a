"""The config schema is the single source of defaults: every CLI flag and every parameter dataclass that has a
counterpart in the schema defaults to the schema's value, so the standalone CLI runs what the pipeline runs.

Each command or dataclass is paired with the schema section it mirrors; a flag or field whose name (after
``RENAMED``) is a key of that section must agree with its default. Where KS and NS sections differ, the CLI
(shared by both equations) mirrors KS.
"""

from __future__ import annotations

import dataclasses

import pytest

from gapbench.cli import _leaf_parsers, build_parser
from gapbench.config import load_schema

SCHEMA = load_schema()

# command (prog) -> schema section it mirrors (or sections: the job's own, then the stage's shared settings)
COMMANDS = {
    "gapbench simulate ks": "pde.ks",
    "gapbench simulate ns": "pde.ns",
    "gapbench pde shard ks": "pde.ks",
    "gapbench pde shard ns": "pde.ns",
    "gapbench graphs make planted-star": "graphs.planted_star",
    "gapbench graphs make map": "graphs.map",
    "gapbench graphs make ising": "graphs.ising",
    "gapbench graphs make duplicates": "graphs.duplicates",
    "gapbench graphs download": "graphs.benchmarks",
    "gapbench train pde": ("train.pde.ks", "train.pde"),
    "gapbench train pde-baseline": ("train.pde.ks", "train.pde"),
    "gapbench train graph": ("train.graph.planted_star", "train.graph"),
    "gapbench tables build": "tables",
}
# flag dest -> schema key, where the names differ
RENAMED = {"map_threshold": "map_accuracy_threshold"}
# flags whose default is "take it from the data or the solver module" (None or 0), checked below instead
FROM_ELSEWHERE = {"resolution", "t_end", "n_frames", "dt", "stepper", "length", "batch", "n_samples", "shard_size",
                  "leaves", "depth", "n", "n_graphs", "n_nodes", "budgets", "head_layers", "threads", "split"}


def _section(path: str) -> dict:
    node = SCHEMA
    for key in path.split("."):
        node = node["properties"][key]
    return node["properties"]


def _same(a, b) -> bool:
    return list(a) == list(b) if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) else a == b


def _cli_pairs():
    for leaf in _leaf_parsers(build_parser()):
        if leaf.prog not in COMMANDS:
            continue
        paths = COMMANDS[leaf.prog]
        section = {}  # the first section that has a key gives its default
        for path in (paths,) if isinstance(paths, str) else paths:
            section = {**_section(path), **section}
        for action in leaf._actions:
            key = RENAMED.get(action.dest, action.dest)
            if action.option_strings and key in section and "default" in section[key] \
                    and action.dest not in FROM_ELSEWHERE:
                yield f"{leaf.prog} --{action.dest}", action.default, section[key]["default"]


def test_every_mirrored_command_exists():
    progs = {leaf.prog for leaf in _leaf_parsers(build_parser())}
    assert set(COMMANDS) <= progs, set(COMMANDS) - progs


@pytest.mark.parametrize("where,cli,schema", list(_cli_pairs()), ids=lambda v: v if isinstance(v, str) else "")
def test_cli_default_is_the_schema_default(where, cli, schema):
    assert _same(cli, schema), f"{where}: CLI default {cli!r}, schema default {schema!r}"


def test_solver_module_defaults_are_the_schema_defaults():
    from gapbench.pde import ks, ns

    k, n = _section("pde.ks"), _section("pde.ns")
    assert ks.DEFAULT_BATCH == k["batch"]["default"] and ns.DEFAULT_BATCH == n["batch"]["default"]
    assert ks.DEFAULT_DT == k["dt"]["default"] and ks.DEFAULT_STEPPER == k["stepper"]["default"]
    assert ks.DEFAULT_LENGTH == k["length"]["default"]


@pytest.mark.parametrize("name", ["ks", "ns"])
def test_equation_registry_defaults_are_the_schema_defaults(name):
    """An equation's entry supplies the CLI's defaults (gapbench simulate/pde shard); they are the schema's."""
    import importlib

    from gapbench.pde.equations import EQUATIONS

    eq, sec = EQUATIONS[name], _section(f"pde.{name}")
    solver = importlib.import_module(f"gapbench.pde.{name}")
    assert eq.default_batch == sec["batch"]["default"] == solver.DEFAULT_BATCH
    assert eq.default_stepper == sec["stepper"]["default"]
    if eq.default_dt is not None:
        assert eq.default_dt == sec["dt"]["default"] == solver.DEFAULT_DT
    if eq.length is None:
        assert eq.default_length == sec["length"]["default"] == solver.DEFAULT_LENGTH
    else:
        assert "length" not in sec


def test_the_schema_describes_exactly_the_built_in_equations():
    """Every built-in equation has its three sections and is in both equation lists; plugins add theirs at run time
    (gapbench.pde.equations.extend_schema)."""
    from gapbench.pde.equations import EQUATIONS

    built_in = [n for n, eq in EQUATIONS.items() if eq.schema is None]
    assert built_in == ["ks", "ns"]
    for path in ("pde.equations", "train.pde.equations"):
        node = SCHEMA
        for key in path.split("."):
            node = node["properties"][key]
        assert node["items"]["enum"] == built_in
    for name in built_in:
        assert _section(f"pde.{name}") and _section(f"pde.observe.{name}") and _section(f"train.pde.{name}")


def _dataclasses():
    from gapbench.graphs.duplicates import DuplicatesParams
    from gapbench.graphs.ising import IsingParams
    from gapbench.graphs.map_paths import MapParams
    from gapbench.graphs.planted import PlantedStarParams
    from gapbench.models.pde_registry import ModelHyper
    from gapbench.tables.stats import StatsOptions
    from gapbench.train.graph import GraphTrainSpec
    from gapbench.train.pde import TrainParams

    return [(PlantedStarParams, "graphs.planted_star"), (MapParams, "graphs.map"), (IsingParams, "graphs.ising"),
            (DuplicatesParams, "graphs.duplicates"), (ModelHyper, "train.pde.ks"), (TrainParams, "train.pde.ks"),
            (GraphTrainSpec, "train.graph.planted_star"), (StatsOptions, "tables")]


def _dataclass_pairs():
    for cls, path in _dataclasses():
        section = _section(path)
        for f in dataclasses.fields(cls):
            key = RENAMED.get(f.name, f.name)
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            if key in section and "default" in section[key] and default is not dataclasses.MISSING \
                    and f.name not in FROM_ELSEWHERE - {"split"}:
                yield f"{cls.__name__}.{f.name}", default, section[key]["default"]


@pytest.mark.parametrize("where,field,schema", list(_dataclass_pairs()), ids=lambda v: v if isinstance(v, str) else "")
def test_dataclass_default_is_the_schema_default(where, field, schema):
    assert _same(field, schema), f"{where}: default {field!r}, schema default {schema!r}"


def test_the_pairs_cover_the_disagreements_once_found():
    """The test reaches the flags that once disagreed (guards against a mapping that silently skips them)."""
    seen = {w for w, _, _ in _cli_pairs()}
    assert {"gapbench train graph --depths", "gapbench train graph --lrs", "gapbench train graph --epochs",
            "gapbench tables build --delta_metric", "gapbench graphs make map --hard_fraction",
            "gapbench train pde-baseline --valid_threshold", "gapbench train pde --checkpoint_every"} <= seen
