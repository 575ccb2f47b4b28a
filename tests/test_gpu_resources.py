"""GPU-aware local runs: training rules declare `resources: gpu`, the local profile caps it at the GPUs visible.

A dry run of configs/ci.yaml with CUDA training builds the real DAG; then Snakemake's own scheduler is asked
to pick among all its GPU training jobs at once, with the `gpu` total the local profile computes: with one
visible device it starts exactly one, with two devices two.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yte

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "workflow" / "profiles" / "default" / "config.yaml"
TRAINERS = {"train_pde_model", "train_graph_planted_star", "train_graph_map", "train_graph_ising",
            "train_graph_duplicates", "train_graph_benchmark", "train_graph_memory",
            "train_graph_benchmark_edge_features", "train_graph_map_path_ids"}


def profile_gpus(**env) -> int:
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with open(PROFILE) as fh:
            return yte.process_yaml(fh, require_use_yte=True)["resources"]["gpu"]
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


def dry_run(tmp_path: Path, device: str, gpus: int):
    """Dry-run the `train` target; return its jobs and the training jobs Snakemake's scheduler starts first when
    all of them are offered at once with the full budget (4 cores, `gpus` GPUs)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings

    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text())
    config = {"train": {"graph": {"device": device}, "pde": {"device": device}}}
    cwd = os.getcwd()
    try:
        with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
            wf = api.workflow(resource_settings=ResourceSettings(cores=4, resources={"gpu": gpus}),
                              config_settings=ConfigSettings(configfiles=[REPO / "configs" / "ci.yaml"], config=config),
                              snakefile=REPO / "Snakefile", workdir=tmp_path)
            wf.dag(DAGSettings(targets={"train"})).execute_workflow(executor="dryrun")
            workflow = wf._workflow
            scheduler = workflow.scheduler
            scheduler.resources = dict(scheduler.global_resources)  # the dry run leaves its bookkeeping behind
            jobs = list(workflow.dag.jobs)
            return jobs, scheduler.job_selector([j for j in jobs if j.rule.name in TRAINERS])
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("visible, expected", [("0", 1), ("0,1", 2)])
def test_gpu_jobs_never_share_a_device(tmp_path, visible, expected):
    gpus = profile_gpus(CUDA_VISIBLE_DEVICES=visible, GAPBENCH_GPUS="")
    assert gpus == expected
    jobs, started = dry_run(tmp_path, "cuda", gpus)
    trainers = [j for j in jobs if j.rule.name in TRAINERS]
    assert len(trainers) >= 4 and all(j.resources["gpu"] == 1 for j in trainers)
    assert all(j.resources.get("gpu", 0) == 0 for j in jobs if j.rule.name not in TRAINERS)  # solver: CPU
    assert len(started) == expected  # 4 cores would allow 4 jobs; the GPU count allows `expected`


def test_cpu_training_declares_no_gpu_and_gpus_can_be_set(tmp_path):
    jobs, started = dry_run(tmp_path, "cpu", 1)
    trainers = [j for j in jobs if j.rule.name in TRAINERS]
    assert trainers and all(j.resources.get("gpu", 0) == 0 for j in trainers)
    assert len(started) == 4  # limited by the 4 cores only
    assert profile_gpus(CUDA_VISIBLE_DEVICES="0", GAPBENCH_GPUS="3") == 3
