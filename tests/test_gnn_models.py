"""Node/edge GCNs, directed variants and DeepSets (gapbench.models.gnn): formulas, symmetry, bad input."""

from __future__ import annotations

import pytest
import torch

from gapbench.models.ops import GraphInputError
from gapbench.models.gnn import (
    EdgeGCN,
    EdgeGCNLayer,
    NodeGCN,
    NodeGCNLayer,
    NodeSAGELayer,
    build_model,
    undirected_graph,
)
from gapbench.registry import GRAPH_MODELS

MODELS = tuple(GRAPH_MODELS)  # the built-in graph models

torch.set_num_threads(1)


def both_directions(pairs: list[tuple[int, int]]) -> torch.Tensor:
    ei = torch.tensor(pairs, dtype=torch.long).T
    return torch.cat([ei, ei.flip(0)], dim=1)


def random_graph(seed: int, n: int = 12, p: float = 0.3) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n) if torch.rand(1, generator=gen) < p]
    return both_directions(pairs)


@pytest.mark.parametrize("level", ["node", "graph"])
@pytest.mark.parametrize("name", MODELS)
def test_permutation_equivariance(name, level):
    """Relabel the nodes and shuffle the edge list: node outputs permute the same way, graph outputs stay."""
    torch.manual_seed(0)
    n = 12
    ei = random_graph(1, n)
    x = torch.randn(n, 5)
    edge_dim = None if name == "deepsets" else 2
    a = torch.randn(ei.shape[1] // 2, 2).repeat(2, 1)  # same feature on both directions
    model = build_model(name, 5, 3, depth=3, width=8, level=level, edge_dim=edge_dim).double()
    x, a = x.double(), a.double()
    y = model(x, ei, edge_attr=a)
    perm = torch.randperm(n)  # new node i is old node perm[i]
    inv = torch.argsort(perm)
    shuffle = torch.randperm(ei.shape[1])
    y2 = model(x[perm], inv[ei][:, shuffle], edge_attr=a[shuffle])
    assert torch.isfinite(y).all()
    torch.testing.assert_close(y2, y[perm] if level == "node" else y)


def test_edge_layer_on_star_equals_closed_form():
    """One edge layer on a star: h_e + relu(W (S - h_e)/(n - 1) + b)."""
    n, width = 9, 6
    layer = EdgeGCNLayer(width).double()
    h = torch.randn(n, width, dtype=torch.float64)
    g = undirected_graph(both_directions([(0, v) for v in range(1, n + 1)]), n + 1)
    assert torch.equal(g.edges, torch.stack([torch.zeros(n, dtype=torch.long), torch.arange(1, n + 1)]))
    mean_others = (h.sum(0, keepdim=True) - h) / (n - 1)
    expected = h + torch.relu(mean_others @ layer.lin.weight.T + layer.lin.bias)
    torch.testing.assert_close(layer(h, g), expected)


def test_node_layer_formula():
    """eq. 3 on a path 0-1-2 plus an isolated node 3: neighbours' mean, isolated node gets relu(b)."""
    layer = NodeGCNLayer(4).double()
    h = torch.randn(4, 4, dtype=torch.float64)
    g = undirected_graph(both_directions([(0, 1), (1, 2)]), 4)
    W, b = layer.lin.weight, layer.lin.bias
    mean = torch.stack([h[1], (h[0] + h[2]) / 2, h[1], torch.zeros(4, dtype=torch.float64)])
    torch.testing.assert_close(layer(h, g), h + torch.relu(mean @ W.T + b))


def test_node_sage_layer_formula():
    """node_sage on a star 0-{1,2,3} plus an isolated node 4: h_v + relu(W1 h_v + W2 mean(neighbours) + b).

    A leaf's update depends on its own state (W1 h_v), which eq. 3 cannot do."""
    layer = NodeSAGELayer(3).double()
    h = torch.randn(5, 3, dtype=torch.float64)
    g = undirected_graph(both_directions([(0, 1), (0, 2), (0, 3)]), 5)
    W1, W2, b = layer.self_lin.weight, layer.lin.weight, layer.lin.bias
    mean = torch.stack([(h[1] + h[2] + h[3]) / 3, h[0], h[0], h[0], torch.zeros(3, dtype=torch.float64)])
    expected = torch.stack([h[v] + torch.relu(W1 @ h[v] + W2 @ mean[v] + b) for v in range(5)])
    torch.testing.assert_close(layer(h, g), expected)
    # two leaves with the same centre but different own states get different updates (eq. 3: identical)
    eq3 = NodeGCNLayer(3).double()
    eq3.lin.load_state_dict(layer.lin.state_dict())
    delta_sage, delta_eq3 = layer(h, g) - h, eq3(h, g) - h
    torch.testing.assert_close(delta_eq3[1], delta_eq3[2])
    assert not torch.allclose(delta_sage[1], delta_sage[2])


@pytest.mark.parametrize("name", ["node_gcn", "node_sage", "edge_gcn", "deepsets"])
def test_mlp_head_is_the_stated_composition(name):
    """head_layers = 3: y = L3(relu(L2(relu(L1(h))))) on the final states; head_layers = 1: one Linear."""
    torch.manual_seed(0)
    ei = both_directions([(0, 1), (0, 2), (1, 3)])
    x = torch.randn(4, 5, dtype=torch.float64)
    mlp = build_model(name, 5, 2, depth=2, width=6, head_layers=3).double()
    lin = [m for m in mlp.head if isinstance(m, torch.nn.Linear)]
    assert [tuple(m.weight.shape) for m in lin] == [(6, 6), (6, 6), (2, 6)]
    captured = {}
    mlp.head.register_forward_hook(lambda mod, inp, out: captured.update(h=inp[0]))
    y = mlp(x, ei)
    h = captured["h"]
    expected = lin[2](torch.relu(lin[1](torch.relu(lin[0](h)))))
    torch.testing.assert_close(y, expected)
    linear = build_model(name, 5, 2, depth=2, width=6, head_layers=1)
    assert len(linear.head) == 1 and isinstance(linear.head[0], torch.nn.Linear)


def test_batched_graphs_are_independent():
    torch.manual_seed(0)
    e1, e2 = random_graph(2, 7), random_graph(3, 5)
    x1, x2 = torch.randn(7, 4), torch.randn(5, 4)
    ei = torch.cat([e1, e2 + 7], dim=1)
    batch = torch.cat([torch.zeros(7, dtype=torch.long), torch.ones(5, dtype=torch.long)])
    for name in MODELS:
        for level in ("node", "graph"):
            m = build_model(name, 4, 2, depth=2, width=8, level=level).double()
            joint = m(torch.cat([x1, x2]).double(), ei, batch)
            alone = torch.cat([m(x1.double(), e1), m(x2.double(), e2)])
            torch.testing.assert_close(joint, alone, msg=f"{name} {level}")


def test_graph_without_edges_and_isolated_nodes_documented_result():
    """No edges: node models keep their embedding; edge models read off 0 -> head bias. Never NaN."""
    x = torch.randn(3, 5)
    empty = torch.zeros(2, 0, dtype=torch.long)
    for name in MODELS:
        for level in ("node", "graph"):
            y = build_model(name, 5, 1, depth=2, width=4, level=level)(x, empty)
            assert torch.isfinite(y).all(), name
    m = EdgeGCN(5, 1, depth=2, width=4)
    torch.testing.assert_close(m(x, empty), m.head[0].bias.expand(3, 1))
    # an isolated node next to a connected pair: its read-off is also the bias
    y = m(x, both_directions([(0, 1)]))
    torch.testing.assert_close(y[2], m.head[0].bias)


def test_self_loops_are_ignored_by_undirected_models_and_refused_by_directed():
    torch.manual_seed(0)
    x = torch.randn(4, 3)
    ei = both_directions([(0, 1), (1, 2), (2, 3)])
    loops = torch.tensor([[1, 3], [1, 3]])
    for cls in (NodeGCN, EdgeGCN):
        m = cls(3, 1, depth=2, width=4)
        torch.testing.assert_close(m(x, torch.cat([ei, loops], 1)), m(x, ei))
    for name in ("node_gcn_directed", "edge_gcn_directed"):
        with pytest.raises(GraphInputError, match="self-loop"):
            build_model(name, 3, 1, depth=1, width=4)(x, torch.cat([ei, loops], 1))


def test_bad_input_raises_clear_errors():
    m = EdgeGCN(5, 1, depth=1, width=4)
    ei = both_directions([(0, 1)])
    with pytest.raises(GraphInputError, match="expects 5"):
        m(torch.randn(2, 3), ei)
    with pytest.raises(GraphInputError, match="NaN"):
        m(torch.tensor([[float("nan")] * 5, [0.0] * 5]), ei)
    with pytest.raises(GraphInputError, match="outside"):
        m(torch.randn(2, 5), torch.tensor([[0, 5], [5, 0]]))
    with pytest.raises(GraphInputError, match="edge_attr is missing"):
        EdgeGCN(5, 1, depth=1, width=4, edge_dim=2)(torch.randn(2, 5), ei)
    with pytest.raises(GraphInputError, match="rows"):
        EdgeGCN(5, 1, depth=1, width=4, edge_dim=2)(torch.randn(2, 5), ei, edge_attr=torch.randn(3, 2))
    with pytest.raises(GraphInputError, match="no reverse"):
        build_model("edge_gcn_directed", 5, 1, depth=1, width=4)(torch.randn(3, 5), torch.tensor([[0, 1], [1, 2]]))
    with pytest.raises(ValueError, match="unknown graph model"):
        build_model("gat", 5)


def test_categorical_features_are_embedded():
    m = build_model("edge_gcn", 2, 1, depth=1, width=8, level="graph", node_categories=[5, 3],
                    edge_dim=1, edge_categories=[4])
    x = torch.tensor([[0, 1], [4, 2], [3, 0]])
    ei = both_directions([(0, 1), (1, 2)])
    y = m(x, ei, edge_attr=torch.tensor([[1], [3], [1], [3]]))
    assert y.shape == (1, 1) and torch.isfinite(y).all()


def test_planted_init_is_reproducible_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    a, b = EdgeGCN(10, 1, depth=3, width=10), EdgeGCN(10, 1, depth=3, width=10)
    torch.set_rng_state(state)
    a.reset_parameters(torch.Generator().manual_seed(7))
    b.reset_parameters(torch.Generator().manual_seed(7))
    assert torch.equal(torch.get_rng_state(), state)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
