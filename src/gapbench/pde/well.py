"""Export a PDE store to The Well's HDF5 layout (``gapbench export the-well STORE OUT.hdf5``).

The Well (Ohana et al., 2024) stores one physical system per HDF5 file, read by ``the_well.data.WellDataset``:

* root attributes ``dataset_name``, ``grid_type`` (``cartesian``), ``n_spatial_dims``, ``n_trajectories``,
  ``simulation_parameters`` (names) and each parameter's value (here ``nu``);
* ``dimensions/``: ``time [T]`` and one coordinate array per spatial axis (``x`` [, ``y``]), listed in the group's
  ``spatial_dims`` attribute; each with ``sample_varying``/``time_varying`` flags;
* ``boundary_conditions/``: one group per boundary, here ``{axis}_periodic`` (``bc_type = PERIODIC``, a ``mask``
  true on the first and last grid point of that axis);
* ``scalars/``: ``nu`` (constant); ``t0_fields/``: the scalar field ``[n_trajectories, T, *space]`` float32
  with ``dim_varying`` (true per axis), ``sample_varying`` and ``time_varying`` true; ``t1_fields/`` and
  ``t2_fields/`` (vectors, tensors) empty.

One field is exported: the store's own (``u`` for KS, ``vorticity`` for NS), or ``field``. It is copied one
Zarr chunk of trajectories at a time (memory bounded by a chunk) into a temporary sibling file renamed into
place when complete. gapbench's attributes (noise, resolution, seeds, ...) go along as root attributes
``gapbench_*`` so the file stays traceable.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gapbench.errors import StoreError
from gapbench.outputs import atomic_write


def _strings(values) -> np.ndarray:
    import h5py

    return np.array([str(v) for v in values], dtype=h5py.string_dtype())


def _flags(node, sample: bool, time: bool) -> None:
    node.attrs["sample_varying"] = sample
    node.attrs["time_varying"] = time


def export_the_well(store: str | Path, out: str | Path, field: str | None = None, force: bool = False) -> str:
    """Write ``store`` (a gapbench PDE store) to ``out`` in The Well's layout; return a one-line summary.

    An existing ``out`` is replaced only with ``force`` (a directory never)."""
    import dask
    import h5py

    from gapbench.data import check_field, main_field
    from gapbench.pde.store import load

    store, out = Path(store), Path(out)
    if out.suffix not in (".hdf5", ".h5"):
        raise StoreError(f"{out}: The Well reads files ending in .hdf5 or .h5")
    if (out.exists() or out.is_symlink()) and not force:
        raise StoreError(f"{out}: exists; add --force to replace it")
    ds = load(store)
    name = check_field(ds, field or main_field(ds), str(store))
    var = ds[name]
    axes = list(var.dims[2:])
    a = ds.attrs

    def write(tmp: str) -> None:
        with h5py.File(tmp, "w") as f:
            f.attrs["dataset_name"] = f"gapbench_{a['equation']}"
            f.attrs["grid_type"] = "cartesian"
            f.attrs["n_spatial_dims"] = len(axes)
            f.attrs["n_trajectories"] = ds.sizes["sample"]
            f.attrs["simulation_parameters"] = _strings(["nu"])
            f.attrs["nu"] = float(a["nu"])
            for key, value in a.items():
                f.attrs[f"gapbench_{key}"] = value if isinstance(value, (int, float, str, bool)) else json.dumps(value)
            f.attrs["gapbench_field"] = name
            dims = f.create_group("dimensions")
            dims.attrs["spatial_dims"] = _strings(axes)
            _flags(dims.create_dataset("time", data=ds["time"].values.astype(np.float32)), False, True)
            for axis in axes:
                _flags(dims.create_dataset(axis, data=ds[axis].values.astype(np.float32)), False, False)
            bcs = f.create_group("boundary_conditions")
            for axis in axes:
                bc = bcs.create_group(f"{axis}_periodic")
                bc.attrs["bc_type"] = "PERIODIC"
                bc.attrs["associated_dims"] = _strings([axis])
                bc.attrs["associated_fields"] = _strings([])
                _flags(bc, False, False)
                mask = np.zeros(ds.sizes[axis], dtype=bool)
                mask[[0, -1]] = True
                bc.create_dataset("mask", data=mask)
            scalars = f.create_group("scalars")
            scalars.attrs["field_names"] = _strings(["nu"])
            _flags(scalars.create_dataset("nu", data=np.float32(a["nu"])), False, False)
            for order in range(3):
                group = f.create_group(f"t{order}_fields")
                group.attrs["field_names"] = _strings([name] if order == 0 else [])
            data = f["t0_fields"].create_dataset(name, shape=var.shape, dtype=np.float32,
                                                 chunks=(1, *var.shape[1:]))
            data.attrs["dim_varying"] = np.ones(len(axes), dtype=bool)
            _flags(data, True, True)
            step = var.encoding.get("chunks", (ds.sizes["sample"],))[0]
            with dask.config.set(scheduler="synchronous"):
                for first in range(0, ds.sizes["sample"], step):
                    block = var.isel(sample=slice(first, first + step)).values
                    data[first:first + block.shape[0]] = block.astype(np.float32)

    atomic_write(out, write)
    shape = " x ".join(str(n) for n in var.shape)
    return f"{out}: The Well layout, {a['equation']} nu={a['nu']}, field {name!r} [{shape}] (trajectories x time x space)"
