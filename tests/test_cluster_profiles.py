"""The execution profiles and the SLURM scripts agree with the workflow (fast, no cluster needed)."""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
import yte

REPO = Path(__file__).resolve().parents[1]
SLURM = REPO / "profiles" / "slurm" / "config.yaml"
SLURM_CI = REPO / "profiles" / "slurm-ci" / "config.yaml"
LOCAL = REPO / "workflow" / "profiles" / "default" / "config.yaml"


def load(path: Path, **env) -> dict:
    """A profile as Snakemake reads it (YAML through yte, which evaluates `?expr` values)."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with open(path) as fh:
            return yte.process_yaml(fh, require_use_yte=True)
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


@functools.lru_cache(maxsize=1)
def workflow_rules() -> tuple[set[str], set[str]]:
    """(all rule names, local rule names) of the workflow as Snakemake parses it, on configs/paper.yaml (so the
    rules defined only under a config switch exist, and rules defined in a loop carry their names)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    cwd = os.getcwd()
    try:
        with tempfile.TemporaryDirectory() as tmp, SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
            wf = api.workflow(resource_settings=ResourceSettings(cores=1),
                              config_settings=ConfigSettings(configfiles=[REPO / "configs" / "paper.yaml"]),
                              snakefile=REPO / "Snakefile", workdir=Path(tmp))
            workflow = wf._workflow
            return {rule.name for rule in workflow.rules}, set(workflow._localrules)
    finally:
        os.chdir(cwd)


def gpu_rules(profile: dict) -> dict[str, dict]:
    return {rule: res for rule, res in profile["set-resources"].items() if res.get("gpu")}


def test_profiles_name_only_existing_rules():
    names, local = workflow_rules()
    for path in (SLURM, SLURM_CI):
        profile = load(path)
        for key in ("set-resources", "set-threads", "groups"):
            unknown = set(profile.get(key, {})) - names
            assert not unknown, f"{path.relative_to(REPO)} {key} names rules that do not exist: {unknown}"
        assert not set(profile.get("groups", {})) & local, "local rules cannot be grouped for submission"


def test_every_submitted_rule_has_slurm_resources():
    names, local = workflow_rules()
    profile = load(SLURM)
    missing = names - local - set(profile["set-resources"])
    assert not missing, f"profiles/slurm/config.yaml gives these rules only the defaults: {missing}"


def test_training_rules_request_one_gpu_on_the_gpu_partition():
    names, _ = workflow_rules()
    profile = load(SLURM)
    trainers = {n for n in names if n.startswith("train_") and n not in ("train_pde_solver", "train_pde_trivial")}
    gpus = gpu_rules(profile)
    assert set(gpus) == trainers
    partitions = {res["slurm_partition"] for res in gpus.values()}
    assert len(partitions) == 1 and partitions != {profile["default-resources"]["slurm_partition"]}
    assert all(res["gpu"] == 1 and res["cpus_per_gpu"] == "threads" for res in gpus.values())
    # A submission holds one GPU, so a group of GPU jobs runs them in turn and asks for the sum of runtimes.
    assert profile["resources"] == {"gpu": 1} and profile["set-resource-scopes"] == {"gpu": "local"}
    assert set(profile["groups"]) <= trainers


def test_ci_overlay_keeps_the_gpu_mapping_and_polls_with_squeue():
    main, ci = load(SLURM), load(SLURM_CI)
    assert {r: (v["slurm_partition"], v["gpu"]) for r, v in gpu_rules(ci).items()} == \
        {r: (v["slurm_partition"], v["gpu"]) for r, v in gpu_rules(main).items()}
    assert ci["slurm-status-command"] == "squeue" and ci["slurm-init-seconds-before-status-checks"] == 2
    assert ci["default-resources"]["slurm_partition"] == main["default-resources"]["slurm_partition"]


@pytest.mark.parametrize("visible, expected", [("", os.cpu_count()), ("-1", os.cpu_count()), (" ", os.cpu_count()),
                                               ("0", 1), ("0,1,3", 3), ("0,-1,1", 1), ("GPU-8a3f,GPU-77b0", 2)])
def test_local_profile_counts_gpu_slots(visible, expected):
    profile = load(LOCAL, CUDA_VISIBLE_DEVICES=visible)
    assert profile["resources"] == {"gpu": expected}
    assert profile["rerun-incomplete"] is True


def test_cluster_scripts_are_valid_bash():
    for name in ("slurm-install.sh", "slurm-up.sh"):
        path = REPO / "scripts" / name
        assert os.access(path, os.X_OK), f"{name} is not executable"
        subprocess.run(["bash", "-n", str(path)], check=True)
    usage = subprocess.run([str(REPO / "scripts" / "slurm-up.sh"), "bogus"], capture_output=True, text=True)
    assert usage.returncode != 0 and "start|status|stop" in usage.stderr
