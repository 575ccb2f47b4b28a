"""The whole workflow on configs/ci.yaml as a cluster user meets it (issue 7, docs/cluster.md).

One completed tiny run (module fixture, local, through workflow/profiles/default) is the reference for:
* partial re-runs: `snakemake --summary` on a changed config lists exactly the jobs that would run;
* faults: SIGKILL of the whole snakemake process group mid data stage and mid training, a failing training job
  under --keep-going, a SIGTERM'd training job that checkpoints and resumes when run again;
* a real single-node SLURM run (profiles/slurm + profiles/slurm-ci) whose results equal the local run's.
Every run works in a temporary directory (`--directory`); results/ of the checkout is never touched.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CI_CONFIG = REPO / "configs" / "ci.yaml"
LOCAL_PROFILE = REPO / "workflow" / "profiles" / "default"
KS = "results/train/pde/ks/nu0.1/fourier-r8-s0.1"  # the KS observation of configs/ci.yaml

pytestmark = pytest.mark.slow


# ------------------------------------------------------------------------------------------------ helpers
def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(OMP_NUM_THREADS="1", GAPBENCH_PROGRESS="0")
    env.pop("SNAKEMAKE_PROFILE", None)
    return env


def _cmd(workdir: Path, *args: str, configfile: Path = CI_CONFIG, profiles=None) -> list[str]:
    """snakemake on the repository's Snakefile, outputs under `workdir`; local profile unless `profiles`."""
    prof = ["--workflow-profile", str(LOCAL_PROFILE), "--cores", "2"] if profiles is None else (
        ["--workflow-profile", "none"] + [a for p in profiles for a in ("--profile", str(p))])
    return [str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(configfile), *prof, *args]


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: float = 1800, **kw):
    proc = subprocess.run(_cmd(workdir, *args, **kw), cwd=workdir, env=_env(), capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-5000:]}")
    return proc


def start_snakemake(workdir: Path, *args: str, **kw) -> subprocess.Popen:
    """Start snakemake in its own process group (so SIGKILL can take it down with all its jobs)."""
    log = open(workdir / "snakemake-bg.log", "a")
    return subprocess.Popen(_cmd(workdir, *args, **kw), cwd=workdir, env=_env(), stdout=log, stderr=log,
                            start_new_session=True)


def kill_group(proc: subprocess.Popen, sig=signal.SIGKILL) -> None:
    os.killpg(proc.pid, sig)
    proc.wait(timeout=60)


def wait_for(predicate, proc: subprocess.Popen | None = None, timeout: float = 900, poll: float = 0.05):
    """Poll until predicate() is truthy; fail if `proc` ends first or on timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"snakemake ended (status {proc.returncode}) before the awaited state")
        time.sleep(poll)
    raise AssertionError("timed out waiting")


def copy_run(src: Path, dst: Path) -> Path:
    """A copy of a completed run that Snakemake sees as up to date (file and directory mtimes kept)."""
    shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns("locks", "slurm_logs", "log"))
    for bg in dst.glob("snakemake-bg.log"):
        bg.unlink()
    return dst


def write_config(path: Path, **changes) -> Path:
    """configs/ci.yaml with every default filled in, then `changes` ({"a/b/c": value}) applied."""
    from gapbench.config import load_config

    config = load_config(CI_CONFIG)
    for dpath, value in changes.items():
        *parents, leaf = dpath.split("/")
        node = config
        for key in parents:
            node = node[key]
        node[leaf] = value
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def pending(workdir: Path, configfile: Path = CI_CONFIG) -> dict[str, set[str]]:
    """{rule: outputs} that the next invocation would (re)make, from `snakemake --summary` (a dry run)."""
    out = snakemake(workdir, "--summary", configfile=configfile).stdout
    rows = csv.DictReader(out[out.index("output_file\t"):].splitlines(), delimiter="\t")
    jobs: dict[str, set[str]] = {}
    for row in rows:
        if row["plan"] != "no update":
            jobs.setdefault(row["rule"], set()).add(row["output_file"])
    return jobs


def complete_outputs(workdir: Path) -> dict[str, float]:
    """mtime of every output that is done: present, complete and up to date (--summary: ok, no update)."""
    out = snakemake(workdir, "--summary").stdout
    rows = csv.DictReader(out[out.index("output_file\t"):].splitlines(), delimiter="\t")
    return {r["output_file"]: (workdir / r["output_file"]).stat().st_mtime_ns for r in rows
            if r["status"] == "ok" and r["plan"] == "no update" and (workdir / r["output_file"]).exists()}


def _drop_timing(obj):
    if isinstance(obj, dict):
        return {k: _drop_timing(v) for k, v in obj.items() if not _is_timing(k)}
    if isinstance(obj, list):
        return [_drop_timing(v) for v in obj]
    return obj


def _is_timing(key: str) -> bool:
    return key.endswith("_time_s") or key in ("elapsed_s", "device")


def results(workdir: Path) -> dict[str, object]:
    """Everything the runs compute, minus wall-clock times: metrics, curves/rollouts and every table."""
    root = workdir / "results"
    found: dict[str, object] = {}
    for path in sorted((root / "train").rglob("metrics.json")):
        found[str(path.relative_to(workdir))] = _drop_timing(json.loads(path.read_text()))
    for pattern in ("train/**/rollout.csv", "train/**/sweep.csv", "tables/*.csv", "data/pde/*/*/omega_f.csv"):
        for path in sorted(root.glob(pattern)):
            rows = list(csv.DictReader(path.open()))
            found[str(path.relative_to(workdir))] = [_drop_timing(r) for r in rows]
    for path in sorted(root.glob("tables/*.md")) + [root / "claims.md"]:
        found[str(path.relative_to(workdir))] = path.exists()
    return found


def assert_same_results(run: Path, reference: Path) -> None:
    got, want = results(run), results(reference)
    assert sorted(got) == sorted(want), "different sets of result files"
    differ = [k for k in want if got[k] != want[k]]
    assert not differ, f"results differ from the reference run: {differ[:10]}"


def descendants(pid: int) -> list[int]:
    """Process ids below `pid` (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def find_trainer(proc: subprocess.Popen, out_dir: str) -> int | None:
    """pid of the `gapbench train` process writing into `out_dir`, below snakemake `proc`."""
    for pid in descendants(proc.pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"/gapbench") or a == b"gapbench" for a in argv[:2]) and b"train" in argv \
                and out_dir.encode() in b" ".join(argv):
            return pid
    return None


# ------------------------------------------------------------------------------------------------ the reference run
@pytest.fixture(scope="module")
def ci_run(tmp_path_factory) -> Path:
    """configs/ci.yaml run to completion locally (workflow/profiles/default), never modified by the tests."""
    workdir = tmp_path_factory.mktemp("ci_run")
    snakemake(workdir)
    assert (workdir / "results" / "claims.md").exists()
    assert not pending(workdir), "a completed run must have nothing left to do"
    return workdir


# ------------------------------------------------------------------------------------------------ partial re-runs
TRAIN_AND_TABLES = {"train_pde_model", "tables_build"}


def test_model_hyperparameter_reruns_only_that_training_and_tables(ci_run, tmp_path):
    from gapbench.config import load_config

    lr = load_config(CI_CONFIG)["train"]["pde"]["ks"]["lr"]
    jobs = pending(ci_run, write_config(tmp_path / "c.yaml", **{"train/pde/ks/lr": lr * 2}))
    assert set(jobs) == TRAIN_AND_TABLES, jobs.keys()
    assert all("/pde/ks/" in p for p in jobs["train_pde_model"]), "only the KS surrogates use train.pde.ks"

    lrs = load_config(CI_CONFIG)["train"]["graph"]["planted_star"]["lrs"]
    jobs = pending(ci_run, write_config(tmp_path / "g.yaml", **{"train/graph/planted_star/lrs": [x * 2 for x in lrs]}))
    assert set(jobs) == {"train_graph_planted_star", "tables_build"}, jobs.keys()


@pytest.mark.parametrize("key, value, extra", [
    ("pde/observe/ks/resolutions", [16], {"pde_omega"}),  # omega_f is tabulated per observed resolution
    ("pde/observe/ks/sigmas", [0.2], set()),
])
def test_observation_change_reruns_observe_and_downstream_not_simulation(ci_run, tmp_path, key, value, extra):
    jobs = pending(ci_run, write_config(tmp_path / "c.yaml", **{key: value}))
    assert set(jobs) == {"pde_observe", "train_pde_model", "train_pde_solver", "tables_build"} | extra, jobs.keys()
    changed = [p for rule, outs in jobs.items() if rule != "tables_build" for p in outs]
    assert all("/pde/ks/" in p for p in changed), "NS observations are not affected"


def test_adding_a_viscosity_or_seed_adds_jobs_and_redoes_nothing(ci_run, tmp_path):
    from gapbench.config import load_config

    nus = load_config(CI_CONFIG)["pde"]["ks"]["nus"]
    jobs = pending(ci_run, write_config(tmp_path / "nu.yaml", **{"pde/ks/nus": [*nus, 0.2]}))
    assert {"pde_shard_ks", "pde_merge", "pde_observe", "pde_omega", "train_pde_model"} <= set(jobs)
    assert all("/nu0.2/" in p for rule, outs in jobs.items() if rule != "tables_build" for p in outs)

    jobs = pending(ci_run, write_config(tmp_path / "seed.yaml", **{"train/pde/seeds": [0, 1]}))
    assert set(jobs) == TRAIN_AND_TABLES, jobs.keys()
    assert all("/seed1/" in p for p in jobs["train_pde_model"])


def test_editing_table_code_reruns_only_tables(ci_run):
    import gapbench.tables.render as render

    path = Path(render.__file__)
    before = path.stat()
    try:
        os.utime(path, ns=(before.st_atime_ns, time.time_ns()))  # as an edit would; content untouched
        jobs = pending(ci_run)
    finally:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert set(jobs) == {"tables_build"}, jobs.keys()


# ------------------------------------------------------------------------------------------------ faults
def test_sigkill_mid_data_and_mid_training_then_resume(ci_run, tmp_path):
    """Kill -9 snakemake and its jobs twice; each restart redoes only what was incomplete; same results."""
    run = copy_run(ci_run, tmp_path / "run")
    for gone in ("results/data/pde/ks", "results/train/pde/ks", "results/tables", "results/figures",
                 "results/claims.md"):
        target = run / gone
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    sim = run / "results/data/pde/ks/nu0.1/sim"
    stages = [
        ("data", lambda: any(sim.glob("*.zarr"))),  # a merged split exists; shards of others are running
        ("training", lambda: any((run / KS).glob("*/seed0/metrics.json"))),
    ]
    kept: dict[str, float] = {}
    for stage, reached in stages:
        proc = start_snakemake(run)
        wait_for(reached, proc)
        kill_group(proc)
        snakemake(run, "--unlock")
        now = complete_outputs(run)
        assert {k: now.get(k) for k in kept} == kept, f"a finished output was redone after the kill in {stage}"
        kept = now
        assert len(pending(run)) >= 1
    snakemake(run)
    final = complete_outputs(run)
    assert {k: final.get(k) for k in kept} == kept, "outputs complete before the last kill were redone"
    assert_same_results(run, ci_run)


def test_failing_job_keep_going_and_missing_cell(ci_run, tmp_path):
    run = copy_run(ci_run, tmp_path / "run")
    failing = f"{KS}/memno/seed0/metrics.json"
    other = run / "results/train/pde/ns/nu0.001/fourier-r8-s0/ffno/seed0"
    shutil.rmtree(other)  # must be redone in the same invocation despite the failure
    config = write_config(tmp_path / "fail.yaml", **{"debug/fail_jobs": [failing]})
    proc = snakemake(run, "--keep-going", configfile=config, check=False)
    assert proc.returncode != 0
    log = "results/logs/train/pde/ks/nu0.1/fourier-r8-s0.1/memno/seed0.log"
    assert log in proc.stderr, "the error message names the failing job's log"
    assert "injected failure" in (run / log).read_text()
    assert (other / "metrics.json").exists(), "--keep-going finished the other jobs"
    assert not (run / failing).exists()

    config = write_config(tmp_path / "tables.yaml", **{"debug/fail_jobs": [failing],
                                                       "tables/allow_missing": True})
    snakemake(run, "tables", configfile=config)
    missing = list(csv.DictReader((run / "results/tables/missing.csv").open()))
    assert [r["path"] for r in missing] == [failing]
    rows = {r["model"]: r for r in csv.DictReader((run / "results/tables/pde_ks.csv").open())}
    assert rows["memno"]["status"] != "ok" and rows["ffno"]["status"] == "ok"


def test_sigterm_training_checkpoints_and_resumes(ci_run, tmp_path):
    """SIGTERM (preemption) -> checkpoint + exit 143; the restarted job resumes and ends as an uninterrupted one."""
    epochs = 150  # long enough to be caught mid-training
    target = f"{KS}/ffno/seed0/metrics.json"
    config = write_config(tmp_path / "long.yaml", **{"train/pde/ks/epochs": epochs, "train/pde/ks/patience": epochs})
    reference = copy_run(ci_run, tmp_path / "reference")
    snakemake(reference, target, configfile=config)

    run = copy_run(ci_run, tmp_path / "run")
    out = run / KS / "ffno/seed0"
    for stale in out.iterdir():
        stale.unlink()
    proc = start_snakemake(run, target, configfile=config)
    wait_for(lambda: (out / "last.pt").exists(), proc)
    pid = wait_for(lambda: find_trainer(proc, f"{KS}/ffno/seed0"), proc)
    os.kill(pid, signal.SIGTERM)
    assert proc.wait(timeout=600) != 0
    log = (run / "results/logs/train/pde/ks/nu0.1/fourier-r8-s0.1/ffno/seed0.log").read_text()
    assert "checkpoint saved" in log and (out / "last.pt").exists()
    assert not (out / "metrics.json").exists()

    snakemake(run, target, configfile=config)  # the requeued job
    log = (run / "results/logs/train/pde/ks/nu0.1/fourier-r8-s0.1/ffno/seed0.log").read_text()
    assert "resuming from" in log
    assert _drop_timing(json.loads((out / "metrics.json").read_text())) == \
        _drop_timing(json.loads((reference / KS / "ffno/seed0/metrics.json").read_text()))
    epochs_logged = [int(r["epoch"]) for r in csv.DictReader((out / "curves.csv").open())]
    assert epochs_logged == sorted(set(epochs_logged)), "each epoch appears once in the resumed curves"


# ------------------------------------------------------------------------------------------------ real SLURM
def _slurm_or_skip() -> bool:
    """Start the single-node cluster (scripts/slurm-up.sh) or skip; True if this call started it."""
    if shutil.which("slurmctld") is None or shutil.which("sbatch") is None:
        pytest.skip("SLURM is not installed (scripts/slurm-install.sh, as root, installs it)")
    status = subprocess.run([REPO / "scripts/slurm-up.sh", "status"], capture_output=True, text=True)
    if status.returncode == 0:
        return False
    if os.geteuid() != 0:
        pytest.skip("SLURM is installed but not running, and starting it needs root (scripts/slurm-up.sh)")
    up = subprocess.run([REPO / "scripts/slurm-up.sh"], capture_output=True, text=True, timeout=120)
    if up.returncode != 0:
        pytest.skip(f"could not start the single-node SLURM cluster: {up.stderr.strip()[-500:]}")
    return True


@pytest.mark.slurm
def test_slurm_run_equals_local_run(ci_run, tmp_path):
    started = _slurm_or_skip()
    try:
        run = tmp_path / "slurm"
        run.mkdir()
        proc = snakemake(run, profiles=[REPO / "profiles/slurm", REPO / "profiles/slurm-ci"], timeout=2400)
        assert_same_results(run, ci_run)
        # The GPU jobs went to the gpu partition with one GPU (the fake gres of slurm-up.sh).
        ids = [line.split("SLURM jobid ")[1].split()[0] for line in proc.stderr.splitlines()
               if "SLURM jobid" in line and "group_train" in line]
        assert ids, "the training group was submitted to SLURM"
        job = subprocess.run(["scontrol", "show", "job", ids[0]], capture_output=True, text=True).stdout
        if job:  # finished jobs stay visible for MinJobAge=300 s
            assert "Partition=gpu" in job and "gres:gpu:1" in job, job
    finally:
        if started:
            subprocess.run([REPO / "scripts/slurm-up.sh", "stop"], capture_output=True)
