"""MixedKSG's brute-force counts (functional/knn/mixed.py) against the plain single pass over the whole
distance matrix: the same counts, to the last one, on every path (float32 filter with and without the
compiled band count, the float64 fallback, several chunks), at widths 1 to 128, with jittered repeated
rows, and for the max-norm lattice data whose distances tie exactly at the radius."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn.functional.knn import mixed as _mixed
from iblearn.functional.knn import neighbors as nb
from iblearn.functional.knn.ksg import prepare
from tests.conftest import gen


def _single_pass(x: torch.Tensor, lab: torch.Tensor, k_i: torch.Tensor, metric: str) -> torch.Tensor:
    """m_i from the whole distance matrix at once, as the code before the two passes computed it."""
    dist = nb.cdist(x, x, metric, torch.arange(len(x)))
    out = torch.empty(len(x), dtype=torch.int64)
    for i in range(len(x)):
        own = (lab == lab[i]).nonzero()[:, 0]
        within = dist[i, own].clone()
        within[own == i] = -1.0
        radius = torch.topk(within, int(k_i[i]) + 1, largest=False).values[-1]
        out[i] = (dist[i] <= radius).sum() - 1
    return out


def _k_i(lab: torch.Tensor, k: int) -> torch.Tensor:
    _, inverse, counts = torch.unique(lab, return_inverse=True, return_counts=True)
    return torch.clamp(counts[inverse] - 1, max=k)


def _samples(kind: str, n: int, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    lab = torch.randint(0, 4, (n,), generator=gen(3))
    lab[:2] = 9  # a class of two: k falls to 1
    if kind == "gaussian":
        x = torch.randn(n, dim, generator=gen(), dtype=torch.float64) + lab[:, None] % 4
    elif kind == "repeats":  # silent ReLU rows: repeated, then jittered by 1e-10
        x = torch.relu(torch.randn(n, dim, generator=gen(), dtype=torch.float64) + lab[:, None] % 4)
        x[torch.rand(n, generator=gen(2)) < 0.3] = 0.0
    else:  # a lattice: distances tie exactly at the radius, across classes too
        x = torch.randint(0, 4, (n, dim), generator=gen(), dtype=torch.int64).to(torch.float64)
    return x, lab


@pytest.mark.parametrize("metric", ["euclidean", "chebyshev"])
@pytest.mark.parametrize("dim", [1, 2, 5, 64, 128])
@pytest.mark.parametrize("kind", ["gaussian", "repeats", "lattice"])
def test_two_passes_count_as_the_single_pass(monkeypatch, metric, dim, kind):
    x, lab = _samples(kind, 300, dim)
    if kind != "lattice" or metric == "euclidean":
        # Euclidean distances that tie exactly round apart differently in the matrix product and in
        # the differences that pass 2 recomputes, so they are jittered, as mixed_ksg_mi does by default.
        x = prepare(x, "x", standardize=True, ties="jitter", seed=0)
    k_i = _k_i(lab, 3)
    want = _single_pass(x, lab, k_i, metric)
    assert torch.equal(_mixed.mixed_counts_brute(x, lab, k_i, metric), want)
    monkeypatch.setattr(_mixed, "chunk_bytes", lambda device: 2**16)  # several chunks a class
    assert torch.equal(_mixed.mixed_counts_brute(x, lab, k_i, metric), want)
    monkeypatch.setattr(_mixed, "HAVE_KERNEL", False)  # torch's comparisons instead of the band count
    assert torch.equal(_mixed.mixed_counts_brute(x, lab, k_i, metric), want)


@pytest.mark.parametrize("metric", ["euclidean", "chebyshev"])
@pytest.mark.parametrize("scale", [1e-30, 1e25])
def test_data_beyond_float32s_range_take_float64(monkeypatch, metric, scale):
    x, lab = _samples("gaussian", 200, 6)
    x = x * scale
    k_i = _k_i(lab, 3)
    assert _mixed._Filter(x, (x * x).sum(1), metric, 2**20).low.dtype == torch.float64
    assert torch.equal(_mixed.mixed_counts_brute(x, lab, k_i, metric), _single_pass(x, lab, k_i, metric))


def test_the_float32_filter_is_taken_on_standardized_data():
    x = prepare(torch.randn(50, 3, generator=gen()), "x", standardize=True, ties="jitter", seed=0)
    assert _mixed._Filter(x, (x * x).sum(1), "euclidean", 2**20).low.dtype == torch.float32


def test_the_band_count_counts_by_row_and_by_column():
    if not nb.HAVE_KERNEL:
        pytest.skip("the compiled kernel was not built")
    values = np.array([[0.0, 1.0, 2.0, 3.0], [3.0, 2.0, 1.0, 0.0]], dtype=np.float32)
    f32 = lambda *v: np.array(v, dtype=np.float32)  # noqa: E731
    sure, maybe, shift = f32(1.0, 0.5), f32(1.0, 0.0), f32(0.0, 1.0)
    col_sure, col_maybe = f32(0.5, 0.5, 0.5, 0.5), f32(0.0, 0.0, 1.0, 2.0)
    out = [np.zeros(k, dtype=np.int64) for k in (2, 2, 4, 4)]
    _mixed._maxnorm.band_count(values, 2, 4, sure, maybe, shift, col_sure, col_maybe, *out)
    assert [o.tolist() for o in out[:2]] == [[2, 3], [3, 4]]
    # Columns see value - shift: row 0 as it is, row 1 less 1: [[0, 1, 2, 3], [2, 1, 0, -1]].
    assert [o.tolist() for o in out[2:]] == [[1, 2, 1, 1], [2, 2, 1, 1]]
    with pytest.raises(ValueError, match="values"):
        _mixed._maxnorm.band_count(values, 2, 3, sure, maybe, shift, col_sure, col_maybe, *out)
