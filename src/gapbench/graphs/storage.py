"""A split of a graph dataset read as plain per-graph tensors, without importing PyG (training start-up).

A split file ``processed/{split}.pt`` is PyG ``InMemoryDataset`` storage, ``(data, slices, Data)``: each
attribute of all graphs concatenated (``data[key]``), graph ``g``'s part being ``slices[key][g]`` to
``slices[key][g + 1]`` along the concatenation dimension - the last for keys naming an index (``"index"`` in the
name, as PyG's ``Data.__cat_dim__``), the first otherwise; index attributes are stored per graph (PyG saves
them not incremented). :func:`read_split` loads it with ``torch.load(weights_only=True)``, PyG's ``Data`` class
name bound to a stand-in (or to PyG's class where PyG is already imported: it registers it as safe), and
cuts it into :class:`StoredGraph` objects, so `gapbench train graph` never imports
``torch_geometric`` (about 2 s of CPU per process, most of it ``torch._dynamo``). A file it cannot cut (a
graph without node features ``x``, an attribute that is not a tensor) is read by PyG instead
(:func:`gapbench.graphs.data.load`): the result is the same graphs either way (tests compare the two).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

PYG_DATA = "torch_geometric.data.data.Data"  # the class name InMemoryDataset storage records


class _StandIn:
    """Bound to :data:`PYG_DATA` while unpickling; never instantiated."""


class StoredGraph(SimpleNamespace):
    """One graph's attributes (``x``, ``edge_index``, ``y``, ...; absent ones read as None) and ``num_nodes``."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return None


def _cut(data: dict, slices: dict | None) -> list[StoredGraph] | None:
    import torch

    if "x" not in data or not all(isinstance(v, torch.Tensor) for v in data.values()):
        return None
    if slices is None:  # a split of one graph is stored without slices
        return [StoredGraph(**data, num_nodes=int(data["x"].shape[0]))]
    if not isinstance(slices, dict) or set(slices) != set(data):
        return None
    n_graphs = len(slices["x"]) - 1
    bounds = {k: s.tolist() for k, s in slices.items()}
    graphs = []
    for g in range(n_graphs):
        attrs = {}
        for key, value in data.items():
            start, end = bounds[key][g], bounds[key][g + 1]
            dim = value.dim() - 1 if "index" in key else 0
            attrs[key] = value.narrow(dim, start, end - start)
        graphs.append(StoredGraph(**attrs, num_nodes=int(attrs["x"].shape[0])))
    return graphs


def read_split(path: Path | str, split: str) -> tuple[dict, list]:
    """``(dataset card, graphs)`` of split ``split`` of the dataset at ``path`` (StoreError when malformed)."""
    import torch

    from gapbench.graphs.data import SPLITS, StoreError, load, read_meta, verify_digests

    if split not in SPLITS:
        raise StoreError(f"split {split!r}: expected one of {', '.join(SPLITS)}")
    meta = read_meta(path)
    file = Path(path) / "processed" / f"{split}.pt"
    verify_digests(path, meta, [f"processed/{split}.pt"])  # the content recorded at write, or a one-line refusal
    try:
        with torch.serialization.safe_globals([(_StandIn, PYG_DATA)]), open(file, "rb") as fh:
            stored = torch.load(fh, map_location="cpu", weights_only=True)
    except Exception:  # another layout or a refused global: PyG's reader says what is wrong
        stored = None
    if (isinstance(stored, tuple) and len(stored) == 3 and isinstance(stored[0], dict)
            and (stored[2] is _StandIn or f"{stored[2].__module__}.{stored[2].__qualname__}" == PYG_DATA)):
        graphs = _cut(stored[0], stored[1])
        if graphs is not None:
            return meta, graphs
    return meta, list(load(path, split))
