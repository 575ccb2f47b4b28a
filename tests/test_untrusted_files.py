"""Files from elsewhere never run code: crafted pickles in graph datasets and raw benchmark files are refused
with one clear error, and their payload never runs; hand-replaced raw files are refused (sha256)."""

from __future__ import annotations

import io
import json
import os
import pickle
import re

import pytest
import torch

from gapbench.cli import main
from gapbench.errors import StoreError
from gapbench.graphs import data
from gapbench.graphs.benchmarks import _SafeUnpickler, verify_raw_files


class Payload:
    """Unpickling this runs ``os.system(touch MARKER)``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.fixture()
def dataset(tmp_path):
    from gapbench.graphs import duplicates

    splits, meta = duplicates.make(duplicates.DuplicatesParams(8, 10))
    data.write_dataset(tmp_path / "dup", splits, meta)
    return tmp_path / "dup"


def _craft(path, marker) -> None:
    """A processed split that torch.load(weights_only=False) would execute (as PyG's fallback does)."""
    stored = torch.load(path, weights_only=True)
    torch.save((stored[0], stored[1], Payload(marker)), path)


def test_crafted_processed_split_is_refused_by_data_check(dataset, tmp_path, capsys):
    marker = tmp_path / "pwned"
    _craft(dataset / "processed" / "train.pt", marker)
    with pytest.raises(StoreError, match="train.pt differs from the content digest"):  # the card's digest first
        data.load(dataset, "train")
    card = json.loads((dataset / "meta.json").read_text())  # a crafter who also rewrites the card's digests
    card[data.DIGESTS] = data.file_digests(dataset)
    (dataset / "meta.json").write_text(json.dumps(card))
    assert main(["data", "check", str(dataset)]) == 2
    err = capsys.readouterr().err.strip()
    assert "refused" in err and "train.pt" in err and len(err.splitlines()) == 1 and "Traceback" not in err
    with pytest.raises(StoreError, match="refused"):
        data.load(dataset, "train")
    assert not marker.exists()


def test_crafted_raw_pickle_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    blob = pickle.dumps([{"atom_type": torch.zeros(3)}, Payload(marker)])
    with pytest.raises(pickle.UnpicklingError, match="posix.system|os.system|not allowed"):
        _SafeUnpickler.load(io.BytesIO(blob))
    assert not marker.exists()
    plain = [{"atom_type": torch.arange(3), "num_atom": 3}]
    got = _SafeUnpickler.load(io.BytesIO(pickle.dumps(plain)))
    assert torch.equal(got[0]["atom_type"], plain[0]["atom_type"])


def test_hand_replaced_raw_file_is_refused(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "train.pt").write_bytes(b"original")
    import hashlib

    record = {"train.pt": {"bytes": 8, "sha256": hashlib.sha256(b"original").hexdigest()}}
    verify_raw_files(raw, record)
    (raw / "train.pt").write_bytes(b"replaced")
    with pytest.raises(StoreError, match="sha256 differs"):
        verify_raw_files(raw, record)


def test_no_unsafe_load_in_the_sources(repo):
    call = re.compile(r"weights_only\s*=\s*False\s*[,)]")  # a call, not the docstrings that explain why not
    assert [str(p) for p in (repo / "src").rglob("*.py") if call.search(p.read_text())] == []


def test_benchmark_processing_loads_safely(tmp_path):
    """Inside processing, PyG's loader has no unsafe fallback and its modules' pickle is the safe one."""
    import torch_geometric.datasets.zinc as zinc
    from torch_geometric.io import fs

    from gapbench.graphs.benchmarks import safe_pyg_loads

    marker = tmp_path / "pwned"
    crafted = tmp_path / "raw.pt"
    torch.save({"x": torch.zeros(2), "evil": Payload(marker)}, crafted)
    with safe_pyg_loads():
        with pytest.raises(StoreError, match="refused"):
            fs.torch_load(str(crafted))
        with pytest.raises(pickle.UnpicklingError):
            zinc.pickle.load(io.BytesIO(pickle.dumps(Payload(marker))))
    assert zinc.pickle is pickle and not marker.exists()
