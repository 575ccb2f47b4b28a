"""Node- and edge-based GCNs (docs/science.md, Part I, eq. 3 and eq. 4), their directed variants, and DeepSets.

The public interface for a new graph model (docs/extending.md, recipe 2): a layer subclasses
:class:`MessagePassingLayer` and implements ``forward(h, graph, edge_term=None)``; a model is then one line,
``class MyModel(NodeMessagePassing): layer_class = MyLayer`` (states on nodes) or the same on
:class:`EdgeMessagePassing` (states on edges); :class:`GraphModelBase` is the base of every model.

Every model takes ``forward(x, edge_index, batch=None, edge_attr=None, num_graphs=None)`` with PyG conventions
(``edge_index [2, E']`` listing both directions of every edge, ``batch [N]`` the graph of each node) and returns
``[N, out_dim]`` (``level="node"``) or ``[num_graphs, out_dim]`` (``level="graph"``).

Input graphs: the undirected models (``NodeGCN``, ``EdgeGCN``) work on the simple undirected graph underlying
``edge_index``: each pair ``{u, v}`` becomes one undirected edge however often and in whichever direction it is
listed, and **self-loops are ignored** (eq. 3 and 4 exclude the node/edge itself, so a self-loop carries no
message; it is documented, not an error). Edge features of repeated entries are averaged after encoding. The
directed models need every edge listed in both directions exactly once (no self-loops) and raise otherwise.
Isolated nodes and graphs without edges are allowed: an empty neighbourhood aggregates to 0, so a node without
edges keeps its embedding (node models) or reads off 0 (edge models); the output is finite, never NaN.
Bad input (wrong feature width, non-finite features, indices out of range) raises ``GraphInputError``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gapbench.models.ops import (
    REDUCES,
    GraphInputError,
    check_edge_index,
    exclusive_aggregate,
    line_graph_aggregate,
)
# the structure of an edge_index; a mini-batch carries it precomputed (graphs/structure.py)
from gapbench.graphs.structure import DirectedGraph, UndirectedGraph, attached, directed_graph, undirected_graph

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "silu": nn.SiLU, "identity": nn.Identity}
NORMS = ("none", "batch", "layer")
LEVELS = ("node", "graph")


# ---------------------------------------------------------------------------------------------- helpers
def init_linear_(lin: nn.Linear, generator: torch.Generator | None = None, law: str = "uniform") -> None:
    """Draw a linear layer's weights: ``uniform`` = PyTorch's default ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``
    for weight and bias; ``normal`` = weight ``N(0, 1/fan_in)``, bias ``N(0, 1/fan_in)``. ``generator`` makes
    the draw independent of the global RNG (planted models are drawn from a recorded seed)."""
    fan_in = lin.weight.shape[1]
    bound = 1.0 / math.sqrt(max(fan_in, 1))
    with torch.no_grad():
        if law == "uniform":
            lin.weight.uniform_(-bound, bound, generator=generator)
            if lin.bias is not None:
                lin.bias.uniform_(-bound, bound, generator=generator)
        elif law == "normal":
            lin.weight.normal_(0.0, bound, generator=generator)
            if lin.bias is not None:
                lin.bias.normal_(0.0, bound, generator=generator)
        else:
            raise ValueError(f"unknown init law {law!r} (uniform, normal)")


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]()


def _norm(kind: str, width: int) -> nn.Module:
    if kind == "none":
        return nn.Identity()
    if kind == "batch":
        return nn.BatchNorm1d(width)
    if kind == "layer":
        return nn.LayerNorm(width)
    raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {kind!r}")


def scatter_reduce_rows(values: torch.Tensor, index: torch.Tensor, size: int, reduce: str) -> torch.Tensor:
    """``out[i] = reduce{values[r] : index[r] == i}`` with the empty reduction defined as 0 (never NaN)."""
    F = values.shape[1]
    if reduce == "max":
        out = values.new_full((size, F), float("-inf"))
        out = out.scatter_reduce(0, index.unsqueeze(1).expand(-1, F), values, reduce="amax", include_self=True)
        return torch.where(torch.isneginf(out), torch.zeros_like(out), out)
    out = values.new_zeros((size, F)).index_add_(0, index, values)
    if reduce == "sum":
        return out
    cnt = torch.zeros(size, dtype=values.dtype, device=values.device)
    cnt.index_add_(0, index, torch.ones_like(index, dtype=values.dtype))
    return out / cnt.clamp(min=1.0).unsqueeze(1)


def neighbour_aggregate(h: torch.Tensor, graph: UndirectedGraph, reduce: str,
                        edge_term: torch.Tensor | None = None) -> torch.Tensor:
    """``agg_v = reduce{h_w (+ e_vw) : w in N(v), w != v}`` over the undirected edges (0 for an isolated node).

    Sum and mean without edge features add the messages in place (the 2|E| messages are never materialised);
    max, or messages carrying ``edge_term [E, width]``, go through :func:`scatter_reduce_rows`.
    """
    u, v = graph.edges
    if reduce == "max" or edge_term is not None:
        msgs = torch.cat([h.index_select(0, v), h.index_select(0, u)])
        if edge_term is not None:
            msgs = msgs + torch.cat([edge_term, edge_term])
        return scatter_reduce_rows(msgs, torch.cat([u, v]), graph.num_nodes, reduce)
    agg = h.new_zeros(h.shape).index_add_(0, u, h.index_select(0, v)).index_add_(0, v, h.index_select(0, u))
    if reduce == "mean":
        agg = agg.mul_(graph.inv_deg.to(h.dtype).unsqueeze(1))
    return agg


def incident_pool(h: torch.Tensor, graph: UndirectedGraph, reduce: str) -> torch.Tensor:
    """``pool{h_e : e at v}`` per node ``v`` over the undirected edges ``h [E, F]`` (0 for an isolated node): the node
    read-off of the edge models. Sum and mean add every edge at its two ends in place, the additions and their
    order of :func:`scatter_reduce_rows` over the doubled rows ``[h; h]`` at ``[u; v]`` without materialising
    them; max goes through :func:`scatter_reduce_rows`."""
    u, v = graph.edges
    if reduce == "max":
        return scatter_reduce_rows(torch.cat([h, h]), torch.cat([u, v]), graph.num_nodes, reduce)
    out = h.new_zeros((graph.num_nodes, h.shape[1])).index_add_(0, u, h).index_add_(0, v, h)
    if reduce == "sum":
        return out
    ones = torch.ones_like(u, dtype=h.dtype)
    cnt = torch.zeros(graph.num_nodes, dtype=h.dtype, device=h.device).index_add_(0, u, ones).index_add_(0, v, ones)
    return out / cnt.clamp(min=1.0).unsqueeze(1)


class FeatureEncoder(nn.Module):
    """Float features ``[N, in_dim]`` pass through unchanged; integer (categorical) features ``[N, C]`` are
    embedded as ``sum_c Embedding_c(x[:, c])`` of width ``emb_dim`` (benchmarking-gnns' atom/bond encoders)."""

    def __init__(self, in_dim: int, categories: list[int] | None = None, emb_dim: int | None = None,
                 name: str = "x"):
        super().__init__()
        self.in_dim, self.categories, self.name = int(in_dim), categories, name
        self.embeddings = nn.ModuleList(nn.Embedding(c, emb_dim) for c in (categories or []))
        self.out_dim = emb_dim if categories else self.in_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 1:
            x = x.unsqueeze(1)
        if self.categories:
            if x.dtype.is_floating_point or x.shape[1] != len(self.categories):
                raise GraphInputError(
                    f"{self.name} must be integer categories of shape [*, {len(self.categories)}], "
                    f"got {x.dtype} {tuple(x.shape)}")
            return sum(emb(x[:, c].long()) for c, emb in enumerate(self.embeddings))
        if x.shape[1] != self.in_dim:
            raise GraphInputError(f"{self.name} has {x.shape[1]} features per row, the model expects {self.in_dim}")
        x = x.float() if not x.dtype.is_floating_point else x
        if not bool(torch.isfinite(x).all()):
            raise GraphInputError(f"{self.name} contains NaN or infinite values")
        return x


# ---------------------------------------------------------------------------------------------- layers
class MessagePassingLayer(nn.Module):
    """Base class of a message-passing layer: subclass it and implement ``forward`` (a GIN, a GAT-style or an edge
    layer is one such class; docs/extending.md, recipe 2).

    The model builds ``depth`` layers as ``layer_class(width, activation=, reduce=, norm=, dropout=)`` (the config's
    values; a subclass taking more arguments gives them defaults) and calls, in every layer,

        h = layer(h, graph, edge_term)        # node states: NodeMessagePassing
        h = layer(h, graph)                   # edge states: EdgeMessagePassing

    * ``h``: the states, ``[N, width]`` (one row per node) or ``[E, width]`` (one row per undirected edge
      ``graph.edges[:, e]``); ``forward`` returns the new states, same shape.
    * ``graph``: the batch structure, a :class:`gapbench.graphs.structure.UndirectedGraph`: ``edges [2, E]`` (each
      undirected edge once, ``u < v``, self-loops dropped), ``num_nodes``, ``inv_deg [N]`` (1 / degree, 0 for an
      isolated node), ``index`` (the incidence index of the line-graph aggregate). A mini-batch of many graphs is
      one graph with ``num_nodes`` = all its nodes, so a layer never sees graph boundaries.
    * ``edge_term``: the encoded edge features projected to ``[E, width]`` for this layer (one row per undirected
      edge), or None when the dataset has none; node layers add it to their messages.

    The base class gives ``self.lin`` (``W``, width x width, with bias), ``self.norm``, ``self.act`` (sigma),
    ``self.drop``, ``self.reduce`` (``mean``, ``sum`` or ``max``) and three helpers:
    :meth:`node_aggregate` (``reduce{h_w (+ e_vw) : w in N(v)}``), :meth:`edge_aggregate` (``reduce{h_f : f shares
    an endpoint with e, f != e}``, O(|E|)) and :meth:`update` (``h + dropout(sigma(norm(W agg + b)))``, the
    residual update of eq. 3 and 4). The model's ``reset_parameters`` redraws every ``nn.Linear`` of a layer.
    """

    def __init__(self, width: int, activation: str = "relu", reduce: str = "mean", norm: str = "none",
                 dropout: float = 0.0):
        super().__init__()
        if reduce not in REDUCES:
            raise ValueError(f"reduce must be one of {', '.join(REDUCES)}, got {reduce!r}")
        self.lin = nn.Linear(width, width)
        self.norm, self.act, self.drop = _norm(norm, width), _activation(activation), nn.Dropout(dropout)
        self.reduce = reduce

    def node_aggregate(self, h: torch.Tensor, graph: UndirectedGraph,
                       edge_term: torch.Tensor | None = None) -> torch.Tensor:
        """``agg_v = reduce{h_w (+ e_vw) : w in N(v), w != v}`` on node states (0 for an isolated node)."""
        return neighbour_aggregate(h, graph, self.reduce, edge_term)

    def edge_aggregate(self, h: torch.Tensor, graph: UndirectedGraph) -> torch.Tensor:
        """``agg_e = reduce{h_f : f shares an endpoint with e, f != e}`` on edge states (0 without neighbours)."""
        return line_graph_aggregate(h, graph.edges, graph.num_nodes, self.reduce, index=graph.index)

    def update(self, h: torch.Tensor, agg: torch.Tensor) -> torch.Tensor:
        """The residual update ``h + dropout(sigma(norm(W agg + b)))``."""
        return h + self.drop(self.act(self.norm(self.lin(agg))))

    def forward(self, h: torch.Tensor, graph, edge_term: torch.Tensor | None = None) -> torch.Tensor:
        """The layer's message passing: every concrete layer (built-in or a plugin's) overrides this; the base
        class only states the contract, so calling it on the base is an error naming the subclass."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(h, graph[, edge_term])")


class NodeGCNLayer(MessagePassingLayer):
    """Node message passing, docs/science.md eq. 3 (residual, mean over neighbours excluding self):

        h_v <- h_v + sigma(norm(W * mean{h_w : w in N(v), w != v} + b))

    ``reduce`` replaces the mean by sum or max; an isolated node aggregates 0 (so ``h_v <- h_v + sigma(b)``).
    With edge features the message from ``w`` is ``h_w + e_vw`` (``edge_term [E, width]``, per undirected edge).
    """

    def forward(self, h: torch.Tensor, graph: UndirectedGraph, edge_term: torch.Tensor | None = None) -> torch.Tensor:
        return self.update(h, self.node_aggregate(h, graph, edge_term))


class NodeSAGELayer(MessagePassingLayer):
    """Node message passing that mixes a node's own state with its neighbours' (GraphSAGE-style control):

        h_v <- h_v + sigma(norm(W1 h_v + W2 * mean{h_w : w in N(v), w != v} + b))

    Unlike eq. 3, a leaf's update depends on its own state, so with a star's single centre it can compute any
    (learnable) function of its own state and the centre's; the centre's state is the only memory shared by
    the leaves. ``reduce`` replaces the mean; an isolated node aggregates 0. Edge features, when given, are
    added to the messages as in :class:`NodeGCNLayer`.
    """

    def __init__(self, width: int, activation: str = "relu", reduce: str = "mean", norm: str = "none",
                 dropout: float = 0.0):
        super().__init__(width, activation, reduce, norm, dropout)
        self.self_lin = nn.Linear(width, width, bias=False)

    def forward(self, h: torch.Tensor, graph: UndirectedGraph, edge_term: torch.Tensor | None = None) -> torch.Tensor:
        agg = self.node_aggregate(h, graph, edge_term)
        return h + self.drop(self.act(self.norm(self.lin(agg) + self.self_lin(h))))


class EdgeGCNLayer(MessagePassingLayer):
    """Edge message passing, docs/science.md eq. 4 (residual, mean over line-graph neighbours excluding self):

        h_e <- h_e + sigma(norm(W * mean{h_f : f shares an endpoint with e, f != e} + b))

    The mean is computed in O(|E|) by :func:`gapbench.models.ops.line_graph_aggregate`:
    ``mean(e=uv) = (S_u + S_v - 2 h_e) / (deg u + deg v - 2)`` with ``S_v`` the sum of the edges at ``v``.
    An edge without neighbours aggregates 0.
    """

    def forward(self, h: torch.Tensor, graph: UndirectedGraph) -> torch.Tensor:
        return self.update(h, self.edge_aggregate(h, graph))


class EdgeGCNDirectedLayer(MessagePassingLayer):
    """Edge message passing on directed edges that excludes the reverse message, as belief propagation:

        h_{u->v} <- h_{u->v} + sigma(norm(W * mean{h_{w->u} : w in N(u), w != v} + b))

    computed in O(|E|) as ``(T_u - h_{v->u}) / (deg u - 1)`` with ``T_u`` the sum of the edges into ``u``
    (:func:`gapbench.models.ops.exclusive_aggregate`); a leaf's outgoing edge aggregates 0.
    """

    def forward(self, h: torch.Tensor, graph: DirectedGraph) -> torch.Tensor:
        src, dst = graph.edges
        agg = exclusive_aggregate(h, dst, graph.num_nodes, src, graph.rev, self.reduce)
        return self.update(h, agg)


class NodeGCNDirectedLayer(MessagePassingLayer):
    """Node message passing whose message to ``v`` excludes what ``v`` sent (node-memory analogue of BP):

        m_{w->v} = h_w + sigma(U * mean{h_u : u in N(w), u != v} + c)
        h_v <- h_v + sigma(norm(W * mean{m_{w->v} : w in N(v)} + b))

    State lives on nodes only (memory per node, as eq. 3); the per-edge message is recomputed in every layer in
    O(|E|) as ``(S_w - h_v) / (deg w - 1)``. Empty means are 0. With edge features ``e_wv`` is added to
    ``m_{w->v}`` (``edge_term [E', width]``, per directed edge).
    """

    def __init__(self, width: int, activation: str = "relu", reduce: str = "mean", norm: str = "none",
                 dropout: float = 0.0):
        super().__init__(width, activation, reduce, norm, dropout)
        self.msg = nn.Linear(width, width)
        self.msg_act = _activation(activation)

    def forward(self, h: torch.Tensor, graph: DirectedGraph, edge_term: torch.Tensor | None = None) -> torch.Tensor:
        src, dst = graph.edges  # edge j = (w -> v): w = src, v = dst
        # sum over neighbours u of w = values h[src'] of the edges (u -> w) grouped by their target w
        others = exclusive_aggregate(h[src], dst, graph.num_nodes, src, graph.rev, self.reduce)
        m = h[src] + self.msg_act(self.msg(others))
        if edge_term is not None:
            m = m + edge_term
        agg = scatter_reduce_rows(m, dst, graph.num_nodes, self.reduce)
        return self.update(h, agg)


# ---------------------------------------------------------------------------------------------- models
class GraphModelBase(nn.Module):
    """Base class of every graph model: the shared constructor arguments, the input checks, the encoders and the
    read-off heads. Subclass :class:`NodeMessagePassing` or :class:`EdgeMessagePassing` with your own
    ``layer_class`` (a :class:`MessagePassingLayer`) for a new layer; subclass this class for a model of another
    shape (implement ``__init__`` calling ``super().__init__(in_dim, out_dim, depth, width, **kw)`` and
    ``forward(x, edge_index, batch=None, edge_attr=None, num_graphs=None)`` returning ``[N, out_dim]`` at node level
    or ``[num_graphs, out_dim]`` at graph level; :meth:`_inputs`, :meth:`_edge_features`, ``self.head`` and
    :meth:`_graph_head` do the common parts).

    Args:
        in_dim: node feature width (float features) or number of categorical columns (with ``node_categories``).
        out_dim: outputs per node (``level="node"``) or per graph (``level="graph"``).
        depth: number of message-passing layers (DeepSets: hidden layers of the per-node MLP).
        width: embedding width.
        activation: ``relu``, ``tanh``, ``gelu``, ``silu`` or ``identity`` (sigma in eq. 3/4).
        level: ``node`` or ``graph`` prediction.
        reduce: neighbourhood aggregation (``mean`` as eq. 3/4, or ``sum``/``max``).
        pool: read-off pooling (node read-off of edge models over incident edges; graph read-off).
        head_layers: 1 = linear head; k > 1 = MLP with k linear layers (benchmarking-gnns uses 3).
        edge_dim: width of float edge features (or number of categorical columns), ``None`` for none.
        node_categories / edge_categories: sizes of categorical columns (ZINC atoms/bonds), embedded.
        norm: ``none``, ``batch`` or ``layer`` normalisation inside each layer; dropout: after sigma.
    """

    directed = False

    def __init__(self, in_dim: int, out_dim: int = 1, depth: int = 3, width: int = 32, activation: str = "relu",
                 level: str = "node", reduce: str = "mean", pool: str = "mean", head_layers: int = 1,
                 edge_dim: int | None = None, node_categories: list[int] | None = None,
                 edge_categories: list[int] | None = None, norm: str = "none", dropout: float = 0.0):
        super().__init__()
        if level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
        if pool not in REDUCES:
            raise ValueError(f"pool must be one of {', '.join(REDUCES)}, got {pool!r}")
        if depth < 0 or width < 1 or head_layers < 1:
            raise ValueError(f"need depth >= 0, width >= 1, head_layers >= 1 (got {depth}, {width}, {head_layers})")
        self.config = dict(in_dim=in_dim, out_dim=out_dim, depth=depth, width=width, activation=activation,
                           level=level, reduce=reduce, pool=pool, head_layers=head_layers, edge_dim=edge_dim,
                           node_categories=node_categories, edge_categories=edge_categories, norm=norm,
                           dropout=dropout)
        self.level, self.pool, self.width, self.depth = level, pool, width, depth
        self.node_encoder = FeatureEncoder(in_dim, node_categories, width, "x")
        self.edge_encoder = (FeatureEncoder(edge_dim, edge_categories, width, "edge_attr")
                             if edge_dim is not None else None)
        dims = [width] * head_layers + [out_dim]
        layers: list[nn.Module] = []
        for i in range(head_layers):
            layers.append(nn.Linear(dims[i], dims[i + 1]))
            if i < head_layers - 1:
                layers.append(_activation(activation))
        self.head = nn.Sequential(*layers)

    def reset_parameters(self, generator: torch.Generator | None = None, law: str = "uniform") -> None:
        """Redraw every weight (embeddings N(0, 1)); with ``generator`` the draw is reproducible and does not
        touch the global RNG."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                init_linear_(module, generator, law)
            elif isinstance(module, nn.Embedding):
                with torch.no_grad():
                    module.weight.normal_(0.0, 1.0, generator=generator)
            elif isinstance(module, (nn.BatchNorm1d, nn.LayerNorm)):
                module.reset_parameters()

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _inputs(self, x, edge_index, batch, num_graphs):
        x = self.node_encoder(x)
        N = x.shape[0]
        if attached(edge_index, N) is None:  # a collated batch's edge_index was checked graph by graph
            check_edge_index(edge_index, N)
        if batch is None:
            batch = torch.zeros(N, dtype=torch.long, device=x.device)
        if batch.shape[0] != N:
            raise GraphInputError(f"batch has {batch.shape[0]} entries for {N} nodes")
        if num_graphs is None:
            num_graphs = int(batch.max()) + 1 if N else 0
        return x, N, batch, num_graphs

    def _edge_features(self, edge_attr, n_entries):
        if self.edge_encoder is None:
            return None
        if edge_attr is None:
            raise GraphInputError("this model was built with edge features (edge_dim) but edge_attr is missing")
        a = self.edge_encoder(edge_attr)
        if a.shape[0] != n_entries:
            raise GraphInputError(f"edge_attr has {a.shape[0]} rows for {n_entries} edges")
        return a

    def _propagate_nodes(self, h, graph, edge_feat, batch, num_graphs) -> torch.Tensor:
        """Node models: ``depth`` layers on node states (edge features projected per layer), then the head."""
        for i, layer in enumerate(self.layers):
            h = layer(h, graph, None if edge_feat is None else self.edge_proj[i](edge_feat))
        if self.level == "node":
            return self.head(h)
        return self._graph_head(h, batch, num_graphs)

    def _graph_head(self, rows: torch.Tensor, row_graph: torch.Tensor, num_graphs: int) -> torch.Tensor:
        return self.head(scatter_reduce_rows(rows, row_graph, num_graphs, self.pool))

    def forward_data(self, data) -> torch.Tensor:
        """``forward`` on a PyG ``Data``/``Batch`` (uses ``edge_attr`` and ``batch`` when present)."""
        return self(data.x, data.edge_index, getattr(data, "batch", None),
                    getattr(data, "edge_attr", None), getattr(data, "num_graphs", None))


class NodeMessagePassing(GraphModelBase):
    """A graph model whose states live on nodes, with any :class:`MessagePassingLayer` (set ``layer_class``):

        h_v = W_in x_v + b
        depth x h = layer(h, graph, edge_term_l)      edge_term_l = W_l a_uv (None without edge features)
        node read-off: y_v = head(h_v);  graph read-off: y_G = head(pool{h_v : v in G})

    Edge features of repeated entries of ``edge_index`` are averaged per undirected edge after encoding.
    """

    layer_class: type[MessagePassingLayer] | None = None

    def __init__(self, in_dim: int, out_dim: int = 1, depth: int = 3, width: int = 32, **kw):
        super().__init__(in_dim, out_dim, depth, width, **kw)
        if self.layer_class is None:
            raise TypeError(f"{type(self).__name__} must set layer_class (a MessagePassingLayer subclass)")
        c = self.config
        self.embed = nn.Linear(self.node_encoder.out_dim, width)
        self.layers = nn.ModuleList(self.layer_class(width, activation=c["activation"], reduce=c["reduce"],
                                                     norm=c["norm"], dropout=c["dropout"]) for _ in range(depth))
        self.edge_proj = nn.ModuleList(nn.Linear(self.edge_encoder.out_dim, width, bias=False)
                                       for _ in range(depth)) if self.edge_encoder is not None else None

    def forward(self, x, edge_index, batch=None, edge_attr=None, num_graphs=None):
        x, N, batch, num_graphs = self._inputs(x, edge_index, batch, num_graphs)
        g = undirected_graph(edge_index, N)
        a = self._edge_features(edge_attr, edge_index.shape[1])
        if a is not None:
            a = g.entry_mean(a)
        h = self.embed(x)
        return self._propagate_nodes(h, g, a, batch, num_graphs)


class NodeGCN(NodeMessagePassing):
    """Node-based GCN: :class:`NodeMessagePassing` with :class:`NodeGCNLayer` (eq. 3). Edge features, when given,
    are added to the messages: ``mean{h_w + W_e a_vw}`` (eq. 3 with an edge term)."""

    layer_class = NodeGCNLayer


class NodeSAGE(NodeMessagePassing):
    """Node control that can mix its own and its neighbours' state: :class:`NodeMessagePassing` with
    :class:`NodeSAGELayer` in place of eq. 3 (same embedding, edge-feature projection and heads)."""

    layer_class = NodeSAGELayer


class EdgeMessagePassing(GraphModelBase):
    """A graph model whose states live on the undirected edges, with any :class:`MessagePassingLayer` that maps
    edge states (set ``layer_class``; it is called as ``layer(h, graph)``):

        h_uv = A (x_u + x_v) + B (x_u * x_v) + c  [+ C a_uv]     (symmetric in u, v)
        depth x h = layer(h, graph)
        node read-off: y_v = head(pool{h_e : e at v})   (isolated node: pool = 0)
        graph read-off: y_G = head(pool{h_e : e in G})  (graph without edges: pool = 0)
    """

    layer_class: type[MessagePassingLayer] | None = None

    def __init__(self, in_dim: int, out_dim: int = 1, depth: int = 3, width: int = 32, **kw):
        super().__init__(in_dim, out_dim, depth, width, **kw)
        if self.layer_class is None:
            raise TypeError(f"{type(self).__name__} must set layer_class (a MessagePassingLayer subclass)")
        c = self.config
        d = self.node_encoder.out_dim
        self.embed_sum = nn.Linear(d, width)
        self.embed_prod = nn.Linear(d, width, bias=False)
        self.edge_embed = (nn.Linear(self.edge_encoder.out_dim, width, bias=False)
                           if self.edge_encoder is not None else None)
        self.layers = nn.ModuleList(self.layer_class(width, activation=c["activation"], reduce=c["reduce"],
                                                     norm=c["norm"], dropout=c["dropout"]) for _ in range(depth))

    def edge_embeddings(self, x, edge_index, batch=None, edge_attr=None, num_graphs=None):
        """Final edge embeddings ``[E, width]`` and the undirected graph they live on."""
        x, N, batch, num_graphs = self._inputs(x, edge_index, batch, num_graphs)
        g = undirected_graph(edge_index, N)
        u, v = g.edges
        xu, xv = x.index_select(0, u), x.index_select(0, v)
        h = self.embed_sum(xu + xv) + self.embed_prod(xu * xv)
        a = self._edge_features(edge_attr, edge_index.shape[1])
        if a is not None:
            h = h + self.edge_embed(g.entry_mean(a))
        for layer in self.layers:
            h = layer(h, g)
        return h, g, batch, num_graphs

    def forward(self, x, edge_index, batch=None, edge_attr=None, num_graphs=None):
        h, g, batch, num_graphs = self.edge_embeddings(x, edge_index, batch, edge_attr, num_graphs)
        u, v = g.edges
        if self.level == "node":
            return self.head(incident_pool(h, g, self.pool))
        return self._graph_head(h, batch[u], num_graphs)

class EdgeGCN(EdgeMessagePassing):
    """Edge-based GCN: :class:`EdgeMessagePassing` with :class:`EdgeGCNLayer` (eq. 4, O(|E|) line-graph mean).
    Used both as learner and, randomly initialised (depth k, width 10), as the planted-star target model."""

    layer_class = EdgeGCNLayer


class EdgeGCNDirected(GraphModelBase):
    """Edge-based GCN on directed edges, messages exclude the reverse edge (BP-like, paper App. D):

        h_{u->v} = A x_u + B x_v + c  [+ C a_uv]
        depth x EdgeGCNDirectedLayer
        node read-off: y_v = head(pool{h_{w->v} : w in N(v)})   (the incoming messages, like a BP belief)
    """

    directed = True

    def __init__(self, in_dim: int, out_dim: int = 1, depth: int = 3, width: int = 32, **kw):
        super().__init__(in_dim, out_dim, depth, width, **kw)
        c = self.config
        d = self.node_encoder.out_dim
        self.embed_src = nn.Linear(d, width)
        self.embed_dst = nn.Linear(d, width, bias=False)
        self.edge_embed = (nn.Linear(self.edge_encoder.out_dim, width, bias=False)
                           if self.edge_encoder is not None else None)
        self.layers = nn.ModuleList(EdgeGCNDirectedLayer(width, c["activation"], c["reduce"], c["norm"],
                                                         c["dropout"]) for _ in range(depth))

    def forward(self, x, edge_index, batch=None, edge_attr=None, num_graphs=None):
        x, N, batch, num_graphs = self._inputs(x, edge_index, batch, num_graphs)
        g = directed_graph(edge_index, N)
        src, dst = g.edges
        h = self.embed_src(x[src]) + self.embed_dst(x[dst])
        a = self._edge_features(edge_attr, edge_index.shape[1])
        if a is not None:
            h = h + self.edge_embed(a)
        for layer in self.layers:
            h = layer(h, g)
        if self.level == "node":
            return self.head(scatter_reduce_rows(h, dst, N, self.pool))
        return self._graph_head(h, batch[dst], num_graphs)


class NodeGCNDirected(GraphModelBase):
    """Node-based GCN with non-backtracking messages (:class:`NodeGCNDirectedLayer`): ``h_v = W_in x_v + b``,
    ``depth`` layers, head on ``h_v`` (node level) or on pooled ``h_v`` (graph level). Edge features, when
    given, are projected per layer and added to the messages ``m_{w->v}``."""

    directed = True

    def __init__(self, in_dim: int, out_dim: int = 1, depth: int = 3, width: int = 32, **kw):
        super().__init__(in_dim, out_dim, depth, width, **kw)
        c = self.config
        self.embed = nn.Linear(self.node_encoder.out_dim, width)
        self.layers = nn.ModuleList(NodeGCNDirectedLayer(width, c["activation"], c["reduce"], c["norm"],
                                                         c["dropout"]) for _ in range(depth))
        self.edge_proj = nn.ModuleList(nn.Linear(self.edge_encoder.out_dim, width, bias=False)
                                       for _ in range(depth)) if self.edge_encoder is not None else None

    def forward(self, x, edge_index, batch=None, edge_attr=None, num_graphs=None):
        x, N, batch, num_graphs = self._inputs(x, edge_index, batch, num_graphs)
        g = directed_graph(edge_index, N)
        a = self._edge_features(edge_attr, edge_index.shape[1])
        h = self.embed(x)
        return self._propagate_nodes(h, g, a, batch, num_graphs)


class DeepSets(GraphModelBase):
    """Structure-free baseline: ``phi`` = per-node MLP (``depth`` hidden layers of ``width``), then

        node level:  y_v = head(phi(x_v) + W_g pool{phi(x_w) : w in graph(v)})
        graph level: y_G = head(pool{phi(x_w) : w in G})

    ``edge_index`` is only checked, never used: a table row shows whether the graph matters at all.
    """

    def __init__(self, in_dim: int, out_dim: int = 1, depth: int = 3, width: int = 32, **kw):
        super().__init__(in_dim, out_dim, depth, width, **kw)
        act = self.config["activation"]
        layers: list[nn.Module] = [nn.Linear(self.node_encoder.out_dim, width), _activation(act)]
        for _ in range(max(depth - 1, 0)):
            layers += [nn.Linear(width, width), _activation(act)]
        self.phi = nn.Sequential(*layers)
        self.context = nn.Linear(width, width, bias=False)

    def forward(self, x, edge_index, batch=None, edge_attr=None, num_graphs=None):
        x, N, batch, num_graphs = self._inputs(x, edge_index, batch, num_graphs)
        h = self.phi(x)
        pooled = scatter_reduce_rows(h, batch, num_graphs, self.pool)
        if self.level == "node":
            return self.head(h + self.context(pooled).index_select(0, batch))
        return self.head(pooled)


def build_model(name: str, in_dim: int, out_dim: int = 1, depth: int = 3, width: int = 32, **kw) -> GraphModelBase:
    """Construct a model by its registered name (:data:`gapbench.registry.GRAPH_MODELS`, where the classes above
    are registered); keyword arguments as :class:`GraphModelBase`."""
    from gapbench.registry import build_graph_model

    return build_graph_model(name, in_dim, out_dim, depth, width, **kw)
