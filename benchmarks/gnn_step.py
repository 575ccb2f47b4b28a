"""GNN training step with the graph structure built once per graph (collated per batch) vs derived in every forward.

    python benchmarks/gnn_step.py [--batch-size 32] [--steps 10] [--repeats 15] [--device cpu|cuda|all]

For the synthetic graph sets at the default config's sizes it times training steps as `gapbench train graph`
runs them (collate a mini-batch, forward, backward, Adam step; batch size 32, width 32, depth 2) with
``GraphBatches(structure=True)`` (the structure of every graph derived once at load, concatenated per batch,
graphs/structure.py) against the anchor ``structure=False`` in the same run (each forward derives the batch's
structure: ``torch.unique``, reverse-edge search, input checks, i.e. the behaviour before). It prints the
best over ``repeats`` blocks of ``steps`` steps of the time per step and the ratio new/anchor (target: <= 1, no
slower), and the one-off cost of deriving the structures of a split, in training steps. The two variants
alternate block by block, so load from other processes on a shared machine hits both. A second table times
the part that differs alone, per batch: deriving the structure from the collated ``edge_index`` (the check,
undirected graph and line-graph index, plus the reverse edges for the directed models) vs gathering it from
the split's precomputed structure. On a CUDA machine (``--device all`` or ``cuda``) the same runs on the GPU, synchronised.
"""

from __future__ import annotations

import argparse
import time

CASES = (  # (dataset, generator parameters, models): the default config's largest variant of each kind
    ("planted_star n32-k3", "planted", dict(leaves=32, depth=3, n_graphs=300), ("node_gcn", "edge_gcn")),
    ("map n256", "map_paths", dict(n=256, n_graphs=300), ("node_gcn", "edge_gcn")),
    ("ising pruefer", "ising", dict(tree="pruefer", n_graphs=300),
     ("node_gcn", "edge_gcn", "node_gcn_directed", "edge_gcn_directed")),
    ("duplicates n16", "duplicates", dict(n=16, n_graphs=300), ("node_gcn", "edge_gcn")),
)


def dataset(module: str, params: dict):
    import importlib

    mod = importlib.import_module(f"gapbench.graphs.{module}")
    cls = {"planted": "PlantedStarParams", "map_paths": "MapParams", "ising": "IsingParams",
           "duplicates": "DuplicatesParams"}[module]
    made = mod.make(getattr(mod, cls)(**params))
    return made[0]["train"], made[1]


def steps_time(batches, task, name: str, batch_size: int, steps: int, device) -> float:
    """Seconds per training step, over ``steps`` steps (after 3 warm-up steps)."""
    import torch

    from gapbench.models.gnn import build_model
    from gapbench.train.graph_tasks import loss_fn

    torch.manual_seed(0)
    info = batches.feature_info()
    model = build_model(name, info["in_dim"], task.out_dim, depth=2, width=32, level=task.level).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    order = torch.randperm(len(batches), generator=gen).tolist()
    idx = [order[(k * batch_size) % len(order):][:batch_size] or order[:batch_size] for k in range(steps + 3)]

    def step(i):
        x, ei, batch, ea, ng, y, mask = batches.collate(i)
        opt.zero_grad(set_to_none=True)
        loss_fn(task, model(x, ei, batch, ea, ng), y, mask).backward()
        opt.step()

    for i in idx[:3]:
        step(i)
    sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for i in idx[3:]:
        step(i)
    sync()
    return (time.perf_counter() - t0) / steps


def structure_time(batches, directed: bool, batch_size: int, repeats: int) -> tuple[float, float]:
    """Seconds per batch to derive the structure in the forward (anchor) and to gather it (built once)."""
    import torch

    from gapbench.models.ops import check_edge_index
    from gapbench.graphs.structure import _derive_undirected, reverse_edges

    gen = torch.Generator().manual_seed(1)
    order = torch.randperm(len(batches), generator=gen).tolist()
    idx = [order[k:k + batch_size] for k in range(0, len(order) - batch_size + 1, batch_size)]
    collated = [(i, batches.collate(i)) for i in idx]
    sync = torch.cuda.synchronize if str(batches.device).startswith("cuda") else (lambda: None)

    def derive():
        for _, b in collated:
            ei, n = b[1].view(b[1].shape), b[0].shape[0]  # a view: no structure attached
            check_edge_index(ei, n)
            _derive_undirected(ei, n)
            if directed:
                reverse_edges(ei, n)

    def gather():
        for i, b in collated:
            s = batches.structure.batch(i, b[1])
            s.undirected
            if directed:
                s.directed

    best = {derive: float("inf"), gather: float("inf")}
    for _ in range(repeats):
        for f in best:
            sync()
            t0 = time.perf_counter()
            f()
            sync()
            best[f] = min(best[f], (time.perf_counter() - t0) / len(collated))
    return best[derive], best[gather]


def run(device: str, batch_size: int, steps: int, repeats: int) -> float:
    import torch

    from gapbench.train.graph_batches import GraphBatches
    from gapbench.train.graph_tasks import task_for

    print(f"\ndevice {device}: seconds per training step (collate + forward + backward + Adam), batch {batch_size}, "
          f"best of {repeats} blocks of {steps} steps")
    print(f"{'dataset':>20} {'model':>18} {'anchor ms':>10} {'built-once ms':>14} {'ratio':>6} {'set-up, steps':>14}")
    worst = 0.0
    for label, module, params, models in CASES:
        graphs, meta = dataset(module, params)
        task = task_for(meta, graphs)
        t0 = time.perf_counter()
        new = GraphBatches(graphs, task, device, structure=True)
        t1 = time.perf_counter()
        old = GraphBatches(graphs, task, device, structure=False)
        setup = max((t1 - t0) - (time.perf_counter() - t1), 0.0)  # deriving every graph's structure once
        for name in models:
            times = {"old": [], "new": []}
            for _ in range(repeats):
                for key, data in (("old", old), ("new", new)):
                    times[key].append(steps_time(data, task, name, batch_size, steps, torch.device(device)))
            t_old, t_new = min(times["old"]), min(times["new"])
            ratio = t_new / t_old
            worst = max(worst, ratio)
            print(f"{label:>20} {name:>18} {t_old * 1e3:10.3f} {t_new * 1e3:14.3f} {ratio:6.2f} "
                  f"{setup / t_new:14.1f}")
    print(f"worst built-once / anchor ratio on {device}: {worst:.2f} (target <= 1)")
    print(f"\nthe structure alone, per batch of {batch_size} graphs on {device} (best of {repeats} passes over a split)")
    print(f"{'dataset':>20} {'models':>10} {'derive ms':>10} {'gather ms':>10} {'ratio':>6}")
    for label, module, params, models in CASES:
        graphs, meta = dataset(module, params)
        batches = GraphBatches(graphs, task_for(meta, graphs), device, structure=True)
        for directed in (False, True) if any(m.endswith("directed") for m in models) else (False,):
            t_old, t_new = structure_time(batches, directed, batch_size, repeats)
            print(f"{label:>20} {'directed' if directed else 'undirected':>10} {t_old * 1e3:10.3f} "
                  f"{t_new * 1e3:10.3f} {t_new / t_old:6.2f}")
    return worst


def main() -> None:
    import torch

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--device", choices=("cpu", "cuda", "all"), default="all",
                   help="all: cpu, then cuda when a CUDA device is present (default)")
    args = p.parse_args()
    torch.set_num_threads(1)
    devices = ["cpu"] if args.device == "cpu" else ["cuda"] if args.device == "cuda" else (
        ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    for device in devices:
        run(device, args.batch_size, args.steps, args.repeats)
    if "cuda" not in devices:
        print("no CUDA device here: the GPU case runs where torch.cuda.is_available()")


if __name__ == "__main__":
    main()
