"""`gapbench tables build`: aggregate the training stage's metrics files into tables, figures and claims.

Only argparse is imported at start-up; numpy, scipy and matplotlib load inside the handler.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BuildParams:
    """Everything `tables build` needs, as plain typed values (the rule passes each as a flag)."""

    metrics: tuple[Path, ...] | None  # the expected metrics.json files; None: every one under train_dir
    train_dir: Path
    data_dir: Path
    tables_dir: Path
    figures_dir: Path
    claims: Path
    test: str
    alpha: float
    bootstrap_resamples: int
    seed: int
    delta_metric: str
    map_threshold: float
    equivalence_margin: float = 0.1
    memory_nrmse_target: float = 0.2
    memory_accuracy_target: float = 0.95
    figures: bool = True  # False: tables and claims only
    configfile: Path | None = None  # without a metrics list: the config whose runs are expected (warn about others)


def build(p: BuildParams) -> int:
    """Write every table, figure and claims.md; warn (stderr) about missing runs; never fail on them."""
    from gapbench.errors import ConfigError
    from gapbench.tables import claims, collect, figures, graphs, memory, pde
    from gapbench.tables.render import csv_text, write_text
    from gapbench.tables.stats import TESTS, StatsOptions

    if p.test not in TESTS:
        raise ConfigError(f"tables: unknown test {p.test!r}; allowed: {', '.join(TESTS)}")
    if not 0.0 < p.alpha < 1.0:
        raise ConfigError(f"tables: alpha must be in (0, 1), got {p.alpha}")
    if p.delta_metric not in pde.METRICS:
        raise ConfigError(f"tables: delta metric {p.delta_metric!r}; allowed: {', '.join(pde.METRICS)}")
    if not p.equivalence_margin > 0:
        raise ConfigError(f"tables: equivalence margin must be > 0, got {p.equivalence_margin}")
    opts = StatsOptions(p.test, p.alpha, p.bootstrap_resamples, p.seed, p.equivalence_margin)
    try:
        coll = collect.collect(None if p.metrics is None else list(p.metrics), p.train_dir)
    except ValueError as err:
        raise ConfigError(f"tables: {err}") from err
    if p.metrics is None and p.configfile is not None:
        warn_unconfigured([r.path for r in coll.runs if r.path.exists()], p.configfile, p.train_dir)
    pde_rows = pde.write(coll, p.data_dir, p.tables_dir, opts, p.delta_metric)
    targets = memory.MemoryTargets(p.memory_nrmse_target, p.memory_accuracy_target)
    graph_rows = graphs.write(coll, p.tables_dir, opts, p.map_threshold, targets)
    missing = coll.missing
    write_text(p.tables_dir / "missing.csv", csv_text(
        [{"path": str(r.path), "task": r.task, "seed": r.seed, "status": r.status, "reason": r.reason}
         for r in sorted(missing, key=lambda r: str(r.path))], ["path", "task", "seed", "status", "reason"]))
    if p.figures:
        figures.write_all(pde_rows, graph_rows, p.delta_metric, p.figures_dir, targets)
    found = claims.evaluate(graph_rows, pde_rows, p.delta_metric, opts, targets)
    claims.write(p.claims, found, p.delta_metric, opts, len(missing))
    write_html(p.tables_dir, p.claims)
    n_ok = len(coll.runs) - len(missing)
    print(f"gapbench tables: {n_ok} usable runs of {len(coll.runs)} expected "
          f"({len(coll.pde)} PDE cells, {len(coll.graph)} graph cells)")
    if missing:
        print(f"gapbench tables: WARNING: {len(missing)} expected runs are missing or unusable; their cells are "
              f"marked missing/partial (list: {p.tables_dir / 'missing.csv'}):", file=sys.stderr)
        for r in sorted(missing, key=lambda r: str(r.path)):
            print(f"  {r.path}: {r.reason}", file=sys.stderr)
    for c in found:
        print(f"  claim {c.key}: {c.verdict} ({c.summary})")
    return 0


# Tables written only as CSV (their HTML page is the whole CSV as one table), with a line saying what they list.
CSV_PAGES = {"runs_graph": "Every expected graph run, its status and selected configuration.",
             "sweeps_graph": "Every configuration each graph sweep tried; the selected one is marked.",
             "runs_pde": "Every expected PDE run and its status.",
             "missing": "Expected runs that are missing or unusable, with the reason (empty when none)."}


def write_html(tables_dir: Path, claims: Path) -> None:
    """An HTML page beside every Markdown table, the CSV-only tables and the claims (the report's items)."""
    from gapbench.tables.html import csv_page, markdown_page
    from gapbench.tables.render import write_text

    def title(text: str, default: str) -> str:
        return next((line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("# ")), default)

    for md in [*sorted(Path(tables_dir).glob("*.md")), Path(claims)]:
        text = md.read_text()
        write_text(md.with_suffix(".html"), markdown_page(text, title(text, md.stem)))
    for stem, note in CSV_PAGES.items():
        path = Path(tables_dir) / f"{stem}.csv"
        if path.is_file():
            write_text(path.with_suffix(".html"), csv_page(path.read_text(), stem, note))


def warn_unconfigured(found: list[Path], configfile: Path, train_dir: Path) -> None:
    """Warn (stderr) about the metrics files found under ``train_dir`` that ``configfile`` does not ask for (runs
    left from an earlier config); they are still tabulated, as asked (no metrics list)."""
    from gapbench.config import load_config
    from gapbench.tables.plan import expected_metrics
    from gapbench.train import graph_paths, pde_plan

    if not Path(configfile).is_file():
        return
    config = load_config(configfile)
    expected = expected_metrics(pde_plan.targets(config), graph_paths.targets(config))
    # the targets are results/train/...: compare the part below train/
    wanted = {Path(e).relative_to("results/train") for e in expected}
    extra = []
    for f in found:
        try:
            rel = Path(f).resolve().relative_to(Path(train_dir).resolve())
        except ValueError:
            continue
        if rel not in wanted:
            extra.append(f)
    if extra:
        print(f"gapbench tables: WARNING: {len(extra)} runs under {train_dir} are not in {configfile} (left from an "
              f"earlier config?); they are tabulated too. To tabulate only the config's runs, use `snakemake "
              f"tables --configfile {configfile}` (or move them away):", file=sys.stderr)
        for f in sorted(extra)[:20]:
            print(f"  {f}", file=sys.stderr)
        if len(extra) > 20:
            print(f"  ... and {len(extra) - 20} more", file=sys.stderr)


def _handler(args: argparse.Namespace) -> int:
    metrics = tuple(Path(m) for m in args.metrics) if args.metrics or args.listed else None
    return build(BuildParams(
        metrics=metrics, train_dir=Path(args.train_dir), data_dir=Path(args.data_dir),
        tables_dir=Path(args.tables_dir), figures_dir=Path(args.figures_dir), claims=Path(args.claims),
        test=args.test, alpha=args.alpha, bootstrap_resamples=args.bootstrap_resamples, seed=args.seed,
        delta_metric=args.delta_metric, map_threshold=args.map_threshold, figures=not args.no_figures,
        equivalence_margin=args.equivalence_margin,
        memory_nrmse_target=args.memory_nrmse_target, memory_accuracy_target=args.memory_accuracy_target,
        configfile=None if args.configfile in ("", "none") else Path(args.configfile)))


def register(sub) -> None:
    """Add `gapbench tables build` to the top-level parser."""
    p = sub.add_parser("tables", help="comparison tables, figures and claims from the metrics files")
    tsub = p.add_subparsers(dest="tables_command", required=True)
    b = tsub.add_parser("build", help="aggregate metrics.json files into results/tables, figures, claims.md",
                        description="Read the expected metrics.json files (absent ones are marked missing, not "
                                    "an error) and write tables (.csv, .md, .html), figures (.png, .pdf) and claims "
                                    "(.md, .html).")
    b.add_argument("metrics", nargs="*", help="expected metrics.json files (default: all under --train-dir)")
    b.add_argument("--listed", action="store_true",
                   help="the listed files are the complete expected set, even when none is listed (Snakemake)")
    b.add_argument("--train-dir", default="results/train", help="where to look when no metrics are listed")
    b.add_argument("--data-dir", default="results/data", help="data stage root (for pde/{eq}/{law}/nu{nu}/omega_f.csv)")
    b.add_argument("--tables-dir", default="results/tables", help="where the tables (.csv, .md) go")
    b.add_argument("--figures-dir", default="results/figures", help="where the figures (.png, .pdf) go")
    b.add_argument("--claims", default="results/claims.md", help="the claims file to write")
    b.add_argument("--test", default="welch", choices=("welch", "bootstrap"), help="significance test over seeds")
    b.add_argument("--alpha", type=float, default=0.05, help="two-sided significance level")
    b.add_argument("--bootstrap-resamples", type=int, default=10000)
    b.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling")
    b.add_argument("--delta-metric", default="nrmse", choices=("nrmse", "nrmse_final"),
                   help="PDE metric of Delta nRMSE in the claims and the omega_f figure")
    b.add_argument("--equivalence-margin", type=float, default=0.1,
                   help="PDE equivalence (TOST) margin, relative to the Markovian model's mean nRMSE")
    b.add_argument("--map-threshold", type=float, default=0.99,
                   help="MAP accuracy that counts as solved (smallest-budget table)")
    b.add_argument("--memory-nrmse-target", type=float, default=0.2,
                   help="memory threshold, planted stars: normalized RMSE (RMSE / leaf std) counted as solved")
    b.add_argument("--memory-accuracy-target", type=float, default=0.95,
                   help="memory threshold, duplicate task: accuracy counted as solved")
    b.add_argument("--no-figures", action="store_true", help="write the tables and claims only")
    b.add_argument("--configfile", default="config.yaml",
                   help="without a metrics list: warn about runs under --train-dir this config does not ask for "
                        "(default %(default)s when it exists; 'none': no check)")
    b.set_defaults(handler=_handler)
