"""PDE surrogates (FFNO, MemNO and memory variants): shapes, causality, S4 modes, spectral layer, overfitting."""

from __future__ import annotations

import pytest
import torch

from gapbench.models.ffno import SpectralConv, dense_spectral_conv
from gapbench.models.memory import MemoryLayer, S4D
from gapbench.models.pde_registry import ModelHyper, build_model
from gapbench.registry import MIXERS, PDE_MODELS, family_of
from gapbench.train.pde_eval import relative_l2

torch.set_num_threads(1)

NETS = tuple(PDE_MODELS)  # ffno, ffno_window, memno, lstm, attention
SHAPES = {1: (16,), 2: (8, 8)}
WINDOW = 3  # frames the windowed control stacks in these tests


def _model(name: str, n_dims: int, **kw):
    torch.manual_seed(0)
    return build_model(name, n_dims, ModelHyper(width=16, n_layers=2, modes=4, **kw), window=WINDOW).eval()


@pytest.mark.parametrize("n_dims", [1, 2])
@pytest.mark.parametrize("name", NETS)
def test_shapes_and_step_equals_forward(name, n_dims):
    """forward (teacher forcing) and the step-by-step recurrent mode give the same outputs."""
    model = _model(name, n_dims)
    u = torch.randn(2, 6, *SHAPES[n_dims])
    with torch.no_grad():
        y = model(u)
        state = model.init_state(2, SHAPES[n_dims], "cpu")
        steps = []
        for t in range(u.shape[1]):
            out, state = model.step(u[:, t], state)
            steps.append(out)
    assert y.shape == u.shape
    torch.testing.assert_close(torch.stack(steps, 1), y, atol=1e-5, rtol=1e-5)
    assert model.rollout(u[:, 0], 4).shape == (2, 4, *SHAPES[n_dims])
    # rollout after a warm-up of 6 frames: its first frame is forward's last output, then each prediction feeds back
    with torch.no_grad():
        pred = model.rollout(u, 3)
        again = model(torch.cat([u, pred[:, :2]], dim=1))
    torch.testing.assert_close(pred, again[:, -3:], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", NETS)
def test_rollout_ingests_the_warm_up_frames_its_model_reads(name):
    """FFNO uses only the last warm-up frame, the windowed control the last WINDOW, a memory model all of them."""
    model = _model(name, 1)
    u = torch.randn(2, 8, 16)
    early, recent = u.clone(), u.clone()
    early[:, 1] += 1.0  # outside the window
    recent[:, 6] += 1.0  # inside the window, not the last frame
    with torch.no_grad():
        base, p_early, p_recent = (model.rollout(x, 2) for x in (u, early, recent))
    changed = {k: bool((p - base).abs().max() > 1e-4) for k, p in (("early", p_early), ("recent", p_recent))}
    if family_of(name) == "memory":
        assert changed == {"early": True, "recent": True}
    elif PDE_MODELS[name].window:
        assert changed == {"early": False, "recent": True}
    else:
        assert changed == {"early": False, "recent": False}


def test_window_model_reads_exactly_its_last_frames_and_repeats_the_first():
    """Output t of the windowed control depends on frames t-WINDOW+1..t; before frame WINDOW-1 frame 0 pads."""
    model = _model("ffno_window", 1)
    u = torch.randn(2, 10, 16)
    u2 = u.clone()
    u2[:, 5] += 1.0
    with torch.no_grad():
        y, y2 = model(u), model(u2)
        padded = model(torch.cat([u[:, :1].expand(-1, WINDOW - 1, -1), u[:, :2]], dim=1))
    moved = (y2 - y).abs().amax(dim=(0, 2))
    assert (moved[5 : 5 + WINDOW] > 1e-4).all() and (moved[:5] < 1e-6).all() and (moved[5 + WINDOW :] < 1e-6).all()
    torch.testing.assert_close(padded[:, -2:], y[:, :2], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", sorted(MIXERS))
def test_memory_mixers_are_causal(kind):
    """Perturbing input step t0 changes no output before t0 (FFT round-off aside) and changes output t0."""
    torch.manual_seed(0)
    layer = MemoryLayer(kind, 8, state_size=4, heads=2).eval()
    x = torch.randn(3, 12, 8)
    t0 = 7
    x2 = x.clone()
    x2[:, t0] += torch.randn(3, 8)
    with torch.no_grad():
        y, y2 = layer(x), layer(x2)
    assert (y2[:, :t0] - y[:, :t0]).abs().max() < 1e-5
    assert (y2[:, t0] - y[:, t0]).abs().max() > 1e-3


@pytest.mark.parametrize("position", [0, 1, 2])
@pytest.mark.parametrize("name", [n for n in NETS if family_of(n) == "memory"])
def test_memory_models_are_causal_in_time(name, position):
    """A whole MemNO (any memory, any position): prediction t uses frames <= t only."""
    model = _model(name, 1, memory_position=position)
    u = torch.randn(2, 10, 16)
    u2 = u.clone()
    u2[:, 6] += 1.0
    with torch.no_grad():
        y, y2 = model(u), model(u2)
    assert (y2[:, :6] - y[:, :6]).abs().max() < 1e-5
    assert (y2[:, 7:] - y[:, 7:]).abs().max() > 1e-4  # memory: later predictions see the change
    markov = _model("ffno", 1)
    with torch.no_grad():
        z, z2 = markov(u), markov(u2)
    torch.testing.assert_close(z2[:, 7:], z[:, 7:])  # no memory: only prediction 6 changes


@pytest.mark.parametrize("conv", ["fft", "direct"])
@pytest.mark.parametrize("length", [51, 512])
def test_s4_convolution_equals_recurrence(length, conv):
    """(S4-conv) by FFTs (and by the Toeplitz matmul) == (S4-rec) unrolled step by step, to 1e-5."""
    torch.manual_seed(1)
    s4 = S4D(8, state_size=16, conv=conv)
    with torch.no_grad():
        s4.log_dt.uniform_(-5, -1)
        x = torch.randn(4, length, 8)
        y_conv = s4(x)
        state = s4.init_state(4, "cpu")
        y_rec = []
        for t in range(length):
            y, state = s4.step(x[:, t], state)
            y_rec.append(y)
    assert (torch.stack(y_rec, 1) - y_conv).abs().max() < 1e-5


def test_s4_convolutions_agree_with_spatial_axes():
    """Both convolutions on (n, T, X, Y, w) inputs (MemNO's layout) give the same result."""
    torch.manual_seed(4)
    s4 = S4D(6, state_size=4)
    x = torch.randn(2, 20, 5, 3, 6)
    k = s4.kernel(20)
    torch.testing.assert_close(S4D.conv_direct(x, k), S4D.conv_fft(x, k), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("shape,modes", [((32,), 8), ((32,), 17), ((15,), 8), ((12, 10), 6), ((8, 16), 5)])
def test_spectral_layer_equals_dense_dft(shape, modes):
    """Eq. (FFNO-1) via rfft/irfft == explicit DFT matrices (incl. the Nyquist mode and odd sizes)."""
    torch.manual_seed(2)
    layer = SpectralConv(6, modes, len(shape))
    h = torch.randn(3, *shape, 6)
    with torch.no_grad():
        fast = layer(h).double()
    torch.testing.assert_close(fast, dense_spectral_conv(layer, h), atol=1e-5, rtol=1e-5)


def _toy_trajectories(n: int = 4, steps: int = 8, points: int = 16) -> torch.Tensor:
    """Travelling, decaying sine waves: a smooth map from frame to frame."""
    g = torch.Generator().manual_seed(3)
    x = torch.arange(points) * 2 * torch.pi / points
    t = torch.arange(steps) * 0.2
    out = torch.zeros(n, steps, points)
    for k in (1, 2, 3):
        a = torch.randn(n, 1, 1, generator=g)
        phi = torch.rand(n, 1, 1, generator=g) * 6.28
        out += a * torch.exp(-0.1 * k * t)[None, :, None] * torch.sin(k * (x[None, None] - 0.5 * t[None, :, None]) + phi)
    return out


@pytest.mark.parametrize("name", NETS)
def test_overfit_four_trajectories(name):
    """Every model drives the relative L2 one-step loss on 4 trajectories close to zero in 150 steps."""
    model = _model(name, 1, memory_position=1).train()
    u = _toy_trajectories()
    model.set_normalization(float(u.mean()), float(u.std()))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = relative_l2(model(u[:, :-1]), u[:, 1:], 1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.02, float(loss.detach())
