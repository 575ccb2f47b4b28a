"""Graph structure built once per graph and concatenated per batch equals the structure of the whole batch, and
the models give the same outputs and gradients with it as when they derive it themselves."""

from __future__ import annotations

import pytest
import torch

from gapbench.models.ops import GraphInputError
from gapbench.graphs.structure import (
    SplitStructure,
    _derive_undirected,
    attach,
    attached,
    directed_graph,
    graph_structure,
    undirected_graph,
)
from gapbench.models.gnn import build_model
from gapbench.registry import GRAPH_MODELS


def random_graph(gen: torch.Generator, n: int, both_directions: bool = True, extras: bool = False):
    """A random graph on n nodes (some isolated); ``extras`` adds a repeated entry and a self-loop."""
    pairs = {(int(a), int(b)) for a, b in torch.randint(0, n, (2 * n, 2), generator=gen).tolist() if a != b}
    pairs = sorted({(min(a, b), max(a, b)) for a, b in pairs})
    ei = torch.tensor(pairs, dtype=torch.long).reshape(-1, 2).T
    if both_directions:
        ei = torch.cat([ei, ei.flip(0)], dim=1)
    if extras and ei.shape[1]:
        ei = torch.cat([ei, ei[:, :1], torch.tensor([[0], [0]])], dim=1)
    return ei


def batch_of(graphs):
    sizes = [n for n, _ in graphs]
    starts = torch.tensor([sum(sizes[:k]) for k in range(len(sizes))])
    ei = torch.cat([e + starts[k] for k, (_, e) in enumerate(graphs)], dim=1)
    return sum(sizes), ei


@pytest.mark.parametrize("extras", [False, True])
def test_collated_structure_equals_the_whole_batch_derived_at_once(extras):
    gen = torch.Generator().manual_seed(0)
    pool = [(n, random_graph(gen, n, extras=extras)) for n in (5, 1, 9, 2, 7, 12, 4)]
    split = SplitStructure([e for _, e in pool], [n for n, _ in pool])
    order = [5, 0, 3, 1, 6, 2]  # a mini-batch in shuffled order, one graph left out
    graphs = [pool[i] for i in order]
    N, ei = batch_of(graphs)
    got = split.batch(order, ei)
    ref = _derive_undirected(ei, N)
    g = got.undirected
    assert torch.equal(g.edges, ref.edges) and torch.equal(g.entry_to_edge, ref.entry_to_edge)
    for field in ("src", "dst", "deg", "count", "inv_count"):
        assert torch.equal(getattr(g.index, field), getattr(ref.index, field)), field
    assert g.index.group is None and ref.index.group is None  # repeats are merged before the line graph
    if extras:  # a self-loop has no reverse message: no directed form, the directed models raise themselves
        assert got.directed is None
        with pytest.raises(GraphInputError):
            directed_graph(attach(ei, got), N)
    else:
        from gapbench.models.ops import reverse_edges

        assert torch.equal(got.directed.rev, reverse_edges(ei, N))


@pytest.mark.parametrize("name", list(GRAPH_MODELS))
@pytest.mark.parametrize("level", ["node", "graph"])
def test_models_match_with_and_without_the_precomputed_structure(name, level):
    gen = torch.Generator().manual_seed(1)
    graphs = [(n, random_graph(gen, n)) for n in (6, 3, 10, 1, 8)]
    N, ei = batch_of(graphs)
    x = torch.randn(N, 3, generator=gen)
    batch = torch.repeat_interleave(torch.arange(len(graphs)), torch.tensor([n for n, _ in graphs]))
    torch.manual_seed(0)
    model = build_model(name, 3, 2, depth=2, width=8, level=level)
    plain = ei.clone()
    with_structure = attach(ei, SplitStructure([e for _, e in graphs], [n for n, _ in graphs]).batch(range(5), ei))
    assert attached(plain, N) is None and attached(with_structure, N) is not None
    out_plain = model(x, plain, batch, None, len(graphs))
    grads_plain = torch.autograd.grad(out_plain.square().sum(), list(model.parameters()), allow_unused=True)
    out = model(x, with_structure, batch, None, len(graphs))
    grads = torch.autograd.grad(out.square().sum(), list(model.parameters()), allow_unused=True)
    assert torch.equal(out, out_plain)
    assert all((a is None and b is None) or torch.equal(a, b) for a, b in zip(grads, grads_plain))


def test_a_structure_is_used_only_for_the_tensor_and_size_it_was_built_for():
    gen = torch.Generator().manual_seed(2)
    n, ei = 7, random_graph(gen, 7)
    attach(ei, graph_structure(ei, n))
    assert undirected_graph(ei, n) is attached(ei, n).undirected
    assert attached(ei, n + 1) is None and attached(ei.clone(), n) is None and attached(ei[:, :-1], n) is None


def test_graph_batches_collate_the_structure_and_train_the_same(tmp_path):
    from gapbench.cli import main
    from gapbench.graphs.data import load
    from gapbench.train.graph_batches import GraphBatches
    from gapbench.train.graph_tasks import loss_fn, task_for

    out = tmp_path / "ising"
    assert main(["graphs", "make", "ising", "--tree", "pruefer", "--n-nodes", "12", "--n-graphs", "20",
                 "--out", str(out)]) == 0
    split = load(out, "train")
    task = task_for(split.meta, split)
    with_s, without = GraphBatches(split, task, "cpu"), GraphBatches(split, task, "cpu", structure=False)
    for name in ("node_gcn", "edge_gcn_directed"):
        torch.manual_seed(0)
        model = build_model(name, 1, 1, depth=2, width=8)
        for idx in ([0, 3, 5], list(range(len(split)))):
            a, b = with_s.collate(idx), without.collate(idx)
            assert attached(a[1], a[0].shape[0]) is not None and attached(b[1], b[0].shape[0]) is None
            la = loss_fn(task, model(*a[:5]), a[5], a[6])
            lb = loss_fn(task, model(*b[:5]), b[5], b[6])
            assert torch.equal(la, lb)


@pytest.mark.gpu
def test_layers_do_not_synchronise_with_the_host_on_cuda():
    from gapbench.models.gnn import EdgeGCNDirectedLayer, EdgeGCNLayer, NodeGCNDirectedLayer, NodeGCNLayer

    gen = torch.Generator().manual_seed(3)
    graphs = [(n, random_graph(gen, n)) for n in (6, 3, 10, 8)]
    N, ei = batch_of(graphs)
    split = SplitStructure([e.cuda() for _, e in graphs], [n for n, _ in graphs])
    s = split.batch([0, 1, 2, 3], ei.cuda())
    s.undirected, s.directed  # built before the check: their index arrays come from the host
    h_node = torch.randn(N, 8, device="cuda")
    h_und = torch.randn(s.undirected.edges.shape[1], 8, device="cuda")
    h_dir = torch.randn(ei.shape[1], 8, device="cuda")
    layers = [(NodeGCNLayer(8), h_node, s.undirected), (EdgeGCNLayer(8), h_und, s.undirected),
              (EdgeGCNDirectedLayer(8), h_dir, s.directed), (NodeGCNDirectedLayer(8), h_node, s.directed)]
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for layer, h, graph in layers:
            layer.cuda()(h, graph).sum()
        layer.cuda()(h_node, split.batch([3, 1, 2, 0], ei.cuda()).undirected).sum()  # nor a fresh batch
    finally:
        torch.cuda.set_sync_debug_mode("default")


def test_entry_mean_averages_repeated_entries_and_drops_self_loops():
    ei = torch.tensor([[0, 1, 1, 2, 2], [1, 0, 2, 1, 2]])  # {0,1} twice, {1,2} twice, a self-loop at 2
    g = undirected_graph(ei, 3)
    values = torch.arange(10.0).reshape(5, 2)
    keep = g.entry_to_edge >= 0
    ref = torch.zeros(2, 2).index_add_(0, g.entry_to_edge[keep], values[keep]) / 2
    assert torch.equal(g.entry_mean(values), ref)
