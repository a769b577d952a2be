"""Binning's interval reads the plug-in's bias from its trend with N, as the kNN estimators' does."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from iblearn.estimators import Binning


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_interval_reaches_the_truth_below_the_plug_ins_upward_bias(seed):
    # 30 bins a variable and 1,000 rows: the plug-in reads about twice I = -log(1 - 0.36) / 2 = 0.223
    # (its bias is about the occupied cells over 2N); a bootstrap's interval, centred on the estimate,
    # lies wholly above the truth.
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(1000, 1, generator=gen, dtype=torch.float64)
    y = 0.6 * x + 0.8 * torch.randn(1000, 1, generator=gen, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the halves' cells are sparser than the sample's: no warning
        est = Binning()(x, y, n_resamples=20, seed=seed)
    truth = -0.5 * math.log(1 - 0.6**2)
    assert float(est) > truth + 0.1  # the plug-in's bias, which the interval must reach past
    assert est.interval[0] <= truth <= est.interval[1]
    assert est.bias is not None and est.bias > 0
