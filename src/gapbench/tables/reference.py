"""The seed's numbers (docs/science.md, "Reference numbers (seed)": the talk's Tables 1 and 2), in one place.

Accuracies are stored as fractions (the talk prints percent) so they sit beside our metrics in the same units.
"""

from __future__ import annotations

# Table 1: dataset -> (metric, higher_is_better, {model: (mean, std)}); models: node_gcn = GCN, edge_gcn = Edge-GCN.
TABLE1: dict[str, tuple[str, bool, dict[str, tuple[float, float]]]] = {
    "zinc": ("mae", False, {"node_gcn": (0.3430, 0.034), "edge_gcn": (0.3297, 0.011)}),
    "mnist": ("accuracy", True, {"node_gcn": (0.9529, 0.00163), "edge_gcn": (0.9437, 0.00065)}),
    "cifar10": ("accuracy", True, {"node_gcn": (0.5571, 0.00381), "edge_gcn": (0.5744, 0.00387)}),
    "peptides_func": ("ap", True, {"node_gcn": (0.6816, 0.007), "edge_gcn": (0.6867, 0.004)}),
    "peptides_struct": ("mae", False, {"node_gcn": (0.2453, 0.0001), "edge_gcn": (0.2437, 0.0005)}),
}

# Table 2: (leaves, planted depth) -> {model: test RMSE of the best model over the sweep}.
TABLE2: dict[tuple[int, int], dict[str, float]] = {
    (64, 5): {"edge_gcn": 0.004, "node_gcn": 0.3790},
    (64, 3): {"edge_gcn": 0.011, "node_gcn": 0.3596},
    (64, 1): {"edge_gcn": 0.008, "node_gcn": 0.3752},
    (32, 5): {"edge_gcn": 0.003, "node_gcn": 0.3664},
    (32, 3): {"edge_gcn": 0.005, "node_gcn": 0.3626},
    (32, 1): {"edge_gcn": 0.003, "node_gcn": 0.3614},
    (16, 5): {"edge_gcn": 0.007, "node_gcn": 0.3336},
    (16, 3): {"edge_gcn": 0.002, "node_gcn": 0.2100},
    (16, 1): {"edge_gcn": 0.002, "node_gcn": 0.2847},
}

# Part II: the seed's claims are qualitative; MemNO's paper reports up to this ratio FFNO/MemNO test error.
MEMNO_MAX_RATIO = 6.0

# The seed's claims, as claims.md states them.
CLAIMS = {
    "planted_star": "Edge-based GCNs beat node-based GCNs on planted star graphs (seed Table 2: edge RMSE "
                    "~0.002-0.011, node ~0.21-0.38, every cell).",
    "memory": "Node-based GNNs need memory growing with the graph: on a star every leaf-to-leaf message passes "
              "through the centre's state, so the width a node model needs grows with the number of leaves n, "
              "while an edge-based model keeps one state per edge and does not (seed warm-up and Thm 2: "
              "depth x width = Omega(sqrt(n)) for node models).",
    "viscosity": "Memory helps more at lower viscosity: Delta nRMSE = nRMSE(FFNO) - nRMSE(MemNO) on KS grows "
                 "as nu decreases (seed, 'Results I').",
    "noise": "Memory helps more with observation noise: Delta nRMSE on NS grows with the noise std "
             "(seed, 'Results II').",
    "benchmarks_graphs": "Standard graph benchmarks hide the edge advantage: on Table 1's datasets the edge "
                         "and node GCNs are close, unlike on the planted star (seed, 'Would common benchmarks "
                         "catch this?').",
    "benchmarks_pde": "Benchmark-like PDE settings hide the memory advantage: where the unobserved energy "
                      "omega_f is small (fully resolved, noise-free, as in common benchmarks) Delta nRMSE is "
                      "small; it grows with omega_f (seed, 'Would common benchmarks catch this?').",
    "memory_low_resolution": "Memory helps where the state is unobserved: at low observed resolution MemNO's "
                             "nRMSE is below FFNO's (seed, 'Results I'; MemNO's KS study).",
}
