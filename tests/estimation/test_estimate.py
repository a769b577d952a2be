"""The front door: every measure through ``estimate(measure, *variables)``, auto by default, with its
report; the table, the refusals that name what they refuse, and the lean result."""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pytest
import torch

import iblearn
from iblearn import estimate, estimate_mi
from iblearn.estimation import MEASURES, Measure
from iblearn.functional import Estimate
from tests.conftest import ar1

torch.set_num_threads(1)


def _gaussians(n: int = 400, d: int = 4, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, generator=g, dtype=torch.float64) + torch.randn(
        n, d, generator=g, dtype=torch.float64
    )


def _series(n: int = 600, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(n, generator=g, dtype=torch.float64)
    noise = torch.randn(n, generator=g, dtype=torch.float64)
    t = torch.zeros(n, dtype=torch.float64)
    for i in range(1, n):
        t[i] = 0.5 * t[i - 1] + 0.6 * s[i - 1] + 0.5 * noise[i]
    return s[:, None], t[:, None]


def quiet(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimate(*args, **kw)


@pytest.mark.parametrize(
    "measure",
    [
        "total_correlation",
        "dual_total_correlation",
        "o_information",
        "s_information",
        "interaction_information",
    ],
)
def test_every_measure_among_many_variables_is_auto_by_default_with_a_report(measure):
    data = _gaussians(d=3 if measure == "interaction_information" else 4)
    est = quiet(measure, data)
    assert isinstance(est, Estimate) and est.measure == measure
    assert est.report.chosen == "gaussian" and est.report.why and "independence" in est.report.checks
    assert est.interval[0] <= float(est) <= est.interval[1]


def test_the_rule_takes_the_copula_for_heavy_tails_and_ksg_where_no_copula_is_gaussian():
    g = torch.Generator().manual_seed(1)
    data = _gaussians(800)
    assert quiet("o_information", data.pow(3)).report.chosen == "copula"  # monotone maps of a Gaussian
    t = torch.distributions.StudentT(torch.tensor(1.5, dtype=torch.float64)).sample((800, 1))
    shared = t * torch.randn(800, 3, generator=g, dtype=torch.float64).abs()  # one scale: a t copula
    assert quiet("total_correlation", shared).report.chosen == "ksg"


def test_cmi_is_estimate_mi_with_z_and_its_checks_run():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(800, 1, generator=g, dtype=torch.float64)
    x = z + torch.randn(800, 1, generator=g, dtype=torch.float64)
    y = z + 0.5 * x + torch.randn(800, 1, generator=g, dtype=torch.float64)
    est = estimate_mi(x, y, z=z)
    assert est.measure == "cmi" and float(est) == float(estimate("cmi", x, y, z))
    assert est.report.chosen == "gaussian" and est.reliable
    assert {"independence", "invariance", "additivity", "half data"} <= set(est.report.checks)
    # The truth: I(X; Y | Z) = 1/2 log(1 + 0.25 * Var(X | Z)) with Var(X | Z) = 1.
    assert est.interval[0] <= 0.5 * torch.log(torch.tensor(1.25)).item() <= est.interval[1]
    named = estimate_mi(x, y, "ksg", z=z)
    assert named.measure == "cmi" and named.estimator == "ksg"


def test_the_automatic_cmi_draws_its_jitter_once_for_repeated_calls():
    # KSG chosen: every variable jittered on all the rows, on a half and on two halves side by side.
    from iblearn.functional.knn import ksg

    g = torch.Generator().manual_seed(0)
    x, z = torch.randn(2, 400, 1, generator=g, dtype=torch.float64)
    y = x**2 + z + 0.5 * torch.randn(400, 1, generator=g, dtype=torch.float64)
    first = quiet("cmi", x, y, z)
    assert first.report.chosen == "ksg"
    drawn = ksg._cpu_noise.cache_info().misses
    assert float(quiet("cmi", x, y, z)) == float(first)
    assert ksg._cpu_noise.cache_info().misses == drawn


@pytest.mark.parametrize("rounded", [False, True])
@pytest.mark.parametrize("measure", ["mi", "cmi"])
def test_the_automatic_ksg_is_the_same_without_its_shortcuts_or_its_noise_cache(
    monkeypatch, measure, rounded
):
    # KSG chosen, on distinct values (their ranks known) and on values rounded to 0.1 (ties for the
    # jitter to break). With the ranked shortcuts declining every rerun (as without the compiled
    # kernel, or on a GPU's tensors) and the jitter's noise drawn afresh each time, the estimate, its
    # interval and every check are the same bits.
    from iblearn.estimation import auto, pairs
    from iblearn.functional.knn import ksg

    g = torch.Generator().manual_seed(0)
    x, z = torch.randn(2, 400, 1, generator=g, dtype=torch.float64)
    y = x**2 + z + 0.5 * torch.randn(400, 1, generator=g, dtype=torch.float64)
    variables = [
        torch.round(v * 10) / 10 if rounded else v for v in ((x, y) if measure == "mi" else (x, y, z))
    ]
    fast = quiet(measure, *variables)
    assert fast.report.chosen == "ksg"
    monkeypatch.setattr(auto, "ksg_mi_ranked", lambda *a, **kw: None)
    monkeypatch.setattr(pairs, "ksg_cmi_ranked", lambda *a, **kw: None)
    monkeypatch.setattr(ksg, "NOISE_CACHE_MAX", -1)
    plain = quiet(measure, *variables)
    assert float(plain) == float(fast) and plain.interval == fast.interval
    assert repr(plain.report.checks) == repr(fast.report.checks)


def test_transfer_entropy_auto_checks_the_shifted_source_and_takes_a_condition():
    source, target = _series()
    est = quiet("te", source, target, lag=1, history=1)
    assert est.measure == "transfer_entropy" and est.report.chosen == "gaussian"  # a Gaussian VAR
    shifted = est.report.checks["independence"]
    # The shifted source is read wherever it can decide the verdict.
    assert (shifted.passed if shifted.ran else est.reliable is False) and est.interval[0] > 0.2
    g = torch.Generator().manual_seed(3)
    other = torch.randn(len(source), 1, generator=g, dtype=torch.float64)
    given = quiet("te", source, target, condition=other)
    assert abs(float(given) - float(est)) < 0.1 and given.interval is not None


def test_pid_gives_each_part_an_estimate_with_the_report_and_entropy_takes_labels():
    data = _gaussians(500, 3)
    parts = quiet("pid", data[:, :1], data[:, 1:2], data[:, 2:])
    assert set(parts) == {"redundancy", "unique_1", "unique_2", "synergy", "total"}
    assert all(p.report.chosen == "gaussian" and p.interval is not None for p in parts.values())
    labels = torch.arange(600) % 4
    h = estimate("entropy", labels)
    assert h.report.chosen and abs(float(h) - torch.log(torch.tensor(4.0)).item()) < 0.02


def test_explicit_methods_keep_working():
    data = _gaussians(300)
    assert estimate("o_information", data, method="ksg").estimator == "ksg"
    assert estimate("total_correlation", data, method="gaussian", n_resamples=10).stderr is not None


@pytest.mark.parametrize(
    ("measure", "spelled", "method"),
    [
        ("mi", "AUTO", "auto"),
        ("te", "KSG", "ksg"),
        ("ais", "Gaussian", "gaussian"),
        ("total_correlation", "Copula", "copula"),
        ("pid", "GAUSSIAN", "gaussian"),
        ("entropy", "Miller-Madow", "miller_madow"),
    ],
)
def test_a_methods_name_in_capitals_or_with_a_hyphen_is_the_same_method(measure, spelled, method):
    r = np.random.default_rng(0)
    data = {"entropy": (r.integers(0, 4, 300),), "total_correlation": (r.normal(size=(300, 3)),)}
    x = r.normal(size=300)
    data |= {"mi": (x, x + r.normal(size=300)), "te": (x, np.roll(x, 1) + r.normal(size=300))}
    data |= {"ais": (np.cumsum(r.normal(size=300)) * 0.1 + r.normal(size=300),)}
    data |= {"pid": (x, r.normal(size=300), x + r.normal(size=300))}
    variables = data[measure]
    named = estimate(measure, *variables, method=spelled)
    plain = estimate(measure, *variables, method=method)
    if isinstance(plain, dict):
        named, plain = named["total"], plain["total"]
    assert float(named) == float(plain) and named.method == plain.method


def test_an_unknown_measure_option_or_variable_count_is_named_with_the_choices():
    x = _gaussians(100, 1)
    with pytest.raises(ValueError, match=r"^measure: unknown 'mutual'; one of mi, cmi, te"):
        estimate("mutual", x, x)
    # A name written out, or one letter off, is answered with the door's name for it.
    with pytest.raises(ValueError, match=r"^measure: unknown 'Mutual-Information'; did you mean 'mi'\? "):
        estimate("Mutual-Information", x, x)
    with pytest.raises(ValueError, match=r"^measure: unknown 'entropi'; did you mean 'entropy'\? one of"):
        estimate("entropi", x)
    # A measure's name in capitals or with a hyphen is the same measure, as a method's name is.
    y = x + _gaussians(100, 1, seed=1)
    assert float(estimate("MI", x, y, method="gaussian")) == float(estimate("mi", x, y, method="gaussian"))
    assert (
        estimate("O-Information", torch.cat([x, y, _gaussians(100, 1, seed=2)], 1), method="gaussian").measure
        == "o_information"
    )
    with pytest.raises(
        ValueError, match=r"^lag: not an option of estimate\('mi', method='auto'\); it takes k"
    ):
        estimate("mi", x, x, lag=2)
    with pytest.raises(
        ValueError, match=r"^blocks: not an option of estimate\('te'.*it takes condition, history"
    ):
        estimate("te", x, x, blocks=[[0]])
    with pytest.raises(ValueError, match=r"^variables: 'cmi' takes 3 \(x, y, z\), got 2"):
        estimate("cmi", x, x)


def test_a_named_method_refuses_an_option_it_does_not_take_and_lists_those_it_does():
    data = _gaussians(100)
    takes = (
        "backend, bias_correction, blocks, k, n_jobs, n_permutations, n_resamples, seed, standardize, ties"
    )
    with pytest.raises(ValueError) as err:
        estimate("o_information", data, method="ksg", lag=2)
    assert (
        str(err.value) == f"lag: not an option of estimate('o_information', method='ksg'); it takes {takes}"
    )
    with pytest.raises(
        ValueError,
        match=r"^blocks: not an option of estimate\('pid', method='ksg'\); it takes backend, bias_c",
    ):
        estimate("pid", data[:, :1], data[:, 1:2], data[:, 2:], method="ksg", blocks=[[0]])
    with pytest.raises(
        ValueError,
        match=r"^lag: not an option of estimate\('ais', method='ksg'\); it takes history, k, n_perm",
    ):
        estimate("ais", data[:, 0], method="ksg", lag=2)


def test_a_measure_is_one_table_entry(monkeypatch):
    def auto(x, *, seed=0):
        return Estimate(torch.tensor(float(seed)), len(x), "mine", measure="toy")

    monkeypatch.setitem(MEASURES, "toy", Measure(("x",), auto, auto, ("seed",), ("seed",)))
    assert float(estimate("toy", torch.zeros(3), seed=2)) == 2.0
    with pytest.raises(ValueError, match=r"^k: not an option"):
        estimate("toy", torch.zeros(3), k=2)


def test_iblearn_estimate_is_the_front_door_and_the_result_is_lean():
    assert iblearn.estimate is estimate and callable(iblearn.estimate)
    assert len(dataclasses.fields(Estimate)) <= 14
    x = _gaussians(300, 1)
    est = quiet("mi", x, x[:, :1] + _gaussians(300, 1, seed=1))
    record = est.to_dict()
    assert record["value"] == float(est) and record["report"]["chosen"] == est.report.chosen
    assert est.reliable and record["report"]["checks"]["independence"] == {
        **dataclasses.asdict(est.report.checks["independence"]),
        "passed": True,
        "ran": True,
    }
    json.dumps(record)


def test_the_checks_widen_the_interval_only_beyond_their_own_sampling_error():
    from iblearn.estimation.autocheck import REMAINS, Check, interval

    def checks(half: float, copies: float) -> dict:
        return {
            "half data": Check("half data", True, {"half": half, "estimate": 1.0}, ""),
            "additivity": Check("additivity", True, {"two copies": copies, "sum of the halves": 2.0}, ""),
        }

    # A trend and a copies' gap within a standard error (0.05) are noise: two standard errors alone.
    assert interval(1.0, 0.05, checks(0.97, 2.06), 10.0) == pytest.approx((0.9, 1.1))
    # Beyond it, the excess widens the interval (and a rising estimate's trend, REMAINS times more of
    # which may remain at N, widens it upward again).
    low, high = interval(1.0, 0.05, checks(0.85, 2.0), 10.0)
    assert low == pytest.approx(1.0 - 0.1 - 0.1) and high == pytest.approx(1.0 + 0.2 + REMAINS * 0.1)


def test_a_transfer_through_the_condition_reads_about_zero_given_its_past():
    from iblearn.data import get_exact_task

    task = get_exact_task("te-chain-given-z-0")  # x -> z -> y: no transfer x -> y given z's past
    source, target, condition = task.sample(2000, seed=0)
    est = quiet("te", source, target, condition=condition, lag=2, history=1)
    assert est.interval[0] <= task.truth <= est.interval[1] and float(est) < 0.03


def test_active_information_storage_is_a_measure_of_the_front_door_checked_as_a_series():
    import numpy as np

    rng = np.random.default_rng(0)
    x = ar1(0.8, 1000, rng)
    est = estimate("ais", x)
    assert est.measure == "active_information_storage" and est.report.chosen == "gaussian" and est.reliable
    assert est.interval[0] < -0.5 * np.log(1 - 0.64) < est.interval[1]  # truth of an AR(1)
    assert {"independence", "ceiling"} <= set(est.report.checks)
    assert est.describe().startswith("A(X) = ")
    noise = estimate("ais", rng.standard_normal(1000), history=2)
    assert noise.interval[0] == 0.0 and float(noise) < 0.05
    assert float(estimate("ais", x, method="gaussian")) == pytest.approx(0.51, abs=0.05)


def test_transfer_entropy_names_the_options_it_does_not_take():
    x = _gaussians(100, 1)
    with pytest.raises(
        ValueError,
        match=r"^n_resamples: not an option of estimate\('te', method='auto'\); "
        r"it takes condition, history, k, lag, n_permutations, null, seed$",
    ):
        estimate("te", x, x, n_resamples=10)  # auto draws its own
    with pytest.raises(ValueError, match=r"^ties: not an option of a conditional transfer entropy$"):
        estimate("te", x, x, method="ksg", condition=x, ties="raise")
    with pytest.raises(ValueError, match=r"^ties: not an option of a transfer entropy of trials$"):
        estimate("te", [x[:50], x[50:]], [x[:50], x[50:]], method="ksg", ties="raise")


def test_a_series_probe_runs_only_where_it_can_decide_the_verdict():
    from iblearn.estimation.verdict import series_verdict

    def never() -> float:
        raise AssertionError("the probe ran where the verdict was settled")

    text = "the source shifted reads about 0"
    sound = Estimate(torch.tensor(0.3, dtype=torch.float64), 1000, "ksg", stderr=0.02, bias=0.01)
    est = series_verdict(sound, 1000, ("independence", "shifted", lambda: 0.5, text), "ceiling", "why")
    assert est.report.checks["independence"].passed is False and est.reliable is False  # it ran, and decided
    biased = Estimate(torch.tensor(0.3, dtype=torch.float64), 1000, "ksg", stderr=0.02, bias=0.3)
    est = series_verdict(biased, 1000, ("independence", "shifted", never, text), "ceiling", "why")
    check = est.report.checks["independence"]
    assert est.reliable is False and not check.ran and "half data failed" in str(check)
    assert str(check).startswith("independence: not run — ")


def test_a_p_value_asked_of_auto_points_to_a_named_method_that_gives_one():
    x = _gaussians(200, 1)
    y = x + _gaussians(200, 1, seed=1)
    hint = "A permutation p-value comes from a named method: method='ksg', n_permutations=99"
    for measure, variables in (
        ("mi", (x, y)),
        ("cmi", (x, y, y)),
        ("o_information", (torch.cat([x, y, y], 1),)),
    ):
        with pytest.raises(ValueError) as err:
            estimate(measure, *variables, n_permutations=19)
        assert str(err.value).startswith("n_permutations: not an option of") and str(err.value).endswith(hint)
    assert estimate("mi", x, y, method="ksg", n_permutations=19).p_value is not None
    with pytest.raises(ValueError) as err:  # the other options of auto get no such hint
        estimate("mi", x, y, n_resamples=19)
    assert "p-value" not in str(err.value)


def test_an_entropy_by_a_named_method_refuses_a_p_value_naming_the_options_it_takes():
    labels = torch.arange(300) % 3
    with pytest.raises(ValueError) as err:
        estimate("entropy", labels, method="nsb", n_permutations=19)
    message = "n_permutations: not an option of estimate('entropy', method='nsb'); it takes alphabet"
    assert str(err.value).startswith(message) and "p-value" not in str(err.value)
    assert estimate("entropy", labels, method="plugin", n_resamples=20).stderr is not None


def test_too_few_rows_beside_many_columns_asks_whether_the_table_is_transposed():
    x = _gaussians(40, 6).T  # 6 rows of 40 columns
    for method in ("auto", "ksg", "gaussian"):  # a named method is asked too, not refused deeper down
        with pytest.raises(ValueError, match=r"^x: 6 row\(s\) \(x is 6 x 40, y is 6 x 40\): .*transposed\?$"):
            estimate("mi", x, x + 1.0, method=method)
        with pytest.raises(ValueError, match=r"z is 6 x 40\): .*transposed\?$"):
            estimate("cmi", x, x + 1.0, x + 2.0, method=method)
    with pytest.raises(ValueError, match=r"is 6 x 40\): .*transposed\?$"):
        estimate("total_correlation", x, method="gaussian")
    # A series measure's few wide rows may be trials by time points: the refusal says how trials go.
    for measure, variables in (("ais", (x,)), ("te", (x, x + 1.0))):
        with pytest.raises(ValueError, match=r"is 6 x 40.*transposed\?; .* list of series, one a trial"):
            estimate(measure, *variables, method="gaussian")
    with pytest.raises(ValueError) as err:
        estimate("mi", _gaussians(10, 1), _gaussians(10, 1, seed=1))
    assert "transposed" not in str(err.value)
