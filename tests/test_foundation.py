"""The project's frame: config validation, the CLI, the workflow lint, pins and the set-up script."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from gapbench.cli import build_parser
from gapbench.config import load_config, validate_config
from gapbench.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
CONFIGS = [REPO / "config.yaml", REPO / "configs" / "ci.yaml", REPO / "configs" / "paper.yaml"]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_are_valid(path):
    config = load_config(path)
    assert config["seed"] >= 0


def _default_config() -> dict:
    with open(REPO / "config.yaml") as fh:
        return yaml.safe_load(fh)


def test_defaults_are_filled():
    config = validate_config({})
    assert config["seed"] == 0
    assert set(config) >= {"pde", "graphs", "train", "tables", "debug"}


@pytest.mark.parametrize(
    "edit, key, allowed",
    [
        (lambda c: c.update(sead=1), r"\(top level\)", "allowed keys: .*seed"),
        (lambda c: c["pde"].update(equations=["ks", "burgers"]), r"pde\.equations\[1\]", "allowed values: ks, ns"),
        (lambda c: c.update(seed=-3), r"config key seed", ">= 0"),
        (lambda c: c.update(seed="zero"), r"config key seed", "type integer"),
    ],
    ids=["typo", "unknown-equation", "negative-seed", "wrong-type"],
)
def test_bad_config_names_key_and_allowed_values(edit, key, allowed):
    config = copy.deepcopy(_default_config())
    edit(config)
    with pytest.raises(ConfigError) as info:
        validate_config(config)
    message = str(info.value)
    assert re.search(key, message), message
    assert re.search(allowed, message), message


def test_bad_config_stops_snakemake_before_any_job(tmp_path):
    bad = _default_config()
    bad["sead"] = 1
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump(bad))
    proc = subprocess.run(
        ["snakemake", "-n", "--cores", "1", "--configfile", str(cfg)],
        cwd=REPO, capture_output=True, text=True,
    )
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "sead" in out and "allowed keys" in out
    assert "Job stats" not in out


def _subcommand_paths(parser, prefix=()):
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield prefix + (name,)
                yield from _subcommand_paths(sub, prefix + (name,))


def test_every_subcommand_has_help():
    paths = list(_subcommand_paths(build_parser()))
    assert ("config", "check") in paths and ("data", "check") in paths
    for path in paths:
        proc = subprocess.run(["gapbench", *path, "--help"], capture_output=True, text=True)
        assert proc.returncode == 0, (path, proc.stderr)
        assert "usage: gapbench" in proc.stdout


def test_cli_reports_user_errors_without_traceback(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("seed: -1\n")
    proc = subprocess.run(["gapbench", "config", "check", str(cfg)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "config key seed" in proc.stderr and "Traceback" not in proc.stderr


def test_workflow_lint_is_clean():
    proc = subprocess.run(["snakemake", "--lint"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_workflow_files_are_snakefmt_clean():
    proc = subprocess.run(["snakefmt", "--check", "Snakefile", "workflow/"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _conda_pins(path: Path) -> dict[str, str]:
    names = {"pytorch": "torch", "pytorch_geometric": "torch-geometric"}
    env = yaml.safe_load(path.read_text())
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and "=" in dep and not dep.startswith("python="):
            name, version = dep.split("=")[:2]  # name=version[=build]
            pins[names.get(name, name)] = version
    return pins


def test_conda_envs_match_pyproject_pins():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    base = dict(d.split("==") for d in project["dependencies"])
    extras = project["optional-dependencies"]
    envs = sorted((REPO / "envs").glob("*.yaml"))
    assert {p.stem for p in envs} == {"pde", "graphs", "train", "tables"}
    for path in envs:
        expected = base | dict(d.split("==") for d in extras[path.stem])
        assert _conda_pins(path) == expected, path.name


def test_all_pip_dependencies_are_pinned():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = list(project["dependencies"])
    for name, extra in project["optional-dependencies"].items():
        deps += [d for d in extra if not d.startswith("gapbench[")]
    assert all("==" in d for d in deps), deps
    assert "torch==2.13.0" in deps


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the script as an unprivileged user")
def test_setup_without_root_names_missing_apt_packages():
    # the script goes in on stdin: the checkout may sit in a folder the unprivileged user cannot enter
    proc = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         "bash", "-s", "--", "libfftw3-dev", "gapbench-no-such-package"],
        input=(REPO / "scripts" / "system-deps.sh").read_text(), capture_output=True, text=True, cwd="/",
    )
    assert proc.returncode == 1
    assert "missing system packages: gapbench-no-such-package" in proc.stderr
    assert "apt-get install -y gapbench-no-such-package" in proc.stderr


def test_command_line_config_strings_are_parsed_where_the_schema_wants_numbers():
    # `snakemake --config tables='{alpha: 0.1, allow_missing: true}'` passes nested values as strings
    config = validate_config({"seed": "3", "tables": {"alpha": "0.1", "allow_missing": "true"}})
    assert config["seed"] == 3
    assert config["tables"]["alpha"] == 0.1 and config["tables"]["allow_missing"] is True
    with pytest.raises(ConfigError, match="tables.alpha"):
        validate_config({"tables": {"alpha": "a lot"}})


def _deep_merge(base: dict, over: dict) -> dict:
    """What `snakemake --configfile X` does to the Snakefile's config.yaml: mappings merge, the rest replaces."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@pytest.mark.parametrize("name", ["ci.yaml", "paper.yaml"])
def test_configfile_means_the_same_merged_over_the_default(name):
    # `snakemake --configfile configs/X.yaml` deep-merges X over config.yaml (the Snakefile's configfile):
    # a key X leaves out would silently come from the default config unless it equals the schema default.
    default = yaml.safe_load((REPO / "config.yaml").read_text())
    other = yaml.safe_load((REPO / "configs" / name).read_text())
    assert validate_config(_deep_merge(default, other)) == validate_config(copy.deepcopy(other))
