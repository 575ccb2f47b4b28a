"""Part I tables: ``table1_benchmarks``, ``table2_planted_star`` (tables/planted.py), ``graphical_models``,
``memory_threshold`` (tables/memory.py), and the full run/sweep CSVs.

Each graph cell is (experiment, variant, model[-d{depth}-w{width}]); its value is the test metric of the model
selected by validation (the trainer's choice, recorded in ``hyper``), mean ± std over seeds. The edge model is
compared with its registered counterpart (``register_graph_model(..., counterpart=)``, same budget): ``edge gain`` is the
improvement of edge over node in the metric's own direction (node - edge for errors, edge - node for accuracy
and AP), so a positive gain means edge is better; its significance is tested over seeds (stats.py).
``runs_graph.csv`` lists every expected run and ``sweeps_graph.csv`` every configuration a sweep tried, with
the one selected marked, so nothing is cherry-picked silently.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from gapbench.graphs.kinds import DATASET_KINDS
from gapbench.registry import GRAPH_MODELS, order
from gapbench.tables import memory, planted, reference
from gapbench.train.graph_paths import EDGE_FEATURES
from gapbench.tables.collect import Cell, Collection, read_csv_rows, split_model
from gapbench.tables.render import (csv_text, fmt, fmt_summary, fmt_test, md_table, missing_section,
                                    summary_cols, test_cols, write_text)
from gapbench.tables.stats import StatsOptions, Summary, TestResult, compare, summarize
from gapbench.tables.style import display



def model_rank(model: str) -> tuple:
    """Sort key: registered models in registration order, then others; budgets by depth, width (numerically)."""
    base, depth, width = split_model(model)
    return (*order(base, GRAPH_MODELS), depth or 0, width or 0)


def counterpart(model: str) -> str | None:
    """The model a run is compared with (its registered ``counterpart``, same budget and variant):
    'edge_gcn-d2-w16' -> 'node_gcn-d2-w16'; None for a model registered without one."""
    base = split_model(model)[0].removesuffix(EDGE_FEATURES)
    entry = GRAPH_MODELS.get(base)
    return entry.counterpart + model[len(base):] if entry is not None and entry.counterpart else None


@dataclass
class GraphRow:
    """One (experiment, variant, model) cell."""

    experiment: str
    variant: str
    params: dict
    model: str
    base_model: str
    budget_depth: int | None
    budget_width: int | None
    metric: str
    higher_is_better: bool
    test: Summary
    valid: Summary
    train_time: Summary
    n_params: int | None
    selected_hyper: str
    edge_gain: TestResult | None  # set on edge models that have a node counterpart
    cell: Cell

    @property
    def budget(self) -> int | None:
        return self.budget_depth * self.budget_width if self.budget_depth and self.budget_width else None


def _metric(cell: Cell) -> tuple[str, bool]:
    for run in cell.usable:
        if "metric" in run.metrics:
            return str(run.metrics["metric"]), bool(run.metrics.get("higher_is_better", False))
    kind = cell.ident["experiment"]
    if kind == "benchmark" and cell.ident["variant"] in reference.TABLE1:
        metric, hib, _ = reference.TABLE1[cell.ident["variant"]]
        return metric, hib
    entry = DATASET_KINDS.get(kind)  # metric and direction when no usable run says so: the kind's
    return (entry.metric, entry.higher_is_better) if entry and entry.metric != "card" else ("test", False)


SWEPT = ("depth", "width", "lr")  # the sweep's axes; other hyper keys are in runs_graph.csv


def hyper_text(hyper: dict) -> str:
    """The swept hyperparameters of a selected configuration, e.g. 'depth=3 width=32 lr=0.001'."""
    keys = [k for k in SWEPT if k in hyper] or sorted(hyper)
    return " ".join(f"{k}={fmt(hyper[k]) if isinstance(hyper[k], float) else hyper[k]}" for k in keys)


def is_selected(row: dict, hyper: dict) -> bool:
    """Whether a sweep.csv/curves.csv row is the configuration ``hyper`` (compared on the keys both have)."""
    common = [k for k in hyper if k in row]
    return bool(common) and all(_same(row[k], hyper[k]) for k in common)


def _selected(cell: Cell) -> str:
    """The hyperparameters the trainer selected, with how many seeds chose each when they differ."""
    counts = Counter(hyper_text(r.metrics.get("hyper") or {}) for r in cell.usable)
    if len(counts) <= 1:
        return next(iter(counts), "")
    return "; ".join(f"{h} (x{c})" for h, c in counts.most_common())


def gain(node: list[float], edge: list[float], higher_is_better: bool, opts: StatsOptions) -> TestResult:
    """Edge improvement over node in the metric's direction, tested over seeds."""
    return compare(edge, node, opts) if higher_is_better else compare(node, edge, opts)


def build_rows(coll: Collection, opts: StatsOptions) -> list[GraphRow]:
    rows = []
    by_key = {c.key: c for c in coll.graph.values()}
    for cell in sorted(coll.graph.values(), key=lambda c: (c.ident["experiment"], c.ident["variant"],
                                                           model_rank(c.ident["model"]))):
        i = cell.ident
        metric, hib = _metric(cell)
        n_params = cell.first("n_params")
        edge_gain = None
        other = counterpart(i["model"])
        if other is not None and (i["experiment"], i["variant"], other) in by_key:
            node_cell = by_key[(i["experiment"], i["variant"], other)]
            edge_gain = gain(node_cell.values("test"), cell.values("test"), hib, opts)
        rows.append(GraphRow(
            i["experiment"], i["variant"], dict(i.get("params") or {}), i["model"], i["base_model"],
            i["budget_depth"], i["budget_width"], metric, hib,
            summarize(cell.values("test"), cell.n_expected), summarize(cell.values("valid"), cell.n_expected),
            summarize(cell.values("train_time_s"), cell.n_expected),
            int(n_params) if isinstance(n_params, (int, float)) else None, _selected(cell), edge_gain, cell))
    return rows


def row_dict(r: GraphRow) -> dict:
    out = {"experiment": r.experiment, "variant": r.variant, "params": r.params, "model": r.model,
           "base_model": r.base_model, "budget_depth": r.budget_depth, "budget_width": r.budget_width,
           "status": r.cell.status, "metric": r.metric, "higher_is_better": r.higher_is_better,
           "n_params": r.n_params}
    out.update(summary_cols("test", r.test))
    out.update(summary_cols("valid", r.valid))
    out["selected_hyper"] = r.selected_hyper
    out.update(test_cols("edge_gain", r.edge_gain))
    out.update(summary_cols("train_time_s", r.train_time))
    return out


# ------------------------------------------------------------------------------------------------ Table 1
def table1(rows: list[GraphRow], opts: StatsOptions) -> tuple[list[dict], str]:
    bench = [r for r in rows if r.experiment == "benchmark"]
    datasets = sorted({r.variant for r in bench}, key=lambda v: (list(reference.TABLE1).index(v)
                                                               if v in reference.TABLE1 else 99, v))
    models = sorted({r.model for r in bench}, key=model_rank)
    csv_rows, md_rows = [], []
    for ds in datasets:
        cells = {r.model: r for r in bench if r.variant == ds}
        any_row = next(iter(cells.values()))
        out = {"dataset": ds, "metric": any_row.metric, "higher_is_better": any_row.higher_is_better}
        protocol = "; ".join(sorted({str(r.cell.first("protocol")) for r in cells.values()
                                     if r.cell.first("protocol")}))
        out["protocol"] = protocol
        md = [ds, any_row.metric + (" (higher better)" if any_row.higher_is_better else " (lower better)"),
              protocol]
        for m in models:
            s = cells[m].test if m in cells else Summary(None, None, 0, 0)
            out.update(summary_cols(m, s))
            out[f"{m}_n_params"] = cells[m].n_params if m in cells else None
            md.append((fmt_summary(s, cells[m].cell.status) + (f" [{cells[m].n_params / 1e3:.0f}k]"
                                                               if cells[m].n_params else ""))
                      if m in cells else "not configured")
        ref = reference.TABLE1.get(ds, (None, None, {}))[2]
        for m in ("node_gcn", "edge_gcn"):
            mean, std = ref.get(m, (None, None))
            out[f"seed_{m}_mean"], out[f"seed_{m}_std"] = mean, std
            md.append(f"{fmt(mean)} ± {fmt(std)}" if mean is not None else "")
        g = next((cells[m].edge_gain for m in models if m in cells and cells[m].edge_gain is not None), None)
        out.update(test_cols("edge_gain", g))
        md.append(fmt_test(g))
        csv_rows.append(out)
        md_rows.append(md)
    headers = ["dataset", "metric", "protocol", *map(display, models), "seed GCN", "seed Edge-GCN",
               "edge gain"]
    text = ("# Table 1: standard benchmarks, node vs edge GCN (and the structure-free DeepSets)\n\n"
            "As published (the talk's Table 1, benchmarking-gnns' GCN), every model sees the node features only; "
            "columns marked `+ edge features` are the separately labelled variant that also sees the dataset's "
            "edge features. `protocol`: the published settings followed per dataset. "
            "Test metric, mean ± std over seeds (n), [parameters]; seed columns: the talk's "
            "Table 1 (accuracies as fractions). edge gain: improvement of Edge-GCN over GCN in the metric's "
            f"direction (positive = edge better). Significance: {opts.describe()}; * significant, (ns) not, "
            "(n/t) not testable.\n\n")
    text += md_table(headers, md_rows) if md_rows else "_No benchmark runs configured at this scale._\n"
    text += missing_section([run for r in bench for run in r.cell.runs if not run.usable])
    return csv_rows, text


# ------------------------------------------------------------------------------------------------ graphical models
def _param_label(r: GraphRow) -> str:
    """The variant field naming the row in its kind's table section (``n`` unless the kind says otherwise)."""
    entry = DATASET_KINDS.get(r.experiment)
    return str(r.params.get(entry.table.param if entry and entry.table else "n", r.variant))


def _param_sort(r: GraphRow):
    p = _param_label(r)
    return (0, int(p), "") if p.isdigit() else (1, 0, p)


def smallest_budget(rows: list[GraphRow], threshold: float) -> list[dict]:
    """Per (base model, n): the smallest depth x width whose mean accuracy reaches ``threshold``."""
    out = []
    groups: dict[tuple, list[GraphRow]] = {}
    for r in rows:
        if r.budget is not None:
            groups.setdefault((r.base_model, _param_label(r)), []).append(r)
    for (base, n), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], _param_sort(kv[1][0]))):
        ok = [r for r in rs if r.test.mean is not None and r.test.mean >= threshold]
        best = min(ok, key=lambda r: (r.budget, r.budget_depth)) if ok else None
        out.append({"model": base, "n": n, "threshold": threshold,
                    "smallest_budget": best.budget if best else None,
                    "depth": best.budget_depth if best else None, "width": best.budget_width if best else None,
                    "tried": sum(r.test.n > 0 for r in rs), "configured": len(rs),
                    "partial": any(r.test.flag for r in rs)})
    return out


def _budget_text(s: dict) -> str:
    if s["tried"] == 0:
        return "missing"
    text = f"{s['smallest_budget']} (d{s['depth']} w{s['width']})" if s["smallest_budget"] else "none reached"
    return text + (" !" if s["partial"] else "")


BREAKDOWN_MEANS = ("acc_within_reach", "acc_hub_only", "local_ceiling", "ceiling_within_reach", "ceiling_hub_only")
BREAKDOWN_COUNTS = ("reach", "n_within_reach", "n_hub_only")


def breakdown_cols(r: GraphRow) -> dict:
    """A row's test-metric breakdown (metrics.json ``breakdown``; MAP: the hub route): the accuracies and
    ceilings as means over the usable seeds, the reach and the per-seed vertex counts of the first run."""
    per_seed = [run.metrics["breakdown"] for run in sorted(r.cell.usable, key=lambda run: run.seed)
                if isinstance(run.metrics.get("breakdown"), dict)]
    if not per_seed:
        return {}
    out = {}
    for key in BREAKDOWN_MEANS:
        vals = [b[key] for b in per_seed if isinstance(b.get(key), (int, float))]
        out[key] = sum(vals) / len(vals) if vals else None
    out.update({key: per_seed[0].get(key) for key in BREAKDOWN_COUNTS})
    return out


def _hub_route_text(sub: list[GraphRow]) -> str:
    """The MAP section's hub-route table: accuracy within reach / hub only beside the local ceiling."""
    lines = [[_param_label(r), r.model, str(b["reach"]),
              f"{fmt(b['acc_within_reach'], 3)} / {fmt(b['ceiling_within_reach'], 3)} ({b['n_within_reach']})",
              f"{fmt(b['acc_hub_only'], 3)} / {fmt(b['ceiling_hub_only'], 3)} ({b['n_hub_only']})",
              f"{fmt(r.test.mean, 3)} / {fmt(b['local_ceiling'], 3)}"]
             for r in sub if (b := breakdown_cols(r))]
    if not lines:
        return ""
    return ("\nThe hub route: a vertex is *within reach* when its path's clamp pair lies in the path window the "
            "model sees without the hub (radius = depth for node models, depth + 1 for edge models, 0 for "
            "DeepSets), else *hub only* (the clamp can reach it only through the hub). Each cell: accuracy / "
            "local ceiling (vertex count per seed); the local ceiling is the exact Bayes-optimal accuracy given "
            "only that window (hard law; none otherwise). Above the ceiling = information that came through the "
            "hub; `-ids` models also get their path's identity as a feature.\n\n"
            + md_table(["n", "model", "reach", "within reach: acc / ceiling (n)", "hub only: acc / ceiling (n)",
                        "all: acc / ceiling"], lines))


def graphical_models(rows: list[GraphRow], opts: StatsOptions, threshold: float) -> tuple[list[dict], str]:
    sections = [(kind.name, kind.table) for kind in DATASET_KINDS.values() if kind.table is not None]
    csv_rows = []
    text = ("# Graphical models and the duplicate task: node vs edge message passing\n\n"
            "Test metric, mean ± std over seeds (n). Model names carry the fixed budget as d{depth} w{width}. "
            "edge gain: improvement of the edge model over its node counterpart at the same budget "
            f"(positive = edge better). Significance: {opts.describe()}; * significant, (ns) not, "
            "(n/t) not testable.\n")
    for kind, section in sections:
        sub = sorted((r for r in rows if r.experiment == kind), key=lambda r: (_param_sort(r),
                                                                               model_rank(r.model)))
        for r in sub:
            csv_rows.append({"section": kind, "param": _param_label(r), **row_dict(r), **breakdown_cols(r)})
        text += f"\n## {section.title}\n\n"
        if not sub:
            text += "_Not run at this scale._\n"
            continue
        params = sorted({_param_label(r) for r in sub}, key=lambda p: (0, int(p)) if p.isdigit() else (1, p))
        models = sorted({r.model for r in sub}, key=model_rank)
        pivot = []
        for p in params:
            cells = {r.model: r for r in sub if _param_label(r) == p}
            pivot.append([p] + [fmt_summary(cells[m].test, cells[m].cell.status) if m in cells else ""
                                for m in models])
        text += md_table([section.param, *map(display, models)], pivot)
        gains = [[_param_label(r), display(r.model), display(counterpart(r.model)), fmt_test(r.edge_gain)]
                 for r in sub if r.edge_gain is not None]
        if gains:
            text += "\nEdge vs node at equal budget:\n\n" + md_table(["param", "edge model", "node model",
                                                                      "edge gain"], gains)
        text += _hub_route_text(sub)
        if section.smallest_budget:
            sb = smallest_budget(sub, threshold)
            if sb:
                text += (f"\nSmallest budget depth x width whose mean accuracy reaches {threshold:g} "
                         "(the sqrt(n) lower bound says node models need it to grow with n; '!' partial):\n\n")
                text += md_table(["model", "n", "smallest depth x width", "budgets with results"],
                                 [[display(s["model"]), s["n"], _budget_text(s), f"{s['tried']}/{s['configured']}"]
                                  for s in sb])
        text += missing_section([run for r in sub for run in r.cell.runs if not run.usable])
    return csv_rows, text


# ------------------------------------------------------------------------------------------------ full CSVs
def run_rows(coll: Collection) -> list[dict]:
    out = []
    for run in sorted((r for r in coll.runs if r.task == "graph"), key=lambda r: (r.key, r.seed)):
        row = {"experiment": run.ident["experiment"], "variant": run.ident["variant"], "model": run.ident["model"],
               "seed": run.seed, "status": run.status, "reason": run.reason, "path": str(run.path)}
        row.update({f"param_{k}": v for k, v in (run.ident.get("params") or {}).items()})
        row.update({f"hyper_{k}": v for k, v in (run.metrics.get("hyper") or {}).items()})
        row.update({k: v for k, v in run.metrics.items() if k not in row and not isinstance(v, (dict, list))})
        out.append(row)
    return out


def _same(a, b) -> bool:
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)
    except (TypeError, ValueError):
        return str(a) == str(b)


def sweep_rows(coll: Collection) -> list[dict]:
    """Every row of every sweep.csv next to an expected metrics file, the selected one marked."""
    out = []
    for run in sorted((r for r in coll.runs if r.task == "graph"), key=lambda r: (r.key, r.seed)):
        hyper = run.metrics.get("hyper") or {}
        for i, row in enumerate(read_csv_rows(run.path.parent / "sweep.csv")):
            selected = run.usable and is_selected(row, {k: v for k, v in hyper.items() if k in SWEPT} or hyper)
            out.append({"experiment": run.ident["experiment"], "variant": run.ident["variant"],
                        "model": run.ident["model"], "seed": run.seed, "config": i, "selected": selected, **row})
    return out


def write(coll: Collection, tables_dir: Path, opts: StatsOptions, map_threshold: float,
          memory_targets: memory.MemoryTargets | None = None) -> list[GraphRow]:
    """Write table1_benchmarks, table2_planted_star, graphical_models, memory_threshold (.csv, .md),
    runs/sweeps_graph.csv."""
    rows = build_rows(coll, opts)
    tables_dir = Path(tables_dir)
    for name, (csv_rows, text) in (("table1_benchmarks", table1(rows, opts)),
                                   ("table2_planted_star", planted.table2(rows, opts)),
                                   ("graphical_models", graphical_models(rows, opts, map_threshold)),
                                   ("memory_threshold", memory.table(rows, memory_targets or memory.MemoryTargets(),
                                                                     model_rank, opts.alpha))):
        write_text(tables_dir / f"{name}.csv", csv_text(csv_rows, None if csv_rows else EMPTY_COLUMNS[name]))
        write_text(tables_dir / f"{name}.md", text)
    runs = run_rows(coll)
    write_text(tables_dir / "runs_graph.csv", csv_text(runs, None if runs else EMPTY_COLUMNS["runs"]))
    sweeps = sweep_rows(coll)
    write_text(tables_dir / "sweeps_graph.csv", csv_text(sweeps, None if sweeps else EMPTY_COLUMNS["sweeps"]))
    return rows


# Header of a table with no rows (nothing of that kind configured).
EMPTY_COLUMNS = {
    "table1_benchmarks": ["dataset", "metric", "higher_is_better"],
    "table2_planted_star": planted.EMPTY_COLUMNS,
    "graphical_models": ["section", "param", "experiment", "variant", "model"],
    "memory_threshold": memory.EMPTY_COLUMNS,
    "runs": ["experiment", "variant", "model", "seed", "status", "reason", "path"],
    "sweeps": ["experiment", "variant", "model", "seed", "config", "selected"],
}
