"""Bring your own model: a module outside gapbench registers a memory mixer and two graph models with layers of
their own (a GIN and a gated edge layer, on the public base classes of gapbench.models.gnn), names itself in the
config's ``plugins``, and its models run through training, tables, figures and claims like the built-ins.

The plugin is written to a temporary directory (never under src/gapbench) and reaches the workflow only through
``PYTHONPATH`` and the config key, as docs/extending.md tells a user to do. One workflow run on configs/ci.yaml,
restricted to KS and the planted star (one dataset each), serves every test here.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

PLUGIN = '''
"""A user's models: a GRU memory mixer, a GIN (node layer) and a gated edge layer, each written from scratch."""
import torch
from torch import nn

from gapbench.models.gnn import EdgeMessagePassing, MessagePassingLayer, NodeMessagePassing
from gapbench.registry import Setting, register_graph_model, register_mixer


class GRUMixer(nn.Module):
    """y_t = W h_t, h_t = GRU(x_t, h_{t-1}) with ``layers`` stacked GRU layers: causal along time."""

    def __init__(self, width, layers=1):
        super().__init__()
        self.width, self.layers = width, layers
        self.gru = nn.GRU(width, width, num_layers=layers, batch_first=True)
        self.out = nn.Linear(width, width)

    def forward(self, x):  # [n, t, ..., w]: one sequence per spatial point
        n, t, w = x.shape[0], x.shape[1], x.shape[-1]
        seq = x.reshape(n, t, -1, w).transpose(1, 2).reshape(-1, t, w)
        y = self.out(self.gru(seq)[0])
        return y.reshape(n, -1, t, w).transpose(1, 2).reshape(x.shape)

    def init_state(self, n, device):
        return torch.zeros(self.layers, n, self.width, device=device)

    def step(self, x_t, state):
        y, state = self.gru(x_t.unsqueeze(1), state)
        return self.out(y.squeeze(1)), state


class GINLayer(MessagePassingLayer):
    """GIN: h_v <- h_v + W2 sigma(W1 ((1 + eps) h_v + sum{h_w (+ e_vw) : w in N(v)}) + b1) + b2."""

    def __init__(self, width, **kw):
        super().__init__(width, **{**kw, "reduce": "sum"})
        self.eps = nn.Parameter(torch.zeros(()))
        self.lin2 = nn.Linear(width, width)

    def forward(self, h, graph, edge_term=None):
        z = (1 + self.eps) * h + self.node_aggregate(h, graph, edge_term)
        return h + self.drop(self.lin2(self.act(self.norm(self.lin(z)))))


class GIN(NodeMessagePassing):
    layer_class = GINLayer


class GatedEdgeLayer(MessagePassingLayer):
    """h_e <- h_e + sigmoid(U h_e) * sigma(W mean{h_f : f shares an endpoint with e, f != e} + b)."""

    def __init__(self, width, **kw):
        super().__init__(width, **kw)
        self.gate = nn.Linear(width, width, bias=False)

    def forward(self, h, graph, edge_term=None):
        return h + torch.sigmoid(self.gate(h)) * self.act(self.norm(self.lin(self.edge_aggregate(h, graph))))


class GatedEdge(EdgeMessagePassing):
    layer_class = GatedEdgeLayer


register_mixer("gru", GRUMixer, label="GRU", color="black", marker="*",
               own=[Setting("layers", "int", 1, "stacked GRU layers")])
register_graph_model("gin", GIN, family="node", label="GIN", color="#ff00ff", marker="X")
register_graph_model("gated", GatedEdge, family="edge", label="Gated edge", counterpart="gin")
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
    drawn[stem + "_legend"] = sorted({t.get_text() for ax in fig.axes if ax.get_legend()
                                      for t in ax.get_legend().get_texts()})
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
    config["train"]["pde"]["ks"]["gru"] = {"layers": 2}  # the mixer's own setting, under its model's section
    graphs = config["graphs"]
    graphs["map"]["n"], graphs["ising"]["trees"], graphs["duplicates"]["n"] = [], [], []
    graph = config["train"]["graph"]
    graph["planted_star"]["models"] = ["node_gcn", "edge_gcn", "gin", "gated"]
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
    assert metrics["hyper"]["mixer"] == [["layers", 2]]  # the config's value reached the mixer
    assert float(gru["nrmse_mean"]) == pytest.approx(metrics["nrmse"])
    # the MemNO stack with the GRU as its memory layer: more parameters than the FFNO of the same width
    assert int(float(gru["n_params"])) > int(float(by_model["ffno"]["n_params"]))
    assert gru["delta_nrmse"] != "" and gru["beats_persistence"] in ("true", "false")  # compared like a built-in


@pytest.mark.slow
def test_graph_models_with_their_own_layers_are_trained_tabulated_and_claimed(plugin_run):
    for name in ("gin", "gated"):
        metrics = json.loads(next((plugin_run / "results/train/graph/planted_star").rglob(
            f"{name}/seed0/metrics.json")).read_text())
        assert metrics["status"] == "ok" and metrics["model"] == name
        assert math.isfinite(metrics["test"]), metrics
    table2 = (plugin_run / "results" / "tables" / "table2_planted_star.md").read_text()
    assert "GIN RMSE" in table2 and "Gated edge RMSE" in table2  # the plugin's labels head their columns
    claims = (plugin_run / "results" / "claims.md").read_text()
    planted = re.search(r"\n## \d+\. Edge beats node on planted stars.*?(?=\n## |\Z)", claims, re.S)[0]
    # a node model by its family, whatever its name: the GIN is compared with the edge GCN, DeepSets-like set
    # models and edge models are not
    assert "| GIN |" in planted and "| GCN (node) |" in planted and "Gated edge" not in planted, planted


@pytest.mark.slow
def test_the_plugins_curves_are_in_the_figures_with_their_registered_style(plugin_run):
    plugins = (plugin_run / "plugins").read_text()
    env = _env(Path(plugins)) | {"GAPBENCH_PLUGINS": "my_models"}
    out = subprocess.run([sys.executable, "-c", FIGURE_PROBE], cwd=plugin_run, env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    drawn = json.loads(out.stdout.strip().splitlines()[-1])
    assert ["GRU", "black", "*"] in drawn["rollout_nrmse"]  # the registered label, colour and marker
    assert any(label.startswith("GRU: ") and (colour, marker) == ("black", "*")
               for label, colour, marker in drawn["training_curves"]), drawn["training_curves"]
    assert any(label.startswith("GIN: ") and (colour, marker) == ("#ff00ff", "X")
               for label, colour, marker in drawn["training_curves"]), drawn["training_curves"]
    # error-bar curves: their labels are in the legends
    assert {"GIN (planted paper k=2)", "Gated edge (planted paper k=2)"} <= set(drawn["node_vs_edge_legend"]), drawn


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
             "from gapbench.train.resume import code_version; "
             "print(plugin_code('gru'), plugin_code('gin'), plugin_code('memno'), "
             "code_version(plugin_code('gru')), code_version(plugin_code('gin')))")
    first = subprocess.run([sys.executable, "-c", probe], env=_env(tmp_path), capture_output=True, text=True,
                           check=True).stdout.split()
    assert first[:3] == ["('my_models',)", "('my_models',)", "()"]
    (tmp_path / "my_models.py").write_text(PLUGIN + "\n# edited\n")
    second = subprocess.run([sys.executable, "-c", probe], env=_env(tmp_path), capture_output=True, text=True,
                            check=True).stdout.split()
    assert first[3] != second[3] and first[4] != second[4]


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """The plugin imported in this process; its registrations are undone afterwards."""
    import importlib

    from gapbench import registry

    tables = (registry.MIXERS, registry.PDE_MODELS, registry.GRAPH_MODELS)
    saved = [dict(t) for t in tables]
    (tmp_path / "my_models.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_models", raising=False)
    yield importlib.import_module("my_models")
    for table, before in zip(tables, saved):
        table.clear()
        table.update(before)


def _star_with_path():
    """A small graph with a hub, leaves and a path: edges listed in both directions, node features [N, 3]."""
    pairs = [(0, 1), (0, 2), (0, 3), (3, 4), (4, 5), (1, 2)]
    import torch

    ei = torch.tensor([[u for u, v in pairs] + [v for u, v in pairs], [v for u, v in pairs] + [u for u, v in pairs]])
    return torch.randn(6, 3, generator=torch.Generator().manual_seed(0)), ei, pairs


def test_a_new_node_layer_computes_its_formula(plugin):
    """The GIN written on MessagePassingLayer, inside NodeMessagePassing, equals its formula computed node by node."""
    import torch

    from gapbench.models.gnn import build_model

    torch.manual_seed(0)
    model = build_model("gin", 3, 2, depth=2, width=5, level="node")
    with torch.no_grad():
        for layer in model.layers:
            layer.eps.fill_(0.3)
    x, ei, pairs = _star_with_path()
    neighbours = {v: sorted({b for a, b in pairs if a == v} | {a for a, b in pairs if b == v}) for v in range(6)}
    h = model.embed(x)
    for layer in model.layers:  # brute force: every node on its own
        h = torch.stack([h[v] + layer.lin2(torch.relu(layer.lin((1 + layer.eps) * h[v]
                                                                 + sum(h[w] for w in neighbours[v]))))
                         for v in range(6)])
    assert isinstance(model, plugin.GIN) and model.layers[0].reduce == "sum"
    torch.testing.assert_close(model(x, ei), model.head(h))


def test_a_new_edge_layer_computes_its_formula(plugin):
    """The gated edge layer inside EdgeMessagePassing equals its formula computed edge by edge (line graph)."""
    import torch

    from gapbench.graphs.structure import undirected_graph
    from gapbench.models.gnn import build_model

    torch.manual_seed(1)
    model = build_model("gated", 3, 1, depth=2, width=4, level="graph")
    x, ei, _ = _star_with_path()
    g = undirected_graph(ei, 6)
    u, v = g.edges
    edges = list(zip(u.tolist(), v.tolist()))
    h = model.embed_sum(x[u] + x[v]) + model.embed_prod(x[u] * x[v])
    for layer in model.layers:
        rows = []
        for e, (a, b) in enumerate(edges):
            others = [f for f, (c, d) in enumerate(edges) if f != e and {a, b} & {c, d}]
            mean = torch.stack([h[f] for f in others]).mean(0) if others else torch.zeros(4)
            rows.append(h[e] + torch.sigmoid(layer.gate(h[e])) * torch.relu(layer.lin(mean)))
        h = torch.stack(rows)
    torch.testing.assert_close(model(x, ei), model.head(h.mean(0, keepdim=True)))


def test_pairing_colours_and_markers_come_from_the_registry(plugin):
    from gapbench.errors import ConfigError
    from gapbench.registry import register_graph_model
    from gapbench.tables.graphs import counterpart
    from gapbench.tables.style import display, model_color

    assert counterpart("gated-d1-w4") == "gin-d1-w4" and counterpart("edge_gcn-ef") == "node_gcn-ef"
    assert counterpart("gin") is None and counterpart("node_gcn-d2-w8") is None
    assert display("gin-d1-w4") == "GIN d1 w4" and display("edge_gcn-ef") == "Edge-GCN + edge features"
    assert model_color("gin") == "#ff00ff"
    for kw, owner in (({"color": "#ff00ff"}, "gin"), ({"marker": "s"}, "edge_gcn"), ({"color": "tab:brown"},
                                                                                        "edge_gcn")):
        with pytest.raises(ConfigError, match=f"is taken by '{owner}'"):
            register_graph_model("other", plugin.GIN, family="node", **kw)
    with pytest.raises(ConfigError, match="counterpart 'gated' is not a registered graph model of another family"):
        register_graph_model("other", plugin.GatedEdge, family="edge", counterpart="gated")


def test_no_code_outside_the_registries_reads_a_role_from_a_name_prefix():
    """Roles (node / edge / set; markovian / memory) come from gapbench.registry.family_of, never a name."""
    pattern = re.compile(r"""(startswith|removeprefix)\(\s*["'](node|edge|set|memory|markov)[_"']|"""
                         r"""["'](node|edge)_["']\s*\+""")
    found = [f"{path.relative_to(REPO)}:{i}: {line.strip()}" for path in (REPO / "src").rglob("*.py")
             for i, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert not found, found


def test_plugins_variable_takes_commas_and_spaces_and_errors_name_it(tmp_path):
    (tmp_path / "my_models.py").write_text(PLUGIN)
    (tmp_path / "other.py").write_text("from gapbench.registry import register_pde_model\n"
                                       "register_pde_model('ffno_wide', label='FFNO wide')\n")
    (tmp_path / "broken.py").write_text("raise RuntimeError('this plugin is broken')\n")
    env = _env(tmp_path)
    for value in ("my_models,other", "my_models other", " my_models, other ,"):
        out = subprocess.run([sys.executable, "-m", "gapbench", "train", "pde", "--help"],
                             env=env | {"GAPBENCH_PLUGINS": value}, capture_output=True, text=True)
        assert out.returncode == 0 and "gru" in out.stdout and "ffno_wide" in out.stdout, (value, out.stderr)
    out = subprocess.run([sys.executable, "-m", "gapbench", "train", "graph", "--help"],
                         env=env | {"GAPBENCH_PLUGINS": "my_models"}, capture_output=True, text=True)
    assert "gin" in " ".join(out.stdout.split()) and "gated" in out.stdout
    for value, expected in (("my_models,nowhere", "environment variable GAPBENCH_PLUGINS: cannot import 'nowhere'"),
                            ("broken", "environment variable GAPBENCH_PLUGINS: importing 'broken' raised "
                                       "RuntimeError: this plugin is broken"),
                            ("my_models;rm", "environment variable GAPBENCH_PLUGINS: 'my_models;rm' is not a "
                                             "module name")):
        out = subprocess.run([sys.executable, "-m", "gapbench", "--version"], env=env | {"GAPBENCH_PLUGINS": value},
                             capture_output=True, text=True)
        assert out.returncode == 2 and expected in out.stderr and len(out.stderr.strip().splitlines()) == 1, \
            out.stderr


def test_config_check_takes_a_stack_merged_as_snakemake_does(tmp_path):
    """Later files override earlier keys, mappings merge key by key, lists are replaced (Snakemake's update_config)."""
    from snakemake.utils import update_config

    from gapbench.config import merge, read_config

    base = read_config(REPO / "configs" / "ci.yaml")
    overlay = {"train": {"pde": {"models": ["ffno"], "ks": {"epochs": 3}}}, "tables": {"alpha": 0.01}}
    expected = json.loads(json.dumps(base))
    update_config(expected, overlay)
    assert merge(base, overlay) == expected
    (tmp_path / "over.yaml").write_text(yaml.safe_dump(overlay))
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"train": {"pde": {"ks": {"epochs": 0}}}}))
    env = _env(tmp_path)

    def check(*args, cwd=tmp_path):
        return subprocess.run([sys.executable, "-m", "gapbench", "config", "check", *map(str, args)], env=env,
                              cwd=cwd, capture_output=True, text=True)

    ci = REPO / "configs" / "ci.yaml"
    ok = check(ci, tmp_path / "over.yaml")
    assert ok.returncode == 0 and ok.stdout.strip() == f"{ci} + {tmp_path / 'over.yaml'}: valid", ok.stderr
    bad = check(ci, tmp_path / "bad.yaml")
    assert bad.returncode == 2 and "train.pde.ks.epochs" in bad.stderr, bad.stderr
    # Snakemake 9 first reads the Snakefile's config.yaml from the working directory, then the --configfile files
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"tables": {"memory_nrmse_target": -1.0}}))
    stacked = check(ci, tmp_path / "over.yaml")
    assert stacked.returncode == 2 and "tables.memory_nrmse_target" in stacked.stderr, stacked.stderr
    stacked = check("--stack", ci)
    assert stacked.returncode == 2 and "tables.memory_nrmse_target" in stacked.stderr, stacked.stderr
    alone = check("--stack", "--replace-workflow-config", ci)
    assert alone.returncode == 0 and alone.stdout.strip() == f"{ci}: valid", alone.stderr


def test_a_mixer_registers_settings_of_its_own(plugin, tmp_path):
    """``train.pde.{eq}.{model}`` takes the mixer's own settings (type-checked by the schema); the job gets them as
    ``--mixer-setting`` flags and the mixer its keyword arguments."""
    import torch

    from gapbench.config import read_config, validate_config
    from gapbench.errors import ConfigError
    from gapbench.models.pde_registry import ModelHyper, build_model
    from gapbench.train.pde import _mixer_settings
    from gapbench.train.pde_plan import model_args

    config = read_config(REPO / "configs" / "ci.yaml")
    config["train"]["pde"]["models"] = ["ffno", "gru"]
    config["train"]["pde"]["ks"]["gru"] = {"layers": 3}
    validate_config(config)
    assert config["train"]["pde"]["ns"]["gru"] == {"layers": 1}  # the default, filled by the schema
    wc = type("W", (), {"eq": "ks", "model": "gru"})
    assert model_args(config)(wc)[-2:] == ["--mixer-setting", "layers=3"]
    assert "--mixer-setting" not in model_args(config)(type("W", (), {"eq": "ks", "model": "memno"}))
    for bad, key in (({"layers": "three"}, "train.pde.ks.gru.layers"), ({"depth": 2}, "train.pde.ks.gru")):
        config = read_config(REPO / "configs" / "ci.yaml")
        config["train"]["pde"]["models"] = ["ffno", "gru"]
        config["train"]["pde"]["ks"]["gru"] = bad
        with pytest.raises(ConfigError, match=re.escape(key)):
            validate_config(config)
    assert _mixer_settings("gru", ["layers=2"]) == (("layers", 2),)
    assert _mixer_settings("gru", []) == (("layers", 1),)
    for flag, message in (("layers=two", "allowed: a value of type int"), ("depth=2", "NAME one of layers")):
        with pytest.raises(ConfigError, match=message):
            _mixer_settings("gru", [flag])
    model = build_model("gru", 1, ModelHyper(width=8, n_layers=1, modes=3, mixer=(("layers", 2),)))
    assert model.memory.mixer.gru.num_layers == 2
    x = torch.randn(2, 5, 8, 8)  # causal with its own setting too: the first 3 outputs see only 3 inputs
    torch.testing.assert_close(model.memory.mixer(x)[:, :3], model.memory.mixer(x[:, :3]))
