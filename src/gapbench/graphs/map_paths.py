"""Exact MAP of binary pairwise models on hub-and-paths graphs, in O(n) (docs/science.md, Part I; seed Thm 2).

Graph (``n = m^2`` path vertices, ``m = sqrt(n)``): node 0 is the hub; path ``p`` (``0 <= p < m``) has vertices
``1 + p*m + j`` (``0 <= j < m``) joined in a path; the hub is joined to every path vertex. Pairs, in order:
the ``n`` hub pairs ``(0, v)``, then the ``m(m-1)`` path pairs ``(v, v+1)`` path by path; ``P = n + m(m-1)``.

Energy of ``x in {0,1}^(n+1)`` (MAP = argmin E = argmax of the seed's ``sum phi``)::

    E(x) = sum_{pairs (a,b)} T_ab[x_a, x_b] + sum_i theta_i x_i                              (MAP-1)

Each pair's table ``T_ab`` is one of :data:`POTENTIALS`: ``zero`` 0, ``copy`` ``1[x_a != x_b]``, ``clamp0``
``1[(x_a, x_b) != (0, 0)]``, ``clamp1`` ``1[(x_a, x_b) != (1, 1)]``; unary energies ``theta_i ~ N(0,
unary_scale^2)`` iid (stored as ``node_energy[i] = (0, theta_i)``, float32). The pair law (MAP-3) is a mixture:
each pair independently follows the *hard* law with probability ``hard_fraction`` and the *uniform* law
otherwise:

* uniform: the type is drawn uniformly from the four;
* hard (the instances of the seed's Theorem 2): hub pairs ``zero``; path pairs ``copy``, except the last pair of
  every path (its far end, vertices ``m-2, m-1``), which is ``clamp0`` or ``clamp1`` with probability 1/2 each.
  With small unaries every vertex of a path then copies the clamp at its far end, up to ``m - 1 = sqrt(n) - 1``
  steps away along the path.

Locality diagnostic (MAP-4, :func:`locality`): for a path vertex ``v`` at position ``j`` of path ``p``, re-draw
from the dataset's law every potential of path ``p`` farther than ``d`` from ``v`` along the path (unaries and
hub pairs of vertices ``j'`` with ``|j' - j| > d``, path pairs with an endpoint that far), keep everything else,
and recompute the MAP; the flip rate at ``d`` is the fraction of sampled ``(instance, v)`` whose label changes.
A law whose labels are local has flip rate ~0 beyond small ``d``; the hard law keeps it large up to ``d``
about ``m/2``.

Algorithm: fix the hub value ``h``; each hub pair becomes a unary term ``T_0v[h, x_v]`` of its path vertex, the
paths decouple, and min-sum dynamic programming along each path (forward ``F``, backward ``B``) gives every
path vertex's min-marginal given ``h``: ``M_v(s | h) = F_v(s) + B_v(s)`` and the path minimum ``Z_p(h)``.
With ``E*(h) = theta_0 h + sum_p Z_p(h)`` the min-marginals of the whole model are (MAP-2)::

    mm_0(h) = E*(h),        mm_v(s) = min_h [ E*(h) - Z_p(h) + M_v(s | h) ]   for v on path p.

Work is ``O(n)`` (two hub values x two passes over every vertex). The MAP is unique iff every variable's
min-marginal gap ``|mm_i(1) - mm_i(0)|`` is positive; then ``x*_i = argmin_s mm_i(s)``. Instances with a gap
``<= TIE_TOL`` are not unique and are re-drawn by the generator (with continuous unary energies this has
probability zero; the count of re-draws is recorded in the dataset card).

Everything is batched over graphs of the same ``n`` (leading axis ``B``) and vectorised over paths, with a
Python loop of length ``m`` along the paths only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from gapbench.errors import ConfigError
from gapbench.graphs import variants

POTENTIALS = ("zero", "copy", "clamp0", "clamp1")
#: TABLES[t, x_a, x_b]: energy of pair type t (index into POTENTIALS).
TABLES = np.array(
    [
        [[0, 0], [0, 0]],  # zero
        [[0, 1], [1, 0]],  # copy: 1[x_a != x_b]
        [[0, 1], [1, 1]],  # clamp0: 1[(x_a, x_b) != (0, 0)]
        [[1, 1], [1, 0]],  # clamp1: 1[(x_a, x_b) != (1, 1)]
    ],
    dtype=np.float64,
)
TIE_TOL = 1e-9


def side(n: int) -> int:
    """``m = sqrt(n)``; ConfigError unless ``n`` is a positive perfect square."""
    m = math.isqrt(n) if n > 0 else 0
    if n < 1 or m * m != n:
        raise ConfigError(f"MAP graph size n={n}: must be a perfect square (n = m^2 path vertices, m paths of m)")
    return m


def layout(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per node (hub first, ``[n+1]``): path index and position along the path (``-1`` for the hub)."""
    m = side(n)
    path = np.concatenate([[-1], np.repeat(np.arange(m), m)])
    pos = np.concatenate([[-1], np.tile(np.arange(m), m)])
    return path.astype(np.int64), pos.astype(np.int64)


def clamp_distance(n: int) -> np.ndarray:
    """Hops along the path from each vertex to its path's far end ``m - 1`` (hub: -1), ``[n+1]`` int64."""
    m = side(n)
    _, pos = layout(n)
    return np.where(pos < 0, -1, m - 1 - pos).astype(np.int64)


def check_config(section: dict) -> None:
    """The config check of ``graphs.map`` (gapbench.graphs.kinds): every ``n`` passes :func:`side`."""
    bad = []
    for n in section["n"]:
        try:
            side(n)
        except ConfigError:
            bad.append(n)
    if bad:
        raise ConfigError(f"config key graphs.map.n: {bad} not perfect squares (n = m^2: m paths of m vertices); "
                          "allowed: perfect squares, e.g. 16, 64, 256")


def hub_and_paths(n: int) -> np.ndarray:
    """``pair_index [2, P]`` of the hub-and-paths graph with ``n = m^2`` path vertices (layout in module doc)."""
    m = side(n)
    verts = np.arange(1, n + 1).reshape(m, m)
    hub = np.stack([np.zeros(n, dtype=np.int64), verts.ravel()])
    path = np.stack([verts[:, :-1].ravel(), verts[:, 1:].ravel()])
    return np.concatenate([hub, path], axis=1).astype(np.int64)


def energy(x: np.ndarray, pair_index: np.ndarray, pair_energy: np.ndarray, node_energy: np.ndarray) -> np.ndarray:
    """(MAP-1) for assignments ``x [C, N]`` in {0,1}: ``E [C]`` (any graph, used by tests and checks)."""
    a, b = pair_index
    xa, xb = x[:, a], x[:, b]
    pairs = pair_energy[np.arange(pair_energy.shape[0]), xa, xb].sum(axis=1)
    return pairs + node_energy[np.arange(node_energy.shape[0]), x].sum(axis=1)


def min_marginals(n: int, pair_energy: np.ndarray, node_energy: np.ndarray) -> np.ndarray:
    """(MAP-2): min-marginals ``mm [B, n+1, 2]`` of a batch of hub-and-paths instances.

    ``pair_energy [B, P, 2, 2]`` in :func:`hub_and_paths` pair order, ``node_energy [B, n+1, 2]``; float64.
    """
    m = side(n)
    bsz = pair_energy.shape[0]
    hub_t = pair_energy[:, :n].reshape(bsz, m, m, 2, 2)  # [B, path, j, h, s]
    path_t = pair_energy[:, n:].reshape(bsz, m, m - 1, 2, 2)  # [B, path, j, s_j, s_j+1]
    unary = node_energy[:, 1:].reshape(bsz, m, m, 2)
    mm = np.empty((bsz, n + 1, 2))
    per_h = []
    for h in (0, 1):
        u = unary + hub_t[:, :, :, h, :]  # [B, path, j, s]
        fwd = np.empty_like(u)
        bwd = np.zeros_like(u)
        fwd[:, :, 0] = u[:, :, 0]
        for j in range(1, m):  # F_j(s) = U_j(s) + min_s' F_{j-1}(s') + T(s', s)
            fwd[:, :, j] = u[:, :, j] + (fwd[:, :, j - 1, :, None] + path_t[:, :, j - 1]).min(axis=2)
        for j in range(m - 2, -1, -1):  # B_j(s) = min_s' T(s, s') + U_{j+1}(s') + B_{j+1}(s')
            bwd[:, :, j] = (path_t[:, :, j] + (u[:, :, j + 1] + bwd[:, :, j + 1])[:, :, None, :]).min(axis=3)
        z = fwd[:, :, -1].min(axis=2)  # Z_p(h) [B, path]
        total = node_energy[:, 0, h] + z.sum(axis=1)  # E*(h) [B]
        per_h.append((total, z, fwd + bwd))
    for h in (0, 1):
        mm[:, 0, h] = per_h[h][0]
    cand = [total[:, None, None, None] - z[:, :, None, None] + mpath for total, z, mpath in per_h]
    mm[:, 1:] = np.minimum(cand[0], cand[1]).reshape(bsz, n, 2)
    return mm


def map_assignment(n: int, pair_energy: np.ndarray, node_energy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MAP labels ``x* [B, n+1]`` (int64) and the min-marginal gap ``|mm(1) - mm(0)|`` per variable ``[B, n+1]``.

    The labels are the MAP when every gap exceeds :data:`TIE_TOL` (unique MAP); ties resolve to 0.
    """
    mm = min_marginals(n, pair_energy, node_energy)
    return (mm[..., 1] < mm[..., 0]).astype(np.int64), np.abs(mm[..., 1] - mm[..., 0])


@dataclass(frozen=True)
class MapParams:
    """One MAP dataset: ``n`` path vertices (perfect square), unary std, graph count, splits, root seed."""

    n: int
    n_graphs: int
    unary_scale: float = 0.1
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    hard_fraction: float = 1.0

    @property
    def variant(self) -> str:
        return variants.make("map", n=self.n)  # also the RNG label


def draw_types(n: int, count: int, hard_fraction: float, gen: np.random.Generator) -> np.ndarray:
    """Pair types ``[count, P]`` from the mixture law (MAP-3): per pair, hard with prob. ``hard_fraction``."""
    m = side(n)
    n_pairs = hub_and_paths(n).shape[1]
    uniform = gen.integers(0, len(POTENTIALS), size=(count, n_pairs))
    if hard_fraction <= 0:
        return uniform
    hard = np.zeros((count, n_pairs), dtype=np.int64)  # hub pairs: zero
    path = np.full((count, m, m - 1), POTENTIALS.index("copy"), dtype=np.int64)
    if m > 1:
        path[:, :, -1] = POTENTIALS.index("clamp0") + gen.integers(0, 2, size=(count, m))
    hard[:, n:] = path.reshape(count, -1)
    return np.where(gen.random((count, n_pairs)) < hard_fraction, hard, uniform)


def draw_theta(n: int, count: int, unary_scale: float, gen: np.random.Generator) -> np.ndarray:
    """Unary energies ``[count, n+1]`` ~ N(0, unary_scale^2), rounded to float32 (as stored)."""
    return (gen.standard_normal((count, n + 1)) * unary_scale).astype(np.float32).astype(np.float64)


def locality_distances(n: int) -> list[int]:
    """The distances of the diagnostic: 1, 2, m/4, m/2 and m - 1 (deduplicated, >= 1)."""
    m = side(n)
    return sorted({d for d in (1, 2, m // 4, m // 2, m - 1) if d >= 1})


def locality(n: int, types: np.ndarray, theta: np.ndarray, hard_fraction: float, unary_scale: float,
             gen: np.random.Generator, distances: list[int] | None = None, repeats: int = 4) -> dict:
    """(MAP-4) flip rate per distance ``d`` on the instances ``types [B, P]``, ``theta [B, n+1]``.

    Each instance is used ``repeats`` times with a uniformly drawn path vertex; one re-draw per sample.
    """
    m = side(n)
    distances = locality_distances(n) if distances is None else distances
    types, theta = np.repeat(types, repeats, axis=0), np.repeat(theta, repeats, axis=0)
    count = types.shape[0]
    rows = np.arange(count)
    path, pos = gen.integers(0, m, count), gen.integers(0, m, count)
    vertex = 1 + path * m + pos

    def energies(t, th):
        return TABLES[t], np.stack([np.zeros_like(th), th], axis=-1)

    base, _ = map_assignment(n, *energies(types, theta))
    rates = []
    for d in distances:
        new_types = draw_types(n, count, hard_fraction, gen)
        new_theta = draw_theta(n, count, unary_scale, gen)
        far = np.abs(np.arange(m)[None, :] - pos[:, None]) > d  # [count, m] positions of v's path
        far_vertex = np.zeros((count, m, m), dtype=bool)
        far_vertex[rows, path] = far
        far_pair = np.zeros((count, m, m - 1), dtype=bool)
        far_pair[rows, path] = far[:, :-1] | far[:, 1:]
        redraw_t = np.concatenate([far_vertex.reshape(count, -1), far_pair.reshape(count, -1)], axis=1)
        redraw_u = np.concatenate([np.zeros((count, 1), dtype=bool), far_vertex.reshape(count, -1)], axis=1)
        labels, _ = map_assignment(n, *energies(np.where(redraw_t, new_types, types),
                                                np.where(redraw_u, new_theta, theta)))
        rates.append(round(float((labels[rows, vertex] != base[rows, vertex]).mean()), 4))
    return {"d": list(distances), "flip_rate": rates, "samples": int(count),
            "definition": "fraction of sampled (instance, path vertex v) whose MAP label changes when every "
                          "potential of v's path farther than d from v along the path is re-drawn from the law"}


def draw_instances(n: int, count: int, unary_scale: float, gen: np.random.Generator, hard_fraction: float = 0.0):
    """``count`` unique-MAP instances: pair types ``[B, P]``, theta ``[B, n+1]`` (float32 values), labels, redraws.

    Instances whose MAP is not unique (some gap <= TIE_TOL) are replaced by fresh draws from ``gen``.
    """
    types = draw_types(n, count, hard_fraction, gen)
    theta = draw_theta(n, count, unary_scale, gen)
    redraws = 0
    while True:
        node_energy = np.stack([np.zeros_like(theta), theta], axis=-1)
        labels, gap = map_assignment(n, TABLES[types], node_energy)
        bad = np.flatnonzero(gap.min(axis=1) <= TIE_TOL)
        if bad.size == 0:
            return types, theta, labels, redraws
        redraws += bad.size
        if redraws > 100 * count + 100:
            raise ConfigError(f"MAP n={n}: cannot draw unique-MAP instances (unary_scale={unary_scale} too small?)")
        types[bad] = draw_types(n, bad.size, hard_fraction, gen)
        theta[bad] = draw_theta(n, bad.size, unary_scale, gen)


def make(params: MapParams):
    """Generate the dataset: (split -> list of Data, meta). Deterministic from ``params.seed``."""
    import torch
    from torch_geometric.data import Data

    from gapbench.graphs.data import rng, split_sizes, undirected_edge_index

    if params.unary_scale <= 0:
        raise ConfigError(f"MAP unary_scale={params.unary_scale}: must be > 0 (continuous unary energies make the MAP unique)")
    if not 0 <= params.hard_fraction <= 1:
        raise ConfigError(f"MAP hard_fraction={params.hard_fraction}: must be in [0, 1]")

    pair_index = hub_and_paths(params.n)
    edge_index = undirected_edge_index(pair_index)
    distance = torch.as_tensor(clamp_distance(params.n))
    path_index = torch.as_tensor(layout(params.n)[0])
    pidx = torch.as_tensor(pair_index)
    sizes = split_sizes(params.n_graphs, params.split)
    splits, redraws = {}, {}
    for split, count in sizes.items():
        types, theta, labels, redraws[split] = draw_instances(
            params.n, count, params.unary_scale, rng(params.seed, "map", params.variant, split),
            params.hard_fraction)
        if split == "test":
            diagnostic = locality(params.n, types, theta, params.hard_fraction, params.unary_scale,
                                  rng(params.seed, "map", params.variant, "locality"))
        graphs = []
        for b in range(count):
            pe = torch.as_tensor(TABLES[types[b]], dtype=torch.float32)
            ne = torch.stack([torch.zeros(params.n + 1), torch.as_tensor(theta[b], dtype=torch.float32)], dim=1)
            edge_attr = torch.cat([pe.reshape(-1, 4), pe.transpose(1, 2).reshape(-1, 4)], dim=0)
            graphs.append(Data(x=ne.clone(), edge_index=edge_index, y=torch.as_tensor(labels[b]),
                               label_mask=torch.ones(params.n + 1, dtype=torch.bool), node_energy=ne,
                               pair_index=pidx, pair_energy=pe, edge_attr=edge_attr,
                               pair_type=torch.as_tensor(types[b], dtype=torch.int64),
                               clamp_distance=distance, path_index=path_index))
        splits[split] = graphs
    meta = {
        "kind": "map", "variant": params.variant, "seed": params.seed,
        "params": {"n": params.n, "m": side(params.n), "unary_scale": params.unary_scale,
                   "hard_fraction": params.hard_fraction},
        "generator": asdict(params),
        "task": "node_classification", "num_classes": 2, "metric": "accuracy", "higher_is_better": True,
        "law": ("hub-and-paths graph: hub 0 joined to every vertex of sqrt(n) paths of sqrt(n) vertices; "
                "each pair's table from zero, copy 1[xa!=xb], clamp0 1[(xa,xb)!=(0,0)], clamp1 1[(xa,xb)!=(1,1)]: "
                f"with probability hard_fraction={params.hard_fraction:g} the hard law (hub pairs zero, path pairs "
                "copy, each path's last pair clamp0 or clamp1 with prob. 1/2), otherwise uniform over the four; "
                "unary theta_i ~ N(0, unary_scale^2), node_energy_i = (0, theta_i); "
                "y = argmin_x sum_pairs T[xa,xb] + sum_i theta_i x_i, exact by DP (map_paths.py); "
                "instances with a non-unique MAP re-drawn"),
        "fields": {"x": "node_energy (E_i(0), E_i(1)) [N,2]", "y": "MAP label in {0,1} [N]",
                   "edge_attr": "pair table seen from edge_index[0] -> edge_index[1], row-major (00,01,10,11) [E,4]",
                   "pair_type": "index into " + "|".join(POTENTIALS) + " [P]",
                   "clamp_distance": "hops along the path to its far end m-1 (the clamp's outer vertex); hub -1 [N]",
                   "path_index": "the vertex's path 0..m-1 (the path_ids feature); hub -1 [N]"},
        "redraws": redraws,
        "locality": {**diagnostic, "split": "test"},
    }
    return splits, meta


def verify_labels(path, meta: dict, graphs: list):
    """Recompute the MAP of every stored graph (one batched DP); ``(index, reason)`` of the first mismatch."""
    n = int(meta["params"]["n"])
    expect = hub_and_paths(n)

    for i, g in enumerate(graphs):
        if tuple(g.pair_index.shape) != expect.shape or not np.array_equal(g.pair_index.numpy(), expect):
            return i, f"pair_index is not the hub-and-paths graph with n={n}"
        if not (np.array_equal(g.clamp_distance.numpy(), clamp_distance(n))
                and np.array_equal(g.path_index.numpy(), layout(n)[0])):
            return i, "clamp_distance or path_index is not the hub-and-paths layout"
    labels, gap = map_assignment(n, np.stack([g.pair_energy.double().numpy() for g in graphs]),
                                 np.stack([g.node_energy.double().numpy() for g in graphs]))
    stored = np.stack([g.y.numpy() for g in graphs])
    for i in range(len(graphs)):
        if gap[i].min() <= TIE_TOL:
            return i, "MAP not unique"
        if not np.array_equal(labels[i], stored[i]):
            return i, f"{int((labels[i] != stored[i]).sum())} MAP labels wrong"
    return None
