"""The one place that names a graph dataset kind and everything about it.

A *kind* is a family of graph datasets (planted star, MAP, Ising, duplicates, the downloaded benchmarks). Its
:class:`DatasetKind` entry says

* how one dataset of the kind is named: the variant format (``n{leaves}-k{depth}``) with the values each of its
  fields may take, and which config lists span the variants (``grid``). The variant is the dataset's directory
  name **and its RNG label**: every random draw of a generated dataset is seeded by
  ``gapbench.graphs.data.rng(seed, kind, variant, ...)``, so a format is part of the data's identity (changing it
  changes the data drawn, not only a folder name). :mod:`gapbench.graphs.variants` makes and parses the names;
* how it is generated and checked: its parameter dataclass, its generator ``make(params)`` returning
  ``(splits, meta)`` or ``(splits, meta, extra files)``, and ``verify_labels(path, meta, graphs)`` recomputing
  the stored labels (the store check calls it);
* what it stores (:attr:`DatasetKind.fields`, the shape/dtype spec :func:`gapbench.graphs.data.validate` checks);
* how it is learned and scored (:attr:`DatasetKind.level`, ``loss``, ``metric``);
* the flags of ``gapbench graphs make KIND`` and where the workflow takes each value from (:class:`Flag`), and
  the config check its section needs beyond the schema (``check_config``);
* its table section (:class:`TableSection`) and, optionally, a breakdown of the test metric per node group
  (``test_breakdown``).

Everything that lists dataset kinds derives from :data:`DATASET_KINDS`: the ``graphs make`` subcommands, the
config checks, the graph_data rule and its wildcard constraints, the dataset store (kinds, fields, label check),
the trainer's task, the train_graph paths and the tables. Entries name their code as ``"module:attribute"``
strings, so importing this module (the workflow does) imports neither numpy nor torch.

**A new kind** is one generator module plus one :func:`register_dataset_kind` call plus its ``graphs.{name}`` and
``train.graph.{name}`` config sections: a built-in's (below) are in the schema file; a plugin module's (named in the
config key ``plugins``, as for models: :mod:`gapbench.registry`) come with its entry (``schema``,
``train_schema``) and join the config schema when the config is validated (:func:`extend_schema`, the mechanism
plugin equations use too), so a plugin kind runs through the pipeline like a built-in. docs/extending.md has the
recipe.

**Downloaded benchmarks** are the kind ``benchmark``: variants are the benchmark names, the data comes from
``gapbench graphs download`` and ``gapbench graphs make benchmark`` (their own rules: a download stage first), the
task and metric are those of each benchmark's card (:mod:`gapbench.graphs.benchmarks`), so the entry has no
generator, no flags and ``loss``/``metric`` ``"card"``.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

from gapbench.argtypes import finite_float, number, positive_float
from gapbench.errors import ConfigError
from gapbench.graphs.benchmarks import BENCHMARKS
from gapbench.registry import add_config_sections, check_name, resolve

INT = "int"  # a variant field holding a non-negative integer (any other field holds one of a tuple of names)


@dataclass(frozen=True)
class Flag:
    """One kind-specific flag of ``gapbench graphs make KIND``: ``--{name}`` (``_`` as ``-``) sets the parameter
    field ``name``; ``kwargs`` go to ``argparse.add_argument``.

    ``config`` is where the workflow takes the value from: ``None`` for a field of the variant name, a key of the
    kind's config section ``graphs.{section}``, or a function ``(section, variant fields) -> value``. A boolean
    flag is written ``--name`` / ``--no-name``."""

    name: str
    kwargs: dict = field(default_factory=dict)
    config: str | Callable[[dict, dict], Any] | None = None


@dataclass(frozen=True)
class TableSection:
    """A section of the ``graphical_models`` table: its title and the variant field naming its rows."""

    title: str
    param: str
    smallest_budget: bool = False  # also list the smallest depth x width reaching the accuracy threshold


@dataclass(frozen=True)
class DatasetKind:
    """Everything gapbench knows about one graph dataset kind (see the module docstring)."""

    name: str
    variant: str  # format of the variant name (directory name and RNG label), e.g. "n{leaves}-k{depth}"
    variant_fields: dict[str, str | tuple[str, ...]]  # field -> INT or the allowed names
    grid: dict[str, str]  # variant field -> list key of the config section; the variants are their product
    level: str  # node | graph
    loss: str  # mse | bce | prob_mse, or "card" (from the dataset card)
    metric: str  # rmse | accuracy | mse, or "card"
    fields: dict[str, tuple[str, tuple]]  # stored field -> (dtype, shape), see gapbench.graphs.data
    params: str | type | None = None  # parameter dataclass, fields named as the flags
    make: str | Callable | None = None  # params -> (splits, meta) or (splits, meta, extra files)
    verify_labels: str | Callable | None = None  # (path, meta, graphs) -> None or (index, reason)
    flags: tuple[Flag, ...] = ()
    check_config: str | Callable | None = None  # (config section) -> None, ConfigError naming the key when bad
    help: str = ""
    section: str = ""  # config section graphs.{section} and train.graph.{section} (default: name)
    table: TableSection | None = None
    # (test graphs, per-graph per-node correctness of the selected model, model family, depth, card) -> dict:
    # the kind's breakdown of the test metric, recorded in metrics.json as ``breakdown`` (MAP: the hub route)
    test_breakdown: str | Callable | None = None
    # JSON schemas of a plugin kind's config sections graphs.{section} and train.graph.{section} (None for the
    # latter: the shape of train.graph.ising); built-ins have theirs in the schema file (extend_schema)
    schema: dict | None = field(default=None, compare=False)
    train_schema: dict | None = field(default=None, compare=False)

    @property
    def config_section(self) -> str:
        return self.section or self.name

    @property
    def command(self) -> str:
        """Subcommand of ``gapbench graphs make``."""
        return self.name.replace("_", "-")

    @property
    def higher_is_better(self) -> bool:
        return self.metric in ("accuracy", "ap")

    @property
    def generated(self) -> bool:
        return self.make is not None


DATASET_KINDS: dict[str, DatasetKind] = {}
RESERVED = {"memory"}  # the memory experiment's runs live under train/graph/memory/


def register_dataset_kind(kind: DatasetKind) -> None:
    """Register a dataset kind (a plugin module may call this; docs/extending.md)."""
    if kind.name in RESERVED:
        raise ConfigError(f"dataset kind name {kind.name!r}: allowed: any name but {', '.join(sorted(RESERVED))}")
    check_name("dataset kind", kind.name, DATASET_KINDS)
    DATASET_KINDS[kind.name] = kind


def extend_schema(schema: dict) -> None:
    """Give ``schema`` the config sections of every registered kind it lacks (a plugin's), in place:
    ``graphs.{section}`` is the kind's ``schema``, ``train.graph.{section}`` its ``train_schema`` or, without one,
    the shape of ``train.graph.ising`` (a sweep over depths x widths)."""
    for kind in DATASET_KINDS.values():
        section = kind.config_section
        add_config_sections(schema, f"dataset kind {kind.name!r}",
                            {f"graphs.{section}": kind.schema,
                             f"train.graph.{section}": kind.train_schema or "train.graph.ising"},
                            "DatasetKind(..., schema={...})")


def generated_kinds() -> list[DatasetKind]:
    """The kinds ``gapbench graphs make`` generates (every kind but the downloaded benchmarks)."""
    return [k for k in DATASET_KINDS.values() if k.generated]


def make_params(kind: DatasetKind, values: dict):
    """The parameter dataclass of ``kind`` from parsed flag values (extra keys ignored; lists become tuples)."""
    cls = resolve(kind.params)
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in names})


def generate(kind: DatasetKind, params) -> tuple:
    """``(splits, meta, extra files)`` of one dataset: the kind's generator, extra files ``{}`` when it has none."""
    out = resolve(kind.make)(params)
    return (*out, {}) if len(out) == 2 else tuple(out)


def rule_args(config: dict, kind: DatasetKind, variant: dict) -> list[str]:
    """The kind-specific flags of ``gapbench graphs make KIND`` for one variant of a validated config, as a list of
    shell words (the graph_data rule quotes each)."""
    section = config["graphs"][kind.config_section]
    out: list[str] = []
    for flag in kind.flags:
        if flag.config is None:
            value = variant[flag.name]
        elif callable(flag.config):
            value = flag.config(section, variant)
        else:
            value = section[flag.config]
        option = "--" + flag.name.replace("_", "-")
        if isinstance(value, bool):
            out.append(option if value else "--no-" + option[2:])
        elif value is not None:
            out += [option, *map(str, value if isinstance(value, (list, tuple)) else [value])]
    return out


# ------------------------------------------------------------------------------------------------ built-ins
def _count(lo: int, hi: int, **kw) -> dict:
    return {"type": number(int, lo, hi), **kw}


def _float(kind: str, **kw) -> dict:
    return {"type": {"finite": finite_float, "positive": positive_float, "fraction": number(float, 0, 1)}[kind],
            **kw}


PLANTED_LAWS = ("paper", "centre-bilinear")  # planted.py: the paper's law and this project's earlier one
register_dataset_kind(DatasetKind(
    "planted_star", "n{leaves}-k{depth}-{law}-s{data_seed}",
    {"leaves": INT, "depth": INT, "law": PLANTED_LAWS, "data_seed": INT},
    {"leaves": "leaves", "depth": "depths", "law": "laws", "data_seed": "data_seeds"},
    "node", "mse", "rmse",
    {"x": ("float32", ("N", None)), "edge_index": ("int64", (2, "E")), "y": ("float32", ("N",)),
     "label_mask": ("bool", ("N",))},
    params="gapbench.graphs.planted:PlantedStarParams", make="gapbench.graphs.planted:generate",
    verify_labels="gapbench.graphs.planted:verify_labels",
    flags=(Flag("leaves", _count(1, 1000000, required=True, help="leaves per star")),
           Flag("depth", _count(0, 256, required=True, help="depth k of the planted model")),
           Flag("law", {"choices": PLANTED_LAWS, "default": "paper",
                        "help": "paper: x_0 = 0, teacher eq. 4 without bias on 10-dim states (default); "
                                "centre-bilinear: centre features and the edge_gcn teacher (planted.py)"}),
           Flag("data_seed", _count(0, 2**31 - 1, default=0,
                                    help="teacher draw: seeds the planted model (with the law and k, not the "
                                         "leaves) and the graphs (default 0)")),
           Flag("width", _count(1, 4096, default=10, help="centre-bilinear: width of the planted edge GCN "
                                                          "(default 10; the paper law's states are 10-dim)"),
                "width"),
           Flag("activation", {"choices": ("relu", "tanh", "gelu", "silu", "identity"), "default": "relu",
                               "help": "paper law: the nonlinearity sigma (default relu)"}, "activation"),
           Flag("weight_law", {"choices": ("uniform", "normal"), "default": "uniform",
                               "help": "paper law: W_l ~ U(-s/sqrt(10), s/sqrt(10)) (default) or N(0, s^2/10)"},
                "weight_law"),
           Flag("weight_scale", _float("positive", default=1.0, help="paper law: the scale s of W_l (default 1)"),
                "weight_scale"),
           Flag("readout", {"choices": ("projection", "first"), "default": "projection",
                            "help": "paper law: label = u^T h^(k) with u drawn as W (default) or h^(k)'s first "
                                    "coordinate"}, "readout")),
    help="star graphs, targets from a random planted edge model (planted.py)"))

register_dataset_kind(DatasetKind(
    "map", "n{n}", {"n": INT}, {"n": "n"}, "node", "bce", "accuracy",
    {"x": ("float32", ("N", 2)), "edge_index": ("int64", (2, "E")), "y": ("int64", ("N",)),
     "label_mask": ("bool", ("N",)), "node_energy": ("float32", ("N", 2)), "pair_index": ("int64", (2, "P")),
     "pair_energy": ("float32", ("P", 2, 2)), "edge_attr": ("float32", ("E", 4)), "pair_type": ("int64", ("P",)),
     "clamp_distance": ("int64", ("N",)), "path_index": ("int64", ("N",))},
    params="gapbench.graphs.map_paths:MapParams", make="gapbench.graphs.map_paths:make",
    verify_labels="gapbench.graphs.map_paths:verify_labels", test_breakdown="gapbench.graphs.map_reach:breakdown",
    flags=(Flag("n", _count(1, 1000000, required=True,
                            help="path vertices, a perfect square (sqrt(n) paths of sqrt(n))")),
           Flag("unary_scale", _float("positive", default=0.1, help="std of the unary energies (default 0.1)"),
                "unary_scale"),
           Flag("hard_fraction", _float("fraction", default=1.0,
                                        help="probability that a pair follows the hard law (hub zero, path copy, "
                                             "far-end clamp) instead of the uniform one, in [0, 1] (default 1: "
                                             "all hard; 0: uniform)"), "hard_fraction")),
    check_config="gapbench.graphs.map_paths:check_config",
    help="MAP labels of random pairwise models on hub-and-paths graphs (map_paths.py)",
    table=TableSection("MAP on hub-and-paths graphs: accuracy vs n and budget (higher is better)", "n",
                       smallest_budget=True)))

ISING_TREES = ("binary", "path", "pruefer")
register_dataset_kind(DatasetKind(
    "ising", "{tree}", {"tree": ISING_TREES}, {"tree": "trees"}, "node", "prob_mse", "mse",
    {"x": ("float32", ("N", 1)), "edge_index": ("int64", (2, "E")), "y": ("float32", ("N",)),
     "label_mask": ("bool", ("N",)), "pair_index": ("int64", (2, "P")), "pair_coupling": ("float32", ("P",))},
    params="gapbench.graphs.ising:IsingParams", make="gapbench.graphs.ising:make",
    verify_labels="gapbench.graphs.ising:verify_labels",
    flags=(Flag("tree", {"choices": ISING_TREES, "required": True, "help": "tree family"}),
           Flag("n_nodes", _count(2, 1000000, default=None, help="nodes per tree (default 31 binary, 30 "
                                                                    "path/pruefer)"),
                lambda section, variant: section["n_nodes"][variant["tree"]]),
           Flag("coupling", _float("finite", default=1.0, help="J on every pair (default 1)"), "coupling"),
           Flag("field_std", _float("positive", default=1.0, help="std of the fields h_i (default 1)"),
                "field_std")),
    help="exact Ising marginals on trees (ising.py)",
    table=TableSection("Ising marginals on trees: MSE by tree family and model (lower is better)", "tree")))

register_dataset_kind(DatasetKind(
    "duplicates", "n{n}", {"n": INT}, {"n": "n"}, "node", "bce", "accuracy",
    {"x": ("float32", ("N", None)), "edge_index": ("int64", (2, "E")), "y": ("int64", ("N",)),
     "label_mask": ("bool", ("N",)), "value": ("int64", ("N",))},
    params="gapbench.graphs.duplicates:DuplicatesParams", make="gapbench.graphs.duplicates:make",
    verify_labels="gapbench.graphs.duplicates:verify_labels",
    flags=(Flag("n", _count(4, 1000000, required=True, help="leaves (even, >= 4); inputs in 1..n")),),
    help="star, label = another leaf has the same input (duplicates.py)",
    table=TableSection("Duplicate task on stars: accuracy vs n (higher is better)", "n")))

register_dataset_kind(DatasetKind(
    "benchmark", "{name}", {"name": tuple(BENCHMARKS)}, {"name": "names"}, "graph", "card", "card",
    {"edge_index": ("int64", (2, "E"))}, section="benchmarks",
    help="copy a downloaded benchmark into gapbench's format (benchmarks.py)"))
