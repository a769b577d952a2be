"""Fuzzing settings assigned after construction and the truncated spectrum:

* a setting assigned to a built estimator is accepted or refused exactly as the constructor accepts or
  refuses it (the same message, the same value kept), and an estimate with an accepted one is finite
  or a ValueError naming what is wrong;
* ``truncated_entropy`` on any matrix size, order, tolerance and rank either refuses an argument by name
  or gives an interval that holds the exact entropy, and the truncated path of ``renyi_entropy`` is
  within its tolerance of the exact one, finite at any order.

Derandomized and small, like ``test_fuzz.py``.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from iblearn import functional as ibf
from iblearn.estimators import REGISTRY
from iblearn.functional.renyi.spectrum import truncated_entropy
from tests.test_fuzz import FUZZ

torch.set_num_threads(1)

_ODD = st.sampled_from(
    [None, True, False, 0, -1, 1, 2, 3, 2.0, 0.5, 1e-12, 1e300, math.nan, math.inf, -math.inf, "no", "2",
     "median", "product", "jitter", "tree", "chebyshev", "quantile", "miller-madow", np.int64(2),
     np.float32(2.5), np.bool_(True), torch.tensor(2.0), torch.tensor([2.0]), [1], (0.0, 1.0), 10**400]
)  # fmt: skip
_PLAIN = [name for name, cls in REGISTRY.items() if not cls.trainable]


def _outcome(call):
    try:
        return "kept", call()
    except ValueError as err:
        return "refused", str(err)


@FUZZ
@given(st.sampled_from(_PLAIN), st.data(), _ODD)
def test_a_setting_assigned_later_is_judged_as_the_constructor_judges_it(name, data, value):
    cls = REGISTRY[name]
    setting = data.draw(st.sampled_from(sorted(cls._all_setting_checks)))
    built = _outcome(lambda: getattr(cls(**{setting: value}), setting))
    est = cls()

    def assign():
        setattr(est, setting, value)
        return getattr(est, setting)

    assigned = _outcome(assign)
    assert built[0] == assigned[0], (built, assigned)
    if built[0] == "refused":
        assert built[1] == assigned[1] and built[1].startswith(f"{setting}: ")
        return
    assert repr(built[1]) == repr(assigned[1])
    x = torch.randn(40, 2, generator=torch.Generator().manual_seed(0))
    y = (x[:, :1] > 0).long()[:, 0] if name == "mixed_ksg" else x[:, :1] + torch.randn(40, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = est(x, y)
        except ValueError as err:
            assert re.match(r"[\w, ]+[:=]", str(err)), err  # names what is wrong
            return
    assert math.isfinite(float(result)) or result.reliable is False


_ORDERS = st.one_of(
    st.sampled_from([1e-3, 0.5, 1.0, 1.01, 2.0, 3.7, 50.0, 1e4, 1e6]),
    st.sampled_from([0.0, -1.0, math.nan, math.inf, True, "2"]),
)
_RANKS = st.sampled_from([None, None, 1, 2, 3, 8, 9, 1000, 0, -1, 2.5, True, np.int64(4)])


@FUZZ
@given(
    st.one_of(st.integers(1, 40), st.integers(257, 400)),
    st.integers(1, 3),
    st.sampled_from([0.05, 0.5, 2.0]),
    _ORDERS,
    st.sampled_from([1e-3, 0.01, 0.3, 0.0, -0.1, math.nan]),
    _RANKS,
    st.integers(0, 3),
)
def test_truncated_entropy_holds_the_exact_entropy_or_names_its_argument(n, d, sigma, alpha, tol, rank, seed):
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    k = ibf.gram_matrix(x, sigma)
    try:
        found = truncated_entropy(k, alpha, tol, max_rank=rank, seed=seed)
    except ValueError as err:
        assert str(err).split(":")[0] in ("alpha", "tol", "max_rank"), err
        return
    exact = float(ibf.matrix_entropy(k, alpha, spectrum="exact"))
    assert math.isfinite(float(found.value)) and math.isfinite(exact)
    assert float(found.lower) <= float(found.value) <= float(found.upper)
    # The bound holds where the Ritz values are the top eigenvalues. A subspace not quite converged (a
    # nearly flat spectrum, a block far smaller than n) leaves them a little low: an interval wider than
    # the tolerance is then what sends a caller to the exact path, and a narrow one is near the truth.
    if found.half_width <= tol:
        assert abs(float(found.value) - exact) <= 2 * tol + 1e-6


@FUZZ
@given(st.integers(2, 60), st.integers(1, 3), _ORDERS, st.integers(0, 3))
def test_the_truncated_path_is_within_its_tolerance_of_the_exact_one(n, d, alpha, seed):
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    try:
        truncated = float(ibf.renyi_entropy(x, alpha, spectrum="truncated"))
    except ValueError as err:
        assert str(err).startswith("alpha: "), err
        return
    exact = float(ibf.renyi_entropy(x, alpha, spectrum="exact"))
    assert math.isfinite(truncated)
    assert truncated == pytest.approx(exact, abs=0.01 + 1e-9)
