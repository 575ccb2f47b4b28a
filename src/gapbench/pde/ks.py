"""Kuramoto-Sivashinsky (docs/pde_solvers.md), solved with Dedalus 3.

    u_t + u_xx + nu * u_xxxx + u * u_x = 0,    x in [0, L) periodic,  L = 64 by default,

(on [0, 2 pi) the seed's viscosities nu in {0.075, 0.1, 0.125} are not chaotic; L = 64 is the anchor's domain).
Discretisation: Fourier-Galerkin, ``RealFourier`` basis of N modes on ``x_j = j L / N`` (the k = N/2 Nyquist mode is
not represented), the quadratic term ``u u_x`` evaluated on the 3/2-padded grid (exact dealiasing), float64. Time:
a Dedalus IMEX stepper with fixed ``dt``, the linear terms ``u_xx + nu u_xxxx`` implicit and ``u u_x`` explicit.
Trajectories are solved in batches in one Dedalus problem (see ``runner``: each is independent, bit for bit).

Anchor settings (docs/pde_solvers.md): N = 512, T = 5, 51 frames, dt_save = 0.1. Default stepper and step: SBDF4 (started on
a ramp, ``runner.startup_ramp``) with dt = 5e-3, which meets relative error <= 1e-4 against a fine reference at the
anchor settings for nu = 0.1 (5.4e-5; nu = 0.125: 5.1e-6). Lower nu is more chaotic: at nu = 0.075 that needs
dt = 2.5e-3 (3.8e-5; 7.2e-4 at 5e-3). SBDF2 would need dt ~ 3e-4 (3.7e-3 at dt = 2.5e-3): docs/pde_solvers.md.
"""

from __future__ import annotations

import numpy as np

from gapbench.errors import ConfigError
from gapbench.pde.runner import (SolverStats, batch_basis, check_grid_and_parameters, import_dedalus,
                                  integrate_batches)

# Default stepper and time step: relative error 5.4e-5 at the anchor settings, nu = 0.1 (docs/pde_solvers.md).
DEFAULT_STEPPER = "SBDF4"
DEFAULT_DT = 5e-3
DEFAULT_LENGTH = 64.0
# Trajectories per Dedalus problem: per-trajectory cost stops falling around 32-64 at N = 512.
DEFAULT_BATCH = 32
# Divergence bound on max |u|. KS scaling (u = U / sqrt(nu)) puts chaotic KS at max |u| ~ 10-13 for nu in
# [0.075, 0.125]; the initial conditions stay below 5.
DEFAULT_BOUND = 100.0

N_SINES = 10
MAX_WAVENUMBER = 7


def initial_condition(rng: np.random.Generator, n_points: int, length: float = DEFAULT_LENGTH) -> np.ndarray:
    """One initial condition on ``x_j = j L / N`` (the KS anchor): a sum of 10 sines,

        u0(x) = sum_{i=1}^{10} A_i sin(2 pi l_i x / L + phi_i),
        A_i ~ U[-0.5, 0.5),  phi_i ~ U[0, 2 pi),  l_i uniform on {1, ..., 7},

    drawn in the order (A_i, phi_i, l_i) for i = 1..10 from ``rng``. Returns shape ``(n_points,)``.
    """
    if n_points < 2 * MAX_WAVENUMBER + 2:
        raise ConfigError(f"n_points must be >= {2 * MAX_WAVENUMBER + 2} to hold wavenumbers up to {MAX_WAVENUMBER}")
    x = np.arange(n_points) * (length / n_points)
    u = np.zeros(n_points)
    for _ in range(N_SINES):
        amp = rng.uniform(-0.5, 0.5)
        phase = rng.uniform(0.0, 2.0 * np.pi)
        wavenumber = rng.integers(1, MAX_WAVENUMBER + 1)
        u += amp * np.sin(2.0 * np.pi * wavenumber * x / length + phase)
    return u


def build_problem(batch: int, n_points: int, length: float, nu: float, hyperviscosity: float = 0.0):
    """The Dedalus IVP for ``batch`` KS trajectories: axis 0 the batch axis, axis 1 ``x``.

    ``hyperviscosity = h > 0`` adds ``h * u_xxxxxxxx`` (implicit; damps mode ``k`` at rate ``h k^8``): the
    stabilised coarse-grid baseline (``train/baseline.py``), never the data.
    Returns ``(problem, u, scratch)``: the problem, its variable ``u`` and a field with the same bases.
    """
    d3 = import_dedalus()
    from mpi4py import MPI

    coords = d3.CartesianCoordinates("b", "x")
    dist = d3.Distributor(coords, dtype=np.float64, comm=MPI.COMM_SELF)
    bbasis = batch_basis(d3, coords["b"], batch)
    xbasis = d3.RealFourier(coords["x"], size=n_points, bounds=(0.0, length), dealias=3 / 2)
    u = dist.Field(name="u", bases=(bbasis, xbasis))
    scratch = dist.Field(name="u_out", bases=(bbasis, xbasis))

    def dx(a):
        return d3.Differentiate(a, coords["x"])

    problem = d3.IVP([u], namespace={"u": u, "dx": dx, "nu": float(nu), "hv": float(hyperviscosity)})
    hyper = " + hv*dx(dx(dx(dx(dx(dx(dx(dx(u))))))))" if hyperviscosity > 0 else ""
    problem.add_equation("dt(u) + dx(dx(u)) + nu*dx(dx(dx(dx(u))))" + hyper + " = - u*dx(u)")
    return problem, u, scratch


def simulate_ks(
    u0: np.ndarray,
    nu: float,
    length: float = DEFAULT_LENGTH,
    t_end: float = 5.0,
    n_frames: int = 51,
    dt: float = DEFAULT_DT,
    stepper: str = DEFAULT_STEPPER,
    *,
    batch_size: int = DEFAULT_BATCH,
    bound: float = DEFAULT_BOUND,
    return_stats: bool = False,
    hyperviscosity: float = 0.0,
) -> np.ndarray | tuple[np.ndarray, SolverStats]:
    """Integrate KS from each row of ``u0`` (shape ``(batch, N)``, values on ``x_j = j L / N``).

    Returns the frames, shape ``(batch, n_frames, N)``: ``n_frames`` snapshots (t = 0 included) evenly spaced on
    ``[0, t_end]``; frame 0 is the initial condition as the solver represents it (Nyquist mode removed).
    ``dt`` must divide ``t_end / (n_frames - 1)``; ``stepper`` is a Dedalus IMEX scheme name (SBDF2, RK222,
    RK443, ...); ``hyperviscosity`` as in :func:`build_problem`. Raises ``runner.DivergenceError`` (``.sample``)
    if a trajectory turns non-finite or exceeds
    ``bound``. With ``return_stats`` also returns the :class:`runner.SolverStats`.
    """
    u0 = np.asarray(u0, dtype=np.float64)
    if u0.ndim != 2:
        raise ConfigError(f"u0 must have shape (batch, N), got {u0.shape}")
    n_points = u0.shape[1]
    check_grid_and_parameters(n_points, nu=nu, length=length)

    def build(batch):
        return build_problem(batch, n_points, length, nu, hyperviscosity)

    def set_initial(built, chunk):
        _, u, _ = built
        u.change_scales(1)
        u["g"] = chunk

    frames, stats = integrate_batches(
        "ks", build, set_initial, u0, t_end=t_end, n_frames=n_frames, dt=dt, stepper=stepper,
        batch_size=batch_size, bound=bound,
    )
    return (frames, stats) if return_stats else frames


# The solver contract of gapbench.pde.equations (the registry entry "ks" names these three).
def draw(rng: np.random.Generator, params) -> np.ndarray:
    """:func:`initial_condition` on the grid of ``params`` (an ``equations.SimParams``)."""
    return initial_condition(rng, params.resolution, params.length)


def simulate(u0: np.ndarray, params, *, hyperviscosity: float = 0.0, batch_size: int = DEFAULT_BATCH) -> np.ndarray:
    """:func:`simulate_ks` with the settings of ``params`` (an ``equations.SimParams``)."""
    return simulate_ks(u0, params.nu, params.length, params.t_end, params.n_frames, params.dt, params.stepper,
                       batch_size=batch_size, hyperviscosity=hyperviscosity)


def laws() -> dict[str, str]:
    """Forcing and initial-condition law as text (store attrs)."""
    return {
        "forcing": "none",
        "initial_condition": f"sum of {N_SINES} sines A*sin(2*pi*l*x/L + phi), A ~ U[-0.5, 0.5), "
        f"phi ~ U[0, 2*pi), l ~ U{{1..{MAX_WAVENUMBER}}} (gapbench.pde.ks.initial_condition)",
    }
