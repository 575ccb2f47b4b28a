"""The standard benchmarks of seed Table 1, through ``torch_geometric.datasets``, in gapbench's format.

=================  ==========================================  =====================  =====================
name               PyG class (root = resources/graphs/{name})  task, metric           splits train/val/test
=================  ==========================================  =====================  =====================
zinc               ``ZINC(root, subset=True)``                 graph regression, MAE  10000 / 1000 / 1000
mnist              ``GNNBenchmarkDataset(root, "MNIST")``      10 classes, accuracy   55000 / 5000 / 10000
cifar10            ``GNNBenchmarkDataset(root, "CIFAR10")``    10 classes, accuracy   45000 / 5000 / 10000
peptides_func      ``LRGBDataset(root, "peptides-func")``      10 labels, AP          10873 / 2331 / 2331
peptides_struct    ``LRGBDataset(root, "peptides-struct")``    11 targets, MAE        10873 / 2331 / 2331
=================  ==========================================  =====================  =====================

Protocols (budgets, splits) follow benchmarking-gnns (Dwivedi et al.) and LRGB; the splits are the
published ones. :mod:`gapbench.graphs.download` fetches the raw files (``gapbench graphs download NAME``);
:func:`dataset` lets PyG process them offline and copies PyG's processed split files, which are already in
``InMemoryDataset`` storage, into ``results/data/graphs/benchmark/{name}/processed/{train,valid,test}.pt``
with a dataset card, so :func:`gapbench.graphs.data.load` reads benchmarks and synthetic data alike. This module
imports no other module of gapbench.graphs (the dataset kinds' registry imports it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from gapbench.errors import StoreError

PYG_SPLIT = {"train": "train", "valid": "val", "test": "test"}
MARKER = "download.json"


@dataclass(frozen=True)
class Benchmark:
    """How to build, describe and check one benchmark."""

    name: str
    pyg_class: str  # attribute of torch_geometric.datasets
    pyg_kwargs: dict
    raw_subdir: str  # PyG's raw_dir relative to the dataset root
    processed: dict  # split -> PyG processed file relative to the dataset root
    sizes: dict  # published split sizes (checked after processing)
    task: str
    metric: str
    higher_is_better: bool
    y_shape: tuple  # per graph
    y_dtype: str
    num_classes: int | None = None
    fields: dict = field(default_factory=dict)

    def dataset(self, root: Path | str, split: str):
        """PyG's dataset object for ``split`` (train|valid|test); processes the raw files if needed."""
        import torch_geometric.datasets as pyg_datasets

        cls = getattr(pyg_datasets, self.pyg_class)
        return cls(str(root), split=PYG_SPLIT[split], **self.pyg_kwargs)


def _peptides(name: str, task: str, metric: str, higher: bool, n_out: int) -> Benchmark:
    pyg = name.replace("_", "-")
    return Benchmark(
        name, "LRGBDataset", {"name": pyg}, f"{pyg}/raw",
        {s: f"{pyg}/processed/{p}.pt" for s, p in PYG_SPLIT.items()},
        {"train": 10873, "valid": 2331, "test": 2331}, task, metric, higher, (1, n_out), "float32",
        fields={"x": "9 categorical atom features (long) [N,9]", "edge_attr": "3 categorical bond features [E,3]",
                "y": f"[1,{n_out}] per graph"})


def _superpixels(name: str, upper: str, sizes: dict) -> Benchmark:
    return Benchmark(
        name, "GNNBenchmarkDataset", {"name": upper}, f"{upper}/raw",
        {s: f"{upper}/processed/{p}_data.pt" for s, p in PYG_SPLIT.items()},
        sizes, "graph_classification", "accuracy", True, (1,), "int64", num_classes=10,
        fields={"x": "superpixel intensity [N,C]", "pos": "superpixel centre [N,2]",
                "edge_attr": "edge weight [E]", "y": "class in 0..9 [1]"})


BENCHMARKS: dict[str, Benchmark] = {
    "zinc": Benchmark(
        "zinc", "ZINC", {"subset": True}, "raw", {s: f"subset/processed/{p}.pt" for s, p in PYG_SPLIT.items()},
        {"train": 10000, "valid": 1000, "test": 1000}, "graph_regression", "mae", False, (1,), "float32",
        fields={"x": "atom type (long) [N,1]", "edge_attr": "bond type (long) [E]",
                "y": "penalised logP, normalised [1]"}),
    "mnist": _superpixels("mnist", "MNIST", {"train": 55000, "valid": 5000, "test": 10000}),
    "cifar10": _superpixels("cifar10", "CIFAR10", {"train": 45000, "valid": 5000, "test": 10000}),
    "peptides_func": _peptides("peptides_func", "graph_multilabel_classification", "ap", True, 10),
    "peptides_struct": _peptides("peptides_struct", "graph_regression", "mae", False, 11),
}


def benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise StoreError(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name]


class _SafeUnpickler:
    """``pickle.load`` for raw benchmark files: plain containers and tensors only, nothing that can run code."""

    ALLOWED = {("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2"),
               ("torch._utils", "_rebuild_tensor")}

    @classmethod
    def load(cls, fh, **kwargs):
        import io
        import pickle

        import torch

        class Unpickler(pickle.Unpickler):
            def find_class(self, module, name):
                if (module, name) in cls.ALLOWED:
                    return super().find_class(module, name)
                if module == "torch.storage" and name == "_load_from_bytes":  # tensors pickled by torch
                    return lambda data: torch.load(io.BytesIO(data), weights_only=True)
                if module == "torch" and name.endswith("Storage"):
                    return getattr(torch, name)
                raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a raw benchmark file")

        return Unpickler(fh, **kwargs).load()


class safe_pyg_loads:
    """Context: PyG's dataset classes read files with ``torch.load(weights_only=True)`` only (no fallback to
    the full unpickler) and raw pickles (ZINC, CSL, LRGB) through :class:`_SafeUnpickler`; a crafted file
    is refused."""

    # PyG dataset modules that read raw pickles (pickle.load is all they use of the module)
    PICKLING = ("torch_geometric.datasets.zinc", "torch_geometric.datasets.gnn_benchmark_dataset",
                "torch_geometric.datasets.lrgb")

    def __enter__(self):
        import importlib

        import torch
        from torch_geometric.io import fs

        def torch_load(path, map_location=None):
            try:
                with fs.fsspec.open(path, "rb") as fh:
                    return torch.load(fh, map_location, weights_only=True)
            except Exception as err:
                raise StoreError(f"{path}: refused, holds more than tensors and plain containers "
                                 f"({type(err).__name__}: {' '.join(str(err).split())[:200]})") from None

        self._modules = [importlib.import_module(name) for name in self.PICKLING]
        self._saved = (fs.torch_load, [m.pickle for m in self._modules])
        fs.torch_load = torch_load
        for module in self._modules:
            module.pickle = _SafeUnpickler
        return self

    def __exit__(self, *exc):
        from torch_geometric.io import fs

        fs.torch_load, pickles = self._saved
        for module, saved in zip(self._modules, pickles):
            module.pickle = saved


def process(name: str, root: Path | str, check_sizes: bool = True) -> dict[str, int]:
    """Let PyG turn the raw files under ``root`` into its processed split files (offline); split sizes.

    Raises StoreError when processing fails or (``check_sizes``) a split size differs from the published one.
    """
    bench = benchmark(name)
    root = Path(root)
    try:
        with safe_pyg_loads():
            sizes = {split: len(bench.dataset(root, split)) for split in PYG_SPLIT}
    except StoreError:
        raise
    except Exception as err:  # PyG raises whatever its parser hits on a bad file
        raise StoreError(f"{name}: PyG could not process the raw files under {root / bench.raw_subdir} "
                         f"({type(err).__name__}: {err})") from None
    if check_sizes and sizes != bench.sizes:
        raise StoreError(f"{name}: split sizes {sizes} differ from the published {bench.sizes} "
                         f"(incomplete or wrong raw files under {root / bench.raw_subdir})")
    return sizes


def verify_raw_files(raw_dir: Path, recorded: dict) -> None:
    """StoreError unless every raw file has the size and sha256 that ``download.json`` recorded for it."""
    import hashlib

    for file, record in sorted(recorded.items()):
        path = raw_dir / file
        h = hashlib.sha256()
        try:
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
        except OSError as err:
            raise StoreError(f"{path}: recorded in {MARKER} but unreadable ({err.strerror or err})") from None
        if h.hexdigest() != record.get("sha256"):
            raise StoreError(f"{path}: sha256 differs from the one recorded in {MARKER} (file replaced after the "
                             "download); delete the benchmark's folder and download it again")


def dataset(name: str, root: Path | str) -> tuple[dict[str, Path], dict]:
    """The processed benchmark under ``root`` (after ``gapbench graphs download``), checked against its recorded
    download: ``({split: processed file}, meta)``, what :func:`gapbench.graphs.download.make_dataset` writes."""
    bench = benchmark(name)
    root = Path(root)
    marker = root / MARKER
    if not marker.is_file():
        raise StoreError(f"{root}: no {MARKER}; run `gapbench graphs download {name} --root {root.parent}` first")
    provenance = json.loads(marker.read_text())
    verify_raw_files(root / bench.raw_subdir, provenance.get("raw_files", {}))
    process(name, root, check_sizes=provenance.get("checked_sizes", True))
    meta = {
        "kind": "benchmark", "variant": name, "seed": None,
        "params": {"name": name}, "task": bench.task, "metric": bench.metric,
        "higher_is_better": bench.higher_is_better, "num_classes": bench.num_classes,
        "source": {"pyg_class": bench.pyg_class, "pyg_kwargs": bench.pyg_kwargs,
                   "published_sizes": bench.sizes, "download": provenance},
        "fields": bench.fields,
    }
    return {s: root / bench.processed[s] for s in PYG_SPLIT}, meta


def check_split(path: Path, split: str, graphs: list, meta: dict) -> None:
    """Benchmark-specific checks of one split's graphs: x present, y dtype/shape/range per graph."""
    bench = benchmark(meta["variant"])
    for i, d in enumerate(graphs):
        where = f"{path} {split}[{i}]"
        if getattr(d, "x", None) is None or d.x.shape[0] != d.num_nodes:
            raise StoreError(f"{where}: x missing or not one row per node")
        y = getattr(d, "y", None)
        if y is None or tuple(y.shape) != bench.y_shape or str(y.dtype).removeprefix("torch.") != bench.y_dtype:
            got = None if y is None else (tuple(y.shape), str(y.dtype))
            raise StoreError(f"{where}: y is {got}, expected shape {bench.y_shape} dtype {bench.y_dtype}")
        if bench.num_classes is not None and not (0 <= int(y.min()) and int(y.max()) < bench.num_classes):
            raise StoreError(f"{where}: class label {y.tolist()} outside 0..{bench.num_classes - 1}")
        if y.is_floating_point() and not bool(y.isfinite().all()):
            raise StoreError(f"{where}: y has non-finite values")
        if bench.metric == "ap" and not bool(((y == 0) | (y == 1)).all()):
            raise StoreError(f"{where}: multilabel y must be 0/1")
