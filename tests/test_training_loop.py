"""The shared epoch loop (gapbench.train.loop) with a scripted trainer: patience, best epoch, done, checkpoint
cadence, and a resume from any saved checkpoint ending as the uninterrupted run."""

from __future__ import annotations

import math

import pytest
import torch

from gapbench.train import common
from gapbench.train.loop import Loop, LoopState, fresh_or_restored, resumable_checkpoint

STEPS = 3  # steps per epoch


class Scripted:
    """Losses ``epoch + batch / 10``; validation values from a script (None: no validation that epoch)."""

    def __init__(self, valid):
        self.valid, self.kept, self.log = valid, [], []

    def batches(self, state):
        return range(state.batch, STEPS)

    def step(self, batch, state):
        self.log.append((state.epoch, batch, state.step))
        return torch.tensor(state.epoch + batch / 10), 2

    def validate(self, state):
        return self.valid[state.epoch - 1]

    def better(self, value, best):
        return value < best

    def keep_best(self, state):
        self.kept.append(state.epoch)

    def curve_row(self, state, train_loss, valid, elapsed):
        return {"epoch": state.epoch, "train_loss": train_loss, "valid": math.nan if valid is None else valid}

    def checkpoint(self):
        return {"kept": list(self.kept)}


class Bar:
    disable = False

    def update(self, n):
        pass

    def set_postfix(self, **kw):
        pass


def _loop(tmp_path, epochs=6, patience=2, every=2, count_in_epoch=False):
    curves = common.CurveLog(tmp_path / "curves.csv", ["epoch", "train_loss", "valid"])
    return Loop(tmp_path / "last.pt", {"run": 1}, curves, epochs, every, patience=patience,
                count_in_epoch=count_in_epoch)


def test_patience_best_epoch_done_and_curves(tmp_path):
    # epochs 1..7: improve at 1 and 3 (the bad epoch 2 forgotten), epoch 4 without validation counts for
    # neither, 5 and 6 bad -> stop after 6
    trainer = Scripted([0.5, 0.6, 0.4, None, 0.45, 0.42, 0.1])
    state = _loop(tmp_path, epochs=7).run(trainer, LoopState(), Bar())
    assert (state.epoch, state.best, state.best_epoch, state.bad_evals, state.done) == (6, 0.4, 3, 2, True)
    assert trainer.kept == [1, 3] and state.step == 6 * STEPS
    rows = (tmp_path / "curves.csv").read_text().splitlines()
    assert rows[0] == "epoch,train_loss,valid" and len(rows) == 1 + 6
    epoch, loss, valid = (float(v) for v in rows[1].split(","))
    assert (epoch, valid) == (1, 0.5) and loss == pytest.approx(0.1)  # weighted mean of 0.0, 0.1, 0.2
    saved = torch.load(tmp_path / "last.pt", weights_only=True)
    assert saved["signature"] == {"run": 1} and saved["state"]["done"] and saved["kept"] == [1, 3]
    # without patience every epoch runs and the last one is marked done
    state = _loop(tmp_path / "all", patience=0).run(Scripted([0.5, None, 0.4, 0.45, 0.41, 0.42]), LoopState(),
                                                   Bar())
    assert (state.epoch, state.done, state.best_epoch) == (6, True, 3)


@pytest.mark.parametrize("count_in_epoch,expected", [(False, [2, 4, 6]), (True, [2, 5])])
def test_checkpoint_cadence(tmp_path, monkeypatch, count_in_epoch, expected):
    """Every 2 steps of the run, or every 2 steps of an epoch (graph sweeps), plus every epoch end."""
    saved = []
    loop = _loop(tmp_path, epochs=2, patience=0, count_in_epoch=count_in_epoch)
    monkeypatch.setattr(loop, "save", lambda state, trainer: saved.append((state.step, state.batch)))
    loop.run(Scripted([0.5, 0.4]), LoopState(), Bar())
    mid_epoch = [step for step, batch in saved if batch]
    assert mid_epoch == expected
    assert [step for step, batch in saved if not batch] == [3, 6]


class _Killed(BaseException):
    """Stands for SIGKILL: the process stops between two steps without any clean-up."""


class Dying(Scripted):
    def __init__(self, valid, kill_at):
        super().__init__(valid)
        self.kill_at = kill_at

    def step(self, batch, state):
        if len(self.log) == self.kill_at:
            raise _Killed
        return super().step(batch, state)


@pytest.mark.parametrize("kill_at", [1, 3, 4, 7, 12])  # steps done before the kill; checkpoints every 2 steps
def test_resume_from_the_last_checkpoint_repeats_and_skips_no_step(tmp_path, kill_at):
    valid = [0.5, 0.6, 0.3, 0.35, 0.2]
    full = Scripted(valid)
    _loop(tmp_path / "full", epochs=5, patience=3, every=2).run(full, LoopState(), Bar())
    cut = Dying(valid, kill_at)
    with pytest.raises(_Killed):
        _loop(tmp_path / "cut", epochs=5, patience=3, every=2).run(cut, LoopState(), Bar())
    ckpt = resumable_checkpoint(tmp_path / "cut" / "last.pt", {"run": 1}, "test")
    again = Scripted(valid)
    state = fresh_or_restored(ckpt, LoopState(), lambda c: again.kept.extend(c["kept"]))
    loop = _loop(tmp_path / "cut", epochs=5, patience=3, every=2)
    loop.curves.rows = list(ckpt["curves"]) if ckpt else []
    state = loop.run(again, state, Bar())
    done_before = {s for _, _, s in cut.log[: ckpt["state"]["step"]]} if ckpt else set()
    assert sorted(done_before | {s for _, _, s in again.log}) == list(range(state.step))  # each step once
    assert not done_before & {s for _, _, s in again.log}
    assert again.kept == full.kept
    assert (tmp_path / "cut" / "curves.csv").read_text() == (tmp_path / "full" / "curves.csv").read_text()


def test_a_checkpoint_of_other_settings_is_not_resumed(tmp_path, capsys):
    _loop(tmp_path, epochs=1, patience=0).run(Scripted([0.5]), LoopState(), Bar())
    assert resumable_checkpoint(tmp_path / "last.pt", {"run": 2}, "test") is None
    assert "starting afresh" in capsys.readouterr().err
    assert resumable_checkpoint(tmp_path / "last.pt", {"run": 1}, "test")["state"]["done"]
    assert "resuming from" in capsys.readouterr().err


@pytest.mark.parametrize("epochs", [5, 20])
def test_bookkeeping_per_epoch_does_not_grow_with_epochs(tmp_path, monkeypatch, epochs):
    """Append-only curves (one full write of curves.csv per process, then one line per epoch) and checkpoints by
    wall-clock interval (an interval longer than the run: only the last epoch saves) - the same writes for 5 and
    20 epochs; with interval 0 every epoch saves, as before."""
    full_writes, saves = [], []
    real = common.write_csv_atomic
    monkeypatch.setattr(common, "write_csv_atomic", lambda path, *a: (full_writes.append(path), real(path, *a)))
    loop = _loop(tmp_path, epochs=epochs, patience=0, every=10**6)
    loop.save_interval_s = 1e9
    monkeypatch.setattr(loop, "save", lambda state, trainer: saves.append(state.epoch))
    loop.run(Scripted([1.0 / (e + 1) for e in range(epochs)]), LoopState(), Bar())
    assert full_writes == [tmp_path / "curves.csv"] and saves == [epochs]
    rows = (tmp_path / "curves.csv").read_text().splitlines()
    assert len(rows) == 1 + epochs and [float(r.split(",")[0]) for r in rows[1:]] == list(range(1, epochs + 1))
    every_epoch = _loop(tmp_path / "each", epochs=epochs, patience=0, every=10**6)
    monkeypatch.setattr(every_epoch, "save", lambda state, trainer: saves.append(state.epoch))
    every_epoch.run(Scripted([1.0] * epochs), LoopState(), Bar())
    assert saves[1:] == list(range(1, epochs + 1))


def test_loss_sum_stays_on_device_and_a_non_finite_loss_stops_the_run(tmp_path):
    """The epoch's loss sum is read every ``finite_every`` steps: the curve equals the Python-float sum, and a NaN
    loss raises the diverged error naming the steps."""
    from gapbench.errors import GapbenchError

    class NaNAt(Scripted):
        def step(self, batch, state):
            loss, w = super().step(batch, state)
            return (torch.tensor(math.nan) if state.step == 4 else loss), w

    loop = _loop(tmp_path, epochs=3, patience=0, every=10**6)
    loop.finite_every = 2
    with pytest.raises(GapbenchError, match=r"training diverged: non-finite loss in epoch 2, steps 4\.\.5"):
        loop.run(NaNAt([0.5, 0.4, 0.3]), LoopState(), Bar())
    state = _loop(tmp_path / "ok", epochs=2, patience=0).run(Scripted([0.5, 0.4]), LoopState(), Bar())
    rows = (tmp_path / "ok" / "curves.csv").read_text().splitlines()
    expected = sum(float(torch.tensor(1 + b / 10)) * 2 for b in range(STEPS)) / (2 * STEPS)
    assert float(rows[2].split(",")[1]) == expected and state.step_time_s > 0


@pytest.mark.gpu
def test_a_cuda_training_step_does_not_synchronise_with_the_host(tmp_path):
    """CUDA's sync debug mode raises on any synchronising call made while an epoch's steps run (model step, Adam,
    the loop's loss sum and bookkeeping); the loop reads the loss sum once, after the epoch's last step."""
    device = common.select_device("cuda")
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, capturable=True)
    xs = [torch.randn(32, 8, device=device) for _ in range(STEPS)]

    class CudaTrainer(Scripted):
        def batches(self, state):
            torch.cuda.set_sync_debug_mode("error")
            try:
                yield from xs[state.batch:]
            finally:
                torch.cuda.set_sync_debug_mode("default")

        def step(self, x, state):
            opt.zero_grad(set_to_none=True)
            loss = model(x).square().mean()
            loss.backward()
            opt.step()
            return loss, 32

    loop = _loop(tmp_path, epochs=2, patience=0, every=10**6)
    loop.finite_every = 10**6
    state = loop.run(CudaTrainer([0.5, 0.4]), LoopState(), Bar())
    assert state.epoch == 2 and state.done
    rows = (tmp_path / "curves.csv").read_text().splitlines()
    assert len(rows) == 3 and all(math.isfinite(float(r.split(",")[1])) for r in rows[1:])
