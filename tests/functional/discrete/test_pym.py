"""The Pitman-Yor mixture (PYM) entropy estimate: the posterior at fixed (d, alpha) against Monte Carlo
draws of the Pitman-Yor posterior, the mixture against a brute-force double integral, and its limits."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from scipy import integrate, special

import iblearn
from iblearn import functional as ibf
from iblearn.functional.discrete.estimators import fingerprint
from iblearn.functional.discrete.pym import (
    log_mixing_density,
    pitman_yor_posterior_moments,
    pitman_yor_prior_moments,
    pym_entropy,
)

torch.set_num_threads(1)


def _stick_entropy(rng: np.random.Generator, d: float, alpha: float, draws: int, sticks: int) -> np.ndarray:
    """H of ``draws`` Pitman-Yor(d, alpha) laws by stick-breaking, cut after ``sticks`` sticks: the mass r
    left is a PY(d, alpha + sticks d) law, whose entropy is replaced by its mean (r H - r log r): exact in
    the mean, and with r under 1e-2 on average the variance it leaves out is far below the test's 6%."""
    k = np.arange(1, sticks + 1)
    beta = rng.beta(1 - d, alpha + k * d, size=(draws, sticks))
    left = np.cumprod(1 - beta, axis=1)
    weights = beta * np.concatenate([np.ones((draws, 1)), left[:, :-1]], axis=1)
    rest = left[:, -1]
    assert rest.mean() < 1e-2
    tail = special.digamma(alpha + sticks * d + 1) - special.digamma(1 - d)
    return -(weights * np.log(weights)).sum(axis=1) + rest * tail - rest * np.log(rest)


@pytest.mark.parametrize("d, alpha", [(0.0, 2.0), (0.3, 1.0), (0.5, 0.5)])
def test_prior_moments_match_stick_breaking_draws(d, alpha):
    h = _stick_entropy(np.random.default_rng(1), d, alpha, 4000, 300)
    mean, second = pitman_yor_prior_moments(d, alpha)
    se = h.std() / math.sqrt(len(h))
    assert mean == pytest.approx(special.digamma(alpha + 1) - special.digamma(1 - d), abs=1e-12)
    assert abs(h.mean() - mean) < 4 * se
    assert math.sqrt(second - mean**2) == pytest.approx(h.std(), rel=0.06)


@pytest.mark.parametrize("d, alpha", [(0.0, 1.5), (0.3, 1.0), (0.45, -0.2)])
def test_posterior_moments_match_draws_of_the_posterior(d, alpha):
    # Given counts n_1..n_K, the PY posterior is (p_1..p_K, p_*) ~ Dirichlet(n_i - d, alpha + K d)
    # with the mass p_* spread as a PY(d, alpha + K d) law (Pitman 1996; Archer et al. 2014, Sec. 4).
    counts = np.array([5.0, 3, 2, 1, 1, 1])
    rng = np.random.default_rng(2)
    draws, k = 4000, len(counts)
    p = rng.dirichlet(np.append(counts - d, alpha + k * d), size=draws)
    tail = _stick_entropy(rng, d, alpha + k * d, draws, 300)
    h = -(p * np.log(p)).sum(axis=1) + p[:, -1] * tail
    mean, var = pitman_yor_posterior_moments(counts, d, alpha)
    se = h.std() / math.sqrt(draws)
    assert abs(h.mean() - mean) < 4 * se
    assert math.sqrt(var) == pytest.approx(h.std(), rel=0.06)


def test_d_zero_is_the_dirichlet_process_posterior_mean():
    counts = np.array([7.0, 4, 2, 2, 1, 1, 1])
    n, alpha = counts.sum(), 3.2
    dp = (
        special.digamma(n + alpha + 1)
        - (counts * special.digamma(counts + 1)).sum() / (n + alpha)
        - alpha / (n + alpha) * special.digamma(1)
    )
    assert pitman_yor_posterior_moments(counts, 0.0, alpha)[0] == pytest.approx(dp, abs=1e-12)


@pytest.mark.parametrize("d, alpha", [(0.0, 2.0), (0.3, 1.2), pytest.param(0.6, 0.1, marks=pytest.mark.slow)])
def test_posterior_moments_match_an_integral_over_the_simplex(d, alpha):
    # Counts (3, 1): (p_1, p_2, p_*) ~ Dirichlet(3 - d, 1 - d, alpha + 2 d), and the mass p_* spread as a
    # PY(d, alpha + 2 d) law whose entropy R is independent of the weights, with its prior moments:
    # H = h(p_1) + h(p_2) + h(p_*) + p_* R (Archer et al. 2014, Sec. 4), integrated over the simplex.
    a = np.array([3 - d, 1 - d, alpha + 2 * d])
    r1, r2 = pitman_yor_prior_moments(d, alpha + 2 * d)
    log_norm = float(special.gammaln(a.sum()) - special.gammaln(a).sum())
    a1, a2, a3 = (float(v) - 1 for v in a)

    def moment(power: int):
        def f(p2: float, p1: float) -> float:  # in floats: quad calls it some 10^5 times
            p3 = 1 - p1 - p2
            if p1 <= 0 or p2 <= 0 or p3 <= 0:
                return 0.0
            l1, l2, l3 = math.log(p1), math.log(p2), math.log(p3)
            density = math.exp(log_norm + a1 * l1 + a2 * l2 + a3 * l3)
            h = -(p1 * l1 + p2 * l2 + p3 * l3)
            if power == 1:
                return density * (h + p3 * r1)
            return density * (h**2 + 2 * h * p3 * r1 + p3**2 * r2)

        return f

    options = {"epsabs": 1e-10, "epsrel": 1e-9}
    m1 = integrate.dblquad(moment(1), 0, 1, 0, lambda p1: 1 - p1, **options)[0]
    m2 = integrate.dblquad(moment(2), 0, 1, 0, lambda p1: 1 - p1, **options)[0]
    mean, var = pitman_yor_posterior_moments([3, 1], d, alpha)
    assert mean == pytest.approx(m1, abs=1e-6)
    assert var == pytest.approx(m2 - m1**2, abs=1e-6)


def _eta_gamma(d: Any, alpha: Any) -> tuple[Any, Any]:
    eta = special.digamma(alpha + 1) - special.digamma(1 - d)
    return eta, (special.digamma(1) - special.digamma(1 - d)) / eta


@pytest.mark.parametrize("d, alpha", [(0.0, 0.5), (0.2, 3.0), (0.7, 0.05), (0.95, 40.0)])
def test_mixing_density_is_flat_in_the_prior_mean_entropy(d, alpha):
    # The density over (d, alpha) is q(gamma) times |d(eta, gamma) / d(alpha, d)|, the Jacobian here by
    # central differences: flat in eta = E[H | d, alpha], exp(-10 / (1 - gamma)) in gamma.
    h = 1e-6
    ea, ga = (
        np.subtract(*pair) / (2 * h)
        for pair in zip(_eta_gamma(d, alpha + h), _eta_gamma(d, alpha - h), strict=True)
    )
    ed, gd = (
        np.subtract(*pair) / (2 * h)
        for pair in zip(_eta_gamma(d + h, alpha), _eta_gamma(d - h, alpha), strict=True)
    )
    _, gamma = _eta_gamma(d, alpha)
    expected = -10 / (1 - gamma) + math.log(abs(ea * gd - ed * ga))
    assert 0 <= gamma < 1
    assert log_mixing_density(d, alpha) == pytest.approx(expected, abs=1e-5)
    assert log_mixing_density(d, 0.0) == -math.inf


def _log_evidence(counts: np.ndarray, d: Any, alpha: Any) -> Any:
    """The Ewens-Pitman probability of the partition with block sizes ``counts``, term by term."""
    k, n = len(counts), int(counts.sum())
    d, alpha = np.asarray(d, dtype=float)[..., None], np.asarray(alpha, dtype=float)[..., None]
    seats = np.log(alpha + np.arange(1, k) * d).sum(axis=-1)
    tables = (special.gammaln(counts - d) - special.gammaln(1 - d)).sum(axis=-1)
    return seats - (special.gammaln(alpha + n) - special.gammaln(alpha + 1))[..., 0] + tables


def _mixing(counts: np.ndarray, d: np.ndarray, alpha: np.ndarray, mode: float) -> np.ndarray:
    """Evidence times the mixing density exp(-10 / (1 - gamma)) psi_1(alpha + 1) psi_1(1 - d) / eta,
    over exp(mode)."""
    eta, gamma = _eta_gamma(d, alpha)
    jacobian = special.polygamma(1, alpha + 1) * special.polygamma(1, 1 - d) / eta
    return np.exp(_log_evidence(counts, d, alpha) - mode - 10 / (1 - gamma)) * jacobian


def _mode(c: np.ndarray) -> float:
    d, alpha = np.meshgrid(np.linspace(0, 0.95, 20), np.geomspace(0.01, 50, 40))
    return float(_log_evidence(c, d, alpha).max())


@pytest.mark.parametrize("counts", [[6, 2, 1], [4, 4, 1, 1, 1, 2, 1]])
def test_mixture_matches_a_fixed_product_rule_in_other_coordinates(counts):
    # The same posterior on d in [0, 1), alpha = y / (1 - y), y in (0, 1), by a 300 x 300 product
    # Gauss-Legendre rule: no adaptivity, no shared coordinates with the estimator's quadrature.
    c = np.asarray(counts, dtype=float)
    x, w = np.polynomial.legendre.leggauss(300)
    x, w = (x + 1) / 2, w / 2
    d, y = np.meshgrid(x, x, indexing="ij")
    alpha = y / (1 - y)
    weight = _mixing(c, d, alpha, _mode(c)) * np.outer(w, w) / (1 - y) ** 2
    mean, var = pitman_yor_posterior_moments(c, d, alpha)
    m1 = (weight * mean).sum() / weight.sum()
    m2 = (weight * (var + mean**2)).sum() / weight.sum()
    got = pym_entropy(counts)
    assert got[0] == pytest.approx(m1, abs=1e-6)
    assert got[1] == pytest.approx(math.sqrt(m2 - m1**2), abs=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("counts", [[6, 2, 1], [3, 1, 2, 1, 1], [20, 9, 5, 3, 2, 2, 1, 1, 1, 1, 1, 1]])
def test_mixture_matches_a_brute_force_double_integral(counts):
    # The same posterior, integrated over (d, alpha) directly: evidence times the mixing density on
    # d in [0, 1), alpha > 0, by scipy's adaptive double quadrature (about a minute a case).
    c = np.asarray(counts, dtype=float)
    mode = _mode(c)

    def weight(alpha: float, d: float) -> float:
        return float(_mixing(c, np.float64(d), np.float64(alpha), mode))

    def moment(power: int):
        def f(alpha: float, d: float) -> float:
            mean, var = pitman_yor_posterior_moments(c, d, alpha)
            return weight(alpha, d) * (mean if power == 1 else var + mean**2)

        return f

    options = {"epsabs": 0, "epsrel": 1e-9}
    z = integrate.dblquad(weight, 0, 1, 0, math.inf, **options)[0]
    m1 = integrate.dblquad(moment(1), 0, 1, 0, math.inf, **options)[0] / z
    m2 = integrate.dblquad(moment(2), 0, 1, 0, math.inf, **options)[0] / z
    mean, sd = pym_entropy(counts)
    assert mean == pytest.approx(m1, abs=1e-6)
    assert sd == pytest.approx(math.sqrt(m2 - m1**2), abs=1e-6)


def test_tends_to_the_true_entropy_of_a_finite_law():
    p = np.array([0.4, 0.3, 0.15, 0.1, 0.05])
    truth = float(-(p * np.log(p)).sum())
    rng = np.random.default_rng(3)
    errors = []
    for n in (100, 10_000, 1_000_000):
        mean, sd = pym_entropy(rng.multinomial(n, p))
        assert abs(mean - truth) < 4 * sd + 1e-9
        errors.append(abs(mean - truth))
    assert errors[-1] < 2e-3


@pytest.mark.parametrize("counts", [[1e19, 1e19], [10**19, 10**19], np.array([10**19] * 2, dtype=np.uint64)])
def test_huge_counts_reach_the_plugin_limit(counts):
    mean, sd = pym_entropy(counts)
    assert mean == pytest.approx(math.log(2), abs=1e-9)
    assert sd < 1e-6


def test_a_sample_without_coincidences_is_not_identified():
    mean, sd = pym_entropy([1, 1, 1, 1])
    assert mean == pytest.approx(math.log(4)) and sd == math.inf
    mean, sd = pym_entropy([5])  # one symbol seen five times: a small entropy, a finite sd
    assert 0 < mean < sd < 1


@pytest.mark.parametrize(
    "counts, match",
    [([], "counts"), ([[1, 2]], "counts"), ([1.5, 2], "counts"), ([-1, 3], "counts"), ([0, 0], "counts")],
)
def test_bad_counts_are_named(counts, match):
    with pytest.raises(ValueError, match=match):
        pym_entropy(counts)


def test_reachable_by_method_name_with_its_posterior_interval():
    counts = [4, 12, 4, 5, 3, 1, 5, 1, 2, 2, 2, 2, 11, 3, 4, 12, 12, 1, 2]
    mean, sd = pym_entropy(counts)
    assert float(ibf.discrete_entropy(counts=counts, method="pym")) == pytest.approx(mean, abs=1e-12)
    est = ibf.discrete_entropy_estimate(counts=counts, method="pym")
    assert float(est) == pytest.approx(mean, abs=1e-12)
    assert est.stderr == pytest.approx(sd, abs=1e-12)
    assert est.interval == pytest.approx((mean - 1.959963984540054 * sd, mean + 1.959963984540054 * sd))
    labels = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))
    assert float(iblearn.estimate("entropy", labels, method="pym")) == pytest.approx(mean, abs=1e-12)
    x = torch.arange(400) % 8
    mi = ibf.discrete_mi_estimate(x, x // 2, method="pym", n_resamples=5)
    assert float(mi) == pytest.approx(math.log(4), abs=0.05)


def _zipf_counts(seed: int, exponent: float = 1.1, symbols: int = 5000, n: int = 600) -> np.ndarray:
    p = np.arange(1, symbols + 1, dtype=float) ** -exponent
    return np.random.default_rng(seed).multinomial(n, p / p.sum())


def test_fingerprint_and_counts_agree():
    c = _zipf_counts(0)
    assert pym_entropy(c) == pytest.approx(ibf.discrete.entropy_of_counts(c, "pym", None), abs=1e-12)
    assert fingerprint(c).n == 600


def test_covers_a_zipf_law_over_most_seeds():
    # Zipf(1.3) over 10,000 symbols, 1,000 draws (H = 4.249): on the power-law benchmark PYM's interval
    # covers 95 of 100 such draws, with a mean error of +0.04 nats.
    p = np.arange(1, 10_001, dtype=float) ** -1.3
    p /= p.sum()
    truth = float(-(p * np.log(p)).sum())
    got = np.array([pym_entropy(_zipf_counts(seed, 1.3, 10_000, 1000)) for seed in range(20)])
    assert (np.abs(got[:, 0] - truth) <= 1.96 * got[:, 1]).sum() >= 17
    assert abs(got[:, 0].mean() - truth) < 0.1
