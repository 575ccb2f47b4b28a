"""Numerical baseline (McGreivy & Hakim 2024): the Dedalus solver at the observed resolution.

docs/science.md, "Numerical baseline": from the *observed* first frame of every test trajectory (at the
observed resolution, with its noise when ``sigma > 0``) the same solver that made the data (equation, nu,
domain, stepper, dt from the store's attrs) is run on the observed grid over the whole horizon, and scored with
the nRMSE of ``pde_eval.py`` against the observed test frames. Its wall time is reported as the inference time.

A coarse grid can make the solver blow up (energy that the fine grid would carry to small scales piles up).
(KS on ``L = 64`` with ``nu = 0.1`` has linearly unstable modes up to ``|k| = 1/sqrt(nu)``, i.e. ``n < 32``: on a
grid of 64 points or fewer no mode is damped.) When a batch diverges (``runner.DivergenceError``) each
trajectory is solved alone; the job then reports ``status: "diverged"``, ``n_diverged`` and the nRMSE of the
trajectories that stayed finite.
"""

from __future__ import annotations

import time

import numpy as np

from gapbench.train.common import write_csv_atomic, write_json_atomic
from gapbench.train.pde_eval import summarize, write_rollout_csv


def solve(attrs: dict, u0: np.ndarray) -> np.ndarray:
    """Frames ``(batch, n_frames, *space)`` from initial frames ``u0 (batch, *space)`` with the store's settings."""
    common = dict(t_end=float(attrs["t_end"]), n_frames=int(attrs["n_frames"]), dt=float(attrs["dt"]),
                  stepper=str(attrs["stepper"]))
    if attrs["equation"] == "ks":
        from gapbench.pde.ks import simulate_ks

        return simulate_ks(u0, float(attrs["nu"]), length=float(attrs["length"]), **common)
    from gapbench.pde.ns import simulate_ns

    return simulate_ns(u0, float(attrs["nu"]), **common)


def solve_all(attrs: dict, u0: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Solve all rows of ``u0`` in one batched call; if one diverges, solve each alone to find which.

    Returns the frames (NaN for diverged trajectories) and the indices of the diverged ones.
    """
    from gapbench.pde.runner import DivergenceError

    try:
        return solve(attrs, u0), []
    except DivergenceError:
        pass
    pred = np.full((u0.shape[0], int(attrs["n_frames"]), *u0.shape[1:]), np.nan)
    diverged = []
    for i in range(u0.shape[0]):
        try:
            pred[i] = solve(attrs, u0[i : i + 1])[0]
        except DivergenceError:
            diverged.append(i)
    return pred, diverged


def run_solver(obs, run, head: dict) -> dict:
    """Solve every test trajectory from its observed first frame; write rollout.csv, curves.csv, metrics.json."""
    test = obs.splits["test"].numpy().astype(np.float64)
    start = time.perf_counter()
    pred, diverged = solve_all(obs.attrs, test[:, 0])
    seconds = time.perf_counter() - start
    keep = np.setdiff1d(np.arange(test.shape[0]), diverged)
    out = run.out
    out.mkdir(parents=True, exist_ok=True)
    if keep.size:
        true = test[keep, 1:]
        axes = tuple(range(2, true.ndim))
        errors = np.sqrt(((pred[keep, 1:] - true) ** 2).sum(axis=axes)) / np.sqrt((true**2).sum(axis=axes))
        scores = summarize(errors)
        write_rollout_csv(out / "rollout.csv", obs.times, errors)
    else:
        scores = {"nrmse_rollout": float("nan"), "nrmse_final": float("nan")}
        write_csv_atomic(out / "rollout.csv", ["time", "nrmse"],
                         [{"time": t, "nrmse": float("nan")} for t in obs.times])
    n_diverged = len(diverged)
    write_csv_atomic(out / "curves.csv", ["epoch", "train_loss", "valid_nrmse", "lr", "elapsed_s"], [])
    metrics = head | scores | {
        "n_params": 0, "train_time_s": 0.0, "inference_time_s": round(seconds, 4),
        "status": "ok" if n_diverged == 0 else "diverged", "n_diverged": int(n_diverged),
        "n_test": int(test.shape[0]), "solver": {"stepper": obs.attrs["stepper"], "dt": float(obs.attrs["dt"]),
                                                 "resolution": obs.resolution},
    }
    write_json_atomic(out / "metrics.json", metrics)
    return metrics
