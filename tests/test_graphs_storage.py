"""Training reads graph splits without PyG (gapbench.graphs.storage): the same graphs as PyG's loader, no
torch_geometric (nor torch._dynamo) import when a training job loads its data, and the vectorised collate."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from gapbench.graphs import duplicates, ising, map_paths, planted
from gapbench.graphs.data import load, write_dataset
from gapbench.graphs.storage import StoredGraph, read_split


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """One small dataset of every synthetic kind (node and graph targets, edge features, masks, pair indices),
    and one whose valid and test splits hold one graph (stored without slices)."""
    root, split = tmp_path_factory.mktemp("storage"), (0.6, 0.2, 0.2)
    splits, meta, model = planted.make(planted.PlantedStarParams(4, 1, 20))
    write_dataset(root / "planted", splits, meta, {planted.MODEL_FILE: planted.save_model(model)})
    for kind, made in (("map", map_paths.make(map_paths.MapParams(16, 20, 0.1, split))),
                       ("ising", ising.make(ising.IsingParams("path", 20, split=split))),
                       ("duplicates", duplicates.make(duplicates.DuplicatesParams(8, 20, split))),
                       ("one", duplicates.make(duplicates.DuplicatesParams(8, 10)))):  # splits of 1 graph
        write_dataset(root / kind, *made)
    return [root / name for name in ("planted", "map", "ising", "duplicates", "one")]


def test_read_split_gives_pyg_s_graphs(datasets):
    for path in datasets:
        for split in ("train", "valid", "test"):
            meta, graphs = read_split(path, split)
            reference = load(path, split)
            assert meta == reference.meta and len(graphs) == len(reference) > 0
            for ours, theirs in zip(graphs, reference):
                assert isinstance(ours, StoredGraph)  # cut from the storage, not PyG's fallback
                assert ours.num_nodes == theirs.num_nodes
                assert set(vars(ours)) - {"num_nodes"} == set(theirs.keys()), path
                for key in theirs.keys():
                    a, b = getattr(ours, key), getattr(theirs, key)
                    assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b), (path, split, key)
            assert graphs[0].pos is None or "pos" in reference[0].keys()


def test_graph_training_set_up_imports_no_pyg(datasets):
    code = ("import sys; from gapbench.train.graph_batches import prepare; "
            f"p = prepare({str(datasets[0])!r}, 'cpu'); "
            "print(len(p.data['train']), 'torch_geometric' in sys.modules, 'torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[0]) > 0 and out[1:] == ["False", "False"]


def test_vectorised_collate_equals_per_graph_offsets(datasets):
    """The batch's edge_index (each graph's edges shifted by the nodes before it) and graph-of-node vector, built
    by expanding the sizes on the device, equal the per-graph loop."""
    from gapbench.train.graph_batches import GraphBatches
    from gapbench.train.graph_tasks import task_for

    for path in datasets:
        meta, graphs = read_split(path, "train")
        data = GraphBatches(graphs, task_for(meta, graphs), "cpu")
        idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(0)).tolist()[:5]
        x, ei, batch, _, ng, _, _ = data.collate(idx)
        offsets = [sum(data.n[j] for j in idx[:k]) for k in range(len(idx))]
        assert torch.equal(ei, torch.cat([data.ei[i] + o for i, o in zip(idx, offsets)], dim=1)), path
        assert batch.tolist() == [k for k, i in enumerate(idx) for _ in range(data.n[i])] and ng == len(idx)
        assert torch.equal(x, torch.cat([data.x[i] for i in idx]))
