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
NAME_OF_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
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


SETTING_TYPES = {"int": int, "float": float, "bool": bool, "str": str}
_JSON_TYPES = {"int": "integer", "float": "number", "bool": "boolean", "str": "string"}


@dataclass(frozen=True)
class Setting:
    """A hyperparameter of a plugin mixer's own: config key ``train.pde.{eq}.{model}.{name}`` (the schema gains
    it, with this type, default and description), handed to the job as ``--mixer-setting name=value`` and to the
    mixer's constructor as the keyword argument ``name``."""

    name: str
    type: str  # int | float | bool | str
    default: Any
    description: str

    def parse(self, text: str) -> Any:
        """The value of the flag's text, of this setting's type (ConfigError naming the setting otherwise)."""
        if self.type == "bool":
            if text not in ("true", "false", "True", "False"):
                raise ConfigError(f"--mixer-setting {self.name}={text}: allowed: true, false")
            return text in ("true", "True")
        try:
            return SETTING_TYPES[self.type](text)
        except ValueError:
            raise ConfigError(f"--mixer-setting {self.name}={text}: allowed: a value of type {self.type}") from None

    def schema(self) -> dict:
        return {"type": _JSON_TYPES[self.type], "default": self.default, "description": self.description}


@dataclass(frozen=True)
class Mixer:
    """A causal sequence mixer: ``build(width, **settings)`` returns a module mapping ``[n, t, width]`` to
    ``[n, t, width]`` with output ``t`` depending only on inputs ``<= t``, plus ``init_state(n, device)`` and
    ``step(x_t [n, width], state) -> (y_t, state)`` for the rollout (see :mod:`gapbench.models.memory`)."""

    name: str
    build: str | Callable
    settings: tuple[str, ...] = ()
    module: str = field(default="", compare=False)  # source module, part of a checkpoint's code version
    own: tuple[Setting, ...] = ()  # its own hyperparameters (a plugin's), beside the shared ``settings``

    def make(self, width: int, own: dict | None = None, **settings: Any):
        """The mixer for ``width`` channels, with its shared ``settings`` and its ``own`` ones (defaults filled)."""
        values = {s.name: s.default for s in self.own} | dict(own or {})
        unknown = sorted(set(values) - {s.name for s in self.own})
        if unknown:
            raise ConfigError(f"memory mixer {self.name!r}: unknown settings {unknown}; allowed: "
                              f"{', '.join(s.name for s in self.own) or 'none'}")
        return resolve(self.build)(width, **{key: settings[key] for key in self.settings}, **values)


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
    counterpart: str | None = None  # the model of another family it is paired with in the tables' "edge gain"


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


def check_style(kind: str, name: str, color: str | None, marker: str | None, registry: dict) -> None:
    """ConfigError when another model of ``registry`` (the figures that draw them together) already has ``color``
    or ``marker``; the message names the owner."""
    for entry in registry.values():
        for what, mine, theirs in (("colour", color, entry.color), ("marker", marker, entry.marker)):
            if mine is not None and mine == theirs:
                raise ConfigError(f"{kind} {name!r}: {what} {mine!r} is taken by {entry.name!r}; allowed: one no "
                                  "other model has (or none: a free one is chosen)")


def check_name(kind: str, name: str, taken: dict) -> None:
    """ConfigError unless ``name`` is a valid name for a new ``kind`` (not in ``taken``)."""
    if not isinstance(name, str) or not NAME.match(name):
        raise ConfigError(f"{kind} name {name!r}: allowed: lower-case letters, digits and _, starting with a letter")
    if name in taken:
        raise ConfigError(f"{kind} {name!r} is already registered; registered: {', '.join(taken)}")


def register_mixer(name: str, build: str | Callable, settings: tuple[str, ...] = (), *, label: str = "",
                   color: str | None = None, marker: str | None = None, model: str | None = None,
                   own: tuple[Setting, ...] | list[Setting] = ()) -> None:
    """Register memory mixer ``name`` and the PDE model ``model`` (default: ``name``) that uses it.

    ``settings`` are the keys of :data:`MIXER_SETTINGS` (shared by every model, in ``train.pde.{eq}``) that
    ``build`` takes as keyword arguments; ``own`` are its own hyperparameters (:class:`Setting`: any name, a type,
    a default), config keys under ``train.pde.{eq}.{model}``."""
    check_name("memory mixer", name, MIXERS)
    unknown = [s for s in settings if s not in MIXER_SETTINGS]
    if unknown:
        raise ConfigError(f"memory mixer {name!r}: unknown settings {unknown}; allowed: {', '.join(MIXER_SETTINGS)}")
    for s in own:
        if not isinstance(s, Setting) or not NAME.match(s.name) or s.type not in SETTING_TYPES:
            raise ConfigError(f"memory mixer {name!r}: setting {s!r}: allowed: Setting(name, type, default, "
                              f"description) with a lower-case name and type one of {', '.join(SETTING_TYPES)}")
        if not isinstance(s.default, SETTING_TYPES[s.type]) or (s.type != "bool" and isinstance(s.default, bool)):
            raise ConfigError(f"memory mixer {name!r}: setting {s.name!r}: default {s.default!r} is not a {s.type}")
    model = model or name
    check_name("PDE model", model, PDE_MODELS)
    check_style("PDE model", model, color, marker, PDE_MODELS)
    MIXERS[name] = Mixer(name, build, tuple(settings), _module(build), tuple(own))
    PDE_MODELS[model] = PDEModel(model, name, label or model, color, marker, family="memory")


def register_pde_model(name: str, *, label: str = "", color: str | None = None, marker: str | None = None,
                       family: str = "markovian", window: bool = False) -> None:
    """Register a PDE model without memory (the FFNO stack); ``family`` is one of :data:`PDE_FAMILIES`;
    ``window``: its input is the last ``train.pde.{eq}.warmup`` frames stacked as channels."""
    check_name("PDE model", name, PDE_MODELS)
    check_family("PDE model", name, family, PDE_FAMILIES)
    check_style("PDE model", name, color, marker, PDE_MODELS)
    PDE_MODELS[name] = PDEModel(name, None, label or name, color, marker, family, window)


def register_graph_model(name: str, build: str | Callable, *, family: str, label: str = "",
                         color: str | None = None, marker: str | None = None, counterpart: str | None = None) -> None:
    """Register graph model ``name`` (a class or factory, see :class:`GraphModel`) in ``family`` (one of
    :data:`GRAPH_FAMILIES`: node-based, edge-based, or a set model that ignores edges). ``counterpart``: a
    registered model of another family that the tables compare it with at the same budget (``edge gain``: the
    edge model's improvement over the node model; give it on the edge model)."""
    check_name("graph model", name, GRAPH_MODELS)
    check_family("graph model", name, family, GRAPH_FAMILIES)
    check_style("graph model", name, color, marker, GRAPH_MODELS)
    if counterpart is not None:
        other = GRAPH_MODELS.get(counterpart)
        if other is None or other.family == family:
            raise ConfigError(f"graph model {name!r}: counterpart {counterpart!r} is not a registered graph model of "
                              f"another family; allowed: {', '.join(n for n, m in GRAPH_MODELS.items() if m.family != family)}")
    GRAPH_MODELS[name] = GraphModel(name, build, label or name, color, marker, _module(build), family, counterpart)


def pair(model: str) -> tuple[str, str] | None:
    """(edge-side, node-side) base names of a registered counterpart pairing that involves ``model``, else None."""
    entry = GRAPH_MODELS.get(model)
    if entry is not None and entry.counterpart is not None:
        return model, entry.counterpart
    return None


def label_of(name: str) -> str:
    """The registered label of a PDE or graph model, else the name itself (baselines, unregistered names)."""
    entry = PDE_MODELS.get(name) or GRAPH_MODELS.get(name)
    return entry.label if entry is not None else name


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


def plugin_names(value: str) -> list[str]:
    """The module names in a ``GAPBENCH_PLUGINS`` value: separated by commas, spaces or both."""
    return [m for m in re.split(r"[\s,]+", value) if m]


def load_plugins(modules: list[str] | tuple[str, ...] | None = None) -> list[str]:
    """Import each plugin module once (default: those named in ``GAPBENCH_PLUGINS``, :func:`plugin_names`);
    return the names.

    A module that cannot be imported, or raises while it is imported, is a one-line ConfigError naming it and
    where it was named (the config key ``plugins`` or the environment variable)."""
    where = "config key plugins"
    if modules is None:
        modules, where = plugin_names(os.environ.get(PLUGINS_ENV, "")), f"environment variable {PLUGINS_ENV}"
    for name in modules:
        if not NAME_OF_MODULE.match(name):
            raise ConfigError(f"{where}: {name!r} is not a module name; allowed: dotted Python module names, "
                              "separated by commas or spaces")
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise ConfigError(f"{where}: cannot import {name!r} ({err}); allowed: a module on PYTHONPATH or "
                              "installed, that registers models (docs/extending.md)") from None
        except Exception as err:  # a plugin's own bug: one line naming it, not a traceback through gapbench
            raise ConfigError(f"{where}: importing {name!r} raised {type(err).__name__}: "
                              f"{' '.join(str(err).split())}") from None
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


def mixer_settings(model: str) -> tuple[Setting, ...]:
    """The own settings of PDE model ``model``'s mixer (none for a model without memory or without them)."""
    entry = PDE_MODELS.get(model)
    return MIXERS[entry.memory].own if entry is not None and entry.memory else ()


def extend_schema(schema: dict, equations: list[str]) -> None:  # called by gapbench.pde.equations.extend_schema
    """Give ``train.pde.{eq}`` of every equation a section ``{model}`` for each model whose mixer has settings of
    its own (their types, defaults and descriptions), in place."""
    for model in PDE_MODELS:
        own = mixer_settings(model)
        if not own:
            continue
        section = {"type": "object", "additionalProperties": False, "default": {},
                   "description": f"settings of the memory mixer of PDE model {model} (its plugin registers them)",
                   "properties": {s.name: s.schema() for s in own}}
        for eq in equations:
            add_config_sections(schema, f"PDE model {model!r}", {f"train.pde.{eq}.{model}": section}, "")


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
register_pde_model("ffno_window", label="FFNO (window)", color="navy", marker="v", window=True)
register_mixer("s4", "gapbench.models.memory:S4D", ("state_size",), model="memno", label="MemNO",
               color="tab:orange", marker="s")
register_mixer("lstm", "gapbench.models.memory:LSTMMixer", label="LSTM", color="tab:green", marker="^")
register_mixer("attention", "gapbench.models.memory:CausalAttention", ("heads",), label="attention",
               color="tab:red", marker="D")

register_graph_model("node_gcn", "gapbench.models.gnn:NodeGCN", family="node", label="GCN (node)",
                     color="tab:purple", marker="o")
register_graph_model("node_sage", "gapbench.models.gnn:NodeSAGE", family="node", label="SAGE (node)",
                     color="#008080", marker="P")
register_graph_model("node_bilinear", "gapbench.models.gnn_controls:NodeBilinear", family="node",
                     label="bilinear (node)", color="#b8860b", marker="p")
register_graph_model("edge_gcn", "gapbench.models.gnn:EdgeGCN", family="edge", label="Edge-GCN",
                     color="tab:brown", marker="s", counterpart="node_gcn")
register_graph_model("node_gcn_directed", "gapbench.models.gnn:NodeGCNDirected", family="node",
                     label="GCN (node, directed)", color="tab:pink", marker="v")
register_graph_model("edge_gcn_directed", "gapbench.models.gnn:EdgeGCNDirected", family="edge",
                     label="Edge-GCN (directed)", color="tab:olive", marker="^", counterpart="node_gcn_directed")
register_graph_model("deepsets", "gapbench.models.gnn:DeepSets", family="set", label="DeepSets",
                     color="tab:cyan", marker="D")
# Table 1's published GCNs (symmetric normalisation, halving read-out; gapbench.models.gnn_protocols)
register_graph_model("node_gcn_sym", "gapbench.models.gnn_protocols:NodeGCNSym", family="node",
                     label="GCN (sym., node)", color="#4b0082", marker="h")
register_graph_model("edge_gcn_sym", "gapbench.models.gnn_protocols:EdgeGCNSym", family="edge",
                     label="Edge-GCN (sym.)", color="#8b4513", marker="H")
