"""Table 1's published GCNs: symmetric-normalised node and edge GCNs (benchmarking-gnns, LRGB).

Node layer (Kipf & Welling; benchmarking-gnns' ``GraphConv(norm="both")``, LRGB's ``GCNConv``)::

    h_v <- [h_v +] dropout(sigma(norm( sum_{w in N'(v)} h_w W / sqrt(d'_v d'_w) + b )))          (P-1)

``N'(v) = N(v)`` and ``d' = deg`` without self-loops (benchmarking-gnns), ``N'(v) = N(v) + {v}`` and
``d' = deg + 1`` with them (LRGB); the residual ``h_v +`` is on for benchmarking-gnns and the re-tuned LRGB
configuration, off for LRGB's GCN. The edge layer is (P-1) on the line graph: ``e = {u, v}`` has
``d_L(e) = deg u + deg v - 2`` neighbours (the edges sharing an endpoint), computed in O(|E|) as
``sum_{f ~ e} q_f = S_u + S_v - 2 q_e`` with ``q_f = h_f / sqrt(d'_L(f))`` and ``S_x`` the sum of ``q`` over the
edges at ``x`` (with self-loops ``d'_L = d_L + 1`` and the sum gains ``q_e``). An empty neighbourhood
aggregates to 0.

Both models: inputs encoded to ``width`` (categorical columns: a sum of embeddings of width ``width``, as
benchmarking-gnns' atom encoder; float features: one linear map), the edge model's initial state
``h_uv = enc(x_u) + enc(x_v)`` (symmetric, the same parameters as the node model's ``h_v = enc(x_v)``),
``depth`` layers, then mean pooling (node read-off of the edge model: over the edges at the node; graph read-off:
over the graph's nodes / edges) and the read-out MLP that halves the width per layer (benchmarking-gnns'
``MLPReadout``, GraphGPS' ``SANGraphHead``): ``head_layers`` linear maps ``w -> w/2 -> ... -> out``. Node and edge
model have the same parameters, so the same count at equal depth and width.
"""

from __future__ import annotations

import torch
from torch import nn

from gapbench.graphs.structure import undirected_graph
from gapbench.models.gnn import LEVELS, FeatureEncoder, _activation, _norm, scatter_reduce_rows
from gapbench.models.ops import check_edge_index


def _inv_sqrt(deg: torch.Tensor) -> torch.Tensor:
    return torch.where(deg > 0, deg.clamp(min=1).rsqrt(), torch.zeros_like(deg))


def node_sym_aggregate(h: torch.Tensor, u: torch.Tensor, v: torch.Tensor, self_loops: bool) -> torch.Tensor:
    """(P-1)'s aggregate on nodes: ``sum_{w in N'(v)} h_w / sqrt(d'_v d'_w)`` for undirected edges ``(u, v)``."""
    n = h.shape[0]
    deg = torch.zeros(n, dtype=h.dtype, device=h.device).index_add_(0, u, torch.ones_like(u, dtype=h.dtype))
    deg = deg.index_add_(0, v, torch.ones_like(v, dtype=h.dtype)) + (1.0 if self_loops else 0.0)
    s = _inv_sqrt(deg).unsqueeze(1)
    q = h * s
    agg = torch.zeros_like(h).index_add_(0, u, q[v]).index_add_(0, v, q[u])
    if self_loops:
        agg = agg + q
    return agg * s


def edge_sym_aggregate(h: torch.Tensor, u: torch.Tensor, v: torch.Tensor, n_nodes: int,
                       self_loops: bool) -> torch.Tensor:
    """(P-1)'s aggregate on the line graph, in O(|E|): edge ``e = (u_e, v_e)``, states ``h [E, F]``."""
    ones = torch.ones_like(u, dtype=h.dtype)
    deg = torch.zeros(n_nodes, dtype=h.dtype, device=h.device).index_add_(0, u, ones).index_add_(0, v, ones)
    deg_l = deg[u] + deg[v] - 2 + (1.0 if self_loops else 0.0)
    s = _inv_sqrt(deg_l).unsqueeze(1)
    q = h * s
    at = torch.zeros(n_nodes, h.shape[1], dtype=h.dtype, device=h.device).index_add_(0, u, q).index_add_(0, v, q)
    agg = at[u] + at[v] - (1.0 if self_loops else 2.0) * q
    return agg * s


class SymGCNLayer(nn.Module):
    """(P-1): ``h <- [h +] dropout(sigma(norm(A' h W + b)))`` on nodes or on the line graph."""

    def __init__(self, width: int, activation: str, norm: str, dropout: float, residual: bool, self_loops: bool):
        super().__init__()
        self.lin = nn.Linear(width, width)
        self.norm, self.act, self.drop = _norm(norm, width), _activation(activation), nn.Dropout(dropout)
        self.residual, self.self_loops = residual, self_loops

    def forward(self, h: torch.Tensor, agg: torch.Tensor) -> torch.Tensor:
        out = self.drop(self.act(self.norm(self.lin(agg))))
        return h + out if self.residual else out


class _SymGCN(nn.Module):
    """Shared encoder, layers and halving read-out of :class:`NodeGCNSym` and :class:`EdgeGCNSym` (module doc)."""

    OPTIONS = ("residual", "self_loops")  # the trainer's --no-residual / --self-loops reach these models only

    def __init__(self, in_dim: int, out_dim: int = 1, depth: int = 3, width: int = 32, activation: str = "relu",
                 level: str = "node", pool: str = "mean", head_layers: int = 1,
                 node_categories: list[int] | None = None,
                 norm: str = "none", dropout: float = 0.0, residual: bool = True, self_loops: bool = False,
                 **unused):
        """Arguments as :class:`gapbench.models.gnn._GraphModel` (edge features and ``reduce`` are not used: the
        published GCNs take node features only and aggregate by (P-1)), plus ``residual`` and ``self_loops``."""
        super().__init__()
        if level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
        if depth < 0 or width < 2 ** max(head_layers - 1, 0) or head_layers < 1:
            raise ValueError(f"need depth >= 0, head_layers >= 1 and width >= 2^(head_layers - 1) "
                             f"(got {depth}, {head_layers}, {width})")
        self.level, self.pool = level, pool
        self.encoder = FeatureEncoder(in_dim, node_categories, width, "x")
        self.embed = nn.Linear(in_dim, width) if not node_categories else nn.Identity()
        self.self_loops = self_loops
        self.layers = nn.ModuleList(SymGCNLayer(width, activation, norm, dropout, residual, self_loops)
                                    for _ in range(depth))
        dims = [width // 2 ** i for i in range(head_layers)] + [out_dim]
        head: list[nn.Module] = []
        for i in range(head_layers):
            head.append(nn.Linear(dims[i], dims[i + 1]))
            if i < head_layers - 1:
                head.append(_activation(activation))
        self.head = nn.Sequential(*head)

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _start(self, x, edge_index, batch, num_graphs):
        n = x.shape[0]
        check_edge_index(edge_index, n)
        h = self.embed(self.encoder(x))
        if batch is None:
            batch = torch.zeros(n, dtype=torch.long, device=h.device)
        if num_graphs is None:
            num_graphs = int(batch.max()) + 1 if n else 0
        g = undirected_graph(edge_index, n)
        return h, g, batch, num_graphs


class NodeGCNSym(_SymGCN):
    """Symmetric-normalised node GCN (P-1) with the halving read-out."""

    def forward(self, x, edge_index, batch=None, edge_attr=None, num_graphs=None):
        h, g, batch, num_graphs = self._start(x, edge_index, batch, num_graphs)
        u, v = g.edges
        for layer in self.layers:
            h = layer(h, node_sym_aggregate(h, u, v, self.self_loops))
        if self.level == "node":
            return self.head(h)
        return self.head(scatter_reduce_rows(h, batch, num_graphs, self.pool))


class EdgeGCNSym(_SymGCN):
    """Symmetric-normalised edge GCN: (P-1) on the line graph, ``h_uv = enc(x_u) + enc(x_v)``."""

    def forward(self, x, edge_index, batch=None, edge_attr=None, num_graphs=None):
        h_nodes, g, batch, num_graphs = self._start(x, edge_index, batch, num_graphs)
        u, v = g.edges
        h = h_nodes[u] + h_nodes[v]
        for layer in self.layers:
            h = layer(h, edge_sym_aggregate(h, u, v, g.num_nodes, self.self_loops))
        if self.level == "node":
            return self.head(scatter_reduce_rows(torch.cat([h, h]), torch.cat([u, v]), g.num_nodes, self.pool))
        return self.head(scatter_reduce_rows(h, batch[u], num_graphs, self.pool))
