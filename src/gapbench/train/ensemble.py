"""Training K graph models of one shape as one ensemble (:mod:`gapbench.models.ensemble`), bit for bit as each
member trained alone: the members' losses, and Adam over the stacked parameters with a learning rate per member.

An ensemble reads every mini-batch collated K times (``GraphBatches.batches(..., copies=K)``), member ``k`` copy
``k``. Each member's loss is computed from its contiguous output block and copy 0's targets exactly as for an
ensemble of 1 (:func:`member_losses`). The gradient of the sum of the members' losses with respect to member
``k``'s parameters is the gradient of its own loss (the sum's backward passes 1 to every member; no member's
parameters reach another's loss).
"""

from __future__ import annotations

import math

import torch

from gapbench.train.graph_tasks import Task, loss_fn


def member_losses(task: Task, out: torch.Tensor, y, mask, k: int) -> torch.Tensor:
    """``[K]``: each member's loss, from the ensemble's output ``[K * R, out_dim]`` on a batch collated K times
    (targets ``y`` and ``mask`` of the K copies).

    The MSE of node targets is computed for all members at once, ``mean_v (out[k, v] - y_v)^2`` over each
    member's contiguous row of ``[K, labelled nodes]`` (subtraction and square round once, in vector code as in
    scalar code; the mean reduces each row on its own); every other loss is the task's ``loss_fn`` on each
    member's block (their exp and log may round differently in vector and scalar code, so a member's elements
    must sit where they sit in an ensemble of 1)."""
    n = y.shape[0] // k
    y, mask = y[:n], None if mask is None else mask[:n]
    blocks = out.view(k, -1, out.shape[1])
    if task.level == "node" and task.loss == "mse":
        diff = blocks[:, mask, 0] - y[mask].to(out.dtype)
        return (diff * diff).mean(1)
    return torch.stack([loss_fn(task, block, y, mask) for block in blocks.unbind(0)])


class StackedAdam:
    """Adam (Kingma & Ba, 2015; the update of ``torch.optim.Adam`` without amsgrad) on parameters stacked over K
    members (leading dimension K) with a learning rate per member, ``lr [K]``. At step ``t`` for every parameter
    ``p`` with gradient ``g``:

        g <- g + weight_decay * p
        m <- beta1 * m + (1 - beta1) * g               v <- beta2 * v + (1 - beta2) * g * g
        p <- p - (lr_k / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    Every operation is elementwise and rounds once (no ``lerp``, ``addcmul`` or ``add(alpha=)``, which CPU
    kernels fuse into a multiply-add in their vector loops but not in their scalar tails), so member ``k``'s
    update does not depend on where its elements fall in the stacked tensor: it is that of an ensemble of 1.
    ``lr`` may be changed between steps (learning-rate schedules, per member).
    """

    def __init__(self, params, lr, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        self.params = list(params)
        self.lr = torch.as_tensor(lr, dtype=torch.float64).clone()
        self.beta1, self.beta2 = betas
        self.eps, self.weight_decay, self.t = eps, weight_decay, 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter with a gradient (one without is not used by the loss: as
        ``torch.optim.Adam``, no update), as multi-tensor (``torch._foreach_*``) operations: the same
        elementwise operations as one tensor at a time, with one call for all the parameters."""
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        root2 = math.sqrt(1 - b2 ** self.t)
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        params, m, v = ([x[i] for i in live] for x in (self.params, self.m, self.v))
        grads = [p.grad for p in params]
        if self.weight_decay:
            grads = torch._foreach_add(grads, torch._foreach_mul(params, self.weight_decay))
        torch._foreach_mul_(m, b1)
        torch._foreach_add_(m, torch._foreach_mul(grads, 1 - b1))
        torch._foreach_mul_(v, b2)
        torch._foreach_add_(v, torch._foreach_mul(torch._foreach_mul(grads, grads), 1 - b2))
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, root2)
        torch._foreach_add_(denom, self.eps)
        step_size = (self.lr / (1 - b1 ** self.t)).to(params[0].device, params[0].dtype) if params else None
        sizes = [step_size.view(-1, *([1] * (p.dim() - 1))) for p in params]
        torch._foreach_sub_(params, torch._foreach_div(torch._foreach_mul(m, sizes), denom))

    def select(self, params, keep: list[int]) -> None:
        """Keep the members ``keep`` (in that order), whose parameters are now ``params`` (as ``select``ed)."""
        self.params = list(params)
        self.lr = self.lr[keep]
        self.m = [m[keep] for m in self.m]
        self.v = [v[keep] for v in self.v]

    def state_dict(self) -> dict:
        return {"t": self.t, "lr": self.lr.clone(), "m": [m.clone() for m in self.m], "v": [v.clone() for v in self.v]}

    def load_state_dict(self, state: dict) -> None:
        self.t, self.lr = state["t"], state["lr"].clone()
        self.m = [m.clone() for m in state["m"]]
        self.v = [v.clone() for v in state["v"]]


def train_step(model, opt: StackedAdam, task: Task, batch) -> torch.Tensor:
    """One Adam step of every member of ``model`` (an ensemble of ``model.members``) on ``batch`` (collated
    ``model.members`` times); the members' losses ``[K]`` (before the step)."""
    x, ei, b, ea, ng, y, mask = batch
    opt.zero_grad()
    losses = member_losses(task, model(x, ei, b, ea, ng), y, mask, model.members)
    losses.sum().backward()
    opt.step()
    return losses.detach()


def evaluate_members(model, data, task: Task, batch_size: int, loss: bool = False) -> list[float]:
    """Per member of ``model`` (an ensemble), the task metric over a whole split, or with ``loss`` the training
    loss weighted by graphs per batch (the plateau schedule's validation loss); eval mode, no gradients, as
    :func:`gapbench.train.graph_batches.evaluate` and ``evaluate_loss`` for one model."""
    from gapbench.train.graph_tasks import MetricAccumulator

    k = model.members
    accs = [MetricAccumulator(task) for _ in range(k)]
    totals, count = [0.0] * k, 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for x, ei, b, ea, ng, y, mask in data.evaluation_batches(batch_size, copies=k):
            out = model(x, ei, b, ea, ng)
            if loss:
                count += ng // k
                totals = [t + float(v) * (ng // k) for t, v in zip(totals, member_losses(task, out, y, mask, k))]
                continue
            n = y.shape[0] // k
            for acc, block in zip(accs, out.view(k, -1, out.shape[1]).unbind(0)):
                acc.add(block, y[:n], None if mask is None else mask[:n])
    model.train(was_training)
    if loss:
        return [t / count if count else float("nan") for t in totals]
    return [acc.value() for acc in accs]
