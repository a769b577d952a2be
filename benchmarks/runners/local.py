"""Cost of greedy, gradient-isolated training against end-to-end backpropagation of the same network.

Per network: seconds per epoch and the bytes autograd saves for the backward passes of one step
(activations, and the critics'), counted once per storage as in :mod:`benchmarks.runners.proximal`. For
greedy training, each module's epoch (earlier modules run frozen, under ``no_grad``) and the largest of
the modules' step memories: what greedy training needs at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.runners.proximal import fastest, saved_bytes
from iblearn.models.mole import Sequential, layerwise_mlp, mnist_cnn
from iblearn.records import markdown_table
from iblearn.training import Batch, CrossEntropy, InfoMax, NoisyIB, Objective
from iblearn.training.greedy import GreedyResult, _epoch


def _mole_cnn() -> tuple[list[nn.Module], list[Objective]]:
    modules = mnist_cnn()
    return modules, [
        InfoMax("input", "renyi", channels_x="mean"),
        InfoMax("input", "renyi", channels_x="mean"),
        InfoMax("label", "renyi"),
        CrossEntropy(),
    ]


def _layerwise_mlp() -> tuple[list[nn.Module], list[Objective]]:
    hidden = layerwise_mlp((256, 128, 10), linear_output=True)  # reproduce layerwise-ib's preset
    modules = [*hidden, nn.Linear(10, 10)]
    ib: list[Objective] = [
        NoisyIB(Sequential(hidden[: i + 1]), 1e-2, 0.1, 10, hidden=(128,)) for i in range(3)
    ]
    return modules, [*ib, CrossEntropy()]


CASES: dict[str, Callable[[], tuple[list[nn.Module], list[Objective]]]] = {
    "MOLE CNN (Li & Pei 2023, MNIST), matrix-based Renyi": _mole_cnn,
    "layer-wise MLP (Elad et al. 2019), MINE + AA-MINE": _layerwise_mlp,
}


def run_local(
    *, batch: int = 128, batches: int = 10, repeats: int = 3, device: str = "cpu"
) -> list[dict[str, Any]]:
    torch.manual_seed(0)
    x = torch.rand(batch * batches, 1, 28, 28, device=device)
    y = torch.randint(0, 10, (batch * batches,), device=device)
    data = [Batch(x[i : i + batch], y[i : i + batch]) for i in range(0, len(x), batch)]
    results = []
    for name, make in CASES.items():
        modules, objectives = make()
        for m in [*modules, *(e for o in objectives for e in o.estimators())]:
            m.to(device)
        net = Sequential(modules)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)

        def bp_step(b: Batch, net: nn.Module = net, opt: torch.optim.Optimizer = opt) -> None:
            opt.zero_grad()
            F.cross_entropy(net(b.x), b.y).backward()
            opt.step()

        def bp_epoch() -> None:
            for b in data:
                bp_step(b)

        module_opts = [torch.optim.Adam(m.parameters(), lr=1e-3) for m in modules]
        greedy = partial(_greedy_epoch, modules, objectives, module_opts, torch.device(device))
        epochs: dict[str, Callable[[], Any]] = {"bp": bp_epoch}
        epochs.update({f"module {k}": partial(greedy, k, data) for k in range(len(modules))})
        seconds = fastest(epochs, repeats, device)
        bp_seconds = seconds["bp"]
        bp_saved = saved_bytes(lambda: bp_step(data[0]))
        module_seconds = [seconds[f"module {k}"] for k in range(len(modules))]
        module_saved = [saved_bytes(partial(greedy, k, data[:1])) for k in range(len(modules))]
        activations = [
            saved_bytes(partial(_module_forward, modules, k, data[0])) for k in range(len(modules))
        ]
        results.append(
            {
                "network": name,
                "batch": batch,
                "batches_per_epoch": batches,
                "bp_seconds": bp_seconds,
                "module_seconds": module_seconds,
                "bp_saved_mib": bp_saved / 2**20,
                "module_saved_mib": [b / 2**20 for b in module_saved],
                "module_activation_mib": [b / 2**20 for b in activations],
                "time_ratio": sum(module_seconds) / bp_seconds,
                "memory_ratio": max(module_saved) / bp_saved,
            }
        )
    return results


def _greedy_epoch(
    modules: list[nn.Module],
    objectives: list[Objective],
    optimizers: Sequence[torch.optim.Optimizer],
    device: torch.device,
    k: int,
    batches: list[Batch],
) -> None:
    _epoch(modules, objectives, optimizers, [k], batches, 1, device, GreedyResult([[] for _ in modules]), 0)


def _module_forward(modules: list[nn.Module], k: int, batch: Batch) -> None:
    """Module k alone on its input (earlier modules frozen): the activations greedy training keeps."""
    with torch.no_grad():
        t = Sequential(modules[:k])(batch.x)
    modules[k](t)


def local_table(results: list[dict[str, Any]]) -> str:
    rows = [
        [
            r["network"],
            f"{r['bp_seconds']:.3f}",
            " + ".join(f"{s:.3f}" for s in r["module_seconds"]),
            f"{r['time_ratio']:.2f}x",
            f"{r['bp_saved_mib']:.1f}",
            " / ".join(f"{m:.1f}" for m in r["module_saved_mib"]),
            " / ".join(f"{m:.1f}" for m in r["module_activation_mib"]),
            f"{r['memory_ratio']:.2f}x",
        ]
        for r in results
    ]
    return markdown_table(
        [
            "network",
            "BP s/epoch",
            "greedy s/epoch, per module",
            "greedy/BP time (one epoch of every module)",
            "BP saved MiB/step",
            "greedy saved MiB/step, per module",
            "of which the module's own activations",
            "greedy/BP memory (largest module)",
        ],
        rows,
    )
