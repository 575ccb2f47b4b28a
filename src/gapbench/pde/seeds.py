"""Seeds of the PDE data, derived, never drawn: every trajectory and every noise field has its own.

A trajectory's seed is a function of ``(root seed, equation, nu, split, sample index, attempt)`` only, so the
data do not depend on how samples are grouped into shards or solver batches, and a rerun is bit-identical.
Names are turned into integers with SHA-256 (:func:`stable_int`), not Python's ``hash()`` (salted per process).
The integers are fed to :class:`numpy.random.SeedSequence` as entropy; its first 64-bit word is the recorded
seed and ``numpy.random.default_rng(seed)`` is the generator the initial condition is drawn with.

``attempt`` counts re-draws: a trajectory that diverges (docs/pde_data.md) is drawn again with
``attempt + 1``, which gives a new, equally reproducible seed; stores record every re-draw.
"""

from __future__ import annotations

import hashlib

import numpy as np

from gapbench.naming import fmt_num


def stable_int(text: str) -> int:
    """A 32-bit integer from text, identical on every machine and process (SHA-256 prefix)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def _seed(entropy: list[int]) -> int:
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0])


def trajectory_seed(root: int, equation: str, nu: float, split: str, index: int, attempt: int = 0) -> int:
    """Seed of trajectory ``index`` of ``(equation, nu, split)``; ``attempt`` > 0 for re-draws."""
    key = stable_int(f"trajectory/{equation}/{fmt_num(nu)}/{split}")
    return _seed([int(root), key, int(index), int(attempt)])


def noise_seed(root: int, equation: str, nu: float, split: str, obs: str) -> int:
    """Seed of the observation noise of one observed store (``obs`` is the variant key, e.g. 'fourier-r32-s0.1')."""
    return _seed([int(root), stable_int(f"noise/{equation}/{fmt_num(nu)}/{split}/{obs}")])


def sample_noise_rng(seed: int, index: int) -> np.random.Generator:
    """Generator of the noise added to sample ``index`` of a store whose noise seed is ``seed``.

    One stream per sample, so the noise does not depend on the chunking of the store.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))
