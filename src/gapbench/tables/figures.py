"""Figures (matplotlib, Agg backend), each written as PNG and PDF under results/figures/.

* ``delta_nrmse_vs_omega_f``: Delta nRMSE = nRMSE(FFNO) - nRMSE(MemNO) against the unobserved energy omega_f,
  one point per dataset (omega_f: where memory should help), error bars the test's CI.
* ``rollout_nrmse``: nRMSE over rollout time per model (mean over seeds of each run's rollout.csv, band ± std
  over seeds), one panel per dataset.
* ``accuracy_vs_cost``: one panel per PDE dataset, nRMSE over the horizon against inference wall time per test
  trajectory (same machine): the solver at each resolution (a line, one marker per grid in the legend), the stabilised
  coarse solver, every learned model (mean over seeds), persistence as a horizontal line (McGreivy & Hakim:
  compare at equal accuracy or equal cost). Diverged or missing runs are left out.
* ``node_vs_edge``: node vs edge test metric against n (MAP, duplicates) and against the number of leaves
  (planted star), mean ± std over seeds.
* ``memory_threshold``: test error against width (best depth per width) on the star tasks of the memory
  experiment, one curve per (model, n), node dashed / edge solid, the target as a horizontal line (planted
  stars: RMSE / leaf std; duplicates: 1 - accuracy, so lower is better in both panels).
* ``training_curves``: validation curves from curves.csv against epochs trained (PDE: valid nRMSE; graphs: the
  validation column of the selected sweep configuration), mean over seeds with a ± std band; one panel per
  equation and per graph experiment, one line style per dataset within a panel.
A model has the same colour and marker in every figure and its registered label in every legend (style.py);
legends sit outside the axes; PNGs are written at style.DPI. A figure without data says so in its axes; it is
still written, so the rule's outputs always exist.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gapbench.pde.equations import EQUATIONS
from gapbench.registry import family_of
from gapbench.tables import memory
from gapbench.tables.collect import read_csv_rows
from gapbench.tables.graphs import SWEPT, GraphRow, is_selected, model_rank
from gapbench.tables.pde import PdeRow, solver_of
from gapbench.tables.style import DPI, band, display, model_color, model_marker

FIGURES = ("delta_nrmse_vs_omega_f", "rollout_nrmse", "accuracy_vs_cost", "node_vs_edge", "memory_threshold",
           "training_curves")
FORMATS = ("png", "pdf")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, figures_dir: Path, stem: str) -> None:
    from gapbench.outputs import atomic_write

    for ext in FORMATS:
        # no creation date in PDFs: the same results give byte-identical figures
        metadata = {"CreationDate": None} if ext == "pdf" else None
        atomic_write(figures_dir / f"{stem}.{ext}",
                     lambda tmp, ext=ext, metadata=metadata: fig.savefig(tmp, format=ext, dpi=DPI, metadata=metadata))
    _plt().close(fig)


def _empty(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} at this scale", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _legend(ax, fontsize: int = 6) -> None:
    """The panel's legend outside its axes, to the right (never over the data)."""
    ax.legend(fontsize=fontsize, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)


LINESTYLES = ("-", "--", ":", "-.")


def _label(equation: str) -> str:
    """An equation's short label in figures (its registry entry; the upper-cased name for an unknown one)."""
    return EQUATIONS[equation].label if equation in EQUATIONS else equation.upper()


def _marker(equation: str) -> str:
    return EQUATIONS[equation].marker if equation in EQUATIONS else "^"


def delta_vs_omega(rows: list[PdeRow], metric: str, figures_dir: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4.2), layout="constrained")
    pts = [r for r in rows if r.model == "memno" and r.omega_f is not None and r.deltas.get(metric)
           and r.deltas[metric].estimate is not None]
    if not pts:
        _empty(ax, "MemNO/FFNO pair with omega_f")
    for eq in sorted({r.equation for r in pts}):
        sub = [r for r in pts if r.equation == eq]
        x = np.array([r.omega_f for r in sub])
        y = np.array([r.deltas[metric].estimate for r in sub])
        lo = np.array([r.deltas[metric].ci_low if r.deltas[metric].ci_low is not None else e for r, e in zip(sub, y)])
        hi = np.array([r.deltas[metric].ci_high if r.deltas[metric].ci_high is not None else e
                       for r, e in zip(sub, y)])
        ax.errorbar(x, y, yerr=[y - lo, hi - y], fmt=_marker(eq), capsize=3, label=_label(eq))
        for r, xi, yi in zip(sub, x, y):
            ax.annotate(f"nu={r.nu:g} r{r.resolution} s{r.sigma:g}", (xi, yi), fontsize=6,
                        xytext=(3, 3), textcoords="offset points")
    if pts:
        ax.axhline(0.0, color="grey", lw=0.8)
        if all(r.omega_f > 0 for r in pts):
            ax.set_xscale("log")
        ax.margins(x=0.15, y=0.1)  # room for the point labels inside the axes
        _legend(ax, 8)
    ax.set_xlabel("omega_f (unobserved energy fraction)")
    ax.set_ylabel(f"Delta {metric} = FFNO - MemNO")
    ax.set_title("Memory gain vs unobserved energy")
    _save(fig, figures_dir, "delta_nrmse_vs_omega_f")


def _mean_curve(paths: list[Path], xcol: str, ycol: str, keep=None):
    """``(x, mean, std)`` over files of the ``(xcol, ycol)`` curve, truncated to the shortest (``std`` None for one
    file); ``keep`` filters rows, one function for all files or one per file."""
    curves = []
    keeps = keep if isinstance(keep, list) else [keep] * len(paths)
    for p, k in zip(paths, keeps):
        rows = [r for r in read_csv_rows(p) if k is None or k(r)]
        try:
            xy = np.array([[float(r[xcol]), float(r[ycol])] for r in rows])
        except (KeyError, ValueError, TypeError):
            continue
        if len(xy):
            curves.append(xy)
    if not curves:
        return None
    n = min(len(c) for c in curves)
    ys = np.array([c[:n, 1] for c in curves])
    return curves[0][:n, 0], ys.mean(axis=0), ys.std(axis=0, ddof=1) if len(ys) > 1 else None


def _grid(plt, n: int, width: float = 3.2, height: float = 2.6):
    cols = max(1, min(4, n))
    nrows = max(1, -(-n // cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(width * cols, height * nrows), squeeze=False,
                             layout="constrained")
    return fig, axes.ravel()


def rollout(rows: list[PdeRow], figures_dir: Path) -> None:
    plt = _plt()
    datasets: dict[tuple, list[PdeRow]] = {}
    for r in rows:
        datasets.setdefault(r.dataset, []).append(r)
    curves = {}
    for ds, rs in sorted(datasets.items()):
        for r in rs:
            c = _mean_curve([run.path.parent / "rollout.csv" for run in r.cell.usable], "time", "nrmse")
            if c is not None:
                curves.setdefault(ds, []).append((r.model, c))
    fig, axes = _grid(plt, max(1, len(curves)), 4.6, 3.0)
    if not curves:
        _empty(axes[0], "rollout.csv")
    for ax, (ds, cs) in zip(axes, curves.items()):
        for model, (t, y, sd) in cs:
            ax.plot(t, y, color=model_color(model), marker=model_marker(model), markersize=3,
                    markevery=max(1, len(t) // 10), label=display(model))
            band(ax, t, y, sd, model_color(model))
        ax.set_title(_dataset_title(ds), fontsize=8)
        ax.set_xlabel("time")
        ax.set_ylabel("nRMSE")
        _legend(ax)
    _hide_unused(axes, len(curves))
    fig.suptitle("nRMSE over the rollout (mean ± std over seeds)")
    _save(fig, figures_dir, "rollout_nrmse")


def _dataset_title(dataset: tuple) -> str:
    """Panel title of a PDE dataset ``(equation, law, nu, method, resolution, sigma)``."""
    eq, law, nu, method, res, sigma = dataset
    return f"{_label(eq)} {law} nu={nu:g} {method} r{res} s{sigma:g}"


def _hide_unused(axes, used: int) -> None:
    """Blank the panels after the first ``used`` (the first stays for the 'nothing to draw' note)."""
    for ax in axes[max(used, 1):]:
        ax.axis("off")


SOLVER_MARKERS = ("o", "s", "^", "v", "<", ">", "p", "h")


def accuracy_vs_cost(rows: list[PdeRow], figures_dir: Path) -> None:
    plt = _plt()
    from matplotlib.ticker import NullFormatter

    datasets: dict[tuple, list[PdeRow]] = {}
    for r in rows:
        if r.summaries["nrmse"].mean is not None:
            datasets.setdefault(r.dataset, []).append(r)
    fig, axes = _grid(plt, max(1, len(datasets)), 5.4, 3.4)
    if not datasets:
        _empty(axes[0], "scored PDE runs")
    for ax, (ds, rs) in zip(axes, sorted(datasets.items())):
        cost = {r.model: r.summaries["inference_time_per_trajectory_s"].mean for r in rs}
        err = {r.model: r.summaries["nrmse"].mean for r in rs}
        plain = sorted((solver_of(m)[1], m) for m in err if solver_of(m) and solver_of(m)[0] == "solver"
                       and cost[m])
        if plain:  # one legend entry per grid (no annotations: close points would overlap)
            ax.plot([cost[m] for _, m in plain], [err[m] for _, m in plain], "-", color="k", lw=0.8)
            for i, (n, m) in enumerate(plain):
                ax.plot(cost[m], err[m], SOLVER_MARKERS[i % len(SOLVER_MARKERS)], color="k", mfc="white",
                        label=f"solver, {n} points")
        for m in err:
            if solver_of(m) and solver_of(m)[0] == "solver_hv" and cost[m]:
                ax.plot(cost[m], err[m], "D", color="grey", label=f"{m} (hyperviscosity)")
        for r in rs:
            if r.learned and cost[r.model]:
                ax.plot(cost[r.model], err[r.model], model_marker(r.model), color=model_color(r.model),
                        label=display(r.model))
        if "persistence" in err:
            ax.axhline(err["persistence"], color=model_color("persistence"), ls="--", lw=0.8, label="persistence")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on narrow ranges
        if all(v > 0 for v in err.values()):
            ax.set_yscale("log")
        ax.set_xlabel("inference s / trajectory")
        ax.set_ylabel("nRMSE over the horizon")
        ax.set_title(_dataset_title(ds), fontsize=8)
        _legend(ax)
    _hide_unused(axes, len(datasets))
    fig.suptitle("Accuracy vs cost: solvers at several resolutions and learned models")
    _save(fig, figures_dir, "accuracy_vs_cost")


def _mean_over_repeats(pts: list[GraphRow], xkey: str) -> tuple[list[int], list[float], list[float]]:
    """x, y, error of a line: one point per x; several rows at one x (planted stars: one per teacher draw) give
    the mean and std of their means, a single row its own mean and std over seeds."""
    by_x: dict[int, list[GraphRow]] = {}
    for r in pts:
        by_x.setdefault(int(r.params[xkey]), []).append(r)
    x, y, e = [], [], []
    for xv, rs in sorted(by_x.items()):
        means = [r.test.mean for r in rs]
        m = sum(means) / len(means)
        x.append(xv)
        y.append(m)
        e.append((sum((v - m) ** 2 for v in means) / (len(means) - 1)) ** 0.5 if len(means) > 1
                 else rs[0].test.std or 0.0)
    return x, y, e


def node_vs_edge(rows: list[GraphRow], figures_dir: Path) -> None:
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.2), layout="constrained")
    panels = (("map", "n", "MAP on hub-and-paths"), ("duplicates", "n", "Duplicate task"),
              ("planted_star", "leaves", "Planted star"))
    for ax, (kind, xkey, title) in zip(axes, panels):
        sub = [r for r in rows if r.experiment == kind and r.test.mean is not None and xkey in r.params]
        if not sub:
            _empty(ax, f"{kind} results")
            ax.set_title(title)
            continue
        lines: dict[str, list[GraphRow]] = {}
        for r in sub:
            key = (r.model, f"{r.params.get('law', '')} k={r.params['depth']}" if kind == "planted_star" else None)
            lines.setdefault(key, []).append(r)
        variants: dict[str, str] = {}
        for key in sorted(lines, key=lambda k: (*model_rank(k[0]), str(k[1]))):
            pts = sorted(lines[key], key=lambda r: int(r.params[xkey]))
            label = display(key[0]) + (f" (planted {key[1]})" if key[1] is not None else "")
            x, y, e = _mean_over_repeats(pts, xkey)  # planted stars: mean ± std over teacher draws
            base = pts[0].base_model
            # colour: the model family (style.py); marker: the budget or planted depth (same marker = same setting)
            setting = f"{key[1]}" + (f"d{pts[0].budget_depth}w{pts[0].budget_width}" if pts[0].budget else "")
            marker = variants.setdefault(setting, "osD^v<>"[len(variants) % 7])
            color = model_color(base)
            style = "-" if family_of(base) == "edge" else "--"
            ax.errorbar(x, y, yerr=e, fmt=marker + style, color=color, capsize=2, label=label)
            band(ax, x, y, e, color)
        ax.set_xscale("log", base=2)
        ax.set_xlabel(xkey)
        ax.set_ylabel(f"test {sub[0].metric}")
        ax.set_title(title)
        _legend(ax)
    fig.suptitle("Node (dashed) vs edge (solid) message passing; mean ± std over seeds (planted star: over teacher "
                 "draws; bars, bands)")
    _save(fig, figures_dir, "node_vs_edge")


def memory_threshold(rows: list[GraphRow], targets: memory.MemoryTargets, figures_dir: Path) -> None:
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), layout="constrained")
    found = memory.groups(rows)
    for ax, task in zip(axes, ("planted_star", "duplicates")):
        title = "Planted star: RMSE / leaf std" if task == "planted_star" else "Duplicate task: 1 - accuracy"
        ax.set_title(title)
        series = {k: v for k, v in found.items() if k[0] == task}
        if not series:
            _empty(ax, f"memory-threshold {task} results")
            continue
        ns = sorted({k[2] for k in series})
        for (_, model, n), rs in sorted(series.items(), key=lambda kv: (model_rank(kv[0][1]), kv[0][2])):
            best: dict[int, float] = {}
            for r in rs:
                v = memory.point_value(r)
                if v is None:
                    continue
                err = v if task == "planted_star" else 1.0 - v
                best[r.budget_width] = min(err, best.get(r.budget_width, float("inf")))
            if not best:
                continue
            widths = sorted(best)
            style = "-" if family_of(model) == "edge" else "--"
            marker = "osD^v<>"[ns.index(n) % 7]
            ax.plot(widths, [best[w] for w in widths], style + marker, color=model_color(model),
                    label=f"{display(model)} n={n}")
        target = targets.nrmse if task == "planted_star" else 1.0 - targets.accuracy
        ax.axhline(target, color="grey", lw=0.8, ls=":", label="target")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("width (best depth per width)")
        ax.set_ylabel("test error")
        _legend(ax)
    fig.suptitle("Memory threshold: error vs width per n; node dashed, edge solid (seed means)")
    _save(fig, figures_dir, "memory_threshold")


def _graph_valid_column(columns: list[str]) -> str | None:
    for c in ("valid_metric", "valid", "valid_rmse", "valid_mse", "valid_accuracy", "valid_loss"):
        if c in columns:
            return c
    return next((c for c in columns if c.startswith("valid")), "train_loss" if "train_loss" in columns else None)


def _curves_panel(ax, drawn: int, ylabel: str, source: str, title: str, log: bool = False) -> None:
    """Axes, legend and title of a panel of training curves (a note naming ``source`` when none was drawn)."""
    if drawn:
        from matplotlib.ticker import MaxNLocator

        if log:
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        lo, hi = ax.dataLim.intervalx
        if hi - lo < 1:  # a single epoch: a readable axis around it, not +-0.05
            ax.set_xlim(lo - 1, hi + 1)
        ax.set_xlabel("epochs trained")
        ax.set_ylabel(ylabel)
        _legend(ax)
    else:
        _empty(ax, source)
    ax.set_title(title, fontsize=8)


def _draw_curve(ax, model: str, label: str, linestyle: str, curve) -> None:
    x, y, sd = curve
    ax.plot(x, y, color=model_color(model), marker=model_marker(model), markersize=3, lw=0.8, ls=linestyle,
            markevery=max(1, len(x) // 10), label=label)
    band(ax, x, y, sd, model_color(model), alpha=0.12)


def _pde_curves(pde_rows: list[PdeRow]) -> dict[str, list]:
    """Per equation: ``(model, dataset, curve)`` of every learned model's valid nRMSE, mean over seeds."""
    panels: dict[str, list] = {}
    for r in pde_rows:
        c = _mean_curve([run.path.parent / "curves.csv" for run in r.cell.usable], "epoch", "valid_nrmse")
        if c is not None:
            panels.setdefault(r.equation, []).append((r.model, r.dataset, c))
    return panels


def _graph_curves(graph_rows: list[GraphRow]) -> dict[str, list]:
    """Per experiment: ``(model, variant, curve, column)`` of the selected configuration's validation curve."""
    panels: dict[str, list] = {}
    for r in graph_rows:
        paths, keeps, col = [], [], None
        for run in r.cell.usable:
            path = run.path.parent / "curves.csv"
            rows = read_csv_rows(path)
            col = col or (_graph_valid_column(list(rows[0])) if rows else None)
            hyper = {k: v for k, v in (run.metrics.get("hyper") or {}).items() if k in SWEPT}
            # a sweep's curves.csv holds every configuration: draw the one selected for this seed
            paths.append(path)
            keeps.append(lambda row, hyper=hyper: not hyper or is_selected(row, hyper))
        c = _mean_curve(paths, "epoch", col, keeps) if col else None
        if c is not None:
            panels.setdefault(r.experiment, []).append((r.model, r.variant, c, r.metric))
    return panels


def training_curves(pde_rows: list[PdeRow], graph_rows: list[GraphRow], figures_dir: Path) -> None:
    """One panel per equation and per graph experiment; within a panel, one line style per dataset."""
    plt = _plt()
    pde, graph = _pde_curves(pde_rows), _graph_curves(graph_rows)
    fig, axes = _grid(plt, max(1, len(pde) + len(graph)), 4.6, 3.0)
    if not pde and not graph:
        _empty(axes[0], "curves.csv")
    panels = iter(axes)
    for eq, curves in sorted(pde.items()):
        ax = next(panels)
        datasets = sorted({ds for _, ds, _ in curves})
        for model, ds, c in curves:
            _, law, nu, method, res, sigma = ds
            _draw_curve(ax, model, f"{display(model)}: {law} nu={nu:g} {method} r{res} s{sigma:g}",
                        LINESTYLES[datasets.index(ds) % len(LINESTYLES)], c)
        _curves_panel(ax, len(curves), "valid nRMSE", "PDE curves.csv", f"{_label(eq)}: PDE surrogates", log=True)
    for kind, curves in sorted(graph.items()):
        ax = next(panels)
        variants = sorted({v for _, v, _, _ in curves})
        for model, variant, c, _ in curves:
            _draw_curve(ax, model, f"{display(model)}: {variant}", LINESTYLES[variants.index(variant) %
                                                                              len(LINESTYLES)], c)
        _curves_panel(ax, len(curves), f"valid {curves[0][3]}", "graph curves.csv", f"{kind}: GNNs")
    _hide_unused(axes, len(pde) + len(graph))
    fig.suptitle("Validation curves of the selected configuration (mean ± std over seeds)")
    _save(fig, figures_dir, "training_curves")


def write_all(pde_rows: list[PdeRow], graph_rows: list[GraphRow], metric: str, figures_dir: Path,
              targets: memory.MemoryTargets | None = None) -> None:
    figures_dir = Path(figures_dir)
    delta_vs_omega(pde_rows, metric, figures_dir)
    rollout(pde_rows, figures_dir)
    accuracy_vs_cost(pde_rows, figures_dir)
    node_vs_edge(graph_rows, figures_dir)
    memory_threshold(graph_rows, targets or memory.MemoryTargets(), figures_dir)
    training_curves(pde_rows, graph_rows, figures_dir)
