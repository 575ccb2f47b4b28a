"""What a validated config asks the PDE training stage for: datasets, jobs, output paths, cross-field checks.

Used by ``workflow/rules/train_pde.smk`` (targets) and registered in ``gapbench.config.SEMANTIC_CHECKS``
(:func:`check`), so a bad ``train.pde`` section fails before Snakemake builds any job.
"""

from __future__ import annotations

from dataclasses import fields
from fnmatch import fnmatch
from types import SimpleNamespace

from gapbench.config import section_args
from gapbench.errors import ConfigError
from gapbench.models.pde_registry import ModelHyper, hyper_errors
from gapbench.naming import fmt_num, obs_key, parse_obs_key
from gapbench.pde import plan as data_plan
from gapbench.pde.equations import laws, runs
from gapbench.registry import PDE_MODELS, mixer_settings

ROOT = "results/train/pde"


def _selected(config: dict, equation: str) -> tuple[list[float], list[int], list[float]]:
    """(nus, resolutions, sigmas) of ``equation`` to train on: the train.pde filters, [] meaning all."""
    sec = config["train"]["pde"][equation]
    obs = config["pde"]["observe"][equation]
    nus = sec["nus"] or data_plan.nus(config, equation)
    return list(nus), list(sec["resolutions"] or obs["resolutions"]), list(sec["sigmas"] or obs["sigmas"])


def datasets(config: dict) -> list[tuple[str, str, str, str]]:
    """``(equation, law, fmt_num(nu), obs_key)`` of every observed dataset the stage trains on."""
    methods = config["pde"]["observe"]["methods"]
    out = []
    for eq in config["train"]["pde"]["equations"]:
        nus, resolutions, sigmas = _selected(config, eq)
        n = config["pde"][eq]["resolution"]
        out += [(eq, law, fmt_num(nu), obs_key(m, f, s)) for law in laws(config, eq) for nu in nus
                for m in methods for f in resolutions if data_plan.observes(m, f, n) for s in sigmas]
    return out


def run_dir(equation: str, law: str, nu: str, obs: str, model: str, seed: int) -> str:
    return f"{ROOT}/{equation}/{law}/nu{nu}/{obs}/{model}/seed{seed}"


def solver_resolutions(config: dict, equation: str, resolution: int) -> list[int]:
    """Solver grids for observed resolution ``f``: ``k f`` for each ``k`` of ``train.pde.solver_factors`` up to the
    simulation resolution ``N``, and ``N`` itself, ascending."""
    n = config["pde"][equation]["resolution"]
    return sorted({k * resolution for k in config["train"]["pde"]["solver_factors"] if k * resolution <= n} | {n})


def baseline_models(config: dict, equation: str, obs: str) -> list[str]:
    """Baseline run names on one dataset: persistence, zero, then (``train.pde.solver``) ``solver-r{M}`` per solver
    resolution and ``solver_hv-r{f}`` (``train.pde.solver_hv``)."""
    sec = config["train"]["pde"]
    out = ["persistence", "zero"]
    if sec["solver"]:
        f = parse_obs_key(obs)[1]
        out += [f"solver-r{m}" for m in solver_resolutions(config, equation, f)]
        if sec["solver_hv"]:
            out.append(f"solver_hv-r{f}")
    return out


def targets(config: dict) -> list[str]:
    """metrics.json of every job: each dataset x model x seed, plus the baselines (seed 0)."""
    sec = config["train"]["pde"]
    out = []
    for eq, law, nu, obs in datasets(config):
        seeds = sec[eq]["seeds"] or sec["seeds"]
        out += [f"{run_dir(eq, law, nu, obs, m, s)}/metrics.json" for m in sec["models"] for s in seeds]
        out += [f"{run_dir(eq, law, nu, obs, m, 0)}/metrics.json" for m in baseline_models(config, eq, obs)]
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
        frames = min(run.n_frames for run in runs(config, eq))
        if e["warmup"] > frames - 1:
            raise ConfigError(f"config key train.pde.{eq}.warmup: {e['warmup']} frames, but the data hold {frames}"
                              f" and at least one must be predicted; allowed: 1 .. {frames - 1}")
        if e["horizon"] > frames - e["warmup"]:
            raise ConfigError(f"config key train.pde.{eq}.horizon: {e['horizon']} steps, but the data hold "
                              f"{frames - e['warmup']} after the {e['warmup']} warm-up frames; allowed: 0 (all) .. "
                              f"{frames - e['warmup']}")
        hyper = ModelHyper(**{f.name: e[f.name] for f in fields(ModelHyper) if f.name != "mixer"})
        for m in sec["models"]:
            for key, value, allowed in hyper_errors(m, hyper):
                raise ConfigError(f"config key train.pde.{eq}.{key}: {value} is out of range; allowed: {allowed} "
                                  f"(model {m})")
        top = min(_selected(config, eq)[1]) // 2 + 1
        if e["modes"] > top:
            raise ConfigError(f"config key train.pde.{eq}.modes: {e['modes']} exceeds the {top} Fourier modes of the "
                              f"lowest observed resolution trained on; allowed: 0 (all) .. {top}")


def flags(config: dict) -> str:
    """Optional switches of ``gapbench train pde`` from ``train.pde.bf16`` / ``train.pde.compile``."""
    sec = config["train"]["pde"]
    return " ".join(flag for key, flag in (("bf16", "--bf16"), ("compile", "--compile")) if sec[key])


# train.pde.{eq} keys every training job passes to `gapbench train pde` (its model's memory settings follow, see
# PDEModel.settings), and the train.pde keys shared by every equation.
MODEL_KEYS = ("warmup", "horizon", "width", "n_layers", "modes", "ff_factor", "epochs", "batch_size", "lr",
              "weight_decay", "grad_clip", "patience", "eval_every", "train_noise", "unroll", "ssm_lr",
              "max_train_samples", "eval_batch_size")
SHARED_KEYS = ("valid_threshold", "checkpoint_every", "device")


def model_args(config: dict):
    """Params function for ``train_pde_model``: the job's settings from ``train.pde`` and ``train.pde.{eq}`` as
    ``--key value`` arguments; a job gets only its own model's memory settings, so changing ``state_size``
    re-runs MemNO alone (Snakemake re-runs a job when its params change)."""

    def args(wildcards) -> list[str]:
        sec = config["train"]["pde"]
        keys = MODEL_KEYS + PDE_MODELS[wildcards.model].settings
        own = sec[wildcards.eq].get(wildcards.model, {})
        mixer = [part for s in mixer_settings(wildcards.model)
                 for part in ("--mixer-setting", f"{s.name}={own.get(s.name, s.default)}")]
        return section_args(sec, SHARED_KEYS) + section_args(sec[wildcards.eq], keys) + mixer

    return args


def job_scope(config: dict) -> str:
    """What one train_pde_model job (one process) covers, ``train.pde.job_scope``: ``dataset``, every model of
    ``train.pde.models`` on one observed dataset with one seed, in turn (one Python and torch start-up for all;
    the default), or ``run``, one (dataset, model, seed) - for a cluster, where the runs go side by side."""
    return config["train"]["pde"]["job_scope"]


def model_command(config: dict):
    """Params function (``train_pde_model``, job_scope run) and building block of :func:`model_commands`: the
    ``gapbench train pde`` words of one run - wildcards (eq, law, nu, obs, seed) and ``model`` (a wildcard, or
    given) - with the model's own flags (:func:`model_args`) and ``--inject-failure`` where its metrics path
    matches a ``debug.fail_jobs`` pattern; ``--threads`` only when ``n_threads`` is given (the rule's shell adds
    the job's threads: a params function taking ``threads`` would be evaluated at run time and miss Snakemake's
    params trigger)."""
    args = model_args(config)

    def command(wildcards, model: str | None = None, n_threads: str | None = None) -> list[str]:
        model = model or wildcards.model
        data = f"results/data/pde/{wildcards.eq}/{wildcards.law}/nu{wildcards.nu}/obs/{wildcards.obs}"
        out = run_dir(wildcards.eq, wildcards.law, wildcards.nu, wildcards.obs, model, wildcards.seed)
        fail = any(fnmatch(f"{out}/metrics.json", p) for p in config["debug"]["fail_jobs"])
        return ["train", "pde", "--data-dir", data, "--model", model, "--seed", str(wildcards.seed), "--out", out,
                *(["--threads", n_threads] if n_threads else []),
                *args(SimpleNamespace(eq=wildcards.eq, model=model)), *flags(config).split(),
                *(["--inject-failure"] if fail else [])]

    return command


def model_commands(config: dict):
    """Params function for ``train_pde_model`` in the ``dataset`` scope: ``gapbench each`` words training every
    model of ``train.pde.models`` on wildcards (eq, law, nu, obs) with seed ``{seed}`` (:func:`model_command`),
    each with ``train.pde.threads``."""
    command = model_command(config)
    threads = str(config["train"]["pde"]["threads"])
    return lambda wildcards: [word for model in config["train"]["pde"]["models"]
                              for word in ("--", *command(wildcards, model, threads))]


TRIVIAL = ("persistence", "zero")  # the trivial predictors, scored in one job per observed dataset


def trivial_commands(config: dict):
    """Params function for ``train_pde_trivial``: ``gapbench each`` words scoring each of :data:`TRIVIAL` on the
    test split of wildcards (eq, law, nu, obs) into ``{predictor}/seed0``."""
    args = baseline_args(config)

    def commands(wildcards) -> list[str]:
        data = f"results/data/pde/{wildcards.eq}/{wildcards.law}/nu{wildcards.nu}/obs/{wildcards.obs}"
        return [word for predictor in TRIVIAL for word in (
            "--", "train", "pde-baseline", "--data-dir", data, "--predictor", predictor, *args(wildcards),
            "--out", run_dir(wildcards.eq, wildcards.law, wildcards.nu, wildcards.obs, predictor, 0))]

    return commands


def baseline_args(config: dict):
    """Params function for the baseline rules: warm-up and horizon (``train.pde.{eq}``) and valid threshold
    (``train.pde``)."""
    return lambda wildcards: (section_args(config["train"]["pde"], ("valid_threshold",))
                              + section_args(config["train"]["pde"][wildcards.eq], ("warmup", "horizon")))
