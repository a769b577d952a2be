"""Degenerate inputs to the functional layer's Gaussian and exact solvers: refused naming the argument
(or answered, where scaling alone was the trouble), never a raw linear-algebra error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn.functional import phiid
from iblearn.functional.ib.exact import ib_curve

torch.set_num_threads(1)


def _ar(n: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    s = np.zeros((n, 2))
    for t in range(1, n):
        s[t] = 0.4 * s[t - 1] + 0.3 * s[t - 1, ::-1] + rng.normal(size=2)
    return s


def test_phiid_of_a_constant_process_is_refused_naming_series() -> None:
    s = _ar()
    s[:, 1] = 3.0
    with pytest.raises(ValueError, match=r"^series: process 1 is constant"):
        phiid(s)


def test_phiid_of_duplicated_processes_is_refused_naming_series() -> None:
    s = _ar()
    s[:, 1] = s[:, 0]
    with pytest.raises(ValueError, match=r"^series: the two processes' pasts and futures are linearly"):
        phiid(s)


def test_phiid_with_too_few_pairs_at_the_lag_is_refused_naming_series() -> None:
    with pytest.raises(ValueError, match=r"^series: .* with 3 pairs"):
        phiid(_ar(), lag=397)


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_phiid_is_scale_free(scale: float) -> None:
    a, b = phiid(_ar()), phiid(_ar() * scale)
    for name, value in a.atoms.items():
        assert float(b.atoms[name]) == pytest.approx(float(value), abs=1e-9)


@pytest.mark.parametrize("device", ["meta", "cuda:99", "no-such-device"])
def test_ib_curve_refuses_a_device_that_cannot_hold_its_values(device: str) -> None:
    with pytest.raises(ValueError, match=r"^device: "):
        ib_curve(np.array([[0.4, 0.1], [0.1, 0.4]]), device=device)


@pytest.mark.parametrize("method", ["ksg", "gaussian"])
def test_total_correlation_refuses_complex_values_rather_than_drop_their_imaginary_parts(method: str) -> None:
    from iblearn.functional import total_correlation

    x = np.random.default_rng(0).normal(size=(200, 2))
    with pytest.raises(ValueError, match=r"^x: holds complex values"):
        total_correlation(x * (1 + 1j), method=method)


def test_finite_rows_names_the_first_row_with_a_nan_or_an_infinity_even_where_the_sum_overflows():
    from iblearn import _checks

    big = torch.full((6, 2), 1e308, dtype=torch.float64)  # finite, though its sum is not
    assert _checks.finite_rows(big, "x") is big
    for bad in (float("nan"), float("inf"), -float("inf")):
        for t in (torch.zeros(6, 2, dtype=torch.float64), big.clone(), torch.zeros(6, 2).half()):
            t[3, 1] = bad
            with pytest.raises(ValueError, match=r"^x: contains NaN or Inf \(first at sample 3\)$"):
                _checks.finite_rows(t, "x")
    both = torch.zeros(6, 1, dtype=torch.float64)
    both[4], both[5] = float("inf"), -float("inf")  # a NaN sum
    with pytest.raises(ValueError, match=r"first at sample 4\)$"):
        _checks.finite_rows(both, "x")
