# Shared by all stages: config validation, naming helpers, input and target functions.
import os
import shlex
import sys
from fnmatch import fnmatch
from pathlib import Path

# gapbench runs from this checkout's src/, never from an installed copy: Snakemake imports it from there, and
# every rule's command, `python3 -m gapbench ...`, runs with src/ first on PYTHONPATH (the shell prefix below,
# which keeps Snakemake's strict bash mode). So a conda environment (--sdm conda) needs only the third-party
# packages of envs/*.yaml, and what runs is always the code of this checkout.
GAPBENCH_SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, GAPBENCH_SRC)
_src = shlex.quote(GAPBENCH_SRC).replace("{", "{{").replace("}", "}}")  # the prefix is formatted like a command
shell.prefix(f"set -euo pipefail; export PYTHONPATH={_src}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; ")

from gapbench.config import read_yaml, validate_config
from gapbench.registry import PDE_MODELS, PLUGINS_ENV, wildcard_pattern
from gapbench.naming import fmt_num, obs_key

for _configfile in workflow.configfiles:  # Snakemake's YAML loader keeps the last of two equal keys: refuse them
    read_yaml(_configfile)
validate_config(config, Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")
# validate_config imported the config's plugins here; every job's `gapbench` command imports them again from this
# variable (jobs inherit the environment; a cluster job re-reads this file and sets it the same way).
os.environ[PLUGINS_ENV] = ",".join(config["plugins"])


def inject_failure(wildcards, output):
    """`--inject-failure` for a training job whose first output matches a `debug.fail_jobs` pattern."""
    patterns = lookup(dpath="debug/fail_jobs", within=config)
    return "--inject-failure" if any(fnmatch(str(output[0]), p) for p in patterns) else ""


def gpu_slots(device):
    """`resources: gpu` of a training job: 1 unless its device is `cpu` (`auto` may pick a GPU).

    The local profile caps `gpu` at the GPUs visible, so two such jobs never share one GPU."""
    return 0 if device == "cpu" else 1


def pde_run_outputs(*runs):
    """The outputs of a train_pde rule: the files of run directories ``runs`` (a model's and a baseline's alike),
    each name's list over the runs."""
    files = dict(metrics="metrics.json", rollout="rollout.csv", per_traj="per_traj.csv", curves="curves.csv")
    return {
        **{key: [f"{run}/{name}" for run in runs] for key, name in files.items()},
        "predictions": [directory(f"{run}/predictions.zarr") for run in runs],
    }
