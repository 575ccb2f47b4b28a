"""Graph labels against independent references: brute-force MAP and Ising marginals, direct duplicate counts,
planted targets recomputed from the saved planted model. Each test fails if a single label is wrong."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from gapbench.errors import ConfigError
from gapbench.graphs import duplicates, ising, map_paths, planted

torch.set_num_threads(1)


# ------------------------------------------------------------------------------------------------ MAP
def _all_assignments(n_vars: int) -> np.ndarray:
    return np.array(list(itertools.product([0, 1], repeat=n_vars)), dtype=np.int64)


@pytest.mark.parametrize("hard_fraction", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("n", [1, 4, 9, 16])
def test_map_labels_reach_brute_force_minimum(n, hard_fraction):
    """Every DP label equals the unique brute-force argmin over all 2^(n+1) assignments (16 -> 17 variables),
    for the uniform law, the hard law and a mixture."""
    gen = np.random.default_rng(100 + n)
    pairs = map_paths.hub_and_paths(n)
    assert pairs.shape == (2, n + (map_paths.side(n) * (map_paths.side(n) - 1)))
    configs = _all_assignments(n + 1)
    seen_types = set()
    for unary_scale in (0.05, 0.5):
        types, theta, labels, _ = map_paths.draw_instances(n, 6, unary_scale, gen, hard_fraction)
        for b in range(types.shape[0]):
            pair_energy = map_paths.TABLES[types[b]]
            node_energy = np.stack([np.zeros(n + 1), theta[b]], axis=-1)
            energies = map_paths.energy(configs, pairs, pair_energy, node_energy)
            order = np.argsort(energies)
            assert energies[order[1]] - energies[order[0]] > map_paths.TIE_TOL  # unique MAP
            np.testing.assert_array_equal(labels[b], configs[order[0]])
            assert map_paths.energy(labels[b][None], pairs, pair_energy, node_energy)[0] == energies[order[0]]
            seen_types.update(types[b].tolist())
    if n >= 9:
        assert seen_types == set(range(len(map_paths.POTENTIALS)))  # all four potential types exercised


def test_map_hard_law_layout():
    """Hard law: hub pairs zero, path pairs copy, the last pair of every path a clamp; labels copy the clamp."""
    n, m = 64, 8
    gen = np.random.default_rng(0)
    types, theta, labels, _ = map_paths.draw_instances(n, 20, 0.01, gen, hard_fraction=1.0)
    names = np.array(map_paths.POTENTIALS)[types]
    assert (names[:, :n] == "zero").all()
    path = names[:, n:].reshape(20, m, m - 1)
    assert (path[:, :, :-1] == "copy").all()
    assert np.isin(path[:, :, -1], ["clamp0", "clamp1"]).all()
    clamp_value = (path[:, :, -1] == "clamp1").astype(int)  # small unaries: the whole path copies the clamp
    np.testing.assert_array_equal(labels[:, 1:].reshape(20, m, m), np.repeat(clamp_value[:, :, None], m, 2))


@pytest.mark.parametrize("n", [64, 256])
def test_map_locality_hard_law_is_long_range_uniform_is_not(n):
    """MAP-4: the hard law's labels depend on potentials m/4 and m/2 away along the path, the uniform law's
    hardly at all; at d = m - 1 nothing on the path is re-drawn, so nothing flips.

    A one-end clamp bounds the rate at d = m/2 by 1/2 (a re-drawn clamp changes with probability 1/2) times the
    fraction of a path's vertices more than m/2 from its far end (< 1/2), i.e. below 0.25; at d = m/4 the
    bound is ~3/8."""
    m = map_paths.side(n)
    rates = {}
    for hard in (0.0, 1.0):
        gen = np.random.default_rng(1)
        types, theta, _, _ = map_paths.draw_instances(n, 100, 0.1, gen, hard)
        diag = map_paths.locality(n, types, theta, hard, 0.1, np.random.default_rng(2), [m // 4, m // 2, m - 1])
        rates[hard] = dict(zip(diag["d"], diag["flip_rate"]))
        assert diag["samples"] == 400 and rates[hard][m - 1] == 0.0
    assert rates[1.0][m // 4] >= 0.25 and rates[1.0][m // 2] >= 0.15
    assert rates[0.0][m // 4] <= 0.15 and rates[0.0][m // 2] <= 0.06
    assert rates[1.0][m // 4] >= 2 * rates[0.0][m // 4]
    assert rates[1.0][m // 2] >= 3 * rates[0.0][m // 2]


def test_map_potential_tables_are_the_documented_ones():
    t = {name: map_paths.TABLES[i] for i, name in enumerate(map_paths.POTENTIALS)}
    for a, b in itertools.product([0, 1], repeat=2):
        assert t["zero"][a, b] == 0
        assert t["copy"][a, b] == (a != b)
        assert t["clamp0"][a, b] == ((a, b) != (0, 0))
        assert t["clamp1"][a, b] == ((a, b) != (1, 1))


def test_map_min_marginal_gap_flags_ties():
    """Without unary terms a zero-potential variable is free: the gap is 0 there (the generator re-draws)."""
    n = 4
    types = np.zeros((1, map_paths.hub_and_paths(n).shape[1]), dtype=np.int64)
    _, gap = map_paths.map_assignment(n, map_paths.TABLES[types], np.zeros((1, n + 1, 2)))
    assert gap.max() == 0.0


@pytest.mark.parametrize("n", [0, 8, 15])
def test_map_size_must_be_a_perfect_square(n):
    with pytest.raises(ConfigError, match="perfect square"):
        map_paths.hub_and_paths(n)


def test_map_batched_equals_one_by_one():
    gen = np.random.default_rng(7)
    n = 64
    types, theta, labels, _ = map_paths.draw_instances(n, 5, 0.1, gen)
    for b in range(5):
        ne = np.stack([np.zeros(n + 1), theta[b]], axis=-1)[None]
        single, _ = map_paths.map_assignment(n, map_paths.TABLES[types[b]][None], ne)
        np.testing.assert_array_equal(single[0], labels[b])


# ------------------------------------------------------------------------------------------------ Ising
def _brute_marginals(pairs, coupling, field):
    n = field.shape[0]
    spins = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    logw = (spins[:, pairs[0]] * spins[:, pairs[1]] * coupling).sum(axis=1) + spins @ field
    w = np.exp(logw - logw.max())
    return (w[:, None] * (spins > 0)).sum(axis=0) / w.sum()


@pytest.mark.parametrize("tree, n", [("binary", 15), ("path", 14), ("pruefer", 12), ("pruefer", 2)])
def test_ising_marginals_equal_brute_force(tree, n):
    gen = np.random.default_rng(3)
    pairs = np.stack([ising.tree_pairs(tree, n, gen) for _ in range(4)])
    for coupling in (np.ones((4, n - 1)), gen.normal(size=(4, n - 1))):  # the dataset's J = 1, and random J
        field = gen.normal(size=(4, n))
        got = ising.marginals(pairs, coupling, field)
        for b in range(4):
            np.testing.assert_allclose(got[b], _brute_marginals(pairs[b], coupling[b], field[b]), rtol=0, atol=1e-10)


def test_ising_trees_have_the_documented_shapes():
    gen = np.random.default_rng(0)
    binary = ising.binary_tree(31)
    assert binary.shape == (2, 30) and (binary[0] == (binary[1] - 1) // 2).all()
    assert (ising.path_tree(30) == np.stack([np.arange(29), np.arange(1, 30)])).all()
    for _ in range(20):
        pairs = ising.pruefer_tree(30, gen)
        assert pairs.shape == (2, 29)
        ising._rooted(pairs, 30)  # raises unless the pairs form a spanning tree


def test_pruefer_trees_are_uniform_on_four_nodes():
    """Cayley: 16 labelled trees on 4 nodes, each with probability 1/16."""
    gen = np.random.default_rng(1)
    counts: dict = {}
    for _ in range(3200):
        key = frozenset(frozenset(p) for p in ising.pruefer_tree(4, gen).T.tolist())
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == 16 and min(counts.values()) > 130 and max(counts.values()) < 270


# ------------------------------------------------------------------------------------------------ duplicates
@pytest.mark.parametrize("n", [4, 6, 8, 16, 64])
def test_duplicate_labels_equal_direct_count_and_are_balanced(n):
    gen = np.random.default_rng(n)
    for _ in range(50):
        values = duplicates.draw_values(n, gen)
        assert values.min() >= 1 and values.max() <= n
        direct = np.array([int(sum(values[w] == values[v] for w in range(n) if w != v) > 0) for v in range(n)])
        np.testing.assert_array_equal(duplicates.duplicate_labels(values), direct)
        assert direct.sum() == n // 2


@pytest.mark.parametrize("n", [2, 3, 7])
def test_duplicates_n_must_be_even_and_at_least_four(n):
    with pytest.raises(ConfigError):
        duplicates.check_n(n)


# ------------------------------------------------------------------------------------------------ planted star
def test_centre_bilinear_targets_recomputed_graph_by_graph_from_the_state_dict(tmp_path):
    """The saved centre-bilinear teacher, loaded into a fresh EdgeGCN, reproduces every target graph by graph."""
    params = planted.PlantedStarParams(leaves=12, depth=3, n_graphs=10, law="centre-bilinear", seed=5)
    splits, meta, model = planted.make(params)
    planted.save_model(model)(tmp_path / planted.MODEL_FILE)
    fresh = planted.load_planted(tmp_path, meta)
    from gapbench.models.gnn import EdgeGCN

    assert isinstance(fresh, EdgeGCN) and fresh.depth == 3 and fresh.width == 10
    for graphs in splits.values():
        for g in graphs:
            with torch.no_grad():
                y = fresh(g.x, g.edge_index)[:, 0]
            torch.testing.assert_close(g.y, y, rtol=0, atol=1e-6)
            assert g.label_mask.tolist() == [False] + [True] * 12
            assert g.x[0].abs().sum() > 0  # the centre carries features under this law
    leaf_y = torch.cat([g.y[1:] for g in splits["train"]])
    assert float(leaf_y.std()) > 0.05  # targets vary: the task is not trivial


def _naive_paper_teacher(x, weights, u, activation):
    """PLANTED-1P by loops over the edges of a star (independent of the O(|E|) line-graph mean): edge i joins the
    centre and leaf i + 1, its neighbours are all the other edges (they share the centre)."""
    n = x.shape[0] - 1
    h = [x[0] + x[i + 1] for i in range(n)]
    for w in weights:
        new = []
        for i in range(n):
            others = [h[j] for j in range(n) if j != i]
            agg = sum(others) / len(others) if others else np.zeros_like(h[i])
            new.append(h[i] + activation(w @ agg))
        h = new
    return np.array([0.0] + [float(u @ h[i]) for i in range(n)]), h


@pytest.mark.parametrize("depth,activation,weight_law,readout",
                         [(1, "relu", "uniform", "projection"), (3, "tanh", "normal", "first"),
                          (2, "identity", "uniform", "first")])
def test_paper_law_teacher_matches_naive_loops(tmp_path, depth, activation, weight_law, readout):
    """PLANTED-1P: the stored targets of the paper law equal eq. 4 computed by loops over edges from the saved
    weights (no bias, no self weight, residual, mean over the other edges, h^(0) = x_i, x_0 = 0)."""
    acts = {"relu": lambda v: np.maximum(v, 0), "tanh": np.tanh, "identity": lambda v: v}
    params = planted.PlantedStarParams(6, depth, 12, law="paper", activation=activation, weight_law=weight_law,
                                       weight_scale=2.0, readout=readout, seed=3)
    splits, meta, model = planted.make(params)
    planted.save_model(model)(tmp_path / planted.MODEL_FILE)
    state = torch.load(tmp_path / planted.MODEL_FILE, weights_only=True)
    assert set(state) == {"weights", "readout"}  # W_l and u only: no bias, no self weight
    w, u = state["weights"].double().numpy(), state["readout"].double().numpy()
    assert w.shape == (depth, 10, 10)
    if readout == "first":
        assert u.tolist() == [1.0] + [0.0] * 9
    bound = 2.0 / np.sqrt(10)
    assert (np.abs(w) <= bound).all() if weight_law == "uniform" else np.abs(w).max() > bound
    for graphs in splits.values():
        for g in graphs:
            x = g.x.double().numpy()
            assert (x[0] == 0).all()
            y, h = _naive_paper_teacher(x, w, u, acts[activation])
            np.testing.assert_allclose(g.y.numpy()[1:], y[1:], rtol=0, atol=2e-5)
            if depth > 0:  # the teacher moved the states: targets are not the projection of x_i alone
                assert np.abs(np.array(h) - x[1:]).max() > 1e-3
    assert meta["params"]["centre_features"] is False and "no bias, no self weight" in meta["law"]
    assert meta["affine_floor"]["rmse"] == meta["affine_floor"]["product_rmse"]  # x_0 = 0: no products


def test_planted_teacher_is_shared_across_leaves_and_redrawn_by_the_data_seed():
    """One teacher per (law, k, data seed), whatever the number of leaves; a new data seed draws a new teacher
    and new graphs."""
    def draw(leaves, data_seed, law="paper"):
        return planted.make(planted.PlantedStarParams(leaves, 2, 10, law=law, data_seed=data_seed))

    a, b, c = draw(8, 0), draw(32, 0), draw(8, 1)
    assert a[1]["planted_model"]["planted_seed"] == b[1]["planted_model"]["planted_seed"]
    for key, value in a[2].state_dict().items():
        assert torch.equal(value, b[2].state_dict()[key]) and not torch.equal(value, c[2].state_dict()[key])
    assert not torch.equal(a[0]["train"][0].x, c[0]["train"][0].x)
    d, e = draw(8, 0, "centre-bilinear"), draw(32, 0, "centre-bilinear")
    assert d[1]["planted_model"]["planted_seed"] == e[1]["planted_model"]["planted_seed"]
    assert all(torch.equal(v, e[2].state_dict()[k]) for k, v in d[2].state_dict().items())


def test_planted_law_options_are_checked():
    for bad in ({"law": "centre"}, {"weight_law": "cauchy"}, {"readout": "sum"}, {"weight_scale": 0.0},
                {"width": 16}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            planted.make(planted.PlantedStarParams(4, 1, 10, **bad))


def _star_fixture(targets, x):
    from torch_geometric.data import Data

    mask = torch.ones(x.shape[1], dtype=torch.bool)
    mask[0] = False
    return [Data(x=torch.as_tensor(x[b]), y=torch.as_tensor(targets[b]), label_mask=mask) for b in range(len(x))]


def test_affine_floor_equals_dummy_variable_least_squares():
    """PLANTED-2: the within-graph demeaned fit equals least squares on [x_v | one-hot(graph)] (naive, dense);
    exactly affine targets (a^T x_v + c_G) have floor 0."""
    gen = np.random.default_rng(0)
    n_graphs, leaves, f = 7, 5, 3
    x = gen.standard_normal((n_graphs, leaves + 1, f))
    a, c = gen.standard_normal(f), gen.standard_normal(n_graphs)
    affine = x @ a + c[:, None]
    floor, std = planted.affine_floor(_star_fixture(affine, x))
    assert floor < 1e-12 and std == pytest.approx(affine[:, 1:].std())
    y = affine + np.sin(3 * x[..., 0]) * x[..., 1]  # not affine in x_v
    design = np.concatenate([x[:, 1:].reshape(-1, f), np.repeat(np.eye(n_graphs), leaves, axis=0)], axis=1)
    coef, *_ = np.linalg.lstsq(design, y[:, 1:].reshape(-1), rcond=None)
    naive = np.sqrt(np.mean((y[:, 1:].reshape(-1) - design @ coef) ** 2))
    floor, _ = planted.affine_floor(_star_fixture(y, x))
    assert floor == pytest.approx(naive, rel=1e-10) and floor > 0.1


def test_product_floor_equals_dense_least_squares_and_vanishes_on_products():
    """PLANTED-2: the product floor fits a^T x_v + b^T (x_0 * x_v) + c_G: 0 on such targets (whose affine floor
    is not 0), and equal to dense least squares with the products and one-hot graph columns otherwise."""
    gen = np.random.default_rng(1)
    n_graphs, leaves, f = 9, 6, 3
    x = gen.standard_normal((n_graphs, leaves + 1, f))
    a, b, c = gen.standard_normal(f), gen.standard_normal(f), gen.standard_normal(n_graphs)
    prod = x @ a + (x * x[:, :1]) @ b + c[:, None]
    assert planted.product_floor(_star_fixture(prod, x)) < 1e-10
    assert planted.affine_floor(_star_fixture(prod, x))[0] > 0.1
    y = prod + np.cos(2 * x[..., 1])
    leaf_x = x[:, 1:].reshape(-1, f)
    leaf_p = (x[:, 1:] * x[:, :1]).reshape(-1, f)
    design = np.concatenate([leaf_x, leaf_p, np.repeat(np.eye(n_graphs), leaves, axis=0)], axis=1)
    coef, *_ = np.linalg.lstsq(design, y[:, 1:].reshape(-1), rcond=None)
    naive = np.sqrt(np.mean((y[:, 1:].reshape(-1) - design @ coef) ** 2))
    assert planted.product_floor(_star_fixture(y, x)) == pytest.approx(naive, rel=1e-10)


def test_centre_bilinear_gap_is_the_product_term():
    """Under the centre-bilinear law (k = 1) the product floor is far below the affine floor: the targets are
    close to a one-hop function of (x_0, x_v) through x_0 * x_v."""
    _, meta, _ = planted.make(planted.PlantedStarParams(16, 1, 200, law="centre-bilinear"))
    f = meta["affine_floor"]
    assert f["product_rmse"] < 0.2 * f["rmse"] and f["rmse"] > 0.2 * f["leaf_std"]
