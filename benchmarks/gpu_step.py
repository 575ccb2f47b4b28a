"""One training step of every model family on whatever device is there: throughput, kernels per step, memory.

    python benchmarks/gpu_step.py [--device auto|cpu|cuda] [--steps 20] [--bf16]      (make bench-gpu)

For each registered family (graph: node | edge | set, on planted-star mini-batches of 32 graphs as
`gapbench train graph` collates them; PDE: markovian | memory, on KS 1-d windows of 16 trajectories x 20 frames
at 64 points and NS 2-d windows of 8 x 10 frames at 64 x 64) it times ``--steps`` steps (forward, backward, Adam,
after 3 warm-up steps) as the trainers run them - the loss summed on the device, no host read inside the step -
and prints samples (graphs or trajectories) per second, the number of kernels one step launches (torch.profiler:
device kernels on CUDA; on the CPU the aten operators, each of which would be at least one kernel) and the peak
memory (CUDA allocator; "-" on the CPU). The first line names the device ("CPU" when there is no GPU): numbers
from different devices or runs are not comparable. TF32 matmuls are on for CUDA (as in training); ``--bf16``
runs the PDE forwards under bf16 autocast (the spectral layers and S4 kernels stay float32).
"""

from __future__ import annotations

import argparse
import time


def _graph_case(model_name: str, device):
    import torch

    from gapbench.graphs import planted
    from gapbench.models.gnn import build_model
    from gapbench.train.graph_batches import GraphBatches
    from gapbench.train.graph_tasks import loss_fn, task_for

    splits, meta, _ = planted.make(planted.PlantedStarParams(leaves=32, depth=3, n_graphs=200))
    task = task_for(meta, splits["train"])
    data = GraphBatches(splits["train"], task, device)
    info = data.feature_info()
    torch.manual_seed(0)
    model = build_model(model_name, info["in_dim"], task.out_dim, depth=2, width=32, level=task.level,
                        edge_dim=info.get("edge_dim")).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = list(data.batches(32, torch.Generator().manual_seed(0)))

    def step(i: int):
        x, ei, b, ea, ng, y, mask = batches[i % len(batches)]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(task, model(x, ei, b, ea, ng), y, mask)
        loss.backward()
        opt.step()
        return loss.detach()

    return step, 32


def _pde_case(model_name: str, n_dims: int, device, bf16: bool):
    import torch

    from gapbench.models.pde_registry import ModelHyper, build_model
    from gapbench.train.optim import AdamW
    from gapbench.train.pde_eval import relative_l2

    res, batch, frames = (64, 16, 20) if n_dims == 1 else (64, 8, 10)
    torch.manual_seed(0)
    model = build_model(model_name, n_dims, ModelHyper(width=32, n_layers=4, modes=16)).to(device)
    opt = AdamW([{"params": model.parameters()}], lr=1e-3)  # the optimiser of `gapbench train pde`
    u = torch.randn(batch, frames, *([res] * n_dims), device=device)

    def step(i: int):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            pred = model(u[:, :-1])
        loss = relative_l2(pred.float(), u[:, 1:], n_dims).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach()

    return step, batch


def measure(step, samples: int, steps: int, device) -> tuple[float, int, float | None]:
    """(samples per second, kernels per step, peak memory in MiB or None on the CPU)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    cuda = device.type == "cuda"
    total = None
    for i in range(3):  # warm-up (lazy initialisation, autotuning)
        step(i)
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    for i in range(steps):
        loss = step(i)
        total = loss if total is None else total + loss
    float(total)  # one host read for the whole block (a synchronisation on CUDA)
    seconds = (time.perf_counter() - t0) / steps
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if cuda else None
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        step(0)
        if cuda:
            torch.cuda.synchronize(device)
    events = prof.events()
    if cuda:
        kernels = sum(1 for e in events if getattr(e, "device_type", None) == torch.autograd.DeviceType.CUDA)
    else:  # top-level aten operators (not those called inside another operator)
        kernels = sum(1 for e in events if e.name.startswith("aten::") and e.cpu_parent is None)
    return samples / seconds, kernels, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per model")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast for the PDE forwards")
    args = parser.parse_args()

    import torch

    from gapbench.registry import GRAPH_MODELS, PDE_MODELS
    from gapbench.train.common import select_device

    torch.set_num_threads(1) if args.device == "cpu" or not torch.cuda.is_available() else None
    device = select_device(args.device)  # CUDA: TF32 matmuls and convolutions on
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (no GPU: kernels = aten operators)"
    print(f"device: {name}; torch {torch.__version__}; {args.steps} timed steps per model")
    print(f"{'family':>10} {'model':>12} {'case':>14} {'samples/s':>10} {'kernels/step':>13} {'peak MiB':>9}")
    cases = []
    for family in ("node", "edge", "set"):
        model = next((m for m, e in GRAPH_MODELS.items() if e.family == family), None)
        if model is not None:
            cases.append((family, model, "planted n32-k3", lambda m=model: _graph_case(m, device)))
    for family in ("markovian", "memory"):
        model = next((m for m, e in PDE_MODELS.items() if e.family == family), None)
        if model is not None:
            for n_dims, label in ((1, "KS 1-d 64"), (2, "NS 2-d 64x64")):
                cases.append((family, model, label,
                              lambda m=model, d=n_dims: _pde_case(m, d, device, args.bf16)))
    for family, model, label, make in cases:
        step, samples = make()
        rate, kernels, peak = measure(step, samples, args.steps, device)
        shown = "-" if peak is None else f"{peak:.0f}"
        print(f"{family:>10} {model:>12} {label:>14} {rate:10.1f} {kernels:13d} {shown:>9}")


if __name__ == "__main__":
    main()
