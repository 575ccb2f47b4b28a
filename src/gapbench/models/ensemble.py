"""K graph models of one shape as one batch-invariant ensemble: member ``k`` of an ensemble of ``K`` computes,
bit for bit, what it computes in an ensemble of 1.

:func:`stack` turns K models of the same architecture into one model of that architecture whose every
``nn.Linear`` is a :class:`StackedLinear` (weights ``[K, out, in]``, biases ``[K, out]``; parameter names as in
one model). Its states are **member-folded**: a row (node, edge, graph) holds the K members' states side by side,
``h [R, K * width]``, member ``k`` in columns ``k * width .. (k + 1) * width - 1``. Everything in the models
besides the linear maps works column by column (gathers, ``index_add_`` aggregates, scatter pooling, the
residual ``+``, elementwise activations), so the model's own ``forward`` runs unchanged on folded states, and a
column's value never depends on how many columns there are: member ``k``'s output columns equal those of the
member trained alone. The linear maps are made batch-invariant in :class:`StackedLinear`.

Supported (:func:`unsupported_reason`): the models of :data:`ENSEMBLE_MODELS` (their forward is column-wise),
float features, no norm, no dropout (an ensemble's dropout mask could not be each member's own draw).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

ENSEMBLE_MODELS = ("NodeGCN", "NodeSAGE", "EdgeGCN", "DeepSets")  # classes whose forward is column-wise


class StackedLinear(nn.Module):
    """K linear maps on member-folded rows: ``y[r, k] = W_k x[r, k] + b_k`` with ``x [R, K * in]`` (one input per
    member) or ``x [R, in]`` (one input shared by the members: the features), ``y [R, K * out]``.

    Batch invariance (``y[:, k]`` does not depend on K): for ``out > 1`` one ``torch.bmm`` over the member
    dimension, ``[K, R, in] x [K, in, out]``, whose CPU kernel computes each member's product on its own (its
    backward, the products ``g^T x`` and ``g W``, likewise); a matrix-vector product (``out == 1``, the heads)
    is computed as ``sum_i x[r, k, i] * W_k[0, i]`` (broadcast multiply, sum along the contiguous last dimension),
    because ``bmm`` picks a different kernel for ``[K, R, in] x [K, in, 1]`` depending on K; the gradients of
    bias and weight are sums over rows of each member's contiguous block (:class:`_MemberFirstGrad`).
    """

    def __init__(self, linears: list[nn.Linear]):
        super().__init__()
        self.members, self.in_features, self.out_features = len(linears), linears[0].in_features, linears[0].out_features
        self.weight = nn.Parameter(torch.stack([lin.weight.detach() for lin in linears]))
        self.bias = (nn.Parameter(torch.stack([lin.bias.detach() for lin in linears]))
                     if linears[0].bias is not None else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        K, out, inp = self.weight.shape
        R = x.shape[0]
        if x.shape[1] == inp and K > 1:  # shared input
            xs = x.expand(K, R, inp)
        else:
            xs = x.view(R, K, inp).transpose(0, 1)
        if out == 1:
            y = (xs.contiguous() * self.weight).sum(-1, keepdim=True)  # [K, R, 1]
        else:
            y = torch.bmm(xs, self.weight.transpose(1, 2))  # [K, R, out]
        if self.bias is not None:
            y = y + self.bias.unsqueeze(1)
        return _MemberFirstGrad.apply(y).transpose(0, 1).reshape(R, K * out)


class _MemberFirstGrad(torch.autograd.Function):
    """The identity, whose backward makes the gradient ``[K, R, out]`` contiguous: the gradients of the bias and of
    a matrix-vector weight are then sums over rows of each member's own contiguous block, which CPU reductions
    compute the same way for any K (summed over rows of the member-folded ``[R, K * out]``, the vectorisation
    over the ``K * out`` columns, hence the order of additions, would depend on K)."""

    @staticmethod
    def forward(ctx, y):
        return y.view_as(y)

    @staticmethod
    def backward(ctx, grad):
        return grad.contiguous()


def unsupported_reason(model: nn.Module) -> str | None:
    """Why ``model`` cannot be a member of an ensemble, or None when it can."""
    name = type(model).__name__
    if name not in ENSEMBLE_MODELS:
        return f"{name} is not one of the ensemble's models ({', '.join(ENSEMBLE_MODELS)})"
    for module in model.modules():
        if isinstance(module, nn.Dropout) and module.p > 0:
            return "dropout draws would not be each member's own"
        if any(True for _ in module.parameters(recurse=False)) and not isinstance(module, nn.Linear):
            return f"{type(module).__name__} holds parameters (norms and embeddings are not stacked)"
    return None


def stack(models: list[nn.Module]) -> nn.Module:
    """One model of ``models[0]``'s architecture holding all K members (see the module docstring): its forward
    takes the model's inputs and returns ``[R, K * out_dim]`` (:func:`members` splits it)."""
    reason = unsupported_reason(models[0])
    if reason is not None:
        raise ValueError(f"cannot stack: {reason}")
    ensemble = copy.deepcopy(models[0])
    for name, module in models[0].named_modules():
        if isinstance(module, nn.Linear):
            parent, _, attr = name.rpartition(".")
            setattr(ensemble.get_submodule(parent), attr, StackedLinear([m.get_submodule(name) for m in models]))
    ensemble.members = len(models)
    return ensemble


def members(out: torch.Tensor, k: int) -> torch.Tensor:
    """An ensemble's output ``[R, K * out_dim]`` as ``[K, R, out_dim]``, each member's block contiguous."""
    return out.view(out.shape[0], k, -1).transpose(0, 1).contiguous()


def member_state(ensemble: nn.Module, k: int) -> dict:
    """Member ``k``'s ``state_dict`` (loadable into one model of the architecture)."""
    return {name: t[k].detach().clone() for name, t in ensemble.state_dict().items()}
