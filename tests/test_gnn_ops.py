"""O(|E|) line-graph aggregation (gapbench.models.ops) against explicit line-graph computations."""

from __future__ import annotations

import itertools

import pytest
import torch

from gapbench.models.ops import (
    REDUCES,
    GraphInputError,
    exclusive_aggregate,
    explicit_line_graph_aggregate,
    line_graph_aggregate,
    reverse_edges,
)

torch.set_num_threads(1)


def brute_force(h: torch.Tensor, edges: list[tuple[int, int]], reduce: str) -> torch.Tensor:
    """Loop over all pairs of edges: f is a neighbour of e iff f != e and they share an endpoint."""
    out = torch.zeros_like(h)
    for e, (a, b) in enumerate(edges):
        nb = [f for f, (c, d) in enumerate(edges) if f != e and {a, b} & {c, d}]
        if not nb:
            continue
        rows = h[nb]
        out[e] = {"mean": rows.mean(0), "sum": rows.sum(0), "max": rows.max(0).values}[reduce]
    return out


def pyg_line_graph(h: torch.Tensor, edge_index: torch.Tensor, num_nodes: int, reduce: str) -> torch.Tensor:
    """The same aggregate through torch_geometric.transforms.LineGraph (simple graphs only)."""
    from torch_geometric.data import Data
    from torch_geometric.transforms import LineGraph
    from torch_geometric.utils import scatter, to_undirected

    E = edge_index.shape[1]
    ei = to_undirected(edge_index, num_nodes=num_nodes)  # sorted, each pair in both directions
    lg = LineGraph()(Data(edge_index=ei, num_nodes=num_nodes))
    # LineGraph numbers the undirected edges in the order of ei's columns with row < col
    row, col = ei
    lg_pairs = torch.stack([row[row < col], col[row < col]])
    key = lambda p: (p.min(0).values * num_nodes + p.max(0).values)  # noqa: E731
    order = torch.argsort(key(edge_index))
    pos = torch.empty(E, dtype=torch.long)
    pos[order] = torch.argsort(torch.argsort(key(lg_pairs)))
    h_lg = torch.empty_like(h)
    h_lg[pos] = h
    src, dst = lg.edge_index
    agg = scatter(h_lg[src], dst, dim=0, dim_size=E, reduce=reduce)
    if reduce == "max":  # empty max is 0 in both conventions, but make it explicit
        deg = torch.bincount(dst, minlength=E)
        agg[deg == 0] = 0
    return agg[pos]


def random_simple_graph(gen: torch.Generator, n: int, p: float) -> list[tuple[int, int]]:
    pairs = [(a, b) for a, b in itertools.combinations(range(n), 2) if torch.rand(1, generator=gen) < p]
    perm = torch.randperm(len(pairs), generator=gen).tolist()
    # random orientation and order: the operator must not care
    return [pairs[i] if torch.rand(1, generator=gen) < 0.5 else pairs[i][::-1] for i in perm]


GRAPHS = {
    "star7": [(0, v) for v in range(1, 8)],
    "isolated_edge": [(0, 1)],
    "isolated_edges_and_nodes": [(0, 1), (3, 4), (5, 6), (4, 7)],  # node 2 isolated, (0,1) no neighbours
    "triangle_plus_tail": [(0, 1), (1, 2), (2, 0), (2, 3)],
    "two_stars": [(0, v) for v in range(1, 5)] + [(10, v) for v in range(11, 14)] + [(4, 11)],
}


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_named_graphs_match_brute_force_and_pyg(name, reduce):
    edges = GRAPHS[name]
    n = max(max(e) for e in edges) + 1
    gen = torch.Generator().manual_seed(1)
    h = torch.randn(len(edges), 3, generator=gen, dtype=torch.float64)
    ei = torch.tensor(edges).T
    fast = line_graph_aggregate(h, ei, n, reduce)
    torch.testing.assert_close(fast, brute_force(h, edges, reduce))
    torch.testing.assert_close(fast, pyg_line_graph(h, ei, n, reduce))
    torch.testing.assert_close(fast, explicit_line_graph_aggregate(h, ei, n, reduce))


@pytest.mark.parametrize("reduce", REDUCES)
def test_random_simple_graphs_match_pyg_line_graph(reduce):
    gen = torch.Generator().manual_seed(0)
    for trial in range(25):
        n = int(torch.randint(2, 14, (1,), generator=gen))
        edges = random_simple_graph(gen, n, p=float(torch.rand(1, generator=gen)) * 0.6 + 0.05)
        if not edges:
            continue
        h = torch.randn(len(edges), 4, generator=gen, dtype=torch.float64)
        if trial % 4 == 0 and len(edges) > 2:
            h[1] = h[0]  # exact ties for max
        ei = torch.tensor(edges).T
        fast = line_graph_aggregate(h, ei, n + 2, reduce)  # two extra isolated nodes
        torch.testing.assert_close(fast, pyg_line_graph(h, ei, n + 2, reduce), msg=f"trial {trial}")
        torch.testing.assert_close(fast, brute_force(h, edges, reduce), msg=f"trial {trial}")


@pytest.mark.parametrize("reduce", REDUCES)
def test_parallel_edges_are_counted_once(reduce):
    """Multigraph: each neighbouring edge counts once even though it is seen at both endpoints."""
    edges = [(0, 1), (1, 0), (0, 1), (1, 2), (2, 3), (3, 2), (4, 5), (5, 4)]
    h = torch.randn(len(edges), 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    ei = torch.tensor(edges).T
    fast = line_graph_aggregate(h, ei, 6, reduce)
    torch.testing.assert_close(fast, brute_force(h, edges, reduce))
    torch.testing.assert_close(fast, explicit_line_graph_aggregate(h, ei, 6, reduce))


@pytest.mark.parametrize("n", [1, 2, 5, 50])
def test_star_closed_form(n):
    """On a star the neighbours of a leaf edge are all other edges: mean = (S - h_e) / (n - 1)."""
    h = torch.randn(n, 3, generator=torch.Generator().manual_seed(n), dtype=torch.float64)
    ei = torch.stack([torch.zeros(n, dtype=torch.long), torch.arange(1, n + 1)])
    S = h.sum(0, keepdim=True)
    expected = (S - h) / (n - 1) if n > 1 else torch.zeros_like(h)
    torch.testing.assert_close(line_graph_aggregate(h, ei, n + 1, "mean"), expected)
    torch.testing.assert_close(line_graph_aggregate(h, ei, n + 1, "sum"), S - h)


def test_edge_cases_never_nan():
    # no edges at all
    out = line_graph_aggregate(torch.zeros(0, 3), torch.zeros(2, 0, dtype=torch.long), 4, "mean")
    assert out.shape == (0, 3)
    # isolated edge: documented zero for every reduction
    for reduce in REDUCES:
        out = line_graph_aggregate(torch.randn(1, 3), torch.tensor([[0], [1]]), 5, reduce)
        assert torch.equal(out, torch.zeros(1, 3))


def test_bad_input_is_refused_clearly():
    h = torch.randn(2, 3)
    with pytest.raises(GraphInputError, match="self-loop"):
        line_graph_aggregate(h, torch.tensor([[0, 1], [1, 1]]), 3)
    with pytest.raises(GraphInputError, match="rows"):
        line_graph_aggregate(torch.randn(3, 3), torch.tensor([[0, 1], [1, 2]]), 3)
    with pytest.raises(GraphInputError, match="outside"):
        line_graph_aggregate(h, torch.tensor([[0, 1], [1, 7]]), 3)
    with pytest.raises(GraphInputError, match=r"\[2, E\]"):
        line_graph_aggregate(h, torch.tensor([0, 1]), 3)
    with pytest.raises(GraphInputError, match="reduce"):
        line_graph_aggregate(h, torch.tensor([[0, 1], [1, 2]]), 3, "median")


@pytest.mark.parametrize("reduce", ["mean", "sum", "max"])
def test_gradients(reduce):
    ei = torch.tensor([[0, 0, 0, 1, 2], [1, 2, 3, 2, 4]])
    h = torch.randn(5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(5), requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: line_graph_aggregate(t, ei, 5, reduce), (h,))


@pytest.mark.parametrize("reduce", REDUCES)
def test_nonbacktracking_aggregate_matches_brute_force(reduce):
    """Directed edge j = (u -> v) aggregates the edges (w -> u) with w != v (belief propagation)."""
    pairs = [(0, 1), (1, 2), (1, 3), (3, 4), (3, 5), (5, 6), (0, 7)]
    ei = torch.tensor(pairs + [(b, a) for a, b in pairs]).T
    perm = torch.randperm(ei.shape[1], generator=torch.Generator().manual_seed(0))
    ei = ei[:, perm]
    h = torch.randn(ei.shape[1], 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    rev = reverse_edges(ei, 8)
    src, dst = ei
    assert torch.equal(src[rev], dst) and torch.equal(dst[rev], src)
    fast = exclusive_aggregate(h, dst, 8, src, rev, reduce)
    for j in range(ei.shape[1]):
        u, v = int(src[j]), int(dst[j])
        nb = [i for i in range(ei.shape[1]) if int(dst[i]) == u and int(src[i]) != v]
        want = torch.zeros(3, dtype=torch.float64) if not nb else \
            {"mean": h[nb].mean(0), "sum": h[nb].sum(0), "max": h[nb].max(0).values}[reduce]
        torch.testing.assert_close(fast[j], want)


def test_reverse_edges_refuses_one_directional_edges():
    with pytest.raises(GraphInputError, match="no reverse"):
        reverse_edges(torch.tensor([[0, 1, 1], [1, 0, 2]]), 3)
    with pytest.raises(GraphInputError, match="repeats"):
        reverse_edges(torch.tensor([[0, 0, 1], [1, 1, 0]]), 2)
