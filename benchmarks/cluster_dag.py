"""Time to build the paper-scale DAG (`snakemake -n` on configs/paper.yaml), against configs/ci.yaml's as anchor.

The target: the full paper DAG in under 20 s on this machine. Both dry runs start from an empty results
directory (every job pending) and are timed in this run; the ratio paper/ci shows what the DAG's size adds to
Snakemake's fixed start-up. `--markdown` prints the job count per rule as the table in docs/cluster.md.

Run: ``.venv/bin/python benchmarks/cluster_dag.py [--markdown]`` (about 30 s).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET_S = 20.0


def dry_run(configfile: Path) -> tuple[dict[str, int], float]:
    """{rule: jobs} of `snakemake -n --quiet rules` in an empty working directory, and its wall time (s)."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("SNAKEMAKE_PROFILE", None)
    with tempfile.TemporaryDirectory() as workdir:
        start = time.perf_counter()
        proc = subprocess.run([str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--directory", workdir,
                               "--configfile", str(configfile), "-n", "--quiet", "rules", "--cores", "1"],
                              cwd=workdir, env=env, capture_output=True, text=True, check=True)
        elapsed = time.perf_counter() - start
    lines = proc.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("job ")) + 2
    counts = {}
    for line in lines[first:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print the per-rule job counts as a markdown table")
    args = parser.parse_args()
    ci, t_ci = dry_run(REPO / "configs" / "ci.yaml")
    paper, t_paper = dry_run(REPO / "configs" / "paper.yaml")
    print(f"ci DAG:    {ci['total']:6d} jobs  {t_ci:6.1f} s")
    print(f"paper DAG: {paper['total']:6d} jobs  {t_paper:6.1f} s  ({t_paper / t_ci:.2f}x the ci dry run; "
          f"target < {TARGET_S:.0f} s: {'met' if t_paper < TARGET_S else 'MISSED'})")
    if args.markdown:
        total = paper.pop("total")
        print("\n| rule | jobs |\n|---|---:|")
        for rule, n in sorted(paper.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"| `{rule}` | {n} |")
        print(f"| **total** | **{total}** |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
