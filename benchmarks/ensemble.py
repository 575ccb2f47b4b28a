"""K graph models trained as one vmapped ensemble vs one after the other: time ratio, kernels, equality.

    python benchmarks/ensemble.py [--k 4] [--steps 20] [--models node_gcn edge_gcn deepsets]

For each model, K copies (initialised from seeds 0..K-1) take ``--steps`` Adam steps on the same planted-star
mini-batches (n32-k3, 32 graphs a batch, depth 2, width 32) two ways: one model after the other (the trainer's
way), and as one ensemble - parameters stacked (``torch.func.stack_module_state``), the K losses from
``vmap(functional_call)``, one Adam over the stacked tensors. It prints the CPU time of the ensemble over K times
the CPU time of one model (target <= 0.6), the operators one step launches per sample (graph x member;
torch.profiler, top-level aten operators: each is at least one kernel on a GPU), and, in float64, the largest
difference between the ensemble's parameters and the one-by-one parameters after the steps. A difference other
than 0 means the ensemble is not bit-for-bit the sequential training (vmap turns each member's matmul into one
batched matmul, which sums in another order), so the trainers do not use it.
"""

from __future__ import annotations

import argparse
import copy
import time


def _setup(model_name: str, k: int, dtype):
    import torch

    from gapbench.graphs import planted
    from gapbench.models.gnn import build_model
    from gapbench.train.graph_batches import GraphBatches
    from gapbench.train.graph_tasks import task_for

    splits, meta, _ = planted.make(planted.PlantedStarParams(leaves=32, depth=3, n_graphs=200))
    task = task_for(meta, splits["train"])
    data = GraphBatches(splits["train"], task, "cpu")
    data.x, data.y = [x.to(dtype) for x in data.x], [y.to(dtype) for y in data.y]
    info = data.feature_info()
    models = []
    for seed in range(k):
        torch.manual_seed(seed)
        models.append(build_model(model_name, info["in_dim"], task.out_dim, depth=2, width=32, level=task.level,
                                  edge_dim=info.get("edge_dim")).to(dtype))
    return task, models, list(data.batches(32, torch.Generator().manual_seed(0)))


def sequential(task, models, batches, steps: int):
    import torch

    from gapbench.train.graph_tasks import loss_fn

    models = [copy.deepcopy(m) for m in models]
    opts = [torch.optim.Adam(m.parameters(), lr=1e-3) for m in models]

    def step(i: int) -> None:
        for model, opt in zip(models, opts):
            x, ei, b, ea, ng, y, mask = batches[i % len(batches)]
            opt.zero_grad(set_to_none=True)
            loss_fn(task, model(x, ei, b, ea, ng), y, mask).backward()
            opt.step()

    return step, lambda: [dict(m.named_parameters()) for m in models]


def ensemble(task, models, batches, steps: int):
    import torch
    from torch.func import functional_call, stack_module_state, vmap

    from gapbench.train.graph_tasks import loss_fn

    params, buffers = stack_module_state([copy.deepcopy(m) for m in models])
    params = {n: p.detach().clone().requires_grad_(True) for n, p in params.items()}
    base = copy.deepcopy(models[0]).to("meta")
    opt = torch.optim.Adam(list(params.values()), lr=1e-3)

    def member_loss(p, b, x, ei, batch, ea, ng, y, mask):
        return loss_fn(task, functional_call(base, (p, b), (x, ei, batch, ea, ng)), y, mask)

    losses = vmap(member_loss, in_dims=(0, 0) + (None,) * 7)

    def step(i: int) -> None:
        opt.zero_grad(set_to_none=True)
        losses(params, buffers, *batches[i % len(batches)]).sum().backward()  # member k's gradient: its own loss
        opt.step()

    return step, lambda: [{n: p[k] for n, p in params.items()} for k in range(len(models))]


def cpu_seconds(step, steps: int) -> float:
    step(0)  # warm-up
    t0 = time.process_time()
    for i in range(steps):
        step(i + 1)
    return time.process_time() - t0


def operators(step) -> int:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step(0)
    return sum(1 for e in prof.events() if e.name.startswith("aten::") and e.cpu_parent is None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=4, help="ensemble members")
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--models", nargs="+", default=["node_gcn", "edge_gcn", "deepsets"])
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    print(f"CPU, 1 thread; K = {args.k}; {args.steps} Adam steps of 32 planted-star graphs (n32-k3), depth 2, width 32")
    print(f"{'model':>10} {'ensemble/(K x one)':>19} {'ops/sample one':>15} {'ops/sample ens':>15} "
          f"{'float64 max |diff|':>19}")
    for name in args.models:
        task, models, batches = _setup(name, args.k, torch.float32)
        seq_step, _ = sequential(task, models[:1], batches, args.steps)
        ens_step, _ = ensemble(task, models, batches, args.steps)
        one, ens = cpu_seconds(seq_step, args.steps), cpu_seconds(ens_step, args.steps)
        per_one = operators(seq_step) / 32
        per_ens = operators(ens_step) / (32 * args.k)
        task, models, batches = _setup(name, args.k, torch.float64)
        (s_step, s_params), (e_step, e_params) = (sequential(task, models, batches, 3),
                                                  ensemble(task, models, batches, 3))
        for i in range(3):
            s_step(i)
            e_step(i)
        diff = max(float((a[n] - b[n]).detach().abs().max()) for a, b in zip(s_params(), e_params()) for n in a)
        print(f"{name:>10} {ens / (args.k * one):19.2f} {per_one:15.2f} {per_ens:15.2f} {diff:19.3g}")


if __name__ == "__main__":
    main()
