"""Recovery keeps the run's flags: the `onerror` hint repeats --configfile/--profile, and a second trainer on a
folder still being trained into stops with one line instead of interleaving checkpoints."""

from __future__ import annotations

import shlex
import subprocess
import sys

import pytest
import yaml

from gapbench.cli import main
from gapbench.rerun import rerun_flags
from gapbench.train import common


def test_rerun_flags_keep_configfile_profile_and_cores(tmp_path):
    argv = ["snakemake", "--cores", "2", "--profile=profiles/slurm", "--configfile", "configs/paper.yaml", "train"]
    flags = rerun_flags(argv, [tmp_path / "configs" / "paper.yaml"], cwd=tmp_path)
    assert flags == " --cores 2 --profile profiles/slurm --configfile configs/paper.yaml"
    assert rerun_flags(["snakemake", "--cores", "train"], [], cwd=tmp_path) == ""
    assert rerun_flags(["snakemake"], ["/my dir/c.yaml"], cwd=tmp_path) == " --configfile '/my dir/c.yaml'"


def test_rerun_flags_replay_snakefile_directory_and_config_overrides_from_where_the_user_is(tmp_path):
    user = tmp_path / "home"
    (user / "proj").mkdir(parents=True)
    argv = ["snakemake", "-s", "proj/Snakefile", "-d", "proj", "--cores", "2", "--config", "tables={alpha: 0.2}",
            "seed=3", "--configfile", "my.yaml", "train"]
    flags = rerun_flags(argv, [user / "my.yaml"], cwd=user, extra_config=["tables={allow_missing: true}"])
    assert flags == (" -s proj/Snakefile -d proj --cores 2 --configfile my.yaml --config 'tables={alpha: 0.2}' seed=3 "
                     "'tables={allow_missing: true}'")
    elsewhere = tmp_path / "other"  # the hint printed from Snakemake's --directory, read by a shell in $PWD
    assert rerun_flags(["snakemake", "-s=../home/proj/Snakefile"], [], cwd=elsewhere) == \
        f" -s {tmp_path / 'home' / 'proj' / 'Snakefile'}"
    assert rerun_flags(["snakemake", "-C", "a=1", "b=2", "all"], [], cwd=user) == " --config a=1 b=2"


def test_report_is_refused_after_a_failed_run_until_the_tables_are_rebuilt(tmp_path):
    import os

    from gapbench.rerun import FAILED_RUN, TABLES_STAMP, clear_failure, record_failure, report_refusal

    argv = ["snakemake", "--report", "r.html"]
    assert report_refusal(argv, tmp_path) is None  # no failed run
    (tmp_path / TABLES_STAMP).parent.mkdir(parents=True)
    (tmp_path / TABLES_STAMP).write_text("path\n")
    os.utime(tmp_path / TABLES_STAMP, (1000, 1000))  # tables from an earlier run
    record_failure("Then tables from what exists: snakemake tables --config x\n", tmp_path)
    refusal = report_refusal(argv, tmp_path)
    assert "refusing --report" in refusal and "snakemake tables" in refusal
    assert report_refusal(["snakemake", "--cores", "1"], tmp_path) is None  # only the report is refused
    (tmp_path / TABLES_STAMP).touch()  # tables rebuilt after the failure
    os.utime(tmp_path / FAILED_RUN, (500, 500))
    assert report_refusal(argv, tmp_path) is None
    clear_failure(tmp_path)
    assert not (tmp_path / FAILED_RUN).exists()


def test_second_trainer_on_the_same_folder_is_refused(tmp_path, capsys):
    data = tmp_path / "dup"
    assert main(["graphs", "make", "duplicates", "--n", "8", "--n-graphs", "10", "--out", str(data)]) == 0
    out = tmp_path / "run"
    out.mkdir()
    train = ["train", "graph", "--data", str(data), "--model", "edge_gcn", "--epochs", "1", "--no-progress",
             "--out", str(out)]
    held = common.lock_output_dir(out)  # the trainer left running by a killed Snakemake
    capsys.readouterr()
    assert main(train) == 2
    err = capsys.readouterr().err
    assert "another trainer" in err and len(err.strip().splitlines()) == 1
    assert not (out / "checkpoint.pt").exists()
    held.close()  # it ended: the lock goes with it
    assert main(train) == 0 and (out / "metrics.json").is_file()


@pytest.mark.slow
def test_onerror_hint_repeats_the_configfile(repo, tmp_path):
    with open(repo / "configs" / "ci.yaml") as fh:
        config = yaml.safe_load(fh)
    target = "results/train/graph/map/n16/node_gcn-d1-w4/seed0/metrics.json"
    config.setdefault("debug", {})["fail_jobs"] = [target]
    (tmp_path / "my config.yaml").write_text(yaml.safe_dump(config))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile"), "--cores", "1",
                           target, "--configfile", "my config.yaml"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    flags = f"--snakefile {shlex.quote(str(repo / 'Snakefile'))} --cores 1 --configfile 'my config.yaml'"
    assert f"snakemake {flags} --keep-going --rerun-incomplete" in out, out[-3000:]
    assert f"snakemake tables {flags} --config 'tables={{allow_missing: true}}'" in out
    # the failure is noted: a report now would package tables older than it (here none at all), so it is refused
    assert "snakemake tables" in (tmp_path / "results" / "logs" / "failed_run.txt").read_text()
    report = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile"), "--report",
                             "r.html", "--configfile", "my config.yaml"], capture_output=True, text=True, cwd=tmp_path)
    assert report.returncode != 0 and "refusing --report: the last run failed" in report.stdout + report.stderr
    assert not (tmp_path / "r.html").exists()
