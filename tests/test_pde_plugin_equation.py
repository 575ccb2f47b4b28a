"""Bring your own PDE: a module outside gapbench registers the 1D heat equation, names itself in the config's
``plugins``, and the equation runs through simulation, observation, the store check, training, the baselines and
the tables like KS and NS - with no gapbench file edited.

The heat equation ``u_t = nu u_xx`` on ``[0, L)`` has an exact solution: a sum of sines
``sum_k a_k sin(2 pi k x / L + phi_k)`` decays mode by mode, ``a_k(t) = a_k exp(-nu (2 pi k / L)^2 t)``. The stored
trajectories are checked against it, recomputed here from each trajectory's recorded seed and the plugin's law.
The plugin is written to a temporary directory (never under src/gapbench) and reaches gapbench only through
``PYTHONPATH``, the config key and ``GAPBENCH_PLUGINS``, as docs/extending.md tells a user to do.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

PLUGIN = '''
"""The 1D heat equation u_t = nu u_xx on [0, L) periodic, solved with Dedalus (a gapbench plugin)."""
import numpy as np

from gapbench.pde.equations import register_equation
from gapbench.pde.runner import batch_basis, import_dedalus, integrate_batches

WAVENUMBERS = (1, 2, 3)


def draw(rng, params):
    """u0 = sum_k a_k sin(2 pi k x / L + phi_k), a_k ~ N(0, 1), phi_k ~ U[0, 2 pi), k in WAVENUMBERS."""
    x = np.arange(params.resolution) * params.length / params.resolution
    amps, phases = rng.normal(size=len(WAVENUMBERS)), rng.uniform(0.0, 2 * np.pi, len(WAVENUMBERS))
    return sum(a * np.sin(2 * np.pi * k * x / params.length + p) for a, k, p in zip(amps, WAVENUMBERS, phases))


def simulate(u0, params, *, hyperviscosity=0.0, batch_size=4):
    d3 = import_dedalus()
    from mpi4py import MPI

    n = np.asarray(u0).shape[1]

    def build(batch):
        coords = d3.CartesianCoordinates("b", "x")
        dist = d3.Distributor(coords, dtype=np.float64, comm=MPI.COMM_SELF)
        bases = (batch_basis(d3, coords["b"], batch),
                 d3.RealFourier(coords["x"], size=n, bounds=(0.0, params.length), dealias=3 / 2))
        u, scratch = dist.Field(name="u", bases=bases), dist.Field(name="scratch", bases=bases)

        def dx(a):
            return d3.Differentiate(a, coords["x"])

        problem = d3.IVP([u], namespace={"u": u, "dx": dx, "nu": params.nu, "hv": hyperviscosity})
        hyper = " + hv*dx(dx(dx(dx(dx(dx(dx(dx(u))))))))" if hyperviscosity > 0 else ""
        problem.add_equation("dt(u) - nu*dx(dx(u))" + hyper + " = 0")
        return problem, u, scratch

    def set_initial(built, chunk):
        built[1].change_scales(1)
        built[1]["g"] = chunk

    frames, _ = integrate_batches("heat", build, set_initial, u0, t_end=params.t_end, n_frames=params.n_frames,
                                  dt=params.dt, stepper=params.stepper, batch_size=batch_size, bound=1e3)
    return frames


def laws():
    return {"forcing": "none", "initial_condition": "sum of sines a_k sin(2 pi k x / L + phi_k), k = 1, 2, 3, "
            "a_k ~ N(0, 1), phi_k ~ U[0, 2 pi)"}


def _int(default, minimum=1):
    return {"type": "integer", "minimum": minimum, "default": default, "description": "see the plugin"}


SCHEMA = {
    "type": "object", "additionalProperties": False, "default": {}, "description": "1D heat equation",
    "properties": {
        "nus": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}, "minItems": 1,
                "default": [0.1], "description": "diffusivities"},
        "length": {"type": "number", "exclusiveMinimum": 0, "default": 6.283185307179586, "description": "period"},
        "resolution": {**_int(32, 4), "multipleOf": 2},
        "t_end": {"type": "number", "exclusiveMinimum": 0, "default": 1.0, "description": "final time"},
        "n_frames": _int(11, 2),
        "dt": {"type": "number", "exclusiveMinimum": 0, "default": 0.01, "description": "time step"},
        "stepper": {"enum": ["SBDF2", "SBDF4", "RK443"], "default": "RK443", "description": "timestepper"},
        "batch": _int(4),
        "n_samples": {"type": "object", "additionalProperties": False, "default": {}, "description": "per split",
                      "properties": {s: _int(n) for s, n in (("train", 6), ("valid", 2), ("test", 2))}},
        "shard_size": _int(4),
        "max_redraws": _int(0, 0),
    },
}

register_equation("heat", field="u", n_dims=1, title="Heat equation (1D)", label="Heat", initial_condition=draw,
                  simulate=simulate, laws=laws, default_stepper="RK443", default_batch=4, default_dt=0.01,
                  default_length=2 * np.pi, schema=SCHEMA)
'''


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("heat_plugin")
    (path / "my_heat.py").write_text(PLUGIN)
    return path


def _env(plugins: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = f"{REPO / 'src'}{os.pathsep}{plugins}"
    env.update(OMP_NUM_THREADS="1", GAPBENCH_PROGRESS="0", **extra)
    env.pop("SNAKEMAKE_PROFILE", None)
    return env


def _gapbench(plugins: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "gapbench"), *args], cwd=cwd, env=_env(plugins, GAPBENCH_PLUGINS="my_heat"),
                          capture_output=True, text=True, timeout=600)


def exact(u0: np.ndarray, nu: float, length: float, times: np.ndarray) -> np.ndarray:
    """The heat equation's solution from ``u0 (N,)`` at ``times``: each Fourier mode decays at nu (2 pi k / L)^2."""
    spec = np.fft.rfft(u0)
    k = np.arange(spec.size)
    decay = np.exp(-nu * (2 * np.pi * k / length) ** 2 * times[:, None])
    return np.fft.irfft(spec * decay, n=u0.size, axis=-1)


def test_the_plugin_lives_outside_gapbench():
    assert "my_heat" not in {p.stem for p in (REPO / "src").rglob("*.py")}


def test_a_plugin_equation_simulates_the_exact_solution_and_is_observed(plugin_dir, tmp_path):
    import importlib.util

    from gapbench.pde.store import load

    sim, obs = tmp_path / "heat.zarr", tmp_path / "heat_obs.zarr"
    proc = _gapbench(plugin_dir, "simulate", "heat", "--nu", "0.1", "--resolution", "32", "--t-end", "1",
                     "--n-frames", "11", "--n-samples", "3", "--seed", "5", "--out", str(sim), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    check = _gapbench(plugin_dir, "data", "check", str(sim), cwd=tmp_path)
    assert check.returncode == 0 and "ok: heat simulation store" in check.stdout, check.stdout + check.stderr

    # the exact solution from each trajectory's recorded seed, drawn by the plugin's own law
    spec = importlib.util.spec_from_file_location("heat_law", plugin_dir / "my_heat.py")
    law = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(law)  # registers "heat" in this process too (load() checks the store's equation)
    from gapbench.pde.equations import EQUATIONS, SimParams

    try:
        ds = load(sim)
        assert ds.attrs["equation"] == "heat" and ds["u"].dims == ("sample", "time", "x")
        assert ds.attrs["stepper"] == "RK443" and ds.attrs["dt"] == 0.01 and ds.attrs["length"] == 2 * np.pi
        params = SimParams("heat", 0.1, 32, 1.0, 11, 0.01, "RK443", 2 * np.pi)
        for i, seed in enumerate(ds["seed"].values):
            u0 = law.draw(np.random.default_rng(int(seed)), params)
            want = exact(u0, 0.1, 2 * np.pi, ds["time"].values)
            np.testing.assert_allclose(ds["u"].values[i], want, atol=2e-6 * np.abs(want).max())
        assert not np.allclose(ds["u"].values[:, -1], ds["u"].values[:, 0], atol=1e-2)  # it did decay

        proc = _gapbench(plugin_dir, "pde", "observe", "--sim", str(sim), "--method", "fourier", "--resolution",
                         "8", "--sigma", "0", "--out", str(obs), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        observed = load(obs)
        # modes 1..3 survive a truncation to |k| <= 4: the observed clean field is the simulation on 8 points
        np.testing.assert_allclose(observed["u_clean"].values, ds["u"].values[..., ::4], atol=1e-5)
    finally:
        EQUATIONS.pop("heat", None)


def test_a_bad_plugin_equation_section_is_one_line_naming_its_key(plugin_dir, tmp_path):
    config = {"plugins": ["my_heat"], "pde": {"equations": ["heat"], "heat": {"nus": [-0.1]}},
              "train": {"pde": {"equations": ["heat"]}}}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(config))
    proc = _gapbench(plugin_dir, "config", "check", str(tmp_path / "bad.yaml"), cwd=tmp_path)
    assert proc.returncode == 2 and "pde.heat.nus[0]" in proc.stderr and "Traceback" not in proc.stderr
    config["pde"]["heat"] = {"dt": 0.03}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(config))
    proc = _gapbench(plugin_dir, "config", "check", str(tmp_path / "bad.yaml"), cwd=tmp_path)
    assert proc.returncode == 2 and "config key pde.heat.dt: dt=0.03 does not divide" in proc.stderr, proc.stderr


def _pipeline_config(path: Path) -> Path:
    """configs/ci.yaml with the heat equation alone in Part II and no Part I."""
    config = yaml.safe_load((REPO / "configs" / "ci.yaml").read_text())
    config["plugins"] = ["my_heat"]
    config["pde"]["equations"] = ["heat"]
    config["pde"]["heat"] = {"nus": [0.1], "n_samples": {"train": 4, "valid": 2, "test": 2}, "shard_size": 3}
    config["pde"]["observe"]["heat"] = {"resolutions": [8], "sigmas": [0]}
    config["train"]["pde"].update(equations=["heat"], models=["ffno"], solver_factors=[2])
    config["train"]["pde"]["heat"] = {"width": 4, "n_layers": 1, "epochs": 2, "batch_size": 2}
    graphs = config["graphs"]
    graphs["planted_star"]["leaves"], graphs["map"]["n"], graphs["ising"]["trees"], graphs["duplicates"]["n"] = \
        [], [], [], []
    config["train"]["graph"]["memory"].update(planted_star=[], duplicates=[])
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.mark.slow
def test_a_plugin_equation_runs_through_training_and_tables(plugin_dir, tmp_path):
    config = _pipeline_config(tmp_path / "config.yaml")
    env = _env(plugin_dir)
    env.pop("GAPBENCH_PLUGINS", None)  # the workflow exports it from the config key
    proc = subprocess.run([str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--directory",
                           str(tmp_path), "--configfile", str(config), "--workflow-profile", "none", "--cores", "2",
                           "tables"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert not (tmp_path / "results/data/pde/ks").exists() and not (tmp_path / "results/data/pde/ns").exists()
    with open(tmp_path / "results/tables/pde_heat.csv", newline="") as fh:
        rows = {r["model"]: r for r in csv.DictReader(fh)}
    assert list(rows) == ["persistence", "zero", "solver_hv-r8", "solver-r16", "solver-r32", "ffno"], list(rows)
    # the solver on the simulation's grid from the observed first frame (modes 1..3, all observed at 8 points)
    # reproduces the exact decay: its error is the time-stepping error only
    assert float(rows["solver-r32"]["nrmse_mean"]) < 1e-4
    assert float(rows["zero"]["nrmse_mean"]) == pytest.approx(1.0)
    assert 0 < float(rows["persistence"]["nrmse_mean"]) < 1  # frame 0 is closer than zero to a decaying field
    assert "Heat equation (1D)" in (tmp_path / "results/tables/pde_heat.md").read_text()
