# train_pde stage (Part II models): one job per (observed dataset, seed) training every model (or per model,
# train.pde.job_scope: run), plus the baselines (seed 0): persistence and zero (one job), the Dedalus solver at
# each solver resolution, the stabilised coarse solver.
# Paths: results/train/pde/{eq}/{law}/nu{nu}/{obs}/{model}/seed{seed}/{metrics.json, rollout.csv, per_traj.csv,
# curves.csv,
# predictions.zarr, *.pt}.
from functools import partial

from gapbench.train import pde_plan

TRAIN_PDE = "results/train/pde/{eq}/{law}/nu{nu}/{obs}"
OBS_DATA = "results/data/pde/{eq}/{law}/nu{nu}/obs/{obs}"


wildcard_constraints:
    model=wildcard_pattern(PDE_MODELS),
    solver="solver|solver_hv",
    sres=r"\d+",
    seed=r"\d+",
    obs=r"(fourier|subsample)-r\d+-s[0-9.e+-]+",


train_pde_targets = partial(pde_plan.targets, config)


# Train surrogates on one observed dataset with one seed; evaluate each one's best checkpoint on the test split.
# train.pde.job_scope: `dataset` (the default) trains every model of train.pde.models in one job (`gapbench
# each`: one process, one Python/torch start-up), `run` one job per model (configs/paper.yaml, clusters).
if pde_plan.job_scope(config) == "run":

    rule train_pde_model:
        input:
            train=f"{OBS_DATA}/train.zarr",
            valid=f"{OBS_DATA}/valid.zarr",
            test=f"{OBS_DATA}/test.zarr",
        output:
            **pde_run_outputs(f"{TRAIN_PDE}/{{model}}/seed{{seed}}"),
        log:
            "results/logs/train/pde/{eq}/{law}/nu{nu}/{obs}/{model}/seed{seed}.log",
        benchmark:
            "results/benchmarks/train/pde/{eq}/{law}/nu{nu}/{obs}/{model}/seed{seed}.tsv"
        conda:
            "../../envs/train.yaml"
        threads: lookup(dpath="train/pde/threads", within=config)
        resources:
            gpu=gpu_slots(lookup(dpath="train/pde/device", within=config)),
        params:
            command=pde_plan.model_command(config),
        message:
            "PDE {wildcards.eq} {wildcards.law} nu={wildcards.nu} {wildcards.obs}: training {wildcards.model}, seed {wildcards.seed}"
        shell:
            "python3 -m gapbench {params.command:q} --threads {threads} --no-progress > {log} 2>&1"

else:

    rule train_pde_model:
        input:
            train=f"{OBS_DATA}/train.zarr",
            valid=f"{OBS_DATA}/valid.zarr",
            test=f"{OBS_DATA}/test.zarr",
        output:
            **pde_run_outputs(*[f"{TRAIN_PDE}/{m}/seed{{seed}}" for m in config["train"]["pde"]["models"]]),
        log:
            "results/logs/train/pde/{eq}/{law}/nu{nu}/{obs}/seed{seed}.log",
        benchmark:
            "results/benchmarks/train/pde/{eq}/{law}/nu{nu}/{obs}/seed{seed}.tsv"
        conda:
            "../../envs/train.yaml"
        threads: lookup(dpath="train/pde/threads", within=config)
        resources:
            gpu=gpu_slots(lookup(dpath="train/pde/device", within=config)),
        params:
            commands=pde_plan.model_commands(config),
        message:
            "PDE {wildcards.eq} {wildcards.law} nu={wildcards.nu} {wildcards.obs}: training every model, seed {wildcards.seed}"
        shell:
            "python3 -m gapbench each --no-progress {params.commands:q} > {log} 2>&1"


# Trivial predictors on the test split over the horizon, both in one job: persistence (u(t) = observed frame 0)
# and zero.
rule train_pde_trivial:
    input:
        test=f"{OBS_DATA}/test.zarr",
    output:
        **pde_run_outputs(*[f"{TRAIN_PDE}/{t}/seed0" for t in pde_plan.TRIVIAL]),
    log:
        "results/logs/train/pde/{eq}/{law}/nu{nu}/{obs}/trivial.log",
    benchmark:
        "results/benchmarks/train/pde/{eq}/{law}/nu{nu}/{obs}/trivial.tsv"
    conda:
        "../../envs/train.yaml"
    params:
        commands=pde_plan.trivial_commands(config),
    message:
        "PDE {wildcards.eq} {wildcards.law} nu={wildcards.nu} {wildcards.obs}: trivial predictors (persistence, zero)"
    shell:
        "python3 -m gapbench each --no-progress {params.commands:q} > {log} 2>&1"


# Numerical baseline: the Dedalus solver on {sres} points from each observed first test frame (spectrally
# interpolated), scored on the observed grid; solver_hv adds hyperviscosity (the stabilised coarse run).
rule train_pde_solver:
    input:
        test=f"{OBS_DATA}/test.zarr",
    output:
        **pde_run_outputs(f"{TRAIN_PDE}/{{solver}}-r{{sres}}/seed0"),
    log:
        "results/logs/train/pde/{eq}/{law}/nu{nu}/{obs}/{solver}-r{sres}/seed0.log",
    benchmark:
        "results/benchmarks/train/pde/{eq}/{law}/nu{nu}/{obs}/{solver}-r{sres}/seed0.tsv"
    conda:
        "../../envs/train.yaml"
    params:
        args=pde_plan.baseline_args(config),
    message:
        "PDE {wildcards.eq} {wildcards.law} nu={wildcards.nu} {wildcards.obs}: numerical baseline {wildcards.solver} on "
        "{wildcards.sres} points"
    shell:
        "python3 -m gapbench train pde-baseline --data-dir $(dirname {input.test}) --predictor {wildcards.solver}"
        " --resolution {wildcards.sres} {params.args:q} --out $(dirname {output.metrics}) --no-progress > {log} 2>&1"
