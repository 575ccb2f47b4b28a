"""Re-running a finished training job: every output is rewritten from the checkpoint, nothing is retrained,
unless the model code or the data changed (gapbench.train.resume)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from gapbench.models.pde_registry import ModelHyper
from gapbench.pde.store import REQUIRED_ATTRS, write_store
from gapbench.train import graph as tg
from gapbench.train import resume
from gapbench.train.pde import RunParams, TrainParams, train_and_evaluate

torch.set_num_threads(1)

HYPER = ModelHyper(width=8, n_layers=2, modes=4, state_size=4)
TRAIN = TrainParams(warmup=1, epochs=2, batch_size=4, lr=3e-3, patience=10, eval_batch_size=8, checkpoint_every=3)
PDE_OUTPUTS = ("metrics.json", "rollout.csv", "curves.csv", "predictions.zarr")
GRAPH_OUTPUTS = ("metrics.json", "sweep.csv", "curves.csv", "model.pt")
SCORES = ("nrmse", "nrmse_final", "valid_nrmse", "best_epoch", "steps")


def _write_split(path: Path, split: str, n: int, seed: int, res: int = 16, frames: int = 5) -> None:
    rng = np.random.default_rng(seed)
    x = np.arange(res) * 64.0 / res
    t = np.linspace(0.0, 0.4, frames)
    u = rng.normal(size=(n, 1, 1)) * np.sin(2 * np.pi * (x - 3 * t[:, None]) / 64)[None]
    ds = xr.Dataset({"u": (("sample", "time", "x"), u.astype(np.float32)),
                     "u_clean": (("sample", "time", "x"), u.astype(np.float32)),
                     "seed": (("sample",), np.arange(1, n + 1, dtype=np.uint64))},
                    coords={"sample": np.arange(n), "time": t, "x": x})
    attrs = {a: "test" for a in REQUIRED_ATTRS}
    attrs.update(equation="ks", kind="observation", law="transient", burn_in=0.0, nu=0.1, length=64.0,
                 stepper="SBDF2", dt=0.01, t_end=0.4,
                 n_frames=frames, sim_resolution=64, resolution=res, obs_method="fourier", sigma=0.0, noise_seed=1,
                 root_seed=0, split=split, redraws=[])
    ds.attrs = attrs
    write_store(ds, path / f"{split}.zarr")


@pytest.fixture(scope="module")
def obs_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("obs") / "fourier-r16-s0"
    for i, (split, n) in enumerate((("train", 8), ("valid", 4), ("test", 4))):
        _write_split(path, split, n, seed=i)
    return path


def _pde(data_dir: Path, out: Path, device: str = "auto") -> dict:
    run = RunParams(data_dir=data_dir, model="ffno", seed=0, out=out, threads=1, progress=False, device=device)
    return train_and_evaluate(run, HYPER, TRAIN)


@pytest.fixture(scope="module")
def finished_pde(obs_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("pde") / "run"
    metrics = _pde(obs_dir, out)
    return out, metrics, {name: (out / name).read_bytes() for name in ("rollout.csv", "curves.csv")}


@pytest.mark.parametrize("deleted", [(), *((name,) for name in PDE_OUTPUTS), PDE_OUTPUTS])
def test_pde_rerun_of_finished_run_rewrites_every_output(obs_dir, finished_pde, tmp_path, capsys, deleted):
    done, metrics, files = finished_pde
    out = tmp_path / "run"
    shutil.copytree(done, out)
    for name in deleted:
        shutil.rmtree(out / name) if (out / name).is_dir() else (out / name).unlink()
    capsys.readouterr()
    again = _pde(obs_dir, out, device="cpu")  # a parameter outside the signature changed too
    assert "resuming" in capsys.readouterr().err
    assert all((out / name).exists() for name in PDE_OUTPUTS)
    assert {k: again[k] for k in SCORES} == {k: metrics[k] for k in SCORES}
    assert (out / "rollout.csv").read_bytes() == files["rollout.csv"]
    assert (out / "curves.csv").read_bytes() == files["curves.csv"]


def test_pde_checkpoint_survives_moving_the_data_and_not_a_code_change(obs_dir, finished_pde, tmp_path, capsys,
                                                                       monkeypatch):
    done, metrics, _ = finished_pde
    moved = tmp_path / "elsewhere" / obs_dir.name
    shutil.copytree(obs_dir, moved)
    out = tmp_path / "run"
    shutil.copytree(done, out)
    capsys.readouterr()
    _pde(moved, out)
    assert "resuming" in capsys.readouterr().err  # the signature holds no absolute path
    monkeypatch.setattr(resume, "code_version", lambda plugins=(): "edited-model-code")
    again = _pde(moved, out)
    assert "the code changed" in capsys.readouterr().err  # code changed: retrained
    assert again["steps"] == metrics["steps"]


def test_pde_regenerated_data_with_the_same_attributes_retrains(obs_dir, finished_pde, tmp_path, capsys):
    done, _, _ = finished_pde
    other = tmp_path / obs_dir.name
    shutil.copytree(obs_dir, other)
    _write_split(other, "train", 8, seed=7)  # same attributes, other values (e.g. after a solver fix)
    out = tmp_path / "run"
    shutil.copytree(done, out)
    capsys.readouterr()
    _pde(other, out)
    assert "starting afresh" in capsys.readouterr().err


def test_code_version_covers_the_whole_package():
    files = {p.relative_to(resume.PACKAGE).as_posix() for p in resume._package_files("gapbench")[1]}
    assert {"graphs/kinds.py", "models/gnn.py", "train/loop.py", "tables/collect.py", "pde/store.py"} <= files
    assert len(resume.code_version()) == 16 and resume.code_version() == resume.code_version(["gapbench.models.gnn"])
    assert resume.data_identity({"a": 1, "gapbench_version": "1"}) == resume.data_identity({"a": 1})
    assert resume.data_identity({"a": 1}) != resume.data_identity({"a": 2})


@pytest.fixture(scope="module")
def star(tmp_path_factory):
    from gapbench.graphs import planted
    from gapbench.graphs.data import write_dataset

    path = tmp_path_factory.mktemp("data") / "planted_star" / "n4-k1"
    splits, meta, model = planted.make(planted.PlantedStarParams(4, 1, 30, law="centre-bilinear"))
    write_dataset(path, splits, meta, {planted.MODEL_FILE: planted.save_model(model)})
    return path


def _graph(data, out, device="auto"):
    return tg.run(tg.GraphTrainSpec(data=data, out=out, model="edge_gcn", depths=[1, 2], widths=[8], lrs=[0.01],
                                    epochs=2, batch_size=8, progress=False, device=device))


@pytest.mark.parametrize("deleted", [*((name,) for name in GRAPH_OUTPUTS), GRAPH_OUTPUTS])
def test_graph_rerun_of_finished_sweep_rewrites_every_output(star, tmp_path, capsys, deleted):
    out = tmp_path / "run"
    metrics = _graph(star, out)
    files = {name: (out / name).read_bytes() for name in ("sweep.csv", "curves.csv")}
    for name in deleted:
        (out / name).unlink()
    moved = tmp_path / "moved" / star.name
    shutil.copytree(star, moved)
    capsys.readouterr()
    again = _graph(moved, out, device="cpu")
    assert "afresh" not in capsys.readouterr().err
    assert all((out / name).is_file() for name in GRAPH_OUTPUTS)
    assert (again["test"], again["valid"], again["hyper"]) == (metrics["test"], metrics["valid"], metrics["hyper"])
    assert {name: (out / name).read_bytes() for name in files} == files
