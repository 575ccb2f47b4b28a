"""Summary statistics over seeds and the significance tests the tables use.

Every comparison in the tables is a linear contrast of group means, ``C = sum_i w_i * mean_i``: a two-sample
difference is ``w = (1, -1)``; "memory helps more at lower viscosity" is the difference of two Delta nRMSE
(docs/tables.md), ``w = (1, -1, -1, 1)`` over (FFNO, MemNO) at the low and the high viscosity.
Two tests, chosen in the config (``tables.test``), both two-sided at level ``tables.alpha``:

* ``welch``: Welch's t for a contrast. ``se^2 = sum_i w_i^2 s_i^2 / n_i`` (``s_i`` the sample std, ddof=1),
  ``t = C / se``, Welch-Satterthwaite degrees of freedom ``df = se^4 / sum_i (w_i^2 s_i^2 / n_i)^2 / (n_i - 1)``;
  for two groups this is exactly Welch's two-sample t-test. CI: ``C +- t_{1-alpha/2, df} se``.
* ``bootstrap``: resample the seeds of every group with replacement (``tables.bootstrap_resamples`` times, fixed
  seed), percentile CI of ``C``; significant when the CI excludes 0. p: twice the smaller tail mass at 0.

A test needs at least 2 seeds in every group; otherwise it is *not testable* and no mark is given.

**Over trajectories** (the default for Part II, :func:`paired`, :func:`paired_trend`, :func:`tost`): the test
trajectories are shared by every model scored on one dataset, so models are compared per trajectory. With
``a_s(i)`` the nRMSE of trajectory ``i`` under seed ``s`` and ``abar(i)`` its mean over seeds:

* Wilcoxon signed-rank (two-sided, scipy) on the paired differences ``d(i) = abar(i) - bbar(i)``;
* hierarchical bootstrap: per resample, draw every model's seeds with replacement, then the trajectories with
  replacement (one draw shared by the models on those trajectories); percentile CIs of
  ``Delta = mean_i d(i)`` and of the ratio ``mean_i abar(i) / mean_i bbar(i)``;
* a trend (the difference of two Deltas): signed-rank on ``d_1(i) - d_2(i)`` when both settings score the same
  trajectories (resolutions or noise levels of one simulation), Mann-Whitney U on ``d_1`` vs ``d_2`` when they
  do not (viscosities); the bootstrap as above;
* equivalence (TOST, two one-sided t-tests at level alpha on ``d(i)``, df = n - 1): equivalent iff
  ``-margin < mean d < margin`` is shown, i.e. the ``1 - 2 alpha`` t-interval of ``mean d`` lies inside
  ``(-margin, margin)``.

These tests treat the test trajectories as the sample: their verdicts hold for this draw of the data (one
simulation seed); seed-to-seed spread enters through the bootstrap.
Ratios of means (the relative gain FFNO / model) get a delta-method CI (:func:`ratio`); families of tests
(the slices of a trend claim) are corrected by Holm-Bonferroni (:func:`holm`).
When every group has zero spread (identical seeds) the difference is exact: significant iff ``C != 0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TESTS = ("welch", "bootstrap")


@dataclass(frozen=True)
class StatsOptions:
    """How differences are tested (config section ``tables``)."""

    test: str = "welch"
    alpha: float = 0.05
    bootstrap_resamples: int = 10000
    seed: int = 0
    equivalence_margin: float = 0.1  # TOST margin, relative to the Markovian model's mean nRMSE

    def describe(self) -> str:
        if self.test == "welch":
            return f"two-sided Welch's t-test (Welch-Satterthwaite df) over seeds, alpha = {self.alpha:g}"
        return (f"two-sided percentile bootstrap over seeds ({self.bootstrap_resamples} resamples), "
                f"CI {100 * (1 - self.alpha):g}% excludes 0, alpha = {self.alpha:g}")


@dataclass(frozen=True)
class Summary:
    """Mean and sample std (ddof=1; None when n < 2) of the usable seeds, with how many were expected."""

    mean: float | None
    std: float | None
    n: int
    n_expected: int

    @property
    def flag(self) -> str:
        """'' when complete, 'partial' when fewer seeds than expected, 'missing' when none."""
        if self.n == 0:
            return "missing"
        return "partial" if self.n < self.n_expected else ""


def summarize(values: list[float], n_expected: int | None = None) -> Summary:
    """Mean, std (ddof=1) and n of ``values``; ``n_expected`` defaults to ``len(values)``."""
    n = len(values)
    expected = max(n, n_expected if n_expected is not None else n)
    if n == 0:
        return Summary(None, None, 0, expected)
    arr = np.asarray(values, dtype=float)
    std = float(arr.std(ddof=1)) if n >= 2 else None
    return Summary(float(arr.mean()), std, n, expected)


@dataclass(frozen=True)
class TestResult:
    """Outcome of one contrast test: the estimate, its CI and p-value, and whether it is significant."""

    estimate: float | None
    p_value: float | None
    ci_low: float | None
    ci_high: float | None
    significant: bool | None  # None: not testable
    reason: str = ""

    @property
    def direction(self) -> int:
        """+1 significantly positive, -1 significantly negative, 0 otherwise (incl. not testable)."""
        if not self.significant or self.estimate is None:
            return 0
        return 1 if self.estimate > 0 else -1

    def mark(self) -> str:
        """Markdown mark: '*' significant, '(ns)' not significant, '(n/t)' not testable."""
        if self.significant is None:
            return "(n/t)"
        return "*" if self.significant else "(ns)"


def contrast(groups: list[list[float]], weights: list[float], opts: StatsOptions) -> TestResult:
    """Test ``sum_i w_i mean(groups[i]) = 0`` with ``opts.test`` (module docstring)."""
    if opts.test not in TESTS:
        raise ValueError(f"unknown test {opts.test!r}; allowed: {', '.join(TESTS)}")
    if any(len(g) == 0 for g in groups):
        return TestResult(None, None, None, None, None, "a group has no usable seed")
    arrs = [np.asarray(g, dtype=float) for g in groups]
    w = np.asarray(weights, dtype=float)
    est = float(sum(wi * a.mean() for wi, a in zip(w, arrs)))
    if any(len(a) < 2 for a in arrs):
        return TestResult(est, None, None, None, None, "fewer than 2 seeds in a group")
    var_terms = np.array([wi**2 * a.var(ddof=1) / len(a) for wi, a in zip(w, arrs)])
    if float(var_terms.sum()) == 0.0:
        sig = est != 0.0
        return TestResult(est, 0.0 if sig else 1.0, est, est, sig, "no spread over seeds: exact difference")
    if opts.test == "welch":
        return _welch(est, var_terms, [len(a) for a in arrs], opts.alpha)
    return _bootstrap(est, arrs, w, opts)


def compare(a: list[float], b: list[float], opts: StatsOptions) -> TestResult:
    """Two-sample test of ``mean(a) - mean(b)``."""
    return contrast([a, b], [1.0, -1.0], opts)


def _welch(est: float, var_terms: np.ndarray, ns: list[int], alpha: float) -> TestResult:
    from scipy import stats

    se2 = float(var_terms.sum())
    denom = float(sum(v**2 / (n - 1) for v, n in zip(var_terms, ns)))
    df = se2**2 / denom if denom > 0 else math.inf
    se = math.sqrt(se2)
    t = est / se
    p = float(2 * stats.t.sf(abs(t), df))
    half = float(stats.t.ppf(1 - alpha / 2, df)) * se
    return TestResult(est, p, est - half, est + half, p < alpha)


def _bootstrap(est: float, arrs: list[np.ndarray], w: np.ndarray, opts: StatsOptions) -> TestResult:
    rng = np.random.default_rng(opts.seed)
    b = opts.bootstrap_resamples
    total = np.zeros(b)
    for wi, a in zip(w, arrs):
        idx = rng.integers(0, len(a), size=(b, len(a)))
        total += wi * a[idx].mean(axis=1)
    lo, hi = (float(x) for x in np.quantile(total, [opts.alpha / 2, 1 - opts.alpha / 2]))
    p = float(min(1.0, 2 * min((total <= 0).mean(), (total >= 0).mean())))
    return TestResult(est, p, lo, hi, not (lo <= 0.0 <= hi))


def ratio(a: list[float], b: list[float], alpha: float) -> TestResult:
    """Ratio of means ``R = mean(a) / mean(b)`` (e.g. nRMSE(FFNO) / nRMSE(model), the relative gain) with a
    ``1 - alpha`` CI by the delta method on ``log R``:

        se^2 = s_a^2 / (n_a mean(a)^2) + s_b^2 / (n_b mean(b)^2),   CI = R exp(-+ t_{1-alpha/2, df} se),

    ``df`` by Welch-Satterthwaite over the two terms. ``significant`` says whether the CI excludes 1; not
    testable (None) with fewer than 2 values in a group or a non-positive mean.
    """
    from scipy import stats

    if not a or not b:
        return TestResult(None, None, None, None, None, "a group has no usable seed")
    ma, mb = float(np.mean(a)), float(np.mean(b))
    if ma <= 0 or mb <= 0:
        return TestResult(None, None, None, None, None, "a non-positive mean has no log ratio")
    est = ma / mb
    if len(a) < 2 or len(b) < 2:
        return TestResult(est, None, None, None, None, "fewer than 2 seeds in a group")
    terms = np.array([np.var(a, ddof=1) / (len(a) * ma**2), np.var(b, ddof=1) / (len(b) * mb**2)])
    se2 = float(terms.sum())
    if se2 == 0.0:
        return TestResult(est, 0.0 if est != 1.0 else 1.0, est, est, est != 1.0, "no spread over seeds")
    df = se2**2 / float(terms[0] ** 2 / (len(a) - 1) + terms[1] ** 2 / (len(b) - 1))
    se = math.sqrt(se2)
    half = float(stats.t.ppf(1 - alpha / 2, df)) * se
    p = float(2 * stats.t.sf(abs(math.log(est)) / se, df))
    return TestResult(est, p, est * math.exp(-half), est * math.exp(half), p < alpha)


def holm(pvalues: list[float], alpha: float) -> list[bool]:
    """Holm-Bonferroni step-down: which of ``m`` hypotheses to reject at family-wise error rate ``alpha``.

    Sort ``p_(1) <= ... <= p_(m)``; reject ``H_(1..k)`` for the largest ``k`` with ``p_(j) <= alpha / (m - j + 1)``
    for every ``j <= k`` (stop at the first failure). Returned in the input order.
    """
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    reject = [False] * len(pvalues)
    for rank, i in enumerate(order):
        if pvalues[i] > alpha / (len(pvalues) - rank):
            break
        reject[i] = True
    return reject


def holm_adjusted(pvalues: list[float]) -> list[float]:
    """Holm-adjusted p-values ``max_{j <= rank} min(1, (m - j + 1) p_(j))``: ``holm(p, alpha)[i]`` iff ``<= alpha``."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    out = [1.0] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(pvalues) - rank) * pvalues[i]))
        out[i] = running
    return out


# ------------------------------------------------------------------------------------------ over trajectories
MIN_SEEDS_SEED_LEVEL = 3  # seed-level tests (Welch / bootstrap over seeds) need this many seeds per group


@dataclass(frozen=True)
class Paired:
    """A per-trajectory comparison of two models on one dataset (or a trend: two such, contrasted).

    ``delta`` = mean over trajectories of the seed-averaged difference (a - b; a trend: first - second),
    ``p_value`` of ``test`` (``wilcoxon`` or ``mannwhitney``), percentile CIs of the hierarchical bootstrap for
    ``delta`` and (two models only) the ratio ``mean(a) / mean(b)``, and the sample sizes.
    """

    delta: float
    p_value: float | None
    delta_ci: tuple[float, float]
    ratio: float | None
    ratio_ci: tuple[float, float] | None
    n_traj: int
    n_seeds: tuple[int, ...]
    test: str
    alpha: float

    @property
    def significant(self) -> bool | None:
        return None if self.p_value is None else self.p_value < self.alpha

    def result(self) -> TestResult:
        """As a :class:`TestResult` (estimate Delta, p of the rank test, bootstrap CI of Delta)."""
        return TestResult(self.delta, self.p_value, self.delta_ci[0], self.delta_ci[1], self.significant,
                          f"{self.test}, n_traj = {self.n_traj}, seeds = {'/'.join(map(str, self.n_seeds))}")


def _matrix(x) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    return a[None] if a.ndim == 1 else a


def signed_rank_p(d: np.ndarray) -> float | None:
    """Two-sided Wilcoxon signed-rank p-value of ``d`` (scipy; zero differences dropped); 1 when all are 0,
    None when ``d`` is empty."""
    from scipy import stats

    d = np.asarray(d, dtype=float)
    if d.size == 0:
        return None
    if not np.any(d != 0):
        return 1.0
    return float(stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)


def rank_sum_p(x: np.ndarray, y: np.ndarray) -> float | None:
    """Two-sided Mann-Whitney U p-value of ``x`` vs ``y`` (scipy); None when either is empty."""
    from scipy import stats

    if len(x) == 0 or len(y) == 0:
        return None
    return float(stats.mannwhitneyu(x, y, alternative="two-sided").pvalue)


def hierarchical_means(sets: list[list[np.ndarray]], resamples: int, seed: int) -> list[list[np.ndarray]]:
    """Bootstrap means over seeds and trajectories.

    ``sets``: trajectory sets; each a list of per-model arrays ``(seeds_m, n_traj)`` over the same trajectories.
    Per resample and set: each model's seeds are drawn with replacement and averaged per trajectory, then the
    trajectories are drawn with replacement (one draw for all models of the set) and averaged. Returns
    ``out[set][model]``, arrays of ``resamples`` means.
    """
    rng = np.random.default_rng(seed)
    out = []
    for models in sets:
        n = models[0].shape[1]
        traj = rng.integers(0, n, size=(resamples, n))
        means = []
        for a in models:
            seeds = rng.integers(0, a.shape[0], size=(resamples, a.shape[0]))
            per_traj = a[seeds].mean(axis=1)                                    # (B, n)
            means.append(np.take_along_axis(per_traj, traj, axis=1).mean(axis=1))
        out.append(means)
    return out


def _ci(x: np.ndarray, alpha: float) -> tuple[float, float]:
    lo, hi = np.quantile(x, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def paired(a, b, opts: StatsOptions) -> Paired:
    """Model ``a`` vs model ``b`` on the same test trajectories: ``a``, ``b`` are ``(seeds, n_traj)`` (or one
    seed's ``(n_traj,)``) per-trajectory nRMSE, columns in the same trajectory order. Delta = a - b (positive:
    ``b`` is better when the metric is an error), Wilcoxon signed-rank on the seed means, hierarchical bootstrap
    CIs of Delta and of ``mean(a) / mean(b)``."""
    a, b = _matrix(a), _matrix(b)
    if a.shape[1] != b.shape[1] or a.shape[1] == 0:
        raise ValueError(f"paired comparison needs the same trajectories: {a.shape[1]} vs {b.shape[1]}")
    d = a.mean(axis=0) - b.mean(axis=0)
    (ma, mb), = hierarchical_means([[a, b]], opts.bootstrap_resamples, opts.seed)
    ratio_ok = a.mean() > 0 and b.mean() > 0
    return Paired(float(d.mean()), signed_rank_p(d), _ci(ma - mb, opts.alpha),
                  float(a.mean() / b.mean()) if ratio_ok else None,
                  _ci(ma / mb, opts.alpha) if ratio_ok else None, a.shape[1], (a.shape[0], b.shape[0]),
                  "wilcoxon", opts.alpha)


def paired_trend(first: tuple, second: tuple, same_trajectories: bool, opts: StatsOptions) -> Paired:
    """Trend contrast ``Delta_1 - Delta_2`` with ``Delta_k = mean_i (a_k(i) - b_k(i))``; ``first``, ``second``
    are ``(a, b)`` pairs of ``(seeds, n_traj)`` arrays. Same trajectories: signed-rank on ``d_1 - d_2`` and one
    trajectory draw per resample; otherwise Mann-Whitney U on ``d_1`` vs ``d_2`` and independent draws."""
    a1, b1 = (_matrix(x) for x in first)
    a2, b2 = (_matrix(x) for x in second)
    d1, d2 = a1.mean(axis=0) - b1.mean(axis=0), a2.mean(axis=0) - b2.mean(axis=0)
    if same_trajectories:
        if d1.shape != d2.shape:
            raise ValueError(f"same trajectories expected: {d1.shape[0]} vs {d2.shape[0]}")
        (m1a, m1b, m2a, m2b), = hierarchical_means([[a1, b1, a2, b2]], opts.bootstrap_resamples, opts.seed)
        p, test, n = signed_rank_p(d1 - d2), "wilcoxon", d1.shape[0]
    else:
        (m1a, m1b), (m2a, m2b) = hierarchical_means([[a1, b1], [a2, b2]], opts.bootstrap_resamples, opts.seed)
        p, test, n = rank_sum_p(d1, d2), "mannwhitney", d1.shape[0] + d2.shape[0]
    boot = (m1a - m1b) - (m2a - m2b)
    return Paired(float(d1.mean() - d2.mean()), p, _ci(boot, opts.alpha), None, None, n,
                  (a1.shape[0], b1.shape[0], a2.shape[0], b2.shape[0]), test, opts.alpha)


@dataclass(frozen=True)
class Equivalence:
    """TOST on paired differences: the larger one-sided p, the ``1 - 2 alpha`` CI of the mean, the margin."""

    mean: float
    p_value: float
    ci: tuple[float, float]
    margin: float
    n: int
    alpha: float

    @property
    def equivalent(self) -> bool:
        return self.p_value < self.alpha

    @property
    def outside(self) -> bool:
        """The ``1 - 2 alpha`` CI lies wholly outside ``[-margin, margin]`` (a difference larger than the margin)."""
        return self.ci[0] > self.margin or self.ci[1] < -self.margin


def tost(d, margin: float, alpha: float) -> Equivalence:
    """Two one-sided t-tests of ``H0: mean d <= -margin`` and ``H0: mean d >= margin`` (df = n - 1):
    ``p = max(P(T >= (m + margin)/se), P(T <= (m - margin)/se))``, ``se = sd(d, ddof=1) / sqrt(n)``; zero spread
    decides exactly (p 0 when ``|m| < margin``, else 1). Needs ``n >= 2`` and ``margin > 0``."""
    from scipy import stats

    d = np.asarray(d, dtype=float)
    if d.size < 2 or not margin > 0:
        raise ValueError(f"TOST needs >= 2 differences and a positive margin, got n = {d.size}, margin {margin}")
    m, n = float(d.mean()), d.size
    se = float(d.std(ddof=1)) / math.sqrt(n)
    if se == 0.0:
        return Equivalence(m, 0.0 if abs(m) < margin else 1.0, (m, m), margin, n, alpha)
    df = n - 1
    p = max(float(stats.t.sf((m + margin) / se, df)), float(stats.t.cdf((m - margin) / se, df)))
    half = float(stats.t.ppf(1 - alpha, df)) * se
    return Equivalence(m, p, (m - half, m + half), margin, n, alpha)
