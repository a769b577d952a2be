"""The compiled kernel's range counts on the grid of cells against brute force, point for point.

The grid's counts add the runs of cells that lie wholly within a radius from the layout's starts, without
reading their points, and read the rest; both must give the very counts of comparing each pair:
``#{j != i : max_d |x_id - x_jd| < r_i}`` (``<=`` when inclusive), including ties, duplicates, radii an
ulp either side of a distance and cell boundaries at exactly a radius. The kernel is called directly, so
that grids of one cell to one point a cell and ranges of queries are all covered.
"""

from __future__ import annotations

import numpy as np
import pytest

from iblearn.functional.knn import neighbors as nb
from tests.functional.knn.test_maxnorm_counts import (
    TREE_KINDS,
    _brute,
    _distances,
    _points,
    _radii,
    _tied_plane,
    by_ranges,
)

pytestmark = pytest.mark.skipif(not nb.HAVE_KERNEL, reason="the compiled kernel was not built")


def _cell_counts(
    x: np.ndarray, r: np.ndarray, inclusive: bool, points: int, first: int = 0, last: int | None = None
) -> np.ndarray:
    """The kernel's counts on a grid of about ``points`` points a cell, for the points at layout positions
    first..last-1, in the caller's order (-1 for the others, whose rows the kernel must not write)."""
    order, grid = nb._cell_layout(x, points)
    n = len(x)
    found = np.full(n, -1, dtype=np.int64)
    last = n if last is None else last
    nb._maxnorm.cells_count(grid, np.ascontiguousarray(r[order]), inclusive, first, last, found)
    counts = np.empty(n, dtype=np.int64)
    counts[order] = found
    return counts


@pytest.mark.parametrize("dim", [1, 2, 3, 4, 6])
@pytest.mark.parametrize("kind", TREE_KINDS)
def test_cell_counts_equal_brute_force(dim, kind):
    # One point alone, grids of one cell (g = 1) to one point a cell, runs of cells that end exactly at a
    # radius (the 3rd neighbour's), tied coordinates, a constant column and repeated rows.
    for n in (1, 2, 5, 70, 700):
        x = _points(kind, n, dim, seed=n + dim)
        dist = _distances(x)
        for points in (1, 4, 16, 1000):
            for r in _radii(dist, seed=n):
                for radius in (r, np.nextafter(r, 0), np.nextafter(r, np.inf)):
                    for inclusive in (False, True):
                        got = _cell_counts(x, radius, inclusive, points)
                        np.testing.assert_array_equal(got, _brute(x, radius, inclusive, dist))


@pytest.mark.parametrize("inclusive", [False, True])
def test_cell_counts_on_a_lattice_whose_cells_end_exactly_at_the_radius(inclusive):
    # An integer grid and integer radii: the cells' boundaries are coordinates, so whole runs of cells lie
    # at exactly the radius from many queries, the boundary of the test that adds them unread.
    x = np.stack(np.meshgrid(*[np.arange(7.0)] * 3), axis=-1).reshape(-1, 3)
    x = x[np.random.default_rng(0).permutation(len(x))]
    r = np.random.default_rng(1).integers(1, 4, len(x)).astype(np.float64)
    for points in (1, 2, 8, 27):
        np.testing.assert_array_equal(_cell_counts(x, r, inclusive, points), _brute(x, r, inclusive))


@pytest.mark.parametrize("inclusive", [False, True])
def test_cell_counts_at_a_radius_of_zero_count_the_duplicates_inclusively_only(inclusive):
    # Radii of 0, which the estimators refuse but the kernel's callers may pass (conditional MI's planes
    # of duplicated points): a strict count is 0, an inclusive one the point's duplicates.
    x = np.repeat(_points("coarse", 100, 3, seed=9), 3, axis=0)
    r = np.zeros(len(x))
    want = _brute(x, r, inclusive)
    assert want.min() >= 2 if inclusive else not want.any()
    np.testing.assert_array_equal(_cell_counts(x, r, inclusive, 4), want)


def test_a_range_of_queries_writes_exactly_its_rows():
    x = _points("gaussian", 1000, 3, seed=6)
    r = _radii(_distances(x), seed=6)[0]
    parts = by_ranges(lambda first, last: _cell_counts(x, r, False, 16, first, last), 1000)
    np.testing.assert_array_equal(parts, _brute(x, r, False))


@pytest.mark.parametrize("kind", ["lattice", "heavy ties"])
def test_the_grid_counts_as_the_sweep_on_ties_at_exact_radii(kind):
    x, radii = _tied_plane(kind, 20_000, seed=3)
    index = nb.count_index(x)
    assert isinstance(index[1], nb.Grid)
    plane = nb.ordered_index(x, [np.argsort(c, kind="stable") for c in x.T])
    for radius in radii:
        for inclusive in (False, True):
            np.testing.assert_array_equal(
                nb.count_in_index(index, radius, inclusive).numpy(),
                nb.count_in_index(plane, radius, inclusive).numpy(),
            )


def test_counts_take_the_grid_in_two_and_three_dimensions_only():
    for dim, grid in ((1, False), (2, True), (3, True), (4, False)):
        x = _points("gaussian", 300, dim, seed=dim)
        assert isinstance(nb.count_index(x)[1], nb.Grid) is grid


def test_the_kernel_refuses_a_range_beyond_the_points():
    _, grid = nb._cell_layout(_points("gaussian", 50, 2, seed=1), 4)
    out, r = np.empty(50, dtype=np.int64), np.ones(50)
    with pytest.raises(ValueError, match="first <= last <= n"):
        nb._maxnorm.cells_count(grid, r, False, 0, 51, out)
    with pytest.raises(ValueError, match="radius"):
        nb._maxnorm.cells_count(grid, np.ones(49), False, 0, 50, out)
