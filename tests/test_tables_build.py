"""Tables from a fixture of metrics files with known values: means, stds, marks, missing cells, claims, figures.

The fixture (written by ``make_fixture``) follows the trainers' paths and metrics keys. Known values:
* KS: at nu=0.075, r32 FFNO final nRMSE [0.50, 0.52, 0.54], MemNO [0.10, 0.11, 0.12] (Delta 0.41); at nu=0.125,
  r32 FFNO [0.30, 0.31, 0.32], MemNO [0.25, 0.26, 0.27] (Delta 0.05) -> memory helps more at lower viscosity.
  MemNO nu=0.125 r64 seed 2 is absent (a failed job): that cell is partial (n=2/3).
  Persistence at nu=0.075, r32 has nRMSE 0.25: FFNO (0.26) is flagged as not beating it, MemNO is not.
* NS: Delta is smaller at sigma 0.1 than at 0 -> the noise claim is not supported (significantly negative).
* Per trajectory (``per_traj.csv``): every run's 12 test trajectories score ``value * W`` (``W`` the same pattern
  of mean 1 for every run), so the paired differences of two runs all have one sign: Wilcoxon p = 2 / 2^12.
* Planted star (paper law, 3 teacher draws, one training seed each): edge RMSE ~0.01, node GCN ~0.31 and node
  SAGE ~0.1 in both cells -> supported (Holm over the 4 comparisons). Affine floor 0.2, product floor 0.15, leaf
  std 0.5. A centre-bilinear cell (2 draws) is shown, not judged. ZINC: edge and node within 0.2% -> equivalent
  within the stated +-2% margin.
* Memory (n = 8, 16, 32, 64; widths 2..32): edge reaches RMSE/std <= 0.2 (accuracy >= 0.95) at width 2 at every
  n (slope 0 within the grid's rounding: flat); node SAGE (planted) and node GCN (duplicates) need width 2n/8
  (slope 1, interval above 0: grows); node GCN on planted stars sits on its affine floor (0.2 / 0.5 = 0.4 > 0.2):
  excluded -> supported.
* MAP: node_gcn-d2-w16 at n=64 has no metrics at all (missing cell). Duplicates: one seed (not testable).
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

KS_FINAL = {  # (nu, res) -> model -> per-seed final nRMSE
    (0.075, 32): {"ffno": [0.50, 0.52, 0.54], "memno": [0.10, 0.11, 0.12]},
    (0.125, 32): {"ffno": [0.30, 0.31, 0.32], "memno": [0.25, 0.26, 0.27]},
    (0.075, 64): {"ffno": [0.050, 0.052, 0.054], "memno": [0.051, 0.050, 0.053]},
    (0.125, 64): {"ffno": [0.040, 0.041, 0.042], "memno": [0.041, 0.040, None]},  # None: job failed
}
NS_FINAL = {  # (nu, sigma) at r32
    (0.001, 0.0): {"ffno": [0.40, 0.41, 0.42], "memno": [0.30, 0.31, 0.32]},
    (0.001, 0.1): {"ffno": [0.50, 0.51, 0.52], "memno": [0.45, 0.46, 0.47]},
}
OMEGA = {("ks", 0.075): {32: 0.05, 64: 0.001}, ("ks", 0.125): {32: 0.02, 64: 0.0005}, ("ns", 0.001): {32: 0.01}}
# (law, leaves, depth) -> model -> test RMSE per teacher draw (data seed 0, 1, ...), one training seed each
PLANTED = {("paper", 16, 1): {"edge_gcn": [0.010, 0.012, 0.011], "node_gcn": [0.30, 0.31, 0.32],
                              "node_sage": [0.10, 0.11, 0.12]},
           ("paper", 32, 3): {"edge_gcn": [0.020, 0.022, 0.021], "node_gcn": [0.35, 0.36, 0.34],
                              "node_sage": [0.09, 0.10, 0.11]},
           ("centre-bilinear", 16, 1): {"edge_gcn": [0.03, 0.04], "node_gcn": [0.21, 0.22]}}
FLOOR = {"rmse": 0.2, "product_rmse": 0.15, "leaf_std": 0.5, "split": "test"}
MEMORY_WIDTHS = (2, 4, 8, 16, 32)


def _threshold_series(threshold: dict[int, int | None], below: float, above: float) -> dict[int, dict[int, float]]:
    """n -> width -> value: ``above`` from the threshold width on (never when None), ``below`` under it."""
    return {n: {w: above if t is not None and w >= t else below for w in MEMORY_WIDTHS} for n, t in threshold.items()}


# memory experiment: (task, model) -> n -> width -> value (RMSE with leaf std 0.5 / accuracy), depth 2, the same
# value for each of the fixture's seeds (2 by default)
MEMORY = {("planted_star", "edge_gcn"): _threshold_series({8: 2, 16: 2, 32: 2, 64: 2}, 0.3, 0.05),
          ("planted_star", "node_gcn"): _threshold_series({8: None, 16: None, 32: None, 64: None}, 0.3, 0.3),
          ("planted_star", "node_sage"): _threshold_series({8: 2, 16: 4, 32: 8, 64: 16}, 0.3, 0.08),
          ("duplicates", "edge_gcn"): _threshold_series({8: 2, 16: 2, 32: 2, 64: 2}, 0.6, 0.97),
          ("duplicates", "node_gcn"): _threshold_series({8: 2, 16: 4, 32: 8, 64: 16}, 0.6, 0.96)}
ZINC = {"node_gcn": [0.345, 0.346, 0.344], "edge_gcn": [0.3445, 0.3455, 0.3435], "deepsets": [0.60, 0.61, 0.62]}
MAP = {16: {"edge_gcn-d2-w16": [1.0, 1.0], "node_gcn-d2-w16": [0.99, 0.995]},
       64: {"edge_gcn-d2-w16": [0.995, 1.0], "node_gcn-d2-w16": [None, None]}}
DUPLICATES = {16: {"edge_gcn": [0.97], "node_gcn": [0.71]}}


W = [0.5 + i / 11 for i in range(12)]  # per-trajectory pattern, mean 1


def _write_json(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def _pde(root: Path, expected: list, eq: str, nu: float, res: int, sigma: float, model: str, seed: int, final):
    from gapbench.naming import fmt_num, obs_key

    d = (root / "train" / "pde" / eq / "attractor" / f"nu{fmt_num(nu)}" / obs_key("fourier", res, sigma) / model
         / f"seed{seed}")
    expected.append(d / "metrics.json")
    if final is None:
        return
    _write_json(d / "metrics.json", {
        "task": "pde", "equation": eq, "nu": nu, "method": "fourier", "resolution": res, "sigma": sigma,
        "model": model, "seed": seed, "nrmse": final / 2, "nrmse_final": final, "valid_time": 1.0 - final,
        "nrmse_low": final / 4, "nrmse_mid": final / 8, "nrmse_high": final / 16, "horizon": 5,
        "n_params": 1000 + (100 if model == "memno" else 0) if model in ("ffno", "memno") else 0,
        "train_time_s": 10.0 + seed if model in ("ffno", "memno") else 0.0, "inference_time_s": 0.5,
        "inference_time_per_trajectory_s": 0.1 if model in ("ffno", "memno") else 0.01, "status": "ok"})
    with open(d / "rollout.csv", "w") as fh:
        fh.write("time,nrmse\n" + "".join(f"{t / 10},{final * t / 5}\n" for t in range(6)))
    with open(d / "per_traj.csv", "w") as fh:
        fh.write("sample,nrmse,nrmse_final,valid_time,censored\n" + "".join(
            f"{i},{final / 2 * w},{final * w},{1.0 - final},0\n" for i, w in enumerate(W)))
    with open(d / "curves.csv", "w") as fh:
        fh.write("epoch,train_loss,valid_nrmse,lr,elapsed_s\n" + "".join(
            f"{e},{1 / (e + 1)},{final + 1 / (e + 1)},0.001,{e}\n" for e in range(4)))


def _graph(root: Path, expected: list, kind: str, variant: str, params: dict, model: str, seed: int, value,
           metric: str, hib: bool, sweep: bool = False, extra: dict | None = None):
    d = root / "train" / "graph" / kind / variant / model / f"seed{seed}"
    expected.append(d / "metrics.json")
    if value is None:
        return
    hyper = {"depth": 3, "width": 32, "lr": 0.001, "epochs": 5, "activation": "relu"}
    _write_json(d / "metrics.json", {
        "task": "graph", "experiment": kind, "variant": variant, "params": params, "model": model, "seed": seed,
        "metric": metric, "higher_is_better": hib, "test": value, "valid": value, "hyper": hyper,
        "n_params": 5000, "train_time_s": 3.0, "status": "ok", **(extra or {})})
    with open(d / "curves.csv", "w") as fh:  # the graph trainer's format: every sweep configuration
        fh.write("config,depth,width,lr,epoch,train_loss,valid,lr_now,elapsed_s\n"
                 "0,1,16,0.01,0,1.0,0.6,0.01,1\n0,1,16,0.01,1,0.9,0.5,0.005,2\n"
                 f"1,3,32,0.001,0,1.0,0.5,0.001,1\n1,3,32,0.001,1,0.5,{value},0.0005,2\n")
    if sweep:
        with open(d / "sweep.csv", "w") as fh:
            fh.write("depth,width,lr,valid,test\n1,16,0.01,0.4,0.41\n3,32,0.001," f"{value},{value}\n")


def make_fixture(root: Path, memory_seeds: int = 2, memory: dict | None = None) -> list[Path]:
    """Write the fixture under ``root`` (train/..., data/...); return the expected metrics paths."""
    expected: list[Path] = []
    for (nu, res), models in KS_FINAL.items():
        for model, vals in models.items():
            for seed, v in enumerate(vals):
                _pde(root, expected, "ks", nu, res, 0.0, model, seed, v)
        _pde(root, expected, "ks", nu, res, 0.0, "solver-r256", 0, 0.7)
    _pde(root, expected, "ks", 0.075, 32, 0.0, "persistence", 0, 0.5)  # nRMSE 0.25: FFNO (0.26) does not beat it
    for (nu, sigma), models in NS_FINAL.items():
        for model, vals in models.items():
            for seed, v in enumerate(vals):
                _pde(root, expected, "ns", nu, 32, sigma, model, seed, v)
    for (eq, nu), table in OMEGA.items():
        p = root / "data" / "pde" / eq / "attractor" / f"nu{nu:g}" / "omega_f.csv"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("resolution,omega_f\n" + "".join(f"{r},{w}\n" for r, w in table.items()))
    for (law, leaves, depth), models in PLANTED.items():
        for model, vals in models.items():
            for draw, v in enumerate(vals):
                params = {"leaves": leaves, "depth": depth, "law": law, "data_seed": draw, "activation": "relu",
                          "weight_law": "uniform", "weight_scale": 1.0, "readout": "projection"}
                _graph(root, expected, "planted_star", f"n{leaves}-k{depth}-{law}-s{draw}", params,
                       model, 0, v, "rmse", False, sweep=True, extra={"affine_floor": FLOOR})
    for (task, model), per_n in (memory or MEMORY).items():
        metric, hib = ("rmse", False) if task == "planted_star" else ("accuracy", True)
        for n, per_width in per_n.items():
            variant = f"{task}-n{n}" + ("-k1-paper-s0" if task == "planted_star" else "")
            for width, v in per_width.items():
                for seed in range(memory_seeds):
                    _graph(root, expected, "memory", variant, {}, f"{model}-d2-w{width}", seed, v, metric, hib,
                           extra={"affine_floor": FLOOR} if task == "planted_star" else None)
    for model, vals in ZINC.items():
        for seed, v in enumerate(vals):
            _graph(root, expected, "benchmark", "zinc", {"name": "zinc"}, model, seed, v, "mae", False,
                   extra={"protocol": "benchmarking-gnns GCN (ZINC)", "features": "nodes only"})
    for seed, v in enumerate([0.30, 0.31, 0.32]):  # the labelled edge-feature variant
        _graph(root, expected, "benchmark", "zinc", {"name": "zinc"}, "edge_gcn-ef", seed, v, "mae", False,
               extra={"protocol": "benchmarking-gnns GCN (ZINC)", "features": "nodes and edges"})
    for n, models in MAP.items():
        for model, vals in models.items():
            for seed, v in enumerate(vals):
                _graph(root, expected, "map", f"n{n}", {"n": n}, model, seed, v, "accuracy", True,
                       extra={"breakdown": {"reach": 3, "n_within_reach": 40, "n_hub_only": 20,
                                            "acc_within_reach": 1.0, "acc_hub_only": 0.5 + 0.1 * seed,
                                            "local_ceiling": 0.8, "ceiling_within_reach": 0.99,
                                            "ceiling_hub_only": 0.51}})
    for n, models in DUPLICATES.items():
        for model, vals in models.items():
            for seed, v in enumerate(vals):
                _graph(root, expected, "duplicates", f"n{n}", {"n": n}, model, seed, v, "accuracy", True)
    return expected


def _build(root: Path, expected: list[Path], test: str = "welch", figures: bool = True) -> int:
    from gapbench.cli import main

    argv = ["tables", "build", *map(str, expected), "--train-dir", str(root / "train"),
            "--data-dir", str(root / "data"), "--tables-dir", str(root / "tables"),
            "--figures-dir", str(root / "figures"), "--claims", str(root / "claims.md"), "--test", test,
            "--bootstrap-resamples", "2000"] + ([] if figures else ["--no-figures"])
    return main(argv)


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("tables")
    expected = make_fixture(root)
    assert _build(root, expected) == 0
    return root


def test_pde_means_stds_and_partial_cells(built):
    rows = {(float(r["nu"]), int(r["res"]), r["model"]): r for r in _rows(built / "tables" / "pde_ks.csv")}
    r = rows[(0.075, 32, "ffno")]
    assert float(r["nrmse_final_mean"]) == pytest.approx(0.52)
    assert float(r["nrmse_final_std"]) == pytest.approx(0.02)
    assert (r["nrmse_final_n"], r["nrmse_final_n_expected"], r["nrmse_final_flag"]) == ("3", "3", "")
    assert float(r["nrmse_mean"]) == pytest.approx(0.26) and r["n_seeds"] == "3"
    assert float(r["valid_time_mean"]) == pytest.approx(0.48) and float(r["nrmse_low_mean"]) == pytest.approx(0.13)
    assert r["beats_persistence"] == "false" and rows[(0.075, 32, "memno")]["beats_persistence"] == "true"
    assert rows[(0.075, 32, "persistence")]["beats_persistence"] == ""  # baselines are not flagged
    assert float(r["omega_f"]) == pytest.approx(0.05)
    m = rows[(0.075, 32, "memno")]
    assert float(m["delta_nrmse_final"]) == pytest.approx(0.41)
    assert m["delta_nrmse_final_significant"] == "true"
    assert float(m["ratio_ffno_over_model_nrmse_final"]) == pytest.approx(0.52 / 0.11)
    lo, hi = float(m["ratio_ffno_over_model_nrmse_final_ci_low"]), float(m["ratio_ffno_over_model_nrmse_final_ci_high"])
    assert lo < 0.52 / 0.11 < hi and m["ratio_ffno_over_model_nrmse_final_significant"] == "true"
    assert rows[(0.075, 64, "memno")]["delta_nrmse_final_significant"] == "false"
    partial = rows[(0.125, 64, "memno")]
    assert (partial["nrmse_final_n"], partial["nrmse_final_n_expected"], partial["nrmse_final_flag"]) == (
        "2", "3", "partial")
    assert float(partial["nrmse_final_mean"]) == pytest.approx(0.0405)
    solver = rows[(0.075, 32, "solver-r256")]
    assert solver["n_params"] == "0" and solver["delta_nrmse_final_significant"] == ""  # n=1: not testable
    md = (built / "tables" / "pde_ks.md").read_text()
    assert "(n=2/3 !)" in md and "+0.205 *" in md and "**not < persistence**" in md
    assert "nu0.125/fourier-r64-s0/memno/seed2/metrics.json" in md  # listed as missing
    ns = _rows(built / "tables" / "pde_ns.csv")
    assert {(r["sigma"], r["model"]) for r in ns} == {("0.0", "ffno"), ("0.0", "memno"), ("0.1", "ffno"),
                                                     ("0.1", "memno")}


def test_graph_tables(built):
    t2 = {(r["law"], int(r["leaves"]), int(r["planted_depth"])): r
          for r in _rows(built / "tables" / "table2_planted_star.csv")}
    assert list(t2) == [("paper", 32, 3), ("paper", 16, 1), ("centre-bilinear", 16, 1)]
    r = t2[("paper", 16, 1)]
    assert r["teacher_draws"] == "3" and r["edge_gcn_n"] == "3"  # replication over teacher draws
    assert float(r["edge_gcn_mean"]) == pytest.approx(0.011)
    assert float(r["node_gcn_std"]) == pytest.approx(0.01)
    assert float(r["seed_edge"]) == 0.002 and float(r["seed_node"]) == 0.2847
    assert float(r["node_ratio_to_seed"]) == pytest.approx(0.31 / 0.2847) and r["seed_node_reproduced"] == "yes"
    assert float(r["edge_ratio_to_seed"]) == pytest.approx(0.011 / 0.002)
    assert float(r["product_floor"]) == pytest.approx(0.15)
    assert r["edge_gcn_selected_hyper"] == "depth=3 width=32 lr=0.001"
    assert r["edge_gain_significant"] == "true" and float(r["edge_gain"]) == pytest.approx(0.31 - 0.011)
    cb = t2[("centre-bilinear", 16, 1)]
    assert cb["teacher_draws"] == "2" and cb["node_sage_n"] == "0"
    t1 = _rows(built / "tables" / "table1_benchmarks.csv")
    assert [x["dataset"] for x in t1] == ["zinc"]
    assert float(t1[0]["deepsets_mean"]) == pytest.approx(0.61)
    assert float(t1[0]["seed_node_gcn_mean"]) == 0.3430
    assert t1[0]["edge_gain_significant"] == "false"  # 0.3445 vs 0.345 with std 0.001, n=3: not significant
    assert t1[0]["protocol"] == "benchmarking-gnns GCN (ZINC)" and float(t1[0]["edge_gcn-ef_mean"]) == 0.31
    assert t1[0]["node_gcn_n_params"] == t1[0]["edge_gcn_n_params"] == "5000"  # parameter counts per model
    t1_md = (built / "tables" / "table1_benchmarks.md").read_text()
    assert "Edge-GCN + edge features" in t1_md and "node features only" in t1_md
    gm = {(r["section"], r["param"], r["model"]): r for r in _rows(built / "tables" / "graphical_models.csv")}
    miss = gm[("map", "64", "node_gcn-d2-w16")]
    assert (miss["test_n"], miss["test_n_expected"], miss["test_flag"], miss["test_mean"]) == ("0", "2", "missing", "")
    assert gm[("map", "64", "edge_gcn-d2-w16")]["edge_gain_significant"] == ""  # no node seeds: not testable
    hub = gm[("map", "16", "node_gcn-d2-w16")]  # the hub route: seed means of the breakdown, counts per seed
    assert float(hub["acc_hub_only"]) == pytest.approx(0.55) and float(hub["local_ceiling"]) == 0.8
    assert (hub["reach"], hub["n_within_reach"], hub["n_hub_only"]) == ("3", "40", "20")
    assert miss["acc_hub_only"] == ""  # no usable seed: no breakdown
    assert gm[("duplicates", "16", "edge_gcn")]["edge_gain_significant"] == ""  # one seed: not testable
    assert float(gm[("duplicates", "16", "edge_gcn")]["edge_gain"]) == pytest.approx(0.26)
    md = (built / "tables" / "graphical_models.md").read_text()
    assert "missing (0/2)" in md and "Not run at this scale" in md  # ising section
    assert "| 16 | node_gcn-d2-w16 | 3 | 1 / 0.99 (40) | 0.55 / 0.51 (20) | 0.992 / 0.8 |" in md
    sweeps = _rows(built / "tables" / "sweeps_graph.csv")
    assert len(sweeps) == (2 * 3 * 3 + 2 * 2) * 2  # (paper cells x models x draws + bilinear runs) x configs
    assert sum(s["selected"] == "true" for s in sweeps) == 22
    assert float(r["affine_floor"]) == pytest.approx(0.2) and float(r["target_std"]) == pytest.approx(0.5)
    assert float(r["node_sage_nrmse"]) == pytest.approx(0.11 / 0.5)
    md = (built / "tables" / "table2_planted_star.md").read_text()
    assert "centre x_0 = 0; teacher eq. 4 (residual, mean over the other edges, no bias, no self weight)" in md
    assert "sigma = relu, W_l ~ U(-1/sqrt(10), 1/sqrt(10)) iid; label = u^T h^(k)" in md
    assert "centre-bilinear: x_v ~ N(0, I_10) at every node" in md
    assert "**paper**: the seed's node RMSE is reproduced in every cell" in md


def test_memory_threshold_table(built):
    rows = {(r["task"], r["model"], int(r["n"])): r for r in _rows(built / "tables" / "memory_threshold.csv")}
    assert len(rows) == 5 * 4
    assert rows[("planted_star", "edge_gcn", 32)]["min_width"] == "2"
    assert rows[("planted_star", "node_sage", 32)]["min_width"] == "8"  # 0.08 / 0.5 = 0.16 <= 0.2
    assert rows[("planted_star", "node_gcn", 16)]["min_width"] == ""  # 0.3 / 0.5: never reached
    assert rows[("duplicates", "node_gcn", 64)]["min_depth_x_width"] == "32"
    assert rows[("planted_star", "edge_gcn", 16)]["target"] == "RMSE / leaf std <= 0.2"
    sage = rows[("planted_star", "node_sage", 8)]
    # slope 1; rounding on the grid 2..32 (c = -0.3, -0.1, 0.1, 0.3): 1 - 0.1 (3 - log2 5) - 0.3 (4 - log2 9)
    assert float(sage["slope"]) == pytest.approx(1.0) and sage["slope_reading"] == "grows"
    assert float(sage["slope_ci_low"]) == pytest.approx(1 - 0.1 * (3 - math.log2(5)) - 0.3 * (4 - math.log2(9)))
    edge = rows[("planted_star", "edge_gcn", 64)]
    assert float(edge["slope"]) == pytest.approx(0, abs=1e-12)
    assert float(edge["slope_ci_high"]) == pytest.approx(0.4)  # rounding (0.3 + 0.1) x 1
    assert edge["slope_reading"] == "flat"
    assert rows[("planted_star", "node_gcn", 8)]["excluded"].startswith("affine floor above the target")
    md = (built / "tables" / "memory_threshold.md").read_text()
    assert "none reached" in md and "Slope of log2(needed width)" in md


def test_missing_listed_and_warned(built):
    missing = _rows(built / "tables" / "missing.csv")
    paths = sorted(Path(r["path"]).relative_to(built).as_posix() for r in missing)
    assert paths == ["train/graph/map/n64/node_gcn-d2-w16/seed0/metrics.json",
                     "train/graph/map/n64/node_gcn-d2-w16/seed1/metrics.json",
                     "train/pde/ks/attractor/nu0.125/fourier-r64-s0/memno/seed2/metrics.json"]
    runs = _rows(built / "tables" / "runs_pde.csv")
    assert sum(r["status"] == "missing" for r in runs) == 1


def test_claims_verdicts(built):
    text = (built / "claims.md").read_text()
    verdicts = dict(line.strip("| \n").split(" | ") for line in text.splitlines()
                    if line.startswith("| ") and line.endswith("** |"))
    assert verdicts == {
        "Edge beats node on planted stars": "**supported**",
        "Node models need memory growing with n, edge models do not": "**supported**",
        "Memory helps more at lower viscosity (KS)": "**supported**",
        "Memory helps more with observation noise (NS)": "**not supported**",
        "Standard graph benchmarks hide the edge advantage": "**supported**",
        "Benchmark-like PDE settings hide the memory advantage": "**supported**",
        "MemNO beats FFNO at KS's lowest observed resolution": "**supported**",
    }
    assert "Holm-Bonferroni over 2 comparisons" in text and "n_traj = 12, seeds per model 3" in text
    assert "conditional on this draw of the data" in text
    assert "3 expected runs are missing" in text
    assert "vs GCN (node): 2 of 2 cells; vs SAGE (node): 2 of 2 cells" in text  # controls, Holm over 4 comparisons
    assert "paper law, n = 3 teacher draws per cell" in text
    assert "| centre-bilinear | 16 | 1 | GCN (node) |" in text and "| not judged | 0.2 / 0.15 |" in text
    assert "per task: duplicates supported, planted_star supported" in text
    assert "excluded: planted_star/GCN (node)" in text
    assert "| zinc (Edge-GCN) | mae |" in text and "| equivalent |" in text


def test_pde_columns_over_trajectories(built):
    """Paired columns from per_traj.csv: Delta = FFNO - model per trajectory, Wilcoxon p (all differences of one
    sign: 2 / 2^12), bootstrap CIs, n_traj; seed-level tests only with >= 3 seeds per model."""
    rows = {(float(r["nu"]), int(r["res"]), r["model"]): r for r in _rows(built / "tables" / "pde_ks.csv")}
    m = rows[(0.075, 32, "memno")]
    assert float(m["delta"]) == pytest.approx((0.52 - 0.11) / 2)
    assert float(m["p_wilcoxon"]) == pytest.approx(2 / 2**12) and m["n_traj"] == "12"
    assert float(m["delta_ci_low"]) < float(m["delta"]) < float(m["delta_ci_high"])
    assert float(m["ratio"]) == pytest.approx(0.52 / 0.11)
    assert float(m["ratio_ci_low"]) < 0.52 / 0.11 < float(m["ratio_ci_high"])
    assert float(m["final_delta"]) == pytest.approx(0.52 - 0.11)
    partial = rows[(0.125, 64, "memno")]  # 2 seeds: no seed-level test, the trajectory test stands
    assert partial["delta_nrmse_significant"] == "" and partial["p_wilcoxon"] != ""
    pairs = _rows(built / "tables" / "pde_pairs.csv")
    assert {(p["equation"], p["memory_model"], p["markovian_model"]) for p in pairs} == {
        ("ks", "memno", "ffno"), ("ns", "memno", "ffno")}
    low = next(p for p in pairs if p["equation"] == "ks" and p["nu"] == "0.075" and p["res"] == "64")
    assert float(low["tost_margin"]) == pytest.approx(0.1 * 0.052 / 2) and low["equivalent"] == "true"


def test_memory_claim_flat_node_series_is_not_supported_and_censored_is_inconclusive(tmp_path):
    """A node series whose needed width stays at 2 for n = 8..64 is flat (interval below 0.5): not supported. A
    node series that misses the target at the largest n is censored: inconclusive, whatever the others say."""
    flat = {**MEMORY, ("duplicates", "node_gcn"): _threshold_series({8: 2, 16: 2, 32: 2, 64: 2}, 0.6, 0.96)}
    expected = make_fixture(tmp_path / "flat", memory_seeds=1, memory=flat)
    assert _build(tmp_path / "flat", expected, figures=False) == 0
    text = (tmp_path / "flat" / "claims.md").read_text()
    assert "| Node models need memory growing with n, edge models do not | **not supported** |" in text
    censored = {**MEMORY, ("duplicates", "node_gcn"): _threshold_series({8: 2, 16: 4, 32: 8, 64: None}, 0.6, 0.96)}
    expected = make_fixture(tmp_path / "cens", memory_seeds=1, memory=censored)
    assert _build(tmp_path / "cens", expected, figures=False) == 0
    text = (tmp_path / "cens" / "claims.md").read_text()
    assert "| Node models need memory growing with n, edge models do not | **inconclusive** |" in text
    assert "| duplicates | GCN (node) | node | 8: 2; 16: 4; 32: 8; 64: none |" in text


def test_equivalence_rule_counts_a_much_worse_edge_model_as_not_hidden(tmp_path):
    """Benchmarks claim: an edge model far worse than node on ZINC (CI below -margin) is not 'hidden'."""
    expected = make_fixture(tmp_path)
    for seed, v in enumerate([0.60, 0.61, 0.62]):
        p = tmp_path / f"train/graph/benchmark/zinc/edge_gcn/seed{seed}/metrics.json"
        p.write_text(json.dumps({**json.loads(p.read_text()), "test": v}))
    assert _build(tmp_path, expected, figures=False) == 0
    text = (tmp_path / "claims.md").read_text()
    assert "| Standard graph benchmarks hide the edge advantage | **not supported** |" in text
    assert "| edge much worse |" in text


def test_equivalence_margin_is_a_stated_practical_margin():
    """+-2% relative on every dataset; the seed's own rows read: MNIST equivalent (-1.0%), CIFAR10 outside (+3.1%)."""
    from gapbench.tables import reference
    from gapbench.tables.claims import equivalence_margin

    assert {equivalence_margin(d) for d in reference.TABLE1} == {0.02}
    rel = {d: (ref[2]["edge_gcn"][0] - ref[2]["node_gcn"][0]) / ref[2]["node_gcn"][0] * (1 if hib else -1)
           for d, (_, hib, ref) in ((d, (r[0], r[1], r)) for d, r in reference.TABLE1.items())}
    assert abs(rel["mnist"]) < equivalence_margin("mnist") < rel["cifar10"]


def test_figures_written(built):
    for stem in ("delta_nrmse_vs_omega_f", "rollout_nrmse", "accuracy_vs_cost", "node_vs_edge", "memory_threshold",
                 "training_curves"):
        for ext in ("png", "pdf"):
            assert (built / "figures" / f"{stem}.{ext}").stat().st_size > 1000


def test_empty_inputs_never_crash(tmp_path):
    """No metrics at all (nothing trained): every output exists, cells say missing, claims say not run."""
    expected = [tmp_path / "train/pde/ks/attractor/nu0.1/fourier-r32-s0/ffno/seed0/metrics.json",
                tmp_path / "train/graph/planted_star/n16-k1-paper-s0/edge_gcn/seed0/metrics.json"]
    assert _build(tmp_path, expected) == 0
    assert "missing (0/1)" in (tmp_path / "tables" / "pde_ks.md").read_text()
    assert "missing (0/1)" in (tmp_path / "tables" / "table2_planted_star.md").read_text()
    assert (tmp_path / "claims.md").read_text().count("**not run at this scale**") == 14  # table + sections (7 claims)
    assert (tmp_path / "figures" / "node_vs_edge.png").stat().st_size > 1000
    assert _build(tmp_path / "nothing", [], figures=False) == 0  # glob mode on an absent directory


def test_unreadable_and_failed_status_are_missing(tmp_path):
    expected = make_fixture(tmp_path)
    bad = tmp_path / "train/graph/duplicates/n16/edge_gcn/seed0/metrics.json"
    bad.write_text("{not json")
    div = tmp_path / "train/pde/ns/attractor/nu0.001/fourier-r32-s0.1/memno/seed1/metrics.json"
    obj = json.loads(div.read_text())
    div.write_text(json.dumps({**obj, "status": "diverged", "nrmse_final": math.inf}))
    solver = tmp_path / "train/pde/ks/attractor/nu0.075/fourier-r32-s0/solver-r256/seed0/metrics.json"
    solver.write_text(json.dumps({**json.loads(solver.read_text()), "status": "diverged", "n_diverged": 3}))
    assert _build(tmp_path, expected, figures=False) == 0
    assert "| solver-r256 | 0 | diverged (0/1) | diverged (0/1) |" in (tmp_path / "tables" / "pde_ks.md").read_text()
    reasons = {Path(r["path"]).relative_to(tmp_path).as_posix(): r["reason"]
               for r in _rows(tmp_path / "tables" / "missing.csv")}
    assert reasons["train/graph/duplicates/n16/edge_gcn/seed0/metrics.json"].startswith("unreadable")
    assert reasons["train/pde/ns/attractor/nu0.001/fourier-r32-s0.1/memno/seed1/metrics.json"] == "status 'diverged'"
    ns = {(r["sigma"], r["model"]): r for r in _rows(tmp_path / "tables" / "pde_ns.csv")}
    assert ns[("0.1", "memno")]["nrmse_final_n"] == "2"
    assert float(ns[("0.1", "memno")]["nrmse_final_mean"]) == pytest.approx(0.46)


def test_glob_mode_flags_a_seed_absent_in_one_cell(tmp_path):
    make_fixture(tmp_path)
    assert _build(tmp_path, [], figures=False) == 0
    rows = {(float(r["nu"]), int(r["res"]), r["model"]): r for r in _rows(tmp_path / "tables" / "pde_ks.csv")}
    assert rows[(0.125, 64, "memno")]["nrmse_final_flag"] == "partial"
    assert rows[(0.075, 32, "solver-r256")]["nrmse_final_flag"] == ""


def test_bootstrap_test_agrees_on_clear_cases(tmp_path):
    expected = make_fixture(tmp_path)
    assert _build(tmp_path, expected, test="bootstrap", figures=False) == 0
    rows = {(float(r["nu"]), int(r["res"]), r["model"]): r for r in _rows(tmp_path / "tables" / "pde_ks.csv")}
    assert rows[(0.075, 32, "memno")]["delta_nrmse_final_significant"] == "true"
    assert "Welch" not in (tmp_path / "claims.md").read_text()


def test_cli_help_is_light():
    """`gapbench tables --help` imports no numpy/matplotlib at start-up."""
    code = ("import sys; from gapbench.cli import build_parser; build_parser(); "
            "print(any(m in sys.modules for m in ('matplotlib', 'scipy', 'torch')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
