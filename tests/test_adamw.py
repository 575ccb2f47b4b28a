"""gapbench's AdamW against torch.optim.AdamW, bit for bit on the CPU (both of torch's code paths), with groups,
a parameter left without a gradient, a rate changed every step, gradient clipping, and a resume from the state
dict; and the reason it exists: a training process that uses it never imports torch._dynamo."""

import subprocess
import sys

import pytest
import torch

from gapbench.train.adamw import AdamW


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.GELU(), torch.nn.Linear(16, 16), torch.nn.GELU(),
                               torch.nn.Linear(16, 1))


def _groups(model, lr=0.01):
    head = list(model[4].parameters())
    rest = [p for m in (model[0], model[2]) for p in m.parameters()]
    return [{"params": rest, "lr": lr, "peak_lr": lr, "weight_decay": 1e-3},
            {"params": head, "lr": lr / 3, "peak_lr": lr / 3, "weight_decay": 0.0}]


def _train(make_opt, steps=25, start=None, stop=None):
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


@pytest.mark.parametrize("foreach", [False, True])
def test_adamw_equals_torch_bit_for_bit(foreach):
    ours, _ = _train(lambda g: AdamW(g, lr=0.01, weight_decay=1e-3, foreach=foreach))
    ref, _ = _train(lambda g: torch.optim.AdamW(g, lr=0.01, weight_decay=1e-3, foreach=foreach))
    for a, b in zip(ours.parameters(), ref.parameters()):
        assert torch.equal(a, b)


def test_adamw_default_on_cpu_is_torch_default():
    ours, _ = _train(lambda g: AdamW(g, lr=0.01))
    ref, _ = _train(lambda g: torch.optim.AdamW(g, lr=0.01))
    assert all(torch.equal(a, b) for a, b in zip(ours.parameters(), ref.parameters()))


def test_adamw_resume_from_state_dict_is_exact():
    full, _ = _train(lambda g: AdamW(g, lr=0.01))
    half, opt = _train(lambda g: AdamW(g, lr=0.01), stop=11)
    saved = ({k: v.clone() for k, v in half.state_dict().items()}, opt.state_dict(), 11)
    resumed, _ = _train(lambda g: AdamW(g, lr=0.01), start=saved)
    assert all(torch.equal(a, b) for a, b in zip(full.parameters(), resumed.parameters()))
    assert not any(torch.equal(a, b) for a, b in zip(half.parameters(), full.parameters()))


def test_adamw_state_dict_loads_weights_only(tmp_path):
    _, opt = _train(lambda g: AdamW(g, lr=0.01), stop=3)
    torch.save(opt.state_dict(), tmp_path / "opt.pt")
    state = torch.load(tmp_path / "opt.pt", weights_only=True)
    assert state["t"] == opt.t and all(torch.equal(a, b) for a, b in zip(state["m"], opt.m))


def test_adamw_refuses_a_parameter_in_two_groups_and_a_foreign_state():
    model = _model()
    with pytest.raises(ValueError, match="more than one group"):
        AdamW([{"params": model.parameters()}, {"params": [model[0].weight]}])
    opt = AdamW(_groups(model))
    with pytest.raises(ValueError, match="different parameters"):
        opt.load_state_dict(AdamW([{"params": [torch.zeros(3, requires_grad=True)]}]).state_dict())


def test_training_with_it_never_imports_dynamo():
    code = ("import sys, torch\n"
            "from gapbench.train.adamw import AdamW\n"
            "m = torch.nn.Linear(3, 1); opt = AdamW([{'params': m.parameters()}], lr=0.1)\n"
            "for _ in range(3):\n"
            "    opt.zero_grad(); m(torch.ones(2, 3)).sum().backward()\n"
            "    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step()\n"
            "opt.load_state_dict(opt.state_dict())\n"
            "print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
