"""The synthetic tasks: closed-form values from the literature, and each closed form checked independently by
Monte Carlo integration of log p(x, y) - log p(x) - log p(y) with the known densities."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from iblearn.data import (
    additive_uniform,
    bivariate_normal,
    categorical_uniform,
    dense_gaussian,
    get_task,
    high_mi,
    sign_mixture,
    sparse_gaussian,
    standard_tasks,
    student_t,
    zero_inflated,
)


@pytest.mark.parametrize(
    ("task", "value"),
    [
        (bivariate_normal(0.75), 0.4133),
        (sparse_gaussian(3), 1.0217),
        (sparse_gaussian(25), 1.0217),
        (additive_uniform(0.1), 1.7094),
        (additive_uniform(0.75), 0.3333),
        (categorical_uniform(5), 1.0549),
        (student_t(2, 2, 1.0), 0.4320),
    ],
    ids=lambda v: v.name if hasattr(v, "name") else str(v),
)
def test_values_quoted_in_the_issue(task, value):
    assert task.mutual_information == pytest.approx(value, abs=1e-4)


def test_student_t_by_monte_carlo():
    # 200,000 draws: the Monte Carlo standard error of the mean log-ratio is about 0.002.
    task = student_t(2, 2, 1.0)
    x, y = (t.numpy() for t in task.sample(200_000, seed=0))
    joint = stats.multivariate_t(np.zeros(4), np.eye(4), df=1)
    marg = stats.multivariate_t(np.zeros(2), np.eye(2), df=1)
    mc = np.mean(joint.logpdf(np.hstack([x, y])) - marg.logpdf(x) - marg.logpdf(y))
    assert mc == pytest.approx(task.mutual_information, abs=0.01)


def test_student_t_draws_scipys_rows_where_the_dispersion_is_the_identity():
    """The sampler takes scipy's draws in scipy's order (the chi-squared scale, then the normals) through a
    Cholesky factor, which for the identity is scipy's SVD factor: the same rows."""
    x, y = student_t(2, 2, 1.0).sample_numpy(300, seed=4)
    scipys = stats.multivariate_t(np.zeros(4), np.eye(4), df=1)
    want = scipys.rvs(size=300, random_state=np.random.default_rng(4))
    assert np.array_equal(np.hstack([x, y]), want)


def test_student_t_with_correlated_pairs_by_monte_carlo():
    # Three pairs of rho 0.9 (repeated eigenvalues, drawn by the Cholesky factor); 100,000 draws: the
    # Monte Carlo standard error of the mean log-ratio is about 0.005.
    task = student_t(3, 3, 2.0, 0.9)
    x, y = (t.numpy() for t in task.sample(100_000, seed=0))
    shape = np.eye(6)
    shape[[0, 1, 2], [3, 4, 5]] = shape[[3, 4, 5], [0, 1, 2]] = 0.9
    joint = stats.multivariate_t(np.zeros(6), shape, df=2)
    marg = stats.multivariate_t(np.zeros(3), np.eye(3), df=2)
    mc = np.mean(joint.logpdf(np.hstack([x, y])) - marg.logpdf(x) - marg.logpdf(y))
    assert mc == pytest.approx(task.mutual_information, abs=0.03)


@pytest.mark.parametrize("eps", [0.1, 0.75])
def test_additive_uniform_by_monte_carlo(eps):
    task = additive_uniform(eps)
    _x, y = (t.numpy()[:, 0] for t in task.sample(200_000, seed=0))
    # p(y) = length of [y - eps, y + eps] within [0, 1], divided by 2 eps; p(y | x) = 1 / (2 eps).
    p_y = (np.minimum(y + eps, 1) - np.maximum(y - eps, 0)) / (2 * eps)
    mc = np.mean(np.log(1 / (2 * eps)) - np.log(p_y))
    assert mc == pytest.approx(task.mutual_information, abs=0.01)


def test_categorical_uniform_by_monte_carlo():
    task = categorical_uniform(5)
    x, _c = task.sample(200_000, seed=0)
    x = x.numpy()[:, 0]
    # p(x | c) = 1/2 on [c, c + 2]; p(x) = (number of c' with c' <= x <= c' + 2) / (2 m).
    counts = sum(((x >= k) & (x <= k + 2)).astype(float) for k in range(5))
    mc = np.mean(np.log(0.5) - np.log(counts / 10))
    assert mc == pytest.approx(task.mutual_information, abs=0.01)


def test_high_mi_task_is_a_fixed_injective_map_of_a_pair_gaussian():
    task = high_mi(4.0, 100)
    x0, y0 = task.sample(500, seed=0)
    x1, _ = task.sample(500, seed=1)
    assert x0.shape == (500, 100) and y0.shape == (500, 100)
    assert int(torch.linalg.matrix_rank(x0)) == 4  # four pairs: the samples span a 4-dim subspace
    # Same maps for every seed: both samples live in one subspace.
    assert int(torch.linalg.matrix_rank(torch.cat([x0, x1]))) == 4
    with pytest.raises(ValueError, match="dim: must be at least n_pairs"):
        high_mi(2.0, 3)


def test_tasks_sample_reproducibly_with_the_documented_types():
    for task in standard_tasks():
        x, y = task.sample(20, seed=4)
        x2, y2 = task.sample(20, seed=4)
        assert torch.equal(x, x2) and torch.equal(y, y2)
        assert x.dtype == torch.float64 and x.shape == (20, task.dim_x)
        if task.y_discrete:
            assert y.dtype == torch.int64 and y.shape == (20,)
        else:
            assert y.dtype == torch.float64 and y.shape == (20, task.dim_y)
        assert math.isfinite(task.mutual_information) and task.mutual_information > 0
    assert len(standard_tasks()) == 16


def test_bad_input():
    with pytest.raises(ValueError, match="n: expected a positive integer"):
        bivariate_normal().sample(0)
    with pytest.raises(ValueError, match="name: unknown task"):
        get_task("nope")


@pytest.mark.parametrize("dim", [1, 3])
def test_sign_mixture_by_monte_carlo(dim):
    # log p(x, y) - log phi(x) - log phi(y) with p the mixture's density; 100,000 draws: se under 0.004.
    rho, task = 0.8, sign_mixture(dim)
    x, y = (t.numpy() for t in task.sample(100_000, seed=0))
    comp = [
        -((x**2 + y**2 - 2 * sign * rho * x * y) / (2 * (1 - rho**2))).sum(1)
        - dim * math.log(2 * math.pi * math.sqrt(1 - rho**2))
        for sign in (1, -1)
    ]
    joint = np.logaddexp(*comp) - math.log(2)
    ratio = joint - stats.norm.logpdf(x).sum(1) - stats.norm.logpdf(y).sum(1)
    assert ratio.mean() == pytest.approx(task.mutual_information, abs=4 * ratio.std() / math.sqrt(len(ratio)))


def test_sign_mixture_has_no_correlation_and_its_bounds():
    # Both marginals N(0, I) and no correlation, yet between dim I_rho - log 2 and dim I_rho; a faint
    # rho carries almost nothing.
    task = sign_mixture(2, 0.8)
    x, y = task.sample(50_000, seed=1)
    assert float(torch.corrcoef(torch.cat([x, y], 1).T)[:2, 2:].abs().max()) < 0.02
    i_rho = -math.log(1 - 0.8**2) / 2
    assert 2 * i_rho - math.log(2) < task.mutual_information < 2 * i_rho
    assert 0 < sign_mixture(1, 0.05).mutual_information < 1e-5


@pytest.mark.parametrize("dim", [1, 3])
def test_zero_inflated_by_monte_carlo(dim):
    task = zero_inflated(dim, p_zero=0.5, noise=0.5)
    x, y = (t.numpy() for t in task.sample(100_000, seed=0))
    assert 0.4 < (x == 0).mean() < 0.6  # the point mass
    p_y = 0.5 * stats.norm.pdf(y, scale=0.5) + 0.5 * stats.norm.pdf(y, scale=math.sqrt(1.25))
    ratio = (stats.norm.logpdf(y, loc=x, scale=0.5) - np.log(p_y)).sum(1)
    assert ratio.mean() == pytest.approx(task.mutual_information, abs=4 * ratio.std() / math.sqrt(len(ratio)))


def test_zero_inflated_without_zeros_is_a_gaussian_channel():
    # p_zero = 0: Y = X + noise with X ~ N(0, I), I = dim / 2 log(1 + 1 / noise^2).
    assert zero_inflated(2, p_zero=0.0, noise=0.5).mutual_information == pytest.approx(math.log(5), abs=1e-9)


@pytest.mark.parametrize(
    ("make", "kwargs", "named"),
    [
        (sign_mixture, {"rho": 1.0}, "rho"),
        (sign_mixture, {"dim": 0}, "dim"),
        (zero_inflated, {"p_zero": 1.0}, "p_zero"),
        (zero_inflated, {"noise": 0.0}, "noise"),
    ],
)
def test_mixtures_refuse_bad_parameters(make, kwargs, named):
    with pytest.raises(ValueError, match=named):
        make(**kwargs)


@pytest.mark.parametrize(
    ("make", "args", "named"),
    [
        (bivariate_normal, (1.5,), "rho"),
        (bivariate_normal, (-1.0,), "rho"),
        (bivariate_normal, ("0.5",), "rho"),
        (dense_gaussian, (0,), "dim"),
        (dense_gaussian, (-2,), "dim"),
        (dense_gaussian, (2.5,), "dim"),
        (dense_gaussian, (3, 1.0), "corr"),
        (dense_gaussian, (3, -0.5), "corr"),  # equicorrelated 6 x 6: positive definite only above -1/5
        (sparse_gaussian, (0,), "dim"),
        (sparse_gaussian, (2, 5), "n_pairs"),
        (sparse_gaussian, (3, 2, 1.0), "rho"),
        (high_mi, (-1.0, 10), "nats"),
        (high_mi, (math.nan, 10), "nats"),
        (high_mi, (math.inf, 10), "nats"),
        (high_mi, (2000.0, 10), "nats"),  # rho rounds to 1: the two sides would be equal
        (high_mi, (2.0, 10, 0), "n_pairs"),
        (high_mi, (2.0, 10.5), "dim"),
        (additive_uniform, (0.0,), "eps"),
        (additive_uniform, (math.nan,), "eps"),
        (categorical_uniform, (0,), "m"),
        (categorical_uniform, (2.5,), "m"),
        (student_t, (2.5, 2), "dim_x"),
        (student_t, (2, 2, 0.0), "dof"),
        (student_t, (2, 2, math.inf), "dof"),
        (student_t, (2, 2, math.nan), "dof"),
    ],
)
def test_builders_refuse_parameters_with_no_distribution(make, args, named):
    with pytest.raises(ValueError, match=f"^{named}: "):
        make(*args)


def test_builders_keep_their_edge_cases():
    # No dependence is a distribution too: truth 0.
    assert sparse_gaussian(3, n_pairs=0).mutual_information == 0.0
    assert high_mi(0.0, 6).mutual_information == 0.0
    assert categorical_uniform(1).mutual_information == 0.0
    assert dense_gaussian(3, corr=-0.19).mutual_information > 0


def test_a_negative_seed_is_refused_by_name():
    with pytest.raises(ValueError, match=r"^seed: "):
        bivariate_normal().sample(10, seed=-1)
