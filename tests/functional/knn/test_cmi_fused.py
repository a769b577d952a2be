"""The fused kernels' conditional-MI counts of many x_b against one y and z (network inference's
surrogates on a GPU), against the torch path's.

The kernel's own tests run in Triton's interpreter, which must be chosen before the kernel is defined,
so they skip unless the whole run has it:

    TRITON_INTERPRET=1 .venv/bin/python -m pytest -p no:cacheprovider tests/functional/knn/test_cmi_fused.py

The others run everywhere.
"""

from __future__ import annotations

import pytest
import torch

from iblearn.functional.knn import cmi, cmi_batched, fused_cmi
from iblearn.functional.knn import fused as kt
from tests.conftest import gen
from tests.functional.knn.test_knn_triton import scalar_index  # noqa: F401 (a fixture)
from tests.functional.knn.test_pairwise_fused import INTERPRETED, interpreter

compiled = pytest.mark.skipif(not kt.HAVE_TRITON or INTERPRETED, reason="needs triton, compiled")


def _samples(
    n: int, b: int, dz: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``b`` x samples ``(b, n, 1)`` (the first rounded to a grid: ties, eps of 0 on some rows; the
    second with rows repeated), a y driven by z, and z ``(n, dz)`` (None for 0)."""
    g = gen(seed)
    z = torch.randn(n, max(dz, 1), generator=g, dtype=torch.float64)
    y = z[:, :1] + torch.randn(n, 1, generator=g, dtype=torch.float64)
    x = torch.randn(b, n, 1, generator=g, dtype=torch.float64) + y
    x[0] = torch.round(x[0])
    x[1, -10:] = x[1, :10]
    return x, y, (z if dz else None)


def _torch_counts(x, y, z, k):  # type: ignore[no-untyped-def]
    with pytest.MonkeyPatch.context() as m:
        m.setattr(fused_cmi, "usable", lambda *a: False)
        return cmi_batched.cmi_counts_batched(x, y, z, k)


@interpreter
@pytest.mark.usefixtures("scalar_index")
@pytest.mark.parametrize("n,dz,k", [(70, 1, 4), (45, 3, 2), (33, 0, 3)])
def test_interpreted_kernel_counts_equal_the_torch_path(n, dz, k, monkeypatch):
    x, y, z = _samples(n, 3, dz)
    want = _torch_counts(x, y, z, k)
    monkeypatch.setattr(kt, "ENABLED", True)
    monkeypatch.setattr(kt, "enabled", lambda device, k, variant: variant == 1 and k <= kt.MAX_K)
    # Small tiles: fewer steps of the interpreter; ragged last blocks both ways.
    launch = fused_cmi._launch
    monkeypatch.setattr(fused_cmi, "_launch", lambda xt, yt, zt, k: launch(xt, yt, zt, k, 32, 16))
    pairs = kt.ksg_counts_pairs
    monkeypatch.setattr(
        kt, "ksg_counts_pairs", lambda xt, yt, index, k: pairs(xt, yt, index, k, block_cols=16)
    )
    got = cmi_batched.cmi_counts_batched(x, y, z, k)
    assert len(got) == (3 if dz else 2)
    for g, w in zip(got, want, strict=True):
        assert torch.equal(g, w)


@interpreter
@pytest.mark.usefixtures("scalar_index")
def test_the_brute_force_cmi_counts_through_the_interpreted_kernel_equal_the_torch_path(monkeypatch):
    # One x of two columns (the estimator's) and copies of a 1-d x (the nulls'), against y and z.
    x, y, z = _samples(50, 3, 2, seed=3)
    wide = torch.cat([x[0], x[2]], dim=1)
    want = [cmi.cmi_counts_brute(wide, y, z, 3), cmi.cmi_counts_brute(x, y, z, 3)]
    monkeypatch.setattr(kt, "enabled", lambda device, k, variant: variant == 1 and k <= kt.MAX_K)
    launch = fused_cmi._launch
    monkeypatch.setattr(fused_cmi, "_launch", lambda xt, yt, zt, k: launch(xt, yt, zt, k, 32, 16))
    got = [cmi.cmi_counts_brute(wide, y, z, 3), cmi.cmi_counts_brute(x, y, z, 3)]
    for g, w in zip(got, want, strict=True):
        assert all(torch.equal(a, b) for a, b in zip(g, w, strict=True))


def test_batched_counts_take_the_fused_kernels_where_usable(monkeypatch):
    x, y, z = _samples(40, 2, 2)
    marker = [torch.zeros(2, 40, dtype=torch.int64)] * 3
    monkeypatch.setattr(fused_cmi, "usable", lambda x, y, z, k: True)
    monkeypatch.setattr(fused_cmi, "cmi_counts_fused", lambda x, y, z, k: marker)
    assert cmi_batched.cmi_counts_batched(x, y, z, 3) is marker
    assert cmi.cmi_counts_brute(x, y, z, 3) == tuple(marker)


def test_the_fused_kernels_are_never_taken_on_the_cpu_nor_past_their_dimensions(monkeypatch):
    x, y, z = _samples(30, 2, 2)
    assert not fused_cmi.usable(x, y, z, 3)
    monkeypatch.setattr(kt, "enabled", lambda device, k, variant: True)
    assert fused_cmi.usable(x, y, z, 3) and fused_cmi.usable(x, y, None, 3)
    wide = torch.zeros(30, kt.MAX_DIM - 1, dtype=torch.float64)  # with x and y, one past the most
    assert not fused_cmi.usable(x, y, wide, 3)


@pytest.mark.gpu
@compiled
@pytest.mark.parametrize("dz", [0, 1, 4])
def test_cuda_kernel_counts_equal_the_torch_path(dz, monkeypatch):
    x, y, z = _samples(3000, 8, dz, seed=5)
    want = _torch_counts(x, y, z, 4)
    monkeypatch.setattr(kt, "ENABLED", True)  # whatever IBLEARN_FUSED_KSG says
    got = cmi_batched.cmi_counts_batched(x.cuda(), y.cuda(), None if z is None else z.cuda(), 4)
    for g, w in zip(got, want, strict=True):
        assert torch.equal(g.cpu(), w)
