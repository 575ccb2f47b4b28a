"""Bring your own model: a module outside gapbench registers a memory mixer and a graph model, names itself in the
config's ``plugins``, and its models run through training, tables and figures like the built-ins.

The plugin is written to a temporary directory (never under src/gapbench) and reaches the workflow only through
``PYTHONPATH`` and the config key, as docs/extending.md tells a user to do. One workflow run on configs/ci.yaml,
restricted to KS and the planted star (one dataset each), serves every test here.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

PLUGIN = '''
"""A user's models: a GRU memory mixer and an edge GCN with sum aggregation."""
import torch
from torch import nn

from gapbench.models.gnn import EdgeGCN
from gapbench.registry import register_graph_model, register_mixer


class GRUMixer(nn.Module):
    """y_t = W h_t, h_t = GRU(x_t, h_{t-1}): causal along time."""

    def __init__(self, width):
        super().__init__()
        self.width = width
        self.gru = nn.GRU(width, width, batch_first=True)
        self.out = nn.Linear(width, width)

    def forward(self, x):  # [n, t, ..., w]: one sequence per spatial point
        n, t, w = x.shape[0], x.shape[1], x.shape[-1]
        seq = x.reshape(n, t, -1, w).transpose(1, 2).reshape(-1, t, w)
        y = self.out(self.gru(seq)[0])
        return y.reshape(n, -1, t, w).transpose(1, 2).reshape(x.shape)

    def init_state(self, n, device):
        return torch.zeros(1, n, self.width, device=device)

    def step(self, x_t, state):
        y, state = self.gru(x_t.unsqueeze(1), state)
        return self.out(y.squeeze(1)), state


class EdgeSum(EdgeGCN):
    """The edge GCN of eq. 4 with a sum instead of a mean over the line-graph neighbours."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **{**kw, "reduce": "sum"})


register_mixer("gru", GRUMixer, label="GRU", color="black", marker="*")
register_graph_model("edge_sum", EdgeSum, family="edge", label="Edge-sum")
'''

# Records what each figure draws: {stem: [[label, colour, marker], ...]} for every labelled line.
FIGURE_PROBE = '''
import json, sys
from gapbench.registry import load_plugins
from gapbench.tables import figures
load_plugins()
drawn = {}
def save(fig, figures_dir, stem):
    drawn[stem] = sorted({(l.get_label(), str(l.get_color()), str(l.get_marker())) for ax in fig.axes
                          for l in ax.get_lines() if not l.get_label().startswith("_")})
figures._save = save
from gapbench.cli import main
main(["tables", "build", "--figures-dir", "probe", "--tables-dir", "probe", "--claims", "probe/claims.md"])
print(json.dumps(drawn))
'''


def _env(plugins: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = f"{REPO / 'src'}{os.pathsep}{plugins}"
    env.update(OMP_NUM_THREADS="1", GAPBENCH_PROGRESS="0")
    env.pop("SNAKEMAKE_PROFILE", None)
    env.pop("GAPBENCH_PLUGINS", None)
    return env


def _config(path: Path) -> Path:
    """configs/ci.yaml with the plugin, KS only, the planted star only, and the plugin's models in the lists."""
    config = yaml.safe_load((REPO / "configs" / "ci.yaml").read_text())
    config["plugins"] = ["my_models"]
    config["pde"]["equations"] = ["ks"]
    config["train"]["pde"].update(equations=["ks"], models=["ffno", "gru"], solver=False)
    graphs = config["graphs"]
    graphs["map"]["n"], graphs["ising"]["trees"], graphs["duplicates"]["n"] = [], [], []
    graph = config["train"]["graph"]
    graph["planted_star"]["models"] = ["node_gcn", "edge_sum"]
    graph["memory"].update(planted_star=[], duplicates=[])
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def plugin_run(tmp_path_factory) -> Path:
    plugins = tmp_path_factory.mktemp("plugins")
    (plugins / "my_models.py").write_text(PLUGIN)
    workdir = tmp_path_factory.mktemp("plugin_run")
    config = _config(workdir / "config.yaml")
    proc = subprocess.run([str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--directory",
                           str(workdir), "--configfile", str(config), "--workflow-profile", "none", "--cores", "2",
                           "tables"], cwd=workdir, env=_env(plugins), capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-5000:]
    workdir.joinpath("plugins").write_text(str(plugins))
    return workdir


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_plugin_lives_outside_gapbench():
    assert "my_models" not in {p.stem for p in (REPO / "src").rglob("*.py")}


@pytest.mark.slow
def test_a_gru_mixer_from_a_plugin_is_trained_and_tabulated(plugin_run):
    rows = _rows(plugin_run / "results" / "tables" / "pde_ks.csv")
    by_model = {r["model"]: r for r in rows}
    assert list(by_model) == ["persistence", "zero", "ffno", "gru"], list(by_model)  # learned: built-ins first
    gru = by_model["gru"]
    metrics = json.loads(next((plugin_run / "results/train/pde/ks").rglob("gru/seed0/metrics.json")).read_text())
    assert metrics["status"] == "ok" and metrics["model"] == "gru"
    assert float(gru["nrmse_mean"]) == pytest.approx(metrics["nrmse"])
    # the MemNO stack with the GRU as its memory layer: more parameters than the FFNO of the same width
    assert int(float(gru["n_params"])) > int(float(by_model["ffno"]["n_params"]))
    assert gru["delta_nrmse"] != "" and gru["beats_persistence"] in ("true", "false")  # compared like a built-in


@pytest.mark.slow
def test_a_graph_model_from_a_plugin_is_swept_and_tabulated(plugin_run):
    metrics = json.loads(next((plugin_run / "results/train/graph/planted_star").rglob(
        "edge_sum/seed0/metrics.json")).read_text())
    assert metrics["status"] == "ok" and metrics["model"] == "edge_sum"
    table2 = (plugin_run / "results" / "tables" / "table2_planted_star.md").read_text()
    assert "Edge-sum RMSE" in table2  # the plugin's label heads its column


@pytest.mark.slow
def test_the_plugins_curves_are_in_the_figures_with_their_registered_style(plugin_run):
    plugins = (plugin_run / "plugins").read_text()
    env = _env(Path(plugins)) | {"GAPBENCH_PLUGINS": "my_models"}
    out = subprocess.run([sys.executable, "-c", FIGURE_PROBE], cwd=plugin_run, env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    drawn = json.loads(out.stdout.strip().splitlines()[-1])
    assert ["gru", "black", "*"] in drawn["training_curves"]
    assert ["gru", "black", "*"] in drawn["rollout_nrmse"]
    assert any(label == "edge_sum" for label, _, _ in drawn["training_curves"])


def test_an_unregistered_model_or_a_missing_plugin_is_one_clear_line(tmp_path):
    env = _env(tmp_path)
    config = yaml.safe_load((REPO / "configs" / "ci.yaml").read_text())
    config["train"]["pde"]["models"] = ["ffno", "gru"]
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(config))
    config["plugins"] = ["no_such_module"]
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(config))
    for name, expected in (("a.yaml", "train.pde.models[1]: unknown PDE model 'gru'"),
                           ("b.yaml", "config key plugins: cannot import 'no_such_module'")):
        out = subprocess.run([sys.executable, "-m", "gapbench", "config", "check", str(tmp_path / name)],
                             env=env, capture_output=True, text=True)
        assert out.returncode == 2 and expected in out.stderr and len(out.stderr.strip().splitlines()) == 1, \
            out.stderr


@pytest.mark.slow
def test_editing_a_plugin_changes_its_runs_code_version(tmp_path):
    """A checkpoint's code version covers the plugin's source, so an edited plugin retrains instead of resuming."""
    (tmp_path / "my_models.py").write_text(PLUGIN)
    probe = ("import sys; from gapbench.registry import load_plugins, plugin_code; load_plugins(['my_models']); "
             "from gapbench.train.resume import GRAPH_CODE, PDE_CODE, code_version; "
             "print(plugin_code('gru'), plugin_code('edge_sum'), plugin_code('memno'), "
             "code_version(PDE_CODE + plugin_code('gru')), code_version(GRAPH_CODE + plugin_code('edge_sum')))")
    first = subprocess.run([sys.executable, "-c", probe], env=_env(tmp_path), capture_output=True, text=True,
                           check=True).stdout.split()
    assert first[:3] == ["('my_models',)", "('my_models',)", "()"]
    (tmp_path / "my_models.py").write_text(PLUGIN + "\n# edited\n")
    second = subprocess.run([sys.executable, "-c", probe], env=_env(tmp_path), capture_output=True, text=True,
                            check=True).stdout.split()
    assert first[3] != second[3] and first[4] != second[4]
