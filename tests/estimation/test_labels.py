"""MI and conditional MI of labels through the front door: the discrete estimator the joint's counts ask
for, with its interval, and unreliable where the joint is too undersampled for any interval to hold."""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from iblearn import estimate

torch.set_num_threads(1)


def _channel(k: int, noise: float, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """x uniform on k symbols, y = x or, with probability ``noise``, another symbol; and I(X; Y)."""
    r = np.random.default_rng(seed)
    x = r.integers(0, k, n)
    y = np.where(r.random(n) < noise, (x + r.integers(1, k, n)) % k, x)
    h = -(1 - noise) * math.log(1 - noise) - noise * math.log(noise)
    return torch.from_numpy(x), torch.from_numpy(y), math.log(k) - h - noise * math.log(k - 1)


def test_labels_take_a_discrete_estimator_chosen_on_the_joint_with_an_interval():
    x, y, truth = _channel(10, 0.5, 1000, 0)
    est = estimate("mi", x, y)
    assert est.report.chosen == "cwj" and "x and y are labels" in est.report.why
    assert "well sampled" in est.report.why  # the rule's own reason
    assert est.reliable and est.report.checks["sampling"].passed
    assert est.confidence == 0.95 and est.interval[0] <= truth <= est.interval[1]


def test_the_interval_covers_the_truth_where_reliable():
    covered = reliable = 0
    for seed in range(30):
        x, y, truth = _channel(4, 0.3, 500, seed)
        est = estimate("mi", x, y, seed=seed)
        reliable += est.reliable
        covered += est.reliable and est.interval[0] <= truth <= est.interval[1]
    assert reliable == 30 and covered >= 26


def test_a_far_undersampled_joint_is_unreliable_and_says_why():
    x, y, _ = _channel(100, 0.5, 1000, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = estimate("mi", x, y)
    assert est.reliable is False and not est.report.checks["sampling"].passed
    assert "sampling: FAIL" in est.caveat and "rows a joint symbol" in est.caveat
    assert "merge rare classes" in est.caveat


def test_conditional_mi_of_labels_is_discrete_too():
    r = np.random.default_rng(0)
    z = r.integers(0, 3, 2000)
    x = (z + (r.random(2000) < 0.3) * r.integers(1, 3, 2000)) % 3
    y = (z + (r.random(2000) < 0.3) * r.integers(1, 3, 2000)) % 3
    est = estimate("cmi", *(torch.from_numpy(v) for v in (x, y, z)))
    assert est.measure == "cmi" and est.report.chosen == "cwj" and est.reliable
    assert est.interval[0] == 0.0 and est.interval[1] < 0.05  # X and Y independent given Z
    assert "within each z" in str(est.report.checks["independence"])
    dependent = estimate("cmi", *(torch.from_numpy(v) for v in (x, (x + (r.random(2000) < 0.2)) % 3, z)))
    assert dependent.interval[0] > 0.3
