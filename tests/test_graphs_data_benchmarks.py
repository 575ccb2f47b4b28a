"""Benchmark download and conversion on tiny fixtures in the upstream on-disk formats (no network).

The fixtures are written by :func:`write_raw` in exactly the layout PyG's dataset classes read (ZINC pickles and
index files, benchmarking-gnns' ``{NAME}_v2.pt``, LRGB's ``{split}.pt`` tuples) and served through ``file://``
URLs, so the same code path as a real download runs: fetch to ``.part``, size check, unzip into staging, one
rename, PyG processing, ``download.json``; then ``make benchmark`` and the loader.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import pytest
import torch

from gapbench.errors import StoreError
from gapbench.graphs import benchmarks, data
from gapbench.graphs.download import Fetch, download, fetch, make_dataset

torch.set_num_threads(1)
NAMES = list(benchmarks.BENCHMARKS)
SIZES = {"train": 3, "val": 2, "test": 2}


def _path_edges(n: int) -> torch.Tensor:
    src = torch.arange(n - 1)
    return torch.cat([torch.stack([src, src + 1]), torch.stack([src + 1, src])], dim=1)


def _files(name: str) -> dict[str, bytes]:
    """Raw files of a tiny fixture of ``name`` (relative path inside the raw directory -> bytes)."""
    gen = torch.Generator().manual_seed(0)
    out: dict[str, bytes] = {}

    def dump(obj) -> bytes:
        buf = io.BytesIO()
        torch.save(obj, buf)
        return buf.getvalue()

    if name == "zinc":
        for split, k in SIZES.items():
            mols = []
            for i in range(k + 1):  # one molecule more than the subset index keeps
                n = 4 + i
                adj = torch.zeros(n, n, dtype=torch.long)
                adj[torch.arange(n - 1), torch.arange(1, n)] = 1
                adj = adj + adj.T
                mols.append({"atom_type": torch.randint(0, 28, (n,), generator=gen), "bond_type": adj,
                             "logP_SA_cycle_normalized": torch.randn(1, generator=gen), "num_atom": n})
            out[f"{split}.pickle"] = pickle.dumps(mols)
            out[f"{split}.index"] = (",".join(str(i) for i in range(k)) + "\n").encode()
    elif name in ("mnist", "cifar10"):
        channels = 1 if name == "mnist" else 3
        splits = []
        for split, k in SIZES.items():
            graphs = []
            for i in range(k):
                n = 5 + i
                ei = _path_edges(n)
                graphs.append({"x": torch.rand(n, channels, generator=gen), "pos": torch.rand(n, 2, generator=gen),
                               "edge_index": ei, "edge_attr": torch.rand(ei.shape[1], generator=gen),
                               "y": torch.randint(0, 10, (1,), generator=gen)})
            splits.append(graphs)
        out[f"{name.upper()}_v2.pt"] = dump(splits)
    else:
        n_out = 10 if name == "peptides_func" else 11
        for split, k in SIZES.items():
            graphs = []
            for i in range(k):
                n = 6 + i
                ei = _path_edges(n)
                y = (torch.rand(1, n_out, generator=gen) < 0.5).float() if n_out == 10 else torch.randn(1, n_out, generator=gen)
                graphs.append((torch.randint(0, 5, (n, 9), generator=gen), torch.randint(0, 3, (ei.shape[1], 3), generator=gen),
                               ei, y))
            out[f"{split}.pt"] = dump(graphs)
    return out


def write_raw(name: str, raw_dir: Path) -> None:
    raw_dir.mkdir(parents=True, exist_ok=True)
    for rel, blob in _files(name).items():
        (raw_dir / rel).write_bytes(blob)


def serve(name: str, where: Path) -> list[Fetch]:
    """Upstream-shaped archives (and ZINC's index files) under ``where``; their ``file://`` fetches."""
    from gapbench.graphs.download import sources

    upstream, _ = sources(name)
    archive = upstream[0]
    files = _files(name)
    where.mkdir(parents=True, exist_ok=True)
    zpath = where / f"{name}.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for rel, blob in files.items():
            if not rel.endswith(".index"):
                zf.writestr(f"{archive.member}/{rel}" if archive.member else rel, blob)
    fetches = [Fetch(zpath.as_uri(), member=archive.member)]
    for f in upstream[1:]:
        (where / f.target).write_bytes(files[f.target])
        fetches.append(Fetch((where / f.target).as_uri(), target=f.target))
    return fetches


@pytest.mark.parametrize("name", NAMES)
def test_download_convert_load(tmp_path, name, capsys):
    fetches = serve(name, tmp_path / "server")
    root = tmp_path / "resources"
    marker = download(name, root, fetches=fetches, check_sizes=False, backoff=0)
    record = json.loads(marker.read_text())
    assert record["sizes"] == {"train": 3, "valid": 2, "test": 2}
    assert all(len(v["sha256"]) == 64 for v in record["raw_files"].values())
    assert not list((root / name).glob(".staging-*"))
    out = tmp_path / "results" / name
    assert make_dataset(name, root / name, out).startswith(f"{out}: ok (benchmark/{name}")
    bench = benchmarks.BENCHMARKS[name]
    for split, k in (("train", 3), ("valid", 2), ("test", 2)):
        ds = data.load(out, split)
        assert len(ds) == k and tuple(ds[0].y.shape) == bench.y_shape
    meta = json.loads((out / "meta.json").read_text())
    assert (meta["task"], meta["metric"]) == (bench.task, bench.metric)
    assert meta["source"]["download"]["urls"] == [f.url for f in fetches]
    from gapbench.cli import main

    assert main(["data", "check", str(out)]) == 0


def test_hand_placed_files_are_used_without_network(tmp_path):
    root = tmp_path / "resources"
    write_raw("zinc", root / "zinc" / "raw")
    nowhere = [Fetch((tmp_path / "absent.zip").as_uri(), member="molecules")]
    download("zinc", root, fetches=nowhere, check_sizes=False, retries=1, backoff=0)
    assert (root / "zinc" / "download.json").is_file()


def test_failed_download_names_url_and_manual_placement_and_leaves_nothing(tmp_path, capsys):
    root = tmp_path / "resources"
    url = (tmp_path / "absent.zip").as_uri()
    with pytest.raises(StoreError) as err:
        download("peptides_func", root, fetches=[Fetch(url, member="peptidesfunc")], retries=2, backoff=0)
    msg = str(err.value)
    assert url in msg and "after 2 tries" in msg and "by hand" in msg and "train.pt, val.pt, test.pt" in msg
    assert str(root / "peptides_func" / "peptides-func" / "raw") in msg
    assert not (root / "peptides_func" / "peptides-func").exists()
    assert not (root / "peptides_func" / "download.json").exists()
    assert list((root / "peptides_func").iterdir()) == []


class _Response:
    def __init__(self, blob: bytes, length: int | None = None):
        self.buf, self.headers = io.BytesIO(blob), {"Content-Length": str(len(blob) if length is None else length)}

    def read(self, n):
        return self.buf.read(n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_fetch_retries_then_succeeds(tmp_path):
    calls = []

    def flaky(url, timeout):
        calls.append(url)
        if len(calls) == 1:
            raise OSError("connection reset")
        return _Response(b"payload")

    fetch("https://example.invalid/f", tmp_path / "f", retries=3, backoff=0, opener=flaky)
    assert len(calls) == 2 and (tmp_path / "f").read_bytes() == b"payload"


@pytest.mark.parametrize("response, archive, reason", [
    (lambda: _Response(b"half", length=10), False, "incomplete: 4 of 10 bytes"),
    (lambda: _Response(b"not a zip"), True, "BadZipFile"),
])
def test_fetch_never_keeps_a_partial_file(tmp_path, response, archive, reason):
    calls = []

    def opener(url, timeout):
        calls.append(url)
        return response()

    with pytest.raises(OSError, match=reason):
        fetch("https://example.invalid/f.zip", tmp_path / "f", retries=3, backoff=0, archive=archive, opener=opener)
    assert len(calls) == 3 and list(tmp_path.iterdir()) == []


def test_published_split_sizes_are_checked(tmp_path):
    root = tmp_path / "resources"
    write_raw("mnist", root / "mnist" / "MNIST" / "raw")
    with pytest.raises(StoreError, match="differ from the published"):
        download("mnist", root, check_sizes=True)
    assert not (root / "mnist" / "download.json").exists()
    assert not (root / "mnist" / "MNIST" / "processed").exists()


def test_incomplete_raw_directory_is_refused(tmp_path):
    root = tmp_path / "resources"
    write_raw("zinc", root / "zinc" / "raw")
    (root / "zinc" / "raw" / "val.index").unlink()
    with pytest.raises(StoreError, match=r"incomplete \(missing val.index\)"):
        download("zinc", root, check_sizes=False)


def test_make_requires_a_finished_download(tmp_path):
    with pytest.raises(StoreError, match="gapbench graphs download zinc"):
        make_dataset("zinc", tmp_path / "zinc", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_download_uses_hand_placed_files_and_reports_errors(tmp_path, capsys):
    from gapbench.cli import main

    root = tmp_path / "resources"
    write_raw("zinc", root / "zinc" / "raw")  # too small for the published sizes: a clear error, no network
    assert main(["graphs", "download", "zinc", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "differ from the published" in err and "by hand" in err
    assert not (root / "zinc" / "download.json").exists()
    assert main(["graphs", "make", "benchmark", "--name", "zinc", "--root", str(root),
                 "--out", str(tmp_path / "out")]) == 2
    assert "gapbench graphs download zinc" in capsys.readouterr().err
