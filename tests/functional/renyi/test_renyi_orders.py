"""Matrix-based Renyi entropies at large orders (summed in log space, finite up to the limit
-log lambda_max) and the truncated spectrum's arguments and tiny matrices."""

from __future__ import annotations

import math

import pytest
import torch

from iblearn import functional as ibf
from iblearn.estimators import RenyiMI
from iblearn.functional.renyi import spectrum
from iblearn.functional.renyi.spectrum import truncated_entropy

torch.set_num_threads(1)


def _sample(n: int = 120, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _limit(x: torch.Tensor) -> float:
    """-log lambda_max of A = K / tr(K): S_alpha as alpha tends to infinity."""
    k = ibf.gram_matrix(x.double())
    return -math.log(float(torch.linalg.eigvalsh(k / torch.trace(k)).max()))


@pytest.mark.parametrize("spectrum", ["exact", "truncated"])
@pytest.mark.parametrize("alpha", [1500.0, 1e5])
def test_a_large_order_is_finite_and_near_its_limit(alpha, spectrum):
    x = _sample()
    value = float(ibf.renyi_entropy(x, alpha=alpha, spectrum=spectrum))
    assert math.isfinite(value)
    assert value == pytest.approx(
        float(ibf.renyi_entropy(x.double(), alpha=alpha, spectrum="exact")), abs=1e-4
    )
    assert value >= _limit(x) - 1e-4  # S_alpha falls toward -log lambda_max
    assert value == pytest.approx(_limit(x), abs=0.02)


def test_a_large_order_of_labels_is_the_min_entropy():
    labels = torch.tensor([0] * 6 + [1] * 3 + [2] * 3)
    assert float(ibf.renyi_entropy(labels, alpha=5000.0)) == pytest.approx(-math.log(0.5), abs=1e-3)


@pytest.mark.parametrize("spectrum", ["exact", "truncated"])
def test_a_large_order_has_a_finite_gradient(spectrum):
    x = _sample(dtype=torch.float64).requires_grad_()
    ibf.renyi_entropy(x, alpha=2000.0, spectrum=spectrum).backward()
    assert x.grad is not None and bool(torch.isfinite(x.grad).all())


def test_renyi_mi_at_a_large_order_is_finite_and_reliable():
    x = _sample(200)
    y = x + _sample(200, seed=1)
    est = RenyiMI(alpha=2000.0)(x, y, n_resamples=10)
    assert math.isfinite(float(est)) and est.reliable is not False
    assert all(math.isfinite(v) for v in est.interval)


@pytest.mark.parametrize(("n", "tol"), [(2, 1e-9), (3, 1e-9), (4, 1e-9), (8, 1e-9), (9, 0.01), (20, 0.01)])
def test_the_truncated_spectrum_of_a_tiny_matrix(n, tol):
    # up to OVERSAMPLE rows the block is the whole matrix; above, the estimate is within its tolerance
    for seed in range(20):
        x = _sample(n, seed, torch.float64)
        truncated = float(ibf.renyi_entropy(x, spectrum="truncated"))
        assert truncated == pytest.approx(float(ibf.renyi_entropy(x, spectrum="exact")), abs=tol)


def test_a_nearly_flat_spectrum_is_held_by_its_interval():
    for seed in range(10):
        g = torch.Generator().manual_seed(seed)
        q = torch.linalg.qr(torch.randn(300, 300, generator=g, dtype=torch.float64)).Q
        k = (q * (1 + 0.5 * torch.rand(300, generator=g, dtype=torch.float64))) @ q.T
        found = truncated_entropy((k + k.T) / 2, 2.5, max_rank=8)
        exact = float(ibf.matrix_entropy((k + k.T) / 2, 2.5, spectrum="exact"))
        assert float(found.lower) - 1e-9 <= exact <= float(found.upper) + 1e-9


def test_ritz_values_that_cannot_be_the_top_eigenvalues_give_only_the_trivial_bounds(monkeypatch):
    # A subspace spanned by the bottom eigenvectors: its Ritz values lie below the tail's mean.
    k = ibf.gram_matrix(_sample(300, 0, torch.float64))
    bottom = torch.linalg.eigh(k).eigenvectors[:, :8]
    monkeypatch.setattr(spectrum, "top_subspace", lambda a, rank, iterations=None, seed=0: bottom[:, :rank])
    found = spectrum.truncated_entropy(k, 1.01, max_rank=8)
    assert (float(found.lower), float(found.upper)) == (0.0, pytest.approx(math.log(300)))
    assert found.half_width > 0.01  # a caller takes the exact path


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 0.0}, "alpha: must be a positive finite number"),
        ({"alpha": -1.0}, "alpha: must be a positive finite number"),
        ({"alpha": math.nan}, "alpha: must be a positive finite number"),
        ({"alpha": math.inf}, "alpha: must be a positive finite number"),
        ({"alpha": True}, "alpha: must be a positive finite number"),
        ({"tol": 0.0}, "tol: must be a positive finite number"),
        ({"max_rank": -1}, "max_rank: expected a positive integer"),
        ({"max_rank": 0}, "max_rank: expected a positive integer"),
        ({"max_rank": 2.5}, "max_rank: expected a positive integer"),
        ({"seed": 1.5}, "seed: expected an integer seed"),
        ({"k": torch.ones(3, 4)}, r"k: expected a square \(n, n\) matrix"),
        ({"k": torch.eye(3, dtype=torch.long)}, "k: expected a floating-point tensor"),
        ({"k": torch.full((3, 3), math.nan)}, "k: contains NaN or Inf"),
        ({"k": -torch.eye(3)}, "k: its trace is not positive"),
    ],
)
def test_truncated_entropy_refuses_bad_arguments_by_name(kwargs, message):
    args = {"k": ibf.gram_matrix(_sample(20, 0, torch.float64)), "alpha": 1.01} | kwargs
    with pytest.raises(ValueError, match=message):
        truncated_entropy(**args)


@pytest.mark.parametrize("max_rank", [1, 3, 10**6])
def test_any_positive_max_rank_runs(max_rank):
    k = ibf.gram_matrix(_sample(30, 0, torch.float64))
    found = truncated_entropy(k, 2.5, max_rank=max_rank)
    exact = float(ibf.matrix_entropy(k, 2.5, spectrum="exact"))
    assert float(found.lower) - 1e-9 <= exact <= float(found.upper) + 1e-9
