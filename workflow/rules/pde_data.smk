# pde_data stage (Part II data): Dedalus shards -> one store per (eq, nu, split) -> observed stores, omega_f.
# Paths: results/data/pde/{eq}/nu{nu}/{sim/{split}.zarr, obs/{method}-r{res}-s{sigma}/{split}.zarr, omega_f.csv}.
from functools import partial

from gapbench.pde import plan

PDE = "results/data/pde/{eq}/nu{nu}"  # = plan.run_dir
PDE_LOG = "results/logs/pde/{eq}/nu{nu}"
PDE_BENCH = "results/benchmarks/pde/{eq}/nu{nu}"


wildcard_constraints:
    eq="ks|ns",
    nu=r"[0-9.e+-]+",
    split="train|valid|test",
    shard=r"\d+",
    method="fourier|subsample",
    res=r"\d+",
    sigma=r"[0-9.e+-]+",


pde_data_targets = partial(plan.targets, config)
pde_shards = plan.shard_inputs(config)
ns_regime = plan.ns_regime(config)


# One shard of KS trajectories (a temp store, merged below).
rule pde_shard_ks:
    output:
        store=temp(directory("results/data/pde/ks/nu{nu}/sim/{split}/shard{shard}.zarr")),
    log:
        "results/logs/pde/ks/nu{nu}/sim/{split}/shard{shard}.log",
    benchmark:
        "results/benchmarks/pde/ks/nu{nu}/sim/{split}/shard{shard}.tsv"
    conda:
        "../../envs/pde.yaml"
    params:
        length=lookup(dpath="pde/ks/length", within=config),
        resolution=lookup(dpath="pde/ks/resolution", within=config),
        t_end=lookup(dpath="pde/ks/t_end", within=config),
        n_frames=lookup(dpath="pde/ks/n_frames", within=config),
        dt=lookup(dpath="pde/ks/dt", within=config),
        stepper=lookup(dpath="pde/ks/stepper", within=config),
        batch=lookup(dpath="pde/ks/batch", within=config),
        max_redraws=lookup(dpath="pde/ks/max_redraws", within=config),
        n_samples=lookup(dpath="pde/ks/n_samples/{split}", within=config),
        shard_size=lookup(dpath="pde/ks/shard_size", within=config),
        seed=lookup(dpath="seed", within=config),
    message:
        "KS nu={wildcards.nu}: simulating shard {wildcards.shard} of the {wildcards.split} split"
    shell:
        "python3 -m gapbench pde shard ks --nu {wildcards.nu} --length {params.length:q} --resolution {params.resolution:q}"
        " --t-end {params.t_end:q} --n-frames {params.n_frames:q} --dt {params.dt:q} --stepper {params.stepper:q}"
        " --batch {params.batch:q} --max-redraws {params.max_redraws:q} --seed {params.seed:q}"
        " --split {wildcards.split} --n-samples {params.n_samples:q} --shard-size {params.shard_size:q}"
        " --shard {wildcards.shard} --out {output.store} --no-progress > {log} 2>&1"


# One shard of NS trajectories of one regime (a temp store, merged below).
rule pde_shard_ns:
    output:
        store=temp(directory("results/data/pde/ns/nu{nu}/sim/{split}/shard{shard}.zarr")),
    log:
        "results/logs/pde/ns/nu{nu}/sim/{split}/shard{shard}.log",
    benchmark:
        "results/benchmarks/pde/ns/nu{nu}/sim/{split}/shard{shard}.tsv"
    conda:
        "../../envs/pde.yaml"
    params:
        resolution=lookup(dpath="pde/ns/resolution", within=config),
        t_end=lookup(dpath="pde/ns/regimes/{r}/t_end", within=config, r=ns_regime),
        n_frames=lookup(dpath="pde/ns/regimes/{r}/n_frames", within=config, r=ns_regime),
        dt=lookup(dpath="pde/ns/regimes/{r}/dt", within=config, r=ns_regime),
        stepper=lookup(dpath="pde/ns/stepper", within=config),
        batch=lookup(dpath="pde/ns/batch", within=config),
        max_redraws=lookup(dpath="pde/ns/max_redraws", within=config),
        n_samples=lookup(dpath="pde/ns/n_samples/{split}", within=config),
        shard_size=lookup(dpath="pde/ns/shard_size", within=config),
        seed=lookup(dpath="seed", within=config),
    message:
        "NS nu={wildcards.nu}: simulating shard {wildcards.shard} of the {wildcards.split} split"
    shell:
        "python3 -m gapbench pde shard ns --nu {wildcards.nu} --resolution {params.resolution:q}"
        " --t-end {params.t_end:q} --n-frames {params.n_frames:q} --dt {params.dt:q} --stepper {params.stepper:q}"
        " --batch {params.batch:q} --max-redraws {params.max_redraws:q} --seed {params.seed:q}"
        " --split {wildcards.split} --n-samples {params.n_samples:q} --shard-size {params.shard_size:q}"
        " --shard {wildcards.shard} --out {output.store} --no-progress > {log} 2>&1"


# Merge the shards of one split into one simulation store (lazy, bounded memory).
rule pde_merge:
    input:
        shards=pde_shards,
    output:
        store=directory(f"{PDE}/sim/{{split}}.zarr"),
    log:
        f"{PDE_LOG}/sim/{{split}}.merge.log",
    benchmark:
        f"{PDE_BENCH}/sim/{{split}}.merge.tsv"
    conda:
        "../../envs/pde.yaml"
    message:
        "{wildcards.eq} nu={wildcards.nu}: merging {wildcards.split} shards"
    shell:
        "python3 -m gapbench pde merge {input.shards} --out {output.store} --no-progress > {log} 2>&1"


# Observe one simulation store: truncate/subsample to a resolution, add relative noise.
rule pde_observe:
    input:
        sim=rules.pde_merge.output.store,
    output:
        store=directory(f"{PDE}/obs/{{method}}-r{{res}}-s{{sigma}}/{{split}}.zarr"),
    log:
        f"{PDE_LOG}/obs/{{method}}-r{{res}}-s{{sigma}}/{{split}}.log",
    benchmark:
        f"{PDE_BENCH}/obs/{{method}}-r{{res}}-s{{sigma}}/{{split}}.tsv"
    conda:
        "../../envs/pde.yaml"
    params:
        seed=lookup(dpath="seed", within=config),
    message:
        "{wildcards.eq} nu={wildcards.nu}: observing {wildcards.split} by {wildcards.method} at "
        "{wildcards.res} points, noise sigma={wildcards.sigma}"
    shell:
        "python3 -m gapbench pde observe --sim {input.sim} --method {wildcards.method} --resolution {wildcards.res}"
        " --sigma {wildcards.sigma} --seed {params.seed:q} --out {output.store} --no-progress > {log} 2>&1"


# Unobserved energy fraction omega_f of the training trajectories, per observed resolution.
rule pde_omega:
    input:
        sim=expand(rules.pde_merge.output.store, split="train", allow_missing=True),
    output:
        table=f"{PDE}/omega_f.csv",
    log:
        f"{PDE_LOG}/omega_f.log",
    benchmark:
        f"{PDE_BENCH}/omega_f.tsv"
    conda:
        "../../envs/pde.yaml"
    params:
        resolutions=lookup(dpath="pde/observe/{eq}/resolutions", within=config),
    message:
        "{wildcards.eq} nu={wildcards.nu}: omega_f at the observed resolutions"
    shell:
        "python3 -m gapbench pde omega --sim {input.sim} --resolutions {params.resolutions:q} --out {output.table} --no-progress > {log} 2>&1"
