"""``results/claims.md``: each claim of the seed, the measured evidence, and a verdict by a stated rule.

Verdicts: ``supported``, ``not supported``, ``inconclusive``, ``not run at this scale``. The rules (also printed in claims.md):

* planted star: the edge gain (node RMSE - edge RMSE) against eq. 3 *and* every node control, tested per
  (cell, node model) over seeds with Holm-Bonferroni over all comparisons, is significantly positive in every
  testable comparison -> supported; otherwise not supported; none testable -> not run at this scale.
* memory: the smallest width reaching a stated target (memory.py) grows with n for node models and not for
  edge models -> supported; an edge threshold that grows, or a node threshold that does not -> not supported;
  node models that reach the target at no n -> inconclusive.
* Part II (viscosity, noise, benchmark-like settings, lowest resolution): over the test trajectories, for every
  memory-family vs Markovian-family model pair (``registry.family_of``; a windowed Markovian control is one of
  them): ``Delta = nRMSE(Markovian) - nRMSE(memory)`` per trajectory after averaging each model over its seeds;
  a trend (``Delta(low nu) - Delta(high nu)`` on KS, ``Delta(high sigma) - Delta(low sigma)`` on NS,
  ``Delta(largest omega_f) - Delta(smallest omega_f)`` per equation) by Wilcoxon signed-rank on the same
  trajectories or Mann-Whitney U on different ones, with hierarchical bootstrap CIs (``stats.paired_trend``); the
  lowest-resolution claim by Wilcoxon on Delta (``stats.paired``). Holm-Bonferroni over all (slice, pair)
  comparisons of a claim: supported iff none is significantly negative and every Markovian model is beaten in
  >= 1; not supported iff one is significantly negative; inconclusive otherwise. The benchmark-like claim adds
  an equivalence test (TOST, margin ``tables.equivalence_margin`` x the Markovian nRMSE) at the smallest
  omega_f. Verdicts hold for the data drawn (the trajectories are the sample).
* standard graph benchmarks hide the edge advantage: an equivalence statement; every benchmark's relative edge
  gain has its CI within +-margin (the seed's own spread on that dataset) and the planted claim is supported
  -> supported; a CI wholly outside the margin (edge much worse counts too) -> not supported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gapbench.registry import PDE_MODELS, family_of
from gapbench.tables import reference
from gapbench.tables.graphs import GraphRow, gain, model_rank
from gapbench.tables.memory import MemoryTargets, thresholds
from gapbench.tables.pde import PdeRow, compare_rows, paired_text
from gapbench.tables.render import fmt, fmt_test, md_table, write_text
from gapbench.tables.stats import Equivalence, Paired, StatsOptions, holm, holm_adjusted, paired_trend, tost

SUPPORTED, NOT_SUPPORTED, NOT_RUN = "supported", "not supported", "not run at this scale"
INCONCLUSIVE = "inconclusive"


@dataclass
class Claim:
    key: str
    title: str
    rule: str
    verdict: str
    summary: str
    headers: list[str] = field(default_factory=list)
    evidence: list[list[str]] = field(default_factory=list)

    @property
    def statement(self) -> str:
        return reference.CLAIMS[self.key]


# ------------------------------------------------------------------------------------------------ Part I
PLANTED_TITLE = "Edge beats node on planted stars"


def planted_star(rows: list[GraphRow], opts: StatsOptions) -> Claim:
    """Edge GCN vs every node model (eq. 3 and the controls) per cell, Holm-Bonferroni over all comparisons."""
    rule = ("per (leaves, depth) cell and node model (GCN eq. 3 and every node control, e.g. SAGE with an MLP "
            "read-out): edge gain = node RMSE - edge RMSE, two-sided test over seeds, Holm-Bonferroni over all "
            f"(cell, node model) comparisons at family-wise alpha = {opts.alpha:g}; supported iff the gain is "
            "significantly positive after correction in every testable comparison; not run at this scale when "
            "none is testable (>= 2 seeds per model)")
    planted = [r for r in rows if r.experiment == "planted_star"]
    edge = {r.variant: r for r in planted if r.model == "edge_gcn"}
    pairs = [(edge[r.variant], r, gain(r.cell.values("test"), edge[r.variant].cell.values("test"), False, opts))
             for r in sorted(planted, key=lambda r: (-int(r.params.get("leaves", 0)), -int(r.params.get("depth", 0)),
                                                     r.model))
             if family_of(r.model) == "node" and r.variant in edge]
    pairs = [p for p in pairs if p[2].estimate is not None]
    if not pairs:
        return Claim("planted_star", PLANTED_TITLE, rule, NOT_RUN,
                     "no planted-star cell has usable runs of both edge_gcn and a node model")
    testable = [i for i, p in enumerate(pairs) if p[2].p_value is not None]
    reject = dict(zip(testable, holm([pairs[i][2].p_value for i in testable], opts.alpha)))
    headers = ["leaves", "planted depth", "node model", "edge RMSE", "node RMSE", "edge gain", "p", "Holm"]
    evidence = [[str(e.params.get("leaves", "")), str(e.params.get("depth", "")), n.model,
                 f"{fmt(e.test.mean)} (n={e.test.n})", f"{fmt(n.test.mean)} (n={n.test.n})", fmt_test(t),
                 fmt(t.p_value, 3), ("reject" if reject[i] else "keep") if i in reject else "n/t"]
                for i, (e, n, t) in enumerate(pairs)]
    if not testable:
        direction = sum(t.estimate > 0 for _, _, t in pairs)
        return Claim("planted_star", PLANTED_TITLE, rule, NOT_RUN,
                     f"edge RMSE is lower in {direction} of {len(pairs)} comparisons, but none has >= 2 seeds per "
                     "model, so no difference can be tested", headers, evidence)
    good = [i for i in testable if reject[i] and pairs[i][2].estimate > 0]
    per_model = {}
    for i in testable:
        m = pairs[i][1].model
        won, total = per_model.get(m, (0, 0))
        per_model[m] = (won + (i in good), total + 1)
    verdict = SUPPORTED if len(good) == len(testable) else NOT_SUPPORTED
    detail = "; ".join(f"vs {m}: {w} of {t} cells" for m, (w, t) in per_model.items())
    return Claim("planted_star", PLANTED_TITLE, rule, verdict,
                 f"edge significantly better after Holm in {len(good)} of {len(testable)} testable comparisons "
                 f"({detail}; {len(pairs) - len(testable)} untestable)", headers, evidence)


def memory_threshold(rows: list[GraphRow], targets: MemoryTargets) -> Claim:
    """Node thresholds grow with n, edge thresholds do not (memory-threshold table)."""
    title = "Node models need memory growing with n, edge models do not"
    rule = ("per task of the memory experiment with >= 2 values of n: a model's threshold is the smallest width "
            "whose seed-mean test value reaches the target (planted: RMSE / leaf std <= "
            f"{targets.nrmse:g}; duplicates: accuracy >= {targets.accuracy:g}); 'grows' = the threshold at the "
            "largest n is larger than at the smallest n, or reached at the smallest n and not at the largest. "
            "Supported iff in every task every edge model reaches the target at every n without growth and "
            "every node model's threshold grows; not supported iff an edge threshold grows or is not reached, or "
            "a node model reaches the target at the largest n with no larger width than at the smallest; "
            "inconclusive when a node model reaches it at no n (the grid is too small to see growth). A threshold "
            "on seed means: no test, no multiplicity correction (seeds shown); not run at this scale when a "
            "series has fewer than 2 seeds (one seed decides nothing; its reading is still shown)")
    found = thresholds(rows, targets, model_rank)
    by_task: dict[str, dict[str, dict[int, dict]]] = {}
    for s in found:
        by_task.setdefault(s["task"], {}).setdefault(s["model"], {})[s["n"]] = s
    headers = ["task", "model", "n: min width (seeds)", "reading"]
    evidence, readings = [], []
    for task, models in sorted(by_task.items()):
        for model, per_n in models.items():
            ns = sorted(per_n)
            if len(ns) < 2:
                continue
            lo, hi = per_n[ns[0]]["min_width"], per_n[ns[-1]]["min_width"]
            edge = model.startswith("edge")
            reached = [per_n[n]["min_width"] is not None for n in ns]
            if edge:
                reading = ("never reached" if not any(reached) else "not reached at every n" if not all(reached)
                           else "flat" if hi <= lo else "grows")
            elif lo is None and hi is None:
                reading = "never reached"
            else:
                reading = "grows" if hi is None or (lo is not None and hi > lo) else "flat"
            readings.append((edge, reading))
            evidence.append([task, model, "; ".join(f"{n}: {per_n[n]['min_width'] or 'none'} ({per_n[n]['seeds']})"
                                                    for n in ns), reading])
    if not readings:
        return Claim("memory", title, rule, NOT_RUN, "no task of the memory experiment has results at >= 2 values "
                     "of n", headers, evidence)
    edge_ok = all(r == "flat" for e, r in readings if e) and any(e for e, _ in readings)
    node = [r for e, r in readings if not e]
    min_seeds = min(s["seeds"] for s in found)
    if min_seeds < 2:
        verdict = NOT_RUN
    elif not edge_ok or "flat" in node:
        verdict = NOT_SUPPORTED
    elif "never reached" in node or not node:
        verdict = INCONCLUSIVE
    else:
        verdict = SUPPORTED
    n_edge = sum(e for e, _ in readings)
    summary = (f"edge thresholds flat in {sum(e and r == 'flat' for e, r in readings)} of {n_edge}; node "
               f"thresholds grow in {node.count('grows')}, flat in {node.count('flat')}, never reached in "
               f"{node.count('never reached')} of {len(node)} (task, model) series"
               + (f"; fewer than 2 seeds in a series (min {min_seeds}): no verdict" if min_seeds < 2 else ""))
    return Claim("memory", title, rule, verdict, summary, headers, evidence)


def equivalence_margin(dataset: str) -> float | None:
    """The seed's own spread on a Table 1 dataset: ``2 max(std) / |node mean|`` of its two reported models."""
    ref = reference.TABLE1.get(dataset)
    if not ref or "node_gcn" not in ref[2]:
        return None
    node_mean = abs(ref[2]["node_gcn"][0])
    return 2 * max(std for _, std in ref[2].values()) / node_mean if node_mean else None


def benchmarks_graphs(rows: list[GraphRow], planted_verdict: str) -> Claim:
    """Equivalence on every benchmark (relative gain within the seed's spread) while the planted claim holds."""
    title = "Standard graph benchmarks hide the edge advantage"
    rule = ("equivalence per benchmark: the relative edge gain (edge gain / |node GCN mean|, positive = edge "
            "better) has its (1 - alpha) CI inside +-margin, margin = the seed's own spread on that dataset "
            "(2 x the larger std of its two Table 1 models / |its node mean|); an edge model much worse (CI below "
            "-margin) or much better is not hidden. Supported iff every benchmark is equivalent and the planted "
            "claim is supported (an intersection-union test: no multiplicity correction needed); not supported "
            "iff a benchmark's CI lies wholly outside the margin or the planted claim is not supported; not run "
            "without testable pairs (>= 2 seeds)")
    bench = [r for r in rows if r.experiment == "benchmark" and r.model == "edge_gcn" and r.edge_gain
             and r.edge_gain.estimate is not None]
    node = {(r.experiment, r.variant): r for r in rows if r.model == "node_gcn"}
    headers = ["dataset", "metric", "edge gain", "relative gain [CI]", "margin", "reading"]
    evidence, readings = [], []
    for r in bench:
        base = abs(node[(r.experiment, r.variant)].test.mean or 0.0)
        margin = equivalence_margin(r.variant)
        g = r.edge_gain
        if not base or margin is None or g.ci_low is None:
            reading = "not testable"
            rel = (g.estimate / base if base else None, None, None)
        else:
            rel = (g.estimate / base, g.ci_low / base, g.ci_high / base)
            reading = ("equivalent" if -margin <= rel[1] and rel[2] <= margin else
                       "edge much worse" if rel[2] < -margin else
                       "edge much better" if rel[1] > margin else "undecided")
        readings.append(reading)
        ci = f" [{fmt(rel[1], 3)}, {fmt(rel[2], 3)}]" if rel[1] is not None else ""
        evidence.append([r.variant, r.metric, fmt_test(g), fmt(rel[0], 3) + ci, fmt(margin, 3), reading])
    testable = [x for x in readings if x != "not testable"]
    if not testable or planted_verdict == NOT_RUN:
        why = ("no benchmark has a testable edge/node pair" if not testable
               else "the planted-star claim was not run at this scale")
        return Claim("benchmarks_graphs", title, rule, NOT_RUN, why, headers, evidence)
    outside = [x for x in testable if x in ("edge much worse", "edge much better")]
    if outside or planted_verdict == NOT_SUPPORTED:
        verdict = NOT_SUPPORTED
    elif len(testable) == len(readings) and all(x == "equivalent" for x in testable):
        verdict = SUPPORTED
    else:
        verdict = INCONCLUSIVE
    return Claim("benchmarks_graphs", title, rule, verdict,
                 f"{testable.count('equivalent')} of {len(readings)} benchmarks equivalent within the margin, "
                 f"{len(outside)} outside it, {len(readings) - len(testable)} untestable; planted claim "
                 f"{planted_verdict}", headers, evidence)


# ------------------------------------------------------------------------------------------------ Part II
@dataclass
class Comparison:
    """One tested memory-vs-Markovian comparison of a Part II claim (a slice and a model pair)."""

    slice: str
    memory: str
    markov: str
    test: Paired  # Delta (or a trend of Deltas) = Markovian - memory: positive = memory better
    settings: str = ""  # the per-setting Deltas behind a trend, as text
    equivalence: Equivalence | None = None


def _families(row: PdeRow) -> str | None:
    return family_of(row.model) if row.model in PDE_MODELS else None


def _by_slice(rows: list[PdeRow], equation: str, vary: str, slice_of) -> dict:
    """``{slice: {x: {model: row}}}`` of the learned memory and Markovian rows of ``equation``."""
    cells: dict[tuple, dict] = {}
    for r in rows:
        x = getattr(r, vary)
        if r.equation == equation and _families(r) in ("memory", "markovian") and x is not None:
            cells.setdefault(slice_of(r), {}).setdefault(x, {})[r.model] = r
    return cells


def _slice_text(sl: tuple) -> str:
    return ", ".join(f"{k}={fmt(v)}" for k, v in sl)


def _trend(rows: list[PdeRow], equation: str, vary: str, slice_of, high_first: bool, metric: str,
           opts: StatsOptions, x_label: str, equivalence_at_last: bool = False) -> list[Comparison]:
    """Per slice and (memory, Markovian) pair: the trend ``Delta(first) - Delta(last)`` over the values of
    ``vary`` (``high_first``: largest first), Delta = Markovian - memory per trajectory (``stats.paired_trend``:
    signed-rank when both settings score the same trajectories - same equation, viscosity and samples -,
    Mann-Whitney U otherwise). ``equivalence_at_last``: also the TOST of Delta at the last setting."""
    out = []
    for sl, by_x in sorted(_by_slice(rows, equation, vary, slice_of).items(), key=lambda kv: str(kv[0])):
        for mem in sorted({m for c in by_x.values() for m in c if family_of(m) == "memory"}):
            for mk in sorted({m for c in by_x.values() for m in c if family_of(m) == "markovian"}):
                xs = sorted((x for x, c in by_x.items() if mem in c and mk in c
                             and c[mem].traj.get(metric) is not None and c[mk].traj.get(metric) is not None
                             and c[mem].samples == c[mk].samples), reverse=high_first)
                if len(xs) < 2:
                    continue
                first, last = by_x[xs[0]], by_x[xs[-1]]
                same = (first[mem].equation, first[mem].nu, first[mem].samples) == \
                    (last[mem].equation, last[mem].nu, last[mem].samples)
                t = paired_trend((first[mk].traj[metric], first[mem].traj[metric]),
                                 (last[mk].traj[metric], last[mem].traj[metric]), same, opts)
                settings = "; ".join(
                    f"{x_label}={fmt(x, 3)}: {paired_text(compare_rows(by_x[x][mk], by_x[x][mem], metric, opts))}"
                    for x in xs)
                eq = None
                if equivalence_at_last:
                    d = last[mk].traj[metric].mean(axis=0) - last[mem].traj[metric].mean(axis=0)
                    margin = opts.equivalence_margin * float(last[mk].traj[metric].mean())
                    eq = tost(d, margin, opts.alpha) if d.size >= 2 and margin > 0 else None
                out.append(Comparison(_slice_text(sl), mem, mk, t, settings, eq))
    return out


def _verdict(found: list[Comparison], alpha: float) -> tuple[str, str, list[float | None]]:
    """Holm-Bonferroni over the comparisons' p-values (family-wise ``alpha``). Supported iff no comparison is
    significantly negative and every Markovian model compared is beaten significantly in >= 1 comparison (so a
    windowed Markovian control must be beaten too); not supported iff one is significantly negative (a Markovian
    model significantly better); inconclusive otherwise. Returns the verdict, a summary naming the test and the
    n, and each comparison's Holm-adjusted p."""
    adjusted: list[float | None] = [None] * len(found)
    if not found:
        return NOT_RUN, "no slice has a memory and a Markovian model with per-trajectory results", adjusted
    testable = [i for i, c in enumerate(found) if c.test.p_value is not None]
    if not testable:
        return NOT_RUN, "no comparison is testable", adjusted
    pvalues = [found[i].test.p_value for i in testable]
    reject = holm(pvalues, alpha)
    for i, p in zip(testable, holm_adjusted(pvalues)):
        adjusted[i] = p
    pos = [found[i] for i, r in zip(testable, reject) if r and found[i].test.delta > 0]
    neg = [found[i] for i, r in zip(testable, reject) if r and found[i].test.delta < 0]
    markov = sorted({c.markov for c in found})
    beaten = {c.markov for c in pos}
    if neg:
        verdict = NOT_SUPPORTED
    elif beaten == set(markov):
        verdict = SUPPORTED
    else:
        verdict = INCONCLUSIVE
    tests = sorted({found[i].test.test for i in testable})
    n_traj = sorted({found[i].test.n_traj for i in testable})
    seeds = sorted({s for i in testable for s in found[i].test.n_seeds})
    summary = (f"{' / '.join(tests)} over test trajectories, Holm-Bonferroni over {len(testable)} comparisons "
               f"(family-wise alpha = {alpha:g}): memory significantly better in {len(pos)}, significantly worse "
               f"in {len(neg)}; Markovian models beaten: {', '.join(sorted(beaten)) or 'none'} of "
               f"{', '.join(markov)}; n_traj = {'/'.join(map(str, n_traj))}, seeds per model "
               f"{'/'.join(map(str, seeds))}; conditional on this draw of the data (the test trajectories are the "
               "sample)")
    return verdict, summary, adjusted


def _evidence(found: list[Comparison], adjusted: list[float | None]) -> list[list[str]]:
    return [[c.slice, f"{c.memory} vs {c.markov}", c.settings, paired_text(c.test), c.test.test,
             str(c.test.n_traj), "/".join(map(str, c.test.n_seeds)), fmt(p, 3)] for c, p in zip(found, adjusted)]


TREND_HEADERS = ["slice", "memory vs Markovian", "Delta per setting [CI] p", "trend [CI] p", "test", "n_traj",
                 "seeds", "Holm p"]
TREND_RULE = ("Delta = nRMSE(Markovian) - nRMSE(memory) per test trajectory, each model averaged over its seeds, for "
              "every memory-family vs Markovian-family model pair (registry families); the trend is tested by the "
              "Wilcoxon signed-rank test on the per-trajectory difference of the two Deltas when both settings "
              "score the same trajectories, by Mann-Whitney U when they do not, with a hierarchical bootstrap CI "
              "(seeds, then trajectories); Holm-Bonferroni over all (slice, pair) comparisons. Supported iff none "
              "is significantly negative and every Markovian model is beaten significantly in >= 1; not supported "
              "iff one is significantly negative; inconclusive otherwise; not run without per-trajectory results "
              "at two settings")


def _trend_claim(name: str, title: str, rule: str, found: list[Comparison], alpha: float) -> Claim:
    verdict, summary, adjusted = _verdict(found, alpha)
    return Claim(name, title, f"{rule}; {TREND_RULE}", verdict, summary, TREND_HEADERS, _evidence(found, adjusted))


def viscosity(rows: list[PdeRow], metric: str, opts: StatsOptions) -> Claim:
    return _trend_claim(
        "viscosity", "Memory helps more at lower viscosity (KS)",
        f"per (method, resolution, sigma) slice of KS: trend Delta(lowest nu) - Delta(highest nu) of {metric} > 0",
        _trend(rows, "ks", "nu", lambda r: (("res", r.resolution), ("sigma", r.sigma), ("method", r.method)), False,
               metric, opts, "nu"), opts.alpha)


def noise(rows: list[PdeRow], metric: str, opts: StatsOptions) -> Claim:
    return _trend_claim(
        "noise", "Memory helps more with observation noise (NS)",
        f"per (nu, method, resolution) slice of NS: trend Delta(highest sigma) - Delta(lowest sigma) of {metric} > 0",
        _trend(rows, "ns", "sigma", lambda r: (("nu", r.nu), ("res", r.resolution), ("method", r.method)), True,
               metric, opts, "sigma"), opts.alpha)


def benchmarks_pde(rows: list[PdeRow], metric: str, opts: StatsOptions) -> Claim:
    """The trend over omega_f and, beside it, equivalence (TOST) at the benchmark-like (smallest omega_f) setting."""
    rule = ("per (equation, nu, method, sigma) slice: trend Delta(largest omega_f) - Delta(smallest omega_f) of "
            f"{metric} > 0 (the smallest omega_f is the benchmark-like, resolved setting), and at that setting an "
            "equivalence test: TOST (two one-sided t-tests, alpha each, df = n_traj - 1) of the per-trajectory "
            f"Delta within +-margin, margin = {opts.equivalence_margin:g} x the Markovian model's mean {metric} "
            "there (a relative difference below that is taken as no advantage; fixed before any result). "
            "Supported iff the trend is supported (rule below) and every pair is equivalent at the benchmark-like "
            "setting (intersection-union: no correction); not supported iff the trend is not supported or a "
            f"pair's {100 * (1 - 2 * opts.alpha):g}% CI lies wholly outside the margin there (the advantage, or a "
            "disadvantage, is not hidden); inconclusive otherwise")
    found = []
    for eq in sorted({r.equation for r in rows}):
        found += _trend(rows, eq, "omega_f", lambda r: (("eq", r.equation), ("nu", r.nu), ("method", r.method),
                                                        ("sigma", r.sigma)), True, metric, opts, "omega_f", True)
    verdict, summary, adjusted = _verdict(found, opts.alpha)
    eqs = [c.equivalence for c in found]
    if found and verdict != NOT_RUN:
        equivalent = sum(bool(e and e.equivalent) for e in eqs)
        outside = sum(bool(e and e.outside) for e in eqs)
        trend = verdict
        if trend == NOT_SUPPORTED or outside:
            verdict = NOT_SUPPORTED
        elif trend == SUPPORTED and equivalent == len(eqs):
            verdict = SUPPORTED
        else:
            verdict = INCONCLUSIVE
        summary = (f"trend: {trend} ({summary}); equivalence at the benchmark-like setting (TOST): {equivalent} of "
                   f"{len(eqs)} pairs equivalent, {outside} outside the margin")
    if not found and rows and all(r.omega_f is None for r in rows):
        summary = "no omega_f.csv was found for the datasets trained"
    evidence = [row + [f"{fmt(e.margin, 3)}: {_ci(e.ci)} " + ("equivalent" if e.equivalent else "outside"
                                                                if e.outside else "undecided") if e else ""]
                for row, e in zip(_evidence(found, adjusted), eqs)]
    return Claim("benchmarks_pde", "Benchmark-like PDE settings hide the memory advantage", f"{rule}; {TREND_RULE}",
                 verdict, summary, [*TREND_HEADERS, "TOST at min omega_f: margin, CI, reading"], evidence)


def _ci(ci: tuple[float, float]) -> str:
    return f"[{ci[0]:.3g}, {ci[1]:.3g}]"


def memory_low_resolution(rows: list[PdeRow], metric: str, opts: StatsOptions) -> Claim:
    title = "MemNO beats FFNO at KS's lowest observed resolution"
    rule = ("per (nu, method, sigma) slice of KS at the lowest observed resolution trained and per (memory-family, "
            f"Markovian-family) model pair: Delta = Markovian - memory {metric} per test trajectory (each model "
            "averaged over its seeds), two-sided Wilcoxon signed-rank over trajectories with a hierarchical "
            "bootstrap CI (seeds, then trajectories); Holm-Bonferroni over all comparisons; supported iff none is "
            "significantly negative and every Markovian model is beaten significantly in >= 1; not supported iff "
            "one is significantly negative; inconclusive otherwise")
    ks = [r for r in rows if r.equation == "ks" and _families(r) in ("memory", "markovian")
          and r.traj.get(metric) is not None]
    found = []
    if ks:
        low = min(r.resolution for r in ks)
        by_ds: dict[tuple, dict[str, PdeRow]] = {}
        for r in ks:
            if r.resolution == low:
                by_ds.setdefault(r.dataset, {})[r.model] = r
        for ds, models in sorted(by_ds.items()):
            for mem in sorted(m for m in models if family_of(m) == "memory"):
                for mk in sorted(m for m in models if family_of(m) == "markovian"):
                    t = compare_rows(models[mk], models[mem], metric, opts)
                    if t is None:
                        continue
                    r = models[mem]
                    sl = f"nu={fmt(r.nu)}, method={r.method}, res={r.resolution}, sigma={fmt(r.sigma)}"
                    ratio = f"{t.ratio:.3g}x {_ci(t.ratio_ci)}" if t.ratio_ci else ""
                    found.append(Comparison(sl, mem, mk, t, ratio))
    verdict, summary, adjusted = _verdict(found, opts.alpha)
    if not found:
        summary = "no KS dataset has a memory and a Markovian model with per-trajectory results"
    evidence = [[c.slice, f"{c.memory} vs {c.markov}", paired_text(c.test), c.settings, c.test.test,
                 str(c.test.n_traj), "/".join(map(str, c.test.n_seeds)), fmt(p, 3)] for c, p in zip(found, adjusted)]
    return Claim("memory_low_resolution", title, rule, verdict, summary,
                 ["slice", "memory vs Markovian", "Delta [CI] p", "Markovian/memory [CI]", "test", "n_traj", "seeds",
                  "Holm p"], evidence)


# ------------------------------------------------------------------------------------------------ all
def evaluate(graph_rows: list[GraphRow], pde_rows: list[PdeRow], metric: str, opts: StatsOptions,
             memory_targets: MemoryTargets | None = None) -> list[Claim]:
    planted = planted_star(graph_rows, opts)
    return [planted, memory_threshold(graph_rows, memory_targets or MemoryTargets()),
            viscosity(pde_rows, metric, opts), noise(pde_rows, metric, opts),
            benchmarks_graphs(graph_rows, planted.verdict), benchmarks_pde(pde_rows, metric, opts),
            memory_low_resolution(pde_rows, metric, opts)]


def markdown(claims: list[Claim], metric: str, opts: StatsOptions, n_missing: int) -> str:
    text = ["# The seed's claims, checked at this scale\n",
            f"Significance, Part I: {opts.describe()}. Part II: over the test trajectories (each model averaged "
            "over its seeds; Wilcoxon signed-rank, or Mann-Whitney U across different simulations; hierarchical "
            f"bootstrap CIs over seeds and trajectories, {opts.bootstrap_resamples} resamples; TOST for "
            f"equivalence, margin {opts.equivalence_margin:g} x the Markovian nRMSE), on `{metric}`; these verdicts "
            "are conditional on the data drawn. Verdicts follow the stated rule of each claim; `not run at this "
            "scale` means the runs needed are not in this configuration or not finished.\n"]
    if n_missing:
        text.append(f"\n**Warning:** {n_missing} expected runs are missing or unusable (see results/tables/"
                    "missing.csv); the evidence below uses only the usable seeds, with n shown.\n")
    text.append("\n| claim | verdict |\n|---|---|\n")
    text += [f"| {c.title} | **{c.verdict}** |\n" for c in claims]
    for i, c in enumerate(claims, 1):
        text.append(f"\n## {i}. {c.title}: **{c.verdict}**\n\n")
        text.append(f"*Seed:* {c.statement}\n\n*Rule:* {c.rule}.\n\n*Result:* {c.summary}.\n\n")
        if c.evidence:
            text.append(md_table(c.headers, c.evidence))
    return "".join(text)


def write(path: Path, claims: list[Claim], metric: str, opts: StatsOptions, n_missing: int) -> None:
    write_text(Path(path), markdown(claims, metric, opts, n_missing))
