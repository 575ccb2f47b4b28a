"""`gapbench train pde`: train one PDE surrogate on one observed dataset with one seed, then evaluate it.

Protocol (``pde_eval.py``): every predictor gets the first ``W`` observed (noisy) frames of a trajectory, the
warm-up, and predicts the next ``H`` frames ``W..W+H-1`` autoregressively (``H``: the prediction horizon).
Training: inputs are the noisy observed frames ``0..W+H-2`` of a trajectory, the target of output ``t`` is the
noisy observed frame ``t+1`` (teacher forcing over the observed history: a user of the data sees nothing
cleaner), the loss is the relative L2 error (nRMSE-1 in ``pde_eval.py``) averaged over samples and steps. AdamW
with a cosine learning-rate schedule (no scheduler state: the rate is a function of the global step), early
stopping on the validation rollout nRMSE against the clean field, and the best checkpoint is evaluated on the
test split by the same rollout, scored against the clean observed frames ``W..W+H-1``.

Outputs in ``--out``: ``metrics.json`` (written last), ``rollout.csv``, ``predictions.zarr`` (the test rollout,
``pde_eval.write_predictions``), ``curves.csv``, ``last.pt`` (every
``--checkpoint-every`` steps, every epoch and on SIGTERM: the shared loop, ``loop.py``) and ``best.pt``.
Rerunning the command resumes from ``last.pt``; batch order and input noise are drawn from generators seeded by
``(seed, epoch)`` / ``(seed, step)``, so a resumed run ends with the same metrics as an uninterrupted one.
The baselines (persistence, zero, the Dedalus solver) are ``gapbench train pde-baseline`` (``baseline.py``).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

from gapbench.errors import ConfigError, GapbenchError, StoreError
from gapbench.models.pde_registry import ModelHyper, build_model, check_model, resolve_modes
from gapbench.pde.equations import get
from gapbench.registry import PDE_MODELS, plugin_code
from gapbench.train import common as C
from gapbench.train import resume
from gapbench.train.common import add_common_arguments
from gapbench.train.loop import Loop, LoopState, fresh_or_restored, resumable_checkpoint

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class TrainParams:
    """Optimisation and evaluation settings (config ``train.pde.<equation>``; schema documents each)."""

    warmup: int = 10  # observed frames every predictor gets before its rollout (1: from one frame)
    horizon: int = 0  # prediction horizon in steps after the warm-up (0: every stored frame); windows and evaluation
    valid_threshold: float = 0.5  # nRMSE that ends the valid time (pde_eval eq. VT)
    epochs: int = 30
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    patience: int = 10
    eval_every: int = 1
    train_noise: float = 0.0
    unroll: int = 1  # pushforward: the model's own (unroll - 1)-step predictions as inputs (1: teacher forcing)
    ssm_lr: float = 1e-3  # peak learning-rate cap of the S4 parameters' group, no weight decay (0: no own group)
    max_train_samples: int = 0
    eval_batch_size: int = 64
    checkpoint_every: int = 200
    checkpoint_interval: float = 60.0
    bf16: bool = False
    compile: bool = False


@dataclass(frozen=True)
class RunParams:
    """What to train where: data, model name, seed, output directory, device."""

    data_dir: Path
    model: str
    seed: int
    out: Path
    resolution: int = 0
    device: str = "auto"
    threads: int = 0
    progress: bool = True
    inject_failure: bool = False


@dataclass(frozen=True)
class Observed:
    """One observed dataset (splits of ``results/data/pde/{eq}/{law}/nu{nu}/obs/{obs}/``) cut to warm-up +
    horizon, in memory.

    ``splits[split]`` holds the noisy observed frames ``0..W+H-1`` (what models see), ``clean[split]`` the clean
    observed frames ``0..W+H-1`` (what every nRMSE is scored against), both ``(samples, W + H, *space)`` float32.
    ``times`` are the times of the scored frames ``W..W+H-1``, ``all_times`` those of frames ``0..W+H-1``.
    """

    equation: str
    nu: float
    method: str
    resolution: int
    sigma: float
    n_dims: int
    times: tuple[float, ...]
    attrs: dict
    splits: dict  # split -> torch.Tensor, noisy
    clean: dict  # split -> torch.Tensor, clean
    samples: np.ndarray  # test split (when read): global sample indices
    seeds: np.ndarray  # test split (when read): per-sample seeds
    warmup: int = 1  # observed frames before the scored ones
    all_times: tuple[float, ...] = ()
    test_attrs: dict | None = None  # the test store's attrs (its own split, noise seed), when read

    @property
    def horizon(self) -> int:
        return len(self.times)

    @property
    def t0(self) -> float:
        """The time of the last warm-up frame, the predictors' input: valid time is counted from it."""
        return self.all_times[self.warmup - 1]

    def context(self, split: str):
        """The warm-up frames ``0..W-1`` of ``split`` (noisy, what every predictor gets): ``(S, W, *space)``."""
        return self.splits[split][:, : self.warmup]

    def truth(self, split: str) -> np.ndarray:
        """The clean scored frames ``W..W+H-1`` of ``split``: ``(S, H, *space)``."""
        return self.clean[split][:, self.warmup :].numpy()


# The stores read last in this process, for the next run on them (the models of a pooled job, in turn):
# ((arguments, fingerprint of the stores' files), Observed).
_last_read: list = []


def _store_files(data_dir: Path, splits) -> tuple:
    """(relative path, size, modification time in ns, inode) of every file of the split stores: a store rewritten, even a
    chunk in place, gives another tuple."""
    files = []
    for split in splits:
        root = Path(data_dir) / f"{split}.zarr"
        for path in sorted(root.rglob("*")) if root.is_dir() else ():
            st = path.stat()
            files.append((str(path.relative_to(data_dir)), st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(files)


def load_observed(data_dir: Path, splits=SPLITS, resolution: int = 0, horizon: int = 0,
                  warmup: int = 1) -> Observed:
    """Read the observed stores into memory (no Zarr reads in the training loop), check they agree, and keep
    frames ``0..warmup+horizon-1`` (``horizon = 0``: every stored frame).

    The same call again in one process (the next model of a pooled job), with the stores' files unchanged
    (:func:`_store_files`), returns a copy of what the last call read (its tensors, arrays and dicts copied: no run
    sees what another did to them) instead of reading and verifying the stores again.

    Raises StoreError (missing/bad store) or ConfigError (``resolution`` given and not the data's; warm-up plus
    horizon longer than the stored frames).
    """
    key = ((str(Path(data_dir).resolve()), tuple(splits), resolution, horizon, warmup),
           _store_files(data_dir, splits))
    if not _last_read or _last_read[0][0] != key:
        _last_read[:] = [(key, _read_observed(data_dir, splits, resolution, horizon, warmup))]
    obs = _last_read[0][1]
    return replace(obs, splits={k: v.clone() for k, v in obs.splits.items()},
                   clean={k: v.clone() for k, v in obs.clean.items()}, attrs=dict(obs.attrs),
                   samples=obs.samples.copy(), seeds=obs.seeds.copy(),
                   test_attrs=None if obs.test_attrs is None else dict(obs.test_attrs))


def _read_observed(data_dir: Path, splits, resolution: int, horizon: int, warmup: int) -> Observed:
    """:func:`load_observed` without the copy of the last read."""
    import torch

    from gapbench.pde.store import clean_name, field_name, load

    arrays, clean, attrs, times, test = {}, {}, None, None, None
    for split in splits:
        path = Path(data_dir) / f"{split}.zarr"
        ds = load(path)
        a = dict(ds.attrs)
        if a["kind"] != "observation":
            raise StoreError(f"{path}: a {a['kind']} store; training reads observed stores (.../obs/<variant>/)")
        if attrs is None:
            attrs, times = a, tuple(float(t) for t in ds["time"].values)
            if not 1 <= warmup <= len(times) - 1:
                raise ConfigError(f"warm-up {warmup} frames: the data hold {len(times)} frames ({data_dir}) and at "
                                  f"least one must be predicted; allowed: 1..{len(times) - 1}")
            if not 0 <= horizon <= len(times) - warmup:
                raise ConfigError(f"horizon {horizon} steps: the data hold {len(times) - warmup} frames after the "
                                  f"{warmup} warm-up frames ({data_dir}); allowed: 1..{len(times) - warmup}, or 0 "
                                  "for all")
            keep = warmup + (horizon or len(times) - warmup)
        else:
            for key in ("equation", "law", "burn_in", "nu", "resolution", "obs_method", "sigma", "n_frames",
                        "t_end"):
                if a[key] != attrs[key]:
                    raise StoreError(f"{path}: attr {key}={a[key]!r} differs from the other splits ({attrs[key]!r})")
        name = field_name(a["equation"])
        arrays[split] = torch.from_numpy(ds[name].values[:, :keep].astype("float32"))
        clean[split] = torch.from_numpy(ds[clean_name(name)].values[:, :keep].astype("float32"))
        test = ds if split == "test" else test
    if resolution and int(attrs["resolution"]) != int(resolution):
        raise ConfigError(
            f"observed resolution {resolution} is not in the data: {data_dir} holds resolution "
            f"{attrs['resolution']} (add it to the pde section's observed resolutions, or pick another data dir)"
        )
    return Observed(
        equation=attrs["equation"], nu=float(attrs["nu"]), method=attrs["obs_method"],
        resolution=int(attrs["resolution"]), sigma=float(attrs["sigma"]),
        n_dims=get(attrs["equation"]).n_dims, times=times[warmup:keep], attrs=attrs, splits=arrays, clean=clean,
        samples=test["sample"].values if test is not None else np.zeros(0, np.int64),
        seeds=test["seed"].values if test is not None else np.zeros(0, np.uint64),
        warmup=warmup, all_times=times[:keep], test_attrs=dict(test.attrs) if test is not None else None,
    )


def cosine_lr(lr: float, step: int, total: int) -> float:
    """Cosine schedule from ``lr`` to 0 over ``total`` steps: ``lr * (1 + cos(pi * step / total)) / 2``."""
    return lr * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / max(total, 1)))


def param_groups(model, tp: TrainParams) -> list[dict]:
    """AdamW groups: every parameter at ``lr`` with ``weight_decay``, except the state-space parameters of the
    memory layers (modules with ``ssm_parameters()``, e.g. S4D's step and state matrix), which get, as in the S4
    reference, no weight decay and the peak rate ``min(lr, ssm_lr)``; ``ssm_lr = 0`` puts them in the main group.
    Each group keeps its peak rate as ``peak_lr``; the cosine schedule scales every group by the same factor."""
    ssm = [p for m in model.modules() if hasattr(m, "ssm_parameters") for p in m.ssm_parameters()] \
        if tp.ssm_lr > 0 else []
    own = {id(p) for p in ssm}
    groups = [{"params": [p for p in model.parameters() if id(p) not in own], "lr": tp.lr, "peak_lr": tp.lr,
               "weight_decay": tp.weight_decay}]
    if ssm:
        peak = min(tp.lr, tp.ssm_lr)
        groups.append({"params": ssm, "lr": peak, "peak_lr": peak, "weight_decay": 0.0})
    return groups


def pushforward_inputs(model, inp, unroll: int):
    """The training inputs after ``unroll - 1`` pushforward passes (Brandstetter et al. 2022), without gradient.

    Pass ``j`` replaces input frames ``1..T-1`` by the model's predictions of them from the previous pass's
    inputs (frame 0 stays observed): for a Markovian model input frame ``t`` then is the ``min(t, j)``-step rollout
    from the observed frame ``t - j`` (``max(0, .)``), for a memory model the same with its history partly its own
    predictions. The loss is taken on the next pass, with the gradient through that last pass only.
    """
    import torch

    if unroll <= 1:
        return inp
    with torch.no_grad():  # (the surrogates have no dropout or batch norm: train and eval mode agree)
        for _ in range(unroll - 1):
            pred = model(inp)
            inp = torch.cat([inp[:, :1], pred[:, :-1].to(inp.dtype)], dim=1)
    return inp


def _metrics_head(run: RunParams, obs: Observed) -> dict:
    return {
        "task": "pde", "equation": obs.equation, "law": obs.attrs["law"], "burn_in": float(obs.attrs["burn_in"]),
        "nu": obs.nu, "method": obs.method, "resolution": obs.resolution, "sigma": obs.sigma, "model": run.model,
        "seed": run.seed, "warmup": obs.warmup,
    }


class SurrogateTrainer:
    """A PDE surrogate as a :class:`gapbench.train.loop.Trainer`: AdamW steps on windows of the training split
    (teacher forcing, cosine rate of the global step), the validation rollout nRMSE every ``eval_every`` epochs
    and at the last, and ``best.pt`` at each best epoch.

    The batch order of epoch ``t`` is drawn from ``derived_seed(seed, "batches", t)`` and the input noise of step
    ``s`` from ``derived_seed(seed, "noise", s)``: nothing random needs to be stored to resume.
    """

    def __init__(self, run: RunParams, tp: TrainParams, obs: Observed, model, train_x, device, out: Path):
        import torch

        from gapbench.train.optim import AdamW

        self.run, self.tp, self.obs, self.model, self.device, self.out = run, tp, obs, model, device, out
        self.optimizer = AdamW(param_groups(model, tp), lr=tp.lr, weight_decay=tp.weight_decay)
        self.forward = torch.compile(model) if tp.compile else model
        self.n_train = train_x.shape[0]
        self.steps_per_epoch = math.ceil(self.n_train / tp.batch_size)
        self.total_steps = tp.epochs * self.steps_per_epoch
        self.train_dev = train_x.to(device)
        self.valid_x, self.valid_clean = obs.context("valid"), obs.truth("valid")
        self.amp = tp.bf16 and device.type == "cuda"

    def restore(self, ckpt: dict) -> None:
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])

    def checkpoint(self) -> dict:
        return {"model": C.tensor_state(self.model.state_dict()),
                "optimizer": C.tensor_state(self.optimizer.state_dict())}

    def batches(self, state: LoopState):
        import torch

        self.model.train()
        perm = torch.randperm(self.n_train, generator=C.generator(self.run.seed, "batches", state.epoch))
        bs = self.tp.batch_size
        for b in range(state.batch, self.steps_per_epoch):
            yield self.train_dev[C.to_device(perm[b * bs : (b + 1) * bs], self.device)]

    def step(self, u, state: LoopState):
        import torch

        from gapbench.train.pde_eval import relative_l2

        tp = self.tp
        inp, target = u[:, :-1], u[:, 1:]
        if tp.train_noise > 0:
            noise = torch.randn(inp.shape, generator=C.generator(self.run.seed, "noise", state.step))
            inp = inp + tp.train_noise * self.model.sigma * C.to_device(noise, self.device)
        factor = cosine_lr(1.0, state.step, self.total_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = group["peak_lr"] * factor
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            inp = pushforward_inputs(self.forward, inp, tp.unroll)
            pred = self.forward(inp)
        loss = relative_l2(pred.float(), target, self.obs.n_dims).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if tp.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), tp.grad_clip)
        self.optimizer.step()
        return loss, 1

    def validate(self, state: LoopState) -> float | None:
        from gapbench.train.pde_eval import rollout, score

        if state.epoch % self.tp.eval_every and state.epoch != self.tp.epochs:
            return None
        pred, _ = rollout(self.model, self.valid_x, self.obs.horizon, self.tp.eval_batch_size, self.device,
                          self.amp)
        return score(pred, self.valid_clean, self.obs.times, self.tp.valid_threshold, self.obs.t0)[0]["nrmse"]

    def better(self, value: float, best: float) -> bool:
        return value < best

    def keep_best(self, state: LoopState) -> None:
        C.save_checkpoint(self.out / "best.pt", {"model": C.tensor_state(self.model.state_dict()),
                                                 "epoch": state.epoch, "valid_nrmse": state.best})

    def curve_row(self, state: LoopState, train_loss: float, valid: float | None, elapsed: float) -> dict:
        lr = cosine_lr(self.tp.lr, state.step - 1, self.total_steps)  # the rate of the epoch's last step
        return dict(epoch=state.epoch, train_loss=train_loss, valid_nrmse=math.nan if valid is None else valid, lr=lr,
                    elapsed_s=round(elapsed, 3))


def train_and_evaluate(run: RunParams, hyper: ModelHyper, tp: TrainParams) -> dict:
    """The whole job: checks, (resumed) training in the shared loop (:class:`gapbench.train.loop.Loop`, early
    stopping after ``patience`` validations without improvement), test evaluation of the best checkpoint, output
    files."""
    import torch

    from gapbench.train.pde_eval import rollout, score, write_per_traj_csv, write_predictions, write_rollout_csv

    # ---- set-up and every check, before any training ------------------------------------------
    check_model(run.model, hyper)
    if not 0 < tp.valid_threshold:
        raise ConfigError(f"valid_threshold must be > 0, got {tp.valid_threshold}")
    for key in ("warmup", "epochs", "batch_size", "eval_every", "patience", "eval_batch_size", "checkpoint_every",
                "unroll"):
        if getattr(tp, key) < 1:
            raise ConfigError(f"{key} must be >= 1, got {getattr(tp, key)}")
    if run.threads:
        torch.set_num_threads(run.threads)
    obs = load_observed(run.data_dir, SPLITS, run.resolution, tp.horizon, tp.warmup)
    hyper = resolve_modes(hyper, obs.resolution)
    device = C.select_device(run.device)
    out = Path(run.out)
    out.mkdir(parents=True, exist_ok=True)
    _lock = C.lock_output_dir(out)  # held until this function returns
    C.seed_everything(run.seed)
    model = build_model(run.model, obs.n_dims, hyper, window=tp.warmup)
    train_x = obs.splits["train"]
    if tp.max_train_samples:
        train_x = train_x[: tp.max_train_samples]
    model.set_normalization(float(train_x.mean()), float(train_x.std()))
    model.to(device)
    n_params = C.count_parameters(model)
    trainer = SurrogateTrainer(run, tp, obs, model, train_x, device, out)
    train = asdict(tp)
    train.pop("checkpoint_every")  # changing how often we save does not change the run
    train.pop("checkpoint_interval")
    settings = {"model": run.model, "seed": run.seed, "hyper": asdict(hyper), "train": train,
                "n_train": trainer.n_train}
    signature = resume.signature(
        settings,
        plugin_code(run.model),
        {"attrs": obs.attrs, "content": resume.content_digest([*obs.splits.values(), *obs.clean.values()])})
    ckpt = resumable_checkpoint(out / "last.pt", signature, "pde")
    curves = C.CurveLog(out / "curves.csv", ["epoch", "train_loss", "valid_nrmse", "lr", "elapsed_s"],
                        ckpt["curves"] if ckpt is not None else ())
    st = fresh_or_restored(ckpt, LoopState(), trainer.restore)
    C.maybe_inject_failure(run.inject_failure)

    # ---- training ---------------------------------------------------------------------------------
    loop = Loop(out / "last.pt", signature, curves, tp.epochs, tp.checkpoint_every, patience=tp.patience,
                save_interval_s=tp.checkpoint_interval, diverged_hint=" (lower train.pde lr or raise grad_clip)")
    bar = C.progress(total=tp.epochs, initial=st.epoch, desc=f"{run.model} seed{run.seed}",
                     enabled=run.progress, unit="epoch")
    st = loop.run(trainer, st, bar)
    bar.close()
    curves.write()  # also when a finished run is re-run: every output is rewritten from the checkpoint

    # ---- evaluation of the best checkpoint --------------------------------------------------------
    if not math.isfinite(st.best):  # no best epoch: retraining with the same settings would repeat this
        raise GapbenchError(
            f"{run.model} seed {run.seed}: every validation nRMSE of the {len(curves.rows)} epochs was NaN or inf "
            f"(the rollout diverges), so there is no best epoch to evaluate; retraining with the same settings "
            f"gives the same: lower the learning rate (train.pde.lr) or change the model's settings, then rerun")
    best = C.load_checkpoint(out / "best.pt")
    if best is None:  # removed by hand after training: retraining writes it again
        raise GapbenchError(f"{out / 'best.pt'} is missing: delete {out / 'last.pt'} to retrain")
    model.load_state_dict(best["model"])
    context = obs.context("test")
    pred, seconds = rollout(model, context, obs.horizon, tp.eval_batch_size, device, trainer.amp)
    scores, err = score(pred, obs.truth("test"), obs.times, tp.valid_threshold, obs.t0)
    write_rollout_csv(out / "rollout.csv", obs.times, err)
    write_per_traj_csv(out / "per_traj.csv", obs.samples, err, obs.times, tp.valid_threshold, obs.t0)
    write_predictions(out / "predictions.zarr", obs, context.numpy(), pred, run.model, run.seed)
    n_test = int(context.shape[0])
    metrics = _metrics_head(run, obs) | scores | {
        "horizon": obs.horizon, "valid_threshold": tp.valid_threshold,
        "n_params": n_params, "train_time_s": round(st.elapsed_s, 3),
        "step_time_s": round(st.step_time_s, 3), "inference_time_s": round(seconds, 4),
        "inference_time_per_trajectory_s": seconds / n_test,
        "status": "ok", "valid_nrmse": st.best, "best_epoch": st.best_epoch,
        "epochs_trained": len(curves.rows), "best_is_last": st.best_epoch == len(curves.rows), "steps": st.step,
        "n_train": trainer.n_train,
        "n_test": n_test, "device": str(device), "hyper": asdict(hyper),
        "train": asdict(tp), "config_digest": resume.data_identity(settings),
        **resume.provenance(plugin_code(run.model)),
    }
    C.write_json_atomic(out / "metrics.json", metrics)
    return metrics


# ------------------------------------------------------------------------------------------------- CLI
def _mixer_settings(model: str, given: list[str]) -> tuple[tuple[str, object], ...]:
    """``--mixer-setting NAME=VALUE`` flags as (name, value) pairs of the model's mixer's own settings, each parsed
    to its registered type, the others at their defaults (ConfigError naming a bad or unknown one)."""
    from gapbench.registry import mixer_settings

    own = {s.name: s for s in mixer_settings(model)}
    values = {name: s.default for name, s in own.items()}
    for item in given:
        name, sep, text = item.partition("=")
        if not sep or name not in own:
            raise ConfigError(f"--mixer-setting {item!r}: allowed: NAME=VALUE with NAME one of "
                              f"{', '.join(own) or 'none (model ' + model + ' has no mixer settings of its own)'}")
        values[name] = own[name].parse(text)
    return tuple(sorted(values.items()))


def _handler(args: argparse.Namespace) -> int:
    hyper = ModelHyper(**{f.name: getattr(args, f.name) for f in fields(ModelHyper) if f.name != "mixer"},
                       mixer=_mixer_settings(args.model, args.mixer_setting))
    tp = TrainParams(**{f.name: getattr(args, f.name) for f in fields(TrainParams)})
    run = RunParams(data_dir=args.data_dir, model=args.model, seed=args.seed, out=args.out,
                    resolution=args.resolution, device=args.device, threads=args.threads,
                    progress=not args.no_progress, inject_failure=args.inject_failure)
    m = train_and_evaluate(run, hyper, tp)
    print(C.pde_run_summary(m, run.out))
    return 0


def register(tsub) -> None:
    """Add ``gapbench train pde``."""
    from gapbench import argtypes as A

    p = tsub.add_parser("pde", help="train + evaluate one PDE surrogate",
                        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True, type=Path,
                   help="observed dataset directory holding train.zarr, valid.zarr, test.zarr")
    p.add_argument("--model", required=True, help=f"one of {', '.join(PDE_MODELS)} (plugins register more)")
    p.add_argument("--resolution", type=A.non_negative_int, default=0,
                   help="expected observed resolution (checked against the data; 0: take the data's)")
    add_common_arguments(p)
    g = p.add_argument_group("architecture")
    d = ModelHyper()
    g.add_argument("--width", type=A.number(int, 1, 16384), default=d.width, help="channels of every layer")
    g.add_argument("--n-layers", type=A.number(int, 1, 256), default=d.n_layers, help="FFNO layers")
    g.add_argument("--modes", type=A.non_negative_int, default=d.modes, help="Fourier modes kept per axis (0: all)")
    g.add_argument("--ff-factor", type=A.number(int, 1, 64), default=d.ff_factor, help="feed-forward expansion factor")
    g.add_argument("--memory-position", type=A.non_negative_int, default=d.memory_position,
                   help="FFNO layers before the memory layer (0..n_layers)")
    g.add_argument("--state-size", type=A.number(int, 1, 4096), default=d.state_size,
                   help="S4D complex modes per channel")
    g.add_argument("--heads", type=A.number(int, 1, 256), default=d.heads, help="heads of the attention memory model")
    g.add_argument("--mixer-setting", action="append", default=[], metavar="NAME=VALUE",
                   help="a setting of the model's memory mixer's own (a plugin's; config train.pde.{eq}.{model})")
    t = TrainParams()
    g = p.add_argument_group("protocol")
    g.add_argument("--warmup", type=A.number(int, 1, 100000), default=t.warmup,
                   help="observed frames given before the rollout (memory models ingest all, FFNO uses the last, "
                   "a windowed model stacks them)")
    g.add_argument("--horizon", type=A.number(int, 0, 100000), default=t.horizon,
                   help="prediction horizon in steps after the warm-up: training windows and the test rollout "
                   "(0: all stored frames)")
    g.add_argument("--valid-threshold", type=A.positive_float, default=t.valid_threshold,
                   help="valid time = the last time the nRMSE against clean truth is still under this (0 when the "
                   "first predicted frame exceeds it)")
    g = p.add_argument_group("optimisation")
    g.add_argument("--epochs", type=A.positive_int, default=t.epochs, help="maximum epochs")
    g.add_argument("--batch-size", type=A.positive_int, default=t.batch_size, help="trajectories per step")
    g.add_argument("--lr", type=A.positive_float, default=t.lr, help="peak AdamW learning rate (cosine to 0)")
    g.add_argument("--weight-decay", type=A.non_negative_float, default=t.weight_decay, help="AdamW weight decay")
    g.add_argument("--grad-clip", type=A.non_negative_float, default=t.grad_clip, help="gradient-norm clip (0: none)")
    g.add_argument("--patience", type=A.positive_int, default=t.patience,
                   help="stop after this many validations without improvement")
    g.add_argument("--eval-every", type=A.positive_int, default=t.eval_every, help="validate every N epochs")
    g.add_argument("--train-noise", type=A.non_negative_float, default=t.train_noise,
                   help="std of Gaussian noise added to training inputs, relative to the data std")
    g.add_argument("--unroll", type=A.positive_int, default=t.unroll,
                   help="pushforward training: inputs are the model's own (N-1)-step predictions, gradient through "
                        "the last step only (1: teacher forcing)")
    g.add_argument("--ssm-lr", type=A.non_negative_float, default=t.ssm_lr,
                   help="peak learning rate cap of the S4 state-space parameters, their own AdamW group without "
                        "weight decay (0: no own group)")
    g.add_argument("--max-train-samples", type=A.non_negative_int, default=t.max_train_samples,
                   help="use only the first N training trajectories (0: all)")
    g.add_argument("--eval-batch-size", type=A.positive_int, default=t.eval_batch_size,
                   help="trajectories per rollout batch")
    g.add_argument("--bf16", action="store_true", help="bf16 autocast (CUDA only; FFTs stay float32)")
    g.add_argument("--compile", action="store_true", help="torch.compile the training forward")
    p.set_defaults(handler=_handler)
