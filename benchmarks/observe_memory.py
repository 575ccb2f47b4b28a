"""Peak memory of the observation job on a store larger than its memory limit (scale check).

Builds a synthetic NS-shaped simulation store (random vorticity, sample-chunked, written lazily) of about
``--gb`` GB, and one ``--small-factor`` times smaller, then runs ``gapbench pde observe`` (Fourier truncation
to 32 points, noise sigma 0.1) on each in a child process whose address space is capped at ``--limit-gb``
(``resource.setrlimit(RLIMIT_AS)``; the job would die with MemoryError if it loaded the store). Prints the
peak resident memory of each run (``ru_maxrss`` of the child), the ratio store size / peak RSS, and the
anchor ratio peak RSS (big store) / peak RSS (small store), which is ~1 when memory does not grow with the
data. Usage: python benchmarks/observe_memory.py [--gb 2] [--limit-gb 1.5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dask.array as da
import numpy as np

from gapbench.pde.generate import SimParams, build_dataset
from gapbench.pde.store import write_store

N, FRAMES = 128, 33


def build_store(path: Path, n_samples: int) -> int:
    """A valid simulation store of random vorticity, written chunk by chunk; returns its size in bytes."""
    params = SimParams("ns", 1e-3, N, 16.0, FRAMES, 0.01, "SBDF2", 1.0)
    field = da.random.default_rng(0).standard_normal((n_samples, FRAMES, N, N), dtype=np.float32, chunks=(4, FRAMES, N, N))
    seeds = np.arange(n_samples, dtype=np.uint64)
    write_store(build_dataset(params, field, np.arange(n_samples), seeds, [], 0, "train"), path)
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def observe(sim: Path, out: Path, limit: int) -> tuple[float, float]:
    """Run the observation CLI in a child capped at ``limit`` bytes of address space; (peak RSS bytes, seconds)."""

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [str(Path(sys.executable).parent / "gapbench"), "pde", "observe", "--sim", str(sim), "--resolution", "32",
           "--sigma", "0.1", "--out", str(out)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, preexec_fn=cap, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"observe failed under the {limit / 2**30:.2f} GiB cap:\n{proc.stderr.read().decode()[-2000:]}")
    return usage.ru_maxrss * 1024.0, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0, help="size of the big store, GB (default %(default)s)")
    parser.add_argument("--limit-gb", type=float, default=1.5, help="address-space cap of the job, GiB")
    parser.add_argument("--small-factor", type=int, default=8, help="the anchor store is this many times smaller")
    parser.add_argument("--keep", help="build the stores in this directory and keep them")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="observe_memory_"))
    root.mkdir(parents=True, exist_ok=True)
    per_sample = FRAMES * N * N * 4
    big_n = int(args.gb * 1e9 / per_sample)
    limit = int(args.limit_gb * 2**30)
    try:
        rows = []
        for label, n in (("small", max(1, big_n // args.small_factor)), ("big", big_n)):
            sim = root / f"{label}.zarr"
            size = build_store(sim, n)
            peak, seconds = observe(sim, root / f"{label}_obs.zarr", limit)
            rows.append((label, n, size, peak, seconds))
            print(f"{label:5s}: {n} samples x {FRAMES} x {N}^2, store {size / 1e9:.2f} GB, observe peak RSS "
                  f"{peak / 1e9:.3f} GB, {seconds:.1f} s, store/peak = {size / peak:.1f}")
        (_, _, small_size, small_peak, _), (_, _, big_size, big_peak, _) = rows
        print(f"memory cap (RLIMIT_AS) {limit / 1e9:.2f} GB < big store {big_size / 1e9:.2f} GB: observe succeeded")
        print(f"ratio store size / peak RSS (big store): {big_size / big_peak:.1f}")
        print(f"anchor: peak RSS big / small store ({big_size / small_size:.0f}x the data): {big_peak / small_peak:.2f}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
