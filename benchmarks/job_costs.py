"""Where a pipeline run's job-seconds went: per rule, the start-up share, training jobs vs their optimiser steps.

    python benchmarks/job_costs.py [RESULTS]   (default: results; after `make run` or a ci run)

Reads the Snakemake benchmark files ``RESULTS/benchmarks/**.tsv`` (one per job: ``s`` wall seconds, ``cpu_time``
CPU seconds) and the training runs' ``metrics.json`` (``step_time_s``: wall time inside the optimiser steps, written
by the shared loop), and prints

1. per rule: jobs, CPU-seconds and wall-seconds summed over its jobs, and the CPU share of the run;
2. the start-up share: for each rule, the CPU-seconds a fresh ``python -m gapbench``-like process spends importing
   what that rule's command imports before its work (:data:`IMPORTS`; measured here, now, the median of three
   runs), times the rule's jobs, over the run's CPU-seconds. Measure it on the machine that made the run, idle:
   it is what every job pays for being a process of its own;
3. each training job's wall time over its optimiser steps' wall time (1.0: nothing but steps; both clocks in the
   same process, so the load of a shared machine affects both). A job's steps are those of every run it trained:
   a graph job covers a whole experiment (or one dataset and seed, ``train.graph.job_scope: dataset``), a PDE
   job every model on one dataset and seed (or one run, ``train.pde.job_scope: run``).

CPU seconds are the numbers to compare on a loaded machine; wall seconds are shown for reference.
"""

from __future__ import annotations

import csv
import json
import re
import resource
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

# Rule of a benchmark file, from its path under benchmarks/ (the rules' benchmark: directives).
RULES = (
    (r"graphs/download/", "graph_download"),
    (r"graphs/benchmark/", "graph_benchmark"),
    (r"graphs/", "graph_make"),
    (r"pde/.*/sim/[^/]+/shard\d+\.tsv$", "pde_shard"),
    (r"pde/.*/sim/merge\.tsv$", "pde_merge"),
    (r"pde/.*/obs/", "pde_observe"),
    (r"pde/.*/omega_f\.tsv$", "pde_omega"),
    (r"tables/", "tables_build"),
    (r"train/graph/(?P<kind>[^/]+)/", "train_graph_{kind}"),
    (r"train/pde/.*/trivial\.tsv$", "train_pde_trivial"),
    (r"train/pde/.*/solver(_hv)?-r\d+/seed\d+\.tsv$", "train_pde_solver"),
    (r"train/pde/", "train_pde_model"),
)

# What a job of each rule imports before it works: the CLI (every job builds the whole parser), then the
# modules its handler loads. Training uses gapbench.train.optim (and the ensemble's StackedAdam), not
# torch.optim, whose first step imports torch._dynamo.
CLI = "import gapbench.cli as c; c.build_parser()"
IMPORTS = {
    "graph_make": f"{CLI}; import gapbench.graphs.data, gapbench.graphs.kinds, torch_geometric.data",
    "graph_download": f"{CLI}; import gapbench.graphs.download, torch_geometric.datasets",
    "graph_benchmark": f"{CLI}; import gapbench.graphs.benchmarks, gapbench.graphs.data, torch_geometric.datasets",
    "pde_shard": f"{CLI}; import gapbench.pde.generate, gapbench.pde.store, dedalus.public",
    "pde_merge": f"{CLI}; import gapbench.pde.generate, gapbench.pde.store",
    "pde_observe": f"{CLI}; import gapbench.pde.observe, gapbench.pde.store",
    "pde_omega": f"{CLI}; import gapbench.pde.omega",
    "tables_build": f"{CLI}; from gapbench.tables import claims, collect, figures, graphs, memory, pde; "
                    "import matplotlib.pyplot",
    "train_graph": f"{CLI}; import gapbench.train.graph, gapbench.models.gnn, gapbench.graphs.storage, "
                   "gapbench.train.optim",
    "train_pde_model": f"{CLI}; import gapbench.train.pde, gapbench.train.pde_eval, gapbench.models.pde_registry, "
                       "gapbench.pde.store, gapbench.train.optim",
    "train_pde_trivial": f"{CLI}; import gapbench.train.baseline, gapbench.train.pde, gapbench.pde.store",
    "train_pde_solver": f"{CLI}; import gapbench.train.baseline, gapbench.train.pde, gapbench.pde.store, "
                        "dedalus.public",
}


def rule_of(rel: str) -> str:
    for pattern, rule in RULES:
        m = re.search(pattern, rel)
        if m:
            return rule.format(**m.groupdict())
    return "other"


def read_jobs(results: Path) -> list[dict]:
    jobs = []
    for tsv in sorted((results / "benchmarks").rglob("*.tsv")):
        with open(tsv) as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        if not rows:
            continue
        rel = tsv.relative_to(results / "benchmarks").as_posix()
        cpu = float(rows[-1]["cpu_time"]) if rows[-1].get("cpu_time") not in (None, "", "NA") else 0.0
        jobs.append({"file": rel, "rule": rule_of(rel), "cpu": cpu, "wall": float(rows[-1]["s"])})
    return jobs


def startup_seconds(code: str, repeats: int = 3) -> float:
    """Median CPU-seconds (user + system) of a fresh interpreter running ``code``."""
    times = []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(times)


BASELINES = re.compile(r"(persistence|zero|solver.*)")  # PDE run directories of predictors without steps
EXTRA_SUFFIXES = ("-ef", "-ids")  # graph run names of the labelled extra runs (gapbench.train.graph_paths.EXTRAS)


def _graph_runs(directory: Path, seed: str, suffix: str) -> list[Path]:
    """metrics.json of the graph runs under ``directory/{run}/seed{seed}`` of one job: those whose run name carries
    the job's extra suffix (none: no extra suffix at all)."""
    def ours(run: str) -> bool:
        return suffix in run if suffix else not any(s in run for s in EXTRA_SUFFIXES)
    return [p for p in directory.glob(f"*/seed{seed}/metrics.json") if ours(p.parent.parent.name)]


def step_seconds(results: Path, job: dict) -> float | None:
    """Summed ``step_time_s`` of the runs a training job wrote (None when a run has none). A PDE job is one run
    (``{obs}/{model}/seed{s}.tsv``, job_scope run) or every model of a dataset and seed (``{obs}/seed{s}.tsv``); a
    graph job every run of one dataset and seed (``{kind}/{variant}/seed{s}[-ef|-ids].tsv``) or of a whole
    experiment (``{kind}/all[-ef|-ids].tsv``)."""
    rel = job["file"]
    if job["rule"] == "train_pde_model":
        m = re.fullmatch(r"(train/pde/.+)/seed(\d+)\.tsv", rel)
        if m is None:
            return None
        run = results / rel.removesuffix(".tsv")
        paths = ([run / "metrics.json"] if (run / "metrics.json").exists() else
                 [p for p in (results / m.group(1)).glob(f"*/seed{m.group(2)}/metrics.json")
                  if not BASELINES.fullmatch(p.parent.parent.name)])
    else:
        one = re.fullmatch(r"train/graph/([^/]+)/([^/]+)/seed(\d+)(-ef|-ids)?\.tsv", rel)
        every = re.fullmatch(r"train/graph/([^/]+)/all(-ef|-ids)?\.tsv", rel)
        if one:
            kind, variant, seed, suffix = one.groups()
            paths = _graph_runs(results / "train" / "graph" / kind / variant, seed, suffix or "")
        elif every:
            kind, suffix = every.groups()
            paths = [p for variant in (results / "train" / "graph" / kind).iterdir() if variant.is_dir()
                     for p in _graph_runs(variant, "*", suffix or "")]
        else:
            return None
    total = 0.0
    for path in paths:
        try:
            value = json.loads(path.read_text()).get("step_time_s")
        except (OSError, ValueError):
            return None
        if value is None:
            return None
        total += value
    return total if paths else None


def main() -> None:
    results = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
    jobs = read_jobs(results)
    if not jobs:
        sys.exit(f"job_costs: no benchmark files under {results / 'benchmarks'} (run the pipeline first)")
    by_rule: dict[str, list[dict]] = defaultdict(list)
    for job in jobs:
        by_rule[job["rule"]].append(job)
    total_cpu = sum(j["cpu"] for j in jobs)
    print(f"{results}: {len(jobs)} jobs, {total_cpu:.1f} CPU-seconds, {sum(j['wall'] for j in jobs):.1f} job wall-s")
    print(f"\n{'rule':<34} {'jobs':>5} {'CPU-s':>8} {'wall-s':>8} {'CPU share':>9} {'start-up s':>10} "
          f"{'start-up CPU-s':>14}")
    startup_total = 0.0
    for rule in sorted(by_rule, key=lambda r: -sum(j["cpu"] for j in by_rule[r])):
        rows = by_rule[rule]
        cpu = sum(j["cpu"] for j in rows)
        code = IMPORTS.get("train_graph" if rule.startswith("train_graph_") else rule)
        one = startup_seconds(code) if code else float("nan")
        if code:
            startup_total += one * len(rows)
        print(f"{rule:<34} {len(rows):5d} {cpu:8.1f} {sum(j['wall'] for j in rows):8.1f} "
              f"{cpu / total_cpu:9.1%} {one:10.2f} {one * len(rows):14.1f}")
    print(f"\nstart-up: {startup_total:.1f} of {total_cpu:.1f} CPU-seconds = {startup_total / total_cpu:.1%} "
          "(import of each rule's modules in a fresh process, measured now, times its jobs)")
    print(f"\n{'training job':<64} {'wall-s':>8} {'steps s':>8} {'job/steps':>9}")
    for job in jobs:
        if job["rule"].startswith("train_graph_") or job["rule"] == "train_pde_model":
            steps = step_seconds(results, job)
            ratio = f"{job['wall'] / steps:9.2f}" if steps else f"{'n/a':>9}"
            shown = f"{steps:8.1f}" if steps is not None else f"{'n/a':>8}"
            print(f"{job['file']:<64} {job['wall']:8.1f} {shown} {ratio}")


if __name__ == "__main__":
    main()
