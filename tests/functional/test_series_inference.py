"""Transfer entropy's interval on slowly mixing series, the automatic block length, and the test that
tells rows in time order from independent draws (iblearn.functional.serial)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import linalg

import iblearn.functional as ibf
from iblearn.data import get_exact_task
from iblearn.estimation.verdict import series_figures_verdict
from iblearn.functional import serial
from iblearn.functional.information_dynamics import LONG_RUN
from iblearn.functional.knn.nulls import transfer_entropy_estimate
from iblearn.functional.knn.transfer import embedding, partialled

torch.set_num_threads(1)


def var1_te(a: np.ndarray) -> float:
    """The exact TE x -> y (lag 1, history 1) of the Gaussian VAR(1) ``v_t = a v_(t-1) + e_t``, v = (x, y),
    unit noise: ``I(y_t; x_(t-1) | y_(t-1)) = log(Var(y_t | y_(t-1)) / Var(y_t | x_(t-1), y_(t-1))) / 2``,
    the second the noise's 1, the first from the stationary covariances (Lyapunov: G0 = a G0 a' + I,
    G1 = a G0)."""
    g0 = linalg.solve_discrete_lyapunov(a, np.eye(2))
    g1 = a @ g0
    return 0.5 * float(np.log(g0[1, 1] - g1[1, 1] ** 2 / g0[1, 1]))


def var1(phi: float, coupling: float, steps: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x_t = phi x_(t-1) + e, y_t = phi y_(t-1) + coupling x_(t-1) + u, from the stationary law."""
    a = np.array([[phi, 0.0], [coupling, phi]])
    g = np.random.default_rng(seed)
    state = np.linalg.cholesky(linalg.solve_discrete_lyapunov(a, np.eye(2))) @ g.standard_normal(2)
    noise = g.standard_normal((steps, 2))
    out = np.empty((steps, 2))
    for t in range(steps):
        state = a @ state + noise[t]
        out[t] = state
    return torch.from_numpy(out[:, 0].copy()), torch.from_numpy(out[:, 1].copy())


def judged(source: torch.Tensor, target: torch.Tensor, **options: int) -> ibf.Estimate:
    """The transfer entropy with its figures, judged as the front door judges a named method's."""
    return series_figures_verdict(transfer_entropy_estimate(source, target, **options), ("source", "target"))


def walks(steps: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = np.random.default_rng(seed)
    x, y = np.cumsum(g.standard_normal((2, steps)), axis=1)
    return torch.from_numpy(x.copy()), torch.from_numpy(y.copy())


def test_the_closed_form_is_the_regression_of_a_long_run():
    a = np.array([[0.95, 0.0], [0.3, 0.95]])
    assert var1_te(a) == pytest.approx(0.2055, abs=1e-4)
    y = var1(0.95, 0.3, 200_000, seed=0)[1].numpy()
    # Var(y_t | y_(t-1)) by least squares; the full conditional variance is the unit noise.
    fit = np.polyfit(y[:-1], y[1:], 1)
    resid = y[1:] - np.polyval(fit, y[:-1])
    assert 0.5 * np.log(resid.var()) == pytest.approx(var1_te(a), abs=0.01)


def test_a_near_unit_root_pair_is_covered_or_unreliable():
    truth = var1_te(np.array([[0.95, 0.0], [0.3, 0.95]]))
    for seed in range(4):
        est = judged(*var1(0.95, 0.3, 1000, seed), n_resamples=20, seed=3)
        if est.reliable is not False:
            assert est.interval[0] <= truth <= est.interval[1], (seed, est)


def test_the_past_is_partialled_out_without_changing_the_measure():
    """I(Y - B Z; X - C Z | Z) = I(Y; X | Z): the residuals take the near-unit-root ridge away, where the
    raw counts read the TE at about half its value."""
    source, target = var1(0.97, 0.3, 2000, seed=1)
    truth = var1_te(np.array([[0.97, 0.0], [0.3, 0.97]]))
    assert float(ibf.transfer_entropy(source, target, k=3)) == pytest.approx(truth, abs=0.08)
    present, past_source, past_target = embedding(source, target, 1, 1, 3)
    raw = float(ibf.ksg_cmi(present, past_source, past_target))
    assert raw < 0.6 * truth
    p, _, z = partialled(present, past_source, past_target)
    assert torch.equal(z, past_target)
    assert abs(float(np.corrcoef(p[:, 0].numpy(), z[:, 0].numpy())[0, 1])) < 1e-8


def test_a_column_the_past_determines_keeps_its_values():
    target = torch.zeros(300, dtype=torch.float64)
    target[0] = 1.0
    target[1:] = 0.5 ** torch.arange(1, 300, dtype=torch.float64)  # y_t = y_(t-1) / 2 exactly
    present, past_source, past_target = embedding(torch.randn(300, dtype=torch.float64), target, 1, 1, 3)
    p, _, _ = partialled(present, past_source, past_target)
    assert torch.equal(p, present)


def test_random_walks_are_unreliable_with_why():
    for seed in range(3):
        est = transfer_entropy_estimate(*walks(300, seed), n_resamples=10, seed=seed)
        # The math layer returns the figures of the mixing, not a verdict: the verdict reads them.
        assert est.reliable is None and est.caveat is None
        assert est.report.features["slow block"] > 299 / serial.MIN_BLOCKS
        judged_est = series_figures_verdict(est, ("source", "target"))
        assert judged_est.reliable is False and float(judged_est) == float(est)
        assert "mix too slowly" in judged_est.caveat and "random walk" in judged_est.caveat


def test_a_stationary_pair_stays_reliable_and_covered():
    truth = var1_te(np.array([[0.5, 0.0], [0.3, 0.5]]))
    hits = 0
    for seed in range(6):
        est = judged(*var1(0.5, 0.3, 1000, seed), n_resamples=20, seed=seed)
        hits += est.reliable is not False and est.interval[0] <= truth <= est.interval[1]
    assert hits >= 4


def test_the_block_follows_the_autocorrelation():
    g = np.random.default_rng(0)
    white = serial.mixing([g.standard_normal(1000)])
    slow = serial.mixing([var1(0.9, 0.0, 1000, seed=0)[0]])
    assert white is not None and slow is not None
    assert white.block < 3 and white.tau == pytest.approx(1.0, abs=0.3)
    # AR(1) at 0.9: tau = 1.9 / 0.1 = 19, block (1.5 (2 phi / (1 - phi^2))^2)^(1/3) N^(1/3) = 51.
    assert 25 < slow.block < 100 and 8 < slow.tau < 35
    block, figures = serial.series_blocks([var1(0.9, 0.0, 1000, seed=0)[0]], 1000)
    assert block == pytest.approx(slow.block, abs=1) and figures == {}
    assert serial.series_blocks([np.arange(10.0)], 10)[1]["slow block"] > 10 / serial.MIN_BLOCKS
    assert serial.mixing([np.arange(10)]) is None  # integer labels say nothing


@pytest.mark.parametrize("n", [200, 1000, 10_000])
def test_independent_rows_are_not_taken_for_a_series(n):
    g = np.random.default_rng(n)
    reps = 200 if n < 10_000 else 40
    flags = 0
    for _ in range(reps):
        x = g.standard_normal((n, 3))
        flags += serial.ordered_rows([x, x[:, :1] + g.standard_normal((n, 1))], ["x", "y"]) is not None
    assert flags == 0


def test_two_autocorrelated_series_are_taken_for_one():
    x, _ = var1(0.95, 0.0, 1000, seed=0)
    y, _ = var1(0.95, 0.0, 1000, seed=1)
    why = serial.ordered_rows([x, y], ["x", "y"])
    assert why is not None and "time series" in why and "transfer_entropy" in why
    # One side alone in order, or labels beside a series: nothing to say of the pair's rows.
    assert serial.ordered_rows([x, torch.randn(1000)], ["x", "y"]) is None
    assert serial.ordered_rows([x, torch.arange(1000) // 100], ["x", "y"]) is None


@pytest.mark.slow
@pytest.mark.parametrize(("phi", "steps"), [(0.5, 1000), (0.9, 1000), (0.95, 1000), (0.97, 5000)])
def test_coverage_where_reliable_over_20_seeds(phi, steps):
    truth = var1_te(np.array([[phi, 0.0], [0.3, phi]]))
    reliable = covered = 0
    for seed in range(20):
        est = judged(*var1(phi, 0.3, steps, seed), n_resamples=20, seed=seed)
        reliable += est.reliable is not False
        covered += est.reliable is not False and est.interval[0] <= truth <= est.interval[1]
    assert reliable >= 10 and covered >= 0.85 * reliable


@pytest.mark.slow
def test_random_walks_reliable_intervals_hold_zero():
    # Two independent walks: TE 0. A 95% interval may miss it on 5% of seeds, and at that rate 2 or
    # more misses in 20 seeds come one time in four: 200 seeds hold the share to 5% (about 2% here).
    excluded = reliable = 0
    for seed in range(200):
        est = judged(*walks(5000, seed), n_resamples=20, seed=seed)
        reliable += est.reliable is not False
        excluded += est.reliable is not False and est.interval[0] > 0
    assert reliable >= 150 and excluded <= 0.05 * reliable


def test_the_long_run_standard_error_of_independent_terms_is_their_spread():
    x = np.random.default_rng(0).standard_normal(500)
    assert serial.long_run_stderr(x, 0) == pytest.approx(x.std() / np.sqrt(500), rel=1e-12)
    # Of trials, the products stop at a trial's end: two trials of constant sign, one of each.
    trials = np.r_[np.ones(3), -np.ones(3)]
    within = (6 + 2 * 0.5 * 4) / 36  # g_0 = 6, four lag-1 products of +1 within the trials
    assert serial.long_run_stderr(trials, 1, [3, 3]) == pytest.approx(np.sqrt(within), rel=1e-12)
    across = (6 + 2 * 0.5 * 3) / 36  # one product of -1 across the trials' boundary
    assert serial.long_run_stderr(trials, 1) == pytest.approx(np.sqrt(across), rel=1e-12)


def test_the_long_run_standard_error_holds_the_spread_of_a_mean_of_an_ar1():
    rng = np.random.default_rng(1)
    means, errors = [], []
    for _ in range(200):
        e = rng.standard_normal(3000)
        x = np.empty(3000)
        x[0] = e[0]
        for t in range(1, 3000):
            x[t] = 0.5 * x[t - 1] + e[t]
        means.append(x.mean())
        errors.append(serial.long_run_stderr(x, 30))
    # The mean's spread over draws is about 2 / sqrt(3000) = 0.0365; the figure moves little.
    assert 0.85 < np.mean(errors) / np.std(means) < 1.15
    assert np.std(errors) / np.mean(errors) < 0.1


def test_a_closed_forms_blockwise_error_is_held_at_its_long_run_spread():
    # A VAR(1) with coupling 0.5, N = 1,000: the jackknife's 50 halves of the blocks read the standard
    # error below the local values' long-run spread on this draw (seed 3), which the estimate then takes.
    x, y = get_exact_task("te-var1-c0.5").sample(1000, seed=3)[:2]
    est = ibf.transfer_entropy(x, y, method="gaussian", n_resamples=50)
    terms = ibf.transfer_entropy(x, y, method="gaussian", local=True).numpy()
    block, _ = serial.series_blocks([torch.as_tensor(x), torch.as_tensor(y)], len(terms))
    assert est.stderr == pytest.approx(serial.long_run_stderr(terms, block), rel=1e-12)
    assert LONG_RUN in est.stderr_method


def test_the_transfer_entropy_resamples_from_the_columns_ranks_give_the_same_figures(monkeypatch):
    from iblearn.functional.knn import nulls

    g = torch.Generator().manual_seed(4)
    x = torch.randn(3000, generator=g, dtype=torch.float64)
    y = torch.zeros(3000, dtype=torch.float64)
    y[1:] = 0.6 * x[:-1] + 0.3 * x[:-1] ** 2 + 0.8 * torch.randn(2999, generator=g, dtype=torch.float64)
    asked = dict(n_resamples=6, seed=3)
    found = []
    ranked = nulls.ksg_cmi_ranked
    monkeypatch.setattr(nulls, "ksg_cmi_ranked", lambda *args: found.append(ranked(*args)) or found[-1])
    fast = ibf.transfer_entropy_estimate(x, y, **asked)
    assert len(found) == 7 and None not in found  # the whole and its six resamples
    monkeypatch.setattr(nulls, "column_ranks", lambda columns: None)
    plain = ibf.transfer_entropy_estimate(x, y, **asked)
    assert float(fast) == float(plain)
    assert (fast.stderr, fast.interval, fast.bias) == (plain.stderr, plain.interval, plain.bias)
