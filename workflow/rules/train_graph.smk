# train_graph stage (Part I models): node vs edge GCNs, directed variants and DeepSets on the graph datasets.
# One job per (dataset, seed) trains every model listed in config train.graph.{experiment}.models, each a small
# sweep selected by validation (`gapbench train graph`, src/gapbench/train/graph.py); outputs per model under
# results/train/graph/{kind}/{variant}/{model}[-d{depth}-w{width}]/seed{seed}/. Docs: docs/gnn.md.

from functools import partial

from gapbench.train.graph_paths import ROOT as TRAIN_GRAPH, job_outputs, targets


wildcard_constraints:
    seed=r"\d+",


train_graph_targets = partial(targets, config)


# Planted star (seed Table 2): sweep depth x width x lr per model, select by validation RMSE.
rule train_graph_planted_star:
    input:
        data=rules.graph_planted_star.output.data,
    output:
        **job_outputs(config, "planted_star", "n{leaves}-k{depth}"),
    log:
        "results/logs/train/graph/planted_star/n{leaves}-k{depth}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/graph/planted_star/n{leaves}-k{depth}/seed{seed}.tsv"
    message:
        "planted star n{wildcards.leaves}-k{wildcards.depth}, seed {wildcards.seed}: sweeping {params.models:q}"
    params:
        out=lambda wc: f"{TRAIN_GRAPH}/planted_star/n{wc.leaves}-k{wc.depth}/{{model}}/seed{wc.seed}",
        models=lookup(dpath="train/graph/planted_star/models", within=config),
        depths=lookup(dpath="train/graph/planted_star/depths", within=config),
        widths=lookup(dpath="train/graph/planted_star/widths", within=config),
        lrs=lookup(dpath="train/graph/planted_star/lrs", within=config),
        epochs=lookup(dpath="train/graph/planted_star/epochs", within=config),
        batch_size=lookup(dpath="train/graph/planted_star/batch_size", within=config),
        activation=lookup(dpath="train/graph/planted_star/activation", within=config),
        weight_decay=lookup(dpath="train/graph/planted_star/weight_decay", within=config),
        device=lookup(dpath="train/graph/device", within=config),
        checkpoint_every=lookup(dpath="train/graph/checkpoint_every", within=config),
        fail=inject_failure,
    threads: lookup(dpath="train/graph/threads", within=config)
    conda:
        "../../envs/train.yaml"
    shell:
        "gapbench train graph --data {input.data} --model {params.models:q} --out {params.out:q}"
        " --depths {params.depths:q} --widths {params.widths:q} --lrs {params.lrs:q} --epochs {params.epochs:q}"
        " --batch-size {params.batch_size:q} --activation {params.activation:q} --weight-decay {params.weight_decay:q}"
        " --seed {wildcards.seed} --device {params.device:q} --threads {threads}"
        " --checkpoint-every {params.checkpoint_every:q} {params.fail} > {log} 2>&1"


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
    message:
        "Ising marginals on {wildcards.tree} trees, seed {wildcards.seed}: sweeping {params.models:q}"
    params:
        out=lambda wc: f"{TRAIN_GRAPH}/ising/{wc.tree}/{{model}}/seed{wc.seed}",
        models=lookup(dpath="train/graph/ising/models", within=config),
        depths=lookup(dpath="train/graph/ising/depths", within=config),
        widths=lookup(dpath="train/graph/ising/widths", within=config),
        lrs=lookup(dpath="train/graph/ising/lrs", within=config),
        epochs=lookup(dpath="train/graph/ising/epochs", within=config),
        batch_size=lookup(dpath="train/graph/ising/batch_size", within=config),
        activation=lookup(dpath="train/graph/ising/activation", within=config),
        weight_decay=lookup(dpath="train/graph/ising/weight_decay", within=config),
        device=lookup(dpath="train/graph/device", within=config),
        checkpoint_every=lookup(dpath="train/graph/checkpoint_every", within=config),
        fail=inject_failure,
    threads: lookup(dpath="train/graph/threads", within=config)
    conda:
        "../../envs/train.yaml"
    shell:
        "gapbench train graph --data {input.data} --model {params.models:q} --out {params.out:q}"
        " --depths {params.depths:q} --widths {params.widths:q} --lrs {params.lrs:q} --epochs {params.epochs:q}"
        " --batch-size {params.batch_size:q} --activation {params.activation:q} --weight-decay {params.weight_decay:q}"
        " --seed {wildcards.seed} --device {params.device:q} --threads {threads}"
        " --checkpoint-every {params.checkpoint_every:q} {params.fail} > {log} 2>&1"


# MAP on hub-and-paths (seed Thm 2): accuracy at fixed depth x width budgets, lr selected by validation.
rule train_graph_map:
    input:
        data=rules.graph_map.output.data,
    output:
        **job_outputs(config, "map", "n{mapn}"),
    log:
        "results/logs/train/graph/map/n{mapn}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/graph/map/n{mapn}/seed{seed}.tsv"
    message:
        "MAP n={wildcards.mapn}, seed {wildcards.seed}: {params.models:q} at budgets {params.budgets:q}"
    params:
        out=lambda wc: f"{TRAIN_GRAPH}/map/n{wc.mapn}/{{model}}-d{{depth}}-w{{width}}/seed{wc.seed}",
        models=lookup(dpath="train/graph/map/models", within=config),
        budgets=lookup(dpath="train/graph/map/budgets", within=config),
        lrs=lookup(dpath="train/graph/map/lrs", within=config),
        epochs=lookup(dpath="train/graph/map/epochs", within=config),
        batch_size=lookup(dpath="train/graph/map/batch_size", within=config),
        activation=lookup(dpath="train/graph/map/activation", within=config),
        weight_decay=lookup(dpath="train/graph/map/weight_decay", within=config),
        device=lookup(dpath="train/graph/device", within=config),
        checkpoint_every=lookup(dpath="train/graph/checkpoint_every", within=config),
        fail=inject_failure,
    threads: lookup(dpath="train/graph/threads", within=config)
    conda:
        "../../envs/train.yaml"
    shell:
        "gapbench train graph --data {input.data} --model {params.models:q} --out {params.out:q}"
        " --budgets {params.budgets:q} --lrs {params.lrs:q} --epochs {params.epochs:q}"
        " --batch-size {params.batch_size:q} --activation {params.activation:q} --weight-decay {params.weight_decay:q}"
        " --seed {wildcards.seed} --device {params.device:q} --threads {threads}"
        " --checkpoint-every {params.checkpoint_every:q} {params.fail} > {log} 2>&1"


# Duplicate task on stars (seed warm-up): accuracy vs n at fixed budgets.
rule train_graph_duplicates:
    input:
        data=rules.graph_duplicates.output.data,
    output:
        **job_outputs(config, "duplicates", "n{dupn}"),
    log:
        "results/logs/train/graph/duplicates/n{dupn}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/graph/duplicates/n{dupn}/seed{seed}.tsv"
    message:
        "duplicates n={wildcards.dupn}, seed {wildcards.seed}: {params.models:q} at budgets {params.budgets:q}"
    params:
        out=lambda wc: f"{TRAIN_GRAPH}/duplicates/n{wc.dupn}/{{model}}-d{{depth}}-w{{width}}/seed{wc.seed}",
        models=lookup(dpath="train/graph/duplicates/models", within=config),
        budgets=lookup(dpath="train/graph/duplicates/budgets", within=config),
        lrs=lookup(dpath="train/graph/duplicates/lrs", within=config),
        epochs=lookup(dpath="train/graph/duplicates/epochs", within=config),
        batch_size=lookup(dpath="train/graph/duplicates/batch_size", within=config),
        activation=lookup(dpath="train/graph/duplicates/activation", within=config),
        weight_decay=lookup(dpath="train/graph/duplicates/weight_decay", within=config),
        device=lookup(dpath="train/graph/device", within=config),
        checkpoint_every=lookup(dpath="train/graph/checkpoint_every", within=config),
        fail=inject_failure,
    threads: lookup(dpath="train/graph/threads", within=config)
    conda:
        "../../envs/train.yaml"
    shell:
        "gapbench train graph --data {input.data} --model {params.models:q} --out {params.out:q}"
        " --budgets {params.budgets:q} --lrs {params.lrs:q} --epochs {params.epochs:q}"
        " --batch-size {params.batch_size:q} --activation {params.activation:q} --weight-decay {params.weight_decay:q}"
        " --seed {wildcards.seed} --device {params.device:q} --threads {threads}"
        " --checkpoint-every {params.checkpoint_every:q} {params.fail} > {log} 2>&1"


# Standard benchmarks (seed Table 1): fixed benchmarking-gnns / LRGB hyperparameters per benchmark, 4 seeds.
rule train_graph_benchmark:
    input:
        data=rules.graph_benchmark.output.data,
    output:
        **job_outputs(config, "benchmarks", "{bench}"),
    log:
        "results/logs/train/graph/benchmark/{bench}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/graph/benchmark/{bench}/seed{seed}.tsv"
    message:
        "benchmark {wildcards.bench}, seed {wildcards.seed}: {params.models:q}"
    params:
        out=lambda wc: f"{TRAIN_GRAPH}/benchmark/{wc.bench}/{{model}}/seed{wc.seed}",
        models=lookup(dpath="train/graph/benchmarks/models", within=config),
        depth=lookup(dpath="train/graph/benchmarks/settings/{bench}/depth", within=config),
        width=lookup(dpath="train/graph/benchmarks/settings/{bench}/width", within=config),
        lr=lookup(dpath="train/graph/benchmarks/settings/{bench}/lr", within=config),
        epochs=lookup(dpath="train/graph/benchmarks/settings/{bench}/epochs", within=config),
        batch_size=lookup(dpath="train/graph/benchmarks/settings/{bench}/batch_size", within=config),
        weight_decay=lookup(dpath="train/graph/benchmarks/settings/{bench}/weight_decay", within=config),
        dropout=lookup(dpath="train/graph/benchmarks/settings/{bench}/dropout", within=config),
        norm=lookup(dpath="train/graph/benchmarks/settings/{bench}/norm", within=config),
        head_layers=lookup(dpath="train/graph/benchmarks/settings/{bench}/head_layers", within=config),
        pool=lookup(dpath="train/graph/benchmarks/settings/{bench}/pool", within=config),
        activation=lookup(dpath="train/graph/benchmarks/settings/{bench}/activation", within=config),
        device=lookup(dpath="train/graph/device", within=config),
        checkpoint_every=lookup(dpath="train/graph/checkpoint_every", within=config),
        fail=inject_failure,
    threads: lookup(dpath="train/graph/threads", within=config)
    conda:
        "../../envs/train.yaml"
    shell:
        "gapbench train graph --data {input.data} --model {params.models:q} --out {params.out:q}"
        " --depths {params.depth:q} --widths {params.width:q} --lrs {params.lr:q} --epochs {params.epochs:q}"
        " --batch-size {params.batch_size:q} --weight-decay {params.weight_decay:q} --dropout {params.dropout:q}"
        " --norm {params.norm:q} --head-layers {params.head_layers:q} --pool {params.pool:q}"
        " --activation {params.activation:q} --seed {wildcards.seed} --device {params.device:q} --threads {threads}"
        " --checkpoint-every {params.checkpoint_every:q} {params.fail} > {log} 2>&1"
