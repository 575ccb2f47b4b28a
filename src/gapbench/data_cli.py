"""`gapbench data check PATH`: the executable specification of both data formats.

A path ending in ``.zarr`` is a PDE store (checked by :func:`gapbench.pde.store.check_store`); anything else
is a graph dataset directory (checked by :func:`gapbench.graphs.data.check_dataset`).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _check(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if path.suffix == ".zarr":
        from gapbench.pde.store import check_store as check
    else:
        from gapbench.graphs.data import check_dataset as check
    print(check(path))
    return 0


def register(sub) -> None:
    p = sub.add_parser("data", help="inspect and validate data stores")
    dsub = p.add_subparsers(dest="data_command", required=True)
    c = dsub.add_parser("check", help="validate a PDE Zarr store or a graph dataset; exit 2 with the reason if bad")
    c.add_argument("path", help="a .zarr store or a graph dataset directory")
    c.set_defaults(handler=_check)
