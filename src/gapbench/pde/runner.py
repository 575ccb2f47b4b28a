"""The integration loop shared by the Dedalus solvers of KS (`ks.py`) and NS (`ns.py`).

docs/pde_solvers.md: both equations are solved with Dedalus 3 (RealFourier bases, dealias 3/2, float64,
an IMEX stepper with a fixed ``dt``). This module holds everything that is not the equation itself:

* :func:`import_dedalus` imports Dedalus once, with OpenMP threading off and its logging tamed (Dedalus adds a
  stdout handler to the *root* logger at import; we remove it so its chatter goes through the caller's logging).
* **Batching.** Dedalus costs about 0.2-0.5 ms per step whatever the grid size at N=512 (docs/pde_solvers.md, performance
  anchors): Python overhead, not FFTs. We therefore solve B trajectories in *one* problem whose first axis is a
  batch axis (:func:`batch_basis`): a polynomial basis of size B with dealias 1, no operator acting along it, and an
  identity grid<->coefficient transform. Every product is pointwise in grid space, every linear operator is the
  identity along the batch axis, and the identity transform does no arithmetic across it, so trajectory ``i``
  depends on ``u0[i]`` only - bit for bit, whatever its batch-mates, the batch size or the chunking
  (tests/test_pde_ks.py checks it). A true Chebyshev/Fourier batch axis would mix trajectories through its
  transform (Fourier even drops the Nyquist mode, coupling them at O(1)).
* **Determinism.** FFTW plans are made with ``FFTW_ESTIMATE`` (set in :func:`import_dedalus`): the default
  ``measure`` rigor picks algorithms by timing, so two runs could round differently. Frames are read from a copy of
  the state (:meth:`_Integrator.frame`), so saving or checking never perturbs the evolution.
* :func:`integrate_batches`: fixed-``dt`` stepping (SBDF3/SBDF4 start on a short ramp, :func:`startup_ramp`),
  frames saved every ``steps_per_frame`` steps, a divergence check after every step (non-finite values or
  ``max |u|`` past ``bound`` -> :class:`DivergenceError` naming the sample), progress log lines (frames done, simulated time per wall second) and solver statistics (:class:`SolverStats`).
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from gapbench.errors import ConfigError, GapbenchError

log = logging.getLogger(__name__)

# Transform-library name under which the identity batch transform is registered with Dedalus' Jacobi bases.
BATCH_LIBRARY = "gapbench_batch"
# Seconds between progress log lines.
LOG_INTERVAL_S = 10.0
# Start-up ramp of multistep schemes with 3+ history steps (see startup_ramp): first step, growth ratio.
RAMP_FIRST = 1e-2
RAMP_RATIO = 1.4


class DivergenceError(GapbenchError):
    """A trajectory blew up (non-finite values, or ``max |u|`` past the bound).

    ``sample`` is the index of the first offending trajectory within the batch handed to the simulate function,
    ``samples`` all offending indices, ``time`` the simulated time at detection.
    """

    def __init__(self, message: str, sample: int, samples: tuple[int, ...] = (), time: float = float("nan")):
        super().__init__(message)
        self.sample = int(sample)
        self.samples = tuple(int(s) for s in samples) or (int(sample),)
        self.time = float(time)


@dataclass
class SolverStats:
    """What a simulate call cost: Dedalus set-up (matrix building) and stepping, summed over batches."""

    equation: str
    stepper: str
    dt: float
    n_trajectories: int = 0
    n_batches: int = 0
    steps: int = 0  # time steps taken, summed over batches (each step advances a whole batch)
    sim_time: float = 0.0  # simulated time per trajectory
    build_time_s: float = 0.0
    step_time_s: float = 0.0
    batch_sizes: list[int] = field(default_factory=list)

    @property
    def wall_time_s(self) -> float:
        return self.build_time_s + self.step_time_s

    @property
    def per_trajectory_s(self) -> float:
        return self.wall_time_s / max(self.n_trajectories, 1)

    def summary(self) -> str:
        return (
            f"{self.equation}: {self.n_trajectories} trajectories in {self.n_batches} batch(es) {self.batch_sizes}, "
            f"{self.stepper} dt={self.dt:g}, {self.steps} steps, build {self.build_time_s:.2f} s, "
            f"stepping {self.step_time_s:.2f} s, {self.per_trajectory_s * 1e3:.1f} ms/trajectory"
        )


_DEDALUS = None


def import_dedalus():
    """Import ``dedalus.public`` once: threading off, deterministic FFTW plans, logging routed to the caller.

    Dedalus' import adds a stdout handler to the root logger and sets the root level to 0; both are undone here,
    and Dedalus' own (INFO-chatty) loggers are set to WARNING.
    """
    global _DEDALUS
    if _DEDALUS is not None:
        return _DEDALUS
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    root = logging.getLogger()
    root_level = root.level
    already = "dedalus" in sys.modules
    logging.disable(logging.INFO)  # import-time chatter (h5py debug lines, Dedalus' root level 0)
    try:
        import dedalus.public as d3
        from dedalus.core import basis as d3_basis
        from dedalus.core.transforms import SeparableTransform
        from dedalus.tools import logging as d3_logging
        from dedalus.tools.config import config
    finally:
        logging.disable(logging.NOTSET)

    handler = getattr(d3_logging, "stdout_handler", None)
    if handler is not None and handler in root.handlers:
        root.removeHandler(handler)
    if not already:
        root.setLevel(root_level)
    elif root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)
    for name in list(sys.modules):
        if name == "dedalus" or name.startswith("dedalus."):
            logging.getLogger(name.split(".")[-1]).setLevel(logging.WARNING)
    config["transforms-fftw"]["PLANNING_RIGOR"] = "estimate"

    class BatchTransform(SeparableTransform):
        """Identity grid <-> coefficient map along the batch axis (grid size must equal coefficient size)."""

        def __init__(self, grid_size, coeff_size, *args):
            if grid_size != coeff_size:
                raise ValueError("the batch axis must have dealias 1")

        def forward(self, gdata, cdata, axis):
            np.copyto(cdata, gdata)

        def backward(self, cdata, gdata, axis):
            np.copyto(gdata, cdata)

    d3_basis.Jacobi.transforms[BATCH_LIBRARY] = BatchTransform
    _DEDALUS = d3
    return d3


def stepper_names() -> tuple[str, ...]:
    """Timesteppers Dedalus offers: SBDF1-4, CNAB1-2, MCNAB2, CNLF2, RK111, RK222, RK443, RKSMR (imports Dedalus)."""
    import_dedalus()
    from dedalus.core.timesteppers import schemes

    return tuple(schemes)


def resolve_stepper(name: str):
    """The Dedalus timestepper class called ``name``; ConfigError listing the allowed names otherwise."""
    allowed = stepper_names()
    if name not in allowed:
        raise ConfigError(f"unknown stepper {name!r}; allowed: {', '.join(allowed)}")
    from dedalus.core.timesteppers import schemes

    return schemes[name]


def check_grid_and_parameters(n_points: int, **positive: float) -> None:
    """Refuse a grid that is odd or smaller than 4 points and any named parameter that is not finite and > 0."""
    if n_points < 4 or n_points % 2:
        raise ConfigError(f"the number of grid points must be even and >= 4, got {n_points}")
    for name, value in positive.items():
        if not (np.isfinite(value) and value > 0):
            raise ConfigError(f"{name} must be positive, got {value!r}")


def steps_per_frame(t_end: float, n_frames: int, dt: float) -> int:
    """Steps between saved frames: ``n_frames`` frames (t=0 included) evenly spaced on ``[0, t_end]``.

    ``dt`` must divide the save interval ``t_end / (n_frames - 1)`` (to 1e-9 relative), else ConfigError.
    """
    if not (isinstance(n_frames, (int, np.integer)) and n_frames >= 2):
        raise ConfigError(f"n_frames must be an integer >= 2 (t=0 and t_end included), got {n_frames!r}")
    if not (math.isfinite(t_end) and t_end > 0):
        raise ConfigError(f"t_end must be a positive number, got {t_end!r}")
    if not (math.isfinite(dt) and dt > 0):
        raise ConfigError(f"dt must be a positive number, got {dt!r}")
    interval = t_end / (n_frames - 1)
    ratio = interval / dt
    steps = round(ratio)
    if steps < 1 or abs(ratio - steps) > 1e-9 * ratio:
        raise ConfigError(
            f"dt={dt:g} does not divide the save interval t_end/(n_frames-1) = {interval:g} "
            f"(ratio {ratio:.6g}); choose dt = {interval:g}/k for an integer k"
        )
    return int(steps)


def startup_ramp(timestepper, dt: float, per_frame: int) -> list[float]:
    """Step sizes that start a high-order multistep scheme without spoiling its order.

    Dedalus starts SBDF3/SBDF4 with SBDF1, SBDF2, ... on the first steps; at a fixed ``dt`` the first-order step's
    O(dt^2) local error then dominates and SBDF4 converges at second order (measured on KS at the anchor settings,
    nu = 0.1: error 2.9e-3 at dt = 1e-2, 6.7e-4 at 5e-3). Instead the first steps grow geometrically,
    ``h_j = RAMP_FIRST * dt * RAMP_RATIO^j`` up to ``dt`` (13 steps), rescaled to span exactly ``m * dt``
    (``m <= per_frame``, so the frames stay on the fixed-dt grid); Dedalus' variable-step SBDF coefficients keep
    the scheme consistent, and SBDF4 shows its 4th order (9e-4 at dt = 1e-2, 6e-5 at 5e-3; tests/test_pde_ks.py).
    Returns the step sizes of the first save interval; empty for Runge-Kutta schemes and for multistep schemes
    of at most two steps.
    """
    from dedalus.core.timesteppers import MultistepIMEX

    if not (issubclass(timestepper, MultistepIMEX) and timestepper.steps >= 3):
        return []
    steps = []
    h = RAMP_FIRST * dt
    while h < dt / RAMP_RATIO:
        steps.append(h)
        h *= RAMP_RATIO
    span = min(max(1, round(sum(steps) / dt)), per_frame)
    steps = [h * span * dt / sum(steps) for h in steps]
    steps[-1] = span * dt - sum(steps[:-1])
    return steps + [dt] * (per_frame - span)


def batch_basis(d3, coord, size: int):
    """The batch axis: a Legendre basis of ``size`` points, dealias 1, with the identity transform.

    Every field of a batched problem that varies in space must carry this basis, forcing terms included: a field
    without it is constant along the batch axis, and Dedalus converts such a field into the basis' constant mode,
    a vector that is not constant under the identity transform (it would force trajectory 0 alone, by sqrt(2)).
    """
    return d3.Legendre(coord, size=int(size), bounds=(0, 1), dealias=1, library=BATCH_LIBRARY)


class _Integrator:
    """One Dedalus solve of one batch: step, save frames, check for divergence."""

    def __init__(self, solver, state, scratch, bound: float, offset: int, label: str):
        self.solver = solver
        self.state = state  # the saved field: batch axis first, grid shape after
        self.scratch = scratch  # same bases as state; frames are read through it, never through state
        self.bound = float(bound)
        self.offset = offset
        self.label = label

    def frame(self) -> np.ndarray:
        """Grid values (scale 1) of the current state, computed from a copy of its coefficients."""
        self.scratch["c"] = self.state["c"]
        self.scratch.change_scales(1)
        return np.array(self.scratch["g"], copy=True)

    def check(self, values: np.ndarray | None = None) -> None:
        """Raise DivergenceError if a trajectory is non-finite or has ``max |u| > bound``.

        Without ``values`` (grid data) the check runs on the coefficients: their absolute sum bounds ``max |u|``
        (|cos|, |sin| <= 1), so only when it exceeds ``bound`` are the grid values computed to decide.
        """
        if values is None:
            coeffs = self.state["c"]
            amp = np.abs(coeffs).reshape(coeffs.shape[0], -1).sum(axis=1)
            if np.all(amp <= self.bound):  # NaN compares False, so non-finite data falls through
                return
            values = self.frame()
        peak = np.abs(values).reshape(values.shape[0], -1).max(axis=1)
        bad = np.flatnonzero(~(peak <= self.bound))
        if bad.size == 0:
            return
        first = int(bad[0])
        if np.isfinite(peak[first]):
            what = f"max |{self.state.name}| = {peak[first]:.3g} > bound {self.bound:g}"
        else:
            what = "non-finite values"
        samples = tuple(int(b) + self.offset for b in bad)
        raise DivergenceError(
            f"{self.label}: trajectory {first + self.offset} of the batch diverged at t={self.solver.sim_time:.6g} "
            f"(step {self.solver.iteration}): {what}; diverged trajectories: {list(samples)}. "
            "Use a smaller dt or a higher resolution, or redraw the initial condition.",
            sample=first + self.offset,
            samples=samples,
            time=self.solver.sim_time,
        )


def integrate_batches(
    label: str,
    build: Callable[[int], tuple],
    set_initial: Callable[[tuple, np.ndarray], None],
    initial: np.ndarray,
    *,
    t_end: float,
    n_frames: int,
    dt: float,
    stepper: str,
    batch_size: int,
    bound: float,
) -> tuple[np.ndarray, SolverStats]:
    """Integrate every trajectory of ``initial`` (shape ``(n, *grid)``) and return ``(frames, stats)``.

    ``build(b)`` returns a tuple starting ``(problem, state, scratch)`` for a batch of ``b`` trajectories (state and
    scratch: fields with the batch axis first; further items are the equation's own); ``set_initial(built, chunk)``
    loads a chunk of initial conditions into the problem's variables. Trajectories are solved ``batch_size`` at a
    time; ``frames`` has shape ``(n, n_frames, *grid)``; ``bound`` limits ``max |state|`` (divergence check).
    """
    timestepper = resolve_stepper(stepper)
    per_frame = steps_per_frame(t_end, n_frames, dt)
    if not (isinstance(batch_size, (int, np.integer)) and batch_size >= 1):
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not bound > 0:
        raise ConfigError(f"divergence bound must be positive, got {bound!r}")
    initial = np.asarray(initial, dtype=np.float64)
    n = initial.shape[0]
    frames = np.empty((n, n_frames) + initial.shape[1:], dtype=np.float64)
    stats = SolverStats(equation=label, stepper=stepper, dt=float(dt))
    regular = [dt] * per_frame
    first_frame = startup_ramp(timestepper, dt, per_frame) or regular
    for start in range(0, n, batch_size):
        chunk = initial[start:start + batch_size]
        b = chunk.shape[0]
        if b == 1:
            # FFTW plans a single transform differently from a batch of them (results differ in the last bits):
            # solve a lone trajectory beside a zero one, so it is bitwise the same as inside any batch.
            chunk = np.concatenate([chunk, np.zeros_like(chunk)])
        tick = time.perf_counter()
        built = build(chunk.shape[0])
        problem, state, scratch = built[:3]
        solver = problem.build_solver(timestepper, matrix_coupling=[True] * len(problem.dist.coords))
        set_initial(built, chunk)
        stats.build_time_s += time.perf_counter() - tick
        run = _Integrator(solver, state, scratch, bound, start, label)
        tick = time.perf_counter()
        last_log = tick
        out = frames[start:start + b]
        values = run.frame()
        run.check(values)
        out[:, 0] = values[:b]
        for k in range(1, n_frames):
            for h in first_frame if k == 1 else regular:
                solver.step(h)
                run.check()
            values = run.frame()
            run.check(values)
            out[:, k] = values[:b]
            now = time.perf_counter()
            if now - last_log >= LOG_INTERVAL_S:
                last_log = now
                log.info(
                    "%s: batch %d/%d: frame %d/%d, t=%.4g, %.3g sim-time/s",
                    label, start // batch_size + 1, math.ceil(n / batch_size), k + 1, n_frames,
                    solver.sim_time, solver.sim_time / (now - tick),
                )
        stats.step_time_s += time.perf_counter() - tick
        stats.steps += solver.iteration
        stats.n_batches += 1
        stats.n_trajectories += b
        stats.batch_sizes.append(b)
        stats.sim_time = float(solver.sim_time)
        log.info(
            "%s: batch %d/%d done: %d trajectories to t=%.4g, %d steps in %.2f s",
            label, start // batch_size + 1, math.ceil(n / batch_size), b, solver.sim_time, solver.iteration,
            time.perf_counter() - tick,
        )
    log.info("%s", stats.summary())
    return frames, stats
