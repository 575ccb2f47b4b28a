"""What a validated config asks the PDE data stage for: runs, shards, observation variants, paths.

Used by ``workflow/rules/pde_data.smk`` (targets, shard lists) and by later stages that enumerate the data.
"""

from __future__ import annotations

import math

from gapbench.naming import fmt_num, obs_key
from gapbench.pde import equations

SPLITS = ("train", "valid", "test")
ROOT = "results/data/pde"


def nus(config: dict, equation: str) -> list[float]:
    """Viscosities simulated for ``equation``, one per simulation of its section (``equations.runs``)."""
    return [run.nu for run in equations.runs(config, equation)]


def runs(config: dict) -> list[tuple[str, str, str]]:
    """``(equation, law, fmt_num(nu))`` of every simulation the config asks for (``equations.laws``)."""
    return [(eq, law, fmt_num(nu)) for eq in config["pde"]["equations"] for law in equations.laws(config, eq)
            for nu in nus(config, eq)]


def n_shards(config: dict, equation: str, split: str) -> int:
    sec = config["pde"][equation]
    return math.ceil(sec["n_samples"][split] / sec["shard_size"])


def observes(method: str, resolution: int, sim_resolution: int) -> bool:
    """Whether ``method`` observes at ``resolution``: subsampling only where ``resolution`` divides the grid."""
    return method == "fourier" or sim_resolution % resolution == 0


def obs_variants(config: dict, equation: str) -> list[str]:
    """Observation keys (``naming.obs_key``) of ``equation``: every (method, resolution, sigma) triple, where
    ``subsample`` skips the resolutions that do not divide the simulation resolution (:func:`observes`)."""
    obs = config["pde"]["observe"]
    sec, n = obs[equation], config["pde"][equation]["resolution"]
    return [obs_key(m, f, s) for m in obs["methods"] for f in sec["resolutions"] if observes(m, f, n)
            for s in sec["sigmas"]]


def run_dir(equation: str, law: str, nu: str) -> str:
    return f"{ROOT}/{equation}/{law}/nu{nu}"


def targets(config: dict) -> list[str]:
    """Every final output of the stage: sim stores, observed stores, omega_f tables."""
    out = []
    for eq, law, nu in runs(config):
        base = run_dir(eq, law, nu)
        out.append(f"{base}/omega_f.csv")
        for split in SPLITS:
            out.append(f"{base}/sim/{split}.zarr")
            out += [f"{base}/obs/{key}/{split}.zarr" for key in obs_variants(config, eq)]
    return out


# Snakemake input functions (closures over the config; the rule file itself holds no `def`).
def shard_inputs(config: dict):
    """Input function: the shard stores of every split of wildcards (eq, law, nu), as many per split as
    n_samples / shard_size."""
    return lambda wildcards: [path for split in SPLITS for path in _shards(config, wildcards, split)]


def _shards(config: dict, wildcards, split: str) -> list[str]:
    return [f"{run_dir(wildcards.eq, wildcards.law, wildcards.nu)}/sim/{split}/shard{i}.zarr"
            for i in range(n_shards(config, wildcards.eq, split))]


def merge_commands(config: dict):
    """Params function for ``pde_merge``: ``gapbench each`` words merging each split's shards of wildcards (eq,
    law, nu) into ``sim/{split}.zarr``."""
    return lambda wildcards: [word for split in SPLITS for word in (
        "--", "pde", "merge", *_shards(config, wildcards, split),
        "--out", f"{run_dir(wildcards.eq, wildcards.law, wildcards.nu)}/sim/{split}.zarr")]


def observe_commands(config: dict):
    """Params function for ``pde_observe``: ``gapbench each`` words observing each split of wildcards (eq, law,
    nu) by (method, res, sigma) into ``obs/{method}-r{res}-s{sigma}/{split}.zarr``."""

    def commands(wildcards) -> list[str]:
        base = run_dir(wildcards.eq, wildcards.law, wildcards.nu)
        obs = f"{wildcards.method}-r{wildcards.res}-s{wildcards.sigma}"
        return [word for split in SPLITS for word in (
            "--", "pde", "observe", "--sim", f"{base}/sim/{split}.zarr", "--method", wildcards.method,
            "--resolution", wildcards.res, "--sigma", wildcards.sigma, "--seed", str(config["seed"]),
            "--out", f"{base}/obs/{obs}/{split}.zarr")]

    return commands


def shard_args(config: dict):
    """Params function for ``pde_shard``: the simulation settings of wildcards (eq, law, nu, split) as arguments of
    ``gapbench pde shard {eq}`` (``equations.shard_args``), for any registered equation."""
    return lambda wildcards: equations.shard_args(config, wildcards.eq, wildcards.law, wildcards.nu,
                                                  wildcards.split)


def scored_frames(config: dict, equation: str) -> tuple[int, int]:
    """``(first, count)`` of the frames every predictor of ``equation`` is scored on: after the ``warmup``
    observed frames, ``horizon`` of them (``train.pde.{equation}``; horizon 0: every stored frame after the
    warm-up, ``count = 0``)."""
    sec = config["train"]["pde"][equation]
    return int(sec.get("warmup", 1)), int(sec.get("horizon", 0))


def omega_args(config: dict):
    """Params function for ``pde_omega``: the observed resolutions of wildcard ``eq`` and its scored frames
    (:func:`scored_frames`) as arguments of ``gapbench pde omega``."""

    def args(wildcards) -> list[str]:
        first, count = scored_frames(config, wildcards.eq)
        return ["--resolutions", *map(str, config["pde"]["observe"][wildcards.eq]["resolutions"]),
                "--first-frame", str(first), "--n-frames", str(count)]

    return args
