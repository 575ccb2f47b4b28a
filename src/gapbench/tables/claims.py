"""``results/claims.md``: each claim of the seed, the measured evidence, and a verdict by a stated rule.

Verdicts: ``supported``, ``not supported``, ``inconclusive``, ``not run at this scale``. The rules (also printed in claims.md):

* planted star: the edge gain (node RMSE - edge RMSE) against eq. 3 *and* every node control, tested per
  (cell, node model) over seeds with Holm-Bonferroni over all comparisons, is significantly positive in every
  testable comparison -> supported; otherwise not supported; none testable -> not run at this scale.
* memory: the smallest width reaching a stated target (memory.py) grows with n for node models and not for
  edge models -> supported; an edge threshold that grows, or a node threshold that does not -> not supported;
  node models that reach the target at no n -> inconclusive.
* viscosity / noise / benchmark-like PDE settings: a *trend* contrast per slice, the difference of two
  Delta nRMSE (docs/tables.md): ``Delta(low nu) - Delta(high nu)`` on KS, ``Delta(high sigma) - Delta(low sigma)``
  on NS, ``Delta(largest omega_f) - Delta(smallest omega_f)`` per equation; tested as one contrast of four
  groups (stats.py), and the p-values of the testable slices of one claim corrected by Holm-Bonferroni
  (family-wise level alpha). Supported when Holm rejects at least one slice with a positive contrast and none
  with a negative one; not supported when a testable slice exists otherwise; not run at this scale without a
  testable slice.
* memory at KS's lowest observed resolution: ``Delta = nRMSE(FFNO) - nRMSE(MemNO)`` per (nu, method, sigma)
  slice at the lowest resolution trained, the two-sample test of ``tables.test``, Holm-Bonferroni over the
  slices; supported / not supported / not run as for the trends.
* standard graph benchmarks hide the edge advantage: an equivalence statement; every benchmark's relative edge
  gain has its CI within +-margin (the seed's own spread on that dataset) and the planted claim is supported
  -> supported; a CI wholly outside the margin (edge much worse counts too) -> not supported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gapbench.registry import family_of
from gapbench.tables import reference
from gapbench.tables.graphs import GraphRow, gain, model_rank
from gapbench.tables.memory import MemoryTargets, thresholds
from gapbench.tables.pde import PdeRow
from gapbench.tables.render import fmt, fmt_test, md_table, write_text
from gapbench.tables.stats import StatsOptions, TestResult, contrast, holm, holm_adjusted

SUPPORTED, NOT_SUPPORTED, NOT_RUN = "supported", "not supported", "not run at this scale"
INCONCLUSIVE = "inconclusive"
MEMORY_MODEL, MARKOV_MODEL = "memno", "ffno"


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
def _trend(rows: list[PdeRow], equation: str, vary: str, slice_of, high_first: bool, metric: str,
           opts: StatsOptions, x_label: str):
    """Per slice: contrast Delta(first) - Delta(last) over the values of ``vary`` (``high_first``: largest first).

    ``vary`` is a PdeRow attribute (nu, sigma, omega_f); Delta = nRMSE(FFNO) - nRMSE(MemNO) of ``metric``.
    Returns (evidence rows, list of TestResult for the evaluated slices).
    """
    cells: dict[tuple, dict] = {}
    for r in rows:
        if r.equation == equation and r.model in (MEMORY_MODEL, MARKOV_MODEL):
            x = getattr(r, vary)
            if x is None:
                continue
            cells.setdefault(slice_of(r), {}).setdefault(x, {})[r.model] = r
    evidence, results = [], []
    for sl in sorted(cells, key=str):
        xs = [x for x, m in cells[sl].items() if all(k in m and m[k].cell.values(metric) for k in
                                                     (MEMORY_MODEL, MARKOV_MODEL))]
        if len(xs) < 2:
            continue
        xs.sort(reverse=high_first)
        a, b = cells[sl][xs[0]], cells[sl][xs[-1]]
        groups = [a[MARKOV_MODEL].cell.values(metric), a[MEMORY_MODEL].cell.values(metric),
                  b[MARKOV_MODEL].cell.values(metric), b[MEMORY_MODEL].cell.values(metric)]
        t = contrast(groups, [1.0, -1.0, -1.0, 1.0], opts)
        results.append(t)
        deltas = []
        for x in sorted(xs, reverse=high_first):
            m = cells[sl][x]
            d = m[MEMORY_MODEL].deltas.get(metric)
            deltas.append(f"{x_label}={fmt(x, 3)}: {fmt_test(d)}")
        evidence.append([", ".join(f"{k}={fmt(v)}" for k, v in sl), "; ".join(deltas), fmt_test(t)])
    return evidence, results


def _trend_verdict(results: list[TestResult], alpha: float) -> tuple[str, str, list[float | None]]:
    """Verdict over the slices of one claim with Holm-Bonferroni over the testable ones; also each slice's
    Holm-adjusted p-value (None when untestable)."""
    testable = [i for i, t in enumerate(results) if t.significant is not None]
    adjusted: list[float | None] = [None] * len(results)
    if not results:
        return NOT_RUN, "no slice has FFNO and MemNO results at two or more settings", adjusted
    if not testable:
        pos = sum(t.estimate > 0 for t in results)
        return NOT_RUN, (f"the contrast is positive in {pos} of {len(results)} slices, but no slice has >= 2 "
                         "seeds in every group, so it cannot be tested"), adjusted
    pvalues = [results[i].p_value for i in testable]
    reject = holm(pvalues, alpha)
    for i, p in zip(testable, holm_adjusted(pvalues)):
        adjusted[i] = p
    pos = sum(r and results[i].estimate > 0 for i, r in zip(testable, reject))
    neg = sum(r and results[i].estimate < 0 for i, r in zip(testable, reject))
    verdict = SUPPORTED if pos >= 1 and neg == 0 else NOT_SUPPORTED
    return verdict, (f"Holm-Bonferroni over {len(testable)} testable slices (family-wise alpha = {alpha:g}): "
                     f"significantly positive in {pos}, significantly negative in {neg} "
                     f"({len(results) - len(testable)} untestable)"), adjusted


def _with_holm(evidence: list[list[str]], adjusted: list[float | None]) -> list[list[str]]:
    return [row + [fmt(p, 3)] for row, p in zip(evidence, adjusted)]


TREND_RULE = ("Holm-Bonferroni over the slices; supported iff Holm rejects >= 1 slice with a positive contrast and "
              "none with a negative one")


def _trend_claim(name: str, title: str, rule: str, headers: list[str], trend: tuple, alpha: float) -> Claim:
    """A claim that a contrast is positive in the slices of ``trend`` (``_trend``'s evidence and results):
    Holm-Bonferroni over the testable slices, each slice's Holm p in the evidence's last column."""
    evidence, results = trend
    verdict, summary, adjusted = _trend_verdict(results, alpha)
    return Claim(name, title, f"{rule}; {TREND_RULE}", verdict, summary, [*headers, "Holm p"],
                 _with_holm(evidence, adjusted))


def viscosity(rows: list[PdeRow], metric: str, opts: StatsOptions) -> Claim:
    return _trend_claim(
        "viscosity", "Memory helps more at lower viscosity (KS)",
        "per (method, resolution, sigma) slice of KS: contrast Delta(lowest nu) - Delta(highest nu) > 0",
        ["slice", f"Delta {metric} = FFNO - MemNO per nu", "Delta(low nu) - Delta(high nu)"],
        _trend(rows, "ks", "nu", lambda r: (("law", r.law), ("res", r.resolution), ("sigma", r.sigma), ("method", r.method)),
               False,
               metric, opts, "nu"), opts.alpha)


def noise(rows: list[PdeRow], metric: str, opts: StatsOptions) -> Claim:
    return _trend_claim(
        "noise", "Memory helps more with observation noise (NS)",
        "per (nu, method, resolution) slice of NS: contrast Delta(highest sigma) - Delta(lowest sigma) > 0",
        ["slice", f"Delta {metric} = FFNO - MemNO per sigma", "Delta(high sigma) - Delta(low sigma)"],
        _trend(rows, "ns", "sigma", lambda r: (("law", r.law), ("nu", r.nu), ("res", r.resolution), ("method", r.method)),
               True,
               metric, opts, "sigma"), opts.alpha)


def benchmarks_pde(rows: list[PdeRow], metric: str, opts: StatsOptions) -> Claim:
    rule = ("per (equation, nu, method, sigma) slice: contrast Delta(largest omega_f) - Delta(smallest omega_f) > 0 "
            "(the smallest omega_f is the benchmark-like, resolved setting); supported iff significantly positive "
            "after Holm-Bonferroni over the slices in >= 1 slice and significantly negative in none")
    ev, res = [], []
    for eq in sorted({r.equation for r in rows}):
        e, t = _trend(rows, eq, "omega_f", lambda r: (("eq", r.equation), ("law", r.law), ("nu", r.nu),
                                                      ("method", r.method), ("sigma", r.sigma)), True, metric, opts, "omega_f")
        ev += e
        res += t
    verdict, summary, adjusted = _trend_verdict(res, opts.alpha)
    if not res and rows and all(r.omega_f is None for r in rows):
        summary = "no omega_f.csv was found for the datasets trained"
    return Claim("benchmarks_pde", "Benchmark-like PDE settings hide the memory advantage", rule, verdict, summary,
                 ["slice", f"Delta {metric} = FFNO - MemNO per omega_f",
                  "Delta(max omega_f) - Delta(min omega_f)", "Holm p"], _with_holm(ev, adjusted))


def memory_low_resolution(rows: list[PdeRow], metric: str, opts: StatsOptions) -> Claim:
    title = "MemNO beats FFNO at KS's lowest observed resolution"
    rule = ("per (nu, method, sigma) slice of KS at the lowest observed resolution trained: Delta = FFNO - MemNO "
            f"{metric}, two-sample test; Holm-Bonferroni over the slices; supported iff Holm rejects >= 1 slice "
            "with Delta > 0 and none with Delta < 0")
    ks = [r for r in rows if r.equation == "ks" and r.model == MEMORY_MODEL and r.deltas.get(metric)]
    evidence, results = [], []
    if ks:
        low = min(r.resolution for r in ks)
        ffno = {r.dataset: r for r in rows if r.model == MARKOV_MODEL}
        for r in sorted((r for r in ks if r.resolution == low), key=lambda r: r.dataset):
            t = r.deltas[metric]
            if t is None or t.estimate is None:
                continue
            results.append(t)
            f = ffno[r.dataset].summaries[metric]
            m = r.summaries[metric]
            evidence.append([f"law={r.law}, nu={fmt(r.nu)}, method={r.method}, res={r.resolution}, sigma={fmt(r.sigma)}",
                             f"{fmt(f.mean)} (n={f.n})", f"{fmt(m.mean)} (n={m.n})", fmt_test(t),
                             fmt(r.ratios[metric].estimate if r.ratios.get(metric) else None, 3)])
    verdict, summary, adjusted = _trend_verdict(results, opts.alpha)
    if not results:
        summary = "no KS dataset has both FFNO and MemNO results"
    return Claim("memory_low_resolution", title, rule, verdict, summary,
                 ["slice", "FFNO", "MemNO", "Delta", "FFNO/MemNO", "Holm p"], _with_holm(evidence, adjusted))


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
            f"Significance: {opts.describe()}. PDE differences use `{metric}`. Verdicts follow the stated rule of "
            "each claim; `not run at this scale` means the runs needed (both models, two or more settings, two or "
            "more seeds per group) are not in this configuration or not finished.\n"]
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
