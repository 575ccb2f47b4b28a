"""Unobserved energy fraction ``omega_f`` (docs/pde_data.md, "Observation and omega_f").

For a simulated frame with Fourier coefficients ``a_n`` (``n`` the integer wavenumber vector),

    omega_f = sum_{|n|_inf > f/2} |a_n|^2 / sum_n |a_n|^2,

averaged over the scored frames of every trajectory: frames ``first .. first + count - 1`` of the stored ones
(the pipeline passes the warm-up ``W`` and the horizon ``H`` of ``train.pde.{eq}``, so ``omega_f`` describes
exactly the frames every nRMSE is taken on, not the warm-up nor frames past the horizon). In 2D the unobserved set is the complement of the box
``|n|_inf <= f/2``, exactly the modes Fourier truncation to ``f`` points drops (``observe.py``), so
``omega_f`` is the energy fraction the observed data cannot contain. Frames with zero energy are skipped.

The stores are read one sample chunk at a time, so memory is bounded by one chunk.

Resolution check of a simulation (:func:`tail_fraction`): the fraction of the squared spectrum (KS: energy of
``u``; NS: enstrophy, the squared vorticity) in the modes ``|n|_inf > N/3``, i.e. beyond 2/3 of the Nyquist
wavenumber ``N/2``, maximised over frames and trajectories. A resolved spectral simulation keeps it tiny;
``gapbench data check`` warns above ``store.TAIL_WARN`` (1e-6).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gapbench.errors import GapbenchError
from gapbench.pde.store import field_name, load


def _spectrum(u: np.ndarray, ndim: int) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """``(|a_n|^2, |n|_inf, spatial axes)`` of ``u`` with ``ndim`` spatial axes last."""
    axes = tuple(range(u.ndim - ndim, u.ndim))
    n = u.shape[-1]
    energy = np.abs(np.fft.fftn(u.astype(np.float64), axes=axes)) ** 2
    wavenumber = np.abs(np.fft.fftfreq(n, 1.0 / n))
    kmax = np.max(np.stack(np.meshgrid(*([wavenumber] * ndim), indexing="ij")), axis=0)
    return energy, kmax, axes


def tail_fraction(u: np.ndarray, ndim: int) -> float:
    """``max`` over frames of ``sum_{|n|_inf > N/3} |a_n|^2 / sum_n |a_n|^2`` (0 for all-zero frames)."""
    energy, kmax, axes = _spectrum(u, ndim)
    n = u.shape[-1]
    total = energy.sum(axis=axes)
    tail = (energy * (kmax > n / 3)).sum(axis=axes)
    frac = np.divide(tail, total, out=np.zeros_like(tail), where=total > 0)
    return float(frac.max()) if frac.size else 0.0


def unobserved_fractions(u: np.ndarray, resolutions: list[int], ndim: int) -> tuple[np.ndarray, int]:
    """Per resolution, the sum over frames of the unobserved energy fraction, and the number of frames.

    ``u`` has shape ``(..., N[, N])`` with ``ndim`` spatial axes last.
    """
    energy, kmax, axes = _spectrum(u, ndim)
    total = energy.sum(axis=axes)
    frames = total > 0
    sums = np.empty(len(resolutions))
    for j, f in enumerate(resolutions):
        unobserved = (energy * (kmax > f / 2)).sum(axis=axes)
        sums[j] = (unobserved[frames] / total[frames]).sum()
    return sums, int(frames.sum())


def omega_table(paths: list[str | Path], resolutions: list[int], first: int = 0,
                n_frames: int = 0) -> list[tuple[int, float]]:
    """``(f, omega_f)`` for each ``f`` in ``resolutions``, averaged over frames ``first .. first + n_frames - 1``
    (``n_frames = 0``: every frame from ``first`` on) of every trajectory of the given sim stores."""
    sums, count = np.zeros(len(resolutions)), 0
    for path in paths:
        ds = load(path)  # every chunk checked: a damaged store is a StoreError, not a codec traceback
        if ds.attrs["kind"] != "simulation":
            raise GapbenchError(f"{path}: omega_f is computed from simulation stores, not {ds.attrs['kind']} stores")
        n = ds.attrs["resolution"]
        too_fine = [f for f in resolutions if not 1 <= f <= n]
        if too_fine:
            raise GapbenchError(f"{path}: resolutions {too_fine} are not in [1, simulation resolution {n}]")
        field = ds[field_name(ds.attrs["equation"])]
        stop = field.sizes["time"] if n_frames == 0 else first + n_frames
        if not 0 <= first < stop <= field.sizes["time"]:
            raise GapbenchError(f"{path}: scored frames {first}..{stop - 1} are not within the "
                                f"{field.sizes['time']} stored frames (warm-up + horizon too long)")
        field = field.isel(time=slice(first, stop))
        step = field.data.chunks[0][0]
        for lo in range(0, field.sizes["sample"], step):
            block = field.isel(sample=slice(lo, lo + step)).values
            if not np.isfinite(block).all():
                raise GapbenchError(f"{path}: non-finite values in samples {lo}..{lo + len(block) - 1}")
            s, c = unobserved_fractions(block, resolutions, field.ndim - 2)
            sums += s
            count += c
    if count == 0:
        raise GapbenchError("omega_f: no frame with nonzero energy in " + ", ".join(map(str, paths)))
    return [(int(f), float(s / count)) for f, s in zip(resolutions, sums)]


def write_table(rows: list[tuple[int, float]], out: str | Path, first: int = 0, n_frames: int = 0) -> Path:
    """Write ``resolution,omega_f,first_frame,n_frames`` rows to ``out`` atomically
    (:func:`gapbench.outputs.atomic_write_bytes`); the last two name the frames averaged over (``n_frames`` 0: all
    from ``first_frame``)."""
    from gapbench.outputs import atomic_write_bytes

    out = Path(out)
    atomic_write_bytes(out, ("resolution,omega_f,first_frame,n_frames\n"
                             + "".join(f"{f},{w:.6e},{first},{n_frames}\n" for f, w in rows)).encode())
    return out
