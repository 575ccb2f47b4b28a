"""The whole workflow on configs/ci.yaml as a cluster user meets it (docs/cluster.md).

One completed tiny run (module fixture, local, through workflow/profiles/default) is the reference for:
* partial re-runs: `snakemake --summary` on a changed config (or code) lists exactly the jobs that would run;
* faults: SIGKILL of the whole snakemake process group mid data stage and mid training, a failing training job
  under --keep-going, a SIGTERM'd training job that checkpoints and resumes when run again;
* a real single-node SLURM run (profiles/slurm + profiles/slurm-ci) whose results equal the local run's.
Every run works in a temporary directory (`--directory`) on a snapshot of the workflow and the package taken
once per module (PYTHONPATH points at it): results/ and the sources of the checkout are never touched, and all
runs of the module see one version of the code.
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
KS = "results/train/pde/ks/attractor/nu0.1/fourier-r8-s0.1"  # the KS observation of configs/ci.yaml
KS_LOGS = "results/logs/train/pde/ks/attractor/nu0.1/fourier-r8-s0.1"

pytestmark = pytest.mark.slow


# ------------------------------------------------------------------------------------------------ helpers
class Workflow:
    """Snakemake on a snapshot of the repository (Snakefile, workflow/, profiles/, configs/, src/) at `root`."""

    def __init__(self, root: Path):
        self.root = root
        # configs/ci.yaml with a cluster's job scopes (as configs/paper.yaml): one job per dataset and per run, the
        # units these tests re-run, kill and fail one by one
        self.ci_config = root / "configs" / "ci-cluster.yaml"
        config = yaml.safe_load((root / "configs" / "ci.yaml").read_text())
        config["graphs"]["job_scope"] = "dataset"
        config["train"]["graph"]["job_scope"] = "dataset"
        config["train"]["pde"]["job_scope"] = "run"
        self.ci_config.write_text(yaml.safe_dump(config, sort_keys=False))

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONPATH"] = str(self.root / "src")  # the snapshot's gapbench, for snakemake and the CLI
        env.update(OMP_NUM_THREADS="1", GAPBENCH_PROGRESS="0")
        env.pop("SNAKEMAKE_PROFILE", None)
        return env

    def cmd(self, workdir: Path, *args: str, configfile: Path | None = None, profiles=None) -> list[str]:
        """The command line; the local profile (workflow/profiles/default) unless `profiles` are given."""
        prof = (["--workflow-profile", str(self.root / "workflow/profiles/default"), "--cores", "2"]
                if profiles is None else
                ["--workflow-profile", "none"] + [a for p in profiles for a in ("--profile", str(self.root / p))])
        return [str(BIN / "snakemake"), "--snakefile", str(self.root / "Snakefile"), "--directory", str(workdir),
                "--configfile", str(configfile or self.ci_config), *prof, *args]

    def run(self, workdir: Path, *args: str, check: bool = True, timeout: float = 1800, **kw):
        proc = subprocess.run(self.cmd(workdir, *args, **kw), cwd=workdir, env=self.env(), capture_output=True,
                              text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-5000:]}")
        return proc

    def start(self, workdir: Path, *args: str, **kw) -> subprocess.Popen:
        """Start snakemake in its own process group (so SIGKILL can take it down with all its jobs)."""
        with open(workdir / "snakemake-bg.log", "a") as log:
            return subprocess.Popen(self.cmd(workdir, *args, **kw), cwd=workdir, env=self.env(), stdout=log,
                                    stderr=log, start_new_session=True)

    def summary(self, workdir: Path, configfile: Path | None = None) -> list[dict[str, str]]:
        """`snakemake --summary` (a dry run): one row per output with its status and plan."""
        out = self.run(workdir, "--summary", configfile=configfile).stdout
        return list(csv.DictReader(out[out.index("output_file\t"):].splitlines(), delimiter="\t"))

    def pending(self, workdir: Path, configfile: Path | None = None) -> dict[str, set[str]]:
        """{rule: outputs} that the next invocation would (re)make."""
        jobs: dict[str, set[str]] = {}
        for row in self.summary(workdir, configfile):
            if row["plan"] != "no update":
                jobs.setdefault(row["rule"], set()).add(row["output_file"])
        return jobs

    def done(self, workdir: Path) -> dict[str, int]:
        """mtime of every output that is done: present, complete and up to date (status ok, no update)."""
        return {r["output_file"]: (workdir / r["output_file"]).stat().st_mtime_ns for r in self.summary(workdir)
                if r["status"] == "ok" and r["plan"] == "no update" and (workdir / r["output_file"]).exists()}

    def full_config(self) -> dict:
        """configs/ci.yaml with every default filled in (the snapshot's schema)."""
        from gapbench.config import validate_config

        return validate_config(yaml.safe_load(self.ci_config.read_text()),
                               self.root / "workflow/schemas/config.schema.yaml")

    def config(self, path: Path, **changes) -> Path:
        """A config file: configs/ci.yaml with defaults filled in and `changes` ({"a/b/c": value}) applied."""
        config = self.full_config()
        for dpath, value in changes.items():
            *parents, leaf = dpath.split("/")
            node = config
            for key in parents:
                node = node[key]
            node[leaf] = value
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def ci(self, dpath: str):
        """A value of configs/ci.yaml with defaults filled in, e.g. ci("train/pde/ks/lr")."""
        node = self.full_config()
        for key in dpath.split("/"):
            node = node[key]
        return node


def kill_group(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)


def wait_for(predicate, proc: subprocess.Popen | None = None, timeout: float = 900, poll: float = 0.05):
    """Poll until predicate() is truthy and return its value; fail if `proc` ends first or on timeout."""
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
    shutil.copytree(src, dst, symlinks=True,
                    ignore=shutil.ignore_patterns("locks", "slurm_logs", "log", "snakemake-bg.log"))
    return dst


def _is_timing(key: str) -> bool:
    """Wall-clock keys: ``*time_s*`` (train/inference time, also per trajectory), ``elapsed_s``, the device."""
    return "time_s" in key or "time_per_trajectory_s" in key or key in ("elapsed_s", "device")


def _drop_timing(obj):
    if isinstance(obj, dict):
        return {k: _drop_timing(v) for k, v in obj.items() if not _is_timing(k)}
    if isinstance(obj, list):
        return [_drop_timing(v) for v in obj]
    return obj


def results(workdir: Path) -> dict[str, object]:
    """Everything the runs compute, minus wall-clock times: metrics, rollouts, sweeps, omega_f and the tables."""
    root = workdir / "results"
    found: dict[str, object] = {}
    for path in sorted((root / "train").rglob("metrics.json")):
        found[str(path.relative_to(workdir))] = _drop_timing(json.loads(path.read_text()))
    for pattern in ("train/**/rollout.csv", "train/**/sweep.csv", "tables/*.csv", "data/pde/*/*/omega_f.csv"):
        for path in sorted(root.glob(pattern)):
            found[str(path.relative_to(workdir))] = [_drop_timing(r) for r in csv.DictReader(path.open())]
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
    """pid of the `gapbench train` process (`python3 -m gapbench train ...` or the console script) writing into
    `out_dir`, below snakemake `proc`."""
    for pid in descendants(proc.pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a == b"gapbench" or a.endswith(b"/gapbench") for a in argv[:3]) and b"train" in argv and out_dir.encode() in b" ".join(argv):
            return pid
    return None


# ------------------------------------------------------------------------------------------------ the reference run
@pytest.fixture(scope="module")
def wf(tmp_path_factory) -> Workflow:
    """A snapshot of the workflow, profiles, configs and package, taken once for this module."""
    root = tmp_path_factory.mktemp("repo")
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("Snakefile", "workflow", "profiles", "configs", "envs", "src"):
        src = REPO / name
        shutil.copytree(src, root / name, ignore=skip) if src.is_dir() else shutil.copy2(src, root / name)
    return Workflow(root)


@pytest.fixture(scope="module")
def ci_run(wf, tmp_path_factory) -> Path:
    """configs/ci.yaml run to completion locally (workflow/profiles/default); the tests only copy it."""
    workdir = tmp_path_factory.mktemp("ci_run")
    wf.run(workdir)
    assert (workdir / "results" / "claims.md").exists()
    assert not wf.pending(workdir), "a completed run has nothing left to do"
    return workdir


# ------------------------------------------------------------------------------------------------ partial re-runs
def test_model_hyperparameter_reruns_only_that_training_and_tables(wf, ci_run, tmp_path):
    config = wf.config(tmp_path / "pde.yaml", **{"train/pde/ks/lr": wf.ci("train/pde/ks/lr") * 2})
    jobs = wf.pending(ci_run, config)
    assert set(jobs) == {"train_pde_model", "tables_build"}, jobs.keys()
    assert all("/pde/ks/" in p for p in jobs["train_pde_model"]), "only the KS surrogates read train.pde.ks"

    lrs = [x * 2 for x in wf.ci("train/graph/planted_star/lrs")]
    jobs = wf.pending(ci_run, wf.config(tmp_path / "graph.yaml", **{"train/graph/planted_star/lrs": lrs}))
    assert set(jobs) == {"train_graph_planted_star", "tables_build"}, jobs.keys()


def test_memory_hyperparameter_reruns_only_the_memory_models(wf, ci_run, tmp_path):
    """The S4D state size belongs to MemNO's memory layer: the Markovian FFNO's results stay valid."""
    config = wf.config(tmp_path / "memory.yaml", **{"train/pde/ks/state_size": wf.ci("train/pde/ks/state_size") + 1})
    jobs = wf.pending(ci_run, config)
    assert set(jobs) == {"train_pde_model", "tables_build"}, jobs.keys()
    assert all("/memno" in p for p in jobs["train_pde_model"]), sorted(jobs["train_pde_model"])


@pytest.mark.parametrize("key, value, extra", [
    ("pde/observe/ks/resolutions", [16], {"pde_omega"}),  # omega_f is tabulated per observed resolution
    ("pde/observe/ks/sigmas", [0.2], set()),
])
def test_observation_change_reruns_observe_and_downstream_not_simulation(wf, ci_run, tmp_path, key, value, extra):
    jobs = wf.pending(ci_run, wf.config(tmp_path / "c.yaml", **{key: value}))
    expected = {"pde_observe", "train_pde_model", "train_pde_solver", "train_pde_trivial", "tables_build"} | extra
    assert set(jobs) == expected, jobs.keys()
    changed = [p for rule, outs in jobs.items() if rule != "tables_build" for p in outs]
    assert all("/pde/ks/" in p for p in changed), "NS observations are not affected"


def test_adding_a_viscosity_or_seed_adds_jobs_and_redoes_nothing(wf, ci_run, tmp_path):
    nus = [*wf.ci("pde/ks/nus"), 0.2]
    jobs = wf.pending(ci_run, wf.config(tmp_path / "nu.yaml", **{"pde/ks/nus": nus}))
    assert {"pde_shard", "pde_merge", "pde_observe", "pde_omega", "train_pde_model"} <= set(jobs)
    assert all("/nu0.2/" in p for rule, outs in jobs.items() if rule != "tables_build" for p in outs)

    jobs = wf.pending(ci_run, wf.config(tmp_path / "seed.yaml", **{"train/pde/seeds": [0, 1]}))
    assert set(jobs) == {"train_pde_model", "tables_build"}, jobs.keys()
    assert all("/seed1/" in p for p in jobs["train_pde_model"])


def test_editing_table_code_reruns_only_tables(wf, ci_run):
    code = wf.root / "src/gapbench/tables/render.py"  # the snapshot's copy; the checkout is not touched
    original = code.read_text()
    try:
        code.write_text(original + "\n# a formatting edit\n")
        jobs = wf.pending(ci_run)
    finally:
        code.write_text(original)
    assert set(jobs) == {"tables_build"}, jobs.keys()


# ------------------------------------------------------------------------------------------------ faults
def test_sigkill_mid_data_and_mid_training_then_resume(wf, ci_run, tmp_path):
    """Kill -9 snakemake and its jobs twice; each restart redoes only what was incomplete; same results."""
    run = copy_run(ci_run, tmp_path / "run")
    for gone in ("results/data/pde/ks", "results/train/pde/ks", "results/tables", "results/figures",
                 "results/claims.md"):
        target = run / gone
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    sim = run / "results/data/pde/ks/attractor/nu0.1/sim"
    stages = [
        ("data", lambda: any(sim.glob("*.zarr"))),  # a merged split exists; other shards are running
        ("training", lambda: any((run / KS).glob("*/seed0/metrics.json"))),
    ]

    def unchanged(before: dict[str, int], after: dict[str, int]) -> list[str]:
        # Shards are temp(): merging removes them; any other finished output must keep its mtime.
        return [k for k, t in before.items() if after.get(k) != t and not (after.get(k) is None and "/shard" in k)]

    kept: dict[str, int] = {}
    for stage, reached in stages:
        proc = wf.start(run)
        wait_for(reached, proc)
        kill_group(proc)
        wf.run(run, "--unlock")
        now = wf.done(run)
        assert not unchanged(kept, now), f"finished outputs were redone after the kill in the {stage} stage"
        assert wf.pending(run), f"the kill in the {stage} stage left work to do"
        kept = now
    wf.run(run)
    assert not unchanged(kept, wf.done(run)), "outputs finished before the last kill were redone"
    assert_same_results(run, ci_run)


def test_failing_job_keep_going_and_missing_cell(wf, ci_run, tmp_path):
    run = copy_run(ci_run, tmp_path / "run")
    failing = f"{KS}/memno/seed0/metrics.json"
    other = run / "results/train/pde/ns/attractor/nu0.001/fourier-r8-s0/ffno/seed0"
    for redo in (run / failing).parent, other:  # two jobs to run: one fails, the other must still finish
        shutil.rmtree(redo)
    proc = wf.run(run, "--keep-going", check=False,
                  configfile=wf.config(tmp_path / "fail.yaml", **{"debug/fail_jobs": [failing]}))
    assert proc.returncode != 0
    log = f"{KS_LOGS}/memno/seed0.log"
    assert log in proc.stderr, "the error message names the failing job's log"
    assert "injected failure" in (run / log).read_text()
    assert (other / "metrics.json").exists(), "--keep-going finished the other jobs"
    assert not (run / failing).exists()

    config = wf.config(tmp_path / "tables.yaml", **{"debug/fail_jobs": [failing], "tables/allow_missing": True})
    wf.run(run, "tables", configfile=config)
    missing = list(csv.DictReader((run / "results/tables/missing.csv").open()))
    assert [r["path"] for r in missing] == [failing]
    rows = {r["model"]: r for r in csv.DictReader((run / "results/tables/pde_ks.csv").open())
            if f"/{r['law']}/nu" in KS and f"-r{r['res']}-" in KS}  # the failing job's dataset
    assert rows["memno"]["status"] != "ok" and rows["ffno"]["status"] == "ok"


def test_sigterm_training_checkpoints_and_resumes(wf, ci_run, tmp_path):
    """SIGTERM (preemption) -> checkpoint + exit 143; the job run again resumes and ends as an uninterrupted one."""
    epochs = 1000  # long enough to be caught mid-training (an epoch of the ci data takes milliseconds)
    target = f"{KS}/ffno/seed0/metrics.json"
    config = wf.config(tmp_path / "long.yaml", **{"train/pde/ks/epochs": epochs, "train/pde/ks/patience": epochs})
    reference = copy_run(ci_run, tmp_path / "reference")
    wf.run(reference, target, configfile=config)

    run = copy_run(ci_run, tmp_path / "run")
    out = run / KS / "ffno/seed0"
    for stale in out.iterdir():
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    proc = wf.start(run, target, configfile=config)
    wait_for(lambda: (out / "last.pt").exists(), proc)
    os.kill(wait_for(lambda: find_trainer(proc, f"{KS}/ffno/seed0"), proc), signal.SIGTERM)
    assert proc.wait(timeout=600) != 0
    log = run / KS_LOGS / "ffno/seed0.log"
    assert "checkpoint saved" in log.read_text() and (out / "last.pt").exists()
    assert not (out / "metrics.json").exists()

    wf.run(run, target, configfile=config)  # the requeued job
    assert "resuming from" in log.read_text()
    assert _drop_timing(json.loads((out / "metrics.json").read_text())) == \
        _drop_timing(json.loads((reference / target).read_text()))
    epochs_logged = [int(r["epoch"]) for r in csv.DictReader((out / "curves.csv").open())]
    assert epochs_logged == list(range(1, len(epochs_logged) + 1)), "each epoch once in the resumed curves"


# ------------------------------------------------------------------------------------------------ real SLURM
def _slurm_or_skip() -> bool:
    """Start the single-node cluster (scripts/slurm-up.sh) or skip; True if this call started it."""
    if shutil.which("slurmctld") is None or shutil.which("sbatch") is None:
        pytest.skip("SLURM is not installed (scripts/slurm-install.sh, as root, installs it)")
    up = REPO / "scripts" / "slurm-up.sh"
    if subprocess.run([up, "status"], capture_output=True).returncode == 0:
        return False
    if os.geteuid() != 0:
        pytest.skip("SLURM is installed but not running, and starting it needs root (scripts/slurm-up.sh)")
    proc = subprocess.run([up], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        pytest.skip(f"could not start the single-node SLURM cluster: {proc.stderr.strip()[-500:]}")
    return True


@pytest.mark.slurm
def test_slurm_run_equals_local_run(wf, ci_run, tmp_path):
    started = _slurm_or_skip()
    try:
        run = tmp_path / "slurm"
        run.mkdir()
        proc = wf.run(run, profiles=["profiles/slurm", "profiles/slurm-ci"], timeout=2400)
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
            subprocess.run([REPO / "scripts" / "slurm-up.sh", "stop"], capture_output=True)
