"""The memory-threshold table: how much width a model needs to solve a star task, as the star grows.

The node-memory argument (docs/gnn.md): on a star every leaf-to-leaf message passes through the centre, so a
node model must store what the leaves need in the centre's state, whose size is the width; the edge model keeps
one state per leaf edge. The experiment (``train.graph.memory``) trains every model at every depth x width of a
grid on the planted stars (``n`` = leaves; one teacher for every ``n``) and the duplicate task (``n`` = leaves)
and records the test metric.

Per (task, model, n), with the seed-mean test metric of each grid point:

* planted star: error = normalized RMSE = RMSE / std of the test leaf targets; reached when ``<= nrmse_target``;
* duplicate task: accuracy; reached when ``>= accuracy_target``;
* ``min_width`` = the smallest width at which some depth reaches the target; ``min_budget`` = the smallest
  depth x width that reaches it (ties: smaller depth). ``None`` when no grid point reaches it.

Per (task, model), the **slope** of the needed width against n (:func:`fit_slope`): least squares of
``log2(min_width) = a + b log2(n)`` over the n where the target is reached, with an interval for ``b`` made of two
parts. The grid: reached at width ``w`` and not at the grid width before it, the needed width lies in
``(w_prev, w]``, so each point may sit lower than measured by a known amount; the slope moves within the range
those roundings allow (exact bounds, the fit being linear in the points). The scatter about the line (seed noise,
curvature): a t-interval on the residuals, ``t_{k-2} sqrt(SSR / (k - 2) / Sxx)``, added on both sides. So a
series read 8, 8, 8, 8 on a power-of-2 grid gets a slope of 0 within the rounding range, not an exact 0. The
interval needs >= 3 values of n with the target reached (df = points - 2); the t-level is Bonferroni-corrected
over the series that get an interval.

Exclusions (:func:`excluded`): a model whose floor is above the target can show no threshold at all, so its
series says nothing about memory and is excluded, by name: a node GCN (eq. 3) on a planted star whose affine floor
(RMSE / leaf std, recorded per dataset) is above the target at some n (no width can reach it there), and any
model that reaches the target at no n of the grid (its empirical floor is above the target).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gapbench.tables.render import fmt, md_table
from gapbench.tables.style import display

TASK_METRIC = {"planted_star": "nrmse", "duplicates": "accuracy"}


@dataclass(frozen=True)
class MemoryTargets:
    """What counts as solved (config ``tables.memory_nrmse_target`` / ``memory_accuracy_target``)."""

    nrmse: float = 0.2
    accuracy: float = 0.95

    def reached(self, task: str, value: float) -> bool:
        return value <= self.nrmse if task == "planted_star" else value >= self.accuracy

    def text(self, task: str) -> str:
        return (f"RMSE / leaf std <= {self.nrmse:g}" if task == "planted_star"
                else f"accuracy >= {self.accuracy:g}")


def point_value(row) -> float | None:
    """A grid point's seed-mean value on the task's scale (normalized RMSE or accuracy), None when unusable."""
    if row.test.mean is None:
        return None
    if row.params.get("task") != "planted_star":
        return row.test.mean
    floor = row.cell.first("affine_floor")
    std = floor.get("leaf_std") if isinstance(floor, dict) else None
    return row.test.mean / std if std else None


def floor_value(row) -> float | None:
    """A planted grid point's affine floor on the normalized scale (floor RMSE / leaf std), None otherwise."""
    floor = row.cell.first("affine_floor")
    if row.params.get("task") != "planted_star" or not isinstance(floor, dict) or not floor.get("leaf_std"):
        return None
    return floor["rmse"] / floor["leaf_std"]


def groups(rows) -> dict[tuple, list]:
    """Memory-experiment rows grouped by (task, base model, n)."""
    out: dict[tuple, list] = {}
    for r in rows:
        if r.experiment == "memory" and r.budget is not None and r.params.get("n") is not None:
            out.setdefault((r.params["task"], r.base_model, int(r.params["n"])), []).append(r)
    return out


def thresholds(rows, targets: MemoryTargets, model_rank) -> list[dict]:
    """One dict per (task, model, n) with the smallest width and depth x width reaching the target."""
    out = []
    for (task, model, n), rs in sorted(groups(rows).items(), key=lambda kv: (kv[0][0], model_rank(kv[0][1]),
                                                                             kv[0][2])):
        values = [(r, point_value(r)) for r in rs]
        ok = [r for r, v in values if v is not None and targets.reached(task, v)]
        best_w = min(ok, key=lambda r: (r.budget_width, r.budget_depth)) if ok else None
        best_b = min(ok, key=lambda r: (r.budget, r.budget_depth)) if ok else None
        usable = [v for _, v in values if v is not None]
        floor = next((f for f in (floor_value(r) for r in rs) if f is not None), None)
        best_value = (min(usable) if task == "planted_star" else max(usable)) if usable else None
        out.append({
            "task": task, "model": model, "n": n, "metric": TASK_METRIC[task], "target": targets.text(task),
            "min_width": best_w.budget_width if best_w else None,
            "min_width_depth": best_w.budget_depth if best_w else None,
            "min_depth_x_width": best_b.budget if best_b else None,
            "min_budget_depth": best_b.budget_depth if best_b else None,
            "min_budget_width": best_b.budget_width if best_b else None,
            "best_value": best_value, "floor": floor,
            "widths_tried": " ".join(str(w) for w in sorted({r.budget_width for r in rs})),
            "depths_tried": " ".join(str(d) for d in sorted({r.budget_depth for r in rs})),
            "points_with_results": len(usable), "points_configured": len(rs),
            "seeds": max((r.test.n for r in rs), default=0),
            "partial": any(r.test.flag for r in rs),
        })
    return out


@dataclass(frozen=True)
class Slope:
    """The fitted log-log slope of one (task, model) series: needed width ~ n^slope."""

    task: str
    model: str
    points: int  # values of n with the target reached (the fit's points)
    slope: float | None
    ci_low: float | None
    ci_high: float | None
    level: float  # confidence level of the interval
    excluded: str  # why the series is left out of the rule ('' when it is in)
    censored: tuple[int, ...]  # values of n where the target was not reached


def rounding(width: int, grid: list[int]) -> float:
    """How far below ``log2(width)`` the true threshold may lie: reached at grid width ``w`` and not at the grid
    width before it, ``w_prev`` (none: 0), the needed width is an integer in ``(w_prev, w]``, so its log2 lies in
    ``[log2(w_prev + 1), log2(w)]``."""
    prev = max((g for g in grid if g < width), default=0)
    return math.log2(width) - math.log2(prev + 1)


def fit_slope(ns: list[int], widths: list[int], grid: list[int], level: float) -> tuple[float, float, float] | None:
    """Slope ``b`` of ``log2(width) = a + b log2(n)`` by least squares, and its interval (module docstring):
    ``b = sum_i c_i y_i`` with ``c_i = (x_i - mean x) / Sxx``; the grid rounding moves each ``y_i`` down by at
    most ``r_i`` (:func:`rounding`), moving ``b`` within ``[b - sum_{c_i > 0} c_i r_i, b + sum_{c_i < 0} |c_i|
    r_i]``; that range is widened on both sides by the ``level`` t-interval of the scatter about the line
    (``t_{k-2} sqrt(SSR / (k - 2) / Sxx)``). None with fewer than 3 points (no degrees of freedom)."""
    from scipy import stats

    k = len(ns)
    if k < 3:
        return None
    x = [math.log2(n) for n in ns]
    y = [math.log2(w) for w in widths]
    mx, my = sum(x) / k, sum(y) / k
    sxx = sum((a - mx) ** 2 for a in x)
    if sxx == 0:
        return None
    c = [(a - mx) / sxx for a in x]
    b = sum(ci * yi for ci, yi in zip(c, y))
    r = [rounding(w, grid) for w in widths]
    ssr = sum((yi - my - b * (a - mx)) ** 2 for a, yi in zip(x, y))
    half = float(stats.t.ppf(0.5 + level / 2, k - 2)) * math.sqrt(ssr / (k - 2) / sxx)
    low = b - sum(ci * ri for ci, ri in zip(c, r) if ci > 0) - half
    high = b + sum(-ci * ri for ci, ri in zip(c, r) if ci < 0) + half
    return round(b, 12) + 0.0, low, high  # + 0.0: no -0


def excluded(task: str, model: str, per_n: dict[int, dict], targets: MemoryTargets) -> str:
    """Why a series is excluded (module docstring), '' when it is not."""
    if task == "planted_star" and model == "node_gcn":
        above = [n for n, s in per_n.items() if s.get("floor") is not None and s["floor"] > targets.nrmse]
        if above:
            return (f"affine floor above the target at n = {', '.join(map(str, sorted(above)))} (eq. 3 with a "
                    "linear head cannot reach it at any width)")
    if all(s["min_width"] is None for s in per_n.values()):
        return "reaches the target at no n of the grid (floor above the target)"
    return ""


def slopes(found: list[dict], targets: MemoryTargets, alpha: float) -> list[Slope]:
    """One :class:`Slope` per (task, model) series of :func:`thresholds`; the intervals are Bonferroni-corrected
    over the series that get one (level ``1 - alpha / m``)."""
    series: dict[tuple[str, str], dict[int, dict]] = {}
    for s in found:
        series.setdefault((s["task"], s["model"]), {})[s["n"]] = s
    fits = {}
    for (task, model), per_n in series.items():
        why = excluded(task, model, per_n, targets)
        reached = sorted(n for n, s in per_n.items() if s["min_width"] is not None)
        fits[(task, model)] = (why, reached, tuple(sorted(n for n in per_n if n not in reached)))
    m = sum(1 for why, reached, _ in fits.values() if not why and len(reached) >= 3) or 1
    level = 1 - alpha / m
    out = []
    for (task, model), (why, reached, censored) in fits.items():
        per_n = series[(task, model)]
        widths = sorted({int(w) for s in per_n.values() for w in s["widths_tried"].split()})
        fit = None if why else fit_slope(reached, [per_n[n]["min_width"] for n in reached], widths, level)
        out.append(Slope(task, model, len(reached), *(fit or (None, None, None)), level, why, censored))
    return out


GROWTH = 0.5  # slope of sqrt(n): Thm 2's depth x width = Omega(sqrt(n)) at a fixed depth


def reading(s: Slope) -> str:
    """A series' reading for the rule: 'excluded', 'censored' (target missed at some n), 'no interval' (< 3
    points), 'grows' (CI above 0), 'flat' (CI below :data:`GROWTH` and not above 0), 'undecided'."""
    if s.excluded:
        return "excluded"
    if s.censored:
        return "censored"
    if s.ci_low is None:
        return "no interval"
    if s.ci_low > 0:
        return "grows" + (" (slower than sqrt(n))" if s.ci_high < GROWTH else "")
    if s.ci_high < GROWTH:
        return "flat"
    return "undecided"


def task_verdict(readings: dict[str, tuple[str, str]]) -> str:
    """supported / not supported / inconclusive for one task from {model: (family, reading)}: supported iff every
    included node series grows and every edge series is flat (CI below sqrt(n) growth) with at least one of each;
    not supported iff a node series is flat or an edge series grows; otherwise inconclusive."""
    node = [r for f, r in readings.values() if f == "node" and r != "excluded"]
    edge = [r for f, r in readings.values() if f == "edge" and r != "excluded"]
    if any(r == "flat" for r in node) or any(r.startswith("grows") for r in edge):
        return "not supported"
    if node and edge and all(r.startswith("grows") for r in node) and all(r == "flat" for r in edge):
        return "supported"
    return "inconclusive"


def slope_rows(found: list[dict], targets: MemoryTargets, alpha: float) -> dict[tuple, dict]:
    """Per (task, model): the slope columns of memory_threshold.csv."""
    out = {}
    for s in slopes(found, targets, alpha):
        out[(s.task, s.model)] = {"slope": s.slope, "slope_ci_low": s.ci_low, "slope_ci_high": s.ci_high,
                                  "slope_ci_level": round(s.level, 6), "slope_points": s.points,
                                  "slope_reading": reading(s), "excluded": s.excluded}
    return out


def table(rows, targets: MemoryTargets, model_rank, alpha: float = 0.05) -> tuple[list[dict], str]:
    found = thresholds(rows, targets, model_rank)
    fits = slope_rows(found, targets, alpha)
    for s in found:
        s.update(fits[(s["task"], s["model"])])
    text = ("# Memory threshold: the smallest width that solves the star task, per n\n\n"
            "Per (task, model, n): the smallest width of the grid (at any depth) and the smallest depth x width "
            "whose seed-mean test value reaches the target; `none reached` when no grid point does. Planted "
            "stars: normalized RMSE = test RMSE / std of the test leaf targets, one planted teacher for every n "
            "(same planted_seed); duplicate task: accuracy. Per (task, model): `slope` = least-squares slope of "
            "log2(min width) on log2(n) over the n where the target is reached; its interval: the range the width "
            "grid's rounding allows (the needed width lies between the grid width before the one found and it) "
            "widened by a t-interval of the scatter about the line (Bonferroni over the series with an "
            "interval: level in `slope_ci_level`; needs >= 3 values of n); `reading`: grows (interval above 0), "
            "flat (interval below 0.5, the sqrt(n) growth Thm 2 implies at fixed depth, and not above 0), "
            "censored (target missed at some n), excluded (floor above the target: named with the reason). "
            "Node models whose memory must grow with n show a growing threshold; edge models should not. `!` "
            "marks a partial grid.\n\n")
    if not found:
        return found, text + "_No memory-threshold runs configured at this scale._\n"
    md = [[s["task"], display(s["model"]), str(s["n"]), s["target"],
           (str(s["min_width"]) if s["min_width"] else "none reached") + (" !" if s["partial"] else ""),
           f"{s['min_depth_x_width']} (d{s['min_budget_depth']} w{s['min_budget_width']})"
           if s["min_depth_x_width"] else "none reached",
           fmt(s["best_value"]), fmt(s.get("floor"), 3), s["widths_tried"], s["depths_tried"], str(s["seeds"])]
          for s in found]
    text += md_table(["task", "model", "n", "target", "min width", "min depth x width", "best value",
                      "floor / std", "widths", "depths", "seeds"], md)
    slope_md = []
    for (task, model), f in fits.items():
        ci = (f"[{fmt(f['slope_ci_low'], 3)}, {fmt(f['slope_ci_high'], 3)}]" if f["slope_ci_low"] is not None
              else "")
        slope_md.append([task, model, fmt(f["slope"], 3), ci, str(f["slope_points"]), f["slope_reading"],
                         f["excluded"]])
    text += "\nSlope of log2(needed width) against log2(n):\n\n" + md_table(
        ["task", "model", "slope", "CI", "points", "reading", "excluded because"], slope_md)
    return found, text


EMPTY_COLUMNS = ["task", "model", "n", "metric", "target", "min_width", "min_depth_x_width", "slope", "slope_ci_low",
                 "slope_ci_high"]
