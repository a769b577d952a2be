"""The discrete entropy estimators: closed forms, properties, and peers' values on fixed counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, special

from iblearn import functional as ibf
from iblearn.functional.discrete.estimators import fingerprint
from iblearn.functional.discrete.jvhw import coefficients
from iblearn.functional.discrete.nsb import _log_weight, _moments, _peak

torch.set_num_threads(1)
METHODS = ("plugin", "miller_madow", "grassberger", "chao_shen", "zhang", "cwj", "shrinkage", "jvhw", "nsb")
COUNTS = [4, 12, 4, 5, 3, 1, 5, 1, 2, 2, 2, 2, 11, 3, 4, 12, 12, 1, 2]  # ndd's documentation example

# infomeasure 0.6.3, im.entropy(np.repeat(np.arange(19), COUNTS), approach=A) for A in discrete,
# miller_madow, chao_shen, zhang, chao_wang_jost, shrink.
INFOMEASURE = {
    "plugin": 2.6354442646084584,
    "miller_madow": 2.7377169918811854,
    "chao_shen": 2.761664047585218,
    "zhang": 2.7446829850611283,
    "cwj": 2.7528112710385537,
    "shrinkage": 2.786418330532964,
}
# ndd 1.10.6: ndd.entropy(COUNTS, k=100, return_std=True) and ndd.entropy(COUNTS, return_std=True)
# (K unknown: ndd guesses K = 6008). ndd integrates over log a within 4 posterior sds of the peak at a
# relative tolerance of 1e-3; the integral over the whole range differs from it by a few 1e-6 here.
NDD_K100 = (2.8060922529931225, 0.11945501149743358)
NDD_UNKNOWN = (2.8130746489179046, 0.1244390183672502)


@pytest.mark.parametrize("method", METHODS)
def test_a_constant_has_no_entropy_and_agrees_from_labels_and_counts(method):
    # Grassberger's G_N falls short of log N by O(1/N^2): a constant gets log 50 - G_50, not 0.
    zero = math.log(50) - special.digamma(50) - 0.5 * (special.digamma(25.5) - special.digamma(25))
    # JVHW adds 1/(2N) above its threshold; NSB with K unknown guesses K > 1 for one symbol seen.
    expected = {"grassberger": zero, "jvhw": 1 / 100, "nsb": 0.021589200750716346}.get(method, 0.0)
    assert float(ibf.discrete_entropy(torch.zeros(50, dtype=torch.long), method=method)) == pytest.approx(
        expected, abs=1e-9
    )
    x = torch.tensor([0, 0, 1, 2, 2, 2, 3, 1, 0, 4])
    by_labels = float(ibf.discrete_entropy(x, method=method))
    assert float(ibf.discrete_entropy(counts=[3, 2, 1, 3, 1], method=method)) == pytest.approx(
        by_labels, abs=1e-12
    )


@pytest.mark.parametrize("method", METHODS)
def test_uniform_law_with_many_samples_is_log_k(method):
    counts = [1000] * 8  # every estimator's correction vanishes as N / K grows
    assert float(ibf.discrete_entropy(counts=counts, method=method, alphabet=8)) == pytest.approx(
        math.log(8), abs=2e-3
    )


def test_two_symbols_closed_forms():
    n1, n2, n = 3, 1, 4
    plug = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert float(ibf.discrete_entropy(counts=[n1, n2], method="miller_madow")) == pytest.approx(plug + 1 / 8)
    zhang = sum(c / n * (special.digamma(n) - special.digamma(c)) for c in (n1, n2))
    assert float(ibf.discrete_entropy(counts=[n1, n2], method="zhang")) == pytest.approx(zhang)
    # Chao-Shen: coverage 1 - 1/4, each term divided by 1 - (1 - C p)^N.
    cs = sum(-(0.75 * c / n) * math.log(0.75 * c / n) / (1 - (1 - 0.75 * c / n) ** n) for c in (n1, n2))
    assert float(ibf.discrete_entropy(counts=[n1, n2], method="chao_shen")) == pytest.approx(cs)
    # Grassberger 2003 eq. 35: G_1 = -gamma - log 2, G_3 = G_2 = 2 - gamma - log 2.
    g1, g3 = -np.euler_gamma - math.log(2), 2 - np.euler_gamma - math.log(2)
    assert float(ibf.discrete_entropy(counts=[n1, n2], method="grassberger")) == pytest.approx(
        math.log(n) - (n1 * g3 + n2 * g1) / n
    )
    assert float(ibf.discrete_entropy(counts=[n1, n2], method="plugin", base=2)) == pytest.approx(
        plug / math.log(2)
    )


def test_zhang_closed_form_is_the_papers_series():
    counts = np.array([5, 3, 1, 1, 2])
    n = int(counts.sum())
    series = 0.0
    for c in counts:  # Zhang (2012): sum over v of (1/v) prod_j (1 - (n_i - 1)/(N - 1 - j)), times p_i
        prod = 1.0
        for v in range(1, n - c + 1):
            prod *= 1 - (c - 1) / (n - v)
            series += c / n * prod / v
    assert float(ibf.discrete_entropy(counts=counts, method="zhang")) == pytest.approx(series, rel=1e-12)


def test_cwj_unseen_part_matches_the_series_where_it_does_not_overflow():
    counts = [1, 1, 1, 2, 2, 3, 5]
    n, f1, f2 = 15, 3, 2
    a = 2 * f2 / ((n - 1) * f1 + 2 * f2)
    tail = f1 / n * (1 - a) ** (1 - n) * (-math.log(a) - sum((1 - a) ** r / r for r in range(1, n)))
    zhang = float(ibf.discrete_entropy(counts=counts, method="zhang"))
    assert float(ibf.discrete_entropy(counts=counts, method="cwj")) == pytest.approx(zhang + tail, rel=1e-10)
    big = [1] * 5000 + [2] * 10 + [50] * 100  # (1 - A)^(1 - N) overflows in the series form
    assert math.isfinite(float(ibf.discrete_entropy(counts=big, method="cwj")))


@pytest.mark.parametrize(("method", "value"), sorted(INFOMEASURE.items()))
def test_values_of_infomeasure_on_fixed_counts(method, value):
    assert float(ibf.discrete_entropy(counts=COUNTS, method=method)) == pytest.approx(value, abs=1e-12)


def test_nsb_is_ndds_integral():
    mean, sd = ibf.nsb_entropy(counts=COUNTS, alphabet=100)
    assert mean == pytest.approx(NDD_K100[0], abs=1e-5) and sd == pytest.approx(NDD_K100[1], abs=1e-4)
    mean, sd = ibf.nsb_entropy(counts=COUNTS)
    assert mean == pytest.approx(NDD_UNKNOWN[0], abs=1e-5) and sd == pytest.approx(NDD_UNKNOWN[1], abs=1e-3)


@pytest.mark.parametrize("k", [100, 10**6])
def test_nsb_quadrature_is_the_adaptive_integral_over_the_whole_range(k):
    rng = np.random.default_rng(k)
    counts = rng.multinomial(300, rng.dirichlet(np.full(k, 0.3)) if k < 10**5 else np.full(k, 1 / k))
    f = fingerprint(counts, k)
    top, _ = _peak(f, k)
    peak = _log_weight(np.array([top]), f, k)[0]
    w = lambda t: math.exp(_log_weight(np.array([t]), f, k)[0] - peak)  # noqa: E731
    m = lambda t: w(t) * _moments(np.array([t]), f, k)[0][0]  # noqa: E731
    lo, hi = -math.log(k) - 60, -math.log(k) + 60
    z = integrate.quad(w, lo, hi, points=[top], limit=500, epsabs=0, epsrel=1e-12)[0]
    exact = integrate.quad(m, lo, hi, points=[top], limit=500, epsabs=0, epsrel=1e-12)[0] / z
    assert ibf.nsb_entropy(counts=counts, alphabet=k)[0] == pytest.approx(exact, abs=1e-8)


def test_nsb_at_a_million_symbols_is_finite_and_between_plugin_and_log_k():
    counts = np.zeros(10**6, dtype=np.int64)
    counts[:400] = np.arange(1, 401) % 7 + 1
    mean, sd = ibf.nsb_entropy(counts=counts, alphabet=10**6)
    assert float(ibf.discrete_entropy(counts=counts)) < mean < math.log(10**6) and 0 < sd < 1


def test_jvhw_coefficients_are_the_minimax_approximation():
    for degree in (4, 10):
        g = np.array(coefficients(degree))
        u = np.linspace(0, 1, 20001)
        err = np.polyval(g[::-1], u) + np.where(u > 0, u * np.log(np.where(u > 0, u, 1)), 0)
        # equioscillation: the largest error is the level |g_0| reached at u = 0
        assert np.abs(err).max() == pytest.approx(abs(g[0]), rel=1e-6)
    assert coefficients(4)[0] == pytest.approx(0.013896205582, rel=1e-8)  # the authors' table, degree 4


def test_mi_and_cmi_are_sums_of_entropies():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 4, (400,), generator=g)
    y = (x + torch.randint(0, 2, (400,), generator=g)) % 4
    z = torch.randint(0, 2, (400,), generator=g)
    for method in ("grassberger", "nsb"):
        h = lambda *v, m=method: float(ibf.discrete_entropy(torch.stack(v, 1), method=m))  # noqa: E731
        assert float(ibf.discrete_mi(x, y, method=method)) == pytest.approx(h(x) + h(y) - h(x, y), abs=1e-10)
        expected = h(x, z) + h(y, z) - h(x, y, z) - h(z)
        assert float(ibf.discrete_cmi(x, y, z, method=method)) == pytest.approx(expected, abs=1e-10)


def test_intervals():
    est = ibf.discrete_entropy_estimate(counts=COUNTS, alphabet=100)
    mean, sd = ibf.nsb_entropy(counts=COUNTS, alphabet=100)
    assert est.interval == pytest.approx((mean - 1.959964 * sd, mean + 1.959964 * sd), rel=1e-6)
    boot = ibf.discrete_entropy_estimate(counts=COUNTS, method="cwj", n_resamples=50)
    assert boot.stderr_method == "bootstrap" and boot.interval[0] < float(boot) < boot.interval[1]
    x = torch.arange(300) % 3
    mi = ibf.discrete_mi_estimate(x, x, method="miller_madow", n_resamples=30)
    assert mi.interval[0] < math.log(3) < mi.interval[1]


def test_plugin_bootstrap_intervals_hold_its_bias():
    # The plug-in entropy is low by about (K - 1) / (2N) (Miller 1955): 0.19 nats for 20 equally likely
    # symbols and N = 50, over twice its sd; the plug-in MI of independent labels high by about
    # (Kx - 1)(Ky - 1) / (2N) = 0.0625 for 6 x 6 symbols and N = 200. A 95% interval holds the truth
    # (log 20; 0) in all but a few of 40 draws.
    rng = np.random.default_rng(0)
    truth = math.log(20)
    missed = 0
    for s in range(40):
        est = ibf.discrete_entropy_estimate(
            counts=rng.multinomial(50, np.full(20, 0.05)), method="plugin", seed=s
        )
        missed += not est.interval[0] <= truth <= est.interval[1]
    assert missed <= 6
    missed = 0
    for s in range(40):
        x, y = (torch.from_numpy(rng.integers(0, 6, 200)) for _ in range(2))
        est = ibf.discrete_mi_estimate(x, y, method="plugin", n_resamples=100, seed=s)
        missed += not est.interval[0] <= 0.0 <= est.interval[1]
    assert missed <= 6


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ibf.discrete_entropy(torch.arange(5), method="bayes"), "method: expected one of"),
        (
            lambda: ibf.discrete_entropy(torch.arange(5), method="zhang", correction="none"),
            "correction: give method",
        ),
        (lambda: ibf.discrete_entropy(), "x: give the symbols"),
        (lambda: ibf.discrete_entropy(counts=[1, -1]), "counts: expected"),
        (lambda: ibf.discrete_entropy(counts=[1.5, 1]), "counts: expected whole numbers"),
        (lambda: ibf.discrete_entropy(counts=[1, 1, 1], alphabet=2), "alphabet: 2 symbols"),
        (lambda: ibf.discrete_entropy(counts=[1, 1], base=1), "base"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_integer_counts_are_read_in_place():
    # A million integer counts are checked without a float copy of them: that copy cost more than NSB.
    from iblearn.functional.discrete import counts_of

    counts = np.zeros(10**6, dtype=np.int64)
    counts[:3] = (5, 1, 2)
    assert np.shares_memory(counts_of(counts=counts), counts)
    assert np.shares_memory(counts_of(counts=torch.from_numpy(counts)), counts)
    assert counts_of(counts=[2.0, 0.0, 1.0]).tolist() == [2, 0, 1]
    with pytest.raises(ValueError, match="counts: expected a 1-D"):
        counts_of(counts=np.zeros(4, dtype=np.uint8))


def test_nsb_mi_interval_takes_fewer_resamples_by_default(monkeypatch):
    from iblearn.functional.discrete import inference as D

    calls = {"n": 0}
    inner = D._mi_of_cells

    def counted(*args):
        calls["n"] += 1
        return inner(*args)

    monkeypatch.setattr(D, "_mi_of_cells", counted)
    x = torch.arange(120) % 6
    D.discrete_mi_estimate(x, x // 2, method="nsb")
    assert calls["n"] == 2 + D.NSB_RESAMPLES  # the estimate, the plug-in figure, each resample
    calls["n"] = 0
    D.discrete_mi_estimate(x, x // 2, method="grassberger")
    assert calls["n"] == 2 + D.RESAMPLES


def test_trigamma_series_is_scipys_zeta():
    from iblearn.functional.discrete.nsb import _trigamma

    x = np.concatenate([np.linspace(1, 30, 5000), np.logspace(0, 12, 2000)])
    assert np.abs(_trigamma(x) / special.zeta(2, x) - 1).max() < 1e-13


def _dense_posterior(counts: np.ndarray, k: int, a: float) -> tuple[float, float]:
    """E[H] and Var[H] under Dirichlet(counts + a) over k symbols, term by term over the symbols
    (Wolpert & Wolf 1995; Archer, Park & Pillow 2013, eqs. 4-5)."""
    al = np.zeros(k)
    al[: len(counts)] = counts
    al += a
    big = al.sum()
    mean = special.digamma(big + 1) - (al / big * special.digamma(al + 1)).sum()
    ph = special.digamma(al + 1) - special.digamma(big + 2)
    tri = special.polygamma(1, big + 2)
    pairs = (al * ph).sum() ** 2 - (al**2 * ph**2).sum() - tri * (big**2 - (al**2).sum())
    ph2 = special.digamma(al + 2) - special.digamma(big + 2)
    same = (al * (al + 1) * (ph2**2 + special.polygamma(1, al + 2) - tri)).sum()
    return float(mean), float((pairs + same) / (big * (big + 1)) - mean**2)


def test_posterior_moments_given_a_match_draws_of_the_dirichlet_posterior():
    counts, k, a = np.array([5, 3, 2, 2, 1, 1]), 20, 0.3
    alphas = np.concatenate([counts, np.zeros(k - len(counts))]) + a
    p = np.random.default_rng(0).dirichlet(alphas, 100_000)
    h = -(p * np.log(p)).sum(axis=1)
    mean, var = _moments(np.array([math.log(a)]), fingerprint(counts, k), k)
    assert (mean[0], var[0]) == pytest.approx(_dense_posterior(counts, k, a), rel=1e-10)
    assert mean[0] == pytest.approx(h.mean(), abs=4 * h.std() / math.sqrt(len(h)))
    assert var[0] == pytest.approx(h.var(), rel=0.03)


@pytest.mark.parametrize(
    ("k", "alpha", "n"), [(20, 0.3, 15), (100, 0.1, 50), (100, 1.0, 100), (300, 0.01, 80)]
)
def test_nsb_mean_and_sd_are_an_independent_integral_over_the_concentration(k, alpha, n):
    # The sd holds the spread of E[H | a] over the weight of a as well as E[Var[H | a]].
    rng = np.random.default_rng(k + n)
    counts = rng.multinomial(n, rng.dirichlet(np.full(k, alpha)))
    counts = counts[counts > 0].astype(float)

    def log_weight(t: float) -> float:
        a = math.exp(t)
        prior = k * special.polygamma(1, k * a + 1) - special.polygamma(1, a + 1)
        seen = (special.gammaln(counts + a) - special.gammaln(a)).sum()
        return math.log(prior) + special.gammaln(k * a) - special.gammaln(n + k * a) + seen + t

    grid = np.linspace(-math.log(k) - 30, -math.log(k) + 30, 601)
    top = grid[np.argmax([log_weight(t) for t in grid])]
    peak = log_weight(top)

    def moment(power: int) -> float:
        def f(t: float) -> float:
            mean, var = _dense_posterior(counts, k, math.exp(t))
            return math.exp(log_weight(t) - peak) * (1.0, mean, var + mean**2)[power]

        return integrate.quad(f, top - 30, top + 30, points=[top], limit=500, epsabs=0, epsrel=1e-10)[0]

    z = moment(0)
    mean, second = moment(1) / z, moment(2) / z
    got = ibf.nsb_entropy(counts=counts.astype(int), alphabet=k)
    assert got == pytest.approx((mean, math.sqrt(second - mean**2)), abs=1e-5)
