"""Fuzzing the public API: every bad input raises a ValueError that names the
argument, and every accepted input gives a finite value.

Inputs are drawn over shapes (0-d, empty, vectors, matrices, grids), dtypes (float32, float64, int64,
bool), values (NaN, Inf, 0, subnormal, near the largest float) and settings of the wrong type or range.
Derandomized, so a run never flakes, and small, so the whole file takes a few seconds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from iblearn import functional as ibf
from iblearn.estimators import KSG, Binning, CriticDivergedError, GaussianMI, InfoNCE, MixedKSG, RenyiMI

FUZZ = settings(derandomize=True, max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))

_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1 / 3, 0.1, 5e-324, 1e-300, 1e300, 1.7e308, -1.7e308]),
)


@st.composite
def samples(draw: st.DrawFn, n: int | None = None) -> np.ndarray:
    """An array of samples: mostly (N, d) floats, sometimes of a wrong shape, dtype or value."""
    rows = n if n is not None else draw(st.integers(1, 24))
    shape = draw(st.sampled_from([(rows, 1), (rows, 2), (rows,), (rows, 3), (), (0, 2), (rows, 1, 2)]))
    dtype = draw(st.sampled_from([np.float64, np.float64, np.float32, np.int64, np.bool_]))
    if dtype in (np.float64, np.float32):
        with np.errstate(over="ignore"):  # float32 takes 1e200 as inf: one more bad value
            if draw(st.booleans()):  # ordinary values, at one scale
                scale = draw(st.sampled_from([1.0, 1e-200, 1e200, 1e-30, 1e30]))
                base = draw(hnp.arrays(np.float64, shape, elements=st.floats(-10, 10)))
                return (base * scale).astype(dtype)
            elements = _FLOATS.map(lambda v: np.asarray(v, dtype).item())
            return draw(hnp.arrays(dtype, shape, elements=elements))
    return draw(hnp.arrays(dtype, shape))


_WRONG = st.sampled_from([0, -1, 1.5, "3", None, True, 10**30])


def _check(call, names: tuple[str, ...]) -> None:
    """``call()`` gives a finite value, or a ValueError whose message names one of ``names``."""
    try:
        value = call()
    except ValueError as err:
        assert any(name in str(err) for name in names), f"no argument named in: {err}"
        return
    values = value if isinstance(value, tuple) else (value,)
    for v in values:
        v = float(v.value if hasattr(v, "value") else v)
        assert math.isfinite(v), f"accepted, but gave {v}"


@FUZZ
@given(samples(), samples(), st.one_of(st.integers(1, 5), _WRONG), st.sampled_from([1, 2]))
def test_ksg(x, y, k, variant):
    with np.errstate(all="ignore"):
        _check(lambda: ibf.ksg_mi(x, y, k, variant), ("x", "y", "k", "sample counts"))


@FUZZ
@given(samples(), st.data())
def test_mixed_ksg_and_entropy(x, data):
    n = len(x) if np.ndim(x) else 1
    labels = data.draw(st.one_of(hnp.arrays(np.int64, (n,), elements=st.integers(0, 2)), samples(n)))
    _check(lambda: ibf.mixed_ksg_mi(x, labels), ("x", "labels", "sample counts", "k"))
    _check(lambda: MixedKSG()(x, labels), ("x", "y", "sample counts", "k"))
    _check(lambda: ibf.kl_entropy(x), ("x", "k"))


@FUZZ
@given(samples(), samples())
def test_gaussian_renyi_binning(x, y):
    def gaussian():
        value = ibf.gaussian_mi(x, y)
        # Documented: inf when a canonical correlation is 1 (a deterministic linear relation).
        return value if not torch.isinf(value) else torch.zeros(())

    _check(gaussian, ("x", "y", "sample counts"))
    _check(lambda: GaussianMI()(x, y).value.nan_to_num(posinf=0.0), ("x", "y", "sample counts"))
    _check(lambda: ibf.renyi_mi(x, y), ("x", "y", "sample counts"))
    _check(lambda: RenyiMI(alpha=2.0)(x, y), ("x", "y", "sample counts"))
    _check(lambda: Binning(5)(x, y), ("x", "y", "sample counts"))
    _check(lambda: KSG()(x, y), ("x", "y", "sample counts", "k"))


@FUZZ
@given(samples(), st.one_of(st.floats(allow_nan=True, allow_infinity=True), _WRONG))
def test_noisy_bounds(rep, noise_std):
    _check(lambda: ibf.noisy_mi_bounds(rep, noise_std), ("representation", "noise_std"))


@FUZZ
@given(samples(), st.one_of(st.floats(0.1, 4), _WRONG))
def test_scores_and_matrices(s, alpha):
    scores = torch.as_tensor(s)
    if scores.is_floating_point():
        # The bounds leave the scores' values to the estimators, which raise naming the step (checking
        # them here would wait on the device at every step): values within a critic's range only.
        scores = torch.nan_to_num(scores).clamp(-1e30, 1e30)
    _check(lambda: ibf.infonce_bound(scores), ("scores",))
    _check(lambda: ibf.dv_bound(scores, scores), ("joint", "marginal"))
    _check(lambda: ibf.matrix_entropy(scores, alpha), ("k", "alpha"))


@FUZZ
@given(samples(), samples())
def test_a_neural_estimate(x, y):
    est = InfoNCE(hidden=(4,), seed=0)
    try:
        _check(lambda: est(x, y), ("x", "y", "sample counts"))
    except CriticDivergedError as err:  # an untrained critic on inputs of 1e30: refused, not a number
        assert "the critic has diverged" in str(err)


@pytest.mark.parametrize("setting", ["seed", "k", "standardize", "ties", "backend"])
@FUZZ
@given(value=_WRONG)
def test_wrong_settings_name_themselves(setting, value):
    x = torch.randn(20, 1, generator=torch.Generator().manual_seed(0))
    _check(lambda: KSG(**{setting: value})(x, x), (setting,))
