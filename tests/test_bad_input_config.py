"""Bad config values: `gapbench config check` (and Snakemake, which runs the same validation) answers each with
one line naming the key and what is allowed - no traceback, exit status 2; metacharacters in string keys that
reach a shell are refused, and no rule pastes a config value into a shell unquoted."""

from __future__ import annotations

import copy
import re
import subprocess
import sys

import pytest
import yaml

from gapbench.cli import main

CI = "configs/ci.yaml"
MARK = "MARKER_FILE"  # replaced by a path under tmp_path; the file must never appear

# (key path, bad value, text the error line must contain)
CASES = [
    ("seed", -1, "seed"), ("seed", "zero", "seed"), ("seed", 1.5, "seed"), ("seed", 2**70, "seed"),
    ("seed", float("nan"), "seed"), ("nonsense", 1, "nonsense"),
    ("pde/equations", ["kdv"], "pde.equations"), ("pde/ks/nus", [0], "pde.ks.nus"),
    ("pde/ks/nus", [-0.1], "pde.ks.nus"), ("pde/ks/nus", [float("inf")], "pde.ks.nus"),
    ("pde/ks/nus", [float("nan")], "pde.ks.nus"), ("pde/ks/resolution", 31, "pde.ks.resolution"),
    ("pde/ks/resolution", 100000, "pde.ks.resolution"), ("pde/ks/t_end", 0, "pde.ks.t_end"),
    ("pde/ks/t_end", float("nan"), "pde.ks.t_end"), ("pde/ks/n_frames", 1, "pde.ks.n_frames"),
    ("pde/ks/n_frames", 10**9, "pde.ks.n_frames"), ("pde/ks/dt", 0.03, "pde.ks.dt"),
    ("pde/ks/stepper", "Euler", "pde.ks.stepper"), ("pde/ks/batch", 0, "pde.ks.batch"),
    ("pde/ks/batch", 10**6, "pde.ks.batch"), ("pde/ks/n_samples/train", 10**12, "pde.ks.n_samples.train"),
    ("pde/ks/n_samples/train", 0, "pde.ks.n_samples.train"), ("pde/ks/n_samples/test", "many", "n_samples.test"),
    ("pde/ks/shard_size", 0, "pde.ks.shard_size"), ("pde/ks/max_redraws", -1, "pde.ks.max_redraws"),
    ("pde/ns/resolution", 7, "pde.ns.resolution"), ("pde/ns/regimes", [], "pde.ns.regimes"),
    ("pde/ns/regimes", [{"t_end": 1}], "pde.ns.regimes"), ("pde/ns/n_samples/valid", 10**7, "n_samples.valid"),
    ("pde/observe/methods", ["nearest"], "pde.observe.methods"), ("pde/observe/ks/resolutions", [64], "resolutions"),
    ("pde/observe/ks/resolutions", [1], "pde.observe.ks.resolutions"),
    ("pde/observe/ks/sigmas", [-0.1], "pde.observe.ks.sigmas"),
    ("graphs/split", [0.5, 0.5], "graphs.split"), ("graphs/split", [0.5, 0.3, 0.3], "graphs.split"),
    ("graphs/planted_star/leaves", [0], "graphs.planted_star.leaves"),
    ("graphs/planted_star/leaves", [10**9], "graphs.planted_star.leaves"),
    ("graphs/planted_star/width", 100000000, "graphs.planted_star.width"),
    ("graphs/planted_star/n_graphs", 2, "graphs.planted_star.n_graphs"),
    ("graphs/planted_star/n_graphs", 10**12, "graphs.planted_star.n_graphs"),
    ("graphs/map/n", [15], "graphs.map.n"), ("graphs/map/n", [10**8], "graphs.map.n"),
    ("graphs/ising/trees", ["star"], "graphs.ising.trees"), ("graphs/ising/n_nodes/path", 1, "n_nodes.path"),
    ("graphs/duplicates/n", [7], "graphs.duplicates.n"), ("graphs/benchmarks/names", ["cora"], "benchmarks.names"),
    ("graphs/benchmarks/retries", 0, "graphs.benchmarks.retries"),
    ("train/pde/models", ["transformer"], "train.pde.models"), ("train/pde/seeds", [-1], "train.pde.seeds"),
    ("train/pde/device", "tpu", "train.pde.device"), ("train/pde/threads", 0, "train.pde.threads"),
    ("train/pde/ks/lr", -1, "train.pde.ks.lr"), ("train/pde/ks/lr", float("nan"), "train.pde.ks.lr"),
    ("train/pde/ks/width", 100000000, "train.pde.ks.width"), ("train/pde/ks/epochs", 0, "train.pde.ks.epochs"),
    ("train/pde/ks/modes", 1000, "train.pde.ks.modes"), ("train/pde/ks/memory_position", 9, "memory_position"),
    ("train/pde/ks/resolutions", [12], "train.pde.ks.resolutions"), ("train/pde/ks/nus", [0.3], "train.pde.ks.nus"),
    ("train/graph/device", "gpu", "train.graph.device"), ("train/graph/device", "cuda:", "train.graph.device"),
    ("train/graph/planted_star/models", ["gat"], "models"), ("train/graph/planted_star/widths", [10**8], "widths"),
    ("train/graph/planted_star/lrs", [0], "lrs"), ("train/graph/planted_star/activation", "sigmoid", "activation"),
    ("train/graph/map/budgets", ["4by16"], "train.graph.map.budgets"),
    ("train/graph/map/budgets", ["4x100000000"], "train.graph.map.budgets"),
    ("train/graph/duplicates/epochs", 10**9, "train.graph.duplicates.epochs"),
    ("tables/test", "ttest", "tables.test"), ("tables/alpha", 1.5, "tables.alpha"),
    ("tables/allow_missing", "maybe", "tables.allow_missing"), ("debug/fail_jobs", ["a b"], "debug.fail_jobs"),
]

# Every string-valued key whose value reaches a shell command line (or could), with shell metacharacters.
STRING_KEYS = ["train/pde/device", "train/graph/device", "train/graph/map/budgets",
               "train/graph/duplicates/budgets", "debug/fail_jobs"]
PAYLOADS = [f"cpu; touch {MARK} #", f"$(touch {MARK})cpu", f"`touch {MARK}`", f"cpu && touch {MARK}",
            f"cpu | touch {MARK}", f"'; touch {MARK}; '", f"cpu\ntouch {MARK}", f"cpu > {MARK}"]


def _set(config: dict, path: str, value) -> dict:
    config = copy.deepcopy(config)
    *parents, last = path.split("/")
    node = config
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return config


def _check(tmp_path, config, capsys) -> tuple[int, str]:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    capsys.readouterr()
    rc = main(["config", "check", str(path)])
    return rc, capsys.readouterr().err


def test_enough_cases():
    assert len(CASES) + len(STRING_KEYS) * len(PAYLOADS) >= 60 and len(CASES) >= 60


@pytest.mark.parametrize("path,value,where", CASES, ids=[f"{c[0]}={c[1]!r}"[:60] for c in CASES])
def test_bad_value_gets_one_line(path, value, where, tmp_path, capsys):
    rc, err = _check(tmp_path, _set(_base_abs(), path, value), capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2 and len(lines) == 1, err
    assert where in lines[0] and "allowed" in lines[0] and "Traceback" not in err, lines[0]


def _base_abs() -> dict:
    from gapbench.config import SCHEMA_PATH

    with open(SCHEMA_PATH.parents[2] / CI) as fh:
        return yaml.safe_load(fh)


@pytest.mark.parametrize("path", STRING_KEYS)
@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_shell_metacharacters_are_refused(path, payload, tmp_path, capsys):
    marker = tmp_path / "marker"
    value = payload.replace(MARK, str(marker))
    value = [value] if path.endswith(("budgets", "fail_jobs")) else value
    rc, err = _check(tmp_path, _set(_base_abs(), path, value), capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and path.replace("/", ".") in err, err
    assert not marker.exists()


def test_numbers_in_yaml_exponent_form_are_numbers(tmp_path, capsys):
    config = _set(_set(_base_abs(), "graphs/planted_star/n_graphs", "1e2"), "train/pde/ks/lr", "2e-3")
    rc, err = _check(tmp_path, config, capsys)
    assert rc == 0, err
    from gapbench.config import validate_config

    done = validate_config(config)
    assert done["graphs"]["planted_star"]["n_graphs"] == 100 and done["train"]["pde"]["ks"]["lr"] == 0.002


def test_config_check_on_a_missing_or_broken_file(tmp_path, capsys):
    assert main(["config", "check", str(tmp_path / "absent.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    (tmp_path / "broken.yaml").write_text("seed: [1\n")
    assert main(["config", "check", str(tmp_path / "broken.yaml")]) == 2
    err = capsys.readouterr().err
    assert "not valid YAML" in err and len(err.strip().splitlines()) == 1


def test_rules_quote_every_param(repo):
    """Every `{params.x}` in a rule's shell command is shell-quoted (`:q`), except flag strings built from
    validated booleans/integers (flags, fail)."""
    built = {"flags", "fail"}
    unquoted = []
    for smk in sorted((repo / "workflow" / "rules").glob("*.smk")):
        for name, spec in re.findall(r"\{params\.(\w+)(:\w+)?\}", smk.read_text()):
            if name not in built and spec != ":q":
                unquoted.append(f"{smk.name}: params.{name}")
    assert unquoted == []


@pytest.mark.parametrize("key", ["train/pde/device", "train/graph/device", "train/graph/map/budgets"])
def test_snakemake_runs_nothing_with_an_injected_value(key, repo, tmp_path):
    marker = tmp_path / "marker"
    value = f"cpu; touch {marker} #$(touch {marker})"
    config = _set(_base_abs(), key, [value] if key.endswith("budgets") else value)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(config))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile"), "--cores", "1",
                           "--configfile", str(tmp_path / "bad.yaml"), "--directory", str(tmp_path), "train"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode != 0 and key.replace("/", ".") in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    assert not marker.exists() and not (tmp_path / "results").exists()
