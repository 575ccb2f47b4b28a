"""K graph models of one shape as one batch-invariant ensemble: member ``k`` of an ensemble of ``K`` computes,
bit for bit, what it computes in an ensemble of 1.

The ensemble reads a mini-batch collated K times in a row (``GraphBatches.batches(..., copies=K)``): K disjoint
copies of the same graphs, copy ``k`` (its nodes, edges and graphs, rows ``k * R .. (k + 1) * R - 1`` of every
state ``[K * R, width]``) belonging to member ``k``. :func:`stack` turns K models of the same architecture into
one model of that architecture whose every ``nn.Linear`` is a :class:`StackedLinear` (weights ``[K, out, in]``,
biases ``[K, out]``; parameter names as in one model), so the model's own ``forward`` runs unchanged on the K
copies and member ``k``'s parameters only ever meet copy ``k``'s rows.

Why a member does not depend on K: everything but the linear maps works row by row or adds rows in the order of
an index (gathers, ``index_add_`` aggregates, scatter pooling, the residual ``+``), and copy ``k``'s indices are
copy 0's shifted, so a row's value is computed by the same additions in the same order for any K; the linear
maps are batch-invariant by construction (:class:`StackedLinear`); an activation that is not computed exactly
(``tanh``, ``gelu``, ``silu``: CPU kernels evaluate them with vector code on most elements and scalar code on
the last few of a tensor, which can round differently) is applied to each member's contiguous block on its own
(:class:`MemberwiseActivation`), as in an ensemble of 1; ``relu`` and ``identity`` are exact and run batched.

Supported (:func:`unsupported_reason`): the models of :data:`ENSEMBLE_MODELS` (their forward is row-wise), no
norm, no dropout (an ensemble's dropout mask could not be each member's own draw), float features.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

ENSEMBLE_MODELS = ("NodeGCN", "NodeSAGE", "EdgeGCN", "DeepSets")  # classes whose forward is row-wise
INEXACT_ACTIVATIONS = (nn.Tanh, nn.GELU, nn.SiLU)  # vector and scalar CPU code may round differently


class StackedLinear(nn.Module):
    """K linear maps on the K copies of a batch: ``y[k, r] = W_k x[k, r] + b_k`` with ``x [K * R, in]`` (member
    ``k``'s rows ``k * R .. (k + 1) * R - 1``) and ``y [K * R, out]``.

    Batch invariance (``y[k]`` does not depend on K): for ``out > 1`` one ``torch.bmm`` ``[K, R, in] x
    [K, in, out]``, whose CPU kernel computes each member's product on its own (its backward, the products
    ``g^T x`` and ``g W``, likewise); a matrix-vector product (``out == 1``, the heads) is
    ``sum_i x[k, r, i] * W_k[0, i]`` (broadcast multiply, sum along the contiguous last dimension), because
    ``bmm`` picks another kernel for ``[K, R, in] x [K, in, 1]`` depending on K; the weight gradient is written
    with every member's block aligned as a fresh tensor (:class:`_StackedMatmul`). The gradients of the bias and of
    a matrix-vector weight are sums over each member's own contiguous block of rows ``[K, R, out]`` (summed over
    rows of member-interleaved columns, the reduction's vectorisation, hence its order of additions, would
    depend on K).
    """

    def __init__(self, linears: list[nn.Linear]):
        super().__init__()
        self.members = len(linears)
        self.in_features, self.out_features = linears[0].in_features, linears[0].out_features
        self.weight = nn.Parameter(torch.stack([lin.weight.detach() for lin in linears]))
        self.bias = (nn.Parameter(torch.stack([lin.bias.detach() for lin in linears]))
                     if linears[0].bias is not None else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        K, out, inp = self.weight.shape
        xs = x.view(K, -1, inp)
        if out == 1:
            y = (xs * self.weight).sum(-1, keepdim=True)
        else:
            y = _StackedMatmul.apply(xs, self.weight)
        if self.bias is not None:
            y = y.add_(self.bias.unsqueeze(1))  # in place: the product is not saved for the backward
        return y.view(-1, out)


class _StackedMatmul(torch.autograd.Function):
    """``y = bmm(x, W^T)`` for ``x [K, R, in]``, ``W [K, out, in]``, whose weight gradient ``g^T x`` is written into
    a buffer where each member's ``[out, in]`` block starts on a 64-byte boundary, as a fresh tensor's (an ensemble
    of 1's) does: the CPU kernel's summation order for a small output from a long contraction depends on the
    output's alignment, so with blocks packed back to back (``out * in`` not a multiple of 64 bytes) members
    other than the first would differ from alone."""

    @staticmethod
    def forward(ctx, x, weight):
        ctx.save_for_backward(x, weight)
        return torch.bmm(x, weight.transpose(1, 2))

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        K, out, inp = weight.shape
        per = 64 // weight.element_size()
        buffer = weight.new_empty((K, -(-out * inp // per) * per))
        grad_weight = buffer[:, :out * inp].view(K, out, inp)
        torch.bmm(grad.transpose(1, 2), x, out=grad_weight)
        grad_x = torch.bmm(grad, weight) if ctx.needs_input_grad[0] else None
        return grad_x, grad_weight


class MemberwiseActivation(nn.Module):
    """An activation that is not computed exactly, applied to each member's contiguous block on its own."""

    def __init__(self, act: nn.Module, members: int):
        super().__init__()
        self.act, self.members = act, members

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.act(block) for block in x.view(self.members, -1).unbind(0)]).view(x.shape)


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
    takes a batch collated K times and returns ``[K * R, out_dim]``, member ``k``'s outputs in block ``k``."""
    reason = unsupported_reason(models[0])
    if reason is not None:
        raise ValueError(f"cannot stack: {reason}")
    k = len(models)
    ensemble = copy.deepcopy(models[0])
    for name, module in models[0].named_modules():
        parent, _, attr = name.rpartition(".")
        if isinstance(module, nn.Linear):
            replacement = StackedLinear([m.get_submodule(name) for m in models])
        elif k > 1 and isinstance(module, INEXACT_ACTIVATIONS):
            replacement = MemberwiseActivation(copy.deepcopy(module), k)
        else:
            continue
        setattr(ensemble.get_submodule(parent), attr, replacement)
    ensemble.members = k
    return ensemble


def member_state(ensemble: nn.Module, k: int) -> dict:
    """Member ``k``'s ``state_dict`` (loadable into one model of the architecture)."""
    return {name: t[k].detach().clone() for name, t in ensemble.state_dict().items()}


def select(ensemble: nn.Module, keep: list[int]) -> nn.Module:
    """The ensemble of members ``keep`` of ``ensemble`` (in that order): the members left when others stop."""
    out = copy.deepcopy(ensemble)
    for module in out.modules():
        if isinstance(module, StackedLinear):
            module.weight = nn.Parameter(module.weight.detach()[keep].clone())
            if module.bias is not None:
                module.bias = nn.Parameter(module.bias.detach()[keep].clone())
            module.members = len(keep)
        elif isinstance(module, MemberwiseActivation):
            module.members = len(keep)
    out.members = len(keep)
    return out
