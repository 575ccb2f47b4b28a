"""Exact Ising marginals on trees by sum-product (docs/science.md, Part I; paper App. D).

Model on a tree with pairs ``(a, b)`` and spins ``s in {-1, +1}^N``::

    p(s) = exp( sum_{(a,b)} J_ab s_a s_b + sum_i h_i s_i ) / Z,      J_ab = J (= 1), h_i ~ N(0, field_std^2)   (ISING-1)

Label ``y_i = P(s_i = +1)``. Trees (:data:`TREES`): ``binary`` the complete binary tree in heap order (node ``i``'s
parent is ``(i-1)//2``; 31 nodes = depth 4), ``path`` (30), ``pruefer`` a uniformly random labelled tree from a
uniform Pruefer sequence in ``[N]^(N-2)`` (30, a new tree per graph).

Sum-product, rooted at node 0, in log space (float64). Upward, leaves first::

    up_v(s)      = h_v s + sum_{c child of v} m_{c->v}(s)
    m_{v->p}(t)  = log sum_s exp(J_vp s t + up_v(s))                                                (ISING-2)

downward, root first: ``bel_root = up_root``, ``m_{p->v}(s) = log sum_t exp(J_vp s t + bel_p(t) - m_{v->p}(t))``,
``bel_v = up_v + m_{p->v}``; then ``P(s_v = +1) = sigmoid(bel_v(+1) - bel_v(-1))`` — exact on trees.
Batched over graphs with the same node count; each graph may have its own tree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from gapbench.errors import ConfigError
from gapbench.graphs import variants
from gapbench.graphs.kinds import ISING_TREES as TREES
DEFAULT_NODES = {"binary": 31, "path": 30, "pruefer": 30}


def binary_tree(n: int) -> np.ndarray:
    """Pairs ``[2, n-1]`` (parent, child) of the complete binary tree on ``n`` nodes in heap order."""
    child = np.arange(1, n)
    return np.stack([(child - 1) // 2, child]).astype(np.int64)


def path_tree(n: int) -> np.ndarray:
    """Pairs ``[2, n-1]`` ``(i, i+1)`` of the path on ``n`` nodes."""
    return np.stack([np.arange(n - 1), np.arange(1, n)]).astype(np.int64)


def pruefer_tree(n: int, gen: np.random.Generator) -> np.ndarray:
    """Pairs ``[2, n-1]`` of a uniformly random labelled tree on ``n >= 2`` nodes (Pruefer decoding).

    Pair ``k`` is (leaf removed at step k, its neighbour), the last pair joins the two remaining nodes.
    """
    if n == 2:
        return np.array([[0], [1]], dtype=np.int64)
    seq = gen.integers(0, n, size=n - 2)
    degree = np.ones(n, dtype=np.int64)
    np.add.at(degree, seq, 1)
    pairs = []
    for v in seq:
        leaf = int(np.flatnonzero(degree == 1)[0])
        pairs.append((leaf, int(v)))
        degree[leaf] -= 1
        degree[v] -= 1
    u, w = np.flatnonzero(degree == 1)
    pairs.append((int(u), int(w)))
    return np.array(pairs, dtype=np.int64).T


def tree_pairs(tree: str, n: int, gen: np.random.Generator) -> np.ndarray:
    if tree not in TREES:
        raise ConfigError(f"Ising tree {tree!r}: expected one of {', '.join(TREES)}")
    if n < 2:
        raise ConfigError(f"Ising tree with {n} nodes: need at least 2")
    return {"binary": binary_tree, "path": path_tree}[tree](n) if tree != "pruefer" else pruefer_tree(n, gen)


def _rooted(pairs: np.ndarray, n: int) -> tuple[list[int], list[int], list[int]]:
    """BFS order from node 0, parent of each node (-1 at the root), and index of the pair to the parent."""
    if pairs.shape != (2, n - 1):
        raise ConfigError(f"a tree on {n} nodes has {n - 1} pairs, got pairs of shape {pairs.shape}")
    adj: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for k, (a, b) in enumerate(zip(*pairs.tolist())):
        adj[a].append((b, k))
        adj[b].append((a, k))
    order, parent, via = [0], [-1] * n, [-1] * n
    seen = [False] * n
    seen[0] = True
    for v in order:  # the list grows while we walk it: breadth-first
        for w, k in adj[v]:
            if not seen[w]:
                seen[w] = True
                parent[w], via[w] = v, k
                order.append(w)
    if len(order) != n:
        raise ConfigError(f"pairs do not form a tree on {n} nodes (not connected)")
    return order, parent, via


def marginals(pairs: np.ndarray, coupling: np.ndarray, field: np.ndarray) -> np.ndarray:
    """(ISING-2): ``P(s_i = +1)`` ``[B, N]`` (float64) for trees ``pairs [B, 2, N-1]``, ``coupling [B, N-1]``,
    ``field [B, N]``."""
    bsz, n = field.shape
    rooted = [_rooted(pairs[b], n) for b in range(bsz)]
    order = np.array([r[0] for r in rooted])
    parent = np.array([r[1] for r in rooted])
    via = np.array([r[2] for r in rooted])
    rows = np.arange(bsz)
    spin = np.array([-1.0, 1.0])
    up = field[:, :, None] * spin  # [B, N, 2]
    msg_up = np.zeros((bsz, n, 2))  # m_{v -> parent(v)}, indexed by v
    for k in range(n - 1, 0, -1):
        v = order[:, k]
        p = parent[rows, v]
        j = coupling[rows, via[rows, v]][:, None, None]
        m = np.logaddexp.reduce(j * spin[:, None] * spin[None, :] + up[rows, v][:, :, None], axis=1)
        msg_up[rows, v] = m
        up[rows, p] += m
    bel = up.copy()
    for k in range(1, n):
        v = order[:, k]
        p = parent[rows, v]
        j = coupling[rows, via[rows, v]][:, None, None]
        cavity = bel[rows, p] - msg_up[rows, v]  # [B, 2] over t = s_p
        m = np.logaddexp.reduce(j * spin[None, :] * spin[:, None] + cavity[:, None, :], axis=2)
        bel[rows, v] = up[rows, v] + m
    return 1.0 / (1.0 + np.exp(bel[..., 0] - bel[..., 1]))


@dataclass(frozen=True)
class IsingParams:
    """One Ising dataset: tree family, node count, coupling J, field std, graph count, splits, root seed."""

    tree: str
    n_graphs: int
    n_nodes: int | None = None
    coupling: float = 1.0
    field_std: float = 1.0
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0

    @property
    def variant(self) -> str:
        return variants.make("ising", tree=self.tree)  # also the RNG label

    @property
    def nodes(self) -> int:
        return self.n_nodes if self.n_nodes is not None else DEFAULT_NODES[self.tree]


def make(params: IsingParams):
    """Generate the dataset: (split -> list of Data, meta). Deterministic from ``params.seed``."""
    import torch
    from torch_geometric.data import Data

    from gapbench.graphs.data import rng, split_sizes, undirected_edge_index

    n = params.nodes
    splits = {}
    for split, count in split_sizes(params.n_graphs, params.split).items():
        gen = rng(params.seed, "ising", params.variant, split)
        pairs = np.stack([tree_pairs(params.tree, n, gen) for _ in range(count)])
        field = (gen.standard_normal((count, n)) * params.field_std).astype(np.float32)
        coupling = np.full((count, n - 1), params.coupling, dtype=np.float32)
        y = marginals(pairs, coupling.astype(np.float64), field.astype(np.float64))
        splits[split] = [
            Data(x=torch.as_tensor(field[b])[:, None], edge_index=undirected_edge_index(pairs[b]),
                 y=torch.as_tensor(y[b], dtype=torch.float32), label_mask=torch.ones(n, dtype=torch.bool),
                 pair_index=torch.as_tensor(pairs[b]), pair_coupling=torch.as_tensor(coupling[b]))
            for b in range(count)
        ]
    meta = {
        "kind": "ising", "variant": params.variant, "seed": params.seed,
        "params": {"tree": params.tree, "n_nodes": n, "coupling": params.coupling, "field_std": params.field_std},
        "generator": asdict(params),
        "task": "node_regression", "metric": "mse", "higher_is_better": False,
        "law": ("p(s) ~ exp(sum_pairs J s_a s_b + sum_i h_i s_i), s in {-1,+1}; J = coupling; "
                "h_i ~ N(0, field_std^2) (float32); tree: binary = complete binary tree in heap order, "
                "path, pruefer = uniform random labelled tree (uniform Pruefer sequence, new per graph); "
                "y_i = P(s_i = +1) exact by sum-product in float64 (ising.py), stored as float32"),
        "fields": {"x": "field h_i [N,1]", "y": "P(s_i = +1) [N]", "pair_coupling": "J per pair [P]"},
    }
    return splits, meta


def verify_labels(path, meta: dict, graphs: list):
    """Recompute all marginals from the stored pairs, couplings and fields; ``(index, reason)`` of the first
    graph that differs, else None."""
    n = int(meta["params"]["n_nodes"])
    if any(int(g.num_nodes) != n for g in graphs):
        return next(i for i, g in enumerate(graphs) if int(g.num_nodes) != n), f"graphs must have {n} nodes"
    try:
        y = marginals(np.stack([g.pair_index.numpy() for g in graphs]),
                      np.stack([g.pair_coupling.double().numpy() for g in graphs]),
                      np.stack([g.x[:, 0].double().numpy() for g in graphs]))
    except ConfigError as err:
        return 0, str(err)
    err = np.abs(y - np.stack([g.y.double().numpy() for g in graphs])).max(axis=1)
    bad = np.flatnonzero(err > 1e-6)
    return (int(bad[0]), f"marginals off by {err[bad[0]]:.3g}") if bad.size else None
