"""Subcommands of the PDE data stage (Part II); handlers import numpy/xarray/Dedalus only when run.

* ``gapbench simulate EQ ... --out X.zarr``: simulate trajectories into one store (standalone use); one
  subcommand per registered equation (``equations.EQUATIONS``: ks, ns, and what plugins register).
* ``gapbench pde shard EQ ... --shard i``: one shard of a split (one Snakemake job).
* ``gapbench pde merge SHARD... --out``: shards -> one store per (equation, nu, split), lazily.
* ``gapbench pde observe --sim X --method --resolution --sigma --out``: observed store.
* ``gapbench pde omega --sim X --resolutions ... --out omega_f.csv``: unobserved energy table.
"""

from __future__ import annotations

import argparse
import logging
import os

from gapbench.argtypes import number, positive_float, seed

# Dedalus timesteppers (runner.stepper_names() lists them but imports Dedalus, too slow for --help).
STEPPERS = ("SBDF1", "SBDF2", "SBDF3", "SBDF4", "RK111", "RK222", "RK443", "RKSMR", "CNAB1", "CNAB2", "MCNAB2", "CNLF2")


def _setup_logging() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # Dedalus: threads only slow it down
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")


def _physics_args(p: argparse.ArgumentParser, eq) -> None:
    """The simulation flags of equation entry ``eq`` (``equations.Equation``): its defaults where it has them."""
    p.add_argument("--nu", type=positive_float, required=True, help="viscosity (> 0)")
    p.add_argument("--resolution", type=number(int, 2, 8192), required=True,
                   help="simulation grid points per direction")
    p.add_argument("--t-end", type=positive_float, required=True, help="time span of the stored frames")
    p.add_argument("--n-frames", type=number(int, 2, 100000), required=True,
                   help="stored frames including the first, evenly spaced over --t-end")
    p.add_argument("--burn-in", type=number(float, 0), default=eq.default_burn_in,
                   help="time simulated from the initial condition and dropped before the first stored frame, a "
                   f"multiple of the save interval: > 0 the attractor law (default {eq.default_burn_in:g}), 0 the "
                   "transient law")
    if eq.default_dt is None:
        p.add_argument("--dt", type=positive_float, required=True, help="fixed time step")
    else:
        p.add_argument("--dt", type=positive_float, help=f"fixed time step (default: {eq.default_dt:g})")
    p.add_argument("--stepper", choices=STEPPERS, help=f"Dedalus timestepper (default: {eq.default_stepper})")
    if eq.length is None:
        p.add_argument("--length", type=positive_float, help=f"domain period L (default: {eq.default_length:g})")
    if eq.forcing_params:
        p.add_argument("--forcing", type=float, nargs=len(eq.forcing_params), default=(),
                       metavar=tuple(n.upper() for n in eq.forcing_params),
                       help=f"forcing {', '.join(eq.forcing_params)} (default: the equation's own)")
    p.add_argument("--batch", type=number(int, 1, 4096),
                   help=f"trajectories per Dedalus solve (default: {eq.default_batch})")
    p.add_argument("--max-redraws", type=number(int, 0, 1000), default=10,
                   help="re-draws of a diverging trajectory before failing")
    p.add_argument("--seed", type=seed, default=0, help="root seed (default %(default)s)")
    p.add_argument("--out", required=True, help="output .zarr store (refused if it exists, unless a store and --force)")
    p.add_argument("--force", action="store_true", help="replace an existing PDE store at --out")


def _params(args, eq):
    """SimParams from the arguments; options left out take the defaults of ``eq`` (its registry entry)."""
    from gapbench.errors import ConfigError
    from gapbench.pde.config_checks import check_dt
    from gapbench.pde.equations import SimParams

    args.batch = args.batch or eq.default_batch
    args.dt = args.dt or eq.default_dt
    args.stepper = args.stepper or eq.default_stepper
    length = eq.length if eq.length is not None else (args.length or eq.default_length)
    if args.n_frames < 2:
        raise ConfigError(f"--n-frames must be >= 2, got {args.n_frames}")
    check_dt("--dt", args.t_end, args.n_frames, args.dt)
    params = SimParams(eq, args.nu, args.resolution, args.t_end, args.n_frames, args.dt, args.stepper, length,
                       args.burn_in, tuple(getattr(args, "forcing", ())))
    params.burn_in_frames()  # ConfigError unless the burn-in is a whole number of save intervals
    return params


def _simulate_range(args, eq, first: int, stop: int) -> None:
    from gapbench.outputs import check_replaceable
    from gapbench.pde.generate import simulate_samples
    from gapbench.pde.store import write_store

    check_replaceable(args.out, "pde-store", args.force)
    params = _params(args, eq)
    ds = simulate_samples(params, args.seed, args.split, first, stop, args.batch, args.max_redraws)
    write_store(ds, args.out)
    logging.getLogger("gapbench.pde").info("wrote %s (%d samples)", args.out, stop - first)


def _simulate(args) -> int:
    _setup_logging()
    _simulate_range(args, args.equation, args.first_sample, args.first_sample + args.n_samples)
    return 0


def _shard(args) -> int:
    from gapbench.errors import ConfigError

    _setup_logging()
    first = args.shard * args.shard_size
    if not 0 <= first < args.n_samples:
        raise ConfigError(f"--shard {args.shard} is empty: {args.n_samples} samples in shards of {args.shard_size}")
    _simulate_range(args, args.equation, first, min(args.n_samples, first + args.shard_size))
    return 0


def _merge(args) -> int:
    from gapbench.outputs import check_replaceable
    from gapbench.pde.generate import merge_datasets
    from gapbench.pde.store import load, write_store

    _setup_logging()
    check_replaceable(args.out, "pde-store", args.force)
    merged = merge_datasets([load(p) for p in args.shards])  # values checked: no NaN or missing chunk passes
    write_store(merged, args.out)
    logging.getLogger("gapbench.pde").info("merged %d shards into %s", len(args.shards), args.out)
    return 0


def _observe(args) -> int:
    from gapbench.errors import StoreError
    from gapbench.naming import obs_key
    from gapbench.outputs import check_replaceable
    from gapbench.pde.observe import observe_dataset
    from gapbench.pde.seeds import noise_seed
    from gapbench.pde.store import load, write_store

    _setup_logging()
    check_replaceable(args.out, "pde-store", args.force)
    sim = load(args.sim)  # values checked: no NaN or missing chunk reaches an observed store
    a = sim.attrs
    if a["kind"] != "simulation":
        raise StoreError(f"{args.sim}: observe reads a simulation store, this is a {a['kind']} store")
    root = a["root_seed"] if args.seed is None else args.seed
    seed = noise_seed(root, a["equation"], a["nu"], a["split"], obs_key(args.method, args.resolution, args.sigma))
    write_store(observe_dataset(sim, args.method, args.resolution, args.sigma, seed), args.out)
    logging.getLogger("gapbench.pde").info("wrote %s (noise seed %d)", args.out, seed)
    return 0


def _omega(args) -> int:
    from gapbench.pde.omega import omega_table, write_table

    _setup_logging()
    rows = omega_table(args.sim, args.resolutions, args.first_frame, args.n_frames)
    write_table(rows, args.out, args.first_frame, args.n_frames)
    for f, w in rows:
        print(f"f={f}: omega_f={w:.3e}")
    return 0


def _simulate_parsers(sub, handler, shard: bool) -> None:
    from gapbench.pde.equations import EQUATIONS

    for equation, eq in EQUATIONS.items():
        p = sub.add_parser(equation, help=f"{eq.title} trajectories into a Zarr store")
        _physics_args(p, eq)
        p.add_argument("--split", default="train",
                       help="split label; part of every sample's seed (default %(default)s)")
        if shard:
            p.add_argument("--n-samples", type=number(int, 1, 1000000), required=True,
                           help="trajectories in the whole split")
            p.add_argument("--shard-size", type=number(int, 1, 100000), required=True, help="trajectories per shard")
            p.add_argument("--shard", type=number(int, 0), required=True, help="shard index (samples shard*size ..)")
        else:
            p.add_argument("--n-samples", type=number(int, 1, 1000000), required=True, help="trajectories to simulate")
            p.add_argument("--first-sample", type=number(int, 0), default=0,
                           help="global index of the first sample (default 0)")
        p.set_defaults(handler=handler, equation=eq)  # the registry entry itself travels down the data path


def register(sub) -> None:
    """Add ``simulate`` and ``pde`` (shard, merge, observe, omega) to the top-level parser."""
    sim = sub.add_parser("simulate", help="simulate trajectories of an equation (ks, ns, ...) into a Zarr store "
                         "(standalone)")
    _simulate_parsers(sim.add_subparsers(dest="equation_command", required=True), _simulate, shard=False)

    pde = sub.add_parser("pde", help="PDE data stage: shards, merge, observation, omega_f (called by the rules)")
    psub = pde.add_subparsers(dest="pde_command", required=True)
    shard = psub.add_parser("shard", help="simulate one shard of a split")
    _simulate_parsers(shard.add_subparsers(dest="equation_command", required=True), _shard, shard=True)

    m = psub.add_parser("merge", help="merge shard stores into one store (lazy, bounded memory)")
    m.add_argument("shards", nargs="+", help="shard .zarr stores of one split")
    m.add_argument("--out", required=True, help="merged .zarr store")
    m.add_argument("--force", action="store_true", help="replace an existing PDE store at --out")
    m.set_defaults(handler=_merge)

    o = psub.add_parser("observe", help="observe a simulation store at a resolution with noise")
    o.add_argument("--sim", required=True, help="simulation .zarr store")
    o.add_argument("--method", choices=("fourier", "subsample"), default="fourier", help="default %(default)s")
    o.add_argument("--resolution", type=number(int, 2, 8192), required=True, help="observed points per direction")
    o.add_argument("--sigma", type=number(float, 0), default=0.0,
                   help="noise std relative to the field std (default 0)")
    o.add_argument("--seed", type=seed, default=None, help="root seed of the noise (default: the store's root_seed)")
    o.add_argument("--out", required=True, help="observed .zarr store")
    o.add_argument("--force", action="store_true", help="replace an existing PDE store at --out")
    o.set_defaults(handler=_observe)

    w = psub.add_parser("omega", help="unobserved energy fraction omega_f per observed resolution")
    w.add_argument("--sim", nargs="+", required=True, help="simulation .zarr store(s)")
    w.add_argument("--resolutions", nargs="+", type=number(int, 2, 8192), required=True, help="observed resolutions f")
    w.add_argument("--first-frame", type=number(int, 0), default=0,
                   help="first frame averaged over (the pipeline: the warm-up, the first scored frame)")
    w.add_argument("--n-frames", type=number(int, 0), default=0,
                   help="frames averaged over from --first-frame (the pipeline: the horizon; 0: all the rest)")
    w.add_argument("--out", required=True, help="CSV with columns resolution,omega_f,first_frame,n_frames")
    w.set_defaults(handler=_omega)
