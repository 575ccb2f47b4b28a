"""Damaged PDE stores: a corrupt or deleted chunk, or NaN values, give one StoreError line naming the store -
in `data check`, merge, observe, omega and training - and never reach a store marked complete."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from gapbench.cli import main
from gapbench.errors import StoreError
from gapbench.pde.store import REQUIRED_ATTRS, load, write_store


def _store(path, values=None, kind="simulation", n=4, res=16, frames=3):
    rng = np.random.default_rng(0)
    u = rng.normal(size=(n, frames, res)).astype(np.float32) if values is None else values
    ds = xr.Dataset({"u": (("sample", "time", "x"), u), "seed": (("sample",), np.zeros(n, dtype=np.uint64))},
                    coords={"sample": np.arange(n), "time": np.linspace(0, 0.2, frames), "x": np.arange(res) * 4.0})
    attrs = {a: "test" for a in REQUIRED_ATTRS}
    attrs["tail_fraction"] = 0.0
    attrs.update(equation="ks", kind=kind, nu=0.1, length=64.0, stepper="SBDF4", dt=0.02, t_end=0.2, n_frames=frames,
                 sim_resolution=res, resolution=res, obs_method="none", sigma=0.0, noise_seed=-1, root_seed=0,
                 split="train", redraws=[])
    ds.attrs = attrs
    write_store(ds, path, chunk=1)
    return path


def _one_line_error(argv, capsys, *words):
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for word in words:
        assert any(w in err for w in word.split("|")), err
    return err


def test_all_zero_seed_chunks_are_written_and_a_deleted_one_is_found(tmp_path, capsys):
    path = _store(tmp_path / "s.zarr")  # seeds all 0 = the fill value: written anyway
    assert main(["data", "check", str(path)]) == 0
    (path / "seed" / "c" / "2").unlink()
    _one_line_error(["data", "check", str(path)], capsys, "'seed'", "missing", str(path))


@pytest.mark.parametrize("array,chunk", [("u", "u/c/1/0/0"), ("seed", "seed/c/0"), ("sample", "sample/c/0")])
def test_corrupt_chunk_is_a_store_error_everywhere(tmp_path, capsys, array, chunk):
    path = _store(tmp_path / "s.zarr")
    target = path / chunk
    target.write_bytes(b"\x28\xb5\x2f\xfd garbage" + target.read_bytes()[:3])
    _one_line_error(["data", "check", str(path)], capsys, str(path), "damaged|not a readable")
    _one_line_error(["pde", "merge", str(path), "--out", str(tmp_path / "m.zarr")], capsys, "damaged|not a readable")
    _one_line_error(["pde", "observe", "--sim", str(path), "--resolution", "8", "--out", str(tmp_path / "o.zarr")],
                    capsys, "damaged|not a readable")
    _one_line_error(["pde", "omega", "--sim", str(path), "--resolutions", "8", "--out", str(tmp_path / "w.csv")],
                    capsys, "damaged|not a readable")
    assert not (tmp_path / "m.zarr").exists() and not (tmp_path / "o.zarr").exists()


def test_nan_input_never_reaches_a_complete_store(tmp_path, capsys):
    u = np.random.default_rng(1).normal(size=(4, 3, 16)).astype(np.float32)
    u[2, 1, 5] = np.nan
    path = _store(tmp_path / "nan.zarr", values=u)
    _one_line_error(["pde", "observe", "--sim", str(path), "--resolution", "8", "--out", str(tmp_path / "o.zarr")],
                    capsys, "non-finite")
    _one_line_error(["pde", "merge", str(path), "--out", str(tmp_path / "m.zarr")], capsys, "non-finite")
    assert not (tmp_path / "o.zarr").exists() and not (tmp_path / "m.zarr").exists()
    with pytest.raises(StoreError, match="non-finite"):
        load(path)
