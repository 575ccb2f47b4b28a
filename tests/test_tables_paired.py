"""Tests over trajectories (stats.py): Wilcoxon signed-rank, hierarchical bootstrap, trends, TOST."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from gapbench.tables.stats import (StatsOptions, hierarchical_means, paired, paired_trend, signed_rank_p,
                                   tost)

OPTS = StatsOptions("welch", 0.05, bootstrap_resamples=4000, seed=1)


def test_signed_rank_exact_small_samples_by_hand():
    # all n differences positive: the exact two-sided p is 2 / 2^n (only one of the 2^n sign patterns is as extreme)
    assert signed_rank_p(np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])) == pytest.approx(2 / 64)
    # one negative difference of the smallest rank: W- = 1; patterns with W- <= 1 are 2 of 2^6 on each side
    assert signed_rank_p(np.array([-0.1, 0.2, 0.3, 0.4, 0.5, 0.6])) == pytest.approx(2 * 2 / 64)
    assert signed_rank_p(np.zeros(5)) == 1.0
    assert signed_rank_p(np.zeros(0)) is None


def test_paired_delta_ratio_and_p_from_seed_means():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.5, 1.5, size=40)
    a = np.stack([base * 1.3 + rng.normal(0, 0.01, 40) for _ in range(3)])  # 3 seeds
    b = np.stack([base + rng.normal(0, 0.01, 40) for _ in range(2)])        # 2 seeds
    r = paired(a, b, OPTS)
    d = a.mean(0) - b.mean(0)
    assert r.delta == pytest.approx(d.mean())
    assert r.p_value == pytest.approx(sps.wilcoxon(d).pvalue)
    assert r.ratio == pytest.approx(a.mean() / b.mean())
    assert r.delta_ci[0] < r.delta < r.delta_ci[1] and r.ratio_ci[0] < r.ratio < r.ratio_ci[1]
    assert 1.25 < r.ratio_ci[0] and r.ratio_ci[1] < 1.35
    assert (r.n_traj, r.n_seeds, r.significant) == (40, (3, 2), True)
    with pytest.raises(ValueError, match="same trajectories"):
        paired(a, b[:, :30], OPTS)


def test_hierarchical_bootstrap_equals_naive_loop():
    """The vectorised resampling is the two-stage draw written out with loops (same random stream)."""
    rng = np.random.default_rng(5)
    a, b = rng.normal(1, 0.3, (3, 7)), rng.normal(0.8, 0.3, (2, 7))
    fast = hierarchical_means([[a, b]], 50, seed=9)[0]
    gen = np.random.default_rng(9)
    traj = gen.integers(0, 7, size=(50, 7))
    for model, arr in enumerate((a, b)):
        seeds = gen.integers(0, arr.shape[0], size=(50, arr.shape[0]))
        for k in range(50):
            per_traj = [np.mean([arr[s, i] for s in seeds[k]]) for i in range(7)]
            assert fast[model][k] == pytest.approx(np.mean([per_traj[i] for i in traj[k]]))


def test_bootstrap_ci_matches_normal_theory_and_sees_seed_spread():
    rng = np.random.default_rng(2)
    n = 400
    d = rng.normal(0.2, 1.0, n)
    r = paired(d, np.zeros(n), OPTS)  # one seed each: the trajectory bootstrap of a mean
    half = 1.96 * d.std(ddof=1) / math.sqrt(n)
    assert r.delta_ci[0] == pytest.approx(d.mean() - half, abs=0.2 * half)
    assert r.delta_ci[1] == pytest.approx(d.mean() + half, abs=0.2 * half)
    # a per-seed shift (seed-to-seed spread) widens the CI; a per-trajectory paired shift does not enter it
    shifts = np.array([-0.5, 0.0, 0.5])[:, None]
    wide = paired(d[None] + shifts, np.zeros((1, n)), OPTS)
    assert wide.delta_ci[1] - wide.delta_ci[0] > 2 * (r.delta_ci[1] - r.delta_ci[0])
    common = rng.normal(0, 5, n)
    same = paired(d + common, common, OPTS)
    assert same.delta_ci == pytest.approx(r.delta_ci)


def test_constant_differences_give_a_point_ci():
    a = np.array([[1.0, 2.0, 3.0, 4.0]])
    r = paired(a + 0.5, a, OPTS)
    assert r.delta == pytest.approx(0.5) and r.delta_ci == pytest.approx((0.5, 0.5))


def test_trend_paired_and_unpaired_tests():
    rng = np.random.default_rng(3)
    a1, b1 = rng.uniform(1, 2, 30), rng.uniform(0, 1, 30)
    a2, b2 = rng.uniform(1, 2, 30), rng.uniform(1, 2, 30)
    same = paired_trend((a1, b1), (a2, b2), True, OPTS)
    d1, d2 = a1 - b1, a2 - b2
    assert same.delta == pytest.approx(d1.mean() - d2.mean())
    assert same.p_value == pytest.approx(sps.wilcoxon(d1 - d2).pvalue) and same.test == "wilcoxon"
    other = paired_trend((a1, b1), (a2[:20], b2[:20]), False, OPTS)
    assert other.p_value == pytest.approx(sps.mannwhitneyu(d1, d2[:20], alternative="two-sided").pvalue)
    assert other.test == "mannwhitney" and other.n_traj == 50
    assert other.delta_ci[0] < other.delta < other.delta_ci[1]


@pytest.mark.parametrize("shift, equivalent", [(0.0, True), (0.3, False), (-0.05, True)])
def test_tost_equals_two_one_sided_scipy_tests(shift, equivalent):
    rng = np.random.default_rng(4)
    d = rng.normal(shift, 0.2, 60)
    margin = 0.15
    e = tost(d, margin, 0.05)
    lower = sps.ttest_1samp(d, -margin, alternative="greater").pvalue
    upper = sps.ttest_1samp(d, margin, alternative="less").pvalue
    assert e.p_value == pytest.approx(max(lower, upper), rel=1e-9)
    assert e.equivalent == equivalent == (e.p_value < 0.05)
    # TOST at alpha <=> the 1 - 2 alpha t-interval inside (-margin, margin)
    assert e.equivalent == (-margin < e.ci[0] and e.ci[1] < margin)
    assert e.outside == (e.ci[0] > margin or e.ci[1] < -margin)


def test_tost_exact_and_bad_input():
    assert tost(np.full(5, 0.01), 0.1, 0.05).equivalent
    assert not tost(np.full(5, 0.2), 0.1, 0.05).equivalent
    with pytest.raises(ValueError, match="positive margin"):
        tost(np.ones(5), 0.0, 0.05)
