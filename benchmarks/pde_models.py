"""PDE surrogate performance, as ratios measured in one run .

1. Training step (forward + backward + AdamW) of MemNO and the other memory variants relative to FFNO at equal
   width and resolution (target for MemNO: <= 1.3); MemNO both with its default S4 convolution (Toeplitz matmul
   at T = 50) and forced to the FFT convolution.
2. Rollout with the recurrent S4 state: time per step at horizon T=512 relative to T=32 (target: flat, ~1);
   the attention variant (key/value cache, O(t) per step) for contrast.
3. With CUDA: training throughput (trajectories/s and frames/s) and peak GPU memory for KS at 64 points and
   NS at 64x64, for FFNO and MemNO (fp32 and bf16 autocast).

    python benchmarks/pde_models.py [--quick] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from gapbench.models.pde_registry import ModelHyper, build_model
from gapbench.train.pde_eval import relative_l2


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _clock(device: torch.device) -> float:
    """CUDA: wall time (after a synchronise). CPU: this process's CPU time, robust on a shared machine
    (the benchmark runs single-threaded there, so CPU time = compute time)."""
    return time.perf_counter() if device.type == "cuda" else time.process_time()


def step_time(name: str, n_dims: int, res: int, width: int, batch: int, frames: int, device: torch.device,
              repeats: int, amp: bool = False, conv: str = "auto") -> float:
    """Median seconds of one training step on random data ``(batch, frames, res[, res])``.

    ``conv``: how MemNO's S4D evaluates its convolution in training (auto, fft, direct).
    """
    torch.manual_seed(0)
    model = build_model(name, n_dims, ModelHyper(width=width, n_layers=4, modes=min(16, res // 2 + 1))).to(device)
    if name == "memno":
        model.memory.mixer.conv = conv
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    u = torch.randn(batch, frames, *([res] * n_dims), device=device)
    times = []
    for i in range(repeats + 2):
        _sync(device)
        start = _clock(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            pred = model(u[:, :-1])
        loss = relative_l2(pred.float(), u[:, 1:], n_dims).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        _sync(device)
        if i >= 2:  # warm-up
            times.append(_clock(device) - start)
    return statistics.median(times)


@torch.no_grad()
def rollout_time_per_step(name: str, horizon: int, res: int, width: int, batch: int, device: torch.device) -> float:
    torch.manual_seed(0)
    model = build_model(name, 1, ModelHyper(width=width, n_layers=4, modes=min(16, res // 2 + 1))).to(device).eval()
    u0 = torch.randn(batch, res, device=device)
    model.rollout(u0, 4)  # warm-up
    _sync(device)
    start = _clock(device)
    model.rollout(u0, horizon)
    _sync(device)
    return (_clock(device) - start) / horizon


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repeats and a smaller batch")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--device", default="cpu", help="device for parts 1-2 (cpu or cuda)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    repeats = 5 if args.quick else 15
    batch = 8 if args.quick else 16

    print(f"== 1. training step, KS-like 1D, 51 frames, width 32, 4 layers, batch {batch}, {device}")
    for res in (32, 64):
        base = step_time("ffno", 1, res, 32, batch, 51, device, repeats)
        line = [f"res {res}: ffno {base * 1e3:.1f} ms"]
        for name in ("memno", "lstm", "attention"):
            t = step_time(name, 1, res, 32, batch, 51, device, repeats)
            line.append(f"{name} {t * 1e3:.1f} ms (ratio {t / base:.2f})")
        t = step_time("memno", 1, res, 32, batch, 51, device, repeats, conv="fft")
        line.append(f"memno with FFT convolution {t * 1e3:.1f} ms (ratio {t / base:.2f})")
        print("  " + "; ".join(line))
    base = step_time("ffno", 2, 32, 32, max(batch // 4, 2), 33, device, repeats)
    t = step_time("memno", 2, 32, 32, max(batch // 4, 2), 33, device, repeats)
    print(f"  NS-like 2D 32x32, 33 frames: ffno {base * 1e3:.1f} ms; memno {t * 1e3:.1f} ms (ratio {t / base:.2f})")

    print(f"== 2. rollout time per step, res 64, width 32, batch {batch}, {device}")
    for name in ("memno", "attention", "ffno"):
        t32 = rollout_time_per_step(name, 32, 64, 32, batch, device)
        t512 = rollout_time_per_step(name, 512, 64, 32, batch, device)
        print(f"  {name}: T=32 {t32 * 1e3:.2f} ms/step, T=512 {t512 * 1e3:.2f} ms/step (ratio {t512 / t32:.2f})")

    if not torch.cuda.is_available():
        print("== 3. GPU throughput: skipped (no CUDA device)")
        return
    gpu = torch.device("cuda")
    print(f"== 3. GPU training throughput on {torch.cuda.get_device_name(gpu)}, width 64, 4 layers")
    for label, n_dims, res, frames, bsz in (("KS res 64", 1, 64, 51, 64), ("NS 64x64", 2, 64, 33, 16)):
        for name in ("ffno", "memno"):
            for amp in (False, True):
                torch.cuda.reset_peak_memory_stats(gpu)
                t = step_time(name, n_dims, res, 64, bsz, frames, gpu, repeats, amp=amp)
                mem = torch.cuda.max_memory_allocated(gpu) / 2**30
                print(f"  {label} {name} {'bf16' if amp else 'fp32'}: {bsz / t:.0f} trajectories/s, "
                      f"{bsz * (frames - 1) / t:.0f} frames/s, step {t * 1e3:.1f} ms, peak memory {mem:.2f} GiB")


if __name__ == "__main__":
    main()
