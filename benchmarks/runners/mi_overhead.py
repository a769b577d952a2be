"""Cost of MIDecayLR's per-epoch measurement against the epoch it steers (Vasudevan 2020, MNIST LeNet):
one training epoch on all 60,000 images at batch 256, then I(T; Y) on n = 1,000 samples for the output
(global mode) and for the four layers (layer-wise mode), each timed on the same machine in one run."""

from __future__ import annotations

import time
from typing import Any

import torch

from iblearn.data.vision import load_images, to_float
from iblearn.experiments.training import train_epoch
from iblearn.models.lenet import LAYER_GROUPS, lenet5
from iblearn.optim import MIProbe
from iblearn.records import markdown_table


def run_mi_overhead(*, n: int = 1000, train_size: int | None = None, repeats: int = 3) -> dict[str, Any]:
    data = load_images("mnist", "train").subset(train_size)
    x, y = to_float(data.images), data.labels
    torch.manual_seed(0)
    model = lenet5()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    device = torch.device("cpu")
    start = time.perf_counter()
    train_epoch(model, opt, x, y, 256, torch.Generator().manual_seed(0), device)
    epoch = time.perf_counter() - start
    probes = {
        "output (global)": MIProbe(x, y, n=n),
        "4 layers (layer-wise)": MIProbe(x, y, n=n, layers=[tap for _, tap in LAYER_GROUPS["lenet5"]]),
    }
    seconds = {}
    for name, probe in probes.items():
        probe.measure(model)  # warm-up
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            probe.measure(model)
            best = min(best, time.perf_counter() - t0)
        seconds[name] = best
    return {
        "epoch_seconds": epoch,
        "train_size": len(x),
        "n": n,
        "measure_seconds": seconds,
        "share_percent": {k: 100 * v / epoch for k, v in seconds.items()},
    }


def mi_overhead_table(result: dict[str, Any]) -> str:
    rows = [
        [
            name,
            f"{result['measure_seconds'][name]:.3f}",
            f"{result['epoch_seconds']:.1f}",
            f"{result['share_percent'][name]:.2f}%",
        ]
        for name in result["measure_seconds"]
    ]
    return markdown_table(["I(T;Y) measured for", "seconds", "epoch seconds", "share of the epoch"], rows)
