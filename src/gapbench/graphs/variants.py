"""Graph dataset variant names, made and parsed here and nowhere else.

A *variant* names one dataset of a kind. It is the directory ``results/data/graphs/{kind}/{variant}/`` and the run
directory ``results/train/graph/{kind}/{variant}/``, and it is **also the RNG label of the dataset**: every random
draw of a generated dataset is seeded by ``gapbench.graphs.data.rng(seed, kind, variant, ...)``. The string is
therefore part of the data's identity: changing a format below changes the data drawn, not only a folder name.

=============  ======================  ==========================
kind           variant (``FORMATS``)   parameters
=============  ======================  ==========================
planted_star   ``n{leaves}-k{depth}``  leaves, planted depth
map            ``n{n}``                path vertices
ising          ``{tree}``              tree family
duplicates     ``n{n}``                leaves
benchmark      ``{name}``              benchmark name
=============  ======================  ==========================

The training stage's ``memory`` experiment names its runs ``{task}-{variant}`` after the dataset it trains on
(``planted_star-n16-k2``); :func:`memory_variant` and :func:`parse` (kind ``memory``) make and read that name.
A format doubles as a Snakemake wildcard pattern (its fields are the wildcards of the graph_data rules).
"""

from __future__ import annotations

import re
import string

FORMATS = {
    "planted_star": "n{leaves}-k{depth}",
    "map": "n{n}",
    "ising": "{tree}",
    "duplicates": "n{n}",
    "benchmark": "{name}",
}
INTEGER_FIELDS = {"leaves", "depth", "n"}  # the other fields are names
MEMORY_TASKS = ("planted_star", "duplicates")  # kinds the memory experiment trains on


def fields(kind: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(FORMATS[kind]) if f]


def make(kind: str, **params) -> str:
    """The variant of the ``kind`` dataset with ``params`` (the fields of its format, extra keys ignored)."""
    return FORMATS[kind].format(**{f: params[f] for f in fields(kind)})


def _regex(kind: str) -> re.Pattern:
    out = ""
    for literal, field, _, _ in string.Formatter().parse(FORMATS[kind]):
        out += re.escape(literal)
        if field:
            out += rf"(?P<{field}>\d+)" if field in INTEGER_FIELDS else rf"(?P<{field}>[a-z0-9_]+)"
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
    if kind not in FORMATS:
        return {}
    m = _regex(kind).fullmatch(variant)
    if m is None:
        return {}
    return {k: int(v) if k in INTEGER_FIELDS else v for k, v in m.groupdict().items()}


def memory_variant(task: str, **params) -> str:
    """Run name of the memory experiment on the ``task`` dataset with ``params``: ``{task}-{variant}``."""
    return f"{task}-{make(task, **params)}"


def of_config(config: dict, kind: str) -> list[str]:
    """Variants of ``kind`` the config's ``graphs`` section asks for (an empty list turns the kind off)."""
    g = config["graphs"]
    if kind == "planted_star":
        return [make(kind, leaves=n, depth=k) for n in g[kind]["leaves"] for k in g[kind]["depths"]]
    if kind in ("map", "duplicates"):
        return [make(kind, n=n) for n in g[kind]["n"]]
    if kind == "ising":
        return [make(kind, tree=t) for t in g[kind]["trees"]]
    return [make(kind, name=name) for name in g["benchmarks"]["names"]]
