"""`gapbench graphs make KIND ...` and `gapbench graphs download NAME`: the graph_data stage's commands.

Each ``make`` subcommand parses its flags into the generator's parameter dataclass, calls the generator
(planted.py, map_paths.py, ising.py, duplicates.py, benchmarks.py) and writes the dataset atomically
(data.write_dataset, which validates it first). Heavy imports (numpy, torch, PyG) happen in the handlers.
"""

from __future__ import annotations

import argparse
import time

from gapbench.argtypes import finite_float, number, positive_float, seed


def _check_out(args: argparse.Namespace) -> None:
    """Refuse ``--out`` before any work unless it is absent or (with ``--force``) a graph dataset."""
    from gapbench.outputs import check_replaceable

    check_replaceable(args.out, "graph-dataset", args.force)


def _write(out, splits, meta, extra=None) -> int:
    from gapbench.graphs.data import write_dataset

    start = time.perf_counter()
    print(write_dataset(out, splits, meta, extra))
    print(f"written and checked in {time.perf_counter() - start:.2f} s")
    return 0


def _planted_star(args: argparse.Namespace) -> int:
    _check_out(args)
    from gapbench.graphs import planted

    params = planted.PlantedStarParams(args.leaves, args.depth, args.n_graphs, args.width, tuple(args.split), args.seed,
                                       not args.no_centre_features)
    splits, meta, model = planted.make(params)
    return _write(args.out, splits, meta, {planted.MODEL_FILE: planted.save_model(model)})


def _map(args: argparse.Namespace) -> int:
    _check_out(args)
    from gapbench.graphs import map_paths

    params = map_paths.MapParams(args.n, args.n_graphs, args.unary_scale, tuple(args.split), args.seed,
                                 args.hard_fraction)
    return _write(args.out, *map_paths.make(params))


def _ising(args: argparse.Namespace) -> int:
    _check_out(args)
    from gapbench.graphs import ising

    params = ising.IsingParams(args.tree, args.n_graphs, args.n_nodes, args.coupling, args.field_std,
                               tuple(args.split), args.seed)
    return _write(args.out, *ising.make(params))


def _duplicates(args: argparse.Namespace) -> int:
    _check_out(args)
    from gapbench.graphs import duplicates

    params = duplicates.DuplicatesParams(args.n, args.n_graphs, tuple(args.split), args.seed)
    return _write(args.out, *duplicates.make(params))


def _benchmark(args: argparse.Namespace) -> int:
    _check_out(args)
    from gapbench.graphs import benchmarks

    print(benchmarks.make(args.name, f"{args.root}/{args.name}", args.out))
    return 0


def _download(args: argparse.Namespace) -> int:
    from gapbench.graphs.download import download

    print(f"{download(args.name, args.root, retries=args.retries)}: downloaded, processed and checked")
    return 0


def _common(p: argparse.ArgumentParser, kind: str) -> None:
    p.add_argument("--n-graphs", type=number(int, 3, 10000000), required=True, help="graphs in all splits together")
    p.add_argument("--split", type=number(float, 0, 1, low_open=True), nargs=3, default=[0.8, 0.1, 0.1],
                   metavar=("TRAIN", "VALID", "TEST"),
                   help="fractions of the graphs per split (default 0.8 0.1 0.1)")
    p.add_argument("--seed", type=seed, default=0, help="root seed (the config's `seed`); streams derive from it")
    p.add_argument("--out", required=True, help=f"dataset directory, e.g. results/data/graphs/{kind}/VARIANT "
                   "(refused if it exists, unless a graph dataset and --force)")
    p.add_argument("--force", action="store_true", help="replace an existing graph dataset at --out")


def register(sub) -> None:
    """Add `graphs make ...` and `graphs download` to the top-level parser."""
    p = sub.add_parser("graphs", help="make the Part I graph datasets; download the benchmarks")
    gsub = p.add_subparsers(dest="graphs_command", required=True)
    make = gsub.add_parser("make", help="generate one graph dataset (written atomically, then checked)")
    msub = make.add_subparsers(dest="kind", required=True)

    c = msub.add_parser("planted-star", help="star graphs, targets from a random edge GCN (planted.py)")
    c.add_argument("--leaves", type=number(int, 1, 1000000), required=True, help="leaves per star")
    c.add_argument("--depth", type=number(int, 0, 256), required=True, help="depth k of the planted edge GCN")
    c.add_argument("--width", type=number(int, 1, 4096), default=10, help="width of the planted edge GCN (default 10)")
    c.add_argument("--no-centre-features", action="store_true",
                   help="the centre gets x_0 = 0 (the paper's setting) instead of N(0, I) features")
    _common(c, "planted_star")
    c.set_defaults(handler=_planted_star)

    c = msub.add_parser("map", help="MAP labels of random pairwise models on hub-and-paths graphs (map_paths.py)")
    c.add_argument("--n", type=number(int, 1, 1000000), required=True,
                   help="path vertices, a perfect square (sqrt(n) paths of sqrt(n))")
    c.add_argument("--unary-scale", type=positive_float, default=0.1, help="std of the unary energies (default 0.1)")
    c.add_argument("--hard-fraction", type=number(float, 0, 1), default=1.0,
                   help="probability that a pair follows the hard law (hub zero, path copy, far-end clamp) "
                        "instead of the uniform one, in [0, 1] (default 1: all hard; 0: uniform)")
    _common(c, "map")
    c.set_defaults(handler=_map)

    c = msub.add_parser("ising", help="exact Ising marginals on trees (ising.py)")
    c.add_argument("--tree", choices=("binary", "path", "pruefer"), required=True, help="tree family")
    c.add_argument("--n-nodes", type=number(int, 2, 1000000), default=None,
                   help="nodes per tree (default 31 binary, 30 path/pruefer)")
    c.add_argument("--coupling", type=finite_float, default=1.0, help="J on every pair (default 1)")
    c.add_argument("--field-std", type=positive_float, default=1.0, help="std of the fields h_i (default 1)")
    _common(c, "ising")
    c.set_defaults(handler=_ising)

    c = msub.add_parser("duplicates", help="star, label = another leaf has the same input (duplicates.py)")
    c.add_argument("--n", type=number(int, 4, 1000000), required=True, help="leaves (even, >= 4); inputs in 1..n")
    _common(c, "duplicates")
    c.set_defaults(handler=_duplicates)

    c = msub.add_parser("benchmark", help="copy a downloaded benchmark into gapbench's format (benchmarks.py)")
    c.add_argument("--name", required=True,
                   choices=("zinc", "mnist", "cifar10", "peptides_func", "peptides_struct"))
    c.add_argument("--root", default="resources/graphs", help="download root (default resources/graphs)")
    c.add_argument("--out", required=True, help="dataset directory, e.g. results/data/graphs/benchmark/zinc")
    c.add_argument("--force", action="store_true", help="replace an existing graph dataset at --out")
    c.set_defaults(handler=_benchmark)

    d = gsub.add_parser("download", help="download, process and check a benchmark's raw files (download.py)")
    d.add_argument("name", choices=("zinc", "mnist", "cifar10", "peptides_func", "peptides_struct"))
    d.add_argument("--root", default="resources/graphs", help="download root (default resources/graphs)")
    d.add_argument("--retries", type=number(int, 1, 100), default=3, help="tries per URL (default 3)")
    d.set_defaults(handler=_download)
