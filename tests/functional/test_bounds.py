"""Variational bounds on critic scores: the optimal critic of a Gaussian gives the truth, suboptimal
critics stay below it, InfoNCE never exceeds log N, masking and float16 are safe."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from iblearn import functional as ibf
from iblearn.data import bivariate_normal
from tests.conftest import gen

RHO = 0.75
TRUTH = -0.5 * math.log(1 - RHO**2)


def optimal_critic(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """log p(x, y) / (p(x) p(y)) of the standard bivariate normal with correlation RHO."""
    q = (RHO**2 * x**2 - 2 * RHO * x * y + RHO**2 * y**2) / (2 * (1 - RHO**2))
    return TRUTH - q


@pytest.fixture(scope="module")
def samples():
    x, y = bivariate_normal(RHO).sample(200_000, seed=0)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(1))
    return x[:, 0], y[:, 0], y[perm, 0]


def test_optimal_critic_gives_the_truth(samples):
    # 200,000 pairs: the Monte Carlo error of these means is about 0.005.
    x, y, y_shuffled = samples
    joint, marginal = optimal_critic(x, y), optimal_critic(x, y_shuffled)
    assert float(ibf.dv_bound(joint, marginal)) == pytest.approx(TRUTH, abs=0.02)
    assert float(ibf.nwj_bound(joint + 1, marginal + 1)) == pytest.approx(TRUTH, abs=0.02)


@pytest.mark.parametrize(
    "distort", [lambda t: 0.5 * t, lambda t: 2.0 * t, lambda t: t + 0.7, lambda t: t - 0.7]
)
def test_suboptimal_critics_stay_below_the_truth(samples, distort):
    x, y, y_shuffled = samples
    joint, marginal = distort(optimal_critic(x, y)), distort(optimal_critic(x, y_shuffled))
    assert float(ibf.dv_bound(joint, marginal)) < TRUTH + 0.01
    assert float(ibf.nwj_bound(joint + 1, marginal + 1)) < TRUTH + 0.01


def test_infonce_with_the_optimal_critic_is_below_log_n_and_close_to_the_truth():
    x, y = bivariate_normal(RHO).sample(2000, seed=3)
    scores = optimal_critic(x[:, 0][:, None], y[:, 0][None, :])  # (N, N), positives on the diagonal
    value = float(ibf.infonce_bound(scores))
    assert value <= math.log(2000)
    assert value == pytest.approx(TRUTH, abs=0.05)  # log N = 7.6 >> I: InfoNCE is nearly tight


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 40), m_extra=st.integers(0, 10), scale=st.floats(0.1, 1e3), seed=st.integers(0, 1000))
def test_infonce_never_exceeds_log_m(n, m_extra, scale, seed):
    scores = scale * torch.randn(n, n + m_extra, generator=torch.Generator().manual_seed(seed))
    scores[range(n), range(n)] += scale * 10  # even a perfect critic is capped
    assert float(ibf.infonce_bound(scores)) <= math.log(n + m_extra) + 1e-5


def test_js_is_maximized_by_the_log_density_ratio(samples):
    x, y, y_shuffled = samples
    at_opt = float(ibf.js_bound(optimal_critic(x, y), optimal_critic(x, y_shuffled)))
    for distort in (0.5, 1.5):
        assert (
            float(ibf.js_bound(distort * optimal_critic(x, y), distort * optimal_critic(x, y_shuffled)))
            < at_opt
        )


def test_masking_happens_inside_the_log_sum_exp():
    s = torch.tensor([[0.0, 1.0], [2.0, 1e4]])
    mask = torch.tensor([[True, True], [True, False]])  # the huge entry is excluded, not just zeroed
    assert float(ibf.log_mean_exp(s, mask)) == pytest.approx(math.log((1 + math.e + math.e**2) / 3))
    with pytest.raises(ValueError, match="mask: selects no scores"):
        ibf.log_mean_exp(s, torch.zeros(2, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask: shape"):
        ibf.log_mean_exp(s, torch.ones(3, dtype=torch.bool))


@pytest.mark.parametrize(
    ("mask", "match"),
    [
        (torch.ones(4, dtype=torch.bool), "mask: shape"),  # broadcasts over the rows: would count 4, not 16
        (torch.zeros(4, 4, dtype=torch.bool), "mask: selects no scores"),
        (1 - torch.eye(4), "mask: expected a bool tensor"),
        ((1 - torch.eye(4)).long(), "mask: expected a bool tensor"),
    ],
)
def test_every_bound_checks_its_mask(mask, match):
    joint, marginal = torch.randn(4, generator=gen()), torch.randn(4, 4, generator=gen(1))
    for bound in (ibf.dv_bound, ibf.nwj_bound, ibf.js_bound):
        with pytest.raises(ValueError, match=match):
            bound(joint, marginal, mask)


def test_float16_scores_do_not_overflow():
    joint = torch.full((100,), 60.0, dtype=torch.float16)
    marginal = torch.full((100,), 50.0, dtype=torch.float16)  # exp(50) overflows float16
    for bound in (ibf.dv_bound, ibf.nwj_bound, ibf.js_bound):
        assert math.isfinite(float(bound(joint, marginal)))
    assert float(ibf.dv_bound(joint, marginal)) == pytest.approx(10.0, abs=1e-3)
    scores = torch.full((8, 8), 30.0, dtype=torch.float16)
    assert float(ibf.infonce_bound(scores)) == pytest.approx(0.0, abs=1e-3)


def test_chunked_infonce_equals_the_full_matrix_in_value_and_gradient():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(50, 4, generator=g, requires_grad=True)
    b = torch.randn(50, 4, generator=g)
    full = ibf.infonce_bound(a @ b.T)
    (grad_full,) = torch.autograd.grad(full, a)
    chunked = ibf.infonce_bound_chunked(lambda rows: a[rows] @ b.T, 50, chunk=7)
    (grad_chunked,) = torch.autograd.grad(chunked, a)
    assert float(chunked.detach()) == pytest.approx(float(full.detach()), abs=1e-5)
    torch.testing.assert_close(grad_chunked, grad_full)


def test_bad_scores():
    with pytest.raises(ValueError, match=r"scores: expected an \(N, M\) matrix with N <= M"):
        ibf.infonce_bound(torch.randn(5, 3))
    with pytest.raises(ValueError, match="n: expected a positive integer"):
        ibf.infonce_bound_chunked(lambda rows: torch.zeros(len(rows), 1), 0)
    with pytest.raises(ValueError, match="chunk: expected a positive integer"):
        ibf.infonce_bound_chunked(lambda rows: torch.zeros(len(rows), 5), 5, chunk=0)
    for bound in (ibf.dv_bound, ibf.nwj_bound, ibf.js_bound):
        with pytest.raises(ValueError, match="joint: no scores"):
            bound(torch.zeros(0), torch.zeros(3))
        with pytest.raises(ValueError, match="marginal: expected a floating-point tensor"):
            bound(torch.zeros(3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="scores: no scores"):
        ibf.log_mean_exp(torch.zeros(0))


@pytest.mark.parametrize("score", [1e9, -1e9, 3e38])
def test_a_constant_critic_scores_zero_at_any_magnitude(score):
    # Unshifted, 1e9 + log 100 rounds to 1e9 in float32: a useless critic scored the ceiling, log 100.
    s = torch.full((100, 100), score)
    assert abs(float(ibf.infonce_bound(s))) < 1e-6
    assert abs(float(ibf.infonce_bound_chunked(lambda rows: s[rows], 100, chunk=30))) < 1e-6
    # The positive a hair above the rest still counts, however large the scores.
    s.fill_diagonal_(score + abs(score) * 1e-3)
    assert float(ibf.infonce_bound(s)) == pytest.approx(math.log(100), rel=1e-6)


# --------------------------------------------------------------- SMILE, FLO, CLUB, DoE
def test_smile_clips_the_partition_term_only():
    joint, marginal = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 10.0])
    # 1 - log((e^0 + e^1) / 2): the marginal 10 is clipped to 1, the joint mean stays 1.
    assert float(ibf.smile_bound(joint, marginal, clip=1.0)) == pytest.approx(
        1 - math.log((1 + math.e) / 2), abs=1e-6
    )
    assert float(ibf.smile_bound(joint * 50, marginal, clip=1.0)) == pytest.approx(
        50 - math.log((1 + math.e) / 2)
    )
    assert float(ibf.smile_bound(joint, marginal, clip=math.inf)) == pytest.approx(
        float(ibf.dv_bound(joint, marginal))
    )
    mask = torch.tensor([True, False])
    assert float(ibf.smile_bound(joint, marginal, 1.0, mask)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="clip: expected a number >= 0"):
        ibf.smile_bound(joint, marginal, clip=-1.0)


def test_flo_is_tight_at_the_best_u_and_below_it_elsewhere():
    g = torch.Generator().manual_seed(0)
    joint, negatives = torch.randn(6, generator=g), torch.randn(6, 4, generator=g)
    log_a = torch.logsumexp(negatives, 1) - math.log(4) - joint  # a_i = mean_k exp(g_ik - g_ii)
    best = float(ibf.flo_bound(joint, negatives, log_a))
    assert best == pytest.approx(float(-log_a.mean()), abs=1e-6)  # the conditional DV bound it dualizes
    for shift in (-1.0, -0.1, 0.3, 2.0):
        assert float(ibf.flo_bound(joint, negatives, log_a + shift)) < best
    # By hand: one row, g = 1 on the joint, 0 on both negatives, u = 0: 1 + (0 - e^-1).
    one = ibf.flo_bound(torch.tensor([1.0]), torch.zeros(1, 2), torch.zeros(1))
    assert float(one) == pytest.approx(1 - math.exp(-1))


def test_flo_of_the_optimal_critic_is_the_truth(samples):
    x, y, _ = samples
    n = 20_000
    xs, ys = x[:n], y[:n]
    negatives = optimal_critic(xs[:, None], y[n : n + 64][None, :])  # (n, 64): 64 other y for each x
    joint = optimal_critic(xs, ys)
    assert float(ibf.flo_bound(joint, negatives, -joint)) == pytest.approx(TRUTH, abs=0.03)


def test_club_over_all_pairs_equals_the_pairs_summed_by_hand():
    g = torch.Generator().manual_seed(1)
    mean, log_var, y = (
        torch.randn(5, 2, generator=g),
        torch.randn(5, 2, generator=g),
        torch.randn(5, 2, generator=g),
    )

    def log_q(i, j):  # log N(y_j; mean_i, exp(log_var_i))
        return -0.5 * float(
            (((y[j] - mean[i]) ** 2) / log_var[i].exp() + log_var[i] + math.log(2 * math.pi)).sum()
        )

    positives = sum(log_q(i, i) for i in range(5)) / 5
    every = sum(log_q(i, j) for i in range(5) for j in range(5)) / 25
    assert float(ibf.club_bound(mean, log_var, y)) == pytest.approx(positives - every, abs=1e-5)
    assert float(ibf.gaussian_log_likelihood(mean, log_var, y)) == pytest.approx(positives, abs=1e-5)
    perm = torch.tensor([1, 2, 3, 4, 0])
    sampled = sum(log_q(i, i) - log_q(i, int(perm[i])) for i in range(5)) / 5
    assert float(ibf.club_sampled_bound(mean, log_var, y, y[perm])) == pytest.approx(sampled, abs=1e-5)


def test_club_and_doe_of_the_true_conditional(samples):
    """q(y | x) = N(rho x, 1 - rho^2): CLUB is rho^2 / (1 - rho^2) (the truth plus KL(p(x)p(y) || p(x, y))),
    DoE the truth itself."""
    x, y, y_shuffled = samples
    mean, log_var = RHO * x[:, None], torch.full((len(x), 1), math.log(1 - RHO**2), dtype=x.dtype)
    assert float(ibf.club_bound(mean, log_var, y[:, None])) == pytest.approx(RHO**2 / (1 - RHO**2), abs=0.01)
    assert float(ibf.club_bound(mean, log_var, y[:, None])) > TRUTH
    sampled = ibf.club_sampled_bound(mean, log_var, y[:, None], y_shuffled[:, None])
    assert float(sampled) == pytest.approx(RHO**2 / (1 - RHO**2), abs=0.02)
    assert float(ibf.doe_mi(mean, log_var, y[:, None])) == pytest.approx(TRUTH, abs=0.01)


def test_doe_is_unbiased_where_both_models_are_exact():
    """y of 10 independent standard normals and q(y | x) = N(0, I), the true conditional of an x that
    says nothing: the MI is 0. Fitting y's Gaussian on the rows it scores would put H(Y), so the
    estimate, 0.71 nats low at N = 50 (about d (d + 3) / (4 N)); the Wishart correction removes it."""
    g = torch.Generator().manual_seed(0)
    n, d = 50, 10
    exact = torch.zeros(n, d)  # q's mean and log-variance
    values = [float(ibf.doe_mi(exact, exact, torch.randn(n, d, generator=g))) for _ in range(400)]
    mean, se = sum(values) / len(values), float(torch.tensor(values).std()) / math.sqrt(len(values))
    assert abs(mean) < 4 * se < 0.05


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: ibf.flo_bound(torch.zeros(3, 1), torch.zeros(3, 2), torch.zeros(3)),
            "joint: expected scores of shape",
        ),
        (
            lambda: ibf.flo_bound(torch.zeros(3), torch.zeros(4, 2), torch.zeros(3)),
            r"negatives: expected shape \(3, K\)",
        ),
        (
            lambda: ibf.flo_bound(torch.zeros(3), torch.zeros(3, 2), torch.zeros(2)),
            r"u: expected shape \(3,\)",
        ),
        (
            lambda: ibf.flo_bound(torch.zeros(3, dtype=torch.long), torch.zeros(3, 2), torch.zeros(3)),
            "joint: expected a",
        ),
        (
            lambda: ibf.club_bound(torch.zeros(3), torch.zeros(3), torch.zeros(3)),
            r"mean: expected shape \(N, d\)",
        ),
        (
            lambda: ibf.club_bound(torch.zeros(3, 2), torch.zeros(3, 1), torch.zeros(3, 2)),
            "log_var: expected shape",
        ),
        (
            lambda: ibf.club_bound(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(4, 2)),
            "y: expected shape",
        ),
        (
            lambda: ibf.club_sampled_bound(
                torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(2, 2)
            ),
            "y_negative: expected shape",
        ),
        (
            lambda: ibf.doe_mi(torch.zeros(2, 2), torch.zeros(2, 2), torch.zeros(2, 2)),
            "y: the Gaussian of y needs more",
        ),
        (lambda: ibf.smile_bound(torch.zeros(2), torch.zeros(2), clip="5"), "clip: expected a number"),
    ],
)
def test_the_new_bounds_name_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
