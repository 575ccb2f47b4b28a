"""Bad command-line arguments: every `gapbench` subcommand answers with one line naming what is wrong and what
is allowed - no traceback, exit status 2 - before any work, and `--out` never replaces what it did not make."""

from __future__ import annotations

import os

import pytest

from gapbench.cli import main

SIM = ["simulate", "ks", "--nu", "0.1", "--resolution", "32", "--t-end", "0.2", "--n-frames", "3", "--dt", "0.02",
       "--n-samples", "1"]
SHARD = ["pde", "shard", "ks", "--nu", "0.1", "--resolution", "32", "--t-end", "0.2", "--n-frames", "3",
         "--dt", "0.02", "--n-samples", "3", "--shard-size", "2", "--split", "train"]
STAR = ["graphs", "make", "planted-star", "--leaves", "4", "--depth", "1", "--n-graphs", "10"]
TRAIN_PDE = ["train", "pde", "--data-dir", "{absent}", "--model", "ffno", "--out", "{tmp}/run"]
TRAIN_GRAPH = ["train", "graph", "--data", "{absent}", "--model", "edge_gcn", "--out", "{tmp}/run"]

# (arguments, text the error line must contain); {tmp}: a fresh folder, {precious}: a folder with a user's file,
# {absent}: a path that does not exist, {file}: a user's plain file
CASES = [
    (SIM + ["--nu", "0", "--out", "{tmp}/a.zarr"], "--nu"),
    (SIM + ["--nu", "-1", "--out", "{tmp}/a.zarr"], "--nu"),
    (SIM + ["--nu", "nan", "--out", "{tmp}/a.zarr"], "finite"),
    (SIM + ["--nu", "abc", "--out", "{tmp}/a.zarr"], "not a number"),
    (SIM + ["--resolution", "0", "--out", "{tmp}/a.zarr"], "--resolution"),
    (SIM + ["--resolution", "100000", "--out", "{tmp}/a.zarr"], "--resolution"),
    (SIM + ["--t-end", "nan", "--out", "{tmp}/a.zarr"], "--t-end"),
    (SIM + ["--t-end", "inf", "--out", "{tmp}/a.zarr"], "--t-end"),
    (SIM + ["--t-end", "-1", "--out", "{tmp}/a.zarr"], "--t-end"),
    (SIM + ["--n-frames", "1", "--out", "{tmp}/a.zarr"], "--n-frames"),
    (SIM + ["--n-frames", "1e9", "--out", "{tmp}/a.zarr"], "--n-frames"),
    (SIM + ["--dt", "0", "--out", "{tmp}/a.zarr"], "--dt"),
    (SIM + ["--dt", "0.03", "--out", "{tmp}/a.zarr"], "--dt"),
    (SIM + ["--stepper", "Euler", "--out", "{tmp}/a.zarr"], "--stepper"),
    (SIM + ["--batch", "0", "--out", "{tmp}/a.zarr"], "--batch"),
    (SIM + ["--seed", "-5", "--out", "{tmp}/a.zarr"], "--seed"),
    (SIM + ["--seed", "1.5", "--out", "{tmp}/a.zarr"], "--seed"),
    (SIM + ["--n-samples", "0", "--out", "{tmp}/a.zarr"], "--n-samples"),
    (SIM + ["--n-samples", "1e12", "--out", "{tmp}/a.zarr"], "--n-samples"),
    (SIM + ["--max-redraws", "-1", "--out", "{tmp}/a.zarr"], "--max-redraws"),
    (SIM + ["--out", "."], "refusing"),
    (SIM + ["--out", "{precious}"], "refusing"),
    (SIM + ["--out", "{file}"], "refusing"),
    (SIM + ["--out", "{precious}", "--force"], "refusing"),
    (SHARD + ["--shard", "-1", "--out", "{tmp}/s.zarr"], "--shard"),
    (SHARD + ["--shard", "5", "--out", "{tmp}/s.zarr"], "--shard"),
    (SHARD + ["--shard", "0", "--shard-size", "0", "--out", "{tmp}/s.zarr"], "--shard-size"),
    (["pde", "merge", "{absent}", "--out", "{tmp}/m.zarr"], "no such store"),
    (["pde", "merge", "{precious}", "--out", "{tmp}/m.zarr"], "not a readable"),
    (["pde", "merge", "{absent}", "--out", "{precious}"], "refusing"),
    (["pde", "observe", "--sim", "{absent}", "--resolution", "8", "--out", "{tmp}/o.zarr"], "no such store"),
    (["pde", "observe", "--sim", "{absent}", "--method", "nearest", "--resolution", "8", "--out", "{tmp}/o"],
     "--method"),
    (["pde", "observe", "--sim", "{absent}", "--resolution", "1", "--out", "{tmp}/o.zarr"], "--resolution"),
    (["pde", "observe", "--sim", "{absent}", "--resolution", "8", "--sigma", "-0.1", "--out", "{tmp}/o"], "--sigma"),
    (["pde", "observe", "--sim", "{absent}", "--resolution", "8", "--sigma", "nan", "--out", "{tmp}/o"], "--sigma"),
    (["pde", "observe", "--sim", "{absent}", "--resolution", "8", "--out", "{precious}"], "refusing"),
    (["pde", "omega", "--sim", "{absent}", "--resolutions", "0", "--out", "{tmp}/w.csv"], "--resolutions"),
    (["pde", "omega", "--sim", "{absent}", "--resolutions", "8", "--out", "{tmp}/w.csv"], "no such store"),
    (STAR + ["--leaves", "0", "--out", "{tmp}/g"], "--leaves"),
    (STAR + ["--leaves", "1e12", "--out", "{tmp}/g"], "--leaves"),
    (STAR + ["--width", "100000000", "--out", "{tmp}/g"], "--width"),
    (STAR + ["--depth", "-1", "--out", "{tmp}/g"], "--depth"),
    (STAR + ["--n-graphs", "2", "--out", "{tmp}/g"], "--n-graphs"),
    (STAR + ["--split", "0.5", "0.5", "0.5", "--out", "{tmp}/g"], "split"),
    (STAR + ["--split", "0", "0.5", "0.5", "--out", "{tmp}/g"], "--split"),
    (STAR + ["--out", "{precious}"], "refusing"),
    (STAR + ["--out", "{precious}", "--force"], "refusing"),
    (["graphs", "make", "map", "--n", "15", "--n-graphs", "10", "--out", "{tmp}/g"], "perfect square"),
    (["graphs", "make", "map", "--n", "16", "--unary-scale", "0", "--n-graphs", "10", "--out", "{tmp}/g"], "--unary"),
    (["graphs", "make", "ising", "--tree", "star", "--n-graphs", "10", "--out", "{tmp}/g"], "--tree"),
    (["graphs", "make", "ising", "--tree", "path", "--field-std", "nan", "--n-graphs", "10", "--out", "{tmp}/g"],
     "--field-std"),
    (["graphs", "make", "duplicates", "--n", "7", "--n-graphs", "10", "--out", "{tmp}/g"], "even"),
    (["graphs", "make", "benchmark", "--name", "cora", "--out", "{tmp}/g"], "--name"),
    (["graphs", "make", "benchmark", "--name", "zinc", "--root", "{absent}", "--out", "{tmp}/g"], "download"),
    (["graphs", "download", "cora"], "name"),
    (["graphs", "download", "zinc", "--retries", "0"], "--retries"),
    (["data", "check", "{absent}"], "missing"),
    (["data", "check", "{precious}"], "meta.json"),
    (["data", "check", "{absent}.zarr"], "no such store"),
    (["config", "check", "{absent}"], "cannot read"),
    (TRAIN_PDE + ["--lr", "-1"], "--lr"),
    (TRAIN_PDE + ["--lr", "nan"], "--lr"),
    (TRAIN_PDE + ["--device", "tpu"], "--device"),
    (TRAIN_PDE + ["--device", "cpu;touch x"], "--device"),
    (TRAIN_PDE + ["--epochs", "0"], "--epochs"),
    (TRAIN_PDE + ["--batch-size", "0"], "--batch-size"),
    (TRAIN_PDE + ["--weight-decay", "nan"], "--weight-decay"),
    (TRAIN_PDE + ["--seed", "-5"], "--seed"),
    (TRAIN_PDE + ["--width", "100000000"], "--width"),
    (["train", "pde", "--data-dir", "{absent}", "--model", "transformer", "--out", "{tmp}/run"], "transformer"),
    (TRAIN_PDE, "no such store"),
    (TRAIN_GRAPH + ["--lrs", "0"], "--lrs"),
    (TRAIN_GRAPH + ["--budgets", "4by16"], "--budgets"),
    (TRAIN_GRAPH + ["--budgets", "-1x4"], "--budgets"),
    (TRAIN_GRAPH + ["--device", "tpu"], "--device"),
    (TRAIN_GRAPH + ["--dropout", "2"], "--dropout"),
    (TRAIN_GRAPH + ["--epochs", "-3"], "--epochs"),
    (TRAIN_GRAPH, "missing"),
    (["train", "graph", "--data", "{precious}", "--model", "edge_gcn", "--out", "{tmp}/run"], "meta.json"),
    (["frobnicate"], "invalid choice"),
]


@pytest.fixture()
def places(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    (tmp_path / "notes.txt").write_text("keep me")
    return {"tmp": str(tmp_path / "work"), "precious": str(precious), "absent": str(tmp_path / "absent"),
            "file": str(tmp_path / "notes.txt")}


def test_enough_cases():
    assert len(CASES) >= 50


@pytest.mark.parametrize("args,where", CASES, ids=[" ".join(c[0][-4:])[:60] for c in CASES])
def test_bad_argument_gets_one_line(args, where, places, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "work").mkdir()
    argv = [a.format(**places) for a in args]
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse
        rc = exc.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2 and len(lines) == 1, err
    assert "error:" in lines[0] and where in lines[0] and "Traceback" not in err, lines[0]
    assert (tmp_path / "precious" / "thesis.tex").read_text() == "years of work"
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    assert os.listdir(tmp_path / "work") in ([], ["run"])  # nothing written but a training folder


def test_out_replaces_only_a_dataset_of_its_kind_and_only_with_force(tmp_path, capsys):
    make = ["graphs", "make", "duplicates", "--n", "8", "--n-graphs", "10", "--out", str(tmp_path / "d")]
    assert main(make) == 0
    assert main(make) == 2 and "--force" in capsys.readouterr().err
    assert main(make + ["--force"]) == 0
    assert main(["data", "check", str(tmp_path / "d")]) == 0
