"""A graph dataset on the training device (`gapbench train graph`): per-graph tensors collated into mini-batches.

:func:`prepare` loads the three splits once per job (several models train on them one after the other).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gapbench.train.graph_tasks import MetricAccumulator, Task, loss_fn, task_for

EVALUATION_CACHE_ENTRIES = 1 << 22  # edge entries x copies of a split whose evaluation batches are kept


class GraphBatches:
    """A split held as per-graph tensors on the device, collated into mini-batches.

    Faster than ``torch_geometric.loader.DataLoader`` for many small graphs (no per-step Python collation of
    ``Data`` objects): :meth:`collate` concatenates one batch's graphs; :meth:`batches` gathers a whole epoch of
    batches at once from the split's tensors concatenated once (:class:`FlatSplit`, kept while the per-graph
    lists it came from are the current ones): a fixed number of torch calls per epoch, and two per batch. Node
    features: ``x`` (with ``pos`` appended when present, as benchmarking-gnns does for superpixels); targets
    ``y`` with ``label_mask`` for node tasks. The graph structure the layers need is derived once per graph here
    and concatenated per batch (graphs/structure.py; ``structure=False`` leaves it to every forward, as a
    reference for benchmarks/gnn_step.py).

    Evaluation reads a split in storage order (:meth:`evaluation_batches`): those batches are collated once per
    ``(batch_size, copies)`` and kept, with the structure their ``edge_index`` carries (derived on first use,
    then kept with them), while the split has at most :data:`EVALUATION_CACHE_ENTRIES` edge entries times
    ``copies`` (a few hundred MB at most); a larger split is collated on every call (all of it at once, see
    :meth:`batches`). Kept batches are read only (no model or metric edits its inputs in place). A shallow copy
    (``copy.copy``: :meth:`Prepared.node_features_only`, :meth:`Prepared.with_path_ids`) keeps none of them, and
    batches collated from other per-graph lists or another ``has_edge_attr`` than the current ones are never
    returned.
    """

    def __init__(self, dataset, task: Task, device, structure: bool = True):
        import torch

        from gapbench.graphs.structure import SplitStructure

        self.task, self.device = task, device
        self.x, self.ei, self.ea, self.y, self.mask, self.n = [], [], [], [], [], []
        self.path_index = []  # per-node path of the datasets that store one (MAP), for the path_ids feature
        for data in dataset:
            x = data.x
            if x is None:
                x = torch.ones(data.num_nodes, 1)
            if x.dim() == 1:
                x = x.unsqueeze(1)
            if getattr(data, "pos", None) is not None and x.dtype.is_floating_point:
                x = torch.cat([x, data.pos.to(x.dtype)], dim=1)
            self.x.append(x.to(device))
            self.ei.append(data.edge_index.to(device))
            ea = getattr(data, "edge_attr", None)
            self.ea.append(None if ea is None else ea.to(device))
            y = data.y
            if task.level == "graph" and y.dim() == 0:
                y = y.reshape(1)
            self.y.append(y.to(device))
            mask = getattr(data, "label_mask", None) if task.level == "node" else None
            self.mask.append(None if mask is None else mask.to(device))
            self.n.append(int(data.num_nodes))
            path = getattr(data, "path_index", None)
            self.path_index.append(None if path is None else path.to(device))
        self.has_edge_attr = all(a is not None for a in self.ea) and len(self.ea) > 0
        self.structure = SplitStructure(self.ei, self.n) if structure else None
        self._kept = None  # (batch_size, copies, the inputs they were collated from, the batches)
        self._flat = None  # the FlatSplit of the current per-graph lists (built on first use)

    def __copy__(self) -> "GraphBatches":
        """The same split without the kept evaluation batches (a copy may change its features)."""
        out = object.__new__(type(self))
        out.__dict__.update(self.__dict__)
        out._kept = None
        return out

    def __len__(self) -> int:
        return len(self.x)

    def collate(self, idx: list[int]):
        """``(x, edge_index, batch, edge_attr, num_graphs, y, mask)`` of the graphs ``idx`` (``edge_index`` carrying
        the batch's structure): one concatenation per field, the node offsets of the edges and the graph of each
        node expanded on the device from the graph sizes (sizes known on the host: no synchronisation)."""
        import torch

        from gapbench.graphs.structure import attach

        from gapbench.train.common import to_device

        sizes = [self.n[i] for i in idx]
        edges = [int(self.ei[i].shape[1]) for i in idx]
        first = [0]
        for n in sizes[:-1]:
            first.append(first[-1] + n)
        # sizes, first nodes and edge counts go to the device in one copy (pinned on CUDA: no synchronisation)
        host = to_device(torch.tensor([sizes, first, edges], dtype=torch.long), self.device)
        x = torch.cat([self.x[i] for i in idx])
        ei = torch.cat([self.ei[i] for i in idx], dim=1)
        ei = ei + torch.repeat_interleave(host[1], host[2], output_size=sum(edges))  # each graph's node offset
        if self.structure is not None:
            ei = attach(ei, self.structure.batch(idx, ei))
        batch = torch.repeat_interleave(torch.arange(len(idx), device=self.device), host[0], output_size=sum(sizes))
        ea = torch.cat([self.ea[i] for i in idx]) if self.has_edge_attr else None
        y = torch.cat([self.y[i] for i in idx])
        mask = None
        if self.task.level == "node":
            masks = [self.mask[i] if self.mask[i] is not None else torch.ones(self.n[i], dtype=torch.bool,
                                                                              device=self.device) for i in idx]
            mask = torch.cat(masks)
        return x, ei, batch, ea, len(idx), y, mask

    def batches(self, batch_size: int, generator=None, start: int = 0, copies: int = 1):
        """Mini-batches in the order drawn from ``generator`` (in storage order without), from batch ``start``;
        each collated ``copies`` times in a row (an ensemble of that many members, gapbench.models.ensemble).

        Batch ``k`` is exactly ``collate(order[k * batch_size:(k + 1) * batch_size] * copies)``: the same values,
        dtypes, shapes, strides and device, its ``edge_index`` carrying the same structure (derived on first use).
        But the epoch is gathered at once, when its first batch is asked for: index arrays computed on the host
        and copied to the device at once (pinned on CUDA: no synchronisation), one gather per field for all the
        batches, each batch then views of those epoch tensors (its ``edge_index`` a contiguous copy of its
        columns): a fixed number of torch calls per epoch and two per batch. Memory: the epoch's tensors are one
        copy of its graphs (the split from batch ``start`` on) times ``copies``, held while any of its batches
        is."""
        import torch

        from gapbench.graphs.structure import attach, segment_ranges
        from gapbench.train.common import to_device

        order = (torch.randperm(len(self), generator=generator).tolist() if generator is not None
                 else list(range(len(self))))
        order = np.asarray(order[start * batch_size:], dtype=np.int64)
        if not len(order):
            return
        flat = self._flat_split()
        # the batches' graph lists in a row (each ``copies`` times) and each graph's position in its batch
        firsts = np.arange(0, len(order), batch_size)
        sizes = np.minimum(len(order) - firsts, batch_size)
        lengths = sizes * copies
        graph_starts = np.cumsum(lengths) - lengths
        pos = np.arange(int(lengths.sum())) - np.repeat(graph_starts, lengths)
        graphs = order[np.repeat(firsts, lengths) + pos % np.repeat(sizes, lengths)]
        nodes, n_nodes, node_starts = segment_ranges(flat.node_ptr, graphs)
        entries, n_entries, _ = segment_ranges(flat.entry_ptr, graphs)
        rows, n_rows, _ = segment_ranges(flat.y_ptr, graphs)
        # each entry's node offset: the nodes of the graphs before its own in its batch
        shift = np.repeat(node_starts - np.repeat(node_starts[graph_starts], lengths), n_entries)
        # last: the edges' ends in ``flat.ei`` flattened (sources, then targets), gathered as one
        parts = [nodes, rows, shift, np.repeat(pos, n_nodes), entries, entries + flat.ei.shape[1]]
        host = to_device(torch.from_numpy(np.concatenate(parts)), self.device)
        nodes, rows, shift, batch, entries, _ = torch.split(host, [len(p) for p in parts])
        ends = host[len(host) - 2 * len(shift):]
        n_b, e_b, r_b = (np.add.reduceat(n, graph_starts).tolist() for n in (n_nodes, n_entries, n_rows))
        xs, ys = flat.x.index_select(0, nodes).split(n_b), flat.y.index_select(0, rows).split(r_b)
        graph_of = batch.split(n_b)
        eis = (flat.ei.reshape(-1).index_select(0, ends).view(2, -1) + shift).split(e_b, dim=1)
        eas = flat.ea.index_select(0, entries).split(e_b) if self.has_edge_attr else [None] * len(e_b)
        masks = flat.mask.index_select(0, nodes).split(n_b) if flat.mask is not None else [None] * len(n_b)
        for k, (g0, g) in enumerate(zip(graph_starts.tolist(), lengths.tolist())):
            edge_index = eis[k].contiguous()  # [2, E_b] laid out as collate's
            if self.structure is not None:
                edge_index = attach(edge_index, self.structure.batch(graphs[g0:g0 + g], edge_index))
            yield xs[k], edge_index, graph_of[k], eas[k], g, ys[k], masks[k]

    def _flat_split(self) -> "FlatSplit":
        """The split's tensors concatenated once, built again when a per-graph list is replaced (a copy's own
        features: :meth:`Prepared.with_path_ids`); not when a listed tensor is edited in place."""
        inputs = self._inputs()[:6]  # the per-graph lists
        if self._flat is None or not all(a is b for a, b in zip(self._flat.inputs, inputs)):
            self._flat = FlatSplit.of(self, inputs)
        return self._flat

    def _inputs(self) -> tuple:
        """What collation reads: the per-graph lists (by identity), the structure and ``has_edge_attr``."""
        return self.x, self.ei, self.ea, self.y, self.mask, self.n, self.structure, self.has_edge_attr

    def evaluation_batches(self, batch_size: int, copies: int = 1):
        """The batches of ``batches(batch_size, copies=copies)`` (storage order), equal tensor for tensor: kept
        from the first call while the split is small enough (see the class docstring), so that later calls
        return the same tensors and the structure they carry is derived once. Read only."""
        kept = self._kept
        if kept is not None and kept[:2] == (batch_size, copies) and all(
                a is b for a, b in zip(kept[2], self._inputs())):
            return kept[3]
        if sum(int(e.shape[1]) for e in self.ei) * copies > EVALUATION_CACHE_ENTRIES:
            return self.batches(batch_size, copies=copies)
        batches = list(self.batches(batch_size, copies=copies))
        self._kept = (batch_size, copies, self._inputs(), batches)
        return batches

    def feature_info(self) -> dict:
        """Model input description: float width, or categorical column sizes (max over this split + 1)."""
        x0 = self.x[0]
        info: dict = {}
        if x0.dtype.is_floating_point:
            info["in_dim"] = int(x0.shape[1])
        else:
            cols = int(x0.shape[1])
            info["in_dim"] = cols
            info["node_categories"] = [int(max(int(x[:, c].max()) for x in self.x)) + 1 for c in range(cols)]
        if self.has_edge_attr:
            a0 = self.ea[0] if self.ea[0].dim() > 1 else self.ea[0].unsqueeze(1)
            info["edge_dim"] = int(a0.shape[1])
            if not a0.dtype.is_floating_point:
                info["edge_categories"] = [
                    int(max(int((a if a.dim() > 1 else a.unsqueeze(1))[:, c].max()) for a in self.ea if a.numel()))
                    + 1 for c in range(int(a0.shape[1]))]
        return info


@dataclass
class FlatSplit:
    """A split's per-graph tensors concatenated along their first dimension (``ei``, the ``edge_index`` with node
    indices local to each graph, along its second), with each graph's segment boundaries: ``node_ptr`` (rows of
    ``x`` and ``mask``), ``entry_ptr`` (columns of ``ei``, rows of ``ea``), ``y_ptr`` (rows of ``y``). ``ea`` is
    None unless every graph has edge features (whether a batch shows them is ``has_edge_attr``'s, so a copy
    hiding them shares these tensors); ``mask`` (node tasks: all True for a graph without one) None for graph
    tasks. ``inputs``: the per-graph lists it was built from. Memory: one more copy of the split."""

    inputs: tuple
    node_ptr: np.ndarray
    entry_ptr: np.ndarray
    y_ptr: np.ndarray
    x: object
    ei: object
    ea: object
    y: object
    mask: object

    @classmethod
    def of(cls, data: GraphBatches, inputs: tuple) -> "FlatSplit":
        import torch

        ptr = lambda sizes: np.cumsum([0, *sizes], dtype=np.int64)  # noqa: E731
        mask = None
        if data.task.level == "node":
            mask = torch.cat([m if m is not None else torch.ones(n, dtype=torch.bool, device=data.device)
                              for m, n in zip(data.mask, data.n)])
        ea = torch.cat(data.ea) if all(a is not None for a in data.ea) else None
        return cls(inputs, ptr(data.n), ptr(int(e.shape[1]) for e in data.ei), ptr(int(y.shape[0]) for y in data.y),
                   torch.cat(data.x), torch.cat(data.ei, dim=1), ea, torch.cat(data.y), mask)


def merge_feature_info(*infos: dict) -> dict:
    """Categorical sizes must cover every split: take the column-wise maximum."""
    out = dict(infos[0])
    for key in ("node_categories", "edge_categories"):
        if key in out:
            out[key] = [max(col) for col in zip(*(i[key] for i in infos if key in i))]
    return out


@dataclass
class Prepared:
    """A dataset loaded once for several runs of the same job: card, task, batches per split, input info."""

    meta: dict
    task: Task
    data: dict
    info: dict
    device: object

    def node_features_only(self) -> "Prepared":
        """The same splits with the edge features hidden from the models (``edge_attr`` never passed)."""
        import copy

        data = {}
        for split, batches in self.data.items():
            data[split] = copy.copy(batches)
            data[split].has_edge_attr = False
        info = {k: v for k, v in self.info.items() if k not in ("edge_dim", "edge_categories")}
        return Prepared(self.meta, self.task, data, info, self.device)


    def with_path_ids(self) -> "Prepared":
        """The same splits with each node's path identity appended to its features: ``x_v <- [x_v, e_p]``,
        ``e_p`` the one-hot of the node's stored ``path_index`` (``p = -1``, the hub: zeros). StoreError unless
        the dataset stores a path index for every graph and its features are floats."""
        import copy

        import torch

        from gapbench.errors import StoreError

        splits = self.data.values()
        if any(p is None for b in splits for p in b.path_index) or not all(b.x[0].is_floating_point() for b in splits):
            raise StoreError(f"{self.meta.get('kind')}/{self.meta.get('variant')}: --path-ids needs float node "
                             "features and a stored path_index per node (MAP datasets)")
        width = 1 + max(int(p.max()) for b in splits for p in b.path_index)
        data = {}
        for split, batches in self.data.items():
            data[split] = copy.copy(batches)
            data[split].x = [torch.cat([x, torch.nn.functional.one_hot(p.clamp(min=0), width).to(x.dtype)
                                        * (p >= 0).unsqueeze(1).to(x.dtype)], dim=1)
                             for x, p in zip(batches.x, batches.path_index)]
        info = {**self.info, "in_dim": self.info["in_dim"] + width}
        return Prepared(self.meta, self.task, data, info, self.device)


def prepare(data_path: Path, device_name: str = "auto") -> Prepared:
    """Load the three splits of a dataset onto the device (:func:`gapbench.graphs.storage.read_split`: no PyG
    import)."""
    from gapbench.graphs.storage import read_split
    from gapbench.train import common

    device = common.select_device(device_name)
    read = {s: read_split(data_path, s) for s in ("train", "valid", "test")}
    meta, splits = read["train"][0], {s: graphs for s, (_, graphs) in read.items()}
    task = task_for(meta, splits["train"])
    data = {s: GraphBatches(ds, task, device) for s, ds in splits.items()}
    info = merge_feature_info(*(d.feature_info() for d in data.values()))
    return Prepared(meta, task, data, info, device)


def evaluate(model, data: GraphBatches, task: Task, batch_size: int) -> float:
    """The task metric of ``model`` over a whole split (eval mode, no gradients; the training mode is restored)."""
    import torch

    acc = MetricAccumulator(task)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for x, ei, batch, ea, ng, y, mask in data.evaluation_batches(batch_size):
            acc.add(model(x, ei, batch, ea, ng), y, mask)
    model.train(was_training)
    return acc.value()


def evaluate_loss(model, data: GraphBatches, task: Task, batch_size: int) -> float:
    """The training loss of ``model`` over a whole split, weighted by graphs per batch (eval mode, no gradients):
    the validation loss the plateau schedule watches (benchmarking-gnns, LRGB)."""
    import torch

    total, count = 0.0, 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for x, ei, batch, ea, ng, y, mask in data.evaluation_batches(batch_size):
            total += float(loss_fn(task, model(x, ei, batch, ea, ng), y, mask)) * ng
            count += ng
    model.train(was_training)
    return total / count if count else float("nan")


def node_correct(model, data: GraphBatches, task: Task, batch_size: int) -> list:
    """Per graph of a node-classification split (storage order): whether each node's prediction is its label
    (``[N_g]`` bool numpy arrays; unlabelled nodes False)."""
    import torch

    out = []
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for first in range(0, len(data), batch_size):
            idx = list(range(first, min(first + batch_size, len(data))))
            x, ei, batch, ea, ng, y, mask = data.collate(idx)
            logits = model(x, ei, batch, ea, ng)
            right = ((logits.argmax(1) if task.loss == "ce" else (logits[:, 0] > 0).long()) == y.long()) & mask
            out += [r.cpu().numpy() for r in torch.split(right, [data.n[i] for i in idx])]
    model.train(was_training)
    return out
