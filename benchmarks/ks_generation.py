"""KS data generation cost per trajectory: gapbench's batched Dedalus solver against two anchors.

Settings (KS anchor): N = 512, L = 64, T = 5, 51 frames, nu = 0.1 (``--nu``). All three generators are timed in
this run, on this machine:

* **Radau** - ``scipy.integrate.solve_ivp(method="Radau", atol=rtol=1e-9)`` on the pseudo-spectral semi-discretisation
  in physical space (FFT derivatives, no dealiasing, finite-difference Jacobian): the generator the MemNO data came
  from. One trajectory by default (``--radau-trajectories``).
* **ETDRK4** - numpy Kassam-Trefethen ETDRK4 (contour-integral coefficients), one trajectory at a time, with the
  largest step ``0.1 / k`` that meets the accuracy target.
* **Dedalus** - ``gapbench.pde.ks.simulate_ks`` (batched, ``--batch`` trajectories per solve) with ``--stepper``,
  also at the largest ``dt = 0.1 / k`` that meets the accuracy target; cost = (matrix set-up + stepping) / batch.

Accuracy: the largest relative L2 error over frames and trajectories, ``max ||u(t) - u_ref(t)|| / ||u_ref(t)||``,
against a fine reference (3/2-dealiased ETDRK4, h = 2e-3, self-error ~1e-7) on ``--check`` trajectories.
Targets: Radau / Dedalus >= 50 and Dedalus / ETDRK4 <= 1 at error <= 1e-4.

Run: ``.venv/bin/python benchmarks/ks_generation.py`` (about 1-2 min on an idle core; ``--help`` for options).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402

from gapbench.pde import ks  # noqa: E402
from gapbench.pde.etdrk4 import etdrk4_ks  # noqa: E402
from gapbench.pde.runner import DivergenceError  # noqa: E402

N, L, T, FRAMES = 512, 64.0, 5.0, 51
SAVE = T / (FRAMES - 1)
TARGET = 1e-4


def etdrk4(u0, nu, h, dealias):
    """The ETDRK4 anchor on this benchmark's grid and horizon; u0 (batch, N) -> frames."""
    return etdrk4_ks(u0, nu, L, SAVE * (FRAMES - 1), FRAMES, h, dealias=dealias)


def radau(u0, nu):
    """The MemNO-style generator: solve_ivp Radau on u_t = -u u_x - u_xx - nu u_xxxx with FFT derivatives."""
    k = 2 * np.pi / L * np.fft.rfftfreq(N, 1 / N)
    lin = k**2 - nu * k**4

    def rhs(t, u):
        uh = np.fft.rfft(u)
        return -np.fft.irfft(1j * k * uh, n=N) * u + np.fft.irfft(lin * uh, n=N)

    times = np.linspace(0, T, FRAMES)
    sol = solve_ivp(rhs, (0, T), u0, method="Radau", t_eval=times, atol=1e-9, rtol=1e-9)
    if not sol.success:
        raise RuntimeError(sol.message)
    return sol.y.T[None], sol.nfev


def rel_error(u, ref):
    return float((np.linalg.norm(u - ref, axis=-1) / np.linalg.norm(ref, axis=-1)).max())


def largest_accurate_step(run, ref, divisors):
    """First ``SAVE / k`` (k ascending) whose error meets TARGET: (dt, error, [(dt, error) tried])."""
    tried = []
    for k in divisors:
        dt = SAVE / k
        try:
            err = rel_error(run(dt), ref)
        except DivergenceError:
            err = float("inf")
        tried.append((dt, err))
        if err <= TARGET:
            return dt, err, tried
    raise SystemExit(f"no step in {[f'{d:.3g}' for d, _ in tried]} meets {TARGET:g}: {tried}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nu", type=float, default=0.1)
    parser.add_argument("--stepper", default="SBDF4", help="Dedalus stepper (default %(default)s)")
    parser.add_argument("--batch", type=int, default=64, help="trajectories per Dedalus solve (default %(default)s)")
    parser.add_argument("--check", type=int, default=4, help="trajectories for the accuracy check (default 4)")
    parser.add_argument("--etd-trajectories", type=int, default=4, help="ETDRK4 trajectories timed (default 4)")
    parser.add_argument("--radau-trajectories", type=int, default=1, help="Radau trajectories timed (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    nu = args.nu
    rng = np.random.default_rng(args.seed)
    n_init = max(args.batch, args.check, args.etd_trajectories, args.radau_trajectories)
    u0 = np.stack([ks.initial_condition(rng, N, L) for _ in range(n_init)])
    check = u0[: args.check]
    print(f"KS generation, N={N}, L={L:g}, T={T:g}, {FRAMES} frames, nu={nu:g}; load average {os.getloadavg()[0]:.2f}")

    tick = time.perf_counter()
    ref = etdrk4(check, nu, 2e-3, dealias=True)
    print(f"reference: dealiased ETDRK4 h=2e-3 on {args.check} trajectories ({time.perf_counter() - tick:.1f} s)")

    divisors = (10, 12, 15, 18, 20, 25, 30, 40, 50, 80, 100)
    ks.simulate_ks(check[:2], nu, L, 2 * SAVE, 3, SAVE / 10, args.stepper)  # imports Dedalus (not timed)
    dd_dt, dd_err, dd_tried = largest_accurate_step(
        lambda dt: ks.simulate_ks(check, nu, L, T, FRAMES, dt, args.stepper), ref, divisors)
    _, stats = ks.simulate_ks(u0[: args.batch], nu, L, T, FRAMES, dd_dt, args.stepper, batch_size=args.batch,
                              return_stats=True)
    dd_cost = stats.per_trajectory_s

    etd_dt, etd_err, etd_tried = largest_accurate_step(lambda dt: etdrk4(check, nu, dt, dealias=False), ref, divisors)
    tick = time.perf_counter()
    for i in range(args.etd_trajectories):
        etdrk4(u0[i], nu, etd_dt, dealias=False)
    etd_cost = (time.perf_counter() - tick) / args.etd_trajectories

    rows = []
    if args.radau_trajectories > 0:
        tick = time.perf_counter()
        errs, nfev = [], 0
        for i in range(args.radau_trajectories):
            u, calls = radau(u0[i], nu)
            nfev += calls
            if i < args.check:
                errs.append(rel_error(u, ref[i : i + 1]))
        radau_cost = (time.perf_counter() - tick) / args.radau_trajectories
        err = f"{max(errs):.1e}" if errs else "n/a"
        rows.append(("scipy Radau (rtol=atol=1e-9)", f"{nfev // args.radau_trajectories} RHS evals", radau_cost, err))
    rows.append(("numpy ETDRK4, one at a time", f"dt={etd_dt:.4g}", etd_cost, f"{etd_err:.1e}"))
    rows.append((f"Dedalus {args.stepper}, batch {args.batch}", f"dt={dd_dt:.4g}", dd_cost, f"{dd_err:.1e}"))

    print(f"step search (dt, error): ETDRK4 {[(round(d, 5), f'{e:.1e}') for d, e in etd_tried]}")
    print(f"                         Dedalus {[(round(d, 5), f'{e:.1e}') for d, e in dd_tried]}")
    print(f"Dedalus solve: {stats.summary()}")
    print(f"\n{'generator':34s} {'settings':18s} {'s/trajectory':>13s} {'rel. error':>11s}")
    for name, setting, cost, err in rows:
        print(f"{name:34s} {setting:18s} {cost:13.4f} {err:>11s}")
    print()
    if args.radau_trajectories > 0:
        print(f"Radau / Dedalus   = {radau_cost / dd_cost:8.1f}   (target >= 50)")
    print(f"Dedalus / ETDRK4  = {dd_cost / etd_cost:8.3f}   (target <= 1)")


if __name__ == "__main__":
    main()
