"""The graph dataset format: CLI, loader, `gapbench data check`, determinism, atomic writes, tamper detection."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import torch

from gapbench.cli import main
from gapbench.errors import StoreError
from gapbench.graphs import data

torch.set_num_threads(1)

MAKE = {
    "planted_star": ["planted-star", "--leaves", "8", "--depth", "2"],
    "map": ["map", "--n", "16"],
    "ising": ["ising", "--tree", "pruefer", "--n-nodes", "10"],
    "duplicates": ["duplicates", "--n", "8"],
}


def _make(kind: str, out, seed: int = 0, n_graphs: int = 10) -> int:
    return main(["graphs", "make", *MAKE[kind], "--n-graphs", str(n_graphs), "--seed", str(seed), "--out", str(out)])


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("graphs")
    for kind in MAKE:
        assert _make(kind, root / kind) == 0
    return root


def _digest(path) -> dict:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("kind", list(MAKE))
def test_make_writes_a_loadable_checked_dataset(datasets, kind, capsys):
    path = datasets / kind
    assert sorted(p.name for p in path.iterdir()) == sorted(
        ["meta.json", "processed"] + (["planted_model.pt"] if kind == "planted_star" else []))
    meta = json.loads((path / "meta.json").read_text())
    assert meta["kind"] == kind and meta["sizes"] == {"train": 8, "valid": 1, "test": 1}
    for split, size in meta["sizes"].items():
        ds = data.load(path, split)
        assert len(ds) == size and ds.meta["variant"] == meta["variant"]
        g = ds[0]
        half = g.edge_index.shape[1] // 2
        assert torch.equal(g.edge_index[:, half:], g.edge_index[:, :half].flip(0))  # both directions
        assert g.y.shape[0] == g.num_nodes and g.label_mask.dtype == torch.bool
    assert main(["data", "check", str(path)]) == 0
    assert "ok (" in capsys.readouterr().out


def test_graph_fields_follow_the_contract(datasets):
    m = data.load(datasets / "map", "train")[0]
    assert m.num_nodes == 17 and m.pair_index.shape == (2, 16 + 12) and m.pair_energy.shape == (28, 2, 2)
    assert set(m.y.unique().tolist()) <= {0, 1} and m.y.dtype == torch.int64
    assert torch.equal(m.x, m.node_energy) and m.edge_attr.shape == (56, 4)
    # edge_attr is the pair table seen from the source: row k+P is the transpose of row k
    assert torch.equal(m.edge_attr[28:].view(-1, 2, 2), m.pair_energy.transpose(1, 2))
    loc = json.loads((datasets / "map" / "meta.json").read_text())["locality"]  # MAP-4, stored with the data
    assert loc["d"] == [1, 2, 3] and len(loc["flip_rate"]) == 3 and loc["flip_rate"][-1] == 0.0
    assert loc["samples"] > 0 and loc["split"] == "test"
    i = data.load(datasets / "ising", "train")[0]
    assert i.x.shape == (10, 1) and ((i.y > 0) & (i.y < 1)).all() and (i.pair_coupling == 1).all()
    d = data.load(datasets / "duplicates", "train")[0]
    assert d.x.shape == (9, 9) and d.label_mask.tolist() == [False] + [True] * 8 and int(d.y[1:].sum()) == 4
    p = data.load(datasets / "planted_star", "train")[0]
    assert p.x.shape == (9, 10) and p.label_mask.tolist() == [False] + [True] * 8


@pytest.mark.parametrize("kind", list(MAKE))
def test_same_seed_gives_identical_files_other_seed_differs(datasets, tmp_path, kind):
    assert _make(kind, tmp_path / "again") == 0
    assert _digest(tmp_path / "again") == _digest(datasets / kind)
    assert _make(kind, tmp_path / "other", seed=1) == 0
    assert _digest(tmp_path / "other")["processed/train.pt"] != _digest(datasets / kind)["processed/train.pt"]


def _tamper(src, dst, split: str, edit) -> None:
    from torch_geometric.data import InMemoryDataset

    shutil.copytree(src, dst)
    graphs = [g for g in data.load(dst, split)]
    edit(graphs)
    InMemoryDataset.save(graphs, str(dst / "processed" / f"{split}.pt"))
    _rerecord_digests(dst)


def _rerecord_digests(path) -> None:
    """A tamperer who also rewrites the card's content digests: only the label checks can catch the edit."""
    card = json.loads((path / "meta.json").read_text())
    card[data.DIGESTS] = data.file_digests(path)
    (path / "meta.json").write_text(json.dumps(card))


def _flip_one_map_label(gs):
    gs[0].y[5] = 1 - gs[0].y[5]


def _nudge_ising(gs):
    gs[0].y[3] += 1e-3


def _flip_duplicate(gs):
    gs[0].y[2] = 1 - gs[0].y[2]


def _nudge_planted(gs):
    gs[0].y[4] += 1e-3


@pytest.mark.parametrize("kind, split, edit", [
    ("map", "train", _flip_one_map_label), ("ising", "test", _nudge_ising),
    ("duplicates", "valid", _flip_duplicate), ("planted_star", "train", _nudge_planted),
])
def test_check_fails_on_a_single_wrong_label(datasets, tmp_path, kind, split, edit, capsys):
    bad = tmp_path / "bad"
    _tamper(datasets / kind, bad, split, edit)
    with pytest.raises(StoreError, match="labels differ"):
        data.check_dataset(bad)
    assert main(["data", "check", str(bad)]) == 2
    assert "labels differ" in capsys.readouterr().err


def test_check_fails_on_changed_planted_weights(datasets, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(datasets / "planted_star", bad)
    state = torch.load(bad / "planted_model.pt", weights_only=True)
    key = next(k for k in state if k.endswith("weight") or k == "weights")  # the paper law's W_l
    state[key] = state[key] + 0.05
    torch.save(state, bad / "planted_model.pt")
    with pytest.raises(StoreError, match="planted_model.pt differs from the content digest"):
        data.check_dataset(bad)
    _rerecord_digests(bad)
    with pytest.raises(StoreError, match="planted targets off"):
        data.check_dataset(bad)
    (bad / "planted_model.pt").unlink()
    _rerecord_digests(bad)
    with pytest.raises(StoreError, match="missing planted_model.pt"):
        data.check_dataset(bad)


def test_check_names_the_problem(datasets, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(datasets / "map", bad)
    (bad / "processed" / "valid.pt").write_bytes((bad / "processed" / "valid.pt").read_bytes()[:100])
    with pytest.raises(StoreError, match="valid.pt differs from the content digest"):
        data.check_dataset(bad)
    _rerecord_digests(bad)
    with pytest.raises(StoreError, match="valid.pt: cannot be read"):
        data.check_dataset(bad)
    (bad / "processed" / "valid.pt").unlink()
    with pytest.raises(StoreError, match="missing processed/valid.pt"):
        data.check_dataset(bad)
    (bad / "meta.json").unlink()
    with pytest.raises(StoreError, match="no meta.json"):
        data.load(bad, "train")
    with pytest.raises(StoreError, match="expected one of train, valid, test"):
        data.load(datasets / "map", "val")
    wrong = tmp_path / "wrong"
    _tamper(datasets / "ising", wrong, "train", lambda gs: setattr(gs[0], "x", gs[0].x.double()))
    with pytest.raises(StoreError, match="x has dtype torch.float64, expected float32"):
        data.check_dataset(wrong)


def test_failed_write_leaves_nothing_and_keeps_the_old_dataset(datasets, tmp_path):
    from gapbench.graphs import duplicates

    splits, meta = duplicates.make(duplicates.DuplicatesParams(8, 10))
    out = tmp_path / "dup"

    def boom(path):
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        data.write_dataset(out, splits, meta, {"extra.bin": boom})
    assert list(tmp_path.iterdir()) == []  # no out, no temporary directory
    shutil.copytree(datasets / "duplicates", out)
    before = _digest(out)
    with pytest.raises(RuntimeError):
        data.write_dataset(out, splits, meta, {"extra.bin": boom})
    assert _digest(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["dup"]


def test_cli_reports_bad_parameters_without_traceback(tmp_path, capsys):
    assert main(["graphs", "make", "map", "--n", "15", "--n-graphs", "10", "--out", str(tmp_path / "m")]) == 2
    assert "perfect square" in capsys.readouterr().err
    assert main(["graphs", "make", "duplicates", "--n", "7", "--n-graphs", "10", "--out", str(tmp_path / "d")]) == 2
    assert main(["graphs", "make", "ising", "--tree", "path", "--n-graphs", "3", "--split", "0.9", "0.05", "0.05",
                 "--out", str(tmp_path / "i")]) == 2
    assert "empty split" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_seed_streams_are_independent_per_split_and_variant():
    a = data.rng(0, "map", "n16", "train").standard_normal(3)
    assert (a == data.rng(0, "map", "n16", "train").standard_normal(3)).all()
    assert not (a == data.rng(0, "map", "n16", "test").standard_normal(3)).any()
    assert not (a == data.rng(0, "map", "n64", "train").standard_normal(3)).any()
    assert data.split_sizes(300, (0.8, 0.1, 0.1)) == {"train": 240, "valid": 30, "test": 30}


def test_dataset_paths_follow_the_config():
    from gapbench.config import validate_config

    config = validate_config({"graphs": {"planted_star": {"leaves": [16, 32], "depths": [1]}, "map": {"n": [64]},
                                         "ising": {"trees": ["path"]}, "duplicates": {"n": []},
                                         "benchmarks": {"names": ["zinc"]}}})
    assert data.dataset_paths(config) == [
        *[f"results/data/graphs/planted_star/n{n}-k1-paper-s{s}" for n in (16, 32) for s in (0, 1, 2)],
        "results/data/graphs/map/n64", "results/data/graphs/ising/path", "results/data/graphs/benchmark/zinc"]


@pytest.mark.parametrize("graphs, match", [
    ({"map": {"n": [16, 20]}}, "not perfect squares"),
    ({"split": [0.5, 0.2, 0.2]}, "must sum to 1"),
    ({"duplicates": {"n": [7]}}, "graphs.duplicates.n"),
    ({"ising": {"n_graphs": 4}}, "empty split"),
])
def test_config_checks_name_the_key(graphs, match):
    from gapbench.config import validate_config
    from gapbench.errors import ConfigError

    with pytest.raises(ConfigError, match=match):
        validate_config({"graphs": graphs})
