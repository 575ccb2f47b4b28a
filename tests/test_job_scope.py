"""Fewer processes: `gapbench each`, several datasets and seeds per `train graph` process, and the job scopes
(graphs.job_scope, train.graph.job_scope, train.pde.job_scope) that decide what one Snakemake job covers."""

from __future__ import annotations

import json

import pytest

from gapbench.cli import build_parser, main
from gapbench.config import load_config

from test_gnn_train import make_planted, read_csv


# ------------------------------------------------------------------------------------------------ gapbench each
def test_each_runs_every_command_in_order(repo, capsys):
    cfg, ci = str(repo / "config.yaml"), str(repo / "configs" / "ci.yaml")
    assert main(["each", "--", "config", "check", cfg, "--", "config", "check", ci]) == 0
    out = capsys.readouterr().out
    assert out.index(f"{cfg}: valid") < out.index(f"{ci}: valid")
    assert "[1/2]" in out and "[2/2]" in out


def test_each_parses_every_command_before_running_any(repo, capsys):
    with pytest.raises(SystemExit) as err:
        main(["each", "--", "config", "check", str(repo / "config.yaml"), "--", "config", "chek"])
    assert err.value.code == 2
    captured = capsys.readouterr()
    assert "valid" not in captured.out and "invalid choice: 'chek'" in captured.err


def test_each_stops_at_the_first_failure_with_its_status(repo, tmp_path, capsys):
    missing = str(tmp_path / "missing.yaml")
    assert main(["each", "--", "config", "check", missing, "--", "config", "check", str(repo / "config.yaml")]) == 2
    captured = capsys.readouterr()
    assert "[2/2]" not in captured.out and "command 1 of 2 failed (status 2)" in captured.err


@pytest.mark.parametrize("words, message", [
    (["config", "check", "x.yaml"], "expected -- before the first command"),
    (["--"], "give one or more commands"),
    (["--", "each", "--", "config"], "not each"),
])
def test_each_refuses_malformed_lists(words, message, capsys):
    with pytest.raises(SystemExit):
        main(["each", *words])
    assert message in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ train graph
@pytest.fixture(scope="module")
def two_stars(tmp_path_factory):
    root = tmp_path_factory.mktemp("stars")
    return make_planted(root / "a" / "n4-k1"), make_planted(root / "b" / "n4-k1", leaves=6)


def _train(data, out, seeds):
    argv = ["train", "graph", "--data", *map(str, data), "--out", *out, "--seed", *map(str, seeds), "--model",
            "node_gcn", "edge_gcn", "--depths", "1", "--widths", "4", "--lrs", "0.01", "0.003", "--epochs", "2",
            "--checkpoint-interval", "0", "--no-progress"]
    assert main(argv) == 0


def _same_run(a, b):
    drop = {"train_time_s", "inference_time_s", "step_time_s", "elapsed_s"}
    ma, mb = (json.loads((p / "metrics.json").read_text()) for p in (a, b))
    assert {k: v for k, v in ma.items() if k not in drop} == {k: v for k, v in mb.items() if k not in drop}
    assert read_csv(a / "sweep.csv", drop) == read_csv(b / "sweep.csv", drop)
    assert read_csv(a / "curves.csv", drop) == read_csv(b / "curves.csv", drop)


def test_one_process_trains_several_datasets_and_seeds_as_separate_calls_do(two_stars, tmp_path):
    """One `train graph` call over 2 datasets x 2 seeds writes, run by run, what 4 separate calls write."""
    outs = [str(tmp_path / "together" / name / "{model}" / "seed{seed}") for name in ("a", "b")]
    _train(two_stars, outs, [0, 3])
    for data, name in zip(two_stars, ("a", "b")):
        for seed in (0, 3):
            alone = str(tmp_path / "alone" / name / "{model}" / f"seed{seed}")
            _train([data], [alone], [seed])
            for model in ("node_gcn", "edge_gcn"):
                _same_run(tmp_path / "together" / name / model / f"seed{seed}",
                          tmp_path / "alone" / name / model / f"seed{seed}")


def test_several_runs_need_matching_templates(two_stars, tmp_path, capsys):
    base = ["train", "graph", "--model", "node_gcn", "--epochs", "1", "--no-progress"]
    assert main([*base, "--data", *map(str, two_stars), "--out", str(tmp_path / "x")]) == 2
    assert "2 --data directories" in capsys.readouterr().err
    assert main([*base, "--data", str(two_stars[0]), "--out", str(tmp_path / "x"), "--seed", "0", "1"]) == 2
    assert "{seed} placeholder" in capsys.readouterr().err
    assert not (tmp_path / "x").exists(), "a bad template fails the job before any run"


# ------------------------------------------------------------------------------------------------ job scopes
@pytest.fixture
def config(repo):
    return load_config(repo / "config.yaml")


def test_experiment_scope_is_the_dataset_scope_expanded(config):
    """One graph training job per experiment writes exactly what its one-per-(dataset, seed) jobs write."""
    from gapbench.train.graph_paths import extra_variants, job, jobs

    config["train"]["graph"]["map"]["seeds"] = [0, 2]
    for experiment, extra in jobs(config):
        if experiment == "benchmarks":  # one job per benchmark in either scope (next test)
            continue
        config["train"]["graph"]["job_scope"] = "dataset"
        fine = job(config, experiment, extra)
        config["train"]["graph"]["job_scope"] = "experiment"
        pooled = job(config, experiment, extra)
        names = extra_variants(config, experiment, extra)
        seeds = config["train"]["graph"][experiment]["seeds"]
        for key, patterns in fine["outputs"].items():
            expanded = [p.format(variant=v, seed=s) for v in names for p in patterns for s in seeds]
            assert sorted(pooled["outputs"][key]) == sorted(expanded), (experiment, extra, key)
        wc = lambda v: type("Wildcards", (), {"variant": v, "seed": "0"})  # noqa: E731
        assert pooled["data"](None) == [d for v in names for d in fine["data"](wc(v))]
        assert pooled["out"](None) == [o for v in names for o in fine["out"](wc(v))]
        assert all("{seed}" in o for o in pooled["out"](None)) and pooled["constraints"] == {}


def test_benchmarks_keep_one_job_per_benchmark(config):
    from gapbench.train.graph_paths import job

    config["graphs"]["benchmarks"]["names"] = ["zinc"]
    assert config["train"]["graph"]["job_scope"] == "experiment"
    bench = job(config, "benchmarks")
    assert set(bench["constraints"]) == {"variant"} and "{variant}/seed{seed}" in bench["log"]


def test_datasets_by_kind_covers_every_training_input(config):
    """The per-kind data jobs make every dataset a training job reads (the memory experiment's sizes too)."""
    from gapbench.graphs.data import dataset_paths
    from gapbench.train.graph_paths import DATA_ROOT, datasets_by_kind, job, jobs

    made = [f"{DATA_ROOT}/{kind}/{v}" for kind, names in datasets_by_kind(config).items() for v in names]
    read = {d for e, x in jobs(config) if e != "benchmarks" and job(config, e, x)
            for d in job(config, e, x)["data"](None)}
    assert read <= set(made) and set(dataset_paths(config)) <= set(made)
    assert any("/planted_star/n64-" in d for d in set(made) - set(dataset_paths(config))), "memory sizes are made"
    assert len(made) == len(set(made))


def _wildcards(**kw):
    from types import SimpleNamespace

    return SimpleNamespace(**kw)


def _commands(words):
    assert words[0] == "--"
    out, cur = [], None
    for w in words:
        if w == "--":
            cur = []
            out.append(cur)
        else:
            cur.append(w)
    return out


def test_pde_dataset_scope_commands_are_the_run_scope_jobs(config):
    """Each command of a dataset-scope PDE job is what the run-scope rule runs for that model: same flags (the
    model's own memory settings), its own --out, and --inject-failure only where debug.fail_jobs matches."""
    from gapbench.train import pde_plan

    run_dir = pde_plan.run_dir("ks", "attractor", "0.1", "fourier-r32-s0", "memno", 0)
    config["debug"]["fail_jobs"] = [f"{run_dir}/metrics.json"]
    wc = _wildcards(eq="ks", law="attractor", nu="0.1", obs="fourier-r32-s0", seed="0")
    commands = _commands(pde_plan.model_commands(config)(wc))
    parser = build_parser()
    assert [c[c.index("--model") + 1] for c in commands] == config["train"]["pde"]["models"]
    for words in commands:
        args = parser.parse_args(words)
        model = args.model
        own = pde_plan.model_args(config)(_wildcards(eq="ks", model=model))
        assert words[words.index("--threads") + 2:][:len(own)] == own
        assert str(args.out) == pde_plan.run_dir("ks", "attractor", "0.1", "fourier-r32-s0", model, 0)
        assert args.inject_failure == (model == "memno")
    trivial = _commands(pde_plan.trivial_commands(config)(wc))
    assert [parser.parse_args(c).predictor for c in trivial] == list(pde_plan.TRIVIAL)


def test_data_commands_parse(config):
    """The words of the per-kind graph data jobs and of the per-simulation merge / per-dataset observe jobs are
    valid gapbench commands, one per output."""
    from gapbench.graphs.variants import make_command
    from gapbench.pde import plan

    parser = build_parser()
    args = parser.parse_args(make_command(config, "planted_star", "n16-k1-paper-s2", "out/dir"))
    assert (args.leaves, args.law, str(args.out)) == (16, "paper", "out/dir")
    wc = _wildcards(eq="ns", law="attractor", nu="0.001", method="fourier", res="10", sigma="0.1")
    merges = _commands(plan.merge_commands(config)(wc))
    assert [str(parser.parse_args(c).out) for c in merges] == [
        f"results/data/pde/ns/attractor/nu0.001/sim/{s}.zarr" for s in plan.SPLITS]
    assert sum(len(parser.parse_args(c).shards) for c in merges) == len(plan.shard_inputs(config)(wc))
    observed = [parser.parse_args(c) for c in _commands(plan.observe_commands(config)(wc))]
    assert [str(a.out) for a in observed] == [
        f"results/data/pde/ns/attractor/nu0.001/obs/fourier-r10-s0.1/{s}.zarr" for s in plan.SPLITS]
    assert {(a.resolution, a.sigma) for a in observed} == {(10, 0.1)}
