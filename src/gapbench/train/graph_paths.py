"""Output paths, jobs and command-line arguments of the train_graph stage (docs/gnn.md, "Outputs").

``results/train/graph/{kind}/{variant}/{run}/seed{seed}/{metrics.json,sweep.csv,curves.csv}`` where ``run`` is
the model name, or ``{model}-d{depth}-w{width}`` for the fixed-budget experiments (map, duplicates, memory), or
``{model}-ef`` for the benchmark runs that also see the edge features. One Snakemake job per (experiment,
dataset, seed) writes the files of every run of its experiment: one ``gapbench train graph`` process trains all
the models (a process per run would pay the Python and torch start-up per run, about 5 CPU seconds each). The
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
FILES = {"metrics": "metrics.json", "sweep": "sweep.csv", "curves": "curves.csv"}
MEMORY = "memory"
# the per-benchmark protocol settings of train.graph.benchmarks.settings.{name}, flag for flag
BENCHMARK_SETTINGS = {"depth": "depths", "width": "widths", "lr": "lrs", "epochs": "epochs",
                      "batch_size": "batch-size", "weight_decay": "weight-decay", "dropout": "dropout", "norm": "norm",
                      "head_layers": "head-layers", "pool": "pool", "activation": "activation",
                      "schedule": "schedule", "plateau_patience": "plateau-patience", "protocol": "protocol"}


def experiments(config: dict | None = None) -> dict[str, str]:
    """Config section of train.graph -> path component: every registered dataset kind, then the memory
    experiment (with ``config``: those it has a ``train.graph`` section for)."""
    out = {**{kind.config_section: kind.name for kind in DATASET_KINDS.values()}, MEMORY: MEMORY}
    return out if config is None else {k: v for k, v in out.items() if k in config["train"]["graph"]}


def jobs(config: dict) -> list[tuple[str, bool]]:
    """The (experiment, edge_features) pairs that get a training rule: every experiment, plus the benchmarks'
    edge-feature runs when ``train.graph.benchmarks.edge_features`` is on."""
    out = [(experiment, False) for experiment in experiments(config)]
    if config["train"]["graph"].get("benchmarks", {}).get("edge_features"):
        out.append(("benchmarks", True))
    return out


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


def run_dir_template(config: dict, experiment: str, variant: str, seed, edge_features: bool = False) -> str:
    """``--out`` of a job: the run directory with ``{model}`` (and ``{depth}``, ``{width}`` for budgets) left for
    the trainer to fill in."""
    section = config["train"]["graph"][experiment]
    run = "{model}-d{depth}-w{width}" if "budgets" in section or experiment == MEMORY else "{model}"
    return f"{ROOT}/{experiments()[experiment]}/{variant}/{run}{EDGE_FEATURES if edge_features else ''}/seed{seed}"


def budgets(section: dict) -> list[str]:
    """Fixed ``DEPTHxWIDTH`` budgets of a section: its ``budgets``, or the grid ``depths x widths`` (memory)."""
    if "budgets" in section:
        return list(section["budgets"])
    return [f"{d}x{w}" for d in section["depths"] for w in section["widths"]]


def run_names(config: dict, experiment: str) -> list[str]:
    """Model directories of an experiment: ``{model}``, or ``{model}-d{depth}-w{width}`` per budget."""
    section = config["train"]["graph"][experiment]
    if experiment == "benchmarks":  # node features only; with edge_features also the labelled {model}-ef runs
        return list(section["models"]) + [f"{m}{EDGE_FEATURES}" for m in section["models"]
                                          if section.get("edge_features")]
    if "budgets" not in section and experiment != "memory":
        return list(section["models"])
    return [f"{m}-d{b.split('x')[0]}-w{b.split('x')[1]}" for m in section["models"] for b in budgets(section)]


def job_outputs(config: dict, experiment: str, variant: str, edge_features: bool = False) -> dict[str, list[str]]:
    """Named outputs of one job (``variant`` and ``{seed}`` stay Snakemake wildcards); for the benchmarks the
    node-features-only runs, or with ``edge_features`` the ``{model}-ef`` runs."""
    base = f"{ROOT}/{experiments()[experiment]}/{variant}"
    runs = run_names(config, experiment)
    if experiment == "benchmarks":
        runs = [r for r in runs if r.endswith(EDGE_FEATURES) == edge_features]
    return {key: [f"{base}/{run}/seed{{seed}}/{name}" for run in runs] for key, name in FILES.items()}


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


def targets(config: dict) -> list[str]:
    """Every metrics.json the config asks for (the train_graph part of the ``train`` stage)."""
    out = []
    for experiment, kind in experiments(config).items():
        seeds = config["train"]["graph"][experiment]["seeds"]
        for variant in variants(config, experiment):
            out += [f"{ROOT}/{kind}/{variant}/{run}/seed{s}/{FILES['metrics']}"
                    for run in run_names(config, experiment) for s in seeds]
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


def train_args(config: dict, experiment: str, variant: str, edge_features: bool = False) -> list[str]:
    """The flags of ``gapbench train graph`` for one job beyond ``--data``, ``--out``, ``--seed``, ``--threads``:
    the sweep of :func:`job_params`, or for a benchmark its protocol settings
    (``train.graph.benchmarks.settings.{name}``) and ``--node-features-only`` unless ``edge_features``. A list of
    shell words; the rule quotes each."""
    graph = config["train"]["graph"]
    if experiment == "benchmarks":
        settings = graph["benchmarks"]["settings"][variant]
        flags = {"model": graph["benchmarks"]["models"],
                 **{flag: settings[key] for key, flag in BENCHMARK_SETTINGS.items()},
                 "device": graph["device"], "checkpoint-every": graph["checkpoint_every"]}
        return _words(flags) + ([] if edge_features else ["--node-features-only"])
    params = job_params(config, experiment)
    return _words({"model": params.pop("models"), **{key.replace("_", "-"): value for key, value in params.items()}})


def _words(flags: dict) -> list[str]:
    out = []
    for flag, value in flags.items():
        out += [f"--{flag}", *map(str, value if isinstance(value, (list, tuple)) else [value])]
    return out
