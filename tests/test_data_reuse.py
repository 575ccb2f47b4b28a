"""Data other tools read: PDEDataset in a DataLoader, The Well export read by the_well, PyG dataset classes."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pytest
import torch

from gapbench.cli import main
from gapbench.errors import StoreError
from gapbench.pde.generate import SimParams, build_dataset
from gapbench.pde.store import write_store


def _store(tmp_path: Path, eq: str = "ks", n_samples: int = 5, n_frames: int = 9, n: int = 8) -> Path:
    """A valid store with random frames and, like an observed store may, a second field beside the main one."""
    rng = np.random.default_rng(1)
    params = SimParams(eq, 0.1, n, 1.0, n_frames, 0.05, "RK222", 64.0 if eq == "ks" else 1.0)
    shape = (n_samples, n_frames) + (n,) * (1 if eq == "ks" else 2)
    ds = build_dataset(params, rng.normal(size=shape).astype(np.float32), np.arange(n_samples),
                       np.arange(n_samples, dtype=np.uint64), [], 0, "train")
    name = "u" if eq == "ks" else "vorticity"
    ds[f"{name}_clean"] = ds[name] * 2.0
    return write_store(ds, tmp_path / f"{eq}.zarr", chunk=2)


def test_pde_dataset_windows_feed_a_dataloader(tmp_path):
    from torch.utils.data import DataLoader

    from gapbench.data import PDEDataset
    from gapbench.pde.store import load

    path = _store(tmp_path)
    u = load(path)["u"].values
    data = PDEDataset(path, horizon=3, history=2, stride=2)
    assert len(data) == 5 * (1 + (9 - 2 - 3) // 2)  # 3 windows per trajectory: t0 = 0, 2, 4
    batches = list(DataLoader(data, batch_size=4, shuffle=False, num_workers=0))
    inputs = torch.cat([b[0] for b in batches])
    targets = torch.cat([b[1] for b in batches])
    assert inputs.shape == (15, 2, 8) and targets.shape == (15, 3, 8) and inputs.dtype == torch.float32
    for i, (s, t0) in enumerate((s, t0) for s in range(5) for t0 in (0, 2, 4)):
        np.testing.assert_array_equal(inputs[i].numpy(), u[s, t0:t0 + 2])
        np.testing.assert_array_equal(targets[i].numpy(), u[s, t0 + 2:t0 + 5])
    clean = PDEDataset(path, horizon=1, target_field="u_clean")
    x, y = clean[7]  # trajectory 0, t0 = 7
    np.testing.assert_array_equal(x.numpy(), u[0, 7:8])
    np.testing.assert_array_equal(y.numpy(), 2 * u[0, 8:9])
    two = list(DataLoader(PDEDataset(path, horizon=1), batch_size=8, num_workers=2))  # worker processes
    assert sum(len(b[0]) for b in two) == 5 * 8


def test_pde_dataset_refuses_bad_arguments(tmp_path):
    from gapbench.data import PDEDataset

    path = _store(tmp_path)
    with pytest.raises(StoreError, match="no field 'p'; this store's fields are u, u_clean"):
        PDEDataset(path, horizon=1, field="p")
    with pytest.raises(ValueError, match="exceed the store's 9 frames"):
        PDEDataset(path, horizon=8, history=2)
    with pytest.raises(ValueError, match="horizon must be an integer >= 1"):
        PDEDataset(path, horizon=0)


@pytest.mark.parametrize("eq", ["ks", "ns"])
def test_the_well_reads_an_exported_store_with_the_same_values(tmp_path, eq, capsys):
    from the_well.data import WellDataset

    from gapbench.data import PDEDataset

    path = _store(tmp_path, eq)
    out = tmp_path / "well" / f"{eq}.hdf5"
    assert main(["export", "the-well", str(path), str(out)]) == 0
    assert "The Well layout" in capsys.readouterr().out
    well = WellDataset(path=str(out.parent), n_steps_input=2, n_steps_output=3, use_normalization=False)
    ours = PDEDataset(path, horizon=3, history=2)
    assert len(well) == len(ours) == 5 * 5
    for i in (0, 6, len(ours) - 1):
        item, (x, y) = well[i], ours[i]
        np.testing.assert_array_equal(item["input_fields"][..., 0].numpy(), x.numpy())
        np.testing.assert_array_equal(item["output_fields"][..., 0].numpy(), y.numpy())
        assert item["input_fields"].shape[-1] == 1  # the main field only, not the clean copy
    assert float(well[0]["constant_scalars"][0]) == pytest.approx(0.1)
    assert well.metadata.n_spatial_dims == (1 if eq == "ks" else 2)
    assert main(["export", "the-well", str(path), str(tmp_path / "x.zarr")]) == 2
    assert "The Well reads files ending in .hdf5 or .h5" in capsys.readouterr().err
    assert not list((tmp_path / "well").glob(".*tmp*"))


def _pipeline_files(root: Path) -> None:
    """The four synthetic kinds written by the pipeline's commands (small sizes of configs/ci.yaml)."""
    common = ["--n-graphs", "20", "--split", "0.6", "0.2", "0.2", "--seed", "0", "--no-progress"]
    for args, out in ((["planted-star", "--leaves", "8", "--depth", "2"], "planted_star/n8-k2-paper-s0"),
                      (["map", "--n", "16"], "map/n16"),
                      (["ising", "--tree", "path", "--n-nodes", "12"], "ising/path"),
                      (["duplicates", "--n", "8"], "duplicates/n8")):
        assert main(["graphs", "make", *args, *common, "--out", str(root / out)]) == 0


def _classes(root: Path, split: str):
    from gapbench.data import Duplicates, HubPathsMAP, IsingTrees, PlantedStar

    kw = dict(split=split, n_graphs=20, fractions=(0.6, 0.2, 0.2))
    return {"planted_star/n8-k2-paper-s0": PlantedStar(root, leaves=8, depth=2, **kw),
            "map/n16": HubPathsMAP(root, n=16, **kw),
            "ising/path": IsingTrees(root, tree="path", n_nodes=12, **kw),
            "duplicates/n8": Duplicates(root, n=8, **kw)}


def test_pyg_classes_load_pipeline_files_and_regenerate_identical_ones(tmp_path):
    from torch_geometric.loader import DataLoader

    from gapbench.graphs.data import load

    pipeline, fresh = tmp_path / "pipeline", tmp_path / "fresh"
    _pipeline_files(pipeline)
    stamps = {p: p.stat().st_mtime_ns for p in pipeline.rglob("*") if p.is_file()}
    for variant, ds in _classes(pipeline, "valid").items():
        ref = load(pipeline / variant, "valid")
        assert len(ds) == len(ref) == 4
        assert all(torch.equal(ds[i].y, ref[i].y) and torch.equal(ds[i].edge_index, ref[i].edge_index)
                   for i in range(len(ds)))
        assert next(iter(DataLoader(ds, batch_size=4))).num_graphs == 4
    assert {p: p.stat().st_mtime_ns for p in pipeline.rglob("*") if p.is_file()} == stamps  # only read

    _classes(fresh, "train")  # builds every dataset under a fresh root
    for variant in _classes(pipeline, "train"):
        files = sorted(p.relative_to(pipeline / variant) for p in (pipeline / variant).rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(fresh / variant) for p in (fresh / variant).rglob("*") if p.is_file())
        match, mismatch, errors = filecmp.cmpfiles(pipeline / variant, fresh / variant, [str(f) for f in files],
                                                   shallow=False)
        assert not mismatch and not errors, (variant, mismatch, errors)


def test_pyg_class_refuses_a_directory_made_with_other_parameters(tmp_path):
    from gapbench.data import Duplicates

    Duplicates(tmp_path, n=8, n_graphs=20, fractions=(0.6, 0.2, 0.2))
    with pytest.raises(StoreError, match=r"n_graphs=20 \(asked 30\)"):
        Duplicates(tmp_path, n=8, n_graphs=30, fractions=(0.6, 0.2, 0.2))
