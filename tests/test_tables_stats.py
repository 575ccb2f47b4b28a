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


@pytest.mark.parametrize(
    "pvalues,alpha,reject",
    [
        # Holm (1979)-style worked example: sorted p against alpha/4, alpha/3, alpha/2, alpha/1
        ([0.01, 0.04, 0.03, 0.005], 0.05, [True, False, False, True]),  # 0.005<=.0125, 0.01<=.0167, 0.03>.025 stop
        ([0.001, 0.012, 0.02, 0.04], 0.05, [True, True, True, True]),  # .001<=.0125 .012<=.0167 .02<=.025 .04<=.05
        ([0.2, 0.3], 0.05, [False, False]),
        ([0.03], 0.05, [True]),  # one test: no correction
        ([0.026, 0.026], 0.05, [False, False]),  # Bonferroni's first step already fails
        ([], 0.05, []),
    ],
)
def test_holm_on_fixtures(pvalues, alpha, reject):
    from gapbench.tables.stats import holm, holm_adjusted

    assert holm(pvalues, alpha) == reject
    assert [p <= alpha for p in holm_adjusted(pvalues)] == reject


def test_holm_adjusted_values_and_brute_force():
    """Adjusted p-values of a fixture, and agreement with the step-down rule at many alphas on random draws."""
    from gapbench.tables.stats import holm, holm_adjusted

    assert holm_adjusted([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    rng = np.random.default_rng(1)
    for _ in range(200):
        p = list(rng.uniform(0, 0.2, size=rng.integers(1, 7)))
        for alpha in (0.01, 0.05, 0.1):
            order = np.argsort(p)
            expect = [False] * len(p)
            for rank, i in enumerate(order):  # brute force: the textbook loop
                if p[i] <= alpha / (len(p) - rank):
                    expect[i] = True
                else:
                    break
            assert holm(p, alpha) == expect


def test_ratio_ci_by_delta_method():
    from scipy import stats as st

    from gapbench.tables.stats import ratio

    a, b = [0.50, 0.52, 0.54], [0.10, 0.11, 0.12]
    r = ratio(a, b, 0.05)
    assert r.estimate == pytest.approx(0.52 / 0.11)
    ta, tb = np.var(a, ddof=1) / (3 * 0.52**2), np.var(b, ddof=1) / (3 * 0.11**2)
    se = np.sqrt(ta + tb)
    df = (ta + tb) ** 2 / (ta**2 / 2 + tb**2 / 2)
    half = st.t.ppf(0.975, df) * se
    assert (r.ci_low, r.ci_high) == pytest.approx((0.52 / 0.11 * np.exp(-half), 0.52 / 0.11 * np.exp(half)))
    assert r.significant
    assert ratio([0.5, 0.52], [0.5, 0.53], 0.05).significant is False  # CI covers 1
    assert ratio([0.5], [0.4, 0.41], 0.05).significant is None  # one seed: not testable
