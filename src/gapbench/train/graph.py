"""`gapbench train graph`: train node/edge GCNs (and DeepSets) on one graph dataset, sweeping hyperparameters.

One call = one Snakemake job = one (dataset, model, seed): every configuration of the grid
``depths x widths x lrs`` is trained for ``epochs`` epochs (Adam, cosine learning-rate decay), the epoch with
the best validation metric is kept for each configuration, and the configuration with the best validation
metric is selected; its test metric at that epoch is the reported number (seed Table 2 protocol: "best by
validation"). Outputs in ``--out``:

* ``metrics.json`` - keys (docs/gnn.md): task, experiment, variant, params, model, seed, metric,
  higher_is_better, test, valid, hyper (depth, width, lr), n_params, train_time_s, status (+ best_epoch,
  inference_time_s, n_configs, device).
* ``sweep.csv`` - one row per tried configuration: ``config,depth,width,lr,n_params,best_epoch,valid,test,
  train_time_s``.
* ``curves.csv`` - one row per epoch of every configuration: ``config,depth,width,lr,epoch,train_loss,valid,
  lr_now,elapsed_s``.
* ``checkpoint.pt`` (resume state, written after every epoch and every ``--checkpoint-every`` steps) and
  ``model.pt`` (the selected model's weights).

Tasks and metrics follow the dataset card (``meta.json``, see :mod:`gapbench.graphs.data`); node-level targets
are the nodes with ``label_mask`` (all nodes when the field is absent):

============== ===== ======================================= ========
kind           level loss                                    metric
============== ===== ======================================= ========
planted_star   node  MSE                                     rmse
map            node  BCE on logits                           accuracy
ising          node  MSE of sigmoid(output) vs P(s_i = +1)   mse
duplicates     node  BCE on logits                           accuracy
benchmark      graph L1 (mae) / CE (accuracy) / BCE (ap)     as card
============== ===== ======================================= ========

Reproducibility and resume: model initialisation of configuration ``c`` uses ``derived_seed(seed, "init", c)``,
the batch order of epoch ``t`` uses ``derived_seed(seed, "batches", c, t)`` and dropout re-seeds at every epoch,
so a job killed (SIGTERM: checkpoint, exit 143) and restarted resumes at the last finished epoch and ends with
exactly the metrics of an uninterrupted run (CPU).
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

COMMAND = "graph"
CURVE_COLUMNS = ("config", "depth", "width", "lr", "epoch", "train_loss", "valid", "lr_now", "elapsed_s")
SWEEP_COLUMNS = ("config", "depth", "width", "lr", "n_params", "best_epoch", "valid", "test", "train_time_s")
CHECKPOINT = "checkpoint.pt"


# ---------------------------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Hyper:
    """One point of the sweep grid."""

    depth: int
    width: int
    lr: float


@dataclass
class GraphTrainSpec:
    """Everything one `gapbench train graph` job needs (parsed from the command line)."""

    data: Path
    out: Path
    model: str
    seed: int = 0
    depths: list[int] = field(default_factory=lambda: [1, 2])
    widths: list[int] = field(default_factory=lambda: [32])
    lrs: list[float] = field(default_factory=lambda: [0.01])
    epochs: int = 30
    batch_size: int = 32
    weight_decay: float = 0.0
    activation: str = "relu"
    reduce: str = "mean"
    pool: str = "mean"
    norm: str = "none"
    dropout: float = 0.0
    head_layers: int = 1
    edge_features: bool = True
    schedule: str = "cosine"
    plateau_factor: float = 0.5
    plateau_patience: int = 10
    min_lr: float = 1e-5
    protocol: str = ""
    device: str = "auto"
    threads: int = 0
    checkpoint_every: int = 200
    progress: bool = True
    inject_failure: bool = False

    def grid(self) -> list[Hyper]:
        return [Hyper(d, w, lr) for d, w, lr in itertools.product(self.depths, self.widths, self.lrs)]


# ---------------------------------------------------------------------------------------------- tasks
@dataclass(frozen=True)
class Task:
    """How a dataset is learned and scored: prediction level, loss, metric and output width."""

    level: str  # node | graph
    loss: str  # mse | bce | prob_mse | l1 | ce | multilabel
    metric: str  # rmse | accuracy | mse | mae | ap
    out_dim: int

    @property
    def higher_is_better(self) -> bool:
        return self.metric in ("accuracy", "ap")


BENCHMARK_LOSS = {"mae": "l1", "accuracy": "ce", "ap": "multilabel"}


def task_for(meta: dict, train) -> Task:
    """The :class:`Task` of a dataset from its card (``meta.json``) and its training split."""
    from gapbench.errors import StoreError

    from gapbench.graphs.kinds import DATASET_KINDS

    kind = DATASET_KINDS.get(meta["kind"])
    if kind is not None and kind.metric != "card":  # loss and metric of the kind's entry, else the card's
        return Task(kind.level, kind.loss, kind.metric, 1)
    metric = meta.get("metric")
    if metric not in BENCHMARK_LOSS:
        raise StoreError(f"benchmark {meta.get('variant')}: metric {metric!r} not one of {', '.join(BENCHMARK_LOSS)}")
    y = train[0].y
    if metric == "accuracy":
        n_classes = int(meta.get("num_classes") or (max(int(d.y.max()) for d in train) + 1))
        return Task("graph", "ce", metric, n_classes)
    out_dim = int(y.shape[-1]) if y.dim() > 1 else 1
    return Task("graph", BENCHMARK_LOSS[metric], metric, out_dim)


# ---------------------------------------------------------------------------------------------- batching
class GraphBatches:
    """A split held as per-graph tensors on the device, collated into mini-batches by concatenation.

    Faster than ``torch_geometric.loader.DataLoader`` for many small graphs (no per-step Python collation of
    ``Data`` objects). Node features: ``x`` (with ``pos`` appended when present, as benchmarking-gnns does for
    superpixels); targets ``y`` with ``label_mask`` for node tasks. The graph structure the layers need is
    derived once per graph here and concatenated per batch (graphs/structure.py; ``structure=False`` leaves
    it to every forward, as a reference for benchmarks/gnn_step.py).
    """

    def __init__(self, dataset, task: Task, device, structure: bool = True):
        import torch

        from gapbench.graphs.structure import SplitStructure

        self.task, self.device = task, device
        self.x, self.ei, self.ea, self.y, self.mask, self.n = [], [], [], [], [], []
        for data in dataset:
            x = data.x
            if x is None:
                x = torch.ones(data.num_nodes, 1)
            if x.dim() == 1:
                x = x.unsqueeze(1)
            if getattr(data, "pos", None) is not None and x.dtype.is_floating_point:
                x = torch.cat([x, data.pos.to(x.dtype)], dim=1)
            self.x.append(x.to(device))
            self.ei.append(data.edge_index.to(device))
            ea = getattr(data, "edge_attr", None)
            self.ea.append(None if ea is None else ea.to(device))
            y = data.y
            if task.level == "graph" and y.dim() == 0:
                y = y.reshape(1)
            self.y.append(y.to(device))
            mask = getattr(data, "label_mask", None) if task.level == "node" else None
            self.mask.append(None if mask is None else mask.to(device))
            self.n.append(int(data.num_nodes))
        self.has_edge_attr = all(a is not None for a in self.ea) and len(self.ea) > 0
        self.structure = SplitStructure(self.ei, self.n) if structure else None

    def __len__(self) -> int:
        return len(self.x)

    def collate(self, idx: list[int]):
        """``(x, edge_index, batch, edge_attr, num_graphs, y, mask)`` of the graphs ``idx`` (``edge_index`` carrying
        the batch's structure)."""
        import torch

        from gapbench.graphs.structure import attach

        sizes = torch.tensor([self.n[i] for i in idx], device=self.device)
        offsets = torch.cumsum(sizes, 0) - sizes
        x = torch.cat([self.x[i] for i in idx])
        ei = torch.cat([self.ei[i] + offsets[k] for k, i in enumerate(idx)], dim=1)
        if self.structure is not None:
            ei = attach(ei, self.structure.batch(idx, ei))
        batch = torch.repeat_interleave(torch.arange(len(idx), device=self.device), sizes)
        ea = torch.cat([self.ea[i] for i in idx]) if self.has_edge_attr else None
        y = torch.cat([self.y[i] for i in idx])
        mask = None
        if self.task.level == "node":
            masks = [self.mask[i] if self.mask[i] is not None else torch.ones(self.n[i], dtype=torch.bool,
                                                                              device=self.device) for i in idx]
            mask = torch.cat(masks)
        return x, ei, batch, ea, len(idx), y, mask

    def batches(self, batch_size: int, generator=None, start: int = 0):
        """Mini-batches in the order drawn from ``generator`` (in storage order without), from batch ``start``."""
        import torch

        order = (torch.randperm(len(self), generator=generator).tolist() if generator is not None
                 else list(range(len(self))))
        for first in range(start * batch_size, len(order), batch_size):
            yield self.collate(order[first:first + batch_size])

    def feature_info(self) -> dict:
        """Model input description: float width, or categorical column sizes (max over this split + 1)."""
        x0 = self.x[0]
        info: dict = {}
        if x0.dtype.is_floating_point:
            info["in_dim"] = int(x0.shape[1])
        else:
            cols = int(x0.shape[1])
            info["in_dim"] = cols
            info["node_categories"] = [int(max(int(x[:, c].max()) for x in self.x)) + 1 for c in range(cols)]
        if self.has_edge_attr:
            a0 = self.ea[0] if self.ea[0].dim() > 1 else self.ea[0].unsqueeze(1)
            info["edge_dim"] = int(a0.shape[1])
            if not a0.dtype.is_floating_point:
                info["edge_categories"] = [
                    int(max(int((a if a.dim() > 1 else a.unsqueeze(1))[:, c].max()) for a in self.ea if a.numel()))
                    + 1 for c in range(int(a0.shape[1]))]
        return info


def merge_feature_info(*infos: dict) -> dict:
    """Categorical sizes must cover every split: take the column-wise maximum."""
    out = dict(infos[0])
    for key in ("node_categories", "edge_categories"):
        if key in out:
            out[key] = [max(col) for col in zip(*(i[key] for i in infos if key in i))]
    return out


# ---------------------------------------------------------------------------------------------- loss, metrics
def _prediction(task: Task, out, y, mask):
    """Model output and target restricted to what is scored (labelled nodes / graphs)."""
    if task.level == "node":
        return out[mask, 0], y[mask]
    if task.loss == "ce":
        return out, y.reshape(-1).long()
    return out, y.reshape(out.shape).to(out.dtype)


def loss_fn(task: Task, out, y, mask):
    import torch.nn.functional as F

    pred, target = _prediction(task, out, y, mask)
    if task.loss == "mse":
        return F.mse_loss(pred, target.to(pred.dtype))
    if task.loss == "prob_mse":
        return F.mse_loss(pred.sigmoid(), target.to(pred.dtype))
    if task.loss == "bce" or task.loss == "multilabel":
        target = target.to(pred.dtype)
        keep = ~target.isnan()
        return F.binary_cross_entropy_with_logits(pred[keep], target[keep])
    if task.loss == "l1":
        return F.l1_loss(pred, target)
    if task.loss == "ce":
        return F.cross_entropy(pred, target)
    raise ValueError(task.loss)


def average_precision(scores, labels) -> float:
    """Macro average precision over tasks (columns) as LRGB: tasks with both classes present, NaN labels
    ignored; AP = mean over positives of the precision at their rank (ties broken by order)."""
    import torch

    aps = []
    for c in range(labels.shape[1]):
        keep = ~labels[:, c].isnan()
        s, l = scores[keep, c], labels[keep, c]
        n_pos = int((l == 1).sum())
        if n_pos == 0 or n_pos == l.numel():
            continue
        order = torch.argsort(s, descending=True, stable=True)
        hits = (l[order] == 1).double()
        precision = torch.cumsum(hits, 0) / torch.arange(1, hits.numel() + 1, dtype=torch.float64)
        aps.append(float((precision * hits).sum() / n_pos))
    return float(sum(aps) / len(aps)) if aps else float("nan")


class MetricAccumulator:
    """Accumulates a split's predictions and computes the task metric over the whole split."""

    def __init__(self, task: Task):
        self.task, self.preds, self.targets = task, [], []

    def add(self, out, y, mask) -> None:
        pred, target = _prediction(self.task, out.detach(), y, mask)
        self.preds.append(pred.double().cpu())
        self.targets.append(target.cpu())

    def value(self) -> float:
        import torch

        if not self.preds:
            return float("nan")
        pred, target = torch.cat(self.preds), torch.cat(self.targets)
        m = self.task.metric
        if m == "rmse":
            return float(((pred - target.double()) ** 2).mean().sqrt())
        if m == "mse":
            return float(((pred.sigmoid() - target.double()) ** 2).mean())
        if m == "mae":
            return float((pred - target.double()).abs().mean())
        if m == "accuracy":
            if self.task.loss == "ce":
                return float((pred.argmax(1) == target).double().mean())
            return float(((pred > 0).long() == target.long()).double().mean())
        if m == "ap":
            return average_precision(pred, target.double())
        raise ValueError(m)


def evaluate(model, data: GraphBatches, task: Task, batch_size: int) -> float:
    import torch

    acc = MetricAccumulator(task)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for x, ei, batch, ea, ng, y, mask in data.batches(batch_size):
            acc.add(model(x, ei, batch, ea, ng), y, mask)
    model.train(was_training)
    return acc.value()


def better(task: Task, a: float, b: float) -> bool:
    """Is metric ``a`` strictly better than ``b`` (NaN is never better)?"""
    if math.isnan(a):
        return False
    if math.isnan(b):
        return True
    return a > b if task.higher_is_better else a < b


# ---------------------------------------------------------------------------------------------- training
def build(spec: GraphTrainSpec, hyper: Hyper, task: Task, info: dict):
    from gapbench.models.gnn import build_model

    return build_model(spec.model, info["in_dim"], task.out_dim, depth=hyper.depth, width=hyper.width,
                       activation=spec.activation, level=task.level, reduce=spec.reduce, pool=spec.pool,
                       head_layers=spec.head_layers, edge_dim=info.get("edge_dim"),
                       node_categories=info.get("node_categories"), edge_categories=info.get("edge_categories"),
                       norm=spec.norm, dropout=spec.dropout)


def _scheduler(optimizer, spec: GraphTrainSpec, steps_per_epoch: int, task: Task):
    """cosine: decay to 0 over all steps (stepped per batch); plateau: benchmarking-gnns / LRGB's
    ReduceLROnPlateau on the validation metric (lr *= factor after ``patience`` epochs without improvement, not
    below ``min_lr``; stepped per epoch); constant."""
    import torch

    if spec.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="max" if task.higher_is_better else "min", factor=spec.plateau_factor,
            patience=spec.plateau_patience, min_lr=spec.min_lr)
    if spec.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(spec.epochs * steps_per_epoch, 1))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


@dataclass
class Prepared:
    """A dataset loaded once for several runs of the same job: card, task, batches per split, input info."""

    meta: dict
    task: Task
    data: dict
    info: dict
    device: object

    def node_features_only(self) -> "Prepared":
        """The same splits with the edge features hidden from the models (``edge_attr`` never passed)."""
        import copy

        data = {}
        for split, batches in self.data.items():
            data[split] = copy.copy(batches)
            data[split].has_edge_attr = False
        info = {k: v for k, v in self.info.items() if k not in ("edge_dim", "edge_categories")}
        return Prepared(self.meta, self.task, data, info, self.device)


def prepare(data_path: Path, device_name: str = "auto") -> Prepared:
    """Load the three splits of a dataset onto the device (``gapbench.graphs.data.load``)."""
    from gapbench.graphs.data import load
    from gapbench.train import common

    device = common.select_device(device_name)
    splits = {s: load(data_path, s) for s in ("train", "valid", "test")}
    meta = splits["train"].meta
    task = task_for(meta, splits["train"])
    data = {s: GraphBatches(ds, task, device) for s, ds in splits.items()}
    info = merge_feature_info(*(d.feature_info() for d in data.values()))
    return Prepared(meta, task, data, info, device)


def _fingerprint(spec: GraphTrainSpec, meta: dict) -> dict:
    """What a checkpoint must agree on to be resumed: settings, model code, dataset card (``resume.py``)."""
    from gapbench.registry import plugin_code
    from gapbench.train.resume import GRAPH_CODE, code_version, content_digest, data_identity

    keep = ("model", "seed", "depths", "widths", "lrs", "epochs", "batch_size", "weight_decay", "activation",
            "reduce", "pool", "norm", "dropout", "head_layers", "edge_features", "schedule", "plateau_factor",
            "plateau_patience", "min_lr")
    files = [Path(spec.data) / "processed" / f"{s}.pt" for s in ("train", "valid", "test")]
    data = data_identity({"card": meta, "content": content_digest(files)})
    return {k: getattr(spec, k) for k in keep} | {"code": code_version(GRAPH_CODE + plugin_code(spec.model)), "data": data}


def run(spec: GraphTrainSpec, prepared: Prepared | None = None) -> dict:
    """Train the whole sweep of ``spec`` (resuming from ``spec.out/checkpoint.pt``); write and return metrics."""
    import torch

    from gapbench.errors import ConfigError
    from gapbench.registry import GRAPH_MODELS
    from gapbench.train import common

    if spec.model not in GRAPH_MODELS:
        raise ConfigError(f"--model {spec.model!r}: choose from {', '.join(GRAPH_MODELS)} (plugins register more)")
    if spec.epochs < 1 or spec.batch_size < 1:
        raise ConfigError("--epochs and --batch-size must be >= 1")
    if spec.threads:
        torch.set_num_threads(spec.threads)
    common.seed_everything(spec.seed)
    out = Path(spec.out)
    out.mkdir(parents=True, exist_ok=True)
    _lock = common.lock_output_dir(out)  # held until this function returns
    if prepared is None:
        prepared = prepare(spec.data, spec.device)
    if not spec.edge_features:
        prepared = prepared.node_features_only()
    meta, task, data, info, device = prepared.meta, prepared.task, prepared.data, prepared.info, prepared.device
    grid = spec.grid()
    eval_bs = max(spec.batch_size * 4, 64)

    ckpt = common.load_checkpoint(out / CHECKPOINT, map_location=device)
    fingerprint = _fingerprint(spec, meta)
    if ckpt is not None and ckpt.get("fingerprint") != fingerprint:
        print(f"gapbench: {out / CHECKPOINT} is from different settings; starting afresh", file=sys.stderr)
        ckpt = None
    state = ckpt if ckpt is not None else {"config": 0, "epoch": 0, "sweep": [], "curves": [], "elapsed": 0.0}
    curves = common.CurveLog(out / "curves.csv", CURVE_COLUMNS, state["curves"])
    sweep_rows: list[dict] = list(state["sweep"])
    clock = common.Stopwatch(state["elapsed"])
    common.maybe_inject_failure(spec.inject_failure)

    steps_per_epoch = math.ceil(len(data["train"]) / spec.batch_size)
    total = len(grid) * spec.epochs
    bar = common.progress(total=total, initial=state["config"] * spec.epochs + state["epoch"],
                          desc=f"{meta['kind']}/{meta['variant']} {spec.model}", enabled=spec.progress)
    best_model_state = state.get("best_model_state")
    with common.SigtermGuard() as guard:
        for ci in range(state["config"], len(grid)):
            hyper = grid[ci]
            torch.manual_seed(common.derived_seed(spec.seed, "init", ci))
            model = build(spec, hyper, task, info).to(device)
            opt = torch.optim.Adam(model.parameters(), lr=hyper.lr, weight_decay=spec.weight_decay)
            sched = _scheduler(opt, spec, steps_per_epoch, task)
            run_state = {"epoch": 0, "step": 0, "loss_sum": 0.0, "count": 0, "best_valid": float("nan"),
                         "best_test": float("nan"), "best_epoch": -1, "config_time": 0.0, "best_state": None,
                         "rng": None}
            if ci == state["config"] and ckpt is not None and "model" in ckpt:
                model.load_state_dict(ckpt["model"])
                opt.load_state_dict(ckpt["optimizer"])
                sched.load_state_dict(ckpt["scheduler"])
                run_state = dict(ckpt["run"])
            config_clock = common.Stopwatch(run_state["config_time"])

            def snapshot(next_config: bool = False) -> dict:
                base = {"sweep": sweep_rows, "curves": curves.state(), "elapsed": clock.elapsed,
                        "best_model_state": best_model_state, "fingerprint": fingerprint}
                if next_config:
                    return {**base, "config": ci + 1, "epoch": 0}
                return {**base, "config": ci, "epoch": run_state["epoch"],
                        "model": common.tensor_state(model.state_dict()),
                        "optimizer": common.tensor_state(opt.state_dict()),
                        "scheduler": sched.state_dict(),
                        "run": {**run_state, "config_time": config_clock.elapsed, "rng": torch.get_rng_state()}}

            def save() -> None:
                common.save_checkpoint(out / CHECKPOINT, snapshot())

            for epoch in range(run_state["epoch"], spec.epochs):
                if run_state["step"] == 0:
                    torch.manual_seed(common.derived_seed(spec.seed, "dropout", ci, epoch))
                else:  # resuming inside an epoch: same batch order, skip the batches already done
                    torch.set_rng_state(run_state["rng"])
                gen = common.generator(spec.seed, "batches", ci, epoch)
                model.train()
                for x, ei, batch, ea, ng, y, mask in data["train"].batches(spec.batch_size, gen,
                                                                           start=run_state["step"]):
                    opt.zero_grad(set_to_none=True)
                    loss = loss_fn(task, model(x, ei, batch, ea, ng), y, mask)
                    if not torch.isfinite(loss):
                        raise FloatingPointError(
                            f"non-finite training loss in config {ci} ({asdict(hyper)}), epoch {epoch}")
                    loss.backward()
                    opt.step()
                    if spec.schedule != "plateau":
                        sched.step()
                    run_state["loss_sum"] += float(loss.detach()) * ng
                    run_state["count"] += ng
                    run_state["step"] += 1
                    if spec.checkpoint_every and run_state["step"] % spec.checkpoint_every == 0:
                        save()
                    guard.check(save)
                valid = evaluate(model, data["valid"], task, eval_bs)
                if spec.schedule == "plateau" and not math.isnan(valid):
                    sched.step(valid)
                if better(task, valid, run_state["best_valid"]):
                    run_state.update(best_valid=valid, best_epoch=epoch,
                                     best_test=evaluate(model, data["test"], task, eval_bs),
                                     best_state=common.tensor_state(model.state_dict()))
                curves.append(config=ci, depth=hyper.depth, width=hyper.width, lr=hyper.lr, epoch=epoch,
                              train_loss=run_state["loss_sum"] / max(run_state["count"], 1), valid=valid,
                              lr_now=opt.param_groups[0]["lr"], elapsed_s=round(clock.elapsed, 3))
                run_state.update(epoch=epoch + 1, step=0, loss_sum=0.0, count=0)
                save()
                bar.update(1)
                bar.set_postfix(cfg=f"{ci + 1}/{len(grid)}", valid=f"{valid:.4g}",
                                best=f"{run_state['best_valid']:.4g}")
                guard.check(save)
            row = {"config": ci, "depth": hyper.depth, "width": hyper.width, "lr": hyper.lr,
                   "n_params": common.count_parameters(model), "best_epoch": run_state["best_epoch"],
                   "valid": run_state["best_valid"], "test": run_state["best_test"],
                   "train_time_s": round(config_clock.elapsed, 3)}
            sweep_rows.append(row)
            common.write_csv_atomic(out / "sweep.csv", SWEEP_COLUMNS, sweep_rows)
            best_row = select(task, sweep_rows)
            if best_row is row:
                best_model_state = run_state["best_state"]
            common.save_checkpoint(out / CHECKPOINT, snapshot(next_config=True))
    bar.close()
    curves.write()  # a finished sweep re-run rewrites every output from its checkpoint
    common.write_csv_atomic(out / "sweep.csv", SWEEP_COLUMNS, sweep_rows)

    best = select(task, sweep_rows)
    hyper = grid[best["config"]]
    model = build(spec, hyper, task, info).to(device)
    if best_model_state is not None:
        model.load_state_dict(best_model_state)
        torch.save(best_model_state, out / "model.pt.tmp")
        (out / "model.pt.tmp").replace(out / "model.pt")
    t0 = time.perf_counter()
    evaluate(model, data["test"], task, eval_bs)
    inference = time.perf_counter() - t0
    metrics = {
        "task": "graph", "experiment": meta["kind"], "variant": meta["variant"], "params": meta.get("params", {}),
        "model": spec.model, "seed": spec.seed, "metric": task.metric, "higher_is_better": task.higher_is_better,
        "test": best["test"], "valid": best["valid"],
        "hyper": {"depth": hyper.depth, "width": hyper.width, "lr": hyper.lr, "epochs": spec.epochs,
                  "batch_size": spec.batch_size, "activation": spec.activation, "head_layers": spec.head_layers,
                  "schedule": spec.schedule},
        "features": "nodes and edges" if spec.edge_features and info.get("edge_dim") else "nodes only",
        "protocol": spec.protocol,
        "n_params": int(best["n_params"]), "best_epoch": int(best["best_epoch"]), "n_configs": len(grid),
        "train_time_s": round(clock.elapsed, 3), "inference_time_s": round(inference, 4),
        "device": str(device), "status": "ok",
    }
    if "affine_floor" in meta:  # planted stars: the eq. 3 + linear-head floor and the target std (tables)
        metrics["affine_floor"] = meta["affine_floor"]
    common.write_json_atomic(out / "metrics.json", metrics)
    return metrics


def select(task: Task, rows: list[dict]) -> dict:
    """The sweep row with the best validation metric (first one on ties)."""
    best = rows[0]
    for row in rows[1:]:
        if better(task, row["valid"], best["valid"]):
            best = row
    return best


# ---------------------------------------------------------------------------------------------- CLI
def parse_budget(text: str) -> tuple[int, int]:
    """``"4x16"`` -> (depth 4, width 16)."""
    try:
        depth, width = (int(t) for t in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"budget {text!r}: expected DEPTHxWIDTH, e.g. 4x16") from None
    if not (0 <= depth <= 999 and 1 <= width <= 99999):  # the config schema's pattern for budgets
        raise argparse.ArgumentTypeError(f"budget {text!r}: allowed depth 0..999 and width 1..99999")
    return depth, width


def parse_head_layers(items: list[str], models: list[str]) -> dict[str, int]:
    """``["1", "node_sage=2"]`` -> read-out layers per model: a bare integer for every model, ``MODEL=K`` for one."""
    from gapbench.errors import ConfigError

    default, per_model = 1, {}
    for item in items:
        name, _, value = item.rpartition("=")
        try:
            k = int(value)
        except ValueError:
            k = 0
        if k < 1:
            raise ConfigError(f"--head-layers {item!r}: expected K or MODEL=K with an integer K >= 1")
        if not name:
            default = k
        elif name not in models:
            raise ConfigError(f"--head-layers {item!r}: {name} is not one of the trained models ({', '.join(models)})")
        else:
            per_model[name] = k
    return {m: per_model.get(m, default) for m in models}


def specs_from_args(args: argparse.Namespace) -> list[GraphTrainSpec]:
    """One :class:`GraphTrainSpec` per (model, budget); ``--out`` is formatted with model, depth, width."""
    from gapbench.errors import ConfigError

    out = str(args.out)
    budgets = args.budgets or [None]
    if len(args.model) > 1 and "{model}" not in out:
        raise ConfigError(f"--out {out!r}: several models need a {{model}} placeholder in --out")
    if len(budgets) > 1 and not ("{depth}" in out and "{width}" in out):
        raise ConfigError(f"--out {out!r}: several budgets need {{depth}} and {{width}} placeholders in --out")
    heads = parse_head_layers(args.head_layers, args.model)
    specs = []
    for model in args.model:
        for budget in budgets:
            depths, widths = ([budget[0]], [budget[1]]) if budget else (args.depths, args.widths)
            path = out.format(model=model, depth=depths[0], width=widths[0])
            specs.append(GraphTrainSpec(
                data=args.data, out=Path(path), model=model, seed=args.seed, depths=depths, widths=widths,
                lrs=args.lrs, epochs=args.epochs, batch_size=args.batch_size, weight_decay=args.weight_decay,
                activation=args.activation, reduce=args.reduce, pool=args.pool, norm=args.norm,
                dropout=args.dropout, head_layers=heads[model], edge_features=not args.node_features_only,
                schedule=args.schedule, plateau_factor=args.plateau_factor,
                plateau_patience=args.plateau_patience, min_lr=args.min_lr, protocol=args.protocol,
                device=args.device,
                threads=args.threads, checkpoint_every=args.checkpoint_every, progress=not args.no_progress,
                inject_failure=args.inject_failure))
    return specs


def _handler(args: argparse.Namespace) -> int:
    specs = specs_from_args(args)
    prepared = prepare(args.data, args.device)
    for spec in specs:
        metrics = run(spec, prepared)
        print(f"{metrics['experiment']}/{metrics['variant']} {metrics['model']} seed{metrics['seed']}: "
              f"test {metrics['metric']} {metrics['test']:.4g} (valid {metrics['valid']:.4g}, "
              f"depth {metrics['hyper']['depth']}, width {metrics['hyper']['width']}, lr {metrics['hyper']['lr']:g})"
              f" -> {spec.out}")
    return 0


def register(sub) -> None:
    """Add ``gapbench train graph``."""
    from gapbench import argtypes as A
    from gapbench.train.common import add_common_arguments

    p = sub.add_parser(COMMAND, help="train node/edge GCNs or DeepSets on a graph dataset (sweep, select by valid)",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, type=Path, help="dataset directory results/data/graphs/{kind}/{variant}")
    p.add_argument("--model", required=True, nargs="+",
                   help="one or more of node_gcn, node_sage, edge_gcn, node_gcn_directed, edge_gcn_directed, deepsets "
                        "(several: trained one after the other in this job; --out is then a template with "
                        "{model}, and with --budgets also {depth} and {width})")
    p.add_argument("--budgets", type=parse_budget, nargs="+", default=None, metavar="DEPTHxWIDTH",
                   help="fixed depth x width budgets, each its own run (replaces --depths/--widths; "
                        "several: --out needs {depth} and {width}), e.g. 2x8 4x16")
    p.add_argument("--depths", type=A.number(int, 0, 256), nargs="+", default=[1, 2], help="sweep: message-passing depths")
    p.add_argument("--widths", type=A.number(int, 1, 16384), nargs="+", default=[32], help="sweep: embedding widths")
    p.add_argument("--lrs", type=A.positive_float, nargs="+", default=[0.01], help="sweep: Adam learning rates")
    p.add_argument("--epochs", type=A.positive_int, default=30, help="epochs per configuration")
    p.add_argument("--batch-size", type=A.positive_int, default=32, help="graphs per mini-batch")
    p.add_argument("--weight-decay", type=A.non_negative_float, default=0.0, help="Adam weight decay")
    p.add_argument("--activation", default="relu", choices=("relu", "tanh", "gelu", "silu", "identity"),
                   help="the nonlinearity sigma of eq. 3/4")
    p.add_argument("--reduce", default="mean", choices=("mean", "sum", "max"),
                   help="neighbour aggregation (mean: eq. 3/4)")
    p.add_argument("--pool", default="mean", choices=("mean", "sum", "max"), help="read-off pooling")
    p.add_argument("--norm", default="none", choices=("none", "batch", "layer"),
                   help="normalisation inside each layer")
    p.add_argument("--dropout", type=A.number(float, 0, 1), default=0.0, help="dropout after each layer's nonlinearity")
    p.add_argument("--head-layers", nargs="+", default=["1"], metavar="K|MODEL=K",
                   help="read-out layers: 1 = linear head, k > 1 = MLP of k layers; a bare K for every model, "
                        "MODEL=K for one (e.g. 1 node_sage=2)")
    p.add_argument("--node-features-only", action="store_true",
                   help="hide the dataset's edge features from the models (Table 1 as published)")
    p.add_argument("--schedule", default="cosine", choices=("cosine", "plateau", "constant"),
                   help="learning-rate schedule: cosine decay per step, ReduceLROnPlateau on the validation "
                        "metric per epoch (benchmarking-gnns, LRGB), or constant")
    p.add_argument("--plateau-factor", type=A.number(float, 0, 1, low_open=True), default=0.5,
                   help="plateau: lr multiplier on a plateau, in (0, 1]")
    p.add_argument("--plateau-patience", type=A.number(int, 0, 100000), default=10,
                   help="plateau: epochs without improvement")
    p.add_argument("--min-lr", type=A.number(float, 0, 1), default=1e-5, help="plateau: lower bound of the learning rate")
    p.add_argument("--protocol", type=A.label, default="",
                   help="name of the published protocol followed (recorded in metrics)")
    add_common_arguments(p)
    p.set_defaults(handler=_handler)
