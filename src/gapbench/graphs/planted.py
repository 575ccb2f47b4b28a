"""Planted-star regression (docs/science.md, Part I; seed Table 2): targets from a random planted edge model.

Graph: star with ``n`` leaves (node 0 the centre, nodes ``1..n`` the leaves, pairs ``(0, v)``). Leaf features
``x_v ~ N(0, I_10)`` iid. Two planted laws (``law``), both recorded in meta.json:

**paper** (PLANTED-1P, the paper's v1 Sec. 8.2, the default): the centre carries nothing (``x_0 = 0``); the teacher
is eq. 4 itself - residual, mean over the *other* edges, no bias, no self weight - on 10-dimensional states::

    h^(0)_{uv} = x_u + x_v                      (= x_i on the edge {v0, v_i}, since x_0 = 0)
    h^(l)_e    = h^(l-1)_e + sigma(W_l mean{h^(l-1)_f : f shares an endpoint with e, f != e}),  l = 1..k
    y_v        = u^T mean{h^(k)_e : e at v}      (a leaf: its single edge)

The paper leaves unstated, and these options fix (defaults in brackets): the nonlinearity ``sigma``
(``activation``, [relu]); the law of ``W_l`` (``weight_law``: [uniform] ``U(-s/sqrt(10), s/sqrt(10))``, PyTorch's
``nn.Linear`` default at ``s = 1``, or normal ``N(0, s^2/10)``) and its scale ``s`` (``weight_scale``, [1]); the
label dimension, here one number per leaf read from the 10-dim output by ``readout``: [projection] ``u`` drawn
with ``W``'s law (a random linear read-out, ``Linear(10, 1, bias=False)``), or ``first`` (``u = e_1``, the first
coordinate of ``h^(k)``). :func:`paper_teacher` computes it with the O(|E|) line-graph mean.

**centre-bilinear** (PLANTED-1C, this project's earlier default, a labelled variant): every node, the centre
included, has ``x_v ~ N(0, I_10)``; the teacher is the learner ``edge_gcn`` itself,
``build_model("edge_gcn", in_dim=10, out_dim=1, depth=k, width=width, activation="relu", level="node")``:
``h_uv = A(x_u + x_v) + B(x_u * x_v) + c``, ``k`` eq. 4 layers with bias, node read-off ``w^T mean{h_e} + b``;
every weight and bias ``~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))``. Its leaf targets are one-hop functions of
``(x_0, x_v)`` through the product ``x_0 * x_v`` (see the product floor).

**Seeds**: the teacher is drawn from a ``torch.Generator`` seeded with ``planted_seed``, derived from
``(seed, law, k, data_seed)`` and **not** from ``n`` (the teacher's weights do not depend on ``n``): every star
size of one ``(law, k, data_seed)`` shares one teacher (the memory experiment needs that). The graphs are drawn
from the stream of ``(seed, variant, split)``; the variant names the data seed, so a new ``data_seed`` draws a
new teacher *and* new graphs (a teacher draw is the unit of replication of Table 2). The weights are saved as
``planted_model.pt`` so every target can be recomputed (:func:`verify_labels`).

Targets: ``y [N]`` is the planted output at every node; the task's targets are the leaves (``label_mask``).

Floors (PLANTED-2, :func:`floors`), least squares on the test split, one free constant per graph:

* affine floor: ``min sqrt(mean_v (y_v - a^T x_v - c_G)^2)``. With eq. 3 a leaf's only neighbour is the centre,
  so its update never reads its own state; with a linear head every node-GCN leaf output is of that form at
  any depth and width: the floor bounds eq. 3 (a model on it has learnt what eq. 3 can);
* product floor: the same with ``a^T x_v + b^T (x_0 * x_v) + c_G`` (the ten products with the centre's
  features). Under the centre-bilinear law it is near 0: every target is then (almost) that one-hop function,
  so a gap between a model that has the product (the edge encoder, the bilinear node control) and one that has
  not is made of that product term. Under the paper law ``x_0 = 0`` and both floors coincide.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from gapbench.errors import ConfigError, StoreError
from gapbench.graphs import variants
from gapbench.graphs.kinds import PLANTED_LAWS

FEATURES = 10
MODEL_FILE = "planted_model.pt"
LAWS = PLANTED_LAWS
WEIGHT_LAWS = ("uniform", "normal")
READOUTS = ("projection", "first")
ACTIVATIONS = ("relu", "tanh", "gelu", "silu", "identity")


@dataclass(frozen=True)
class PlantedStarParams:
    """One planted-star dataset: leaves, planted depth, law and its options, data seed, graph count, splits.

    ``width`` applies to the centre-bilinear law (its teacher's width); ``activation``, ``weight_law``,
    ``weight_scale`` and ``readout`` to the paper law (module docstring)."""

    leaves: int
    depth: int
    n_graphs: int
    law: str = "paper"
    data_seed: int = 0
    width: int = 10
    activation: str = "relu"
    weight_law: str = "uniform"
    weight_scale: float = 1.0
    readout: str = "projection"
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0

    @property
    def variant(self) -> str:  # also the RNG label of the graphs
        return variants.make("planted_star", leaves=self.leaves, depth=self.depth, law=self.law,
                             data_seed=self.data_seed)

    @property
    def centre_features(self) -> bool:
        return self.law == "centre-bilinear"

    def check(self) -> None:
        if self.leaves < 1 or self.depth < 0 or self.width < 1 or self.data_seed < 0:
            raise ConfigError(f"planted star needs leaves >= 1, depth >= 0, width >= 1, data_seed >= 0 (got {self})")
        for name, value, allowed in (("law", self.law, LAWS), ("weight_law", self.weight_law, WEIGHT_LAWS),
                                     ("readout", self.readout, READOUTS),
                                     ("activation", self.activation, ACTIVATIONS)):
            if value not in allowed:
                raise ConfigError(f"planted star {name} {value!r}: allowed: {', '.join(allowed)}")
        if not self.weight_scale > 0:
            raise ConfigError(f"planted star weight_scale {self.weight_scale}: allowed: a number > 0")


def _least_squares_floor(graphs, products: bool) -> float:
    """RMSE of the least-squares fit of the leaf targets by ``a^T x_v [+ b^T (x_0 * x_v)] + c_G``."""
    xs, ys = [], []
    for g in graphs:
        leaf = g.label_mask.numpy()
        x = g.x.numpy().astype(np.float64)
        feats = x[leaf]
        if products:
            feats = np.concatenate([feats, feats * x[0]], axis=1)
        y = g.y.numpy()[leaf].astype(np.float64)
        xs.append(feats - feats.mean(axis=0))
        ys.append(y - y.mean())
    x, y = np.concatenate(xs), np.concatenate(ys)
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    return float(np.sqrt(np.mean((y - x @ coef) ** 2)))


def affine_floor(graphs) -> tuple[float, float]:
    """(PLANTED-2) ``(affine floor RMSE, leaf target std)`` of planted-star graphs (leaves = ``label_mask``)."""
    leaf_y = np.concatenate([g.y.numpy()[g.label_mask.numpy()] for g in graphs]).astype(np.float64)
    return _least_squares_floor(graphs, False), float(leaf_y.std())


def product_floor(graphs) -> float:
    """(PLANTED-2) RMSE of the best ``a^T x_v + b^T (x_0 * x_v) + c_G`` (node 0 = the centre)."""
    return _least_squares_floor(graphs, True)


def floors(graphs) -> dict:
    """The card's ``affine_floor`` entry: affine and product floor, leaf target std, on ``graphs``."""
    floor, std = affine_floor(graphs)
    return {"rmse": round(floor, 6), "product_rmse": round(product_floor(graphs), 6), "leaf_std": round(std, 6),
            "split": "test"}


def paper_teacher(depth: int, activation: str = "relu"):
    """The paper-law teacher as a torch module (PLANTED-1P): ``weights [k, 10, 10]`` (``W_l``), ``readout [10]``
    (``u``); ``forward(x, edge_index, batch=None) -> [N, 1]``."""
    import torch
    from torch import nn

    from gapbench.graphs.structure import undirected_graph
    from gapbench.models.ops import line_graph_aggregate

    act = {"relu": torch.relu, "tanh": torch.tanh, "gelu": nn.functional.gelu, "silu": nn.functional.silu,
           "identity": lambda t: t}[activation]

    class Teacher(nn.Module):
        def __init__(self):
            super().__init__()
            self.weights = nn.Parameter(torch.zeros(depth, FEATURES, FEATURES), requires_grad=False)
            self.readout = nn.Parameter(torch.zeros(FEATURES), requires_grad=False)

        def draw(self, generator, weight_law: str, scale: float, readout: str) -> None:
            """``W_l`` (and ``u`` for ``projection``) from ``weight_law`` at ``scale / sqrt(10)``."""
            bound = scale / FEATURES ** 0.5
            with torch.no_grad():
                for t in ([self.weights, self.readout] if readout == "projection" else [self.weights]):
                    if weight_law == "uniform":
                        t.uniform_(-bound, bound, generator=generator)
                    else:
                        t.normal_(0.0, bound, generator=generator)
                if readout == "first":
                    self.readout.zero_()
                    self.readout[0] = 1.0

        def edge_states(self, x, edge_index):
            g = undirected_graph(edge_index, x.shape[0])
            u, v = g.edges
            h = x[u] + x[v]
            for w in self.weights:
                agg = line_graph_aggregate(h, g.edges, g.num_nodes, "mean", index=g.index)
                h = h + act(agg @ w.T)
            return h, g

        def forward(self, x, edge_index, batch=None):
            h, g = self.edge_states(x, edge_index)
            u, v = g.edges
            node = torch.zeros(g.num_nodes, FEATURES, dtype=h.dtype).index_add_(0, u, h).index_add_(0, v, h)
            deg = torch.zeros(g.num_nodes, dtype=h.dtype).index_add_(0, u, torch.ones_like(u, dtype=h.dtype))
            deg.index_add_(0, v, torch.ones_like(v, dtype=h.dtype))
            return ((node / deg.clamp(min=1.0).unsqueeze(1)) @ self.readout).unsqueeze(1)

    return Teacher()


def model_kwargs(params: PlantedStarParams) -> dict:
    """Constructor arguments of the planted model (recorded in meta.json; :func:`build_planted` reads them)."""
    if params.law == "paper":
        return {"name": "paper_teacher", "depth": params.depth, "activation": params.activation}
    return {"name": "edge_gcn", "in_dim": FEATURES, "out_dim": 1, "depth": params.depth, "width": params.width,
            "activation": "relu", "level": "node", "pool": "mean"}


def build_planted(kwargs: dict):
    kw = dict(kwargs)
    name = kw.pop("name")
    if name == "paper_teacher":
        return paper_teacher(**kw)
    from gapbench.models.gnn import build_model

    return build_model(name, **kw)


def planted_seed(params: PlantedStarParams) -> int:
    """The teacher's seed: from (root seed, law, k, data seed), never from the number of leaves."""
    from gapbench.graphs.data import rng

    return int(rng(params.seed, "planted_star", "teacher", params.law, params.depth, params.data_seed)
               .integers(2**62))


def draw_teacher(params: PlantedStarParams):
    """The planted model of ``params`` (eval mode), drawn from :func:`planted_seed`."""
    import torch

    model = build_planted(model_kwargs(params))
    gen = torch.Generator().manual_seed(planted_seed(params))
    if params.law == "paper":
        model.draw(gen, params.weight_law, params.weight_scale, params.readout)
    else:
        model.reset_parameters(gen, law="uniform")
    return model.eval()


def law_text(params: PlantedStarParams) -> str:
    """Every choice of the law in one line (meta.json ``law``; Table 2 prints it)."""
    if params.law == "paper":
        w = (f"U(-{params.weight_scale:g}/sqrt(10), {params.weight_scale:g}/sqrt(10))"
             if params.weight_law == "uniform" else f"N(0, {params.weight_scale:g}^2/10)")
        read = ("u^T h^(k), u drawn with W's law" if params.readout == "projection"
                else "the first coordinate of h^(k)")
        return (f"paper: leaves x_i ~ N(0, I_10), centre x_0 = 0; teacher eq. 4 (residual, mean over the other "
                f"edges, no bias, no self weight), h^(0)_(v0 vi) = x_i, 10-dim states, k layers (the planted depth), "
                f"sigma = {params.activation}, W_l ~ {w} iid; label = {read}")
    return ("centre-bilinear: x_v ~ N(0, I_10) at every node, centre included; teacher = edge_gcn "
            f"(h_uv = A(x_u + x_v) + B(x_u * x_v) + c, k eq. 4 layers with bias, width "
            f"{params.width}, relu, linear read-out), every weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))")


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
    """Generate the dataset: (split -> list of Data, meta, planted model). Deterministic from the seeds."""
    import torch
    from torch_geometric.data import Data

    from gapbench.graphs.data import rng, split_sizes

    params.check()
    if params.law == "paper" and params.width != FEATURES:
        raise ConfigError(f"planted star width {params.width}: the paper law's states are the 10-dim features "
                          f"(h^(0) = x_i); allowed with law paper: {FEATURES}")
    model = draw_teacher(params)
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
    choices = {"law": params.law, "data_seed": params.data_seed}
    choices.update({"activation": params.activation, "weight_law": params.weight_law,
                    "weight_scale": params.weight_scale, "readout": params.readout} if params.law == "paper"
                   else {"width": params.width})
    meta = {
        "kind": "planted_star", "variant": params.variant, "seed": params.seed,
        "params": {"leaves": params.leaves, "depth": params.depth, **choices,
                   "centre_features": params.centre_features},
        "generator": asdict(params),
        "task": "node_regression", "metric": "rmse", "higher_is_better": False,
        "label_nodes": "leaves (label_mask); y at the centre is the planted output there, not a target",
        "planted_model": {"file": MODEL_FILE, "kwargs": model_kwargs(params), "planted_seed": planted_seed(params),
                          "seeded_by": "root seed, law, depth k, data_seed (not the number of leaves)",
                          **choices},
        "law": law_text(params),
        "target_stats": {"train_leaf_mean": round(float(leaf_y.mean()), 6),
                         "train_leaf_std": round(float(leaf_y.std()), 6)},
        "affine_floor": floors(splits["test"]),
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
        if not meta["params"].get("centre_features", True) and bool(g.x[0].any()):
            return i, "the centre must have x_0 = 0 under this law"
    for i, (g, y) in enumerate(zip(graphs, planted_outputs(model, graphs))):
        err = float((g.y - y).abs().max())
        if err > 1e-5:
            return i, f"planted targets off by {err:.3g}"
    return None
