# train_graph stage (Part I models): node vs edge GCNs, directed variants and DeepSets on the graph datasets.
# One rule, defined once and instantiated per experiment (train_graph_{kind}: its outputs are the experiment's
# runs, and the cluster profiles size each experiment's jobs by rule name). A job trains every model listed in
# config train.graph.{experiment}.models on its datasets and seeds, each a small sweep selected by validation
# (`gapbench train graph`, src/gapbench/train/graph.py); outputs per model under
# results/train/graph/{kind}/{variant}/{model}[-ef|-ids][-d{depth}-w{width}]/seed{seed}/. Paths and flags:
# src/gapbench/train/graph_paths.py. Docs: docs/gnn.md.

from functools import partial

from gapbench.train.graph_paths import EXTRAS, experiments, job, jobs, targets, train_args


wildcard_constraints:
    seed=r"\d+",


train_graph_targets = partial(targets, config)


# train.graph.job_scope: `experiment` (the default) makes one job of each experiment - no wildcards, every
# dataset and seed trained in turn by one process; `dataset` (configs/paper.yaml, clusters) one job per
# (dataset, seed), wildcards {variant} and {seed}. graph_paths.job gives the rule's paths in either scope.
for experiment, extra in jobs(config):
    kind = experiments()[experiment]
    spec = job(config, experiment, extra)
    if spec is None:
        continue
    about = f"{experiment} ({extra})" if extra else experiment
    on = "{wildcards.variant}, seed {wildcards.seed}" if spec["constraints"] else "every dataset and seed"

    rule:
        name:
            f"train_graph_{kind}" + (f"_{extra}" if extra else "")
        input:
            data=spec["data"],
        output:
            **spec["outputs"],
        log:
            spec["log"],
        benchmark:
            spec["benchmark"]
        wildcard_constraints:
            **spec["constraints"],
        conda:
            "../../envs/train.yaml"
        threads: lookup(dpath="train/graph/threads", within=config)
        resources:
            gpu=gpu_slots(lookup(dpath="train/graph/device", within=config)),
        params:
            out=spec["out"],
            seeds=spec["seeds"],
            args=lambda wc, experiment=experiment, extra=extra: train_args(
                config, experiment, getattr(wc, "variant", None), extra
            ),
            fail=inject_failure,
        message:
            f"{about} on {on}: training every configured model"
        shell:
            "python3 -m gapbench train graph --data {input.data:q} --out {params.out:q} --seed {params.seeds:q}"
            " {params.args:q} --threads {threads} {params.fail} --no-progress > {log} 2>&1"
