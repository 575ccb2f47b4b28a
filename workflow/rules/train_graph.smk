# train_graph stage (Part I models): node vs edge GCNs, directed variants and DeepSets on the graph datasets.
# One job per (dataset, seed) trains every model listed in config train.graph.{experiment}.models, each a small
# sweep selected by validation (`gapbench train graph`, src/gapbench/train/graph.py); outputs per model under
# results/train/graph/{kind}/{variant}/{model}[-d{depth}-w{width}]/seed{seed}/. Docs: docs/gnn.md.

from functools import partial

from gapbench.graphs.data import ROOT as GRAPHS
from gapbench.graphs.variants import FORMATS as VARIANT, MEMORY_TASKS, make, wildcard_regex
from gapbench.train.graph_paths import ROOT as TRAIN_GRAPH, job_outputs, job_params, targets


wildcard_constraints:
    seed=r"\d+",
    memtask="|".join(MEMORY_TASKS),
    memvariant="|".join(wildcard_regex(kind) for kind in MEMORY_TASKS),


train_graph_targets = partial(targets, config)


# Planted star (seed Table 2): sweep depth x width x lr per model, select by validation RMSE.
rule train_graph_planted_star:
    input:
        data=rules.graph_planted_star.output.data,
    output:
        **job_outputs(config, "planted_star", VARIANT["planted_star"]),
    log:
        f"results/logs/train/graph/planted_star/{VARIANT['planted_star']}/seed{{seed}}.log",
    benchmark:
        f"results/benchmarks/train/graph/planted_star/{VARIANT['planted_star']}/seed{{seed}}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: lookup(dpath="train/graph/threads", within=config)
    resources:
        gpu=gpu_slots(lookup(dpath="train/graph/device", within=config)),
    params:
        **job_params(config, "planted_star"),
        out=lambda wc: f"{TRAIN_GRAPH}/planted_star/{make('planted_star', **wc)}/{{model}}/seed{wc.seed}",
        fail=inject_failure,
    message:
        "planted star, {wildcards.leaves} leaves, planted depth {wildcards.depth}, seed {wildcards.seed}: sweeping {params.models:q}"
    shell:
        "python3 -m gapbench train graph --data {input.data} --model {params.models:q} --out {params.out:q}"
        " --depths {params.depths:q} --widths {params.widths:q} --lrs {params.lrs:q} --epochs {params.epochs:q}"
        " --batch-size {params.batch_size:q} --activation {params.activation:q} --weight-decay {params.weight_decay:q}"
        " --head-layers {params.head_layers:q} --seed {wildcards.seed} --device {params.device:q} --threads {threads}"
        " --checkpoint-every {params.checkpoint_every:q} {params.fail} --no-progress > {log} 2>&1"


# Ising marginals on trees (paper App. D): sweep per model, node/edge x undirected/directed.
rule train_graph_ising:
    input:
        data=rules.graph_ising.output.data,
    output:
        **job_outputs(config, "ising", "{tree}"),
    log:
        "results/logs/train/graph/ising/{tree}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/graph/ising/{tree}/seed{seed}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: lookup(dpath="train/graph/threads", within=config)
    resources:
        gpu=gpu_slots(lookup(dpath="train/graph/device", within=config)),
    params:
        **job_params(config, "ising"),
        out=lambda wc: f"{TRAIN_GRAPH}/ising/{wc.tree}/{{model}}/seed{wc.seed}",
        fail=inject_failure,
    message:
        "Ising marginals on {wildcards.tree} trees, seed {wildcards.seed}: sweeping {params.models:q}"
    shell:
        "python3 -m gapbench train graph --data {input.data} --model {params.models:q} --out {params.out:q}"
        " --depths {params.depths:q} --widths {params.widths:q} --lrs {params.lrs:q} --epochs {params.epochs:q}"
        " --batch-size {params.batch_size:q} --activation {params.activation:q} --weight-decay {params.weight_decay:q}"
        " --head-layers {params.head_layers:q} --seed {wildcards.seed} --device {params.device:q} --threads {threads}"
        " --checkpoint-every {params.checkpoint_every:q} {params.fail} --no-progress > {log} 2>&1"


# MAP on hub-and-paths (seed Thm 2): accuracy at fixed depth x width budgets, lr selected by validation.
rule train_graph_map:
    input:
        data=rules.graph_map.output.data,
    output:
        **job_outputs(config, "map", VARIANT["map"]),
    log:
        f"results/logs/train/graph/map/{VARIANT['map']}/seed{{seed}}.log",
    benchmark:
        f"results/benchmarks/train/graph/map/{VARIANT['map']}/seed{{seed}}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: lookup(dpath="train/graph/threads", within=config)
    resources:
        gpu=gpu_slots(lookup(dpath="train/graph/device", within=config)),
    params:
        **job_params(config, "map"),
        out=lambda wc: f"{TRAIN_GRAPH}/map/{make('map', **wc)}/{{model}}-d{{depth}}-w{{width}}/seed{wc.seed}",
        fail=inject_failure,
    message:
        "MAP n={wildcards.n}, seed {wildcards.seed}: {params.models:q} at budgets {params.budgets:q}"
    shell:
        "python3 -m gapbench train graph --data {input.data} --model {params.models:q} --out {params.out:q}"
        " --budgets {params.budgets:q} --lrs {params.lrs:q} --epochs {params.epochs:q}"
        " --batch-size {params.batch_size:q} --activation {params.activation:q} --weight-decay {params.weight_decay:q}"
        " --head-layers {params.head_layers:q} --seed {wildcards.seed} --device {params.device:q} --threads {threads}"
        " --checkpoint-every {params.checkpoint_every:q} {params.fail} --no-progress > {log} 2>&1"


# Duplicate task on stars (seed warm-up): accuracy vs n at fixed budgets.
rule train_graph_duplicates:
    input:
        data=rules.graph_duplicates.output.data,
    output:
        **job_outputs(config, "duplicates", VARIANT["duplicates"]),
    log:
        f"results/logs/train/graph/duplicates/{VARIANT['duplicates']}/seed{{seed}}.log",
    benchmark:
        f"results/benchmarks/train/graph/duplicates/{VARIANT['duplicates']}/seed{{seed}}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: lookup(dpath="train/graph/threads", within=config)
    resources:
        gpu=gpu_slots(lookup(dpath="train/graph/device", within=config)),
    params:
        **job_params(config, "duplicates"),
        out=lambda wc: f"{TRAIN_GRAPH}/duplicates/{make('duplicates', **wc)}/{{model}}-d{{depth}}-w{{width}}/seed{wc.seed}",
        fail=inject_failure,
    message:
        "duplicates n={wildcards.n}, seed {wildcards.seed}: {params.models:q} at budgets {params.budgets:q}"
    shell:
        "python3 -m gapbench train graph --data {input.data} --model {params.models:q} --out {params.out:q}"
        " --budgets {params.budgets:q} --lrs {params.lrs:q} --epochs {params.epochs:q}"
        " --batch-size {params.batch_size:q} --activation {params.activation:q} --weight-decay {params.weight_decay:q}"
        " --head-layers {params.head_layers:q} --seed {wildcards.seed} --device {params.device:q} --threads {threads}"
        " --checkpoint-every {params.checkpoint_every:q} {params.fail} --no-progress > {log} 2>&1"


# Memory threshold: every model at every depth x width of the grid on a planted-star or duplicate dataset.
rule train_graph_memory:
    input:
        data=f"{GRAPHS}/{{memtask}}/{{memvariant}}",
    output:
        **job_outputs(config, "memory", "{memtask}-{memvariant}"),
    log:
        "results/logs/train/graph/memory/{memtask}-{memvariant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/graph/memory/{memtask}-{memvariant}/seed{seed}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: lookup(dpath="train/graph/threads", within=config)
    resources:
        gpu=gpu_slots(lookup(dpath="train/graph/device", within=config)),
    params:
        **job_params(config, "memory"),
        out=lambda wc: f"{TRAIN_GRAPH}/memory/{wc.memtask}-{wc.memvariant}/{{model}}-d{{depth}}-w{{width}}/seed{wc.seed}",
        fail=inject_failure,
    message:
        "memory threshold on {wildcards.memtask} {wildcards.memvariant}, seed {wildcards.seed}: {params.models:q}"
        " at budgets {params.budgets:q}"
    shell:
        "python3 -m gapbench train graph --data {input.data} --model {params.models:q} --out {params.out:q}"
        " --budgets {params.budgets:q} --lrs {params.lrs:q} --epochs {params.epochs:q}"
        " --batch-size {params.batch_size:q} --activation {params.activation:q} --weight-decay {params.weight_decay:q}"
        " --head-layers {params.head_layers:q} --seed {wildcards.seed} --device {params.device:q} --threads {threads}"
        " --checkpoint-every {params.checkpoint_every:q} {params.fail} --no-progress > {log} 2>&1"


# Standard benchmarks (seed Table 1): the published protocol per benchmark, node features only (as published);
# with train.graph.benchmarks.edge_features also the edge-feature variant (model directories {model}-ef).
# The shared params of the two Table 1 rules (out template, models, features, protocol settings).
benchmark_setting = lambda key: lookup(dpath=f"train/graph/benchmarks/settings/{{bench}}/{key}", within=config)
benchmark_params = lambda edge_features: dict(
    out=lambda wc: f"{TRAIN_GRAPH}/benchmark/{wc.bench}/{{model}}{'-ef' if edge_features else ''}/seed{wc.seed}",
    models=lookup(dpath="train/graph/benchmarks/models", within=config),
    features="" if edge_features else "--node-features-only",
    **{
        key: benchmark_setting(key)
        for key in (
            "depth",
            "width",
            "lr",
            "epochs",
            "batch_size",
            "weight_decay",
            "dropout",
            "norm",
            "head_layers",
            "pool",
            "activation",
            "schedule",
            "plateau_patience",
            "protocol",
        )
    },
    device=lookup(dpath="train/graph/device", within=config),
    checkpoint_every=lookup(dpath="train/graph/checkpoint_every", within=config),
    fail=inject_failure,
)


BENCHMARK_SHELL = (
    "python3 -m gapbench train graph --data {input.data} --model {params.models:q} --out {params.out:q} {params.features}"
    " --depths {params.depth:q} --widths {params.width:q} --lrs {params.lr:q} --epochs {params.epochs:q}"
    " --batch-size {params.batch_size:q} --weight-decay {params.weight_decay:q} --dropout {params.dropout:q}"
    " --norm {params.norm:q} --head-layers {params.head_layers:q} --pool {params.pool:q}"
    " --activation {params.activation:q} --schedule {params.schedule:q} --plateau-patience {params.plateau_patience:q}"
    " --protocol {params.protocol:q}"
    " --seed {wildcards.seed} --device {params.device:q} --threads {threads}"
    " --checkpoint-every {params.checkpoint_every:q} {params.fail} --no-progress > {log} 2>&1"
)


rule train_graph_benchmark:
    input:
        data=rules.graph_benchmark.output.data,
    output:
        **job_outputs(config, "benchmarks", "{bench}"),
    log:
        "results/logs/train/graph/benchmark/{bench}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/graph/benchmark/{bench}/seed{seed}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: lookup(dpath="train/graph/threads", within=config)
    resources:
        gpu=gpu_slots(lookup(dpath="train/graph/device", within=config)),
    params:
        **benchmark_params(edge_features=False),
    message:
        "benchmark {wildcards.bench}, seed {wildcards.seed}: {params.models:q} (node features only)"
    shell:
        BENCHMARK_SHELL


if config["train"]["graph"]["benchmarks"]["edge_features"]:

    rule train_graph_benchmark_edge_features:
        input:
            data=rules.graph_benchmark.output.data,
        output:
            **job_outputs(config, "benchmarks", "{bench}", edge_features=True),
        log:
            "results/logs/train/graph/benchmark/{bench}/seed{seed}-ef.log",
        benchmark:
            "results/benchmarks/train/graph/benchmark/{bench}/seed{seed}-ef.tsv"
        conda:
            "../../envs/train.yaml"
        threads: lookup(dpath="train/graph/threads", within=config)
        resources:
            gpu=gpu_slots(lookup(dpath="train/graph/device", within=config)),
        params:
            **benchmark_params(edge_features=True),
        message:
            "benchmark {wildcards.bench}, seed {wildcards.seed}: {params.models:q} with edge features"
        shell:
            BENCHMARK_SHELL
