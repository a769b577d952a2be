"""Counts of bins: :func:`iblearn.functional.bin_values` and the quantized IB functional refuse a count
no sample could fill (its edges alone would not fit in memory) under the argument's own name."""

from __future__ import annotations

import pytest
import torch

from iblearn import functional as ibf
from iblearn.analysis import ib_quantized
from iblearn.estimators.nonparametric import Binning
from tests.conftest import gen

torch.set_num_threads(1)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_a_count_of_bins_beyond_any_sample_is_refused(strategy):
    x = torch.randn(50, 2, generator=gen(0))
    with pytest.raises(ValueError, match=r"^n_bins: at most 1,000,000 bins"):
        ibf.bin_values(x, 10**12, strategy=strategy)
    assert ibf.bin_values(x, 10**6, strategy=strategy).shape == (50, 2)
    with pytest.raises(ValueError, match=r"^n_bins: at most"):
        Binning(10**7)


def test_the_quantized_functional_names_each_count():
    t, y = torch.randn(50, 2, generator=gen(1)), torch.arange(50) % 2
    with pytest.raises(ValueError, match=r"^n_bins_y: "):
        ib_quantized(t, y, n_bins_y=0)
    with pytest.raises(ValueError, match=r"^n_bins_y: at most"):
        ib_quantized(t, y, n_bins_y=10**12)
    with pytest.raises(ValueError, match=r"^n_bins: at most"):
        ib_quantized(t, y, n_bins=10**12)
