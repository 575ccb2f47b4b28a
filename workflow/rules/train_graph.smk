# train_graph stage (Part I models): node vs edge GCNs, directed variants and DeepSets on the graph datasets.
# One rule, defined once and instantiated per experiment (train_graph_{kind}: its outputs are the experiment's
# runs, and the cluster profiles size each experiment's jobs by rule name). One job per (dataset, seed) trains
# every model listed in config train.graph.{experiment}.models, each a small sweep selected by validation
# (`gapbench train graph`, src/gapbench/train/graph.py); outputs per model under
# results/train/graph/{kind}/{variant}/{model}[-ef|-ids][-d{depth}-w{width}]/seed{seed}/. Paths and flags:
# src/gapbench/train/graph_paths.py. Docs: docs/gnn.md.

from functools import partial

from gapbench.train.graph_paths import (
    EXTRAS,
    dataset_dir,
    experiments,
    job_outputs,
    jobs,
    run_dir_template,
    targets,
    train_args,
    variant_regex,
)


wildcard_constraints:
    seed=r"\d+",


train_graph_targets = partial(targets, config)


for experiment, extra in jobs(config):
    kind = experiments()[experiment]
    suffix = EXTRAS[extra] if extra else ""
    rule_suffix = f"_{extra}" if extra else ""
    about = f" ({extra})" if extra else ""

    rule:
        name:
            f"train_graph_{kind}{rule_suffix}"
        input:
            data=lambda wc, experiment=experiment: dataset_dir(experiment, wc.variant),
        output:
            **job_outputs(config, experiment, "{variant}", extra=extra),
        log:
            f"results/logs/train/graph/{kind}/{{variant}}/seed{{seed}}{suffix}.log",
        benchmark:
            f"results/benchmarks/train/graph/{kind}/{{variant}}/seed{{seed}}{suffix}.tsv"
        wildcard_constraints:
            variant=variant_regex(experiment),
        conda:
            "../../envs/train.yaml"
        threads: lookup(dpath="train/graph/threads", within=config)
        resources:
            gpu=gpu_slots(lookup(dpath="train/graph/device", within=config)),
        params:
            out=lambda wc, experiment=experiment, extra=extra: run_dir_template(
                config, experiment, wc.variant, wc.seed, extra
            ),
            args=lambda wc, experiment=experiment, extra=extra: train_args(config, experiment, wc.variant, extra),
            fail=inject_failure,
        message:
            f"{experiment}{about} on {{wildcards.variant}}, " "seed {wildcards.seed}: training every configured model"
        shell:
            "python3 -m gapbench train graph --data {input.data} --out {params.out:q} {params.args:q}"
            " --seed {wildcards.seed} --threads {threads} {params.fail} --no-progress > {log} 2>&1"
