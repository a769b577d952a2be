"""The k-d tree's k-th neighbour search with its float32 first pass (_maxnorm_knn.h, float32_bound):
the same neighbours and distances, bit for bit, as the float64 search and as brute force.

The pass may only leave out a leaf none of whose points lies within the k-th distance in float64, by a
bound on the rounding of the float32 distances. The samples test that bound where it is tight or
breaks down: coordinates far from zero whose differences float32 cannot resolve, heavy tails (Student-t
with one degree of freedom), ties on a lattice, magnitudes near and past 1e30 (where the pass gives way
to the float64 one) and beyond float32's range, and magnitudes in float32's subnormal range and far
below it.
"""

from __future__ import annotations

import numpy as np
import pytest

from iblearn.functional.knn import neighbors as nb
from tests.functional.knn.test_knn_ties import _reference

pytestmark = pytest.mark.skipif(not nb.HAVE_KERNEL, reason="the compiled kernel was not built")

N = 400
KINDS = ["gaussian", "student_t1", "lattice", "unresolved", "near_1e30", "past_float32", "subnormal", "tiny"]


def _sample(kind: str, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((N, dim))
    if kind == "student_t1":
        return rng.standard_t(1.0, (N, dim))
    if kind == "lattice":  # ties: many neighbours at exactly the k-th distance, decided by index
        x = rng.integers(0, 4, (N, dim)).astype(np.float64)
        x[N // 2 : N // 2 + 40] = x[:40]
        return x
    if kind == "unresolved":  # within 8 float32 spacings of 1000: distances float32 rounds by a spacing
        return 1000.0 + rng.uniform(0, 8, (N, dim)) * 2.0**-14
    if kind == "near_1e30":  # leaves on either side of the pass's 1e30
        return z * 3e29
    if kind == "past_float32":  # a tenth of the points beyond float32's largest value, the rest small
        z[rng.random(N) < 0.1] *= 1e39
        return z
    if kind == "subnormal":  # within 8 float32 subnormal spacings of 0: rounded by 2^-150, not relatively
        return rng.uniform(-4, 4, (N, dim)) * 2.0**-149
    return z * (1e-300 if kind == "tiny" else 1.0)


def _search(layout: tuple, order: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    dist, idx = np.empty((N, k)), np.empty((N, k), dtype=np.int64)
    nb._maxnorm.knn(layout, order, k, 0, N, dist, idx)
    out_d, out_i = np.empty_like(dist), np.empty_like(idx)
    out_d[order], out_i[order] = dist, idx
    return out_d, out_i


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dim", range(1, 15))
def test_the_float32_pass_gives_the_float64_neighbours(kind, dim):
    x = _sample(kind, dim, seed=dim)
    ranked_d, ranked_i = _reference(x, 10)  # the first k of (distance, index) order, any k <= 10
    for leaf in (8, 128):
        order, layout = nb._tree_layout(x, leaf, float32=True)
        assert len(layout) == 8 and layout[6].dtype == np.float32
        for k in range(1, 11):
            got_d, got_i = _search(layout, order, k)
            plain_d, plain_i = _search(layout[:6], order, k)
            np.testing.assert_array_equal(got_d, plain_d, err_msg=f"leaf={leaf} k={k}")
            np.testing.assert_array_equal(got_i, plain_i, err_msg=f"leaf={leaf} k={k}")
            np.testing.assert_array_equal(got_d, ranked_d[:, :k], err_msg=f"leaf={leaf} k={k}")
            np.testing.assert_array_equal(got_i, ranked_i[:, :k], err_msg=f"leaf={leaf} k={k}")


def test_the_search_reads_the_float32_copy():
    # A copy that disagrees with the data (every point moved 100 away) makes the pass leave out leaves
    # that hold neighbours: so the searches above did go through it.
    x = _sample("gaussian", 6, seed=0)
    order, layout = nb._tree_layout(x, 8, float32=True)
    moved = (*layout[:6], layout[6] + np.float32(100.0), layout[7])
    ranked_d, _ = _reference(x, 3)
    np.testing.assert_array_equal(_search(layout, order, 3)[0], ranked_d)
    assert not np.array_equal(_search(moved, order, 3)[0], ranked_d)


def test_the_kernel_rejects_a_float32_copy_of_the_wrong_size():
    order, layout = nb._tree_layout(_sample("gaussian", 3, seed=1), 8, float32=True)
    dist, idx = np.empty((N, 2)), np.empty((N, 2), dtype=np.int64)
    with pytest.raises(ValueError, match="data32"):
        nb._maxnorm.knn((*layout[:6], layout[6][:-1], layout[7]), order, 2, 0, N, dist, idx)
    with pytest.raises(ValueError, match="leaf_max"):
        nb._maxnorm.knn((*layout[:7], layout[7][:-1]), order, 2, 0, N, dist, idx)
    with pytest.raises(TypeError, match="layout"):
        nb._maxnorm.knn(layout[:7], order, 2, 0, N, dist, idx)
