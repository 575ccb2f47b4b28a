"""Downloads: a known checksum is enforced when the table has one; a byte progress bar unless turned off."""

from __future__ import annotations

import hashlib

import pytest

from gapbench.graphs.download import KNOWN_SHA256, fetch


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "remote.bin"
    src.write_bytes(b"gapbench" * 5000)
    return src.as_uri(), hashlib.sha256(src.read_bytes()).hexdigest()


def test_a_listed_checksum_must_match(tmp_path, source):
    url, digest = source
    dest = tmp_path / "got.bin"
    with pytest.raises(OSError, match=f"checksum mismatch: sha256 {digest}, expected 00ab"):
        fetch(url, dest, retries=2, backoff=0, known={url: "00ab"})
    assert not dest.exists() and not list(tmp_path.glob("*.part"))
    fetch(url, dest, retries=1, backoff=0, known={url: digest})
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == digest
    fetch(url, tmp_path / "unlisted.bin", retries=1, backoff=0, known={})  # no entry: size checks only
    assert KNOWN_SHA256 == {}  # nothing could be fetched where this was written; entries are checked when added


@pytest.mark.parametrize("setting, shown", [("1", True), ("0", False)])
def test_progress_bar_unless_turned_off(tmp_path, source, monkeypatch, capsys, setting, shown):
    monkeypatch.setenv("GAPBENCH_PROGRESS", setting)
    fetch(source[0], tmp_path / "got.bin", retries=1, backoff=0)
    assert ("got.bin" in capsys.readouterr().err) is shown
