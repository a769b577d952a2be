"""The one inference core: its seeded draws, resampling schemes, standard error, bias-aware interval and
p-value, and the one result type that every estimate returns."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import iblearn.functional as ibf
from iblearn.estimators import KSG, GaussianMI
from iblearn.functional import inference

torch.set_num_threads(1)


def test_a_draw_depends_on_its_seed_stream_and_index_only():
    a = inference.rng(3, inference.RESAMPLE, 7).permutation(50)
    for _ in range(3):  # whatever was drawn before
        inference.rng(3, inference.RESAMPLE, 1).random(100)
    assert np.array_equal(a, inference.rng(3, inference.RESAMPLE, 7).permutation(50))
    assert not np.array_equal(a, inference.rng(3, inference.PERMUTATION, 7).permutation(50))


def test_each_scheme_draws_the_rows_it_promises():
    half = inference.resample_rows(101, "half", 0, 0)
    assert len(half) == 50 and len(set(half.tolist())) == 50
    boot = inference.resample_rows(101, "bootstrap", 0, 0)
    assert len(boot) == 101 and len(set(boot.tolist())) < 101
    blocks = inference.resample_rows(1000, "block", 0, 0)
    size = inference.block_length(1000)
    assert size == 10 and len(set(blocks.tolist())) == len(blocks) and 480 <= len(blocks) <= 520
    runs = np.split(blocks, np.flatnonzero(np.diff(blocks) != 1) + 1)
    assert all(len(r) % size == 0 for r in runs)  # whole blocks of successive rows


def test_the_half_sampling_standard_error_matches_the_spread_across_samples():
    # KSG on 1 x 1 Gaussians at N = 400: the jackknife's error against the sd over 40 independent draws.
    g = torch.Generator().manual_seed(0)
    values, errors = [], []
    for _ in range(40):
        x = torch.randn(400, 1, generator=g, dtype=torch.float64)
        y = 0.6 * x + 0.8 * torch.randn(400, 1, generator=g, dtype=torch.float64)
        values.append(float(ibf.ksg_mi(x, y)))
        on_rows = lambda r, x=x, y=y: float(ibf.ksg_mi(x[r], y[r]))  # noqa: E731
        errors.append(inference.resampled(on_rows, 400, 30, "half", 1).stderr)
    assert np.median(errors) == pytest.approx(np.std(values, ddof=1), rel=0.35)


def test_the_interval_follows_the_trend_with_n():
    (low, high), bias = inference.interval(1.0, 0.02, half=0.9, n_resamples=50)
    # Growing with N: low by up to 0.24 (a = 1/2); the interval reaches that far above the estimate.
    assert bias == pytest.approx(-0.1) and 0.95 < low < 1.0 and high > 1.24 + 1.9 * 0.02
    assert inference.bias_caveat(1.0, 0.02, 0.9, 50) is not None  # 0.24 > 2 standard errors
    assert (
        inference.bias_caveat(1.0, 0.2, 0.9, 50) is None
        and inference.bias_caveat(1.0, 0.02, None, 50) is None
    )
    (low, high), bias = inference.interval(1.0, 0.05, n_resamples=50)
    assert bias == 0 and low == pytest.approx(1 - (high - 1)) and high - 1 > 1.96 * 0.05
    assert inference.interval(-0.3, 0.05, floor=0.0)[0] == (0.0, 0.0)
    with pytest.raises(ValueError, match="confidence"):
        inference.interval(1.0, 0.1, confidence=1.5)


def test_the_p_value_is_never_zero():
    assert inference.p_value(5.0, [1.0, 2.0, 3.0]) == 0.25
    assert inference.p_value(-5.0, [1.0, -6.0, 3.0], two_sided=True) == 0.5


def test_every_estimate_is_the_one_type_with_an_interval_when_resampled():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(500, 2, generator=g, dtype=torch.float64)
    y = x + torch.randn(500, 2, generator=g, dtype=torch.float64)
    z = torch.randn(500, 1, generator=g, dtype=torch.float64)
    for est in (
        KSG()(x, y, n_resamples=10),
        GaussianMI()(x, y, n_resamples=10),
        KSG()(x, y, z=z, n_resamples=10),
    ):
        assert isinstance(est, ibf.Estimate) and est.confidence == 0.95
        assert est.interval[0] <= est.interval[1] and est.stderr > 0
    assert KSG()(x, y, n_resamples=10).stderr_method == "half-sampling jackknife"
    assert KSG()(x, y, z=z, n_resamples=10).measure == "cmi"
    tc = ibf.multivariate_estimate("total_correlation", torch.cat([x, y], 1), n_resamples=6)
    assert isinstance(tc, ibf.Estimate) and tc.method == "ksg" and tc.interval[0] >= 0
    assert str(tc).startswith("total_correlation = ") and "95% interval" in str(tc)


def test_transfer_entropy_has_its_estimate_with_a_blockwise_error():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1500, generator=g, dtype=torch.float64)
    y = torch.zeros(1500, dtype=torch.float64)
    y[1:] = 0.6 * x[:-1] + 0.8 * torch.randn(1499, generator=g, dtype=torch.float64)
    est = ibf.transfer_entropy_estimate(x, y, n_resamples=16, n_permutations=9)
    truth = -0.5 * math.log(1 - 0.36)  # I(y_t; x_{t-1} | y_{t-1}) = I(y_t; x_{t-1}) here
    assert est.interval[0] <= truth <= est.interval[1] and est.p_value == 0.1
    assert float(est) == pytest.approx(float(ibf.transfer_entropy(x, y)))


def test_transfer_entropy_takes_a_circular_shift_null():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(800, generator=g, dtype=torch.float64)
    y = torch.zeros(800, dtype=torch.float64)
    y[1:] = 0.6 * x[:-1] + 0.8 * torch.randn(799, generator=g, dtype=torch.float64)
    coupled = ibf.transfer_entropy_estimate(x, y, n_permutations=19, null="shift")
    assert coupled.p_value == 0.05 and "circularly shifted" in coupled.null
    independent = ibf.transfer_entropy_estimate(
        torch.randn(800, generator=g, dtype=torch.float64), y, n_permutations=19, null="shift"
    )
    assert independent.p_value > 0.05
    shifts = inference.circular_shifts(100, 50, 0, 10)
    assert shifts.min() >= 10 and shifts.max() <= 90
    with pytest.raises(ValueError, match="n_permutations: a series of 15 steps"):
        inference.circular_shifts(15, 5, 0, 10)
    with pytest.raises(ValueError, match="null: expected one of"):
        ibf.transfer_entropy_estimate(x, y, null="global")
