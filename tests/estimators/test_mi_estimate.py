"""MIEstimate behaves as the number it holds: repr, format, comparisons, arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from iblearn import MIEstimate


def estimate(value: float = 0.4018, **kwargs) -> MIEstimate:
    return MIEstimate(torch.tensor(value, dtype=torch.float64), n_samples=500, estimator="ksg", **kwargs)


def test_repr_is_one_short_line():
    assert repr(estimate()) == "Estimate(0.4018 nats, ksg, N=500)"
    assert repr(estimate(stderr=0.01)) == "Estimate(0.4018 nats ± 0.0100 se, ksg, N=500)"
    assert "tensor" not in repr(estimate(p_value=0.05))


def test_a_spread_is_printed_as_what_it_is():
    """A standard error covers sampling error only; a bare ± would read as the estimate's whole error."""
    assert str(estimate(stderr=0.01)) == "0.4018 nats ± 0.0100 (standard error) [ksg, N=500], not checked"


def test_format_reads_the_value_and_an_empty_spec_is_str():
    est = estimate()
    assert f"{est:.3f}" == "0.402" and f"{est:8.1f}" == "     0.4" and f"{est:.1e}" == "4.0e-01"
    assert f"{est}" == str(est) == "0.4018 nats [ksg, N=500], not checked"


def test_comparisons_with_numbers_and_estimates():
    est, low = estimate(), estimate(0.1)
    assert est > 0.1 and est >= 0.4018 and est < 1 and est <= np.float64(0.5)
    assert low < est and max([low, est]) is est and sorted([est, 0.0, low])[0] == 0.0
    assert est == pytest.approx(0.4018) and est == estimate() and est != low
    assert hash(est) == hash(estimate(stderr=0.5))
    with pytest.raises(TypeError):
        _ = est < "a"


def test_arithmetic_gives_plain_floats():
    est = estimate()
    assert float(est) == pytest.approx(0.4018) and math.isclose(est, 0.4018)
    for value in (est - 0.4, 1 - est, est + est, 2 * est, est / 2, 1 / est, -est, abs(-est)):
        assert type(value) is float
    assert round(est, 2) == 0.4 and np.mean([est, estimate(0.2)]) == pytest.approx(0.3009)
    assert est - estimate(0.4) == pytest.approx(0.0018)


def test_value_keeps_its_gradient():
    x = torch.tensor(0.5, requires_grad=True)
    est = MIEstimate(2 * x, n_samples=10, estimator="mine")
    est.value.backward()
    assert x.grad == 2 and float(est) == 1.0
