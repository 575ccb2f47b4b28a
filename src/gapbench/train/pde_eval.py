"""Scoring of PDE predictions (learned models and baselines alike): nRMSE against clean truth, valid time,
error by frequency band, and the output files of a run.

Protocol (PDEBench's nRMSE, scored only where prediction is possible): every predictor gets the first ``W``
observed (noisy) frames of each test trajectory, the warm-up (``train.pde.{eq}.warmup``: a memory model ingests
all of them, FFNO and the solver start from the last, persistence repeats it, a windowed model stacks them), and
predicts the next ``H`` frames ``W..W+H-1``, ``H`` the equation's prediction ``horizon`` (``W + H <= n_frames``).
Below ``t = 1..H`` counts the predicted frames (frame ``W - 1 + t``); every error is taken against the *clean*
observed field ``c``:

    e(s, t)        = || p_s(t) - c_s(t) ||_2 / || c_s(t) ||_2        (norms over space)               (nRMSE-1)
    nRMSE(t)       = mean_s e(s, t)                                   -> rollout.csv                    (nRMSE-2)
    nrmse          = mean_{t=1..H} nRMSE(t),   nrmse_final = nRMSE(H)                                  (nRMSE-3)
    valid_time     = mean_s VT(s),  VT(s) = t_{k(s)-1} - t_0,  k(s) = min{ k : e(s, t_k) > threshold }     (VT)

``VT(s)`` is the time of the last predicted frame still under the threshold, counted from the input frame
``t_0`` (0 when the first predicted frame fails); a trajectory that never exceeds it within the horizon is
*censored* at ``t_H - t_0`` (its valid time is at least that): ``valid_time_censored`` is the fraction censored.
Per trajectory, ``per_traj.csv`` holds ``e(s, .)``'s mean over the horizon, its final value, ``VT(s)`` and the
censoring flag: the tables' paired tests over trajectories read it (``gapbench.tables.stats``).

Band errors (PDEBench's fRMSE, normalised like nRMSE-1): with ``E = DFT(p - c)`` on the observed grid of ``f``
points per axis and ``K = f // 2``, the modes are split by ``|n|_inf`` into thirds of ``[0, K]``:
low ``|n|_inf <= K/3``, mid ``K/3 < |n|_inf <= 2K/3``, high ``> 2K/3``, and

    e_b(s, t) = sqrt( sum_{n in b} |E_n|^2 / f^d ) / || c_s(t) ||_2,     so  sum_b e_b^2 = e^2  (Parseval).

``nrmse_low``, ``nrmse_mid``, ``nrmse_high`` are their means over samples and ``t = 1..H``. The training loss is
the relative L2 of nRMSE-1 on teacher-forced one-step predictions of the noisy observed frames.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from gapbench.train.common import write_csv_atomic

BANDS = ("low", "mid", "high")


def relative_l2(pred: torch.Tensor, true: torch.Tensor, n_space: int, eps: float = 1e-12) -> torch.Tensor:
    """Eq. (nRMSE-1) over the last ``n_space`` axes: tensor of the leading shape (e.g. ``(batch, time)``)."""
    dims = tuple(range(pred.ndim - n_space, pred.ndim))
    diff = torch.linalg.vector_norm((pred - true).float(), dim=dims)
    return diff / torch.linalg.vector_norm(true.float(), dim=dims).clamp_min(eps)


@torch.no_grad()
def rollout(model, context: torch.Tensor, n_steps: int, batch_size: int, device: torch.device,
            amp: bool = False) -> tuple[np.ndarray, float]:
    """Roll ``model`` out after the warm-up frames ``context (S, W, *space)`` over ``n_steps`` steps.

    Returns ``(pred, seconds)``: ``pred (S, n_steps, *space)`` float32 (the frames after the warm-up) and the
    wall time of the rollouts (CUDA synchronised), data transfers excluded.
    """
    model.eval()
    preds, seconds = [], 0.0
    for lo in range(0, context.shape[0], batch_size):
        batch = context[lo : lo + batch_size].to(device, non_blocking=True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            pred = model.rollout(batch, n_steps)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds += time.perf_counter() - start
        preds.append(pred.float().cpu())
    return torch.cat(preds).numpy(), seconds


def errors(pred: np.ndarray, clean: np.ndarray, n_space: int) -> np.ndarray:
    """Eq. (nRMSE-1) in float64 for arrays ``(S, T, *space)``: shape ``(S, T)``."""
    axes = tuple(range(pred.ndim - n_space, pred.ndim))
    diff = pred.astype(np.float64) - clean.astype(np.float64)
    norm = np.sqrt((clean.astype(np.float64) ** 2).sum(axis=axes))
    return np.sqrt((diff**2).sum(axis=axes)) / np.maximum(norm, 1e-12)


def band_errors(pred: np.ndarray, clean: np.ndarray, n_space: int) -> dict[str, np.ndarray]:
    """``e_b(s, t)`` of the module docstring for ``b`` in :data:`BANDS`, each ``(S, T)``."""
    axes = tuple(range(pred.ndim - n_space, pred.ndim))
    f = pred.shape[-1]
    spec = np.abs(np.fft.fftn(pred.astype(np.float64) - clean.astype(np.float64), axes=axes)) ** 2 / f**n_space
    k = np.abs(np.fft.fftfreq(f, 1.0 / f))
    kmax = np.max(np.stack(np.meshgrid(*([k] * n_space), indexing="ij")), axis=0)
    top = f // 2
    edges = {"low": kmax <= top / 3, "mid": (kmax > top / 3) & (kmax <= 2 * top / 3), "high": kmax > 2 * top / 3}
    norm = np.maximum(np.sqrt((clean.astype(np.float64) ** 2).sum(axis=axes)), 1e-12)
    return {b: np.sqrt((spec * mask).sum(axis=axes)) / norm for b, mask in edges.items()}


def valid_time(err: np.ndarray, times: Sequence[float], threshold: float,
               t0: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Eq. (VT) per sample: ``(VT(s), censored(s))``, the time of the last frame before the first with
    ``e(s, t) > threshold`` counted from ``t0`` (0 when the first frame exceeds it), and whether no frame does
    (then ``VT = t_H - t0``)."""
    times = np.asarray(times, dtype=float)
    above = err > threshold
    censored = ~above.any(axis=1)
    first = np.where(censored, len(times), above.argmax(axis=1))  # index of the first failing frame
    vt = np.where(first == 0, 0.0, times[np.maximum(first - 1, 0)] - t0)
    return vt, censored


def per_trajectory(err: np.ndarray, times: Sequence[float], threshold: float, t0: float = 0.0) -> dict:
    """Per-trajectory scores from ``e(s, t)`` (``(S, H)``): ``nrmse`` (mean over t), ``nrmse_final``,
    ``valid_time`` and ``censored`` (eq. VT), each an array of length ``S``."""
    vt, censored = valid_time(err, times, threshold, t0)
    return {"nrmse": err.mean(axis=1), "nrmse_final": err[:, -1], "valid_time": vt, "censored": censored}


def score(pred: np.ndarray, clean: np.ndarray, times: Sequence[float], threshold: float,
          t0: float = 0.0) -> tuple[dict, np.ndarray]:
    """Every scalar of a run from predicted and clean frames ``1..H`` (``(S, H, *space)``) and their times
    (``t0``: the time of the input frame).

    Returns ``(scores, e)``: scores ``nrmse, nrmse_final, valid_time, valid_time_censored, nrmse_low/mid/high``
    and ``e(s, t)``.
    """
    n_space = pred.ndim - 2
    err = errors(pred, clean, n_space)
    per_step = err.mean(axis=0)
    traj = per_trajectory(err, times, threshold, t0)
    out = {"nrmse": float(per_step.mean()), "nrmse_final": float(per_step[-1]),
           "valid_time": float(traj["valid_time"].mean()), "valid_time_censored": float(traj["censored"].mean())}
    for b, e in band_errors(pred, clean, n_space).items():
        out[f"nrmse_{b}"] = float(e.mean())
    return out, err


def write_per_traj_csv(path: Path | str, samples: Sequence[int], err: np.ndarray, times: Sequence[float],
                       threshold: float, t0: float = 0.0) -> None:
    """``per_traj.csv``: one row per test trajectory, ``sample`` (its global index in the test store),
    ``nrmse``, ``nrmse_final``, ``valid_time``, ``censored`` (0/1), from ``e(s, t)`` (eq. VT)."""
    traj = per_trajectory(err, times, threshold, t0)
    rows = [{"sample": int(s), "nrmse": float(a), "nrmse_final": float(b), "valid_time": float(v),
             "censored": int(c)}
            for s, a, b, v, c in zip(samples, traj["nrmse"], traj["nrmse_final"], traj["valid_time"],
                                     traj["censored"], strict=True)]
    write_csv_atomic(path, ["sample", "nrmse", "nrmse_final", "valid_time", "censored"], rows)


def write_rollout_csv(path: Path | str, times: Sequence[float], err: np.ndarray) -> None:
    """``rollout.csv``: columns ``time,nrmse`` (eq. nRMSE-2) for the predicted frames ``t = 1..H``."""
    per_step = err.mean(axis=0)
    rows = [{"time": float(t), "nrmse": float(e)} for t, e in zip(times, per_step, strict=True)]
    write_csv_atomic(path, ["time", "nrmse"], rows)


# Attrs of the observed store that describe a field a prediction store does not hold.
NOT_IN_PREDICTIONS = ("complete", "noise_law")


def write_predictions(path: Path | str, obs, context: np.ndarray, pred: np.ndarray, model: str, seed: int) -> Path:
    """``predictions.zarr``: the test rollout in the observed store's layout (``store.py``, kind "prediction").

    The data variable (named like the data's field) holds frames ``0..W+H-1``: the ``W`` observed (noisy) warm-up
    frames ``context`` the predictor was given, then its ``H`` predicted frames; coords are the test store's
    (``time`` of those frames), attrs the test store's (its split, noise seed) less those naming a field it does
    not hold (the clean field, the noise law), plus ``kind: prediction``, ``model``, ``seed``, ``warmup``,
    ``horizon``, ``t_end`` (time of the last frame) and ``frames`` (what they are, in words). Re-scoring:
    ``pred[:, W:]`` against the test store's ``{field}_clean[:, W:W+H]``.
    """
    import xarray as xr

    from gapbench.pde.store import variable, write_store

    name, dims = variable(obs.equation)
    warmup = int(context.shape[1])
    frames = np.concatenate([np.asarray(context, np.float32), np.asarray(pred, np.float32)], axis=1)
    times = np.asarray(obs.all_times[: warmup + len(obs.times)])
    coords = {"sample": obs.samples, "time": times}
    for d in dims[2:]:
        coords[d] = np.arange(obs.resolution) * float(obs.attrs["length"]) / obs.resolution
    ds = xr.Dataset({name: (dims, frames), "seed": ("sample", obs.seeds)}, coords=coords)
    ds.attrs = {k: v for k, v in obs.test_attrs.items() if k not in NOT_IN_PREDICTIONS}
    ds.attrs.update(kind="prediction", model=model, seed=int(seed), warmup=warmup,
                    horizon=len(obs.times), n_frames=warmup + len(obs.times), t_end=float(times[-1]),
                    frames=f"0..{warmup - 1}: the observed (noisy) warm-up frames given to the predictor; "
                    f"{warmup}..{warmup + len(obs.times) - 1}: its prediction")
    return write_store(ds, path)
