"""On-disk format of every graph dataset, its loader and its executable specification.

A dataset is a directory ``results/data/graphs/{kind}/{variant}/`` (docs/graph_data.md)::

    meta.json              dataset card: kind, variant, params, seed, laws, task, metric, split sizes, versions
    processed/train.pt     PyG InMemoryDataset storage: (collated Data as dict, slices, Data class)
    processed/valid.pt     written by ``InMemoryDataset.save``; read by ``InMemoryDataset.load``
    processed/test.pt
    planted_model.pt       planted star only: the planted edge GCN's state_dict (see planted.py)

Fields (docs/science.md, "Storage convention"): ``edge_index [2, E]`` holds both directions, with the first
``E/2`` columns the undirected pairs ``(a, b)`` and the last ``E/2`` the same pairs reversed, so column ``k``
and ``k + E/2`` are the two directions of one edge. ``x`` is the model input, ``y`` the target.
Synthetic datasets also carry ``label_mask [N]`` (bool): the nodes whose ``y`` is a target (all nodes for
MAP and Ising; the leaves for planted star and duplicates). Graphical models carry ``pair_index [2, P]``
(``= edge_index[:, :P]``, each pair once) with ``pair_energy [P, 2, 2]`` (MAP) or ``pair_coupling [P]``
(Ising), and MAP ``node_energy [N, 2]``. Per-kind details: each kind's ``fields`` in :mod:`gapbench.graphs.kinds`
(field -> (dtype name, shape with 'N' nodes, 'E' directed edges, 'P' pairs, ints fixed, None any)) and
docs/graph_data.md.

A dataset is written into a temporary sibling directory and renamed into place (:func:`write_dataset`),
so a killed job never leaves a directory that looks complete. Files are byte-identical for identical inputs.
"""

from __future__ import annotations

import json
import shutil
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from gapbench.errors import ConfigError, StoreError
from gapbench.outputs import GRAPH_DATASET_CARD, GRAPH_DATASET_FORMAT
from gapbench.graphs.kinds import DATASET_KINDS
from gapbench.registry import resolve

ROOT = "results/data/graphs"
SPLITS = ("train", "valid", "test")
FORMAT = GRAPH_DATASET_FORMAT  # the marker gapbench.outputs recognises a dataset by
META = GRAPH_DATASET_CARD
DIGESTS = "content_digest"  # card key: {relative file name: sha256} of every other file, recorded at write


# ----------------------------------------------------------------------------------------------- seeds, splits
def rng(seed: int, *labels: str | int) -> np.random.Generator:
    """Independent random stream for (root seed, labels...), e.g. ``rng(0, "map", "n64", "train")``.

    Labels are hashed (CRC32) into the ``spawn_key`` of a :class:`numpy.random.SeedSequence`, so every dataset
    and split has its own stream: changing the size of one split never changes another.
    """
    key = tuple(zlib.crc32(str(label).encode()) for label in labels)
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=key))


def split_sizes(n_graphs: int, fractions: Sequence[float]) -> dict[str, int]:
    """Number of graphs per split: valid and test get ``round(f * n_graphs)``, train the rest (each >= 1)."""
    if len(fractions) != 3 or any(f <= 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-9:
        raise ConfigError(f"split fractions must be 3 positive numbers summing to 1, got {list(fractions)}")
    n_valid = round(fractions[1] * n_graphs)
    n_test = round(fractions[2] * n_graphs)
    sizes = {"train": n_graphs - n_valid - n_test, "valid": n_valid, "test": n_test}
    if min(sizes.values()) < 1:
        raise ConfigError(f"{n_graphs} graphs split {list(fractions)} leaves an empty split: {sizes}")
    return sizes


def undirected_edge_index(pair_index: np.ndarray):
    """``edge_index`` with both directions: ``[pairs, reversed pairs]`` as a long tensor ``[2, 2P]``."""
    import torch

    pairs = torch.as_tensor(np.ascontiguousarray(pair_index), dtype=torch.long)
    return torch.cat([pairs, pairs.flip(0)], dim=1)


def dataset_paths(config: dict) -> list[str]:
    """Every dataset directory a validated config asks for (the graph_data stage's targets).

    Kinds: :mod:`gapbench.graphs.kinds`; variant names: :mod:`gapbench.graphs.variants`; an empty list in the
    config turns a kind off.
    """
    from gapbench.graphs import variants

    return [f"{ROOT}/{kind}/{v}" for kind in DATASET_KINDS for v in variants.of_config(config, kind)]


# ----------------------------------------------------------------------------------------------- writing
def versions() -> dict[str, str]:
    """Versions recorded in every dataset card."""
    from gapbench.outputs import versions as installed

    return installed("gapbench", "numpy", "torch", "torch_geometric")


def write_dataset(
    out: Path | str,
    splits: Mapping[str, Sequence],
    meta: dict,
    extra: Mapping[str, Callable[[Path], None]] | None = None,
) -> str:
    """Write ``splits`` and ``meta`` to ``out`` atomically; return ``out``.

    ``splits`` maps each split to a list of Data, or to the path of a file already in InMemoryDataset storage
    (copied as is).
    ``extra`` maps a file name to a function writing that file (e.g. the planted model). The directory is
    built in a private staging directory next to ``out`` (:func:`gapbench.outputs.staging_dir`), its files'
    digests recorded in the card (:data:`DIGESTS`), validated (:func:`check_dataset`), then renamed into place
    (an existing ``out`` is replaced only after the new one is complete). Returns the check's summary line.
    """
    from torch_geometric.data import InMemoryDataset

    from gapbench.outputs import replace_dir, staging_dir

    out = Path(out)
    staging = staging_dir(out)
    tmp = staging / "new"
    try:
        (tmp / "processed").mkdir(parents=True)
        sizes = {}
        for split in SPLITS:
            file = tmp / "processed" / f"{split}.pt"
            if isinstance(splits[split], (str, Path)):  # already InMemoryDataset storage (benchmarks)
                shutil.copyfile(splits[split], file)
                sizes[split] = len(_dataset_class()(tmp, split, meta))
            else:
                InMemoryDataset.save(list(splits[split]), str(file))
                sizes[split] = len(splits[split])
        for name, writer in (extra or {}).items():
            writer(tmp / name)
        meta = {"format": FORMAT, **meta, "sizes": sizes, "versions": versions(), DIGESTS: file_digests(tmp)}
        (tmp / META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        meta = validate(tmp)
        replace_dir(staging, out, "graph-dataset")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary(out, meta)


def file_digests(path: Path) -> dict[str, str]:
    """sha256 (16 hex digits) of every file of the dataset at ``path`` but its card and hidden files (Snakemake's
    ``.snakemake_timestamp``), by relative name."""
    from gapbench.train.resume import content_digest

    return {str(f.relative_to(path)): content_digest([f]) for f in sorted(path.rglob("*"))
            if f.is_file() and f.name != META and not f.name.startswith(".")}


def verify_digests(path: Path | str, meta: dict, names: Sequence[str] | None = None) -> None:
    """StoreError naming the dataset unless each file (``names``, default: all) has the digest recorded in its
    card at write (:data:`DIGESTS`); a card without digests was written by an older gapbench."""
    from gapbench.train.resume import content_digest

    path = Path(path)
    recorded = meta.get(DIGESTS)
    if not isinstance(recorded, dict):
        raise StoreError(f"{path}/{META}: no content digests (key {DIGESTS!r}; written by an older gapbench): "
                         "regenerate the dataset")
    if names is None:
        extra = sorted(set(file_digests(path)) - set(recorded))
        if extra:
            raise StoreError(f"{path}: files {', '.join(extra)} are not in the dataset card; regenerate the dataset")
    for name in sorted(recorded) if names is None else names:
        file = path / name
        if not file.is_file():
            raise StoreError(f"{path}: missing {name} (incomplete dataset)")
        if name not in recorded or content_digest([file]) != recorded[name]:
            raise StoreError(f"{path}: {name} differs from the content digest recorded when the dataset was "
                             "written (changed or damaged); regenerate the dataset")


# ----------------------------------------------------------------------------------------------- reading
def read_meta(path: Path | str) -> dict:
    """The dataset card ``meta.json``; StoreError if missing or not a gapbench graph dataset."""
    path = Path(path)
    if not path.is_dir():
        raise StoreError(f"{path}: not a graph dataset directory (missing)")
    try:
        meta = json.loads((path / META).read_text())
    except FileNotFoundError:
        raise StoreError(f"{path}: no {META} (incomplete or not a graph dataset)") from None
    except json.JSONDecodeError as err:
        raise StoreError(f"{path}/{META}: not valid JSON ({err})") from None
    if meta.get("format") != FORMAT:
        raise StoreError(f"{path}/{META}: format {meta.get('format')!r}, expected {FORMAT!r}")
    if meta.get("kind") not in DATASET_KINDS:
        raise StoreError(f"{path}/{META}: kind {meta.get('kind')!r}, expected one of {', '.join(DATASET_KINDS)}")
    return meta


def safe_load(path: Path | str) -> tuple[dict, dict, type]:
    """Read InMemoryDataset storage ``(data dict, slices, Data class)`` with ``torch.load(weights_only=True)``.

    Unpickling is restricted to tensors, plain containers and the classes PyG registers as safe globals, so a
    crafted file cannot run code: it is refused with a :class:`StoreError` (PyG's own loader would retry it
    with the full, code-running unpickler). The stored class must be ``torch_geometric.data.Data``.
    """
    import torch
    from torch_geometric.data import Data

    try:
        with open(path, "rb") as fh:
            out = torch.load(fh, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle.UnpicklingError for a forbidden global, others for a broken file
        reason = " ".join(str(err).split())[:200]
        raise StoreError(f"{path}: refused, not plain InMemoryDataset storage "
                         f"({type(err).__name__}: {reason})") from None
    if not (isinstance(out, tuple) and len(out) == 3 and isinstance(out[0], dict) and out[2] is Data):
        raise StoreError(f"{path}: not InMemoryDataset storage of torch_geometric Data (data dict, slices, Data)")
    return out


def _dataset_class():
    from torch_geometric.data import InMemoryDataset

    class GraphDataset(InMemoryDataset):
        """One split of a gapbench graph dataset (read-only; ``meta`` is the dataset card)."""

        def __init__(self, path: Path, split: str, meta: dict):
            super().__init__(root=None, log=False)
            self.path, self.split, self.meta = Path(path), split, meta
            self.load(str(self.path / "processed" / f"{split}.pt"))

        def load(self, path: str, data_cls=None) -> None:
            """PyG's ``InMemoryDataset.load`` without its fallback to the full unpickler (see :func:`safe_load`)."""
            data, self.slices, cls = safe_load(path)
            self.data = cls.from_dict(data)

        def __repr__(self) -> str:
            return f"GraphDataset({self.meta['kind']}/{self.meta['variant']}, {self.split}, {len(self)} graphs)"

    return GraphDataset


def load(path: Path | str, split: str):
    """Split ``split`` (train|valid|test) of the dataset at ``path``: a sequence of ``torch_geometric.data.Data``.

    The returned object is a PyG ``InMemoryDataset`` (indexable, iterable, usable with ``DataLoader``) with the
    dataset card as ``.meta``. Raises StoreError if the directory is missing or malformed, or the split's file
    differs from the digest its card recorded at write.
    """
    if split not in SPLITS:
        raise StoreError(f"split {split!r}: expected one of {', '.join(SPLITS)}")
    path = Path(path)
    meta = read_meta(path)
    file = path / "processed" / f"{split}.pt"
    if not file.is_file():
        raise StoreError(f"{path}: missing processed/{split}.pt (incomplete dataset)")
    verify_digests(path, meta, [f"processed/{split}.pt"])
    try:
        return _dataset_class()(path, split, meta)
    except Exception as err:  # a truncated or foreign file: say which and why
        raise StoreError(f"{file}: cannot be read as PyG InMemoryDataset storage ({type(err).__name__}: {err})") from None


# ----------------------------------------------------------------------------------------------- checking
def _check_fields(where: str, data, fields: dict[str, tuple[str, tuple]]) -> None:
    n, e = int(data.num_nodes), int(data.edge_index.shape[1])
    dims = {"N": n, "E": e, "P": e // 2}
    for name, (dtype, shape) in fields.items():
        value = getattr(data, name, None)
        if value is None:
            raise StoreError(f"{where}: field {name!r} is missing")
        if str(value.dtype).removeprefix("torch.") != dtype:
            raise StoreError(f"{where}: {name} has dtype {value.dtype}, expected {dtype}")
        want = tuple(dims.get(s, s) if isinstance(s, str) else s for s in shape)
        if value.dim() != len(want) or any(w is not None and w != g for w, g in zip(want, value.shape)):
            raise StoreError(f"{where}: {name} has shape {tuple(value.shape)}, expected {want} (None = any)")
        if value.is_floating_point() and not bool(value.isfinite().all()):
            raise StoreError(f"{where}: {name} has non-finite values")
    ei = data.edge_index
    if e and (int(ei.min()) < 0 or int(ei.max()) >= n):
        raise StoreError(f"{where}: edge_index refers to nodes outside 0..{n - 1}")


def _check_undirected_halves(where: str, data) -> None:
    ei = data.edge_index
    half = ei.shape[1] // 2
    if ei.shape[1] % 2 or not bool((ei[:, half:] == ei[:, :half].flip(0)).all()):
        raise StoreError(f"{where}: edge_index must be [pairs, reversed pairs] (both directions)")
    if hasattr(data, "pair_index") and not bool((data.pair_index == ei[:, :half]).all()):
        raise StoreError(f"{where}: pair_index differs from the first half of edge_index")


def check_dataset(path: Path | str) -> str:
    """Validate a graph dataset (the format's executable specification, :func:`validate`); a one-line summary."""
    return summary(Path(path), validate(path))


def summary(path: Path, meta: dict) -> str:
    sizes = "/".join(str(meta["sizes"][s]) for s in SPLITS)
    return f"{path}: ok ({meta['kind']}/{meta['variant']}, train/valid/test = {sizes} graphs, {meta['task']}, {meta['metric']})"


def validate(path: Path | str) -> dict:
    """Validate a graph dataset and return its card; raise StoreError with the reason when bad.

    Checks the card, every split's storage, every graph's fields (dtype, shape, index range, finiteness),
    label ranges, and recomputes the labels of the generated kinds from their stored inputs with each kind's
    ``verify_labels`` (:mod:`gapbench.graphs.kinds`): planted targets from the saved planted model (planted.py),
    MAP labels by DP (map_paths.py), Ising marginals by sum-product (ising.py), duplicate labels by counting
    (duplicates.py). Raises StoreError with the reason when bad.
    """
    path = Path(path)
    meta = read_meta(path)
    verify_digests(path, meta)
    kind = DATASET_KINDS[meta["kind"]]
    for key in ("variant", "params", "sizes", "task", "metric"):
        if key not in meta:
            raise StoreError(f"{path}/{META}: key {key!r} missing")
    splits = {}
    for split in SPLITS:
        ds = load(path, split)
        if len(ds) != meta["sizes"][split]:
            raise StoreError(f"{path}: {split} has {len(ds)} graphs, {META} says {meta['sizes'][split]}")
        graphs = splits[split] = [ds[i] for i in range(len(ds))]
        for i, graph in enumerate(graphs):
            where = f"{path} {split}[{i}]"
            _check_fields(where, graph, kind.fields)
            if kind.generated:
                _check_undirected_halves(where, graph)
        if not kind.generated:  # a downloaded benchmark: its published split sizes and label shapes
            from gapbench.graphs.benchmarks import check_split

            check_split(path, split, graphs, meta)
    if kind.generated:
        _recompute_labels(path, kind, meta, splits)
    return meta


def _recompute_labels(path: Path, kind, meta: dict, splits: dict) -> None:
    verify = resolve(kind.verify_labels)
    for split, graphs in splits.items():
        bad = verify(path, meta, graphs)
        if bad is not None:
            raise StoreError(f"{path} {split}[{bad[0]}]: stored labels differ from the recomputed ones ({bad[1]})")
