"""The pde config section (schema + cross-field checks) and the pde_data stage run by Snakemake."""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from gapbench.config import validate_config
from gapbench.errors import ConfigError
from gapbench.pde import plan
from gapbench.pde.store import check_store, load

REPO = Path(__file__).resolve().parents[1]


def _config(path="config.yaml") -> dict:
    return yaml.safe_load((REPO / path).read_text())


@pytest.mark.parametrize(
    "edit, pattern",
    [
        (lambda p: p["ks"].update(nus=[-0.1]), r"pde\.ks\.nus\[0\]: -0\.1 is less than or equal to the minimum of 0.*> 0"),
        (lambda p: p["ns"].update(regimes=[{"nu": 0.0}]), r"pde\.ns\.regimes\[0\]\.nu: .*> 0"),
        (lambda p: p["observe"]["ks"].update(resolutions=[1024]),
         r"pde\.observe\.ks\.resolutions: 1024 exceeds the simulation resolution pde\.ks\.resolution = 512; allowed: 2\.\.512"),
        (lambda p: p["observe"].update(methods=["fourier", "box"]),
         r"pde\.observe\.methods\[1\].*allowed values: fourier, subsample"),
        (lambda p: p.update(equations=["ks", "burgers"]), r"pde\.equations\[1\].*allowed values: ks, ns"),
        (lambda p: p["ks"].update(nuss=[0.1]), r"config key pde\.ks: .*'nuss'.*allowed keys: .*nus"),
        (lambda p: p["ks"].update(stepper="Euler"), r"pde\.ks\.stepper: .*allowed values: SBDF1, .*RK443"),
        (lambda p: p["ks"].update(dt=0.003), r"pde\.ks\.dt: dt=0\.003 does not divide the save interval .* = 0\.1"),
        (lambda p: p["ks"].update(burn_in=20.05), r"pde\.ks\.burn_in: 20\.05 with the attractor law; allowed: a positive "
         r"multiple of the save interval .* = 0\.1"),
        (lambda p: p["ks"].update(burn_in=0), r"pde\.ks\.burn_in: 0 with the attractor law; allowed: a positive"),
        (lambda p: p["ks"].update(laws=["stationary"]), r"pde\.ks\.laws\[0\].*allowed values: attractor, transient"),
        (lambda p: p["ns"].update(regimes=[{"nu": 1e-3}, {"nu": 0.001}]), r"pde\.ns\.regimes\[1\]\.nu: 0\.001 repeats"),
        (lambda p: p["observe"]["ns"].update(sigmas=[-0.1]), r"pde\.observe\.ns\.sigmas\[0\]: .*>= 0"),
    ],
    ids=["negative-nu", "zero-nu-ns", "resolution-above-sim", "unknown-method", "unknown-equation", "typo",
         "stepper", "dt", "burn-in-off-grid", "burn-in-zero", "unknown-law", "duplicate-regime", "negative-sigma"],
)
def test_bad_pde_config_names_the_key_and_what_is_allowed(edit, pattern):
    config = copy.deepcopy(_config())
    edit(config["pde"])
    with pytest.raises(ConfigError) as info:
        validate_config(config)
    assert re.search(pattern, str(info.value), re.S), str(info.value)


def test_plan_of_the_paper_config():
    config = validate_config(_config("configs/paper.yaml"))
    assert plan.runs(config) == [("ks", law, nu) for law in ("attractor", "transient") for nu in ("0.075", "0.1", "0.125")
                                 ] + [("ns", "attractor", "0.001"), ("ns", "attractor", "1e-05")]
    assert plan.n_shards(config, "ks", "train") == 8
    # both observation arms; 48 does not divide 512, so it is observed by Fourier truncation only
    assert plan.obs_variants(config, "ks") == [f"fourier-r{f}-s0" for f in (32, 48, 64, 128)] + [
        f"subsample-r{f}-s0" for f in (32, 64, 128)]
    assert "results/data/pde/ns/attractor/nu1e-05/obs/fourier-r64-s0.5/test.zarr" in plan.targets(config)


def _snakemake(*args, cwd=REPO):
    return subprocess.run(["snakemake", *args], cwd=cwd, capture_output=True, text=True)


def test_bad_pde_value_stops_snakemake_before_any_job(tmp_path):
    bad = _config()
    bad["pde"]["ks"]["nus"] = [0.1, -0.05]
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    proc = _snakemake("-n", "--cores", "1", "--configfile", str(tmp_path / "bad.yaml"))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "pde.ks.nus[1]" in out and "> 0" in out and "Job stats" not in out


@pytest.mark.slow
def test_paper_config_builds_the_whole_dag():
    proc = _snakemake("-n", "--cores", "1", "--configfile", "configs/paper.yaml")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    counts = dict(re.findall(r"^(pde_\w+)\s+(\d+)$", out, re.M))
    # shards: KS 2 laws x 3 nus x (2048/256 + 1 + 1) = 60, NS 2 regimes x (800/40 + 100/40 + 100/40 rounded up) =
    # 52; merged: one job per simulation (its 3 splits), 8; observed: one job per observed dataset (its 3 splits),
    # KS 2 laws x 3 nus x (4 fourier + 3 subsample), NS 2 regimes x (2 + 2) x 4 sigmas
    assert counts == {"pde_shard": "112", "pde_merge": "8", "pde_observe": "74", "pde_omega": "8"}, counts
    shards = re.findall(r"^Job \d+: (\w+) (\w+) nu=\S+: simulating shard \d+ of the \w+ split$", out, re.M)
    assert sorted(set(shards)) == [("ks", "attractor"), ("ks", "transient"), ("ns", "attractor")]
    assert (shards.count(("ks", "attractor")), shards.count(("ks", "transient")), shards.count(("ns", "attractor"))) \
        == (30, 30, 52)


@pytest.mark.slow
def test_ci_config_runs_the_pde_data_stage_end_to_end(ci_pipeline):
    """The PDE data of the session's ci pipeline run: stores checked, shapes, seeds, temporary shards removed."""
    from conftest import nothing_to_do

    tmp_path = ci_pipeline
    config = validate_config(_config("configs/ci.yaml"))
    for target in plan.targets(config):
        path = tmp_path / target
        if target.endswith(".zarr"):
            assert "ok:" in check_store(path)
        else:
            lines = path.read_text().splitlines()
            assert lines[0] == "resolution,omega_f,first_frame,n_frames" and lines[1].endswith(",2,0")
            assert len(lines) == 2
    obs = load(tmp_path / "results/data/pde/ks/attractor/nu0.1/obs/fourier-r8-s0.1/train.zarr")
    sim = load(tmp_path / "results/data/pde/ks/attractor/nu0.1/sim/train.zarr")
    assert obs["u"].shape == (3, 4, 8) and sim["u"].shape == (3, 4, 32)
    assert (sim.attrs["law"], sim.attrs["burn_in"]) == ("attractor", 0.2)
    transient = load(tmp_path / "results/data/pde/ks/transient/nu0.1/sim/train.zarr")
    assert (transient.attrs["law"], transient.attrs["burn_in"]) == ("transient", 0.0)
    # the same draws: the attractor's frames are the transient's continued past the burn-in (2 save intervals)
    np.testing.assert_allclose(transient["u"].values[:, 2:], sim["u"].values[:, :2], atol=1e-5)
    assert (obs["seed"].values == sim["seed"].values).all() and obs.attrs["sigma"] == 0.1
    assert not list(tmp_path.glob("results/data/pde/*/*/*/sim/*/shard*.zarr"))  # temp() shards removed
    assert list(tmp_path.glob("results/logs/pde/ks/attractor/nu0.1/sim/train/shard1.log"))
    assert list(tmp_path.glob("results/benchmarks/pde/ns/attractor/nu0.001/obs/fourier-r8-s0.tsv"))  # every split
    assert list(tmp_path.glob("results/benchmarks/pde/ns/attractor/nu0.001/sim/merge.tsv"))
    assert nothing_to_do(tmp_path, "pde_data")
