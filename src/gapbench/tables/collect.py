"""Reading the training stage's metrics files into runs and cells, with every absent run accounted for.

A *run* is one expected ``metrics.json`` (one model, one dataset, one seed). Its identity comes from its path,
which is fixed by the path layout of docs/tables.md, so a run whose file is absent (a failed or unfinished job)
is still placed in its cell and reported as missing:

* PDE:   ``.../train/pde/{eq}/{law}/nu{nu}/{method}-r{resolution}-s{sigma}/{model}/seed{seed}/metrics.json``
* graph: ``.../train/graph/{kind}/{variant}/{model}/seed{seed}/metrics.json`` where ``model`` may carry a budget,
  ``{base}-d{depth}-w{width}``.

A *cell* groups the runs that differ only by seed. Its number of expected seeds is the number of expected runs
in it, so a mean over fewer seeds than configured is flagged (``partial``), never silently smaller.
A run is *usable* when its file parses, its own identity (``model``, ``seed``, ``equation``/``experiment``,
``variant``, ... as the trainer wrote them) agrees with its path (else its status is ``"mismatch"``: a file copied
into the wrong folder), its ``status`` is ``"ok"`` and its headline metrics (:data:`HEADLINE`)
are finite numbers (else its status is ``"non-finite"``); another value that is not finite makes that value
missing in that run (reported), not the whole run.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from gapbench.graphs import variants
from gapbench.naming import fmt_num, parse_obs_key
from gapbench.registry import PDE_MODELS
from gapbench.train.graph_paths import EXTRAS, MEMORY

PDE_KEYS = ("equation", "law", "nu", "method", "resolution", "sigma", "model")
GRAPH_KEYS = ("experiment", "variant", "model")
# Metrics a usable run must hold as finite numbers (NaN is written as null in metrics files).
HEADLINE = {"pde": ("nrmse", "nrmse_final"), "graph": ("test",)}
_MODEL_BUDGET = re.compile(r"^(?P<base>.+?)-d(?P<depth>\d+)-w(?P<width>\d+)$")


@dataclass
class Run:
    """One expected metrics file: identity from its path, values from the file when it is usable."""

    path: Path
    task: str  # "pde" | "graph"
    key: tuple  # cell identity (PDE_KEYS or GRAPH_KEYS values)
    ident: dict  # the identity as a mapping, plus parsed extras (params, base model, budget)
    seed: int
    status: str  # "ok", "missing", "unreadable", or the file's own non-ok status (e.g. "failed", "diverged")
    reason: str = ""
    metrics: dict = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.status == "ok"

    def value(self, name: str) -> float | None:
        """A finite float metric of a usable run, else None."""
        if not self.usable:
            return None
        v = self.metrics.get(name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return None
        return float(v)


@dataclass
class Cell:
    """The runs of one configuration over its seeds."""

    key: tuple
    ident: dict
    runs: list[Run]

    @property
    def n_expected(self) -> int:
        return len(self.runs)

    @property
    def usable(self) -> list[Run]:
        return [r for r in self.runs if r.usable]

    def values(self, name: str) -> list[float]:
        """Finite values of metric ``name`` over the usable seeds, ordered by seed."""
        out = []
        for r in sorted(self.runs, key=lambda r: r.seed):
            v = r.value(name)
            if v is not None:
                out.append(v)
        return out

    @property
    def status(self) -> str:
        """'ok' when a seed is usable, else the runs' own status when they gave one (e.g. 'diverged'),
        else 'missing'."""
        if self.usable:
            return "ok"
        own = sorted({r.status for r in self.runs} - {"missing", "unreadable"})
        return "/".join(own) if own else "missing"

    def first(self, name: str):
        """The first usable (else any) run's value of ``name``, for per-cell constants such as n_params."""
        for r in sorted(self.runs, key=lambda r: (not r.usable, r.seed)):
            if name in r.metrics:
                return r.metrics[name]
        return None


def split_model(model: str) -> tuple[str, int | None, int | None]:
    """'edge_gcn-d4-w32' -> ('edge_gcn', 4, 32); 'edge_gcn' -> ('edge_gcn', None, None)."""
    m = _MODEL_BUDGET.match(model)
    if not m:
        return model, None, None
    return m["base"], int(m["depth"]), int(m["width"])


def parse_path(path: Path) -> tuple[str, dict, int]:
    """Identity of a metrics path: (task, identity mapping, seed). Raises ValueError if off-contract."""
    parts = Path(path).parts
    for i in range(len(parts) - 1):
        if parts[i] == "train" and parts[i + 1] in ("pde", "graph"):
            rest = parts[i + 1 :]
            break
    else:
        raise ValueError(f"{path}: not under .../train/pde/ or .../train/graph/")
    if rest[-1] != "metrics.json" or not rest[-2].startswith("seed"):
        raise ValueError(f"{path}: expected .../seed<N>/metrics.json")
    seed = int(rest[-2][4:])
    if rest[0] == "pde":
        if len(rest) != 8 or not rest[3].startswith("nu"):
            raise ValueError(f"{path}: expected train/pde/<eq>/<law>/nu<nu>/<obs>/<model>/seed<N>/metrics.json")
        method, resolution, sigma = parse_obs_key(rest[4])
        ident = {"equation": rest[1], "law": rest[2], "nu": float(rest[3][2:]), "method": method,
                 "resolution": resolution, "sigma": sigma, "model": rest[5], "obs": rest[4]}
        return "pde", ident, seed
    if len(rest) != 6:
        raise ValueError(f"{path}: expected train/graph/<kind>/<variant>/<model>/seed<N>/metrics.json")
    base, depth, width = split_model(rest[3])
    ident = {"experiment": rest[1], "variant": rest[2], "model": rest[3], "base_model": base,
             "budget_depth": depth, "budget_width": width, "params": variants.parse(rest[1], rest[2])}
    return "graph", ident, seed


def identity_mismatch(task: str, ident: dict, seed: int, metrics: dict) -> list[str]:
    """Where a metrics file's own identity (model, seed, equation or kind, variant) differs from its path's,
    as ``key: file says X, path says Y``; keys the file lacks are not compared."""
    if task == "pde":
        expected = {k: ident[k] for k in ("equation", "law", "nu", "method", "resolution", "sigma", "model")}
    else:
        base = ident["base_model"]
        for suffix in EXTRAS.values():  # an extra run (-ef, -ids) is its base model's run with more inputs
            base = base[: -len(suffix)] if base.endswith(suffix) else base
        expected = {"experiment": ident["experiment"], "variant": ident["variant"], "model": base}
        if metrics.get("model") == ident["model"]:  # the run's folder name (with its budget) is fine too
            expected["model"] = ident["model"]
        if ident["experiment"] == MEMORY and metrics.get("experiment") != MEMORY:  # memory/{task}-{variant}/
            expected.pop("experiment")
            metrics = {**metrics, "variant": f"{metrics.get('experiment')}-{metrics.get('variant')}"}
    expected["seed"] = seed
    out = []
    for key, want in expected.items():
        if key not in metrics:
            continue
        got = metrics[key]
        same = (isinstance(got, (int, float)) and not isinstance(got, bool) and isinstance(want, (int, float))
                and math.isclose(float(got), float(want), rel_tol=1e-9)) or str(got) == str(want)
        if not same:
            out.append(f"{key}: file says {got!r}, path says {want!r}")
    return out


def read_run(path: Path) -> Run:
    """Parse one expected metrics path; read the file if present (never raises for a bad file)."""
    path = Path(path)
    task, ident, seed = parse_path(path)
    key = tuple(ident[k] for k in (PDE_KEYS if task == "pde" else GRAPH_KEYS))
    run = Run(path=path, task=task, key=key, ident=ident, seed=seed, status="missing",
              reason="no metrics file (job not run, failed, or still running)")
    if not path.exists():
        return run
    try:
        with open(path) as fh:
            metrics = json.load(fh)
        if not isinstance(metrics, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as err:
        run.status, run.reason = "unreadable", f"unreadable metrics file: {err}"
        return run
    run.metrics = metrics
    wrong = identity_mismatch(task, ident, seed, metrics)
    if wrong:
        run.status = "mismatch"
        run.reason = (f"metrics.json does not belong at this path ({'; '.join(wrong)}): copied into the wrong "
                      "folder? Rerun the job or move the file back")
        return run
    status = str(metrics.get("status", "ok"))
    run.status = status
    run.reason = "" if status == "ok" else f"status {status!r}" + (
        f": {metrics['error']}" if metrics.get("error") else "")
    not_finite = [k for k in HEADLINE[task] if isinstance(metrics.get(k), bool)
                  or not isinstance(metrics.get(k), (int, float)) or not math.isfinite(metrics[k])]
    if status == "ok" and not_finite:
        run.status, run.reason = "non-finite", f"non-finite {', '.join(not_finite)} (NaN, inf or null)"
    if task == "graph" and isinstance(metrics.get("params"), dict):
        ident["params"] = {**ident["params"], **metrics["params"]}
    return run


def discover(train_dir: Path) -> list[Path]:
    """Every metrics.json under ``train_dir`` (when no expected list is given)."""
    return sorted(Path(train_dir).glob("*/**/seed*/metrics.json"))


@dataclass
class Collection:
    """All expected runs grouped into cells, PDE and graph apart."""

    pde: dict[tuple, Cell]
    graph: dict[tuple, Cell]
    runs: list[Run]
    glob_mode: bool

    @property
    def missing(self) -> list[Run]:
        return [r for r in self.runs if not r.usable]


def collect(expected: list[Path] | None, train_dir: Path | None = None) -> Collection:
    """Group the expected metrics files (or, when ``expected`` is None, those under ``train_dir``) into cells.

    Without an expected list a cell's expected seeds are the seeds seen anywhere in its experiment
    (equation or graph kind), so a cell lacking a seed its neighbours have is still flagged.
    """
    glob_mode = expected is None
    paths = (discover(train_dir) if train_dir is not None else []) if glob_mode else [Path(p) for p in expected]
    paths = [p for p in dict.fromkeys(paths) if p.name == "metrics.json"]
    runs = [read_run(p) for p in paths]
    if glob_mode:
        runs += _absent_seeds(runs)
    cells: dict[str, dict[tuple, Cell]] = {"pde": {}, "graph": {}}
    for run in runs:
        group = cells[run.task]
        if run.key not in group:
            ident = {k: v for k, v in run.ident.items()}
            group[run.key] = Cell(key=run.key, ident=ident, runs=[])
        cell = group[run.key]
        cell.runs.append(run)
        if run.usable and run.task == "graph":
            cell.ident["params"] = {**cell.ident.get("params", {}), **run.ident.get("params", {})}
    return Collection(pde=cells["pde"], graph=cells["graph"], runs=runs, glob_mode=glob_mode)


def _absent_seeds(runs: list[Run]) -> list[Run]:
    """Glob mode: the runs a cell lacks relative to the seeds seen in its experiment, marked missing."""
    seeds_by_exp: dict[tuple, set[int]] = defaultdict(set)
    have: dict[tuple, set[int]] = defaultdict(set)
    proto: dict[tuple, Run] = {}
    for r in runs:
        if r.task == "pde" and r.ident["model"] not in PDE_MODELS:  # learned models are trained per seed
            continue  # the baselines (persistence, zero, solvers) are deterministic: one run (seed0) by contract
        exp = (r.task, r.key[0])
        seeds_by_exp[exp].add(r.seed)
        have[r.key].add(r.seed)
        proto.setdefault(r.key, r)
    extra = []
    for key, r in proto.items():
        for seed in sorted(seeds_by_exp[(r.task, key[0])] - have[key]):
            path = r.path.parent.parent / f"seed{seed}" / "metrics.json"
            extra.append(Run(path=path, task=r.task, key=key, ident=dict(r.ident), seed=seed, status="missing",
                             reason="seed present in other cells of this experiment but not in this one"))
    return extra


def read_csv_rows(path: Path) -> list[dict]:
    """Rows of a CSV written by a trainer (rollout.csv, curves.csv, sweep.csv); [] when absent or unreadable."""
    try:
        with open(path, newline="") as fh:
            return list(csv.DictReader(fh))
    except (OSError, csv.Error, UnicodeDecodeError):
        return []


def read_omega_f(data_dir: Path, equation: str, law: str, nu: float) -> dict[int, float]:
    """``results/data/pde/{eq}/{law}/nu{nu}/omega_f.csv`` as {resolution: omega_f}; {} when absent."""
    out = {}
    for row in read_csv_rows(Path(data_dir) / "pde" / equation / law / f"nu{fmt_num(nu)}" / "omega_f.csv"):
        try:
            out[int(float(row["resolution"]))] = float(row["omega_f"])
        except (KeyError, ValueError, TypeError):
            continue
    return out
