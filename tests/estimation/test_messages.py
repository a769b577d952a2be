"""Error messages name the argument at fault and the figures it was measured against."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn import estimate

torch.set_num_threads(1)
RNG = np.random.default_rng(0)
X, Y = RNG.normal(size=300), RNG.normal(size=300)


def test_a_condition_of_the_wrong_length_is_named_with_every_length() -> None:
    with pytest.raises(ValueError, match=r"source has 300, target has 300, condition has 295"):
        estimate("te", X, Y, condition=X[:-5])


def test_a_k_beyond_the_series_names_k_and_the_rows_left() -> None:
    with pytest.raises(
        ValueError, match=r"^k=1000000000 needs .* got N=299 \(the 300 steps less the history 1\)"
    ):
        estimate("ais", X, k=10**9)


def test_a_k_beyond_the_checks_halves_says_so() -> None:
    with pytest.raises(ValueError, match=r"^k=1000000000 .* in each half of the 300 rows"):
        estimate("mi", X, Y, k=10**9)


@pytest.mark.parametrize("redundancy", ["ccs", "dep"])
def test_a_gaussian_pid_of_dependent_columns_names_the_variables(redundancy: str) -> None:
    with pytest.raises(ValueError, match=r"^x1, x2, target: linearly dependent columns"):
        estimate("pid", X, 2 * X, Y + X, redundancy=redundancy, method="gaussian")


def test_a_missing_variable_is_named_without_suggesting_other_keywords() -> None:
    with pytest.raises(ValueError, match=r"^labels: is None"):
        estimate("entropy", None)


def test_a_target_fixed_by_the_source_s_past_has_infinite_te_with_an_infinite_interval() -> None:
    target = np.r_[0.0, X[:-1]]
    for method in ("auto", "gaussian"):
        est = estimate("te", X, target, method=method)
        assert float(est.value) == np.inf and est.interval == (np.inf, np.inf)
        assert est.reliable is False and "deterministic" in est.caveat


def test_a_target_fixed_by_its_own_past_is_refused_naming_target() -> None:
    with pytest.raises(ValueError, match=r"^target: its present is a linear function of its own past"):
        estimate("te", X, np.sin(np.arange(300) * 0.3), history=2, method="gaussian")


def test_the_report_names_the_variable_that_holds_the_labels() -> None:
    labels = RNG.integers(0, 3, 300)
    values = labels + RNG.normal(size=300)
    assert "x (1 columns) is continuous and y is labels" in estimate("mi", values, labels).report.why
    first = estimate("mi", labels, values).report
    assert "y (1 columns) is continuous and x is labels" in first.why
