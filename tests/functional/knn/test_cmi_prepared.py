"""The fast path of the kNN CMI for callers that check their data once (network inference's greedy
search): the same numbers as :func:`iblearn.functional.ksg_cmi` and ``ksg_mi``, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn.functional import ksg_cmi, ksg_mi
from iblearn.functional.cmi_surrogates import KSGCMI, GaussianCMI, condition, surrogates
from iblearn.functional.knn import ksg
from iblearn.functional.knn import neighbors as nb
from iblearn.functional.knn.cmi import ksg_cmi_prepared, prepared_condition
from iblearn.functional.knn.ksg import _same_projection, duplicated_rows
from iblearn.functional.knn.neighbors import _quartiles

torch.set_num_threads(1)


def _samples(n: int, dz: int, dx: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = np.random.default_rng(seed)
    z = torch.from_numpy(g.standard_normal((n, dz)))
    y = torch.from_numpy(g.standard_normal((n, 1))) + z[:, -1:]
    x = torch.from_numpy(g.standard_normal((n, dx))) + z[:, :1]
    return x, y, z


@pytest.mark.parametrize(("n", "dz", "dx"), [(60, 1, 1), (500, 3, 1), (500, 2, 2), (300, 8, 1)])
def test_prepared_cmi_is_ksg_cmi_bit_for_bit(n, dz, dx):
    x, y, z = _samples(n, dz, dx, seed=n + dz)
    cond = prepared_condition(y, z, 4)
    assert float(ksg_cmi_prepared(cond, x)) == float(ksg_cmi(x, y, z, 4))
    tied = torch.round(x * 4) / 4  # ties: the same jitter, in the same rounds
    assert float(ksg_cmi_prepared(cond, tied)) == float(ksg_cmi(tied, y, z, 4))


@pytest.mark.parametrize("tree", [True, False])
def test_prepared_cmi_on_either_search_is_ksg_cmi_bit_for_bit(monkeypatch, tree):
    # The slabs read each column's keys (x's computed per call, y's and z's once); the tree none.
    if not tree:
        monkeypatch.setattr(nb, "TREE_LOW_DIM", 0)
    x, y, z = _samples(700, 2, 1, seed=11)
    cond = prepared_condition(y, z, 4)
    assert float(ksg_cmi_prepared(cond, x)) == float(ksg_cmi(x, y, z, 4))


@pytest.mark.parametrize("seed", range(4))
def test_one_column_made_ready_as_the_general_path_makes_it(seed):
    g = np.random.default_rng(seed)
    columns = [
        g.standard_normal((997, 1)) * 1e-200,
        g.standard_t(1, (500, 1)) * 1e5 + 3e7,
        np.exp(30 * g.standard_normal((300, 1))),
        np.round(g.standard_normal((2000, 1)), 2),  # ties: the rows the jitter leaves tied go the long way
    ]
    for a in columns:
        t = torch.from_numpy(a)
        general = ksg._ready_tensor(t, "x", standardize=True, ties="jitter", seed=seed)
        assert torch.equal(ksg.ready(t, "x", standardize=True, ties="jitter", seed=seed), general)
    assert ksg._ready_column(torch.from_numpy(columns[0]), seed) is not None  # the short path ran


def test_prepared_without_condition_is_ksg_mi_bit_for_bit():
    x, y, _ = _samples(400, 1, 1, seed=3)
    cond = prepared_condition(y, torch.empty((400, 0), dtype=torch.float64), 4)
    assert float(ksg_cmi_prepared(cond, x)) == float(ksg_mi(x, y, 4))


def test_prepared_condition_checks_y_and_z_once():
    _, y, z = _samples(50, 1, 1, seed=1)
    with pytest.raises(ValueError, match=r"^z:"):
        prepared_condition(y, torch.ones(50, 1, dtype=torch.float64), 4)
    with pytest.raises(ValueError, match="k=50"):
        prepared_condition(y, z, 50)
    with pytest.raises(ValueError, match=r"^y:"):
        prepared_condition(y.clone().fill_(float("nan")), z, 4)


def test_network_engine_gives_ksg_cmi_of_the_residuals():
    """The engine's values, and its surrogates', are the public estimate of the residuals."""
    x, y, z = _samples(400, 2, 1, seed=7)
    yy, zz, c = y[:, 0].numpy(), z.numpy(), x[:, 0].numpy()
    cond = condition(yy, zz)
    eng = KSGCMI()
    ry = torch.from_numpy(cond.target.reshape(-1, 1).copy())

    def public(column: np.ndarray) -> float:
        rc = torch.from_numpy(np.ascontiguousarray(cond.residual(column.reshape(-1, 1))))
        return float(ksg_cmi(rc, ry, z, 4))

    assert eng.value(cond, c) == public(c)
    plan = surrogates((400,), 3, "shift", (0, 1, 2, 3, 4))
    assert eng.surrogates(cond, c, plan).tolist() == [public(plan.take(c, b)[0]) for b in range(3)]
    empty = condition(yy, np.empty((400, 0)))
    rc = torch.from_numpy(np.ascontiguousarray(empty.residual(c.reshape(-1, 1))))
    assert eng.value(empty, c) == float(ksg_mi(rc, torch.from_numpy(empty.target.reshape(-1, 1).copy()), 4))


def test_duplicated_rows_of_one_column_as_the_projection_finds_them():
    g = np.random.default_rng(0)
    t = torch.from_numpy(np.round(g.standard_normal((300, 1)), 1))
    t[5, 0] = -0.0
    t[6, 0] = 0.0
    found = duplicated_rows(t)
    rows = _same_projection(t).nonzero()[:, 0]
    _, inverse, counts = torch.unique(t[rows], dim=0, return_inverse=True, return_counts=True)
    expected = torch.zeros(300, dtype=torch.bool)
    expected[rows] = counts[inverse] > 1
    assert torch.equal(found, expected) and bool(found[5]) and bool(found[6])
    assert not bool(duplicated_rows(torch.arange(10.0, dtype=torch.float64)[:, None]).any())


@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 997, 1000, 1001])
def test_quartiles_are_numpys_nearest_percentiles(n):
    x = np.random.default_rng(n).standard_normal((n, 3))
    x[: n // 3, 1] = 0.25
    expected = np.percentile(x, [25, 50, 75], axis=0, method="nearest")
    assert np.array_equal(_quartiles(x), expected)


@pytest.mark.parametrize(("n", "dz", "my", "mz"), [(400, 1, 128, 398), (400, 3, 8, 16), (1000, 2, 128, 512)])
def test_listed_radii_and_counts_are_the_trees(n, dz, my, mz):
    """A 1-d x's joint k-th neighbour radius and strict counts read off the (y, z) and z spaces'
    neighbour lists are the k-d tree's, bit for bit: where the radius stays within a point's lists,
    and where it reaches past them (short lists, outliers, ties) and the point is measured against all."""
    from iblearn.functional.knn import _maxnorm

    x, y, z = _samples(n, dz, 1, seed=n + dz + my)
    x[:5] *= 20  # outliers: radii past the lists
    x = torch.round(x * 8) / 8  # ties in x
    cond = prepared_condition(y, z, 4)
    xt = ksg.ready(x, "x", standardize=True, ties="jitter", seed=0)
    yz = torch.cat([cond.y, cond.z], dim=1).numpy()
    lists = nb.neighbour_lists(yz, my), nb.neighbour_lists(cond.z.numpy(), mz)
    column = np.ascontiguousarray(xt.numpy()[:, 0])
    eps, counts = nb.listed_counts(column, 4, yz, 1, *lists)
    tree_eps = nb.kth_neighbour([xt, cond.y, cond.z], 4, "chebyshev", "tree")[0]
    assert np.array_equal(eps, tree_eps.numpy())
    spaces = (torch.cat([xt, cond.z], dim=1), torch.cat([cond.y, cond.z], dim=1), cond.z)
    for got, space in zip(counts, spaces, strict=True):
        assert np.array_equal(
            got, nb.count_within(space, tree_eps, "chebyshev", "tree", inclusive=False).numpy()
        )
    (iy, dy, by), (iz, dzl, bz) = lists
    out = np.empty(n), *(np.empty(n, dtype=np.int64) for _ in range(3))
    measured = _maxnorm.listed(column, yz, n, yz.shape[1], 1, 4, iy, dy, by, my, iz, dzl, bz, mz, *out)
    assert 0 < measured < n  # both ways ran


def test_neighbour_lists_are_the_nearest_in_order():
    g = np.random.default_rng(5)
    x = np.round(g.standard_normal((700, 2)), 1)  # ties
    idx, dist, bound = nb.neighbour_lists(x, 30)
    full = np.abs(x[:, None, :] - x[None, :, :]).max(axis=2)
    np.fill_diagonal(full, np.inf)
    ordered = np.sort(full, axis=1)
    assert np.array_equal(dist, ordered[:, :30]) and np.array_equal(bound, ordered[:, 30])
    assert np.array_equal(np.take_along_axis(full, idx, axis=1), dist)
    assert not (idx == np.arange(700)[:, None]).any()


@pytest.mark.parametrize("ydim", [1, 2])
def test_nested_lists_are_the_lists_of_each_space(ydim):
    """The (y, z) and z lists from one pass over the distances: the nearest in order in each space, the
    distances and bounds those of the lists made apart (ties among them, blocks of rows)."""
    g = np.random.default_rng(6)
    points = np.round(g.standard_normal((700, ydim + 2)), 1)
    yz, z = nb.nested_lists(points, ydim, 40, 90)
    apart = nb.neighbour_lists(points, 40), nb.neighbour_lists(np.ascontiguousarray(points[:, ydim:]), 90)
    for together, alone, space in zip((yz, z), apart, (points, points[:, ydim:]), strict=True):
        assert all(np.array_equal(a, b) for a, b in zip(together[1:], alone[1:], strict=True))
        full = np.abs(space[:, None, :] - space[None, :, :]).max(axis=2)
        assert np.array_equal(np.take_along_axis(full, together[0], axis=1), together[1])


def test_prepared_cmi_with_and_without_lists_is_the_same(monkeypatch):
    from iblearn.functional.knn import cmi

    x, y, z = _samples(800, 2, 1, seed=21)
    listed = prepared_condition(y, z, 4)
    monkeypatch.setattr(cmi, "LISTED_MAX_N", 0)
    plain = prepared_condition(y, z, 4)
    assert listed.lists is not None and plain.lists is None
    for shift in range(0, 800, 100):
        c = torch.roll(x, shift, 0)
        assert torch.equal(ksg_cmi_prepared(listed, c), ksg_cmi_prepared(plain, c))


def test_lists_as_long_as_the_estimates_call_for_give_the_same_estimates():
    """A conditioning set for few estimates gets the short lists, one for many the long ones; the
    estimates of one candidate and of many at once are the same bits either way."""
    from iblearn.functional.knn import cmi

    x, y, z = _samples(900, 2, 1, seed=5)
    few = prepared_condition(y, z, 4, estimates=cmi.LISTED_MANY - 1)
    many = prepared_condition(y, z, 4, estimates=cmi.LISTED_MANY)
    assert few.lists is not None and many.lists is not None
    assert [m[0].shape[1] for m in few.lists] == list(cmi.LISTED_SHORT)
    assert [m[0].shape[1] for m in many.lists] == list(cmi.LISTED_LONG)
    xs = np.stack([np.roll(x[:, 0].numpy(), s) for s in range(0, 900, 60)])
    xs[2, :4] *= 30  # radii past the short lists
    assert np.array_equal(cmi.ksg_cmi_prepared_many(few, xs), cmi.ksg_cmi_prepared_many(many, xs))
    for row in xs[:3]:
        c = torch.from_numpy(np.ascontiguousarray(row[:, None]))
        assert torch.equal(ksg_cmi_prepared(few, c), ksg_cmi_prepared(many, c))


@pytest.mark.parametrize(
    ("n", "dz", "my", "mz", "k"),
    [
        (400, 1, 128, 398, 4),
        (400, 3, 8, 16, 4),
        (1000, 2, 128, 512, 4),
        (400, 2, 16, 64, 3),
        (300, 1, 64, 200, 7),
    ],
)
def test_listed_many_gives_each_rows_listed_counts(n, dz, my, mz, k):
    """The kernel that counts a vector's width of candidates per pass over the lists gives each its own
    radii and counts, for any number of rows (groups left part empty) and rows measured against all,
    for the default k (its compare-exchanges unrolled) and others."""
    x, y, z = _samples(n, dz, 1, seed=n + dz + my)
    cond = prepared_condition(y, z, 4)
    yz = np.ascontiguousarray(torch.cat([cond.y, cond.z], dim=1).numpy())
    lists = nb.neighbour_lists(yz, my), nb.neighbour_lists(cond.z.numpy(), mz)
    g = np.random.default_rng(n)
    xs = g.standard_normal((13, n)) + x[:, 0].numpy()
    xs[3, :5] *= 20  # outliers: radii past the lists
    xs[5] = np.round(xs[5] * 8) / 8 + 1e-9 * g.standard_normal(n)  # near ties
    eps, counts = nb.listed_counts_many(xs, k, yz, 1, *lists)
    for b in range(len(xs)):
        one_eps, one_counts = nb.listed_counts(np.ascontiguousarray(xs[b]), k, yz, 1, *lists)
        assert np.array_equal(eps[b], one_eps)
        for got, want in zip(counts, one_counts, strict=True):
            assert np.array_equal(got[b], want)


@pytest.mark.parametrize("seed", range(3))
def test_rows_made_ready_together_as_each_alone(seed):
    g = np.random.default_rng(seed)
    for n, scale in ((997, 1e-200), (500, 3e7), (300, 1.0), (64, 1e5)):
        rows = g.standard_t(2, (9, n)) * scale + scale * g.standard_normal((9, 1))
        rows[2] = 1.5  # constant
        rows[4] = np.round(rows[4] / scale, 1) * scale  # ties: left to the general path
        ready_rows, done = ksg.ready_columns(rows, seed)
        for b in range(len(rows)):
            alone = ksg._ready_column(torch.from_numpy(np.ascontiguousarray(rows[b, :, None])), seed)
            assert bool(done[b]) == (alone is not None)
            if alone is not None:
                assert np.array_equal(ready_rows[b], alone.numpy()[:, 0])
        assert not done[2]


@pytest.mark.parametrize(("n", "dz"), [(600, 1), (500, 3), (60, 2)])
def test_prepared_many_is_prepared_each_bit_for_bit(monkeypatch, n, dz):
    """Rows estimated together are each row's :func:`ksg_cmi_prepared`, with and without the lists,
    without a condition, and for rows that go the long way (ties, a constant row)."""
    from iblearn.functional.knn import cmi

    x, y, z = _samples(n, dz, 1, seed=n + dz)
    g = np.random.default_rng(dz)
    xs = g.standard_normal((11, n)) * 0.5 + x[:, 0].numpy()
    xs[1] = np.round(xs[1], 1)  # ties
    xs[2, : n // 2] = 0.25  # half tied
    conds = [prepared_condition(y, z, 4), prepared_condition(y, None, 4)]
    monkeypatch.setattr(cmi, "LISTED_MAX_N", 0)
    conds.append(prepared_condition(y, z, 4))
    assert conds[0].lists is not None and conds[2].lists is None
    for cond in conds:
        got = cmi.ksg_cmi_prepared_many(cond, xs)
        want = [float(ksg_cmi_prepared(cond, torch.from_numpy(np.ascontiguousarray(r[:, None])))) for r in xs]
        assert got.tolist() == want
    assert cmi.ksg_cmi_prepared_many(conds[0], xs[:0]).shape == (0,)


def test_network_engine_values_are_each_surrogates_value():
    g = np.random.default_rng(8)
    n = 400
    z = g.standard_normal((n, 2))
    y = z[:, 0] + g.standard_normal(n)
    c = z[:, 1] + 0.5 * g.standard_normal(n)
    cond, eng = condition(y, z), KSGCMI()
    plan = surrogates((n,), 20, "shift", (0, 1, 2))
    which = np.array([3, 0, 17, 9, 4])
    samples = plan.take(c)
    assert eng.values(cond, c, plan, which).tolist() == [eng.value(cond, samples[b]) for b in which]
    assert eng.surrogates(cond, c, plan).tolist() == [eng.value(cond, s) for s in samples]
    assert eng.values(cond, c, plan, which[:0]).shape == (0,)
    joint = np.column_stack([c, g.standard_normal(n)])  # several columns: one by one
    assert eng.values(cond, joint, plan, which).tolist() == [
        eng.value(cond, s) for s in plan.take(joint)[which]
    ]


@pytest.mark.parametrize("dz", [0, 1, 3])
def test_network_engines_estimate_many_candidates_as_each_alone(dz):
    """A greedy step's candidates estimated together are each one's value, bit for bit (without a z,
    each takes its own estimate)."""
    g = np.random.default_rng(9 + dz)
    n = 400
    z = g.standard_normal((n, dz))
    y = z.sum(axis=1) + g.standard_normal(n)
    columns = [z.sum(axis=1) * s + g.standard_normal(n) for s in (0.0, 0.5, 1.0, 2.0)]
    cond = condition(y, z, estimates=len(columns))
    for eng in (KSGCMI(), GaussianCMI()):
        assert eng.estimates(cond, columns) == [eng.value(cond, c) for c in columns]
        assert eng.estimates(cond, []) == []
