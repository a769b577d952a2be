"""Cost of a ProximalSplit step against the plain inner optimizer on the same model and batch.

A 6-conv network (CIFAR-sized input) is split after the first block, in the middle, or right before the
output layer. Time: interleaved repeats, fastest of each. Memory: bytes that autograd saves for the
backward passes (activations, and for ProximalSplit the graph of grad_z L), counted once per storage
through ``torch.autograd.graph.saved_tensors_hooks``; on CUDA also the allocator's peak.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iblearn.optim import ProximalSplit, split_model
from iblearn.records import markdown_table

SPLITS = {"after the first block": 2, "middle": 8, "near the output": 14}


def _block(c_in: int, c_out: int) -> list[nn.Module]:
    """Two 3 x 3 convolutions with ReLU, then a 2 x 2 max-pool (five layers of the Sequential)."""
    conv = partial(nn.Conv2d, kernel_size=3, padding=1)
    return [conv(c_in, c_out), nn.ReLU(), conv(c_out, c_out), nn.ReLU(), nn.MaxPool2d(2)]


def network(width: int = 32) -> nn.Sequential:
    """Three blocks of ``width``, twice and four times as many channels, then a 256-unit MLP head."""
    w = width
    blocks = [*_block(3, w), *_block(w, 2 * w), *_block(2 * w, 4 * w)]
    return nn.Sequential(*blocks, nn.Flatten(), nn.Linear(4 * w * 16, 256), nn.ReLU(), nn.Linear(256, 10))


def saved_bytes(step: Callable[[], Any]) -> int:
    """Bytes of the distinct storages autograd saves while ``step`` runs."""
    seen: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        step()
    return sum(seen.values())


PLAIN = "plain Adam"
READINGS = {"ProximalSplit kept (default)": True, "ProximalSplit literal eq. 5": False}


def adam_step(model: nn.Module, x: Tensor, y: Tensor) -> Callable[[], None]:
    """One plain Adam step (lr 1e-3) of ``model`` on the cross-entropy of the batch ``(x, y)``."""
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        adam.zero_grad()
        F.cross_entropy(model(x), y).backward()
        adam.step()

    return step


def split_closure(f: nn.Module, g: nn.Module, x: Tensor, y: Tensor) -> Callable[[], tuple[Tensor, Tensor]]:
    """ProximalSplit's closure for the same loss, of ``g(f(x))``: the loss and the bottleneck ``f(x)``."""

    def closure() -> tuple[Tensor, Tensor]:
        z = f(x)
        return F.cross_entropy(g(z), y), z

    return closure


def _steps(
    model: nn.Module, f: nn.Module, g: nn.Module, x: Tensor, y: Tensor
) -> dict[str, Callable[[], Any]]:
    closure = split_closure(f, g, x, y)
    steps: dict[str, Callable[[], Any]] = {PLAIN: adam_step(model, x, y)}
    for name, keep in READINGS.items():
        prox = ProximalSplit(
            f.parameters(),
            g.parameters(),
            torch.optim.Adam,
            lr_backward=1e-3,
            lr_forward=1e-3,
            keep_first_order=keep,
        )
        steps[name] = partial(prox.step, closure)
    return steps


def fastest(steps: dict[str, Callable[[], Any]], repeats: int, device: str) -> dict[str, float]:
    """The best of ``repeats`` timings of each step, taken in turn (a, b, a, b, ...) so that a load
    change on a shared machine hits them all alike; one warm-up call each first."""
    best = dict.fromkeys(steps, float("inf"))
    for fn in steps.values():
        fn()
    for _ in range(repeats):
        for name, fn in steps.items():
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            if device == "cuda":
                torch.cuda.synchronize()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def run_overhead(
    *, batch: int = 64, width: int = 32, repeats: int = 5, device: str = "cpu"
) -> list[dict[str, Any]]:
    torch.manual_seed(0)
    x = torch.randn(batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    results = []
    for where, at in SPLITS.items():
        model = network(width).to(device)
        f, g = split_model(model, at)
        steps = _steps(model, f, g, x, y)
        best = fastest(steps, repeats, device)
        memory = {name: saved_bytes(fn) for name, fn in steps.items()}
        peak: dict[str, float | None] = dict.fromkeys(steps)
        if device == "cuda":
            for name, fn in steps.items():
                torch.cuda.reset_peak_memory_stats()
                fn()
                peak[name] = torch.cuda.max_memory_allocated() / 2**20
        results.append(
            {
                "bottleneck": where,
                "split_index": at,
                "seconds": best,
                "saved_mib": {k: v / 2**20 for k, v in memory.items()},
                "cuda_peak_mib": peak,
                "time_ratio": {name: best[name] / best[PLAIN] for name in READINGS},
                "memory_ratio": {name: memory[name] / memory[PLAIN] for name in READINGS},
            }
        )
    return results


def overhead_table(results: list[dict[str, Any]]) -> str:
    """One row per bottleneck: the plain step's cost, then each reading's time and memory ratio to it."""
    rows = [
        [
            r["bottleneck"],
            f"{r['seconds'][PLAIN] * 1000:.1f}",
            f"{r['saved_mib'][PLAIN]:.1f}",
            *(f"{r['time_ratio'][name]:.2f}x / {r['memory_ratio'][name]:.2f}x" for name in READINGS),
        ]
        for r in results
    ]
    header = ["bottleneck", "plain ms/step", "plain saved MiB"]
    return markdown_table([*header, *(f"{name}: time / memory" for name in READINGS)], rows)
