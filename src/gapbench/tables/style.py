"""One look for every figure: a fixed colour and marker per model, seed-spread bands, the PNG resolution.

A model keeps its colour in every panel and every figure (:func:`model_color`): a registered model has the colour
it was registered with (:mod:`gapbench.registry`; the built-ins use matplotlib's ``tab10`` palette, no two the
same); any other model name, or a plugin registered without one, gets one of further colours chosen by a hash of
the name (the same on every run). Curves carry markers
(:func:`model_marker`), so a curve of a single point is still drawn; :func:`band` shades mean ± std over seeds.
"""

from __future__ import annotations

import zlib

import numpy as np

from gapbench.registry import style_of

DPI = 150  # PNG resolution (PDFs are vector)

EXTRA_COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#000080",
                "#800000")
EXTRA_MARKERS = ("P", "X", "*", "h", "<", ">", "p", "d")


def _pick(name: str, choices: tuple) -> str:
    return choices[zlib.crc32(name.encode()) % len(choices)]


def model_color(model: str) -> str:
    """The colour of ``model`` (a base model name such as ``edge_gcn`` or ``memno``) in every figure."""
    return style_of(model)[0] or _pick(model, EXTRA_COLORS)


def model_marker(model: str) -> str:
    return style_of(model)[1] or _pick(model, EXTRA_MARKERS)


def band(ax, x, mean, std, color: str, alpha: float = 0.18) -> None:
    """Shade ``mean ± std`` (the spread over seeds) behind a curve; nothing when ``std`` is missing."""
    if std is None or len(x) < 2:
        return
    mean, std = np.asarray(mean, dtype=float), np.nan_to_num(np.asarray(std, dtype=float))
    ax.fill_between(x, mean - std, mean + std, color=color, alpha=alpha, linewidth=0)
