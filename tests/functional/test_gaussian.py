"""Gaussian MI: the closed form (ground truth of the Gaussian tasks) and the CCA estimate."""

from __future__ import annotations

import math

import pytest
import torch

from iblearn.data import dense_gaussian, high_mi, sparse_gaussian
from iblearn.functional import (
    canonical_correlations,
    gaussian_entropy_from_cov,
    gaussian_mi,
    gaussian_mi_from_cov,
)
from tests.conftest import gen


def test_closed_forms_match_hand_computed_values():
    assert float(gaussian_mi_from_cov(torch.tensor([[1.0, 0.75], [0.75, 1.0]]), 1)) == pytest.approx(
        -0.5 * math.log(1 - 0.75**2)
    )

    # Equicorrelation determinant: det = (1 - c)^(n - 1) (1 + (n - 1) c).
    def logdet(n: int, c: float) -> float:
        return (n - 1) * math.log(1 - c) + math.log(1 + (n - 1) * c)

    for d in (5, 25):
        assert dense_gaussian(d).mutual_information == pytest.approx(
            0.5 * (2 * logdet(d, 0.5) - logdet(2 * d, 0.5))
        )
    assert sparse_gaussian(25).mutual_information == pytest.approx(-math.log(1 - 0.64), abs=1e-12)
    assert float(gaussian_entropy_from_cov(torch.eye(3))) == pytest.approx(
        1.5 * math.log(2 * math.pi * math.e)
    )


def test_estimate_reaches_the_truth_and_is_invariant_under_invertible_linear_maps():
    task = dense_gaussian(5)
    x, y = task.sample(20_000, seed=0)
    v = float(gaussian_mi(x, y))
    assert v == pytest.approx(task.mutual_information, abs=0.02)  # sd at N=20000: about 0.004
    a = torch.randn(5, 5, generator=gen(), dtype=torch.float64)
    assert float(gaussian_mi(x @ a + 3.0, -2.0 * y)) == pytest.approx(v, abs=1e-9)


def test_rank_deficient_variables_and_constant_columns():
    task = high_mi(4.0, 100)
    x, y = task.sample(3000, seed=0)
    assert float(gaussian_mi(x, y)) == pytest.approx(4.0, abs=0.1)
    xc = torch.cat([x, torch.ones(3000, 1, dtype=torch.float64)], dim=1)
    assert float(gaussian_mi(xc, y)) == pytest.approx(float(gaussian_mi(x, y)), abs=1e-9)


@pytest.mark.parametrize("dims", [(1, 1), (10, 10), (20, 5)])
def test_bias_correction_removes_the_plug_in_bias_in_expectation(dims):
    # Plug-in bias about dx dy / (2 N): 1.0 nats at 20 x 5 and N = 50, 1.0 at 10 x 10 and N = 50.
    dx, dy = dims
    n, reps = 50, 200
    task = dense_gaussian(dx) if dx == dy else sparse_gaussian(dx)
    corrected, plug_in = [], []
    for seed in range(reps):
        x, y = task.sample(n, seed=seed) if dx == dy else _draw_unequal(dx, dy, n, seed)
        corrected.append(float(gaussian_mi(x, y, bias_correction=True)))
        plug_in.append(float(gaussian_mi(x, y)))
    truth = task.mutual_information if dx == dy else _UNEQUAL_TRUTH
    c, p = torch.tensor(corrected), torch.tensor(plug_in)
    se = float(c.std()) / reps**0.5
    assert abs(float(c.mean()) - truth) < 4 * se  # unbiased, to the Monte Carlo error
    if dx * dy >= 50:
        assert float(p.mean()) - truth > 0.5 * dx * dy / (2 * n)  # and the plug-in is not


_UNEQUAL_TRUTH = -0.5 * math.log(1 - 0.8**2) * 3  # three pairs correlated 0.8, the rest independent


def _draw_unequal(dx: int, dy: int, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dx, generator=g, dtype=torch.float64)
    y = torch.randn(n, dy, generator=g, dtype=torch.float64)
    y[:, :3] = 0.8 * x[:, :3] + 0.6 * y[:, :3]
    return x, y


def test_bias_correction_is_the_expected_log_determinants_digamma_sum():
    # Wishart: E log det S = log det Sigma + sum_i psi((N - i) / 2) + d log(2 / (N - 1)); the MI's
    # correction is what remains of those sums over x, y and (x, y), at the effective dimensions.
    x = torch.randn(300, 3, generator=gen(), dtype=torch.float64)
    y = x[:, :2] @ torch.randn(2, 4, generator=gen(1), dtype=torch.float64)  # rank 2 in 4 columns
    y = y + torch.randn(300, 4, generator=gen(2), dtype=torch.float64)

    def psi_sum(d: int) -> float:
        half = torch.arange(300 - 1, 300 - d - 1, -1, dtype=torch.float64) / 2  # (N - i) / 2, i = 1..d
        return float(torch.special.digamma(half).sum())

    expected = 0.5 * (psi_sum(3 + 4) - psi_sum(3) - psi_sum(4))
    shift = float(gaussian_mi(x, y, bias_correction=True) - gaussian_mi(x, y))
    assert shift == pytest.approx(expected, rel=1e-12) and shift < 0
    flat = torch.cat([y[:, :2], y[:, :2] @ torch.randn(2, 2, generator=gen(3), dtype=torch.float64)], 1)
    low = float(gaussian_mi(x, flat, bias_correction=True) - gaussian_mi(x, flat))
    assert low == pytest.approx(0.5 * (psi_sum(3 + 2) - psi_sum(3) - psi_sum(2)), rel=1e-12)


def test_deterministic_relation_is_infinite_and_canonical_correlations_are_sorted():
    x = torch.randn(100, 2, generator=gen(), dtype=torch.float64)
    assert math.isinf(float(gaussian_mi(x, 2 * x)))
    rho = canonical_correlations(x, x[:, :1] + torch.randn(100, 1, generator=gen(1), dtype=torch.float64))
    assert rho.shape == (1,) and 0 <= float(rho[0]) <= 1


def test_the_canonical_basis_builds_its_tensors_on_the_datas_device():
    """Under another default device (as a GPU's data would be beside the CPU's factories), a tensor made
    without ``device=`` lands elsewhere than the data and the arithmetic refuses to mix them."""
    from iblearn.functional.canonical import canonical_basis

    x = torch.randn(50, 2, generator=gen(), dtype=torch.float64)
    y = x + torch.randn(50, 2, generator=gen(1), dtype=torch.float64)
    expected = canonical_basis(x, y)
    with torch.device("meta"):
        found = canonical_basis(x, y)
    assert all(torch.equal(a, b) for a, b in zip(found, expected, strict=True))


def test_the_canonical_basis_does_not_depend_on_the_signs_the_svd_picks(monkeypatch):
    """LAPACK and cuSOLVER give singular vectors of other signs (each pair's, together): the basis is the
    same whichever they pick, so a flow trained from it trains alike on any device."""
    from iblearn.functional.canonical import canonical_basis

    x = torch.randn(200, 3, generator=gen(), dtype=torch.float64)
    y = x[:, :2] + torch.randn(200, 2, generator=gen(1), dtype=torch.float64)
    expected = canonical_basis(x, y)
    svd = torch.linalg.svd

    def flipped(m):
        u, s, vh = svd(m)
        signs = torch.tensor([-1.0, 1.0], dtype=m.dtype)  # the first pair's vectors, negated
        return u * torch.cat([signs, -torch.ones(len(u) - 2, dtype=m.dtype)]), s, vh * signs[:, None]

    monkeypatch.setattr(torch.linalg, "svd", flipped)
    found = canonical_basis(x, y)
    assert all(torch.equal(a, b) for a, b in zip(found, expected, strict=True))


def test_the_moment_matched_gaussian_is_not_a_lower_bound():
    # X = B + n1, Y = B + n2 for a fair coin B = +-1: X -> B -> Y, so I(X; Y) <= H(B) = log 2, while the
    # correlation of 0.99 gives the moment-matched Gaussian about 2 nats.
    g = gen()
    b = torch.randint(0, 2, (5000, 1), generator=g, dtype=torch.float64) * 2 - 1
    x = b + 0.1 * torch.randn(5000, 1, generator=g, dtype=torch.float64)
    y = b + 0.1 * torch.randn(5000, 1, generator=g, dtype=torch.float64)
    assert float(gaussian_mi(x, y)) > 1.5 > math.log(2)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: gaussian_mi_from_cov(torch.eye(3), 0), "dim_x: expected a positive integer"),
        (lambda: gaussian_mi_from_cov(torch.eye(3), 3), "dim_x: must be between 1 and 2"),
        (lambda: gaussian_mi_from_cov(torch.eye(3), 1.5), "dim_x: expected a positive integer, got 1.5"),
        (
            lambda: gaussian_mi_from_cov(torch.tensor([[1.0, 2.0], [2.0, 1.0]]), 1),
            "cov: is not positive definite",
        ),
        (lambda: gaussian_mi_from_cov(torch.tensor([[1.0, 0.1], [0.2, 1.0]]), 1), "cov: is not symmetric"),
        (lambda: gaussian_mi(torch.randn(10, 6), torch.randn(10, 6)), "need more than that many samples"),
        (lambda: gaussian_mi(torch.ones(10, 2), torch.randn(10, 1)), "x: is constant"),
        (lambda: gaussian_mi(torch.randn(10, 2), torch.randn(10, 1), rtol=-1.0), "rtol: must be a number in"),
        (
            lambda: gaussian_mi(torch.randn(10, 2), torch.randn(10, 1), bias_correction=1),
            "bias_correction: expected True or False",
        ),
        (lambda: gaussian_entropy_from_cov(-torch.eye(2)), "cov: is not positive definite"),
        (lambda: gaussian_entropy_from_cov(torch.tensor([[1.0, 5.0], [0.0, 1.0]])), "cov: is not symmetric"),
        (
            lambda: gaussian_entropy_from_cov(torch.tensor([[1.0, math.nan], [math.nan, 1.0]])),
            "cov: contains NaN",
        ),
        (lambda: gaussian_entropy_from_cov(torch.ones(2, 3)), "cov: expected a square matrix"),
        (lambda: gaussian_mi_from_cov(torch.ones(3), 1), "cov: expected a square matrix"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e200, 1e300])
def test_the_cca_estimate_does_not_depend_on_the_scale_over_the_whole_float_range(scale):
    # Covariances of the raw values overflowed (or vanished): a false "is constant" at 1e200 and 1e-200.
    x = torch.randn(500, 2, generator=gen(40), dtype=torch.float64)
    y = x[:, :1] + torch.randn(500, 1, generator=gen(41), dtype=torch.float64)
    assert float(gaussian_mi(x * scale, y * scale)) == pytest.approx(float(gaussian_mi(x, y)), rel=1e-9)


@pytest.mark.parametrize("value", [1 / 3, 0.1, 0.7])
def test_a_constant_variable_is_found_whatever_its_value(value):
    # Its mean rounds off 0.1, and the deviations of 1e-17 were whitened into a column of ones.
    x = torch.randn(200, 1, generator=gen(42), dtype=torch.float64)
    with pytest.raises(ValueError, match="y: is constant"):
        gaussian_mi(x, torch.full((200, 2), value, dtype=torch.float64))


def test_gaussian_mi_reads_a_linear_relation_as_infinite_whatever_the_round_off():
    # About one linear map in six left a canonical correlation a round-off below 1 (16 to 80 nats).
    g = torch.Generator().manual_seed(1)
    for _ in range(60):
        d, n = int(torch.randint(1, 6, (1,), generator=g)), int(torch.randint(20, 3000, (1,), generator=g))
        x = torch.randn(n, d, generator=g, dtype=torch.float64) * 10 ** float(3 * torch.randn(1, generator=g))
        y = x @ torch.randn(d, d, generator=g, dtype=torch.float64) + 3.3
        assert math.isinf(float(gaussian_mi(x, y)))
