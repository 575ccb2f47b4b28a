"""What a training checkpoint must agree on to be resumed, and what a finished run rewrites.

A run resumes from its checkpoint only when the checkpoint's *signature* (:func:`signature`) equals the current
one; otherwise it starts afresh (``gapbench.train.loop.resumable_checkpoint``). The signature holds

* the settings that change the result (model, seed, architecture, optimisation; not ``device``,
  ``threads`` or ``checkpoint_every``),
* :func:`code_version` - a sha256 of the source of the modules that define the model and its training loop
  (:data:`PDE_CODE`, :data:`GRAPH_CODE`; both hold the shared loop, :data:`LOOP_CODE`): any edit to them makes
  the next run of that job retrain,
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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Modules whose source defines a trained PDE surrogate or graph model (and its training loop and seeds).
LOOP_CODE = ("gapbench.train.loop", "gapbench.train.common")
PDE_CODE = ("gapbench.models.ffno", "gapbench.models.memno", "gapbench.models.memory",
            "gapbench.models.pde_registry", "gapbench.train.pde", "gapbench.train.pde_eval", *LOOP_CODE)
GRAPH_CODE = ("gapbench.models.gnn", "gapbench.models.gnn_controls", "gapbench.models.ops", "gapbench.graphs.structure", "gapbench.train.graph",
              "gapbench.train.graph_tasks", "gapbench.train.graph_batches", *LOOP_CODE)


@functools.lru_cache(maxsize=None)
def code_version(modules: tuple[str, ...]) -> str:
    """sha256 (16 hex digits) of the source files of ``modules``, in order."""
    h = hashlib.sha256()
    for name in modules:
        origin = importlib.util.find_spec(name).origin
        h.update(name.encode() + b"\0" + Path(origin).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def signature(settings: Mapping[str, Any], code: tuple[str, ...], data: Mapping[str, Any]) -> dict:
    """What a checkpoint must agree on to be resumed: ``settings`` plus ``code`` (:func:`code_version` of those
    modules) and ``data`` (:func:`data_identity` of that description)."""
    return {**settings, "code": code_version(code), "data": data_identity(data)}


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
