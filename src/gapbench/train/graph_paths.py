"""Output paths of the train_graph stage (docs/gnn.md, "Outputs"), shared by the rules.

``results/train/graph/{kind}/{variant}/{run}/seed{seed}/{metrics.json,sweep.csv,curves.csv}`` where ``run`` is
the model name, or ``{model}-d{depth}-w{width}`` for the fixed-budget experiments (map, duplicates, memory). One
Snakemake job per (dataset, seed) writes the files of every run of its experiment. The memory experiment
trains on the planted-star and duplicate datasets; its variant names the dataset:
``memory/{task}-{variant}``, e.g. ``memory/planted_star-n16-k1``, ``memory/duplicates-n8``.
"""

from __future__ import annotations

from gapbench.graphs import variants as variant_names

ROOT = "results/train/graph"
EDGE_FEATURES = "-ef"  # run-name suffix of the Table 1 variant that also sees the edge features
FILES = {"metrics": "metrics.json", "sweep": "sweep.csv", "curves": "curves.csv"}
# config section of train.graph -> dataset kind (path component)
EXPERIMENTS = {"planted_star": "planted_star", "map": "map", "ising": "ising", "duplicates": "duplicates",
               "benchmarks": "benchmark", "memory": "memory"}


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
    base = f"{ROOT}/{EXPERIMENTS[experiment]}/{variant}"
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
        return ([variant_names.memory_variant("planted_star", leaves=n, depth=mem["planted_depth"])
                 for n in mem["planted_star"]] + [variant_names.memory_variant("duplicates", n=n) for n in mem["duplicates"]])
    return variant_names.of_config(config, EXPERIMENTS[experiment])


def targets(config: dict) -> list[str]:
    """Every metrics.json the config asks for (the train_graph part of the ``train`` stage)."""
    out = []
    for experiment, kind in EXPERIMENTS.items():
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
    (``depths`` and ``widths``, or the ``DEPTHxWIDTH`` budgets), ``--head-layers``, and the stage's device and
    checkpoint interval, all read from ``train.graph`` here rather than key by key in each rule."""
    section = config["train"]["graph"][experiment]
    grid = ({"budgets": budgets(section)} if "budgets" in section or experiment == "memory"
            else {"depths": section["depths"], "widths": section["widths"]})
    return {"models": section["models"], **grid, **{key: section[key] for key in SWEEP_SETTINGS[1:]},
            "head_layers": head_layers_arg(config, experiment), "device": config["train"]["graph"]["device"],
            "checkpoint_every": config["train"]["graph"]["checkpoint_every"]}
