"""The k-d tree's range counts with their float32 first pass (_maxnorm_tree.h, float32_band): the same
counts as the float64 pass and as brute force, strict and inclusive.

The pass settles a point as within or beyond the radius from its float32 distance when a bound on the
rounding says float64 would agree, and leaves the rest to the float64 distance. The bound must hold for
every point of a leaf, far from the query as well as near it, so the samples are those of the k-th
neighbour search's float32 pass (test_knn_float32.py): differences float32 cannot resolve, heavy tails,
ties, magnitudes near and past 1e30 and beyond float32's range, float32's subnormals and far below.
One more sample puts half the points near 0 and half within a few float32 spacings of 1000, and a
radius reaches across: there the rounding is that of the leaf far from the query, not of the query.
The radii put points exactly on the ball's edge (neighbours' distances, as KSG's radii are) and one
float64 spacing either side of it.
"""

from __future__ import annotations

import numpy as np
import pytest

from iblearn.functional.knn import neighbors as nb
from tests.functional.knn.test_knn_float32 import KINDS, N, _sample
from tests.functional.knn.test_maxnorm_counts import _brute, _distances

pytestmark = pytest.mark.skipif(not nb.HAVE_KERNEL, reason="the compiled kernel was not built")


def _points(kind: str, dim: int, seed: int) -> np.ndarray:
    if kind != "two_scales":
        return _sample(kind, dim, seed)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 8, (N, dim)) * 2.0**-14
    x[: N // 2] += 1000.0
    return x


def _radii(dist: np.ndarray, seed: int) -> list[np.ndarray]:
    """The 1st, 3rd, 10th and (N/2 + 3)th neighbours' distances (a point exactly at each radius), the
    3rd's one float64 spacing below and above, and random radii on the scale of the distances."""
    ranked = np.sort(dist, axis=1)
    eps = ranked[:, 3]
    scale = np.median(ranked[:, 10])
    rand = np.random.default_rng(seed).uniform(0.05, 2.0, len(dist)) * scale
    near = [ranked[:, 1], eps, ranked[:, 10], np.nextafter(eps, 0), np.nextafter(eps, np.inf)]
    return [*near, ranked[:, N // 2 + 3], rand]


def _counts(layout: tuple, order: np.ndarray, r: np.ndarray, inclusive: bool) -> np.ndarray:
    found, counts = np.empty(N, dtype=np.int64), np.empty(N, dtype=np.int64)
    nb._maxnorm.count(layout, np.ascontiguousarray(r[order]), inclusive, 0, N, found)
    counts[order] = found
    return counts


@pytest.mark.parametrize("kind", [*KINDS, "two_scales"])
@pytest.mark.parametrize("dim", range(1, 13))
def test_the_float32_pass_gives_the_float64_counts(kind, dim):
    x = _points(kind, dim, seed=100 + dim)
    dist = _distances(x)
    for leaf in (8, nb.COUNT_LEAF):
        order, layout = nb._tree_layout(x, leaf, float32=True)
        for i, r in enumerate(_radii(dist, seed=dim)):
            for inclusive in (False, True):
                got = _counts(layout, order, r, inclusive)
                where = f"leaf={leaf} radii={i} inclusive={inclusive}"
                np.testing.assert_array_equal(got, _counts(layout[:6], order, r, inclusive), err_msg=where)
                np.testing.assert_array_equal(got, _brute(x, r, inclusive, dist), err_msg=where)


def test_the_counts_read_the_float32_copy():
    # A copy that disagrees with the data (every point moved 100 away) settles points wrongly: so the
    # counts above did go through it, and count_index lays the tree out with it.
    x = _sample("gaussian", 6, seed=0)
    r = np.sort(_distances(x), axis=1)[:, 3]
    order, layout = nb._tree_layout(x, 8, float32=True)
    moved = (*layout[:6], layout[6] + np.float32(100.0), layout[7])
    want = _brute(x, r, False)
    np.testing.assert_array_equal(_counts(layout, order, r, False), want)
    assert not np.array_equal(_counts(moved, order, r, False), want)
    assert len(nb.count_index(x)[1]) == 8
