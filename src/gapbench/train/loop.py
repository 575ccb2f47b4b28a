"""The resumable epoch loop both trainers run (`gapbench train pde`, each configuration of `gapbench train graph`).

A trainer supplies what is its own (:class:`Trainer`): the batches of an epoch, one optimiser step, the
validation, what it keeps of the best epoch, its curve row and its tensors. :class:`Loop` owns what must be the
same for every trainer, and guarantees:

* **Signature.** A checkpoint holds the run's *signature* (:func:`gapbench.train.resume.signature`: the settings
  that change the result, a sha256 of the model and loop sources, a sha256 of the data).
  :func:`resumable_checkpoint` returns a checkpoint only when its signature equals the current one and says on
  stderr whether it resumes or starts afresh.
* **Exact resume.** :class:`LoopState` (epochs finished, the step within the epoch and in all, this epoch's
  loss sums, the best validation value and its epoch, validations without improvement, done, training time,
  optimiser-step time) is saved with the trainer's tensors every ``checkpoint_every`` optimiser steps, at the
  end of an epoch when ``save_interval_s`` seconds have passed since the last save (0: every epoch), at the
  end of the run and on SIGTERM. A run restarted from it continues at step ``state.batch`` of epoch
  ``state.epoch``, repeating and skipping none; a trainer that derives every random draw from
  ``(seed, epoch, step)`` or restores the RNG state it saved ends with the metrics of an uninterrupted run
  (bitwise on CPU).
* **SIGTERM** (:class:`gapbench.train.common.SigtermGuard`): checked after every step and at the end of every
  epoch; it saves a checkpoint and exits with status 143.
* **Curves.** After every epoch the trainer's row is appended to ``curves.csv`` (one line; the first write of
  a process rewrites the file from the checkpoint's rows, :class:`gapbench.train.common.CurveLog`) and kept in
  the checkpoint; a finished run given again rewrites the file from it.
* **No host synchronisation per step.** The epoch's loss sum is accumulated on the loss's device (float64, the
  same additions as Python floats, so CPU results are unchanged); it is read, and checked finite, every
  ``finite_every`` steps, at checkpoints and at the end of the epoch. A non-finite loss raises
  ``GapbenchError("training diverged: ...")`` naming the steps where it appeared. A trainer of several members
  (an ensemble: ``Trainer.step`` returns one loss per member) has one sum per member; the members whose sums
  turn non-finite raise :class:`MembersDiverged`, so that the others can go on. ``state.step_time_s`` sums the
  wall time of the optimiser steps (on CUDA: the time to queue them, plus the waits at those reads).
* **Best epoch.** An epoch's validation value ``v`` that is better (``Trainer.better``) than ``state.best`` makes
  it the best (``state.best``, ``state.best_epoch`` = epochs finished then) and calls ``Trainer.keep_best``
  (write ``best.pt``, keep the weights), before that epoch's checkpoint.
* **Patience.** ``patience`` validations in a row without improvement end the run (0: never early); an epoch
  without validation (``Trainer.validate`` returns None) counts for neither.
* **Done.** ``state.done`` is set when the run stops (patience, the last epoch, or ``Trainer.validate`` setting
  it: a trainer's own stopping rule) and saved in that epoch's checkpoint; a finished run resumed trains nothing.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from gapbench.errors import GapbenchError
from gapbench.train.common import CurveLog, SigtermGuard, Stopwatch, load_checkpoint, save_checkpoint


class TrainingDiverged(GapbenchError):
    """The training loss turned non-finite (the run, or one sweep configuration, diverged) in epoch ``epoch``
    (0-based)."""

    def __init__(self, message: str, epoch: int):
        super().__init__(message)
        self.epoch = epoch


class MembersDiverged(TrainingDiverged):
    """The losses of some members of a run that trains several (``Trainer.step`` returns one loss per member)
    turned non-finite: ``members`` (their positions in the loss vector), ``where`` (epoch and steps, as in the
    message of a single run). The other members' loss sums are already in ``LoopState.loss_sum``; the caller
    removes the diverged members (from the trainer and from the sums) and may run the loop again."""

    def __init__(self, members: list[int], where: str, epoch: int):
        super().__init__(f"training diverged: members {members}: {where}", epoch)
        self.members, self.where = members, where


@dataclass
class LoopState:
    """Where a run stands; plain values only, so it survives ``torch.load(weights_only=True)``."""

    epoch: int = 0  # epochs finished
    batch: int = 0  # optimiser steps done in the current epoch
    step: int = 0  # optimiser steps done in all
    loss_sum: float | list[float] = 0.0  # sum over this epoch's steps of weight * loss (one per member: a list)
    loss_n: float = 0  # sum of the weights (1 per step, or the batch's graphs)
    best: float = math.inf  # best validation value so far (the trainer's start value when it has none)
    best_epoch: int = 0  # epochs finished when ``best`` was reached (0: none yet)
    bad_evals: int = 0  # validations since the last improvement
    done: bool = False
    elapsed_s: float = 0.0  # training wall time, summed over resumes
    step_time_s: float = 0.0  # wall time inside ``Trainer.step``, summed over resumes

    @property
    def train_loss(self) -> float | list[float]:
        """Weighted mean loss of the current epoch's steps (one per member when the trainer trains several)."""
        if isinstance(self.loss_sum, list):
            return [s / max(self.loss_n, 1) for s in self.loss_sum]
        return self.loss_sum / max(self.loss_n, 1)


class Trainer(Protocol):
    """What a trainer supplies to :class:`Loop`."""

    def batches(self, state: LoopState) -> Iterable[Any]:
        """The batches of epoch ``state.epoch`` from step ``state.batch`` on (seeding what the epoch draws)."""

    def step(self, batch: Any, state: LoopState) -> tuple[Any, float]:
        """One optimiser step (``state.step`` steps done before it): the loss (a tensor; a vector, one loss per
        member, for a trainer of several members) and its weight."""

    def validate(self, state: LoopState) -> float | None:
        """The validation value after ``state.epoch`` finished epochs, or None when this epoch has none (a
        trainer of several members keeps their best epochs itself and returns None)."""

    def better(self, value: float, best: float) -> bool:
        """Is ``value`` strictly better than ``best``?"""

    def keep_best(self, state: LoopState) -> None:
        """Keep what the run needs of its new best epoch (``state.best`` was just set)."""

    def curve_row(self, state: LoopState, train_loss, valid: float | None, elapsed: float) -> dict | list[dict]:
        """The ``curves.csv`` row of the epoch just finished (one per member: a list)."""

    def checkpoint(self) -> dict:
        """The trainer's own part of a checkpoint (model, optimiser, ...: tensors and plain values)."""


def _differing(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested dicts."""
    out = []
    for k in sorted({*old, *new}, key=str):
        a, b = old.get(k), new.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differing(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}")
    return out


def _changed(old: dict, new: dict) -> str:
    """What differs between a checkpoint's signature and the run's, in words: the model code (the sources the
    signature hashes, plugins included), the data, and/or the settings named."""
    keys = _differing(old, new)
    parts = [{"code": f"the code changed since it was written (code version {old.get('code')} -> {new.get('code')})",
              "data": "the data changed since it was written"}.get(k) for k in keys]
    settings = [k for k in keys if k not in ("code", "data")]
    words = [p for p in parts if p] + ([f"is from different settings ({', '.join(settings)})"] if settings else [])
    return " and ".join(words) or "it is from a different configuration"


def resumable_checkpoint(path: Path, signature: dict, command: str, map_location="cpu") -> dict | None:
    """The checkpoint at ``path`` when its signature is ``signature``, else None (a fresh start, said on stderr)."""
    ckpt = load_checkpoint(path, map_location=map_location)
    if ckpt is not None and ckpt.get("signature") != signature:
        print(f"gapbench train {command}: {path}: {_changed(ckpt.get('signature') or {}, signature)}; "
              "starting afresh (retraining)", file=sys.stderr)
        return None
    if ckpt is not None and "state" in ckpt:
        state = ckpt["state"]
        print(f"gapbench train {command}: resuming from {path} at epoch {state['epoch']}, step {state['step']}",
              file=sys.stderr)
    return ckpt


@dataclass
class Loop:
    """One run's epochs: where it checkpoints, what it writes, when it stops (see the module docstring)."""

    path: Path  # the checkpoint file
    signature: dict
    curves: CurveLog
    epochs: int
    checkpoint_every: int
    patience: int = 0  # 0: no early stopping
    count_in_epoch: bool = False  # checkpoint cadence counts the epoch's steps (graph sweeps), not all steps
    label: str = ""  # prefix of the per-epoch log line
    save_interval_s: float = 0.0  # epoch-end checkpoints at most this often (0: every epoch); the last always
    finite_every: int = 50  # read the loss sum (a host synchronisation) and check it finite every this many steps
    diverged_hint: str = ""  # appended to the non-finite-loss error (what to change)

    def save(self, state: LoopState, trainer: Trainer) -> None:
        save_checkpoint(self.path, {"signature": self.signature, "state": asdict(state), "curves": self.curves.state(),
                                    **trainer.checkpoint()})

    def run(self, trainer: Trainer, state: LoopState, bar, guard: SigtermGuard | None = None) -> LoopState:
        """Train from ``state`` until done; ``bar`` (``common.progress``) advances one unit per epoch.

        ``guard``: an entered :class:`SigtermGuard` spanning more than this run (a sweep: a SIGTERM between two
        configurations is acted on at the next step); without it the run installs its own.
        """
        if guard is None:
            with SigtermGuard() as own:
                return self.run(trainer, state, bar, own)
        watch = Stopwatch(state.elapsed_s)
        last_save = [time.perf_counter()]
        acc: list = [None, state.step]  # the epoch's loss sum on the loss's device; the step it was last read at

        def sync() -> None:
            """Fold the device-side loss sum into ``state.loss_sum`` (a host synchronisation); check it finite."""
            if acc[0] is not None:
                state.loss_sum = acc[0].tolist()
                where = (f"non-finite loss in epoch {state.epoch + 1}, steps {acc[1] + 1}..{state.step} of the run"
                         f"{self.diverged_hint}")
                if isinstance(state.loss_sum, list):
                    bad = [i for i, v in enumerate(state.loss_sum) if not math.isfinite(v)]
                    if bad:
                        acc[0], acc[1] = None, state.step
                        raise MembersDiverged(bad, where, state.epoch)
                elif not math.isfinite(state.loss_sum):
                    raise TrainingDiverged(f"training diverged: {self.label}{where}", state.epoch)
            acc[0], acc[1] = None, state.step

        def save() -> None:
            sync()
            state.elapsed_s = watch.elapsed
            self.save(state, trainer)
            last_save[0] = time.perf_counter()

        while not state.done and state.epoch < self.epochs:
            for batch in trainer.batches(state):
                t0 = time.perf_counter()
                loss, weight = trainer.step(batch, state)
                term = loss.detach().double() * weight
                if acc[0] is None:
                    import torch

                    acc[0] = (torch.tensor(state.loss_sum, dtype=torch.float64, device=term.device)
                              if isinstance(state.loss_sum, list)  # one sum per member
                              else torch.full((), state.loss_sum, dtype=torch.float64, device=term.device))  # no copy
                acc[0] = acc[0] + term
                state.step_time_s += time.perf_counter() - t0
                state.step += 1
                state.batch += 1
                state.loss_n += weight
                if (state.batch if self.count_in_epoch else state.step) % self.checkpoint_every == 0:
                    save()
                elif (state.step - acc[1]) >= self.finite_every:
                    sync()
                guard.check(save)
            sync()
            self._end_epoch(trainer, state, bar, watch)
            if state.done or time.perf_counter() - last_save[0] >= self.save_interval_s:
                save()
            guard.check(save)
        return state

    def _end_epoch(self, trainer: Trainer, state: LoopState, bar, watch: Stopwatch) -> None:
        train_loss = state.train_loss
        state.epoch += 1
        state.batch, state.loss_sum, state.loss_n = 0, 0.0, 0
        valid = trainer.validate(state)
        if valid is not None:
            if trainer.better(valid, state.best):
                state.best, state.best_epoch, state.bad_evals = valid, state.epoch, 0
                trainer.keep_best(state)
            else:
                state.bad_evals += 1
                state.done = state.done or (bool(self.patience) and state.bad_evals >= self.patience)
        state.done = state.done or state.epoch == self.epochs
        rows = trainer.curve_row(state, train_loss, valid, watch.elapsed)
        for row in rows if isinstance(rows, list) else [rows]:
            self.curves.append(**row)
        if isinstance(rows, list):  # several members: their losses and validation values, no run-wide best
            loss = " ".join(f"{row['train_loss']:.5f}" for row in rows)
            shown = " ".join(f"{row['valid']:.5f}" for row in rows)
            best, postfix = "", {}
        else:
            loss, shown = f"{train_loss:.5f}", f"{math.nan if valid is None else valid:.5f}"
            best, postfix = f" best {state.best:.5f}", {"best": f"{state.best:.4g}"}
        bar.update(1)
        bar.set_postfix(loss=loss, valid=shown, **postfix)
        if bar.disable:  # no bar (logs): one plain line per epoch
            print(f"{self.label}epoch {state.epoch}/{self.epochs} train_loss {loss} valid {shown}{best} "
                  f"elapsed {watch.elapsed:.1f}s", file=sys.stderr)


def fresh_or_restored(ckpt: dict | None, start: LoopState, restore: Callable[[dict], None]) -> LoopState:
    """``start`` for a fresh run; else the checkpoint's state after ``restore(ckpt)`` loaded the trainer's part."""
    if ckpt is None or "state" not in ckpt:
        return start
    restore(ckpt)
    return LoopState(**ckpt["state"])
