"""A hot path's time over its core operation's, the two interleaved in one process, and the
ProximalSplit case that benchmarks/ratios.py and benchmarks/gpu_check.py both time this way."""

from __future__ import annotations

import copy
import itertools
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from benchmarks.runners.proximal import adam_step, split_closure
from iblearn.optim import ProximalSplit, split_model

Step = Callable[[], Any]


def thread_seconds(fn: Step) -> float:
    """Thread CPU time of one call."""
    start = time.thread_time()
    fn()
    return time.thread_time() - start


def taking_turns(
    steps: list[Step], repeats: int, timer: Callable[[Step], float] = thread_seconds
) -> list[list[float]]:
    """The seconds of each of ``steps`` (``timer`` of one call) over ``repeats`` rounds, the steps taking
    turns, each in turn first (round i starts with step i mod len(steps)), after one warm-up call each."""
    for step in steps:
        step()
    seconds: list[list[float]] = [[] for _ in steps]
    for i in range(repeats):
        for j in range(len(steps)):
            turn = (i + j) % len(steps)
            seconds[turn].append(timer(steps[turn]))
    return seconds


def paired_ratio(
    hot: Step, core: Step, repeats: int, timer: Callable[[Step], float] = thread_seconds
) -> dict[str, float]:
    """Median over ``repeats`` interleaved pairs (each in turn first) of hot's time over core's, after one
    warm-up call each, with the median seconds of each; ``timer`` gives the seconds of one call."""
    hots, cores = taking_turns([hot, core], repeats, timer)
    return {
        "ratio": statistics.median(h / c for h, c in zip(hots, cores, strict=True)),
        "hot_s": statistics.median(hots),
        "core_s": statistics.median(cores),
        "repeats": repeats,
    }


def mlp(*widths: int) -> nn.Sequential:
    """Linear layers of these widths with a ReLU between each two."""
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(widths):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def proximal_steps(device: torch.device) -> tuple[Step, Step]:
    """A ProximalSplit step (default reading, Adam, beta 10) and a plain Adam step of the same
    784-256x5-10 ReLU network, seeded 0, on one batch of 128 on ``device``, split after its third layer."""
    torch.manual_seed(0)
    model = mlp(784, 256, 256, 256, 256, 256, 10).to(device)
    x, y = torch.randn(128, 784, device=device), torch.randint(0, 10, (128,), device=device)
    plain = adam_step(copy.deepcopy(model), x, y)
    f, g = split_model(model, 6)
    split = ProximalSplit(f.parameters(), g.parameters(), beta=10.0)
    closure = split_closure(f, g, x, y)
    return lambda: split.step(closure), plain
