"""Node-model controls for the planted star (docs/gnn.md, "Node controls"): what feature a node model lacks.

On a star, eq. 3 never lets a leaf read its own state inside the nonlinearity, so with a linear head every leaf
output is ``a^T x_v + c_G`` (the affine floor, graphs/planted.py). Two controls add one feature each, with the
centre's state still the only memory the leaves share:

* ``node_sage`` (:class:`gapbench.models.gnn.NodeSAGE`) reads its own state inside the nonlinearity,
  ``sigma(W1 h_v + W2 mean{h_w})``;
* ``node_bilinear`` (:class:`NodeBilinear`, here) is given the bilinear message ``(W h_w) * h_v`` (elementwise),
  the product of a neighbour's and its own state - what the centre-bilinear teacher's encoder
  ``B(x_u * x_v)`` computes on the edge {centre, leaf}.
"""

from __future__ import annotations

import torch
from torch import nn

from gapbench.graphs.structure import UndirectedGraph
from gapbench.models.gnn import NodeGCN, NodeGCNLayer, init_linear_, neighbour_aggregate


class NodeBilinearLayer(NodeGCNLayer):
    """Eq. 3 plus the bilinear message ``(B h_w) * h_v`` (``*`` elementwise), residual:

        h_v <- h_v + sigma(norm(W m_v + mean{(B h_w) * h_v : w in N(v), w != v} + b)),   m_v = mean{h_w : ...}
             = h_v + sigma(norm(W m_v + (B m_v) * h_v + b))                                 (the mean is linear)

    On a star's leaf (one neighbour, the centre 0) the update is ``sigma(W h_0 + (B h_0) * h_v + b)``: the leaf
    gets products of the centre's state with its own, which eq. 3 cannot form. ``reduce`` replaces the mean
    (for sum and max the message is aggregated as ``(B agg) * h_v``); an isolated node aggregates 0. With
    edge features the message is ``h_w + e_vw`` in both terms, as in :class:`NodeGCNLayer`.
    """

    def __init__(self, width: int, activation: str = "relu", reduce: str = "mean", norm: str = "none",
                 dropout: float = 0.0):
        super().__init__(width, activation, reduce, norm, dropout)
        self.bilinear = nn.Linear(width, width, bias=False)

    def reset_parameters(self, generator: torch.Generator | None = None, law: str = "uniform") -> None:
        init_linear_(self.lin, generator, law)
        init_linear_(self.bilinear, generator, law)

    def forward(self, h: torch.Tensor, graph: UndirectedGraph, edge_term: torch.Tensor | None = None) -> torch.Tensor:
        agg = neighbour_aggregate(h, graph, self.reduce, edge_term)
        return h + self.drop(self.act(self.norm(self.lin(agg) + self.bilinear(agg) * h)))


class NodeBilinear(NodeGCN):
    """Node control given the bilinear message: :class:`NodeGCN` (embedding, heads, edge-feature projection)
    with :class:`NodeBilinearLayer` in place of eq. 3."""

    layer_class = NodeBilinearLayer
