"""Training throughput: samples per second of forward + backward + optimiser step, per network and device.

CPU always (``torch.set_num_threads(--threads)``, float32); CUDA when present (bf16 autocast, as in
training). Random inputs of the tasks' shapes; a few warm-up steps, then the median of timed repeats.
Writes results/benchmarks/training.parquet (one row per network x device).

    python benchmarks/training.py [--steps 10] [--threads 2] [--out results/benchmarks/training.parquet]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import pandas as pd
import torch

from ecgflow.parquet import write_parquet
from ecgflow.training.models import build_model
from ecgflow.training.train import autocast_for

SHAPES = {"superclass": ((12, 1000), 64), "beats": ((1, 128), 128)}  # input shape, batch size (config defaults)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def throughput(task: str, device: torch.device, steps: int, warmup: int = 3, repeats: int = 3) -> dict:
    """Samples/s of training steps of ``task``'s network on ``device`` (median over ``repeats``)."""
    torch.manual_seed(0)
    shape, batch = SHAPES[task]
    model = build_model(task).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(batch, *shape, device=device)
    if task == "superclass":
        y = (torch.rand(batch, 5, device=device) > 0.5).float()
        loss_fn = torch.nn.BCEWithLogitsLoss()
    else:
        y = torch.randint(0, 5, (batch,), device=device)
        loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        with autocast_for(device):
            out = model(x)
        loss = loss_fn((out[0] if isinstance(out, tuple) else out).float(), y)
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    _sync(device)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        _sync(device)
        rates.append(steps * batch / (time.perf_counter() - start))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    return {"task": task, "device": device.type, "device_name": name, "batch_size": batch,
            "input_shape": "x".join(map(str, shape)), "precision": "bf16-autocast" if device.type == "cuda" else "fp32",
            "threads": torch.get_num_threads(), "steps": steps, "samples_per_s": statistics.median(rates),
            "samples_per_s_min": min(rates), "samples_per_s_max": max(rates)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="results/benchmarks/training.parquet")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    rows = [throughput(task, device, args.steps) for device in devices for task in SHAPES]
    table = pd.DataFrame(rows)
    write_parquet(table, Path(args.out), {"benchmark": "training", "torch": torch.__version__})
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
