"""Edge layer (eq. 4, O(|E|) line-graph mean) vs node layer (eq. 3) vs an explicit line-graph edge layer.

    python benchmarks/edge_layer.py [--sizes 1000 10000 100000 1000000] [--width 32] [--device cpu]
                                    [--explicit-limit 3e7] [--cells results/benchmarks/train/graph/planted_star]

For stars with 1e3..1e6 leaves and Erdos-Renyi graphs (average degree 10) it prints, per graph, the forward +
backward time and the peak extra memory of one layer, and the ratios edge/node (the anchor: target <= 3 at every
size) and explicit/edge. The explicit implementation materialises the line graph (``sum_v deg(v)^2`` neighbour
pairs, ``n^2`` on a star); it is skipped, with the memory it would need, once that exceeds ``--explicit-limit``
pairs, and a failed allocation is reported as out of memory.

Peak memory: on CUDA ``torch.cuda.max_memory_allocated``; on CPU each measurement runs in a fresh process and the
growth of its peak resident set (``ru_maxrss``) during the layer is reported (allocator effects included).

With ``--cells`` it also reads the Snakemake ``benchmark:`` files of the planted-star training jobs and prints the
CPU-hours per Table-2 cell (one cell = one dataset, all models and the whole sweep, summed over seeds).
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing as mp
import resource
import time
from pathlib import Path


def star(n: int):
    import torch

    return torch.stack([torch.zeros(n, dtype=torch.long), torch.arange(1, n + 1)]), n + 1


def erdos_renyi(n: int, avg_degree: float = 10.0, seed: int = 0):
    """Random simple graph: n * avg_degree / 2 distinct pairs drawn uniformly (each edge once)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    m = int(n * avg_degree / 2)
    a = torch.randint(0, n, (int(m * 1.2) + 10,), generator=gen)
    b = torch.randint(0, n, (int(m * 1.2) + 10,), generator=gen)
    keep = a != b
    lo, hi = torch.minimum(a[keep], b[keep]), torch.maximum(a[keep], b[keep])
    key = torch.unique(lo * n + hi)[:m]
    return torch.stack([key // n, key % n]), n


def measure(kind: str, graph: str, n: int, width: int, device: str, repeats: int) -> dict:
    """Time (best of ``repeats``) and peak extra memory of one layer's forward + backward."""
    import torch

    from gapbench.models.ops import explicit_line_graph_aggregate
    from gapbench.models.gnn import EdgeGCNLayer, NodeGCNLayer, undirected_graph

    torch.set_num_threads(1)
    edges, num_nodes = star(n) if graph == "star" else erdos_renyi(n)
    both = torch.cat([edges, edges.flip(0)], dim=1)
    g = undirected_graph(both, num_nodes)
    g = type(g)(g.num_nodes, g.edges.to(device), g.entry_to_edge.to(device),
                type(g.index)(*(t.to(device) if isinstance(t, torch.Tensor) else t for t in g.index.__dict__.values())))
    torch.manual_seed(0)
    if kind == "node":
        layer, rows = NodeGCNLayer(width).to(device), num_nodes

        def step(h):
            return layer(h, g)
    elif kind == "edge":
        layer, rows = EdgeGCNLayer(width).to(device), g.edges.shape[1]

        def step(h):
            return layer(h, g)
    else:
        layer, rows = EdgeGCNLayer(width).to(device), g.edges.shape[1]

        def step(h):
            agg = explicit_line_graph_aggregate(h, g.edges, g.num_nodes, "mean")
            return h + layer.act(layer.lin(agg))

    h = torch.randn(rows, width, device=device, requires_grad=True)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    best = float("inf")
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        step(h).sum().backward()
        sync()
        best = min(best, time.perf_counter() - t0)
        h.grad = None
    if device.startswith("cuda"):
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    return {"time_s": best, "peak_bytes": max(peak, 0), "edges": int(g.edges.shape[1]), "nodes": num_nodes,
            "pairs": int((g.index.deg.double() ** 2).sum())}


def _child(queue, args):
    try:
        queue.put(measure(*args))
    except (RuntimeError, MemoryError) as err:  # allocation failure: report, don't crash the benchmark
        queue.put({"error": f"{type(err).__name__}: {str(err).splitlines()[0][:80]}"})


def run_isolated(args: tuple) -> dict:
    """One measurement in a fresh process, so CPU peak memory is not hidden by earlier peaks."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, args))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        return {"error": f"process died (exit {proc.exitcode}; out of memory?)"}
    return queue.get()


def mb(x: float) -> str:
    return f"{x / 2**20:9.1f}"


def layers(args) -> None:
    print(f"one layer, forward + backward, width {args.width}, mean aggregation, device {args.device}, "
          f"1 thread; best of {args.repeats}")
    header = (f"{'graph':>6} {'n':>8} {'|E|':>9} {'node ms':>9} {'edge ms':>9} {'t edge/node':>11} "
              f"{'node MB':>9} {'edge MB':>9} {'mem edge/node':>13}   explicit line graph")
    print(header)
    worst_t = worst_m = 0.0
    for graph, sizes in (("star", args.sizes), ("random", args.random_sizes)):
        for n in sizes:
            res = {k: run_isolated((k, graph, n, args.width, args.device, args.repeats)) for k in ("node", "edge")}
            if "error" in res["node"] or "error" in res["edge"]:
                print(f"{graph:>6} {n:>8}  failed: {res['node'].get('error') or res['edge'].get('error')}")
                continue
            node, edge = res["node"], res["edge"]
            rt = edge["time_s"] / node["time_s"]
            rm = edge["peak_bytes"] / max(node["peak_bytes"], 1)
            worst_t, worst_m = max(worst_t, rt), max(worst_m, rm)
            pairs = edge["pairs"]
            if pairs > args.explicit_limit:
                need = pairs * (8 * 4 + 4 * args.width * 2)  # index tensors + gathered rows, fwd + bwd
                explicit = (f"skipped: {pairs:.2e} pairs (> limit {args.explicit_limit:.0e}), "
                            f"would need ~{need / 2**30:.1f} GiB")
            else:
                ex = run_isolated(("explicit", graph, n, args.width, args.device, args.repeats))
                if "error" in ex:
                    explicit = f"FAILED ({ex['error']})"
                else:
                    explicit = (f"{ex['time_s'] * 1e3:9.1f} ms ({ex['time_s'] / edge['time_s']:6.1f}x edge), "
                                f"{mb(ex['peak_bytes'])} MB ({ex['peak_bytes'] / max(edge['peak_bytes'], 1):6.1f}x)")
            print(f"{graph:>6} {n:>8} {edge['edges']:>9} {node['time_s'] * 1e3:9.2f} {edge['time_s'] * 1e3:9.2f} "
                  f"{rt:11.2f} {mb(node['peak_bytes'])} {mb(edge['peak_bytes'])} {rm:13.2f}   {explicit}")
    print(f"worst edge/node ratio: time {worst_t:.2f}, memory {worst_m:.2f} (target <= 3)")


def cells(path: Path) -> None:
    """CPU-hours per planted-star cell from Snakemake benchmark files (columns s, ..., cpu_time)."""
    files = sorted(path.glob("*/seed*.tsv"))
    if not files:
        print(f"no benchmark files under {path} (run the planted_star training first)")
        return
    per_cell: dict[str, list[float]] = {}
    for f in files:
        with open(f) as fh:
            row = next(csv.DictReader(fh, delimiter="\t"))
        per_cell.setdefault(f.parent.name, []).append(float(row.get("cpu_time") or row["s"]))
    print(f"\nplanted-star cells ({path}): CPU-hours per cell (all models, whole sweep, summed over seeds)")
    for cell, secs in sorted(per_cell.items()):
        print(f"  {cell:>10}: {sum(secs) / 3600:.4f} CPU-h over {len(secs)} seed job(s)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10000, 100000, 1000000], help="star leaves")
    p.add_argument("--random-sizes", type=int, nargs="+", default=[1000, 10000, 100000],
                   help="Erdos-Renyi nodes (average degree 10)")
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--explicit-limit", type=float, default=3e7,
                   help="largest number of line-graph neighbour pairs the explicit implementation is run on")
    p.add_argument("--cells", type=Path, default=Path("results/benchmarks/train/graph/planted_star"))
    args = p.parse_args()
    layers(args)
    cells(args.cells)


if __name__ == "__main__":
    main()
