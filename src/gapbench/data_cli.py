"""`gapbench data check PATH`: the executable specification of both data formats; `gapbench export ...`.

A path ending in ``.zarr`` is a PDE store (checked by :func:`gapbench.pde.store.check_store`); anything else
is a graph dataset directory (checked by :func:`gapbench.graphs.data.check_dataset`).
`gapbench export the-well STORE OUT.hdf5` writes a PDE store in The Well's HDF5 layout (:mod:`gapbench.pde.well`).
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


def _export_the_well(args: argparse.Namespace) -> int:
    from gapbench.outputs import sigterm_as_exit
    from gapbench.pde.well import export_the_well

    with sigterm_as_exit():  # a SIGTERM removes the half-written temporary file (atomic_write) and exits 143
        print(export_the_well(args.store, args.out, args.field, force=args.force))
    return 0


def register(sub) -> None:
    p = sub.add_parser("data", help="inspect and validate data stores")
    dsub = p.add_subparsers(dest="data_command", required=True)
    c = dsub.add_parser("check", help="validate a PDE Zarr store or a graph dataset; exit 2 with the reason if bad")
    c.add_argument("path", help="a .zarr store or a graph dataset directory")
    c.set_defaults(handler=_check)

    p = sub.add_parser("export", help="write data in formats other tools read")
    esub = p.add_subparsers(dest="export_command", required=True)
    c = esub.add_parser("the-well", help="a PDE store in The Well's HDF5 layout (read by the_well.data.WellDataset)")
    c.add_argument("store", help="a PDE .zarr store of the pipeline")
    c.add_argument("out", help="the HDF5 file to write (.hdf5 or .h5)")
    c.add_argument("--field", default=None, help="data variable to export (default: the store's field, u or vorticity)")
    c.add_argument("--force", action="store_true", help="replace an existing OUT (without it: refused)")
    c.set_defaults(handler=_export_the_well)
