# Shared by all stages: config validation, naming helpers, input and target functions.
from fnmatch import fnmatch
from pathlib import Path

from gapbench.config import validate_config
from gapbench.naming import fmt_num, obs_key

validate_config(config, Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")


def inject_failure(wildcards, output):
    """`--inject-failure` for a training job whose first output matches a `debug.fail_jobs` pattern."""
    patterns = lookup(dpath="debug/fail_jobs", within=config)
    return "--inject-failure" if any(fnmatch(str(output[0]), p) for p in patterns) else ""
