"""The alpha = 2 Renyi MI on the CPU: its joint entropy reads the Hadamard product of the two Gram
matrices block by block, never building the N x N product, its backward costs N^2 however many blocks
(and differentiates again), and the median width takes one median."""

from __future__ import annotations

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

import iblearn.functional as ibf
from iblearn.functional.renyi import entropy, gram


def _grams(n: int, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=g, dtype=dtype)
    y = x[:, :1] + 0.5 * torch.randn(n, 1, generator=g, dtype=dtype)
    return ibf.gram_matrix(x), ibf.gram_matrix(y)


@pytest.mark.parametrize(("dtype", "rel"), [(torch.float32, 1e-5), (torch.float64, 1e-12)])
def test_the_joint_entropy_is_that_of_the_product(dtype, rel):
    a, b = _grams(700, dtype)
    whole = ibf.matrix_entropy(a.double() * b.double(), alpha=2.0)  # the product, in float64
    assert float(entropy._joint_entropy(a, b, 2.0, None, None)) == pytest.approx(float(whole), rel=rel)


def test_the_joint_entropy_builds_no_n_by_n_product():
    a, b = _grams(1024)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        entropy._joint_entropy(a, b, 2.0, None, None)
    largest = max((e.cpu_memory_usage for e in prof.events()), default=0)
    assert largest <= a.numel() * a.element_size() // 4


def test_the_joint_entropy_carries_the_gradient():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(300, 2, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randn(300, 1, generator=g, dtype=torch.float64)
    a, b = ibf.gram_matrix(x), ibf.gram_matrix(y)
    (grad,) = torch.autograd.grad(entropy._joint_entropy(a, b, 2.0, None, None), x, retain_graph=True)
    (whole,) = torch.autograd.grad(ibf.matrix_entropy(a * b, alpha=2.0), x)
    torch.testing.assert_close(grad, whole)


def test_the_backward_allocates_a_few_n_by_n_matrices_however_many_blocks(monkeypatch):
    # Each block's own backward would add it into a fresh N x N zero matrix: N^3 / block work, which
    # took the backward at 16,384 rows from seconds to hours.
    monkeypatch.setattr(entropy, "PRODUCT_BLOCK", 1 << 14)  # 16 rows a block: 64 blocks
    a, b = (m.requires_grad_(True) for m in _grams(1024))
    s = entropy._joint_entropy(a, b, 2.0, None, None)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        s.backward()
    allocated = sum(e.cpu_memory_usage for e in prof.events() if e.cpu_memory_usage > 0)
    assert allocated <= 32 * a.numel() * a.element_size()  # 16 measured; a zero matrix a block: 530


def test_the_blocked_norm_differentiates_twice(monkeypatch):
    monkeypatch.setattr(entropy, "PRODUCT_BLOCK", 8)  # blocks of a row or two
    g = torch.Generator().manual_seed(3)
    a = torch.rand(9, 9, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.rand(9, 9, generator=g, dtype=torch.float64, requires_grad=True)
    norm = entropy._ProductNorm.apply
    torch.testing.assert_close(norm(a, b), torch.linalg.vector_norm(a * b))
    assert torch.autograd.gradcheck(norm, (a, b))
    assert torch.autograd.gradgradcheck(norm, (a, b))


def test_the_median_width_takes_one_median(monkeypatch):
    calls = []
    median = torch.Tensor.median

    def counted(self, *args, **kwargs):
        calls.append(args or kwargs)
        return median(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "median", counted)
    gram._rule_width(torch.randn(200, 3, generator=torch.Generator().manual_seed(0)), "median")
    assert len([c for c in calls if not c]) == 1  # the pairs' median (the other is per column)
