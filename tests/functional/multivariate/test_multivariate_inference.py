"""Standard errors and permutation p-values of the measures among many variables, and the conditional
entropy: values equal to the measures' own, p-values spread out under independence and minimal under
strong dependence, standard errors against the spread over independent samples, and bad input."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

import iblearn.functional as ibf
from iblearn.estimation.verdict import figures_verdict
from iblearn.functional import Estimate
from iblearn.functional.multivariate.core import MEASURE_TABLE, gaussian_delta_stderr
from iblearn.functional.multivariate.estimate import DELTA_FLOOR, MEASURES

torch.set_num_threads(1)

FUNCTIONS = {
    "total_correlation": ibf.total_correlation,
    "dual_total_correlation": ibf.dual_total_correlation,
    "o_information": ibf.o_information,
    "s_information": ibf.s_information,
    "interaction_information": ibf.o_information,  # of three variables, the same number
}


def copies(n: int, seed: int, noise: float = 0.5) -> torch.Tensor:
    """Three noisy copies of one source: redundant."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, 1, generator=g, dtype=torch.float64)
    return z + noise * torch.randn(n, 3, generator=g, dtype=torch.float64)


def independent(n: int, seed: int, d: int = 3) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("method", ("ksg", "gaussian", "copula"))
@pytest.mark.parametrize("measure", MEASURES)
def test_the_value_is_the_measures_own(measure: str, method: str) -> None:
    x = copies(400, 0)
    est = ibf.multivariate_estimate(measure, x, method=method)
    assert float(est) == float(FUNCTIONS[measure](x, method=method))
    assert est.stderr is None and est.p_value is None and est.null is None and est.n_samples == 400


@pytest.mark.parametrize("measure", ("total_correlation", "o_information"))
def test_p_values_spread_out_under_independence(measure: str) -> None:
    p = [
        ibf.multivariate_estimate(
            measure, independent(300, s), method="gaussian", n_permutations=39, seed=s
        ).p_value
        for s in range(30)
    ]
    assert all(v is not None for v in p)
    mean = sum(p) / len(p)  # type: ignore[arg-type]
    assert 0.3 < mean < 0.7  # uniform: 0.5, sd of the mean of 30 about 0.05
    assert sum(v < 0.05 for v in p) <= 5  # type: ignore[operator]


@pytest.mark.parametrize("method", ("ksg", "gaussian", "copula"))
@pytest.mark.parametrize("measure", ("total_correlation", "o_information", "s_information"))
def test_strong_redundancy_gets_the_smallest_p_value(measure: str, method: str) -> None:
    est = ibf.multivariate_estimate(measure, copies(500, 1), method=method, n_permutations=19)
    assert est.p_value == pytest.approx(1 / 20) and est.n_permutations == 19
    assert est.null is not None and "independent" in est.null


def test_o_information_is_tested_two_sided() -> None:
    g = torch.Generator().manual_seed(2)
    x12 = torch.randn(500, 2, generator=g, dtype=torch.float64)
    y = x12.sum(1, keepdim=True) + 0.3 * torch.randn(500, 1, generator=g, dtype=torch.float64)
    x = torch.cat([x12, y], 1)
    est = ibf.multivariate_estimate("o_information", x, n_permutations=19)
    assert float(est) < -0.5 and est.p_value == pytest.approx(1 / 20)  # synergy: far below the null
    ii = ibf.multivariate_estimate("interaction_information", x, method="gaussian", n_permutations=19)
    assert ii.p_value == pytest.approx(1 / 20)


@pytest.mark.parametrize(("method", "how"), (("ksg", "half-sampling jackknife"), ("copula", "bootstrap")))
def test_stderr_matches_the_spread_over_independent_samples(method: str, how: str) -> None:
    spread = torch.tensor([float(ibf.o_information(copies(1000, 100 + s), method=method)) for s in range(20)])
    est = ibf.multivariate_estimate("o_information", copies(1000, 7), method=method, n_resamples=40)
    assert est.stderr_method is not None and est.stderr_method.startswith(how)
    assert (DELTA_FLOOR in est.stderr_method) == (method != "ksg")
    assert est.stderr is not None
    assert 0.5 < est.stderr / float(spread.std()) < 2  # sd at 1,000 rows: 0.025 (KSG), 0.018 (copula)


@pytest.mark.parametrize(
    ("measure", "times"), (("total_correlation", 1), ("dual_total_correlation", 1), ("s_information", 2))
)
def test_the_delta_methods_error_of_two_single_columns_is_the_gaussian_mis(measure: str, times: int) -> None:
    # Of two variables TC = DTC = I(X; Y) and S = 2 I; the Gaussian MI's first-order variance is r^2 / N.
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2000, 1, generator=g, dtype=torch.float64)
    y = 0.6 * x + 0.8 * torch.randn(2000, 1, generator=g, dtype=torch.float64)
    r = float(torch.corrcoef(torch.cat([x, y], 1).T)[0, 1])
    found = gaussian_delta_stderr([x, y], ["x", "y"], MEASURE_TABLE[measure])
    assert found == pytest.approx(times * abs(r) / math.sqrt(2000), rel=1e-6)


@pytest.mark.parametrize("measure", ("total_correlation", "dual_total_correlation", "o_information"))
def test_the_delta_methods_error_is_the_spread_of_the_gaussian_estimate(measure: str) -> None:
    values, errors = [], []
    for s in range(300):
        x = copies(500, 200 + s, noise=1.0)
        values.append(float(FUNCTIONS[measure](x, method="gaussian")))
        errors.append(gaussian_delta_stderr(list(x.T[:, :, None]), ["a", "b", "c"], MEASURE_TABLE[measure]))
    sd, typical = float(torch.tensor(values).std()), float(torch.tensor(errors).square().mean().sqrt())
    assert typical == pytest.approx(sd, rel=0.15)  # the spread's own sd over 300 draws is about 4%
    assert float(torch.tensor(errors).std()) < 0.1 * typical  # it barely moves from draw to draw


def test_a_closed_forms_bootstrap_error_is_held_at_the_delta_methods() -> None:
    x = copies(600, 8, noise=1.0)
    spec = MEASURE_TABLE["total_correlation"]
    floor = gaussian_delta_stderr(list(x.T[:, :, None]), ["a", "b", "c"], spec)
    found = [
        ibf.multivariate_estimate("total_correlation", x, method="gaussian", n_resamples=8, seed=seed).stderr
        for seed in range(6)
    ]
    assert all(e is not None and e >= floor for e in found)
    assert floor in found and any(e != floor for e in found)  # 8 resamples read low on some seeds


def test_resampling_is_seeded() -> None:
    x = copies(300, 3)
    run = [
        ibf.multivariate_estimate("total_correlation", x, n_resamples=5, n_permutations=5, seed=s)
        for s in (4, 4, 5)
    ]
    assert run[0].stderr == run[1].stderr and run[0].stderr != run[2].stderr


@pytest.mark.parametrize("method", ("ksg", "gaussian"))
def test_pid_parts_with_uncertainty(method: str) -> None:
    g = torch.Generator().manual_seed(4)
    x1, x2 = (torch.randn(600, 1, generator=g, dtype=torch.float64) for _ in range(2))
    target = x1 + x2 + 0.3 * torch.randn(600, 1, generator=g, dtype=torch.float64)
    parts = ibf.pid_estimate(x1, x2, target, method=method, n_resamples=10, n_permutations=19)
    plain = ibf.pid(x1, x2, target, method=method)
    assert list(parts) == ["redundancy", "unique_1", "unique_2", "synergy", "total"]
    for name, value in zip(plain._fields, plain, strict=True):
        assert float(parts[name]) == float(value)
        assert parts[name].stderr is not None
    assert float(parts["total"]) == pytest.approx(float(plain.total), abs=1e-12)
    assert parts["synergy"].p_value == pytest.approx(1 / 20)
    assert parts["total"].p_value == pytest.approx(1 / 20)
    # a target independent of the sources: nothing stands out
    unrelated = torch.randn(600, 1, generator=g, dtype=torch.float64)
    null = ibf.pid_estimate(x1, x2, unrelated, method=method, n_permutations=19, seed=1)
    assert null["total"].p_value is not None and null["total"].p_value > 0.1


def test_bad_settings_are_refused_by_name() -> None:
    x = independent(100, 0)
    with pytest.raises(ValueError, match="measure"):
        ibf.multivariate_estimate("entropy", x)  # type: ignore[arg-type]
    for bad in (-1, True, 2.5):
        with pytest.raises(ValueError, match="n_resamples"):
            ibf.multivariate_estimate("o_information", x, n_resamples=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="n_permutations"):
            ibf.multivariate_estimate("o_information", x, n_permutations=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"n_resamples: .*at least 2"):
        ibf.multivariate_estimate("o_information", x, n_resamples=1)
    with pytest.raises(ValueError, match="n_permutations: at most"):
        ibf.multivariate_estimate("o_information", x, n_permutations=2**40)
    with pytest.raises(ValueError, match=r"^x: .*3 variables"):
        ibf.multivariate_estimate("interaction_information", independent(100, 0, 4))
    with pytest.raises(ValueError, match=r"^blocks: .*3 variables"):
        ibf.multivariate_estimate("interaction_information", independent(100, 0, 4), [[0, 1], [2, 3]])
    # The O-information of two variables is 0 by definition: no spread to resample, no p-value to find.
    assert float(ibf.o_information(x[:, :2])) == 0.0
    for method in ("gaussian", "ksg"):
        with pytest.raises(ValueError, match=r"^blocks: the O-information of 2 variables is 0 by definition"):
            ibf.multivariate_estimate("o_information", x, [[0, 1], [2]], method=method, n_resamples=4)
    with pytest.raises(ValueError, match="seed"):
        ibf.pid_estimate(x[:, 0], x[:, 1], x[:, 2], seed="a")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="target: contains NaN"):
        ibf.pid_estimate(x[:, 0], x[:, 1], torch.full((100,), math.nan), n_permutations=3)
    tiny = independent(6, 0)
    with pytest.raises(ValueError, match="n_resamples: a half-sample of 3 of the 6 rows"):
        ibf.multivariate_estimate("total_correlation", tiny, n_resamples=3)


def test_conditional_entropy_against_the_closed_form() -> None:
    g = torch.Generator().manual_seed(5)
    z = torch.randn(3000, 2, generator=g, dtype=torch.float64)
    x = z @ torch.tensor([[1.0], [0.5]], dtype=torch.float64) + 0.5 * torch.randn(
        3000, 1, generator=g, dtype=torch.float64
    )
    truth = 0.5 * math.log(2 * math.pi * math.e * 0.25)  # h(X | Z) is the noise's entropy
    gaussian = float(ibf.conditional_entropy(x, z, method="gaussian"))
    assert gaussian == pytest.approx(truth, abs=0.03)
    assert float(ibf.conditional_entropy(x, z)) == pytest.approx(truth, abs=0.15)
    # the same difference of Kozachenko-Leonenko entropies
    joint = ibf.kl_entropy(torch.cat([x, z], 1)) - ibf.kl_entropy(z)
    assert float(ibf.conditional_entropy(x, z)) == float(joint)


def test_conditional_entropy_refuses_bad_input_by_name() -> None:
    x = independent(200, 1, 2)
    with pytest.raises(ValueError, match="method"):
        ibf.conditional_entropy(x[:, 0], x[:, 1], method="ksg")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sample counts differ"):
        ibf.conditional_entropy(x[:, 0], x[:150, 1])
    for method in ("kl", "gaussian"):
        with pytest.raises(ValueError, match=r"given.*constant"):
            ibf.conditional_entropy(x[:, 0], torch.ones(200, dtype=torch.float64), method=method)
    with pytest.raises(ValueError, match="given: has repeated samples"):
        ibf.conditional_entropy(x[:, 0], x[:, 1].round())


def test_jobs_give_the_same_numbers() -> None:
    from joblib import parallel_backend  # type: ignore[import-untyped]

    x = copies(300, 6)
    one = ibf.multivariate_estimate("o_information", x, n_resamples=20, n_permutations=20)
    with parallel_backend("threading"):
        two = ibf.multivariate_estimate("o_information", x, n_resamples=20, n_permutations=20, n_jobs=2)
    assert (one.stderr, one.p_value) == (two.stderr, two.p_value)
    parts = ibf.pid_estimate(x[:, 0], x[:, 1], x[:, 2], n_permutations=17, n_jobs=None)
    with parallel_backend("threading"):
        jobs = ibf.pid_estimate(x[:, 0], x[:, 1], x[:, 2], n_permutations=17, n_jobs=2)
    assert [p.p_value for p in parts.values()] == [p.p_value for p in jobs.values()]
    with pytest.raises(ValueError, match="n_jobs"):
        ibf.multivariate_estimate("o_information", x, n_jobs=0)


def test_a_never_negative_measure_read_below_zero_beyond_its_error_is_flagged():
    def estimate(value: float, measure: str) -> Estimate:
        est = Estimate(torch.tensor(value, dtype=torch.float64), 100, "ksg", measure=measure, stderr=0.02)
        return figures_verdict(replace(est, report=replace(est.report, features={"repeated": 0.0})))

    low = estimate(-0.3, "total_correlation")
    assert low.reliable is False and "never negative" in low.caveat and "unreliable" in str(low)
    assert estimate(-0.03, "total_correlation").reliable is not False
    o_information = estimate(-0.3, "o_information")
    assert o_information.reliable is None  # it may be negative: not flagged, and not checked


def test_repeated_rows_make_a_ksg_estimate_unreliable():
    # Every row five times, independent columns: TC read 10.8 nats, PID redundancy 5.4, both reliable.
    x = torch.randn(300, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = x.repeat_interleave(5, dim=0)
    bare = ibf.multivariate_estimate("total_correlation", x, n_resamples=4)
    # The math layer gives the figure; the verdict is the front door's.
    assert bare.reliable is None and bare.report.features["repeated"] == 1.0
    tc = figures_verdict(bare)
    assert tc.reliable is False and "repeat another row" in tc.caveat
    parts = ibf.pid_estimate(x[:, :1], x[:, 1:2], x[:, 2:3])
    assert all(figures_verdict(p).reliable is False for p in parts.values())
    assert figures_verdict(ibf.multivariate_estimate("total_correlation", x[::5])).reliable is not False


@pytest.mark.parametrize("method", ["gaussian", "copula"])
def test_a_heavy_tailed_joint_is_never_a_reliable_gaussian_estimate(method):
    # A multivariate t with 1 degree of freedom: copula TC 0.0017 against a truth of 0.53, reliable.
    g = torch.Generator().manual_seed(0)
    scale = torch.randn(2000, 1, generator=g, dtype=torch.float64).abs()
    x = torch.randn(2000, 4, generator=g, dtype=torch.float64) / scale
    est = figures_verdict(ibf.multivariate_estimate("total_correlation", x, method=method))
    assert est.reliable is False and "Gaussian copula" in est.caveat
    fine = figures_verdict(ibf.multivariate_estimate("total_correlation", copies(2000, 0), method=method))
    assert fine.reliable is None


@pytest.mark.parametrize("scale", [1e-200, 1e-160, 1e160, 1e200])
@pytest.mark.parametrize("method", ["gaussian", "copula"])
def test_gaussian_measures_do_not_depend_on_the_columns_scales(scale, method):
    x = copies(500, 0)
    for measure in ("total_correlation", "o_information", "s_information"):
        assert float(FUNCTIONS[measure](x * scale, method=method)) == pytest.approx(
            float(FUNCTIONS[measure](x, method=method)), rel=1e-9, abs=1e-12
        )
    parts = ibf.pid(x[:, :1] * scale, x[:, 1:2], x[:, 2:3], method=method)
    assert all(math.isfinite(float(p)) for p in parts)
    h = ibf.conditional_entropy(x[:, :1] * scale, x[:, 1:2], method="gaussian")
    unscaled = float(ibf.conditional_entropy(x[:, :1], x[:, 1:2], method="gaussian"))
    assert float(h) == pytest.approx(unscaled + math.log(scale))


@pytest.mark.parametrize("method", ["gaussian", "copula"])
def test_linearly_dependent_columns_are_refused_by_name(method):
    x = copies(500, 0)
    with pytest.raises(ValueError, match=r"x \(variable 0\), x \(variable 3\): linearly dependent"):
        ibf.o_information(torch.cat([x, x[:, :1]], dim=1), method=method)
    with pytest.raises(ValueError, match="x1, target: linearly dependent"):
        ibf.pid(x[:, :1], x[:, 1:2], x[:, :1], method=method)
    with pytest.raises(ValueError, match=r"x\[0\], x\[3\]: linearly dependent"):
        ibf.o_information_search(torch.cat([x, 2 * x[:, :1]], dim=1), method=method)
    if method == "gaussian":  # a sum is linear in the raw columns, not in their normal scores
        with pytest.raises(ValueError, match="linearly dependent"):
            ibf.s_information(torch.cat([x, x[:, :1] + x[:, 1:2]], dim=1), method=method)


def test_a_resampled_error_that_cannot_vary_is_refused():
    # Halves of 4 rows with k = 3: every half reads the same, a standard error of exactly 0.
    with pytest.raises(ValueError, match="n_resamples: every resample of the 8 rows"):
        ibf.multivariate_estimate("total_correlation", copies(8, 0), n_resamples=5)


def test_pid_takes_class_labels_as_the_target():
    # "expected continuous samples" for the usual case in machine learning, a class as the target.
    g = torch.Generator().manual_seed(0)
    x1, x2 = torch.randn(3000, 1, generator=g), torch.randn(3000, 1, generator=g)
    labels = ((x1 + x2) > 0).long().flatten()
    parts = ibf.pid(x1, x2, labels)
    assert float(parts.total) == pytest.approx(math.log(2), abs=0.05)  # T is a function of (X1, X2)
    assert float(parts.synergy) > 0.3 and float(parts.redundancy) > 0.1
    est = ibf.pid_estimate(x1, x2, labels, n_resamples=4, n_permutations=9)
    assert float(est["synergy"]) == pytest.approx(float(parts.synergy)) and est["synergy"].stderr > 0
    with pytest.raises(ValueError, match="target: class labels take method='ksg'"):
        ibf.pid(x1, x2, labels, method="gaussian")


def test_a_read_only_array_is_read_without_a_warning():
    import warnings

    x = copies(300, 0).numpy()
    x.setflags(write=False)  # as a pandas frame's .to_numpy() gives it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ibf.total_correlation(x, method="gaussian")


def test_two_single_columns_whose_copula_is_not_gaussian_are_flagged_for_the_closed_forms():
    # Additive uniform noise, one column a side: the copula reads 0.19 nats of 0.33 and its magnitudes
    # look Gaussian; KSG on the same scores reads 0.29, and the gap flags it. Gaussians keep theirs.
    from iblearn.data import bivariate_normal, get_exact_task

    x, y = get_exact_task("additive-uniform-0.75").sample(2000, seed=0)
    joint = torch.cat([torch.as_tensor(x), torch.as_tensor(y)], dim=1)
    for method in ("copula", "gaussian"):
        est = figures_verdict(ibf.multivariate_estimate("total_correlation", joint, method=method))
        assert est.reliable is False and "not Gaussian" in est.caveat, est
    ksg = ibf.multivariate_estimate("total_correlation", joint, method="ksg")
    assert figures_verdict(ksg).reliable is not False
    for seed in range(3):
        x, y = bivariate_normal(0.6).sample(2000, seed=seed)
        joint = torch.cat([x, y], dim=1)
        copula = ibf.multivariate_estimate("total_correlation", joint, method="copula")
        assert figures_verdict(copula).reliable is not False


def test_where_the_one_column_check_cannot_tell_the_interval_reaches_ksgs_reading():
    # At N = 500 the copula's 0.18 nats of 0.33 and KSG's 0.28 are within the gap's noise: reliable, so
    # the interval must hold the truth, which the copula's two standard errors alone miss.
    from iblearn.data import get_exact_task

    task = get_exact_task("additive-uniform-0.75")
    reliable = 0
    for seed in range(4):
        x, y = task.sample(500, seed=seed)
        joint = torch.cat([torch.as_tensor(x), torch.as_tensor(y)], dim=1)
        est = ibf.multivariate_estimate(
            "total_correlation", joint, method="copula", n_resamples=24, seed=seed
        )
        if figures_verdict(est).reliable is not False:
            reliable += 1
            assert est.interval[0] <= task.truth <= est.interval[1], (seed, est)
            assert float(est) + 2 * est.stderr < task.truth  # what the widening is for
    assert reliable >= 2


def test_the_magnitude_test_on_whitened_sides_is_the_test_on_the_rows():
    from iblearn.data import dense_gaussian, student_t
    from iblearn.functional.gaussian import canonical_bases
    from iblearn.functional.multivariate.inputs import (
        MAGNITUDES_Z,
        magnitude_dependence,
        whitened_magnitude_dependence,
    )

    for task, gaussian in ((dense_gaussian(5), True), (student_t(3, 3, dof=3.0, rho=0.5), False)):
        x, y = task.sample(3000, seed=0)
        wx, wy = canonical_bases(x, y)
        bases = torch.cat([wx, wy], dim=1)
        z = whitened_magnitude_dependence(wx, wy)
        assert z == pytest.approx(magnitude_dependence(bases, wx.shape[1]), abs=1e-9)
        assert (abs(z) <= MAGNITUDES_Z) is gaussian


def test_ksg_from_the_columns_ranks_is_ksg_to_the_last_bit_or_declines():
    from iblearn.functional.multivariate.core import MeasureOptions, ksg_tc_dtc_ranked, tc_dtc
    from iblearn.functional.multivariate.estimate import _ranks

    data = copies(3000, 4)
    data[:, 2] += data[:, 0] * data[:, 1]
    variables = [data[:, i : i + 1] for i in range(3)]
    opts = MeasureOptions(seed=5)
    ranks = _ranks("o_information", variables, opts)
    assert ranks is not None
    g = torch.Generator().manual_seed(0)
    half = torch.randperm(3000, generator=g)[:1500].numpy()
    # The whole, a half, and a half with the other variables' rows shuffled (a permutation's draw).
    shuffled = [half, *(half[torch.randperm(1500, generator=g).numpy()] for _ in range(2))]
    names = ["a", "b", "c"]
    for rows in ([None] * 3, [half] * 3, shuffled):
        taken = [v if r is None else v[torch.from_numpy(r)] for v, r in zip(variables, rows, strict=True)]
        keys = [a if r is None else a[r] for a, r in zip(ranks, rows, strict=True)]
        for dual in (False, True):
            found = ksg_tc_dtc_ranked(taken, keys, 3000, opts, dual)
            assert found is not None
            expected = tc_dtc(taken, names, opts, dual=dual)
            assert torch.equal(found[0], expected[0])
            assert torch.equal(found[1], expected[1]) or (math.isnan(found[1]) and math.isnan(expected[1]))
    keys = list(ranks)
    assert ksg_tc_dtc_ranked(variables, [keys[0], keys[1][::-1].copy(), keys[2]], 3000, opts, True) is None
    assert ksg_tc_dtc_ranked(variables, keys, 3000, replace(opts, standardize=False), True) is None
    assert ksg_tc_dtc_ranked(variables, keys, 3000, replace(opts, k=3000), True) is None
    # Only single columns, by KSG with the default settings, have ranks to take orders from.
    assert _ranks("o_information", [data[:, :2], data[:, 2:]], opts) is None
    assert _ranks("o_information", variables, replace(opts, method="gaussian")) is None
    assert _ranks("o_information", variables, replace(opts, backend="brute")) is None


def test_resamples_and_permutations_give_the_same_figures_with_and_without_the_ranks(monkeypatch):
    from iblearn.functional.multivariate import estimate

    data = copies(1200, 6)
    asked = dict(method="ksg", n_resamples=4, n_permutations=6, seed=2)
    fast = ibf.multivariate_estimate("s_information", data, **asked)
    monkeypatch.setattr(estimate, "_ranks", lambda *args: None)
    plain = ibf.multivariate_estimate("s_information", data, **asked)
    assert float(fast) == float(plain)
    assert (fast.stderr, fast.interval, fast.bias, fast.p_value) == (
        plain.stderr,
        plain.interval,
        plain.bias,
        plain.p_value,
    )
