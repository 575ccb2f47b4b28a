"""PDE baselines (`gapbench train pde-baseline`): persistence, zero, the solver at several resolutions.

The solver baseline is checked before it is trusted: from an exact first frame at the simulation resolution it
reproduces the stored trajectory, and a zero-padded exact coarse field evolves like the fine simulation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gapbench.cli import main
from gapbench.pde.generate import SimParams, simulate_samples
from gapbench.pde.observe import fourier_truncate, observe_dataset
from gapbench.pde.store import load, write_store
from gapbench.train.baseline import interpolate, run_baseline

# Short KS runs at the domain and viscosity of the data (N = 64 keeps them fast; the physics is the solver's).
KS = SimParams("ks", 0.1, 64, 0.5, 6, 0.01, "SBDF4", 64.0)


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "test.zarr"
    write_store(simulate_samples(KS, 0, "test", 0, 3, batch=3), path)
    return path


def _observe(sim: Path, out: Path, f: int, sigma: float = 0.0) -> Path:
    write_store(observe_dataset(load(sim), "fourier", f, sigma, noise_seed=3), out / "test.zarr")
    return out


@pytest.mark.parametrize("f,m,ndim", [(8, 32, 1), (9, 27, 1), (8, 16, 2), (6, 10, 2)])
def test_interpolation_is_exact_for_band_limited_fields(f, m, ndim):
    """Zero-padding samples the trigonometric interpolant: truncating back gives the input, and a field whose
    modes fit the coarse grid (the +-f/2 mode excluded) is reproduced exactly on the fine grid."""
    rng = np.random.default_rng(0)
    u = rng.standard_normal((2,) + (f,) * ndim)
    np.testing.assert_allclose(fourier_truncate(interpolate(u, m, ndim), f, ndim), u, atol=1e-12)
    if ndim == 1:
        def g(n):
            x = np.arange(n) / n
            return np.sin(2 * np.pi * 3 * x + 0.4) + 0.5 * np.cos(2 * np.pi * ((f - 1) // 2) * x)

        np.testing.assert_allclose(interpolate(g(f)[None], m, 1)[0], g(m), atol=1e-12)


def test_solver_at_simulation_resolution_reproduces_the_stored_trajectory(sim, tmp_path):
    """From the exact first frame (observed at f = N, no noise) the solver on N points is the data's solver."""
    data = _observe(sim, tmp_path / "obs64", 64)
    m = run_baseline(data, "solver", 64, 0, 0.5, tmp_path / "run")
    assert m["status"] == "ok" and m["model"] == "solver-r64" and m["nrmse"] < 1e-3, m["nrmse"]
    assert m["nrmse"] < 1e-6  # in fact to float32 rounding of the stored frames


def test_zero_padded_exact_field_evolves_like_the_fine_simulation(sim, tmp_path):
    """The KS initial conditions have wavenumbers <= 7, so 16 observed points hold frame 0 exactly; interpolated to
    the simulation grid the solver reproduces the fine run, projected to the observed grid."""
    data = _observe(sim, tmp_path / "obs16", 16)
    fine = run_baseline(data, "solver", 64, 0, 0.5, tmp_path / "r64")
    assert fine["nrmse"] < 1e-3 and fine["solver"]["resolution"] == 64
    coarse = run_baseline(data, "solver", 32, 0, 0.5, tmp_path / "r32")
    assert coarse["model"] == "solver-r32" and fine["nrmse"] < coarse["nrmse"]


def test_persistence_and_zero_scored_against_clean_truth(sim, tmp_path):
    data = _observe(sim, tmp_path / "noisy", 16, sigma=0.2)
    test = load(data / "test.zarr")
    zero = run_baseline(data, "zero", 0, 3, 0.5, tmp_path / "zero")
    assert zero["nrmse"] == 1.0 and zero["nrmse_final"] == 1.0 and zero["horizon"] == 3
    assert zero["valid_time"] == 0.0 and zero["valid_time_censored"] == 0.0  # exceeds 0.5 at the first step
    pers = run_baseline(data, "persistence", 0, 3, 0.5, tmp_path / "pers")
    x0 = test["u"].values[:, 0].astype(np.float64)  # the noisy observed first frame
    clean = test["u_clean"].values[:, 1:4].astype(np.float64)
    expected = (np.linalg.norm(x0[:, None] - clean, axis=-1) / np.linalg.norm(clean, axis=-1)).mean()
    assert pers["nrmse"] == pytest.approx(expected, rel=1e-12)
    assert load(tmp_path / "pers" / "predictions.zarr")["u"].sizes["time"] == 4


def test_stabilised_solver_and_bad_resolution(sim, tmp_path, capsys):
    data = _observe(sim, tmp_path / "obs16", 16)
    hv = run_baseline(data, "solver_hv", 16, 0, 0.5, tmp_path / "hv")
    assert hv["model"] == "solver_hv-r16" and hv["solver"]["hyperviscosity"] > 0
    rc = main(["train", "pde-baseline", "--data-dir", str(data), "--predictor", "solver", "--resolution", "8",
               "--warmup", "1", "--out", str(tmp_path / "bad")])
    assert rc == 2 and "solver resolution 8" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
