"""Tied data that the jitter must separate (a binary column at N = 50,000), and KSG's variant refused
at the door unless it is the integer 1 or 2."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from iblearn import functional as ibf
from iblearn.estimators import KSG

torch.set_num_threads(1)


def test_a_binary_column_against_a_normal_one_runs_at_50000_rows():
    # On these rows the third round of jitter left two rows tied, and nothing checked after it.
    binary = (np.random.default_rng(7).random(50_000) < 0.5).astype(float)
    normal = np.random.default_rng(107).normal(size=50_000)
    assert math.isfinite(float(ibf.ksg_mi(binary, normal)))


@pytest.mark.parametrize("variant", [True, False, 2.0, 1.0, "2", None, 3, 0])
def test_a_variant_other_than_the_integers_1_and_2_is_refused(variant):
    x = torch.randn(40, 1, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="variant: expected 1 or 2"):
        KSG(variant=variant)
    with pytest.raises(ValueError, match="variant: expected 1 or 2"):
        ibf.ksg_mi(x, x + 1.0, variant=variant)
    with pytest.raises(ValueError, match="variant: expected 1 or 2"):
        ibf.pairwise_mi(torch.cat([x, x**3], 1), variant=variant)


def test_a_numpy_integer_variant_is_taken():
    assert KSG(variant=np.int64(2)).variant == 2
    assert type(KSG(variant=np.int64(2)).variant) is int
