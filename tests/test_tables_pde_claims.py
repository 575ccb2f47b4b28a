"""Part II verdicts over trajectories on constructed rows (claims.py with per-trajectory values), and the
per-trajectory columns of the PDE tables."""

from __future__ import annotations

import numpy as np
import pytest

from gapbench.registry import PDE_MODELS, PDEModel
from gapbench.tables import claims
from gapbench.tables.collect import Cell
from gapbench.tables.pde import METRICS, SCORES, PdeRow, pairs
from gapbench.tables.stats import StatsOptions, summarize

OPTS = StatsOptions("welch", 0.05, bootstrap_resamples=2000, seed=0)
N = 40


def row(model, values, res=32, nu=0.1, sigma=0.0, eq="ks", omega_f=None, samples=None) -> PdeRow:
    values = np.atleast_2d(np.asarray(values, dtype=float))
    summaries = {m: summarize([]) for m in SCORES} | {"nrmse": summarize(list(values.mean(axis=1)))}
    r = PdeRow(eq, "attractor", nu, "fourier", res, sigma, model, omega_f, None, None, summaries, {m: None for m in METRICS},
               {m: None for m in METRICS}, None, Cell((), {}, []))
    r.traj = {"nrmse": values, "nrmse_final": values}
    r.samples = tuple(range(values.shape[1])) if samples is None else samples
    return r


def base(seed=0, seeds=2):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.2, 0.4, N) * (1 + 0.02 * rng.standard_normal((seeds, N)))


@pytest.fixture
def window_model():
    """A second Markovian model (the windowed control's role), registered for the test only."""
    PDE_MODELS["test_window"] = PDEModel("test_window", None, family="markovian")
    yield "test_window"
    del PDE_MODELS["test_window"]


def test_low_resolution_supported_inconclusive_not_supported(window_model):
    x = base()
    better = [row("ffno", x), row("memno", 0.5 * x)]
    c = claims.memory_low_resolution(better, "nrmse", OPTS)
    assert c.verdict == claims.SUPPORTED
    assert "wilcoxon" in c.summary and "n_traj = 40" in c.summary and "draw of the data" in c.summary
    # the Markovian control is as good as memory: not every Markovian model is beaten -> inconclusive
    noise = 1 + 0.01 * np.random.default_rng(1).standard_normal(x.shape)
    c = claims.memory_low_resolution([*better, row(window_model, 0.5 * x * noise)], "nrmse", OPTS)
    assert c.verdict == claims.INCONCLUSIVE and len(c.evidence) == 2
    # memory significantly worse -> not supported
    assert claims.memory_low_resolution([row("ffno", x), row("memno", 1.5 * x)], "nrmse", OPTS).verdict == \
        claims.NOT_SUPPORTED
    # no difference beyond noise -> inconclusive, not "not supported"
    rng = np.random.default_rng(7)
    same = [row("ffno", x), row("memno", x * (1 + 0.01 * rng.standard_normal(x.shape)))]
    assert claims.memory_low_resolution(same, "nrmse", OPTS).verdict == claims.INCONCLUSIVE
    # no per-trajectory values -> not run
    empty = [row("ffno", x), row("memno", 0.5 * x)]
    empty[1].traj = {"nrmse": None}
    assert claims.memory_low_resolution(empty, "nrmse", OPTS).verdict == claims.NOT_RUN


def test_benchmark_like_claim_needs_trend_and_equivalence():
    x = base()
    rng = np.random.default_rng(3)
    tiny = 1 + 0.005 * rng.standard_normal(x.shape)

    def rows(gain_low_res, gain_high_res):
        return [row("ffno", x, 32, omega_f=0.6), row("memno", x / gain_low_res, 32, omega_f=0.6),
                row("ffno", x, 64, omega_f=0.08), row("memno", x / gain_high_res * tiny, 64, omega_f=0.08)]

    c = claims.benchmarks_pde(rows(2.0, 1.0), "nrmse", OPTS)
    assert c.verdict == claims.SUPPORTED and "1 of 1 pairs equivalent" in c.summary
    assert c.evidence[0][4] == "wilcoxon"  # same trajectories at both resolutions: signed-rank on the trend
    # memory still 1.5x better at the benchmark-like setting: outside the 10% margin -> not supported
    assert claims.benchmarks_pde(rows(3.0, 1.5), "nrmse", OPTS).verdict == claims.NOT_SUPPORTED
    # no memory advantage anywhere: trend not significant -> inconclusive
    assert claims.benchmarks_pde(rows(1.0, 1.0), "nrmse", OPTS).verdict == claims.INCONCLUSIVE


def test_viscosity_trend_uses_rank_sum_on_different_trajectories():
    x, y = base(0), base(5)
    rows = [row("ffno", x, nu=0.075), row("memno", 0.5 * x, nu=0.075),
            row("ffno", y, nu=0.125), row("memno", 0.95 * y, nu=0.125)]
    c = claims.viscosity(rows, "nrmse", OPTS)
    assert c.verdict == claims.SUPPORTED and c.evidence[0][4] == "mannwhitney" and c.evidence[0][5] == "80"


def test_pairs_table_compares_every_memory_with_every_markovian_model(window_model):
    x = base()
    found = pairs([row("ffno", x), row(window_model, 0.9 * x), row("memno", 0.5 * x), row("persistence", 2 * x)],
                  "nrmse", OPTS)
    assert sorted((p.memory.model, p.markov.model) for p in found) == [("memno", "ffno"), ("memno", window_model)]
    p = next(p for p in found if p.markov.model == "ffno")
    assert p.test.delta == pytest.approx((x.mean(0) - 0.5 * x.mean(0)).mean())
    assert p.equivalence.margin == pytest.approx(0.1 * x.mean()) and not p.equivalence.equivalent
