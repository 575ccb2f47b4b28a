"""A training epoch gathered at once (gapbench.train.graph_batches.GraphBatches.batches): every batch exactly
what collating its graphs alone gives (``collate``), structure included, for node and graph tasks, edge
features shown or hidden, label masks, path ids, ensemble copies, resumed epochs and partial batches."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch

from gapbench.graphs import ising, map_paths
from gapbench.graphs import structure as S
from gapbench.graphs.storage import StoredGraph
from gapbench.train import graph_batches as GB
from gapbench.train.graph_tasks import Task, task_for

torch.set_num_threads(1)


def node_split(made, **kw) -> GB.Prepared:
    splits, meta = made
    task = task_for(meta, splits["train"])
    data = GB.GraphBatches(splits["train"], task, "cpu", **kw)
    return GB.Prepared(meta, task, {"train": data}, data.feature_info(), "cpu")


def ising_masked():
    """Node task without edge features; some graphs without a label mask (all nodes scored)."""
    data = node_split(ising.make(ising.IsingParams("path", 30, split=(0.8, 0.1, 0.1)))).data["train"]
    gen = torch.Generator().manual_seed(1)
    data.mask = [torch.rand(n, generator=gen) > 0.3 if i % 3 else None for i, n in enumerate(data.n)]
    return data


def map_split(n_graphs=30, **kw) -> GB.Prepared:
    return node_split(map_paths.make(map_paths.MapParams(16, n_graphs, 0.1, (0.8, 0.1, 0.1))), **kw)


def graph_level(categorical: bool):
    """Graph task: categorical node and edge features (``y`` one class per graph), or float features with
    ``pos`` appended (``y`` a row of 2 targets); graphs of 1 to 7 nodes, some without edges."""
    gen = torch.Generator().manual_seed(2)
    graphs = []
    for i in range(23):
        n = 1 + i % 7
        pairs = [(u, v) for u in range(n) for v in range(u + 1, n) if torch.rand(1, generator=gen) < 0.5]
        ei = torch.tensor([p for u, v in pairs for p in ((u, v), (v, u))], dtype=torch.long).reshape(-1, 2).t()
        if categorical:
            graphs.append(StoredGraph(x=torch.randint(0, 5, (n, 2), generator=gen), edge_index=ei,
                                      edge_attr=torch.randint(0, 3, (ei.shape[1],), generator=gen),
                                      y=torch.tensor(i % 3), num_nodes=n))
        else:
            graphs.append(StoredGraph(x=torch.randn(n, 3, generator=gen), pos=torch.randn(n, 2, generator=gen),
                                      edge_index=ei, edge_attr=torch.randn(ei.shape[1], 4, generator=gen),
                                      y=torch.randn(1, 2, generator=gen), num_nodes=n))
    task = Task("graph", "ce", "accuracy", 3) if categorical else Task("graph", "mse", "mse", 2)
    return GB.GraphBatches(graphs, task, "cpu")


SPLITS = {
    "ising_masked": ising_masked,
    "map_edge_attr": lambda: map_split().data["train"],
    "map_hidden_edges": lambda: map_split().node_features_only().data["train"],
    "map_path_ids": lambda: map_split().with_path_ids().data["train"],
    "graph_categorical": lambda: graph_level(True),
    "graph_float_pos": lambda: graph_level(False),
    "smaller_than_a_batch": lambda: map_split(6).data["train"],
    "no_structure": lambda: map_split(structure=False).data["train"],
}


def assert_batch_equal(a, b):
    assert len(a) == len(b) == 7 and a[4] == b[4]
    for u, v in zip(a[:4] + a[5:], b[:4] + b[5:]):
        assert (u is None) == (v is None)
        if u is not None:
            assert (u.dtype, u.shape, u.stride(), u.device) == (v.dtype, v.shape, v.stride(), v.device)
            assert torch.equal(u, v)
    sa, sb = S.attached(a[1], a[0].shape[0]), S.attached(b[1], b[0].shape[0])
    assert (sa is None) == (sb is None)
    if sa is None:
        return
    ua, ub = sa.undirected, sb.undirected
    assert ua.num_nodes == ub.num_nodes
    for name in ("edges", "entry_to_edge"):
        assert torch.equal(getattr(ua, name), getattr(ub, name))
    for field in dataclasses.fields(ua.index):
        u, v = getattr(ua.index, field.name), getattr(ub.index, field.name)
        assert (u == v) if not isinstance(u, torch.Tensor) else (u.dtype == v.dtype and torch.equal(u, v))
    da, db = sa.directed, sb.directed
    assert (da is None) == (db is None)
    if da is not None:
        assert torch.equal(da.edges, db.edges) and torch.equal(da.rev, db.rev)


@pytest.mark.parametrize("name", list(SPLITS))
@pytest.mark.parametrize("copies,start", [(1, 0), (3, 0), (1, 2), (3, 1)])
def test_every_batch_of_an_epoch_equals_collating_it_alone(name, copies, start):
    data, batch_size = SPLITS[name](), 8
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(5)).tolist()
    expected = [order[f:f + batch_size] * copies for f in range(start * batch_size, len(order), batch_size)]
    got = list(data.batches(batch_size, torch.Generator().manual_seed(5), start=start, copies=copies))
    assert len(got) == len(expected) and (len(got) > 1 or start > 0 or len(data) < batch_size)
    for batch, idx in zip(got, expected):
        assert_batch_equal(batch, data.collate(idx))
        assert (S.attached(batch[1], batch[0].shape[0]) is None) == (data.structure is None)
    # storage order (evaluation), the last batch partial
    for batch, first in zip(data.batches(5, copies=copies), range(0, len(data), 5)):
        assert_batch_equal(batch, data.collate(list(range(first, min(first + 5, len(data)))) * copies))


def test_a_resumed_epoch_past_its_last_batch_is_empty():
    data = ising_masked()
    assert list(data.batches(8, torch.Generator().manual_seed(0), start=(len(data) + 7) // 8)) == []


def test_the_flat_split_follows_replaced_lists_and_is_shared_by_copies_hiding_edges():
    prepared = map_split()
    data = prepared.data["train"]
    next(data.batches(4))
    flat = data._flat
    hidden = prepared.node_features_only().data["train"]
    assert all(b[3] is None for b in hidden.batches(4)) and hidden._flat is flat  # the same tensors, shown less
    with_ids = prepared.with_path_ids().data["train"]
    batch = next(with_ids.batches(4))
    assert with_ids._flat is not flat and batch[0].shape[1] > flat.x.shape[1]
    assert_batch_equal(batch, with_ids.collate([0, 1, 2, 3]))
    data.y = [y + 1 for y in data.y]  # a replaced list on the object itself: gathered from the new tensors
    assert_batch_equal(next(data.batches(4)), data.collate([0, 1, 2, 3]))
    assert data._flat is not flat
    assert copy.copy(data)._flat is data._flat
