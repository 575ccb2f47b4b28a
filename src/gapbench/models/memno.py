"""MemNO (S4-FFNO, Buitrago Ruiz et al. 2024) and its memory variants: the FFNO stack with one memory layer.

MemNO (docs/pde_models.md): with ``h_t`` the features of frame ``t`` after the first ``memory_position`` FFNO layers,

    (b, t, *space, h) -> (b * prod(space), t, h),   h <- MemoryLayer(h)   (causal along t),   -> back    (MemNO)

then the remaining FFNO layers and the projection act on each frame separately. Output ``t`` is the model's
next frame ``u_{t+1}`` given the observed history ``u_0 .. u_t`` (a non-Markovian closure, Mori-Zwanzig).
``memory_position`` counts the FFNO layers before the memory layer: ``0`` = right after lifting,
``n_layers`` = right before the projection.
"""

from __future__ import annotations

import torch

from gapbench.models.ffno import FFNO
from gapbench.models.memory import MemoryLayer


class MemNO(FFNO):
    """FFNO + one causal memory layer (``memory`` in ``s4`` (MemNO), ``lstm``, ``attention``).

    Same interface as :class:`FFNO`; ``step`` carries the memory state (S4 recurrence, LSTM cell,
    attention key/value cache) so rollout costs one frame's work per step (``O(t)`` for attention). The rollout
    ingests every warm-up frame (``context_frames`` None).
    """

    context_frames = None

    def __init__(self, n_dims: int, width: int = 32, n_layers: int = 4, modes: int = 16, ff_factor: int = 2,
                 memory: str = "s4", memory_position: int = 1, state_size: int = 32, heads: int = 4,
                 mixer: dict | None = None):
        super().__init__(n_dims, width, n_layers, modes, ff_factor)
        if not 0 <= memory_position <= n_layers:
            raise ValueError(f"memory_position {memory_position} is outside 0..n_layers={n_layers}")
        self.memory_position = memory_position
        self.memory = MemoryLayer(memory, width, state_size=state_size, heads=heads, own=mixer)

    def _mix(self, h: torch.Tensor, b: int, t: int) -> torch.Tensor:
        """Apply the memory layer along time at every spatial point: ``(b*t, *space, w)`` in and out."""
        return self.memory(h.reshape(b, t, *h.shape[1:])).reshape(h.shape)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        b, t = u.shape[:2]
        frames = u.reshape(b * t, *u.shape[2:])
        h = self.encode(frames)
        for i, layer in enumerate(self.layers):
            if i == self.memory_position:
                h = self._mix(h, b, t)
            h = layer(h)
        if self.memory_position == self.n_layers:
            h = self._mix(h, b, t)
        return self.decode(h, frames).reshape(u.shape)

    def init_state(self, batch: int, shape: tuple[int, ...], device):
        n = batch
        for s in shape:
            n *= s
        return self.memory.init_state(n, device)

    def step(self, u_t: torch.Tensor, state):
        h = self.encode(u_t)                                                  # (b, *space, w)

        def mix(h, state):
            y, state = self.memory.step(h.reshape(-1, h.shape[-1]), state)
            return y.reshape(h.shape), state

        for i, layer in enumerate(self.layers):
            if i == self.memory_position:
                h, state = mix(h, state)
            h = layer(h)
        if self.memory_position == self.n_layers:
            h, state = mix(h, state)
        return self.decode(h, u_t), state
