"""Adam, AdamW and their learning-rate schedules as ``torch.optim`` computes them, without ``torch.optim``.

Why: ``torch.optim``'s ``step`` imports ``torch._dynamo`` at its first call (for graph breaks that matter only
under ``torch.compile``), about 1.4 s of CPU in every training process; and its schedulers accept only its own
optimisers.

**Adam / AdamW** (Kingma & Ba, 2015; Loshchilov & Hutter, 2019; amsgrad off). For each parameter group
(``lr``, ``weight_decay``) and each of its parameters ``p`` with a gradient ``g``, at that parameter's ``t``-th
update:

    g <- g + weight_decay * p                       (Adam: L2 penalty in the gradient)
    p <- p * (1 - lr * weight_decay)                (AdamW: decoupled weight decay)
    m <- lerp(m, g, 1 - beta1)                    = beta1 * m + (1 - beta1) * g
    v <- beta2 * v + (1 - beta2) * g * g
    p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

A parameter without a gradient is not updated and its ``t`` does not advance. The operations are those of
torch.optim's one-tensor-at-a-time path, in its order (``add``/``mul_``, ``lerp_``, ``mul_`` then ``addcmul_``,
``sqrt`` divided by the scalar ``sqrt(1 - beta2^t)`` plus ``eps``, ``addcdiv_`` with ``-lr / (1 - beta1^t)``), so
on the CPU, where torch.optim takes that path, every parameter is bit for bit ``torch.optim.Adam``'s /
``AdamW``'s (tests). On other devices the same updates run as multi-tensor (``torch._foreach_*``) calls, as
torch.optim's ``foreach`` path orders them: a few kernels per group instead of a few per parameter.

**Schedules** (:class:`Cosine`, :class:`Plateau`, :class:`Constant`) set ``group["lr"]`` of every group with
torch.optim.lr_scheduler's arithmetic, bit for bit (tests): ``Cosine`` as ``CosineAnnealingLR`` (``eta_min``
0, its recursive form, stepped per batch), ``Plateau`` as ``ReduceLROnPlateau`` (mode min, relative threshold,
no cooldown; stepped with the validation loss), ``Constant`` as ``LambdaLR(lambda step: 1.0)``.
"""

from __future__ import annotations

import math

import torch


class Adam:
    """Adam (``decoupled_weight_decay=False``) or AdamW (True) over ``param_groups``: dicts with ``params`` and
    optionally ``lr`` and ``weight_decay`` (else the defaults given here); other keys are kept (e.g. a peak rate
    for a schedule). ``group["lr"]`` may be changed between steps. ``foreach``: the multi-tensor calls
    (torch.optim's ``foreach=True`` order of operations); None: on every device but the CPU."""

    def __init__(self, param_groups, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled_weight_decay: bool = False, foreach: bool | None = None):
        param_groups = list(param_groups)
        if param_groups and not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        self.beta1, self.beta2 = betas
        self.eps, self.decoupled, self.foreach = eps, decoupled_weight_decay, foreach
        self.param_groups = [{"lr": lr, "weight_decay": weight_decay, **g, "params": list(g["params"])}
                             for g in param_groups]
        params = [p for g in self.param_groups for p in g["params"]]
        if len({id(p) for p in params}) != len(params):
            raise ValueError("a parameter appears in more than one group")
        self.t = [0] * len(params)  # updates of each parameter (in group order)
        self.m = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in params]
        self.v = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in params]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.zero_()

    def _live(self):
        """``(group, [(index, parameter)...])`` of the parameters with a gradient, per group."""
        i = 0
        for g in self.param_groups:
            live = [(i + j, p) for j, p in enumerate(g["params"]) if p.grad is not None]
            i += len(g["params"])
            yield g, live

    @torch.no_grad()
    def step(self) -> None:
        b1, b2 = self.beta1, self.beta2
        for g, live in self._live():
            if not live:
                continue
            lr, wd = g["lr"], g["weight_decay"]
            for i, _ in live:
                self.t[i] += 1
            if not (self.foreach if self.foreach is not None else live[0][1].device.type != "cpu"):
                for i, p in live:
                    t, grad = self.t[i], p.grad
                    if wd != 0:
                        if self.decoupled:
                            p.mul_(1 - lr * wd)
                        else:
                            grad = grad.add(p, alpha=wd)
                    self.m[i].lerp_(grad, 1 - b1)
                    self.v[i].mul_(b2).addcmul_(grad, grad, value=1 - b2)
                    denom = (self.v[i].sqrt() / (1 - b2**t) ** 0.5).add_(self.eps)
                    p.addcdiv_(self.m[i], denom, value=-(lr / (1 - b1**t)))
                continue
            params = [p for _, p in live]
            grads = [p.grad for p in params]
            m, v = [self.m[i] for i, _ in live], [self.v[i] for i, _ in live]
            if wd != 0:
                if self.decoupled:
                    torch._foreach_mul_(params, 1 - lr * wd)
                else:
                    grads = torch._foreach_add(grads, params, alpha=wd)
            torch._foreach_lerp_(m, grads, 1 - b1)
            torch._foreach_mul_(v, b2)
            torch._foreach_addcmul_(v, grads, grads, 1 - b2)
            denom = torch._foreach_sqrt(v)
            torch._foreach_div_(denom, [(1 - b2 ** self.t[i]) ** 0.5 for i, _ in live])
            torch._foreach_add_(denom, self.eps)
            torch._foreach_addcdiv_(params, m, denom, [-(lr / (1 - b1 ** self.t[i])) for i, _ in live])

    def state_dict(self) -> dict:
        """Plain values and tensors (``torch.load(weights_only=True)`` reads it): the updates per parameter, the
        moments, and each group's settings (its parameters left out)."""
        return {"t": list(self.t), "m": list(self.m), "v": list(self.v),
                "groups": [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]}

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` of an optimiser over parameters of the same shapes and groups."""
        if len(state["groups"]) != len(self.param_groups) or len(state["m"]) != len(self.m) or any(
                a.shape != b.shape for a, b in zip(state["m"], self.m)):
            raise ValueError("optimiser state of different parameters")
        self.t = [int(t) for t in state["t"]]
        self.m = [m.to(p.device).clone() for m, p in zip(state["m"], self.m)]
        self.v = [v.to(p.device).clone() for v, p in zip(state["v"], self.v)]
        for g, saved in zip(self.param_groups, state["groups"]):
            g.update(saved)


def AdamW(param_groups, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
          weight_decay: float = 1e-2, foreach: bool | None = None) -> Adam:
    """:class:`Adam` with decoupled weight decay (``torch.optim.AdamW``, its default weight decay 0.01)."""
    return Adam(param_groups, lr, betas, eps, weight_decay, decoupled_weight_decay=True, foreach=foreach)


class Constant:
    """The rate of every group stays as it is (``LambdaLR(lambda step: 1.0)``)."""

    def __init__(self, optimizer: Adam):
        self.optimizer = optimizer

    def step(self) -> None:
        return None

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        return None


class Cosine(Constant):
    """``CosineAnnealingLR(optimizer, T_max=t_max)`` (``eta_min`` 0): after step ``e`` of the schedule, with ``lr``
    the rate before it and ``base`` the group's rate at construction,

        lr <- (1 + cos(pi e / T)) / (1 + cos(pi (e - 1) / T)) * lr     (``lr + base (1 - cos(pi / T)) / 2`` when
                                                                        ``(e - 1 - T) mod 2T = 0``)

    which is ``base (1 + cos(pi e / T)) / 2`` up to rounding; rounded as torch's recursion rounds it."""

    def __init__(self, optimizer: Adam, t_max: int):
        super().__init__(optimizer)
        self.t_max, self.last = t_max, 0
        self.base = [g["lr"] for g in optimizer.param_groups]

    def step(self) -> None:
        self.last += 1
        e, t = self.last, self.t_max
        for g, base in zip(self.optimizer.param_groups, self.base):
            if (e - 1 - t) % (2 * t) == 0:
                g["lr"] = g["lr"] + (base - 0.0) * (1 - math.cos(math.pi / t)) / 2
            else:
                g["lr"] = (1 + math.cos(math.pi * e / t)) / (1 + math.cos(math.pi * (e - 1) / t)) * (g["lr"] - 0.0) \
                    + 0.0

    def state_dict(self) -> dict:
        return {"last": self.last, "t_max": self.t_max, "base": list(self.base)}

    def load_state_dict(self, state: dict) -> None:
        self.last, self.t_max, self.base = int(state["last"]), int(state["t_max"]), list(state["base"])


class Plateau(Constant):
    """``ReduceLROnPlateau(optimizer, mode="min", factor, patience, threshold=1e-4, min_lr)``: a loss below
    ``best * (1 - threshold)`` is the new best; after more than ``patience`` losses in a row without one, each
    group's rate becomes ``max(lr * factor, min_lr)`` when that lowers it by more than ``eps`` (1e-8), and the count
    restarts."""

    def __init__(self, optimizer: Adam, factor: float, patience: int, min_lr: float = 0.0, threshold: float = 1e-4,
                 eps: float = 1e-8):
        super().__init__(optimizer)
        self.factor, self.patience, self.min_lr, self.threshold, self.eps = factor, patience, min_lr, threshold, eps
        self.best, self.bad = math.inf, 0

    def step(self, loss: float) -> None:  # type: ignore[override]
        current = float(loss)
        if current < self.best * (1.0 - self.threshold):
            self.best, self.bad = current, 0
        else:
            self.bad += 1
        if self.bad > self.patience:
            for g in self.optimizer.param_groups:
                old = float(g["lr"])
                new = max(old * self.factor, self.min_lr)
                if old - new > self.eps:
                    g["lr"] = new
            self.bad = 0

    def state_dict(self) -> dict:
        return {"best": self.best, "bad": self.bad}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.bad = float(state["best"]), int(state["bad"])
