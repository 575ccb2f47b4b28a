"""One look for every figure: a fixed colour and marker per model, seed-spread bands, the PNG resolution.

A model keeps its colour in every panel and every figure (:func:`model_color`): the pipeline's models have fixed
colours of matplotlib's ``tab10`` palette, in which no two of them share one; any other model name gets one of
further colours chosen by a hash of the name (the same on every run). Curves carry markers
(:func:`model_marker`), so a curve of a single point is still drawn; :func:`band` shades mean ± std over seeds.
"""

from __future__ import annotations

import zlib

import numpy as np

DPI = 150  # PNG resolution (PDFs are vector)

COLORS = {
    # Part II surrogates and the numerical baseline
    "ffno": "tab:blue", "memno": "tab:orange", "lstm": "tab:green", "attention": "tab:red", "solver": "tab:gray",
    # Part I models
    "node_gcn": "tab:purple", "edge_gcn": "tab:brown", "node_gcn_directed": "tab:pink",
    "edge_gcn_directed": "tab:olive", "deepsets": "tab:cyan", "node_sage": "#008080",
}
EXTRA_COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#000080",
                "#800000")
MARKERS = {"ffno": "o", "memno": "s", "lstm": "^", "attention": "D", "solver": "x", "node_gcn": "o",
           "edge_gcn": "s", "node_gcn_directed": "v", "edge_gcn_directed": "^", "deepsets": "D",
           "node_sage": "P"}
EXTRA_MARKERS = ("P", "X", "*", "h", "<", ">", "p", "d")


def _pick(name: str, choices: tuple) -> str:
    return choices[zlib.crc32(name.encode()) % len(choices)]


def model_color(model: str) -> str:
    """The colour of ``model`` (a base model name such as ``edge_gcn`` or ``memno``) in every figure."""
    return COLORS.get(model) or _pick(model, EXTRA_COLORS)


def model_marker(model: str) -> str:
    return MARKERS.get(model) or _pick(model, EXTRA_MARKERS)


def band(ax, x, mean, std, color: str, alpha: float = 0.18) -> None:
    """Shade ``mean ± std`` (the spread over seeds) behind a curve; nothing when ``std`` is missing."""
    if std is None or len(x) < 2:
        return
    mean, std = np.asarray(mean, dtype=float), np.nan_to_num(np.asarray(std, dtype=float))
    ax.fill_between(x, mean - std, mean + std, color=color, alpha=alpha, linewidth=0)
