"""Simulated trajectories -> a simulation dataset in the store format (``store.py``).

Trajectory ``i`` of ``(equation, nu, split)`` starts from the initial condition drawn with
``seeds.trajectory_seed(root, equation, nu, split, i, attempt)`` by the equation's initial-condition law (KS: a
sum of sines; NS: the Gaussian random field) and integrated by its solver (both held by its
``equations.Equation`` entry, which ``SimParams.equation`` carries down this module).

Data law (``equations.LAWS``): with ``burn_in = b > 0`` (the attractor law) the solver runs from the initial
condition for ``b + t_end`` in one continuous integration and the frames before ``b`` are dropped, so stored frame
0 is the state at time ``b`` and the store's ``time`` coordinate counts from it; ``b = 0`` (the transient law)
stores the initial condition as frame 0. The seeds do not depend on the law: both laws start from the same draws.
Trajectories are solved ``batch`` at a time in one Dedalus problem to amortise its per-step overhead; the
solvers keep the trajectories of a batch independent bit for bit (``runner.py``), so the data depend on the
seeds only, not on the batch size or the number of shards.

A trajectory that diverges (the solver raises ``DivergenceError``, or it returns non-finite values) is
logged with its seed and drawn again with ``attempt + 1``; every re-draw is recorded in the store's
``redraws`` attr. After ``max_redraws`` re-draws of one sample the job fails: it never stores it silently.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np
import xarray as xr

from gapbench.errors import GapbenchError
from gapbench.pde.equations import SimParams
from gapbench.pde.omega import tail_fraction
from gapbench.pde.seeds import trajectory_seed
from gapbench.pde.store import DIGEST_ATTR, versions

log = logging.getLogger("gapbench.pde")

SEED_SCHEME = (
    "seed of sample i = first uint64 of numpy SeedSequence([root_seed, sha256('trajectory/{equation}/{nu}/{split}')"
    "[:4] little-endian, i, attempt]); initial condition drawn with numpy default_rng(seed)"
)


def _solve(params: SimParams, seeds: list[int]) -> np.ndarray:
    """Initial conditions from ``seeds``, integrated in one Dedalus batch through the burn-in (if any) and the
    stored frames; returns the stored frames ``(batch, n_frames, N[, N])``."""
    eq = params.equation
    u0 = np.stack([eq.draw(np.random.default_rng(s), params) for s in seeds])
    skip = params.burn_in_frames()
    whole = replace(params, t_end=params.t_end + skip * params.save_interval, n_frames=params.n_frames + skip,
                    burn_in=0.0)
    return eq.solve(u0, whole, batch_size=len(seeds))[:, skip:]


def _solve_block(params, root, split, indices, max_redraws, redraws):
    """Solve one block of samples, re-drawing diverged ones; returns (field, seeds)."""
    from gapbench.pde.runner import DivergenceError

    attempts = dict.fromkeys(indices, 0)
    while True:
        seeds = [trajectory_seed(root, params.equation.name, params.nu, split, i, attempts[i]) for i in indices]
        try:
            out = np.asarray(_solve(params, seeds))
        except DivergenceError as err:
            bad, reason = [indices[j] for j in err.samples], f"solver: {err}"
        else:
            finite = np.isfinite(out).reshape(len(indices), -1).all(axis=1)
            if finite.all():
                return out, seeds
            bad, reason = [i for i, ok in zip(indices, finite) if not ok], "non-finite values in the output"
        for i in bad:
            old = trajectory_seed(root, params.equation.name, params.nu, split, i, attempts[i])
            attempts[i] += 1
            if attempts[i] > max_redraws:
                raise GapbenchError(
                    f"{params.equation.name} nu={params.nu} {split} sample {i}: diverged {attempts[i]} times "
                    f"(last seed {old}: {reason}); lower dt or raise the resolution"
                )
            new = trajectory_seed(root, params.equation.name, params.nu, split, i, attempts[i])
            log.warning("sample %d (seed %d) diverged (%s); re-drawn with seed %d", i, old, reason, new)
            redraws.append({"sample": i, "attempt": attempts[i], "seed": new, "replaced_seed": old, "reason": reason})


def simulate_samples(
    params: SimParams,
    root_seed: int,
    split: str,
    first: int,
    stop: int,
    batch: int,
    max_redraws: int = 10,
) -> xr.Dataset:
    """Simulate samples ``first..stop-1`` of ``(params, split)`` into a simulation dataset (in memory)."""
    if not 0 <= first < stop:
        raise GapbenchError(f"empty sample range [{first}, {stop})")
    fields, seeds, redraws = [], [], []
    start = time.perf_counter()
    done = 0
    for lo in range(first, stop, batch):
        hi = min(stop, lo + batch)
        out, block_seeds = _solve_block(params, root_seed, split, list(range(lo, hi)), max_redraws, redraws)
        fields.append(out.astype(np.float32))
        seeds += block_seeds
        done += hi - lo
        elapsed = time.perf_counter() - start
        log.info(
            "%s nu=%g %s: %d/%d trajectories, %.1f s, %.3g sim-time units/s",
            params.equation.name, params.nu, split, done, stop - first, elapsed,
            done * (params.burn_in + params.t_end) / elapsed,
        )
    return build_dataset(params, np.concatenate(fields), np.arange(first, stop), seeds, redraws, root_seed, split)


def build_dataset(params, field, samples, seeds, redraws, root_seed, split) -> xr.Dataset:
    """Wrap simulated fields ``(sample, time, x[, y])`` into the store format with every attr."""
    eq = params.equation
    name, dims = eq.field, eq.dims
    n = params.resolution
    grid = np.arange(n) * params.length / n
    coords = {"sample": np.asarray(samples, np.int64), "time": np.linspace(0.0, params.t_end, params.n_frames)}
    for d in dims[2:]:
        coords[d] = grid
    ds = xr.Dataset({name: (dims, field), "seed": ("sample", np.asarray(seeds, np.uint64))}, coords=coords)
    ds.attrs = {
        "equation": eq.name,
        "kind": "simulation",
        "law": params.law,
        "burn_in": float(params.burn_in),
        "nu": float(params.nu),
        "length": float(params.length),
        **eq.describe(params),
        "forcing_params": [float(v) for v in params.forcing],
        "stepper": params.stepper,
        "dt": float(params.dt),
        "t_end": float(params.t_end),
        "n_frames": int(params.n_frames),
        "sim_resolution": int(n),
        "resolution": int(n),
        "obs_method": "none",
        "sigma": 0.0,
        "noise_seed": -1,
        "root_seed": int(root_seed),
        "split": split,
        "seed_scheme": SEED_SCHEME,
        "redraws": list(redraws),
        "tail_fraction": tail_fraction(np.asarray(field), len(dims) - 2),
        **versions(),
    }
    return ds


def merge_datasets(parts: list[xr.Dataset]) -> xr.Dataset:
    """Concatenate shard datasets (lazily) along ``sample``; they must tile ``0..n-1`` and agree on every attr."""
    parts = sorted(parts, key=lambda d: int(d["sample"].values[0]))
    expected = 0
    for part in parts:
        samples = part["sample"].values
        if samples[0] != expected or not np.array_equal(samples, np.arange(expected, expected + samples.size)):
            raise GapbenchError(f"shards do not tile the samples: expected sample {expected}, got {samples[0]}..")
        expected += samples.size
    own = ("redraws", "complete", "tail_fraction", DIGEST_ATTR)  # per shard: concatenated / maximised / recomputed
    first = {k: v for k, v in parts[0].attrs.items() if k not in own}
    for part in parts[1:]:
        other = {k: v for k, v in part.attrs.items() if k not in own}
        if other != first:
            diff = sorted(k for k in first.keys() | other.keys() if first.get(k) != other.get(k))
            raise GapbenchError(f"shards disagree on attrs {', '.join(diff)}")
    merged = xr.concat(parts, dim="sample", coords="minimal", compat="override", join="exact", combine_attrs="drop")
    merged.attrs = {**first, "redraws": [r for part in parts for r in part.attrs["redraws"]],
                    "tail_fraction": max(float(part.attrs["tail_fraction"]) for part in parts)}
    return merged
