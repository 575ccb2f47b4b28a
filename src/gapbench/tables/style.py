"""One look for every figure: a fixed colour and marker per model, seed-spread bands, the PNG resolution.

A model keeps its colour in every panel and every figure (:func:`model_color`): a registered model has the colour
it was registered with (:mod:`gapbench.registry`; the built-ins use matplotlib's ``tab10`` palette, no two the
same); any other model name, or a plugin registered without one, gets one of further colours chosen by a hash of
the name (the same on every run), skipping those a registered model has. Curves carry markers
(:func:`model_marker`), so a curve of a single point is still drawn; :func:`band` shades mean ± std over seeds.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

from gapbench.registry import GRAPH_MODELS, PDE_MODELS, label_of, style_of

DPI = 150  # PNG resolution (PDFs are vector)

EXTRA_COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#000080",
                "#800000")
EXTRA_MARKERS = ("P", "X", "*", "h", "<", ">", "p", "d")


_RUN_NAME = re.compile(r"^(?P<base>[a-z][a-z0-9_]*)(?:-d(?P<depth>\d+)-w(?P<width>\d+))?(?P<ef>-ef)?$")


def display(model: str) -> str:
    """A model's name in every table and legend: its registered label (gapbench.registry), with a run name's
    fixed budget and edge-feature variant spelled out: ``node_gcn-d1-w4`` -> ``GCN (node) d1 w4``. Baselines and
    unregistered names stay as they are."""
    m = _RUN_NAME.match(model)
    if not m:
        return model
    text = label_of(m["base"])
    if m["depth"]:
        text += f" d{m['depth']} w{m['width']}"
    return text + (" + edge features" if m["ef"] else "")


def _pick(name: str, choices: tuple, taken: set) -> str:
    """A choice fixed by a hash of ``name``: the first one from there on that no registered model has."""
    start = zlib.crc32(name.encode()) % len(choices)
    ring = [choices[(start + i) % len(choices)] for i in range(len(choices))]
    return next((c for c in ring if c not in taken), ring[0])


def _taken(i: int) -> set:
    return {entry.color if i == 0 else entry.marker for entry in (*PDE_MODELS.values(), *GRAPH_MODELS.values())}


def model_color(model: str) -> str:
    """The colour of ``model`` (a base model name such as ``edge_gcn`` or ``memno``) in every figure."""
    return style_of(model)[0] or _pick(model, EXTRA_COLORS, _taken(0))


def model_marker(model: str) -> str:
    return style_of(model)[1] or _pick(model, EXTRA_MARKERS, _taken(1))


def band(ax, x, mean, std, color: str, alpha: float = 0.18) -> None:
    """Shade ``mean ± std`` (the spread over seeds) behind a curve; nothing when ``std`` is missing."""
    if std is None or len(x) < 2:
        return
    mean, std = np.asarray(mean, dtype=float), np.nan_to_num(np.asarray(std, dtype=float))
    ax.fill_between(x, mean - std, mean + std, color=color, alpha=alpha, linewidth=0)
