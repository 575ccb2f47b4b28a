"""The memory-threshold slope and its interval (gapbench.tables.memory), against brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from gapbench.tables import memory

GRID = [2, 4, 8, 16, 32]


def _ols(x, y):
    return float(np.polyfit(x, y, 1)[0])


@pytest.mark.parametrize("widths", [[2, 2, 2, 2], [2, 4, 8, 16], [4, 4, 8, 32], [16, 8, 8, 4]])
def test_slope_and_rounding_range_equal_brute_force_on_a_line(widths):
    """On the log2 scale the slope is numpy's least squares; on a series without scatter about its line the
    interval is exactly the range of least-squares slopes over every corner of the rounding boxes
    [log2(w_prev + 1), log2(w)] (the fit is linear in the points, so the extremes sit at corners)."""
    ns = [8, 16, 32, 64]
    x = [math.log2(n) for n in ns]
    y = [math.log2(w) for w in widths]
    b, low, high = memory.fit_slope(ns, widths, GRID, 0.95)
    assert b == pytest.approx(_ols(x, y), abs=1e-12)
    boxes = [(math.log2(max([g for g in GRID if g < w], default=0) + 1), math.log2(w)) for w in widths]
    corners = [_ols(x, list(c)) for c in itertools.product(*boxes)]
    scatter = sum((yi - np.polyval(np.polyfit(x, y, 1), xi)) ** 2 for xi, yi in zip(x, y))
    if scatter < 1e-20:
        assert low == pytest.approx(min(corners), abs=1e-9) and high == pytest.approx(max(corners), abs=1e-9)
    else:  # scatter widens the range on both sides
        assert low < min(corners) and high > max(corners)


def test_scatter_widens_by_the_t_interval():
    """The residual part is t_{k-2, (1+level)/2} * sqrt(SSR / (k - 2) / Sxx), added on both sides."""
    from scipy import stats

    ns, widths = [8, 16, 32, 64, 128], [2, 8, 4, 16, 16]
    x = np.log2(ns)
    y = np.log2(widths)
    b, low, high = memory.fit_slope(ns, widths, GRID, 0.9)
    fit = np.polyfit(x, y, 1)
    ssr = float(((y - np.polyval(fit, x)) ** 2).sum())
    half = stats.t.ppf(0.95, 3) * math.sqrt(ssr / 3 / ((x - x.mean()) ** 2).sum())
    c = (x - x.mean()) / ((x - x.mean()) ** 2).sum()
    r = [memory.rounding(w, GRID) for w in widths]
    assert low == pytest.approx(b - sum(ci * ri for ci, ri in zip(c, r) if ci > 0) - half)
    assert high == pytest.approx(b + sum(-ci * ri for ci, ri in zip(c, r) if ci < 0) + half)
    assert half > 0.1 and b == pytest.approx(fit[0])


def test_too_few_points_give_no_interval():
    assert memory.fit_slope([8, 16], [2, 4], GRID, 0.95) is None


@pytest.mark.parametrize("readings, verdict", [
    ({"a": ("node", "grows"), "b": ("edge", "flat")}, "supported"),
    ({"a": ("node", "grows"), "b": ("node", "excluded"), "c": ("edge", "flat")}, "supported"),
    ({"a": ("node", "flat"), "b": ("edge", "flat")}, "not supported"),
    ({"a": ("node", "grows"), "b": ("edge", "grows")}, "not supported"),
    ({"a": ("node", "censored"), "b": ("edge", "flat")}, "inconclusive"),
    ({"a": ("node", "excluded"), "b": ("edge", "excluded")}, "inconclusive"),
    ({"a": ("node", "undecided"), "b": ("edge", "flat")}, "inconclusive"),
])
def test_task_verdict(readings, verdict):
    assert memory.task_verdict(readings) == verdict
