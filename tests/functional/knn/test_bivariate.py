"""The kernel for pairs of one-dimensional variables (functional/knn/bivariate.py, _maxnorm_grid.h) gives
the values of the general search: on random data, ties, nearly constant columns, small N, every k."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn import functional as ibf
from iblearn.functional.knn import bivariate as _bivariate
from iblearn.functional.knn import neighbors as _neighbors

torch.set_num_threads(1)

pytestmark = pytest.mark.skipif(not _neighbors.HAVE_KERNEL, reason="the compiled kernel was not built")


def _general(x: torch.Tensor, **kwargs) -> torch.Tensor:
    """pairwise_mi by the general tree search, one pair at a time (the kernel refused)."""
    usable = _bivariate.usable
    _bivariate.usable = lambda columns: False
    try:
        return ibf.pairwise_mi(x, **kwargs)
    finally:
        _bivariate.usable = usable


def _columns(n: int, seed: int) -> torch.Tensor:
    """Continuous, correlated, rounded (ties), binary, nearly constant (one row off) and tied to an
    earlier column columns."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, 7, generator=g, dtype=torch.float64)
    cols = [
        z[:, 0],
        0.8 * z[:, 0] + 0.6 * z[:, 1],
        torch.round(z[:, 2]),
        (z[:, 3] > 0.5).to(torch.float64),
        torch.zeros(n, dtype=torch.float64).index_fill(0, torch.tensor([n // 2]), 1.0),
        z[:, 0] + 1e-6 * z[:, 5],
        torch.exp(3 * z[:, 6]),
    ]
    return torch.stack(cols, dim=1)


def _assert_same(a: torch.Tensor, b: torch.Tensor) -> None:
    assert a.shape == b.shape
    assert torch.equal(a.isnan(), b.isnan())
    assert float((a - b).nan_to_num().abs().max()) <= 1e-12


@pytest.mark.parametrize("variant", [1, 2])
@pytest.mark.parametrize("n", [300, 1200])
def test_the_general_search_values_on_random_ties_and_nearly_constant_columns(n, variant):
    x = _columns(n, seed=n)
    for k in (1, 2, 3, 4, 7, 10):
        kernel = ibf.pairwise_mi(x, k=k, variant=variant, seed=5)
        _assert_same(kernel, _general(x, k=k, variant=variant, seed=5))


@pytest.mark.parametrize("variant", [1, 2])
def test_every_k_at_small_n(variant):
    for n in (2, 3, 5, 9, 17):
        x = _columns(n, seed=n)[:, [0, 1, 2, 6]]
        for k in range(1, n):
            _assert_same(ibf.pairwise_mi(x, k=k, variant=variant), _general(x, k=k, variant=variant))


def test_unstandardized_and_seeded_settings_and_ksg_mi_per_pair():
    x = _columns(700, seed=1) * torch.tensor([1e-30, 1.0, 1e5, 2.0, 3.0, 1e200, 1.0], dtype=torch.float64)
    _assert_same(ibf.pairwise_mi(x, standardize=False, seed=11), _general(x, standardize=False, seed=11))
    # continuous columns, where the jitter (seeded by position) decides no count
    continuous = x[:, [0, 1, 6]]
    m = ibf.pairwise_mi(continuous, seed=2)
    for i in range(3):
        for j in range(i + 1, 3):
            one = ibf.ksg_mi(continuous[:, i], continuous[:, j], seed=2 + i)
            assert float(m[i, j]) == pytest.approx(float(one), abs=1e-12)


def test_overflow_is_refused_as_by_the_general_search():
    # Two clusters 1.9e308 apart: finite values whose differences overflow, and 50 points with fewer
    # than k = 60 neighbours at a finite distance.
    x = torch.randn(200, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    side = torch.where(torch.arange(200) < 50, 1.0, -1.0).to(torch.float64)
    x[:, 1] = side * 0.95e308 * (1 + 1e-3 * x[:, 1])
    with pytest.raises(ValueError, match="overflow") as general:
        _general(x, k=60, standardize=False)
    with pytest.raises(ValueError, match="overflow") as kernel:
        ibf.pairwise_mi(x, k=60, standardize=False)
    assert str(kernel.value) == str(general.value)


def test_without_the_kernel_the_values_are_the_same(monkeypatch):
    x = _columns(500, seed=3)[:, [0, 1, 5, 6]]
    kernel = ibf.pairwise_mi(x)
    monkeypatch.setattr(_neighbors, "HAVE_KERNEL", False)
    assert not _bivariate.usable([x[:, :1]])
    _assert_same(kernel, ibf.pairwise_mi(x))


def test_blocks_mix_kernel_and_general_pairs():
    x = _columns(600, seed=4)
    blocks = [[0], [1, 2], [3], [5], [6]]
    _assert_same(ibf.pairwise_mi(x, blocks=blocks), _general(x, blocks=blocks))


@pytest.mark.slow
def test_two_jobs_give_the_matrix_of_one_bit_for_bit():
    x = _columns(600, seed=4)
    assert torch.equal(ibf.pairwise_mi(x, n_jobs=2).nan_to_num(), ibf.pairwise_mi(x, n_jobs=1).nan_to_num())


def test_kernel_checks_its_buffers():
    values, ranks = _bivariate.sorted_ranks([torch.randn(10, 1, dtype=torch.float64) for _ in range(2)])
    nx, ny = np.empty((1, 10), dtype=np.int64), np.empty((1, 10), dtype=np.int64)
    pairs = np.array([[0, 1]], dtype=np.int64)
    kernel = _neighbors._maxnorm.pairs
    assert kernel(values, ranks, 10, pairs, 3, 1, 3, nx, ny) == -1
    bad = ranks.copy()
    bad[0, 0] = 10
    with pytest.raises(ValueError, match="ranks"):
        kernel(values, bad, 10, pairs, 3, 1, 3, nx, ny)
    with pytest.raises(ValueError, match="pairs"):
        kernel(values, ranks, 10, np.array([[0, 2]], dtype=np.int64), 3, 1, 3, nx, ny)
    with pytest.raises(ValueError, match="k < n"):
        kernel(values, ranks, 10, pairs, 10, 1, 3, nx, ny)
    with pytest.raises(ValueError, match="out_nx"):
        kernel(values, ranks, 10, pairs, 3, 1, 3, nx[:, :5], ny)


@pytest.mark.parametrize("variant", [1, 2])
def test_ksg_mi_of_two_single_columns_is_the_general_search(variant, monkeypatch):
    x = _columns(400, seed=6)
    cases = [(i, j) for i in range(7) for j in range(7) if i != j and 4 not in (i, j)][:12]
    kernel = {
        (i, j, k): ibf.ksg_mi(x[:, i], x[:, j], k, variant, local=True, seed=i)
        for i, j in cases
        for k in (1, 3, 6)
    }
    monkeypatch.setattr(_bivariate, "usable", lambda columns: False)
    for (i, j, k), terms in kernel.items():
        assert torch.equal(terms, ibf.ksg_mi(x[:, i], x[:, j], k, variant, local=True, seed=i))


def test_threads_split_the_pairs_and_change_nothing():
    x = _columns(3000, seed=7)
    one = ibf.pairwise_mi(x, variant=2)
    single = ibf.ksg_mi(x[:, 0], x[:, 6])
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert torch.equal(ibf.pairwise_mi(x, variant=2).nan_to_num(), one.nan_to_num())
        assert torch.equal(ibf.ksg_mi(x[:, 0], x[:, 6]), single)  # the tree searches, in 2 threads
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("tied", [False, True])
def test_sorted_ranks_are_the_stable_sorts_order(tied):
    g = torch.Generator().manual_seed(3)
    cols = [torch.randn(500, 1, generator=g, dtype=torch.float64) for _ in range(3)]
    if tied:
        cols[1] = torch.round(cols[1] * 2) / 2  # a few values, many rows each
    values = np.stack([c[:, 0].numpy() for c in cols])
    order = np.argsort(values, axis=1, kind="stable")
    ordered, ranks = _bivariate.sorted_ranks(cols)
    np.testing.assert_array_equal(ordered, np.take_along_axis(values, order, axis=1))
    np.testing.assert_array_equal(np.take_along_axis(ranks, order, axis=1), np.tile(np.arange(500), (3, 1)))


def _ranks(t: torch.Tensor) -> np.ndarray:
    """Each row's rank among the rows of the column ``t (N, 1)``."""
    ranks = np.empty(len(t), dtype=np.int64)
    ranks[np.argsort(t[:, 0].numpy(), kind="stable")] = np.arange(len(t))
    return ranks


@pytest.mark.parametrize("k", [1, 3, 5])
def test_ksg_mi_ranked_is_ksg_mi_to_the_last_bit(k):
    from iblearn.functional.knn.ksg import ksg_mi_ranked
    from iblearn.functional.multivariate.inputs import copula_normal

    g = torch.Generator().manual_seed(k)
    raw = torch.randn(3000, 2, generator=g, dtype=torch.float64)
    raw[:, 1] += 0.7 * raw[:, 0]
    scores = copula_normal(raw)
    x, y = scores[:, :1], scores[:, 1:]
    rx, ry = _ranks(x), _ranks(y)
    half = torch.randperm(3000, generator=g)[:1500]
    shuffled = half[torch.randperm(1500, generator=g)]
    for ix, iy in ((torch.arange(3000), torch.arange(3000)), (half, half), (half, shuffled)):
        a, b = x[ix], y[iy]
        value = ksg_mi_ranked(a, b, (rx[ix.numpy()], ry[iy.numpy()]), 3000, k, 7)
        assert value is not None
        assert value == float(ibf.ksg_mi(a, b, k, seed=7))


@pytest.mark.parametrize("k", [1, 3])
def test_the_ranked_pair_terms_are_ksgs_local_terms(k):
    from iblearn.functional.knn.formula import ksg_constant
    from iblearn.functional.knn.ksg import ksg_mi_ranked, ksg_of_terms, pair_terms_ranked
    from iblearn.functional.multivariate.inputs import copula_normal

    g = torch.Generator().manual_seed(k)
    raw = torch.randn(2000, 2, generator=g, dtype=torch.float64)
    raw[:, 1] += 2.0 * raw[:, 0]
    scores = copula_normal(raw)
    x, y = scores[:, :1], scores[:, 1:]
    keys = (_ranks(x), _ranks(y))
    terms = pair_terms_ranked(x, y, keys, 2000, k, 7, [None, None])
    assert terms is not None and terms.shape == (2000,)
    local = ibf.ksg_mi(x, y, k, seed=7, local=True)
    assert torch.allclose(ksg_constant(2000, k, 1) - torch.from_numpy(terms), local)
    value = ksg_mi_ranked(x, y, keys, 2000, k, 7)
    assert ksg_of_terms(terms, k) == value == float(ibf.ksg_mi(x, y, k, seed=7))


@pytest.mark.parametrize(("dx", "dy"), [(1, 1), (3, 3), (2, 1)])
def test_the_pair_terms_of_any_sample_are_ksgs_local_terms(dx, dy):
    # The terms of ksg_mi's own count, on any shape and with ties (a third of the rows at 0): their
    # constant less them are its local values, and ksg_of_terms is its estimate to the last bit.
    from iblearn.functional.knn.formula import ksg_constant
    from iblearn.functional.knn.ksg import ksg_of_terms, pair_terms

    g = torch.Generator().manual_seed(dx + dy)
    x = torch.randn(1500, dx, generator=g, dtype=torch.float64)
    x[:500] = 0.0
    y = x[:, :dy] + torch.randn(1500, dy, generator=g, dtype=torch.float64)
    for k, seed in ((3, 0), (5, 4)):
        terms = pair_terms(x, y, k, seed)
        assert terms.shape == (1500,)
        local = ibf.ksg_mi(x, y, k, seed=seed, local=True)
        assert torch.allclose(ksg_constant(1500, k, 1) - terms, local)
        assert ksg_of_terms(terms, k) == float(ibf.ksg_mi(x, y, k, seed=seed))


@pytest.mark.parametrize(("n", "k"), [(600, 1), (3000, 3), (3000, 5)])
def test_ksg_mi_ranked_on_two_halves_side_by_side_is_ksg_mi_to_the_last_bit(n, k):
    # The additivity check's copies: two halves of each column side by side, 2 x 2 (the counts on the
    # plane's layout) and 2 x 1 (y's counts in one dimension).
    from iblearn.functional.knn.ksg import ksg_mi_ranked
    from iblearn.functional.multivariate.inputs import copula_normal

    g = torch.Generator().manual_seed(k)
    raw = torch.randn(n, 2, generator=g, dtype=torch.float64)
    raw[:, 1] += 0.7 * raw[:, 0]
    scores = copula_normal(raw)
    rx, ry = _ranks(scores[:, :1]), _ranks(scores[:, 1:])
    order = torch.randperm(n, generator=g)
    a, b = order[: n // 2], order[n // 2 :]
    x = torch.cat([scores[a, :1], scores[b, :1]], dim=1)
    y = torch.cat([scores[a, 1:], scores[b, 1:]], dim=1)
    keys = [rx[a.numpy()], rx[b.numpy()], ry[a.numpy()], ry[b.numpy()]]
    for value, expected in (
        (ksg_mi_ranked(x, y, keys, n, k, 7), ibf.ksg_mi(x, y, k, seed=7)),
        (ksg_mi_ranked(x, y[:, :1], keys[:3], n, k, 7), ibf.ksg_mi(x, y[:, :1], k, seed=7)),
    ):
        assert value is not None
        assert value == float(expected)
    assert ksg_mi_ranked(x, y, [keys[0], keys[1][::-1].copy(), *keys[2:]], n, k, 7) is None  # out of order
    assert ksg_mi_ranked(x, y, keys[:3], n, k, 7) is None  # a key a column


def test_ksg_mi_ranked_takes_the_orders_a_caller_found_and_checks_them():
    # Orders given for some columns (key_order of their keys, found on an earlier call on those rows)
    # give the value the keys give; an order that is not the values' declines.
    from iblearn.functional.knn.ksg import key_order, ksg_mi_ranked
    from iblearn.functional.multivariate.inputs import copula_normal

    g = torch.Generator().manual_seed(0)
    raw = torch.randn(2000, 2, generator=g, dtype=torch.float64)
    raw[:, 1] += 0.7 * raw[:, 0]
    scores = copula_normal(raw)
    rx, ry = _ranks(scores[:, :1]), _ranks(scores[:, 1:])
    order = torch.randperm(2000, generator=g)
    a, b = order[:1000], order[1000:]
    keys = [rx[a.numpy()], ry[a.numpy()]]
    orders = [key_order(key, 2000) for key in keys]
    x, y = scores[a, :1], scores[a, 1:]
    expected = float(ibf.ksg_mi(x, y, 3, seed=7))
    assert ksg_mi_ranked(x, y, keys, 2000, 3, 7, orders) == expected
    assert ksg_mi_ranked(x, y, keys, 2000, 3, 7, [None, orders[1]]) == expected
    assert ksg_mi_ranked(x, y, keys, 2000, 3, 7, [orders[0][::-1].copy(), None]) is None
    assert ksg_mi_ranked(x, y, keys, 2000, 3, 7, orders[:1]) is None  # an order a column
    x2 = torch.cat([scores[a, :1], scores[b, :1]], dim=1)
    keys2 = [rx[a.numpy()], rx[b.numpy()], ry[a.numpy()]]
    orders2 = [orders[0], key_order(keys2[1], 2000), orders[1]]
    assert ksg_mi_ranked(x2, y, keys2, 2000, 3, 7, orders2) == float(ibf.ksg_mi(x2, y, 3, seed=7))
    assert ksg_mi_ranked(x2, y, keys2, 2000, 3, 7, [orders2[1], orders2[0], orders2[2]]) is None


def test_ksg_mi_ranked_declines_what_it_cannot_take():
    from iblearn.functional.knn.ksg import ksg_mi_ranked

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(2, 200, 1, generator=g, dtype=torch.float64)
    rx, ry = _ranks(x), _ranks(y)
    assert ksg_mi_ranked(x, y, (rx, ry), 200, 3, 0) == float(ibf.ksg_mi(x, y, 3, seed=0))
    assert ksg_mi_ranked(x, y, (rx[::-1].copy(), ry), 200, 3, 0) is None  # keys out of the values' order
    assert ksg_mi_ranked(x, y, (np.zeros(200, dtype=np.int64), ry), 200, 3, 0) is None  # keys repeated
    assert ksg_mi_ranked(x, y, (rx, ry), 200, 200, 0) is None  # k out of range: ksg_mi raises
    assert ksg_mi_ranked(torch.ones(200, 1, dtype=torch.float64), y, (rx, ry), 200, 3, 0) is None
    assert ksg_mi_ranked(x.float(), y, (rx, ry), 200, 3, 0) is None


def _awkward_pair(kind: str, n: int, seed: int) -> np.ndarray:
    """``(n, 2)`` raw values of x and y with ties of every sort, or at the ends of float64's range."""
    rng = np.random.default_rng(seed)
    raw = rng.standard_normal((n, 2))
    if kind == "lattice":
        raw = rng.integers(0, 4, (n, 2)).astype(np.float64)
    elif kind == "heavy ties":
        raw = rng.choice([0.0, 1.0], (n, 2), p=[0.9, 0.1])
    elif kind == "repeated rows":
        raw = raw[rng.integers(0, n // 3, n)]
    elif kind == "signed zeros":
        raw = rng.choice([-0.0, 0.0, 1.0], (n, 2))
    elif kind == "equal columns":
        raw[:, 1] = raw[:, 0]
    elif kind == "huge":
        raw *= 1e300
    elif kind == "tiny":
        raw *= 1e-300
    return raw


@pytest.mark.parametrize(
    "kind", ["lattice", "heavy ties", "repeated rows", "signed zeros", "equal columns", "huge", "tiny"]
)
def test_ksg_mi_ranked_on_tied_halves_is_ksg_mi_to_the_last_bit(kind):
    # Keys in the order of the jittered values, as the ranks of normal scores are: the shortcut then
    # applies to lattices and repeated rows too, and must count as the sorts do; on transposed memory too.
    from iblearn.functional.knn.ksg import ksg_mi_ranked, prepare

    n, rng = 400, np.random.default_rng(1)
    raw = torch.from_numpy(_awkward_pair(kind, n, seed=len(kind)))
    a, b = np.split(rng.permutation(n), 2)
    x, y = torch.cat([raw[a, :1], raw[b, :1]], 1), torch.cat([raw[a, 1:], raw[b, 1:]], 1)

    def keys(t: torch.Tensor, seed: int) -> list[np.ndarray]:
        ready = prepare(t, "t", standardize=True, ties="jitter", seed=seed).numpy()
        places = np.sort(rng.choice(n, len(t), replace=False))  # distinct keys among n
        return [places[_ranks(torch.from_numpy(ready[:, j : j + 1]))] for j in range(t.shape[1])]

    for k in (1, 3, 10):
        for seed in (0, 5):
            want = float(ibf.ksg_mi(x, y, k, seed=seed))
            known = keys(x, seed) + keys(y, seed + 1)
            for xs, ys in ((x, y), (x.T.contiguous().T, y.T.contiguous().T)):
                assert ksg_mi_ranked(xs, ys, known, n, k, seed) == want
            one = keys(x[:, :1], seed) + keys(y[:, :1], seed + 1)
            assert ksg_mi_ranked(x[:, :1], y[:, :1], one, n, k, seed) == float(
                ibf.ksg_mi(x[:, :1], y[:, :1], k, seed=seed)
            )
