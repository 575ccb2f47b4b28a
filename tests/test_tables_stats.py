"""Statistics of the tables: summaries over seeds and the two significance tests (stats.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from gapbench.tables.stats import StatsOptions, compare, contrast, summarize

WELCH = StatsOptions("welch", 0.05)
BOOT = StatsOptions("bootstrap", 0.05, bootstrap_resamples=4000, seed=3)


def test_summary_mean_std_and_flags():
    s = summarize([1.0, 2.0, 3.0], 3)
    assert (s.mean, s.std, s.n, s.n_expected, s.flag) == (2.0, 1.0, 3, 3, "")
    assert summarize([1.0, 3.0], 3).flag == "partial"
    one = summarize([0.5], 1)
    assert one.std is None and one.flag == ""
    empty = summarize([], 4)
    assert (empty.mean, empty.n, empty.n_expected, empty.flag) == (None, 0, 4, "missing")


def test_welch_two_sample_equals_scipy():
    a, b = [0.50, 0.52, 0.55, 0.49], [0.40, 0.47, 0.41]
    t = compare(a, b, WELCH)
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert t.estimate == pytest.approx(np.mean(a) - np.mean(b))
    assert t.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert t.significant == (ref.pvalue < 0.05)
    assert t.ci_low < t.estimate < t.ci_high


def test_welch_contrast_of_four_groups():
    """Delta(low) - Delta(high) with Welch-Satterthwaite df, computed by hand."""
    g = [[0.50, 0.52, 0.54], [0.10, 0.11, 0.12], [0.30, 0.31, 0.32], [0.25, 0.26, 0.27]]
    w = [1, -1, -1, 1]
    t = contrast(g, w, WELCH)
    v = [np.var(x, ddof=1) / len(x) for x in g]
    se2 = sum(v)
    df = se2**2 / sum(vi**2 / 2 for vi in v)
    p = 2 * sps.t.sf(abs(0.36 / math.sqrt(se2)), df)
    assert t.estimate == pytest.approx(0.36)
    assert t.p_value == pytest.approx(p)
    assert t.significant and t.direction == 1


def test_not_testable_and_exact_cases():
    t = compare([0.3], [0.1, 0.2], WELCH)
    assert t.significant is None and t.estimate == pytest.approx(0.15) and t.mark() == "(n/t)"
    assert compare([], [0.1, 0.2], WELCH).estimate is None
    exact = compare([0.3, 0.3], [0.1, 0.1], WELCH)
    assert exact.significant is True and exact.p_value == 0.0
    assert compare([0.3, 0.3], [0.3, 0.3], BOOT).significant is False


def test_bootstrap_is_seeded_and_sensible():
    a, b = [0.50, 0.52, 0.54], [0.10, 0.11, 0.12]
    t1, t2 = compare(a, b, BOOT), compare(a, b, BOOT)
    assert t1 == t2 and t1.significant and t1.ci_low > 0
    overlap = compare([0.30, 0.35, 0.40], [0.32, 0.36, 0.38], BOOT)
    assert overlap.significant is False and overlap.ci_low < 0 < overlap.ci_high


def test_holm_step_down_against_hand_computation():
    """p = (0.01, 0.04, 0.03, 0.005), alpha 0.05: sorted thresholds 0.0125, 0.0167, 0.025, 0.05 -> the two
    smallest are rejected, then 0.03 > 0.025 stops (0.04 <= 0.05 is not rejected: step-down)."""
    from gapbench.tables.stats import holm

    assert holm([0.01, 0.04, 0.03, 0.005], 0.05) == [True, False, False, True]
    assert holm([0.001, 0.002], 0.05) == [True, True]
    assert holm([0.2], 0.05) == [False] and holm([], 0.05) == []
