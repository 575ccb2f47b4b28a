"""The MAP gadget's hub route: clamp distance, each model's path window (reach) and the local ceiling.

The local posterior (map_reach.posterior) is checked against brute force: the unseen parts of the path are
re-drawn from the law many times and every assignment of the whole graph is enumerated; the reach of each model
family against the actual models' receptive fields with the hub's edges removed.
"""

import itertools

import numpy as np
import pytest

from gapbench.graphs import map_paths, map_reach


def test_layout_and_clamp_distance():
    path, pos = map_reach.layout(9)
    assert path.tolist() == [-1, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert pos.tolist() == [-1, 0, 1, 2, 0, 1, 2, 0, 1, 2]
    assert map_reach.clamp_distance(9).tolist() == [-1, 2, 1, 0, 2, 1, 0, 2, 1, 0]
    # the clamp pair under the hard law is the pair of the distance-0 and distance-1 vertices of each path
    types, _, _, _ = map_paths.draw_instances(9, 1, 0.1, np.random.default_rng(0), 1.0)
    pairs = map_paths.hub_and_paths(9)
    dist = map_reach.clamp_distance(9)
    clamps = [k for k in range(pairs.shape[1]) if map_paths.POTENTIALS[types[0, k]].startswith("clamp")]
    assert sorted(tuple(sorted(dist[pairs[:, k]])) for k in clamps) == [(0, 1)] * 3


def test_reach_and_within_reach():
    assert map_reach.reach("node", 3) == 3 and map_reach.reach("edge", 3) == 4 and map_reach.reach("set", 5) == 0
    d = np.array([-1, 0, 1, 2, 3])
    assert map_reach.within_reach(d, 0).tolist() == [False] * 5  # radius 0 never holds the clamp pair
    assert map_reach.within_reach(d, 2).tolist() == [False, True, True, True, False]


def _brute_labels(n, types, theta):
    """MAP labels [K, n+1] by enumerating all 2^(n+1) assignments (tiny n)."""
    pairs = map_paths.hub_and_paths(n)
    configs = np.array(list(itertools.product([0, 1], repeat=n + 1)))
    energy = theta @ configs.T  # [K, C]
    tables = map_paths.TABLES[types]  # [K, P, 2, 2]
    for k in range(pairs.shape[1]):
        energy = energy + tables[:, k, configs[:, pairs[0, k]], configs[:, pairs[1, k]]]
    return configs[energy.argmin(axis=1)]


def _completions(n, types, theta, vertex, radius, count, scale, gen):
    """``count`` copies of one instance with everything outside ``vertex``'s window re-drawn from the hard law
    (the window keeps its unaries and the tables of the pairs inside it)."""
    m = map_paths.side(n)
    new_types, _, _, _ = map_paths.draw_instances(n, count, scale, gen, 1.0)
    new_theta = map_paths.draw_theta(n, count, scale, gen)
    p, j = (vertex - 1) // m, (vertex - 1) % m
    lo, hi = max(0, j - radius), min(m - 1, j + radius)
    keep_v = np.zeros(n + 1, dtype=bool)
    keep_v[1 + p * m + lo: 1 + p * m + hi + 1] = True
    keep_p = np.zeros(types.shape[0], dtype=bool)
    for i in range(lo, hi):  # path pairs (i, i+1) inside the window
        keep_p[n + p * (m - 1) + i] = True
    return (np.where(keep_p, types, new_types), np.where(keep_v, theta, new_theta))


@pytest.mark.parametrize("scale", [0.1, 0.4])
def test_local_posterior_matches_brute_force(scale):
    n, count = 9, 3000
    gen = np.random.default_rng(11)
    types, theta, labels, _ = map_paths.draw_instances(n, 3, scale, gen, 1.0)
    checked = 0
    for radius in (0, 1, 2):
        post = map_reach.posterior(n, types, theta, radius, scale)
        for b in range(types.shape[0]):
            assert post[b, 0] == float(theta[b, 0] < 0) == labels[b, 0]
            for vertex in range(1, n + 1):
                t, th = _completions(n, types[b], theta[b], vertex, radius, count, scale, gen)
                mc = _brute_labels(n, t, th)[:, vertex].mean()
                p = post[b, vertex]
                assert abs(p - mc) <= 4.5 * np.sqrt(max(p * (1 - p), 1e-4) / count) + 0.005, (radius, b, vertex)
                checked += 1
        if radius == 2:  # the window is the whole path: the posterior is the label itself
            assert np.array_equal(post, labels.astype(float))
    assert checked == 3 * 3 * 9


def test_local_posterior_long_path_matches_dp():
    """m = 6 (too big to enumerate): completions labelled by the DP (itself checked against brute force)."""
    n, count, scale = 36, 4000, 0.3
    gen = np.random.default_rng(5)
    types, theta, _, _ = map_paths.draw_instances(n, 2, scale, gen, 1.0)
    for radius in (0, 1, 3):
        post = map_reach.posterior(n, types, theta, radius, scale)
        for b in range(2):
            for vertex in (1, 3, 6, 8, 12):
                t, th = _completions(n, types[b], theta[b], vertex, radius, count, scale, gen)
                mc, _ = map_paths.map_assignment(n, map_paths.TABLES[t],
                                                 np.stack([np.zeros_like(th), th], axis=-1))
                p = post[b, vertex]
                assert abs(p - mc[:, vertex].mean()) <= 4.5 * np.sqrt(max(p * (1 - p), 1e-4) / count) + 0.005


def test_local_posterior_refuses_other_laws():
    types, theta, _, _ = map_paths.draw_instances(16, 2, 0.1, np.random.default_rng(0), 0.0)
    with pytest.raises(ValueError, match="hard law"):
        map_reach.posterior(16, types, theta, 1, 0.1)


def _window_inputs(model_name, depth, n, vertex):
    """Which node features and which pairs' features reach ``vertex``'s output with the hub's edges removed."""
    import torch

    from gapbench.models.gnn import build_model

    torch.manual_seed(0)
    pairs = map_paths.hub_and_paths(n)
    path_pairs = pairs[:, n:]
    edge_index = torch.as_tensor(np.concatenate([path_pairs, path_pairs[::-1]], axis=1).copy())
    x = torch.randn(n + 1, 2, requires_grad=True)
    ea = torch.randn(2 * path_pairs.shape[1], 4, requires_grad=True)
    model = build_model(model_name, 2, 1, depth=depth, width=8, activation="tanh", level="node", edge_dim=4)
    model(x, edge_index, edge_attr=ea)[vertex, 0].backward()
    seen_nodes = set(np.flatnonzero(x.grad.abs().sum(1).numpy() > 0))
    g = np.zeros(ea.shape[0]) if ea.grad is None else ea.grad.abs().sum(1).numpy()
    seen_pairs = {k for k in range(path_pairs.shape[1]) if g[k] + g[k + path_pairs.shape[1]] > 0}
    return seen_nodes, seen_pairs, path_pairs


@pytest.mark.parametrize("model_name,family", [("node_gcn", "node"), ("node_sage", "node"), ("edge_gcn", "edge"),
                                               ("deepsets", "set")])
@pytest.mark.parametrize("depth", [1, 2])
def test_reach_is_the_models_path_window(model_name, family, depth):
    n, m = 49, 7
    vertex = 1 + 2 * m + 3  # path 2, position 3
    seen_nodes, seen_pairs, path_pairs = _window_inputs(model_name, depth, n, vertex)
    r = map_reach.reach(family, depth)
    if family == "set":  # its own unary plus one graph-wide mean (its hub route); no pair table ever
        assert seen_nodes == set(range(n + 1)) and not seen_pairs and r == 0
        return
    window = set(range(vertex - min(r, 3), vertex + min(r, m - 1 - 3) + 1))
    assert seen_nodes == window
    inside = {k for k in range(path_pairs.shape[1]) if set(path_pairs[:, k]) <= window}
    assert seen_pairs == inside


def test_breakdown_counts_and_ceiling():
    """Within reach the ceiling is ~1, hub only it is near 1/2 (an unseen clamp is a coin flip)."""
    import torch
    from torch_geometric.data import Data

    n, scale = 64, 0.1
    types, theta, labels, _ = map_paths.draw_instances(n, 20, scale, np.random.default_rng(3), 1.0)
    dist = torch.as_tensor(map_reach.clamp_distance(n))
    graphs = [Data(clamp_distance=dist, pair_type=torch.as_tensor(types[b]),
                   node_energy=torch.stack([torch.zeros(n + 1), torch.as_tensor(theta[b]).float()], 1))
              for b in range(20)]
    meta = {"params": {"n": n, "hard_fraction": 1.0, "unary_scale": scale}}
    correct = [np.ones(n + 1, dtype=bool) for _ in graphs]
    out = map_reach.breakdown(graphs, correct, "node", 2, meta)
    assert out["reach"] == 2 and out["n_within_reach"] == 20 * 8 * 3 and out["n_hub_only"] == 20 * 8 * 5
    assert out["acc_within_reach"] == out["acc_hub_only"] == 1.0
    assert out["ceiling_within_reach"] > 0.97
    assert 0.5 <= out["ceiling_hub_only"] < 0.62
    # the Bayes rule of the window is right on the stored labels about as often as it promises
    p1 = map_reach.posterior(n, types, theta, 2, scale)
    assert abs(((p1 > 0.5) == labels).mean() - out["local_ceiling"]) < 0.04


def test_posterior_once_computes_each_content_once(monkeypatch):
    """The models of one job share the test split: its local posterior is computed once per reach, and other
    content (or reach, or scale) is computed anew; each caller gets its own copy."""
    n, scale = 16, 0.2
    types, theta, _, _ = map_paths.draw_instances(n, 4, scale, np.random.default_rng(8), 1.0)
    calls = []
    real = map_reach.posterior
    monkeypatch.setattr(map_reach, "posterior", lambda *a: calls.append(a[3]) or real(*a))
    monkeypatch.setattr(map_reach, "_posteriors", {})
    first = map_reach.posterior_once(n, types, theta, 1, scale)
    first[:] = -1.0
    again = map_reach.posterior_once(n, types.copy(), theta.copy(), 1, scale)
    assert calls == [1] and np.array_equal(again, real(n, types, theta, 1, scale))
    map_reach.posterior_once(n, types, theta, 2, scale)
    map_reach.posterior_once(n, types, theta, 1, 0.3)
    other = theta.copy()
    other[0, 3] += 1.0
    map_reach.posterior_once(n, types, other, 1, scale)
    assert calls == [1, 2, 1, 1]


def test_trainer_records_the_hub_route_and_path_ids(tmp_path):
    """`train graph` on a MAP dataset: metrics.json holds the breakdown; --path-ids appends the path one-hot."""
    import torch

    from gapbench.errors import StoreError
    from gapbench.graphs.data import write_dataset
    from gapbench.train import graph as tg
    from gapbench.train.graph_batches import prepare

    splits, meta = map_paths.make(map_paths.MapParams(n=16, n_graphs=30, seed=2))
    write_dataset(tmp_path / "map", splits, meta)
    prepared = prepare(tmp_path / "map", "cpu")
    ids = prepared.with_path_ids()
    x = ids.data["test"].x[0]
    assert x.shape == (17, 2 + 4) and ids.info["in_dim"] == 6
    assert torch.equal(x[:, :2], prepared.data["test"].x[0])
    assert x[0, 2:].abs().sum() == 0  # the hub: no path
    assert [int(x[v, 2:].argmax()) for v in range(1, 17)] == [p for p in range(4) for _ in range(4)]
    m = tg.run(tg.GraphTrainSpec(data=tmp_path / "map", out=tmp_path / "run", model="edge_gcn", depths=[1],
                                 widths=[8], epochs=2, batch_size=8, path_ids=True, progress=False))
    b = m["breakdown"]
    assert m["path_ids"] is True and m["features"].endswith("+ path ids")
    assert b["reach"] == 2 and b["n_within_reach"] == 3 * 4 * 3 and b["n_hub_only"] == 3 * 4 * 1
    hubs_right = m["test"] * 3 * 17 - (b["acc_within_reach"] * 36 + b["acc_hub_only"] * 12)  # 3 test graphs
    assert min(abs(hubs_right - k) for k in range(4)) < 1e-6  # overall = the two groups plus the hubs
    assert 0.5 <= b["local_ceiling"] <= 1
    # the trainer reads the stored attributes without PyG: the same breakdown as from PyG's graphs
    from gapbench.graphs.data import load
    test = load(tmp_path / "map", "test")
    model = tg.build(tg.GraphTrainSpec(data=tmp_path / "map", out=tmp_path / "x", model="node_gcn"),
                     tg.Hyper(depth=2, width=8, lr=0.01), prepared.task, prepared.info)
    correct = tg.node_correct(model, prepared.data["test"], prepared.task, 64)
    assert tg.test_breakdown(tg.GraphTrainSpec(data=tmp_path / "map", out=tmp_path / "x", model="node_gcn"),
                             prepared, model, tg.Hyper(depth=2, width=8, lr=0.01)) == \
        map_reach.breakdown([test[i] for i in range(len(test))], correct, "node", 2, prepared.meta)
    plain = prepare(tmp_path / "map", "cpu")
    for batches in plain.data.values():
        batches.path_index = [None] * len(batches)
    with pytest.raises(StoreError, match="path_index"):
        plain.with_path_ids()

