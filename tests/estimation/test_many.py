"""The front door's measures among many variables: the automatic rule's work is done once, and the
estimate is the same as the functions' own on the same normal scores."""

from __future__ import annotations

import warnings

import pytest
import torch

import iblearn
from iblearn.estimation import many
from iblearn.functional import o_information
from iblearn.functional.multivariate.inputs import copula_normal

torch.set_num_threads(1)


def _product(n: int = 600) -> torch.Tensor:
    """Three columns, the third the product of the first two plus noise: the rule takes KSG."""
    g = torch.Generator().manual_seed(0)
    d = torch.randn(n, 3, generator=g, dtype=torch.float64)
    d[:, 2] = d[:, 0] * d[:, 1] + 0.5 * d[:, 2]
    return d


def test_the_rule_and_ksg_share_one_set_of_normal_scores(monkeypatch):
    calls = []

    def counted(t: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(t.shape))
        return copula_normal(t)

    monkeypatch.setattr(many, "copula_normal", counted)
    data = _product()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = many.multivariate_auto("o_information", data)
    assert est.report.chosen == "ksg"
    assert calls == [(600, 3)]
    assert float(est) == float(o_information(copula_normal(data), method="ksg"))


def test_the_o_information_of_two_variables_is_refused_by_the_door_whatever_the_method():
    """Its value is 0 by definition: no resample spreads and no permutation tests it. The refusal names
    the argument that makes two variables."""
    d = _product()
    for method in ("auto", "gaussian", "ksg"):
        with pytest.raises(ValueError, match=r"^blocks: the O-information of 2 variables is 0 by definition"):
            iblearn.estimate("o_information", d, blocks=[[0, 1], [2]], method=method)
        with pytest.raises(ValueError, match=r"^data: the O-information of 2 variables is 0 by definition"):
            iblearn.estimate("o_information", d[:, :2], method=method)
