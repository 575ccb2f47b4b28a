# train_pde stage (Part II models): one job per (observed dataset, model, seed), plus the solver baseline.
# Paths: results/train/pde/{eq}/nu{nu}/{obs}/{model}/seed{seed}/{metrics.json, rollout.csv, curves.csv, *.pt}.
from functools import partial

from gapbench.train import pde_plan

TRAIN_PDE = "results/train/pde/{eq}/nu{nu}/{obs}"
OBS_DATA = "results/data/pde/{eq}/nu{nu}/obs/{obs}"


wildcard_constraints:
    model=wildcard_pattern({name: m for name, m in PDE_MODELS.items() if m.network}),
    seed=r"\d+",
    obs=r"(fourier|subsample)-r\d+-s[0-9.e+-]+",


train_pde_targets = partial(pde_plan.targets, config)


# Train one surrogate on one observed dataset with one seed; evaluate its best checkpoint on the test split.
rule train_pde_model:
    input:
        train=f"{OBS_DATA}/train.zarr",
        valid=f"{OBS_DATA}/valid.zarr",
        test=f"{OBS_DATA}/test.zarr",
    output:
        metrics=f"{TRAIN_PDE}/{{model}}/seed{{seed}}/metrics.json",
        rollout=f"{TRAIN_PDE}/{{model}}/seed{{seed}}/rollout.csv",
        curves=f"{TRAIN_PDE}/{{model}}/seed{{seed}}/curves.csv",
    log:
        "results/logs/train/pde/{eq}/nu{nu}/{obs}/{model}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/pde/{eq}/nu{nu}/{obs}/{model}/seed{seed}.tsv"
    message:
        "PDE {wildcards.eq} nu={wildcards.nu} {wildcards.obs}: training {wildcards.model}, seed {wildcards.seed}"
    threads: lookup(dpath="train/pde/threads", within=config)
    resources:
        gpu=gpu_slots(lookup(dpath="train/pde/device", within=config)),
    params:
        width=lookup(dpath="train/pde/{eq}/width", within=config),
        n_layers=lookup(dpath="train/pde/{eq}/n_layers", within=config),
        modes=lookup(dpath="train/pde/{eq}/modes", within=config),
        ff_factor=lookup(dpath="train/pde/{eq}/ff_factor", within=config),
        memory=pde_plan.memory_flags(config),
        epochs=lookup(dpath="train/pde/{eq}/epochs", within=config),
        batch_size=lookup(dpath="train/pde/{eq}/batch_size", within=config),
        lr=lookup(dpath="train/pde/{eq}/lr", within=config),
        weight_decay=lookup(dpath="train/pde/{eq}/weight_decay", within=config),
        grad_clip=lookup(dpath="train/pde/{eq}/grad_clip", within=config),
        patience=lookup(dpath="train/pde/{eq}/patience", within=config),
        eval_every=lookup(dpath="train/pde/{eq}/eval_every", within=config),
        train_noise=lookup(dpath="train/pde/{eq}/train_noise", within=config),
        max_train_samples=lookup(dpath="train/pde/{eq}/max_train_samples", within=config),
        eval_batch_size=lookup(dpath="train/pde/{eq}/eval_batch_size", within=config),
        checkpoint_every=lookup(dpath="train/pde/checkpoint_every", within=config),
        device=lookup(dpath="train/pde/device", within=config),
        flags=pde_plan.flags(config),
        fail=inject_failure,
    conda:
        "../../envs/train.yaml"
    shell:
        "python3 -m gapbench train pde --data-dir $(dirname {input.train}) --model {wildcards.model} --seed {wildcards.seed}"
        " --out $(dirname {output.metrics}) --device {params.device:q} --threads {threads}"
        " --width {params.width:q} --n-layers {params.n_layers:q} --modes {params.modes:q}"
        " --ff-factor {params.ff_factor:q} {params.memory} --epochs {params.epochs:q}"
        " --batch-size {params.batch_size:q} --lr {params.lr:q} --weight-decay {params.weight_decay:q}"
        " --grad-clip {params.grad_clip:q} --patience {params.patience:q} --eval-every {params.eval_every:q}"
        " --train-noise {params.train_noise:q} --max-train-samples {params.max_train_samples:q}"
        " --eval-batch-size {params.eval_batch_size:q} --checkpoint-every {params.checkpoint_every:q}"
        " {params.flags} {params.fail} --no-progress > {log} 2>&1"


# Numerical baseline: the Dedalus solver at the observed resolution from each observed first test frame.
rule train_pde_solver:
    input:
        test=f"{OBS_DATA}/test.zarr",
    output:
        metrics=f"{TRAIN_PDE}/solver/seed0/metrics.json",
        rollout=f"{TRAIN_PDE}/solver/seed0/rollout.csv",
        curves=f"{TRAIN_PDE}/solver/seed0/curves.csv",
    log:
        "results/logs/train/pde/{eq}/nu{nu}/{obs}/solver/seed0.log",
    benchmark:
        "results/benchmarks/train/pde/{eq}/nu{nu}/{obs}/solver/seed0.tsv"
    message:
        "PDE {wildcards.eq} nu={wildcards.nu} {wildcards.obs}: numerical baseline (Dedalus at the observed resolution)"
    params:
        fail=inject_failure,
    conda:
        "../../envs/train.yaml"
    shell:
        "python3 -m gapbench train pde --data-dir $(dirname {input.test}) --model solver --seed 0"
        " --out $(dirname {output.metrics}) {params.fail} --no-progress > {log} 2>&1"
