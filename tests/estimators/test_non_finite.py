"""A value, standard error or interval that is not a finite number is never a reliable estimate."""

from __future__ import annotations

import math

import pytest
import torch

from iblearn.estimation.split import measured
from iblearn.estimation.verdict import impossible_verdict
from iblearn.estimators import GaussianMI, UnreliableEstimateWarning
from iblearn.estimators.base import Estimator, MIEstimate

torch.set_num_threads(1)


class _Constant(Estimator):
    name = "constant"

    def __init__(self, value: float = 0.0, **kwargs) -> None:
        self.value = value
        super().__init__(**kwargs)

    def mi(self, x, y):
        return torch.tensor(self.value, dtype=torch.float64)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_value_is_flagged(value):
    x = torch.randn(50, 1, generator=torch.Generator().manual_seed(0))
    with pytest.warns(UnreliableEstimateWarning, match="not a finite number"):
        est = measured(_Constant(value), (x, x))
    assert est.reliable is False and "not a finite number" in est.caveat


@pytest.mark.parametrize(
    "fields",
    [
        {"stderr": math.nan},
        {"stderr": 0.1, "interval": (0.0, math.inf)},
        {"stderr": 0.1, "interval": (math.nan, 1.0)},
    ],
)
def test_a_non_finite_spread_is_flagged(fields):
    result = MIEstimate(value=torch.tensor(0.5), n_samples=100, estimator="x", **fields)
    with pytest.warns(UnreliableEstimateWarning):
        assert impossible_verdict(result, "x", math.e).reliable is False


def test_a_finite_estimate_is_left_as_it_is():
    result = MIEstimate(
        value=torch.tensor(0.5), n_samples=100, estimator="x", stderr=0.1, interval=(0.3, 0.7)
    )
    assert impossible_verdict(result, "x", math.e).reliable is None


@pytest.mark.parametrize("twin", ["same", "affine", "collinear columns"])
def test_gaussian_mi_of_linearly_related_variables_is_infinite_with_its_reason(twin):
    import iblearn

    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 2 if twin == "collinear columns" else 1, generator=g, dtype=torch.float64)
    if twin == "collinear columns":
        y = x @ torch.tensor([[1.0], [-2.0]], dtype=torch.float64)
    else:
        y = x if twin == "same" else 2 * x + 1
    with pytest.warns(UnreliableEstimateWarning, match="linear function"):
        est = iblearn.estimate("mi", x, y, method="gaussian")
    assert math.isinf(float(est)) and float(est) > 0
    assert est.interval == (math.inf, math.inf) and est.stderr == 0.0
    assert est.reliable is False
    assert "infinite" in est.caveat and "not a finite number" not in est.caveat
    with pytest.warns(UnreliableEstimateWarning, match="linear function"):
        tested = iblearn.estimate("mi", x, y, method="gaussian", n_permutations=9)
    assert tested.p_value == pytest.approx(0.1)  # no shuffle of the rows reaches inf


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e8])
def test_gaussian_cmi_of_y_linear_in_x_and_z_is_infinite_with_its_reason(seed, scale):
    import iblearn

    g = torch.Generator().manual_seed(seed)
    x = scale * torch.randn(500, 2, generator=g, dtype=torch.float64)
    z = torch.randn(500, 2, generator=g, dtype=torch.float64)
    y = x @ torch.tensor([[2.0], [-1.0]], dtype=torch.float64) + 3 * scale * z[:, :1] - 7
    with pytest.warns(UnreliableEstimateWarning, match="linear function of x and z"):
        est = iblearn.estimate("cmi", x, y, z, method="gaussian", n_resamples=20)
    assert math.isinf(float(est)) and float(est) > 0
    assert est.interval == (math.inf, math.inf) and est.stderr == 0.0
    assert est.reliable is False and est.report.features == {"linear": 1.0}
    assert "infinite" in est.caveat and "not a finite number" not in est.caveat
    tested = GaussianMI()(x, y, z, n_permutations=9)
    assert math.isinf(float(tested)) and tested.p_value == pytest.approx(0.1)  # no permutation reaches inf


def test_gaussian_cmi_nearly_linear_is_finite_and_independent_is_about_zero():
    import iblearn

    g = torch.Generator().manual_seed(0)
    x, z = (torch.randn(2000, 1, generator=g, dtype=torch.float64) for _ in range(2))
    noise = torch.randn(2000, 1, generator=g, dtype=torch.float64)
    # y given (x, z) has variance 1e-6 of x's: I = 1/2 log(1 + 4 / 1e-6), about 7.6 nats.
    near = iblearn.estimate("cmi", x, 2 * x + 3 * z + 1e-3 * noise, z, method="gaussian", n_resamples=20)
    assert float(near) == pytest.approx(0.5 * math.log(1 + 4 / 1e-6), abs=0.1)
    assert math.isfinite(near.interval[1]) and near.reliable is not False
    apart = iblearn.estimate("cmi", x, noise, z, method="gaussian", n_resamples=20)
    assert abs(float(apart)) < 0.01 and apart.reliable is not False


@pytest.mark.parametrize(
    ("measure", "n", "dx", "dz"), [("mi", 1000, 3, 0), ("cmi", 2000, 1, 1), ("cmi", 1000, 3, 2)]
)
def test_auto_choosing_the_gaussian_of_a_linear_relation_says_it_is_infinite(measure, n, dx, dz):
    import iblearn

    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, dx, generator=g, dtype=torch.float64)
    if measure == "mi":
        variables = (x, x @ torch.randn(dx, dx, generator=g, dtype=torch.float64))
    else:
        z = torch.randn(n, dz, generator=g, dtype=torch.float64)
        variables = (x, 2 * x[:, :1] + 3 * z[:, :1], z)
    with pytest.warns(UnreliableEstimateWarning, match="linear function"):
        est = iblearn.estimate(measure, *variables)
    assert est.report.chosen == "gaussian" and math.isinf(float(est)) and float(est) > 0
    assert est.interval == (math.inf, math.inf) and est.reliable is False
    assert "infinite" in est.caveat and "not a finite number" not in est.caveat
