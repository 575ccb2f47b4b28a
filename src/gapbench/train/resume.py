"""What a training checkpoint must agree on to be resumed, and what a finished run rewrites.

A run resumes from its checkpoint only when the checkpoint's *signature* (:func:`signature`) equals the current
one; otherwise it starts afresh (``gapbench.train.loop.resumable_checkpoint``). The signature holds

* the settings that change the result (model, seed, architecture, optimisation; not ``device``,
  ``threads`` or ``checkpoint_every``),
* :func:`code_version` - a sha256 of the source of the whole ``gapbench`` package (every ``.py`` file under
  it, by relative name) and of every file of each plugin's top-level package (the model's own plugin and every
  module in ``GAPBENCH_PLUGINS``): any edit to the package or a plugin, also to a helper module a registering
  module imports, makes the next run of the job retrain (never resume) and says so,
* :func:`data_identity` - a sha256 of the dataset's own description (store attributes, dataset card) and of
  its content (:func:`content_digest`), never its path: moving or copying the project keeps checkpoints
  valid; regenerated or other data (a solver fix, another seed) retrains.

A finished run asked again for its outputs (``snakemake -R``/``-f``, a deleted output, a changed parameter
outside the signature) loads the finished checkpoint, trains nothing and rewrites every output file from it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parents[1]  # src/gapbench


def _package_files(top: str) -> tuple[Path, list[Path]]:
    """(root, files) of top-level package or module ``top``: every file of a package (not ``__pycache__``),
    the file of a single module."""
    if top == "gapbench":
        return PACKAGE, sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
    spec = importlib.util.find_spec(top)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"plugin {top!r} is not importable: cannot hash its code")
    if spec.submodule_search_locations:  # a package: every file under it
        root = Path(next(iter(spec.submodule_search_locations)))
        return root, sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                            and p.suffix not in (".pyc", ".pyo"))
    return Path(spec.origin).parent, [Path(spec.origin)]


def plugin_packages(plugins: Iterable[str] = ()) -> tuple[str, ...]:
    """Top-level names of ``plugins`` and of every module in ``GAPBENCH_PLUGINS``, sorted, gapbench left out."""
    from gapbench.registry import PLUGINS_ENV

    names = [*plugins, *re.split(r"[,;:\s]+", os.environ.get(PLUGINS_ENV, ""))]
    return tuple(sorted({n.split(".")[0] for n in names if n} - {"gapbench"}))


@functools.lru_cache(maxsize=None)
def _code_version(tops: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for top in ("gapbench", *tops):
        root, files = _package_files(top)
        for file in files:
            h.update(f"{top}/{file.relative_to(root).as_posix()}".encode() + b"\0" + file.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def code_version(plugins: Iterable[str] = ()) -> str:
    """sha256 (16 hex digits) of the gapbench package source and of every file of the top-level package of each
    of ``plugins`` (module names) and of the ``GAPBENCH_PLUGINS`` modules (:func:`plugin_packages`)."""
    return _code_version(plugin_packages(plugins))


@functools.lru_cache(maxsize=1)
def git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git checkout the package lives in; (None, None) when it is not in one, or git is
    missing. ``dirty``: a tracked file differs from the commit, or an untracked, not ignored file exists."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "--no-optional-locks", "-C", str(PACKAGE), *args], capture_output=True,
                              text=True, timeout=30, check=True).stdout.strip()

    try:
        git("ls-files", "--error-unmatch", "__init__.py")  # the package is tracked by this checkout
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--", str(PACKAGE.parents[1])))
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, dirty


def provenance(plugins: Iterable[str] = ()) -> dict:
    """What a run's ``metrics.json`` records of the code that produced it: ``code_version``
    (:func:`code_version`), ``git_commit`` and ``dirty`` (:func:`git_state`; null outside a git checkout)."""
    commit, dirty = git_state()
    return {"code_version": code_version(plugins), "git_commit": commit, "dirty": dirty}


def signature(settings: Mapping[str, Any], plugins: Iterable[str], data: Mapping[str, Any]) -> dict:
    """What a checkpoint must agree on to be resumed: ``settings`` plus ``code`` (:func:`code_version` with those
    plugin modules) and ``data`` (:func:`data_identity` of that description)."""
    return {**settings, "code": code_version(plugins), "data": data_identity(data)}


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items() if not str(k).endswith("version") and k != "versions"}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return obj.item()
    return obj


def data_identity(description: Mapping[str, Any]) -> str:
    """sha256 (16 hex digits) of a dataset's description, package versions left out (they do not change data)."""
    text = json.dumps(_plain(description), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def content_digest(parts) -> str:
    """sha256 (16 hex digits) of a sequence of byte strings, arrays or tensors (their raw bytes, in order), or
    of files given as paths."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            with open(part, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
        elif isinstance(part, bytes):
            h.update(part)
        else:  # numpy array or torch tensor
            array = part.numpy() if hasattr(part, "numpy") else part
            h.update(str(array.dtype).encode() + str(array.shape).encode() + array.tobytes())
    return h.hexdigest()[:16]
