"""Graph-data performance, one core: MAP labelling is O(n), and the paper-scale graph data takes < 1 minute.

1. Exact MAP labels (map_paths.map_assignment, fix the hub + DP along the paths) for n = 64 ... 65,536 path
   vertices. Each size labels a batch with the same total number of nodes (2^18), best of 3; printed: time per
   node and its ratio to the n = 64 anchor measured in the same run (flat = O(n)).
2. Every synthetic dataset of configs/paper.yaml (planted star, MAP, Ising, duplicates; the benchmarks are
   downloads, not generated) generated in this process: generation alone, then generation + writing +
   validation (what `gapbench graphs make` does, without the per-process import time); the ratio to 60 s,
   in wall time and in CPU time (the honest figure on a shared machine).

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/map_labelling.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from gapbench.config import load_config  # noqa: E402
from gapbench.graphs import data, duplicates, ising, map_paths, planted  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TOTAL_NODES = 2**18


def map_scaling() -> None:
    print("MAP labelling (hub + sqrt(n) paths of sqrt(n)), batch of 2^18 nodes per size, best of 3, one core")
    print(f"{'n':>7} {'graphs':>7} {'time_s':>8} {'ns/node':>8} {'ratio_vs_n64':>13}")
    gen = np.random.default_rng(0)
    anchor = None
    for n in (64, 256, 1024, 4096, 16384, 65536):
        count = TOTAL_NODES // n
        n_pairs = map_paths.hub_and_paths(n).shape[1]
        pair_energy = map_paths.TABLES[gen.integers(0, 4, size=(count, n_pairs))]
        node_energy = np.stack([np.zeros((count, n + 1)), 0.1 * gen.standard_normal((count, n + 1))], axis=-1)
        best = np.inf
        for _ in range(3):
            start = time.perf_counter()
            map_paths.map_assignment(n, pair_energy, node_energy)
            best = min(best, time.perf_counter() - start)
        per_node = best / (count * (n + 1)) * 1e9
        anchor = anchor or per_node
        print(f"{n:>7} {count:>7} {best:>8.3f} {per_node:>8.1f} {per_node / anchor:>13.2f}")


def paper_scale() -> None:
    config = load_config(REPO / "configs" / "paper.yaml")
    g, seed = config["graphs"], config["seed"]
    split = tuple(g["split"])
    jobs = []
    for n in g["planted_star"]["leaves"]:
        for k in g["planted_star"]["depths"]:
            p = planted.PlantedStarParams(n, k, g["planted_star"]["n_graphs"], g["planted_star"]["width"], split, seed)
            jobs.append(("planted_star", p.variant, lambda p=p: planted.make(p)))
    for n in g["map"]["n"]:
        p = map_paths.MapParams(n, g["map"]["n_graphs"], g["map"]["unary_scale"], split, seed)
        jobs.append(("map", p.variant, lambda p=p: map_paths.make(p)))
    for tree in g["ising"]["trees"]:
        p = ising.IsingParams(tree, g["ising"]["n_graphs"], g["ising"]["n_nodes"][tree], g["ising"]["coupling"],
                              g["ising"]["field_std"], split, seed)
        jobs.append(("ising", p.variant, lambda p=p: ising.make(p)))
    for n in g["duplicates"]["n"]:
        p = duplicates.DuplicatesParams(n, g["duplicates"]["n_graphs"], split, seed)
        jobs.append(("duplicates", p.variant, lambda p=p: duplicates.make(p)))

    print(f"\nconfigs/paper.yaml synthetic graph data: {len(jobs)} datasets, one core")
    print(f"{'dataset':>24} {'graphs':>7} {'nodes':>9} {'generate_s':>10} {'write+check_s':>13}")
    total_gen = total_all = 0.0
    n_graphs_all = 0
    cpu_start = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        for kind, variant, job in jobs:
            start = time.perf_counter()
            made = job()
            gen_s = time.perf_counter() - start
            splits, meta = made[0], made[1]
            extra = {planted.MODEL_FILE: planted.save_model(made[2])} if kind == "planted_star" else None
            data.write_dataset(Path(tmp) / kind / variant, splits, meta, extra)
            all_s = time.perf_counter() - start
            graphs = sum(len(v) for v in splits.values())
            nodes = sum(int(x.num_nodes) for v in splits.values() for x in v)
            n_graphs_all += graphs
            total_gen += gen_s
            total_all += all_s
            print(f"{kind + '/' + variant:>24} {graphs:>7} {nodes:>9} {gen_s:>10.2f} {all_s - gen_s:>13.2f}")
    cpu = time.process_time() - cpu_start
    print(f"{'total':>24} {n_graphs_all:>7} {'':>9} {total_gen:>10.2f} {total_all - total_gen:>13.2f}")
    print(f"wall: generation {total_gen:.1f} s, with writing and validation {total_all:.1f} s "
          f"(ratio to the 60 s budget {total_all / 60:.2f}); CPU time of all of it {cpu:.1f} s "
          f"(ratio {cpu / 60:.2f}; wall > CPU means other processes shared the core)")


if __name__ == "__main__":
    torch.set_num_threads(1)
    map_scaling()
    if "--map-only" not in sys.argv:
        paper_scale()
