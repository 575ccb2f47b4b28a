# pde_data stage (Part II data): Dedalus shards -> one store per (eq, law, nu, split) -> observed stores, omega_f.
# Paths: results/data/pde/{eq}/{law}/nu{nu}/{sim/{split}.zarr, obs/{method}-r{res}-s{sigma}/{split}.zarr,
# omega_f.csv}; law: attractor (frames after a burn-in) | transient (frames from the initial condition).
from functools import partial

from gapbench.pde import plan
from gapbench.pde.equations import EQUATIONS, LAWS

PDE = "results/data/pde/{eq}/{law}/nu{nu}"  # = plan.run_dir
PDE_LOG = "results/logs/pde/{eq}/{law}/nu{nu}"
PDE_BENCH = "results/benchmarks/pde/{eq}/{law}/nu{nu}"


wildcard_constraints:
    eq=wildcard_pattern(EQUATIONS),
    law=wildcard_pattern(LAWS),
    nu=r"[0-9.e+-]+",
    split="train|valid|test",
    shard=r"\d+",
    method="fourier|subsample",
    res=r"\d+",
    sigma=r"[0-9.e+-]+",


pde_data_targets = partial(plan.targets, config)
pde_shards = plan.shard_inputs(config)  # every split's shards of one simulation


# One shard of trajectories of one simulation of any registered equation (a temp store, merged below); its
# settings come from the section pde.{eq} (gapbench.pde.equations.shard_args).
rule pde_shard:
    output:
        store=temp(directory(f"{PDE}/sim/{{split}}/shard{{shard}}.zarr")),
    log:
        f"{PDE_LOG}/sim/{{split}}/shard{{shard}}.log",
    benchmark:
        f"{PDE_BENCH}/sim/{{split}}/shard{{shard}}.tsv"
    priority: 1  # the simulation chain feeds the longest training jobs: it goes before graph jobs
    conda:
        "../../envs/pde.yaml"
    params:
        sim=plan.shard_args(config),
    message:
        "{wildcards.eq} {wildcards.law} nu={wildcards.nu}: simulating shard {wildcards.shard} of the {wildcards.split} split"
    shell:
        "python3 -m gapbench pde shard {wildcards.eq} {params.sim:q} --split {wildcards.split}"
        " --shard {wildcards.shard} --out {output.store} --no-progress > {log} 2>&1"


# Merge the shards of each split into one simulation store per split (lazy, bounded memory); one job (`gapbench
# each`: one process) merges the three splits of a simulation.
rule pde_merge:
    input:
        shards=pde_shards,
    output:
        **{split: directory(f"{PDE}/sim/{split}.zarr") for split in plan.SPLITS},
    log:
        f"{PDE_LOG}/sim/merge.log",
    benchmark:
        f"{PDE_BENCH}/sim/merge.tsv"
    priority: 1  # the simulation chain feeds the longest training jobs: it goes before graph jobs
    conda:
        "../../envs/pde.yaml"
    params:
        commands=plan.merge_commands(config),
    message:
        "{wildcards.eq} {wildcards.law} nu={wildcards.nu}: merging the shards of each split"
    shell:
        "python3 -m gapbench each --no-progress {params.commands:q} > {log} 2>&1"


# Observe the simulation stores of one simulation: truncate/subsample to a resolution, add relative noise; one
# job (one process) observes the three splits.
rule pde_observe:
    input:
        **rules.pde_merge.output,
    output:
        **{split: directory(f"{PDE}/obs/{{method}}-r{{res}}-s{{sigma}}/{split}.zarr") for split in plan.SPLITS},
    log:
        f"{PDE_LOG}/obs/{{method}}-r{{res}}-s{{sigma}}.log",
    benchmark:
        f"{PDE_BENCH}/obs/{{method}}-r{{res}}-s{{sigma}}.tsv"
    priority: 1  # the simulation chain feeds the longest training jobs: it goes before graph jobs
    conda:
        "../../envs/pde.yaml"
    params:
        commands=plan.observe_commands(config),
    message:
        "{wildcards.eq} {wildcards.law} nu={wildcards.nu}: observing every split by {wildcards.method} at "
        "{wildcards.res} points, noise sigma={wildcards.sigma}"
    shell:
        "python3 -m gapbench each --no-progress {params.commands:q} > {log} 2>&1"


# Unobserved energy fraction omega_f per observed resolution, over the scored frames of the test trajectories
# (after the warm-up, within the horizon: train.pde.{eq}.warmup / horizon).
rule pde_omega:
    input:
        sim=rules.pde_merge.output.test,
    output:
        table=f"{PDE}/omega_f.csv",
    log:
        f"{PDE_LOG}/omega_f.log",
    benchmark:
        f"{PDE_BENCH}/omega_f.tsv"
    conda:
        "../../envs/pde.yaml"
    params:
        args=plan.omega_args(config),
    message:
        "{wildcards.eq} {wildcards.law} nu={wildcards.nu}: omega_f at the observed resolutions"
    shell:
        "python3 -m gapbench pde omega --sim {input.sim} {params.args:q} --out {output.table} --no-progress > {log} 2>&1"
