"""`gapbench train pde-baseline`: the predictors a learned PDE surrogate has to beat, scored like the models.

Every baseline gets the same ``W`` observed (noisy) warm-up frames of each test trajectory as the models and
predicts the next ``H`` frames from the last of them, ``x0`` (the frame before the first scored one); it is scored
by ``pde_eval.score`` against the clean observed frames, over the same horizon as the models:

* ``persistence``: ``p(t) = x0`` ("nothing changes": the last warm-up frame repeated);
* ``zero``: ``p(t) = 0`` (nRMSE exactly 1: a prediction that decays to zero scores this);
* ``solver`` at resolution ``M`` (McGreivy & Hakim's numerical baseline): ``x0`` on ``f`` points is spectrally
  interpolated to ``M >= f`` points (:func:`interpolate`: zero-padding of its Fourier modes), the same Dedalus
  solver that made the data (equation, nu, domain, stepper, dt from the store's attrs) runs on ``M`` points, and
  each frame is observed on the ``f``-point grid by the store's own operator (``observe.observe_array``) before
  scoring. ``M`` = the simulation resolution, from an exact frame, reproduces the stored trajectory.
* ``solver_hv`` at ``M``: the same with 8th-order hyperviscosity ``h (-lap)^4`` added (the solver contract of
  ``equations``), the stabilised coarse run. ``h`` sets the damping rate at the grid's largest wavenumber
  ``k_c = pi M / L`` to the field's advective rate there: ``h k_c^8 = max|x0| k_c`` where the field is a velocity
  (KS's ``u``; the entry's ``field_is_velocity``), ``h k_c^8 = max|x0|`` where it is a rate (NS's vorticity).

A coarse grid can make the plain solver blow up: KS with ``L = 64``, ``nu = 0.1`` has linearly unstable modes for
``|k| < 1/sqrt(nu)``, i.e. ``n < 32``, so on 64 points or fewer no mode is damped. A batch that diverges
(``runner.DivergenceError``) is re-solved one trajectory at a time; the run then reports ``status: "diverged"``,
``n_diverged``, and no scores (the table shows the cell as diverged). Wall time per trajectory is the solve's
(interpolation and projection included) divided by the number of trajectories.
Outputs in ``--out``: ``metrics.json`` (last), ``rollout.csv``, ``curves.csv`` (empty), ``predictions.zarr``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from gapbench.errors import ConfigError
from gapbench.pde.equations import SimParams, get
from gapbench.train import resume
from gapbench.train.common import pde_run_summary, write_csv_atomic, write_json_atomic

PREDICTORS = ("persistence", "zero", "solver", "solver_hv")
HV_ORDER = 8


def interpolate(u: np.ndarray, m: int, ndim: int) -> np.ndarray:
    """Spectral (zero-padding) interpolation of ``u (..., f[, f])`` to ``m >= f`` points per axis.

    The ``f``-point field's trigonometric interpolant is sampled on the ``m``-point grid; the ``f/2`` mode of an
    even ``f`` is split evenly between ``+f/2`` and ``-f/2``, so the result is real and ``fourier_truncate``
    back to ``f`` points returns ``u``.
    """
    f = u.shape[-1]
    if m < f:
        raise ConfigError(f"solver resolution {m} is below the observed resolution {f}")
    if m == f:
        return u.astype(np.float64)
    axes = tuple(range(u.ndim - ndim, u.ndim))
    spec = np.fft.fftn(u.astype(np.float64), axes=axes)
    h = f // 2
    for axis in axes:
        zeros = list(spec.shape)
        if f % 2:  # modes 0..h, zeros, -h..-1
            zeros[axis] = m - f
            parts = [np.take(spec, np.r_[0 : h + 1], axis=axis), np.zeros(zeros, spec.dtype),
                     np.take(spec, np.r_[h + 1 : f], axis=axis)]
        else:  # modes 0..h-1, the f/2 mode halved at +h, zeros, the other half at -h, then -(h-1)..-1
            zeros[axis] = m - f - 1
            half = np.take(spec, [h], axis=axis) / 2
            parts = [np.take(spec, np.r_[0:h], axis=axis), half, np.zeros(zeros, spec.dtype), half,
                     np.take(spec, np.r_[h + 1 : f], axis=axis)]
        spec = np.concatenate(parts, axis=axis)
    return np.fft.ifftn(spec, axes=axes).real * (m / f) ** ndim


def hyperviscosity(attrs: dict, x0: np.ndarray, m: int) -> float:
    """The coefficient ``h`` of the module docstring for grid ``m`` and initial frames ``x0``."""
    k_c = np.pi * m / float(attrs["length"])
    rate = float(np.abs(x0).max()) * (k_c if get(attrs["equation"]).field_is_velocity else 1.0)
    return rate / k_c**HV_ORDER


def solve(attrs: dict, u0: np.ndarray, n_steps: int, hv: float = 0.0) -> np.ndarray:
    """Frames ``(batch, n_steps + 1, *space)`` from ``u0 (batch, *space)`` with the store's solver settings: the
    equation's solver (its registry entry) on ``u0``'s grid, ``n_steps`` save intervals of the store."""
    t_save = float(attrs["t_end"]) / (int(attrs["n_frames"]) - 1)
    params = SimParams(str(attrs["equation"]), float(attrs["nu"]), int(u0.shape[-1]), t_save * n_steps, n_steps + 1,
                       float(attrs["dt"]), str(attrs["stepper"]), float(attrs["length"]),
                       forcing=tuple(attrs.get("forcing_params", ())))
    return params.equation.solve(u0, params, hyperviscosity=hv)


def solve_all(attrs: dict, u0: np.ndarray, n_steps: int, hv: float = 0.0) -> tuple[np.ndarray, list[int]]:
    """Solve all rows of ``u0`` in one batched call; if one diverges, solve each alone to find which.

    Returns the frames (NaN for diverged trajectories) and the indices of the diverged ones.
    """
    from gapbench.pde.runner import DivergenceError

    try:
        return solve(attrs, u0, n_steps, hv), []
    except DivergenceError:
        pass
    pred = np.full((u0.shape[0], n_steps + 1, *u0.shape[1:]), np.nan)
    diverged = []
    for i in range(u0.shape[0]):
        try:
            pred[i] = solve(attrs, u0[i : i + 1], n_steps, hv)[0]
        except DivergenceError:
            diverged.append(i)
    return pred, diverged


def predict(obs, predictor: str, resolution: int) -> tuple[np.ndarray, list[int], dict]:
    """The ``H`` frames after the warm-up ``(S, H, *space)`` on the observed grid, diverged trajectories, and solver
    details; every predictor starts from the last warm-up frame."""
    from gapbench.pde.observe import observe_array

    x0 = obs.context("test")[:, -1].numpy().astype(np.float64)
    shape = (x0.shape[0], obs.horizon, *x0.shape[1:])
    if predictor == "persistence":
        return np.broadcast_to(x0[:, None], shape).copy(), [], {}
    if predictor == "zero":
        return np.zeros(shape), [], {}
    fine = interpolate(x0, resolution, obs.n_dims)
    hv = hyperviscosity(obs.attrs, x0, resolution) if predictor == "solver_hv" else 0.0
    frames, diverged = solve_all(obs.attrs, fine, obs.horizon, hv)
    observed = np.stack([observe_array(np.nan_to_num(tr[1:]), obs.method, obs.resolution, obs.n_dims)
                         for tr in frames])
    observed[diverged] = np.nan
    return observed, diverged, {"resolution": resolution, "stepper": obs.attrs["stepper"],
                                "dt": float(obs.attrs["dt"]), "hyperviscosity": hv, "hyperviscosity_order": HV_ORDER}


def model_name(predictor: str, resolution: int) -> str:
    """Table name of a baseline: ``persistence``, ``zero``, ``solver-r{M}``, ``solver_hv-r{M}``."""
    return predictor if predictor in ("persistence", "zero") else f"{predictor}-r{resolution}"


def run_baseline(data_dir: Path, predictor: str, resolution: int, horizon: int, threshold: float,
                 out: Path, warmup: int = 1) -> dict:
    """Score one baseline on the test split of ``data_dir``; write the run's files; return its metrics."""
    from gapbench.train.pde import load_observed
    from gapbench.train.pde_eval import score, write_per_traj_csv, write_predictions, write_rollout_csv

    if predictor not in PREDICTORS:
        raise ConfigError(f"unknown baseline {predictor!r}; allowed: {', '.join(PREDICTORS)}")
    if not threshold > 0:
        raise ConfigError(f"valid threshold must be > 0, got {threshold}")
    obs = load_observed(data_dir, ("test",), 0, horizon, warmup)
    sim_res = int(obs.attrs["sim_resolution"])
    if predictor.startswith("solver") and not (obs.resolution <= resolution and resolution % 2 == 0):
        raise ConfigError(f"solver resolution {resolution}: allowed even values from the observed resolution "
                          f"{obs.resolution} up (the simulation ran at {sim_res})")
    start = time.perf_counter()
    pred, diverged, solver = predict(obs, predictor, resolution)
    seconds = time.perf_counter() - start
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    name = model_name(predictor, resolution)
    context = obs.context("test").numpy()
    n_test = int(context.shape[0])
    head = {"task": "pde", "equation": obs.equation, "law": obs.attrs["law"], "burn_in": float(obs.attrs["burn_in"]),
            "nu": obs.nu, "method": obs.method, "resolution": obs.resolution, "sigma": obs.sigma, "model": name,
            "seed": 0, "warmup": obs.warmup}
    if diverged:
        scores = {k: float("nan") for k in ("nrmse", "nrmse_final", "valid_time", "valid_time_censored",
                                            "nrmse_low", "nrmse_mid", "nrmse_high")}
        write_csv_atomic(out / "rollout.csv", ["time", "nrmse"], [{"time": t, "nrmse": float("nan")}
                                                                  for t in obs.times])
        write_csv_atomic(out / "per_traj.csv", ["sample", "nrmse", "nrmse_final", "valid_time", "censored"], [])
    else:
        scores, err = score(pred, obs.truth("test"), obs.times, threshold, obs.t0)
        write_rollout_csv(out / "rollout.csv", obs.times, err)
        write_per_traj_csv(out / "per_traj.csv", obs.samples, err, obs.times, threshold, obs.t0)
    write_predictions(out / "predictions.zarr", obs, context, pred, name, 0)
    write_csv_atomic(out / "curves.csv", ["epoch", "train_loss", "valid_nrmse", "lr", "elapsed_s"], [])
    metrics = head | scores | {
        "horizon": obs.horizon, "valid_threshold": threshold, "n_params": 0, "train_time_s": 0.0,
        "inference_time_s": round(seconds, 4), "inference_time_per_trajectory_s": seconds / n_test,
        "status": "diverged" if diverged else "ok", "n_diverged": len(diverged), "n_test": n_test,
        "baseline": predictor, "sim_resolution": sim_res, **({"solver": solver} if solver else {}),
        "config_digest": resume.data_identity({"predictor": predictor, "resolution": resolution, "horizon": horizon,
                                               "valid_threshold": threshold}),
        **resume.provenance(),
    }
    write_json_atomic(out / "metrics.json", metrics)
    return metrics


def _handler(args: argparse.Namespace) -> int:
    m = run_baseline(args.data_dir, args.predictor, args.resolution, args.horizon, args.valid_threshold, args.out,
                     args.warmup)
    print(pde_run_summary(m, args.out))
    return 0


def register(tsub) -> None:
    """Add ``gapbench train pde-baseline``."""
    from gapbench import argtypes as A

    p = tsub.add_parser("pde-baseline", help="score a PDE baseline (persistence, zero, Dedalus solver)",
                        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True, type=Path, help="observed dataset directory holding test.zarr")
    p.add_argument("--predictor", required=True, choices=PREDICTORS, help="which baseline")
    p.add_argument("--resolution", type=A.number(int, 0, 65536), default=0,
                   help="solver grid points per direction (solver, solver_hv): observed resolution or more")
    p.add_argument("--warmup", type=A.number(int, 1, 100000), default=10,
                   help="observed frames before the rollout; the baselines start from the last of them")
    p.add_argument("--horizon", type=A.number(int, 0, 100000), default=0,
                   help="prediction horizon in steps after the warm-up (0: all stored frames)")
    p.add_argument("--valid-threshold", type=A.positive_float, default=0.5, help="nRMSE that ends the valid time")
    p.add_argument("--out", required=True, type=Path, help="run directory (metrics.json, predictions.zarr, ...)")
    p.set_defaults(handler=_handler)
