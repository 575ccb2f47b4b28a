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
For every learned model other than FFNO: ``Delta nRMSE = nRMSE(FFNO) - nRMSE(model)`` and the relative gain
``nRMSE(FFNO) / nRMSE(model)`` (MemNO's paper reports "up to 6x"), tested over the test trajectories
(``stats.paired``: Wilcoxon signed-rank on the seed-averaged per-trajectory nRMSE of ``per_traj.csv``,
hierarchical bootstrap CIs over seeds and trajectories; columns ``p_wilcoxon, delta, delta_ci_low/high, ratio,
ratio_ci_low/high, n_traj``, and ``final_*`` for ``nrmse_final``), and over seeds (Welch / bootstrap of
``tables.test``, ``delta_nrmse*``) only with >= 3 seeds per model. ``pde_pairs`` compares every memory-family model
with every Markovian-family model (``registry.family_of``) the same way, plus an equivalence test (TOST, margin
``tables.equivalence_margin`` x the Markovian model's mean nRMSE) - the evidence of the Part II claims.
``valid_time_censored``: the fraction of trajectories that never crossed the threshold within the horizon;
``best_is_last``: seeds whose best validation epoch was the last one trained (still improving: more budget may
help).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gapbench.pde.equations import EQUATIONS
from gapbench.registry import PDE_MODELS, family_of, order
from gapbench.tables.collect import Cell, Collection, read_csv_rows, read_omega_f
from gapbench.tables.render import (csv_text, fmt, fmt_summary, fmt_test, md_table, missing_section,
                                    summary_cols, test_cols, write_text)
from gapbench.tables.stats import (MIN_SEEDS_SEED_LEVEL, Equivalence, Paired, StatsOptions, Summary, TestResult,
                                   compare, paired, ratio, summarize, tost)
from gapbench.tables.style import display

TRIVIAL = ("persistence", "zero")
REFERENCE_MODEL = "ffno"
METRICS = ("nrmse", "nrmse_final")
SCORES = (*METRICS, "valid_time", "valid_time_censored", "nrmse_low", "nrmse_mid", "nrmse_high", "train_time_s",
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
    traj: dict[str, np.ndarray | None] = field(default_factory=dict)  # metric -> (seeds, n_traj), per_traj.csv
    samples: tuple[int, ...] | None = None  # the test trajectories' sample indices (columns of ``traj``)
    paired: dict[str, Paired | None] = field(default_factory=dict)  # FFNO vs model over trajectories, per metric

    @property
    def best_is_last(self) -> int | None:
        """Usable seeds whose best validation epoch was the last trained (None: not a trained model)."""
        flags = [r.metrics.get("best_is_last") for r in self.cell.usable]
        flags = [f for f in flags if isinstance(f, bool)]
        return sum(flags) if flags else None

    @property
    def dataset(self) -> tuple:
        return (self.equation, self.law, self.nu, self.method, self.resolution, self.sigma)

    @property
    def learned(self) -> bool:
        return self.model in PDE_MODELS or (self.model not in TRIVIAL and solver_of(self.model) is None)


def read_trajectories(cell: Cell, metric: str) -> tuple[np.ndarray | None, tuple[int, ...] | None]:
    """``(seeds, n_traj)`` per-trajectory values of ``metric`` from the usable runs' ``per_traj.csv`` (ordered by
    seed) and the sample indices of its columns; ``(None, None)`` when a usable run has no such file or the runs
    disagree on the trajectories."""
    values, samples = [], None
    for run in sorted(cell.usable, key=lambda r: r.seed):
        rows = read_csv_rows(run.path.parent / "per_traj.csv")
        try:
            ids = tuple(int(r["sample"]) for r in rows)
            vals = [float(r[metric]) for r in rows]
        except (KeyError, ValueError, TypeError):
            return None, None
        if not rows or (samples is not None and ids != samples) or not all(np.isfinite(vals)):
            return None, None
        samples = ids
        values.append(vals)
    return (np.asarray(values), samples) if values else (None, None)


def seed_level(a: list[float], b: list[float], opts: StatsOptions) -> tuple[TestResult | None, TestResult | None]:
    """Delta and ratio tested over seeds (``tables.test``), only with >= 3 seeds per model; else not testable."""
    if min(len(a), len(b)) >= MIN_SEEDS_SEED_LEVEL:
        return compare(a, b, opts), ratio(a, b, opts.alpha)
    why = f"fewer than {MIN_SEEDS_SEED_LEVEL} seeds: no seed-level test"
    est = float(np.mean(a) - np.mean(b)) if a and b else None
    return (TestResult(est, None, None, None, None, why),
            TestResult(float(np.mean(a) / np.mean(b)) if a and b and np.mean(b) > 0 else None, None, None, None,
                       None, why))


def compare_rows(a: PdeRow, b: PdeRow, metric: str, opts: StatsOptions) -> Paired | None:
    """``a`` vs ``b`` over the test trajectories (``stats.paired``); None without per-trajectory values."""
    x, y = a.traj.get(metric), b.traj.get(metric)
    if x is None or y is None or a.samples != b.samples:
        return None
    return paired(x, y, opts)


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
        persistence = datasets[ds].get("persistence")
        base = summarize(persistence.values("nrmse")).mean if persistence else None
        ref_row = None
        for model in sorted(datasets[ds], key=model_rank):
            cell = datasets[ds][model]
            summaries = {m: summarize(cell.values(m), cell.n_expected) for m in SCORES}
            row = PdeRow(eq, law, nu, method, res, sigma, model, omega_cache[(eq, law, nu)].get(res), None, None,
                         summaries, {m: None for m in METRICS}, {m: None for m in METRICS}, None, cell)
            for m in METRICS:
                row.traj[m], row.samples = read_trajectories(cell, m)
            if model == REFERENCE_MODEL:
                ref_row = row
            if row.learned and base is not None and summaries["nrmse"].mean is not None:
                row.beats_persistence = summaries["nrmse"].mean < base
            n_params, horizon, warmup = cell.first("n_params"), cell.first("horizon"), cell.first("warmup")
            row.n_params = int(n_params) if isinstance(n_params, (int, float)) else None
            row.horizon = int(horizon) if isinstance(horizon, (int, float)) else None
            row.warmup = int(warmup) if isinstance(warmup, (int, float)) else None
            rows.append(row)
        for row in rows:
            if row.dataset == ds and row.learned and ref_row is not None and row.model != REFERENCE_MODEL:
                for m in METRICS:
                    row.deltas[m], row.ratios[m] = seed_level(ref_row.cell.values(m), row.cell.values(m), opts)
                    row.paired[m] = compare_rows(ref_row, row, m, opts)
    return rows


@dataclass
class Pair:
    """A memory-family model vs a Markovian-family model on one dataset: paired test and equivalence (TOST)."""

    memory: PdeRow
    markov: PdeRow
    metric: str
    test: Paired | None  # Delta = markov - memory (positive: memory better)
    equivalence: Equivalence | None  # TOST of the per-trajectory Delta, margin = rel. margin x markov mean

    @property
    def dataset(self) -> tuple:
        return self.memory.dataset


def pairs(rows: list[PdeRow], metric: str, opts: StatsOptions) -> list[Pair]:
    """Every (memory-family, Markovian-family) pair of learned models scored on the same dataset."""
    by_ds: dict[tuple, list[PdeRow]] = {}
    for r in rows:
        if r.model in PDE_MODELS:
            by_ds.setdefault(r.dataset, []).append(r)
    out = []
    for ds in sorted(by_ds):
        for mem in (r for r in by_ds[ds] if family_of(r.model) == "memory"):
            for mk in (r for r in by_ds[ds] if family_of(r.model) == "markovian"):
                t = compare_rows(mk, mem, metric, opts)
                eq = None
                if t is not None and t.n_traj >= 2 and mk.traj[metric].mean() > 0:
                    d = mk.traj[metric].mean(axis=0) - mem.traj[metric].mean(axis=0)
                    eq = tost(d, opts.equivalence_margin * float(mk.traj[metric].mean()), opts.alpha)
                out.append(Pair(mem, mk, metric, t, eq))
    return out


def _ci_text(lo: float | None, hi: float | None, digits: int = 3) -> str:
    return f"[{lo:.{digits}g}, {hi:.{digits}g}]" if lo is not None else ""


def paired_text(t: Paired | None) -> str:
    """``+0.17 [0.14, 0.20] p=9e-05 *`` (Delta, bootstrap CI, Wilcoxon p, mark); '' without per-trajectory data."""
    if t is None:
        return ""
    mark = "*" if t.significant else "(ns)"
    return f"{t.delta:+.3g} {_ci_text(*t.delta_ci)} p={t.p_value:.2g} {mark}"


def paired_cols(prefix: str, t: Paired | None) -> dict:
    keys = ("p_wilcoxon", "delta", "delta_ci_low", "delta_ci_high", "ratio", "ratio_ci_low", "ratio_ci_high",
            "n_traj")
    if t is None:
        return {f"{prefix}{k}": None for k in keys}
    rc = t.ratio_ci or (None, None)
    return dict(zip((f"{prefix}{k}" for k in keys), (t.p_value, t.delta, *t.delta_ci, t.ratio, *rc, t.n_traj)))


def row_dict(r: PdeRow) -> dict:
    out = {"equation": r.equation, "law": r.law, "nu": r.nu, "sigma": r.sigma, "method": r.method,
           "res": r.resolution, "model": r.model, "n_seeds": r.summaries["nrmse"].n, "status": r.cell.status,
           "warmup": r.warmup, "horizon": r.horizon, "omega_f": r.omega_f, "n_params": r.n_params,
           "beats_persistence": r.beats_persistence, "best_is_last": r.best_is_last}
    for m in SCORES:
        out.update(summary_cols(m, r.summaries[m]))
    out.update(paired_cols("", r.paired.get("nrmse")))
    out.update(paired_cols("final_", r.paired.get("nrmse_final")))
    for m in METRICS:
        out.update(test_cols(f"delta_{m}", r.deltas[m]))
        out.update(test_cols(f"ratio_ffno_over_model_{m}", r.ratios[m]))
    return out


def pair_dict(p: Pair) -> dict:
    mem, mk = p.memory, p.markov
    out = {"equation": mem.equation, "law": mem.law, "nu": mem.nu, "sigma": mem.sigma, "method": mem.method, "res": mem.resolution,
           "omega_f": mem.omega_f, "memory_model": mem.model, "markovian_model": mk.model, "metric": p.metric,
           "markovian_mean": mk.summaries[p.metric].mean, "memory_mean": mem.summaries[p.metric].mean,
           "n_seeds_markovian": mk.summaries[p.metric].n, "n_seeds_memory": mem.summaries[p.metric].n}
    out.update(paired_cols("", p.test))
    e = p.equivalence
    out.update({"tost_margin": e.margin if e else None, "tost_p": e.p_value if e else None,
                "tost_ci_low": e.ci[0] if e else None, "tost_ci_high": e.ci[1] if e else None,
                "equivalent": e.equivalent if e else None})
    return out


def pairs_markdown(found: list[Pair], opts: StatsOptions) -> str:
    text = ("# Memory vs Markovian PDE surrogates, over the test trajectories\n\n"
            "Every memory-family model against every Markovian-family model on the same dataset. Delta = "
            "nRMSE(Markovian) - nRMSE(memory) (positive: memory better), per test trajectory after averaging each "
            "model over its seeds; p: two-sided Wilcoxon signed-rank over trajectories; CIs: "
            f"{100 * (1 - opts.alpha):g}% hierarchical bootstrap (seeds, then trajectories; "
            f"{opts.bootstrap_resamples} resamples). Equivalence: TOST at alpha = {opts.alpha:g} with margin "
            f"{opts.equivalence_margin:g} x the Markovian model's mean nRMSE ({100 * (1 - 2 * opts.alpha):g}% CI "
            "shown). These tests take the test trajectories as the sample: they hold for this draw of the data.\n\n")
    headers = ["equation", "law", "nu", "sigma", "method", "res", "omega_f", "memory", "Markovian", "Markovian nRMSE",
               "memory nRMSE", "Delta [CI] p", "Markovian/memory [CI]", "n_traj", "seeds", "TOST margin",
               "TOST CI", "equivalent"]
    body = []
    for p in found:
        t, e = p.test, p.equivalence
        body.append([p.memory.equation, p.memory.law, fmt(p.memory.nu), fmt(p.memory.sigma), p.memory.method,
                     str(p.memory.resolution), fmt(p.memory.omega_f, 3), display(p.memory.model),
                     display(p.markov.model),
                     fmt(p.markov.summaries[p.metric].mean), fmt(p.memory.summaries[p.metric].mean),
                     paired_text(t), f"{t.ratio:.3g}x {_ci_text(*t.ratio_ci)}" if t and t.ratio_ci else "",
                     str(t.n_traj) if t else "", f"{t.n_seeds[0]}/{t.n_seeds[1]}" if t else "",
                     fmt(e.margin, 3) if e else "", _ci_text(*e.ci) if e else "",
                     ("yes" if e.equivalent else "no") if e else ""])
    return text + (md_table(headers, body) if body else "_No dataset has both a memory and a Markovian model._\n")


def _ratio_text(t: TestResult | None) -> str:
    if t is None or t.estimate is None:
        return ""
    ci = f" [{t.ci_low:.3g}, {t.ci_high:.3g}]" if t.ci_low is not None else ""
    return f"{t.estimate:.3g}x{ci}"


def _valid_time_text(s: dict[str, Summary]) -> str:
    vt, cens = s["valid_time"].mean, s["valid_time_censored"].mean
    if vt is None:
        return ""
    return fmt(vt, 3) + (f" ({100 * cens:.0f}% censored)" if cens else "")


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
            "steps of ||pred - clean|| / ||clean||; final: at the last step of the horizon; valid time: time of "
            "the last step still under the threshold, counted from the last warm-up frame (0 when the first "
            "fails), mean over trajectories, with the share of trajectories that never crossed it (censored: their "
            "valid time is at least the horizon); low/mid/high: nRMSE of the error in each third of the observed "
            "spectrum. mean ± std over seeds (n); `!` after a mean: fewer seeds than configured. `persistence` "
            "predicts the last warm-up frame forever, `zero` predicts 0 (nRMSE 1); `solver-rM` is the Dedalus "
            "solver on M points from the last warm-up frame (spectrally interpolated), `solver_hv-rM` the "
            "stabilised run (hyperviscosity). **not < persistence**: a learned model that does not beat "
            "persistence; best = last: seeds whose best validation epoch was the last trained (still improving). "
            "Delta = nRMSE(FFNO) - nRMSE(model), positive = the model beats FFNO, over the test trajectories: mean "
            "of the seed-averaged per-trajectory differences, "
            f"{100 * (1 - opts.alpha):g}% hierarchical bootstrap CI (seeds, then trajectories), two-sided Wilcoxon "
            f"signed-rank p, * p < {opts.alpha:g}; FFNO/model: ratio of mean nRMSE with its bootstrap CI; n_traj "
            "test trajectories (the verdicts hold for this draw of the data). Delta over seeds: "
            f"{opts.describe()}, only with >= {MIN_SEEDS_SEED_LEVEL} seeds per model ((n/t) otherwise). s/traj: "
            "inference wall time per test trajectory, this machine.\n"]
    headers = ["law", "nu", "sigma", "method", "res", "omega_f", "model", "params", "nRMSE", "nRMSE final",
               "valid time", "best = last", "low / mid / high", "Delta nRMSE [CI] p", "FFNO/model [CI]", "n_traj",
               "Delta over seeds", "train s", "s/traj"]
    body = []
    for r in rows:
        s = r.summaries
        flag = " **not < persistence**" if r.beats_persistence is False else ""
        bands = " / ".join(fmt(s[f"nrmse_{b}"].mean, 3) for b in ("low", "mid", "high")) \
            if s["nrmse_low"].mean is not None else ""
        t = r.paired.get("nrmse")
        last = r.best_is_last
        body.append([r.law, fmt(r.nu), fmt(r.sigma), r.method, str(r.resolution), fmt(r.omega_f, 3),
                     display(r.model),
                     fmt(r.n_params), fmt_summary(s["nrmse"], r.cell.status) + flag,
                     fmt_summary(s["nrmse_final"], r.cell.status), _valid_time_text(s),
                     "" if last is None else f"{last}/{s['nrmse'].n}" + (" !" if last else ""), bands,
                     paired_text(t), f"{t.ratio:.3g}x {_ci_text(*t.ratio_ci)}" if t and t.ratio_ci else "",
                     str(t.n_traj) if t else "", fmt_test(r.deltas["nrmse"]),
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


def write(coll: Collection, data_dir: Path, tables_dir: Path, opts: StatsOptions,
          metric: str = "nrmse") -> list[PdeRow]:
    """Write pde_{eq}.{csv,md} per registered equation, pde_pairs.{csv,md} (memory vs Markovian models on
    ``metric``) and runs_pde.csv; return the rows (for figures, claims)."""
    rows = build_rows(coll, data_dir, opts)
    for eq in EQUATIONS:
        sub = [r for r in rows if r.equation == eq]
        write_text(Path(tables_dir) / f"pde_{eq}.csv", csv_text([row_dict(r) for r in sub], _columns()))
        write_text(Path(tables_dir) / f"pde_{eq}.md", markdown(eq, sub, opts))
    found = pairs(rows, metric, opts)
    write_text(Path(tables_dir) / "pde_pairs.csv", csv_text([pair_dict(p) for p in found], _pair_columns()))
    write_text(Path(tables_dir) / "pde_pairs.md", pairs_markdown(found, opts))
    runs = run_rows(coll)
    write_text(Path(tables_dir) / "runs_pde.csv", csv_text(runs, None if runs else [
        "equation", "law", "nu", "method", "resolution", "sigma", "model", "seed", "status", "reason", "path"]))
    return rows


def _probe_row() -> PdeRow:
    dummy = Summary(None, None, 0, 0)
    return PdeRow("", "", 0.0, "", 0, 0.0, "", None, None, None, {m: dummy for m in SCORES},
                  {m: None for m in METRICS}, {m: None for m in METRICS}, None, Cell((), {}, []))


def _columns() -> list[str]:
    return list(row_dict(_probe_row()))


def _pair_columns() -> list[str]:
    return list(pair_dict(Pair(_probe_row(), _probe_row(), "nrmse", None, None)))
