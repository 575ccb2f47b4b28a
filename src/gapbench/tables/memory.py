"""The memory-threshold table: how much width a model needs to solve a star task, as the star grows.

The node-memory argument (docs/gnn.md): on a star every leaf-to-leaf message passes through the centre, so a
node model must store what the leaves need in the centre's state, whose size is the width; the edge model keeps
one state per leaf edge. The experiment (``train.graph.memory``) trains every model at every depth x width of a
grid on the planted stars (``n`` = leaves) and the duplicate task (``n`` = leaves) and records the test metric.

Per (task, model, n), with the seed-mean test metric of each grid point:

* planted star: error = normalized RMSE = RMSE / std of the test leaf targets; reached when ``<= nrmse_target``;
* duplicate task: accuracy; reached when ``>= accuracy_target``;
* ``min_width`` = the smallest width at which some depth reaches the target; ``min_budget`` = the smallest
  depth x width that reaches it (ties: smaller depth). ``None`` when no grid point reaches it.

A threshold on seed means, not a test: the number of seeds is in the table.
"""

from __future__ import annotations

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
        best_value = (min(usable) if task == "planted_star" else max(usable)) if usable else None
        out.append({
            "task": task, "model": model, "n": n, "metric": TASK_METRIC[task], "target": targets.text(task),
            "min_width": best_w.budget_width if best_w else None,
            "min_width_depth": best_w.budget_depth if best_w else None,
            "min_depth_x_width": best_b.budget if best_b else None,
            "min_budget_depth": best_b.budget_depth if best_b else None,
            "min_budget_width": best_b.budget_width if best_b else None,
            "best_value": best_value,
            "widths_tried": " ".join(str(w) for w in sorted({r.budget_width for r in rs})),
            "depths_tried": " ".join(str(d) for d in sorted({r.budget_depth for r in rs})),
            "points_with_results": len(usable), "points_configured": len(rs),
            "seeds": max((r.test.n for r in rs), default=0),
            "partial": any(r.test.flag for r in rs),
        })
    return out


def table(rows, targets: MemoryTargets, model_rank) -> tuple[list[dict], str]:
    found = thresholds(rows, targets, model_rank)
    text = ("# Memory threshold: the smallest width that solves the star task, per n\n\n"
            "Per (task, model, n): the smallest width of the grid (at any depth) and the smallest depth x width "
            "whose seed-mean test value reaches the target; `none reached` when no grid point does. Planted "
            "stars: normalized RMSE = test RMSE / std of the test leaf targets; duplicate task: accuracy. A "
            "threshold on seed means (seeds: n), no test. Node models whose memory must grow with n show a "
            "threshold growing with n; edge models should not. `!` marks a partial grid.\n\n")
    if not found:
        return found, text + "_No memory-threshold runs configured at this scale._\n"
    md = [[s["task"], display(s["model"]), str(s["n"]), s["target"],
           (str(s["min_width"]) if s["min_width"] else "none reached") + (" !" if s["partial"] else ""),
           f"{s['min_depth_x_width']} (d{s['min_budget_depth']} w{s['min_budget_width']})"
           if s["min_depth_x_width"] else "none reached",
           fmt(s["best_value"]), s["widths_tried"], s["depths_tried"], str(s["seeds"])] for s in found]
    text += md_table(["task", "model", "n", "target", "min width", "min depth x width", "best value",
                      "widths", "depths", "seeds"], md)
    return found, text


EMPTY_COLUMNS = ["task", "model", "n", "metric", "target", "min_width", "min_depth_x_width"]
