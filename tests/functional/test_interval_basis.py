"""An interval wider than its standard error allows says how it was made, in the one-line form and in
``describe()``; one within two standard errors a side says nothing more."""

from __future__ import annotations

import torch

from iblearn.functional import Estimate

torch.set_num_threads(1)


def test_a_narrow_interval_needs_no_word():
    est = Estimate(torch.tensor(0.5), 900, "gaussian", stderr=0.01, interval=(0.48, 0.52), confidence=0.95)
    assert est.interval_basis() is None
    assert (
        str(est) == "0.5000 nats ± 0.0100 (standard error), 95% interval [0.4800, 0.5200] "
        "[gaussian, N=900], not checked"
    )


def test_a_wide_interval_says_its_basis():
    # A standard error of 0.005 beside an interval 0.20 wide.
    said = "widened by the bias the self-checks measured"
    est = Estimate(
        torch.tensor(0.5),
        900,
        "ksg",
        stderr=0.005,
        interval=(0.45, 0.65),
        confidence=0.95,
        interval_method=said,
    )
    assert f"interval [0.4500, 0.6500] ({said})" in str(est)
    assert f"interval: wider than 2 standard errors a side: {said}" in est.describe()
    trend = Estimate(torch.tensor(0.5), 900, "ksg", stderr=0.005, interval=(0.49, 0.6), bias=-0.03)
    assert "widened by the bias seen across N" in str(trend)
    few = Estimate(torch.tensor(0.5), 900, "nsb", stderr=0.005, interval=(0.47, 0.53))
    assert "few resamples" in str(few)


def test_auto_names_its_interval():
    from iblearn import estimate

    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 1, generator=g, dtype=torch.float64)
    est = estimate("mi", x, x + torch.randn(300, 1, generator=g, dtype=torch.float64))
    assert est.report.interval_method.startswith("widened by the bias the self-checks measured")
    assert est.report.to_dict()["interval_method"] == est.report.interval_method


def test_an_interval_that_is_not_finite_gives_no_basis():
    est = Estimate(
        torch.tensor(0.5), 900, "gaussian", stderr=float("nan"), interval=(float("nan"), float("nan"))
    )
    assert est.interval_basis() is None
    assert "few resamples" not in str(est)
