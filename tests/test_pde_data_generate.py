"""Seeds, shard invariance, bit-identical reruns and divergence re-draws of the PDE data generation."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys

import numpy as np
import pytest

from gapbench.errors import GapbenchError
from gapbench.pde import generate
from gapbench.pde.generate import SimParams, merge_datasets, simulate_samples
from gapbench.pde.runner import DivergenceError
from gapbench.pde.seeds import noise_seed, stable_int, trajectory_seed
from gapbench.pde.store import load, write_store

# Tiny KS: 32 points, 6 frames on [0, 0.5], 50 steps.
TINY = SimParams("ks", 0.1, 32, 0.5, 6, 0.01, "SBDF2", 64.0)


def test_seeds_are_stable_across_processes_and_distinct():
    code = "from gapbench.pde.seeds import trajectory_seed as t; print(t(0, 'ks', 0.1, 'train', 3))"
    outs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "PYTHONHASHSEED": h}).stdout.strip()
        for h in ("1", "2")
    }
    assert outs == {str(trajectory_seed(0, "ks", 0.1, "train", 3))}
    assert stable_int("ks") == int.from_bytes(hashlib.sha256(b"ks").digest()[:4], "little")
    keys = [(0, "ks", 0.1, "train", 0, 0), (1, "ks", 0.1, "train", 0, 0), (0, "ns", 0.1, "train", 0, 0),
            (0, "ks", 0.075, "train", 0, 0), (0, "ks", 0.1, "valid", 0, 0), (0, "ks", 0.1, "train", 1, 0),
            (0, "ks", 0.1, "train", 0, 1)]
    seeds = {trajectory_seed(*k) for k in keys}
    assert len(seeds) == len(keys)
    assert noise_seed(0, "ks", 0.1, "train", "fourier-r32-s0.1") != noise_seed(0, "ks", 0.1, "train", "fourier-r32-s0.2")


def test_shard_count_and_batch_size_do_not_change_the_data(tmp_path):
    whole = simulate_samples(TINY, 0, "train", 0, 6, batch=4)
    paths = []
    for lo, hi in ((0, 2), (2, 4), (4, 6)):
        paths.append(write_store(simulate_samples(TINY, 0, "train", lo, hi, batch=1), tmp_path / f"shard{lo}.zarr"))
    merged = merge_datasets([load(p) for p in reversed(paths)])
    np.testing.assert_array_equal(merged["u"].values, whole["u"].values)
    np.testing.assert_array_equal(merged["seed"].values, whole["seed"].values)
    assert merged.attrs == whole.attrs
    assert whole["seed"].values[3] == trajectory_seed(0, "ks", 0.1, "train", 3)
    assert np.abs(whole["u"].values[:, -1]).max() > 0.1  # a real, non-trivial solution


def _files(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, root)] = open(path, "rb").read()
    return out


def test_same_arguments_give_bit_identical_stores(tmp_path):
    cmd = ["gapbench", "simulate", "ks", "--nu", "0.1", "--n-samples", "3", "--resolution", "32", "--t-end", "0.5",
           "--n-frames", "6", "--dt", "0.01", "--batch", "2", "--seed", "5", "--burn-in", "0.2"]
    for name in ("a", "b"):
        subprocess.run(cmd + ["--out", str(tmp_path / f"{name}.zarr")], check=True, capture_output=True)
    a, b = _files(tmp_path / "a.zarr"), _files(tmp_path / "b.zarr")
    assert a.keys() == b.keys() and all(a[k] == b[k] for k in a)
    ds = load(tmp_path / "a.zarr")
    assert ds.attrs["root_seed"] == 5 and ds.attrs["dt"] == 0.01 and ds.attrs["stepper"] == "SBDF4"  # ks.DEFAULT_STEPPER


def test_diverging_trajectory_is_logged_and_redrawn_with_a_recorded_seed(monkeypatch, caplog):
    bad_seed = trajectory_seed(0, "ks", 0.1, "train", 2)
    real = generate._solve

    def flaky(params, seeds):
        if bad_seed in seeds:
            raise DivergenceError("blew up", sample=seeds.index(bad_seed))
        return real(params, seeds)

    monkeypatch.setattr(generate, "_solve", flaky)
    with caplog.at_level(logging.WARNING, logger="gapbench.pde"):
        ds = simulate_samples(TINY, 0, "train", 0, 4, batch=4)
    new_seed = trajectory_seed(0, "ks", 0.1, "train", 2, attempt=1)
    assert ds["seed"].values[2] == new_seed
    assert ds.attrs["redraws"] == [
        {"sample": 2, "attempt": 1, "seed": new_seed, "replaced_seed": bad_seed, "reason": "solver: blew up"}
    ]
    assert f"seed {bad_seed}" in caplog.text and f"re-drawn with seed {new_seed}" in caplog.text
    # the other samples are the ones a clean run gives
    clean = simulate_samples(TINY, 0, "train", 0, 2, batch=2)
    np.testing.assert_array_equal(ds["u"].values[:2], clean["u"].values)


def test_non_finite_output_counts_as_divergence_and_the_job_fails_after_max_redraws(monkeypatch):
    monkeypatch.setattr(generate, "_solve", lambda params, seeds: np.full((len(seeds), 6, 32), np.nan))
    with pytest.raises(GapbenchError, match=r"sample 0: diverged 3 times .*non-finite values"):
        simulate_samples(TINY, 0, "train", 0, 2, batch=2, max_redraws=2)


def test_merge_refuses_shards_that_do_not_fit(tmp_path):
    a = simulate_samples(TINY, 0, "train", 0, 2, batch=2)
    c = simulate_samples(TINY, 0, "train", 3, 4, batch=1)
    with pytest.raises(GapbenchError, match="expected sample 2, got 3"):
        merge_datasets([a, c])
    other = simulate_samples(SimParams("ks", 0.2, 32, 0.5, 6, 0.01, "SBDF2", 64.0), 0, "train", 2, 3, batch=1)
    with pytest.raises(GapbenchError, match="disagree on attrs nu"):
        merge_datasets([a, other])


def test_attractor_law_stores_an_independent_continuation_past_the_burn_in():
    """Attractor law (burn_in 4): stored frame 0 is the state at t = 4 (energy far above the initial condition's
    wavenumber cutoff 7, unlike a fresh sine draw), the time coordinate counts from it, and every stored frame
    equals an independent integrator (numpy ETDRK4) run from the same drawn initial condition to t = 4 + t_k."""
    from gapbench.pde import ks
    from gapbench.pde.etdrk4 import etdrk4_ks

    n, length, nu = 128, 64.0, 0.1
    attractor = SimParams("ks", nu, n, 1.0, 6, 0.005, "SBDF4", length, burn_in=4.0)
    ds = simulate_samples(attractor, 0, "train", 0, 2, batch=2)
    transient = simulate_samples(SimParams("ks", nu, n, 1.0, 6, 0.005, "SBDF4", length), 0, "train", 0, 2, batch=2)
    assert (ds.attrs["law"], ds.attrs["burn_in"], transient.attrs["law"], transient.attrs["burn_in"]) == (
        "attractor", 4.0, "transient", 0.0)
    np.testing.assert_allclose(ds["time"].values, np.linspace(0, 1, 6))
    np.testing.assert_array_equal(ds["seed"].values, transient["seed"].values)  # same draws, both laws

    def above_cutoff(u):  # energy fraction in wavenumbers > 7 (the initial-condition law's cutoff)
        e = np.abs(np.fft.rfft(u.astype(np.float64), axis=-1)) ** 2
        return e[..., ks.MAX_WAVENUMBER + 1 :].sum(-1) / e.sum(-1)

    assert above_cutoff(transient["u"].values[:, 0]).max() < 1e-10  # a fresh draw: nothing above 7
    assert above_cutoff(ds["u"].values[:, 0]).min() > 0.3
    u0 = np.stack([ks.initial_condition(np.random.default_rng(int(s)), n, length) for s in ds["seed"].values])
    ref = etdrk4_ks(u0, nu, length, 5.0, 51, 1e-3)[:, 40::2]  # t = 4.0, 4.2, ..., 5.0
    err = np.linalg.norm(ds["u"].values - ref, axis=-1) / np.linalg.norm(ref, axis=-1)
    assert err.max() < 1e-3, err.max()


def test_burn_in_must_be_whole_save_intervals():
    from gapbench.errors import ConfigError

    with pytest.raises(ConfigError, match="burn_in 0.25 is not a multiple of the save interval"):
        simulate_samples(SimParams("ks", 0.1, 32, 0.5, 6, 0.01, "SBDF2", 64.0, burn_in=0.25), 0, "train", 0, 1, 1)
