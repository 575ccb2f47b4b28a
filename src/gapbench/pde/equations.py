"""The one place that names an equation of Part II and everything the pipeline needs to know about it.

An :class:`Equation` entry holds the store's field name and spatial dimensions, the solver's initial-condition law
and integrator, its defaults, the stabilised-coarse-run scaling, and the labels of tables and figures. Everything
that used to branch on an equation's name reads it: the simulation and store code (``generate``, ``store``), the
``gapbench simulate`` / ``pde shard`` subcommands (one subparser per entry), the config's plan and checks
(``plan``, ``config_checks``, ``train.pde_plan``), the trainer and the solver baseline, the tables (one
``pde_{name}`` table per entry) and figures, and the Snakemake wildcard constraint ``eq``.

**A simulation's settings** come from the config section ``pde.{name}`` in one of two shapes (:func:`runs`):

* ``nus: [...]`` with ``t_end``, ``n_frames``, ``dt`` beside it (one simulation per viscosity, KS), or
* ``regimes: [{nu, t_end, n_frames, dt}, ...]`` (one simulation per regime, NS);

the section's other keys (``resolution``, ``stepper``, ``batch``, ``max_redraws``, ``shard_size``, ``n_samples``,
and ``length`` where the domain is not fixed) are shared by its simulations. :func:`shard_args` turns one
simulation into the arguments of ``gapbench pde shard {name}``.

**The solver contract.** ``initial_condition(rng, params) -> (N,)*n_dims`` draws one initial field on the grid
``x_j = j L / N`` (every random number from ``rng``), and ``simulate(u0, params, *, hyperviscosity=0.0,
batch_size=None) -> (batch, n_frames, N, ...)`` integrates a batch of them (``params`` a :class:`SimParams`; frames
evenly spaced on ``[0, t_end]``, frame 0 the initial condition; ``batch_size`` None: the entry's default batch;
``hyperviscosity`` ``h`` adds ``h (-lap)^4`` to the right-hand side, the stabilised coarse run of the solver
baseline; a diverging trajectory raises ``runner.DivergenceError``). ``laws() -> {"forcing": ..,
"initial_condition": ..}`` describes both in words for the store's attributes.

**Bring your own PDE.** A plugin module (config key ``plugins``, as for models: ``gapbench.registry``) calls
:func:`register_equation` with its solver functions and the schema of its ``pde.{name}`` section; the config
schema then gains ``pde.{name}``, ``pde.observe.{name}`` and ``train.pde.{name}`` (the last two in the shape of
KS's) and ``name`` in both ``equations`` lists (:func:`extend_schema`). docs/extending.md has the recipe.

Built-in entries name their functions as ``"module:attribute"`` strings, so importing this module does not import
Dedalus.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from gapbench.config import section_args
from gapbench.errors import ConfigError
from gapbench.naming import fmt_num
from gapbench.registry import add_config_sections, check_name, resolve
from gapbench.registry import extend_schema as mixer_sections

# Coordinate names of the spatial axes, in order (a store's dims are (sample, time, *SPACE[:n_dims])).
SPACE = ("x", "y", "z")


# Data laws (config ``pde.{eq}.laws``): which part of a trajectory is stored.
#   attractor: the first ``burn_in`` time units after the initial condition are simulated and dropped, so the
#              stored frames start on the attractor (statistically stationary), not at the drawn field;
#   transient: the stored frames start at the drawn initial condition (MemNO's KS data: frame 0 is a sum of
#              sines with wavenumbers <= 7, observed exactly at 32 points).
LAWS = ("attractor", "transient")


def law_of(burn_in: float) -> str:
    """The data law of a simulation whose stored frames start ``burn_in`` after the initial condition."""
    return "attractor" if burn_in > 0 else "transient"


@dataclass(frozen=True)
class SimParams:
    """Everything that determines one (equation, nu) simulation, besides the seeds.

    ``equation`` is the registry entry (:class:`Equation`); a name given here is resolved once, at construction,
    and the object travels down the data path (shard -> generate -> store) from there."""

    equation: Equation  # the registered equation (a name is resolved to its entry)
    nu: float  # viscosity
    resolution: int  # grid points per direction
    t_end: float  # final time of the stored frames, counted from the first stored frame
    n_frames: int  # saved frames including the first, evenly spaced on [0, t_end]
    dt: float  # fixed time step
    stepper: str  # Dedalus timestepper name
    length: float  # domain period in every direction (KS: L; NS: 1, the unit torus)
    burn_in: float = 0.0  # time simulated from the initial condition and dropped before the first stored frame
    forcing: tuple = ()  # the equation's forcing parameters (its entry's forcing_params); () = its default forcing

    def __post_init__(self):
        if isinstance(self.equation, str):
            object.__setattr__(self, "equation", get(self.equation))
        if not self.burn_in >= 0:
            raise ConfigError(f"burn_in must be >= 0, got {self.burn_in}")

    @property
    def law(self) -> str:
        return law_of(self.burn_in)

    @property
    def save_interval(self) -> float:
        return self.t_end / (self.n_frames - 1)

    def burn_in_frames(self) -> int:
        """Save intervals in the burn-in; ConfigError unless the burn-in is a whole number of them."""
        steps = round(self.burn_in / self.save_interval)
        if abs(steps * self.save_interval - self.burn_in) > 1e-9 * max(self.burn_in, 1.0):
            raise ConfigError(f"burn_in {self.burn_in:g} is not a multiple of the save interval "
                              f"t_end/(n_frames-1) = {self.save_interval:g}; allowed: k * {self.save_interval:g}")
        return int(steps)


@dataclass(frozen=True)
class Equation:
    """One registered equation (module docstring: the solver contract and the config shapes)."""

    name: str  # config key, wildcard value, store attr ``equation``, table ``pde_{name}``
    field: str  # the store's data variable (``u``, ``vorticity``)
    n_dims: int  # spatial dimensions
    title: str  # table title and CLI help, e.g. "Kuramoto-Sivashinsky (1D)"
    label: str  # short label in figures, e.g. "KS"
    initial_condition: str | Callable
    simulate: str | Callable
    laws: str | Callable
    default_stepper: str
    default_batch: int
    default_dt: float | None = None  # None: --dt is required
    length: float | None = None  # fixed domain period; None: a parameter (--length, config key length)
    default_length: float | None = None  # its default where it is a parameter
    field_is_velocity: bool = False  # the solver_hv scaling: advective rate max|u| k_c (velocity), max|w| (rate)
    marker: str = "^"  # figure marker
    schema: dict | None = field(default=None, compare=False)  # the pde.{name} section of a plugin equation
    forcing_params: tuple[str, ...] = ()  # names of SimParams.forcing (NS: amplitude, wavenumber); () = fixed
    default_burn_in: float = 0.0  # the CLI's --burn-in default (the config schema's attractor burn-in)

    @property
    def dims(self) -> tuple[str, ...]:
        """The store variable's dims: ``(sample, time, x[, y[, z]])``."""
        return ("sample", "time", *SPACE[: self.n_dims])

    def draw(self, rng, params: SimParams):
        return resolve(self.initial_condition)(rng, params)

    def solve(self, u0, params: SimParams, *, hyperviscosity: float = 0.0, batch_size: int | None = None):
        return resolve(self.simulate)(u0, params, hyperviscosity=hyperviscosity,
                                       batch_size=batch_size or self.default_batch)

    def describe(self, params: SimParams | None = None) -> dict[str, str]:
        """Forcing and initial-condition law as text (store attrs ``forcing``, ``initial_condition``); an equation
        with forcing parameters gets those of ``params`` (its ``laws(forcing)``)."""
        if params is not None and params.forcing:
            return dict(resolve(self.laws)(params.forcing))
        return dict(resolve(self.laws)())


EQUATIONS: dict[str, Equation] = {}


def register_equation(name: str, *, field: str, n_dims: int, initial_condition: str | Callable,
                      simulate: str | Callable, laws: str | Callable, default_stepper: str, default_batch: int,
                      title: str = "", label: str = "", default_dt: float | None = None, length: float | None = None,
                      default_length: float | None = None, field_is_velocity: bool = False, marker: str = "^",
                      schema: dict | None = None, forcing_params: tuple[str, ...] = (),
                      default_burn_in: float = 0.0) -> None:
    """Register equation ``name`` (module docstring). ``schema``: the JSON schema of its ``pde.{name}`` config
    section, required for an equation the config schema file does not describe (a plugin's)."""
    check_name("equation", name, EQUATIONS)
    if n_dims not in range(1, len(SPACE) + 1):
        raise ConfigError(f"equation {name!r}: n_dims {n_dims}; allowed: 1..{len(SPACE)}")
    if (length is None) == (default_length is None):
        raise ConfigError(f"equation {name!r}: give either a fixed length or a default_length (a parameter)")
    EQUATIONS[name] = Equation(name, field, n_dims, title or name, label or name.upper(), initial_condition,
                               simulate, laws, default_stepper, default_batch, default_dt, length, default_length,
                               field_is_velocity, marker, schema, tuple(forcing_params), float(default_burn_in))


def get(name: str) -> Equation:
    """The entry of ``name``; KeyError naming the registered ones."""
    if name not in EQUATIONS:
        raise KeyError(f"unknown equation {name!r}; registered: {', '.join(EQUATIONS)} (plugins register more)")
    return EQUATIONS[name]


# ------------------------------------------------------------------------------------------ config sections
@dataclass(frozen=True)
class Run:
    """One simulation a ``pde.{eq}`` section asks for; ``key`` is the config path of its t_end/n_frames/dt and
    ``nu_key`` that of its viscosity (for error messages). ``burn_in`` is the burn-in of the attractor law."""

    nu: float
    t_end: float
    n_frames: int
    dt: float
    key: str
    nu_key: str
    burn_in: float = 0.0
    forcing: tuple = ()  # the regime's forcing parameters (NS: forcing_amplitude, forcing_wavenumber)


def runs(config: dict, equation: str) -> list[Run]:
    """The simulations of ``pde.{equation}``, in config order, from either section shape (module docstring)."""
    sec, where = config["pde"][equation], f"pde.{equation}"
    if "regimes" in sec:
        names = get(equation).forcing_params
        return [Run(float(r["nu"]), r["t_end"], r["n_frames"], r["dt"], f"{where}.regimes[{i}]",
                    f"{where}.regimes[{i}].nu", float(r.get("burn_in", 0.0)),
                    tuple(r[f"forcing_{n}"] for n in names if f"forcing_{n}" in r))
                for i, r in enumerate(sec["regimes"])]
    return [Run(float(nu), sec["t_end"], sec["n_frames"], sec["dt"], where, f"{where}.nus[{i}]",
                float(sec.get("burn_in", 0.0))) for i, nu in enumerate(sec["nus"])]


def laws(config: dict, equation: str) -> list[str]:
    """The data laws (:data:`LAWS`) simulated for ``equation``: ``pde.{equation}.laws``; a section without the
    key (a plugin's) stores its transient."""
    return list(config["pde"][equation].get("laws", ["transient"]))


# Keys of pde.{eq} passed to every shard of its simulations, in command-line order (those the section has).
SHARED_KEYS = ("length", "resolution", "stepper", "batch", "max_redraws", "shard_size")


def shard_args(config: dict, equation: str, law: str, nu: str, split: str) -> list[str]:
    """Arguments of ``gapbench pde shard {equation}`` for the simulation of viscosity ``nu`` (as formatted in
    paths) under data law ``law`` and ``split``, from ``pde.{equation}`` and ``seed`` (the shard index and output
    are the rule's). The attractor law passes the run's ``burn_in``, the transient law 0."""
    sec = config["pde"][equation]
    run = next((r for r in runs(config, equation) if fmt_num(r.nu) == nu), None)
    if run is None:
        raise KeyError(f"no {equation} simulation with nu={nu} in pde.{equation}")
    if law not in laws(config, equation):
        raise KeyError(f"data law {law!r} is not in pde.{equation}.laws ({', '.join(laws(config, equation))})")
    values = {"nu": nu, "t_end": run.t_end, "n_frames": run.n_frames, "dt": run.dt,
              "burn_in": run.burn_in if law == "attractor" else 0.0,
              **{key: sec[key] for key in SHARED_KEYS if key in sec},
              "n_samples": sec["n_samples"][split], "seed": config["seed"]}
    forcing = ["--forcing", *map(str, run.forcing)] if run.forcing else []
    return section_args(values, list(values)) + forcing


def extend_schema(schema: dict) -> None:
    """Give ``schema`` the sections of every registered equation it lacks (module docstring), in place."""
    for name, eq in EQUATIONS.items():
        add_config_sections(schema, f"equation {name!r}",
                            {f"pde.{name}": eq.schema, f"pde.observe.{name}": "pde.observe.ks",
                             f"train.pde.{name}": "train.pde.ks"},
                            "register_equation(..., schema={...})", name, ("pde.equations", "train.pde.equations"))
    mixer_sections(schema, list(EQUATIONS))  # a plugin mixer's own settings, under each equation's section


# ------------------------------------------------------------------------------------------------ built-ins
register_equation(
    "ks", field="u", n_dims=1, title="Kuramoto-Sivashinsky (1D)", label="KS", marker="o",
    initial_condition="gapbench.pde.ks:draw", simulate="gapbench.pde.ks:simulate", laws="gapbench.pde.ks:laws",
    default_stepper="SBDF4", default_batch=32, default_dt=5e-3, default_length=64.0, field_is_velocity=True,
    default_burn_in=20.0,
)
register_equation(
    "ns", field="vorticity", n_dims=2, title="Navier-Stokes (2D vorticity)", label="NS", marker="s",
    initial_condition="gapbench.pde.ns:draw", simulate="gapbench.pde.ns:simulate", laws="gapbench.pde.ns:laws",
    default_stepper="SBDF2", default_batch=8, length=1.0, forcing_params=("amplitude", "wavenumber"),
    default_burn_in=2.0,
)
