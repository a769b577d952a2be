"""Active information storage and conditional transfer entropy against closed forms, and the network
estimators against the library's CMI functions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import iblearn.functional as ibf
from iblearn.functional.cmi_surrogates import (
    KSGCMI,
    MAX_ROOT,
    GaussianCMI,
    autoregression,
    condition,
    surrogate_kind,
    surrogates,
)
from iblearn.functional.information_dynamics import LONG_RUN
from iblearn.network import active_information_storage, transfer_entropy
from tests.conftest import ar1


def _pink(t: int, seed: int) -> np.ndarray:
    """1/f noise: white noise shaped to a power spectrum falling as 1/f, the middle of 4 t steps."""
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(4 * t))
    f = np.fft.rfftfreq(4 * t)
    f[0] = f[1]
    return np.fft.irfft(spectrum / np.sqrt(f), n=4 * t)[t : 2 * t]


@pytest.mark.parametrize("method", ["gaussian", "ksg"])
def test_ais_of_an_ar1_process_is_covered_by_its_interval(method):
    truth = -0.5 * np.log(1 - 0.8**2)
    a = active_information_storage(ar1(0.8, 2000, 0), method=method, n_resamples=20)
    assert a.measure == "active_information_storage" and a.stderr_method.startswith("blockwise jackknife")
    # The closed form's standard error is held at its local values' long-run spread; KSG's is not.
    assert (LONG_RUN in a.stderr_method) == (method == "gaussian")
    assert a.interval[0] <= truth <= a.interval[1]


def test_ais_of_white_noise_is_not_significant():
    a = active_information_storage(
        np.random.default_rng(1).standard_normal(1000), method="gaussian", n_permutations=99
    )
    assert a.p_value > 0.05


def test_conditioning_on_a_common_driver_removes_the_transfer():
    rng = np.random.default_rng(2)
    w = rng.standard_normal(2000)
    x, y = np.zeros(2000), np.zeros(2000)
    x[1:] = w[:-1] + 0.5 * rng.standard_normal(1999)
    y[2:] = w[:-2] + 0.5 * rng.standard_normal(1998)
    plain = transfer_entropy(x, y, method="gaussian", n_permutations=50)
    given = transfer_entropy(x, y, method="gaussian", condition=w, condition_lag=2, n_permutations=50)
    assert plain.p_value < 0.05 and float(plain) > 0.2
    assert given.p_value > 0.05 and abs(float(given)) < 0.01
    plain = transfer_entropy(x[:1000], y[:1000])  # KSG
    given = transfer_entropy(x[:1000], y[:1000], condition=w[:1000], condition_lag=2)
    assert float(plain) > 0.2 and abs(float(given)) < 0.03


def test_transfer_entropy_of_a_linear_coupling_matches_its_closed_form():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(3000)
    y = np.zeros(3000)
    y[1:] = 0.8 * x[:-1] + 0.6 * rng.standard_normal(2999)
    te = transfer_entropy(x, y, method="gaussian", n_resamples=20)
    truth = np.log(1 / 0.6)
    assert te.interval[0] <= truth <= te.interval[1]


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda: active_information_storage(np.zeros((100, 2))), "x"),
        (lambda: active_information_storage(np.ones(100), history=0), "history"),
        (lambda: active_information_storage(np.ones(100), method="mine"), "method"),
        (lambda: transfer_entropy(np.ones(100), np.ones(90)), "sample counts differ: source has 100, target"),
        (
            lambda: transfer_entropy(np.ones(100), np.ones(100), condition=np.ones(50)),
            "sample counts differ: target has 100, condition",
        ),
        (lambda: transfer_entropy(np.ones(100), np.ones(100), lag=0), "lag"),
        (
            lambda: transfer_entropy(np.ones(100), np.ones(100), condition_lag=-1, condition=np.ones(100)),
            "condition_lag",
        ),
        (lambda: transfer_entropy(ar1(0.5, 50, 0), ar1(0.5, 50, 1), history=45), "history"),
        (
            lambda: transfer_entropy(
                ar1(0.5, 50, 0), ar1(0.5, 50, 1), condition=ar1(0.5, 50, 2), condition_lag=45
            ),
            "condition_lag",
        ),
    ],
)
def test_bad_input_is_named(call, named):
    with pytest.raises(ValueError, match=f"^{named}"):
        call()


@pytest.mark.parametrize("method", ["ksg", "gaussian", "copula"])
@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda m: active_information_storage(np.ones(100), method=m), "x"),
        (lambda m: transfer_entropy(ar1(0.5, 100, 0), np.ones(100), method=m), "target"),
        (lambda m: transfer_entropy(np.ones(100), ar1(0.5, 100, 0), method=m), "source"),
        (lambda m: transfer_entropy(np.ones(100), ar1(0.5, 100, 0), method=m, local=True), "source"),
    ],
)
def test_a_constant_series_is_refused_by_name(call, named, method):
    with pytest.raises(ValueError, match=f"^{named}: every column is constant"):
        call(method)


def test_the_estimators_agree_with_the_library_functions():
    rng = np.random.default_rng(4)
    y, c, z = rng.standard_normal(500), rng.standard_normal(500), rng.standard_normal((500, 2))
    y += 0.5 * c + z[:, 0]
    cond = condition(y, z)
    expected = ibf.gaussian_cmi(torch.from_numpy(c), torch.from_numpy(y), torch.from_numpy(z))
    assert GaussianCMI().value(cond, c) == pytest.approx(float(expected), rel=1e-9)
    # KSG on the residuals of the linear fit on z: the library's KSG CMI of those residuals.
    rc, ry = cond.residual(c), cond.target
    expected = ibf.ksg_cmi(torch.from_numpy(rc), torch.from_numpy(ry), torch.from_numpy(z), 4)
    assert KSGCMI().value(cond, c) == float(expected)


@pytest.mark.parametrize(
    ("segments", "kind"),
    [
        ((500,), "shift"),
        ((250, 250), "shift"),
        ((100,) * 5, "trials"),
        ((500,), "autoregressive"),
        ((250, 250), "autoregressive"),
        ((500,), "fourier"),
        ((250, 250), "fourier"),
    ],
)
def test_batched_gaussian_surrogates_equal_the_surrogates_laid_out(segments, kind):
    rng = np.random.default_rng(5)
    n = sum(segments)
    y, c, z = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal((n, 2))
    y += 0.3 * c
    cond, plan = condition(y, z), surrogates(segments, 50, kind, (0, 1, 2))
    batched = GaussianCMI().surrogates(cond, c, plan)
    one_by_one = [GaussianCMI().value(cond, s) for s in plan.take(c)]
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("segments", [(300,), (120, 180)])
def test_shifted_surrogates_make_no_step_the_series_does_not(segments):
    """A shifted surrogate continues each trial past its ends by its mirror image: every step between
    neighbouring samples within a trial is a step of the trial, so a slowly drifting series gains no
    jump where its end would meet its start."""
    n = sum(segments)
    c = np.cumsum(np.random.default_rng(0).standard_normal(n))  # a random walk: its ends far apart
    plan = surrogates(segments, 200, "shift", (0, 1, 2))
    starts = np.concatenate([[0], np.cumsum(segments)[:-1]])
    for sample in plan.take(c):
        for start, length in zip(starts, segments, strict=True):
            largest = np.abs(np.diff(c[start : start + length])).max()
            assert np.abs(np.diff(sample[start : start + length])).max() <= largest
    # and it is a shift: no surrogate keeps the trial in place
    assert not any(np.array_equal(sample, c) for sample in plan.take(c))


def test_the_autoregressive_fit_finds_the_order_and_coefficients():
    e = np.random.default_rng(1).standard_normal(5000)
    x = np.zeros(5000)
    for t in range(2, 5000):
        x[t] = 0.5 + 0.6 * x[t - 1] - 0.3 * x[t - 2] + e[t]
    c, phi, innovations = autoregression(x)
    assert len(phi) >= 2
    np.testing.assert_allclose(phi[:2], [0.6, -0.3], atol=0.05)
    assert np.all(np.abs(phi[2:]) < 0.05)
    assert c == pytest.approx(0.5, abs=0.1)
    assert innovations.std() == pytest.approx(1.0, abs=0.05)


def test_a_unit_root_fit_is_damped_to_a_stationary_filter():
    x = np.cumsum(np.random.default_rng(2).standard_normal(300))
    _, phi, _ = autoregression(x)
    assert np.abs(np.roots(np.r_[1.0, -phi])).max() <= MAX_ROOT + 1e-9


def test_slowly_mixing_series_get_surrogates_nearly_independent_of_one_another():
    """The network's surrogates of AR(1) series of root 0.99 over 300 steps are like fresh draws: about
    as few pairs of them nearly the same series as of fresh draws (0.8% of their pairs correlate above
    0.8; shifted copies of so short a series overlap in a few spans of its memory: 2-5%), each with the
    series' lag-one autocorrelation, and none the data."""
    shares = []
    for seed in range(4):
        x = ar1(0.99, 400, seed)[100:]
        plan = surrogates((300,), 200, surrogate_kind((300,), 200), (0, 1, 2))
        laid = plan.take(x)
        shares.append((np.corrcoef(laid)[np.triu_indices(len(laid), 1)] > 0.8).mean())
        lag_one = [np.corrcoef(s[1:], s[:-1])[0, 1] for s in laid]
        assert np.mean(lag_one) == pytest.approx(np.corrcoef(x[1:], x[:-1])[0, 1], abs=0.05)
        assert not any(np.array_equal(s, x) for s in laid)
    assert np.mean(shares) < 0.01


def test_long_memory_keeps_its_slow_components_in_the_fourier_surrogates():
    """1/f noise over 300 steps: the Fourier surrogates hold about the data's power at the three
    lowest frequencies, where the default autoregressive sieve of low order keeps some 70% of it (and
    independent processes pass as coupled more often than alpha)."""
    ratios = []
    for seed in range(20):
        x = _pink(300, seed)
        for kind in ("fourier", surrogate_kind((300,), 200)):
            laid = surrogates((300,), 200, kind, (seed, 1)).take(x)
            low = np.abs(np.fft.rfft(laid - laid.mean(axis=1, keepdims=True), axis=1)[:, 1:4]) ** 2
            ratios.append(low.mean(axis=0).sum() / (np.abs(np.fft.rfft(x - x.mean())[1:4]) ** 2).sum())
    spectrum, sieve = np.exp(np.mean(np.log(np.reshape(ratios, (-1, 2))), axis=0))
    assert 0.85 < spectrum < 1.15
    assert sieve < 0.8


@pytest.mark.parametrize("kind", ["autoregressive", "fourier"])
def test_renewed_surrogates_depend_on_their_own_seed_only(kind):
    x = ar1(0.9, 200, 3)
    plan = surrogates((80, 120), 30, kind, (4, 5, 6))
    everything = plan.take(x)
    np.testing.assert_array_equal(plan.take(x, slice(10, 13)), everything[10:13])
    together = plan.take(np.column_stack([x, -x]))
    np.testing.assert_array_equal(together[..., 0], everything)
    assert not np.array_equal(together[..., 1], -everything)  # each column a series of its own
