"""Observation (Fourier truncation, subsampling, noise) and omega_f: the math of observe.py / omega.py."""

from __future__ import annotations

import numpy as np
import pytest

from gapbench.errors import GapbenchError
from gapbench.pde.generate import SimParams, build_dataset
from gapbench.pde.observe import fourier_truncate, observe_array, observe_dataset, subsample
from gapbench.pde.omega import omega_table, unobserved_fractions
from gapbench.pde.seeds import sample_noise_rng
from gapbench.pde.store import check_store, write_store


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


def test_noise_has_constant_snr_per_frame_is_reproducible_and_ignores_chunking(tmp_path):
    """Noise law: u = u_clean + sigma * std_x(u_clean frame) * xi; the clean field is stored beside it."""
    sim = _sim()
    # a field whose amplitude grows 10x over the run: per-frame noise must follow it
    sim["u"] = sim["u"] * (1.0 + 9.0 * np.linspace(0, 1, 5))[None, :, None].astype(np.float32)
    noisy = observe_dataset(sim, "fourier", 32, 0.5, noise_seed=7)
    c, v = noisy["u_clean"].values.astype(np.float64), noisy["u"].values.astype(np.float64)
    np.testing.assert_array_equal(c, observe_dataset(sim, "fourier", 32, 0.0, noise_seed=7)["u"].values)
    ratio = (v - c).std(axis=(0, 2)) / c.std(axis=2).mean(axis=0)  # per frame, pooled over samples
    np.testing.assert_allclose(ratio, 0.5, rtol=0.05)  # 12*32 draws per frame
    # exactly the recorded law: frame (s, t) carries sigma * std(clean frame) times the sample's own stream
    xi = sample_noise_rng(7, int(sim["sample"][3])).standard_normal((5, 32))
    expected = c[3] + 0.5 * c[3].std(axis=-1, keepdims=True) * xi
    np.testing.assert_allclose(v[3], expected.astype(np.float32), rtol=1e-6, atol=1e-6)
    assert "std_x(u_clean(s, t))" in noisy.attrs["noise_law"]
    # one noise stream per sample: the same noise whatever the chunking, and reproducible
    write_store(sim, tmp_path / "a.zarr", chunk=5)
    from gapbench.pde.store import load

    rechunked = observe_dataset(load(tmp_path / "a.zarr"), "fourier", 32, 0.5, noise_seed=7)
    np.testing.assert_array_equal(rechunked["u"].values, noisy["u"].values)
    other = observe_dataset(sim, "fourier", 32, 0.5, noise_seed=8)
    assert not np.array_equal(other["u"].values, noisy["u"].values)
    assert noisy.attrs["kind"] == "observation" and noisy.attrs["resolution"] == 32
    assert noisy["x"].values[1] == pytest.approx(64.0 / 32)
    write_store(noisy, tmp_path / "obs.zarr")
    assert "clean field 'u_clean' beside it" in check_store(tmp_path / "obs.zarr")


def test_tail_fraction_is_recorded_and_data_check_warns(tmp_path):
    """Simulation stores record the squared-spectrum fraction beyond 2/3 Nyquist; data check warns above 1e-6."""
    n = 32
    x = np.arange(n) / n
    smooth = np.broadcast_to(np.sin(2 * np.pi * 2 * x)[:, None] * np.cos(2 * np.pi * x)[None, :], (n, n))
    rough = smooth + 1e-2 * np.cos(2 * np.pi * 14 * x)[:, None]  # |n| = 14 > 32/3
    params = SimParams("ns", 1e-3, n, 1.0, 2, 0.5, "SBDF2", 1.0)
    for name, frame, warn in (("smooth", smooth, False), ("rough", rough, True)):
        field = np.broadcast_to(frame, (2, 2, n, n)).astype(np.float32)
        ds = build_dataset(params, field, np.arange(2), np.arange(2), [], 0, "train")
        tail = 1e-4 * n * n / 2  # sum of (1e-2 cos)^2 over the grid: Parseval
        expected = tail / ((smooth**2).sum() + tail) if warn else 0.0
        assert ds.attrs["tail_fraction"] == pytest.approx(expected, rel=1e-3, abs=1e-12)
        write_store(ds, tmp_path / f"{name}.zarr")
        assert ("WARNING" in check_store(tmp_path / f"{name}.zarr")) is warn


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


def test_omega_averages_over_the_scored_frames_only(tmp_path):
    """omega_table(first, n_frames) averages exactly frames first..first+n-1: here frames 0-1 are fully observed
    at f = 8, frames 2-3 have half their energy at wavenumber 6 > 4, frame 4 all of it."""
    from gapbench.pde.omega import write_table

    n = 32
    x = np.arange(n) / n
    low, high = np.sin(2 * np.pi * 2 * x), np.sin(2 * np.pi * 6 * x)
    frames = np.stack([low, low, low + high, low + high, high])[None].repeat(2, axis=0)
    sim = _sim(n_samples=2, n=n, ndim=1)  # 5 frames
    sim["u"] = (sim["u"].dims, frames.astype(np.float32))
    write_store(sim, tmp_path / "ks.zarr")
    cases = {(0, 0): (0 + 0 + 0.5 + 0.5 + 1) / 5, (2, 2): 0.5, (0, 2): 0.0, (2, 0): (0.5 + 0.5 + 1) / 3, (4, 1): 1.0}
    for (first, count), expected in cases.items():
        (_, omega), = omega_table([tmp_path / "ks.zarr"], [8], first, count)
        assert omega == pytest.approx(expected, abs=1e-6), (first, count)
    with pytest.raises(GapbenchError, match="scored frames 3..5 are not within the 5 stored frames"):
        omega_table([tmp_path / "ks.zarr"], [8], 3, 3)
    write_table([(8, 0.5)], tmp_path / "omega_f.csv", 10, 25)
    assert (tmp_path / "omega_f.csv").read_text() == "resolution,omega_f,first_frame,n_frames\n8,5.000000e-01,10,25\n"
