"""Provenance you can check: writes never follow links, data is what was written (content digests).

Every file or directory the package writes is made under a fresh ``mkstemp``/``mkdtemp`` name and renamed into
place, so a symbolic link planted at an output or a temporary name is replaced, never written through; every
store and graph dataset records a digest of each array/file at write, which ``data check`` and every trainer
verify.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import xarray as xr

from gapbench.cli import main
from gapbench.pde.store import REQUIRED_ATTRS, write_store

VICTIM_TEXT = b"a file outside results/ that no gapbench run may change\n"


def _victims(tmp_path, n):
    """``n`` victim files outside the project folder, and a function returning their bytes."""
    home = tmp_path / "elsewhere"
    home.mkdir()
    files = [home / f"victim{i}" for i in range(n)]
    for f in files:
        f.write_bytes(VICTIM_TEXT)
    return files


def _unchanged(victims):
    assert all(v.read_bytes() == VICTIM_TEXT for v in victims), "a write followed a planted link"
    assert all(not v.is_symlink() for v in victims)


def _store(path, kind="simulation", n=4, res=16, frames=3, split="train"):
    """A small KS store; an observation store also gets its clean field ``u_clean``."""
    rng = np.random.default_rng(0)
    u = rng.normal(size=(n, frames, res)).astype(np.float32)
    data = {"u": (("sample", "time", "x"), u), "seed": (("sample",), np.arange(1, n + 1, dtype=np.uint64))}
    if kind == "observation":
        data["u_clean"] = (("sample", "time", "x"), u * 0.9)
    ds = xr.Dataset(data, coords={"sample": np.arange(n), "time": np.linspace(0, 0.2, frames),
                                  "x": np.arange(res) * 4.0})
    attrs = {a: "test" for a in REQUIRED_ATTRS}
    attrs.update(equation="ks", kind=kind, law="transient", burn_in=0.0, nu=0.1, length=64.0, stepper="SBDF4",
                 dt=0.02, t_end=0.2, n_frames=frames,
                 sim_resolution=res, resolution=res, obs_method="none" if kind == "simulation" else "fourier",
                 sigma=0.0, noise_seed=-1, root_seed=0, split=split, redraws=[], tail_fraction=0.0)
    ds.attrs = attrs
    write_store(ds, path, chunk=1)
    return path


@pytest.fixture(scope="module")
def dup(tmp_path_factory):
    out = tmp_path_factory.mktemp("graphs") / "dup"
    assert main(["graphs", "make", "duplicates", "--n", "6", "--n-graphs", "12", "--seed", "0",
                 "--out", str(out)]) == 0
    return out


TRAIN = ["--model", "edge_gcn", "--depths", "1", "--widths", "4", "--epochs", "2", "--no-progress"]


def test_links_planted_at_every_training_output_and_temp_name_are_replaced_not_followed(dup, tmp_path):
    out = tmp_path / "results" / "run"
    out.mkdir(parents=True)
    names = ["metrics.json", "sweep.csv", "curves.csv", "model.pt", "checkpoint.pt", "model.pt.tmp",
             ".metrics.json.tmp", ".checkpoint.pt.tmp"]
    victims = _victims(tmp_path, len(names))
    for name, victim in zip(names, victims):
        os.symlink(victim, out / name)
    assert main(["train", "graph", "--data", str(dup), "--out", str(out), *TRAIN]) == 0
    _unchanged(victims)
    for name in ("metrics.json", "sweep.csv", "curves.csv", "model.pt", "checkpoint.pt"):
        assert (out / name).is_file() and not (out / name).is_symlink(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "ok"


def test_the_runs_table_carries_each_runs_code_version(dup, tmp_path):
    from gapbench.tables import graphs
    from gapbench.tables.collect import collect
    from gapbench.train import resume

    out = tmp_path / "train" / "graph" / "duplicates" / "n6" / "edge_gcn" / "seed0"
    assert main(["train", "graph", "--data", str(dup), "--out", str(out), *TRAIN]) == 0
    (row,) = graphs.run_rows(collect([out / "metrics.json"]))
    assert row["code_version"] == resume.code_version() and row["config_digest"]
    assert "git_commit" in row and "dirty" in row


def test_links_at_omega_table_store_and_dataset_names_leave_their_targets_unchanged(dup, tmp_path, capsys):
    sim = _store(tmp_path / "results" / "sim.zarr")
    victims = _victims(tmp_path, 2)
    table = tmp_path / "results" / "omega_f.csv"
    os.symlink(victims[0], table)
    os.symlink(victims[1], table.with_name(".omega_f.csv.tmp"))
    assert main(["pde", "omega", "--sim", str(sim), "--resolutions", "8", "--out", str(table)]) == 0
    _unchanged(victims)
    assert table.is_file() and not table.is_symlink() and table.read_text().startswith("resolution,omega_f")
    # a link at a store's or dataset's --out (pointing to a user's folder) is refused; the folder is untouched
    folder = tmp_path / "elsewhere" / "folder"
    folder.mkdir()
    (folder / "keep.txt").write_bytes(VICTIM_TEXT)
    for argv in (["pde", "merge", str(sim), "--out", "{link}"],
                 ["graphs", "make", "duplicates", "--n", "6", "--n-graphs", "12", "--out", "{link}"]):
        link = tmp_path / "results" / "link"
        os.symlink(folder, link)
        assert main([a.replace("{link}", str(link)) for a in argv]) == 2
        assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]
        assert (folder / "keep.txt").read_bytes() == VICTIM_TEXT
        link.unlink()
    # a link at a store's path is replaced (never written through) when the writer may replace it
    os.symlink(folder, tmp_path / "results" / "store.zarr")
    _store(tmp_path / "results" / "store.zarr")
    assert not (tmp_path / "results" / "store.zarr").is_symlink()
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]


# ------------------------------------------------------------------------------------------------- data identity
def _rewrite_one_chunk(path, array):
    """Rewrite chunk 0 of ``array`` with plausible values (the same values scaled by 1.01), a valid chunk."""
    import zarr

    arr = zarr.open_array(str(path / array), mode="r+")
    arr[0:1] = np.asarray(arr[0:1]) * 1.01


@pytest.mark.parametrize("array", ["u", "u_clean", "seed"])
def test_a_plausibly_rewritten_chunk_is_refused_by_data_check_and_the_trainer(tmp_path, capsys, array):
    data = tmp_path / "obs"
    for split in ("train", "valid", "test"):
        _store(data / f"{split}.zarr", kind="observation", split=split)
    assert main(["data", "check", str(data / "valid.zarr")]) == 0
    if array == "seed":
        import zarr

        zarr.open_array(str(data / "valid.zarr" / "seed"), mode="r+")[0:1] = np.array([99], dtype=np.uint64)
    else:
        _rewrite_one_chunk(data / "valid.zarr", array)
    capsys.readouterr()
    assert main(["data", "check", str(data / "valid.zarr")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{data / 'valid.zarr'}: array {array!r} differs" in err, err
    assert main(["train", "pde", "--data-dir", str(data), "--model", "ffno", "--out", str(tmp_path / "run"),
                 "--epochs", "1", "--warmup", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "valid.zarr: array" in err and "Traceback" not in err, err
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_a_doubled_graph_label_is_refused_by_data_check_and_the_trainer(dup, tmp_path, capsys):
    from torch_geometric.data import InMemoryDataset

    from gapbench.graphs import data

    bad = tmp_path / "bad"
    shutil.copytree(dup, bad)
    graphs = list(data.load(bad, "train"))
    graphs[0].y[1] = graphs[0].y[1] * 2 + 1  # one label doubled (0 -> 1, 1 -> 3)
    InMemoryDataset.save(graphs, str(bad / "processed" / "train.pt"))
    capsys.readouterr()
    assert main(["data", "check", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{bad}: processed/train.pt differs from the content digest" in err, err
    assert main(["train", "graph", "--data", str(bad), "--out", str(tmp_path / "run"), *TRAIN]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "processed/train.pt differs" in err, err


# ------------------------------------------------------------------------------------------------- code identity
def _train_with(src, data, out):
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1", "GAPBENCH_PROGRESS": "0"}
    env.pop("GAPBENCH_PLUGINS", None)
    done = subprocess.run([sys.executable, "-m", "gapbench", "train", "graph", "--data", str(data), "--out", str(out),
                           *TRAIN], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stderr, json.loads((out / "metrics.json").read_text())


def test_editing_any_package_file_makes_the_forced_job_retrain_and_metrics_say_which_code(dup, tmp_path):
    from gapbench.train import resume

    src = tmp_path / "src"
    shutil.copytree(resume.PACKAGE, src / "gapbench", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "run"
    _, first = _train_with(src, dup, out)
    sweep = (out / "sweep.csv").read_text()
    assert len(first["code_version"]) == 16 and first["git_commit"] is None and first["dirty"] is None  # no checkout
    assert len(first["config_digest"]) == 16
    err, same = _train_with(src, dup, out)  # forced again, same code: the finished checkpoint is reused
    assert "starting afresh" not in err and (out / "sweep.csv").read_text() == sweep  # nothing retrained
    assert same["code_version"] == first["code_version"]
    kinds = src / "gapbench" / "graphs" / "kinds.py"  # not model code by any hand-kept list: a dataset-kind table
    kinds.write_text(kinds.read_text() + "\n# edited\n")
    err, edited = _train_with(src, dup, out)
    assert "the code changed" in err and "starting afresh (retraining)" in err, err
    assert edited["code_version"] != first["code_version"]  # (the retrained numbers may equal the old: deterministic)


def test_code_version_covers_every_file_of_a_plugin_package(tmp_path, monkeypatch):
    from gapbench.train import resume

    pkg = tmp_path / "myplug"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from myplug import helper  # registers models built by helper\n")
    (pkg / "helper.py").write_text("SCALE = 1.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("GAPBENCH_PLUGINS", raising=False)
    before = resume.code_version(["myplug.models"])
    assert before != resume.code_version()
    (pkg / "helper.py").write_text("SCALE = 2.0\n")  # the helper the registering module imports
    resume._code_version.cache_clear()
    assert resume.code_version(["myplug"]) != before
    monkeypatch.setenv("GAPBENCH_PLUGINS", "myplug")  # a loaded plugin counts for every run
    assert resume.code_version() == resume.code_version(["myplug"])


def test_metrics_record_the_git_commit_of_a_checkout():
    from gapbench.train import resume

    commit, dirty = resume.git_state()
    if commit is None:
        pytest.skip("the package is not in a git checkout here")
    assert len(commit) == 40 and int(commit, 16) >= 0 and isinstance(dirty, bool)


# ------------------------------------------------------------------------------------------------- failures stay local
def test_a_diverging_configuration_is_a_failed_sweep_row_and_the_sweep_goes_on(dup, tmp_path, capsys):
    import csv

    out = tmp_path / "run"
    assert main(["train", "graph", "--data", str(dup), "--out", str(out), "--model", "edge_gcn", "--depths", "1",
                 "--widths", "4", "--lrs", "1e30", "0.01", "--epochs", "2", "--no-progress"]) == 0
    rows = list(csv.DictReader(open(out / "sweep.csv")))
    assert [r["status"] for r in rows] == ["failed", "ok"]
    assert "non-finite loss" in rows[0]["reason"] and rows[0]["failed_epoch"] in ("0", "1")
    assert f"epoch {int(rows[0]['failed_epoch']) + 1}," in rows[0]["reason"]  # the epoch it diverged in (0-based)
    assert rows[0]["valid"] == "nan" and rows[1]["valid"] != "nan"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "ok" and metrics["hyper"]["lr"] == 0.01 and (out / "model.pt").is_file()


def test_a_model_whose_every_configuration_fails_is_a_failed_run_its_neighbours_keep_theirs(dup, tmp_path, capsys):
    from gapbench.tables.collect import collect

    out = tmp_path / "train" / "graph" / "duplicates" / "n6" / "{model}" / "seed0"
    assert main(["train", "graph", "--data", str(dup), "--out", str(out), "--model", "edge_gcn", "node_gcn",
                 "--depths", "1", "--widths", "4", "--lrs", "1e30", "--epochs", "3", "--no-progress"]) == 0
    runs = {m: tmp_path / "train" / "graph" / "duplicates" / "n6" / m / "seed0" for m in ("edge_gcn", "node_gcn")}
    for run in runs.values():
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["status"] == "failed" and "every configuration failed" in metrics["error"]
        assert (run / "sweep.csv").is_file() and (run / "curves.csv").is_file() and not (run / "model.pt").exists()
    coll = collect([r / "metrics.json" for r in runs.values()])
    assert {r.status for r in coll.runs} == {"failed"} and all(not r.usable for r in coll.runs)
    assert "FAILED" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------------- run identity
def _graph_metrics(path, **over):
    path.parent.mkdir(parents=True, exist_ok=True)
    m = {"task": "graph", "experiment": "planted_star", "variant": "n16-k1", "model": "edge_gcn", "seed": 0,
         "metric": "rmse", "higher_is_better": False, "test": 0.1, "valid": 0.1, "status": "ok", **over}
    path.write_text(json.dumps(m))
    return path


@pytest.mark.parametrize("wrong", [{"model": "node_gcn"}, {"seed": 0}, {"variant": "n32-k1"},
                                   {"experiment": "duplicates"}])
def test_a_metrics_file_copied_into_the_wrong_folder_is_marked_not_tabulated(tmp_path, wrong):
    from gapbench.tables.collect import collect

    base = tmp_path / "train" / "graph" / "planted_star" / "n16-k1"
    good = _graph_metrics(base / "edge_gcn" / "seed0" / "metrics.json")
    bad = _graph_metrics(base / "edge_gcn" / "seed1" / "metrics.json", **{"seed": 1, **wrong})  # one key wrong
    runs = {r.path: r for r in collect([good, bad]).runs}
    assert runs[good].usable
    assert runs[bad].status == "mismatch" and not runs[bad].usable and "path says" in runs[bad].reason


def test_runs_with_extra_inputs_belong_to_their_base_model(tmp_path):
    """A MAP path-ids run (``{model}-ids-d-w``) and a Table 1 edge-features run (``{model}-ef``) record their base
    model's name: usable, while a file of another model in such a folder is still a mismatch."""
    from gapbench.tables.collect import collect

    ids = _graph_metrics(tmp_path / "train/graph/map/n64/edge_gcn-ids-d2-w8/seed0/metrics.json", experiment="map",
                         variant="n64", metric="accuracy", higher_is_better=True)
    ef = _graph_metrics(tmp_path / "train/graph/benchmark/zinc/edge_gcn-ef/seed0/metrics.json",
                        experiment="benchmark", variant="zinc", metric="mae")
    other = _graph_metrics(tmp_path / "train/graph/map/n64/node_gcn-ids-d2-w8/seed0/metrics.json", experiment="map",
                           variant="n64", metric="accuracy", higher_is_better=True)
    runs = {r.path: r for r in collect([ids, ef, other]).runs}
    assert runs[ids].usable and runs[ef].usable, (runs[ids].reason, runs[ef].reason)
    assert runs[other].status == "mismatch" and "path says 'node_gcn'" in runs[other].reason


def test_pde_identity_is_checked_against_the_path(tmp_path):
    from gapbench.tables.collect import collect

    path = (tmp_path / "train" / "pde" / "ks" / "attractor" / "nu0.1" / "fourier-r32-s0" / "ffno" / "seed0" /
            "metrics.json")
    path.parent.mkdir(parents=True)
    m = {"task": "pde", "equation": "ks", "law": "attractor", "nu": 0.1, "method": "fourier", "resolution": 32,
         "sigma": 0.0, "model": "ffno", "seed": 0, "nrmse": 0.1, "nrmse_final": 0.2, "status": "ok"}
    path.write_text(json.dumps(m))
    assert collect([path]).runs[0].usable
    path.write_text(json.dumps({**m, "resolution": 64}))  # a r64 run's file copied into the r32 folder
    run = collect([path]).runs[0]
    assert run.status == "mismatch" and "resolution: file says 64, path says 32" in run.reason
    path.write_text(json.dumps({**m, "law": "transient"}))  # a transient-law run's file in the attractor folder
    assert "law: file says 'transient', path says 'attractor'" in collect([path]).runs[0].reason


def test_tables_build_outside_snakemake_warns_about_runs_not_in_its_config(tmp_path, repo, capsys):
    stray = _graph_metrics(tmp_path / "train" / "graph" / "planted_star" / "n99-k1" / "edge_gcn" / "seed0" /
                           "metrics.json", variant="n99-k1")
    argv = ["tables", "build", "--train-dir", str(tmp_path / "train"), "--data-dir", str(tmp_path / "data"),
            "--tables-dir", str(tmp_path / "tables"), "--figures-dir", str(tmp_path / "figures"),
            "--claims", str(tmp_path / "claims.md"), "--no-figures"]
    assert main([*argv, "--configfile", str(repo / "configs" / "ci.yaml")]) == 0
    err = capsys.readouterr().err
    assert "1 runs under" in err and "are not in" in err and str(stray) in err
    assert main([*argv, "--configfile", "none"]) == 0
    assert "are not in" not in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------- export
def test_export_needs_force_to_replace_and_a_sigterm_leaves_no_temporary_file(tmp_path, capsys):
    import signal
    import subprocess
    import sys

    store = _store(tmp_path / "s.zarr", kind="observation")
    out = tmp_path / "well" / "ks.hdf5"
    out.parent.mkdir()
    out.write_bytes(b"an earlier export")
    assert main(["export", "the-well", str(store), str(out)]) == 2
    assert "exists; add --force to replace it" in capsys.readouterr().err and out.read_bytes() == b"an earlier export"
    assert main(["export", "the-well", str(store), str(out), "--force"]) == 0 and out.read_bytes()[:4] == b"\x89HDF"
    out.unlink()
    script = (  # the export's writer finishes its temporary file, then waits: SIGTERM arrives mid-export
        "import sys, time\nimport gapbench.pde.well as well\nfrom gapbench.outputs import atomic_write\n"
        "def slow(path, write):\n"
        "    def wait(tmp):\n        write(tmp); print('written', flush=True); time.sleep(60)\n"
        "    atomic_write(path, wait)\n"
        "well.atomic_write = slow\nfrom gapbench.cli import main\n"
        f"sys.exit(main(['export', 'the-well', {str(store)!r}, {str(out)!r}]))\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.stdout.readline().strip() == "written"
    assert list(out.parent.glob(".ks.hdf5.*.tmp"))  # the temporary file is there while the export runs
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143
    assert list(out.parent.iterdir()) == []  # no temporary file, no output


# ------------------------------------------------------------------------------------------------- YAML
def test_a_repeated_yaml_key_is_refused_by_config_loading_and_config_check(tmp_path, repo, capsys):
    from gapbench.config import load_config
    from gapbench.errors import ConfigError

    text = (repo / "configs" / "ci.yaml").read_text()
    bad = tmp_path / "dup.yaml"
    bad.write_text(text + "\nseed: 7\n")  # ci.yaml sets seed already
    with pytest.raises(ConfigError, match="key 'seed' appears twice"):
        load_config(bad)
    nested = tmp_path / "nested.yaml"
    nested.write_text("seed: 0\ntables:\n  alpha: 0.2\n  alpha: 0.05\n")
    capsys.readouterr()
    assert main(["config", "check", str(nested)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "key 'alpha' appears twice" in err and "lines 3 and 4" in err, err
    assert main(["config", "check", str(repo / "configs" / "ci.yaml")]) == 0


# ------------------------------------------------------------------------------------------------- messages that work
def test_all_nan_validation_says_what_works_and_deleting_the_checkpoint_is_not_it(tmp_path, capsys, monkeypatch):
    import math

    from gapbench.train import pde

    data = tmp_path / "obs"
    for split in ("train", "valid", "test"):
        _store(data / f"{split}.zarr", kind="observation", split=split)
    monkeypatch.setattr(pde.SurrogateTrainer, "validate", lambda self, state: math.nan)
    argv = ["train", "pde", "--data-dir", str(data), "--model", "ffno", "--out", str(tmp_path / "run"), "--epochs", "2",
            "--warmup", "1", "--no-progress"]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the per-epoch lines, one error line
    assert "error: ffno seed 0: every validation nRMSE of the 2 epochs was NaN" in err, err
    assert "lower the learning rate" in err and "delete" not in err
    monkeypatch.undo()  # the advice followed: another learning rate is another signature -> a fresh, working run
    assert main([*argv, "--lr", "0.0005"]) == 0
    assert "starting afresh" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------- Zarr readers
def test_every_kind_of_store_opens_without_a_warning_despite_snakemakes_marker(tmp_path, capsys):
    import warnings

    sim = _store(tmp_path / "shard.zarr")
    assert main(["pde", "merge", str(sim), "--out", str(tmp_path / "sim.zarr")]) == 0  # simulation
    obs = tmp_path / "obs"
    for split in ("train", "valid", "test"):  # observation: the pipeline's observe command
        assert main(["pde", "observe", "--sim", str(tmp_path / "sim.zarr"), "--method", "fourier", "--resolution",
                     "8", "--sigma", "0.1", "--out", str(obs / f"{split}.zarr")]) == 0
    assert main(["train", "pde-baseline", "--data-dir", str(obs), "--predictor", "persistence", "--warmup", "1",
                 "--out", str(tmp_path / "run")]) == 0  # prediction store
    stores = [tmp_path / "sim.zarr", obs / "test.zarr", tmp_path / "run" / "predictions.zarr"]
    kinds = set()
    for store in stores:
        (store / ".snakemake_timestamp").touch()  # what Snakemake leaves in a directory() output
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ds = xr.open_zarr(store)  # a user's default call: consolidated metadata, nothing listed
            kinds.add(ds.attrs["kind"])
            assert main(["data", "check", str(store)]) == 0
    assert kinds == {"simulation", "observation", "prediction"}


def test_snakemakes_marker_in_a_dataset_folder_is_not_a_foreign_file(dup, tmp_path, capsys):
    ds = tmp_path / "dup"
    shutil.copytree(dup, ds)
    (ds / ".snakemake_timestamp").touch()  # what Snakemake leaves in a directory() output
    assert main(["data", "check", str(ds)]) == 0
    (ds / "processed" / "extra.pt").write_bytes(b"not the writer's")
    capsys.readouterr()
    assert main(["data", "check", str(ds)]) == 2
    assert "processed/extra.pt are not in the dataset card" in capsys.readouterr().err


def test_links_planted_at_every_pde_training_output_are_replaced_not_followed(tmp_path):
    data = tmp_path / "obs"
    for split in ("train", "valid", "test"):
        _store(data / f"{split}.zarr", kind="observation", split=split)
    out = tmp_path / "results" / "run"
    out.mkdir(parents=True)
    names = ["metrics.json", "rollout.csv", "curves.csv", "last.pt", "best.pt", ".last.pt.tmp"]
    victims = _victims(tmp_path, len(names))
    for name, victim in zip(names, victims):
        os.symlink(victim, out / name)
    folder = tmp_path / "elsewhere" / "folder"
    folder.mkdir()
    (folder / "keep.txt").write_bytes(VICTIM_TEXT)
    os.symlink(folder, out / "predictions.zarr")
    assert main(["train", "pde", "--data-dir", str(data), "--model", "ffno", "--out", str(out), "--epochs", "1",
                 "--warmup", "1", "--no-progress"]) == 0
    _unchanged(victims)
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]
    for name in ("metrics.json", "rollout.csv", "curves.csv", "last.pt", "best.pt", "predictions.zarr"):
        assert not (out / name).is_symlink() and (out / name).exists(), name
