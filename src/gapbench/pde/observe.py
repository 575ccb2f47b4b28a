"""Observation: what the models see (docs/pde_data.md, "Observation and omega_f").

A simulated field on ``N`` points per direction is observed on ``f`` points per direction by

* **Fourier truncation** (default, any ``f <= N``): keep the modes ``|n|_inf <= f/2`` (the box in 2D) and
  evaluate that band-limited field on the coarse grid. On the coarse grid the modes ``+f/2`` and ``-f/2``
  (``f`` even) are the same grid function, so their coefficients are summed (:func:`fourier_truncate`).
  The result is exactly the coarse samples of the projection onto the kept modes; a field whose modes all
  satisfy ``|n|_inf <= f/2`` is therefore observed without error, and for ``f | N`` truncation and
  subsampling agree on such a field. The unobserved modes are those counted by ``omega_f`` (``omega.py``).
* **strided subsampling** (anchor; ``f`` must divide ``N``): every ``N/f``-th point (aliases the modes above
  ``f/2`` onto the kept ones).

then additive Gaussian noise with a constant signal-to-noise ratio over time:

    u_obs(s, t) = u_clean(s, t) + sigma * std_x(u_clean(s, t)) * xi(s, t),    xi ~ N(0, 1) i.i.d.,

the std taken over the points of that one clean observed frame (a field whose amplitude grows over the run
keeps the same relative noise on every frame); ``xi`` of sample ``i`` (all its frames, shape ``(T, *grid)``)
is drawn from ``seeds.sample_noise_rng(noise_seed, i)``: one stream per sample, whatever the chunking.
The observed store holds both fields: ``u`` (noisy, what models see) and ``u_clean`` (the truth every
nRMSE is scored against); ``vorticity`` / ``vorticity_clean`` for NS. Attr ``noise_law`` states the law.

Stores are processed lazily with dask, one sample chunk at a time, so memory is bounded by a few chunks
whatever the store size (``benchmarks/observe_memory.py``).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from gapbench.errors import GapbenchError
from gapbench.pde.seeds import sample_noise_rng
from gapbench.pde.store import clean_name, field_name

METHODS = ("fourier", "subsample")


def _fold_axis(spec: np.ndarray, f: int, axis: int) -> np.ndarray:
    """Coarse (``f``-point) DFT along ``axis`` of the modes ``|n| <= f/2`` of a fine DFT ``spec``."""
    n = spec.shape[axis]
    h = f // 2
    if f == n:
        return spec
    if f % 2:  # odd f: modes -h..h, no Nyquist mode
        return np.take(spec, np.r_[0 : h + 1, n - h : n], axis=axis)
    nyquist = np.take(spec, [h], axis=axis) + np.take(spec, [n - h], axis=axis)
    low = np.take(spec, np.r_[0:h], axis=axis)
    high = np.take(spec, np.r_[n - h + 1 : n], axis=axis)
    return np.concatenate([low, nyquist, high], axis=axis)


def fourier_truncate(u: np.ndarray, f: int, ndim: int) -> np.ndarray:
    """Observe ``u`` (spatial axes = its last ``ndim`` axes, ``N`` points each) on ``f`` points by truncation."""
    axes = tuple(range(u.ndim - ndim, u.ndim))
    n = u.shape[-1]
    if not 1 <= f <= n:
        raise GapbenchError(f"observed resolution {f} must be between 1 and the simulation resolution {n}")
    spec = np.fft.fftn(u.astype(np.float64), axes=axes)
    for axis in axes:
        spec = _fold_axis(spec, f, axis)
    return np.fft.ifftn(spec, axes=axes).real * (f / n) ** ndim


def subsample(u: np.ndarray, f: int, ndim: int) -> np.ndarray:
    """Observe ``u`` on ``f`` points per direction by keeping every ``N/f``-th point (``f`` must divide ``N``)."""
    n = u.shape[-1]
    if n % f:
        raise GapbenchError(f"subsampling needs a resolution that divides {n}; got {f} (use method fourier)")
    stride = n // f
    return u[(Ellipsis,) + (slice(None, None, stride),) * ndim]


def observe_array(u: np.ndarray, method: str, f: int, ndim: int) -> np.ndarray:
    """Clean observation of ``u`` by ``method`` (one of :data:`METHODS`)."""
    if method == "fourier":
        return fourier_truncate(u, f, ndim)
    if method == "subsample":
        return subsample(u, f, ndim)
    raise GapbenchError(f"unknown observation method {method!r}; allowed: {', '.join(METHODS)}")


NOISE_LAW = ("u = u_clean + sigma * std_x(u_clean(s, t)) * xi(s, t), xi ~ N(0, 1) i.i.d., std over the points "
             "of each clean observed frame; xi of sample i from default_rng(SeedSequence([noise_seed, i])), "
             "shape (time, *grid), float64")


def frame_std(clean: np.ndarray, ndim: int) -> np.ndarray:
    """Std over the last ``ndim`` (spatial) axes: one number per frame, shape ``clean.shape[:-ndim]``."""
    return clean.astype(np.float64).std(axis=tuple(range(clean.ndim - ndim, clean.ndim)))


def add_noise(clean: np.ndarray, samples: np.ndarray, sigma: float, noise_seed: int, ndim: int) -> np.ndarray:
    """``clean + sigma * std_x(clean frame) * xi`` (module docstring) for a block ``(sample, time, *grid)``."""
    out = clean.astype(np.float64)
    if sigma > 0:
        scale = sigma * frame_std(out, ndim)
        for j, index in enumerate(samples):
            xi = sample_noise_rng(noise_seed, int(index)).standard_normal(clean.shape[1:])
            out[j] += scale[j].reshape(scale[j].shape + (1,) * ndim) * xi
    return out


def observe_dataset(sim: xr.Dataset, method: str, resolution: int, sigma: float, noise_seed: int) -> xr.Dataset:
    """Lazy observed dataset (noisy field and its clean version, format of ``store.py``) of a simulation dataset."""
    import dask.array as da

    if sigma < 0:
        raise GapbenchError(f"noise sigma must be >= 0; got {sigma}")
    name = field_name(sim.attrs["equation"])
    field = sim[name]
    ndim = field.ndim - 2
    n = field.sizes["x"]
    observe_array(np.zeros((1, 1) + (n,) * ndim, np.float32), method, resolution, ndim)  # argument check
    data = field.data if isinstance(field.data, da.Array) else da.from_array(field.values, chunks=(1,) + field.shape[1:])
    out_chunks = data.chunks[:2] + ((resolution,),) * ndim

    def observe_block(block):  # sample by sample: FFT temporaries of one sample, not of the whole chunk
        return np.stack([observe_array(sample, method, resolution, ndim) for sample in block])

    clean = data.map_blocks(observe_block, chunks=out_chunks, meta=np.empty((0,) * data.ndim, np.float64))
    samples = sim["sample"].values

    def noisy(block, block_info=None):
        lo, hi = block_info[0]["array-location"][0]
        return add_noise(block, samples[lo:hi], sigma, noise_seed, ndim).astype(np.float32)

    observed = clean.map_blocks(noisy, meta=np.empty((0,) * data.ndim, np.float32))
    clean32 = clean.astype(np.float32)
    length = float(sim.attrs["length"])
    coords = {"sample": sim["sample"].values, "time": sim["time"].values}
    for d in field.dims[2:]:
        coords[d] = np.arange(resolution) * length / resolution
    ds = xr.Dataset({name: (field.dims, observed), clean_name(name): (field.dims, clean32), "seed": sim["seed"]},
                    coords=coords)
    ds.attrs = dict(sim.attrs)
    ds.attrs.pop("complete", None)
    ds.attrs.update(
        kind="observation",
        resolution=int(resolution),
        obs_method=method,
        sigma=float(sigma),
        noise_seed=int(noise_seed),
        noise_law=NOISE_LAW,
    )
    return ds
