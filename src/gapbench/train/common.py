"""Pieces every trainer shares (PDE and graph): device, seeds, checkpoints, SIGTERM, output files, progress.

A trainer built on these helpers has the behaviour the pipeline relies on (docs/tables.md,
"Inputs: the training paths"):

* :func:`select_device` - CUDA when available, else CPU (``--device`` overrides).
* :func:`seed_everything` and :func:`derived_seed` - one root seed; every random stream used *during*
  training (batch order, input noise) is derived statelessly from ``(seed, epoch, step, ...)``, so a run
  resumed from a checkpoint draws exactly what an uninterrupted run draws, with no RNG state to store.
* :func:`save_checkpoint` / :func:`load_checkpoint` - atomic ``torch.save`` (temporary file, fsync,
  ``os.replace``); loading uses ``torch.load(weights_only=True)``, so a checkpoint may hold only tensors and
  plain Python values (dict, list, tuple, str, int, float, bool, None).
* :class:`SigtermGuard` - turns SIGTERM (Snakemake/SLURM cancelling a job) into a flag; the loop calls
  :meth:`SigtermGuard.check` at step boundaries, which saves a checkpoint and exits with status 143.
* :func:`write_csv_atomic`, :func:`write_json_atomic` - outputs appear complete or not at all.
* :func:`progress` - a tqdm bar on stderr (disabled with ``GAPBENCH_PROGRESS=0`` or ``enabled=False``).
* :func:`maybe_inject_failure` - ``--inject-failure``: raise ``RuntimeError("injected failure")`` after set-up.
* :func:`add_common_arguments` - the flags above, added identically to every ``gapbench train ...`` parser.

torch and numpy are imported inside the functions, so CLI modules may import this one at start-up.

The epoch loop built on them, with resume, curves, best epoch and patience, is :mod:`gapbench.train.loop`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import random
import signal
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gapbench import argtypes
from gapbench.argtypes import DEVICE
from gapbench.errors import ConfigError, GapbenchError
from gapbench.outputs import atomic_write_bytes

if TYPE_CHECKING:  # torch/numpy are imported inside the functions: CLI start-up stays light
    import torch

# Exit status of a process ended by SIGTERM (128 + 15): Snakemake and SLURM read it as "killed".
SIGTERM_EXIT = 143


# --------------------------------------------------------------------------------------------- device, seeds
def select_device(name: str = "auto") -> torch.device:
    """``"auto"``: CUDA if available, else CPU; ``"cpu"``/``"cuda"``/``"cuda:1"``: that device. On CUDA it
    enables TF32 for float32 matmuls and convolutions (CPU results are unchanged).

    Raises ``ConfigError`` when CUDA is requested but absent (a clear message instead of a CUDA traceback).
    """
    import torch

    if not DEVICE.fullmatch(str(name)):
        raise ConfigError(f"device {name!r} is not allowed; allowed: auto, cpu, cuda, cuda:N")
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: CUDA is not available on this machine (use auto or cpu)")
    if device.type == "cuda":  # TF32 tensor cores for float32 matmuls and convolutions (10-bit mantissa products)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return device


def to_device(tensor: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """``tensor`` (on the host) on ``device``; to CUDA through pinned memory and an asynchronous copy (a copy
    from pageable memory waits for the device's queue to drain: a host synchronisation per step)."""
    import torch

    if torch.device(device).type != "cuda":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices); make CPU kernels deterministic.

    With the same seed, model initialisation is identical; on CPU the whole run is bitwise reproducible.
    (On CUDA some kernels, e.g. scatter-add in PyG, stay non-deterministic; we do not force them.)
    """
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def derived_seed(*parts: Any) -> int:
    """A 63-bit seed from any tuple of plain values, e.g. ``derived_seed(seed, "batches", epoch)``.

    Stable across processes and Python versions (sha256 of the repr), unlike ``hash()``.
    """
    digest = hashlib.sha256(repr(tuple(parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def generator(*parts: Any, device: torch.device | str = "cpu") -> torch.Generator:
    """A fresh ``torch.Generator`` seeded with :func:`derived_seed` of ``parts`` (stateless derivation)."""
    import torch

    gen = torch.Generator(device=device)
    gen.manual_seed(derived_seed(*parts))
    return gen


# --------------------------------------------------------------------------------------------- atomic files
def write_json_atomic(path: Path | str, obj: Any) -> None:
    """Write ``obj`` as indented JSON (NaN/inf written as null) atomically."""
    import numpy as np

    def clean(x):
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, Mapping):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        if isinstance(x, (np.floating, np.integer, np.bool_)):
            return clean(x.item())
        return x

    text = json.dumps(clean(obj), indent=2, sort_keys=False) + "\n"
    atomic_write_bytes(path, text.encode())


def write_csv_atomic(path: Path | str, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """Write rows (mappings with at least ``columns``) as CSV with a header, atomically.

    Floats are written with ``repr`` precision so that files from a resumed run compare equal.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row[c] for c in columns])
    data = buf.getvalue().encode()
    atomic_write_bytes(path, data)


class CurveLog:
    """Per-epoch training curves kept in memory, stored inside checkpoints, appended to a CSV after each epoch.

    The rows are plain dicts of numbers, so they survive ``torch.load(weights_only=True)``; after a resume
    the log continues from the checkpoint's rows (rows of epochs that were not checkpointed are dropped).

    Writing is append-only: the first write of a process rewrites the whole file from :attr:`rows` (atomically:
    that drops rows a killed run wrote after its last checkpoint, and a torn last line), every later row is one
    appended line. The bytes written per epoch are therefore one row, whatever the number of epochs so far.
    """

    def __init__(self, path: Path | str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]] = ()):
        self.path = Path(path)
        self.columns = list(columns)
        self.rows: list[dict[str, Any]] = [dict(r) for r in rows]
        self._synced = False  # the file holds exactly ``rows`` (set by the first full write)

    def append(self, **row: Any) -> None:
        missing = set(self.columns) - set(row)
        if missing:
            raise ValueError(f"curve row lacks columns {sorted(missing)}")
        self.rows.append(row)
        if not self._synced:
            self.write()
            return
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([row[c] for c in self.columns])
        with open(self.path, "a") as fh:
            fh.write(buf.getvalue())

    def state(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.rows]

    def write(self) -> None:
        """Write every row (a finished run resumed only to rewrite its outputs appends none)."""
        write_csv_atomic(self.path, self.columns, self.rows)
        self._synced = True


# --------------------------------------------------------------------------------------------- checkpoints
def save_checkpoint(path: Path | str, state: Mapping[str, Any]) -> None:
    """Atomically ``torch.save`` a state dict of tensors and plain values (see :func:`load_checkpoint`)."""
    import torch

    buf = io.BytesIO()
    torch.save(dict(state), buf)
    data = buf.getvalue()
    atomic_write_bytes(path, data)


def load_checkpoint(path: Path | str, map_location: torch.device | str = "cpu") -> dict[str, Any] | None:
    """Load a checkpoint written by :func:`save_checkpoint`, or return ``None`` if there is none.

    ``weights_only=True``: unpickling is restricted to tensors and plain containers, so a checkpoint cannot
    run code. A file that exists but cannot be read raises ``GapbenchError`` naming it (delete it to restart); a
    symbolic link is ignored (None).
    """
    import torch

    path = Path(path)
    if path.is_symlink():  # never written by save_checkpoint (it replaces links): not this run's, ignore it
        print(f"gapbench: {path} is a symbolic link, not a checkpoint this run wrote; ignoring it (it is "
              "replaced, its target left unchanged)", file=sys.stderr)
        return None
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # corrupt or foreign file: say which and how to recover
        raise GapbenchError(f"cannot read checkpoint {path} ({err}); delete it to start from scratch") from err


def tensor_state(obj: Any) -> Any:
    """Deep-copy a (nested) state dict to CPU, so a checkpoint is independent of later in-place updates."""
    import torch

    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, Mapping):
        return {k: tensor_state(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [tensor_state(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(tensor_state(v) for v in obj)
    return obj


# --------------------------------------------------------------------------------------------- SIGTERM
class SigtermGuard:
    """Context manager: SIGTERM sets a flag instead of killing the process mid-step.

    The training loop calls :meth:`check` at safe points (after an optimiser step); when the flag is set it
    calls ``save()`` (write a checkpoint) and exits with status 143, so Snakemake/SLURM record a failure and a
    restarted job resumes from that checkpoint. A second SIGTERM while saving is ignored; SIGINT is untouched.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def _handler(self, signum, frame) -> None:
        self.requested = True

    def __enter__(self) -> "SigtermGuard":
        # Signal handlers can only be installed from the main thread; elsewhere the guard is inert.
        try:
            self._previous = signal.signal(signal.SIGTERM, self._handler)
        except ValueError:
            self._previous = None
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)

    def check(self, save: Callable[[], None]) -> None:
        """If SIGTERM arrived: ``save()``, print a note, ``sys.exit(143)``."""
        if self.requested:
            save()
            print("gapbench: SIGTERM received - checkpoint saved, exiting (status 143)", file=sys.stderr)
            sys.exit(SIGTERM_EXIT)


# --------------------------------------------------------------------------------------------- one writer
def lock_output_dir(out: Path):
    """Hold an exclusive lock on ``out/.lock`` while this process trains into ``out``; keep the returned handle.

    A second trainer on the same folder (a job left running after Snakemake itself was killed, then the same
    command again) stops with a GapbenchError instead of interleaving checkpoints. The lock ends with the
    process (also on SIGKILL), so a stale lock file never blocks a later run.
    """
    import fcntl

    handle = open(Path(out) / ".lock", "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise GapbenchError(f"{out}: another trainer is writing here (still running after Snakemake was stopped?); "
                            "stop it first (README, 'Re-running parts')") from None
    return handle


# --------------------------------------------------------------------------------------------- misc
def maybe_inject_failure(enabled: bool) -> None:
    """``--inject-failure``: fail on purpose after set-up (tests of --keep-going and missing table cells)."""
    if enabled:
        raise RuntimeError("injected failure")


def progress(iterable: Iterable | None = None, *, total: int | None = None, desc: str = "",
             enabled: bool = True, **kwargs):
    """A tqdm progress bar on stderr; ``GAPBENCH_PROGRESS=0`` (or ``enabled=False``) turns it off.

    Snakemake logs capture stderr, so the bar also serves as the per-epoch log (use ``bar.set_postfix``).
    """
    from tqdm.auto import tqdm

    on = enabled and os.environ.get("GAPBENCH_PROGRESS", "1") != "0"
    return tqdm(iterable, total=total, desc=desc, disable=not on, file=sys.stderr, dynamic_ncols=True,
                mininterval=1.0, **kwargs)


class Stopwatch:
    """Accumulated wall time that survives resumes: ``elapsed`` = time stored in the checkpoint + this run's.

    On CUDA call ``torch.cuda.synchronize()`` before reading it if you time kernels.
    """

    def __init__(self, offset: float = 0.0):
        self.offset = float(offset)
        self.start = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return self.offset + time.perf_counter() - self.start


def count_parameters(model: torch.nn.Module) -> int:
    """Number of trainable scalars (a complex weight counts as two)."""
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters() if p.requires_grad)


def pde_run_summary(m: Mapping[str, Any], out: Path | str) -> str:
    """The last line of a PDE run's log, from its metrics ``m``: model, seed, data cell and horizon, then the
    scores (or how many test trajectories diverged) and where the metrics were written."""
    scores = (f"{m['n_diverged']} of {m['n_test']} trajectories diverged" if m.get("n_diverged") else
              f"nRMSE {m['nrmse']:.4f}, final {m['nrmse_final']:.4f}, valid time {m['valid_time']:.3g}")
    return (f"{m['model']} seed {m['seed']} on {m['equation']} nu={m['nu']} {m['method']}-r{m['resolution']}"
            f"-s{m['sigma']} over {m['horizon']} steps: {scores} ({m['n_params']} parameters, "
            f"{m['inference_time_per_trajectory_s']:.3g} s per test trajectory) -> {Path(out) / 'metrics.json'}")


def add_common_arguments(parser, runs: bool = False) -> None:
    """Flags every ``gapbench train ...`` subcommand accepts; with ``runs`` (a subcommand that trains several runs
    one after the other in one process) ``--out`` and ``--seed`` take several values."""
    if runs:
        parser.add_argument("--out", required=True, nargs="+",
                            help="output directory of each --data, a template with {seed} (and the subcommand's "
                                 "own placeholders); a rerun resumes each run there")
        parser.add_argument("--seed", type=argtypes.seed, nargs="+", default=[0],
                            help="training seeds (model init, batch order, noise), each a run of its own")
    else:
        parser.add_argument("--out", required=True, type=Path,
                            help="output directory (metrics.json, curves.csv, checkpoints); a rerun resumes here")
        parser.add_argument("--seed", type=argtypes.seed, default=0,
                            help="training seed (model init, batch order, noise)")
    parser.add_argument("--device", type=argtypes.device, default="auto",
                        help="auto (CUDA if available, else CPU), cpu, cuda, cuda:N")
    parser.add_argument("--checkpoint-every", type=argtypes.positive_int, default=200, metavar="STEPS",
                        help="save a checkpoint every STEPS optimiser steps of an epoch")
    parser.add_argument("--checkpoint-interval", type=argtypes.non_negative_float, default=60.0, metavar="SECONDS",
                        help="at the end of an epoch, save a checkpoint when SECONDS have passed since the last "
                             "(0: every epoch); the end of the run and SIGTERM always save")
    parser.add_argument("--threads", type=argtypes.number(int, 0, 1024), default=0,
                        help="torch CPU threads (0: leave torch's default)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--inject-failure", action="store_true",
                        help="raise RuntimeError('injected failure') after set-up (failure-handling tests)")
