"""The compiled kernel's k-d tree range counts against brute force, point for point.

The tree's counts add whole nodes inside a ball and prune nodes outside it by box tests, and
test all the points of a query leaf against a node at once; every such shortcut must give
the very counts of comparing each pair: ``#{j != i : max_d |x_id - x_jd| < r_i}`` (``<=`` when
inclusive), including ties, duplicates and boxes that end exactly at a radius. The kernel is called
directly, so that one dimension, leaf sizes from 1 to 64 and ranges of queries that cut leaves are
all covered.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import torch

from iblearn.functional.knn import neighbors as nb
from tests.conftest import gen

pytestmark = pytest.mark.skipif(not nb.HAVE_KERNEL, reason="the compiled kernel was not built")


def _distances(x: np.ndarray) -> np.ndarray:
    dist = np.zeros((len(x), len(x)))
    for col in x.T:  # a column at a time: n x n memory in 128 dimensions
        np.maximum(dist, np.abs(col[:, None] - col[None, :]), out=dist)
    return dist


def _brute(x: np.ndarray, r: np.ndarray, inclusive: bool, dist: np.ndarray | None = None) -> np.ndarray:
    dist = _distances(x) if dist is None else dist
    within = dist <= r[:, None] if inclusive else dist < r[:, None]
    return within.sum(axis=1) - within[np.arange(len(x)), np.arange(len(x))]


def _tree_counts(
    x: np.ndarray, r: np.ndarray, inclusive: bool, leaf: int, first: int = 0, last: int | None = None
) -> np.ndarray:
    """The kernel's tree counts for the points at layout positions first..last-1, in the caller's order
    (-1 for the points outside the range, whose rows the kernel must not write)."""
    n = len(x)
    last = n if last is None else last
    depth = max(0, math.ceil(math.log2(n / leaf))) if n > leaf else 0
    nodes = 2 ** (depth + 1) - 1
    order, span = np.empty(n, dtype=np.int64), np.empty(2 * nodes, dtype=np.int64)
    boxes, data = np.empty(2 * nodes * x.shape[1]), np.empty(n * x.shape[1])
    nb._maxnorm.build(np.ascontiguousarray(x), n, x.shape[1], depth, order, span, boxes, data)
    layout = (data, n, x.shape[1], depth, span, boxes)
    found = np.full(n, -1, dtype=np.int64)
    nb._maxnorm.count(layout, np.ascontiguousarray(r[order]), inclusive, first, last, found)
    counts = np.empty(n, dtype=np.int64)
    counts[order] = found
    return counts


def _points(kind: str, n: int, dim: int, seed: int) -> np.ndarray:
    g = gen(seed)
    x = torch.randn(n, dim, generator=g, dtype=torch.float64)
    if kind == "coarse":  # ties in every coordinate: box edges and medians fall between equal values
        x = torch.round(x * 2) / 2
    elif kind == "awkward":  # a constant column, a three-valued one, repeated rows
        if dim >= 2:
            x[:, 0] = 0.25
        if dim >= 3:
            x[:, 1] = torch.randint(0, 3, (n,), generator=g).to(torch.float64)
        m = min(20, n // 3)
        x[n // 2 : n // 2 + m] = x[:m]
    return x.numpy()


def _radii(dist: np.ndarray, seed: int) -> list[np.ndarray]:
    """Given the distance matrix: the 3rd neighbour's distance (so that a neighbour sits exactly at
    every radius), 0.7 times it, and random radii."""
    eps = np.sort(dist, axis=1)[:, min(3, len(dist) - 1)]
    eps = np.where(eps > 0, eps, 1.0)
    rand = np.random.default_rng(seed).uniform(0.1, 1.5, len(dist))
    return [eps, 0.7 * eps, rand]


#: The widths and the kinds of points every search of the tree is checked in against brute force, and
#: the (N, points a leaf) of the trees: leaves of 2 - 5 points make deep trees whose query leaves soon go
#: on point by point; of 32 and 64, leaves whose points walk the tree together.
TREE_DIMS = [
    1,
    2,
    3,
    5,
    10,
    16,
    pytest.param(64, marks=pytest.mark.slow),
    pytest.param(128, marks=pytest.mark.slow),
]
TREE_KINDS = ["gaussian", "coarse", "awkward"]
TREE_SIZES = ((5, 2), (70, 3), (300, 5), (400, 32), (700, 64), (900, 128), (1200, 256))


def tree_cases(dim: int, kind: str) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """``(n, points a leaf, x, distance matrix)`` for each of :data:`TREE_SIZES`."""
    for n, leaf in TREE_SIZES:
        x = _points(kind, n, dim, seed=dim + n)
        yield n, leaf, x, _distances(x)


@pytest.mark.parametrize("dim", TREE_DIMS)
@pytest.mark.parametrize("kind", TREE_KINDS)
def test_tree_counts_equal_brute_force(dim, kind):
    for n, leaf, x, dist in tree_cases(dim, kind):
        for r in _radii(dist, seed=n):
            for inclusive in (False, True):
                got = _tree_counts(x, r, inclusive, leaf)
                np.testing.assert_array_equal(got, _brute(x, r, inclusive, dist))


@pytest.mark.parametrize("leaf", [2, 8, 16, 32, 64, 256])
@pytest.mark.parametrize("inclusive", [False, True])
def test_tree_counts_on_a_grid_whose_boxes_end_exactly_at_the_radius(leaf, inclusive):
    # An integer grid and integer radii: node boxes (of whole leaves and of the points a query leaf
    # tests at once) lie at exactly the radius from many queries, the boundary of every box test.
    x = np.stack(np.meshgrid(*[np.arange(5.0)] * 4), axis=-1).reshape(-1, 4)
    x = x[np.random.default_rng(0).permutation(len(x))]
    r = np.random.default_rng(1).integers(1, 4, len(x)).astype(np.float64)
    np.testing.assert_array_equal(_tree_counts(x, r, inclusive, leaf), _brute(x, r, inclusive))


@pytest.mark.parametrize("inclusive", [False, True])
def test_tree_counts_of_duplicates_and_of_radii_that_differ_by_an_ulp(inclusive):
    # 300 points, each five times: duplicates inside and across leaves; each radius one ulp around a
    # distance that occurs, so that < and <= differ for many pairs.
    base = _points("coarse", 300, 5, seed=4)
    x = np.repeat(base, 5, axis=0)[np.random.default_rng(2).permutation(1500)]
    r = _radii(_distances(x), seed=5)[0]
    for radius in (r, np.nextafter(r, 0), np.nextafter(r, np.inf)):
        np.testing.assert_array_equal(_tree_counts(x, radius, inclusive, 32), _brute(x, radius, inclusive))


def by_ranges(counts: Callable[[int, int], np.ndarray], n: int) -> np.ndarray:
    """The counts of ``n`` points made a range of layout positions at a time, ``counts(first, last)``
    giving -1 outside its range: each range writes exactly its rows (ranges that cut leaves and cells,
    as the Python side's split between threads may)."""
    parts = np.full(n, -1, dtype=np.int64)
    for first, last in ((0, 13), (13, n // 2), (n // 2, n // 2 + 17), (n // 2 + 17, n)):
        got = counts(first, last)
        assert (got >= 0).sum() == last - first
        parts = np.where(got >= 0, got, parts)
    return parts


def test_a_range_of_queries_that_cuts_leaves_writes_exactly_its_rows():
    x = _points("gaussian", 1000, 5, seed=6)
    r = _radii(_distances(x), seed=6)[0]
    brute = _brute(x, r, False)
    np.testing.assert_array_equal(_tree_counts(x, r, False, 32), brute)
    np.testing.assert_array_equal(by_ranges(lambda a, b: _tree_counts(x, r, False, 32, a, b), 1000), brute)


def _plane_counts(x: np.ndarray, r: np.ndarray, inclusive: bool) -> np.ndarray:
    """The kernel's sweep of a two-dimensional ``x``, as :func:`~iblearn.functional.knn.neighbors.count_index`
    lays it out."""
    _, layout = nb._plane_layout(x)
    found = np.full(len(x), -1, dtype=np.int64)
    nb._maxnorm.plane_count(*layout, len(x), np.ascontiguousarray(r), inclusive, found)
    return found


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_plane_counts_equal_brute_force(kind):
    # Runs that end exactly at a radius (the 3rd neighbour's), tied coordinates ("coarse": the same
    # value at both ends of a run), a constant column and repeated rows ("awkward"), one point alone.
    for n in (1, 2, 5, 70, 700):
        x = _points(kind, n, 2, seed=n)
        dist = _distances(x)
        for r in _radii(dist, seed=n):
            for radius in (r, np.nextafter(r, 0), np.nextafter(r, np.inf)):
                for inclusive in (False, True):
                    got = _plane_counts(x, radius, inclusive)
                    np.testing.assert_array_equal(got, _brute(x, radius, inclusive, dist))


def test_two_dimensional_counts_off_the_grid_take_the_plane_where_it_is_faster(monkeypatch):
    x = _points("gaussian", 300, 2, seed=7)
    r = _radii(_distances(x), seed=7)[0]
    assert isinstance(nb.count_index(x)[1], nb.Grid)
    monkeypatch.setattr(nb, "COUNT_CELL_MAX_DIM", 1)
    assert len(nb.count_index(x)[1]) == 2
    monkeypatch.setattr(nb, "PLANE_MAX_N", 299)
    assert len(nb.count_index(x)[1]) == 8  # the tree, with its float32 copy
    assert torch.equal(
        nb.count_within(torch.from_numpy(x), torch.from_numpy(r), "chebyshev", "tree", inclusive=False),
        torch.from_numpy(_brute(x, r, False)),
    )


def test_a_plane_laid_out_from_known_orders_counts_as_the_sorted_one(monkeypatch):
    x = _points("gaussian", 300, 2, seed=8)
    r = _radii(_distances(x), seed=8)[0]
    orders = [np.argsort(col) for col in x.T]
    laid = nb.ordered_index(x, orders)
    assert len(laid[1]) == 2  # the plane's
    for got, want in zip(laid[1], nb._plane_layout(x)[1], strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(nb.count_in_index(laid, r, False).numpy(), _brute(x, r, False))
    monkeypatch.setattr(nb, "PLANE_MAX_N", 299)  # where the counts leave the plane, count_index's layout
    assert isinstance(nb.ordered_index(x, orders)[1], nb.Grid)


@pytest.mark.parametrize("inclusive", [False, True])
def test_a_column_counted_from_its_known_order_counts_as_the_sorted_one(inclusive):
    rng = np.random.default_rng(9)
    x = np.round(rng.standard_normal((400, 1)), 1)  # ties, runs that end exactly at a radius
    r = np.where(rng.random(400) < 0.5, 0.1, rng.uniform(0.01, 0.5, 400))
    order = np.argsort(x[:, 0], kind="stable")
    xt, rt = torch.from_numpy(x), torch.from_numpy(r)
    got = nb.count_within(xt, rt, "chebyshev", "tree", inclusive=inclusive, order=order)
    np.testing.assert_array_equal(got.numpy(), _brute(x, r, inclusive))
    assert torch.equal(got, nb.count_within(xt, rt, "chebyshev", "tree", inclusive=inclusive))


def _sweep_and_tree(x: np.ndarray, radius: np.ndarray, inclusive: bool) -> tuple[np.ndarray, np.ndarray]:
    """The counts of ``x (N, 2)`` on the plane's sweep and on the tree (the grid's and the sweep's
    bounds set below 2 dimensions and N)."""
    sweep = nb.count_in_index(
        nb.ordered_index(x, [np.argsort(c, kind="stable") for c in x.T]), radius, inclusive
    )
    kept = nb.PLANE_MAX_N, nb.COUNT_CELL_MAX_DIM
    nb.PLANE_MAX_N, nb.COUNT_CELL_MAX_DIM = 0, 1
    try:
        tree = nb.count_in_index(nb.count_index(x), radius, inclusive)
    finally:
        nb.PLANE_MAX_N, nb.COUNT_CELL_MAX_DIM = kept
    return sweep.numpy(), tree.numpy()


def _tied_plane(kind: str, n: int, seed: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """``(n, 2)`` points of a lattice (every distance an integer, runs that end exactly at a radius) or of
    heavy ties (90% of the points on three), and radii at exact distances and an ulp either side."""
    rng = np.random.default_rng(seed)
    if kind == "lattice":
        x = rng.integers(0, 60, (n, 2)).astype(np.float64)
    else:
        x = rng.choice([0.0, 1.0, 3.0, 0.5], (n, 2), p=[0.7, 0.15, 0.05, 0.1])
    reach = np.abs(x - x[rng.integers(0, n, n)]).max(axis=1)  # a random point's distance
    reach = np.where(reach > 0, reach, 1.0)
    radii = [np.full(n, 1.0), np.full(n, 2.0), reach]
    return x, [r for base in radii for r in (base, np.nextafter(base, 0), np.nextafter(base, np.inf))]


@pytest.mark.parametrize("kind", ["lattice", "heavy ties"])
def test_the_sweep_counts_as_the_tree_on_ties_at_exact_radii(kind):
    x, radii = _tied_plane(kind, 20_000, seed=3)
    for radius in radii:
        for inclusive in (False, True):
            sweep, tree = _sweep_and_tree(x, radius, inclusive)
            np.testing.assert_array_equal(sweep, tree)


@pytest.mark.slow
@pytest.mark.parametrize("n", [50_000, nb.PLANE_MAX_N])
@pytest.mark.parametrize("kind", ["lattice", "heavy ties"])
def test_the_sweep_counts_as_the_tree_up_to_its_bound(kind, n):
    x, radii = _tied_plane(kind, n, seed=n)
    assert len(nb.ordered_index(x, [np.argsort(c) for c in x.T])[1]) == 2  # the sweep's, at its bound too
    for radius in radii:
        for inclusive in (False, True):
            sweep, tree = _sweep_and_tree(x, radius, inclusive)
            np.testing.assert_array_equal(sweep, tree)
