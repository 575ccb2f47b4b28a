"""`gapbench train pde`: outputs, resume after a kill (identical metrics), SIGTERM, bad-config errors, GPU."""

from __future__ import annotations

import csv

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from gapbench.cli import main
from gapbench.errors import ConfigError
from gapbench.models.pde_registry import ModelHyper
from gapbench.pde.store import REQUIRED_ATTRS, load, write_store
from gapbench.train import common
from gapbench.train.pde import RunParams, TrainParams, train_and_evaluate

torch.set_num_threads(1)

HYPER = ModelHyper(width=8, n_layers=2, modes=4, state_size=4)
TRAIN = TrainParams(warmup=1, epochs=4, batch_size=4, lr=3e-3, patience=10, eval_batch_size=8, checkpoint_every=3)


NOISE = 0.05


def _write_split(path: Path, split: str, n: int, seed: int, res: int = 16, frames: int = 9) -> None:
    """A small observed KS-format store: travelling, decaying waves (smooth, learnable) as ``u_clean`` and the
    same plus white noise (std NOISE) as ``u``."""
    rng = np.random.default_rng(seed)
    x = np.arange(res) * 64.0 / res
    t = np.linspace(0.0, 0.8, frames)
    u = np.zeros((n, frames, res))
    for k in (1, 2, 3):
        a = rng.normal(size=(n, 1, 1))
        phi = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
        u += a * np.exp(-0.3 * k * t)[None, :, None] * np.sin(2 * np.pi * k * (x - 3 * t[:, None]) / 64 + phi)
    noisy = u + NOISE * rng.standard_normal(u.shape)
    ds = xr.Dataset(
        {"u": (("sample", "time", "x"), noisy.astype(np.float32)),
         "u_clean": (("sample", "time", "x"), u.astype(np.float32)),
         "seed": (("sample",), np.arange(n, dtype=np.uint64))},
        coords={"sample": np.arange(n), "time": t, "x": x},
    )
    attrs = {a: "test" for a in REQUIRED_ATTRS}
    attrs.update(equation="ks", kind="observation", law="transient", burn_in=0.0, nu=0.1, length=64.0, stepper="SBDF2", dt=0.01,
                 t_end=0.8, n_frames=frames, sim_resolution=64, resolution=res, obs_method="fourier",
                 sigma=0.1, noise_seed=1, root_seed=0, split=split, redraws=[], tail_fraction=0.0)
    ds.attrs = attrs
    write_store(ds, path / f"{split}.zarr")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("obs") / "fourier-r16-s0"
    for i, (split, n) in enumerate((("train", 12), ("valid", 4), ("test", 4))):
        _write_split(path, split, n, seed=i)
    return path


def _run(data_dir: Path, out: Path, model: str = "memno", tp: TrainParams = TRAIN) -> dict:
    run = RunParams(data_dir=data_dir, model=model, seed=0, out=out, threads=1, progress=False)
    return train_and_evaluate(run, HYPER, tp)


SCORES = ("nrmse", "nrmse_final", "valid_time", "nrmse_low", "nrmse_mid", "nrmse_high", "valid_nrmse",
          "best_epoch", "steps")


def _rescore(predictions: Path, test: Path, name: str = "u") -> float:
    """The run's nRMSE recomputed from the two Zarr stores with zarr + numpy alone (the documented recipe)."""
    import zarr

    group = zarr.open_group(predictions, mode="r")
    pred, w = np.asarray(group[name][:], dtype=np.float64), int(group.attrs["warmup"])
    clean = np.asarray(zarr.open_group(test, mode="r")[f"{name}_clean"][:], dtype=np.float64)[:, : pred.shape[1]]
    err = np.linalg.norm(pred[:, w:] - clean[:, w:], axis=-1) / np.linalg.norm(clean[:, w:], axis=-1)
    return float(err.mean())


def test_outputs_and_metrics_keys(data_dir, tmp_path):
    m = _run(data_dir, tmp_path / "run")
    for key in ("task", "equation", "nu", "method", "resolution", "sigma", "model", "seed", *SCORES[:6],
                "n_params", "train_time_s", "inference_time_s", "inference_time_per_trajectory_s", "status",
                "horizon", "warmup", "law", "burn_in"):
        assert key in m
    assert m["status"] == "ok" and m["equation"] == "ks" and m["resolution"] == 16 and m["n_params"] > 0
    assert m["horizon"] == 8
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["nrmse"] == m["nrmse"]
    rollout = (tmp_path / "run" / "rollout.csv").read_text().splitlines()
    assert rollout[0] == "time,nrmse" and len(rollout) == 1 + 8  # frames 1..8
    curves = (tmp_path / "run" / "curves.csv").read_text().splitlines()
    assert curves[0] == "epoch,train_loss,valid_nrmse,lr,elapsed_s" and len(curves) == 1 + TRAIN.epochs
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["state"]["done"]
    # predictions.zarr re-scores with numpy alone to the table's number, against the clean field
    assert abs(_rescore(tmp_path / "run" / "predictions.zarr", data_dir / "test.zarr") - m["nrmse"]) < 1e-4
    # per_traj.csv: one row per test trajectory; its means are the run's scores
    with open(tmp_path / "run" / "per_traj.csv") as fh:
        traj = list(csv.DictReader(fh))
    assert [int(r["sample"]) for r in traj] == list(load(data_dir / "test.zarr")["sample"].values)
    assert np.mean([float(r["nrmse"]) for r in traj]) == pytest.approx(m["nrmse"], rel=1e-9)
    assert np.mean([float(r["valid_time"]) for r in traj]) == pytest.approx(m["valid_time"], rel=1e-9)
    assert np.mean([int(r["censored"]) for r in traj]) == pytest.approx(m["valid_time_censored"])
    assert m["best_is_last"] == (m["best_epoch"] == m["epochs_trained"])
    # band errors: squares of the three bands sum to the total's, frame by frame (Parseval)

    pred = load(tmp_path / "run" / "predictions.zarr")["u"].values[:, 1:]
    clean = load(data_dir / "test.zarr")["u_clean"].values[:, 1:]
    from gapbench.train.pde_eval import band_errors, errors

    total = errors(pred, clean, 1)
    bands = band_errors(pred, clean, 1)
    np.testing.assert_allclose(sum(b**2 for b in bands.values()), total**2, rtol=1e-10)


def test_horizon_cuts_training_and_scoring_and_truth_is_clean(data_dir, tmp_path):
    """horizon = 3: three steps scored, predictions hold frames 0..3; every nRMSE is against u_clean, not u."""
    m = _run(data_dir, tmp_path / "h3", model="ffno", tp=replace(TRAIN, horizon=3))
    assert m["horizon"] == 3
    assert len((tmp_path / "h3" / "rollout.csv").read_text().splitlines()) == 1 + 3
    from gapbench.pde.store import load

    pred = load(tmp_path / "h3" / "predictions.zarr")
    assert pred.sizes["time"] == 4 and pred.attrs["kind"] == "prediction" and pred.attrs["horizon"] == 3
    test = load(data_dir / "test.zarr")
    np.testing.assert_array_equal(pred["u"].values[:, 0], test["u"].values[:, 0])  # frame 0: the noisy input
    clean = _rescore(tmp_path / "h3" / "predictions.zarr", data_dir / "test.zarr")
    p = pred["u"].values[:, 1:].astype(np.float64)
    noisy_truth = test["u"].values[:, 1:4].astype(np.float64)
    vs_noisy = float((np.linalg.norm(p - noisy_truth, axis=-1) / np.linalg.norm(noisy_truth, axis=-1)).mean())
    assert abs(clean - m["nrmse"]) < 1e-4 and abs(vs_noisy - m["nrmse"]) > 1e-3
    with pytest.raises(ConfigError, match="horizon 9 steps: the data hold 8 frames after the 1 warm-up"):
        _run(data_dir, tmp_path / "h9", model="ffno", tp=replace(TRAIN, horizon=9))


@pytest.mark.parametrize("model", ["memno", "ffno_window"])
def test_warm_up_frames_are_given_stored_and_not_scored(data_dir, tmp_path, model):
    """warmup = 3, horizon = 4: predictions.zarr holds the 3 noisy input frames then 4 predicted ones, with
    truthful attrs, and re-scores to the table against clean frames 3..6 only; persistence repeats frame 2."""
    from gapbench.pde.store import load
    from gapbench.train.baseline import run_baseline

    m = _run(data_dir, tmp_path / "w3", model=model, tp=replace(TRAIN, warmup=3, horizon=4))
    assert (m["warmup"], m["horizon"]) == (3, 4)
    assert len((tmp_path / "w3" / "rollout.csv").read_text().splitlines()) == 1 + 4
    pred, test = load(tmp_path / "w3" / "predictions.zarr"), load(data_dir / "test.zarr")
    assert pred.sizes["time"] == 7 and pred.attrs["warmup"] == 3 and pred.attrs["horizon"] == 4
    assert pred.attrs["split"] == "test" and pred.attrs["noise_seed"] == test.attrs["noise_seed"]
    assert "u_clean" not in pred and "noise_law" not in pred.attrs
    np.testing.assert_array_equal(pred["time"].values, test["time"].values[:7])
    np.testing.assert_array_equal(pred["u"].values[:, :3], test["u"].values[:, :3])  # the noisy warm-up frames
    assert abs(_rescore(tmp_path / "w3" / "predictions.zarr", data_dir / "test.zarr") - m["nrmse"]) < 1e-4
    p = run_baseline(data_dir, "persistence", 0, 4, 0.5, tmp_path / "p3", warmup=3)
    pp = load(tmp_path / "p3" / "predictions.zarr")["u"].values
    np.testing.assert_array_equal(pp[:, 3:], np.repeat(test["u"].values[:, 2:3], 4, axis=1))
    c, x = test["u_clean"].values[:, 3:7].astype(np.float64), test["u"].values[:, 2:3].astype(np.float64)
    assert abs(p["nrmse"] - float((np.linalg.norm(x - c, axis=-1) / np.linalg.norm(c, axis=-1)).mean())) < 1e-6
    with pytest.raises(ConfigError, match="horizon 7 steps: the data hold 6 frames after the 3 warm-up"):
        _run(data_dir, tmp_path / "w9", model="ffno", tp=replace(TRAIN, warmup=3, horizon=7))


class _Killed(BaseException):
    """Stands for SIGKILL: the process stops between two optimiser steps without any clean-up."""


@pytest.fixture(scope="module")
def reference(data_dir, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("ref")
    return _run(data_dir, out) | {"rollout_csv": (out / "rollout.csv").read_text()}


# guard.check runs after every step and at every epoch end; 3 steps per epoch, checkpoints every 3 steps:
# call 3 = after step 3 (checkpoint saved, epoch end not yet processed), call 5 = after step 4 (mid-epoch 2)
@pytest.mark.parametrize("kill_at", [3, 5])
def test_resume_after_kill_gives_identical_metrics(data_dir, tmp_path, monkeypatch, reference, kill_at):
    calls = {"n": 0}
    real_check = common.SigtermGuard.check

    def dying_check(self, save):
        calls["n"] += 1
        if calls["n"] == kill_at:
            raise _Killed
        real_check(self, save)

    monkeypatch.setattr(common.SigtermGuard, "check", dying_check)
    with pytest.raises(_Killed):
        _run(data_dir, tmp_path / "killed")
    assert not (tmp_path / "killed" / "metrics.json").exists()
    monkeypatch.setattr(common.SigtermGuard, "check", real_check)
    resumed = _run(data_dir, tmp_path / "killed")
    assert {k: resumed[k] for k in SCORES} == {k: reference[k] for k in SCORES}
    assert (tmp_path / "killed" / "rollout.csv").read_text() == reference["rollout_csv"]
    # a finished run, rerun, only re-evaluates: same metrics again
    again = _run(data_dir, tmp_path / "killed")
    assert {k: again[k] for k in SCORES} == {k: reference[k] for k in SCORES}


@pytest.mark.slow
def test_sigterm_saves_checkpoint_and_exits_143(data_dir, tmp_path):
    out = tmp_path / "term"
    cmd = [sys.executable, "-m", "gapbench.cli", "train", "pde", "--data-dir", str(data_dir), "--model", "ffno",
           "--out", str(out), "--warmup", "1", "--width", "8", "--n-layers", "2", "--modes", "4", "--epochs", "100000",
           "--batch-size", "4", "--checkpoint-every", "1000000", "--threads", "1", "--no-progress"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    while not (out / "curves.csv").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == common.SIGTERM_EXIT, err
    assert "checkpoint saved" in err
    state = torch.load(out / "last.pt", weights_only=True)["state"]
    assert state["step"] > 0 and not state["done"]


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--model", "fno9"], "unknown PDE model 'fno9'"),
        (["--model", "memno", "--memory-position", "5"], "memory_position 5 is out of range; allowed: 0..2"),
        (["--model", "ffno", "--resolution", "32"], "observed resolution 32 is not in the data"),
        (["--model", "ffno", "--modes", "12"], "modes 12 exceeds"),
    ],
)
def test_bad_config_fails_before_training(data_dir, tmp_path, capsys, extra, message):
    out = tmp_path / "bad"
    rc = main(["train", "pde", "--data-dir", str(data_dir), "--out", str(out), "--n-layers", "2", "--warmup", "1",
               "--no-progress", *extra])
    assert rc == 2
    assert message in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_missing_data_is_a_clear_error(tmp_path, capsys):
    rc = main(["train", "pde", "--data-dir", str(tmp_path / "nowhere"), "--model", "ffno", "--out",
               str(tmp_path / "o")])
    assert rc == 2 and "no such store" in capsys.readouterr().err


def test_changed_configuration_starts_afresh(data_dir, tmp_path, capsys):
    _run(data_dir, tmp_path / "run", tp=replace(TRAIN, epochs=1))
    m = _run(data_dir, tmp_path / "run", tp=replace(TRAIN, epochs=2))
    assert "is from different settings (train.epochs); starting afresh" in capsys.readouterr().err
    assert m["epochs_trained"] == 2


def test_injected_failure(data_dir, tmp_path):
    run = RunParams(data_dir=data_dir, model="ffno", seed=0, out=tmp_path / "f", threads=1, progress=False,
                    inject_failure=True)
    with pytest.raises(RuntimeError, match="injected failure"):
        train_and_evaluate(run, HYPER, TRAIN)


def test_non_positive_settings_are_config_errors(data_dir, tmp_path):
    with pytest.raises(ConfigError, match="batch_size must be >= 1"):
        _run(data_dir, tmp_path / "x", tp=replace(TRAIN, batch_size=0))


@pytest.mark.gpu
def test_cuda_training_bf16_and_rollout_match_cpu(data_dir, tmp_path):
    """On a CUDA device: bf16 training runs; the fp32 rollout of the trained model matches the CPU one."""
    from gapbench.models.pde_registry import build_model

    run = RunParams(data_dir=data_dir, model="memno", seed=0, out=tmp_path / "gpu", device="cuda", progress=False)
    m = train_and_evaluate(run, HYPER, replace(TRAIN, bf16=True))
    assert m["device"].startswith("cuda") and np.isfinite(m["nrmse"])
    model = build_model("memno", 1, HYPER)
    model.load_state_dict(torch.load(tmp_path / "gpu" / "best.pt", weights_only=True)["model"])
    u0 = torch.randn(4, 16)
    cpu = model.rollout(u0, 8)
    gpu = model.cuda().rollout(u0.cuda(), 8).cpu()
    torch.testing.assert_close(gpu, cpu, atol=1e-4, rtol=1e-3)


# ------------------------------------------------------------------------------------------ config and workflow
REPO = Path(__file__).resolve().parents[1]


def _config(path: str = "config.yaml") -> dict:
    import yaml

    return yaml.safe_load((REPO / path).read_text())


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda t: t["ks"].update(resolutions=[48]),
         "train.pde.ks.resolutions: observed resolution 48 is not in the data"),
        (lambda t: t["ks"].update(memory_position=7), "train.pde.ks.memory_position: 7 is out of range; allowed: 0..4"),
        (lambda t: t.update(models=["ffno", "fno"]), "train.pde.models[1]"),
        (lambda t: t["ks"].update(modes=40), "train.pde.ks.modes: 40 exceeds the 17 Fourier modes"),
        (lambda t: t["ks"].update(nus=[0.3]), "train.pde.ks.nus: 0.3 is not simulated"),
        (lambda t: t["ns"].update(horizon=40), "train.pde.ns.horizon: 40 steps, but the data hold 23 after the 10 "
         "warm-up frames"),
        (lambda t: t["ks"].update(warmup=36), "train.pde.ks.warmup: 36 frames, but the data hold 36 and at least one"),
    ],
    ids=["resolution", "memory-position", "unknown-model", "modes", "nu", "horizon", "warmup"],
)
def test_bad_train_pde_config_is_rejected(edit, message):
    from gapbench.config import validate_config

    config = _config()
    edit(config["train"]["pde"])
    with pytest.raises(ConfigError) as info:
        validate_config(config)
    assert message in str(info.value)


def test_plan_targets_of_the_default_config():
    from gapbench.config import validate_config
    from gapbench.train import pde_plan

    targets = pde_plan.targets(validate_config(_config()))
    assert "results/train/pde/ks/attractor/nu0.1/fourier-r32-s0/memno/seed0/metrics.json" in targets
    base = "results/train/pde/ks/attractor/nu0.1/fourier-r32-s0"
    for model in ("persistence", "zero", "solver-r128", "solver-r512", "solver_hv-r32", "ffno", "ffno_window"):
        assert f"{base}/{model}/seed0/metrics.json" in targets
    assert f"{base}/solver-r64/seed0/metrics.json" not in targets  # solver_factors [4]: 4f and the simulation grid
    assert "results/train/pde/ns/attractor/nu0.001/fourier-r10-s0.1/memno/seed0/metrics.json" in targets
    assert all(t.endswith("/metrics.json") for t in targets)


def test_paper_config_budgets_match_within_ten_percent():
    """At paper scale every memory model has within 10% of FFNO's parameters (same width, layers, modes)."""
    from gapbench.config import validate_config
    from gapbench.models.pde_registry import build_model, resolve_modes
    from gapbench.train.common import count_parameters

    config = validate_config(_config("configs/paper.yaml"))
    sec = config["train"]["pde"]
    for eq in sec["equations"]:
        e = sec[eq]
        hyper = ModelHyper(width=e["width"], n_layers=e["n_layers"], modes=e["modes"], ff_factor=e["ff_factor"],
                           memory_position=e["memory_position"], state_size=e["state_size"], heads=e["heads"])
        res = min(config["pde"]["observe"][eq]["resolutions"])  # fewest modes: the memory layer weighs most
        hyper = resolve_modes(hyper, res)
        n_dims = 2 if eq == "ns" else 1
        base = count_parameters(build_model("ffno", n_dims, hyper))
        for name in sec["models"]:
            n = count_parameters(build_model(name, n_dims, hyper))
            assert abs(n - base) <= 0.10 * base, (eq, name, n, base)


@pytest.mark.slow
def test_ci_config_runs_the_train_pde_stage(ci_pipeline):
    """Snakemake built the CI data and trained every PDE model + the baselines (the session's ci pipeline run); a
    rerun has nothing to do."""
    from conftest import nothing_to_do

    from gapbench.config import validate_config
    from gapbench.train import pde_plan

    tmp_path = ci_pipeline
    targets = pde_plan.targets(validate_config(_config("configs/ci.yaml")))
    for target in targets:
        m = json.loads((tmp_path / target).read_text())
        assert m["task"] == "pde" and m["status"] in ("ok", "diverged")
        assert (tmp_path / target).with_name("rollout.csv").exists()
        assert (tmp_path / target).with_name("predictions.zarr").is_dir()
    logs = list(tmp_path.glob("results/logs/train/pde/ks/*/*/*/seed0.log"))  # one job per dataset and seed
    assert logs and all("train pde" in log.read_text() and "--model memno" in log.read_text() for log in logs)
    assert nothing_to_do(tmp_path, *targets)


@pytest.mark.slow
def test_pooled_job_rerun_rereads_its_finished_runs(ci_pipeline, tmp_path):
    """train.pde.job_scope dataset: a change to MemNO's memory settings re-runs the job of each KS dataset, but
    the other models of that job resume their finished checkpoints (no training step) and write the same
    results; only MemNO trains again."""
    import shutil

    import yaml

    from conftest import BIN, REPO

    from gapbench.config import validate_config

    run = tmp_path / "run"
    shutil.copytree(ci_pipeline, run, symlinks=True, ignore=shutil.ignore_patterns("locks", "log"))
    config = validate_config(_config("configs/ci.yaml"))
    assert config["train"]["pde"]["job_scope"] == "dataset"
    config["train"]["pde"]["ks"]["state_size"] += 1
    overlay = tmp_path / "memory.yaml"
    overlay.write_text(yaml.safe_dump(config, sort_keys=False))
    ffno = sorted((run / "results/train/pde/ks").glob("*/*/*/ffno/seed0/metrics.json"))
    before = {p: json.loads(p.read_text()) for p in ffno}
    proc = subprocess.run([str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "--directory", str(run),
                           "--configfile", str(overlay), "--cores", "2", "train"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # wall-clock times, and the checkout's state at write time (a test run beside edits sees a dirty tree)
    timing = ("train_time_s", "inference_time_s", "inference_time_per_trajectory_s", "device", "dirty", "git_commit")
    for path, old in before.items():
        assert {k: v for k, v in json.loads(path.read_text()).items() if k not in timing} == \
            {k: v for k, v in old.items() if k not in timing}, "FFNO's results did not change"
        dataset = path.parents[2]  # results/train/pde/ks/{law}/nu{nu}/{obs}
        log = run / "results/logs" / dataset.relative_to(run / "results") / "seed0.log"
        assert f"resuming from {(path.parent / 'last.pt').relative_to(run)}" in log.read_text(), \
            "the finished FFNO run was re-read from its checkpoint, not retrained"
        memno = json.loads((dataset / "memno/seed0/metrics.json").read_text())
        assert memno["hyper"]["state_size"] == config["train"]["pde"]["ks"]["state_size"]


def test_load_observed_reuses_the_last_read_until_a_store_changes(tmp_path, monkeypatch):
    """The next model of a pooled job gets the stores read once, as a copy (a run writing into its tensors
    leaves the next run's data alone); a store rewritten since (same size, even) is read again."""
    from gapbench.train import pde

    path = tmp_path / "fourier-r16-s0"
    for i, (split, n) in enumerate((("train", 6), ("valid", 2), ("test", 2))):
        _write_split(path, split, n, seed=i)
    reads = []
    real = pde._read_observed
    monkeypatch.setattr(pde, "_read_observed", lambda *a: reads.append(a) or real(*a))
    first = pde.load_observed(path, pde.SPLITS, 0, 0, 2)
    first.splits["train"].add_(1.0)
    first.attrs["nu"] = -1
    second = pde.load_observed(path, pde.SPLITS, 0, 0, 2)
    assert len(reads) == 1
    fresh = real(path, pde.SPLITS, 0, 0, 2)
    for split in pde.SPLITS:
        assert torch.equal(second.splits[split], fresh.splits[split])
        assert torch.equal(second.clean[split], fresh.clean[split])
    assert second.attrs == fresh.attrs and second.times == fresh.times
    pde.load_observed(path, pde.SPLITS, 0, 0, 3)  # other arguments: read
    assert len(reads) == 2
    pde.load_observed(path, pde.SPLITS, 0, 0, 3)
    assert len(reads) == 2
    _write_split(path, "valid", 2, seed=7)  # the same shapes and sizes, other values
    changed = pde.load_observed(path, pde.SPLITS, 0, 0, 3)
    assert len(reads) == 3
    assert not torch.equal(changed.splits["valid"], fresh.splits["valid"])
