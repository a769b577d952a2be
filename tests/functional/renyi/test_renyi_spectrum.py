"""The truncated spectrum of the matrix-based Renyi entropies (iblearn.functional.renyi.spectrum): its
interval holds the exact entropy, its estimate and gradient follow the exact path's, a heavy tail falls
back."""

from __future__ import annotations

import pytest
import torch

from iblearn.functional.renyi import entropy as renyi
from iblearn.functional.renyi.entropy import _matrix_entropy, matrix_entropy, renyi_entropy, renyi_mi
from iblearn.functional.renyi.gram import gram_matrix, joint_gram
from iblearn.functional.renyi.spectrum import truncated_entropy

torch.set_num_threads(1)


def _sample(kind: str, n: int, d: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if kind == "uniform":
        return torch.rand(n, d, generator=g, dtype=torch.float64)
    if kind == "mixture":  # three clusters
        x = torch.randn(n, d, generator=g, dtype=torch.float64)
        return x + 3 * torch.randint(0, 3, (n, 1), generator=g)
    if kind == "exponential":
        return torch.empty(n, d, dtype=torch.float64).exponential_(generator=g)
    return torch.randn(n, d, generator=g, dtype=torch.float64)


def _kernels(n: int = 600) -> dict[str, torch.Tensor]:
    x = _sample("gaussian", n, 10)
    y = x[:, :3] + _sample("gaussian", n, 3, seed=1)
    kx, ky = gram_matrix(x), gram_matrix(y)
    return {
        "gaussian10": kx,
        "gaussian3": ky,
        "joint": joint_gram(kx, ky),
        "gaussian1": gram_matrix(_sample("gaussian", n, 1)),
        "uniform2": gram_matrix(_sample("uniform", n, 2)),
        "mixture5": gram_matrix(_sample("mixture", n, 5)),
        "exponential20": gram_matrix(_sample("exponential", n, 20)),
    }


KERNELS = _kernels(800)


@pytest.mark.parametrize("name", sorted(KERNELS))
@pytest.mark.parametrize("max_rank", [32, None])
def test_interval_holds_the_exact_entropy(name: str, max_rank: int | None) -> None:
    k = KERNELS[name]
    exact = float(_matrix_entropy(k, renyi.DEFAULT_ALPHA))
    found = truncated_entropy(k, renyi.DEFAULT_ALPHA, max_rank=max_rank)
    lower, upper, value = float(found.lower), float(found.upper), float(found.value)
    assert lower - 1e-9 <= exact <= upper + 1e-9
    assert abs(value - exact) <= found.half_width + 1e-9
    # 20 dimensions, and the joint's 13, need more than N / 4 eigenpairs at this N.
    if max_rank is None and name not in ("exponential20", "joint"):
        assert found.half_width <= 0.01
        assert abs(value - exact) < 0.005


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.01, 1.5, 3.0])
def test_interval_holds_for_other_orders(alpha: float) -> None:
    k = KERNELS["joint"]
    exact = float(_matrix_entropy(k, alpha))
    found = truncated_entropy(k, alpha, max_rank=64)
    if alpha < 2:  # a rank this low leaves a tail to bound (at alpha = 3 its cube is negligible)
        assert found.half_width > 1e-3
    assert float(found.lower) - 1e-9 <= exact <= float(found.upper) + 1e-9


def test_truncated_mi_and_gradient_follow_the_exact_path() -> None:
    x = _sample("gaussian", 500, 2)
    y = x[:, :1] + 0.5 * _sample("gaussian", 500, 1, seed=1)

    def mi_and_grad(spectrum: str) -> tuple[float, torch.Tensor]:
        t = x.clone().requires_grad_(True)
        mi = renyi_mi(t, y, spectrum=spectrum)  # type: ignore[arg-type]
        mi.backward()
        assert t.grad is not None
        return float(mi.detach()), t.grad

    exact, g_exact = mi_and_grad("exact")
    truncated, g_truncated = mi_and_grad("truncated")
    assert truncated != exact  # it took the truncated path
    assert abs(truncated - exact) < 1e-4
    assert float((g_truncated - g_exact).norm() / g_exact.norm()) < 2e-3


def test_heavy_tail_falls_back_to_the_exact_path() -> None:
    # 20 dimensions: a spectrum that decays slowly, more than N / 4 eigenpairs to reach the tolerance.
    # (A flat one is no heavy tail: the identity's interval has width 0.)
    x = _sample("gaussian", 400, 20)
    k = gram_matrix(x)
    assert truncated_entropy(k, renyi.DEFAULT_ALPHA).half_width > 0.01
    exact = matrix_entropy(k, spectrum="exact")
    assert torch.equal(matrix_entropy(k, spectrum="truncated"), exact)
    assert torch.equal(renyi_entropy(x, spectrum="truncated"), exact)


def test_auto_truncates_from_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    k = KERNELS["gaussian10"]
    exact = matrix_entropy(k, spectrum="exact")
    assert torch.equal(matrix_entropy(k), exact)  # below TRUNCATE_FROM rows
    monkeypatch.setattr(renyi, "TRUNCATE_FROM", 500)
    auto = matrix_entropy(k)
    assert torch.equal(auto, matrix_entropy(k, spectrum="truncated"))
    assert not torch.equal(auto, exact)
    assert abs(float(auto - exact)) < 0.01


def test_tolerance_sets_the_rank() -> None:
    k = KERNELS["gaussian10"]
    loose = truncated_entropy(k, renyi.DEFAULT_ALPHA, tol=0.1, max_rank=400)
    tight = truncated_entropy(k, renyi.DEFAULT_ALPHA, tol=0.002, max_rank=400)
    assert loose.half_width <= 0.1
    assert tight.rank > loose.rank
    assert tight.half_width < loose.half_width


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"spectrum": "fast"}, "spectrum"),
        ({"spectrum": None}, "spectrum"),
        ({"spectrum_tol": 0.0}, "spectrum_tol"),
        ({"spectrum_tol": -0.01}, "spectrum_tol"),
        ({"spectrum_tol": float("nan")}, "spectrum_tol"),
        ({"spectrum_tol": "0.01"}, "spectrum_tol"),
    ],
)
def test_bad_spectrum_arguments_are_named(kwargs: dict[str, object], name: str) -> None:
    x = _sample("gaussian", 20, 2)
    with pytest.raises(ValueError, match=f"^{name}:"):
        renyi_mi(x, x, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=f"^{name}:"):
        renyi_entropy(x, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=f"^{name}:"):
        matrix_entropy(gram_matrix(x), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.01, 3.0])
def test_low_rank_matrix_has_a_point_interval(alpha: float) -> None:
    v = _sample("gaussian", 300, 5)
    k = v @ v.T  # rank 5: no tail
    found = truncated_entropy(k, alpha)
    exact = float(_matrix_entropy(k, alpha))
    assert found.tail_mass < 1e-12  # round-off
    assert found.half_width < 1e-6  # round-off, to the power alpha = 0.5 too
    assert float(found.value) == pytest.approx(exact, abs=1e-6)
