"""`gapbench train graph`: train node/edge GCNs (and DeepSets) on one graph dataset, sweeping hyperparameters.

One call = one Snakemake job = one (dataset, model, seed): every configuration of the grid
``depths x widths x lrs`` is trained for ``epochs`` epochs (Adam, cosine learning-rate decay), the epoch with
the best validation metric is kept for each configuration, and the configuration with the best validation
metric is selected; its test metric at that epoch is the reported number (seed Table 2 protocol: "best by
validation"). Outputs in ``--out``:

* ``metrics.json`` - keys (docs/gnn.md): task, experiment, variant, params, model, seed, config_digest,
  code_version, git_commit, dirty, metric, higher_is_better, test, valid, hyper (depth, width, lr), n_params,
  train_time_s, status (+ best_epoch, inference_time_s, n_configs, device,
  step_time_s: the optimiser steps' share of train_time_s, features, path_ids, and ``breakdown`` for kinds
  with a test breakdown: MAP's accuracy within reach / hub only beside the local ceiling,
  :mod:`gapbench.graphs.map_reach`). When every configuration failed:
  status ``failed``, test and valid null, ``error`` listing each configuration's reason (exit status 0, so the
  job's other models keep their outputs).
* ``sweep.csv`` - one row per tried configuration: ``config,depth,width,lr,n_params,best_epoch,valid,test,
  train_time_s,status,failed_epoch,reason,epochs_run`` (``best_epoch`` is the reported epoch: the best by
  validation, or the last with ``--report last``). A configuration whose training loss turns non-finite (diverges) or
  that never has a finite validation value is a ``failed`` row (NaN valid and test, the epoch and the reason);
  the sweep goes on and selects among the others.
* ``curves.csv`` - one row per epoch of every configuration: ``config,depth,width,lr,epoch,train_loss,valid,
  lr_now,elapsed_s`` (a shape group writes its members' rows epoch by epoch).
* ``checkpoint.pt`` (resume state, written every ``--checkpoint-every`` steps of an epoch, at an epoch's end when
  ``--checkpoint-interval`` seconds have passed, at the end of each configuration and on SIGTERM) and
  ``model.pt`` (the selected model's weights).

Tasks, losses and metrics: :mod:`gapbench.train.graph_tasks`; mini-batches: :mod:`gapbench.train.graph_batches`;
each configuration runs the shared epoch loop (:mod:`gapbench.train.loop`, no early stopping).

Shape groups: the configurations of one depth and width (they differ only in the learning rate) train as one
batch-invariant ensemble (:mod:`gapbench.train.graph_group`) when the model is one the ensemble takes
(node_gcn, node_sage, edge_gcn, deepsets without norm, dropout or categorical features; a single configuration
is an ensemble of 1); every member keeps its own schedule, best epoch, rows and failure, and its results are bit
for bit those of the configuration trained on its own (``--no-ensemble``). Its members share the group's time:
each row's ``train_time_s`` and ``step_time_s`` is the group's over its size. Other models train one
configuration at a time (:class:`ConfigTrainer`: ``nn.Module`` and :mod:`gapbench.train.optim`, torch.optim.Adam's
update and schedules).

Reproducibility and resume: model initialisation of configuration ``c`` uses ``derived_seed(seed, "init", c)``,
the batch order of epoch ``t`` uses ``derived_seed(seed, "batches", depth, width, t)`` (the shape's, so that a
group's members see the same mini-batches; before shape groups it was the configuration's,
``derived_seed(seed, "batches", c, t)``) and dropout re-seeds at every epoch, so a job killed (SIGTERM:
checkpoint, exit 143) and restarted resumes where its checkpoint stands and ends with exactly the metrics of an
uninterrupted run (CPU).
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from gapbench.errors import ConfigError
from gapbench.registry import GRAPH_MODELS, plugin_code
from gapbench.train import common, resume
from gapbench.train.common import add_common_arguments
from gapbench.train.graph_batches import Prepared, evaluate, evaluate_loss, node_correct, prepare
from gapbench.train.graph_tasks import Task, better, loss_fn, select
from gapbench.train.loop import (Loop, LoopState, MembersDiverged, TrainingDiverged, fresh_or_restored,
                                 resumable_checkpoint)

COMMAND = "graph"
CURVE_COLUMNS = ("config", "depth", "width", "lr", "epoch", "train_loss", "valid", "lr_now", "elapsed_s")
SWEEP_COLUMNS = ("config", "depth", "width", "lr", "n_params", "best_epoch", "valid", "test", "train_time_s", "status",
                 "failed_epoch", "reason", "epochs_run")
CHECKPOINT = "checkpoint.pt"


# ---------------------------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Hyper:
    """One point of the sweep grid."""

    depth: int
    width: int
    lr: float


@dataclass
class GraphTrainSpec:
    """Everything one `gapbench train graph` job needs (parsed from the command line)."""

    data: Path
    out: Path
    model: str
    seed: int = 0
    depths: list[int] = field(default_factory=lambda: [1, 2])
    widths: list[int] = field(default_factory=lambda: [32])
    lrs: list[float] = field(default_factory=lambda: [0.01])
    epochs: int = 30
    eval_every: int = 1
    batch_size: int = 32
    weight_decay: float = 0.0
    activation: str = "relu"
    reduce: str = "mean"
    pool: str = "mean"
    norm: str = "none"
    dropout: float = 0.0
    head_layers: int = 1
    edge_features: bool = True
    path_ids: bool = False
    schedule: str = "cosine"
    plateau_factor: float = 0.5
    plateau_patience: int = 10
    min_lr: float = 1e-5
    stop_below_min_lr: bool = False
    report: str = "best"
    residual: bool = True
    self_loops: bool = False
    protocol: str = ""
    device: str = "auto"
    threads: int = 0
    checkpoint_every: int = 200
    checkpoint_interval: float = 60.0
    progress: bool = True
    inject_failure: bool = False
    ensemble: bool = True

    def grid(self) -> list[Hyper]:
        return [Hyper(d, w, lr) for d, w, lr in itertools.product(self.depths, self.widths, self.lrs)]


# ---------------------------------------------------------------------------------------------- one configuration
def build(spec: GraphTrainSpec, hyper: Hyper, task: Task, info: dict):
    from gapbench.models.gnn import build_model

    return build_model(spec.model, info["in_dim"], task.out_dim, depth=hyper.depth, width=hyper.width,
                       activation=spec.activation, level=task.level, reduce=spec.reduce, pool=spec.pool,
                       head_layers=spec.head_layers, edge_dim=info.get("edge_dim"),
                       node_categories=info.get("node_categories"), edge_categories=info.get("edge_categories"),
                       norm=spec.norm, dropout=spec.dropout, **model_options(spec))


def model_options(spec: GraphTrainSpec) -> dict:
    """``--no-residual`` / ``--self-loops`` for the models that declare them (``OPTIONS``: the Table 1 protocol
    GCNs, gapbench.models.gnn_protocols); the other models of a job keep their own architecture."""
    from gapbench.registry import resolve

    options = getattr(resolve(GRAPH_MODELS[spec.model].build), "OPTIONS", ())
    wanted = {"residual": spec.residual, "self_loops": spec.self_loops}
    return {k: v for k, v in wanted.items() if k in options}


def _scheduler(optimizer, spec: GraphTrainSpec, steps_per_epoch: int, task: Task):
    """cosine: decay to 0 over all steps (stepped per batch); plateau: benchmarking-gnns / LRGB's
    ReduceLROnPlateau on the validation loss (lr *= factor after ``patience`` epochs without improvement, not
    below ``min_lr`` - or without a floor with ``stop_below_min_lr``, benchmarking-gnns' stopping rule; stepped
    per epoch); constant. (:mod:`gapbench.train.optim`: torch.optim.lr_scheduler's arithmetic.)"""
    from gapbench.train.optim import Constant, Cosine, Plateau

    if spec.schedule == "plateau":
        return Plateau(optimizer, factor=spec.plateau_factor, patience=spec.plateau_patience,
                       min_lr=0.0 if spec.stop_below_min_lr else spec.min_lr)
    if spec.schedule == "cosine":
        return Cosine(optimizer, max(spec.epochs * steps_per_epoch, 1))
    return Constant(optimizer)


class ConfigTrainer:
    """One configuration of the sweep as a :class:`gapbench.train.loop.Trainer`: Adam steps on the training
    split, the validation metric every ``eval_every`` epochs and after the last (also stepping the plateau
    schedule), and at each best epoch its weights (checkpointed), whose test metric :meth:`best_test` computes
    once the run is over: the number it would have had at that epoch (the same weights and batches).

    The batch order of epoch ``t`` is drawn from ``derived_seed(seed, "batches", depth, width, t)`` (the shape's:
    the same for every learning rate, as in a group); dropout draws from the
    global torch RNG, re-seeded with ``derived_seed(seed, "dropout", c, t)`` at the start of epoch ``t`` and
    restored from the checkpoint when resuming inside an epoch.
    """

    def __init__(self, spec: GraphTrainSpec, ci: int, hyper: Hyper, prepared: Prepared, clock, steps_per_epoch: int,
                 sweep_part):
        import torch

        from gapbench.train.optim import Adam

        self.spec, self.ci, self.hyper, self.clock, self.sweep_part = spec, ci, hyper, clock, sweep_part
        self.task, self.data, self.eval_bs = prepared.task, prepared.data, max(spec.batch_size * 4, 64)
        torch.manual_seed(common.derived_seed(spec.seed, "init", ci))
        self.model = build(spec, hyper, prepared.task, prepared.info).to(prepared.device)
        self.opt = Adam(self.model.parameters(), lr=hyper.lr, weight_decay=spec.weight_decay)
        self.sched = _scheduler(self.opt, spec, steps_per_epoch, prepared.task)
        self.best_state, self.rng = None, None
        self.last_valid = float("nan")

    def restore(self, ckpt: dict) -> None:
        self.model.load_state_dict(ckpt["model"])
        self.opt.load_state_dict(ckpt["optimizer"])
        self.sched.load_state_dict(ckpt["scheduler"])
        self.best_state, self.rng = ckpt["best_state"], ckpt["rng"]
        self.last_valid = ckpt.get("last_valid", float("nan"))

    def checkpoint(self) -> dict:
        import torch

        return {"sweep": self.sweep_part(self.ci), "model": common.tensor_state(self.model.state_dict()),
                "optimizer": common.tensor_state(self.opt.state_dict()), "scheduler": self.sched.state_dict(),
                "best_state": self.best_state, "rng": torch.get_rng_state(),
                "last_valid": self.last_valid}

    def batches(self, state: LoopState):
        import torch

        if state.batch == 0:
            torch.manual_seed(common.derived_seed(self.spec.seed, "dropout", self.ci, state.epoch))
        else:  # resuming inside an epoch: same batch order, skip the batches already done
            torch.set_rng_state(self.rng)
        self.model.train()
        gen = common.generator(self.spec.seed, "batches", self.hyper.depth, self.hyper.width, state.epoch)
        return self.data["train"].batches(self.spec.batch_size, gen, start=state.batch)

    def step(self, batch, state: LoopState):
        x, ei, b, ea, ng, y, mask = batch
        self.opt.zero_grad(set_to_none=True)
        loss = loss_fn(self.task, self.model(x, ei, b, ea, ng), y, mask)
        loss.backward()  # a non-finite loss is caught by the loop (no host synchronisation here)
        self.opt.step()
        if self.spec.schedule != "plateau":
            self.sched.step()
        return loss, ng

    def validate(self, state: LoopState) -> float | None:
        """The validation metric (None in epochs without validation, ``eval_every``); steps the plateau schedule on
        the validation loss, and with ``stop_below_min_lr`` ends the run once the learning rate is below
        ``min_lr`` (benchmarking-gnns)."""
        if state.epoch % self.spec.eval_every and state.epoch != self.spec.epochs:
            return None  # no validation this epoch: it cannot be the best one, the plateau schedule waits
        valid = evaluate(self.model, self.data["valid"], self.task, self.eval_bs)
        self.last_valid = valid
        if self.spec.schedule == "plateau":
            loss = evaluate_loss(self.model, self.data["valid"], self.task, self.eval_bs)
            if not math.isnan(loss):
                self.sched.step(loss)
        if self.spec.stop_below_min_lr and self.opt.param_groups[0]["lr"] < self.spec.min_lr:
            state.done = True
        return valid

    def better(self, value: float, best: float) -> bool:
        return better(self.task, value, best)

    def keep_best(self, state: LoopState) -> None:
        self.best_state = common.tensor_state(self.model.state_dict())

    def best_test(self) -> float:
        """The test metric of the best weights, loaded into the model (call once training is over)."""
        self.model.load_state_dict(self.best_state)
        return evaluate(self.model, self.data["test"], self.task, self.eval_bs)

    def curve_row(self, state: LoopState, train_loss: float, valid: float | None, elapsed: float) -> dict:
        h = self.hyper
        return dict(config=self.ci, depth=h.depth, width=h.width, lr=h.lr, epoch=state.epoch, train_loss=train_loss,
                    valid=math.nan if valid is None else valid,
                    lr_now=self.opt.param_groups[0]["lr"], elapsed_s=round(self.clock.elapsed, 3))


# ---------------------------------------------------------------------------------------------- the sweep
def settings(spec: GraphTrainSpec) -> dict:
    """The settings that change the result (a checkpoint's and ``config_digest``'s part)."""
    keep = ("model", "seed", "depths", "widths", "lrs", "epochs", "eval_every", "batch_size", "weight_decay",
            "activation", "reduce", "pool", "norm", "dropout", "head_layers", "edge_features", "path_ids", "schedule",
            "plateau_factor", "plateau_patience", "min_lr", "stop_below_min_lr", "report", "residual", "self_loops")
    return {k: getattr(spec, k) for k in keep}


def signature(spec: GraphTrainSpec, meta: dict) -> dict:
    """What a checkpoint must agree on to be resumed: settings, code, dataset card and content (``resume.py``)."""
    files = [Path(spec.data) / "processed" / f"{s}.pt" for s in ("train", "valid", "test")]
    return resume.signature({**settings(spec), "ensemble": spec.ensemble}, plugin_code(spec.model),
                            {"card": meta, "content": resume.content_digest(files)})


def units(spec: GraphTrainSpec, grid: list[Hyper], ensemble: bool) -> list[list[int]]:
    """The configurations trained together, in sweep order: each shape group (the configurations of one depth and
    width, consecutive in the grid) when the model trains as an ensemble (``ensemble``), else (or with
    ``--no-ensemble``) one configuration at a time."""
    if not (spec.ensemble and ensemble):
        return [[ci] for ci in range(len(grid))]
    groups: dict[tuple[int, int], list[int]] = {}
    for ci, hyper in enumerate(grid):
        groups.setdefault((hyper.depth, hyper.width), []).append(ci)
    return list(groups.values())


def ensemble_model(spec: GraphTrainSpec, grid: list[Hyper], prepared: Prepared) -> bool:
    """Does the sweep's model train as an ensemble (:func:`gapbench.models.ensemble.unsupported_reason`: built-in
    row-wise models without norm, dropout or categorical features; a single configuration is an ensemble of 1)?
    Else each configuration trains as one ``nn.Module`` with :mod:`gapbench.train.optim` (:class:`ConfigTrainer`)."""
    from gapbench.models.ensemble import unsupported_reason

    return unsupported_reason(build(spec, grid[0], prepared.task, prepared.info)) is None


def train_group(spec, unit, grid, prepared, clock, steps_per_epoch, sweep_part, loop, ckpt, bar, guard) -> list:
    """The configurations ``unit`` (one shape) as one ensemble (:mod:`gapbench.train.graph_group`), resuming from
    ``ckpt`` when given; every member's sweep row and best weights."""
    from gapbench.train.graph_group import GroupTrainer

    trainer = GroupTrainer(spec, unit, grid, prepared, clock, steps_per_epoch, sweep_part, build)
    state = fresh_or_restored(ckpt, LoopState(best=math.nan), trainer.restore)
    loop.label = (f"config {unit[0] + 1}/{len(grid)} " if len(unit) == 1
                  else f"configs {unit[0] + 1}-{unit[-1] + 1}/{len(grid)} ")
    while not state.done:
        try:
            state = loop.run(trainer, state, bar, guard)
        except MembersDiverged as err:  # those members fail, the others go on
            for i in err.members:
                print(f"gapbench train graph: {spec.model} config {trainer.active[i].config} failed ({err.where}); "
                      "the sweep goes on", file=sys.stderr)
            trainer.diverged(err, state)
    return trainer.rows(state, prepared.task.metric)


def train_config(spec, ci, grid, prepared, clock, steps_per_epoch, sweep_part, loop, ckpt, bar, guard):
    """Configuration ``ci`` on its own (:class:`ConfigTrainer`), resuming from ``ckpt`` when given; its sweep row
    and best weights."""
    hyper, task = grid[ci], prepared.task
    trainer = ConfigTrainer(spec, ci, hyper, prepared, clock, steps_per_epoch, sweep_part)
    state = fresh_or_restored(ckpt, LoopState(best=math.nan), trainer.restore)
    loop.label = f"config {ci + 1}/{len(grid)} "
    status, reason, failed_epoch = "ok", "", ""
    try:
        state = loop.run(trainer, state, bar, guard)
    except (FloatingPointError, TrainingDiverged) as err:  # diverged: a failed row, the sweep goes on
        status, reason, failed_epoch = "failed", str(err), getattr(err, "epoch", state.epoch)
        print(f"gapbench train graph: {spec.model} config {ci} failed ({err}); the sweep goes on", file=sys.stderr)
    if status == "ok" and not math.isfinite(state.best):
        status, reason = "failed", f"no finite validation {task.metric} in {spec.epochs} epochs"
        failed_epoch = spec.epochs - 1
    ok = status == "ok"
    if ok and spec.report == "last":  # the last epoch's weights and metrics (benchmarking-gnns), not the best's
        state.best, state.best_epoch = trainer.last_valid, state.epoch
        trainer.keep_best(state)
    row = {"config": ci, "depth": hyper.depth, "width": hyper.width, "lr": hyper.lr,
           "n_params": common.count_parameters(trainer.model), "best_epoch": state.best_epoch - 1 if ok else "",
           "valid": state.best if ok else math.nan, "test": trainer.best_test() if ok else math.nan,
           "train_time_s": round(state.elapsed_s, 3), "status": status, "failed_epoch": failed_epoch,
           "reason": reason, "epochs_run": state.epoch,
           "step_time_s": round(state.step_time_s, 3)}  # (not a sweep.csv column)
    return row, trainer.best_state if ok else None


def run(spec: GraphTrainSpec, prepared: Prepared | None = None) -> dict:
    """Train the whole sweep of ``spec`` (resuming from ``spec.out/checkpoint.pt``); write and return metrics.

    Each configuration runs the shared loop (:class:`gapbench.train.loop.Loop`, no early stopping); the
    checkpoint also holds the sweep's part (the configuration under way, the finished rows, the selected weights
    so far, the sweep's time), and is written once more after each configuration with that configuration done.
    """
    import torch

    if spec.model not in GRAPH_MODELS:
        raise ConfigError(f"--model {spec.model!r}: choose from {', '.join(GRAPH_MODELS)} (plugins register more)")
    if spec.epochs < 1 or spec.batch_size < 1 or spec.eval_every < 1:
        raise ConfigError("--epochs, --eval-every and --batch-size must be >= 1")
    if spec.threads:
        torch.set_num_threads(spec.threads)
    common.seed_everything(spec.seed)
    out = Path(spec.out)
    out.mkdir(parents=True, exist_ok=True)
    _lock = common.lock_output_dir(out)  # held until this function returns
    if prepared is None:
        prepared = prepare(spec.data, spec.device)
    if not spec.edge_features:
        prepared = prepared.node_features_only()
    if spec.path_ids:
        prepared = prepared.with_path_ids()
    meta, task, data, info, device = prepared.meta, prepared.task, prepared.data, prepared.info, prepared.device
    grid = spec.grid()

    sig = signature(spec, meta)
    ckpt = resumable_checkpoint(out / CHECKPOINT, sig, COMMAND, map_location=device)
    sweep = ckpt["sweep"] if ckpt is not None else {"config": 0, "rows": [], "best_model_state": None, "elapsed_s": 0.0}
    curves = common.CurveLog(out / "curves.csv", CURVE_COLUMNS, ckpt["curves"] if ckpt is not None else ())
    sweep_rows: list[dict] = list(sweep["rows"])
    clock = common.Stopwatch(sweep["elapsed_s"])
    common.maybe_inject_failure(spec.inject_failure)

    steps_per_epoch = math.ceil(len(data["train"]) / spec.batch_size)
    loop = Loop(out / CHECKPOINT, sig, curves, spec.epochs, spec.checkpoint_every, count_in_epoch=True,
                save_interval_s=spec.checkpoint_interval)
    group_path = ensemble_model(spec, grid, prepared)
    groups = units(spec, grid, group_path)
    first = sum(1 for unit in groups if unit[-1] < sweep["config"])  # units done
    start = ckpt["state"]["epoch"] if ckpt is not None and "state" in ckpt else 0
    bar = common.progress(total=len(groups) * spec.epochs, initial=first * spec.epochs + start,
                          desc=f"{meta['kind']}/{meta['variant']} {spec.model}", enabled=spec.progress)
    best_model_state = sweep["best_model_state"]

    def sweep_part(config: int) -> dict:
        return {"config": config, "rows": sweep_rows, "best_model_state": best_model_state,
                "elapsed_s": clock.elapsed}

    with common.SigtermGuard() as guard:
        for unit in groups[first:]:
            resume_from = ckpt if unit[0] == sweep["config"] else None
            if group_path:
                rows = train_group(spec, unit, grid, prepared, clock, steps_per_epoch, sweep_part, loop, resume_from,
                                   bar, guard)
            else:
                rows = [train_config(spec, unit[0], grid, prepared, clock, steps_per_epoch, sweep_part, loop,
                                     resume_from, bar, guard)]
            for row, best_state in rows:
                sweep_rows.append(row)
                if row["status"] == "ok" and select(task, sweep_rows) is row:
                    best_model_state = best_state
            common.save_checkpoint(out / CHECKPOINT, {"signature": sig, "curves": curves.state(),
                                                      "sweep": sweep_part(unit[-1] + 1)})
    bar.close()
    curves.write()  # a finished sweep re-run rewrites every output from its checkpoint
    common.write_csv_atomic(out / "sweep.csv", SWEEP_COLUMNS, sweep_rows)

    best = select(task, sweep_rows)
    hyper = grid[best["config"]]
    identity = {"task": "graph", "experiment": meta["kind"], "variant": meta["variant"],
                "params": meta.get("params", {}), "model": spec.model, "seed": spec.seed,
                "config_digest": resume.data_identity(settings(spec)), **resume.provenance(plugin_code(spec.model))}
    if best.get("status", "ok") != "ok":  # every configuration failed: a failed run, its neighbours keep theirs
        (out / "model.pt").unlink(missing_ok=True)
        reasons = "; ".join(f"config {r['config']}: {r['reason']}" for r in sweep_rows)
        metrics = {**identity, "metric": task.metric, "higher_is_better": task.higher_is_better, "test": None,
                   "valid": None, "n_configs": len(grid), "train_time_s": round(clock.elapsed, 3),
                   "device": str(device), "status": "failed", "error": f"every configuration failed ({reasons})"}
        common.write_json_atomic(out / "metrics.json", metrics)
        return metrics
    model = build(spec, hyper, task, info).to(device)
    if best_model_state is not None:
        model.load_state_dict(best_model_state)
        common.save_checkpoint(out / "model.pt", best_model_state)
    t0 = time.perf_counter()
    evaluate(model, data["test"], task, max(spec.batch_size * 4, 64))
    inference = time.perf_counter() - t0
    metrics = {**identity,
        "metric": task.metric, "higher_is_better": task.higher_is_better,
        "test": best["test"], "valid": best["valid"],
        "hyper": {"depth": hyper.depth, "width": hyper.width, "lr": hyper.lr, "epochs": spec.epochs,
                  "batch_size": spec.batch_size, "activation": spec.activation, "head_layers": spec.head_layers,
                  "schedule": spec.schedule, "report": spec.report, **model_options(spec),
                  "epochs_run": int(best.get("epochs_run", spec.epochs))},
        "features": ("nodes and edges" if spec.edge_features and info.get("edge_dim") else "nodes only")
                    + (" + path ids" if spec.path_ids else ""),
        "path_ids": spec.path_ids,
        "protocol": spec.protocol,
        "n_params": int(best["n_params"]), "best_epoch": int(best["best_epoch"]), "n_configs": len(grid),
        "train_time_s": round(clock.elapsed, 3), "inference_time_s": round(inference, 4),
        "step_time_s": round(sum(r.get("step_time_s", 0.0) for r in sweep_rows), 3),
        "device": str(device), "status": "ok",
    }
    breakdown = test_breakdown(spec, prepared, model, hyper)
    if breakdown is not None:
        metrics["breakdown"] = breakdown
    if "affine_floor" in meta:  # planted stars: the eq. 3 + linear-head floor and the target std (tables)
        metrics["affine_floor"] = meta["affine_floor"]
    common.write_json_atomic(out / "metrics.json", metrics)
    return metrics


def test_breakdown(spec: GraphTrainSpec, prepared: Prepared, model, hyper: Hyper) -> dict | None:
    """The dataset kind's breakdown of the selected model's test metric (``DatasetKind.test_breakdown``; MAP:
    accuracy within reach / hub only beside the local ceiling), or None when the kind has none."""
    from gapbench.graphs.kinds import DATASET_KINDS
    from gapbench.graphs.storage import read_split
    from gapbench.registry import family_of, resolve

    kind = DATASET_KINDS.get(prepared.meta["kind"])
    if kind is None or kind.test_breakdown is None or prepared.task.level != "node":
        return None
    _, test = read_split(spec.data, "test")  # every stored attribute per graph, without importing PyG
    correct = node_correct(model, prepared.data["test"], prepared.task, max(spec.batch_size * 4, 64))
    return resolve(kind.test_breakdown)(test, correct, family_of(spec.model), hyper.depth, prepared.meta)


# ---------------------------------------------------------------------------------------------- CLI
def parse_budget(text: str) -> tuple[int, int]:
    """``"4x16"`` -> (depth 4, width 16)."""
    try:
        depth, width = (int(t) for t in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"budget {text!r}: expected DEPTHxWIDTH, e.g. 4x16") from None
    if not (0 <= depth <= 999 and 1 <= width <= 99999):  # the config schema's pattern for budgets
        raise argparse.ArgumentTypeError(f"budget {text!r}: allowed depth 0..999 and width 1..99999")
    return depth, width


def parse_head_layers(items: list[str], models: list[str]) -> dict[str, int]:
    """``["1", "node_sage=2"]`` -> read-out layers per model: a bare integer for every model, ``MODEL=K`` for one."""
    default, per_model = 1, {}
    for item in items:
        name, _, value = item.rpartition("=")
        try:
            k = int(value)
        except ValueError:
            k = 0
        if k < 1:
            raise ConfigError(f"--head-layers {item!r}: expected K or MODEL=K with an integer K >= 1")
        if not name:
            default = k
        elif name not in models:
            raise ConfigError(f"--head-layers {item!r}: {name} is not one of the trained models ({', '.join(models)})")
        else:
            per_model[name] = k
    return {m: per_model.get(m, default) for m in models}


def specs_from_args(args: argparse.Namespace, data: Path, out: str, seed: int) -> list[GraphTrainSpec]:
    """One :class:`GraphTrainSpec` per (model, budget) on dataset ``data`` with training seed ``seed``; ``out`` is
    formatted with model, depth, width and seed."""
    budgets = args.budgets or [None]
    if len(args.model) > 1 and "{model}" not in out:
        raise ConfigError(f"--out {out!r}: several models need a {{model}} placeholder in --out")
    if len(budgets) > 1 and not ("{depth}" in out and "{width}" in out):
        raise ConfigError(f"--out {out!r}: several budgets need {{depth}} and {{width}} placeholders in --out")
    heads = parse_head_layers(args.head_layers, args.model)
    specs = []
    for model in args.model:
        for budget in budgets:
            depths, widths = ([budget[0]], [budget[1]]) if budget else (args.depths, args.widths)
            path = out.format(model=model, depth=depths[0], width=widths[0], seed=seed)
            specs.append(GraphTrainSpec(
                data=data, out=Path(path), model=model, seed=seed, depths=depths, widths=widths,
                lrs=args.lrs, epochs=args.epochs, eval_every=args.eval_every, batch_size=args.batch_size,
                weight_decay=args.weight_decay,
                activation=args.activation, reduce=args.reduce, pool=args.pool, norm=args.norm,
                dropout=args.dropout, head_layers=heads[model], edge_features=not args.node_features_only,
                path_ids=args.path_ids,
                schedule=args.schedule, plateau_factor=args.plateau_factor,
                plateau_patience=args.plateau_patience, min_lr=args.min_lr,
                stop_below_min_lr=args.stop_below_min_lr, report=args.report, residual=not args.no_residual,
                self_loops=args.self_loops, protocol=args.protocol,
                device=args.device,
                threads=args.threads, checkpoint_every=args.checkpoint_every,
                checkpoint_interval=args.checkpoint_interval, progress=not args.no_progress,
                inject_failure=args.inject_failure, ensemble=not args.no_ensemble))
    return specs


def runs_from_args(args: argparse.Namespace) -> list[tuple[Path, list[GraphTrainSpec]]]:
    """``(dataset, its specs)`` for each ``--data`` (paired with the ``--out`` template at the same position) and
    each ``--seed``, checked before any training so a bad template fails the job before its first run."""
    if len(args.out) != len(args.data):
        raise ConfigError(f"--out: {len(args.out)} templates for {len(args.data)} --data directories; give one per "
                          "dataset, in the same order")
    if len(args.seed) > 1 and not all("{seed}" in out for out in args.out):
        raise ConfigError("--out: several seeds need a {seed} placeholder in every --out template")
    return [(data, [spec for seed in args.seed for spec in specs_from_args(args, data, out, seed)])
            for data, out in zip(args.data, args.out)]


def _handler(args: argparse.Namespace) -> int:
    """Train every (dataset, seed, model, budget) in turn in this process (one Python and torch start-up for all of
    them): datasets in the order given, each loaded once."""
    for data, specs in runs_from_args(args):
        prepared = prepare(data, args.device)
        for spec in specs:
            _report(run(spec, prepared), spec)
    return 0


def _report(metrics: dict, spec: GraphTrainSpec) -> None:
    if metrics["status"] != "ok":
        print(f"{metrics['experiment']}/{metrics['variant']} {metrics['model']} seed{metrics['seed']}: FAILED "
              f"({metrics['error']}) -> {spec.out}")
        return
    print(f"{metrics['experiment']}/{metrics['variant']} {metrics['model']} seed{metrics['seed']}: "
          f"test {metrics['metric']} {metrics['test']:.4g} (valid {metrics['valid']:.4g}, "
          f"depth {metrics['hyper']['depth']}, width {metrics['hyper']['width']}, lr {metrics['hyper']['lr']:g})"
          f" -> {spec.out}")


def register(sub) -> None:
    """Add ``gapbench train graph``."""
    from gapbench import argtypes as A

    p = sub.add_parser(COMMAND, help="train node/edge GCNs or DeepSets on a graph dataset (sweep, select by valid)",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, type=Path, nargs="+",
                   help="dataset directories results/data/graphs/{kind}/{variant}, trained on one after the other "
                        "in this process (each with its own --out template)")
    p.add_argument("--model", required=True, nargs="+",
                   help=f"one or more of {', '.join(GRAPH_MODELS)} (plugins register more; "
                        "several: trained one after the other in this job; --out is then a template with "
                        "{model}, and with --budgets also {depth} and {width})")
    p.add_argument("--budgets", type=parse_budget, nargs="+", default=None, metavar="DEPTHxWIDTH",
                   help="fixed depth x width budgets, each its own run (replaces --depths/--widths; "
                        "several: --out needs {depth} and {width}), e.g. 2x8 4x16")
    p.add_argument("--depths", type=A.number(int, 0, 256), nargs="+", default=[1, 2], help="sweep: message-passing depths")
    p.add_argument("--widths", type=A.number(int, 1, 16384), nargs="+", default=[32], help="sweep: embedding widths")
    p.add_argument("--lrs", type=A.positive_float, nargs="+", default=[0.01], help="sweep: Adam learning rates")
    p.add_argument("--epochs", type=A.positive_int, default=30, help="epochs per configuration")
    p.add_argument("--eval-every", type=A.positive_int, default=1, metavar="EPOCHS",
                   help="validate every EPOCHS epochs and after the last; only validated epochs can be selected "
                        "as a configuration's best, and the plateau schedule counts validations, not epochs")
    p.add_argument("--batch-size", type=A.positive_int, default=32, help="graphs per mini-batch")
    p.add_argument("--weight-decay", type=A.non_negative_float, default=0.0, help="Adam weight decay")
    p.add_argument("--activation", default="relu", choices=("relu", "tanh", "gelu", "silu", "identity"),
                   help="the nonlinearity sigma of eq. 3/4")
    p.add_argument("--reduce", default="mean", choices=("mean", "sum", "max"),
                   help="neighbour aggregation (mean: eq. 3/4)")
    p.add_argument("--pool", default="mean", choices=("mean", "sum", "max"), help="read-off pooling")
    p.add_argument("--norm", default="none", choices=("none", "batch", "layer"),
                   help="normalisation inside each layer")
    p.add_argument("--dropout", type=A.number(float, 0, 1), default=0.0, help="dropout after each layer's nonlinearity")
    p.add_argument("--head-layers", nargs="+", default=["1"], metavar="K|MODEL=K",
                   help="read-out layers: 1 = linear head, k > 1 = MLP of k layers; a bare K for every model, "
                        "MODEL=K for one (e.g. 1 node_sage=2)")
    p.add_argument("--node-features-only", action="store_true",
                   help="hide the dataset's edge features from the models (Table 1 as published)")
    p.add_argument("--path-ids", action="store_true",
                   help="append each node's path identity (one-hot of the stored path_index; MAP datasets) to its "
                        "features: what the hub edges of the paper's edge protocol must know")
    p.add_argument("--schedule", default="cosine", choices=("cosine", "plateau", "constant"),
                   help="learning-rate schedule: cosine decay per step, ReduceLROnPlateau on the validation loss "
                        "per validated epoch (benchmarking-gnns, LRGB), or constant")
    p.add_argument("--plateau-factor", type=A.number(float, 0, 1, low_open=True), default=0.5,
                   help="plateau: lr multiplier on a plateau, in (0, 1]")
    p.add_argument("--plateau-patience", type=A.number(int, 0, 100000), default=10,
                   help="plateau: epochs without improvement")
    p.add_argument("--min-lr", type=A.number(float, 0, 1), default=1e-5, help="plateau: lower bound of the learning rate")
    p.add_argument("--stop-below-min-lr", action="store_true",
                   help="plateau: no lr floor; stop once the lr is below --min-lr (benchmarking-gnns), else at "
                        "--epochs")
    p.add_argument("--report", default="best", choices=("best", "last"),
                   help="test metric at the epoch with the best validation metric, or at the last epoch "
                        "(benchmarking-gnns)")
    p.add_argument("--no-residual", action="store_true",
                   help="no residual connection (LRGB's GCN; the *_sym protocol GCNs only, others ignore it)")
    p.add_argument("--self-loops", action="store_true",
                   help="symmetric normalisation with self-loops (LRGB; the *_sym protocol GCNs only, others "
                        "ignore it)")
    p.add_argument("--protocol", type=A.label, default="",
                   help="name of the published protocol followed (recorded in metrics)")
    p.add_argument("--no-ensemble", action="store_true",
                   help="train every configuration on its own (an ensemble of 1), not those of one depth and width "
                        "as one ensemble: the same results (bit for bit on the CPU), in more time")
    add_common_arguments(p, runs=True)
    p.set_defaults(handler=_handler)
