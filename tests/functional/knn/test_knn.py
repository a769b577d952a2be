"""KSG, Kozachenko-Leonenko and mixed KSG: against closed forms, against scikit-learn, across backends,
by properties, and on bad input.

Tolerances are about four standard deviations of the estimator at the given N, measured over 20 seeds
(KSG at N=2000 on the bivariate normal: sd 0.024; under independence: sd 0.017; mixed KSG on the
categorical-uniform task: sd 0.010; Kozachenko-Leonenko in 2-D: sd 0.028). The seeds are fixed, so a
test never flakes; the tolerance says how far a correct estimator could land.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from iblearn.data import additive_uniform, bivariate_normal, categorical_uniform, dense_gaussian
from iblearn.functional import kl_entropy, ksg_mi, mixed_ksg_mi
from iblearn.functional.knn import ksg as knn_module
from iblearn.functional.knn import neighbors as nb
from tests.conftest import gen


def _standardized(t: torch.Tensor) -> torch.Tensor:
    return (t - t.mean(0)) / t.std(0, unbiased=False)


@pytest.fixture(params=["compiled", "compiled k-d tree", "scipy"])
def tree_kernel(request, monkeypatch):
    """Runs a test on every max-norm path of the CPU backend: the compiled kernel's slabs, 7 points to a
    slab (many slabs, partly filled distance blocks), its k-d tree (taken at large N; here at any N, 5
    points to a leaf, so that the tree has many levels), and scipy's k-d tree, which answers where the
    kernel is not built."""
    if request.param.startswith("compiled"):
        if not nb.HAVE_KERNEL:
            pytest.skip("the compiled kernel was not built")
        monkeypatch.setattr(nb, "_slab_width", lambda n: 7)
        monkeypatch.setattr(nb, "TREE_LOW_DIM", 0)  # the slabs, unless forced onto the tree
        if request.param == "compiled k-d tree":
            monkeypatch.setattr(nb, "TREE_MIN_N", 0)
            monkeypatch.setattr(nb, "TREE_LEAF", 5)
            monkeypatch.setattr(nb, "COUNT_LEAF", 5)
    else:
        monkeypatch.setattr(nb, "HAVE_KERNEL", False)
    return request.param


@pytest.mark.skipif(sys.platform != "linux", reason="only Linux is known to build it here")
def test_the_compiled_kernel_is_built():
    # setup.py marks the extension optional, so a failed build would otherwise pass unnoticed here.
    assert nb.HAVE_KERNEL


@pytest.mark.parametrize(
    "task", [bivariate_normal(0.75), additive_uniform(0.1), additive_uniform(0.75)], ids=lambda t: t.name
)
@pytest.mark.parametrize("k", [3, 5])
def test_ksg_matches_scikit_learn_in_one_dimension(task, k):
    sklearn = pytest.importorskip("sklearn.feature_selection")
    x, y = (_standardized(t) for t in task.sample(1500, seed=1))
    theirs = sklearn.mutual_info_regression(x.numpy(), y.numpy()[:, 0], n_neighbors=k, random_state=0)[0]
    # scikit-learn adds noise of relative size 1e-10 and clips at 0; both are far below 1e-4 here.
    assert float(ksg_mi(x, y, k)) == pytest.approx(theirs, abs=1e-4)


@pytest.mark.parametrize("variant", [1, 2])
def test_ksg_reaches_the_closed_form(variant):
    task = bivariate_normal(0.75)
    x, y = task.sample(2000, seed=3)
    assert float(ksg_mi(x, y, 3, variant)) == pytest.approx(task.mutual_information, abs=0.1)


def test_ksg_near_zero_under_independence():
    x = torch.randn(2000, 2, generator=gen(1), dtype=torch.float64)
    y = torch.randn(2000, 2, generator=gen(2), dtype=torch.float64)
    assert abs(float(ksg_mi(x, y))) < 0.07


@pytest.mark.parametrize("variant", [1, 2])
def test_tree_and_brute_force_give_the_same_value(variant, tree_kernel):
    x, y = dense_gaussian(5).sample(800, seed=0)
    assert float(ksg_mi(x, y, 4, variant, backend="tree")) == pytest.approx(
        float(ksg_mi(x, y, 4, variant, backend="brute")), abs=1e-12
    )


def test_mixed_ksg_takes_brute_force_for_euclidean_distances_where_it_is_faster(monkeypatch):
    # The Euclidean switch moves up two dimensions a doubling of N (4 at 5,000, 8 at 20,000); the
    # max-norm keeps the tree up to TREE_MAX_DIM.
    assert [knn_module.mixed_tree_dim("euclidean", n) for n in (1000, 5000, 20_000, 10**7)] == [0, 4, 7, 20]
    assert knn_module.mixed_tree_dim("chebyshev", 1000) == nb.TREE_MAX_DIM
    picked = []
    monkeypatch.setattr(
        knn_module, "mixed_counts_brute", lambda *a: picked.append("brute") or torch.ones(len(a[0]))
    )
    x, lab = categorical_uniform(5).sample(5000, seed=0)
    mixed_ksg_mi(torch.cat([x, torch.randn(5000, 9, generator=gen(), dtype=torch.float64)], 1), lab)
    mixed_ksg_mi(x, lab)  # 1 dim: the tree
    assert picked == ["brute"]


def test_mixed_and_entropy_backends_agree(tree_kernel):
    x, lab = categorical_uniform(5).sample(600, seed=0)
    x3 = torch.cat([x, torch.randn(600, 2, generator=gen(), dtype=torch.float64)], dim=1)
    for metric in ("euclidean", "chebyshev"):
        a = mixed_ksg_mi(x3, lab, 3, metric=metric, backend="tree")
        b = mixed_ksg_mi(x3, lab, 3, metric=metric, backend="brute")
        assert float(a) == pytest.approx(float(b), abs=1e-12)
        assert float(kl_entropy(x3, metric=metric, backend="tree")) == pytest.approx(
            float(kl_entropy(x3, metric=metric, backend="brute")), abs=1e-12
        )


def _coarse(n: int, dim: int) -> torch.Tensor:
    """Gaussian points whose first two columns take only 8 values: many ties in both pruning coordinates,
    so slab edges and bisection fall between equal values."""
    x = torch.randn(n, dim, generator=gen(), dtype=torch.float64)
    x[:, :2] = torch.round(x[:, :2] * 2) / 2
    return x


@pytest.mark.parametrize("inclusive", [False, True])
@pytest.mark.parametrize("dim", [1, 4])
def test_counts_agree_across_methods(monkeypatch, tree_kernel, inclusive, dim):
    for x in (torch.randn(700, dim, generator=gen(), dtype=torch.float64), _coarse(700, dim)):
        r = torch.rand(700, generator=gen(1), dtype=torch.float64) + 0.2
        brute = nb.count_within(x, r, "chebyshev", "brute", inclusive=inclusive)
        assert torch.equal(nb.count_within(x, r, "chebyshev", "tree", inclusive=inclusive), brute)
        monkeypatch.setattr(nb, "CHUNK_BYTES", 2**16)  # several row chunks in the brute force
        assert torch.equal(nb.count_within(x, r, "chebyshev", "brute", inclusive=inclusive), brute)


@pytest.mark.parametrize("dim", [1, 3, 10])
def test_kth_neighbours_agree_across_methods(tree_kernel, dim):
    x = _coarse(600, dim) if dim > 1 else torch.randn(600, 1, generator=gen(), dtype=torch.float64)

    def distances_to(idx: torch.Tensor) -> torch.Tensor:
        return (x[:, None, :] - x[idx]).abs().amax(dim=2).sort(dim=1).values

    for k in (1, 4):
        eps, idx = nb.kth_neighbour([x], k, "chebyshev", "tree")
        eps_b, idx_b = nb.kth_neighbour([x], k, "chebyshev", "brute")
        assert torch.equal(eps, eps_b)  # the same float64 numbers, not merely close
        # The neighbours themselves: at the k smallest distances (ties may pick other points at the
        # same distance), and never the point itself.
        assert torch.equal(distances_to(idx), distances_to(idx_b))
        assert not (idx == torch.arange(600)[:, None]).any()


@pytest.mark.parametrize("inclusive", [False, True])
def test_counts_and_neighbours_on_a_grid_where_boxes_end_exactly_at_the_radius(tree_kernel, inclusive):
    # The k-d tree adds a node wholly inside the ball and prunes one wholly outside by its box; on an
    # integer grid with integer radii, box edges lie exactly at the radius, the boundary of both tests.
    axes = [torch.arange(5, dtype=torch.float64)] * 3
    x = torch.cartesian_prod(*axes)[torch.randperm(125, generator=gen())]
    r = torch.randint(1, 3, (125,), generator=gen(1)).to(torch.float64)
    brute = nb.count_within(x, r, "chebyshev", "brute", inclusive=inclusive)
    assert torch.equal(nb.count_within(x, r, "chebyshev", "tree", inclusive=inclusive), brute)
    for k in (1, 7, 30):
        eps = [nb.kth_neighbour([x], k, "chebyshev", backend)[0] for backend in ("tree", "brute")]
        assert torch.equal(*eps)


def test_the_kth_neighbour_is_excluded_strictly_and_included_inclusively(tree_kernel):
    x = torch.tensor([[0.0], [0.1], [0.3], [0.7]], dtype=torch.float64)
    r = torch.full((4,), 0.3, dtype=torch.float64)  # from 0.0, the point 0.3 is exactly at r
    for backend in ("tree", "brute"):
        assert nb.count_within(x, r, "chebyshev", backend, inclusive=False).tolist() == [1, 2, 1, 0]
        assert nb.count_within(x, r, "chebyshev", backend, inclusive=True).tolist() == [2, 2, 2, 0]
    # The same in two dimensions, where the kernel compares distances (in one it counts by bisection).
    x2 = torch.cat([x, torch.zeros(4, 1, dtype=torch.float64)], dim=1)
    assert nb.count_within(x2, r, "chebyshev", "tree", inclusive=False).tolist() == [1, 2, 1, 0]
    assert nb.count_within(x2, r, "chebyshev", "tree", inclusive=True).tolist() == [2, 2, 2, 0]


@pytest.mark.skipif(not nb.HAVE_KERNEL, reason="the compiled kernel was not built")
def test_the_kernel_rejects_buffers_of_the_wrong_size():
    cols, out, order = np.zeros((2, 10)), np.empty(10, dtype=np.int64), np.arange(10)
    with pytest.raises(ValueError, match="radius"):
        nb._maxnorm.count((cols, 10, 2, 1, 4), np.zeros(9), False, 0, 10, out)
    with pytest.raises(ValueError, match="k < n"):
        nb._maxnorm.knn(
            (cols, 10, 2, 1, 4), order, 10, 0, 10, np.empty((10, 10)), np.empty((10, 10), dtype=np.int64)
        )
    with pytest.raises(ValueError, match="order"):
        nb._maxnorm.knn(
            (cols, 10, 2, 1, 4), order[:-1], 3, 0, 10, np.empty((10, 3)), np.empty((10, 3), dtype=np.int64)
        )
    with pytest.raises(ValueError, match="bcol"):
        nb._maxnorm.count((cols, 10, 2, 2, 4), np.zeros(10), False, 0, 10, out)
    with pytest.raises(ValueError, match="first <= last <= n"):
        nb._maxnorm.count((cols, 10, 2, 1, 4), np.zeros(10), False, 0, 11, out)
    with pytest.raises(ValueError, match="fit in memory"):  # n * dim * 8 would wrap around to 0
        nb._maxnorm.count(
            (np.zeros(0), 2**61, 1, 0, 2**61), np.zeros(0), False, 0, 0, np.zeros(0, dtype=np.int64)
        )
    with pytest.raises(TypeError, match="layout"):
        nb._maxnorm.count((cols, 10, 2, 1), np.zeros(10), False, 0, 10, out)


@pytest.mark.skipif(not nb.HAVE_KERNEL, reason="the compiled kernel was not built")
def test_the_tree_kernel_rejects_buffers_of_the_wrong_size():
    cols, out = np.zeros((2, 10)), np.empty(10, dtype=np.int64)
    span, boxes = np.zeros(6, dtype=np.int64), np.zeros(12)  # depth 1: 3 nodes, 2 dimensions
    with pytest.raises(ValueError, match="boxes"):
        nb._maxnorm.count((cols, 10, 2, 1, span, boxes[:-1]), np.ones(10), False, 0, 10, out)
    with pytest.raises(ValueError, match="span"):
        nb._maxnorm.count((cols, 10, 2, 1, span[:-1], boxes), np.ones(10), False, 0, 10, out)
    order, data = np.empty(10, dtype=np.int64), np.empty(20)
    with pytest.raises(ValueError, match="depth"):  # 2^4 leaves for 10 points
        nb._maxnorm.build(cols, 10, 2, 4, order, span, boxes, data)
    with pytest.raises(ValueError, match="data"):
        nb._maxnorm.build(cols, 10, 2, 1, order, span, boxes, data[:-1])
    with pytest.raises(ValueError, match="256 points"):  # one leaf of 300 points
        nb._maxnorm.build(
            np.zeros(300), 300, 1, 0, np.empty(300, dtype=np.int64), span[:2], boxes[:2], np.empty(300)
        )
    with pytest.raises(ValueError, match="k < n"):
        nb._maxnorm.knn(
            (cols, 10, 2, 1, span, boxes),
            order,
            10,
            0,
            10,
            np.empty((10, 10)),
            np.empty((10, 10), dtype=np.int64),
        )


def _awkward(n: int, dim: int, seed: int) -> torch.Tensor:
    """Points that make a k-d tree's life hard: a constant column, a column of 3 values (ties at every
    median), repeated rows, and Gaussian columns; of width ``dim``."""
    g = gen(seed)
    x = torch.randn(n, dim, generator=g, dtype=torch.float64)
    if dim >= 2:
        x[:, 0] = 0.25
    if dim >= 3:
        x[:, 1] = torch.randint(0, 3, (n,), generator=g).to(torch.float64)
    m = min(20, n // 3)
    x[n // 2 : n // 2 + m] = x[:m]  # duplicates
    return x


@pytest.mark.skipif(not nb.HAVE_KERNEL, reason="the compiled kernel was not built")
@pytest.mark.parametrize("dim", [1, 2, 3, 7, 16, 128])
def test_the_k_d_tree_agrees_with_brute_force(monkeypatch, dim):
    monkeypatch.setattr(nb, "TREE_MIN_N", 0)
    monkeypatch.setattr(nb, "TREE_LEAF", 3)
    monkeypatch.setattr(nb, "COUNT_LEAF", 3)
    for n in (5, 64, 300):
        x = _awkward(n, dim, seed=dim + n)
        for k in (1, 4):
            eps, idx = nb.kth_neighbour([x], k, "chebyshev", "tree")
            assert torch.equal(eps, nb.kth_neighbour([x], k, "chebyshev", "brute")[0])
            assert not (idx == torch.arange(n)[:, None]).any()
            got = (x[:, None, :] - x[idx]).abs().amax(dim=2)
            assert torch.equal(got.amax(dim=1), eps)  # the k returned are at most eps away
        r = torch.where(eps > 0, eps, torch.ones_like(eps))
        for radius in (r, r * 0.75, torch.rand(n, generator=gen(3), dtype=torch.float64) + 0.1):
            for inclusive in (False, True):
                brute = nb.count_within(x, radius, "chebyshev", "brute", inclusive=inclusive)
                assert torch.equal(
                    nb.count_within(x, radius, "chebyshev", "tree", inclusive=inclusive), brute
                )


@pytest.mark.skipif(not nb.HAVE_KERNEL, reason="the compiled kernel was not built")
def test_the_k_d_tree_gives_ksg_the_value_of_the_slabs(monkeypatch):
    x, y = dense_gaussian(5).sample(3000, seed=2)
    monkeypatch.setattr(nb, "TREE_LOW_DIM", 0)
    for variant in (1, 2):
        slabs = float(ksg_mi(x, y, 3, variant))
        monkeypatch.setattr(nb, "TREE_MIN_N", 0)
        assert float(ksg_mi(x, y, 3, variant)) == slabs  # to the last bit: the same counts
        monkeypatch.setattr(nb, "TREE_MIN_N", nb.TREE_MIN_N)


@pytest.mark.skipif(not nb.HAVE_KERNEL, reason="the compiled kernel was not built")
@pytest.mark.parametrize("tree", [False, True])
def test_threads_split_the_work_without_changing_a_number(monkeypatch, tree):
    if tree:
        monkeypatch.setattr(nb, "TREE_MIN_N", 0)
    else:
        monkeypatch.setattr(nb, "TREE_LOW_DIM", 0)
    x = _coarse(900, 4)
    eps, idx = nb.kth_neighbour([x], 3, "chebyshev", "tree")
    counts = nb.count_within(x, eps, "chebyshev", "tree", inclusive=False)
    monkeypatch.setattr(nb, "PART_POINTS", 100)  # 9 parts
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    eps3, idx3 = nb.kth_neighbour([x], 3, "chebyshev", "tree")
    assert torch.equal(eps3, eps) and torch.equal(idx3, idx)
    assert torch.equal(nb.count_within(x, eps, "chebyshev", "tree", inclusive=False), counts)


def test_auto_keeps_the_k_d_tree_to_low_dimension_and_the_kernel_further(monkeypatch):
    cpu = torch.device("cpu")
    assert nb.pick_backend("auto", cpu, 40) == "brute"  # MixedKSG, the Euclidean norm, no kernel
    assert nb.knn_max_tree_dim("euclidean") == nb.TREE_MAX_DIM
    monkeypatch.setattr(nb, "HAVE_KERNEL", True)
    assert nb.pick_backend("auto", cpu, 40, nb.knn_max_tree_dim("chebyshev")) == "tree"
    monkeypatch.setattr(nb, "HAVE_KERNEL", False)
    assert nb.pick_backend("auto", cpu, 40, nb.knn_max_tree_dim("chebyshev")) == "brute"


def test_the_kernel_searches_by_its_tree_in_low_dimension_at_any_n():
    for n in (10, 1000, 8000, 99_999):
        assert nb.uses_tree(n, 1) and nb.uses_tree(n, nb.TREE_LOW_DIM)
        assert not nb.uses_tree(n, nb.TREE_LOW_DIM + 1)  # the slabs, below TREE_MIN_N
    assert nb.TREE_LOW_DIM >= 12 and nb.uses_tree(nb.TREE_MIN_N, 40)


@pytest.mark.skipif(not nb.HAVE_KERNEL, reason="the compiled kernel was not built")
def test_distances_that_overflow_are_refused():
    x = torch.tensor([[-1.5e308], [1.5e308], [1.4e308]], dtype=torch.float64)
    with pytest.raises(ValueError, match="overflow"):
        nb.kth_neighbour([x], 2, "chebyshev", "tree")


def test_kl_entropy_of_a_gaussian_and_a_uniform():
    x = torch.randn(2000, 2, generator=gen(5), dtype=torch.float64)
    assert float(kl_entropy(x)) == pytest.approx(math.log(2 * math.pi * math.e), abs=0.1)
    u = torch.rand(2000, 2, generator=gen(6), dtype=torch.float64)  # h = 0 on the unit square
    assert float(kl_entropy(u, metric="euclidean")) == pytest.approx(0.0, abs=0.1)


def test_mixed_ksg_reaches_the_closed_form():
    task = categorical_uniform(5)
    x, lab = task.sample(2000, seed=2)
    assert float(mixed_ksg_mi(x, lab)) == pytest.approx(task.mutual_information, abs=0.04)


def test_mixed_ksg_drops_singleton_classes_and_caps_k():
    x, lab = categorical_uniform(3).sample(300, seed=0)
    base = float(mixed_ksg_mi(x, lab, 3))
    # Add a class seen once: it carries no neighbour information and must not change the estimate.
    with_single = float(
        mixed_ksg_mi(torch.cat([x, torch.tensor([[9.0]])]), torch.cat([lab, torch.tensor([7])]), 3)
    )
    assert with_single == pytest.approx(base, abs=1e-12)
    # A class of two samples works with k = 3 (its k is lowered to 1).
    x2 = torch.cat([x, torch.tensor([[20.0], [20.5]])])
    lab2 = torch.cat([lab, torch.tensor([8, 8])])
    assert math.isfinite(float(mixed_ksg_mi(x2, lab2, 3)))


def test_mixed_ksg_counts_give_the_estimate_and_its_per_row_terms():
    from iblearn.functional.knn.engine import mixed_ksg_counts

    x, lab = categorical_uniform(3).sample(300, seed=0)
    x = torch.cat([x, torch.tensor([[9.0]])])
    lab = torch.cat([lab, torch.tensor([7])])  # a class seen once: left out of the rows and of N
    counts = mixed_ksg_counts(x, lab, 3, seed=4)
    assert float(counts.mi()) == float(mixed_ksg_mi(x, lab, 3, seed=4))  # the same number, not close
    terms = counts.local()
    assert counts.n == 300 and terms.shape == (300,)
    assert float(terms.mean()) == pytest.approx(float(counts.mi()), abs=1e-12)


def test_ties_are_jittered_reproducibly_or_refused():
    x = torch.randint(0, 5, (500, 1), generator=gen()).double()
    y = x + torch.randn(500, 1, generator=gen(1), dtype=torch.float64)
    a, b = float(ksg_mi(x, y, seed=3)), float(ksg_mi(x, y, seed=3))
    assert a == b and math.isfinite(a)
    assert float(ksg_mi(x, y, seed=4)) != a
    with pytest.raises(ValueError, match="x: has duplicate samples"):
        ksg_mi(x, y, ties="raise")


def test_ties_far_from_zero_are_jittered_too(tree_kernel):
    # 1e12 + small integers: a jitter of 1e-10 sd is far below the values' ulp (1.2e-4) unless the
    # columns are centred first; a surviving tie would give a zero radius and a meaningless estimate.
    x = 1e12 + torch.randint(0, 5, (400, 2), generator=gen()).double()
    y = 1e12 + torch.randint(0, 5, (400, 2), generator=gen(1)).double()
    tree, brute = float(ksg_mi(x, y, 1, backend="tree")), float(ksg_mi(x, y, 1, backend="brute"))
    assert math.isfinite(tree) and tree == pytest.approx(brute, abs=1e-12)


def test_ties_that_survive_the_jitter_raise(monkeypatch):
    monkeypatch.setattr(knn_module, "JITTER", 0.0)
    x = torch.randint(0, 5, (300, 1), generator=gen()).double()
    with pytest.raises(ValueError, match=r"x: [0-9]+ samples stay tied after [0-9]+ rounds of jitter"):
        ksg_mi(x, torch.randn(300, 1, generator=gen(1), dtype=torch.float64))


def test_ties_the_jitter_leaves_are_jittered_again():
    # 900 tied zeros: a jitter of 1e-10 sd takes only ~2e6 distinct float64 values there, so two of the
    # 900 can land on the same one (a birthday collision, for seed 0 here and one seed in 20).
    x = torch.zeros(1000, 1, dtype=torch.float64)
    x[:100, 0] = torch.arange(1.0, 101.0)
    first = _standardized(x) + knn_module.JITTER * torch.randn(1000, 1, generator=gen(0), dtype=torch.float64)
    assert torch.unique(first).numel() == 999
    t = knn_module.prepare(x, "x", standardize=True, ties="jitter", seed=0)
    assert torch.unique(t, dim=0).shape[0] == 1000
    again = (t != first).any(dim=1)
    assert int(again.sum()) == 2  # only the two that collided are drawn again; the rest are bit-identical
    assert torch.equal(t[~again], first[~again])
    assert math.isfinite(float(mixed_ksg_mi(x, (x[:, 0] > 0).long())))


def test_a_repeated_row_is_found_though_its_projection_rounds_differently():
    # 33 rows of 6: the matrix-vector product sums the last row in another order than the first, so the
    # copy's projection differs in the last bit; exact equality of projections missed it.
    x = torch.randn(33, 6, generator=gen(), dtype=torch.float64)
    x[-1] = x[0]
    assert bool(knn_module._same_projection(_standardized(x))[[0, -1]].all())
    with pytest.raises(ValueError, match="x: has duplicate samples"):
        ksg_mi(x, torch.randn(33, 1, generator=gen(1), dtype=torch.float64), k=1, ties="raise")


def test_euclidean_distances_between_jittered_repeats_are_exact(tree_kernel):
    """Silent ReLU rows, repeated and then jittered by 1e-10: the matrix product's rounding (about 1e-14
    in the squared distance) used to give the brute-force search zeros and noise there."""
    lab = torch.randint(0, 2, (600,), generator=gen())
    x = torch.relu(torch.randn(600, 30, generator=gen(1), dtype=torch.float64) + 3 * lab[:, None])
    x[torch.rand(600, generator=gen(2)) < 0.4] = 0.0
    tree = mixed_ksg_mi(x, lab, metric="euclidean", backend="tree")
    assert float(mixed_ksg_mi(x, lab, metric="euclidean", backend="brute")) == pytest.approx(
        float(tree), abs=1e-12
    )
    assert 0.3 < float(tree) < math.log(2)


def test_ties_raise_only_on_samples_that_are_equal():
    # Distinct rows whose projections on the duplicate search's random direction coincide exactly.
    d = torch.randn(2, generator=gen(12345), dtype=torch.float64)
    x = torch.tensor([[d[1], 0.0], [0.0, d[0]], [-d[1], 0.0], [0.0, -d[0]]], dtype=torch.float64)
    assert bool(knn_module._same_projection(x).all())
    t = knn_module.prepare(x, "x", standardize=False, ties="raise", seed=0)
    assert torch.equal(t, x)


def test_inputs_that_carry_a_graph_are_accepted():
    # A layer's activations come with requires_grad; the kNN estimators are not differentiable.
    x = torch.randn(200, 2, generator=gen(), dtype=torch.float64)
    y = x + torch.randn(200, 2, generator=gen(1), dtype=torch.float64)
    labels = (y[:, 0] > 0).long()
    xg = x.clone().requires_grad_()
    assert float(ksg_mi(xg, y)) == float(ksg_mi(x, y))
    assert float(kl_entropy(xg)) == float(kl_entropy(x))
    assert float(mixed_ksg_mi(xg, labels)) == float(mixed_ksg_mi(x, labels))


def test_counts_refuse_a_zero_radius():
    x = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    for backend in ("tree", "brute"):
        with pytest.raises(ValueError, match="radius"):
            nb.count_within(x, torch.zeros(3, dtype=torch.float64), "chebyshev", backend, inclusive=False)


def test_standardization_makes_ksg_scale_free_and_constant_columns_harmless():
    x, y = dense_gaussian(5).sample(1000, seed=0)
    v = float(ksg_mi(x, y))
    assert float(ksg_mi(3.0 * x + 1.0, -0.5 * y)) == pytest.approx(v, abs=1e-9)
    with_const = torch.cat([x, torch.full((1000, 1), 2.0, dtype=torch.float64)], dim=1)
    assert float(ksg_mi(with_const, y)) == pytest.approx(v, abs=1e-12)


def test_invertible_maps_change_ksg_only_by_its_bias():
    # KSG is exactly invariant only under maps that preserve neighbour order (scalings); monotone
    # nonlinear maps change local densities. Over 20 seeds at N=2000, x -> x^3 moved the estimate by at
    # most 0.029 and (x, y) -> (sinh 2x, exp y) by at most 0.044.
    x, y = bivariate_normal(0.75).sample(2000, seed=7)
    v = float(ksg_mi(x, y))
    assert float(ksg_mi(x**3, y)) == pytest.approx(v, abs=0.08)
    assert float(ksg_mi(torch.sinh(2 * x), torch.exp(y))) == pytest.approx(v, abs=0.1)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(20, 200),
    dx=st.integers(1, 3),
    dy=st.integers(1, 3),
    k=st.integers(1, 5),
    variant=st.sampled_from([1, 2]),
)
def test_ksg_is_symmetric(seed, n, dx, dy, k, variant):
    g = gen(seed)
    x = torch.randn(n, dx, generator=g, dtype=torch.float64)
    y = x[:, :1] * torch.rand(1, generator=g, dtype=torch.float64) + torch.randn(
        n, dy, generator=g, dtype=torch.float64
    )
    assert float(ksg_mi(x, y, k, variant)) == pytest.approx(float(ksg_mi(y, x, k, variant)), abs=1e-12)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(1e-3, 1e3), shift=st.floats(-1e3, 1e3))
def test_ksg_is_invariant_under_affine_maps(seed, scale, shift):
    x, y = dense_gaussian(5).sample(300, seed=seed)
    assert float(ksg_mi(x * scale + shift, y)) == pytest.approx(float(ksg_mi(x, y)), abs=1e-8)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ksg_mi(torch.randn(10, 2), torch.randn(11, 2)), "sample counts differ: x has 10, y has 11"),
        (lambda: ksg_mi(torch.randn(10, 2, 2), torch.randn(10, 2)), r"x: expected shape \(N, d\)"),
        (lambda: ksg_mi(torch.tensor([[0.0], [float("nan")]]), torch.randn(2, 1)), "x: contains NaN or Inf"),
        (lambda: ksg_mi(torch.randn(10, 1), torch.randn(10, 1), k=10), "k=10 needs more than 10 samples"),
        (lambda: ksg_mi(torch.randn(10, 1), torch.randn(10, 1), k=0), "k: must be at least 1"),
        (lambda: ksg_mi(torch.ones(10, 2), torch.randn(10, 1)), "x: every column is constant"),
        (
            lambda: ksg_mi(torch.randn(1, 2), torch.randn(1, 1)),
            r"^x: has 1 sample \(row\); an estimate needs",
        ),
        (lambda: mixed_ksg_mi(torch.randn(1, 2), torch.zeros(1, dtype=torch.int64)), r"^x: has 1 sample"),
        (lambda: kl_entropy(torch.randn(1, 2)), r"^x: has 1 sample"),
        (lambda: ksg_mi(torch.arange(10)[:, None], torch.randn(10, 1)), "x: expected continuous samples"),
        (lambda: ksg_mi(torch.randn(10, 1), torch.randn(10, 1), variant=3), "variant: expected 1 or 2"),
        (lambda: ksg_mi(torch.randn(10, 1), torch.randn(10, 1), backend="gpu"), "backend"),
        (lambda: mixed_ksg_mi(torch.randn(10, 2), torch.rand(10)), "labels: expected integer labels"),
        (
            lambda: mixed_ksg_mi(torch.randn(10, 2), torch.arange(10)),
            "labels: none of the 10 rows is in a class that occurs more than once",
        ),
        (lambda: kl_entropy(torch.randn(10, 2), metric="cosine"), "metric: expected one of"),
    ],
)
def test_bad_input_raises_a_value_error_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_numpy_input_and_float32_are_accepted():
    x, y = bivariate_normal().sample(500, seed=0)
    v = float(ksg_mi(x, y))
    assert float(ksg_mi(x.numpy(), y.numpy())) == v
    assert float(ksg_mi(x.float(), y.float())) == pytest.approx(v, abs=1e-5)


@pytest.mark.slow
def test_large_n_memory_stays_bounded(monkeypatch):
    monkeypatch.setattr(nb, "CHUNK_BYTES", 32 * 2**20)
    x = torch.randn(100_000, 2, generator=gen(), dtype=torch.float64)
    y = x + torch.randn(100_000, 2, generator=gen(1), dtype=torch.float64)
    assert math.isfinite(float(ksg_mi(x, y)))
    np.testing.assert_allclose(float(mixed_ksg_mi(x, (x[:, 0] > 0).long())), math.log(2), atol=0.05)


def test_tied_distances_are_jittered_though_no_row_repeats():
    """Distinct rows on a lattice: max-norm distances tie everywhere. Jittered, as scikit-learn does,
    KSG gives what it gives on any tie-free perturbation (0.61 - 0.62 over four seeds of noise); left
    tied (ties="raise", which jitters nothing), the strict counts say 1.02."""
    x = torch.unique(torch.randint(0, 4, (3000, 6), generator=gen()).double(), dim=0)
    x = x[torch.randperm(len(x), generator=gen())[:1000]]
    y = x.sum(1, keepdim=True) + torch.randn(1000, 1, generator=gen(1), dtype=torch.float64)
    values = [float(ksg_mi(x, y, seed=s)) for s in range(3)]
    assert max(values) - min(values) < 0.03
    assert float(ksg_mi(x, y, ties="raise")) > values[0] + 0.3


def test_kl_entropy_refuses_data_without_a_density():
    x = torch.randn(200, 2, generator=gen(), dtype=torch.float64)
    with pytest.raises(ValueError, match="x: has a constant column"):
        kl_entropy(torch.cat([x, torch.ones(200, 1, dtype=torch.float64)], 1))
    with pytest.raises(ValueError, match="x: has repeated samples"):
        kl_entropy(torch.randint(0, 5, (200, 1), generator=gen()).double())


def _dead_leading_columns(n: int) -> torch.Tensor:
    """Two constant columns (dead ReLU units) ahead of three that spread, one of them a mostly silent unit."""
    live = torch.randn(n, 3, generator=gen(30), dtype=torch.float64)
    live[: n - n // 10, 2] = 0.0  # active on a tenth of the rows: its quartiles are both 0
    return torch.cat([torch.zeros(n, 2, dtype=torch.float64), live], dim=1)


def test_the_kernel_prunes_by_the_columns_that_spread():
    # Constant leading columns made the kernel compare all pairs (N = 200,000: 240.6 s against 6.1 s).
    x = _dead_leading_columns(400).numpy()
    order = nb._pruning_order(x).tolist()
    assert sorted(order[:2]) == [2, 3] and order[2:] == [4, 0, 1]  # the mostly silent unit after them
    _, (columns, _, _, bcol, _) = nb._slab_layout(x)
    assert np.ptp(columns[0]) > 0 and np.ptp(columns[bcol]) > 0


@pytest.mark.skipif(not nb.HAVE_KERNEL, reason="the compiled kernel was not built")
def test_the_column_order_changes_no_neighbour_or_count():
    x = _dead_leading_columns(1500)
    perm = [4, 2, 3, 1, 0]
    eps, idx = nb.kth_neighbour([x], 3, "chebyshev", "tree")
    eps2, idx2 = nb.kth_neighbour([x[:, perm]], 3, "chebyshev", "tree")
    assert torch.equal(eps, eps2) and torch.equal(idx, idx2)
    for inclusive in (False, True):
        counts = nb.count_within(x, eps, "chebyshev", "tree", inclusive=inclusive)
        assert torch.equal(counts, nb.count_within(x[:, perm], eps, "chebyshev", "tree", inclusive=inclusive))
        brute = nb.count_within(x, eps, "chebyshev", "brute", inclusive=inclusive)
        assert torch.equal(counts, brute)
    assert torch.equal(eps, nb.kth_neighbour([x], 3, "chebyshev", "brute")[0])


#: Scales at which squares overflow (1e154 and up) or vanish (1e-154 and down) in float64.
EXTREME_SCALES = [1e-300, 1e-200, 1e200, 1e300]


@pytest.mark.parametrize("scale", EXTREME_SCALES)
def test_knn_estimates_do_not_depend_on_the_scale_over_the_whole_float_range(scale):
    # Standardization squared the raw values: KSG gave 0.002 for 0.346 at 1e200, and called 1e-200 constant.
    x, y = (t.double() for t in bivariate_normal(0.75).sample(400, seed=3))
    labels = (y[:, 0] > 0).long()
    assert float(ksg_mi(x * scale, y * scale)) == pytest.approx(float(ksg_mi(x, y)), rel=1e-9)
    assert float(ksg_mi(x * scale, y * scale, variant=2)) == pytest.approx(
        float(ksg_mi(x, y, variant=2)), rel=1e-9
    )
    assert float(mixed_ksg_mi(x * scale, labels)) == pytest.approx(float(mixed_ksg_mi(x, labels)), rel=1e-9)
    # Entropy is not scale invariant: h(cX) = h(X) + log c.
    assert float(kl_entropy(x * scale)) == pytest.approx(float(kl_entropy(x)) + math.log(scale), rel=1e-9)


@pytest.mark.parametrize("value", [1 / 3, 0.1, 0.7, 1e-5 / 3, 1e200 / 3, 1e-200 / 3])
def test_a_constant_column_is_found_whatever_its_value(value):
    # The mean of N copies of 0.1 is not 0.1: a std threshold saw a column of 1e-17 deviations, jittered it
    # into noise and returned MI 0.0 instead of refusing.
    x = torch.randn(200, 1, generator=gen(31), dtype=torch.float64)
    c = torch.full((200, 1), value, dtype=torch.float64)
    with pytest.raises(ValueError, match="y: every column is constant"):
        ksg_mi(x, c)
    with pytest.raises(ValueError, match="x: every column is constant"):
        mixed_ksg_mi(c, torch.arange(200) % 2)
    with pytest.raises(ValueError, match="x: has a constant column"):
        kl_entropy(torch.cat([x, c], dim=1))


def test_the_gpu_max_norm_blocks_give_torch_cdists_bits():
    # chebyshev's broadcast path (taken on a GPU) against torch.cdist, in blocks narrower than a row and
    # with a batch dimension, as the permutation nulls call it.
    from iblearn.functional.knn import neighbors as _neighbors

    g = torch.Generator().manual_seed(0)
    a, b = (
        torch.randn(2, 7, 5, generator=g, dtype=torch.float64),
        torch.randn(2, 300, 5, generator=g, dtype=torch.float64),
    )
    want = torch.cdist(a, b, p=float("inf"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_neighbors, "CHUNK_BYTES", 7 * 5 * 8 * 2 * 64)  # 64 columns a block
        got = _neighbors._chebyshev_blocks(a, b)
    assert torch.equal(got, want)
