"""Fuzzing the series estimates: random walks, near-unit-root AR series and random stable VAR(1)
pairs, at lengths from a few dozen steps, through transfer entropy's estimate and through the
estimators that take rows as independent draws. What must hold whatever the series:

* transfer_entropy_estimate returns finite numbers, an ordered interval, and a caveat exactly where it
  says unreliable; it raises nothing but a ValueError naming an argument;
* short random walks (no stationary law, too few blocks) are never reliable;
* two independent slowly varying series given as rows are never a reliable MI estimate.

Derandomized and small: the default part takes a few seconds on two cores; the sweep is slow.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import iblearn
from iblearn import estimate_mi
from iblearn import functional as ibf
from tests.test_fuzz import FUZZ

torch.set_num_threads(1)
FEW = settings(FUZZ, max_examples=12)


def _ar_pair(phi: float, coupling: float, steps: int, seed: int, scale: float, offset: float) -> tuple:
    g = np.random.default_rng(seed)
    a = np.array([[phi, 0.0], [coupling, phi]])
    out, state = np.empty((steps, 2)), np.zeros(2)
    for t, shock in enumerate(g.standard_normal((steps + 200, 2))):
        state = a @ state + shock
        if t >= 200:
            out[t - 200] = state
    return torch.from_numpy(scale * out[:, 0] + offset), torch.from_numpy(out[:, 1].copy())


def _walks(steps: int, seed: int, drift: float) -> tuple:
    g = np.random.default_rng(seed)
    x, y = np.cumsum(g.standard_normal((2, steps)) + drift, axis=1)
    return torch.from_numpy(x.copy()), torch.from_numpy(y.copy())


def _var(steps: int, seed: int, radius: float) -> tuple:
    """A random VAR(1) of two series with spectral radius ``radius``."""
    g = np.random.default_rng(seed)
    a = g.standard_normal((2, 2))
    a *= radius / max(abs(np.linalg.eigvals(a)))
    out, state = np.empty((steps, 2)), np.zeros(2)
    for t, shock in enumerate(g.standard_normal((steps + 200, 2))):
        state = a @ state + shock
        if t >= 200:
            out[t - 200] = state
    return torch.from_numpy(out[:, 0].copy()), torch.from_numpy(out[:, 1].copy())


_SERIES = st.one_of(
    st.builds(
        _ar_pair,
        st.floats(0.9, 0.999),
        st.floats(0.0, 0.5),
        st.integers(30, 600),
        st.integers(0, 2**16),
        st.sampled_from([1.0, 1e-3, 1e4]),
        st.sampled_from([0.0, 1e3]),
    ),
    st.builds(_walks, st.integers(30, 600), st.integers(0, 2**16), st.sampled_from([0.0, 0.5])),
    st.builds(_var, st.integers(30, 600), st.integers(0, 2**16), st.floats(0.0, 0.99)),
)


def _sound(source: torch.Tensor, target: torch.Tensor, lag: int, history: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            est = ibf.transfer_entropy_estimate(source, target, lag, history, n_resamples=6, seed=1)
        except ValueError as err:
            assert str(err).split(":")[0] in ("source", "target", "lag", "history", "n_resamples")
            return
    low, high = est.interval
    assert np.isfinite([float(est), est.stderr, low, high]).all()
    assert 0.0 <= low <= high
    assert (est.reliable is False) == (est.caveat is not None)


@FEW
@given(_SERIES, st.integers(1, 3), st.integers(1, 3))
def test_transfer_entropy_estimate_on_series(pair, lag, history):
    _sound(*pair, lag, history)


@FEW
@given(st.integers(40, 300), st.integers(0, 2**16), st.sampled_from([0.0, 0.5]))
def test_short_random_walks_are_never_reliable(steps, seed, drift):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = iblearn.estimate("te", *_walks(steps, seed, drift), method="ksg", n_resamples=6, seed=seed)
    assert est.reliable is False


@FEW
@given(st.integers(100, 800), st.integers(0, 2**16), st.floats(0.97, 1.0))
def test_independent_slow_series_as_rows_are_never_reliable(steps, seed, phi):
    x = _ar_pair(phi, 0.0, steps, seed, 1.0, 0.0)[0] if phi < 1 else _walks(steps, seed, 0.0)[0]
    y = _ar_pair(phi, 0.0, steps, seed + 1, 1.0, 0.0)[0] if phi < 1 else _walks(steps, seed + 1, 0.0)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        named = iblearn.estimate("mi", x[:, None], y[:, None], method="ksg", n_resamples=4, seed=seed)
        for est in (named, estimate_mi(x, y, seed=seed)):
            assert est.reliable is False and "time series" in est.caveat


@pytest.mark.slow
@pytest.mark.parametrize("steps", [1000, 2000, 5000])
def test_random_walks_reliable_intervals_hold_zero_in_a_sweep(steps):
    # 200 seeds, as in tests/functional/test_series_inference.py: few seeds cannot tell a 95% interval
    # from a worse one.
    excluded = reliable = 0
    for seed in range(200):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = iblearn.estimate("te", *_walks(steps, seed, 0.0), method="ksg", n_resamples=20, seed=seed)
        _sound(*_walks(steps, seed, 0.0), 1, 1)
        reliable += est.reliable is not False
        excluded += est.reliable is not False and est.interval[0] > 0
    assert reliable >= 150 and excluded <= 0.05 * reliable


@pytest.mark.slow
@settings(FUZZ, max_examples=60)
@given(_SERIES, st.integers(1, 3), st.integers(1, 3))
def test_transfer_entropy_estimate_on_series_sweep(pair, lag, history):
    _sound(*pair, lag, history)
