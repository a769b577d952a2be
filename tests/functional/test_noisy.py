"""Noise-regularized MI: paper 002's eq. (5) for a linear layer, and the pairwise-distance bounds."""

from __future__ import annotations

import math

import pytest
import torch

from iblearn.functional import linear_gaussian_noisy_mi, noisy_mi_bounds


def test_eq5_by_hand_and_its_weight_decay_reading():
    w = torch.tensor([[1.0, 2.0], [0.0, 1.0]])
    cov = torch.tensor([[2.0, 0.5], [0.5, 1.0]])
    s = 0.5
    m = w @ cov @ w.T + s**2 * torch.eye(2)
    expected = 0.5 * math.log(float(torch.linalg.det(m))) - 0.5 * math.log(s**4)
    assert float(linear_gaussian_noisy_mi(w, cov, s)) == pytest.approx(expected, rel=1e-9)
    values = [float(linear_gaussian_noisy_mi(c * w, cov, s)) for c in (2.0, 1.0, 0.5, 0.0)]
    assert values == sorted(values, reverse=True) and values[-1] == pytest.approx(0.0, abs=1e-12)


def test_pairwise_bounds_bracket_the_closed_form_for_a_linear_gaussian_layer():
    # X uniform over N Gaussian samples approaches continuous Gaussian X when the noise blurs the
    # sample spacing; here N = 3000 in 2-D with noise std 0.5.
    g = torch.Generator().manual_seed(0)
    w = torch.tensor([[1.0, 0.5], [0.0, 1.5]], dtype=torch.float64)
    x = torch.randn(3000, 2, generator=g, dtype=torch.float64)
    lower, upper = noisy_mi_bounds(x @ w.T, 0.5)
    truth = float(linear_gaussian_noisy_mi(w, torch.eye(2), 0.5))
    assert float(lower) - 0.05 <= truth <= float(upper) + 0.05
    assert float(lower) <= float(upper)


def test_bounds_lie_in_zero_to_log_n_and_fall_with_the_noise():
    t = torch.randn(200, 3, generator=torch.Generator().manual_seed(1))
    previous = math.inf
    for std in (0.01, 0.1, 1.0, 10.0):
        lo, hi = noisy_mi_bounds(t, std)
        assert 0 <= float(lo) <= float(hi) <= math.log(200) + 1e-6
        assert float(hi) <= previous
        previous = float(hi)


def test_bounds_are_differentiable():
    t = torch.randn(20, 2, requires_grad=True)
    noisy_mi_bounds(t, 0.3)[1].backward()
    assert t.grad is not None and bool(torch.isfinite(t.grad).all())


def test_bounds_ignore_an_offset_and_survive_float16():
    """Adding one vector to every row changes no distance; expanding |l_i - l_j|^2 around a large
    offset in float32 would cancel them, and |l|^2 of float16 activations overflows to inf - inf."""
    t = torch.rand(200, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    reference = torch.stack(noisy_mi_bounds(t, 1.5))
    torch.testing.assert_close(
        torch.stack(noisy_mi_bounds((t + 1e3).float(), 1.5)).double(), reference, atol=1e-3, rtol=0
    )
    h = (10 * t).half()
    torch.testing.assert_close(
        torch.stack(noisy_mi_bounds(h, 1.0)), torch.stack(noisy_mi_bounds(h.float(), 1.0))
    )


def test_eq5_builds_the_noise_on_the_weight_device():
    # With another default device, a torch.eye left on it would not meet the weight's device.
    with torch.device("meta"):
        value = linear_gaussian_noisy_mi(torch.eye(2, device="cpu"), torch.eye(2, device="cpu"), 1.0)
    assert float(value) == pytest.approx(math.log(2))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: noisy_mi_bounds(torch.randn(5, 2), 0.0), "noise_std: must be a positive"),
        (
            lambda: linear_gaussian_noisy_mi(torch.randn(2, 3), torch.eye(2), 1.0),
            r"cov_x: expected shape \(3, 3\)",
        ),
        (lambda: linear_gaussian_noisy_mi(torch.randn(3), torch.eye(3), 1.0), "weight: expected a matrix"),
        (
            lambda: linear_gaussian_noisy_mi(torch.eye(2), -0.5 * torch.eye(2), 1.0),
            "cov_x: is not positive definite",
        ),
        (
            lambda: linear_gaussian_noisy_mi(torch.eye(2), torch.tensor([[1.0, 0.5], [0.0, 1.0]]), 1.0),
            "cov_x: is not symmetric",
        ),
        (
            lambda: linear_gaussian_noisy_mi(torch.eye(2), torch.ones(2, 3), 1.0),
            "cov_x: expected a square matrix",
        ),
        (
            lambda: linear_gaussian_noisy_mi(torch.tensor([[math.nan, 1.0]]), torch.eye(2), 1.0),
            "weight: contains NaN",
        ),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e200, 1e300])
def test_the_bounds_depend_on_distances_over_the_noise_alone_over_the_whole_float_range(scale):
    # The squared noise overflowed (OverflowError at 1e200) or vanished (NaN bounds at 1e-200).
    t = torch.randn(100, 3, generator=torch.Generator().manual_seed(60), dtype=torch.float64)
    reference = noisy_mi_bounds(t, 0.5)
    for got, want in zip(noisy_mi_bounds(t * scale, 0.5 * scale), reference, strict=True):
        assert float(got) == pytest.approx(float(want), rel=1e-9)
    lone = noisy_mi_bounds(t * scale, 1e-6 * scale)  # noise far below the spacing: log N
    assert [float(v) for v in lone] == pytest.approx([math.log(100)] * 2)
    w = torch.tensor([[2.0, 0.0]], dtype=torch.float64)
    assert float(linear_gaussian_noisy_mi(w * scale, torch.eye(2), scale)) == pytest.approx(0.5 * math.log(5))
