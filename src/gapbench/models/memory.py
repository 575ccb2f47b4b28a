"""Causal memory mixers along time: diagonal S4 (S4D), LSTM and causal self-attention.

Every mixer maps sequences ``x`` of shape ``(n, T, ..., width)`` (time on axis 1, one independent sequence per
index of the middle axes) to the same shape, causally (output ``t`` depends on inputs ``<= t`` only), and has
two equivalent modes:

* ``forward(x)`` - the whole sequence at once (training, teacher forcing);
* ``init_state(n, device)`` + ``step(x_t, state) -> (y_t, state)`` - one time step of ``n`` sequences,
  ``x_t`` of shape ``(n, width)`` (autoregressive rollout).

In MemNO (docs/pde_models.md) the sequences are the feature vectors of one spatial point over time:
``(b, t, *space, h)``, i.e. ``(b * prod(space), t, h)`` sequences. S4D convolves along axis 1 in place; LSTM
and attention fold the spatial axes into the batch. :class:`MemoryLayer` wraps a mixer as a pre-norm residual
block ``x + mixer(LayerNorm(x))``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class S4D(nn.Module):
    """Diagonal state-space layer (S4D, Gu et al. 2022), one SSM per channel, ZOH discretisation.

    Per channel ``c`` with ``P`` complex modes ``A_p = -exp(a_p) + i w_p`` (S4D-Lin init ``a = log 1/2``,
    ``w_p = pi p``), step ``dt = exp(log_dt)``, ``B = 1`` and output weights ``C_p``:

        s_t = exp(dt A) * s_{t-1} + x_t,      y_t = 2 Re( sum_p Cbar_p s_{t,p} ) + D x_t            (S4-rec)
        y   = K * x + D x,   K_l = 2 Re( sum_p Cbar_p exp(dt A_p)^l ),   Cbar = C (exp(dt A) - 1) / A   (S4-conv)

    (S4-conv) is the causal convolution the recurrence (S4-rec) unrolls to. Training evaluates it at once,
    either with FFTs of length ``2T`` (no wrap-around; ``O(T log T)``) or, for short sequences, as one batched
    matmul with the ``T x T`` lower-triangular Toeplitz matrix of ``K`` (``O(T^2)`` but no strided FFTs: on CPU at
    ``T = 50`` it is ~3x faster, see docs/pde_models.md). Rollout uses (S4-rec), ``O(1)`` work per step. All
    three agree to float32 round-off (tests). Output map (the S4 reference's, a GLU over a pointwise linear map):

        out_t = (W_a g_t + b_a) * sigmoid(W_b g_t + b_b),   g_t = GELU(y_t)                          (S4-GLU)

    The SSM parameters ``log_dt``, ``log_a_real`` and ``a_imag`` (:meth:`ssm_parameters`) are trained as the
    reference trains them: in their own optimiser group, without weight decay and at a learning rate of at most
    ``1e-3`` (``train.pde.{eq}.ssm_lr``, ``gapbench.train.pde``); ``C``, ``D`` and the output map are ordinary.

    Args:
        width: channels. state_size: complex modes ``P`` per channel. dt_min, dt_max: range of the
        log-uniform initial step. conv: ``"fft"``, ``"direct"`` or ``"auto"`` (direct up to
        ``direct_max_length`` steps, FFT beyond).
    """

    direct_max_length = 128

    def __init__(self, width: int, state_size: int = 32, dt_min: float = 1e-3, dt_max: float = 1e-1,
                 conv: str = "auto"):
        super().__init__()
        if conv not in ("auto", "fft", "direct"):
            raise ValueError(f"conv must be auto, fft or direct, got {conv!r}")
        self.width, self.state_size, self.conv = width, state_size, conv
        log_dt = torch.rand(width) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        self.log_dt = nn.Parameter(log_dt)
        self.log_a_real = nn.Parameter(torch.full((width, state_size), math.log(0.5)))
        self.a_imag = nn.Parameter(math.pi * torch.arange(state_size, dtype=torch.float32).repeat(width, 1))
        self.c = nn.Parameter(torch.randn(width, state_size, 2) * math.sqrt(0.5))
        self.d = nn.Parameter(torch.randn(width))
        self.out = nn.Sequential(nn.Linear(width, 2 * width), nn.GLU(dim=-1))   # (S4-GLU)

    def ssm_parameters(self) -> list[nn.Parameter]:
        """The state-space parameters (step and state matrix), optimised in their own group."""
        return [self.log_dt, self.log_a_real, self.a_imag]

    def _discrete(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(dt A, exp(dt A), Cbar)``, each complex ``(width, P)``."""
        dt = torch.exp(self.log_dt.float()).unsqueeze(-1)
        a = torch.complex(-torch.exp(self.log_a_real.float()), self.a_imag.float())
        dta = dt * a
        abar = torch.exp(dta)
        cbar = torch.view_as_complex(self.c.float().contiguous()) * (abar - 1.0) / a
        return dta, abar, cbar

    def kernel(self, length: int) -> torch.Tensor:
        """Convolution kernel ``K`` of (S4-conv), real ``(width, length)``."""
        dta, _, cbar = self._discrete()
        powers = torch.exp(dta.unsqueeze(-1) * torch.arange(length, device=dta.device))  # (w, P, L)
        return 2.0 * torch.einsum("wp,wpl->wl", cbar, powers).real

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` of shape ``(n, T, ..., width)``: time on axis 1, any axes between."""
        dtype = x.dtype
        x = x.float()
        length = x.shape[1]
        # the skip D x is the lag-0 tap: K'_0 = K_0 + D, one convolution computes K * x + D x
        k = self.kernel(length) + F.pad(self.d.float().unsqueeze(-1), (0, length - 1))   # (w, L)
        use_fft = self.conv == "fft" or (self.conv == "auto" and length > self.direct_max_length)
        y = F.gelu(self.conv_fft(x, k)) if use_fft else self.conv_direct(x, k, F.gelu)
        return self.out(y.to(dtype))

    @staticmethod
    def conv_fft(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """Causal convolution along axis 1 of ``x (n, L, ..., w)`` with ``k (w, L)`` by FFTs of length ``2L``."""
        length = x.shape[1]
        kf = torch.fft.rfft(k.T, n=2 * length, dim=0)                    # (L+1, w)
        kf = kf.reshape(kf.shape[0], *([1] * (x.ndim - 3)), kf.shape[1])
        xf = torch.fft.rfft(x, n=2 * length, dim=1)                      # (n, L+1, ..., w)
        return torch.fft.irfft(xf * kf, n=2 * length, dim=1).narrow(1, 0, length)

    @staticmethod
    def conv_direct(x: torch.Tensor, k: torch.Tensor, activation=None) -> torch.Tensor:
        """The same convolution as one batched matmul with the lower-triangular Toeplitz matrices of ``k``.

        ``activation`` (elementwise) is applied before the result is permuted back, on contiguous memory.
        """
        length = x.shape[1]
        t = torch.arange(length, device=x.device)
        lag = t[:, None] - t[None, :]                                    # (L, L): t - s
        toeplitz = k[:, lag.clamp_min(0)] * (lag >= 0)                   # (w, L, L), zero above the diagonal
        perm = (x.ndim - 1, 1, 0, *range(2, x.ndim - 1))                 # (w, L, n, ...)
        xs = x.permute(perm)
        y = torch.bmm(toeplitz, xs.reshape(xs.shape[0], length, -1)).reshape(xs.shape)
        if activation is not None:
            y = activation(y)
        inverse = [perm.index(i) for i in range(x.ndim)]
        return y.permute(inverse)

    def init_state(self, n: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        """Real and imaginary parts of ``s``, each ``(n, width, P)``, zero."""
        z = torch.zeros(n, self.width, self.state_size, device=device)
        return (z, z.clone())

    def step(self, x_t: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        """(S4-rec) for one step, in real arithmetic on ``(Re s, Im s)`` (faster than complex tensors on CPU)."""
        dtype = x_t.dtype
        x_t = x_t.float()
        _, abar, cbar = self._discrete()
        a_re, a_im = abar.real.contiguous(), abar.imag.contiguous()
        s_re, s_im = state
        s_re, s_im = torch.addcmul(x_t.unsqueeze(-1) - a_im * s_im, a_re, s_re), torch.addcmul(a_im * s_re, a_re, s_im)
        y = 2.0 * ((cbar.real.contiguous() * s_re).sum(-1) - (cbar.imag.contiguous() * s_im).sum(-1)) + self.d * x_t
        return self.out(F.gelu(y).to(dtype)), (s_re, s_im)


def _per_point(fn, x: torch.Tensor) -> torch.Tensor:
    """Apply a sequence map ``(N, T, w) -> (N, T, w)`` to ``x (n, T, ..., w)``, one sequence per middle index."""
    if x.ndim == 3:
        return fn(x)
    n, t, w = x.shape[0], x.shape[1], x.shape[-1]
    seq = x.reshape(n, t, -1, w).transpose(1, 2).reshape(-1, t, w)
    y = fn(seq)
    return y.reshape(n, -1, t, w).transpose(1, 2).reshape(x.shape)


class LSTMMixer(nn.Module):
    """LSTM memory (MemNO's ablation): ``y_t = W h_t``, ``(h_t, c_t) = LSTM(x_t, (h_{t-1}, c_{t-1}))``."""

    def __init__(self, width: int):
        super().__init__()
        self.width = width
        self.lstm = nn.LSTM(width, width, batch_first=True)
        self.out = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _per_point(lambda seq: self.out(self.lstm(seq)[0]), x)

    def init_state(self, n: int, device):
        z = torch.zeros(1, n, self.width, device=device)
        return (z, z.clone())

    def step(self, x_t: torch.Tensor, state):
        y, state = self.lstm(x_t.unsqueeze(1), state)
        return self.out(y.squeeze(1)), state


def sinusoidal(positions: torch.Tensor, width: int) -> torch.Tensor:
    """Transformer position code ``[sin(t w_j), cos(t w_j)]``, ``w_j = 10000^{-2j/width}``: ``(T, width)``."""
    half = width // 2
    freq = torch.exp(-math.log(10000.0) * torch.arange(half, device=positions.device) / max(half, 1))
    ang = positions.float().unsqueeze(-1) * freq
    pe = torch.cat([torch.sin(ang), torch.cos(ang)], dim=-1)
    return F.pad(pe, (0, width - 2 * half))


class CausalAttention(nn.Module):
    """Causal multi-head self-attention over time (the seed's SSM-vs-Transformer question).

    ``y_t = W_o sum_{s <= t} softmax_s(q_t . k_s / sqrt(d)) v_s`` with ``q, k, v`` linear maps of
    ``x_s + PE(s)`` (sinusoidal positions). Rollout keeps a key/value cache: step ``t`` costs ``O(t)``.
    """

    def __init__(self, width: int, heads: int = 4):
        super().__init__()
        if width % heads:
            raise ValueError(f"attention width {width} is not divisible by heads {heads}")
        self.width, self.heads = width, heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def _split(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        n, t, _ = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        return tuple(z.reshape(n, t, self.heads, -1).transpose(1, 2) for z in (q, k, v))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _per_point(self._sequences, x)

    def _sequences(self, x: torch.Tensor) -> torch.Tensor:
        n, t, w = x.shape
        x = x + sinusoidal(torch.arange(t, device=x.device), w).to(x.dtype)
        q, k, v = self._split(x)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(n, t, w))

    def init_state(self, n: int, device):
        empty = torch.zeros(n, self.heads, 0, self.width // self.heads, device=device)
        return (empty, empty.clone())

    def step(self, x_t: torch.Tensor, state):
        k_cache, v_cache = state
        pos = torch.tensor([k_cache.shape[2]], device=x_t.device)
        x = x_t.unsqueeze(1) + sinusoidal(pos, self.width).to(x_t.dtype)
        q, k, v = self._split(x)
        k_cache = torch.cat([k_cache, k.to(k_cache.dtype)], dim=2)
        v_cache = torch.cat([v_cache, v.to(v_cache.dtype)], dim=2)
        y = F.scaled_dot_product_attention(q, k_cache.to(q.dtype), v_cache.to(q.dtype))
        return self.out(y.transpose(1, 2).reshape(x_t.shape[0], self.width)), (k_cache, v_cache)


class MemoryLayer(nn.Module):
    """Pre-norm residual memory block: ``x + mixer(LayerNorm(x))`` (causal in time).

    ``kind`` names a mixer of :data:`gapbench.registry.MIXERS` (the three above are registered there as ``s4``,
    ``lstm`` and ``attention``); the mixer receives the settings it registered, from ``state_size`` and ``heads``,
    and its ``own`` settings (a plugin's; defaults for those not given).
    """

    def __init__(self, kind: str, width: int, state_size: int = 32, heads: int = 4, own: dict | None = None):
        super().__init__()
        from gapbench.registry import MIXERS

        if kind not in MIXERS:
            raise ValueError(f"unknown memory kind {kind!r}; known: {', '.join(MIXERS)}")
        self.kind = kind
        self.norm = nn.LayerNorm(width)
        self.mixer = MIXERS[kind].make(width, own, state_size=state_size, heads=heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mixer(self.norm(x))

    def init_state(self, n: int, device):
        return self.mixer.init_state(n, device)

    def step(self, x_t: torch.Tensor, state):
        y, state = self.mixer.step(self.norm(x_t), state)
        return x_t + y, state
