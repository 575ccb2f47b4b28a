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
    memory_nrmse_target: float = 0.2
    memory_accuracy_target: float = 0.95
    figures: bool = True  # False: tables and claims only


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
    opts = StatsOptions(p.test, p.alpha, p.bootstrap_resamples, p.seed)
    try:
        coll = collect.collect(None if p.metrics is None else list(p.metrics), p.train_dir)
    except ValueError as err:
        raise ConfigError(f"tables: {err}") from err
    pde_rows = pde.write(coll, p.data_dir, p.tables_dir, opts)
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


def _handler(args: argparse.Namespace) -> int:
    metrics = tuple(Path(m) for m in args.metrics) if args.metrics or args.listed else None
    return build(BuildParams(
        metrics=metrics, train_dir=Path(args.train_dir), data_dir=Path(args.data_dir),
        tables_dir=Path(args.tables_dir), figures_dir=Path(args.figures_dir), claims=Path(args.claims),
        test=args.test, alpha=args.alpha, bootstrap_resamples=args.bootstrap_resamples, seed=args.seed,
        delta_metric=args.delta_metric, map_threshold=args.map_threshold, figures=not args.no_figures,
        memory_nrmse_target=args.memory_nrmse_target, memory_accuracy_target=args.memory_accuracy_target))


def register(sub) -> None:
    """Add `gapbench tables build` to the top-level parser."""
    p = sub.add_parser("tables", help="comparison tables, figures and claims from the metrics files")
    tsub = p.add_subparsers(dest="tables_command", required=True)
    b = tsub.add_parser("build", help="aggregate metrics.json files into results/tables, figures, claims.md",
                        description="Read the expected metrics.json files (absent ones are marked missing, not "
                                    "an error) and write tables (.csv, .md), figures (.png, .pdf) and claims.md.")
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
    b.add_argument("--map-threshold", type=float, default=0.99,
                   help="MAP accuracy that counts as solved (smallest-budget table)")
    b.add_argument("--memory-nrmse-target", type=float, default=0.2,
                   help="memory threshold, planted stars: normalized RMSE (RMSE / leaf std) counted as solved")
    b.add_argument("--memory-accuracy-target", type=float, default=0.95,
                   help="memory threshold, duplicate task: accuracy counted as solved")
    b.add_argument("--no-figures", action="store_true", help="write the tables and claims only")
    b.set_defaults(handler=_handler)
