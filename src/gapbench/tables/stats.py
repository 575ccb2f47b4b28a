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
