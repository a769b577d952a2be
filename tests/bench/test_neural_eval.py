"""The evaluation study's two ways of turning a critic into a figure, on the bivariate normal's optimal
critic (the log density ratio; plus 1 for NWJ), whose bounds equal the true MI in expectation."""

from __future__ import annotations

import math

import pytest
import torch
from benchmarks.runners.neural_eval import BOUNDS, chunked, pooled

from iblearn.data import bivariate_normal

RHO = 0.75


def optimal(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """log p(x, y) / (p(x) p(y)) for unit-variance normals with correlation RHO."""
    x, y = x[:, 0], y[:, 0]
    q = (x**2 - 2 * RHO * x * y + y**2) / (1 - RHO**2) - x**2 - y**2
    return -0.5 * math.log(1 - RHO**2) - 0.5 * q


@pytest.mark.parametrize("kind", ["mine", "nwj"])
def test_the_optimal_critic_gives_the_truth_both_ways(kind):
    task = bivariate_normal(RHO)
    x, y = (t.double() for t in task.sample(10_000, seed=0))
    bound = BOUNDS["iblearn"][kind]
    shift = 0.0 if kind == "mine" else 1.0  # NWJ is tight at 1 + log ratio, DV at any constant shift

    def critic(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return optimal(a, b) + shift

    assert pooled(critic, bound, x, y) == pytest.approx(task.mutual_information, abs=0.03)
    assert chunked(critic, bound, x, y) == pytest.approx(task.mutual_information, abs=0.05)


def test_chunks_pair_each_sample_with_the_next_one():
    x = torch.arange(6.0).unsqueeze(1)
    seen = []

    def score(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        seen.append((b - a)[:, 0].tolist())
        return torch.zeros(len(a))

    assert chunked(score, BOUNDS["iblearn"]["mine"], x, x, chunk=3) == 0.0
    assert seen == [[0, 0, 0], [1, 1, -2], [0, 0, 0], [1, 1, -2]]  # joint, negatives, per chunk
