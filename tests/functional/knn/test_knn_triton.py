"""The fused Triton kernel of KSG's counts against the torch path and the CPU tree.

Triton is no dependency. The kernel runs on CPU tensors in Triton's interpreter, which must be chosen
before the kernel is defined, so these tests skip unless the whole run has it:

    TRITON_INTERPRET=1 .venv/bin/python -m pytest -p no:cacheprovider tests/functional/knn/test_knn_triton.py

The tests marked ``gpu`` compile the kernel for a CUDA device and compare it with the CPU's tree.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from iblearn.functional import ksg_mi
from iblearn.functional.knn import fused as kt
from iblearn.functional.knn.counts import ksg_counts_brute, ksg_counts_tree
from tests.conftest import gen

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
interpreter = pytest.mark.skipif(
    not (kt.HAVE_TRITON and INTERPRETED), reason="needs triton and TRITON_INTERPRET=1 (see the docstring)"
)
compiled = pytest.mark.skipif(not kt.HAVE_TRITON or INTERPRETED, reason="needs triton, compiled")


@pytest.fixture
def scalar_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """The interpreter keeps a scalar as a one-element array, and its ``range(0, n, ...)`` calls
    ``int()`` on it, which NumPy 2.4 refuses for arrays of one dimension: take the element."""
    try:
        int(np.ones(1))  # type: ignore[call-overload]
    except TypeError:
        from triton.runtime import interpreter as ti

        patch = ti._patch_lang_tensor

        def patched(tensor, scope):  # type: ignore[no-untyped-def]
            patch(tensor, scope)
            scope.set_attr(tensor, "__index__", lambda self: int(self.handle.data.reshape(-1)[0]))

        monkeypatch.setattr(ti, "_patch_lang_tensor", patched)


def _samples(n: int, dx: int, dy: int, kind: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = gen(seed)
    x = torch.randn(n, dx, generator=g, dtype=torch.float64)
    y = x[:, :1] + torch.randn(n, dy, generator=g, dtype=torch.float64)
    if kind == "tied":  # a coarse grid: repeated rows in x, y and the joint space, eps often 0
        x, y = torch.round(x), torch.round(y)
    elif kind == "repeated":  # rows 0-9 again at the end: distance 0 ties, self among them
        x, y = torch.cat([x, x[:10]]), torch.cat([y, y[:10]])
    return x, y


def _assert_counts_equal(x, y, k, perms=None, **blocks) -> None:
    nx, ny = kt.ksg_counts_fused(x, y, k, perms, **blocks)
    for b, p in enumerate(torch.arange(len(x))[None] if perms is None else perms):
        want = ksg_counts_brute(x, y[p], k, 1)
        assert torch.equal(nx[b], want[0]) and torch.equal(ny[b], want[1]), (b, k, blocks)


@interpreter
@pytest.mark.usefixtures("scalar_index")
@pytest.mark.parametrize(
    "n,dx,dy,k,block_rows,block_cols",
    [
        (50, 1, 1, 3, 16, 16),  # ragged last tiles both ways
        (37, 2, 3, 2, 8, 32),  # k + 1 = 3 in 4 slots; one column tile
        (100, 5, 5, 4, 256, 4),  # the default blocks
        (10, 1, 2, 1, 16, 16),  # fewer points than a block
        (40, 3, 1, 7, 16, 16),  # k + 1 = 8 fills its slots
    ],
)
@pytest.mark.parametrize("kind", ["gaussian", "tied", "repeated"])
def test_interpreted_kernel_counts_equal_the_torch_path(n, dx, dy, k, block_rows, block_cols, kind):
    x, y = _samples(n, dx, dy, kind)
    _assert_counts_equal(x, y, k, block_rows=block_rows, block_cols=block_cols)


@interpreter
@pytest.mark.usefixtures("scalar_index")
def test_interpreted_kernel_counts_every_pairing_in_any_number_of_launches(monkeypatch):
    x, y = _samples(40, 2, 2, "tied", seed=3)
    g = gen(4)
    perms = torch.stack([torch.arange(40)] + [torch.randperm(40, generator=g) for _ in range(2)])
    _assert_counts_equal(x, y, 3, perms, block_rows=16, block_cols=16)
    monkeypatch.setattr(kt, "chunk_bytes", lambda device: 2 * 40 * 2 * 8)  # two pairings a launch, of three
    _assert_counts_equal(x, y, 3, perms, block_rows=16, block_cols=16)


@interpreter
@pytest.mark.usefixtures("scalar_index")
def test_ksg_mi_through_the_interpreted_kernel_equals_the_tree(monkeypatch):
    x, y = _samples(120, 2, 2, "gaussian", seed=5)
    want = ksg_mi(x, y, backend="tree")
    calls = []
    fused = kt.ksg_counts_fused

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return fused(*args, **kwargs)

    monkeypatch.setattr(kt, "usable", lambda x, y, k, variant: variant == 1)
    monkeypatch.setattr(kt, "ksg_counts_fused", spy)
    assert torch.equal(ksg_mi(x, y, backend="brute"), want) and calls == [1]


@pytest.mark.gpu
@compiled
@pytest.mark.parametrize("n", [20_000, 100_000])
def test_cuda_kernel_counts_equal_the_cpu_tree(n, monkeypatch):
    monkeypatch.setattr(kt, "ENABLED", True)  # whatever IBLEARN_FUSED_KSG says
    x, y = _samples(n, 5, 5, "gaussian", seed=6)
    assert kt.usable(x.cuda(), y.cuda(), 3, 1) and not kt.usable(x.cuda(), y.cuda(), kt.MAX_K + 1, 1)
    nx, ny = kt.ksg_counts_fused(x.cuda(), y.cuda(), 3)
    want = ksg_counts_tree(x, y, 3, 1)
    assert torch.equal(nx[0].cpu(), want[0]) and torch.equal(ny[0].cpu(), want[1])


@pytest.mark.gpu
@compiled
def test_cuda_kernel_counts_permuted_pairings_and_ksg_mi_takes_it(monkeypatch):
    monkeypatch.setattr(kt, "ENABLED", True)
    x, y = _samples(20_000, 5, 5, "gaussian", seed=7)
    g = gen(8)
    perms = torch.stack([torch.randperm(20_000, generator=g) for _ in range(3)])
    nx, ny = kt.ksg_counts_fused(x.cuda(), y.cuda(), 3, perms.cuda())
    for b, p in enumerate(perms):
        want = ksg_counts_tree(x, y[p], 3, 1)
        assert torch.equal(nx[b].cpu(), want[0]) and torch.equal(ny[b].cpu(), want[1])
    calls = []
    fused = kt.ksg_counts_fused
    monkeypatch.setattr(kt, "ksg_counts_fused", lambda *a, **kw: calls.append(1) or fused(*a, **kw))
    got = ksg_mi(x.cuda(), y.cuda())
    assert calls == [1]
    # The device standardizes and jitters with its own rounding and generator: close, not equal.
    assert float(got) == pytest.approx(float(ksg_mi(x, y)), abs=1e-4)
