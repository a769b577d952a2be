"""The 12-bit task: every pattern once, and a label that is a function of it carrying exactly one bit."""

from __future__ import annotations

import math

import pytest
import torch

import iblearn.functional as ibf
from iblearn.data.bits import twelve_bit_task


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_every_pattern_once_and_the_label_carries_log_2(seed):
    x, y = twelve_bit_task(seed)
    assert x.shape == (4096, 12) and set(x.unique().tolist()) == {-1.0, 1.0}
    assert len(x.unique(dim=0)) == 4096  # uniform X: H(X) = 12 bits
    patterns = ((x > 0).long() << torch.arange(12)).sum(1)  # each row's index, as an integer symbol
    assert float(ibf.discrete_mi(patterns, y)) == pytest.approx(math.log(2), abs=1e-12)


def test_the_seed_draws_the_rule():
    assert torch.equal(twelve_bit_task(3)[1], twelve_bit_task(3)[1])
    assert not torch.equal(twelve_bit_task(0)[1], twelve_bit_task(1)[1])
