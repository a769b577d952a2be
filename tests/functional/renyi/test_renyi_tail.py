"""The exact path's reading of the eigenvalues under its round-off floor: a geometric tail with the
mass they carry, so that a float32 entropy (and its gradient) agrees with float64, and none where the
mass is round-off (a point mass, a class kernel, a low-rank matrix)."""

from __future__ import annotations

import pytest
import torch

from iblearn.functional import gram_matrix, matrix_entropy
from tests.conftest import gen


@pytest.fixture(scope="module")
def wide_gram() -> torch.Tensor:
    # 20 dimensions: a slowly decaying spectrum, 0.16% of its trace under float32's floor at 2,048 rows.
    return gram_matrix(torch.randn(2048, 20, generator=gen(), dtype=torch.float64))


@pytest.mark.parametrize(("alpha", "within"), [(1.01, 1e-3), (0.5, 1e-2), (3.0, 1e-4)])
def test_float32_entropy_of_a_large_gram_matrix_agrees_with_float64(wide_gram, alpha, within):
    # Dropping the floor's eigenvalues and renormalizing the rest read 0.017 nats low at alpha = 1.01,
    # 0.21 at alpha = 0.5 and 0.002 at alpha = 3 on this matrix.
    exact = float(matrix_entropy(wide_gram, alpha, spectrum="exact"))
    single = float(matrix_entropy(wide_gram.float(), alpha, spectrum="exact"))
    assert single == pytest.approx(exact, abs=within)


@pytest.mark.parametrize("alpha", [1.01, 0.5])
def test_float32_gradient_agrees_with_float64(alpha):
    # Dropped, the tail's eigenvalues had no gradient: 28% (alpha = 1.01) and 51% (alpha = 0.5) of the
    # float64 gradient's norm off on this matrix; with the tail, 0.5% and 5%.
    k64 = gram_matrix(torch.randn(600, 20, generator=gen(), dtype=torch.float64)).requires_grad_()
    (g64,) = torch.autograd.grad(matrix_entropy(k64, alpha, spectrum="exact"), k64)
    k32 = k64.detach().float().requires_grad_()
    (g32,) = torch.autograd.grad(matrix_entropy(k32, alpha, spectrum="exact"), k32)
    assert torch.isfinite(g32).all()
    assert float((g32.double() - g64).norm() / g64.norm()) < 0.1


def _low_rank(n: int) -> dict[str, torch.Tensor]:
    g = gen()
    z = torch.randn(n, 3, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 5, (n,), generator=g)
    return {
        "ones": torch.ones(n, n, dtype=torch.float64),
        "linear rank 3": z @ z.T,
        "five classes": (labels[:, None] == labels[None, :]).double(),
    }


@pytest.mark.parametrize("n", [40, 500])
@pytest.mark.parametrize("alpha", [0.5, 1.01, 3.0])
def test_round_off_under_the_floor_is_no_tail(n, alpha):
    # A low-rank matrix's float32 eigenvalues under the floor sum to round-off, not to a tail: at
    # alpha = 0.5 a tail of that mass would add about 1e-3 nats.
    for name, k in _low_rank(n).items():
        exact = float(matrix_entropy(k, alpha, spectrum="exact"))
        assert float(matrix_entropy(k.float(), alpha, spectrum="exact")) == pytest.approx(exact, abs=2e-5), (
            name
        )


def test_the_tail_keeps_the_spectrum_a_distribution():
    # Whatever the tail's ratio, the entropy stays within [0, log N], and a flat spectrum's is log N.
    k = gram_matrix(torch.randn(300, 20, generator=gen()))
    for alpha in (0.5, 1.0, 1.01, 3.0):
        h = float(matrix_entropy(k, alpha, spectrum="exact"))
        assert 0 <= h <= torch.log(torch.tensor(300.0)).item()
    assert float(matrix_entropy(torch.eye(64), 0.5)) == pytest.approx(float(torch.log(torch.tensor(64.0))))
