"""What a validated config asks the PDE training stage for: datasets, jobs, output paths, cross-field checks.

Used by ``workflow/rules/train_pde.smk`` (targets) and registered in ``gapbench.config.SEMANTIC_CHECKS``
(:func:`check`), so a bad ``train.pde`` section fails before Snakemake builds any job.
"""

from __future__ import annotations

from gapbench.errors import ConfigError
from gapbench.naming import fmt_num, obs_key
from gapbench.pde import plan as data_plan
from gapbench.registry import MIXERS, PDE_MODELS

ROOT = "results/train/pde"


def _selected(config: dict, equation: str) -> tuple[list[float], list[int], list[float]]:
    """(nus, resolutions, sigmas) of ``equation`` to train on: the train.pde filters, [] meaning all."""
    sec = config["train"]["pde"][equation]
    obs = config["pde"]["observe"][equation]
    nus = sec["nus"] or data_plan.nus(config, equation)
    return list(nus), list(sec["resolutions"] or obs["resolutions"]), list(sec["sigmas"] or obs["sigmas"])


def datasets(config: dict) -> list[tuple[str, str, str]]:
    """``(equation, fmt_num(nu), obs_key)`` of every observed dataset the stage trains on."""
    method = config["pde"]["observe"]["method"]
    out = []
    for eq in config["train"]["pde"]["equations"]:
        nus, resolutions, sigmas = _selected(config, eq)
        out += [(eq, fmt_num(nu), obs_key(method, f, s)) for nu in nus for f in resolutions for s in sigmas]
    return out


def run_dir(equation: str, nu: str, obs: str, model: str, seed: int) -> str:
    return f"{ROOT}/{equation}/nu{nu}/{obs}/{model}/seed{seed}"


def targets(config: dict) -> list[str]:
    """metrics.json of every job: each dataset x model x seed, plus the solver (seed 0) when enabled."""
    sec = config["train"]["pde"]
    out = []
    for eq, nu, obs in datasets(config):
        out += [f"{run_dir(eq, nu, obs, m, s)}/metrics.json" for m in sec["models"] for s in sec["seeds"]]
        if sec["solver"]:
            out.append(f"{run_dir(eq, nu, obs, 'solver', 0)}/metrics.json")
    return out


def check(config: dict) -> None:
    """Raise ConfigError if ``train.pde`` asks for data the pde section does not make or for impossible models."""
    sec = config["train"]["pde"]
    for eq in sec["equations"]:
        if eq not in config["pde"]["equations"]:
            raise ConfigError(f"config key train.pde.equations: {eq} is not simulated (pde.equations = "
                              f"{config['pde']['equations']}); allowed: {', '.join(config['pde']['equations'])}")
        e = sec[eq]
        obs = config["pde"]["observe"][eq]
        known_nus = [fmt_num(nu) for nu in data_plan.nus(config, eq)]
        for nu in e["nus"]:
            if fmt_num(nu) not in known_nus:
                raise ConfigError(f"config key train.pde.{eq}.nus: {nu} is not simulated; allowed: "
                                  f"{', '.join(known_nus)}")
        for f in e["resolutions"]:
            if f not in obs["resolutions"]:
                raise ConfigError(f"config key train.pde.{eq}.resolutions: observed resolution {f} is not in the "
                                  f"data (pde.observe.{eq}.resolutions); allowed: "
                                  f"{', '.join(map(str, obs['resolutions']))}")
        for s in e["sigmas"]:
            if fmt_num(s) not in [fmt_num(x) for x in obs["sigmas"]]:
                raise ConfigError(f"config key train.pde.{eq}.sigmas: {s} is not an observed noise level; "
                                  f"allowed: {', '.join(map(fmt_num, obs['sigmas']))}")
        memory = [m for m in sec["models"] if PDE_MODELS[m].memory is not None]
        if memory and not 0 <= e["memory_position"] <= e["n_layers"]:
            raise ConfigError(f"config key train.pde.{eq}.memory_position: {e['memory_position']} is out of range; "
                              f"allowed: 0..{e['n_layers']} (train.pde.{eq}.n_layers)")
        top = min(_selected(config, eq)[1]) // 2 + 1
        if e["modes"] > top:
            raise ConfigError(f"config key train.pde.{eq}.modes: {e['modes']} exceeds the {top} Fourier modes of the "
                              f"lowest observed resolution trained on; allowed: 0 (all) .. {top}")
        for m in sec["models"]:
            if "heads" in MIXERS.get(PDE_MODELS[m].memory, MIXERS["s4"]).settings and e["width"] % e["heads"]:
                raise ConfigError(f"config key train.pde.{eq}.heads: width {e['width']} is not divisible by "
                                  f"{e['heads']} heads (model {m})")


def flags(config: dict) -> str:
    """Optional switches of ``gapbench train pde`` from ``train.pde.bf16`` / ``train.pde.compile``."""
    sec = config["train"]["pde"]
    return " ".join(flag for key, flag in (("bf16", "--bf16"), ("compile", "--compile")) if sec[key])


def memory_flags(config: dict):
    """Params function for ``train_pde_model``: the memory-layer flags of the job's model, from ``train.pde.{eq}``."""

    def flags_of(wildcards) -> str:
        hyper = config["train"]["pde"][wildcards.eq]
        settings = PDE_MODELS[wildcards.model].settings  # a job gets only its model's (see PDEModel.settings)
        return " ".join(f"--{key.replace('_', '-')} {hyper[key]}" for key in settings)

    return flags_of
