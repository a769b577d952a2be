"""The k nearest neighbours under ties, and the kernel's k-d tree k-th neighbour search against brute
force, neighbour for neighbour.

Among neighbours at the same distance the one of smaller index (in the caller's order) comes first, on
every path: the compiled kernel's slabs, its k-d tree (a query leaf at a time, and point by point below
a node that few of the leaf's points enter) and the brute force. So the k returned are the first k of
the other points ordered by (distance, index), whatever order a search visits them in, and KSG's
variant 2, whose eps_x and eps_y are the spread of those k (Kraskov et al. 2004, eq. 9), counts the same
on tied data on every backend. The kernel is called directly, so that slab widths, leaf sizes from 2 to
64, grids of 1 to 16 points a cell and ranges of queries that cut leaves and cells are all covered.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn.functional import ksg_mi
from iblearn.functional.knn import ksg as knn_module
from iblearn.functional.knn import neighbors as nb
from tests.functional.knn.test_maxnorm_counts import TREE_DIMS, TREE_KINDS, _distances, _points, tree_cases

pytestmark = pytest.mark.skipif(not nb.HAVE_KERNEL, reason="the compiled kernel was not built")

#: The compiled paths: slabs of 7 and 64 points, trees with leaves of 2 - 64 points, grids of about 1 - 16
#: points a cell (up to the kernel's 8 dimensions).
PATHS = [("slabs", 7), ("slabs", 64), ("tree", 2), ("tree", 5), ("tree", 32), ("tree", 64)]
CELL_PATHS = [("cells", 1), ("cells", 4), ("cells", 16)]
CELL_MAXD = 8


def _reference(x: np.ndarray, k: int, dist: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Brute force: each point's k nearest others ordered by (distance, index), as (distances, indices)."""
    dist = (_distances(x) if dist is None else dist).copy()
    np.fill_diagonal(dist, -1.0)  # self first, then drop it
    idx = np.argsort(dist, axis=1, kind="stable")[:, 1 : k + 1]  # stable: equal distances by index
    return np.take_along_axis(dist, idx, axis=1), idx


def _layout(x: np.ndarray, path: str, size: int) -> tuple[np.ndarray, tuple]:
    if path == "tree":
        return nb._tree_layout(x, size)
    if path == "cells":
        with pytest.MonkeyPatch.context() as m:
            m.setattr(nb, "CELL_POINTS", size)
            return nb._cell_layout(x)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(nb, "_slab_width", lambda n: size)
        return nb._slab_layout(x)


def _kernel(
    x: np.ndarray, k: int, path: str, size: int, first: int = 0, last: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's k nearest of the points at layout positions first..last-1, in the caller's order
    (NaN and -2 in the rows outside the range, which the kernel must not write)."""
    n = len(x)
    order, layout = _layout(np.ascontiguousarray(x, dtype=np.float64), path, size)
    dist, idx = np.full((n, k), np.nan), np.full((n, k), -2, dtype=np.int64)
    search = nb._maxnorm.cells_knn if path == "cells" else nb._maxnorm.knn
    search(layout, order, k, first, n if last is None else last, dist, idx)
    out_d, out_i = np.empty_like(dist), np.empty_like(idx)
    out_d[order], out_i[order] = dist, idx
    return out_d, out_i


def _tied(n: int, dim: int, seed: int) -> np.ndarray:
    """Integer points in {0..3}^dim, some rows repeated: many neighbours at exactly the same distance."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, (n, dim)).astype(np.float64)
    x[n // 2 : n // 2 + n // 10] = x[: n // 10]
    return x[rng.permutation(n)]


@pytest.mark.parametrize("dim", [1, 2, 3, 5, 8, 16])
def test_every_compiled_path_keeps_the_smaller_index_among_tied_neighbours(dim):
    x = _tied(400, dim, seed=dim)
    dist = _distances(x)
    for k in range(1, 6):
        ref_d, ref_i = _reference(x, k, dist)
        # The rule decides: for most points more than k others lie within the k-th distance.
        assert ((dist <= ref_d[:, -1:]).sum(axis=1) - 1 > k).mean() > 0.5
        for path, size in PATHS + (CELL_PATHS if dim <= CELL_MAXD else []):
            got_d, got_i = _kernel(x, k, path, size)
            np.testing.assert_array_equal(got_d, ref_d, err_msg=f"{path} {size} k={k}")
            np.testing.assert_array_equal(got_i, ref_i, err_msg=f"{path} {size} k={k}")


@pytest.mark.parametrize("dim", [1, 3, 8])
def test_brute_force_keeps_the_smaller_index_among_tied_neighbours(monkeypatch, dim):
    x = _tied(300, dim, seed=10 + dim)
    for k in (1, 3, 5):
        ref_d, ref_i = _reference(x, k)
        for chunk in (nb.CHUNK_BYTES, 2**16):  # one chunk of rows, several
            monkeypatch.setattr(nb, "CHUNK_BYTES", chunk)
            eps, idx = nb.kth_neighbour([torch.from_numpy(x)], k, "chebyshev", "brute")
            np.testing.assert_array_equal(eps.numpy(), ref_d[:, -1])
            np.testing.assert_array_equal(idx.numpy(), ref_i)
            # The same through the public entry on the tree backend (the kernel).
            eps, idx = nb.kth_neighbour([torch.from_numpy(x)], k, "chebyshev", "tree")
            np.testing.assert_array_equal(idx.numpy(), ref_i)


def _grid_pair() -> tuple[torch.Tensor, torch.Tensor]:
    """x: the 512 points of {0..7}^3; y: the same points with 40% of the rows shuffled among themselves.
    No duplicate rows (ties='raise' passes), every column's mean 3.5, so centring keeps the values
    integer-spaced and the distances tied exactly."""
    x = np.stack(np.meshgrid(*[np.arange(8.0)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    rng = np.random.default_rng(3)
    y = x.copy()
    moved = rng.choice(512, 200, replace=False)
    y[moved] = y[rng.permutation(moved)]
    return torch.from_numpy(x), torch.from_numpy(y)


def _variant_2(x: np.ndarray, y: np.ndarray, idx: np.ndarray, k: int) -> float:
    """KSG eq. (9) given each point's k neighbours ``idx`` in the joint space."""
    counts = []
    for v in (x, y):
        spread = np.abs(v[:, None, :] - v[idx]).max(axis=(1, 2))  # eps_x (or eps_y) of each point
        counts.append(torch.from_numpy((_distances(v) <= spread[:, None]).sum(axis=1) - 1))
    return float(knn_module.ksg_from_counts(counts[0], counts[1], k, 2))


@pytest.mark.parametrize("k", [1, 3, 5])
def test_ksg_variant_2_on_tied_data_is_the_same_on_every_backend(monkeypatch, k):
    x, y = _grid_pair()
    joint = torch.cat([x, y], dim=1).numpy()
    ref_d, ref_i = _reference(joint, k)
    assert ((_distances(joint) <= ref_d[:, -1:]).sum(axis=1) - 1 > k).mean() > 0.3  # ties straddle eps
    # The rule decides the value: the k of largest index among the ties give another.
    expected = _variant_2(x.numpy(), y.numpy(), ref_i, k)
    _, flipped = _reference(joint[::-1], k)
    assert _variant_2(x.numpy()[::-1], y.numpy()[::-1], flipped, k) != expected

    def value(variant: int, backend: str) -> float:
        return float(ksg_mi(x, y, k, variant, standardize=False, ties="raise", backend=backend))

    assert value(2, "brute") == expected
    for variant in (1, 2):
        brute = value(variant, "brute")
        monkeypatch.setattr(nb, "TREE_LOW_DIM", 0)  # the slabs (N < TREE_MIN_N)
        assert value(variant, "tree") == brute
        monkeypatch.setattr(nb, "TREE_MIN_N", 0)
        for leaf in (3, 32, 64, 128):
            monkeypatch.setattr(nb, "TREE_LEAF", leaf)
            monkeypatch.setattr(nb, "COUNT_LEAF", leaf)
            assert value(variant, "tree") == brute, (variant, leaf)
        monkeypatch.undo()


@pytest.mark.parametrize("dim", TREE_DIMS)
@pytest.mark.parametrize("kind", TREE_KINDS)
def test_tree_neighbours_equal_brute_force(dim, kind):
    for n, leaf, x, dist in tree_cases(dim, kind):
        ranked_d, ranked_i = _reference(x, 4, dist)  # the first k of (distance, index) order: any k <= 4
        for k in (1, 3, 4):
            got_d, got_i = _kernel(x, k, "tree", leaf)
            np.testing.assert_array_equal(got_d, ranked_d[:, :k], err_msg=f"n={n} leaf={leaf} k={k}")
            np.testing.assert_array_equal(got_i, ranked_i[:, :k], err_msg=f"n={n} leaf={leaf} k={k}")


@pytest.mark.parametrize("dim", [d for d in TREE_DIMS if isinstance(d, int) and d <= CELL_MAXD])
@pytest.mark.parametrize("kind", TREE_KINDS)
def test_cell_neighbours_equal_brute_force(dim, kind):
    for n, _leaf, x, dist in tree_cases(dim, kind):
        ranked_d, ranked_i = _reference(x, 4, dist)  # the first k of (distance, index) order: any k <= 4
        for k in (1, 3, 4):
            for _path, size in CELL_PATHS:
                got_d, got_i = _kernel(x, k, "cells", size)
                np.testing.assert_array_equal(got_d, ranked_d[:, :k], err_msg=f"n={n} cell={size} k={k}")
                np.testing.assert_array_equal(got_i, ranked_i[:, :k], err_msg=f"n={n} cell={size} k={k}")


@pytest.mark.parametrize("dim", [2, 3, 4])
def test_cell_search_on_few_points_and_extreme_magnitudes_equals_brute_force(dim):
    # n = 2 .. k + 1 (one cell: no neighbour beyond it), an integer lattice whose slices end exactly at
    # a neighbour's distance, coordinates near 1e300 and near 1e-300 (subnormal differences).
    rng = np.random.default_rng(dim)
    lattice = rng.integers(0, 3, (300, dim)).astype(np.float64)
    cases = [rng.standard_normal((n, dim)) for n in range(2, 6)]
    cases += [lattice, lattice * 1e300, rng.standard_normal((300, dim)) * 1e-300]
    for x in cases:
        for k in range(1, min(5, len(x))):
            ref_d, ref_i = _reference(x, k)
            for _path, size in CELL_PATHS:
                got_d, got_i = _kernel(x, k, "cells", size)
                np.testing.assert_array_equal(got_d, ref_d, err_msg=f"n={len(x)} cell={size} k={k}")
                np.testing.assert_array_equal(got_i, ref_i, err_msg=f"n={len(x)} cell={size} k={k}")


def test_cell_search_refuses_distances_that_overflow():
    x = np.array([[-1e308, 0.0], [1e308, 0.0], [1e308, 1.0]])  # the first point's neighbours lie at inf
    with pytest.raises(ValueError, match="overflow"):
        nb.kth_neighbour([torch.from_numpy(x)], 2, "chebyshev", "tree")


def test_cell_kernel_refuses_a_grid_of_more_cells_than_points():
    x, bounds, data = np.zeros((10, 2)), np.empty(10), np.empty(20)  # g = 4: 16 cells
    order, start = np.empty(10, dtype=np.int64), np.empty(17, dtype=np.int64)
    with pytest.raises(ValueError, match="g\\^dim <= n"):
        nb._maxnorm.cells(x, 10, 2, 4, order, bounds, start, data)


@pytest.mark.parametrize("path,size", [("tree", 32), ("tree", 64), ("slabs", 64), ("cells", 1), ("cells", 4)])
def test_a_range_of_queries_that_cuts_leaves_writes_exactly_its_rows(path, size):
    x = _points("awkward", 1000, 5, seed=7)
    ref_d, ref_i = _reference(x, 3)
    parts_d, parts_i = np.full((1000, 3), np.nan), np.full((1000, 3), -2, dtype=np.int64)
    for first, last in ((0, 13), (13, 500), (500, 517), (517, 1000)):
        got_d, got_i = _kernel(x, 3, path, size, first, last)
        written = (got_i >= 0).all(axis=1)
        assert written.sum() == last - first and ((got_i == -2).all(axis=1) | written).all()
        parts_d[written], parts_i[written] = got_d[written], got_i[written]
    np.testing.assert_array_equal(parts_d, ref_d)
    np.testing.assert_array_equal(parts_i, ref_i)


@pytest.mark.parametrize("dim", [1, 2, 7, 10, 11, 33, 128])
def test_the_search_forced_onto_the_tree_equals_brute_force(monkeypatch, dim):
    # kth_neighbour as the estimators call it, at N far below TREE_MIN_N: leaves of 8 (query leaves
    # that soon go on point by point, and k beyond a leaf, so that bounds start infinite), of 64
    # (the default: whole leaves walk the tree, most reference leaves left after a few dimensions) and
    # of 128 (256 in more dimensions, as knn_leaf doubles them: the kernel's largest leaves).
    monkeypatch.setattr(nb, "TREE_MIN_N", 0)
    x = torch.from_numpy(_points("gaussian", 600, dim, seed=dim))
    x[300:310] = x[:10]  # duplicates: neighbours at distance 0, decided by index
    parts = [x] if dim == 1 else [x[:, : dim // 2], x[:, dim // 2 :]]
    for k in (1, 3, 20):
        ref_eps, ref_idx = nb.kth_neighbour(parts, k, "chebyshev", "brute")
        for leaf in (8, 64, 128):
            monkeypatch.setattr(nb, "TREE_LEAF", leaf)
            eps, idx = nb.kth_neighbour(parts, k, "chebyshev", "tree")
            assert torch.equal(eps, ref_eps), (k, leaf)
            assert torch.equal(idx, ref_idx), (k, leaf)


def test_duplicated_rows_found_with_a_distinct_first_column_or_without():
    from iblearn.functional.knn.ksg import duplicated_rows

    g = torch.Generator().manual_seed(0)
    t = torch.randn(500, 3, generator=g, dtype=torch.float64)
    assert not bool(duplicated_rows(t).any())
    t[7] = t[300]
    assert duplicated_rows(t).nonzero()[:, 0].tolist() == [7, 300]
    t[:, 0] = torch.round(t[:, 0])  # the first column repeats: the rows are compared
    assert duplicated_rows(t).nonzero()[:, 0].tolist() == [7, 300]


def test_the_kept_jitter_gives_the_drawn_ones_values_and_rejitters_alike():
    from iblearn.functional.knn import ksg as _ksg

    g = torch.Generator().manual_seed(1)
    # Two levels of 10,000 rows beside a constant column: the first jitter leaves some rows tied.
    lattice = torch.ones(20_000, 2, dtype=torch.float64)
    lattice[:, 0] = torch.randint(0, 2, (20_000,), generator=g).to(torch.float64)
    first = torch.randn(lattice.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    assert bool(_ksg.duplicated_rows(lattice / 2 + _ksg.JITTER * first * torch.tensor([1.0, 0.0])).any())
    cached = _ksg.ready(lattice, "x", standardize=True, ties="jitter", seed=3)
    kept = _ksg.NOISE_CACHE_MAX
    _ksg.NOISE_CACHE_MAX = -1  # drawn afresh
    try:
        drawn = _ksg.ready(lattice, "x", standardize=True, ties="jitter", seed=3)
    finally:
        _ksg.NOISE_CACHE_MAX = kept
    assert torch.equal(cached, drawn)
