"""Training options of the PDE surrogates: the S4 block's GLU output map, the S4 parameters' optimiser group,
pushforward (unrolled) inputs, and the valid time with censoring."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gapbench.models.ffno import FFNO
from gapbench.models.memno import MemNO
from gapbench.models.memory import S4D
from gapbench.train.pde import TrainParams, param_groups, pushforward_inputs
from gapbench.train.pde_eval import per_trajectory, valid_time


def test_s4d_output_is_a_glu_of_the_gelu_of_the_convolution_by_hand():
    torch.manual_seed(0)
    layer = S4D(3, state_size=2, conv="direct")
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    with torch.no_grad():
        k = layer.kernel(5).double()                                   # (w, L)
        y = torch.zeros_like(x)
        for t in range(5):                                             # causal convolution, written out
            for s in range(t + 1):
                y[:, t] += k[:, t - s] * x[:, s]
            y[:, t] += layer.d.double() * x[:, t]
        g = F.gelu(y)
        w, b = layer.out[0].weight.double(), layer.out[0].bias.double()
        a = g @ w[:3].T + b[:3]
        gate = g @ w[3:].T + b[3:]
        expected = a * (1 / (1 + torch.exp(-gate)))                    # (S4-GLU)
        got = layer(x.float()).double()
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_ssm_parameters_get_their_own_group_without_weight_decay():
    torch.manual_seed(0)
    model = MemNO(1, width=4, n_layers=2, modes=3, state_size=2)
    s4 = model.memory.mixer
    groups = param_groups(model, TrainParams(lr=1e-2, weight_decay=0.1, ssm_lr=1e-3))
    assert len(groups) == 2
    ssm = groups[1]
    assert {id(p) for p in ssm["params"]} == {id(s4.log_dt), id(s4.log_a_real), id(s4.a_imag)}
    assert ssm["weight_decay"] == 0.0 and ssm["lr"] == ssm["peak_lr"] == 1e-3
    assert groups[0]["lr"] == 1e-2 and groups[0]["weight_decay"] == 0.1
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    # lr below the cap: the group keeps lr
    assert param_groups(model, TrainParams(lr=5e-4, ssm_lr=1e-3))[1]["peak_lr"] == 5e-4
    # ssm_lr = 0 or no S4 layer: one group
    assert len(param_groups(model, TrainParams(ssm_lr=0.0))) == 1
    assert len(param_groups(FFNO(1, width=4, n_layers=1, modes=3), TrainParams())) == 1
    # AdamW with zero gradients only decays: the SSM parameters stay, the others shrink
    opt = torch.optim.AdamW(groups, lr=1e-2, weight_decay=0.1)
    before = {id(p): p.detach().clone() for p in model.parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    assert all(torch.equal(p, before[id(p)]) for p in ssm["params"])
    assert not torch.equal(model.lift.weight, before[id(model.lift.weight)])


def test_pushforward_inputs_are_the_models_own_rollouts():
    """Markovian model, unroll k: input frame t is the min(t, k-1)-step rollout from observed frame t - (k-1)."""
    torch.manual_seed(0)
    model = FFNO(1, width=8, n_layers=2, modes=4)
    u = torch.randn(2, 6, 16)
    assert pushforward_inputs(model, u, 1) is u
    k = 3
    got = pushforward_inputs(model, u, k)
    torch.testing.assert_close(got[:, 0], u[:, 0])
    for t in range(1, 6):
        j = min(t, k - 1)
        expected = model.rollout(u[:, t - j], j)[:, -1]
        torch.testing.assert_close(got[:, t], expected, atol=1e-5, rtol=1e-5)
    assert not got.requires_grad


def test_valid_time_is_the_last_step_under_the_threshold_with_censoring():
    times = [0.1, 0.2, 0.3, 0.4]
    err = np.array([[0.1, 0.2, 0.6, 0.1],    # fails at t = 0.3: last good step 0.2 (a later recovery does not count)
                    [0.7, 0.1, 0.1, 0.1],    # fails at the first step: 0
                    [0.1, 0.1, 0.1, 0.5]])   # never above 0.5 (equal is not above): censored at t_H
    vt, censored = valid_time(err, times, 0.5)
    np.testing.assert_allclose(vt, [0.2, 0.0, 0.4])
    assert censored.tolist() == [False, False, True]
    vt, _ = valid_time(err, times, 0.5, t0=0.1)  # counted from the input frame's time
    np.testing.assert_allclose(vt, [0.1, 0.0, 0.3])
    traj = per_trajectory(err, times, 0.5)
    np.testing.assert_allclose(traj["nrmse"], err.mean(axis=1))
    np.testing.assert_allclose(traj["nrmse_final"], err[:, -1])


def test_unroll_must_be_positive():
    from gapbench.errors import ConfigError
    from gapbench.models.pde_registry import ModelHyper
    from gapbench.train.pde import RunParams, train_and_evaluate

    with pytest.raises(ConfigError, match="unroll must be >= 1"):
        train_and_evaluate(RunParams(data_dir="nowhere", model="ffno", seed=0, out="nowhere"), ModelHyper(),
                           TrainParams(unroll=0))
