"""Training K graph models of one shape as one ensemble (:mod:`gapbench.models.ensemble`), bit for bit as each
member trained alone: the members' losses, and Adam over the stacked parameters with a learning rate per member.

Each member's loss is the task's own :func:`gapbench.train.graph_tasks.loss_fn` on that member's contiguous
output block, so it is computed exactly as for an ensemble of 1. The gradient of the sum of the members' losses
with respect to member ``k``'s parameters is the gradient of its own loss (the sum's backward passes 1 to every
member; no member's parameters reach another's loss).
"""

from __future__ import annotations

import math

import torch

from gapbench.models.ensemble import members
from gapbench.train.graph_tasks import Task, loss_fn


def member_losses(task: Task, out: torch.Tensor, y, mask, k: int) -> torch.Tensor:
    """``[K]``: each member's loss on the batch, from the ensemble's output ``[R, K * out_dim]``."""
    blocks = members(out, k)
    return torch.stack([loss_fn(task, blocks[i], y, mask) for i in range(k)])


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
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        root2 = math.sqrt(1 - b2 ** self.t)
        step_size = self.lr / (1 - b1 ** self.t)
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad
            if self.weight_decay:
                g = g + p * self.weight_decay
            m.mul_(b1).add_(g * (1 - b1))
            v.mul_(b2).add_(g * g * (1 - b2))
            denom = (v.sqrt() / root2).add_(self.eps)
            size = step_size.to(p.dtype).view(-1, *([1] * (p.dim() - 1)))
            p.sub_(size * m / denom)

    def state_dict(self) -> dict:
        return {"t": self.t, "lr": self.lr.clone(), "m": [m.clone() for m in self.m], "v": [v.clone() for v in self.v]}

    def load_state_dict(self, state: dict) -> None:
        self.t, self.lr = state["t"], state["lr"].clone()
        self.m = [m.clone() for m in state["m"]]
        self.v = [v.clone() for v in state["v"]]


def train_step(model, opt: StackedAdam, task: Task, batch) -> torch.Tensor:
    """One Adam step of every member of ``model`` (an ensemble of ``model.members``) on ``batch``; the members'
    losses ``[K]`` (before the step)."""
    x, ei, b, ea, ng, y, mask = batch
    opt.zero_grad()
    losses = member_losses(task, model(x, ei, b, ea, ng), y, mask, model.members)
    losses.sum().backward()
    opt.step()
    return losses.detach()
