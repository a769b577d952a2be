"""Conditional MI (Frenzel-Pompe kNN, Gaussian closed form), local permutations and transfer entropy:
against closed forms, against a plain reference implementation, by properties, and on bad input.

Tolerances are about four standard deviations of the estimator at the given N, measured over 20 seeds
(written beside each); the seeds are fixed, so a test never flakes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import digamma

from iblearn.functional import (
    gaussian_cmi,
    gaussian_cmi_from_cov,
    gaussian_mi_from_cov,
    ksg_cmi,
    ksg_mi,
    local_permutations,
    transfer_entropy_matrix,
)
from iblearn.functional.knn import neighbors as nb
from iblearn.functional.knn.permutations import iter_local_permutations
from iblearn.functional.knn.transfer import ksg_transfer_entropy
from tests.conftest import gen


def random_covariance(d: int, seed: int) -> torch.Tensor:
    """A random correlation-scale covariance, well conditioned: W W^T / d + I / 2."""
    w = torch.randn(d, d, generator=gen(seed), dtype=torch.float64)
    return w @ w.T / d + 0.5 * torch.eye(d, dtype=torch.float64)


def gaussian_sample(cov: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    return (
        torch.randn(n, cov.shape[0], generator=gen(seed), dtype=torch.float64) @ torch.linalg.cholesky(cov).T
    )


def split(s: torch.Tensor, dx: int, dy: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return s[:, :dx], s[:, dx : dx + dy], s[:, dx + dy :]


def common_cause(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x and y both noisy copies of z: dependent (I(X;Y) = 0.51), independent given z."""
    g = gen(seed)
    z = torch.randn(n, 1, generator=g, dtype=torch.float64)
    return z + 0.5 * torch.randn(n, 1, generator=g), z + 0.5 * torch.randn(n, 1, generator=g), z


# -------------------------------------------------------------------------- a plain reference implementation
def reference_ksg_cmi(x: np.ndarray, y: np.ndarray, z: np.ndarray | None, k: int) -> float:
    """Frenzel & Pompe written out: all pairwise max-norm distances, sort, count strictly (z None: KSG 1)."""
    n = len(x)

    def dist(v: np.ndarray) -> np.ndarray:
        return np.abs(v[:, None, :] - v[None, :, :]).max(axis=2)

    dx, dy = dist(x), dist(y)
    dz = dist(z) if z is not None else np.zeros((n, n))
    joint = np.maximum(np.maximum(dx, dy), dz)
    total = 0.0
    for i in range(n):
        others = np.delete(np.arange(n), i)
        eps = np.sort(joint[i, others])[k - 1]
        nxz = np.sum(np.maximum(dx[i, others], dz[i, others]) < eps)
        nyz = np.sum(np.maximum(dy[i, others], dz[i, others]) < eps)
        nz = np.sum(dz[i, others] < eps) if z is not None else n - 1
        total += digamma(nxz + 1) + digamma(nyz + 1) - digamma(nz + 1)
    return float(digamma(k) - total / n)


@pytest.fixture(params=["compiled", "scipy", "brute"])
def backend(request, monkeypatch):
    """Each search path: the compiled kernel with slabs of 7 points (many slabs, partial blocks),
    scipy's k-d tree (where the kernel is not built), and chunked brute force."""
    if request.param == "compiled":
        if not nb.HAVE_KERNEL:
            pytest.skip("the compiled kernel was not built")
        monkeypatch.setattr(nb, "_slab_width", lambda n: 7)
        return "tree"
    if request.param == "scipy":
        monkeypatch.setattr(nb, "HAVE_KERNEL", False)
        return "tree"
    return "brute"


@pytest.mark.parametrize(("dims", "k"), [((1, 1, 1), 3), ((2, 1, 3), 1), ((1, 2, 2), 5)])
def test_ksg_cmi_equals_a_plain_reference(backend, dims, k):
    s = gaussian_sample(random_covariance(sum(dims), seed=sum(dims) + k), 150, seed=k)
    x, y, z = (t.numpy() for t in split(s, *dims[:2]))
    ours = ksg_cmi(x, y, z, k, standardize=False, ties="raise", backend=backend)
    assert float(ours) == pytest.approx(reference_ksg_cmi(x, y, z, k), abs=1e-10)


def test_ksg_cmi_with_class_labels_is_the_weighted_sum_of_per_class_ksg(backend):
    s = gaussian_sample(random_covariance(3, seed=4), 160, seed=5)
    x, y, w = (t.numpy() for t in split(s, 1, 1))
    labels = np.digitize(w[:, 0], [-0.5, 0.5])  # three classes of a continuous confounder
    expected = sum(
        np.mean(labels == c) * reference_ksg_cmi(x[labels == c], y[labels == c], None, 3) for c in range(3)
    )
    ours = ksg_cmi(x, y, torch.from_numpy(labels), 3, standardize=False, ties="raise", backend=backend)
    assert float(ours) == pytest.approx(expected, abs=1e-10)


# ------------------------------------------------------------------------------------------ closed forms
def test_gaussian_cmi_from_cov_is_the_chain_rule():
    cov = random_covariance(6, seed=1)
    # I(X; Y, Z) = I(X; Z) + I(X; Y | Z), X the first 2 coordinates, Y the next 1, Z the last 3
    xz = torch.cat([torch.arange(2), torch.arange(3, 6)])
    chain = gaussian_mi_from_cov(cov[xz][:, xz], 2) + gaussian_cmi_from_cov(cov, 2, 1)
    assert float(chain) == pytest.approx(float(gaussian_mi_from_cov(cov, 2)), abs=1e-12)


@pytest.mark.parametrize("dims", [(1, 1, 1), (2, 3, 2), (3, 2, 4), (1, 4, 5)])
def test_gaussian_cmi_is_the_closed_form_of_the_sample_covariance(dims):
    s = gaussian_sample(random_covariance(sum(dims), seed=sum(dims)), 3000, seed=2)
    s = s * 10.0 ** torch.arange(-3, sum(dims) - 3) + 7.0  # any scales and offsets
    sample_cov = torch.cov(s.T, correction=0)
    assert float(gaussian_cmi(*split(s, *dims[:2]))) == pytest.approx(
        float(gaussian_cmi_from_cov(sample_cov, *dims[:2])), abs=1e-9
    )


@pytest.mark.parametrize("dims", [(1, 1, 1), (2, 3, 2), (3, 2, 4)])
def test_gaussian_cmi_against_the_truth_of_random_covariances(dims):
    cov = random_covariance(sum(dims), seed=10 + sum(dims))
    truth = float(gaussian_cmi_from_cov(cov, *dims[:2]))
    estimate = float(gaussian_cmi(*split(gaussian_sample(cov, 20000, seed=1), *dims[:2])))
    # plug-in bias about dx dy / 2N <= 3e-4; sd 0.004 over 20 seeds, largest error 0.011
    assert estimate == pytest.approx(truth, abs=0.02)


@pytest.mark.parametrize("dims", [(1, 1, 1), (2, 2, 2)])
def test_ksg_cmi_against_the_truth_of_random_covariances(dims):
    # over 20 seeds: sd 0.015 for both, mean error +0.005 (1,1,1) and -0.006 (2,2,2)
    cov = random_covariance(sum(dims), seed=20 + sum(dims))
    truth = float(gaussian_cmi_from_cov(cov, *dims[:2]))
    assert truth > 0.05
    assert float(ksg_cmi(*split(gaussian_sample(cov, 3000, seed=3), *dims[:2]))) == pytest.approx(
        truth, abs=0.06
    )


def test_conditional_independence_gives_about_zero():
    x, y, z = common_cause(2000, seed=0)
    assert float(ksg_mi(x, y)) > 0.4  # dependent ...
    assert abs(float(ksg_cmi(x, y, z))) < 0.05  # ... but not given z (20 seeds: sd 0.011, mean -0.004)
    assert abs(float(gaussian_cmi(x, y, z))) < 0.01


def test_chain_rule_within_estimator_error():
    cov = random_covariance(3, seed=7)
    x, y, z = split(gaussian_sample(cov, 3000, seed=1), 1, 1)
    whole = float(ksg_mi(x, torch.cat([y, z], dim=1)))
    parts = float(ksg_mi(x, z)) + float(ksg_cmi(x, y, z))
    assert parts == pytest.approx(whole, abs=0.05)  # 20 seeds: the difference's sd 0.011, mean 0.003


def test_invariant_under_invertible_maps_of_x_and_y():
    cov = random_covariance(3, seed=8)
    x, y, z = split(gaussian_sample(cov, 3000, seed=2), 1, 1)
    plain = float(ksg_cmi(x, y, z))
    mapped = float(ksg_cmi(torch.sinh(2 * x) + 3.0, -(y**3) - y, z))
    # The truth is unchanged; the kNN estimate moves by its bias's change and its noise (20 seeds: the
    # difference has mean -0.010, sd 0.016).
    assert mapped == pytest.approx(plain, abs=0.07)
    assert float(gaussian_cmi(5 * x - 2, -0.1 * y, z)) == pytest.approx(
        float(gaussian_cmi(x, y, z)), abs=1e-12
    )


def test_gaussian_cmi_handles_rank_deficient_and_z_determined_inputs():
    x, y, z = common_cause(2000, seed=1)
    wide_x = torch.cat([x, 2 * x, torch.full_like(x, 3.0)], dim=1)  # rank 1 in 3 columns
    assert float(gaussian_cmi(wide_x, y, z)) == pytest.approx(float(gaussian_cmi(x, y, z)), abs=1e-9)
    assert float(gaussian_cmi(2 * z + 1, y, z)) == 0.0  # z determines x: nothing left to share


def test_discrete_condition_with_gaussian_cmi():
    g = gen(3)
    labels = torch.randint(0, 3, (3000,), generator=g)
    shift = labels[:, None].double()
    x, y = shift + torch.randn(3000, 1, generator=g), shift + torch.randn(3000, 1, generator=g)
    assert abs(float(gaussian_cmi(x, y, labels))) < 0.01
    assert abs(float(ksg_cmi(x, y, labels))) < 0.05  # 20 seeds: sd 0.0125
    assert float(ksg_mi(x, y)) > 0.1


# ----------------------------------------------------------------------------------------- transfer entropy
def ar_pair(a: float, b: float, c: float, t: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """X_t = a X_{t-1} + e, Y_t = b Y_{t-1} + c X_{t-1} + e' (unit noises): the series and the closed
    form of TE X -> Y with lag and history 1, I(Y_t; X_{t-1} | Y_{t-1}), from the stationary covariance."""
    transition = torch.tensor([[a, 0.0], [c, b]], dtype=torch.float64)
    sigma = torch.eye(2, dtype=torch.float64)
    for _ in range(500):  # Sigma = A Sigma A^T + I
        sigma = transition @ sigma @ transition.T + torch.eye(2, dtype=torch.float64)
    sxx, sxy, syy = sigma[0, 0], sigma[0, 1], sigma[1, 1]
    # (Y_t, X_{t-1}, Y_{t-1}), with Y_t = c X_{t-1} + b Y_{t-1} + e'
    cov = torch.tensor(
        [
            [float(syy), float(c * sxx + b * sxy), float(c * sxy + b * syy)],
            [float(c * sxx + b * sxy), float(sxx), float(sxy)],
            [float(c * sxy + b * syy), float(sxy), float(syy)],
        ],
        dtype=torch.float64,
    )
    noise = torch.randn(t + 200, 2, generator=gen(seed), dtype=torch.float64)
    xs, ys = torch.zeros(t + 200, dtype=torch.float64), torch.zeros(t + 200, dtype=torch.float64)
    for i in range(1, t + 200):
        xs[i] = a * xs[i - 1] + noise[i, 0]
        ys[i] = b * ys[i - 1] + c * xs[i - 1] + noise[i, 1]
    return xs[200:], ys[200:], float(gaussian_cmi_from_cov(cov, 1, 1))


def test_transfer_entropy_of_a_linear_gaussian_autoregressive_pair():
    x, y, truth = ar_pair(0.6, 0.5, 0.8, 3000, seed=0)
    assert truth == pytest.approx(0.296, abs=0.001)  # a sizeable flow ...
    # 20 seeds: sd 0.019, mean +0.005
    assert float(ksg_transfer_entropy(x, y)) == pytest.approx(truth, abs=0.08)
    assert abs(float(ksg_transfer_entropy(y, x))) < 0.06  # ... and none back (sd 0.015)


def test_transfer_entropy_builds_the_embedding_it_says():
    from iblearn.functional.knn.transfer import partialled

    g = gen(1)
    source, target = torch.randn(400, 2, generator=g), torch.randn(400, generator=g)
    te = ksg_transfer_entropy(source, target, lag=3, history=2, k=4, seed=5)
    present, past_source = target[3:], source[:-3]
    past_target = torch.stack([target[2:-1], target[1:-2]], dim=1)
    samples = partialled(present, past_source, past_target)  # the TE's own, without its bias on a ridge
    assert float(te) == float(ksg_cmi(*samples, 4, seed=5))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"lag": 0}, "lag"),
        ({"history": 0}, "history"),
        ({"lag": 1.5}, "lag"),
        ({"lag": 97}, "target"),  # 100 steps leave 3 samples, not more than k = 3
        ({"lag": 10**30}, r"^lag: must be below the series length, 100 steps; got 10+$"),
        ({"lag": 100}, r"^lag: must be below the series length, 100 steps; got 100$"),
        ({"history": 10**30}, r"^history: must be below the series length"),
        ({"k": 0}, "k"),
    ],
)
def test_transfer_entropy_refuses_bad_settings(kwargs, name):
    x = torch.randn(100, generator=gen(0))
    with pytest.raises(ValueError, match=name):
        ksg_transfer_entropy(x, torch.randn(100, generator=gen(1)), **kwargs)


def test_transfer_entropy_refuses_series_of_different_lengths_and_nan():
    with pytest.raises(ValueError, match="source"):
        ksg_transfer_entropy(torch.randn(100), torch.randn(90))
    bad = torch.randn(100)
    bad[5] = math.nan
    with pytest.raises(ValueError, match="source"):
        ksg_transfer_entropy(bad, torch.randn(100))


# ------------------------------------------------------------------------------------- local permutations
def test_local_permutations_move_samples_among_near_neighbours_in_z():
    z = torch.randn(500, 1, generator=gen(0), dtype=torch.float64)
    perms = local_permutations(z, 20, n_neighbours=5, seed=1)
    assert perms.shape == (20, 500) and perms.dtype == torch.int64
    ranks = torch.argsort(torch.argsort(z[:, 0]))
    # each sample takes the x of one of its 5 nearest in z (itself included): within 4 ranks
    assert int((ranks[perms] - ranks).abs().max()) <= 4
    # almost a permutation: repeats only where every candidate was taken (Runge 2018, Algorithm 1)
    distinct = torch.tensor([len(torch.unique(p)) for p in perms], dtype=torch.float64)
    assert float(distinct.mean()) > 0.9 * 500  # 92.6% measured (the docstring's 7 - 8% repeats)
    assert float((perms != torch.arange(500)).double().mean()) > 0.6  # and it does move them
    assert torch.equal(perms, local_permutations(z, 20, n_neighbours=5, seed=1))  # reproducible


@pytest.mark.parametrize("classes", [False, True])
def test_local_permutations_drawn_one_at_a_time_are_the_same_rows(classes):
    z = torch.randint(0, 4, (200,), generator=gen(3)) if classes else torch.randn(200, 2, generator=gen(3))
    draws = iter_local_permutations(z, seed=4)
    rows = np.stack([next(draws) for _ in range(7)])
    np.testing.assert_array_equal(rows, local_permutations(z, 7, seed=4).numpy())


def test_local_permutations_shuffle_within_classes_for_labels():
    labels = torch.randint(0, 4, (300,), generator=gen(2))
    perms = local_permutations(labels, 5, seed=0)
    for p in perms:
        assert torch.equal(labels[p], labels) and len(torch.unique(p)) == 300


# -------------------------------------------------------------------------------------------- bad input
def _xyz(n: int = 50) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = gen(9)
    return tuple(torch.randn(n, 1, generator=g, dtype=torch.float64) for _ in range(3))  # type: ignore[return-value]


@pytest.mark.parametrize("estimate", [ksg_cmi, gaussian_cmi], ids=["ksg", "gaussian"])
def test_bad_z_is_refused_naming_it(estimate):
    x, y, z = _xyz()
    nan_z = z.clone()
    nan_z[3, 0] = math.nan
    for bad, message in [
        (z[:40], "sample counts differ: x has 50, y has 50, z has 40"),
        (nan_z, "z: contains NaN"),
        (torch.full((50, 2), 1.5, dtype=torch.float64), "z: every column is constant"),
        (torch.zeros(50, dtype=torch.int64), "z: every sample is in one class"),
        (torch.zeros(50, 1, 2), "z: expected shape"),
        ("abc", "z:"),
    ]:
        with pytest.raises(ValueError, match=message):
            estimate(x, y, bad)


def test_classes_too_small_for_k_are_named():
    x, y, _ = _xyz()
    labels = torch.zeros(50, dtype=torch.int64)
    labels[:3] = 1
    with pytest.raises(
        ValueError, match=r"z: class 1 \(of 2\) has 3 of the 50 samples; k=3 needs at least 4"
    ):
        ksg_cmi(x, y, labels)
    assert math.isfinite(float(ksg_cmi(x, y, labels, k=2)))


def test_bad_x_y_k_are_refused_naming_them():
    x, y, z = _xyz()
    with pytest.raises(ValueError, match="x: contains NaN"):
        ksg_cmi(x.clone().fill_(math.nan), y, z)
    with pytest.raises(ValueError, match="y: expected continuous samples"):
        ksg_cmi(x, torch.ones(50, dtype=torch.int64), z)
    with pytest.raises(ValueError, match="k=50 needs more than 50 samples"):
        ksg_cmi(x, y, z, k=50)
    with pytest.raises(ValueError, match="ties"):
        ksg_cmi(x, y, z, ties="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="x, y, z: 1 \\+ 1 \\+ 1 effective dimensions"):
        gaussian_cmi(x[:3], y[:3], z[:3])
    with pytest.raises(ValueError, match="n_neighbours"):
        local_permutations(z, 3, n_neighbours=51)
    with pytest.raises(ValueError, match="dim_x, dim_y"):
        gaussian_cmi_from_cov(torch.eye(3), 2, 2)


@settings(derandomize=True, max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    hnp.arrays(np.float64, st.tuples(st.integers(1, 12), st.integers(1, 2)), elements=st.floats(-1e3, 1e3)),
    st.integers(1, 4),
    st.booleans(),
)
def test_fuzz_every_input_gives_a_finite_value_or_a_named_error(a, k, labels):
    n = a.shape[0]
    x, y = a, a[::-1].copy()
    z = (np.arange(n) % 2) if labels else np.sin(np.arange(n, dtype=np.float64))[:, None]
    for call in (lambda: ksg_cmi(x, y, z, k), lambda: gaussian_cmi(x, y, z)):
        try:
            value = float(call())
        except ValueError as err:
            assert any(name in str(err) for name in ("x", "y", "z", "k", "sample counts"))
            continue
        assert math.isfinite(value) or value == math.inf  # inf: a deterministic relation (Gaussian)


def test_transfer_entropy_names_a_constant_series_source_or_target():
    x = torch.randn(100, generator=gen(0))
    with pytest.raises(ValueError, match=r"^target: every column is constant"):
        ksg_transfer_entropy(x, torch.full((100,), 2.0))
    with pytest.raises(ValueError, match=r"^source: every column is constant"):
        ksg_transfer_entropy(torch.full((100, 2), 2.0), x)
    present_constant = torch.ones(100)
    present_constant[0] = 3.0  # the series varies, its present (steps 1 - 99) does not
    with pytest.raises(ValueError, match=r"^target: every column is constant"):
        ksg_transfer_entropy(x, present_constant)


def test_one_sample_is_refused_as_too_few_not_as_constant():
    x, y, z = _xyz()
    for call in (lambda: ksg_cmi(x[:1], y[:1], z[:1]), lambda: gaussian_cmi(x[:1], y[:1], z[:1])):
        with pytest.raises(ValueError, match=r"^x: has 1 sample \(row\)"):
            call()
    with pytest.raises(ValueError, match=r"^z: has 1 sample"):
        ksg_cmi(x, y, z[:1])
    with pytest.raises(ValueError, match=r"^z: has 1 sample"):
        local_permutations(z[:1], 3)


def test_local_permutations_bound_the_count_they_return():
    z = torch.randn(50, 1, generator=gen(0), dtype=torch.float64)
    for bad in (10**12, 2**28 // 50 + 1):
        with pytest.raises(ValueError, match=r"^n_permutations: .* at most 2\^28"):
            local_permutations(z, bad)
        with pytest.raises(ValueError, match=r"^n_permutations: "):
            local_permutations(torch.arange(50) % 3, bad)
    assert local_permutations(z, 2, n_neighbours=3).shape == (2, 50)


@pytest.mark.parametrize(("n", "dz", "m"), [(40, 1, 2), (300, 3, 5), (2000, 2, 5), (500, 1, 20)])
def test_local_permutations_stay_within_the_neighbourhoods(n, dz, m):
    z = torch.randn(n, dz, generator=gen(n), dtype=torch.float64)
    perms = local_permutations(z, 5, n_neighbours=m, standardize=False, seed=3)
    # each sample takes one of its m nearest in z, itself included (the max-norm, as the search)
    dist = torch.cdist(z, z, p=float("inf"))
    rank = torch.argsort(torch.argsort(dist, dim=1), dim=1)  # rank[i, j]: j's place among i's neighbours
    assert int(rank.gather(1, perms.T).max()) < m
    repeats = 1 - torch.tensor([len(torch.unique(p)) for p in perms], dtype=torch.float64) / n
    assert float(repeats.mean()) < 0.15  # the docstring's 7 - 12% at m = 5


def test_a_history_that_leaves_fewer_samples_than_dimensions_is_refused():
    # history=390 on 400 steps read 1e-16 for every pair, coupled or not, without a word.
    series = torch.randn(400, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with pytest.raises(ValueError, match="history: 390 steps of history leave 10 samples"):
        transfer_entropy_matrix(series, history=390)
    with pytest.raises(ValueError, match="history: 200 steps"):
        ksg_transfer_entropy(series[:, 0], series[:, 1], history=200)


def test_gaussian_cmi_reads_a_linear_relation_given_z_as_infinite_not_its_round_off():
    # y = A x + B z computed in float64 leaves y a conditional variance of round-off, whose logarithm
    # read some 17 nats; a partial correlation within rtol of 1 is 1.
    g = gen(5)
    infinite = 0
    for n, d in [(50, 1), (500, 1), (5000, 1), (500, 3), (5000, 2)]:
        x = torch.randn(n, d, generator=g, dtype=torch.float64) * 1e3
        z = torch.randn(n, 2, generator=g, dtype=torch.float64)
        y = (
            x @ torch.randn(d, d, generator=g, dtype=torch.float64)
            + z @ torch.randn(2, d, generator=g).double()
        )
        infinite += math.isinf(float(gaussian_cmi(x, y, z))) + math.isinf(float(gaussian_cmi(y, x, z)))
        assert bool(torch.isinf(gaussian_cmi(x, y, z, local=True)).all())
    assert infinite == 10
    # Identified but close: y's variance given x and z is 1e-8 of x's, finite at about 9.9 nats.
    x, z, e = (torch.randn(4000, 1, generator=g, dtype=torch.float64) for _ in range(3))
    assert float(gaussian_cmi(x, x + z + 1e-4 * e, z)) == pytest.approx(0.5 * math.log(1e8), abs=0.1)


def test_ksg_cmi_ranked_is_ksg_cmi_to_the_last_bit_or_declines():
    from iblearn.functional.knn.cmi import cmi_terms_ranked, ksg_cmi_ranked
    from iblearn.functional.multivariate.inputs import ranked_normal

    g = torch.Generator().manual_seed(3)
    raw = torch.randn(2000, 3, generator=g, dtype=torch.float64)
    raw[:, 1] += raw[:, 0] ** 2 + raw[:, 2]
    scores, ranks, _ = ranked_normal(raw)
    assert ranks is not None
    x, y, z = scores[:, :1], scores[:, 1:2], scores[:, 2:]
    half = torch.randperm(2000, generator=g)[:1000]
    shuffled = half[torch.randperm(1000, generator=g)]  # y and z of other rows than x's: the null's
    for rows, other in ((torch.arange(2000), torch.arange(2000)), (half, half), (half, shuffled)):
        keys = [ranks[0][rows.numpy()], ranks[1][other.numpy()], ranks[2][other.numpy()]]
        for k in (1, 3, 6):
            value = ksg_cmi_ranked(x[rows], y[other], z[other], keys, 2000, k, 5)
            assert value is not None
            assert value == float(ksg_cmi(x[rows], y[other], z[other], k, seed=5))
            terms = cmi_terms_ranked(x[rows], y[other], z[other], keys, 2000, k, 5)
            assert terms is not None
            assert torch.equal(
                torch.from_numpy(terms), ksg_cmi(x[rows], y[other], z[other], k, seed=5, local=True)
            )
    keys = list(ranks)
    assert ksg_cmi_ranked(x, y, z, [keys[0], keys[1], keys[2][::-1].copy()], 2000, 3, 0) is None
    assert ksg_cmi_ranked(x, y, z, [keys[0], keys[1], np.zeros(2000, dtype=np.int64)], 2000, 3, 0) is None
    assert ksg_cmi_ranked(x, y, z, keys, 2000, 2000, 0) is None
    assert ksg_cmi_ranked(x, scores[:, 1:], z, keys, 2000, 3, 0) is None  # two columns of y
