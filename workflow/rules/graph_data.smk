# graph_data stage (Part I data): one dataset directory per variant under results/data/graphs/{kind}/{variant}/;
# benchmarks are downloaded into resources/graphs/{name}/ first. Formats and laws: docs/graph_data.md.

from functools import partial

from gapbench.graphs.data import ROOT as GRAPHS, dataset_paths
from gapbench.graphs.variants import FORMATS as VARIANT


wildcard_constraints:
    leaves=r"\d+",
    depth=r"\d+",
    n=r"\d+",
    tree="binary|path|pruefer",
    bench="zinc|mnist|cifar10|peptides_func|peptides_struct",


localrules:
    graph_download,


graph_data_targets = partial(dataset_paths, config)


# Planted star: targets from a randomly initialised edge GCN of depth k (planted.py).
rule graph_planted_star:
    output:
        data=directory(f"{GRAPHS}/planted_star/{VARIANT['planted_star']}"),
    log:
        f"results/logs/graphs/planted_star/{VARIANT['planted_star']}.log",
    benchmark:
        f"results/benchmarks/graphs/planted_star/{VARIANT['planted_star']}.tsv"
    conda:
        "../../envs/graphs.yaml"
    params:
        width=lookup(dpath="graphs/planted_star/width", within=config),
        centre=lambda wc: "" if config["graphs"]["planted_star"]["centre_features"] else "--no-centre-features",
        n_graphs=lookup(dpath="graphs/planted_star/n_graphs", within=config),
        split=lookup(dpath="graphs/split", within=config),
        seed=lookup(dpath="seed", within=config),
    message:
        "planted star: {wildcards.leaves} leaves, planted depth {wildcards.depth}"
    shell:
        "python3 -m gapbench graphs make planted-star --leaves {wildcards.leaves} --depth {wildcards.depth}"
        " --width {params.width:q} {params.centre} --n-graphs {params.n_graphs:q} --split {params.split:q} --seed {params.seed:q}"
        " --out {output.data} --no-progress > {log} 2>&1"


# MAP on hub-and-paths graphs: exact labels by dynamic programming (map_paths.py).
rule graph_map:
    output:
        data=directory(f"{GRAPHS}/map/{VARIANT['map']}"),
    log:
        f"results/logs/graphs/map/{VARIANT['map']}.log",
    benchmark:
        f"results/benchmarks/graphs/map/{VARIANT['map']}.tsv"
    conda:
        "../../envs/graphs.yaml"
    params:
        unary_scale=lookup(dpath="graphs/map/unary_scale", within=config),
        hard_fraction=lookup(dpath="graphs/map/hard_fraction", within=config),
        n_graphs=lookup(dpath="graphs/map/n_graphs", within=config),
        split=lookup(dpath="graphs/split", within=config),
        seed=lookup(dpath="seed", within=config),
    message:
        "MAP on hub-and-paths graphs with n={wildcards.n} path vertices"
    shell:
        "python3 -m gapbench graphs make map --n {wildcards.n} --unary-scale {params.unary_scale:q}"
        " --hard-fraction {params.hard_fraction:q}"
        " --n-graphs {params.n_graphs:q} --split {params.split:q} --seed {params.seed:q}"
        " --out {output.data} --no-progress > {log} 2>&1"


# Ising marginals on trees: exact by sum-product (ising.py).
rule graph_ising:
    output:
        data=directory(f"{GRAPHS}/ising/{VARIANT['ising']}"),
    log:
        f"results/logs/graphs/ising/{VARIANT['ising']}.log",
    benchmark:
        f"results/benchmarks/graphs/ising/{VARIANT['ising']}.tsv"
    conda:
        "../../envs/graphs.yaml"
    params:
        n_nodes=lookup(dpath="graphs/ising/n_nodes/{tree}", within=config),
        coupling=lookup(dpath="graphs/ising/coupling", within=config),
        field_std=lookup(dpath="graphs/ising/field_std", within=config),
        n_graphs=lookup(dpath="graphs/ising/n_graphs", within=config),
        split=lookup(dpath="graphs/split", within=config),
        seed=lookup(dpath="seed", within=config),
    message:
        "Ising marginals on {wildcards.tree} trees"
    shell:
        "python3 -m gapbench graphs make ising --tree {wildcards.tree} --n-nodes {params.n_nodes:q}"
        " --coupling {params.coupling:q} --field-std {params.field_std:q} --n-graphs {params.n_graphs:q}"
        " --split {params.split:q} --seed {params.seed:q} --out {output.data} --no-progress > {log} 2>&1"


# Duplicate task on a star: label = another leaf has the same input (duplicates.py).
rule graph_duplicates:
    output:
        data=directory(f"{GRAPHS}/duplicates/{VARIANT['duplicates']}"),
    log:
        f"results/logs/graphs/duplicates/{VARIANT['duplicates']}.log",
    benchmark:
        f"results/benchmarks/graphs/duplicates/{VARIANT['duplicates']}.tsv"
    conda:
        "../../envs/graphs.yaml"
    params:
        n_graphs=lookup(dpath="graphs/duplicates/n_graphs", within=config),
        split=lookup(dpath="graphs/split", within=config),
        seed=lookup(dpath="seed", within=config),
    message:
        "duplicate task on stars with {wildcards.n} leaves"
    shell:
        "python3 -m gapbench graphs make duplicates --n {wildcards.n} --n-graphs {params.n_graphs:q}"
        " --split {params.split:q} --seed {params.seed:q} --out {output.data} --no-progress > {log} 2>&1"


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
