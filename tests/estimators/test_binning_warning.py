"""Binning warns when its cells hold about one sample each."""

from __future__ import annotations

import warnings

import pytest
import torch

from iblearn.estimators import Binning


def test_warns_when_multidimensional_bins_hold_one_sample_each():
    gen = torch.Generator().manual_seed(0)
    y = torch.randint(0, 5, (500,), generator=gen)
    x = y[:, None].float() + torch.randn(500, 4, generator=gen)  # 30 ** 4 cells for 500 samples
    with pytest.warns(UserWarning, match=r"x occupies \d+ cells for N = 500 .*ksg"):
        Binning()(x, y)


def test_quiet_when_cells_are_well_filled_or_the_symbols_are_the_users():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(500, 1, generator=gen)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Binning(n_bins=10)(x, (x[:, 0] > 0).long())
        Binning()(torch.arange(500), (x[:, 0] > 0).long())  # sample indices: every sample its own symbol
