"""Evaluation of PDE surrogates: relative L2, autoregressive rollout, nRMSE per time step, output files.

docs/science.md, "Training and evaluation" (metric from PDEBench): for a prediction ``p`` of a trajectory ``u`` with
frames ``t = 1..T`` (frame 0 is given),

    nRMSE(s, t) = || p_s(t) - u_s(t) ||_2 / || u_s(t) ||_2        (norms over space)            (nRMSE-1)
    nRMSE(t)    = mean_s nRMSE(s, t)                               -> rollout.csv                  (nRMSE-2)
    nrmse_rollout = mean_{t=1..T} nRMSE(t),   nrmse_final = nRMSE(T)                             (nRMSE-3)

The training loss is the same relative L2 (nRMSE-1), averaged over the teacher-forced one-step predictions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from gapbench.train.common import write_csv_atomic


def relative_l2(pred: torch.Tensor, true: torch.Tensor, n_space: int, eps: float = 1e-12) -> torch.Tensor:
    """Eq. (nRMSE-1) over the last ``n_space`` axes: tensor of the leading shape (e.g. ``(batch, time)``)."""
    dims = tuple(range(pred.ndim - n_space, pred.ndim))
    diff = torch.linalg.vector_norm((pred - true).float(), dim=dims)
    return diff / torch.linalg.vector_norm(true.float(), dim=dims).clamp_min(eps)


@torch.no_grad()
def rollout_errors(model, data: torch.Tensor, batch_size: int, device: torch.device,
                   amp: bool = False) -> tuple[np.ndarray, float]:
    """Roll ``model`` out from frame 0 of every trajectory in ``data (S, T+1, *space)`` over ``T`` steps.

    Returns ``(errors, seconds)``: ``errors[s, t-1] = nRMSE(s, t)`` (eq. nRMSE-1) for ``t = 1..T`` and the wall
    time of the rollouts (CUDA synchronised), data transfers excluded.
    """
    model.eval()
    n_space = data.ndim - 2
    n_steps = data.shape[1] - 1
    errors, seconds = [], 0.0
    for lo in range(0, data.shape[0], batch_size):
        batch = data[lo : lo + batch_size].to(device, non_blocking=True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            pred = model.rollout(batch[:, 0], n_steps)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds += time.perf_counter() - start
        errors.append(relative_l2(pred.float(), batch[:, 1:], n_space).cpu())
    return torch.cat(errors).double().numpy(), seconds


def summarize(errors: np.ndarray) -> dict[str, float]:
    """Eq. (nRMSE-3) from per-sample, per-step errors ``(S, T)``: rollout mean and final-time value."""
    per_step = errors.mean(axis=0)
    return {"nrmse_rollout": float(per_step.mean()), "nrmse_final": float(per_step[-1])}


def write_rollout_csv(path: Path | str, times: Sequence[float], errors: np.ndarray) -> None:
    """``rollout.csv``: columns ``time,nrmse`` (eq. nRMSE-2) for the predicted frames ``t = 1..T``."""
    per_step = errors.mean(axis=0)
    rows = [{"time": float(t), "nrmse": float(e)} for t, e in zip(times, per_step, strict=True)]
    write_csv_atomic(path, ["time", "nrmse"], rows)
