"""The synthetic tasks: the issue's closed-form values, and each closed form checked independently by
Monte Carlo integration of log p(x, y) - log p(x) - log p(y) with the known densities."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from iblearn.data.synthetic import (
    additive_uniform,
    bivariate_normal,
    categorical_uniform,
    get_task,
    high_mi,
    sparse_gaussian,
    standard_tasks,
    student_t,
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
