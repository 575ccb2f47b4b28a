"""Graph dataset variant names, made and parsed here and nowhere else.

A *variant* names one dataset of a kind. It is the directory ``results/data/graphs/{kind}/{variant}/`` and the run
directory ``results/train/graph/{kind}/{variant}/``, and it is **also the RNG label of the dataset**: every random
draw of a generated dataset is seeded by ``gapbench.graphs.data.rng(seed, kind, variant, ...)``. The string is
therefore part of the data's identity: changing a format changes the data drawn, not only a folder name.

Each kind's format is written once, in its registry entry (:attr:`gapbench.graphs.kinds.DatasetKind.variant`):

=============  ==========================================  ======================================
kind           variant                                     parameters
=============  ==========================================  ======================================
planted_star   ``n{leaves}-k{depth}-{law}-s{data_seed}``   leaves, planted depth, law, data seed
map            ``n{n}``                                    path vertices
ising          ``{tree}``                                  tree family
duplicates     ``n{n}``                                    leaves
benchmark      ``{name}``                                  benchmark name
=============  ==========================================  ======================================

The training stage's ``memory`` experiment names its runs ``{task}-{variant}`` after the dataset it trains on
(``planted_star-n16-k2-paper-s0``); :func:`memory_variant` and :func:`parse` (kind ``memory``) make and read that name.
:func:`wildcard_regex` turns a format into a Snakemake wildcard constraint.
"""

from __future__ import annotations

import itertools
import re
import string

from gapbench.errors import ConfigError
from gapbench.graphs.kinds import DATASET_KINDS, INT, rule_args

MEMORY_TASKS = ("planted_star", "duplicates")  # kinds the memory experiment trains on


def fields(kind: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(DATASET_KINDS[kind].variant) if f]


def make(kind: str, **params) -> str:
    """The variant of the ``kind`` dataset with ``params`` (the fields of its format, extra keys ignored)."""
    return DATASET_KINDS[kind].variant.format(**{f: params[f] for f in fields(kind)})


def _field_regex(kind: str, name: str) -> str:
    allowed = DATASET_KINDS[kind].variant_fields[name]
    return r"\d+" if allowed == INT else "|".join(re.escape(a) for a in allowed)


def _regex(kind: str) -> re.Pattern:
    out = ""
    for literal, name, _, _ in string.Formatter().parse(DATASET_KINDS[kind].variant):
        out += re.escape(literal)
        if name:
            out += f"(?P<{name}>{_field_regex(kind, name)})"
    return re.compile(out)


def wildcard_regex(kind: str) -> str:
    """A regular expression matching exactly the variant names of ``kind`` (a Snakemake wildcard constraint)."""
    return re.sub(r"\(\?P<\w+>", "(?:", _regex(kind).pattern)


def parse(kind: str, variant: str) -> dict:
    """The parameters a variant name encodes (``{}`` when it is not one of ``kind``'s names).

    Kind ``memory``: the name ``{task}-{variant}`` gives the dataset's parameters plus ``task`` and ``n`` (the
    leaves of a planted star, the ``n`` of a duplicate dataset)."""
    if kind == "memory":
        for task in MEMORY_TASKS:
            if variant.startswith(task + "-"):
                inner = parse(task, variant[len(task) + 1:])
                n = inner.get("leaves", inner.get("n"))
                return {**inner, "task": task, "n": n} if n is not None else {}
        return {}
    if kind not in DATASET_KINDS:
        return {}
    m = _regex(kind).fullmatch(variant)
    if m is None:
        return {}
    integer = DATASET_KINDS[kind].variant_fields
    return {k: int(v) if integer[k] == INT else v for k, v in m.groupdict().items()}


def memory_variant(task: str, **params) -> str:
    """Run name of the memory experiment on the ``task`` dataset with ``params``: ``{task}-{variant}``."""
    return f"{task}-{make(task, **params)}"


def grid_of_config(config: dict, kind: str) -> list[dict]:
    """Variant fields of every dataset of ``kind`` the config's ``graphs`` section asks for: the product of the
    kind's ``grid`` lists, in config order (an empty list, or a config without the kind's section, turns the
    kind off)."""
    entry = DATASET_KINDS[kind]
    section = config["graphs"].get(entry.config_section)
    if section is None:
        return []
    keys = list(entry.grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(section[entry.grid[k]] for k in keys))]


def of_config(config: dict, kind: str) -> list[str]:
    """Variants of ``kind`` the config's ``graphs`` section asks for (an empty list turns the kind off)."""
    return [make(kind, **params) for params in grid_of_config(config, kind)]


def make_command(config: dict, kind: str, variant: str, out: str) -> list[str]:
    """The ``gapbench`` command (as words) that makes the dataset ``{kind}/{variant}`` in directory ``out``:
    ``graphs make`` with the kind's flags (:func:`make_args`), the section's ``n_graphs``, ``graphs.split`` and
    ``seed``."""
    entry = DATASET_KINDS[kind]
    return ["graphs", "make", entry.command, *make_args(config, kind, variant),
            "--n-graphs", str(config["graphs"][entry.config_section]["n_graphs"]),
            "--split", *map(str, config["graphs"]["split"]), "--seed", str(config["seed"]),
            "--out", out]


def make_args(config: dict, kind: str, variant: str) -> list[str]:
    """:func:`gapbench.graphs.kinds.rule_args` of the dataset ``{kind}/{variant}`` (the graph_data rule's
    wildcards)."""
    fields = parse(kind, variant)
    if not fields:
        raise ConfigError(f"{kind}/{variant}: not a {kind} variant name; allowed: {wildcard_regex(kind)}")
    return rule_args(config, DATASET_KINDS[kind], fields)
