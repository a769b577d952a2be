"""Rows that are successive samples of series, not independent draws: estimate_mi and the verdict
on every named estimator say so (reliable=False, a caveat that points to the series estimates) and leave
i.i.d. rows be."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn import estimate_mi
from iblearn.estimation.split import measured
from iblearn.estimators import KSG, GaussianMI, UnreliableEstimateWarning

torch.set_num_threads(1)


def ar1(phi: float, n: int, g: np.random.Generator) -> torch.Tensor:
    e = g.standard_normal(n + 300)
    x = np.zeros(n + 300)
    for t in range(1, n + 300):
        x[t] = phi * x[t - 1] + e[t]
    return torch.from_numpy(x[300:, None].copy())


@pytest.mark.parametrize("seed", [0, 1])
def test_two_independent_slow_series_are_no_independent_rows(seed):
    g = np.random.default_rng(seed)
    x, y = ar1(0.99, 1000, g), ar1(0.99, 1000, g)
    for make in (
        lambda: measured(KSG(), (x, y), n_resamples=10, seed=seed),
        lambda: estimate_mi(x, y, seed=seed),
    ):
        with pytest.warns(UnreliableEstimateWarning, match="time series"):
            est = make()
        assert est.reliable is False
        assert "time series" in est.caveat and "transfer_entropy" in est.caveat


def test_every_named_estimator_hears_it():
    g = np.random.default_rng(2)
    x, y = ar1(0.95, 500, g), ar1(0.95, 500, g)
    with pytest.warns(UnreliableEstimateWarning, match="time series"):
        est = measured(GaussianMI(), (x, y))
    assert est.reliable is False


@pytest.mark.parametrize("n", [200, 1000])
def test_iid_rows_are_not_flagged(n):
    g = np.random.default_rng(n)
    for seed in range(5):
        x = torch.from_numpy(g.standard_normal((n, 2)))
        y = x[:, :1] + torch.from_numpy(g.standard_normal((n, 1)))
        for est in (measured(KSG(), (x, y), n_resamples=5, seed=seed), estimate_mi(x, y, seed=seed)):
            assert "time series" not in (est.caveat or "")


def test_independent_draws_in_sorted_order_are_told_to_shuffle():
    g = np.random.default_rng(3)
    x = torch.from_numpy(np.sort(g.standard_normal(500)))[:, None]
    y = x + 0.5 * torch.from_numpy(g.standard_normal((500, 1)))
    est = measured(KSG(), (x, y))
    assert est.reliable is False and "shuffle them" in est.caveat
    order = torch.from_numpy(g.permutation(500))
    shuffled = measured(KSG(), (x[order], y[order]))
    assert shuffled.reliable is None and float(shuffled) == pytest.approx(float(est), abs=1e-9)
