"""`gapbench graphs make KIND ...` and `gapbench graphs download NAME`: the graph_data stage's commands.

One ``make`` subcommand per generated dataset kind (:mod:`gapbench.graphs.kinds`: its flags, parameter dataclass
and generator) parses its flags into the parameter dataclass, calls the generator and writes the dataset atomically
(data.write_dataset, which validates it first); ``make benchmark`` converts a downloaded benchmark
(benchmarks.py). Heavy imports (numpy, torch, PyG) happen in the handlers.
"""

from __future__ import annotations

import argparse
import time

from gapbench.argtypes import number, seed
from gapbench.graphs.benchmarks import BENCHMARKS
from gapbench.graphs.kinds import generated_kinds


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


def _make(args: argparse.Namespace) -> int:
    """``graphs make KIND``: the kind's parameters from the flags, its generator, the atomic write."""
    _check_out(args)
    from gapbench.graphs.kinds import DATASET_KINDS, generate, make_params

    kind = DATASET_KINDS[args.dataset_kind]
    return _write(args.out, *generate(kind, make_params(kind, vars(args))))


def _benchmark(args: argparse.Namespace) -> int:
    _check_out(args)
    from gapbench.graphs import download

    print(download.make_dataset(args.name, f"{args.root}/{args.name}", args.out))
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

    for kind in generated_kinds():
        c = msub.add_parser(kind.command, help=kind.help)
        for flag in kind.flags:
            c.add_argument("--" + flag.name.replace("_", "-"), dest=flag.name, **flag.kwargs)
        _common(c, kind.name)
        c.set_defaults(handler=_make, dataset_kind=kind.name)

    c = msub.add_parser("benchmark", help="copy a downloaded benchmark into gapbench's format (benchmarks.py)")
    c.add_argument("--name", required=True, choices=tuple(BENCHMARKS))
    c.add_argument("--root", default="resources/graphs", help="download root (default resources/graphs)")
    c.add_argument("--out", required=True, help="dataset directory, e.g. results/data/graphs/benchmark/zinc")
    c.add_argument("--force", action="store_true", help="replace an existing graph dataset at --out")
    c.set_defaults(handler=_benchmark)

    d = gsub.add_parser("download", help="download, process and check a benchmark's raw files (download.py)")
    d.add_argument("name", choices=tuple(BENCHMARKS))
    d.add_argument("--root", default="resources/graphs", help="download root (default resources/graphs)")
    d.add_argument("--retries", type=number(int, 1, 100), default=3, help="tries per URL (default 3)")
    d.set_defaults(handler=_download)
