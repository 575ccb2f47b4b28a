"""Planted-star regression (docs/science.md, Part I; seed Table 2): targets from a random edge GCN on a star.

Graph: star with ``n`` leaves (node 0 the centre, nodes ``1..n`` the leaves, pairs ``(0, v)``). Features
``x_v ~ N(0, I_10)`` iid for every node, centre included; with ``centre_features=False`` (the paper's setting)
the centre's features are ``x_0 = 0``. The planted model is the learner's own class,
:class:`gapbench.models.gnn.EdgeGCN` (the pipeline's ``edge_gcn``), built with
``build_model("edge_gcn", in_dim=10, out_dim=1, depth=k, width=10, activation="relu", level="node", pool="mean")``:

    h_uv  = A (x_u + x_v) + B (x_u * x_v) + c                           (symmetric initial edge state)
    h_e  <- h_e + relu(W_l mean{h_f : f shares an endpoint with e, f != e} + b_l),   l = 1..k   (eq. 4)
    y_v   = w^T mean{h_e : e at v} + b_out                              (read-off; a leaf has one edge)

Planted weights (PLANTED-1): every weight and bias ``~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` independently
(PyTorch's default law), drawn by ``EdgeGCN.reset_parameters(generator, law="uniform")`` from a
``torch.Generator`` seeded with ``planted_seed`` (recorded in meta.json). One planted model per dataset; its
``state_dict`` is saved as ``planted_model.pt`` so every target can be recomputed (:func:`verify_labels`).

Targets: ``y [N]`` is the planted output at every node; the task's targets are the leaves
(``label_mask``: True at the leaves, False at the centre). Metric: RMSE over the leaves.

Affine floor (PLANTED-2, :func:`affine_floor`): with eq. 3 a leaf's only neighbour is the centre, so its update
never reads its own state; with a linear head every node-GCN leaf output is ``a^T x_v + c_G`` (affine in its own
features plus one term shared by its graph), at any depth and width. The floor is the least-squares RMSE of that
family on a split: ``min_{a, c_G} sqrt(mean_v (y_v - a^T x_v - c_G)^2)`` over the leaves, solved by removing
each graph's leaf mean from ``y`` and ``x`` and regressing (a model on the floor has learnt what eq. 3 can).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from gapbench.errors import ConfigError, StoreError
from gapbench.graphs import variants

FEATURES = 10
MODEL_FILE = "planted_model.pt"


@dataclass(frozen=True)
class PlantedStarParams:
    """One planted-star dataset: leaves, planted depth and width, graph count, splits, root seed."""

    leaves: int
    depth: int
    n_graphs: int
    width: int = 10
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    centre_features: bool = True

    @property
    def variant(self) -> str:
        return variants.make("planted_star", leaves=self.leaves, depth=self.depth)  # also the RNG label


def affine_floor(graphs) -> tuple[float, float]:
    """(PLANTED-2) ``(floor RMSE, leaf target std)`` of planted-star graphs (leaves = ``label_mask``)."""
    xs, ys = [], []
    for g in graphs:
        leaf = g.label_mask.numpy()
        x, y = g.x.numpy()[leaf].astype(np.float64), g.y.numpy()[leaf].astype(np.float64)
        xs.append(x - x.mean(axis=0))
        ys.append(y - y.mean())
    x, y = np.concatenate(xs), np.concatenate(ys)
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    floor = float(np.sqrt(np.mean((y - x @ coef) ** 2)))
    leaf_y = np.concatenate([g.y.numpy()[g.label_mask.numpy()] for g in graphs]).astype(np.float64)
    return floor, float(leaf_y.std())


def model_kwargs(depth: int, width: int) -> dict:
    """Constructor arguments of the planted model (also recorded in meta.json)."""
    return {"name": "edge_gcn", "in_dim": FEATURES, "out_dim": 1, "depth": depth, "width": width,
            "activation": "relu", "level": "node", "pool": "mean"}


def build_planted(kwargs: dict):
    from gapbench.models.gnn import build_model

    kw = dict(kwargs)
    return build_model(kw.pop("name"), **kw)


def star_edge_index(leaves: int):
    from gapbench.graphs.data import undirected_edge_index

    return undirected_edge_index(np.stack([np.zeros(leaves, dtype=np.int64), np.arange(1, leaves + 1)]))


def planted_outputs(model, graphs) -> list:
    """The planted model's output ``[N]`` on each graph, computed on their batch (one forward pass)."""
    import torch
    from torch_geometric.data import Batch

    batch = Batch.from_data_list(list(graphs))
    with torch.no_grad():
        y = model(batch.x, batch.edge_index, batch.batch)[:, 0]
    return list(torch.split(y, [int(g.num_nodes) for g in graphs]))


def make(params: PlantedStarParams):
    """Generate the dataset: (split -> list of Data, meta, planted model). Deterministic from ``params.seed``."""
    import torch
    from torch_geometric.data import Data

    from gapbench.graphs.data import rng, split_sizes

    if params.leaves < 1 or params.depth < 0 or params.width < 1:
        raise ConfigError(f"planted star needs leaves >= 1, depth >= 0, width >= 1 (got {params})")
    planted_seed = int(rng(params.seed, "planted_star", params.variant, "model").integers(2**62))
    kwargs = model_kwargs(params.depth, params.width)
    model = build_planted(kwargs)
    model.reset_parameters(torch.Generator().manual_seed(planted_seed), law="uniform")
    model.eval()
    n = params.leaves + 1
    edge_index = star_edge_index(params.leaves)
    mask = torch.ones(n, dtype=torch.bool)
    mask[0] = False
    splits = {}
    for split, count in split_sizes(params.n_graphs, params.split).items():
        x = rng(params.seed, "planted_star", params.variant, split).standard_normal((count, n, FEATURES))
        if not params.centre_features:
            x[:, 0] = 0.0
        graphs = [Data(x=torch.as_tensor(x[b], dtype=torch.float32), edge_index=edge_index, label_mask=mask)
                  for b in range(count)]
        for g, y in zip(graphs, planted_outputs(model, graphs)):
            g.y = y.clone()
        splits[split] = graphs
    leaf_y = torch.cat([g.y[1:] for g in splits["train"]])
    floor, leaf_std = affine_floor(splits["test"])
    meta = {
        "kind": "planted_star", "variant": params.variant, "seed": params.seed,
        "params": {"leaves": params.leaves, "depth": params.depth, "width": params.width,
                   "centre_features": params.centre_features},
        "generator": asdict(params),
        "task": "node_regression", "metric": "rmse", "higher_is_better": False,
        "label_nodes": "leaves (label_mask); y at the centre is the planted output there, not a target",
        "planted_model": {"file": MODEL_FILE, "kwargs": kwargs, "planted_seed": planted_seed,
                          "law": "every weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) "
                                 "(EdgeGCN.reset_parameters(torch.Generator().manual_seed(planted_seed), law='uniform'))",
                          "activation": "relu",
                          "read_off": "y_v = Linear(mean of the final edge states at v); leaf: its single edge"},
        "law": ("star, node 0 centre, leaves 1..n; x_v ~ N(0, I_10) for every leaf and "
                + ("the centre" if params.centre_features else "x_0 = 0 at the centre (no centre features)")
                + "; y = planted edge GCN output"),
        "target_stats": {"train_leaf_mean": round(float(leaf_y.mean()), 6), "train_leaf_std": round(float(leaf_y.std()), 6)},
        "affine_floor": {"rmse": round(floor, 6), "leaf_std": round(leaf_std, 6), "split": "test"},
        "fields": {"x": "features [N,10]", "y": "planted output [N] (targets: leaves)", "label_mask": "leaves [N]"},
    }
    return splits, meta, model


def save_model(model):
    """A writer for :func:`gapbench.graphs.data.write_dataset`: the planted ``state_dict``."""
    import torch

    def write(path: Path) -> None:
        torch.save(model.state_dict(), path)

    return write


def generate(params: PlantedStarParams):
    """The kind's generator (gapbench.graphs.kinds): ``(splits, meta, {planted_model.pt: writer})``."""
    splits, meta, model = make(params)
    return splits, meta, {MODEL_FILE: save_model(model)}


def load_planted(path: Path | str, meta: dict):
    """The saved planted model of the dataset at ``path`` (eval mode)."""
    import torch

    file = Path(path) / MODEL_FILE
    if not file.is_file():
        raise StoreError(f"{path}: missing {MODEL_FILE} (the planted model)")
    model = build_planted(meta["planted_model"]["kwargs"])
    try:
        model.load_state_dict(torch.load(file, weights_only=True))
    except (RuntimeError, KeyError) as err:
        raise StoreError(f"{file}: does not match the recorded planted architecture ({err})") from None
    return model.eval()


def verify_labels(path, meta: dict, graphs: list):
    """Recompute every target from the saved planted model; ``(index, reason)`` of the first mismatch or None."""
    import torch

    model = load_planted(path, meta)
    leaves = int(meta["params"]["leaves"])
    edge_index = star_edge_index(leaves)
    for i, g in enumerate(graphs):
        if g.num_nodes != leaves + 1 or not torch.equal(g.edge_index, edge_index):
            return i, f"not the star with {leaves} leaves"
        if g.label_mask[0] or not bool(g.label_mask[1:].all()):
            return i, "label_mask must be the leaves"
    for i, (g, y) in enumerate(zip(graphs, planted_outputs(model, graphs))):
        err = float((g.y - y).abs().max())
        if err > 1e-5:
            return i, f"planted targets off by {err:.3g}"
    return None
