"""Part II tables: ``pde_ks`` and ``pde_ns`` (viscosity x noise x observed resolution x model).

Per cell: nRMSE over the rollout and at the final time (docs/science.md, "Training and evaluation"), mean ± std over
seeds; ``omega_f`` of the observed resolution (docs/science.md, "Unobserved energy"); for every model other than
FFNO the difference ``Delta nRMSE = nRMSE(FFNO) - nRMSE(model)`` (docs/science.md; for MemNO this is the paper's
Delta) with its significance test, and the ratio FFNO/model (MemNO's paper: "up to 6x"); parameter count,
training and inference time. The numerical baseline is the model ``solver`` (one deterministic run).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gapbench.tables.collect import Cell, Collection, read_omega_f
from gapbench.tables.render import (csv_text, fmt, fmt_summary, fmt_test, md_table, missing_section,
                                    summary_cols, test_cols, write_text)
from gapbench.tables.stats import StatsOptions, Summary, TestResult, compare, summarize

MODEL_ORDER = ("solver", "ffno", "memno", "lstm", "attention")
REFERENCE_MODEL = "ffno"
METRICS = ("nrmse_rollout", "nrmse_final")
EQUATION_TITLES = {"ks": "Kuramoto-Sivashinsky (1D)", "ns": "Navier-Stokes (2D vorticity)"}


def model_rank(model: str) -> tuple:
    return (MODEL_ORDER.index(model), "") if model in MODEL_ORDER else (len(MODEL_ORDER), model)


@dataclass
class PdeRow:
    """One (dataset, model) cell of a PDE table."""

    equation: str
    nu: float
    method: str
    resolution: int
    sigma: float
    model: str
    omega_f: float | None
    n_params: int | None
    summaries: dict[str, Summary]  # nrmse_rollout, nrmse_final, train_time_s, inference_time_s
    deltas: dict[str, TestResult | None]  # FFNO - model, per metric
    ratios: dict[str, float | None]  # FFNO / model, per metric
    cell: Cell

    @property
    def dataset(self) -> tuple:
        return (self.equation, self.nu, self.method, self.resolution, self.sigma)


def build_rows(coll: Collection, data_dir: Path, opts: StatsOptions) -> list[PdeRow]:
    """Every PDE cell as a row, with its comparison against FFNO on the same dataset."""
    omega_cache: dict[tuple, dict[int, float]] = {}
    datasets: dict[tuple, dict[str, Cell]] = {}
    for cell in coll.pde.values():
        i = cell.ident
        datasets.setdefault((i["equation"], i["nu"], i["method"], i["resolution"], i["sigma"]), {})[
            i["model"]] = cell
    rows = []
    for ds in sorted(datasets):
        eq, nu, method, res, sigma = ds
        if (eq, nu) not in omega_cache:
            omega_cache[(eq, nu)] = read_omega_f(data_dir, eq, nu)
        ref = datasets[ds].get(REFERENCE_MODEL)
        for model in sorted(datasets[ds], key=model_rank):
            cell = datasets[ds][model]
            summaries = {m: summarize(cell.values(m), cell.n_expected)
                         for m in (*METRICS, "train_time_s", "inference_time_s")}
            deltas: dict[str, TestResult | None] = {m: None for m in METRICS}
            ratios: dict[str, float | None] = {m: None for m in METRICS}
            if ref is not None and model != REFERENCE_MODEL:
                for m in METRICS:
                    deltas[m] = compare(ref.values(m), cell.values(m), opts)
                    a, b = summarize(ref.values(m)).mean, summaries[m].mean
                    ratios[m] = a / b if a is not None and b not in (None, 0.0) else None
            n_params = cell.first("n_params")
            rows.append(PdeRow(eq, nu, method, res, sigma, model, omega_cache[(eq, nu)].get(res),
                               int(n_params) if isinstance(n_params, (int, float)) else None,
                               summaries, deltas, ratios, cell))
    return rows


def row_dict(r: PdeRow) -> dict:
    out = {"equation": r.equation, "nu": r.nu, "method": r.method, "resolution": r.resolution, "sigma": r.sigma,
           "model": r.model, "status": r.cell.status, "omega_f": r.omega_f, "n_params": r.n_params}
    for m in METRICS:
        out.update(summary_cols(m, r.summaries[m]))
    for m in METRICS:
        out.update(test_cols(f"delta_{m}", r.deltas[m]))
        out[f"ratio_ffno_over_model_{m}"] = r.ratios[m]
    for m in ("train_time_s", "inference_time_s"):
        out.update(summary_cols(m, r.summaries[m]))
    return out


def markdown(equation: str, rows: list[PdeRow], opts: StatsOptions) -> str:
    title = EQUATION_TITLES.get(equation, equation)
    head = [f"# {title}: nRMSE by viscosity, noise, observed resolution and model\n",
            "nRMSE: mean over samples and time of ||pred - true|| / ||true|| in an autoregressive rollout from "
            "the first observed frame (rollout) and at the final time (final); mean ± std over seeds (n). "
            "Delta = nRMSE(FFNO) - nRMSE(model): positive means the model beats FFNO. "
            f"Significance: {opts.describe()}; * significant, (ns) not, (n/t) not testable (n < 2). "
            "`!` marks a mean over fewer seeds than configured. `solver` is the Dedalus solver run at the "
            "observed resolution from the observed first frame (one deterministic run).\n"]
    headers = ["nu", "sigma", "method", "res", "omega_f", "model", "params", "nRMSE rollout", "nRMSE final",
               "Delta rollout", "Delta final", "FFNO/model final", "train s", "infer s"]
    body = []
    for r in rows:
        body.append([fmt(r.nu), fmt(r.sigma), r.method, str(r.resolution), fmt(r.omega_f, 3), r.model,
                     fmt(r.n_params), fmt_summary(r.summaries["nrmse_rollout"], r.cell.status),
                     fmt_summary(r.summaries["nrmse_final"], r.cell.status), fmt_test(r.deltas["nrmse_rollout"]),
                     fmt_test(r.deltas["nrmse_final"]),
                     fmt(r.ratios["nrmse_final"], 3) + ("x" if r.ratios["nrmse_final"] is not None else ""),
                     fmt(r.summaries["train_time_s"].mean, 3), fmt(r.summaries["inference_time_s"].mean, 3)])
    text = "".join(head) + "\n"
    text += md_table(headers, body) if body else "_No runs configured for this equation._\n"
    missing = [run for r in rows for run in r.cell.runs if not run.usable]
    return text + missing_section(missing)


def run_rows(coll: Collection) -> list[dict]:
    """Every expected PDE run (usable or not), identity, status and all its scalar metrics."""
    out = []
    for run in sorted((r for r in coll.runs if r.task == "pde"), key=lambda r: (r.key, r.seed)):
        row = {k: run.ident[k] for k in ("equation", "nu", "method", "resolution", "sigma", "model")}
        row.update({"seed": run.seed, "status": run.status, "reason": run.reason, "path": str(run.path)})
        for k, v in run.metrics.items():
            if isinstance(v, dict):  # e.g. hyper, train: one level, prefixed
                row.update({f"{k}_{kk}": vv for kk, vv in v.items() if not isinstance(vv, (dict, list))})
            elif k not in row and not isinstance(v, list):
                row[k] = v
        out.append(row)
    return out


def write(coll: Collection, data_dir: Path, tables_dir: Path, opts: StatsOptions) -> list[PdeRow]:
    """Write pde_ks.{csv,md}, pde_ns.{csv,md} and runs_pde.csv; return the rows (for figures and claims)."""
    rows = build_rows(coll, data_dir, opts)
    for eq in ("ks", "ns"):
        sub = [r for r in rows if r.equation == eq]
        write_text(Path(tables_dir) / f"pde_{eq}.csv", csv_text([row_dict(r) for r in sub], _columns()))
        write_text(Path(tables_dir) / f"pde_{eq}.md", markdown(eq, sub, opts))
    runs = run_rows(coll)
    write_text(Path(tables_dir) / "runs_pde.csv", csv_text(runs, None if runs else [
        "equation", "nu", "method", "resolution", "sigma", "model", "seed", "status", "reason", "path"]))
    return rows


def _columns() -> list[str]:
    dummy = Summary(None, None, 0, 0)
    probe = PdeRow("", 0.0, "", 0, 0.0, "", None, None, {m: dummy for m in (*METRICS, "train_time_s",
                   "inference_time_s")}, {m: None for m in METRICS}, {m: None for m in METRICS}, Cell((), {}, []))
    return list(row_dict(probe))
