"""Graph structure the GNN layers need, built once per graph and concatenated per mini-batch.

Every layer of a model reads the same structure of its input graph (ops.py): the simple undirected graph
under ``edge_index`` with its line-graph index (degrees, line-graph neighbour counts, parallel classes), and,
for the directed models, the reverse of each directed edge. Deriving it costs sorting (``torch.unique``,
``argsort``) and data-dependent checks, i.e. several device-to-host synchronisations on a GPU. So:

* :func:`graph_structure` derives it for one graph, :class:`SplitStructure` for every graph of a split (once,
  when the split is loaded);
* :meth:`SplitStructure.batch` concatenates the structures of a mini-batch's graphs with index offsets,
  exactly as the batch's ``edge_index`` is concatenated: graph ``k`` with ``n_k`` nodes, ``m_k`` undirected
  edges and ``e_k`` entries shifts its node indices by ``sum_{j<k} n_j``, its undirected edge ids by
  ``sum_{j<k} m_j`` and its entry ids by ``sum_{j<k} e_j``. Degrees and neighbour counts are per graph, so they
  are gathered unchanged. Index arrays and offsets are computed on the host, so collation never waits for the
  device, and each part is built only when a model first reads it;
* :func:`attach` hands the result to the models with the batch's ``edge_index`` tensor itself (an attribute
  of that tensor object): :func:`undirected_graph` and :func:`directed_graph` return the attached structure
  instead of deriving it again, and the models skip re-checking an edge list that was checked per graph. A
  tensor derived from it (``.to(device)``, slicing, arithmetic) is a new object without the attribute, so it is
  derived afresh; edit a collated ``edge_index`` in place only before attaching.

The result equals deriving the structure of the whole batch at once (tests/test_gnn_structure.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from gapbench.models.ops import GraphInputError, LineGraphIndex, check_edge_index, line_graph_index, reverse_edges

ATTRIBUTE = "gapbench_structure"


@dataclass
class UndirectedGraph:
    """The simple undirected graph under a PyG ``edge_index``: ``edges [2, E]`` (u < v, each pair once),
    ``entry_to_edge [E']`` (which undirected edge each non-loop entry of ``edge_index`` became, or -1 for a
    self-loop) and the line-graph index of ``edges`` (degrees, neighbour counts)."""

    num_nodes: int
    edges: torch.Tensor
    entry_to_edge: torch.Tensor
    index: LineGraphIndex

    def entry_mean(self, values: torch.Tensor) -> torch.Tensor:
        """Per undirected edge, the mean of ``values [E', F]`` over the entries that became it (self-loop entries
        dropped): without a boolean mask, so without waiting for the device (self-loops go to a spare row)."""
        n_edges = self.edges.shape[1]
        index = torch.where(self.entry_to_edge >= 0, self.entry_to_edge, n_edges)
        total = values.new_zeros((n_edges + 1, values.shape[1])).index_add_(0, index, values)
        count = torch.zeros(n_edges + 1, dtype=values.dtype, device=values.device)
        count.index_add_(0, index, torch.ones_like(index, dtype=values.dtype))
        return (total / count.clamp(min=1.0).unsqueeze(1))[:n_edges]

    @property
    def inv_deg(self) -> torch.Tensor:
        """``1 / deg v`` per node, 0 for an isolated node (the empty mean is 0)."""
        deg = self.index.deg
        return torch.where(deg > 0, 1.0 / deg.clamp(min=1.0), torch.zeros_like(deg))


@dataclass
class DirectedGraph:
    """Directed edges ``[2, E']`` (both directions, no self-loops) and ``rev [E']`` (index of the reverse)."""

    num_nodes: int
    edges: torch.Tensor
    rev: torch.Tensor


class GraphStructure:
    """Everything the layers derive from one ``edge_index``: ``undirected`` (:class:`UndirectedGraph`) and, when
    every edge is listed in both directions without self-loops, ``directed`` (:class:`DirectedGraph`; ``None``
    otherwise, and the directed models then derive it themselves and raise the reason). Each part is built by
    its function on first use, so a batch pays only for what its model reads."""

    def __init__(self, num_nodes: int, num_entries: int, undirected: Callable[[], UndirectedGraph],
                 directed: Callable[[], DirectedGraph | None]):
        self.num_nodes, self.num_entries = num_nodes, num_entries
        self._build_undirected, self._build_directed = undirected, directed

    @cached_property
    def undirected(self) -> UndirectedGraph:
        return self._build_undirected()

    @cached_property
    def directed(self) -> DirectedGraph | None:
        return self._build_directed()


def _derive_undirected(edge_index: torch.Tensor, num_nodes: int) -> UndirectedGraph:
    check_edge_index(edge_index, num_nodes)
    src, dst = edge_index[0].long(), edge_index[1].long()
    lo, hi = torch.minimum(src, dst), torch.maximum(src, dst)
    loop = lo == hi
    key = lo * num_nodes + hi
    uniq, inverse = torch.unique(key[~loop], return_inverse=True)
    entry_to_edge = torch.full_like(key, -1)
    entry_to_edge[~loop] = inverse
    edges = torch.stack([uniq // num_nodes, uniq % num_nodes])
    return UndirectedGraph(num_nodes, edges, entry_to_edge, line_graph_index(edges, num_nodes))


def attached(edge_index: torch.Tensor, num_nodes: int) -> GraphStructure | None:
    """The structure :func:`attach` put on this very tensor, if it describes ``num_nodes`` nodes."""
    s = getattr(edge_index, ATTRIBUTE, None)
    return s if s is not None and s.num_nodes == num_nodes and s.num_entries == edge_index.shape[1] else None


def attach(edge_index: torch.Tensor, structure: GraphStructure) -> torch.Tensor:
    """Record ``structure`` on ``edge_index`` (returned) for the models to reuse."""
    setattr(edge_index, ATTRIBUTE, structure)
    return edge_index


def undirected_graph(edge_index: torch.Tensor, num_nodes: int) -> UndirectedGraph:
    """Collapse ``edge_index`` to its simple undirected graph (self-loops dropped, repeats merged)."""
    s = attached(edge_index, num_nodes)
    return s.undirected if s is not None else _derive_undirected(edge_index, num_nodes)


def directed_graph(edge_index: torch.Tensor, num_nodes: int) -> DirectedGraph:
    """``edge_index`` with the reverse of every edge (raises GraphInputError when one has none)."""
    s = attached(edge_index, num_nodes)
    if s is not None and s.directed is not None:
        return s.directed
    return DirectedGraph(num_nodes, edge_index.long(), reverse_edges(edge_index, num_nodes))


def graph_structure(edge_index: torch.Tensor, num_nodes: int) -> GraphStructure:
    """Derive the structure of one graph now (checks ``edge_index``; raises GraphInputError when malformed)."""
    undirected = _derive_undirected(edge_index, num_nodes)
    try:
        directed = DirectedGraph(num_nodes, edge_index.long(), reverse_edges(edge_index, num_nodes))
    except GraphInputError:
        directed = None
    return GraphStructure(num_nodes, int(edge_index.shape[1]), lambda: undirected, lambda: directed)


def segment_ranges(ptr: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the segments ``idx`` of a flat array with boundaries ``ptr``: the positions of their elements in
    order (``gather``), each segment's length and where it starts in the result."""
    lengths = ptr[idx + 1] - ptr[idx]
    starts = np.cumsum(lengths) - lengths
    gather = np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(ptr[idx] - starts, lengths)
    return gather, lengths, starts


class SplitStructure:
    """The structures of every graph of a dataset split, flat, for collating any mini-batch of them.

    Per graph the structure is derived once (:func:`graph_structure`, with its checks) and stored with local
    indices in flat arrays (node, undirected-edge and entry segments). :meth:`batch` gathers the batch's
    segments with index arrays computed on the host and adds the offsets: node indices shift by the node
    counts of the graphs before, edge ids by their edge counts, entry ids by their entry counts.
    """

    def __init__(self, edge_indices: list[torch.Tensor], num_nodes: list[int]):
        parts = [graph_structure(ei, n) for ei, n in zip(edge_indices, num_nodes)]
        und = [p.undirected for p in parts]
        self.node_ptr = np.cumsum([0] + [p.num_nodes for p in parts], dtype=np.int64)
        self.edge_ptr = np.cumsum([0] + [u.edges.shape[1] for u in und], dtype=np.int64)
        self.entry_ptr = np.cumsum([0] + [p.num_entries for p in parts], dtype=np.int64)
        device = edge_indices[0].device if edge_indices else torch.device("cpu")
        cat = lambda xs, **kw: torch.cat(xs, **kw) if xs else torch.zeros(0, device=device)  # noqa: E731
        self.edges = torch.cat([u.edges for u in und], dim=1) if und else torch.zeros(2, 0, dtype=torch.long)
        self.entry_to_edge = cat([u.entry_to_edge for u in und])
        self.deg, self.count = cat([u.index.deg for u in und]), cat([u.index.count for u in und])
        self.inv_count = cat([u.index.inv_count for u in und])
        self.rev = cat([p.directed.rev for p in parts]) if all(p.directed is not None for p in parts) else None

    def __len__(self) -> int:
        return len(self.node_ptr) - 1

    def batch(self, idx, edge_index: torch.Tensor) -> GraphStructure:
        """The structure of the batch of graphs ``idx`` whose concatenated ``edge_index`` is given."""
        idx = np.asarray(idx, dtype=np.int64)
        device = self.edges.device
        on_device = lambda a: torch.from_numpy(a).to(device, non_blocking=True)  # noqa: E731
        num_nodes = int((self.node_ptr[idx + 1] - self.node_ptr[idx]).sum())

        def undirected() -> UndirectedGraph:
            node_gather, _, node_starts = segment_ranges(self.node_ptr, idx)
            entry_gather, n_entries, _ = segment_ranges(self.entry_ptr, idx)
            edge_gather, n_edges, edge_starts = segment_ranges(self.edge_ptr, idx)
            eg = on_device(edge_gather)
            edges = self.edges[:, eg] + on_device(np.repeat(node_starts, n_edges))
            local = self.entry_to_edge[on_device(entry_gather)]
            e2e = torch.where(local >= 0, local + on_device(np.repeat(edge_starts, n_entries)), local)
            # repeats were merged into one undirected edge: a simple graph has no parallel classes
            index = LineGraphIndex(edges[0], edges[1], num_nodes, self.deg[on_device(node_gather)], self.count[eg],
                                   self.inv_count[eg], None, None)
            return UndirectedGraph(num_nodes, edges, e2e, index)

        def directed() -> DirectedGraph | None:
            if self.rev is None:
                return None
            entry_gather, n_entries, entry_starts = segment_ranges(self.entry_ptr, idx)
            rev = self.rev[on_device(entry_gather)] + on_device(np.repeat(entry_starts, n_entries))
            return DirectedGraph(num_nodes, edge_index.long(), rev)

        return GraphStructure(num_nodes, int(edge_index.shape[1]), undirected, directed)
