"""Kuramoto-Sivashinsky solver (gapbench.pde.ks): physics, convergence, batching, errors.

The reference is an independent exponential-time-differencing solver (:mod:`gapbench.pde.etdrk4`: Kassam &
Trefethen 2005, ETDRK4 with contour-integral coefficients) on the same Fourier-Galerkin discretisation (3/2-rule dealiasing,
Nyquist mode dropped), so differences measure the Dedalus time stepping and the equation as Dedalus parses it.
"""

from __future__ import annotations

import numpy as np
import pytest

from gapbench.errors import ConfigError
from gapbench.pde import ks
from gapbench.pde.etdrk4 import etdrk4_ks
from gapbench.pde.runner import DivergenceError

L = 64.0


def rel_error(u, ref):
    """Largest relative L2 error over trajectories and frames."""
    num = np.linalg.norm(u - ref, axis=-1)
    return float((num / np.linalg.norm(ref, axis=-1)).max())


def draws(n, n_points, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([ks.initial_condition(rng, n_points, L) for _ in range(n)])


@pytest.fixture(scope="module")
def reference():
    """Two trajectories at N = 128 on t in [0, 1] (11 frames) by ETDRK4 with h = 1e-3 (self-error ~1e-11)."""
    u0 = draws(2, 128, seed=3)
    return u0, etdrk4_ks(u0, 0.1, L, 1.0, 11, 1e-3)


def test_reference_solver_is_converged(reference):
    u0, ref = reference
    assert rel_error(etdrk4_ks(u0, 0.1, L, 1.0, 11, 2e-3), ref) < 1e-9


@pytest.mark.parametrize("stepper,dt", [("SBDF2", 1e-3), ("RK222", 2.5e-3), ("RK443", 5e-3), ("SBDF4", 1e-2)])
def test_agrees_with_independent_etdrk4(reference, stepper, dt):
    u0, ref = reference
    u = ks.simulate_ks(u0, 0.1, L, 1.0, 11, dt, stepper)
    assert u.shape == ref.shape
    assert rel_error(u, ref) < 1e-5


@pytest.mark.parametrize(
    "stepper,order,dts",
    [("SBDF2", 2, (1e-2, 5e-3, 2.5e-3)), ("RK222", 2, (1e-2, 5e-3, 2.5e-3)),
     ("RK443", 3, (1e-2, 5e-3, 2.5e-3)), ("SBDF4", 4, (2e-2, 1e-2, 5e-3))],
)
def test_error_falls_at_the_stepper_order(reference, stepper, order, dts):
    """Halving dt divides the error by ~2^order (SBDF4 needs the start-up ramp to show order 4, not 2)."""
    u0, ref = reference
    errors = [rel_error(ks.simulate_ks(u0, 0.1, L, 1.0, 11, dt, stepper), ref) for dt in dts]
    observed = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(observed > order - 0.45), (errors, observed)
    assert np.all(observed < order + 0.6), (errors, observed)


@pytest.mark.parametrize("nu", [0.075, 0.1, 0.125])
def test_energy_grows_then_stays_bounded_over_the_anchor_horizon(nu):
    """Long waves are linearly unstable (k^2 > nu k^4) and the nonlinearity saturates them: from E(0) ~ 0.2 the
    energy E = mean(u^2) rises and stays bounded. KS scaling (u = U / sqrt(nu), x = sqrt(nu) X, t = nu T)
    predicts E ~ 1 / nu on large domains; measured nu * E(t) for t in [4, 5] is 1.2-2.3 here."""
    u0 = draws(3, 256, seed=4)
    u = ks.simulate_ks(u0, nu, L, 5.0, 51, 1e-2, "SBDF4")
    assert np.isfinite(u).all()
    energy = (u**2).mean(axis=-1)
    assert energy.max() < 4.0 / nu
    late = nu * energy[:, 40:].mean(axis=1)
    assert np.all(late > 0.8) and np.all(late < 3.0), late


def test_batched_trajectories_are_independent_bit_for_bit():
    """A trajectory does not depend on its batch-mates, their order or the batch size."""
    u0 = draws(5, 64, seed=5)
    together = ks.simulate_ks(u0, 0.1, L, 1.0, 6, 1e-2, "SBDF2")
    permuted = ks.simulate_ks(u0[[4, 2, 0, 3, 1]], 0.1, L, 1.0, 6, 1e-2, "SBDF2")
    chunked = ks.simulate_ks(u0, 0.1, L, 1.0, 6, 1e-2, "SBDF2", batch_size=2)
    alone = ks.simulate_ks(u0[2:3], 0.1, L, 1.0, 6, 1e-2, "SBDF2")
    assert np.array_equal(permuted[[2, 4, 1, 3, 0]], together)
    assert np.array_equal(chunked, together)
    assert np.array_equal(alone[0], together[2])
    assert not np.allclose(together[0], together[1])


def test_frames_are_evenly_spaced_and_start_at_the_initial_condition():
    u0 = draws(2, 64, seed=6)
    u, stats = ks.simulate_ks(u0, 0.1, L, 0.5, 6, 0.05, "RK222", return_stats=True)
    assert u.shape == (2, 6, 64)
    np.testing.assert_allclose(u[:, 0], u0, atol=1e-13)
    assert stats.steps == 10 and stats.n_trajectories == 2
    assert abs(stats.sim_time - 0.5) < 1e-12
    # frame k is the state at t = k * 0.1: restarting from frame 2 for 0.3 reproduces frame 5
    again = ks.simulate_ks(u[:, 2], 0.1, L, 0.3, 4, 0.05, "RK222")
    np.testing.assert_allclose(again[:, -1], u[:, 5], atol=1e-12)


def test_initial_condition_law():
    """Sum of 10 sines, l in 1..7, |A| <= 0.5: band-limited to l <= 7, |u0| <= 5, reproducible from the seed."""
    rng = np.random.default_rng(7)
    u0 = np.stack([ks.initial_condition(rng, 128, L) for _ in range(200)])
    power = np.abs(np.fft.rfft(u0, axis=-1)) ** 2
    assert power[:, 8:].max() < 1e-20 * power.max()
    assert power[:, 0].max() < 1e-20 * power.max()
    assert np.all(power[:, 1:8].mean(axis=0) > 0.05 * power[:, 1:8].mean())  # every l in 1..7 is drawn
    assert np.abs(u0).max() <= 5.0
    assert np.array_equal(ks.initial_condition(np.random.default_rng(1), 64, L),
                          ks.initial_condition(np.random.default_rng(1), 64, L))


def test_dt_must_divide_the_save_interval():
    with pytest.raises(ConfigError, match="does not divide"):
        ks.simulate_ks(draws(1, 32), 0.1, L, 1.0, 11, 0.03)


def test_unknown_stepper_lists_the_allowed_ones():
    with pytest.raises(ConfigError, match="allowed: .*SBDF2.*RK443"):
        ks.simulate_ks(draws(1, 32), 0.1, L, 1.0, 11, 0.01, "Euler")


def test_divergence_names_the_sample():
    u0 = draws(3, 64, seed=8)
    u0[1] *= 1e3
    with pytest.raises(DivergenceError) as info:
        ks.simulate_ks(u0, 0.1, L, 1.0, 11, 1e-2, "SBDF2")
    assert info.value.sample == 1 and info.value.samples == (1,)
    assert "trajectory 1" in str(info.value)


def test_huge_time_step_is_detected_as_divergence():
    with pytest.raises(DivergenceError):
        ks.simulate_ks(draws(2, 128, seed=9), 0.1, L, 5.0, 2, 0.5, "RK222")
