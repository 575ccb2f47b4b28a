"""The node controls of the planted star (gapbench.models.gnn_controls): the bilinear message, by hand."""

from __future__ import annotations

import torch

from gapbench.models.gnn import NodeGCNLayer, build_model, undirected_graph
from gapbench.models.gnn_controls import NodeBilinearLayer
from gapbench.registry import family_of

torch.set_num_threads(1)


def star(leaves: int, isolated: int = 0) -> torch.Tensor:
    ei = torch.tensor([[0] * leaves, list(range(1, leaves + 1))])
    return torch.cat([ei, ei.flip(0)], dim=1)


def test_bilinear_layer_formula_by_hand():
    """node_bilinear on a star 0-{1,2,3} plus an isolated node 4: h_v + relu(W m_v + (B m_v) * h_v + b), with
    m_v the mean of the neighbours' states (0 for the isolated node) - written out per node, message by message."""
    torch.manual_seed(0)
    layer = NodeBilinearLayer(3).double()
    h = torch.randn(5, 3, dtype=torch.float64)
    g = undirected_graph(star(3), 5)
    W, B, b = layer.lin.weight, layer.bilinear.weight, layer.lin.bias
    nbrs = {0: [1, 2, 3], 1: [0], 2: [0], 3: [0], 4: []}
    expected = []
    for v in range(5):
        msgs = [W @ h[w] + (B @ h[w]) * h[v] for w in nbrs[v]]  # the message of each neighbour
        agg = sum(msgs) / len(msgs) if msgs else torch.zeros(3, dtype=torch.float64)
        expected.append(h[v] + torch.relu(agg + b))
    torch.testing.assert_close(layer(h, g), torch.stack(expected))


def test_bilinear_leaf_output_has_the_centre_leaf_product():
    """One layer: eq. 3's leaf output is head(h_v + sigma(W h_0 + b)), a sum of a function of the leaf's and one of
    the centre's features, so its mixed difference in (leaf, centre) vanishes for any sigma; the bilinear
    control's does not: it forms products of the two."""
    torch.manual_seed(1)
    ei = star(3)
    base = torch.randn(4, 4, dtype=torch.float64)
    e = torch.zeros(4, dtype=torch.float64)
    e[0] = 1.0

    def leaf_out(model, t, s):
        x = base.clone()
        x[1] = x[1] + t * e  # leaf 1
        x[0] = x[0] + s * e  # the centre
        return model(x, ei)[1, 0]

    for name, affine in (("node_gcn", True), ("node_bilinear", False)):
        for act in ("identity", "tanh"):
            model = build_model(name, 4, 1, depth=1, width=8, activation=act).double()
            mixed = leaf_out(model, 1, 1) - leaf_out(model, 1, 0) - leaf_out(model, 0, 1) + leaf_out(model, 0, 0)
            assert (abs(float(mixed)) < 1e-10) == affine, (name, act, float(mixed))
    assert family_of("node_bilinear") == "node"


def test_bilinear_layer_without_the_product_is_eq3():
    """B = 0 turns the control into eq. 3 exactly (same W, b)."""
    torch.manual_seed(2)
    layer = NodeBilinearLayer(4).double()
    eq3 = NodeGCNLayer(4).double()
    eq3.lin.load_state_dict(layer.lin.state_dict())
    with torch.no_grad():
        layer.bilinear.weight.zero_()
    h = torch.randn(6, 4, dtype=torch.float64)
    g = undirected_graph(star(5), 6)
    torch.testing.assert_close(layer(h, g), eq3(h, g))
