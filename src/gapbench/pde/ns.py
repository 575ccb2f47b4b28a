"""2D incompressible Navier-Stokes in vorticity form (docs/pde_solvers.md), solved with Dedalus 3.

On the unit torus [0, 1)^2:

    w_t + u . grad(w) = nu * lap(w) + f,         f = 0.1 (sin(2 pi (x + y)) + cos(2 pi (x + y))),
    lap(psi) + w + tau = 0,   integ(psi) = 0,   u = (d_y psi, -d_x psi),

so ``div u = 0`` and ``w = d_x u_y - d_y u_x = -lap(psi)``; ``u . grad(w) = d_y psi d_x w - d_x psi d_y w``. The
streamfunction gauge ``integ(psi) = 0`` fixes the constant in psi and ``tau`` (one number per trajectory) absorbs the
mean of ``w``, which the equations keep at its initial value (zero for the initial conditions below and ``f``).

Discretisation: ``RealFourier`` bases of N modes in x and y (grid ``x_i = i / N``; the k = N/2 Nyquist modes are
not represented), the advection term on the 3/2-padded grid, float64, an IMEX stepper with fixed ``dt`` (viscous
term and the psi constraint implicit, advection and forcing explicit). Trajectories are batched as in ``runner``.
Seed regimes: nu = 1e-3, T = 16, and nu = 1e-5, T = 3.2, each with 33 frames (initial + 32).
"""

from __future__ import annotations

import numpy as np

from gapbench.errors import ConfigError
from gapbench.pde.runner import (SolverStats, batch_basis, check_grid_and_parameters, import_dedalus,
                                  integrate_batches)

# Divergence bound on max |w|: GRF initial conditions have max |w| of a few units and the forced steady state
# 0.1 * sqrt(2) / (8 pi^2 nu) is 1.8 at nu = 1e-3.
DEFAULT_BOUND = 1e3
# Trajectories per Dedalus problem (at N >= 64 the FFTs already dominate; batching still saves ~2x at N = 64).
DEFAULT_BATCH = 8
# FNO's Gaussian random field (anchor): alpha, tau.
GRF_ALPHA = 2.5
GRF_TAU = 7.0
FORCING_AMPLITUDE = 0.1


def initial_condition(
    rng: np.random.Generator, n_points: int, alpha: float = GRF_ALPHA, tau: float = GRF_TAU
) -> np.ndarray:
    """One initial vorticity on the ``n_points x n_points`` grid ``(x_i, y_j) = (i, j) / N``: FNO's Gaussian
    random field (``GaussianRF(2, N, alpha=2.5, tau=7)`` of the FNO Navier-Stokes data), zero mean:

        w0(x) = Re sum_k  sqrt(2) sigma (4 pi^2 |k|^2 + tau^2)^(-alpha/2)  xi_k  exp(2 pi i k . x),
        sigma = tau^(alpha - 1)   (FNO: tau^(0.5 (2 alpha - d)), d = 2),

    over integer wavevectors ``k`` with ``|k_x|, |k_y| < N/2``, ``k != 0``; ``xi_k`` independent standard complex
    normals (real and imaginary parts ~ N(0, 1), drawn from ``rng`` as one ``(N, N, 2)`` array in FFT order).
    Covariance: the real part halves the variance, so each mode pair has spectral density
    ``2 sigma^2 (4 pi^2 |k|^2 + tau^2)^(-alpha)``: the sampler of the 2021 FNO Navier-Stokes data, twice the
    variance of the current FNO code's sampler. Unlike FNO we drop the ``|k_i| = N/2`` (Nyquist) modes, which
    the solver's basis does not represent, so frame 0 equals the drawn field. Returns shape ``(N, N)``.
    """
    n = int(n_points)
    if n < 4 or n % 2:
        raise ConfigError(f"n_points must be even and >= 4, got {n_points}")
    sigma = tau ** (alpha - 1.0)
    k = np.fft.fftfreq(n, d=1.0 / n)
    kx, ky = np.meshgrid(k, k, indexing="ij")
    sqrt_eig = n * n * np.sqrt(2.0) * sigma * (4.0 * np.pi**2 * (kx**2 + ky**2) + tau**2) ** (-alpha / 2.0)
    sqrt_eig[0, 0] = 0.0
    sqrt_eig[np.abs(kx) == n // 2] = 0.0
    sqrt_eig[np.abs(ky) == n // 2] = 0.0
    xi = rng.standard_normal((n, n, 2))
    coeff = sqrt_eig * (xi[..., 0] + 1j * xi[..., 1])
    return np.fft.ifft2(coeff).real


def streamfunction(w: np.ndarray) -> np.ndarray:
    """The zero-mean ``psi`` with ``lap(psi) = -(w - mean(w))`` on the unit torus, for arrays ``(..., N, N)``."""
    n = w.shape[-1]
    k = 2.0 * np.pi * np.fft.fftfreq(n, d=1.0 / n)
    kr = 2.0 * np.pi * np.fft.rfftfreq(n, d=1.0 / n)
    k2 = k[:, None] ** 2 + kr[None, :] ** 2
    k2[0, 0] = np.inf
    return np.fft.irfft2(np.fft.rfft2(w) / k2, s=w.shape[-2:])


def forcing_field(x, y, amplitude: float = FORCING_AMPLITUDE, wavenumber: int = 1):
    """``f = A (sin(2 pi k (x + y)) + cos(2 pi k (x + y)))``: the seed's forcing for ``A = 0.1, k = 1`` (FNO's)."""
    phase = 2 * np.pi * wavenumber * (x + y)
    return amplitude * (np.sin(phase) + np.cos(phase))


def build_problem(batch: int, n_points: int, nu: float, forcing: bool = True, hyperviscosity: float = 0.0,
                  amplitude: float = FORCING_AMPLITUDE, wavenumber: int = 1):
    """The Dedalus IVP for ``batch`` NS trajectories: axis 0 the batch axis, axes 1, 2 ``x``, ``y``; forcing
    :func:`forcing_field` with ``amplitude`` and ``wavenumber``.

    ``hyperviscosity = h > 0`` adds ``h * lap^4(w)`` on the left (implicit; damps wavevector ``k`` at rate
    ``h |k|^8``): the stabilised coarse-grid baseline (``train/baseline.py``), never the data.
    Returns ``(problem, w, scratch, psi, tau_psi)``.
    """
    d3 = import_dedalus()
    from mpi4py import MPI

    coords = d3.CartesianCoordinates("b", "x", "y")
    dist = d3.Distributor(coords, dtype=np.float64, comm=MPI.COMM_SELF)
    bbasis = batch_basis(d3, coords["b"], batch)
    xbasis = d3.RealFourier(coords["x"], size=n_points, bounds=(0.0, 1.0), dealias=3 / 2)
    ybasis = d3.RealFourier(coords["y"], size=n_points, bounds=(0.0, 1.0), dealias=3 / 2)
    bases = (bbasis, xbasis, ybasis)
    w = dist.Field(name="w", bases=bases)
    psi = dist.Field(name="psi", bases=bases)
    tau_psi = dist.Field(name="tau_psi", bases=bbasis)
    scratch = dist.Field(name="w_out", bases=bases)
    # f carries the batch axis too: a field constant along it would be converted into the batch basis'
    # constant mode, which the identity batch transform would hand to trajectory 0 alone.
    f = dist.Field(name="f", bases=bases)
    x = dist.local_grid(xbasis)
    y = dist.local_grid(ybasis)
    f["g"] = forcing_field(x, y, amplitude, wavenumber)

    def dx(a):
        return d3.Differentiate(a, coords["x"])

    def dy(a):
        return d3.Differentiate(a, coords["y"])

    def lap(a):
        return dx(dx(a)) + dy(dy(a))

    def integ(a):
        return d3.Integrate(a, (coords["x"], coords["y"]))

    namespace = {"w": w, "psi": psi, "tau_psi": tau_psi, "f": f, "nu": float(nu), "hv": float(hyperviscosity),
                 "dx": dx, "dy": dy, "lap": lap, "integ": integ}
    problem = d3.IVP([w, psi, tau_psi], namespace=namespace)
    rhs = "- (dy(psi)*dx(w) - dx(psi)*dy(w))" + (" + f" if forcing else "")
    hyper = " + hv*lap(lap(lap(lap(w))))" if hyperviscosity > 0 else ""
    problem.add_equation("dt(w) - nu*lap(w)" + hyper + " = " + rhs)
    problem.add_equation("lap(psi) + w + tau_psi = 0")
    problem.add_equation("integ(psi) = 0")
    return problem, w, scratch, psi, tau_psi


def simulate_ns(
    w0: np.ndarray,
    nu: float,
    t_end: float,
    n_frames: int,
    dt: float,
    stepper: str = "SBDF2",
    forcing: bool = True,
    *,
    batch_size: int = DEFAULT_BATCH,
    bound: float = DEFAULT_BOUND,
    return_stats: bool = False,
    hyperviscosity: float = 0.0,
    amplitude: float = FORCING_AMPLITUDE,
    wavenumber: int = 1,
) -> np.ndarray | tuple[np.ndarray, SolverStats]:
    """Integrate NS from each initial vorticity in ``w0`` (shape ``(batch, N, N)``, values at ``(i, j) / N``).

    Returns the vorticity frames, shape ``(batch, n_frames, N, N)``, ``n_frames`` snapshots (t = 0 included)
    evenly spaced on ``[0, t_end]``. ``dt`` must divide ``t_end / (n_frames - 1)``. ``forcing=False`` drops ``f``
    (decaying turbulence, Taylor-Green tests); ``hyperviscosity`` as in :func:`build_problem`. The streamfunction
    starts consistent with ``w0``. Raises
    ``runner.DivergenceError`` (``.sample``) if a trajectory turns non-finite or ``max |w|`` exceeds ``bound``.
    """
    w0 = np.asarray(w0, dtype=np.float64)
    if w0.ndim != 3 or w0.shape[1] != w0.shape[2]:
        raise ConfigError(f"w0 must have shape (batch, N, N), got {w0.shape}")
    n_points = w0.shape[1]
    check_grid_and_parameters(n_points, nu=nu)

    def build(batch):
        return build_problem(batch, n_points, nu, forcing, hyperviscosity, amplitude, wavenumber)

    def set_initial(built, chunk):
        _, w, _, psi, tau_psi = built
        for fld, values in ((w, chunk), (psi, streamfunction(chunk))):
            fld.change_scales(1)
            fld["g"] = values
        tau_psi.change_scales(1)
        tau_psi["g"] = -chunk.mean(axis=(1, 2)).reshape(tau_psi["g"].shape)

    frames, stats = integrate_batches(
        "ns", build, set_initial, w0, t_end=t_end, n_frames=n_frames, dt=dt, stepper=stepper,
        batch_size=batch_size, bound=bound,
    )
    return (frames, stats) if return_stats else frames


# The solver contract of gapbench.pde.equations (the registry entry "ns" names these three).
def draw(rng: np.random.Generator, params) -> np.ndarray:
    """:func:`initial_condition` on the grid of ``params`` (an ``equations.SimParams``; the torus is fixed)."""
    return initial_condition(rng, params.resolution)


def simulate(w0: np.ndarray, params, *, hyperviscosity: float = 0.0, batch_size: int = DEFAULT_BATCH) -> np.ndarray:
    """:func:`simulate_ns` (forced) with the settings of ``params`` (an ``equations.SimParams``; its ``forcing``
    ``(amplitude, wavenumber)``, () for the seed's)."""
    amplitude, wavenumber = params.forcing or (FORCING_AMPLITUDE, 1)
    return simulate_ns(w0, params.nu, params.t_end, params.n_frames, params.dt, params.stepper,
                       batch_size=batch_size, hyperviscosity=hyperviscosity, amplitude=float(amplitude),
                       wavenumber=int(wavenumber))


def laws(forcing: tuple = ()) -> dict[str, str]:
    """Forcing (``(amplitude, wavenumber)``, () for the seed's) and initial-condition law as text (store attrs)."""
    amplitude, wavenumber = forcing or (FORCING_AMPLITUDE, 1)
    k = "" if int(wavenumber) == 1 else f"{int(wavenumber)}*"
    return {
        "forcing": f"{float(amplitude):g}*(sin(2*pi*{k}(x+y)) + cos(2*pi*{k}(x+y)))",
        "initial_condition": f"Gaussian random field (FNO), alpha {GRF_ALPHA}, tau {GRF_TAU}, zero mean, "
        "Nyquist modes dropped (gapbench.pde.ns.initial_condition)",
    }
