"""K graph models trained as one batch-invariant ensemble vs one after the other: time ratio, operators, equality.

    python benchmarks/ensemble.py [--k 4] [--steps 10] [--repeats 15] [--models node_gcn edge_gcn deepsets]

For each model, K copies (initialised from seeds 0..K-1) take Adam steps on the same planted-star mini-batches
(n32-k3, 32 graphs a batch, depth 2, width 32), on the CPU with one thread, three ways:

* **one model** - the project's single-model training path: an ensemble of K = 1
  (:func:`gapbench.models.ensemble.stack` of one model, :func:`gapbench.train.ensemble.train_step` with
  :class:`gapbench.train.ensemble.StackedAdam`), trained K times one after the other;
* **ensemble** - the K models as one ensemble of K (the same code);
* **torch.optim** - one plain ``nn.Module`` with ``torch.optim.Adam`` and the task's ``loss_fn``, for reference
  (not the project's path; its first step also imports ``torch._dynamo``, timed separately below).

It prints the CPU time of a step (ms; the least of ``--repeats`` runs) of one model, of the ensemble and of
torch.optim, ``ensemble time / (K x one-model time)`` (target <= 0.6; the median over runs of the ratio of
neighbouring runs, the ways taking turns, so that a machine shared with other processes weighs on both sides
of each ratio alike), the same ratio against K x torch.optim, the operators
one step launches per sample (graph x member; torch.profiler, top-level aten operators, a multi-tensor
``_foreach`` operator counting once: each is at least one kernel on a GPU), and, in float64, the largest
difference between the ensemble's parameters and those of each member trained alone after ``--check-steps``
steps: 0 means bit for bit (the ensemble is batch-invariant, gapbench.models.ensemble).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import subprocess
import sys
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
    return task, models, data


def ensemble(task, models, data, lr: float = 1e-3):
    """One step of ``models`` as one ensemble (K = 1: the project's single-model path), and its member states.
    The K-fold mini-batches are collated before the timing, as the one-model ones."""
    import torch

    from gapbench.models.ensemble import member_state, stack
    from gapbench.train.ensemble import StackedAdam, train_step

    batches = list(data.batches(32, torch.Generator().manual_seed(0), copies=len(models)))
    ens = stack(models)
    opt = StackedAdam(ens.parameters(), torch.full((len(models),), lr, dtype=torch.float64))

    def step(i: int) -> None:
        train_step(ens, opt, task, batches[i % len(batches)])

    return step, lambda: [member_state(ens, k) for k in range(len(models))]


def plain_torch(task, model, data, lr: float = 1e-3):
    """One step of one ``nn.Module`` with ``torch.optim.Adam`` (reference only)."""
    import torch

    from gapbench.train.graph_tasks import loss_fn

    batches = list(data.batches(32, torch.Generator().manual_seed(0)))
    model = copy.deepcopy(model)
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def step(i: int) -> None:
        x, ei, b, ea, ng, y, mask = batches[i % len(batches)]
        opt.zero_grad(set_to_none=True)
        loss_fn(task, model(x, ei, b, ea, ng), y, mask).backward()
        opt.step()

    return step


def cpu_seconds(steps_of: dict, steps: int, repeats: int) -> dict:
    """Per way, the CPU times of ``repeats`` runs of ``steps`` steps, the ways taking turns (after one warm-up step
    each), so that run ``r`` of every way meets about the same load from other processes."""
    for step in steps_of.values():
        step(0)
    times: dict = {way: [] for way in steps_of}
    for _ in range(repeats):
        for way, step in steps_of.items():
            t0 = time.process_time()
            for i in range(steps):
                step(i + 1)
            times[way].append(time.process_time() - t0)
    return times


def paired_ratio(num: list, den: list, k: int) -> float:
    """The median over runs of ``num[r] / (k * den[r])``: each ratio from two neighbouring runs."""
    return statistics.median(n / (k * d) for n, d in zip(num, den))


def operators(step) -> int:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step(0)
    return sum(1 for e in prof.events() if e.name.startswith("aten::") and e.cpu_parent is None)


def first_step_seconds(optimizer: str) -> float:
    """Wall time of a fresh process's first optimiser step (imports included) after ``import torch``."""
    make = ("torch.optim.Adam([p])" if optimizer == "torch"
            else "__import__('gapbench.train.ensemble', fromlist=['x']).StackedAdam([p], [1e-3])")
    code = ("import time, torch; t = time.perf_counter(); p = torch.nn.Parameter(torch.zeros(1, 3)); "
            f"o = {make}; p.grad = torch.ones(1, 3); o.step(); print(time.perf_counter() - t)")
    return float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=4, help="ensemble members")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per run")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per way")
    parser.add_argument("--check-steps", type=int, default=3, help="float64 steps of the equality check")
    parser.add_argument("--models", nargs="+", default=["node_gcn", "edge_gcn", "deepsets"])
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    print(f"CPU, 1 thread; K = {args.k}; {args.repeats} runs of {args.steps} Adam steps per way of 32 planted-star "
          "graphs (n32-k3), depth 2, width 32, float32; ms/step: least run; ratios: median of neighbouring runs")
    print(f"first optimiser step of a fresh process: torch.optim.Adam {first_step_seconds('torch'):.2f} s "
          f"(imports torch._dynamo), StackedAdam {first_step_seconds('stacked'):.2f} s")
    print(f"{'model':>10} {'ms/step one':>12} {'ens':>7} {'torch.optim':>12} {'ens/(K x one)':>14} "
          f"{'ens/(K x torch.optim)':>22} {'ops/sample one':>15} {'ops/sample ens':>15} {'float64 max |diff|':>19}")
    for name in args.models:
        task, models, data = _setup(name, args.k, torch.float32)
        one_step, _ = ensemble(task, models[:1], data)
        ens_step, _ = ensemble(task, models, data)
        torch_step = plain_torch(task, models[0], data)
        t = cpu_seconds({"one": one_step, "ens": ens_step, "plain": torch_step}, args.steps, args.repeats)
        per_one = operators(one_step) / 32
        per_ens = operators(ens_step) / (32 * args.k)
        task, models, data = _setup(name, args.k, torch.float64)
        e_step, e_params = ensemble(task, models, data)
        alone = [ensemble(task, [m], data) for m in models]
        for i in range(args.check_steps):
            e_step(i)
            for a_step, _ in alone:
                a_step(i)
        diff = max(float((e[n] - a()[0][n]).abs().max()) for e, (_, a) in zip(e_params(), alone) for n in e)
        ms = [1e3 * min(t[way]) / args.steps for way in ("one", "ens", "plain")]
        print(f"{name:>10} {ms[0]:12.2f} {ms[1]:7.2f} {ms[2]:12.2f} {paired_ratio(t['ens'], t['one'], args.k):14.2f} "
              f"{paired_ratio(t['ens'], t['plain'], args.k):22.2f} {per_one:15.2f} {per_ens:15.2f} {diff:19.3g}")


if __name__ == "__main__":
    main()
