"""The store format: round trip, what check_store refuses and why, atomic writes, `gapbench data check`."""

from __future__ import annotations

import shutil
import subprocess

import dask.array as da
import numpy as np
import pytest
import zarr

from gapbench.errors import StoreError
from gapbench.pde.generate import SimParams, build_dataset
from gapbench.pde.store import REQUIRED_ATTRS, check_store, load, write_store


def _sim(n_samples=6, n=16, eq="ks"):
    rng = np.random.default_rng(0)
    params = SimParams(eq, 0.1, n, 1.0, 4, 0.05, "RK222", 64.0 if eq == "ks" else 1.0)
    shape = (n_samples, 4) + (n,) * (1 if eq == "ks" else 2)
    redraws = [{"sample": 2, "attempt": 1, "seed": 5, "replaced_seed": 4, "reason": "test"}]
    return build_dataset(params, rng.normal(size=shape).astype(np.float32), np.arange(n_samples),
                         np.arange(n_samples, dtype=np.uint64) + np.uint64(2**63), redraws, 0, "train")


@pytest.mark.parametrize("eq", ["ks", "ns"])
def test_round_trip_keeps_data_coords_attrs_and_chunks_along_sample(tmp_path, eq):
    ds = _sim(eq=eq)
    path = write_store(ds, tmp_path / "s.zarr", chunk=4)
    back = load(path)
    name = "u" if eq == "ks" else "vorticity"
    np.testing.assert_array_equal(back[name].values, ds[name].values)
    np.testing.assert_array_equal(back["seed"].values, ds["seed"].values)
    assert back["seed"].dtype == np.uint64
    assert back[name].dims == (("sample", "time", "x") if eq == "ks" else ("sample", "time", "x", "y"))
    assert back[name].encoding["chunks"][0] == 4 and back[name].encoding["chunks"][1:] == ds[name].shape[1:]
    for key in REQUIRED_ATTRS:
        assert back.attrs[key] == ds.attrs[key], key
    assert back.attrs["complete"] is True
    assert "ok" in check_store(path)
    assert zarr.open_group(path, mode="r").metadata.zarr_format == 3


def _corrupt(path, edit):
    group = zarr.open_group(path, mode="r+")
    edit(group)


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda p: _corrupt(p, lambda g: g.attrs.__delitem__("nu")), "missing attrs nu"),
        (lambda p: _corrupt(p, lambda g: g.attrs.__delitem__("complete")), "incomplete store"),
        (lambda p: _corrupt(p, lambda g: g["u"].__setitem__((1, 2, 3), np.nan)), r"non-finite values .* samples \[1\]"),
        (lambda p: _corrupt(p, lambda g: g["u"].__setitem__((4, 0, 0), np.inf)), r"non-finite .* \[4\]"),
        (lambda p: shutil.rmtree(p / "u" / "c" / "1"), r"chunks missing"),
        (lambda p: _corrupt(p, lambda g: g.attrs.__setitem__("equation", "ns")), "no variable 'vorticity'"),
        (lambda p: _corrupt(p, lambda g: g.attrs.__setitem__("n_frames", 51)), "4 frames but attr n_frames=51"),
        (lambda p: shutil.rmtree(p / "seed"), "seed"),
        (lambda p: shutil.rmtree(p), "no such store"),
        (lambda p: (p / "zarr.json").write_text("{"), "not a readable Zarr store"),
    ],
    ids=["missing-attr", "incomplete", "nan", "inf", "missing-chunk", "wrong-equation", "frames", "no-seed",
         "missing", "garbage"],
)
def test_check_store_refuses_a_bad_store_with_the_reason(tmp_path, damage, reason):
    path = write_store(_sim(), tmp_path / "s.zarr", chunk=4)
    damage(path)
    with pytest.raises(StoreError, match=reason):
        check_store(path)
    with pytest.raises(StoreError, match=reason):
        load(path)


def test_wrong_dims_are_refused(tmp_path):
    ds = _sim()
    path = write_store(ds.transpose("sample", "x", "time"), tmp_path / "s.zarr")
    with pytest.raises(StoreError, match=r"'u' has dims \('sample', 'x', 'time'\), expected \('sample', 'time', 'x'\)"):
        check_store(path)


def test_failed_write_leaves_nothing_and_keeps_an_old_store(tmp_path):
    ds = _sim()

    def boom(block, block_info=None):
        if block_info[0]["array-location"][0][0] >= 4:
            raise RuntimeError("killed mid-write")
        return block

    bad = ds.copy()
    bad["u"] = (ds["u"].dims, da.from_array(ds["u"].values, chunks=(2, 4, 16)).map_blocks(boom, dtype=np.float32))
    with pytest.raises(RuntimeError, match="killed mid-write"):
        write_store(bad, tmp_path / "s.zarr", chunk=2)
    assert list(tmp_path.iterdir()) == []
    write_store(ds, tmp_path / "s.zarr")
    with pytest.raises(RuntimeError):
        write_store(bad, tmp_path / "s.zarr", chunk=2)
    assert [p.name for p in tmp_path.iterdir()] == ["s.zarr"]
    np.testing.assert_array_equal(load(tmp_path / "s.zarr")["u"].values, ds["u"].values)


def test_data_check_cli(tmp_path):
    path = write_store(_sim(), tmp_path / "s.zarr")
    ok = subprocess.run(["gapbench", "data", "check", str(path)], capture_output=True, text=True)
    assert ok.returncode == 0 and "ok: ks simulation store" in ok.stdout
    _corrupt(path, lambda g: g["u"].__setitem__((0, 0, 0), np.nan))
    bad = subprocess.run(["gapbench", "data", "check", str(path)], capture_output=True, text=True)
    assert bad.returncode == 2 and "non-finite" in bad.stderr and "Traceback" not in bad.stderr
