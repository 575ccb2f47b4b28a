# graph_data stage (Part I data): one dataset directory per variant under results/data/graphs/{kind}/{variant}/;
# benchmarks are downloaded into resources/graphs/{name}/ first. Formats and laws: docs/graph_data.md.

from functools import partial

from gapbench.graphs.data import ROOT as GRAPHS, dataset_paths
from gapbench.graphs.kinds import DATASET_KINDS, generated_kinds
from gapbench.graphs.variants import make_command, wildcard_regex
from gapbench.train.graph_paths import datasets_by_kind


wildcard_constraints:
    bench=wildcard_regex("benchmark"),


localrules:
    graph_download,


graph_data_targets = partial(dataset_paths, config)
graph_datasets = [(kind, v) for kind, names in datasets_by_kind(config).items() for v in names]


# Every generated kind (planted star, MAP, Ising, duplicates, ... : src/gapbench/graphs/kinds.py): one dataset per
# variant, its flags from the kind's registry entry and its config section graphs.{kind}. graphs.job_scope:
# `all` (the default) makes every dataset in one job, graph_make_all (`gapbench each`: one process, one
# Python/torch/PyG start-up for all), `dataset` one job per dataset (graph_make; configs/paper.yaml).
if config["graphs"]["job_scope"] == "dataset":

    rule graph_make:
        output:
            data=directory(f"{GRAPHS}/{{kind}}/{{variant}}"),
        log:
            "results/logs/graphs/{kind}/{variant}.log",
        benchmark:
            "results/benchmarks/graphs/{kind}/{variant}.tsv"
        wildcard_constraints:
            kind="|".join(kind.name for kind in generated_kinds()),
            variant="|".join(wildcard_regex(kind.name) for kind in generated_kinds()),
        conda:
            "../../envs/graphs.yaml"
        params:
            command=lambda wc, output: make_command(config, wc.kind, wc.variant, output.data),
        message:
            "{wildcards.kind} dataset {wildcards.variant}"
        shell:
            "python3 -m gapbench {params.command:q} --no-progress > {log} 2>&1"

elif graph_datasets:

    rule graph_make_all:
        output:
            data=[directory(f"{GRAPHS}/{kind}/{v}") for kind, v in graph_datasets],
        log:
            "results/logs/graphs/all.log",
        benchmark:
            "results/benchmarks/graphs/all.tsv"
        conda:
            "../../envs/graphs.yaml"
        params:
            commands=[
                w for kind, v in graph_datasets for w in ["--", *make_command(config, kind, v, f"{GRAPHS}/{kind}/{v}")]
            ],
        message:
            f"every generated graph dataset ({len(graph_datasets)})"
        shell:
            "python3 -m gapbench each --no-progress {params.commands:q} > {log} 2>&1"


# Download a benchmark's raw files, let PyG process them, check split sizes (download.py; runs locally).
rule graph_download:
    output:
        marker="resources/graphs/{bench}/download.json",
    log:
        "results/logs/graphs/download/{bench}.log",
    benchmark:
        "results/benchmarks/graphs/download/{bench}.tsv"
    retries: 1
    conda:
        "../../envs/graphs.yaml"
    params:
        retries=lookup(dpath="graphs/benchmarks/retries", within=config),
    message:
        "downloading the {wildcards.bench} benchmark into resources/graphs/{wildcards.bench}/"
    shell:
        "python3 -m gapbench graphs download {wildcards.bench} --root resources/graphs --retries {params.retries:q}"
        " --no-progress > {log} 2>&1"


# Copy a downloaded benchmark into gapbench's dataset format (benchmarks.py).
rule graph_benchmark:
    input:
        marker=rules.graph_download.output.marker,
    output:
        data=directory(f"{GRAPHS}/benchmark/{{bench}}"),
    log:
        "results/logs/graphs/benchmark/{bench}.log",
    benchmark:
        "results/benchmarks/graphs/benchmark/{bench}.tsv"
    conda:
        "../../envs/graphs.yaml"
    message:
        "converting the {wildcards.bench} benchmark to results/data/graphs/benchmark/{wildcards.bench}/"
    shell:
        "python3 -m gapbench graphs make benchmark --name {wildcards.bench} --root resources/graphs"
        " --out {output.data} --no-progress > {log} 2>&1"
