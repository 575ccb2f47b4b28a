"""Output paths, jobs and command-line arguments of the train_graph stage (docs/gnn.md, "Outputs").

``results/train/graph/{kind}/{variant}/{run}/seed{seed}/{metrics.json,sweep.csv,curves.csv}`` where ``run`` is
the model name, or ``{model}-d{depth}-w{width}`` for the fixed-budget experiments (map, duplicates, memory); the
labelled extra runs carry a suffix after the model name: ``{model}-ef`` for the benchmark runs that also see the
edge features, ``{model}-ids-d{depth}-w{width}`` for the MAP runs whose nodes also get their path's identity
(``train.graph.map.path_ids_from``: variants with ``n`` at least that). One Snakemake job per (experiment,
dataset, seed) - or, in the default ``train.graph.job_scope: experiment``, one job per experiment - writes the
files of every run it covers: one ``gapbench train graph`` process trains all of them in turn (a process per run
would pay the Python and torch start-up per run, about 3 CPU seconds each; :func:`job`). The
experiments are the dataset kinds (:mod:`gapbench.graphs.kinds`, config section ``train.graph.{section}``) plus
the memory experiment, which trains on the planted-star and duplicate datasets; its variant names the dataset:
``memory/{task}-{variant}``, e.g. ``memory/planted_star-n16-k1-paper-s0``, ``memory/duplicates-n8``.
"""

from __future__ import annotations

from gapbench.graphs import variants as variant_names
from gapbench.graphs.kinds import DATASET_KINDS

ROOT = "results/train/graph"
DATA_ROOT = "results/data/graphs"  # = gapbench.graphs.data.ROOT (not imported here: that module imports numpy)
EDGE_FEATURES = "-ef"  # run-name suffix of the Table 1 variant that also sees the edge features
PATH_IDS = "-ids"  # run-name suffix of the MAP runs whose nodes also get their path's identity
# labelled extra runs of an experiment (each its own training rule): name -> run-name suffix
EXTRAS = {"edge_features": EDGE_FEATURES, "path_ids": PATH_IDS}
FILES = {"metrics": "metrics.json", "sweep": "sweep.csv", "curves": "curves.csv"}
MEMORY = "memory"
# the per-benchmark protocol settings of train.graph.benchmarks.settings.{name}, flag for flag
BENCHMARK_SETTINGS = {"depth": "depths", "width": "widths", "lr": "lrs", "epochs": "epochs",
                      "batch_size": "batch-size", "weight_decay": "weight-decay", "dropout": "dropout", "norm": "norm",
                      "head_layers": "head-layers", "pool": "pool", "activation": "activation",
                      "schedule": "schedule", "plateau_patience": "plateau-patience", "report": "report",
                      "protocol": "protocol"}
# the switches among them: the flag when the setting has this value
BENCHMARK_SWITCHES = {"stop_below_min_lr": (True, "--stop-below-min-lr"), "residual": (False, "--no-residual"),
                      "self_loops": (True, "--self-loops")}


def experiments(config: dict | None = None) -> dict[str, str]:
    """Config section of train.graph -> path component: every registered dataset kind, then the memory
    experiment (with ``config``: those it has a ``train.graph`` section for)."""
    out = {**{kind.config_section: kind.name for kind in DATASET_KINDS.values()}, MEMORY: MEMORY}
    return out if config is None else {k: v for k, v in out.items() if k in config["train"]["graph"]}


def extras(config: dict, experiment: str) -> list[str]:
    """The labelled extra runs an experiment has (:data:`EXTRAS`): the benchmarks' edge-feature runs when
    ``train.graph.benchmarks.edge_features`` is on, the path-ids runs when the section sets ``path_ids_from``."""
    section = config["train"]["graph"][experiment]
    out = []
    if experiment == "benchmarks" and section.get("edge_features"):
        out.append("edge_features")
    if section.get("path_ids_from") is not None:
        out.append("path_ids")
    return out


def jobs(config: dict) -> list[tuple[str, str | None]]:
    """The (experiment, extra) pairs that get a training rule: every experiment (extra None), plus one per
    labelled extra run of it (:func:`extras`)."""
    out: list[tuple[str, str | None]] = [(experiment, None) for experiment in experiments(config)]
    return out + [(experiment, extra) for experiment in experiments(config) for extra in extras(config, experiment)]


def variant_regex(experiment: str) -> str:
    """Wildcard constraint of an experiment's variant: the dataset kind's names, or ``{task}-{variant}``."""
    if experiment == MEMORY:
        return "|".join(f"{task}-(?:{variant_names.wildcard_regex(task)})" for task in variant_names.MEMORY_TASKS)
    return variant_names.wildcard_regex(experiments()[experiment])


def dataset_dir(experiment: str, variant: str) -> str:
    """The dataset a job trains on (the memory experiment's variant ``{task}-{variant}`` names it)."""
    if experiment == MEMORY:
        task = variant_names.parse(MEMORY, variant)["task"]
        return f"{DATA_ROOT}/{task}/{variant[len(task) + 1:]}"
    return f"{DATA_ROOT}/{experiments()[experiment]}/{variant}"


def run_dir_template(config: dict, experiment: str, variant: str, seed, extra: str | None = None) -> str:
    """``--out`` of a job: the run directory with ``{model}`` (and ``{depth}``, ``{width}`` for budgets) left for
    the trainer to fill in; an extra run's suffix follows the model name."""
    section = config["train"]["graph"][experiment]
    suffix = EXTRAS[extra] if extra else ""
    run = "{model}" + suffix + ("-d{depth}-w{width}" if "budgets" in section or experiment == MEMORY else "")
    return f"{ROOT}/{experiments()[experiment]}/{variant}/{run}/seed{seed}"


def budgets(section: dict) -> list[str]:
    """Fixed ``DEPTHxWIDTH`` budgets of a section: its ``budgets``, or the grid ``depths x widths`` (memory)."""
    if "budgets" in section:
        return list(section["budgets"])
    return [f"{d}x{w}" for d in section["depths"] for w in section["widths"]]


def run_names(config: dict, experiment: str, extra: str | None = None) -> list[str]:
    """Model directories of one job of an experiment: ``{model}``, or ``{model}-d{depth}-w{width}`` per budget;
    an extra run (``-ef``, ``-ids``) carries its suffix after the model name."""
    section = config["train"]["graph"][experiment]
    suffix = EXTRAS[extra] if extra else ""
    if "budgets" not in section and experiment != MEMORY:
        return [m + suffix for m in section["models"]]
    return [f"{m}{suffix}-d{b.split('x')[0]}-w{b.split('x')[1]}" for m in section["models"] for b in budgets(section)]


def job_outputs(config: dict, experiment: str, variant: str, extra: str | None = None) -> dict[str, list[str]]:
    """Named outputs of one job (``variant`` and ``{seed}`` stay Snakemake wildcards): the runs of
    :func:`run_names`."""
    base = f"{ROOT}/{experiments()[experiment]}/{variant}"
    return {key: [f"{base}/{run}/seed{{seed}}/{name}" for run in run_names(config, experiment, extra)]
            for key, name in FILES.items()}


def job_scope(config: dict, experiment: str) -> str:
    """What one training job (one process) of ``experiment`` covers, ``train.graph.job_scope``: ``experiment``,
    every dataset and seed of it (one Python and torch start-up for all), or ``dataset``, one (dataset, seed) -
    the finer unit for a cluster, where jobs run side by side. Table 1 (benchmarks) always has one job per
    benchmark: each has its own protocol flags."""
    return "dataset" if experiment == "benchmarks" else config["train"]["graph"]["job_scope"]


def job(config: dict, experiment: str, extra: str | None = None) -> dict:
    """The training rule of (``experiment``, ``extra``) in its :func:`job_scope`: its named ``outputs``, the
    ``data`` directories and ``out`` templates (one per dataset, functions of the wildcards), the ``seeds``, its
    ``log`` and ``benchmark`` paths and wildcard ``constraints``. In the ``dataset`` scope the patterns keep the
    wildcards ``{variant}`` and ``{seed}``; in the ``experiment`` scope they are concrete (no wildcards) and
    ``None`` when the experiment has no datasets. Each ``out`` template has ``{seed}`` (and ``{model}``,
    ``{depth}``, ``{width}``) for the trainer to fill in."""
    kind = experiments()[experiment]
    suffix = EXTRAS[extra] if extra else ""
    if job_scope(config, experiment) == "dataset":
        return {"outputs": job_outputs(config, experiment, "{variant}", extra),
                "data": lambda wc: [dataset_dir(experiment, wc.variant)],
                "out": lambda wc: [run_dir_template(config, experiment, wc.variant, "{seed}", extra)],
                "seeds": lambda wc: [wc.seed],
                "log": f"results/logs/train/graph/{kind}/{{variant}}/seed{{seed}}{suffix}.log",
                "benchmark": f"results/benchmarks/train/graph/{kind}/{{variant}}/seed{{seed}}{suffix}.tsv",
                "constraints": {"variant": variant_regex(experiment)}}
    names = extra_variants(config, experiment, extra)
    if not names:
        return None
    seeds = config["train"]["graph"][experiment]["seeds"]
    per_variant = [job_outputs(config, experiment, v, extra) for v in names]
    return {"outputs": {key: [p.replace("{seed}", str(s)) for out in per_variant for p in out[key] for s in seeds]
                        for key in FILES},
            "data": lambda wc: [dataset_dir(experiment, v) for v in names],
            "out": lambda wc: [run_dir_template(config, experiment, v, "{seed}", extra) for v in names],
            "seeds": lambda wc: list(seeds),
            "log": f"results/logs/train/graph/{kind}/all{suffix}.log",
            "benchmark": f"results/benchmarks/train/graph/{kind}/all{suffix}.tsv",
            "constraints": {}}


def variants(config: dict, experiment: str) -> list[str]:
    """Dataset variants of the graphs section this experiment trains on (none when it lists no models)."""
    if not config["train"]["graph"][experiment]["models"]:
        return []
    if experiment == "memory":  # its own sizes; the datasets are made on demand by the graph_data rules
        mem = config["train"]["graph"]["memory"]
        return ([variant_names.memory_variant("planted_star", leaves=n, depth=mem["planted_depth"],
                                              law=mem["planted_law"], data_seed=mem["planted_data_seed"])
                 for n in mem["planted_star"]] + [variant_names.memory_variant("duplicates", n=n) for n in mem["duplicates"]])
    return variant_names.of_config(config, experiments()[experiment])


def extra_variants(config: dict, experiment: str, extra: str | None) -> list[str]:
    """The variants a job kind runs on: all of the experiment's, and for ``path_ids`` those with
    ``n >= path_ids_from``."""
    names = variants(config, experiment)
    if extra != "path_ids":
        return names
    least = config["train"]["graph"][experiment]["path_ids_from"]
    kind = experiments()[experiment]
    return [v for v in names if int(variant_names.parse(kind, v)["n"]) >= least]


def datasets_by_kind(config: dict) -> dict[str, list[str]]:
    """Every generated dataset the pipeline makes, ``{kind: [variant, ...]}`` in config order: those of the
    ``graphs`` section and those a training experiment reads (the memory experiment's sizes), once each."""
    from gapbench.graphs.kinds import generated_kinds

    out = {kind.name: variant_names.of_config(config, kind.name) for kind in generated_kinds()}
    for experiment in experiments(config):
        for variant in variants(config, experiment):
            kind, name = dataset_dir(experiment, variant)[len(DATA_ROOT) + 1:].split("/", 1)
            if kind in out and name not in out[kind]:
                out[kind].append(name)
    return {kind: names for kind, names in out.items() if names}


def targets(config: dict) -> list[str]:
    """Every metrics.json the config asks for (the train_graph part of the ``train`` stage)."""
    out = []
    for experiment, extra in jobs(config):
        kind = experiments()[experiment]
        seeds = config["train"]["graph"][experiment]["seeds"]
        for variant in extra_variants(config, experiment, extra):
            out += [f"{ROOT}/{kind}/{variant}/{run}/seed{s}/{FILES['metrics']}"
                    for run in run_names(config, experiment, extra) for s in seeds]
    return out


def head_layers_arg(config: dict, experiment: str) -> list[str]:
    """``--head-layers`` value of an experiment: ``1`` (linear head) plus ``MODEL=K`` for every model the
    config's ``head_layers`` mapping gives an MLP read-out (only models the experiment trains)."""
    section = config["train"]["graph"][experiment]
    heads = section.get("head_layers") or {}
    return ["1"] + [f"{m}={int(heads[m])}" for m in section["models"] if m in heads]


SWEEP_SETTINGS = ("models", "lrs", "epochs", "batch_size", "activation", "weight_decay")


def job_params(config: dict, experiment: str) -> dict:
    """The params of one sweep job of ``experiment`` (a train_graph rule): the section's sweep settings, its grid
    (``depths`` and ``widths``, or the ``DEPTHxWIDTH`` budgets), ``--head-layers``, and the stage's device,
    checkpoint interval and validation interval, all read from ``train.graph`` here rather than key by key in each
    rule."""
    section = config["train"]["graph"][experiment]
    grid = ({"budgets": budgets(section)} if "budgets" in section or experiment == "memory"
            else {"depths": section["depths"], "widths": section["widths"]})
    return {"models": section["models"], **grid, **{key: section[key] for key in SWEEP_SETTINGS[1:]},
            "head_layers": head_layers_arg(config, experiment), "device": config["train"]["graph"]["device"],
            "checkpoint_every": config["train"]["graph"]["checkpoint_every"],
            "eval_every": config["train"]["graph"]["eval_every"]}


def train_args(config: dict, experiment: str, variant: str, extra: str | None = None) -> list[str]:
    """The flags of ``gapbench train graph`` for one job beyond ``--data``, ``--out``, ``--seed``, ``--threads``:
    the sweep of :func:`job_params` (``--path-ids`` for the path-ids runs), or for a benchmark its protocol
    settings (``train.graph.benchmarks.settings.{name}``) and ``--node-features-only`` unless the job is the
    edge-feature runs. A list of shell words; the rule quotes each."""
    graph = config["train"]["graph"]
    if experiment == "benchmarks":
        settings = graph["benchmarks"]["settings"][variant]
        flags = {"model": graph["benchmarks"]["models"],
                 **{flag: settings[key] for key, flag in BENCHMARK_SETTINGS.items()},
                 "device": graph["device"], "checkpoint-every": graph["checkpoint_every"]}
        switches = [flag for key, (value, flag) in BENCHMARK_SWITCHES.items() if settings.get(key) == value]
        return _words(flags) + switches + ([] if extra == "edge_features" else ["--node-features-only"])
    params = job_params(config, experiment)
    return (_words({"model": params.pop("models"), **{key.replace("_", "-"): value for key, value in params.items()}})
            + (["--path-ids"] if extra == "path_ids" else []))


def _words(flags: dict) -> list[str]:
    out = []
    for flag, value in flags.items():
        out += [f"--{flag}", *map(str, value if isinstance(value, (list, tuple)) else [value])]
    return out
