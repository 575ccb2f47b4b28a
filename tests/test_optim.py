"""gapbench's Adam, AdamW and schedules against torch.optim's, bit for bit on the CPU (both of torch's code
paths), with groups, a parameter left without a gradient, rates changed between steps, gradient clipping and a
resume from the state dicts; and the reason they exist: training with them never imports torch._dynamo."""

import math
import subprocess
import sys

import pytest
import torch

from gapbench.train.optim import Adam, AdamW, Constant, Cosine, Plateau

STEPS = 25


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.GELU(), torch.nn.Linear(16, 16), torch.nn.GELU(),
                               torch.nn.Linear(16, 1))


def _groups(model, lr=0.01):
    head = list(model[4].parameters())
    rest = [p for m in (model[0], model[2]) for p in m.parameters()]
    return [{"params": rest, "lr": lr, "peak_lr": lr, "weight_decay": 1e-3},
            {"params": head, "lr": lr / 3, "peak_lr": lr / 3, "weight_decay": 0.0}]


def _train(make_opt, steps=STEPS, start=None, stop=None):
    """Steps of a cosine-scaled rate on a fixed regression; the middle layer gets no gradient on even steps."""
    model = _model()
    opt = make_opt(_groups(model))
    if start is not None:
        model.load_state_dict(start[0])
        opt.load_state_dict(start[1])
    x = torch.randn(64, 5, generator=torch.Generator().manual_seed(1))
    y = torch.sin(x.sum(1, keepdim=True))
    first = 0 if start is None else start[2]
    for s in range(first, steps if stop is None else stop):
        for g in opt.param_groups:
            g["lr"] = g["peak_lr"] * 0.5 * (1 + torch.cos(torch.tensor(torch.pi * s / steps)).item())
        opt.zero_grad(set_to_none=True)
        loss = (model(x) - y).pow(2).mean()
        loss.backward()
        if s % 2 == 0:
            model[2].weight.grad = None  # a parameter the loss did not reach: no update, its count stays
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
    return model, opt


def _same(a, b) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("ours, theirs", [(AdamW, torch.optim.AdamW), (Adam, torch.optim.Adam)])
def test_update_equals_torch_bit_for_bit(ours, theirs, foreach):
    mine, _ = _train(lambda g: ours(g, lr=0.01, weight_decay=1e-3, foreach=foreach))
    ref, _ = _train(lambda g: theirs(g, lr=0.01, weight_decay=1e-3, foreach=foreach))
    assert _same(mine, ref)
    other, _ = _train(lambda g: (AdamW if ours is Adam else Adam)(g, lr=0.01, weight_decay=1e-3, foreach=foreach))
    assert not _same(other, ref)  # the weight-decay form matters: the comparison can fail


def test_defaults_on_cpu_are_torch_defaults():
    assert _same(_train(lambda g: AdamW(g, lr=0.01))[0], _train(lambda g: torch.optim.AdamW(g, lr=0.01))[0])
    assert _same(_train(lambda g: Adam(g, lr=0.01))[0], _train(lambda g: torch.optim.Adam(g, lr=0.01))[0])


def test_resume_from_state_dict_is_exact():
    full, _ = _train(lambda g: AdamW(g, lr=0.01))
    half, opt = _train(lambda g: AdamW(g, lr=0.01), stop=11)
    saved = ({k: v.clone() for k, v in half.state_dict().items()}, opt.state_dict(), 11)
    resumed, _ = _train(lambda g: AdamW(g, lr=0.01), start=saved)
    assert _same(full, resumed)
    assert not any(torch.equal(a, b) for a, b in zip(half.parameters(), full.parameters()))


def test_state_dict_loads_weights_only(tmp_path):
    _, opt = _train(lambda g: AdamW(g, lr=0.01), stop=3)
    torch.save(opt.state_dict(), tmp_path / "opt.pt")
    state = torch.load(tmp_path / "opt.pt", weights_only=True)
    assert state["t"] == opt.t and all(torch.equal(a, b) for a, b in zip(state["m"], opt.m))


def test_refuses_a_parameter_in_two_groups_and_a_foreign_state():
    model = _model()
    with pytest.raises(ValueError, match="more than one group"):
        AdamW([{"params": model.parameters()}, {"params": [model[0].weight]}])
    opt = AdamW(_groups(model))
    with pytest.raises(ValueError, match="different parameters"):
        opt.load_state_dict(AdamW([{"params": [torch.zeros(3, requires_grad=True)]}]).state_dict())


def _schedule_run(kind, ours: bool, steps=60, resume_at=None):
    """(rates after every step, final parameters) of Adam on a regression under a schedule; the plateau schedule
    is stepped every 3 steps with a loss that stalls; ``resume_at``: rebuilt from the state dicts there."""
    def build(model):
        if ours:
            opt = Adam(model.parameters(), lr=0.02)
            return opt, {"cosine": lambda: Cosine(opt, steps), "constant": lambda: Constant(opt),
                         "plateau": lambda: Plateau(opt, factor=0.5, patience=2, min_lr=1e-3)}[kind]()
        opt = torch.optim.Adam(model.parameters(), lr=0.02)
        return opt, {"cosine": lambda: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps),
                     "constant": lambda: torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0),
                     "plateau": lambda: torch.optim.lr_scheduler.ReduceLROnPlateau(
                         opt, mode="min", factor=0.5, patience=2, min_lr=1e-3)}[kind]()

    model = _model()
    opt, sched = build(model)
    x = torch.randn(32, 5, generator=torch.Generator().manual_seed(2))
    rates = []
    for s in range(steps):
        if s == resume_at:
            saved = (opt.state_dict(), sched.state_dict())
            opt, sched = build(model)
            opt.load_state_dict(saved[0])
            sched.load_state_dict(saved[1])
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
        if kind == "plateau":
            if s % 3 == 2:
                sched.step(1.0 / (1 + s) if s < 20 else 0.05 + 1e-7 * (s % 2))
        else:
            sched.step()
        rates.append(opt.param_groups[0]["lr"])
    return rates, model


@pytest.mark.parametrize("kind", ["cosine", "plateau", "constant"])
def test_schedules_equal_torch_bit_for_bit(kind):
    rates, model = _schedule_run(kind, ours=True)
    ref_rates, ref = _schedule_run(kind, ours=False)
    assert rates == ref_rates and _same(model, ref)
    assert len(set(rates)) == 1 if kind == "constant" else len(set(rates)) > 3  # the schedule did move
    resumed_rates, resumed = _schedule_run(kind, ours=True, resume_at=31)
    assert resumed_rates == rates and _same(resumed, model)


def test_cosine_recursion_is_not_the_closed_form():
    """Why Cosine keeps torch's recursion: the closed form rounds differently (so this test can fail)."""
    rates, _ = _schedule_run("cosine", ours=True, steps=300)
    closed = [0.02 * (1 + math.cos(math.pi * e / 300)) / 2 for e in range(1, 301)]
    assert rates != closed and max(abs(a - b) for a, b in zip(rates, closed)) < 1e-15


def test_training_with_them_never_imports_dynamo():
    code = ("import sys, torch\n"
            "from gapbench.train.optim import Adam, AdamW, Cosine, Plateau\n"
            "m = torch.nn.Linear(3, 1)\n"
            "for opt in (AdamW([{'params': m.parameters()}], lr=0.1), Adam(m.parameters(), lr=0.1)):\n"
            "    sched, plateau = Cosine(opt, 3), Plateau(opt, 0.5, 0)\n"
            "    for _ in range(3):\n"
            "        opt.zero_grad(); m(torch.ones(2, 3)).sum().backward()\n"
            "        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step(); sched.step(); plateau.step(1.0)\n"
            "    opt.load_state_dict(opt.state_dict())\n"
            "print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
