"""Cross-field checks of the ``pde`` config section that JSON Schema cannot express.

Registered in ``gapbench.config.SEMANTIC_CHECKS``; each failure raises :class:`ConfigError` naming the key
and what is allowed, before Snakemake builds any job.
"""

from __future__ import annotations

from gapbench.errors import ConfigError
from gapbench.naming import fmt_num
from gapbench.pde.equations import EQUATIONS, laws, runs


def check_dt(key: str, t_end: float, n_frames: int, dt: float) -> None:
    """ConfigError naming ``key`` unless ``dt`` divides the save interval ``t_end / (n_frames - 1)``."""
    interval = t_end / (n_frames - 1)
    steps = round(interval / dt)
    if steps < 1 or abs(steps * dt - interval) > 1e-9 * interval:
        raise ConfigError(
            f"{key}: dt={dt} does not divide the save interval t_end/(n_frames-1) = {interval:g}; "
            f"allowed: {interval:g}/k for an integer k >= 1, e.g. {interval / max(steps, 1):g}"
        )


def check_burn_in(key: str, t_end: float, n_frames: int, burn_in: float) -> None:
    """ConfigError naming ``key`` unless the attractor law's ``burn_in`` is a positive whole number of save
    intervals ``t_end / (n_frames - 1)``."""
    interval = t_end / (n_frames - 1)
    steps = round(burn_in / interval)
    if burn_in <= 0 or steps < 1 or abs(steps * interval - burn_in) > 1e-9 * burn_in:
        raise ConfigError(f"{key}: {burn_in:g} with the attractor law; allowed: a positive multiple of the save "
                          f"interval t_end/(n_frames-1) = {interval:g}, e.g. {max(steps, 1) * interval:g}")


# Shards (Snakemake jobs) per split at most: bounds the DAG Snakemake builds in memory from n_samples/shard_size.
MAX_SHARDS = 10_000


def check(config: dict) -> None:
    """Raise ConfigError if the pde section is inconsistent (observed resolutions, dt, viscosities, shard count).

    Every registered equation's section is checked, simulated or not, so a config stays valid when its
    ``equations`` list grows."""
    pde, obs = config["pde"], config["pde"]["observe"]
    for eq in EQUATIONS:
        for split, n in pde[eq]["n_samples"].items():
            shards = -(-n // pde[eq]["shard_size"])
            if shards > MAX_SHARDS:
                raise ConfigError(
                    f"config key pde.{eq}.n_samples.{split}: {n} trajectories in shards of pde.{eq}.shard_size = "
                    f"{pde[eq]['shard_size']} make {shards} jobs; allowed: at most {MAX_SHARDS} shards per split "
                    f"(raise shard_size to >= {-(-n // MAX_SHARDS)})"
                )
        seen = set()
        for run in runs(config, eq):
            check_dt(f"config key {run.key}.dt", run.t_end, run.n_frames, run.dt)
            if "attractor" in laws(config, eq):
                check_burn_in(f"config key {run.key}.burn_in", run.t_end, run.n_frames, run.burn_in)
            if fmt_num(run.nu) in seen:
                raise ConfigError(f"config key {run.nu_key}: {run.nu} repeats another simulation's nu")
            seen.add(fmt_num(run.nu))
    for eq in EQUATIONS:
        n = pde[eq]["resolution"]
        for f in obs[eq]["resolutions"]:
            if f > n:
                raise ConfigError(
                    f"config key pde.observe.{eq}.resolutions: {f} exceeds the simulation resolution "
                    f"pde.{eq}.resolution = {n}; allowed: 2..{n}"
                )
