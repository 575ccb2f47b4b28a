"""Recovery keeps the run's flags: the `onerror` hint repeats --configfile/--profile, and a second trainer on a
folder still being trained into stops with one line instead of interleaving checkpoints."""

from __future__ import annotations

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
    assert "snakemake --cores 1 --configfile 'my config.yaml' --keep-going --rerun-incomplete" in out, out[-3000:]
    assert "snakemake tables --cores 1 --configfile 'my config.yaml' --config tables=" in out
