"""The PDE store format (docs/pde_data.md, "Store format") and its executable specification.

One Zarr v3 store per (equation, nu, split) and per observation variant, written through xarray:

* data variable named by the equation's registry entry (``equations.EQUATIONS``) with dims ``(sample, time,
  *space)``: ``u`` with dims ``(sample, time, x)`` (KS), ``vorticity`` with dims ``(sample, time, x, y)`` (NS);
  float32, chunked along ``sample`` only;
* observed stores only: the clean observed field beside it, ``u_clean`` / ``vorticity_clean`` (same dims,
  float32; the noise-free observation that every nRMSE is scored against, ``observe.py``);
* prediction stores (``predictions.zarr`` of a training or solver run) hold the predicted field under the
  data's name, frames ``0..warmup+horizon-1`` (the ``warmup`` observed input frames, then the prediction), attr
  ``kind = "prediction"``, no clean field;
* ``seed`` (sample,) uint64: the seed each trajectory's initial condition was drawn with (see ``seeds.py``);
* coords ``sample`` (global index in the split), ``time``, ``x`` (, ``y``);
* attrs :data:`REQUIRED_ATTRS`: everything needed to regenerate the store, plus ``complete = True``, set
  only after every chunk is written.

Writes go to a hidden temporary path next to the target and are renamed into place (:func:`write_store`), so
a killed job leaves either the old store or none, never one that looks done. :func:`load` and
:func:`check_store` refuse a store that fails the checks, with the reason in a :class:`StoreError`.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from gapbench.errors import StoreError

REQUIRED_ATTRS = (
    "equation",  # a registered equation: ks | ns | a plugin's
    "kind",  # simulation | observation
    "law",  # data law: attractor (frames start burn_in after the initial condition) | transient (at it)
    "burn_in",  # time simulated from the initial condition and dropped before frame 0 (0 for the transient law)
    "nu",  # viscosity
    "length",  # period of the domain in every direction (KS 64, NS 1)
    "forcing",  # forcing term, as text
    "initial_condition",  # initial-condition law, as text
    "stepper",  # Dedalus timestepper
    "dt",  # fixed time step
    "t_end",  # final time; frames are evenly spaced on [0, t_end]
    "n_frames",  # saved frames including t = 0
    "sim_resolution",  # grid points per direction of the simulation
    "resolution",  # grid points per direction of this store
    "obs_method",  # none (simulation) | fourier | subsample
    "sigma",  # relative noise std (0 for a simulation)
    "noise_seed",  # seed of the observation noise (-1 for a simulation)
    "root_seed",  # config seed every trajectory seed derives from
    "split",  # train | valid | test (or the label given to `gapbench simulate`)
    "seed_scheme",  # how the per-sample seeds were derived
    "redraws",  # list of {sample, attempt, seed, replaced_seed, reason} for diverged trajectories
    "tail_fraction",  # max over frames of the squared-spectrum fraction beyond 2/3 Nyquist (omega.tail_fraction)
    "dedalus_version",
    "gapbench_version",
)

# Store attribute: {array name: content digest} (:func:`content_digests`), recorded at write.
DIGEST_ATTR = "content_digest"

# `data check` warns when a simulation's spectral tail (attr tail_fraction) exceeds this.
TAIL_WARN = 1e-6

# Samples per chunk: about this many bytes per chunk, at least one sample.
CHUNK_BYTES = 16 * 2**20


def versions() -> dict[str, str]:
    """Versions recorded in every store, as attributes ``{package}_version``."""
    from gapbench.outputs import versions as installed

    return {f"{name}_version": v for name, v in installed("dedalus", "gapbench").items()}


def variable(equation: str) -> tuple[str, tuple[str, ...]]:
    """(name, dims) of the data variable of ``equation``'s stores."""
    from gapbench.pde.equations import get

    eq = get(equation)
    return eq.field, eq.dims


def field_name(equation: str) -> str:
    return variable(equation)[0]


def clean_name(name: str) -> str:
    """Name of the clean observed field stored beside field ``name`` in an observed store."""
    return f"{name}_clean"


def chunk_samples(ds: xr.Dataset) -> int:
    """Samples per chunk so that one chunk of the field holds about :data:`CHUNK_BYTES`."""
    var = ds[field_name(ds.attrs["equation"])]
    per_sample = var.dtype.itemsize * int(np.prod(var.shape[1:]))
    return max(1, min(var.sizes["sample"], CHUNK_BYTES // per_sample))


def write_store(ds: xr.Dataset, path: str | Path, chunk: int | None = None) -> Path:
    """Write ``ds`` to ``path`` atomically: into a private staging directory next to it
    (:func:`gapbench.outputs.staging_dir`), record the content digests (:func:`content_digests`), mark complete,
    consolidate the metadata, rename into place (:func:`gapbench.outputs.replace_dir`).

    ``ds`` may be lazy (dask); it is computed chunk by chunk with the synchronous scheduler, so memory stays
    bounded by a few chunks. On any failure the staging directory is removed and ``path`` is left untouched.
    """
    import dask
    import zarr

    from gapbench.outputs import is_output, replace_dir, staging_dir

    path = Path(path)
    if (path.exists() and not path.is_symlink()) and not is_output(path, "pde-store"):
        raise StoreError(f"{path}: exists and is not a PDE store; refusing to replace it")
    chunk = chunk or chunk_samples(ds)
    ds = ds.chunk({"sample": chunk})
    encoding = {
        name: {"chunks": tuple(chunk if d == "sample" else ds.sizes[d] for d in var.dims)}
        for name, var in ds.data_vars.items()
    }
    staging = staging_dir(path)
    tmp = staging / "new"
    try:
        # every chunk is written, also one equal to the fill value, so a missing chunk file means damage
        with dask.config.set(scheduler="synchronous"), zarr.config.set({"array.write_empty_chunks": True}):
            ds.to_zarr(tmp, mode="w", consolidated=False, zarr_format=3, encoding=encoding)
        group = zarr.open_group(tmp, mode="r+")
        group.attrs.update({DIGEST_ATTR: content_digests(tmp), "complete": True})
        with warnings.catch_warnings():  # zarr: "consolidated metadata is not part of the v3 specification (yet)"
            warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
            zarr.consolidate_metadata(tmp)
        replace_dir(staging, path, "pde-store")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def _arrays(path: Path) -> list[str]:
    """Names of the arrays of the Zarr v3 group at ``path`` (folders whose ``zarr.json`` says array)."""
    import json

    names = []
    for meta in sorted(path.glob("*/zarr.json")):
        try:
            if json.loads(meta.read_text()).get("node_type") == "array":
                names.append(meta.parent.name)
        except (OSError, ValueError):
            continue
    return names


def content_digests(path: str | Path) -> dict[str, str]:
    """sha256 (16 hex digits) per array of the store at ``path``: of every chunk file's relative name and its bytes
    as stored (compressed), in name order. Reading the files without decoding them is cheap (disk speed), so
    every reader can afford it; the field, the clean truth, seeds and coordinates all have one."""
    import hashlib

    path = Path(path)
    out = {}
    for name in _arrays(path):
        h = hashlib.sha256()
        root = path / name
        for file in sorted(p for p in root.rglob("*") if p.is_file() and p.name != "zarr.json"):
            h.update(str(file.relative_to(root)).encode() + b"\0")
            with open(file, "rb") as fh:
                while block := fh.read(1 << 20):
                    h.update(block)
            h.update(b"\0")
        out[name] = h.hexdigest()[:16]
    return out


def verify_digests(path: str | Path, attrs: dict) -> None:
    """StoreError naming the store and the array unless every array's content equals the digest recorded at
    write (:data:`DIGEST_ATTR`); a store without digests was written by an older gapbench."""
    recorded = attrs.get(DIGEST_ATTR)
    if not isinstance(recorded, dict):
        raise StoreError(f"{path}: no content digests (attr {DIGEST_ATTR!r}; written by an older gapbench): "
                         "regenerate the store")
    now = content_digests(path)
    for name in sorted(set(recorded) | set(now)):
        if recorded.get(name) != now.get(name):
            raise StoreError(f"{path}: array {name!r} differs from the content digest recorded when the store was "
                             "written (a chunk was rewritten or damaged); regenerate the store")


def open_store(path: str | Path) -> xr.Dataset:
    """Open a store lazily (dask arrays, one dask chunk per Zarr chunk) without checking it."""
    path = Path(path)
    if not path.exists():
        raise StoreError(f"{path}: no such store")
    try:
        return xr.open_zarr(path, consolidated=None, chunks={})
    except Exception as err:  # zarr/xarray raise many kinds for a broken store
        raise StoreError(f"{path}: not a readable Zarr store ({type(err).__name__}: {err})") from err


def validate(ds: xr.Dataset, where: str = "store", check_values: bool = True) -> None:
    """Raise :class:`StoreError` unless ``ds`` follows the format in the module docstring."""
    if ds.attrs.get("complete") is not True:
        raise StoreError(f"{where}: incomplete store (no 'complete' mark: its write did not finish)")
    missing = [a for a in REQUIRED_ATTRS if a not in ds.attrs]
    if missing:
        raise StoreError(f"{where}: missing attrs {', '.join(missing)}")
    from gapbench.pde.equations import EQUATIONS

    eq = ds.attrs["equation"]
    if eq not in EQUATIONS:
        raise StoreError(f"{where}: attr equation={eq!r}; allowed: {', '.join(EQUATIONS)}")
    name, dims = variable(eq)
    if name not in ds.data_vars:
        raise StoreError(f"{where}: no variable {name!r} (a {eq} store holds {name!r} with dims {dims})")
    if ds[name].dims != dims:
        raise StoreError(f"{where}: {name!r} has dims {ds[name].dims}, expected {dims}")
    if ds.attrs.get("kind") == "observation":
        clean = clean_name(name)
        if clean not in ds.data_vars or ds[clean].dims != dims:
            raise StoreError(f"{where}: an observed store holds the clean field {clean!r} with dims {dims} beside "
                             f"the noisy {name!r}; it is missing (store written by an older gapbench: re-observe)")
    if "seed" not in ds.data_vars or ds["seed"].dims != ("sample",):
        raise StoreError(f"{where}: no per-sample 'seed' variable with dims ('sample',)")
    for coord in dims:
        if coord not in ds.coords:
            raise StoreError(f"{where}: missing coordinate {coord!r}")
    if ds.sizes["time"] != ds.attrs["n_frames"]:
        raise StoreError(f"{where}: {ds.sizes['time']} frames but attr n_frames={ds.attrs['n_frames']}")
    for d in dims[2:]:
        if ds.sizes[d] != ds.attrs["resolution"]:
            raise StoreError(f"{where}: {d} has {ds.sizes[d]} points but attr resolution={ds.attrs['resolution']}")
    if ds.sizes["sample"] == 0:
        raise StoreError(f"{where}: no samples")
    if check_values:
        _check_chunks(where)
        import dask

        names = [n for n in (name, clean_name(name)) if n in ds.data_vars]
        finite = [np.isfinite(ds[n].data).all(axis=tuple(range(1, len(dims)))) for n in names]
        try:
            with dask.config.set(scheduler="synchronous"):
                finite = np.logical_and.reduce([np.asarray(f) for f in dask.compute(*finite)])
                for other in ("seed", *dims):  # decode every other variable and coordinate chunk too
                    np.asarray(ds[other].values)
        except Exception as err:  # zstd/codec errors of a damaged chunk file
            raise StoreError(f"{where}: a chunk cannot be decoded ({type(err).__name__}: "
                             f"{' '.join(str(err).split())[:160]}); the store is damaged, regenerate it") from None
        if not finite.all():
            bad = ds["sample"].values[~finite]
            raise StoreError(
                f"{where}: non-finite values (NaN/inf, or chunks missing) in samples {bad[:10].tolist()}"
                + (f" and {bad.size - 10} more" if bad.size > 10 else "")
            )


def _check_chunks(where: str) -> None:
    """StoreError naming the array unless every chunk of every array is on disk (:func:`write_store` writes all;
    a missing one would read back as the fill value, e.g. seed 0)."""
    import zarr

    try:
        group = zarr.open_group(where, mode="r")
        arrays = list(group.arrays())
    except Exception:  # not on a local path (an in-memory dataset): nothing to count
        return
    for name, array in arrays:
        if array.nchunks_initialized != array.nchunks:
            raise StoreError(f"{where}: array {name!r} has {array.nchunks - array.nchunks_initialized} of "
                             f"{array.nchunks} chunks missing; the store is damaged, regenerate it")


def load(path: str | Path, check_values: bool = True) -> xr.Dataset:
    """Open a PDE store lazily, validate it (:func:`validate`) and check every array against its recorded content
    digest (:func:`verify_digests`); raise :class:`StoreError` with the reason.

    ``check_values=False`` skips the pass over the data (finite values) for very large stores.
    """
    ds = open_store(path)
    validate(ds, str(path), check_values=check_values)
    verify_digests(path, ds.attrs)
    return ds


def check_store(path: str | Path) -> str:
    """One-paragraph summary of a valid store; :class:`StoreError` with the reason for a bad one."""
    ds = load(path)
    a = ds.attrs
    name = field_name(a["equation"])
    shape = ", ".join(f"{d}={n}" for d, n in ds[name].sizes.items())
    obs = "" if a["kind"] == "simulation" else (f", observed by {a['obs_method']} (sigma={a['sigma']}, noise seed "
                                                 f"{a['noise_seed']})")
    if a["kind"] == "observation":
        obs += f"; clean field {clean_name(name)!r} beside it"
    elif a["kind"] == "prediction":
        obs += (f"; predictions of {a.get('model')} (seed {a.get('seed')}) after {a.get('warmup', 1)} observed "
                f"warm-up frames, no clean field")
    tail = float(a["tail_fraction"])
    warn = ""
    if tail > TAIL_WARN:
        warn = (f"\nWARNING: {tail:.2e} of the squared spectrum lies beyond 2/3 of the Nyquist wavenumber (more "
                f"than {TAIL_WARN:g}): the simulation at {a['sim_resolution']} points is under-resolved; raise the "
                "resolution")
    return (
        f"{path}: ok: {a['equation']} {a['kind']} store, {a['split']} split, nu={a['nu']}, {name}({shape}) "
        f"{ds[name].dtype}, t in [0, {a['t_end']}], simulated at {a['sim_resolution']} points with {a['stepper']} "
        f"dt={a['dt']}{obs}; spectral tail beyond 2/3 Nyquist {tail:.2e}; {len(a['redraws'])} re-drawn "
        f"trajectories; data law {a['law']} (burn-in {a['burn_in']}); all values finite{warn}"
    )
