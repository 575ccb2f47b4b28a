"""Evaluation batches of a split collated once (gapbench.train.graph_batches.GraphBatches.evaluation_batches):
the same tensors and metrics as collating on every call, the structure derived once, copies and changed
inputs never served another split's batches."""

from __future__ import annotations

import copy

import pytest
import torch

from gapbench.graphs import structure as S
from gapbench.models import ensemble as E
from gapbench.models.gnn import build_model
from gapbench.train import graph_batches as GB
from gapbench.train.ensemble import evaluate_members

torch.set_num_threads(1)


@pytest.fixture()
def split():
    from gapbench.graphs import planted
    from gapbench.train.graph_tasks import task_for

    splits, meta, _ = planted.make(planted.PlantedStarParams(leaves=6, depth=2, n_graphs=40))
    task = task_for(meta, splits["train"])
    data = GB.GraphBatches(splits["valid"] + splits["train"], task, "cpu")
    gen = torch.Generator().manual_seed(3)
    data.ea = [torch.randn(ei.shape[1], 2, generator=gen) for ei in data.ei]
    data.has_edge_attr = True
    return task, data


def model(task, data, seed=0, **kw):
    torch.manual_seed(seed)
    return build_model("edge_gcn", data.feature_info()["in_dim"], task.out_dim, depth=2, width=8, level=task.level,
                       **kw)


def assert_same_batches(kept, fresh):
    assert len(kept) == len(fresh) > 1
    for a, b in zip(kept, fresh):
        assert a[4] == b[4]
        for u, v in zip(a[:4] + a[5:], b[:4] + b[5:]):
            assert (u is None and v is None) or (u.dtype == v.dtype and torch.equal(u, v))
        for part in ("undirected", "directed"):
            ga, gb = getattr(S.attached(a[1], a[0].shape[0]), part), getattr(S.attached(b[1], b[0].shape[0]), part)
            assert torch.equal(ga.edges, gb.edges)


@pytest.mark.parametrize("copies", [1, 3])
def test_kept_batches_equal_fresh_ones_and_are_reused(split, copies):
    task, data = split
    kept = data.evaluation_batches(8, copies)
    assert_same_batches(kept, list(data.batches(8, copies=copies)))
    again = data.evaluation_batches(8, copies)
    assert all(a[1] is b[1] for a, b in zip(kept, again))  # the same tensors, with their structure
    assert data.evaluation_batches(8, 1 if copies == 3 else 3)[0][4] != kept[0][4]  # other copies: other batches


def test_cached_evaluation_equals_uncached_bitwise(split, monkeypatch):
    task, data = split
    single = model(task, data, edge_dim=2)
    members = E.stack([model(task, data, seed=s, edge_dim=2) for s in range(3)])
    cached = [GB.evaluate(single, data, task, 8), GB.evaluate_loss(single, data, task, 8),
              evaluate_members(members, data, task, 8), evaluate_members(members, data, task, 8, loss=True)]
    cached_again = [GB.evaluate(single, data, task, 8), evaluate_members(members, data, task, 8)]
    monkeypatch.setattr(GB, "EVALUATION_CACHE_ENTRIES", 0)
    fresh = copy.copy(data)
    uncached = [GB.evaluate(single, fresh, task, 8), GB.evaluate_loss(single, fresh, task, 8),
                evaluate_members(members, fresh, task, 8), evaluate_members(members, fresh, task, 8, loss=True)]
    assert fresh._kept is None  # above the budget: nothing kept
    assert cached == uncached and cached_again == [uncached[0], uncached[2]]


def test_structure_is_derived_once(split, monkeypatch):
    task, data = split
    calls = []
    real = S.SplitStructure.batch
    monkeypatch.setattr(S.SplitStructure, "batch", lambda self, idx, ei: (calls.append(1), real(self, idx, ei))[1])
    net = model(task, data, edge_dim=2)
    first = GB.evaluate(net, data, task, 8)
    n_batches = len(calls)
    assert n_batches == len(data.evaluation_batches(8)) and GB.evaluate(net, data, task, 8) == first
    assert len(calls) == n_batches


def test_a_copy_with_hidden_edge_features_or_new_node_features_collates_its_own(split):
    task, data = split
    with_edges = data.evaluation_batches(8)
    assert all(b[3] is not None for b in with_edges)
    hidden = copy.copy(data)
    hidden.has_edge_attr = False
    assert all(b[3] is None for b in hidden.evaluation_batches(8))
    assert data.evaluation_batches(8) is with_edges  # the original keeps its own
    wider = copy.copy(data)
    wider.x = [torch.cat([x, torch.ones(x.shape[0], 1)], 1) for x in data.x]
    assert all(b[0].shape[1] == with_edges[0][0].shape[1] + 1 for b in wider.evaluation_batches(8))
    data.has_edge_attr = False  # changed in place on the object itself: not served the kept batches either
    assert all(b[3] is None for b in data.evaluation_batches(8))


def test_prepared_copies_do_not_share_kept_batches(split):
    task, data = split
    info = GB.merge_feature_info(data.feature_info())
    prepared = GB.Prepared({}, task, {"valid": data}, info, "cpu")
    data.evaluation_batches(8)
    assert prepared.node_features_only().data["valid"]._kept is None
