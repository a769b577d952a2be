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
    # Growing with N: low by up to 0.24 (a = 1/2), less the mean of 50 halves' own noise (0.02 x
    # sqrt(2 / 50)); the interval reaches that far above the estimate.
    reach = (1 + math.sqrt(2)) * (0.1 - 0.02 * math.sqrt(2 / 50))
    assert (
        bias == pytest.approx(-0.1)
        and 0.95 < low < 1.0
        and high == pytest.approx(1 + reach + 2.0595 * 0.02, abs=1e-4)
    )
    # The verdict reads the same reach: 0.24 nats, beyond 2 standard errors of 0.02 (not of 0.2).
    assert inference.bias_reach(1.0, 0.02, 0.9, 50) == pytest.approx(reach)
    assert abs(inference.bias_reach(1.0, 0.2, 0.9, 50)) < 2 * 0.2
    (low, high), bias = inference.interval(1.0, 0.05, n_resamples=50)
    assert bias == 0 and low == pytest.approx(1 - (high - 1)) and high - 1 > 1.96 * 0.05
    # Wholly below the floor: [0, its half-width], not the point [0, 0].
    assert inference.interval(-0.3, 0.05, floor=0.0)[0] == pytest.approx((0.0, 1.96 * 0.05), abs=1e-3)
    with pytest.raises(ValueError, match="confidence"):
        inference.interval(1.0, 0.1, confidence=1.5)


def test_halves_come_in_complementary_pairs_read_within_each_pair():
    for scheme, n in (("half", 100), ("block", 1000)):
        a, b = (inference.resample_rows(n, scheme, 4, i) for i in (6, 7))  # split 3's two halves
        assert not set(a.tolist()) & set(b.tolist()) and len(a) == len(b)
        c = inference.resample_rows(n, scheme, 4, 8)  # another split
        assert set(c.tolist()) != set(a.tolist()) and set(c.tolist()) != set(b.tolist())
    # Var(theta_N) = mean over the splits of (h_1 - h_2)^2 / 4, one degree of freedom a split.
    res = inference.summarize([1.0, 1.2, 0.9, 1.3, 5.0], 100, "half")
    assert res.stderr == pytest.approx(math.sqrt((0.2**2 + 0.4**2) / 8)) and res.dof == 2
    assert res.half == pytest.approx(9.4 / 5)
    boot = inference.summarize([1.0, 1.2, 0.9], 100, "bootstrap")
    assert boot.stderr == pytest.approx(np.std([1.0, 1.2, 0.9], ddof=1)) and boot.dof == 2
    # The quantile of Student's t with one degree of freedom a pair (4 halves: 2), R - 1 for the bootstrap.
    (low, high), _ = inference.interval(0.0, 1.0, half=0.0, n_resamples=4)
    assert high == pytest.approx(4.303, abs=1e-3) and low == pytest.approx(-high)
    assert inference.interval(0.0, 1.0, n_resamples=4)[0][1] == pytest.approx(3.182, abs=1e-3)


def test_the_standard_error_from_halves_is_unbiased_for_noise_that_averaging_over_halves_removes():
    # An estimate whose error is mostly the noise of its own rows (as a kNN estimate's local counts
    # are): a mean plus noise of variance 4 / rows, drawn from the rows it is given; its sd at N is
    # sqrt(5 / N). Halves drawn independently of each other read sqrt(9 / 5) = 1.34 times more.
    n = 400

    def estimate(x: np.ndarray, rows: np.ndarray) -> float:
        noise = np.random.default_rng(np.sort(rows).tolist()).standard_normal()
        return float(x[rows].mean() + 2 * noise / math.sqrt(len(rows)))

    errors = []
    for seed in range(40):
        x = np.random.default_rng([7, seed]).standard_normal(n)
        errors.append(inference.resampled(lambda r, x=x: estimate(x, r), n, 40, "half", seed).stderr)
    assert np.median(errors) == pytest.approx(math.sqrt(5 / n), rel=0.15)


def test_a_trend_within_the_noise_of_the_halves_mean_is_not_read_as_bias():
    # 8 halves: their mean is noisy by up to 0.1 x sqrt(2 / 8) = 0.05; a trend of 0.04 is within it.
    (low, high), bias = inference.interval(1.0, 0.1, half=0.96, n_resamples=8)
    assert bias == pytest.approx(-0.04) and high - 1.0 == pytest.approx(1.0 - low)
    (low, high), _ = inference.interval(1.0, 0.1, half=0.9, n_resamples=8)  # beyond it: the excess
    assert high - 1.0 - (1.0 - low) == pytest.approx((1 + math.sqrt(2)) * 0.05)


@pytest.mark.parametrize(("hits", "n_permutations", "alpha"), [(4, 99, 0.05), (1, 39, 0.05), (9, 999, 0.01)])
def test_a_p_value_at_alpha_reaches_the_level_only_where_alpha_rejects(hits, n_permutations, alpha):
    assert inference.count_p_value(hits, n_permutations) == alpha
    assert inference.can_reach(hits, n_permutations, alpha, at_alpha=True)
    assert not inference.can_reach(hits, n_permutations, alpha, at_alpha=False)
    for at_alpha in (True, False):  # one hit more can reach neither; one fewer, both
        assert not inference.can_reach(hits + 1, n_permutations, alpha, at_alpha=at_alpha)
        assert inference.can_reach(hits - 1, n_permutations, alpha, at_alpha=at_alpha)


def test_the_p_value_is_never_zero():
    assert inference.p_value(5.0, [1.0, 2.0, 3.0]) == 0.25
    assert inference.p_value(-5.0, [1.0, -6.0, 3.0], two_sided=True) == 0.5


def test_an_undefined_statistic_has_an_undefined_p_value():
    assert math.isnan(inference.p_value(float("nan"), [1.0, 2.0, 3.0]))
    assert math.isnan(inference.p_value(float("nan"), [1.0], two_sided=True))


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
    assert float(est) == pytest.approx(float(ibf.transfer_entropy(x, y, k=3)))


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


@pytest.mark.parametrize(
    ("low", "high", "floor", "ceiling", "held"),
    [
        (-0.3, -0.1, 0.0, math.inf, (0.0, 0.1)),  # wholly below: [floor, half-width]
        (-0.3, 0.05, 0.0, math.inf, (0.0, 0.175)),  # a top below the half-width rises to it
        (-0.1, 0.3, 0.0, math.inf, (0.0, 0.3)),  # a top clear of the floor stays
        (0.2, 0.4, 0.0, math.inf, (0.2, 0.4)),  # within the bounds: unchanged
        (-0.3, -0.1, 0.0, 0.05, (0.0, 0.05)),  # the ceiling still caps it
        (-0.3, -0.1, -math.inf, math.inf, (-0.3, -0.1)),  # no floor: nothing moves
        (0.5, 2.0, 0.0, 1.0, (0.5, 1.0)),
    ],
)
def test_clipped_keeps_the_interval_above_its_floor_with_its_width(low, high, floor, ceiling, held):
    got = inference.clipped(low, high, floor, ceiling)
    assert got == pytest.approx(held)
    assert got[0] <= got[1]
    # Only the top moves, and only up: a truth the interval held within the bounds it still holds.
    for truth in np.linspace(low, high, 7):
        assert got[0] <= truth <= got[1] or not floor <= truth <= ceiling


def test_an_estimate_below_zero_gets_an_interval_from_zero_to_above_it_that_covers_zero():
    # Independent rows, few of them: KSG reads below 0 on about half the seeds.
    below = 0
    for seed in range(20):
        g = torch.Generator().manual_seed(seed)
        x, y = torch.randn(60, 2, generator=g), torch.randn(60, 1, generator=g)
        est = KSG()(x, y, n_resamples=20)
        low, high = est.interval
        below += float(est) < 0
        assert low == 0.0 and high > 0.0  # covers the truth 0, without claiming it exactly
        if float(est) < 0:  # at least the interval's half-width: its top says how precise it is
            assert high >= 1.9 * est.stderr
    assert below >= 5
