"""``results/claims.md``: each claim of the seed, the measured evidence, and a verdict by a stated rule.

Verdicts: ``supported``, ``not supported``, ``not run at this scale``. The rules (also printed in claims.md):

* planted star: the edge gain (node RMSE - edge RMSE) is significantly positive in *every* testable
  (leaves, depth) cell -> supported; a testable cell without it -> not supported; no cell with both models,
  or none testable (fewer than 2 seeds), -> not run at this scale (the direction is still shown).
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
* standard graph benchmarks hide the edge advantage: supported when every benchmark's relative gap
  ``|edge - node| / |node|`` is smaller than the smallest relative edge gain on the planted stars
  (``(node - edge) / node``); not supported otherwise; not run without both tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gapbench.tables import reference
from gapbench.tables.graphs import GraphRow
from gapbench.tables.pde import PdeRow
from gapbench.tables.render import fmt, fmt_test, md_table, write_text
from gapbench.tables.stats import StatsOptions, TestResult, contrast, holm, holm_adjusted

SUPPORTED, NOT_SUPPORTED, NOT_RUN = "supported", "not supported", "not run at this scale"
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
def planted_star(rows: list[GraphRow]) -> Claim:
    rule = ("supported iff the edge gain (node RMSE - edge RMSE) is significantly positive in every testable "
            "(leaves, depth) cell; not run at this scale when no cell has both models with >= 2 seeds")
    cells = [r for r in rows if r.experiment == "planted_star" and r.model == "edge_gcn"
             and r.edge_gain is not None and r.edge_gain.estimate is not None]
    cells.sort(key=lambda r: (-int(r.params.get("leaves", 0)), -int(r.params.get("depth", 0))))
    node = {(r.variant): r for r in rows if r.experiment == "planted_star" and r.model == "node_gcn"}
    evidence = [[str(r.params.get("leaves", "")), str(r.params.get("depth", "")),
                 f"{fmt(r.test.mean)} (n={r.test.n})", f"{fmt(node[r.variant].test.mean)} (n={node[r.variant].test.n})",
                 fmt_test(r.edge_gain)] for r in cells]
    headers = ["leaves", "planted depth", "edge RMSE", "node RMSE", "edge gain"]
    testable = [r for r in cells if r.edge_gain.significant is not None]
    direction = sum(r.edge_gain.estimate > 0 for r in cells)
    if not cells:
        return Claim("planted_star", "Edge beats node on planted stars", rule, NOT_RUN,
                     "no planted-star cell has usable runs of both edge_gcn and node_gcn")
    if not testable:
        return Claim("planted_star", "Edge beats node on planted stars", rule, NOT_RUN,
                     f"edge RMSE is lower in {direction} of {len(cells)} cells, but no cell has >= 2 seeds per "
                     "model, so no difference can be tested", headers, evidence)
    good = [r for r in testable if r.edge_gain.direction > 0]
    verdict = SUPPORTED if len(good) == len(testable) else NOT_SUPPORTED
    return Claim("planted_star", "Edge beats node on planted stars", rule, verdict,
                 f"edge significantly better in {len(good)} of {len(testable)} testable cells "
                 f"({len(cells) - len(testable)} untestable)", headers, evidence)


def benchmarks_graphs(rows: list[GraphRow]) -> Claim:
    title = "Standard graph benchmarks hide the edge advantage"
    rule = ("supported iff every benchmark's relative gap |edge - node| / |node| is below the smallest relative "
            "edge gain (node - edge) / node on the planted stars; not run without both")
    bench = [r for r in rows if r.experiment == "benchmark" and r.model == "edge_gcn" and r.edge_gain
             and r.edge_gain.estimate is not None]
    planted = [r for r in rows if r.experiment == "planted_star" and r.model == "edge_gcn" and r.edge_gain
               and r.edge_gain.estimate is not None]
    node = {(r.experiment, r.variant): r for r in rows if r.model == "node_gcn"}
    evidence = []
    bench_gaps, planted_gains = [], []
    for r in bench:
        base = abs(node[(r.experiment, r.variant)].test.mean)
        gap = abs(r.edge_gain.estimate) / base if base else None
        bench_gaps.append(gap)
        evidence.append(["benchmark", r.variant, r.metric, fmt_test(r.edge_gain), fmt(gap, 3)])
    for r in planted:
        base = node[(r.experiment, r.variant)].test.mean
        g = r.edge_gain.estimate / base if base else None
        planted_gains.append(g)
        evidence.append(["planted star", r.variant, r.metric, fmt_test(r.edge_gain), fmt(g, 3)])
    headers = ["task", "dataset", "metric", "edge gain", "relative gap"]
    if not bench or not planted or None in bench_gaps or None in planted_gains:
        what = "Table 1 benchmarks" if not bench else "planted stars"
        return Claim("benchmarks_graphs", title, rule, NOT_RUN,
                     f"no usable edge/node pair on the {what}" if (not bench or not planted) else
                     "a node metric of 0 leaves a relative gap undefined", headers, evidence)
    verdict = SUPPORTED if max(bench_gaps) < min(planted_gains) else NOT_SUPPORTED
    return Claim("benchmarks_graphs", title, rule, verdict,
                 f"largest relative gap on benchmarks {fmt(max(bench_gaps), 3)} vs smallest relative edge gain "
                 f"on planted stars {fmt(min(planted_gains), 3)}", headers, evidence)


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


def viscosity(rows: list[PdeRow], metric: str, opts: StatsOptions) -> Claim:
    rule = ("per (method, resolution, sigma) slice of KS: contrast Delta(lowest nu) - Delta(highest nu) > 0; "
            "Holm-Bonferroni over the slices; supported iff Holm rejects >= 1 slice with a positive contrast and none "
            "with a negative one")
    ev, res = _trend(rows, "ks", "nu", lambda r: (("res", r.resolution), ("sigma", r.sigma), ("method", r.method)),
                     False, metric, opts, "nu")
    verdict, summary, adjusted = _trend_verdict(res, opts.alpha)
    return Claim("viscosity", "Memory helps more at lower viscosity (KS)", rule, verdict, summary,
                 ["slice", f"Delta {metric} = FFNO - MemNO per nu", "Delta(low nu) - Delta(high nu)", "Holm p"],
                 _with_holm(ev, adjusted))


def noise(rows: list[PdeRow], metric: str, opts: StatsOptions) -> Claim:
    rule = ("per (nu, method, resolution) slice of NS: contrast Delta(highest sigma) - Delta(lowest sigma) > 0; "
            "Holm-Bonferroni over the slices; supported iff Holm rejects >= 1 slice with a positive contrast and none "
            "with a negative one")
    ev, res = _trend(rows, "ns", "sigma", lambda r: (("nu", r.nu), ("res", r.resolution), ("method", r.method)),
                     True, metric, opts, "sigma")
    verdict, summary, adjusted = _trend_verdict(res, opts.alpha)
    return Claim("noise", "Memory helps more with observation noise (NS)", rule, verdict, summary,
                 ["slice", f"Delta {metric} = FFNO - MemNO per sigma", "Delta(high sigma) - Delta(low sigma)",
                  "Holm p"], _with_holm(ev, adjusted))


def benchmarks_pde(rows: list[PdeRow], metric: str, opts: StatsOptions) -> Claim:
    rule = ("per (equation, nu, method, sigma) slice: contrast Delta(largest omega_f) - Delta(smallest omega_f) > 0 "
            "(the smallest omega_f is the benchmark-like, resolved setting); supported iff significantly positive "
            "after Holm-Bonferroni over the slices in >= 1 slice and significantly negative in none")
    ev, res = [], []
    for eq in sorted({r.equation for r in rows}):
        e, t = _trend(rows, eq, "omega_f", lambda r: (("eq", r.equation), ("nu", r.nu), ("method", r.method),
                                                      ("sigma", r.sigma)), True, metric, opts, "omega_f")
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
            evidence.append([f"nu={fmt(r.nu)}, method={r.method}, res={r.resolution}, sigma={fmt(r.sigma)}",
                             f"{fmt(f.mean)} (n={f.n})", f"{fmt(m.mean)} (n={m.n})", fmt_test(t),
                             fmt(r.ratios[metric].estimate if r.ratios.get(metric) else None, 3)])
    verdict, summary, adjusted = _trend_verdict(results, opts.alpha)
    if not results:
        summary = "no KS dataset has both FFNO and MemNO results"
    return Claim("memory_low_resolution", title, rule, verdict, summary,
                 ["slice", "FFNO", "MemNO", "Delta", "FFNO/MemNO", "Holm p"], _with_holm(evidence, adjusted))


# ------------------------------------------------------------------------------------------------ all
def evaluate(graph_rows: list[GraphRow], pde_rows: list[PdeRow], metric: str, opts: StatsOptions) -> list[Claim]:
    return [planted_star(graph_rows), viscosity(pde_rows, metric, opts), noise(pde_rows, metric, opts),
            benchmarks_graphs(graph_rows), benchmarks_pde(pde_rows, metric, opts),
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
