"""The scans for KSG's variant 1 between one-dimensional variables (_maxnorm_scan.h) give the grid's
counts (_maxnorm_grid.h) on every instruction set the CPU runs: continuous, tied, binary and
heavy-tailed columns, N below and not a multiple of the vector widths, every k the scans take; and
pairwise_mi's matrix and top K, on float32 and float64, are the grid path's bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import iblearn.functional as ibf
from iblearn.functional.knn import bivariate as _bivariate
from iblearn.functional.knn import neighbors as _neighbors

torch.set_num_threads(1)

pytestmark = pytest.mark.skipif(not _neighbors.HAVE_KERNEL, reason="the compiled kernel was not built")

#: The copies to cap the kernel at: the compiler's generic vectors (-2, the portable set's copy off
#: x86-64), scalar C (-1), the portable set (SSE2 on x86-64), AVX2, AVX-512 (each where the CPU runs it).
LEVELS = (-2, -1, 0, 1, 2)


def _kernel():
    return _neighbors._maxnorm


def _columns(n: int, seed: int) -> torch.Tensor:
    """Continuous, correlated, rounded (ties), binary (all distances 0 or 1), heavy-tailed and a copy
    of the first column (every value tied with another's)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, 5, generator=g, dtype=torch.float64)
    cols = [z[:, 0], 0.6 * z[:, 0] + 0.8 * z[:, 1], torch.round(2 * z[:, 2]), (z[:, 3] > 0).double()]
    cols += [torch.exp(3 * z[:, 4]), z[:, 0].clone()]
    return torch.stack(cols, dim=1)


def _sorted(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    return _bivariate.sorted_ranks([x[:, j : j + 1] for j in range(x.shape[1])])


def _ordered_pairs(m: int) -> np.ndarray:
    return np.array([(a, b) for a in range(m) for b in range(m) if a != b], dtype=np.int64)


def _grid(values: np.ndarray, ranks: np.ndarray, pairs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = values.shape[1]
    nx, ny = np.empty((len(pairs), n), dtype=np.int64), np.empty((len(pairs), n), dtype=np.int64)
    assert _kernel().pairs(values, ranks, n, pairs, k, 1, _bivariate.cell_ranks(n), nx, ny) == -1
    return nx, ny


@pytest.mark.parametrize("n", [2, 3, 5, 9, 17, 31, 100, 337])
def test_scan_counts_are_the_grid_counts_on_every_instruction_set(n):
    values, ranks = _sorted(_columns(n, seed=n))
    pairs = _ordered_pairs(values.shape[0])  # both orders: the scan runs along the first variable
    for k in range(1, min(_kernel().SCAN_KMAX, n - 1) + 1):
        want = _grid(values, ranks, pairs, k)
        for level in LEVELS:
            nx, ny = np.full_like(want[0], -7), np.full_like(want[1], -7)
            assert _kernel().scan(values, ranks, n, pairs, k, None, nx, ny, level) == -1
            assert np.array_equal(nx, want[0]) and np.array_equal(ny, want[1]), (k, level)


@pytest.mark.parametrize("n", [40, 200])
def test_scan_counts_where_distances_differ_only_in_their_low_bits(n):
    # Small integers plus noise of 1e-9: distances of the same integer part share their high 32 bits,
    # where the k-th distance's stop (by those bits on SSE2) cannot decide alone; and subnormals.
    g = torch.Generator().manual_seed(n)
    whole = torch.randint(0, 6, (n, 2), generator=g).double()
    noise = torch.rand(n, 2, generator=g, dtype=torch.float64)
    tiny = torch.randint(0, 64, (n, 1), generator=g).double() * 2.0**-1060
    values, ranks = _sorted(torch.cat([whole + 1e-9 * noise, tiny], 1))
    pairs = _ordered_pairs(values.shape[0])
    for k in (1, 3, 8):
        want = _grid(values, ranks, pairs, k)
        for level in LEVELS:
            nx, ny = np.full_like(want[0], -7), np.full_like(want[1], -7)
            assert _kernel().scan(values, ranks, n, pairs, k, None, nx, ny, level) == -1
            assert np.array_equal(nx, want[0]) and np.array_equal(ny, want[1]), (k, level)


def test_scan_terms_are_the_digammas_of_the_counts():
    n = 203
    values, ranks = _sorted(_columns(n, seed=1))
    pairs = _ordered_pairs(values.shape[0])
    table = _bivariate.digamma_table(n)
    nx, ny = _grid(values, ranks, pairs, 3)
    for level in LEVELS:
        out = np.empty((len(pairs), n))
        psi = np.ascontiguousarray(table[1 : n + 1])
        assert _kernel().scan(values, ranks, n, pairs, 3, psi, out, out, level) == -1
        assert np.array_equal(out, table[nx + 1] + table[ny + 1])


@pytest.mark.parametrize("n", [7, 100, 128, 129, 336, 1001, 5000])
def test_a_block_of_rows_averages_as_each_row_alone(n):
    # bivariate_mi averages a block's terms along the rows; the values are those of each pair's own
    # 1-d mean, whose pairwise summation (blocks of 8, halves above 128) is the same per row.
    terms = np.random.default_rng(n).gamma(2.0, size=(9, n))
    assert np.array_equal(terms.mean(axis=1), np.array([row.mean() for row in terms]))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("k", [1, 3, 8, 10])  # 10: beyond the scans, the grid's on both sides
def test_pairwise_matrix_and_top_k_are_the_grid_paths_bit_for_bit(dtype, k, monkeypatch):
    x = _columns(203, seed=2)[:, :5].to(dtype)
    x = torch.cat([x, torch.randn(203, 7, generator=torch.Generator().manual_seed(3), dtype=dtype)], dim=1)
    dense, top = ibf.pairwise_mi(x, k=k), ibf.pairwise_mi(x, k=k, top_k=4)
    monkeypatch.setattr(_bivariate, "_scans", lambda k, variant: False)
    grid_dense, grid_top = ibf.pairwise_mi(x, k=k), ibf.pairwise_mi(x, k=k, top_k=4)
    assert torch.equal(dense.nan_to_num(), grid_dense.nan_to_num())
    assert torch.equal(top.values, grid_top.values) and torch.equal(top.indices, grid_top.indices)


def test_overflowing_pairs_are_reported():
    x = torch.randn(60, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    side = torch.where(torch.arange(60) < 5, 1.0, -1.0).to(torch.float64)
    x[:, 1] = side * 0.95e308 * (1 + 1e-3 * x[:, 1])  # 5 points with 4 others at a finite distance
    values, ranks = _sorted(x)
    pairs = np.array([[0, 2], [1, 0], [2, 1]], dtype=np.int64)
    nx, ny = np.empty((3, 60), dtype=np.int64), np.empty((3, 60), dtype=np.int64)
    for level in LEVELS:
        assert _kernel().scan(values, ranks, 60, pairs, 6, None, nx, ny, level) == 1
    assert _bivariate.pair_counts(values, ranks, [(0, 2), (2, 1)], 6, 1) is None
    assert _bivariate.bivariate_mi(values, ranks, [(0, 2), (2, 1)], 6, 1) is None
    assert _bivariate.pair_counts(values, ranks, [(0, 2)], 6, 1) is not None


def test_scan_checks_its_arguments():
    values, ranks = _sorted(_columns(10, seed=0))
    pairs = np.array([[0, 1]], dtype=np.int64)
    nx, ny = np.empty((1, 10), dtype=np.int64), np.empty((1, 10), dtype=np.int64)
    scan = _kernel().scan
    bad = ranks.copy()
    bad[0, 0] = bad[0, 1]  # in range, but not a permutation
    with pytest.raises(ValueError, match="ranks"):
        scan(values, bad, 10, pairs, 3, None, nx, ny)
    with pytest.raises(ValueError, match="k <= 8"):
        scan(values, ranks, 10, pairs, 9, None, nx, ny)
    with pytest.raises(ValueError, match="pairs"):
        scan(values, ranks, 10, np.array([[0, 6]], dtype=np.int64), 3, None, nx, ny)
    with pytest.raises(ValueError, match="table"):
        scan(values, ranks, 10, pairs, 3, np.zeros(11), np.empty((1, 10)), ny)
    with pytest.raises(ValueError, match="out_b"):
        scan(values, ranks, 10, pairs, 3, None, nx, ny[:, :5])
