"""Where a command may write its ``--out``: never over something it did not make.

A store or dataset is written next to its target and renamed into place, replacing what was there. Before
that, :func:`check_replaceable` refuses an existing path that is not an output of the same kind (a user's
folder, ``.``, ``~``), and replaces one of the same kind only with ``--force``. Snakemake removes a job's
outputs before running it, so the pipeline never needs ``--force``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from gapbench.errors import StoreError

KINDS = {"pde-store": "gapbench PDE store (.zarr)", "graph-dataset": "gapbench graph dataset"}


def _is_pde_store(path: Path) -> bool:
    try:
        attrs = json.loads((path / "zarr.json").read_text()).get("attributes", {})
    except (OSError, ValueError, AttributeError):
        return False
    return (isinstance(attrs, dict) and attrs.get("kind") in ("simulation", "observation", "prediction")
            and "equation" in attrs)


def _is_graph_dataset(path: Path) -> bool:
    from gapbench.graphs.data import FORMAT, META

    try:
        meta = json.loads((path / META).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT


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
