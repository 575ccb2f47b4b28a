"""gapbench's data for other code: a PyTorch ``Dataset`` over PDE stores and PyG datasets of the graph sets.

PDE (any observed or simulated store of the pipeline, ``results/data/pde/{eq}/{law}/nu{nu}/.../{split}.zarr``)::

    from torch.utils.data import DataLoader
    from gapbench.data import PDEDataset
    data = PDEDataset("results/data/pde/ks/attractor/nu0.1/obs/fourier-r32-s0.1/train.zarr", horizon=4, history=2)
    for inputs, targets in DataLoader(data, batch_size=16, shuffle=True):
        loss = ((model(inputs) - targets) ** 2).mean()  # inputs [B, 2, 32], targets [B, 4, 32]

Graphs: :class:`PlantedStar`, :class:`HubPathsMAP`, :class:`IsingTrees`, :class:`Duplicates` (PyG
``InMemoryDataset`` classes, defined in :mod:`gapbench.graphs.pyg`), e.g.
``PlantedStar("results/data/graphs", leaves=32, depth=3, split="train")`` loads the pipeline's files or builds
identical ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gapbench.errors import StoreError

GRAPH_DATASETS = ("PlantedStar", "HubPathsMAP", "IsingTrees", "Duplicates")


def __getattr__(name: str):  # the graph classes import PyG only when asked for
    if name in GRAPH_DATASETS:
        from gapbench.graphs import pyg

        return getattr(pyg, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def field_variables(ds) -> list[str]:
    """The store's time-dependent fields (sorted): data variables with dims ``(sample, time, <space>...)``."""
    return sorted(name for name, var in ds.data_vars.items() if var.dims[:2] == ("sample", "time") and var.ndim >= 3)


def main_field(ds) -> str:
    """The field a store is about: its ``field`` attribute when present, else ``u`` (KS) or ``vorticity`` (NS)."""
    from gapbench.pde.store import field_name

    return str(ds.attrs.get("field") or field_name(ds.attrs["equation"]))


def check_field(ds, name: str, where: str) -> str:
    fields = field_variables(ds)
    if name not in fields:
        raise StoreError(f"{where}: no field {name!r}; this store's fields are {', '.join(fields)}")
    return name


class PDEDataset:
    """Windows of consecutive frames of one PDE store, read lazily (xarray over Zarr, one window per item).

    Item ``i`` is ``(inputs, targets)``: with the window of trajectory ``s`` starting at frame ``t0``,
    ``inputs = field[s, t0 : t0 + history]`` and ``targets = target_field[s, t0 + history : t0 + history + horizon]``
    (float32 tensors ``[history, *space]`` and ``[horizon, *space]``). Windows start at ``t0 = 0, stride,
    2 stride, ...`` while they fit in the ``n_frames`` frames, so there are
    ``n_samples * (1 + (n_frames - history - horizon) // stride)`` items, ordered by trajectory then ``t0``.

    Args:
        store: a ``.zarr`` store written by the pipeline (checked as ``gapbench data check`` does, values aside).
        horizon: frames to predict (>= 1).
        history: frames given (>= 1; a Markovian model uses 1, a memory model more).
        stride: frames between window starts (>= 1).
        field / target_field: data variables with dims ``(sample, time, ...)``; default: the store's own field
            (``u`` or ``vorticity``) for both. A store holding another field (e.g. a clean copy beside the noisy
            observation) can serve it as ``target_field``.
    """

    def __init__(self, store: str | Path, horizon: int, history: int = 1, stride: int = 1,
                 field: str | None = None, target_field: str | None = None):
        from gapbench.pde.store import load

        for label, value in (("horizon", horizon), ("history", history), ("stride", stride)):
            if int(value) != value or value < 1:
                raise ValueError(f"{label} must be an integer >= 1, got {value!r}")
        self.path = Path(store)
        self.ds = load(self.path, check_values=False)
        self.field = check_field(self.ds, field or main_field(self.ds), str(self.path))
        self.target_field = check_field(self.ds, target_field or self.field, str(self.path))
        self.history, self.horizon, self.stride = int(history), int(horizon), int(stride)
        n_frames = self.ds.sizes["time"]
        if history + horizon > n_frames:
            raise ValueError(f"history {history} + horizon {horizon} frames exceed the store's {n_frames} frames")
        self.windows_per_sample = 1 + (n_frames - history - horizon) // stride
        self.n_samples = self.ds.sizes["sample"]

    def __len__(self) -> int:
        return self.n_samples * self.windows_per_sample

    def window(self, index: int) -> tuple[int, int]:
        """``(sample position, first frame)`` of item ``index``."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} windows")
        index %= len(self)
        sample, w = divmod(index, self.windows_per_sample)
        return sample, w * self.stride

    def _frames(self, name: str, sample: int, start: int, count: int) -> np.ndarray:
        import dask

        part = self.ds[name].isel(sample=sample, time=slice(start, start + count))
        with dask.config.set(scheduler="synchronous"):  # safe inside DataLoader worker processes
            return np.asarray(part.values, dtype=np.float32)

    def __getitem__(self, index: int):
        import torch

        sample, t0 = self.window(int(index))
        inputs = self._frames(self.field, sample, t0, self.history)
        targets = self._frames(self.target_field, sample, t0 + self.history, self.horizon)
        return torch.from_numpy(inputs), torch.from_numpy(targets)

    def __repr__(self) -> str:
        a = self.ds.attrs
        return (f"PDEDataset({self.path}: {a['equation']} nu={a['nu']} {a['split']}, {self.field}"
                f"{'' if self.target_field == self.field else ' -> ' + self.target_field}, history={self.history}, "
                f"horizon={self.horizon}, {len(self)} windows)")
