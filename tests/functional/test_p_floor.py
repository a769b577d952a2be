"""A permutation p-value says the least it can be: ``report.p_floor``, 1 / (n_permutations + 1), beside
every p-value of the front door, in the report's plain data and in its description."""

from __future__ import annotations

import pytest
import torch

import iblearn
from iblearn.functional.result import Estimate, Report

torch.set_num_threads(1)


def test_the_floor_is_one_over_the_permutations_plus_one():
    assert Report(n_permutations=99).p_floor == pytest.approx(0.01)
    assert Report().p_floor is None  # no permutations, no permutation p-value
    assert Report(n_permutations=9).to_dict()["p_floor"] == pytest.approx(0.1)


@pytest.mark.parametrize("method", ["ksg", "gaussian"])
def test_the_front_door_records_the_floor_beside_its_p_value(method):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 1, generator=g, dtype=torch.float64)
    y = x + torch.randn(300, 1, generator=g, dtype=torch.float64)
    est = iblearn.estimate("mi", x, y, method=method, n_permutations=19)
    assert est.p_value == pytest.approx(0.05) and est.report.p_floor == pytest.approx(0.05)
    assert est.p_value >= est.report.p_floor
    assert "the least 19 permutations can give: 1/20 = 0.05" in est.describe()


def test_an_estimate_without_permutations_has_no_floor():
    est = Estimate(torch.tensor(0.3), 100, "ksg")
    assert est.report.p_floor is None and "least" not in est.describe()
