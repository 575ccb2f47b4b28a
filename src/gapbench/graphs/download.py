"""Download the raw files of a benchmark into ``resources/graphs/{name}/`` safely (``gapbench graphs download``).

The URLs are PyG's own (read from the installed ``torch_geometric.datasets`` classes), and the raw layout is the
one those classes expect, so PyG processes the files offline afterwards. Safety rules:

* every file is streamed to ``*.part`` and renamed only when complete (Content-Length matched when the server
  sends it; archives pass ``zipfile.testzip``); archives are unpacked into a staging directory, and the raw
  directory appears (one rename) only when every file of the dataset is in place: nothing half-downloaded is
  ever used;
* each URL is tried ``retries`` times with exponential back-off; the final error names the URL and says how to
  place the files by hand (files already in the raw directory are used as they are, without network);
* a download whose URL has a checksum in :data:`KNOWN_SHA256` must match it, else it is discarded like a broken
  one (the try fails); URLs without an entry are accepted on size and archive checks alone. The table is empty:
  the files could not be fetched where this code was written, so no checksum was measured. Fill an entry with
  the sha256 of a trusted download (``download.json`` records it) and every later download is checked;
* a progress bar (tqdm on stderr, bytes) per file, off with ``--no-progress`` / ``GAPBENCH_PROGRESS=0``;
* after PyG has processed the files and the split sizes match the published ones, ``download.json`` is
  written last (sha256 and size of every raw file): the Snakemake rule's output, so only a checked download
  ever counts as done.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gapbench.errors import StoreError
from gapbench.graphs.benchmarks import MARKER, benchmark, dataset, process, verify_raw_files
from gapbench.outputs import atomic_write_bytes

# sha256 of each URL's file as downloaded (the zip for archives). Empty: see the module docstring.
KNOWN_SHA256: dict[str, str] = {}


@dataclass(frozen=True)
class Fetch:
    """One URL: a zip whose folder ``member`` (``""`` = the archive's top level) becomes the raw directory,
    or a plain file saved as ``target`` inside the raw directory."""

    url: str
    member: str | None = None  # zip archives: folder inside the archive holding the raw files
    target: str | None = None  # plain files: name inside the raw directory


def sources(name: str) -> tuple[list[Fetch], list[str]]:
    """The fetches of benchmark ``name`` and the raw files PyG needs afterwards (relative to the raw dir)."""
    from torch_geometric import datasets as pyg

    if name == "zinc":
        fetches = [Fetch(pyg.ZINC.url, member="molecules")]
        fetches += [Fetch(pyg.ZINC.split_url.format(s), target=f"{s}.index") for s in ("train", "val", "test")]
        return fetches, [f"{s}.{ext}" for ext in ("pickle", "index") for s in ("train", "val", "test")]
    if name in ("mnist", "cifar10"):
        upper = name.upper()
        return [Fetch(pyg.GNNBenchmarkDataset.urls[upper], member="")], [f"{upper}_v2.pt"]
    if name in ("peptides_func", "peptides_struct"):
        pyg_name = name.replace("_", "-")
        return ([Fetch(pyg.LRGBDataset.urls[pyg_name], member=pyg.LRGBDataset.dwnld_file_name[pyg_name])],
                ["train.pt", "val.pt", "test.pt"])
    benchmark(name)  # raises for an unknown name
    raise AssertionError(name)


def _manual_hint(name: str, fetches: list[Fetch], raw_dir: Path, raw_files: list[str]) -> str:
    steps = []
    for f in fetches:
        if f.target:
            steps.append(f"save {f.url} as {raw_dir / f.target}")
        else:
            inside = f"the folder {f.member!r} of the archive" if f.member else "the archive's contents"
            steps.append(f"download {f.url} and unzip {inside} into {raw_dir}")
    return (f"To place the files by hand: {'; '.join(steps)}, so that {raw_dir} holds {', '.join(raw_files)}; "
            f"then rerun `gapbench graphs download {name}` (files already in place are used without network).")


def fetch(url: str, dest: Path, retries: int = 3, backoff: float = 2.0, archive: bool = False,
          opener: Callable = urllib.request.urlopen, timeout: float = 60.0,
          known: dict[str, str] | None = None) -> None:
    """Stream ``url`` to ``dest`` via a new temporary ``.{dest}.*.part`` next to it (``mkstemp``); retry with
    back-off ``backoff * 2^k`` seconds.

    ``archive``: the file must be a valid zip (``zipfile.testzip``), else the try counts as failed.
    ``known``: url -> sha256 (default :data:`KNOWN_SHA256`); a listed URL's file must have that checksum.

    Raises OSError (the last failure) after ``retries`` failed tries; never leaves ``dest`` incomplete.
    """
    from gapbench.train.common import progress

    want = (KNOWN_SHA256 if known is None else known).get(url)
    last: Exception | None = None
    for attempt in range(retries):
        fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")  # never a planted link
        os.close(fd)
        part = Path(name)
        try:
            with opener(url, timeout=timeout) as response, open(part, "wb") as fh:
                expected = response.headers.get("Content-Length") if hasattr(response, "headers") else None
                got = 0
                with progress(total=int(expected) if expected else None, desc=dest.name, unit="B",
                              unit_scale=True, unit_divisor=1024) as bar:
                    while chunk := response.read(1 << 20):
                        fh.write(chunk)
                        got += len(chunk)
                        bar.update(len(chunk))
            if expected is not None and int(expected) != got:
                raise OSError(f"incomplete: {got} of {expected} bytes")
            if want is not None and _sha256(part) != want:
                raise OSError(f"checksum mismatch: sha256 {_sha256(part)}, expected {want}")
            if archive:
                with zipfile.ZipFile(part) as zf:
                    bad = zf.testzip()
                if bad is not None:
                    raise OSError(f"corrupt archive member {bad}")
            os.replace(part, dest)
            return
        except (OSError, http.client.HTTPException, zipfile.BadZipFile, ValueError) as err:  # URLError is an OSError
            last = err
            part.unlink(missing_ok=True)
            if attempt + 1 < retries:
                time.sleep(backoff * 2**attempt)
    raise OSError(f"{type(last).__name__}: {last}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def download(name: str, root: Path | str, retries: int = 3, backoff: float = 2.0,
             fetches: list[Fetch] | None = None, check_sizes: bool = True,
             opener: Callable = urllib.request.urlopen) -> Path:
    """Make ``root/{name}`` a checked, processed benchmark; return the path of its ``download.json``.

    ``fetches`` overrides PyG's URLs (tests use ``file://`` fixtures); ``check_sizes`` compares split sizes
    with the published ones (off only for fixtures).
    """
    bench = benchmark(name)
    default_fetches, raw_files = sources(name)
    fetches = fetches if fetches is not None else default_fetches
    droot = Path(root) / name
    raw_dir = droot / bench.raw_subdir
    marker = droot / MARKER
    if marker.is_file():  # done before: the raw files must still be the ones it recorded
        verify_raw_files(raw_dir, json.loads(marker.read_text()).get("raw_files", {}))
        return marker
    droot.mkdir(parents=True, exist_ok=True)
    present = [f for f in raw_files if (raw_dir / f).is_file()]
    if present and len(present) < len(raw_files):
        missing = sorted(set(raw_files) - set(present))
        raise StoreError(f"{name}: {raw_dir} is incomplete (missing {', '.join(missing)}): complete it by hand "
                         f"or delete it to download again. " + _manual_hint(name, fetches, raw_dir, raw_files))
    if not present:
        _fetch_raw(name, droot, raw_dir, fetches, raw_files, retries, backoff, opener)
    processed_root = droot / Path(bench.processed["train"]).parent
    shutil.rmtree(processed_root, ignore_errors=True)  # never trust processed files without a marker
    try:
        sizes = process(name, droot, check_sizes)
    except StoreError as err:
        shutil.rmtree(processed_root, ignore_errors=True)
        raise StoreError(f"{err}. Delete {raw_dir} and rerun to download again. "
                         + _manual_hint(name, fetches, raw_dir, raw_files)) from None
    record = {
        "name": name, "urls": [f.url for f in fetches], "sizes": sizes, "checked_sizes": check_sizes,
        "raw_files": {f: {"bytes": (raw_dir / f).stat().st_size, "sha256": _sha256(raw_dir / f)} for f in raw_files},
    }
    atomic_write_bytes(marker, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())
    return marker


def _fetch_raw(name, droot: Path, raw_dir: Path, fetches, raw_files, retries, backoff, opener) -> None:
    droot.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=droot, prefix=".staging-"))
    staged_raw = staging / "raw"
    try:
        staged_raw.mkdir(parents=True)
        for f in [f for f in fetches if f.member is not None] + [f for f in fetches if f.member is None]:
            try:
                if f.member is None:
                    fetch(f.url, staged_raw / f.target, retries, backoff, opener=opener)
                    continue
                archive = staging / "archive.zip"
                fetch(f.url, archive, retries, backoff, archive=True, opener=opener)
                unpacked = staging / "unpacked"
                with zipfile.ZipFile(archive) as zf:
                    zf.extractall(unpacked)
                archive.unlink()
                source = unpacked / f.member if f.member else unpacked
                for item in source.iterdir():
                    os.replace(item, staged_raw / item.name)
                shutil.rmtree(unpacked)
            except OSError as err:
                raise StoreError(f"{name}: download of {f.url} failed after {retries} tries ({err}). "
                                 + _manual_hint(name, fetches, raw_dir, raw_files)) from None
        missing = [r for r in raw_files if not (staged_raw / r).is_file()]
        if missing:
            raise StoreError(f"{name}: the downloaded files lack {', '.join(missing)}. "
                             + _manual_hint(name, fetches, raw_dir, raw_files))
        raw_dir.parent.mkdir(parents=True, exist_ok=True)
        if raw_dir.exists():  # no raw file was present (refused above); anything else there is not ours
            if any(raw_dir.iterdir()):
                raise StoreError(f"{raw_dir} holds files that are not {name}'s raw files; move them away and rerun")
            raw_dir.rmdir()
        os.replace(staged_raw, raw_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def make_dataset(name: str, root: Path | str, out: Path | str) -> str:
    """Copy the processed benchmark under ``root`` (after :func:`download`) into the dataset directory ``out``
    (``gapbench graphs make benchmark``); the check's summary line."""
    from gapbench.graphs.data import write_dataset

    return write_dataset(out, *dataset(name, Path(root)))
