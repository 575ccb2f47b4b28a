"""One shape group of `gapbench train graph`'s sweep - the configurations of one depth and width, which differ
only in their learning rate - trained as one ensemble (:mod:`gapbench.models.ensemble`, :mod:`gapbench.train.ensemble`).

Every member keeps what is its own in a sweep: its initialisation (``derived_seed(seed, "init", c)``), its
learning rate and schedule (cosine, plateau - with its own patience counter and ``--stop-below-min-lr`` stop -
or constant), its validation, its best epoch and its weights there, its curves rows and its sweep row. A
member whose loss turns non-finite becomes that configuration's ``failed`` row and leaves the ensemble; a member
that stops (``--stop-below-min-lr``) leaves it at the end of that epoch; the others go on. The members see the
same mini-batches (their order drawn from ``derived_seed(seed, "batches", depth, width, epoch)``), and since the
ensemble is batch-invariant each member's parameters, losses and metrics are bit for bit those of the
configuration trained on its own (``--no-ensemble``: ensembles of 1). The test metric of a member is computed
once, when the group ends, from its best weights (kept, and checkpointed, at every new best epoch): the weights
and batches it would have been evaluated with at that epoch, so the same number.

The schedules, per member with base rate ``lr``: cosine ``lr * (1 + cos(pi * t / T)) / 2`` at step ``t`` of
``T = epochs * steps per epoch`` (stepped per batch, as ``CosineAnnealingLR``); plateau as ``ReduceLROnPlateau``
(mode min, relative threshold 1e-4, no cooldown: after more than ``patience`` validations without a validation
loss below ``best * (1 - 1e-4)`` the rate becomes ``max(rate * factor, min_lr)``, when that lowers it by more
than 1e-8); constant.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch

from gapbench.models.ensemble import member_state, select, stack
from gapbench.train import common
from gapbench.train.ensemble import StackedAdam, evaluate_members, train_step
from gapbench.train.graph_tasks import better
from gapbench.train.loop import LoopState, MembersDiverged

PLATEAU_THRESHOLD, PLATEAU_EPS = 1e-4, 1e-8  # ReduceLROnPlateau's defaults


@dataclass
class Member:
    """What one configuration of a group has of its own (plain values and tensors: checkpointed)."""

    config: int
    lr: float  # the configuration's base learning rate
    lr_now: float  # the rate of its next step
    best: float = math.nan  # best validation metric so far, at epoch ``best_epoch`` (epochs finished then)
    best_epoch: int = 0
    best_state: dict | None = None
    last_valid: float = math.nan
    valid: float = math.nan  # this epoch's validation metric (NaN: none)
    plateau_best: float = math.inf
    plateau_bad: int = 0
    active: bool = True  # still in the ensemble
    stopped: bool = False  # stopped by --stop-below-min-lr (leaves the ensemble before the next epoch)
    epochs_run: int = 0
    failure: dict = field(default_factory=dict)  # reason and failed_epoch of a diverged member


class GroupTrainer:
    """The members ``configs`` (one shape) as one :class:`gapbench.train.loop.Trainer` of several members: its
    step returns the members' losses; ``validate`` keeps every member's best epoch and weights itself (and returns
    None, so the loop's own best-epoch bookkeeping, ``better`` and ``keep_best``, is not used); ``rows`` computes
    the test metric of each member's best weights."""

    def __init__(self, spec, configs: list[int], grid, prepared, clock, steps_per_epoch: int, sweep_part, build):
        self.spec, self.configs, self.clock, self.sweep_part = spec, configs, clock, sweep_part
        self.n_configs = len(grid)
        self.hyper = grid[configs[0]]
        self.task, self.data, self.eval_bs = prepared.task, prepared.data, max(spec.batch_size * 4, 64)
        self.total_steps = max(spec.epochs * steps_per_epoch, 1)
        models = []
        for c in configs:
            torch.manual_seed(common.derived_seed(spec.seed, "init", c))
            models.append(build(spec, grid[c], prepared.task, prepared.info).to(prepared.device))
        self.n_params = common.count_parameters(models[0])
        self.model = stack(models)
        self.members = [Member(c, grid[c].lr, grid[c].lr) for c in configs]
        self.opt = StackedAdam(self.model.parameters(), [m.lr for m in self.members],
                               weight_decay=spec.weight_decay)

    @property
    def active(self) -> list[Member]:
        return [m for m in self.members if m.active]

    def drop(self, positions: list[int]) -> None:
        """Remove the active members at ``positions`` from the ensemble."""
        active = self.active
        for i in positions:
            active[i].active = False
        keep = [i for i in range(len(active)) if i not in positions]
        if keep:
            self.model = select(self.model, keep)
            self.opt.select(self.model.parameters(), keep)

    def diverged(self, err: MembersDiverged, state: LoopState) -> None:
        """The members of ``err`` fail (a configuration's failed row, as when trained alone) and leave."""
        active = self.active
        for i in err.members:
            m = active[i]
            m.failure = {"reason": f"training diverged: config {m.config + 1}/{self.n_configs} {err.where}",
                         "failed_epoch": err.epoch}
            m.epochs_run = state.epoch
        state.loss_sum = [v for i, v in enumerate(state.loss_sum) if i not in err.members]
        self.drop(err.members)
        state.done = state.done or not self.active

    def restore(self, ckpt: dict) -> None:
        self.members = [Member(**m) for m in ckpt["members"]]
        keep = [i for i, m in enumerate(self.members) if m.active]
        self.model = select(self.model, keep)
        self.model.load_state_dict(ckpt["ensemble"])
        self.opt = StackedAdam(self.model.parameters(), [m.lr for m in self.active],
                               weight_decay=self.spec.weight_decay)
        self.opt.load_state_dict(ckpt["optimizer"])

    def checkpoint(self) -> dict:
        return {"sweep": self.sweep_part(self.configs[0]), "ensemble": common.tensor_state(self.model.state_dict()),
                "optimizer": common.tensor_state(self.opt.state_dict()),
                "members": [common.tensor_state(asdict(m)) for m in self.members]}

    def batches(self, state: LoopState):
        stopped = [i for i, m in enumerate(self.active) if m.stopped]
        if stopped:
            self.drop(stopped)
        self.model.train()
        gen = common.generator(self.spec.seed, "batches", self.hyper.depth, self.hyper.width, state.epoch)
        return self.data["train"].batches(self.spec.batch_size, gen, start=state.batch, copies=self.model.members)

    def step(self, batch, state: LoopState):
        active = self.active
        if self.spec.schedule == "cosine":
            factor = (1 + math.cos(math.pi * state.step / self.total_steps)) / 2
            for m in active:
                m.lr_now = m.lr * factor
        self.opt.lr = torch.tensor([m.lr_now for m in active], dtype=torch.float64)
        losses = train_step(self.model, self.opt, self.task, batch)
        if self.spec.schedule == "cosine":  # the rate after the step, as the scheduler's
            factor = (1 + math.cos(math.pi * (state.step + 1) / self.total_steps)) / 2
            for m in active:
                m.lr_now = m.lr * factor
        return losses, batch[4] // self.model.members

    def validate(self, state: LoopState) -> None:
        """Every active member's validation metric (epochs with validation: every ``eval_every``-th and the last),
        best epoch and weights there; the plateau schedule and ``--stop-below-min-lr`` per member."""
        active = self.active
        for m in active:
            m.valid, m.epochs_run = math.nan, state.epoch
        if state.epoch % self.spec.eval_every and state.epoch != self.spec.epochs:
            return None
        valids = evaluate_members(self.model, self.data["valid"], self.task, self.eval_bs)
        if self.spec.schedule == "plateau":
            losses = evaluate_members(self.model, self.data["valid"], self.task, self.eval_bs, loss=True)
            for m, loss in zip(active, losses):
                if not math.isnan(loss):
                    self._plateau(m, loss)
        improved = []
        for i, (m, v) in enumerate(zip(active, valids)):
            m.valid = m.last_valid = v
            if better(self.task, v, m.best):
                m.best, m.best_epoch = v, state.epoch
                improved.append(i)
            m.stopped = self.spec.stop_below_min_lr and m.lr_now < self.spec.min_lr
        if self.spec.report == "last":  # a member ending now reports this epoch (its best must be finite)
            for i, m in enumerate(active):
                if (m.stopped or state.epoch == self.spec.epochs) and math.isfinite(m.best):
                    m.best, m.best_epoch = m.valid, state.epoch
                    improved.append(i)
        if improved:
            self._keep(sorted(set(improved)))
        state.done = state.done or all(m.stopped for m in active)
        return None

    def _plateau(self, m: Member, loss: float) -> None:
        if loss < m.plateau_best * (1 - PLATEAU_THRESHOLD):
            m.plateau_best, m.plateau_bad = loss, 0
        else:
            m.plateau_bad += 1
        if m.plateau_bad > self.spec.plateau_patience:
            floor = 0.0 if self.spec.stop_below_min_lr else self.spec.min_lr
            new = max(m.lr_now * self.spec.plateau_factor, floor)
            if m.lr_now - new > PLATEAU_EPS:
                m.lr_now = new
            m.plateau_bad = 0

    def _keep(self, positions: list[int]) -> None:
        """The weights of the active members at ``positions`` (their new best epoch)."""
        active = self.active
        for i in positions:
            active[i].best_state = member_state(self.model, i)

    def best_tests(self, members: list[Member]) -> list[float]:
        """The test metric of each of ``members``' best weights, evaluated as one ensemble of them (batch-invariant:
        each member's number is that of its weights alone, as in the ensemble it was part of at its best epoch)."""
        if not members:
            return []
        ensemble = select(self.model, [0] * len(members))
        ensemble.load_state_dict({name: torch.stack([m.best_state[name] for m in members])
                                  for name in ensemble.state_dict()})
        return evaluate_members(ensemble, self.data["test"], self.task, self.eval_bs)

    def curve_row(self, state: LoopState, train_loss, valid, elapsed: float) -> list[dict]:
        h = self.hyper
        return [dict(config=m.config, depth=h.depth, width=h.width, lr=m.lr, epoch=state.epoch, train_loss=loss,
                     valid=m.valid, lr_now=m.lr_now, elapsed_s=round(self.clock.elapsed, 3))
                for m, loss in zip(self.active, train_loss)]

    def rows(self, state: LoopState, metric: str) -> list[tuple[dict, dict | None]]:
        """Every member's sweep row (and its best weights), in configuration order, with the test metric of its
        best weights (:meth:`best_tests`); the members share the group's training and optimiser-step time equally
        (``train_time_s``, ``step_time_s``: the group's over K)."""
        out, share = [], len(self.members)
        h = self.hyper
        failures = {m.config: self._failure(m, metric) for m in self.members}
        ok_members = [m for m in self.members if failures[m.config] is None]
        tests = dict(zip((m.config for m in ok_members), self.best_tests(ok_members)))
        for m in self.members:
            status, reason, failed_epoch = failures[m.config] or ("ok", "", "")
            ok = status == "ok"
            row = {"config": m.config, "depth": h.depth, "width": h.width, "lr": m.lr, "n_params": self.n_params,
                   "best_epoch": m.best_epoch - 1 if ok else "", "valid": m.best if ok else math.nan,
                   "test": tests[m.config] if ok else math.nan, "train_time_s": round(state.elapsed_s / share, 3),
                   "status": status, "failed_epoch": failed_epoch, "reason": reason, "epochs_run": m.epochs_run,
                   "step_time_s": round(state.step_time_s / share, 3)}
            out.append((row, m.best_state if ok else None))
        return out

    def _failure(self, m: Member, metric: str) -> tuple[str, str, int] | None:
        """``(status, reason, failed_epoch)`` of a member that failed (diverged, or no finite validation value);
        None for one that has best weights."""
        if m.failure:
            return "failed", m.failure["reason"], m.failure["failed_epoch"]
        if not math.isfinite(m.best):
            return "failed", f"no finite validation {metric} in {self.spec.epochs} epochs", self.spec.epochs - 1
        return None
