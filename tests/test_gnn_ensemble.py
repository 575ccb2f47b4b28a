"""An ensemble of K graph models trains bit for bit as each member alone (gapbench.models.ensemble,
gapbench.train.ensemble): float64, CPU, one thread, torch.equal on every parameter and loss."""

from __future__ import annotations

import pytest
import torch

from gapbench.models import ensemble as E
from gapbench.models.gnn import build_model
from gapbench.train.ensemble import StackedAdam, train_step

torch.set_num_threads(1)
K, STEPS = 4, 3
LR = torch.full((K,), 1e-2, dtype=torch.float64)


@pytest.fixture(scope="module")
def planted():
    from gapbench.graphs import planted
    from gapbench.train.graph_batches import GraphBatches
    from gapbench.train.graph_tasks import task_for

    splits, meta, _ = planted.make(planted.PlantedStarParams(leaves=8, depth=2, n_graphs=40))
    task = task_for(meta, splits["train"])
    data = GraphBatches(splits["train"], task, "cpu")
    data.x, data.y = [x.double() for x in data.x], [y.double() for y in data.y]
    return task, data.feature_info(), data


def models(name, info, task, seeds, **kw):
    out, width = [], kw.pop("width", 16)
    for seed in seeds:
        torch.manual_seed(seed)
        out.append(build_model(name, info["in_dim"], task.out_dim, depth=2, width=width,
                               level=task.level, **kw).double())
    return out


def train(members, lrs, task, data, weight_decay=0.0):
    """The members trained as one ensemble for STEPS steps: its final member states and the losses ``[steps, K]``."""
    ens = E.stack(members)
    opt = StackedAdam(ens.parameters(), lrs, weight_decay=weight_decay)
    batches = list(data.batches(8, torch.Generator().manual_seed(0), copies=len(members)))[:STEPS]
    losses = torch.stack([train_step(ens, opt, task, b) for b in batches])
    return [E.member_state(ens, k) for k in range(len(members))], losses


def assert_members_alone_equal(members, lrs, task, data, weight_decay=0.0):
    together, losses = train(members, lrs, task, data, weight_decay)
    for k, member in enumerate(members):
        alone, alone_losses = train([member], lrs[k:k + 1], task, data, weight_decay)
        assert torch.equal(losses[:, k], alone_losses[:, 0]), f"member {k}: losses differ"
        for name, value in alone[0].items():
            assert torch.equal(together[k][name], value), f"member {k}: {name} differs"
        assert any(not torch.equal(value, member.state_dict()[name]) for name, value in alone[0].items())  # trained


@pytest.mark.parametrize("name", ["node_gcn", "edge_gcn", "deepsets", "node_sage"])
def test_members_with_different_seeds_train_as_alone(planted, name):
    task, info, data = planted
    assert_members_alone_equal(models(name, info, task, range(K)), LR, task, data)


@pytest.mark.parametrize("name", ["node_gcn", "edge_gcn", "deepsets"])
def test_members_with_different_learning_rates_train_as_alone(planted, name):
    task, info, data = planted
    lrs = torch.tensor([3e-2, 1e-2, 3e-3, 1e-3], dtype=torch.float64)
    members = models(name, info, task, [0] * K)
    assert_members_alone_equal(members, lrs, task, data)
    together, _ = train(members, lrs, task, data)
    assert not torch.equal(together[0]["head.0.weight"], together[1]["head.0.weight"])  # the rates mattered


def test_members_with_weight_decay_train_as_alone(planted):
    task, info, data = planted
    members = models("node_gcn", info, task, range(K), width=5)
    assert_members_alone_equal(members, LR, task, data, weight_decay=0.1)


@pytest.mark.parametrize("kw", [dict(reduce="max", pool="sum", width=8, head_layers=2),
                                dict(reduce="sum", pool="max", width=24, activation="tanh")])
def test_other_aggregates_widths_and_heads_train_as_alone(planted, kw):
    task, info, data = planted
    members = models("edge_gcn", info, task, range(K), **kw)
    assert_members_alone_equal(members, LR, task, data)


@pytest.mark.parametrize("activation,width", [("relu", 2), ("relu", 5), ("relu", 10), ("tanh", 5), ("gelu", 5),
                                              ("silu", 10)])
@pytest.mark.parametrize("name", ["node_gcn", "edge_gcn", "deepsets"])
def test_every_activation_at_small_widths_trains_as_alone(planted, name, activation, width):
    """Widths whose weight blocks are not multiples of 64 bytes (the aligned weight gradient) and inexact
    activations (applied member by member)."""
    task, info, data = planted
    members = models(name, info, task, range(K), width=width, activation=activation)
    assert_members_alone_equal(members, LR, task, data)


def test_inexact_activations_applied_across_members_break_the_equality(planted, monkeypatch):
    """The sentinel of MemberwiseActivation: gelu over the K copies at once (vector code on one member's last
    elements, scalar code on another's) makes members differ from alone."""
    monkeypatch.setattr(E, "INEXACT_ACTIVATIONS", ())
    task, info, data = planted
    with pytest.raises(AssertionError, match="differ"):
        assert_members_alone_equal(models("node_gcn", info, task, range(K), width=5, activation="gelu"),
                                   LR, task, data)


@pytest.mark.parametrize("name", ["node_gcn", "edge_gcn"])
def test_members_with_edge_features_train_as_alone(planted, name):
    """Float edge features (3 per edge entry), shared by the K copies, projected by each member's own weights."""
    import copy

    task, info, data = planted
    data = copy.copy(data)
    gen = torch.Generator().manual_seed(1)
    data.ea = [torch.randn(ei.shape[1], 3, generator=gen, dtype=torch.float64) for ei in data.ei]
    data.has_edge_attr = True
    members = models(name, info, task, range(K), edge_dim=3)
    assert_members_alone_equal(members, LR, task, data)
    together, _ = train(members, LR, task, data)
    edge = [n for n in together[0] if n.startswith(("edge_proj", "edge_embed"))]
    assert edge and all(not torch.equal(together[0][n], members[0].state_dict()[n]) for n in edge)  # used


def test_an_ensemble_of_one_is_the_model_trained_with_torch_adam(planted):
    """The ensemble computes the model itself: one member matches nn.Module + torch.optim.Adam (to rounding)."""
    from gapbench.train.graph_tasks import loss_fn

    task, info, data = planted
    member = models("edge_gcn", info, task, [0])[0]
    (state,), losses = train([member], torch.tensor([1e-2], dtype=torch.float64), task, data)
    opt = torch.optim.Adam(member.parameters(), lr=1e-2)
    batches = list(data.batches(8, torch.Generator().manual_seed(0)))[:STEPS]
    for i, (x, ei, b, ea, ng, y, mask) in enumerate(batches):
        opt.zero_grad()
        loss = loss_fn(task, member(x, ei, b, ea, ng), y, mask)
        loss.backward()
        opt.step()
        assert float(loss) == pytest.approx(float(losses[i, 0]), rel=1e-12)
    for name, value in member.state_dict().items():
        torch.testing.assert_close(state[name], value, rtol=1e-10, atol=1e-12)


def test_a_batch_dependent_matrix_vector_product_breaks_the_equality(planted, monkeypatch):
    """The sentinel: bmm for the width-1 head (its kernel depends on K) makes members differ from alone."""
    def forward(self, x):  # StackedLinear.forward with bmm for out == 1 too
        K, out, inp = self.weight.shape
        y = torch.bmm(x.view(K, -1, inp), self.weight.transpose(1, 2)) + self.bias.unsqueeze(1)
        return y.view(-1, out)

    monkeypatch.setattr(E.StackedLinear, "forward", forward)
    task, info, data = planted
    with pytest.raises(AssertionError, match="differ"):
        assert_members_alone_equal(models("node_gcn", info, task, range(K)), LR, task, data)


def test_packed_weight_gradients_break_the_equality(planted, monkeypatch):
    """The sentinel of the aligned weight gradient: width 5's 5 x 5 blocks packed back to back (200 bytes apart)
    give members 1 and 3 other weight gradients than alone."""
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        return torch.bmm(grad, weight), torch.bmm(grad.transpose(1, 2), x)

    monkeypatch.setattr(E._StackedMatmul, "backward", staticmethod(backward))
    task, info, data = planted
    with pytest.raises(AssertionError, match="member [13]: layers.* differs"):
        assert_members_alone_equal(models("node_gcn", info, task, range(K), width=5),
                                   LR, task, data)


def test_unsupported_members_are_refused(planted):
    task, info, _ = planted
    with pytest.raises(ValueError, match="dropout"):
        E.stack(models("node_gcn", info, task, [0, 1], dropout=0.1))
    with pytest.raises(ValueError, match="LayerNorm"):
        E.stack(models("node_gcn", info, task, [0, 1], norm="layer"))
    with pytest.raises(ValueError, match="not one of"):
        E.stack(models("edge_gcn_directed", info, task, [0, 1]))
