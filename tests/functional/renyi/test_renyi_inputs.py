"""The matrix-based Renyi functions on settings and graphs at their edges: a kernel width too small for
the data's dtype, a width or flag refused under its own name, and graphs whose nodes' adjacency vectors
mostly or all coincide, and the backward of a channel-wise Gram matrix."""

from __future__ import annotations

import math

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from iblearn import functional as ibf
from iblearn.functional.renyi import adjacency_gram, gram, renyi_graph_mi
from tests.conftest import gen

torch.set_num_threads(1)


def sample(n: int = 40, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.randn(n, 2, generator=gen(0), dtype=dtype)


@pytest.mark.parametrize(("dtype", "width"), [(torch.float64, 1e-300), (torch.float32, 1e-25)])
@pytest.mark.parametrize("alpha", [2.0, 1.01])
def test_a_width_whose_squared_distances_overflow_is_refused(dtype, width, alpha):
    """x / sigma is finite but its squares are not: the kernel would be inf - inf (NaN entropy, or
    LAPACK's failure to converge)."""
    x = sample(dtype=dtype)
    with pytest.raises(ValueError, match=r"^sigma: .* too small"):
        ibf.renyi_entropy(x, alpha, width)
    with pytest.raises(ValueError, match=r"^sigma_x: .* too small"):
        ibf.renyi_mi(x, x, alpha, sigma_x=width)
    with pytest.raises(ValueError, match=r"^sigma_y: .* too small"):
        ibf.renyi_mi(x, x, alpha, sigma_y=width)


def test_each_width_is_named_by_its_own_argument():
    x = sample()
    for kwargs, name in [
        ({"sigma_x": 0.0}, "sigma_x"),
        ({"sigma_y": -1.0}, "sigma_y"),
        ({"sigma_y": math.nan}, "sigma_y"),
        ({"sigma_x": "scott"}, "sigma_x"),
    ]:
        with pytest.raises(ValueError, match=rf"^{name}: "):
            ibf.renyi_mi(x, x, **kwargs)
        with pytest.raises(ValueError, match=rf"^{name}: "):
            ibf.renyi_joint_entropy(x, x, **kwargs)
    ring = torch.stack([torch.arange(40), (torch.arange(40) + 1) % 40])
    with pytest.raises(ValueError, match=r"^sigma_t: "):
        renyi_graph_mi(x, x, ring, sigma_t=0.0)
    with pytest.raises(ValueError, match=r"^sigma: "):
        ibf.renyi_entropy(x, sigma=0.0)


def test_normalize_takes_true_or_false():
    x = sample()
    with pytest.raises(ValueError, match=r"^normalize: "):
        ibf.renyi_mi(x, x, normalize="yes")


def test_a_complete_graph_is_one_point_and_a_sparse_one_keeps_its_width():
    """Every node of a complete graph has the adjacency vector of all ones (A + I): one point, the
    all-ones kernel. Where most pairs of nodes coincide but not all, the median of the distinct pairs
    sets the width, as the median rule of samples does."""
    complete = torch.combinations(torch.arange(4)).T
    assert torch.equal(adjacency_gram(complete, 4), torch.ones(4, 4))
    assert torch.equal(adjacency_gram(torch.tensor([[0], [1]]), 2), torch.ones(2, 2))
    # a clique of 4 and one node apart: 6 of the 10 pairs coincide
    k = adjacency_gram(torch.combinations(torch.arange(4)).T, 5)
    assert bool(torch.isfinite(k).all())
    assert float(k[0, 1]) == 1.0 and 0 < float(k[0, 4]) < 1
    x = torch.randn(2, 3, generator=gen(1))
    value = renyi_graph_mi(x, x, torch.tensor([[0], [1]]))
    assert math.isfinite(float(value))


@pytest.mark.parametrize(
    "k",
    [
        [[1.0, 2.0], [2.0, 1.0]],  # eigenvalues 3 and -1: gave -0.0
        [[1.0, 0.0, 0.5], [0.0, -0.5, 0.0], [0.5, 0.0, 1.0]],  # a negative diagonal entry
        [[2.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 2.0]],  # a distance-like row with a zero diagonal
    ],
)
def test_a_matrix_that_is_not_positive_semi_definite_is_refused(k):
    """Every 2 x 2 principal minor of a positive semi-definite matrix is >= 0: k_ii >= 0 and
    |k_ij| <= sqrt(k_ii k_jj). A matrix failing that is no Gram matrix, and its 'entropy' no entropy."""
    for alpha in (2.0, 1.01):
        with pytest.raises(ValueError, match=r"^k: is not positive semi-definite"):
            ibf.matrix_entropy(torch.tensor(k, dtype=torch.float64), alpha)


def test_gram_matrices_in_any_dtype_pass_the_minor_check():
    x = sample(200, torch.float32)
    for k in (ibf.gram_matrix(x), ibf.gram_matrix(x.double()), ibf.gram_matrix(x.half()), torch.eye(3)):
        assert math.isfinite(float(ibf.matrix_entropy(k)))


def _backward_allocation(shape: tuple[int, ...]) -> float:
    """The bytes the backward of a channel-wise Gram matrix allocates, over its input's."""
    t = torch.randn(*shape, generator=torch.Generator().manual_seed(0), requires_grad=True)
    loss = gram.checked_gram(t, "median", "mean", "x").sum()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        loss.backward()
    allocated = sum(e.cpu_memory_usage for e in prof.events() if e.cpu_memory_usage > 0)
    return allocated / (t.numel() * t.element_size())


def test_a_channel_wise_gram_backward_does_not_grow_with_the_channels():
    # A backward through each channel's slice of the input writes it into a zero tensor of the whole
    # input's size: C of them (MOLE's feature maps, 32 - 64 channels). The same elements in 4 and in 64
    # channels: measured 80 and 104 times the input's bytes, 94 and 358 through the slices.
    assert _backward_allocation((16, 64, 4, 4)) <= 1.6 * _backward_allocation((16, 4, 16, 16))
