"""The verdicts that read a function's figures: the transfer entropy, the information storage and the
PID's parts return numbers and figures (``report.features``), never a verdict, and
:mod:`iblearn.estimation.verdict` turns the figures into ``reliable`` and the caveat."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

import iblearn
import iblearn.functional as ibf
from iblearn.estimation import verdict
from iblearn.estimation.many import pid_parts
from iblearn.estimators import GaussianMI
from iblearn.functional import Estimate
from iblearn.functional.information_dynamics import active_information_storage
from iblearn.functional.multivariate.inputs import ScalarCheck

torch.set_num_threads(1)


def _estimate(value: float, features: dict[str, float], stderr: float = 0.01) -> Estimate:
    est = Estimate(
        torch.tensor(value, dtype=torch.float64), 400, "ksg", measure="transfer_entropy", stderr=stderr
    )
    return replace(est, report=replace(est.report, features=features))


SLOW = {"slow block": 80.0, "slow tau": 60.0, "slow effective": 6.5, "slow decayed": 0.0}


@pytest.mark.parametrize(
    ("features", "words"),
    [
        ({"determined": 1.0}, "linear function of its past"),
        (SLOW, "source and target mix too slowly for 400 steps"),
        ({"half": 0.2, "resamples": 10.0}, "still moves with N"),
        ({"tails source": 0.0, "tails target": 0.05}, "target is heavy-tailed (5.0%"),
    ],
)
def test_a_series_figure_makes_a_named_estimate_unreliable(features, words):
    est = verdict.series_figures_verdict(_estimate(0.5, features), ("source", "target"))
    assert est.reliable is False and words in est.caveat and float(est) == 0.5


def test_series_figures_within_their_limits_leave_the_estimate_unchecked():
    clean = {"half": 0.49, "resamples": 10.0, "tails source": 0.005, "tails target": 0.0}
    est = verdict.series_figures_verdict(_estimate(0.5, clean), ("source", "target"))
    assert est.reliable is None and est.caveat is None


def test_the_slow_text_says_whether_the_autocorrelation_died_out():
    died = verdict.slow_why(SLOW | {"slow decayed": 1.0}, ("series 0",), 300)
    lived = verdict.slow_why(SLOW, ("series 0",), 300)
    assert "not died out" not in died and "not died out" in lived and "80 steps" in died
    assert verdict.slow_why({}, ("series 0",), 300) is None


def test_the_math_layer_returns_figures_and_the_front_door_the_verdict():
    g = np.random.default_rng(0)
    walk = np.cumsum(g.standard_normal((2, 300)), axis=1)
    alone = ibf.transfer_entropy_estimate(walk[0], walk[1], n_resamples=8)
    assert alone.reliable is None and alone.caveat is None and "slow block" in alone.report.features
    storage = active_information_storage(walk[0], method="gaussian", n_resamples=8)
    assert storage.reliable is None and "slow block" in storage.report.features
    door = iblearn.estimate("ais", walk[0], method="gaussian", n_resamples=8)
    assert door.reliable is False and "series 0 mix too slowly" in door.caveat


def test_bias_why_reads_the_reach_beyond_two_standard_errors():
    assert verdict.bias_why(1.0, 0.02, 0.9, 50) is not None  # 0.24 > 2 standard errors
    assert verdict.bias_why(1.0, 0.2, 0.9, 50) is None and verdict.bias_why(1.0, 0.02, None, 50) is None


def test_scalar_why_reads_the_gap_against_the_tolerance():
    assert verdict.scalar_why(ScalarCheck(0.30, 0.32, 0.03)) is None
    assert "closed form reads 0.3 nats" in verdict.scalar_why(ScalarCheck(0.30, 0.40, 0.03))


def test_uncovered_reads_an_estimators_figures_in_order():
    names = ("x", "y")
    assert verdict.uncovered({}, names) is None
    assert "y is heavy-tailed" in verdict.uncovered(
        {"tails x": 0.0, "tails y": 0.2, "magnitudes": 9.0}, names
    )
    assert "magnitudes depend" in verdict.uncovered({"magnitudes": 9.0}, names)
    scalar = {"closed": 0.3, "knn": 0.5, "tolerance": 0.03}
    assert verdict.uncovered(scalar, names).endswith("use KSG")


def test_the_gaussian_of_linear_variables_returns_the_figure_not_the_reason():
    x = torch.randn(300, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    est = GaussianMI()(x, 2 * x + 1)
    assert math.isinf(float(est)) and est.reliable is None and est.caveat is None
    assert est.report.features == {"linear": 1.0}


def test_a_pid_part_by_a_redundancy_beyond_mmi_is_judged_from_its_halves():
    g = torch.Generator().manual_seed(0)
    x1, x2 = torch.randn(300, 1, generator=g), torch.randn(300, 1, generator=g)
    parts = pid_parts(x1, x2, x1 + x2 + 0.5 * torch.randn(300, 1, generator=g), "sx", "ksg", 8, 0)
    for est in parts.values():
        f = est.report.features
        assert set(f) == {"half", "stderr", "resamples"}
        why = verdict.bias_why(float(est), f["stderr"], f["half"], int(f["resamples"]))
        assert (est.reliable is False) == (why is not None) and est.caveat == why
    nan = Estimate(torch.tensor(math.nan, dtype=torch.float64), 300, "ksg", measure="synergy")
    assert "not a number" in verdict.parts_verdict(nan).caveat
