"""Part II tables: ``pde_{eq}`` per registered equation (``pde_ks``, ``pde_ns``, ...), one row per (law, nu, sigma,
method, res, model); ``law`` is the data law of the stores (attractor | transient, docs/pde_data.md) and
``omega_f`` the unobserved energy fraction over the scored frames of that law's test trajectories.

Every run is scored over the equation's prediction horizon against the clean observed field (``train/pde_eval``):
``nrmse`` (mean over the horizon), ``nrmse_final`` (at its end), ``valid_time`` (first time nRMSE > threshold,
mean over test trajectories) and the band errors ``nrmse_low/mid/high`` (thirds of the observed spectrum;
their squares sum to the total's per frame), each as mean ± std over seeds. Models: the learned surrogates,
the trivial predictors ``persistence`` and ``zero``, ``solver-r{M}`` (the Dedalus solver on M points from the
observed first frame) and ``solver_hv-r{f}`` (the stabilised coarse solver). A learned model whose mean nRMSE is
not below persistence's on its dataset is flagged (``beats_persistence`` false, ``!`` in the Markdown).
For every learned model other than FFNO: ``Delta nRMSE = nRMSE(FFNO) - nRMSE(model)`` with its test, and the
relative gain ``nRMSE(FFNO) / nRMSE(model)`` with its CI (``stats.ratio``; MemNO's paper reports "up to 6x").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gapbench.pde.equations import EQUATIONS
from gapbench.registry import PDE_MODELS, order
from gapbench.tables.collect import Cell, Collection, read_omega_f
from gapbench.tables.render import (csv_text, fmt, fmt_summary, fmt_test, md_table, missing_section,
                                    summary_cols, test_cols, write_text)
from gapbench.tables.stats import StatsOptions, Summary, TestResult, compare, ratio, summarize

TRIVIAL = ("persistence", "zero")
REFERENCE_MODEL = "ffno"
METRICS = ("nrmse", "nrmse_final")
SCORES = (*METRICS, "valid_time", "nrmse_low", "nrmse_mid", "nrmse_high", "train_time_s",
          "inference_time_per_trajectory_s")
_SOLVER = re.compile(r"^(?P<kind>solver|solver_hv)-r(?P<res>\d+)$")


def solver_of(model: str) -> tuple[str, int] | None:
    """``('solver', 64)`` for ``solver-r64``, ``('solver_hv', 32)`` for ``solver_hv-r32``, else None."""
    m = _SOLVER.match(model)
    return (m["kind"], int(m["res"])) if m else None


def model_rank(model: str) -> tuple:
    """Table order: persistence, zero, solvers by resolution (stabilised after plain), learned models, others."""
    if model in TRIVIAL:
        return (0, TRIVIAL.index(model), 0)
    solver = solver_of(model)
    if solver:
        return (1, solver[1], solver[0] == "solver_hv")
    if model in PDE_MODELS:  # learned: registration order (built-ins, then plugins)
        return (2, order(model, PDE_MODELS)[0], 0)
    return (3, 0, model)


@dataclass
class PdeRow:
    """One (dataset, model) cell of a PDE table."""

    equation: str
    law: str
    nu: float
    method: str
    resolution: int
    sigma: float
    model: str
    omega_f: float | None
    n_params: int | None
    horizon: int | None
    summaries: dict[str, Summary]  # every name of SCORES
    deltas: dict[str, TestResult | None]  # FFNO - model, per metric
    ratios: dict[str, TestResult | None]  # FFNO / model, per metric
    beats_persistence: bool | None  # learned models: mean nrmse below persistence's
    cell: Cell
    warmup: int | None = None  # observed frames every predictor gets before its rollout

    @property
    def dataset(self) -> tuple:
        return (self.equation, self.law, self.nu, self.method, self.resolution, self.sigma)

    @property
    def learned(self) -> bool:
        return self.model in PDE_MODELS or (self.model not in TRIVIAL and solver_of(self.model) is None)


def build_rows(coll: Collection, data_dir: Path, opts: StatsOptions) -> list[PdeRow]:
    """Every PDE cell as a row, with its comparisons against FFNO and persistence on the same dataset."""
    omega_cache: dict[tuple, dict[int, float]] = {}
    datasets: dict[tuple, dict[str, Cell]] = {}
    for cell in coll.pde.values():
        i = cell.ident
        datasets.setdefault((i["equation"], i["law"], i["nu"], i["method"], i["resolution"], i["sigma"]), {})[
            i["model"]] = cell
    rows = []
    for ds in sorted(datasets):
        eq, law, nu, method, res, sigma = ds
        if (eq, law, nu) not in omega_cache:
            omega_cache[(eq, law, nu)] = read_omega_f(data_dir, eq, law, nu)
        ref = datasets[ds].get(REFERENCE_MODEL)
        persistence = datasets[ds].get("persistence")
        base = summarize(persistence.values("nrmse")).mean if persistence else None
        for model in sorted(datasets[ds], key=model_rank):
            cell = datasets[ds][model]
            summaries = {m: summarize(cell.values(m), cell.n_expected) for m in SCORES}
            deltas: dict[str, TestResult | None] = {m: None for m in METRICS}
            ratios: dict[str, TestResult | None] = {m: None for m in METRICS}
            row = PdeRow(eq, law, nu, method, res, sigma, model, omega_cache[(eq, law, nu)].get(res), None, None,
                         summaries, deltas, ratios, None, cell)
            if row.learned and ref is not None and model != REFERENCE_MODEL:
                for m in METRICS:
                    deltas[m] = compare(ref.values(m), cell.values(m), opts)
                    ratios[m] = ratio(ref.values(m), cell.values(m), opts.alpha)
            if row.learned and base is not None and summaries["nrmse"].mean is not None:
                row.beats_persistence = summaries["nrmse"].mean < base
            n_params, horizon, warmup = cell.first("n_params"), cell.first("horizon"), cell.first("warmup")
            row.n_params = int(n_params) if isinstance(n_params, (int, float)) else None
            row.horizon = int(horizon) if isinstance(horizon, (int, float)) else None
            row.warmup = int(warmup) if isinstance(warmup, (int, float)) else None
            rows.append(row)
    return rows


def row_dict(r: PdeRow) -> dict:
    out = {"equation": r.equation, "law": r.law, "nu": r.nu, "sigma": r.sigma, "method": r.method, "res": r.resolution,
           "model": r.model, "n_seeds": r.summaries["nrmse"].n, "status": r.cell.status, "warmup": r.warmup,
           "horizon": r.horizon,
           "omega_f": r.omega_f, "n_params": r.n_params, "beats_persistence": r.beats_persistence}
    for m in SCORES:
        out.update(summary_cols(m, r.summaries[m]))
    for m in METRICS:
        out.update(test_cols(f"delta_{m}", r.deltas[m]))
        out.update(test_cols(f"ratio_ffno_over_model_{m}", r.ratios[m]))
    return out


def _ratio_text(t: TestResult | None) -> str:
    if t is None or t.estimate is None:
        return ""
    ci = f" [{t.ci_low:.3g}, {t.ci_high:.3g}]" if t.ci_low is not None else ""
    return f"{t.estimate:.3g}x{ci}"


def markdown(equation: str, rows: list[PdeRow], opts: StatsOptions) -> str:
    title = EQUATIONS[equation].title if equation in EQUATIONS else equation
    horizons = sorted({r.horizon for r in rows if r.horizon is not None})
    warmups = sorted({r.warmup for r in rows if r.warmup is not None})
    head = [f"# {title}: nRMSE by data law, viscosity, noise, observation, resolution and model\n",
            f"Protocol: every predictor gets {'/'.join(map(str, warmups)) or 'W'} observed (noisy) warm-up frames "
            "of each test trajectory (memory models ingest all, FFNO and the solver start from the last, "
            "`ffno_window` stacks them), then predicts the next "
            f"{'/'.join(map(str, horizons)) or 'H'} steps autoregressively, scored against the clean observed "
            "field; omega_f: unobserved energy fraction over those scored frames. law: attractor (frames after a "
            "burn-in) or transient (frames from the initial condition). nRMSE: mean over samples and "
            "steps of ||pred - clean|| / ||clean|| (final: at the last step); valid time: first time it exceeds "
            "the threshold, mean over trajectories; low/mid/high: nRMSE of the error in each third of the "
            "observed spectrum. mean ± std over seeds (n); `!` after a mean: fewer seeds than configured. "
            "`persistence` predicts the last warm-up frame forever, `zero` predicts 0 (nRMSE 1); `solver-rM` is the "
            "Dedalus solver on M points from the last warm-up frame (spectrally interpolated), `solver_hv-rM` the "
            "stabilised run (hyperviscosity). **not < persistence**: a learned model that does not beat "
            "persistence. Delta = nRMSE(FFNO) - nRMSE(model), positive = the model beats FFNO; "
            f"{opts.describe()}; * significant, (ns) not, (n/t) not testable (n < 2). FFNO/model: ratio of mean "
            f"nRMSE with its {100 * (1 - opts.alpha):g}% CI (delta method). s/traj: inference wall time per "
            "test trajectory, this machine.\n"]
    headers = ["law", "nu", "sigma", "method", "res", "omega_f", "model", "params", "nRMSE", "nRMSE final",
               "valid time", "low / mid / high", "Delta nRMSE", "FFNO/model", "train s", "s/traj"]
    body = []
    for r in rows:
        s = r.summaries
        flag = " **not < persistence**" if r.beats_persistence is False else ""
        bands = " / ".join(fmt(s[f"nrmse_{b}"].mean, 3) for b in ("low", "mid", "high")) \
            if s["nrmse_low"].mean is not None else ""
        body.append([r.law, fmt(r.nu), fmt(r.sigma), r.method, str(r.resolution), fmt(r.omega_f, 3), r.model,
                     fmt(r.n_params), fmt_summary(s["nrmse"], r.cell.status) + flag,
                     fmt_summary(s["nrmse_final"], r.cell.status), fmt(s["valid_time"].mean, 3), bands,
                     fmt_test(r.deltas["nrmse"]), _ratio_text(r.ratios["nrmse"]),
                     fmt(s["train_time_s"].mean, 3), fmt(s["inference_time_per_trajectory_s"].mean, 3)])
    text = "".join(head) + "\n"
    text += md_table(headers, body) if body else "_No runs configured for this equation._\n"
    missing = [run for r in rows for run in r.cell.runs if not run.usable]
    return text + missing_section(missing)


def run_rows(coll: Collection) -> list[dict]:
    """Every expected PDE run (usable or not), identity, status and all its scalar metrics."""
    out = []
    for run in sorted((r for r in coll.runs if r.task == "pde"), key=lambda r: (r.key, r.seed)):
        row = {k: run.ident[k] for k in ("equation", "law", "nu", "method", "resolution", "sigma", "model")}
        row.update({"seed": run.seed, "status": run.status, "reason": run.reason, "path": str(run.path)})
        for k, v in run.metrics.items():
            if isinstance(v, dict):  # e.g. hyper, train: one level, prefixed
                row.update({f"{k}_{kk}": vv for kk, vv in v.items() if not isinstance(vv, (dict, list))})
            elif k not in row and not isinstance(v, list):
                row[k] = v
        out.append(row)
    return out


def write(coll: Collection, data_dir: Path, tables_dir: Path, opts: StatsOptions) -> list[PdeRow]:
    """Write pde_{eq}.{csv,md} per registered equation and runs_pde.csv; return the rows (for figures, claims)."""
    rows = build_rows(coll, data_dir, opts)
    for eq in EQUATIONS:
        sub = [r for r in rows if r.equation == eq]
        write_text(Path(tables_dir) / f"pde_{eq}.csv", csv_text([row_dict(r) for r in sub], _columns()))
        write_text(Path(tables_dir) / f"pde_{eq}.md", markdown(eq, sub, opts))
    runs = run_rows(coll)
    write_text(Path(tables_dir) / "runs_pde.csv", csv_text(runs, None if runs else [
        "equation", "law", "nu", "method", "resolution", "sigma", "model", "seed", "status", "reason", "path"]))
    return rows


def _columns() -> list[str]:
    dummy = Summary(None, None, 0, 0)
    probe = PdeRow("", "", 0.0, "", 0, 0.0, "", None, None, None, {m: dummy for m in SCORES},
                   {m: None for m in METRICS}, {m: None for m in METRICS}, None, Cell((), {}, []))
    return list(row_dict(probe))
