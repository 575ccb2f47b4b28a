"""Observation (Fourier truncation, subsampling, noise) and omega_f: the math of observe.py / omega.py."""

from __future__ import annotations

import numpy as np
import pytest

from gapbench.errors import GapbenchError
from gapbench.pde.generate import SimParams, build_dataset
from gapbench.pde.observe import fourier_truncate, observe_array, observe_dataset, subsample
from gapbench.pde.omega import omega_table, unobserved_fractions
from gapbench.pde.store import write_store


def band_limited_1d(n: int, kmax: int, rng, batch=(3, 2)) -> np.ndarray:
    """Real field on n points with random modes 0..kmax (the mode kmax as a cosine: representable at f=2kmax)."""
    x = np.arange(n) / n
    u = np.zeros(batch + (n,))
    for k in range(kmax + 1):
        a, b = rng.normal(size=(2,) + batch + (1,))
        u += a * np.cos(2 * np.pi * k * x) + (b * np.sin(2 * np.pi * k * x) if k < kmax else 0)
    return u


def test_truncation_of_band_limited_signal_is_exact_1d():
    rng = np.random.default_rng(0)
    n, f = 128, 32
    u = band_limited_1d(n, f // 2, rng)
    exact = u[..., :: n // f]  # a field holding only |k| <= f/2 (cosine at f/2) is its own coarse samples
    np.testing.assert_allclose(fourier_truncate(u, f, 1), exact, atol=1e-12)
    np.testing.assert_allclose(subsample(u, f, 1), exact, atol=0)


@pytest.mark.parametrize("f", [20, 21])  # any f, not only divisors of N; odd f has no Nyquist mode
def test_truncation_evaluates_the_band_limited_field_on_the_coarse_grid(f):
    rng = np.random.default_rng(1)
    n = 96
    kmax = (f - 1) // 2
    coef = rng.normal(size=(kmax + 1, 2))
    field = lambda x: sum(a * np.cos(2 * np.pi * k * x) + b * np.sin(2 * np.pi * k * x) for k, (a, b) in enumerate(coef))
    fine = field(np.arange(n) / n)
    np.testing.assert_allclose(fourier_truncate(fine, f, 1), field(np.arange(f) / f), atol=1e-12)


def test_truncation_drops_only_the_modes_above_f_over_2():
    n, f = 64, 16
    x = np.arange(n) / n
    low, high = np.sin(2 * np.pi * 3 * x), np.sin(2 * np.pi * 13 * x)
    np.testing.assert_allclose(fourier_truncate(low + high, f, 1), low[:: n // f], atol=1e-12)
    # subsampling aliases mode 13 onto mode -3 instead of dropping it
    assert np.abs(subsample(low + high, f, 1) - low[:: n // f]).max() > 0.5


def test_truncation_2d_box_is_exact_and_matches_subsampling():
    rng = np.random.default_rng(2)
    n, f = 64, 16
    x = np.arange(n) / n
    X, Y = np.meshgrid(x, x, indexing="ij")
    w = np.zeros((2, n, n))
    for kx in range(-7, 8):
        for ky in range(-7, 8):
            a = rng.normal(size=(2, 1, 1))
            w += a * np.cos(2 * np.pi * (kx * X + ky * Y) + rng.uniform(0, 2 * np.pi))
    w += np.cos(2 * np.pi * 8 * X) * np.cos(2 * np.pi * 8 * Y)  # the Nyquist corner, representable on 16^2
    exact = w[:, :: n // f, :: n // f]
    np.testing.assert_allclose(fourier_truncate(w, f, 2), exact, atol=1e-11)
    np.testing.assert_allclose(observe_array(w, "subsample", f, 2), exact, atol=0)


def test_bad_observation_arguments():
    u = np.zeros((1, 1, 48))
    with pytest.raises(GapbenchError, match="divides 48"):
        subsample(u, 32, 1)
    with pytest.raises(GapbenchError, match="between 1 and the simulation resolution 48"):
        fourier_truncate(u, 64, 1)
    with pytest.raises(GapbenchError, match="allowed: fourier, subsample"):
        observe_array(u, "linear", 16, 1)


def _sim(n_samples=12, n=64, seed=0, ndim=1):
    rng = np.random.default_rng(seed)
    eq = "ks" if ndim == 1 else "ns"
    params = SimParams(eq, 0.1, n, 1.0, 5, 0.05, "RK222", 64.0 if ndim == 1 else 1.0)
    field = rng.normal(size=(n_samples, 5) + (n,) * ndim).astype(np.float32)
    return build_dataset(params, field, np.arange(n_samples), np.arange(n_samples) + 100, [], 0, "train")


def test_noise_std_matches_sigma_times_field_std_and_ignores_chunking(tmp_path):
    sim = _sim()
    clean = observe_dataset(sim, "fourier", 32, 0.0, noise_seed=7)
    noisy = observe_dataset(sim, "fourier", 32, 0.5, noise_seed=7)
    c, v = clean["u"].values.astype(np.float64), noisy["u"].values.astype(np.float64)
    assert noisy.attrs["noise_std"] == pytest.approx(0.5 * c.std(), rel=1e-6)
    assert (v - c).std() == pytest.approx(0.5 * c.std(), rel=0.03)  # 12*5*32 draws
    assert abs((v - c).mean()) < 0.05 * c.std()
    # one noise stream per sample: the same noise whatever the chunking, and reproducible
    write_store(sim, tmp_path / "a.zarr", chunk=5)
    from gapbench.pde.store import load

    rechunked = observe_dataset(load(tmp_path / "a.zarr"), "fourier", 32, 0.5, noise_seed=7)
    np.testing.assert_array_equal(rechunked["u"].values, noisy["u"].values)
    other = observe_dataset(sim, "fourier", 32, 0.5, noise_seed=8)
    assert not np.array_equal(other["u"].values, noisy["u"].values)
    assert noisy.attrs["kind"] == "observation" and noisy.attrs["resolution"] == 32
    assert noisy["x"].values[1] == pytest.approx(64.0 / 32)


def test_omega_of_a_known_spectrum():
    n = 64
    x = np.arange(n) / n
    u = (np.sin(2 * np.pi * 3 * x) + 0.5 * np.cos(2 * np.pi * 12 * x))[None, None]
    sums, count = unobserved_fractions(u, [8, 16, 24, 30], 1)
    assert count == 1
    np.testing.assert_allclose(sums, [0.2, 0.2, 0.0, 0.0], atol=1e-12)  # energy 1 : 0.25, mode 12 > f/2 for f < 24


def test_omega_2d_uses_the_box_and_averages_over_frames(tmp_path):
    n = 32
    x = np.arange(n) / n
    X, Y = np.meshgrid(x, x, indexing="ij")
    frame_a = np.cos(2 * np.pi * 2 * X) + np.cos(2 * np.pi * (2 * X + 6 * Y))  # |n|_inf 2 and 6
    frame_b = np.cos(2 * np.pi * 2 * Y)
    sums, count = unobserved_fractions(np.stack([frame_a, frame_b])[None], [8, 12], 2)
    np.testing.assert_allclose(sums / count, [0.25, 0.0], atol=1e-12)
    sim = _sim(n_samples=3, n=16, ndim=2)
    write_store(sim, tmp_path / "ns.zarr", chunk=2)
    (f, omega), = omega_table([tmp_path / "ns.zarr"], [16])
    assert f == 16 and omega == pytest.approx(0.0, abs=1e-12)
    (_, white), = omega_table([tmp_path / "ns.zarr"], [8])
    assert white == pytest.approx(1 - 81 / 256, abs=0.05)  # white noise: energy ~ share of modes outside the box
