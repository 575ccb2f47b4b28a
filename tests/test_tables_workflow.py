"""The tables rule inside Snakemake: failed training jobs, --keep-going, allow_missing, and no needless re-runs.

A stub workflow includes the real ``workflow/rules/tables.smk``; its fake training rule copies the fixture's
metrics files (test_tables_build.make_fixture) into place and fails for the runs the fixture lacks, like a
training job that raised. Checks:
* ``-k``: the other jobs finish, the tables are not built (their input failed);
* ``--config tables={allow_missing: true}``: the tables are built, the failed runs listed as missing;
* a dry run afterwards has nothing to do; a newer metrics file re-runs only the tables, not training.
"""

from __future__ import annotations

import base64
import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_tables_build import make_fixture

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

STUB = """
from pathlib import Path
from gapbench.config import validate_config

configfile: "config.yaml"
validate_config(config)

FIXTURE = {fixture!r}
EXPECTED = {expected!r}


def train_pde_targets():
    return [p for p in EXPECTED if "/pde/" in p]


def train_graph_targets():
    return [p for p in EXPECTED if "/graph/" in p]


include: {rules!r}


rule fake_train:
    output:
        metrics="results/train/{{task}}/{{rest}}/metrics.json",
    params:
        src=lambda wc: f"{{FIXTURE}}/train/{{wc.task}}/{{wc.rest}}",
    shell:
        "test -f {{params.src}}/metrics.json || {{{{ echo injected failure >&2; exit 1; }}}}; "
        "cp {{params.src}}/* $(dirname {{output.metrics}})/"


rule fake_omega:
    output:
        "results/data/pde/{{eq}}/{{nu}}/omega_f.csv",
    shell:
        "cp {{FIXTURE}}/data/pde/{{wildcards.eq}}/{{wildcards.nu}}/omega_f.csv {{output}}"
"""


def _smk(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "OMP_NUM_THREADS": "1"}
    return subprocess.run([str(BIN / "snakemake"), "--cores", "1", "--snakefile", "Snakefile", *args],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("tables_wf")
    fixture = root / "fixture"
    expected = [str(Path("results") / p.relative_to(fixture)) for p in make_fixture(fixture)]
    wd = root / "wd"
    wd.mkdir()
    (wd / "config.yaml").write_text("seed: 0\ntables:\n  test: welch\n")
    (wd / "Snakefile").write_text(STUB.format(fixture=str(fixture), expected=expected,
                                              rules=str(REPO / "workflow" / "rules" / "tables.smk")))
    return wd


@pytest.mark.slow
def test_failed_job_then_allow_missing_then_nothing_to_do(workdir):
    first = _smk(workdir, "-k", "tables_build")
    assert first.returncode != 0
    assert "fake_train" in first.stderr and "injected failure" in first.stderr
    assert (workdir / "results/train/pde/ks/attractor/nu0.075/fourier-r32-s0/ffno/seed0/metrics.json").exists()
    assert not (workdir / "results/tables/pde_ks.csv").exists()  # its input failed: not built

    partial = _smk(workdir, "tables_build", "--config", "tables={allow_missing: true}")
    assert partial.returncode == 0, partial.stderr
    with open(workdir / "results/tables/missing.csv", newline="") as fh:
        missing = sorted(r["path"] for r in csv.DictReader(fh))
    assert missing == ["results/train/graph/map/n64/node_gcn-d2-w16/seed0/metrics.json",
                       "results/train/graph/map/n64/node_gcn-d2-w16/seed1/metrics.json",
                       "results/train/pde/ks/attractor/nu0.125/fourier-r64-s0/memno/seed2/metrics.json"]
    log = (workdir / "results/logs/tables/build.log").read_text()
    assert "WARNING: 3 expected runs are missing" in log
    assert "(n=2/3 !)" in (workdir / "results/tables/pde_ks.md").read_text()

    again = _smk(workdir, "-n", "tables_build", "--config", "tables={allow_missing: true}")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr

    # one training job finishes later: only the tables re-run, no training job
    (workdir / "results/train/pde/ks/attractor/nu0.075/fourier-r32-s0/memno/seed1/metrics.json").touch()
    rerun = _smk(workdir, "-n", "tables_build", "--config", "tables={allow_missing: true}")
    out = rerun.stdout + rerun.stderr
    assert rerun.returncode == 0 and "tables_build" in out and "fake_train" not in out

    # the default mode still wants the failed jobs (it retries them before aggregating)
    strict = _smk(workdir, "-n", "tables_build")
    out = strict.stdout + strict.stderr
    assert strict.returncode == 0 and "fake_train" in out


@pytest.mark.slow
def test_report_builds(workdir):
    """`snakemake --report` renders the tables and figures (run after the test above built them)."""
    if not (workdir / "results/tables/pde_ks.csv").exists():
        pytest.skip("tables not built by the previous test")
    rep = _smk(workdir, "tables_build", "--config", "tables={allow_missing: true}", "--report", "report.html")
    assert rep.returncode == 0, rep.stderr
    text = (workdir / "report.html").read_text()
    items = {name: mime for mime, name in re.findall(r'"data_uri": "data:([^;]+);charset=utf8;filename=([^;]+);',
                                                    text)}
    # what a browser can show inside the report: HTML pages and images, never Markdown or CSV
    assert items and set(items.values()) <= {"text/html", "image/png"}, items
    assert {"claims.html", "table2_planted_star.html", "pde_ks.html", "runs_graph.html"} <= set(items), items
    # an item's page shows the job's params: the expected metrics files are counted, not listed
    assert "expected metrics files>" in text and "metrics.json', '" not in text
    claims = base64.b64decode(re.search(r'filename=claims\.html;base64,([A-Za-z0-9+/=]+)', text)[1]).decode()
    assert "<table>" in claims and "<th>verdict</th>" in claims
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:  # the page as the report's frame shows it: a browser finds the claims table in it
        page = workdir / "claims_from_report.html"
        page.write_text(claims)
        dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                              page.as_uri()], capture_output=True, text=True, timeout=120).stdout
        assert "<th>verdict</th>" in dom and "Edge beats node on planted stars" in dom, dom[:2000]


def test_the_report_tells_the_story():
    """The workflow's report description names both questions, the claims and where the seed's numbers are."""
    snakefile = (REPO / "Snakefile").read_text()
    path = re.search(r'^report: "([^"]+)"', snakefile, re.M)[1]
    text = (REPO / path).read_text()
    for phrase in ("Part I - graphs", "Part II - PDEs", "Claims of the seed", "not run at this scale",
                   "seed edge", "Holm-Bonferroni"):
        assert phrase in text, phrase


def test_plan_inputs(tmp_path, monkeypatch):
    """The rule's inputs: metrics among the targets, their omega_f tables; allow_missing keeps what exists."""
    from gapbench.tables import plan

    targets = ["results/train/pde/ks/attractor/nu0.1/fourier-r32-s0/ffno/seed0/metrics.json",
               "results/train/pde/ks/attractor/nu0.1/fourier-r32-s0/ffno/seed0/rollout.csv",
               "results/train/graph/map/n16/edge_gcn-d2-w16/seed0/metrics.json"]
    metrics = plan.expected_metrics(targets, targets[:1])
    assert metrics == [targets[0], targets[2]]
    assert plan.expected_omega_f(metrics) == ["results/data/pde/ks/attractor/nu0.1/omega_f.csv"]
    monkeypatch.chdir(tmp_path)
    assert plan.rule_inputs(metrics, False) == [*metrics, "results/data/pde/ks/attractor/nu0.1/omega_f.csv"]
    Path(metrics[1]).parent.mkdir(parents=True)
    Path(metrics[1]).write_text("{}")
    assert plan.rule_inputs(metrics, "true") == [metrics[1]]
