"""Line-graph aggregation in O(|E|), without building the line graph (docs/science.md, Part I).

The edge layer (eq. 4) aggregates, for every edge ``e = uv``, over the edges ``f != e`` that share an endpoint
with ``e``: the neighbourhood of ``e`` in the line graph ``L(G)``. Building ``L(G)`` costs ``sum_v deg(v)^2``
(``n^2`` on a star with ``n`` leaves). The aggregate never needs it:

1. Per node, ``S_v = sum of h_f over edges f at v`` and ``deg v`` cost one pass over the ``2|E|`` incidences.
2. The neighbours of ``e = uv`` in ``L(G)`` are (edges at u) + (edges at v) minus ``e`` counted at both ends.
3. Hence ``sum = S_u + S_v - 2 h_e``, ``count = deg u + deg v - 2``, ``mean = sum / count``: O(|E|) in total.

Max keeps, per node and feature, the largest and second-largest value at that node: the max over the edges at
``u`` other than ``e`` is the second-largest when ``h_e`` is the largest, else the largest (ties included,
since removing one copy of a tied maximum leaves another). The aggregate is the max of the two sides.

Parallel edges (several edges between the same two nodes) are handled exactly: a neighbour ``f`` parallel to
``e`` is seen at both endpoints, so it is subtracted once from the sum and from the count (each neighbouring edge
counts once, as in ``torch_geometric.transforms.LineGraph``). Self-loops have no well-defined line-graph
neighbourhood here and are refused. An edge without neighbours (an isolated edge) aggregates to **zero**
(all reductions): the empty mean/sum/max is defined as 0, never NaN.

The same exclusion trick gives the non-backtracking aggregate used by the directed (belief-propagation-like)
models: for a directed edge ``j = (u -> v)`` aggregate over the edges ``(w -> u)`` with ``w != v``, i.e. all edges
into ``u`` except the reverse of ``j``: ``(T_u - h_{v->u}) / (indeg u - 1)`` with ``T_u`` the sum into ``u``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gapbench.errors import GapbenchError

REDUCES = ("mean", "sum", "max")


class GraphInputError(GapbenchError, ValueError):
    """A graph given to an operator or model is malformed (shape, index range, self-loop, ...)."""


@dataclass(frozen=True)
class LineGraphIndex:
    """What :func:`line_graph_aggregate` needs from ``edge_index`` (compute once, reuse in every layer).

    ``src``/``dst``: endpoints of each undirected edge ``[E]``; ``deg``: node degrees ``[N]`` (float);
    ``count``: number of line-graph neighbours of each edge ``[E]`` (float, 0 for an isolated edge);
    ``inv_count``: ``1 / count``, 0 where ``count == 0`` (the empty mean is 0);
    ``group``/``group_size``: for multigraphs, the id of each edge's parallel class and the class sizes
    (``None`` for a simple graph).
    """

    src: torch.Tensor
    dst: torch.Tensor
    num_nodes: int
    deg: torch.Tensor
    count: torch.Tensor
    inv_count: torch.Tensor
    group: torch.Tensor | None
    group_size: torch.Tensor | None


def check_edge_index(edge_index: torch.Tensor, num_nodes: int) -> None:
    if not isinstance(edge_index, torch.Tensor) or edge_index.dim() != 2 or edge_index.shape[0] != 2:
        shape = tuple(edge_index.shape) if isinstance(edge_index, torch.Tensor) else type(edge_index).__name__
        raise GraphInputError(f"edge_index must be an integer tensor of shape [2, E], got {shape}")
    if edge_index.dtype not in (torch.int64, torch.int32):
        raise GraphInputError(f"edge_index must hold integers (int64), got {edge_index.dtype}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise GraphInputError(
            f"edge_index refers to node {int(edge_index.max())} or {int(edge_index.min())}, "
            f"outside 0..{num_nodes - 1} (num_nodes={num_nodes})"
        )


def line_graph_index(edge_index: torch.Tensor, num_nodes: int) -> LineGraphIndex:
    """Degrees, neighbour counts and parallel classes of an undirected edge list ``[2, E]`` (each edge once).

    Raises :class:`GraphInputError` for a malformed ``edge_index`` or a self-loop.
    """
    check_edge_index(edge_index, num_nodes)
    src, dst = edge_index[0].long(), edge_index[1].long()
    if bool((src == dst).any()):
        e = int((src == dst).nonzero()[0, 0])
        raise GraphInputError(
            f"edge {e} is a self-loop ({int(src[e])}, {int(src[e])}): the line graph of a self-loop is not "
            "defined here; remove self-loops (eq. 3/4 exclude the node/edge itself anyway)"
        )
    E = src.numel()
    device = src.device
    deg = torch.zeros(num_nodes, device=device, dtype=torch.float64)
    ones = torch.ones(E, device=device, dtype=torch.float64)
    deg.index_add_(0, src, ones).index_add_(0, dst, ones)
    count = deg[src] + deg[dst] - 2.0
    group = group_size = None
    if E:
        lo, hi = torch.minimum(src, dst), torch.maximum(src, dst)
        _, inverse, sizes = torch.unique(lo * num_nodes + hi, return_inverse=True, return_counts=True)
        if bool((sizes > 1).any()):
            group, group_size = inverse, sizes.to(torch.float64)
            # a parallel neighbour is seen at both ends: count it once
            count = count - (group_size[group] - 1.0)
    inv_count = torch.where(count > 0, 1.0 / count.clamp(min=1.0), torch.zeros_like(count))
    return LineGraphIndex(src, dst, num_nodes, deg, count, inv_count, group, group_size)


def _exclusive_max(values: torch.Tensor, groups: torch.Tensor, num_groups: int,
                   q_group: torch.Tensor, q_value: torch.Tensor) -> torch.Tensor:
    """Per query q: max over the members of group ``q_group[q]`` with one copy of ``q_value[q]`` removed.

    ``values [M, F]`` with ``groups [M]``; ``q_value`` must be a member value of its group. Empty -> ``-inf``.
    """
    F = values.shape[1]
    neg = torch.full((num_groups, F), float("-inf"), device=values.device, dtype=values.dtype)
    idx = groups.unsqueeze(1).expand(-1, F)
    top1 = neg.scatter_reduce(0, idx, values, reduce="amax", include_self=True)
    is_top = values == top1[groups]
    n_top = torch.zeros((num_groups, F), device=values.device, dtype=torch.int64)
    n_top.index_add_(0, groups, is_top.long())
    below = torch.where(is_top, torch.full_like(values, float("-inf")), values)
    second = neg.scatter_reduce(0, idx, below, reduce="amax", include_self=True)
    top2 = torch.where(n_top >= 2, top1, second)
    t1, t2 = top1[q_group], top2[q_group]
    return torch.where(q_value == t1, t2, t1)


def line_graph_aggregate(h_edge: torch.Tensor, edge_index: torch.Tensor, num_nodes: int,
                         reduce: str = "mean", index: LineGraphIndex | None = None) -> torch.Tensor:
    """Aggregate ``h_edge`` over line-graph neighbours, exactly, in O(|E|) time and memory.

    Row ``e`` of the result is ``reduce{h_f : f != e, f shares an endpoint with e}`` (docs/science.md, eq. 4):
    with ``S_v = sum_{f at v} h_f``, ``sum(e=uv) = S_u + S_v - 2 h_e`` and
    ``mean(e=uv) = (S_u + S_v - 2 h_e) / (deg u + deg v - 2)``; ``max`` from per-node top-2.

    Args:
        h_edge: ``[E, F]`` edge embeddings (floating point).
        edge_index: ``[2, E]`` undirected edges, each listed once (either orientation); parallel edges are
            handled exactly (each neighbouring edge counted once); self-loops are refused.
        num_nodes: number of nodes (isolated nodes allowed).
        reduce: ``"mean"``, ``"sum"`` or ``"max"``.
        index: optional precomputed :func:`line_graph_index` of ``edge_index`` (saves the O(|E| log |E|)
            parallel-edge check when the same graph is aggregated in many layers).

    Returns:
        ``[E, F]``; rows of edges with no neighbours are zero.
    """
    if reduce not in REDUCES:
        raise GraphInputError(f"reduce must be one of {', '.join(REDUCES)}, got {reduce!r}")
    if h_edge.dim() != 2:
        raise GraphInputError(f"h_edge must have shape [E, F], got {tuple(h_edge.shape)}")
    if index is None:
        index = line_graph_index(edge_index, num_nodes)
    src, dst = index.src, index.dst
    if h_edge.shape[0] != src.numel():
        raise GraphInputError(f"h_edge has {h_edge.shape[0]} rows but edge_index has {src.numel()} edges")
    E, F = h_edge.shape
    if E == 0:
        return h_edge.new_zeros((0, F))
    if reduce == "max":
        values = torch.cat([h_edge, h_edge])
        groups = torch.cat([src, dst])
        side_u = _exclusive_max(values, groups, num_nodes, src, h_edge)
        side_v = _exclusive_max(values, groups, num_nodes, dst, h_edge)
        out = torch.maximum(side_u, side_v)
        return torch.where(torch.isneginf(out), torch.zeros_like(out), out)
    S = h_edge.new_zeros((num_nodes, F))
    S.index_add_(0, src, h_edge).index_add_(0, dst, h_edge)
    total = S.index_select(0, src).add_(S.index_select(0, dst)).sub_(h_edge, alpha=2.0)  # S_u + S_v - 2 h_e
    if index.group is not None:
        # each parallel neighbour f of e was added at both endpoints: remove one copy
        P = h_edge.new_zeros((index.group_size.numel(), F)).index_add_(0, index.group, h_edge)
        total = total - (P.index_select(0, index.group) - h_edge)
    if reduce == "sum":
        return total
    return total.mul_(index.inv_count.to(h_edge.dtype).unsqueeze(1))


def reverse_edges(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """For directed edges ``[2, E]`` listing both directions of every edge: ``rev[j]`` = index of ``(v, u)``.

    Raises :class:`GraphInputError` when an edge has no reverse, on repeated edges, or on self-loops.
    """
    check_edge_index(edge_index, num_nodes)
    src, dst = edge_index[0].long(), edge_index[1].long()
    if bool((src == dst).any()):
        raise GraphInputError("self-loops have no reverse message; remove them before the directed models")
    key = src * num_nodes + dst
    order = torch.argsort(key)
    sorted_key = key[order]
    if sorted_key.numel() > 1 and bool((sorted_key[1:] == sorted_key[:-1]).any()):
        raise GraphInputError("edge_index repeats a directed edge; the directed models need a simple graph")
    rkey = dst * num_nodes + src
    pos = torch.searchsorted(sorted_key, rkey).clamp(max=max(key.numel() - 1, 0))
    if key.numel() and not bool((sorted_key[pos] == rkey).all()):
        j = int((sorted_key[pos] != rkey).nonzero()[0, 0])
        raise GraphInputError(
            f"edge ({int(src[j])}, {int(dst[j])}) has no reverse: edge_index must list both directions"
        )
    return order[pos]


def exclusive_aggregate(values: torch.Tensor, groups: torch.Tensor, num_groups: int,
                        q_group: torch.Tensor, q_member: torch.Tensor, reduce: str = "mean") -> torch.Tensor:
    """``reduce{values[m] : groups[m] == q_group[q], m != q_member[q]}`` for every query ``q``, in O(M + Q).

    The one-sided form of the exclusion trick: ``(G_g - v_m) / (|g| - 1)`` with ``G_g`` the group sum.
    With ``values = h`` of directed edges, ``groups = dst`` and queries ``j = (u -> v)`` asking group ``u``
    minus member ``rev[j]``, this is the non-backtracking (belief-propagation) aggregate. Empty -> 0.
    """
    if reduce not in REDUCES:
        raise GraphInputError(f"reduce must be one of {', '.join(REDUCES)}, got {reduce!r}")
    F = values.shape[1]
    if q_group.numel() == 0:
        return values.new_zeros((0, F))
    excluded = values[q_member]
    if reduce == "max":
        out = _exclusive_max(values, groups, num_groups, q_group, excluded)
        return torch.where(torch.isneginf(out), torch.zeros_like(out), out)
    G = values.new_zeros((num_groups, F)).index_add_(0, groups, values)
    total = G[q_group] - excluded
    if reduce == "sum":
        return total
    size = torch.zeros(num_groups, device=values.device, dtype=values.dtype)
    size.index_add_(0, groups, torch.ones_like(groups, dtype=values.dtype))
    count = (size[q_group] - 1.0).unsqueeze(1)
    return torch.where(count > 0, total / count.clamp(min=1.0), torch.zeros_like(total))


def explicit_line_graph_aggregate(h_edge: torch.Tensor, edge_index: torch.Tensor, num_nodes: int,
                                  reduce: str = "mean") -> torch.Tensor:
    """Reference implementation that materialises the line graph (``sum_v deg(v)^2`` pairs).

    Used by the tests and by ``benchmarks/edge_layer.py`` as the quadratic baseline; same conventions as
    :func:`line_graph_aggregate` (each neighbouring edge once, empty -> 0).
    """
    if reduce not in REDUCES:
        raise GraphInputError(f"reduce must be one of {', '.join(REDUCES)}, got {reduce!r}")
    check_edge_index(edge_index, num_nodes)
    src, dst = edge_index[0].long(), edge_index[1].long()
    E, F = h_edge.shape
    inc_node = torch.cat([src, dst])
    inc_edge = torch.cat([torch.arange(E, device=src.device)] * 2)
    order = torch.argsort(inc_node, stable=True)
    inc_node, inc_edge = inc_node[order], inc_edge[order]
    deg = torch.bincount(inc_node, minlength=num_nodes)
    start = torch.cumsum(deg, 0) - deg
    # all ordered pairs (e, f) of incidences at the same node: sum_v deg(v)^2 of them
    d = deg[inc_node]
    rows = torch.repeat_interleave(torch.arange(inc_node.numel(), device=src.device), d)
    offs = torch.arange(rows.numel(), device=src.device) - torch.repeat_interleave(torch.cumsum(d, 0) - d, d)
    cols = start[inc_node[rows]] + offs
    e, f = inc_edge[rows], inc_edge[cols]
    keep = e != f
    e, f = e[keep], f[keep]
    pair = torch.unique(e * E + f)  # each neighbour once, even when seen at both endpoints
    e, f = pair // E, pair % E
    out = h_edge.new_zeros((E, F))
    if reduce == "max":
        neg = torch.full((E, F), float("-inf"), dtype=h_edge.dtype, device=h_edge.device)
        out = neg.scatter_reduce(0, e.unsqueeze(1).expand(-1, F), h_edge[f], reduce="amax", include_self=True)
        return torch.where(torch.isneginf(out), torch.zeros_like(out), out)
    out.index_add_(0, e, h_edge[f])
    if reduce == "sum":
        return out
    cnt = torch.bincount(e, minlength=E).to(h_edge.dtype).unsqueeze(1)
    return torch.where(cnt > 0, out / cnt.clamp(min=1.0), out)
