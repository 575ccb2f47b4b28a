"""`gapbench train {pde,pde-baseline,graph}`: the training (and baseline scoring) subcommands of both parts."""

from __future__ import annotations

import importlib

# Each module adds one subcommand under `train` via `register(train_subparsers)`.
TRAINERS = ("gapbench.train.pde", "gapbench.train.baseline", "gapbench.train.graph")


def register(sub) -> None:
    p = sub.add_parser("train", help="train and evaluate models (one Snakemake job per call)")
    tsub = p.add_subparsers(dest="train_command", required=True)
    for name in TRAINERS:
        importlib.import_module(name).register(tsub)
