"""Factorized Fourier neural operator (FFNO, Tran et al. 2023), 1D and 2D, channels-last.

FFNO (docs/pde_models.md): per-dimension factorized spectral convolution, feed-forward block, residual,
lifting and projection. With ``h`` of shape ``(batch, *space, width)`` and ``F_d`` the real DFT along spatial
axis ``d`` (orthonormal), one layer is

    (K h) = sum_d  F_d^{-1}[ W_d(k) F_d[h](k)  for k < modes_d,  0 otherwise ]            (FFNO-1)
    h    <- h + FF(K h),        FF(z) = W_2 GELU(W_1 z + b_1) + b_2                          (FFNO-2)

where ``W_d(k)`` is a complex ``width x width`` matrix per retained mode (stored as a real tensor ``[..., 2]``).
Lifting: ``h_0 = P_in([u_t ; grid])``; projection: ``du = P_out(h_L)`` (two linear maps with a GELU), and the
next frame is ``u_{t+1} = u_t + sigma * du`` in data units (``mu, sigma``: training-set mean and std).

:class:`WindowFFNO` is the windowed Markovian control: the same stack lifted from the last ``window`` frames
stacked as channels, ``h_0 = P_in([u_{t-window+1}; ..; u_t; grid])`` (frames before the first one repeat it), so a
memory model's gain over it is not explained by "more frames help".
"""

from __future__ import annotations

import math

import torch
from torch import nn


class SpectralConv(nn.Module):
    """Eq. (FFNO-1): factorized spectral convolution over the ``n_dims`` spatial axes of a channels-last tensor.

    Args:
        width: channels in and out.
        modes: retained Fourier modes per axis (``k = 0 .. modes-1`` of the rfft); clipped to ``n//2 + 1``.
        n_dims: number of spatial axes (1 for KS, 2 for NS).
    """

    def __init__(self, width: int, modes: int, n_dims: int):
        super().__init__()
        self.width, self.modes, self.n_dims = width, modes, n_dims
        self.weight = nn.ParameterList(
            [nn.Parameter(torch.empty(width, width, modes, 2)) for _ in range(n_dims)]
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for w in self.weight:  # F-FNO's init: Xavier normal on the (in, out, modes, 2) tensor
            nn.init.xavier_normal_(w)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        dtype = h.dtype
        h = h.float()  # FFTs in float32 (no bf16 FFT); autocast regions hand us bf16 otherwise
        out = None
        for d in range(self.n_dims):
            axis = d - self.n_dims - 1  # spatial axis d of (batch, *space, width), counted from the end
            n = h.shape[axis]
            m = min(self.modes, n // 2 + 1)
            h_ft = torch.fft.rfft(h, dim=axis, norm="ortho").narrow(axis, 0, m)
            w = torch.view_as_complex(self.weight[d][:, :, :m].float().contiguous())  # (in, out, m)
            if axis != -2:  # bring the mode axis next to the channels: (..., m, in)
                h_ft = h_ft.movedim(axis, -2)
            y_ft = torch.einsum("...ki,iok->...ko", h_ft, w)
            if axis != -2:
                y_ft = y_ft.movedim(-2, axis)
            # irfft zero-pads the spectrum from m to n // 2 + 1 modes
            y = torch.fft.irfft(y_ft, n=n, dim=axis, norm="ortho")
            out = y if out is None else out + y
        return out.to(dtype)


class FeedForward(nn.Module):
    """Eq. (FFNO-2)'s ``FF``: pointwise two-layer MLP, ``width -> factor*width -> width``."""

    def __init__(self, width: int, factor: int = 2):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(width, factor * width), nn.GELU(), nn.Linear(factor * width, width))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


class FFNOLayer(nn.Module):
    """One residual FFNO layer, eq. (FFNO-2): ``h + FF(K h)``."""

    def __init__(self, width: int, modes: int, n_dims: int, ff_factor: int = 2):
        super().__init__()
        self.spectral = SpectralConv(width, modes, n_dims)
        self.ff = FeedForward(width, ff_factor)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.ff(self.spectral(h))


def grid(shape: tuple[int, ...], device, dtype) -> torch.Tensor:
    """Periodic grid coordinates in ``[0, 1)`` per axis, shape ``(*shape, len(shape))``."""
    axes = [torch.arange(n, device=device, dtype=dtype) / n for n in shape]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)


class FFNO(nn.Module):
    """Markovian FFNO surrogate: ``u_{t+1} = G(u_t)`` (lifting, ``n_layers`` FFNO layers, projection).

    The common surrogate interface (shared with :class:`gapbench.models.memno.MemNO`):

    * ``forward(u)``: ``u`` of shape ``(batch, time, *space)`` -> predictions of frames ``1..time`` (same
      shape), frame ``t+1`` predicted from frames ``<= t`` (teacher forcing; here from frame ``t`` alone);
    * ``init_state(batch, shape, device)`` and ``step(u_t, state) -> (u_{t+1}, state)`` for rollout;
    * ``rollout(context, n_steps)`` -> ``(batch, n_steps, *space)``: the frames after the observed warm-up frames
      ``context (batch, W, *space)``; the model ingests the last :attr:`context_frames` of them (None: all).

    Args:
        n_dims: 1 (KS) or 2 (NS). width: channels. n_layers: FFNO layers. modes: Fourier modes per axis.
        ff_factor: hidden expansion of the feed-forward block.
    """

    # Warm-up frames the rollout feeds through ``step`` before predicting: FFNO needs only the last one.
    context_frames: int | None = 1

    def __init__(self, n_dims: int, width: int = 32, n_layers: int = 4, modes: int = 16, ff_factor: int = 2,
                 in_frames: int = 1):
        super().__init__()
        if n_dims not in (1, 2):
            raise ValueError(f"n_dims must be 1 or 2, got {n_dims}")
        self.n_dims, self.width, self.n_layers, self.modes = n_dims, width, n_layers, modes
        self.lift = nn.Linear(in_frames + n_dims, width)
        self.layers = nn.ModuleList([FFNOLayer(width, modes, n_dims, ff_factor) for _ in range(n_layers)])
        self.project = nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.Linear(width, 1))
        # data normalisation (set from the training set by `set_normalization`, saved in the state dict)
        self.register_buffer("mu", torch.zeros(()))
        self.register_buffer("sigma", torch.ones(()))

    @torch.no_grad()
    def set_normalization(self, mu: float, sigma: float) -> None:
        self.mu.fill_(float(mu))
        self.sigma.fill_(float(sigma) if sigma > 0 else 1.0)

    # -- pieces shared with MemNO ------------------------------------------------------------------
    def encode(self, u: torch.Tensor) -> torch.Tensor:
        """``(n, *space)`` frames (or ``(n, *space, k)``: ``k`` frames as channels) -> features ``(n, *space, width)``."""
        z = (u - self.mu) / self.sigma
        z = z.unsqueeze(-1) if z.ndim == self.n_dims + 1 else z
        g = grid(tuple(z.shape[1:-1]), u.device, z.dtype).expand(*z.shape[:-1], self.n_dims)
        return self.lift(torch.cat([z, g], dim=-1))

    def decode(self, h: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Features ``(n, *space, width)`` and current frames ``u`` -> next frames (residual in data units)."""
        return u + self.sigma * self.project(h).squeeze(-1).to(u.dtype)

    # -- surrogate interface --------------------------------------------------------------------------
    def forward(self, u: torch.Tensor) -> torch.Tensor:
        b, t = u.shape[:2]
        frames = u.reshape(b * t, *u.shape[2:])
        h = self.encode(frames)
        for layer in self.layers:
            h = layer(h)
        return self.decode(h, frames).reshape(u.shape)

    def init_state(self, batch: int, shape: tuple[int, ...], device) -> None:
        return None

    def step(self, u_t: torch.Tensor, state):
        return self.forward(u_t.unsqueeze(1)).squeeze(1), state

    @torch.no_grad()
    def rollout(self, context: torch.Tensor, n_steps: int) -> torch.Tensor:
        """Autoregressive rollout after the observed frames ``context (batch, W, *space)`` (or one frame
        ``(batch, *space)``): the last :attr:`context_frames` of them pass through ``step`` (the memory or the
        window fills), then each prediction is fed back; returns the next ``n_steps`` frames ``(batch, n_steps,
        *space)``."""
        if context.ndim == self.n_dims + 1:
            context = context.unsqueeze(1)
        keep = context.shape[1] if self.context_frames is None else min(self.context_frames, context.shape[1])
        context = context[:, context.shape[1] - keep:]
        state = self.init_state(context.shape[0], tuple(context.shape[2:]), context.device)
        for k in range(keep):
            u, state = self.step(context[:, k], state)
        out = [u]
        for _ in range(n_steps - 1):
            u, state = self.step(u, state)
            out.append(u)
        return torch.stack(out, dim=1)


class WindowFFNO(FFNO):
    """The windowed Markovian control (module docstring): ``u_{t+1} = u_t + sigma * G([u_{t-window+1} .. u_t])``,
    frames before the first repeating it, in training (``forward``) and rollout (``step``) alike. The rollout
    state is the window itself, ``(batch, window, *space)``."""

    def __init__(self, n_dims: int, width: int = 32, n_layers: int = 4, modes: int = 16, ff_factor: int = 2,
                 window: int = 1):
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        super().__init__(n_dims, width, n_layers, modes, ff_factor, in_frames=window)
        self.window = window
        self.context_frames = window

    def _stack(self, u: torch.Tensor) -> torch.Tensor:
        """``(b, t, *space)`` -> ``(b, t, *space, window)``: channel ``j`` of time ``t`` is frame
        ``max(t - window + 1 + j, 0)``."""
        t = u.shape[1]
        idx = (torch.arange(t, device=u.device)[:, None] + torch.arange(self.window, device=u.device)[None, :]
               - self.window + 1).clamp_min(0)                                 # (t, window)
        return u[:, idx].movedim(2, -1)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        b, t = u.shape[:2]
        frames = u.reshape(b * t, *u.shape[2:])
        h = self.encode(self._stack(u).reshape(b * t, *u.shape[2:], self.window))
        for layer in self.layers:
            h = layer(h)
        return self.decode(h, frames).reshape(u.shape)

    def step(self, u_t: torch.Tensor, state):
        if state is None:
            state = u_t.unsqueeze(1).expand(-1, self.window, *u_t.shape[1:])
        state = torch.cat([state[:, 1:], u_t.unsqueeze(1)], dim=1)
        h = self.encode(state.movedim(1, -1))
        for layer in self.layers:
            h = layer(h)
        return self.decode(h, u_t), state


def dense_spectral_conv(layer: SpectralConv, h: torch.Tensor) -> torch.Tensor:
    """Reference for eq. (FFNO-1) with explicit DFT matrices (O(n^2) per axis; used by the tests).

    For axis ``d`` with ``n`` points: ``a_k = sum_x h(x) e^{-2 pi i k x / n} / sqrt(n)`` for ``k < m``, then
    ``y(x) = (1/sqrt(n)) * sum_k c_k Re(b_k e^{2 pi i k x / n})`` with ``b_k = W_d(k)^T a_k`` and ``c_k = 1``
    for ``k = 0`` and the Nyquist mode, ``2`` otherwise (the real inverse of a half spectrum; the imaginary
    parts of ``b_0`` and ``b_{n/2}`` are dropped, as ``irfft`` does).
    """
    h = h.double()
    out = torch.zeros_like(h)
    for d in range(layer.n_dims):
        axis = 1 + d
        n = h.shape[axis]
        m = min(layer.modes, n // 2 + 1)
        x = torch.arange(n, dtype=torch.float64)
        k = torch.arange(m, dtype=torch.float64)
        phase = 2 * math.pi * torch.outer(k, x) / n                       # (m, n)
        fwd = torch.exp(-1j * phase) / math.sqrt(n)                       # (m, n)
        hm = h.movedim(axis, -2).to(torch.complex128)                     # (..., n, width)
        a = torch.einsum("kx,...xi->...ki", fwd, hm)                      # (..., m, width)
        w = torch.view_as_complex(layer.weight[d][:, :, :m].detach().double().contiguous())
        b = torch.einsum("...ki,iok->...ko", a, w)
        c = torch.full((m,), 2.0, dtype=torch.float64)
        c[0] = 1.0
        if n % 2 == 0 and m == n // 2 + 1:
            c[-1] = 1.0
        inv = torch.exp(1j * phase).T / math.sqrt(n)                      # (n, m)
        y = torch.einsum("xk,...ko->...xo", inv * c, b).real
        out = out + y.movedim(-2, axis)
    return out
