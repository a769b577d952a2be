"""Counts past int64 and past 2^53: every estimator reaches the plug-in limit, none wraps around."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from iblearn.functional import discrete_entropy, nsb_entropy
from iblearn.functional.discrete.entropies import METHODS

torch.set_num_threads(1)

HUGE = [
    ([1e19, 1e19], math.log(2)),
    ([2**62] * 3, math.log(3)),
    ([2**63, 2**63], math.log(2)),
    ([2**64, 2**64], math.log(2)),
    ([1e300, 1e300], math.log(2)),
    (np.array([2**62] * 3, dtype=np.int64), math.log(3)),
    (np.array([2**63 + 5, 2**63 + 5], dtype=np.uint64), math.log(2)),
    (torch.tensor([1e19, 1e19, 1e19, 1e19], dtype=torch.float64), math.log(4)),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("counts", "want"), HUGE)
def test_huge_counts_give_the_plug_in_limit(method: str, counts: object, want: float) -> None:
    assert float(discrete_entropy(counts=counts, method=method)) == pytest.approx(want, abs=1e-9)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", METHODS)
def test_a_huge_count_beside_a_single_sample_is_almost_certain(method: str) -> None:
    assert float(discrete_entropy(counts=[1e300, 1], method=method)) == pytest.approx(0, abs=1e-12)  # type: ignore[arg-type]


def test_nsb_s_posterior_at_huge_counts_is_a_point() -> None:
    mean, sd = nsb_entropy(counts=[1e19, 1e19])
    assert mean == pytest.approx(math.log(2), abs=1e-12) and sd == 0


def test_counts_past_float64_or_not_whole_are_refused_naming_counts() -> None:
    with pytest.raises(ValueError, match="counts: their total exceeds"):
        discrete_entropy(counts=[1e308, 1e308])
    with pytest.raises(ValueError, match="counts: expected whole numbers"):
        discrete_entropy(counts=[2**1100, 1])
    with pytest.raises(ValueError, match="counts: expected whole numbers"):
        discrete_entropy(counts=[1e19, 0.5])


def test_ordinary_counts_are_unchanged() -> None:
    assert float(discrete_entropy(counts=[3, 1], method="miller_madow")) == pytest.approx(
        -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)) + 1 / 8, abs=1e-12
    )
