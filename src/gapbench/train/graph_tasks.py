"""How a graph dataset is learned and scored (`gapbench train graph`): its task, loss and metric.

A generated kind's level, loss and metric are those of its registry entry (:mod:`gapbench.graphs.kinds`); a
downloaded benchmark's come from its dataset card (``meta.json``, see :mod:`gapbench.graphs.data`). Node-level
targets are the nodes with ``label_mask`` (all nodes when the field is absent). The built-in kinds:

============== ===== ======================================= ========
kind           level loss                                    metric
============== ===== ======================================= ========
planted_star   node  MSE                                     rmse
map            node  BCE on logits                           accuracy
ising          node  MSE of sigmoid(output) vs P(s_i = +1)   mse
duplicates     node  BCE on logits                           accuracy
benchmark      graph L1 (mae) / CE (accuracy) / BCE (ap)     as card
============== ===== ======================================= ========
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gapbench.errors import StoreError
from gapbench.graphs.kinds import DATASET_KINDS

if TYPE_CHECKING:
    from gapbench.train.graph_batches import GraphBatches


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
    """The task metric of ``model`` over a whole split (eval mode, no gradients; the training mode is restored)."""
    import torch

    acc = MetricAccumulator(task)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for x, ei, batch, ea, ng, y, mask in data.batches(batch_size):
            acc.add(model(x, ei, batch, ea, ng), y, mask)
    model.train(was_training)
    return acc.value()


def evaluate_loss(model, data: GraphBatches, task: Task, batch_size: int) -> float:
    """The training loss of ``model`` over a whole split, weighted by graphs per batch (eval mode, no gradients):
    the validation loss the plateau schedule watches (benchmarking-gnns, LRGB)."""
    import torch

    total, count = 0.0, 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for x, ei, batch, ea, ng, y, mask in data.batches(batch_size):
            total += float(loss_fn(task, model(x, ei, batch, ea, ng), y, mask)) * ng
            count += ng
    model.train(was_training)
    return total / count if count else float("nan")


def node_correct(model, data: GraphBatches, task: Task, batch_size: int) -> list:
    """Per graph of a node-classification split (storage order): whether each node's prediction is its label
    (``[N_g]`` bool numpy arrays; unlabelled nodes False)."""
    import torch

    out = []
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for first in range(0, len(data), batch_size):
            idx = list(range(first, min(first + batch_size, len(data))))
            x, ei, batch, ea, ng, y, mask = data.collate(idx)
            logits = model(x, ei, batch, ea, ng)
            right = ((logits.argmax(1) if task.loss == "ce" else (logits[:, 0] > 0).long()) == y.long()) & mask
            out += [r.cpu().numpy() for r in torch.split(right, [data.n[i] for i in idx])]
    model.train(was_training)
    return out


def better(task: Task, a: float, b: float) -> bool:
    """Is metric ``a`` strictly better than ``b`` (NaN is never better)?"""
    if math.isnan(a):
        return False
    if math.isnan(b):
        return True
    return a > b if task.higher_is_better else a < b


def select(task: Task, rows: list[dict]) -> dict:
    """The sweep row with the best validation metric (first one on ties)."""
    best = rows[0]
    for row in rows[1:]:
        if better(task, row["valid"], best["valid"]):
            best = row
    return best
