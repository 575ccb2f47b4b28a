"""AdamW for the PDE surrogates, computed as ``torch.optim.AdamW`` computes it, without ``torch.optim``.

AdamW (Loshchilov & Hutter, 2019; amsgrad off). For each parameter group (``lr``, ``weight_decay``) and each of
its parameters ``p`` with a gradient ``g``, at that parameter's ``t``-th update:

    p <- p * (1 - lr * weight_decay)                                         (decoupled weight decay)
    m <- lerp(m, g, 1 - beta1)                  = beta1 * m + (1 - beta1) * g
    v <- beta2 * v + (1 - beta2) * g * g
    p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

A parameter without a gradient is not updated and its ``t`` does not advance (as in torch.optim). The operations
are those of torch.optim's one-tensor-at-a-time path, in its order (``mul_``, ``lerp_``, ``mul_`` then
``addcmul_``, ``sqrt`` divided by the scalar ``sqrt(1 - beta2^t)`` plus ``eps``, ``addcdiv_`` with the scalar
``-lr / (1 - beta1^t)``), so that on the CPU, where torch.optim takes that path, every parameter is bit for bit
``torch.optim.AdamW``'s (a test); on CUDA the same updates run as multi-tensor (``torch._foreach_*``) calls,
a few kernels per group instead of a few per parameter.

Why not torch.optim: its ``step`` imports ``torch._dynamo`` at the first call (for graph breaks that only matter
under ``torch.compile``), about 1.4 s of CPU in every training process.
"""

from __future__ import annotations

import torch


class AdamW:
    """``torch.optim.AdamW``'s update (module docstring) over ``param_groups``: a list of dicts with ``params``
    and optionally ``lr`` and ``weight_decay`` (else the defaults given here); other keys are kept (e.g. a peak
    rate for a schedule). ``group["lr"]`` may be changed between steps. ``foreach``: the multi-tensor calls
    (``torch.optim.AdamW(foreach=True)``'s order of operations); None: on every device but the CPU."""

    def __init__(self, param_groups, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, foreach: bool | None = None):
        self.beta1, self.beta2 = betas
        self.eps, self.foreach = eps, foreach
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

    def _slots(self):
        """``(group, [(index, parameter)...])`` of the parameters with a gradient, per group."""
        i = 0
        for g in self.param_groups:
            live = [(i + j, p) for j, p in enumerate(g["params"]) if p.grad is not None]
            i += len(g["params"])
            yield g, live

    @torch.no_grad()
    def step(self) -> None:
        b1, b2 = self.beta1, self.beta2
        for g, live in self._slots():
            if not live:
                continue
            lr, wd = g["lr"], g["weight_decay"]
            for i, _ in live:
                self.t[i] += 1
            if not (self.foreach if self.foreach is not None else live[0][1].device.type != "cpu"):
                for i, p in live:
                    t = self.t[i]
                    if wd != 0:
                        p.mul_(1 - lr * wd)
                    self.m[i].lerp_(p.grad, 1 - b1)
                    self.v[i].mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                    denom = (self.v[i].sqrt() / (1 - b2**t) ** 0.5).add_(self.eps)
                    p.addcdiv_(self.m[i], denom, value=-(lr / (1 - b1**t)))
                continue
            params = [p for _, p in live]
            grads = [p.grad for p in params]
            m, v = [self.m[i] for i, _ in live], [self.v[i] for i, _ in live]
            if wd != 0:
                torch._foreach_mul_(params, 1 - lr * wd)
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

