"""The one place that names a kind of model: PDE surrogates, their memory mixers, and graph models.

Everything that lists model names derives from the registries below: the config check (:func:`check`, model names
in ``train.pde.models`` and ``train.graph.*.models``), the Snakemake wildcard constraints
(:func:`wildcard_pattern`), the row order of the tables (:func:`order`), the colour and marker of a model in every
figure (:mod:`gapbench.tables.style`), the trainers' ``--model`` checks, and the memory-layer flags a PDE job gets
(:attr:`PDEModel.settings`).

**Bring your own model.** A Python module on ``PYTHONPATH`` (or an installed package) registers more kinds when it
is imported, with :func:`register_mixer` (a causal sequence mixer: it becomes the memory layer of a MemNO-shaped PDE
model of the same name) or :func:`register_graph_model` (a graph model class). Name the module in the config key
``plugins``; the workflow imports it before it builds the jobs and exports it in ``GAPBENCH_PLUGINS``, which every
``gapbench`` command imports at start-up (:func:`load_plugins`). docs/extending.md has the recipes.

Built-in entries name their classes as ``"module:attribute"`` strings, so importing this module (the workflow and
the tables do) does not import torch.
"""

from __future__ import annotations

import copy
import importlib
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from gapbench.errors import ConfigError

PLUGINS_ENV = "GAPBENCH_PLUGINS"
NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # a kind's name is a path component and a wildcard value
# Hyperparameters a memory mixer may read, all from train.pde.{eq} (the schema documents them).
MIXER_SETTINGS = ("state_size", "heads")
# A model's role in the comparisons: claims, tables and figure styles read it, never a name prefix.
GRAPH_FAMILIES = ("node", "edge", "set")
PDE_FAMILIES = ("markovian", "memory")


def resolve(target: str | Callable) -> Callable:
    """A class or function, or ``"module:attribute"`` imported on first use."""
    if callable(target):
        return target
    module, attribute = target.split(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class Mixer:
    """A causal sequence mixer: ``build(width, **settings)`` returns a module mapping ``[n, t, width]`` to
    ``[n, t, width]`` with output ``t`` depending only on inputs ``<= t``, plus ``init_state(n, device)`` and
    ``step(x_t [n, width], state) -> (y_t, state)`` for the rollout (see :mod:`gapbench.models.memory`)."""

    name: str
    build: str | Callable
    settings: tuple[str, ...] = ()
    module: str = field(default="", compare=False)  # source module, part of a checkpoint's code version

    def make(self, width: int, **settings: Any):
        return resolve(self.build)(width, **{key: settings[key] for key in self.settings})


@dataclass(frozen=True)
class PDEModel:
    """A learned PDE surrogate: the FFNO stack (``memory`` None) or the FFNO stack with one memory layer of mixer
    ``memory``. (The baselines - persistence, zero, the solvers - are rows of their own, :mod:`gapbench.tables.pde`.)"""

    name: str
    memory: str | None = None
    label: str = ""
    color: str | None = None
    marker: str | None = None
    family: str = "markovian"  # markovian | memory: which side of "memory helps" the model is on
    window: bool = False  # the FFNO stack lifted from the last `warmup` frames stacked as channels

    @property
    def settings(self) -> tuple[str, ...]:
        """The train.pde.{eq} keys a job of this model reads beyond the FFNO's: a job gets only its own, so changing
        ``state_size`` re-runs MemNO alone (Snakemake re-runs a job when its params change)."""
        if self.memory is None:
            return ()
        return ("memory_position", *MIXERS[self.memory].settings)


@dataclass(frozen=True)
class GraphModel:
    """A graph model: ``build(in_dim, out_dim, depth, width, **kw)`` with the keyword arguments of
    :class:`gapbench.models.gnn._GraphModel` (subclassing it gives heads, encoders and ``reset_parameters``)."""

    name: str
    build: str | Callable
    label: str = ""
    color: str | None = None
    marker: str | None = None
    module: str = field(default="", compare=False)  # source module, part of a checkpoint's code version
    family: str = "node"  # node | edge | set: which side of "edge beats node" the model is on


MIXERS: dict[str, Mixer] = {}
PDE_MODELS: dict[str, PDEModel] = {}
GRAPH_MODELS: dict[str, GraphModel] = {}


def _module(build: str | Callable) -> str:
    return build.split(":")[0] if isinstance(build, str) else build.__module__


def check_family(kind: str, name: str, family: str, allowed: tuple[str, ...]) -> None:
    """ConfigError unless ``family`` is one of ``allowed``."""
    if family not in allowed:
        raise ConfigError(f"{kind} {name!r}: family {family!r} is not allowed; allowed: {', '.join(allowed)}")


def family_of(name: str) -> str | None:
    """The registered family of a PDE or graph model (None for an unregistered name or a baseline)."""
    entry = PDE_MODELS.get(name) or GRAPH_MODELS.get(name)
    return entry.family if entry is not None else None


def check_name(kind: str, name: str, taken: dict) -> None:
    """ConfigError unless ``name`` is a valid name for a new ``kind`` (not in ``taken``)."""
    if not isinstance(name, str) or not NAME.match(name):
        raise ConfigError(f"{kind} name {name!r}: allowed: lower-case letters, digits and _, starting with a letter")
    if name in taken:
        raise ConfigError(f"{kind} {name!r} is already registered; registered: {', '.join(taken)}")


def register_mixer(name: str, build: str | Callable, settings: tuple[str, ...] = (), *, label: str = "",
                   color: str | None = None, marker: str | None = None, model: str | None = None) -> None:
    """Register memory mixer ``name`` and the PDE model ``model`` (default: ``name``) that uses it.

    ``settings`` are the keys of :data:`MIXER_SETTINGS` that ``build`` takes as keyword arguments."""
    check_name("memory mixer", name, MIXERS)
    unknown = [s for s in settings if s not in MIXER_SETTINGS]
    if unknown:
        raise ConfigError(f"memory mixer {name!r}: unknown settings {unknown}; allowed: {', '.join(MIXER_SETTINGS)}")
    model = model or name
    check_name("PDE model", model, PDE_MODELS)
    MIXERS[name] = Mixer(name, build, tuple(settings), _module(build))
    PDE_MODELS[model] = PDEModel(model, name, label or model, color, marker, family="memory")


def register_pde_model(name: str, *, label: str = "", color: str | None = None, marker: str | None = None,
                       family: str = "markovian", window: bool = False) -> None:
    """Register a PDE model without memory (the FFNO stack); ``family`` is one of :data:`PDE_FAMILIES`;
    ``window``: its input is the last ``train.pde.{eq}.warmup`` frames stacked as channels."""
    check_name("PDE model", name, PDE_MODELS)
    check_family("PDE model", name, family, PDE_FAMILIES)
    PDE_MODELS[name] = PDEModel(name, None, label or name, color, marker, family, window)


def register_graph_model(name: str, build: str | Callable, *, family: str, label: str = "",
                         color: str | None = None, marker: str | None = None) -> None:
    """Register graph model ``name`` (a class or factory, see :class:`GraphModel`) in ``family`` (one of
    :data:`GRAPH_FAMILIES`: node-based, edge-based, or a set model that ignores edges)."""
    check_name("graph model", name, GRAPH_MODELS)
    check_family("graph model", name, family, GRAPH_FAMILIES)
    GRAPH_MODELS[name] = GraphModel(name, build, label or name, color, marker, _module(build), family)


def build_graph_model(name: str, *args: Any, **kw: Any):
    if name not in GRAPH_MODELS:
        raise ValueError(f"unknown graph model {name!r}; registered: {', '.join(GRAPH_MODELS)}")
    return resolve(GRAPH_MODELS[name].build)(*args, **kw)


def plugin_code(name: str) -> tuple[str, ...]:
    """Modules outside gapbench that define model ``name`` (its plugin), for a checkpoint's code version: editing
    a plugin retrains its runs as editing gapbench's own model code does (gapbench.train.resume)."""
    pde = PDE_MODELS.get(name)
    entry = MIXERS.get(pde.memory) if pde is not None and pde.memory else GRAPH_MODELS.get(name)
    module = entry.module if entry is not None else ""
    return () if not module or module.split(".")[0] == "gapbench" else (module,)


def order(name: str, registry: dict) -> tuple[int, str]:
    """Sort key of a model name: registration order (built-ins first), then unregistered names alphabetically."""
    names = list(registry)
    return (names.index(name), "") if name in names else (len(names), name)


def wildcard_pattern(registry: dict) -> str:
    """Regular expression matching exactly the registered names (a Snakemake wildcard constraint)."""
    return "|".join(re.escape(name) for name in registry)


def style_of(name: str) -> tuple[str | None, str | None]:
    """(colour, marker) a model was registered with; (None, None) for none."""
    entry = PDE_MODELS.get(name) or GRAPH_MODELS.get(name)
    return (entry.color, entry.marker) if entry else (None, None)


def load_plugins(modules: list[str] | tuple[str, ...] | None = None) -> list[str]:
    """Import each plugin module once (default: the comma-separated ``GAPBENCH_PLUGINS``); return the names.

    A module that cannot be imported is a ConfigError naming it."""
    if modules is None:
        modules = [m for m in os.environ.get(PLUGINS_ENV, "").split(",") if m]
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise ConfigError(f"config key plugins: cannot import {name!r} ({err}); allowed: a module on "
                              "PYTHONPATH or installed, that registers models (docs/extending.md)") from None
    return list(modules)


def _schema_at(schema: dict, path: str) -> dict:
    """The schema of the config key at dotted ``path`` (``"train.pde.ks"``)."""
    for part in path.split("."):
        schema = schema["properties"][part]
    return schema


def add_config_sections(schema: dict, entry: str, sections: dict[str, dict | str | None], how: str,
                        name: str = "", enums: tuple[str, ...] = ()) -> None:
    """Give the config schema the sections of a registered entry that it lacks (a plugin's), in place.

    ``sections`` maps the dotted config path of each section (``"graphs.foo"``) to its schema, to the dotted path
    of a section whose shape it copies (``"train.graph.ising"``), or to None when the entry brought none. A section
    the schema file already has (a built-in's) is left as it is; a missing one without a schema is a ConfigError
    naming ``entry`` and ``how`` to register it with one. ``enums``: dotted paths of lists whose ``items`` enum
    gains ``name``. Equations (:mod:`gapbench.pde.equations`) and graph dataset kinds
    (:mod:`gapbench.graphs.kinds`) bring their sections this way; ``gapbench.config`` calls both."""
    for path, section in sections.items():
        parent, key = path.rsplit(".", 1)
        properties = _schema_at(schema, parent)["properties"]
        if key in properties:
            continue
        if section is None:
            raise ConfigError(f"{entry} has no section {path} in the config schema and was registered without "
                              f"one; allowed: {how}")
        properties[key] = copy.deepcopy(_schema_at(schema, section) if isinstance(section, str) else section)
    for path in enums:
        items = _schema_at(schema, path)["items"]
        if name not in items["enum"]:
            items["enum"] = [*items["enum"], name]


def _unknown(names, registry: dict, key: str, kind: str) -> None:
    for i, name in enumerate(names):
        if name not in registry:
            where = f"{key}[{i}]" if isinstance(names, list) else f"{key}.{name}"
            raise ConfigError(f"config key {where}: unknown {kind} {name!r}; allowed: "
                              f"{', '.join(registry)} (plugins register more)")


def check(config: dict) -> None:
    """Import the config's ``plugins``, then check every model name the config asks for is registered."""
    load_plugins(config.get("plugins", []))
    train = config.get("train", {})
    _unknown(train.get("pde", {}).get("models", []), PDE_MODELS, "train.pde.models", "PDE model")
    for experiment, section in train.get("graph", {}).items():
        if isinstance(section, dict):
            _unknown(section.get("models", []), GRAPH_MODELS, f"train.graph.{experiment}.models", "graph model")
            _unknown(section.get("head_layers", {}), GRAPH_MODELS, f"train.graph.{experiment}.head_layers",
                     "graph model")


# ------------------------------------------------------------------------------------------------ built-ins
register_pde_model("ffno", label="FFNO", color="tab:blue", marker="o")
register_pde_model("ffno_window", label="FFNO (window)", color="tab:cyan", marker="v", window=True)
register_mixer("s4", "gapbench.models.memory:S4D", ("state_size",), model="memno", label="MemNO",
               color="tab:orange", marker="s")
register_mixer("lstm", "gapbench.models.memory:LSTMMixer", label="LSTM", color="tab:green", marker="^")
register_mixer("attention", "gapbench.models.memory:CausalAttention", ("heads",), label="attention",
               color="tab:red", marker="D")

register_graph_model("node_gcn", "gapbench.models.gnn:NodeGCN", family="node", label="GCN (node)",
                     color="tab:purple", marker="o")
register_graph_model("node_sage", "gapbench.models.gnn:NodeSAGE", family="node", label="SAGE (node)",
                     color="#008080", marker="P")
register_graph_model("edge_gcn", "gapbench.models.gnn:EdgeGCN", family="edge", label="Edge-GCN",
                     color="tab:brown", marker="s")
register_graph_model("node_gcn_directed", "gapbench.models.gnn:NodeGCNDirected", family="node",
                     label="GCN (node, directed)", color="tab:pink", marker="v")
register_graph_model("edge_gcn_directed", "gapbench.models.gnn:EdgeGCNDirected", family="edge",
                     label="Edge-GCN (directed)", color="tab:olive", marker="^")
register_graph_model("deepsets", "gapbench.models.gnn:DeepSets", family="set", label="DeepSets",
                     color="tab:cyan", marker="D")
