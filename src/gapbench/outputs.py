"""Where and how the package writes: never over something it did not make, never through a link.

Every file the package writes goes through :func:`atomic_write` (or :func:`atomic_write_bytes`), every
directory output (a Zarr store, a graph dataset) through :func:`staging_dir` + :func:`replace_dir`. Temporary
names come from ``tempfile.mkstemp``/``mkdtemp`` in the target's directory (created exclusively, ``O_EXCL``:
never a name someone could have planted a link at), and the final ``rename`` replaces a link found at the
target *itself*, never the file it points to. So a symbolic link planted at an output or temporary name (a
shared project folder, an unpacked results archive) is replaced, and the file it pointed to is unchanged.

Before a directory output is replaced, :func:`check_replaceable` refuses an existing path that is not an
output of the same kind (a user's folder, ``.``, ``~``), and replaces one of the same kind only with
``--force``. Snakemake removes a job's outputs before running it, so the pipeline never needs ``--force``.
Outputs are recognised by the marker their writer puts in them (:data:`GRAPH_DATASET_FORMAT` in a dataset's
``meta.json``, the ``kind`` and ``equation`` attributes of a store), so this module imports no dataset module.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from gapbench.errors import StoreError

KINDS = {"pde-store": "gapbench PDE store (.zarr)", "graph-dataset": "gapbench graph dataset"}
# The ``format`` a graph dataset's writer puts in its ``meta.json`` (gapbench.graphs.data).
GRAPH_DATASET_FORMAT = "gapbench-graphs/1"
GRAPH_DATASET_CARD = "meta.json"


def _is_pde_store(path: Path) -> bool:
    try:
        attrs = json.loads((path / "zarr.json").read_text()).get("attributes", {})
    except (OSError, ValueError, AttributeError):
        return False
    return (isinstance(attrs, dict) and attrs.get("kind") in ("simulation", "observation", "prediction")
            and "equation" in attrs)


def _is_graph_dataset(path: Path) -> bool:
    try:
        meta = json.loads((path / GRAPH_DATASET_CARD).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("format") == GRAPH_DATASET_FORMAT


def is_output(path: Path | str, kind: str) -> bool:
    """Is ``path`` a directory holding an output of ``kind`` (``pde-store`` | ``graph-dataset``)?"""
    path = Path(path)
    if path.is_symlink() or not path.is_dir():
        return False
    return _is_pde_store(path) if kind == "pde-store" else _is_graph_dataset(path)


def check_replaceable(path: Path | str, kind: str, force: bool = False) -> None:
    """Raise :class:`StoreError` unless writing a ``kind`` output at ``path`` can only replace a ``kind`` output.

    Absent path: fine. Existing output of the same kind: fine with ``force``, else refused. Anything else
    (a file, a link, a folder of other things): refused, with or without ``force``.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return
    what = KINDS[kind]
    if is_output(path, kind):
        if not force:
            raise StoreError(f"--out {path}: a {what} is already there; add --force to replace it")
        return
    raise StoreError(f"--out {path}: exists and is not a {what}; refusing to replace it (choose a path that "
                     "does not exist)")


def _umask() -> int:
    """The process umask (read from /proc where possible: setting it to read it is not thread-safe)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def as_created(fd_or_path: int | str | Path) -> None:
    """Give a ``tempfile.mkstemp`` file (mode 0600) the mode ``open()`` would have given it: 0666 minus the umask
    (0644 usually), so tables, figures, metrics and checkpoints read like every other output."""
    mode = 0o666 & ~_umask()
    if isinstance(fd_or_path, int):
        os.fchmod(fd_or_path, mode)
    else:
        os.chmod(fd_or_path, mode)


def atomic_write(path: Path | str, write: Callable[[str], None]) -> None:
    """Create or replace the file ``path`` atomically: ``write(tmp)`` fills a temporary file next to it (any
    writer that takes a path: bytes, a figure, an HDF5 file), which then gets the mode ``open()`` would give
    (:func:`as_created`), is fsynced and renamed over ``path``. On any error (also SIGTERM turned into an
    exception) the temporary file is removed and ``path`` is untouched, so a reader never sees a half-written file.

    The temporary file is made by ``mkstemp`` (exclusive create); a symbolic link at ``path`` is replaced by the
    new file, its target left unchanged; a directory at ``path`` is refused.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():
        raise StoreError(f"{path}: is a directory; refusing to replace it with a file")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        if os.path.islink(tmp) or not os.path.isfile(tmp):  # the writer replaced our file by something else
            raise StoreError(f"{path}: its temporary file {tmp} was replaced by a link or a directory")
        as_created(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def staging_dir(path: Path | str) -> Path:
    """A new, empty, private directory next to ``path`` (``mkdtemp``) in which a directory output is built;
    :func:`replace_dir` moves ``staging/new`` into place; the caller removes the staging directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))


def replace_dir(staging: Path, path: Path | str, kind: str) -> None:
    """Move the finished ``staging/new`` to ``path``: an existing ``kind`` output (or a link) at ``path`` is first
    moved into ``staging`` (``staging/old``, removed with it), anything else is refused (:func:`is_output`)."""
    path = Path(path)
    if path.is_symlink():
        path.unlink()  # the link itself, never what it points to
    elif path.exists():
        if not is_output(path, kind):
            raise StoreError(f"{path}: exists and is not a {KINDS[kind]}; refusing to replace it")
        os.rename(path, staging / "old")
    os.rename(staging / "new", path)


@contextlib.contextmanager
def sigterm_as_exit(status: int = 143):
    """Within the block, SIGTERM raises ``SystemExit(status)`` instead of killing the process outright, so the
    ``except BaseException`` cleanups (:func:`atomic_write`'s temporary file, a staging directory) run; the
    previous handler is restored after. (Main thread only, where Python delivers signals.)"""
    import signal

    def stop(signum, frame):
        raise SystemExit(status)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """:func:`atomic_write` of ``data``."""
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def versions(*packages: str) -> dict[str, str]:
    """Versions of ``packages`` recorded in an output (a store's attributes, a dataset card): gapbench's own
    version, the others' from their installed metadata (``unknown`` when not installed; nothing is imported)."""
    from importlib.metadata import PackageNotFoundError, version

    from gapbench import __version__

    out = {}
    for name in packages:
        try:
            out[name] = __version__ if name == "gapbench" else version(name)
        except PackageNotFoundError:
            out[name] = "unknown"
    return out
