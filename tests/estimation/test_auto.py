"""``method="auto"``: the choice rule on constructed cases, each check passing and failing, the
report's fields, bad input named."""

from __future__ import annotations

import math
import re
import warnings

import pytest
import torch

from iblearn.data import (
    bivariate_normal,
    categorical_uniform,
    dense_gaussian,
    get_exact_task,
    high_mi,
    sparse_gaussian,
    student_t,
    zero_inflated,
)
from iblearn.estimation import autocheck
from iblearn.estimation.auto import auto_estimate, gaussian_stderr
from iblearn.estimation.autocheck import (
    OWN_BIAS,
    OWN_GAP,
    REMAINS,
    ROWS_SCALE,
    Check,
    gaussian_gap,
    interval,
    run_checks,
    unexplained,
)
from iblearn.estimators.reliability import UnreliableEstimateWarning
from iblearn.functional import ksg_mi
from iblearn.functional.multivariate.inputs import copula_normal


def quiet(x, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreliableEstimateWarning)
        return auto_estimate(x, y, **kw)


def test_the_rule_chooses_from_the_data():
    x, y = bivariate_normal().sample(1000, seed=0)
    assert quiet(x, y).report.chosen == "ksg"  # 1 x 1
    x, y = dense_gaussian(3).sample(1000, seed=0)
    assert quiet(x, y).report.chosen == "gaussian"  # looks jointly Gaussian
    x, y = student_t(2, 2, dof=1.0).sample(1000, seed=0)
    result = quiet(x, y)
    assert (
        result.report.chosen == "ksg" and result.report.features["kurtosis"] > 10
    )  # heavy tails, not Gaussian
    x, y = dense_gaussian(8).sample(1000, seed=0)
    assert quiet(x, y).report.chosen == "gaussian"  # 16 joint dims: no kNN
    x, labels = categorical_uniform(5).sample(1000, seed=0)
    assert quiet(x, labels).report.chosen == "mixed_ksg"
    assert quiet(labels, x).report.chosen == "mixed_ksg"  # labels first are swapped
    assert quiet(labels, (labels + 1) % 5).report.chosen == "cwj"  # well sampled labels


def test_ksg_chosen_in_several_dims_is_unreliable_as_the_rows_say():
    x, y = student_t(2, 2, dof=1.0).sample(1000, seed=0)
    result = quiet(x, y)
    assert not result.report.checks["agreement"].passed and result.reliable is False
    assert re.search(r"agreement: FAIL — .*\(ksg \S+, gaussian \S+; tolerance \S+\)", result.caveat)


def test_a_gaussian_is_estimated_reliably_with_an_interval_around_the_truth():
    task = dense_gaussian(3)
    x, y = task.sample(2000, seed=1)
    result = quiet(x, y)
    low, high = result.interval
    assert result.reliable and result.caveat is None
    assert low <= task.mutual_information <= high and low <= float(result) <= high
    assert set(result.report.checks) == {
        "independence",
        "invariance",
        "additivity",
        "half data",
        "ceiling",
        "agreement",
        "gaussian copula",
        "linearity",
    }
    assert all(c.passed is not False for c in result.report.checks.values())
    assert result.report.checks["ceiling"].passed is None  # a Gaussian estimate has no ceiling at log N
    assert result.estimator == "gaussian" and result.stderr is not None


def test_the_report_prints_in_one_line_and_in_full():
    x, y = dense_gaussian(2).sample(500, seed=0)
    result = quiet(x, y)
    assert "\n" not in repr(result) and repr(result).startswith("Estimate(")
    assert "\n" not in str(result) and "interval" in str(result)
    text = result.describe()
    assert "95% interval" in text and "chosen because" in text
    # Each check shows its verdict, what it expects, its figures and tolerance.
    assert re.search(r"additivity: pass — .*\(two copies \S+, sum of the halves \S+; tolerance \S+\)", text)
    assert math.isclose(float(result), float(result.value))


def _gauss_mi(a, b):
    from iblearn.functional import gaussian_mi

    return float(gaussian_mi(a, b))


def _counting(calls):
    """Gaussian MI that appends the rows of each call to ``calls``."""

    def mi(a, b):
        calls.append(len(a))
        return _gauss_mi(a, b)

    return mi


def _checks_of(mi, x, y, **kw):
    value = mi(x, y)
    args = {"ceiling": ("log N", math.log(len(x))), "remap": lambda a, b, g: (a, b), "seed": 0} | kw
    return run_checks(mi, x, y, value, **args)[0]


def test_each_check_passes_on_a_sound_estimator():
    x, y = dense_gaussian(2).sample(2000, seed=0)
    checks = _checks_of(_gauss_mi, x.double(), y.double())
    assert all(c.passed is not False for c in checks.values()), checks


@pytest.mark.parametrize("check", ["independence", "invariance", "additivity", "half data", "ceiling"])
def test_each_check_fails_on_an_estimator_broken_its_way(check):
    x, y = dense_gaussian(2).sample(2000, seed=0)
    x, y = x.double(), y.double()
    broken = {
        "independence": lambda a, b: _gauss_mi(a, b) + 0.5,  # reads 0.5 at independence
        "invariance": _gauss_mi,
        "additivity": lambda a, b: _gauss_mi(a, b) if a.shape[1] == 2 else 0.5 * _gauss_mi(a, b),
        "half data": lambda a, b: _gauss_mi(a, b) * (len(a) / 1000) ** 0.5,  # grows with N
        "ceiling": lambda a, b: _gauss_mi(a, b) + 10.0,
    }[check]
    kw = {"remap": lambda a, b, g: (a**3, b)} if check == "invariance" else {}  # Gaussian MI is not
    checks = _checks_of(broken, x, y, **kw)
    assert not checks[check].passed, checks[check]


def test_a_failed_check_makes_it_unreliable_with_a_caveat_and_a_warning():
    # KSG reads a 2 x 2 Student-t (1 dof) far above the Gaussian on scores that look Gaussian.
    x, y = student_t(2, 2, dof=1.0).sample(1000, seed=0)
    with pytest.warns(UnreliableEstimateWarning, match="auto"):
        result = auto_estimate(x, y)
    assert result.reliable is False and ": FAIL — " in result.caveat


def test_the_interval_holds_the_bias_the_checks_reveal():
    checks = {
        "half data": Check("half data", False, {"half": 0.8, "estimate": 1.0}, ""),
        "additivity": Check("additivity", True, {"two copies": 1.5, "sum of the halves": 1.6}, ""),
        "invariance": Check("invariance", True, {"mapped": 1.02, "half": 1.0}, ""),
    }
    low, high = interval(1.0, 0.01, checks, math.inf)
    # Each gap beyond one standard error (0.01), the sampling error of a gap between two estimates;
    # the estimate grew with N, so more of its trend may remain above it.
    assert math.isclose(low, 1.0 - (0.02 + 0.19 + 0.04 + 0.01))
    assert math.isclose(high, 1.0 + (0.02 + 0.19 + 0.04 + 0.01) + REMAINS * 0.19)
    assert interval(1.0, 0.01, checks, 1.1)[1] == 1.1
    # The part of the copies' gap the estimator shows on a Gaussian is not counted; its bias there is.
    own = {"two copies": 1.5, "sum of the halves": 1.6, OWN_GAP: -0.06, OWN_BIAS: -0.03}
    checks["additivity"] = Check("additivity", True, own, "")
    low, high = interval(1.0, 0.01, checks, math.inf)
    assert math.isclose(low, 1.0 - (0.02 + 0.19 + 0.01 + 0.01 + 0.02))
    # On the side the bias points to (reading low on the Gaussian: the truth above), the whole of it.
    assert math.isclose(high, 1.0 + (0.02 + 0.19 + 0.01 + 0.01 + 0.03) + REMAINS * 0.19)
    checks["additivity"] = Check("additivity", True, own | {OWN_BIAS: 0.03}, "")
    low, high = interval(1.0, 0.01, checks, math.inf)
    assert math.isclose(low, 1.0 - (0.02 + 0.19 + 0.01 + 0.01 + 0.03))
    assert math.isclose(high, 1.0 + (0.02 + 0.19 + 0.01 + 0.01 + 0.02) + REMAINS * 0.19)
    # A bias within one standard error widens only its own side.
    checks["additivity"] = Check("additivity", True, own | {OWN_BIAS: 0.004}, "")
    low, high = interval(1.0, 0.01, checks, math.inf)
    assert math.isclose(low, 1.0 - (0.02 + 0.19 + 0.01 + 0.01 + 0.004))
    assert math.isclose(high, 1.0 + (0.02 + 0.19 + 0.01 + 0.01) + REMAINS * 0.19)


@pytest.mark.parametrize(
    ("gap", "own", "left"), [(-1.0, -0.9, -0.1), (-1.0, -1.4, 0.0), (-1.0, 0.3, -1.0), (0.5, 0.2, 0.3)]
)
def test_the_estimators_own_gap_counts_only_toward_zero(gap, own, left):
    figures = {"two copies": 2.0 + gap, "sum of the halves": 2.0, OWN_GAP: own}
    assert math.isclose(unexplained(figures), left, abs_tol=1e-12)


def test_copies_of_fewer_rows_than_a_half_scale_their_gap_to_a_halfs_rows(monkeypatch):
    # Copies of 50 rows where a half has 200: the copies' own two estimates beside them, the gap and
    # the bias on the Gaussian taken to a half's rows by sqrt(50 / 200) = 1 / 2.
    monkeypatch.setattr(autocheck, "COPY_ROWS", 50)
    read = []

    def mi(a, b):  # the rows each call reads; a gap of -1 nats at any size
        read.append((len(a), a.shape[1]))
        return a.shape[1] * 1.0 - (a.shape[1] > 1)

    x, y = bivariate_normal(rho=0.9).sample(400, seed=0)
    checks, _, _ = run_checks(mi, x, y, 1.0, ceiling=("none", math.inf), remap=lambda a, b, g: (a, b), seed=0)
    figures = checks["additivity"].figures
    assert (50, 2) in read and (200, 2) not in read and read.count((50, 1)) == 2
    assert figures[ROWS_SCALE] == 0.5 and figures["two copies"] - figures["sum of the halves"] == -1.0
    assert unexplained(figures) == -0.5
    assert unexplained(figures | {OWN_GAP: -0.6}) == -0.2
    # A half of at most COPY_ROWS rows: its own copies, unscaled.
    monkeypatch.setattr(autocheck, "COPY_ROWS", 200)
    read.clear()
    checks, _, _ = run_checks(mi, x, y, 1.0, ceiling=("none", math.inf), remap=lambda a, b, g: (a, b), seed=0)
    assert ROWS_SCALE not in checks["additivity"].figures and (200, 2) in read


def test_copies_of_fewer_rows_scale_the_bias_on_a_gaussian(monkeypatch):
    monkeypatch.setattr(autocheck, "COPY_ROWS", 500)

    def ksg(a, b):
        return float(ksg_mi(a, b, 3, seed=0))

    x, y = bivariate_normal(rho=0.999).sample(4000, seed=1)
    sx, sy = copula_normal(x), copula_normal(y)
    checks, _, _ = run_checks(
        ksg,
        sx,
        sy,
        ksg(sx, sy),
        ceiling=("none", math.inf),
        remap=lambda a, b, g: (a, b),
        seed=0,
        reference=True,
    )
    figures = checks["additivity"].figures
    gap, bias = gaussian_gap(ksg, 500, (figures["sum of the halves"]) / 2, seed=0)
    assert figures[ROWS_SCALE] == math.sqrt(500 / 2000) and figures[OWN_GAP] == gap
    assert math.isclose(figures[OWN_BIAS], bias * figures[ROWS_SCALE])


def test_the_gaussian_reference_reads_ksgs_own_gap_on_a_gaussian():
    # On a bivariate normal KSG's copies read far below twice the halves: the reference, a bivariate
    # normal of the same MI, shows about the same gap, and its halves read about its MI.
    def ksg(a, b):
        return float(ksg_mi(a, b, 3, seed=0))

    x, y = bivariate_normal(rho=0.999).sample(2000, seed=1)
    sx, sy = copula_normal(x), copula_normal(y)
    a, b = slice(0, 1000), slice(1000, 2000)
    halves = ksg(sx[a], sy[a]) + ksg(sx[b], sy[b])
    gap = ksg(torch.cat([sx[a], sx[b]], 1), torch.cat([sy[a], sy[b]], 1)) - halves
    own, bias = gaussian_gap(ksg, 1000, halves / 2, seed=0)
    assert gap < -0.5 and own < -0.5  # beyond any tolerance the check allows at 3.1 nats
    assert abs(gap - own) < 0.2 and abs(bias) < 0.1
    assert gaussian_gap(ksg, 1000, 0.0, seed=0) == (0.0, 0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_strong_dependence_of_one_column_a_side_is_reliable_and_covered(seed):
    # Two copies of a bivariate normal at 3.1 nats read far below twice the halves, as on any bivariate
    # normal: the estimator's own gap, which neither fails the estimate nor widens it.
    task = bivariate_normal(rho=0.999)
    result = quiet(*task.sample(2000, seed=seed), seed=seed)
    additivity = result.report.checks["additivity"]
    assert result.reliable and additivity.passed and OWN_GAP in additivity.figures
    low, high = result.interval
    assert low <= task.mutual_information <= high and high - low < 0.3


def test_an_interval_below_zero_is_clipped_to_zero_keeping_its_width():
    # An estimate below 0 beyond all its error: the interval within [0, ceiling], as the MI is, from 0
    # to its half-width (two standard errors and the trend's excess, 0.04), not the point [0, 0].
    checks = {"half data": Check("half data", True, {"half": -0.05, "estimate": -0.1}, "")}
    assert interval(-0.1, 0.01, checks, math.inf) == pytest.approx((0.0, 0.06))
    assert interval(-0.1, 0.01, checks, 0.03) == pytest.approx((0.0, 0.03))
    # Twenty independent normal rows, seed 19, read -0.076 in the single point [-0.0094, -0.0094].
    g = torch.Generator().manual_seed(19)
    x, y = (torch.randn(20, 1, generator=g, dtype=torch.float64) for _ in range(2))
    low, high = quiet(x, y).interval
    assert low == 0.0 < high


def test_an_interval_near_the_labels_entropy_reaches_past_the_samples_entropy():
    # Two equally likely classes far apart: I = H(Y) = log 2. A draw with 225 of its 500 rows in one
    # class (2.2 sd off an even split) reads H(Y) 0.689; clipped there, the interval would miss log 2.
    g = torch.Generator().manual_seed(0)
    y = torch.cat([torch.zeros(225), torch.ones(275)]).long()[torch.randperm(500, generator=g)]
    x = 50.0 * y + torch.randn(500, generator=g, dtype=torch.float64)
    result = quiet(x, y)
    assert result.report.checks["ceiling"].figures["H(Y)"] < math.log(2)
    assert result.reliable is True
    assert result.interval[0] <= math.log(2) <= result.interval[1]


def test_an_interval_against_labels_takes_two_standard_errors_as_every_estimate_does():
    # Two equally likely labels, x = N(2 label, 1): the checks widen nothing here, so the interval is
    # two standard errors each side, as on continuous variables.
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (500,), generator=g)
    result = quiet(2.0 * y + torch.randn(500, generator=g, dtype=torch.float64), y)
    value, stderr = float(result), result.stderr
    assert result.report.chosen == "mixed_ksg"
    assert value - result.interval[0] == pytest.approx(2 * stderr)
    assert result.interval[1] - value == pytest.approx(2 * stderr)
    checks = {"half data": Check("half data", True, {"half": 0.5, "estimate": 0.5}, "")}
    assert interval(0.5, 0.01, checks, math.inf) == pytest.approx((0.48, 0.52))


def test_the_standard_error_against_labels_is_at_least_its_per_row_terms():
    # Two labels 4 apart, N = 5,000: four halves (seed 4) read a standard error of 0.0008 on this draw,
    # while the estimate's spread over draws is 0.006; its per-row terms' standard deviation over sqrt(N)
    # reads 0.005.
    from iblearn.functional.knn.engine import mixed_ksg_counts, mixed_ksg_mi
    from iblearn.functional.multivariate.inputs import copula_normal

    x, y = get_exact_task("labels-class-means-2-shift4").sample(5000, seed=0)
    result = quiet(x, y, seed=4)
    counts = mixed_ksg_counts(copula_normal(x), y, seed=4)
    floor = float(counts.local().std()) / math.sqrt(5000)
    assert result.report.chosen == "mixed_ksg" and 0.004 < floor < 0.006
    assert result.stderr == pytest.approx(floor)
    assert "at least the standard deviation of the estimate's per-row terms" in result.stderr_method
    # The estimate is the mixed KSG's own number.
    assert float(result) == float(mixed_ksg_mi(copula_normal(x), y, seed=4))


def test_labels_against_many_columns_of_gaussian_classes_take_the_gaussian_classes():
    """Ten classes on the diagonal of 20 dimensions (truth 1.0566), N = 1,000: the mixed KSG reads 0.92
    and is flagged; the classes look Gaussian with one covariance, so the Gaussian classes are chosen,
    and hold the truth. Their copies (a hundred classes of five rows in 40 dimensions) stand in another
    regime, and the additivity check says it does not apply; the standard error is at least the per-row
    terms' (four halves alone read 0.011 on this draw, the spread over draws is 0.024)."""
    task = get_exact_task("labels-class-means-10-diagonal-20d")
    x, y = task.sample(1000, seed=0)
    result = quiet(x, y)
    assert result.report.chosen == "gaussian_classes" and result.reliable
    assert result.interval[0] <= task.truth <= result.interval[1]
    checks = result.report.checks
    assert checks["gaussian classes"].passed and "classes" not in checks
    assert checks["additivity"].passed is None and "100 classes of 40 columns" in checks["additivity"].why_not
    assert 0.02 < result.stderr < 0.03 and "per-row terms" in result.stderr_method


def test_labels_against_gaussian_classes_of_unequal_spreads_take_their_own_covariances():
    """Five classes of spreads 1 to 2 on the diagonal of ten columns (truth 0.689), N = 1,000: the mixed
    KSG reads 0.17 low; the classes fail one covariance but look Gaussian each, so the Gaussian classes
    of their own covariances are chosen and hold the truth. Their copies pair the labels into classes of
    some 40 rows in 20 columns, too few for a covariance each: additivity does not apply."""
    task = get_exact_task("labels-spreads-5-line-10d")
    x, y = task.sample(1000, seed=1)
    result = quiet(x, y)
    assert result.report.chosen == "quadratic_classes" and result.reliable
    assert result.interval[0] <= task.truth <= result.interval[1]
    features = result.report.features
    assert features["classes spread z"] > 4 and abs(features["classes own kurtosis z"]) < 4
    checks = result.report.checks
    assert checks["gaussian classes"].passed and "own kurtosis z" in checks["gaussian classes"].figures
    assert checks["additivity"].passed is None and "covariance of each class" in checks["additivity"].why_not
    assert "per-row terms" in result.stderr_method


def test_labels_against_classes_of_other_shapes_keep_the_mixed_ksg():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (1000,), generator=g)
    scale = torch.distributions.Chi2(3.0).sample((1000, 1)).double().div(3.0).rsqrt()
    heavy = y[:, None] + scale * torch.randn(1000, 5, generator=g, dtype=torch.float64)  # Student t
    result = quiet(heavy, y)
    assert result.report.chosen == "mixed_ksg" and "do not look Gaussian" in result.report.why
    assert result.report.features["classes kurtosis z"] > 4
    assert result.report.features["classes own kurtosis z"] > 4  # nor each with its own covariance
    # Off one covariance in several columns, the additivity check carries the mixed KSG's own bias on
    # Gaussian classes of the classes' own means and covariances, which widens the interval.
    assert "a Gaussian's bias" in result.report.checks["additivity"].figures
    # One column: the mixed KSG, without reading the classes' shape.
    one = quiet(heavy[:, :1], y)
    assert one.report.chosen == "mixed_ksg" and "classes kurtosis z" not in one.report.features


def test_ksgs_standard_error_on_one_column_a_side_is_at_least_its_per_row_terms():
    # A sign mixture, N = 5,000: its per-row terms' standard deviation over sqrt(N) reads 0.011, and the
    # four halves less than that on seed 0 (on 6 of seeds 0 - 11).
    x, y = get_exact_task("sign-mixture-1x1").sample(5000, seed=0)[:2]
    result = quiet(x, y, seed=0)
    local = ksg_mi(copula_normal(x), copula_normal(y), 3, seed=0, local=True)
    floor = float(local.std()) / math.sqrt(5000)
    assert result.report.chosen == "ksg" and 0.009 < floor < 0.014
    assert result.stderr == pytest.approx(floor)
    assert "at least the standard deviation of the estimate's per-row terms" in result.stderr_method
    # The estimate is KSG's own number, from the same scan.
    assert float(result) == float(ksg_mi(copula_normal(x), copula_normal(y), 3, seed=0))


@pytest.mark.parametrize(("kind", "seed"), [("point mass", 2), ("3 x 3", 1)])
def test_ksgs_standard_error_off_the_ranked_path_is_at_least_its_per_row_terms(kind, seed):
    # Where the ranks do not give the order (a point mass: half of x is 0), and on several columns a
    # side, KSG's estimate comes from the count that gives its per-row terms too: the halves read less
    # than their spread over sqrt(N) on these seeds, which holds the standard error, as for one column.
    from iblearn.data import student_t

    if kind == "point mass":
        x, y = get_exact_task("zero-inflated-1x1").sample(2000, seed=seed)[:2]
    else:
        x, y = student_t(3, 3, dof=3.0).sample(2000, seed=seed)
    result = quiet(x, y, seed=seed)
    sx, sy = copula_normal(x), copula_normal(y)
    floor = float(ksg_mi(sx, sy, 3, seed=seed, local=True).std()) / math.sqrt(2000)
    assert result.report.chosen == "ksg"
    assert result.stderr == pytest.approx(floor)
    assert "at least the standard deviation of the estimate's per-row terms" in result.stderr_method
    # The estimate is KSG's own number, from the same count.
    assert float(result) == float(ksg_mi(sx, sy, 3, seed=seed))


def test_ksgs_standard_error_of_a_conditional_mi_is_at_least_its_per_row_terms():
    # Given a label z, N = 1,000: its per-row terms' standard deviation over sqrt(N) reads 0.024, and the
    # four halves less than that on seed 0 (on 2 of seeds 0 - 7).
    from iblearn import estimate
    from iblearn.functional import ksg_cmi
    from iblearn.functional.multivariate.inputs import ranked_normal

    x, y, z = get_exact_task("cmi-discrete-z-2class").sample(1000, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = estimate("cmi", x, y, z, seed=0)
    sx, sy, sz = (ranked_normal(t.reshape(1000, -1).double()).scores for t in (x, y, z))
    floor = float(ksg_cmi(sx, sy, sz, 3, seed=0, local=True).std()) / math.sqrt(1000)
    assert result.report.chosen == "ksg" and 0.02 < floor < 0.03
    assert result.stderr == pytest.approx(floor)
    assert "at least the standard deviation of the estimate's per-row terms" in result.stderr_method
    # The estimate is KSG's own number, from the same count.
    assert float(result) == float(ksg_cmi(sx, sy, sz, 3, seed=0))


def _class_means_truth(shift: float) -> float:
    """I(x; label) of two equally likely labels and x = N(shift * label, 1): h(x) - h(x | label), h(x)
    by quadrature."""
    from scipy import integrate, stats

    f = lambda v: 0.5 * (stats.norm.pdf(v) + stats.norm.pdf(v, shift))  # noqa: E731
    hx = integrate.quad(lambda v: -f(v) * math.log(f(v)), -12, 12 + shift, points=[0.0, shift], limit=200)[0]
    return hx - 0.5 * math.log(2 * math.pi * math.e)


def _class_means_estimate(shift: float, n: int, seed: int):
    """The automatic MI of ``n`` rows of :func:`_class_means_truth`'s sample, drawn from ``seed``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return quiet(torch.from_numpy(rng.standard_normal(n) + shift * y), torch.from_numpy(y))


@pytest.mark.slow
def test_intervals_against_labels_cover_the_truth():
    # x = N(2 label, 1), N = 200: I = 0.3368, which 10 of these 200 intervals miss.
    truth = _class_means_truth(2.0)
    misses = 0
    for seed in range(200):
        low, high = _class_means_estimate(2.0, 200, seed).interval
        misses += not low <= truth <= high
    assert misses <= 14


@pytest.mark.slow
def test_intervals_of_nearly_separated_classes_cover_the_truth():
    # x = N(6 label, 1), N = 500: I = 0.6893, just under log 2, which an interval clipped at the
    # sample's H(Y) would miss often; held under the top of the labels' entropy's own interval, none of
    # these 200 does.
    truth = _class_means_truth(6.0)
    misses = reliable = 0
    for seed in range(200):
        result = _class_means_estimate(6.0, 500, seed)
        if result.reliable:
            reliable += 1
            misses += not result.interval[0] <= truth <= result.interval[1]
    assert reliable >= 190 and misses <= 10


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"x": torch.full((100, 2), float("nan"))}, "x"),
        ({"y": torch.randn(99, 2)}, "sample counts differ: x has 100, y has 99"),
        ({"y": torch.ones(100, 2)}, "y"),
        ({"x": torch.randn(10, 2), "y": torch.randn(10, 2)}, "x"),
        ({"k": 0}, "k"),
        ({"neural_steps": -1}, "neural_steps"),
        ({"seed": "0"}, "seed"),
    ],
)
def test_bad_input_is_named(kwargs, name):
    args = {"x": torch.randn(100, 2), "y": torch.randn(100, 2)} | kwargs
    with pytest.raises(ValueError, match=rf"^{name}"):
        auto_estimate(args.pop("x"), args.pop("y"), **args)


@pytest.mark.slow
def test_a_neural_budget_fits_mine_beside_the_gaussian_where_the_joint_is_not_gaussian():
    x, y = student_t(6, 6, dof=3.0).sample(800, seed=0)
    result = quiet(x, y, neural_steps=30)
    assert result.report.features["mardia"] > 0.03 and "MINE (30 steps)" in result.report.why
    assert result.report.chosen in ("gaussian", "mine")
    assert quiet(x, y).report.why.count("MINE") == 0  # no fit without a budget


def test_estimate_mi_is_auto_by_default_and_names_a_setting_auto_does_not_take():
    from iblearn import estimate_mi

    x, y = dense_gaussian(2).sample(600, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = estimate_mi(x, y)
    assert result.report.chosen is not None and result.interval is not None and result.report.checks
    with pytest.raises(
        ValueError, match=r"^hidden: not an option of estimate\('mi', method='auto'\); it takes k, "
    ):
        estimate_mi(x, y, hidden=(8,))


def test_both_discrete_is_the_discrete_estimator_the_joint_asks_for():
    from iblearn.functional import discrete_mi

    gen = torch.Generator().manual_seed(0)
    a = torch.randint(0, 5, (1000,), generator=gen)
    b = (a + torch.randint(0, 2, (1000,), generator=gen)) % 5
    result = quiet(a, b)
    assert result.report.chosen == result.estimator == "cwj"
    assert float(result) == pytest.approx(float(discrete_mi(a, b, method="cwj")))


def test_the_checks_map_a_half_and_do_not_rerun_an_identity_map():
    x, y = dense_gaussian(2).sample(1000, seed=0)
    x, y = x.double(), y.double()
    calls: list[int] = []
    mi = _counting(calls)
    checks = _checks_of(mi, x, y)  # the identity: one column of scores, or labels
    assert calls == [1000] + [500] * 6
    # A map that cannot move the estimate is not a check that passed.
    assert checks["invariance"].passed is None and "not applicable" in str(checks["invariance"])
    calls.clear()
    _checks_of(mi, x, y, remap=lambda a, b, g: (2 * a, b))
    # The estimate; four halves, the shuffled half, the mapped half, the copies.
    assert calls == [1000] + [500] * 7


@pytest.mark.parametrize(("task", "runs"), [(bivariate_normal(), 7), (student_t(2, 2, dof=1.0), 7)])
def test_auto_runs_knn_once_per_estimate_it_needs(monkeypatch, task, runs):
    # The estimate, four halves, a shuffled half, the copies; the map where it is not the identity
    # (not on 1 x 1 scores); the candidates' KSG estimate is the estimate, not computed again. On the
    # 2 x 2 Student-t the candidates disagree, so the shuffled half, which could not change the
    # verdict, is not run.
    # A rerun on two columns of scores takes their order from the ranks (ksg_mi_ranked; the estimate
    # on all of them, its per-row terms, pair_terms_ranked), where it applies, else ksg_mi; the estimate
    # on all the scores elsewhere comes with its per-row terms (pair_terms): each counts once.
    from iblearn import functional as ibf
    from iblearn.estimation import auto

    calls = []
    ksg_mi = ibf.ksg_mi

    def counted(ranked):
        def run(*a, **kw):
            value = ranked(*a, **kw)
            calls.extend([] if value is None else [1])
            return value

        return run

    monkeypatch.setattr(ibf, "ksg_mi", lambda *a, **kw: calls.append(1) or ksg_mi(*a, **kw))
    monkeypatch.setattr(auto, "ksg_mi_ranked", counted(auto.ksg_mi_ranked))
    monkeypatch.setattr(auto, "pair_terms_ranked", counted(auto.pair_terms_ranked))
    monkeypatch.setattr(auto, "pair_terms", counted(auto.pair_terms))
    x, y = task.sample(1000, seed=0)
    assert quiet(x, y).report.chosen == "ksg" and len(calls) == runs


def test_auto_finds_a_column_order_once_for_the_same_rows(monkeypatch):
    # 1 x 1: four halves order both columns (8); the shuffled half orders only its shuffled y, and the
    # copies side by side reuse the first split's four: 9 orders found from the ranks of a half.
    from iblearn.estimation import auto

    found = []
    key_order = auto.key_order
    monkeypatch.setattr(auto, "key_order", lambda *a: found.append(1) or key_order(*a))
    x, y = student_t(1, 1, dof=3.0).sample(1000, seed=0)
    est = quiet(x, y)
    assert est.report.chosen == "ksg" and est.report.checks["independence"].ran and len(found) == 9


def test_auto_on_one_column_a_side_takes_every_order_from_the_ranks(monkeypatch):
    # The estimate and every rerun, the two halves side by side included, on 1 x 1 normal scores take
    # their orders from the scores' ranks: none falls back to ksg_mi, which sorts.
    from iblearn import functional as ibf

    calls = []
    ksg_mi = ibf.ksg_mi
    monkeypatch.setattr(ibf, "ksg_mi", lambda *a, **kw: calls.append(1) or ksg_mi(*a, **kw))
    x, y = student_t(1, 1, dof=3.0).sample(1000, seed=0)
    assert quiet(x, y).report.chosen == "ksg" and calls == []


def test_the_shuffled_pairs_run_only_where_they_can_decide_the_verdict():
    x, y = dense_gaussian(2).sample(2000, seed=0)
    x, y = x.double(), y.double()
    calls: list[int] = []
    mi = _counting(calls)
    ran = _checks_of(mi, x, y)
    runs = len(calls)
    settled = _checks_of(mi, x, y, settled=["agreement"])
    assert len(calls) - runs == runs - 1  # the same reruns less the shuffled half
    check = settled["independence"]
    assert check.passed is None and not check.ran and "agreement failed" in str(check)
    assert str(check).startswith("independence: not run — ")
    # Every other check, and so the interval and the verdict, is as where the shuffled half ran.
    assert {name: c for name, c in settled.items() if name != "independence"} == {
        name: c for name, c in ran.items() if name != "independence"
    }
    # A check of the rows' own that failed settles it too.
    calls.clear()
    broken = _checks_of(lambda a, b: mi(a, b) + 10.0, x, y)
    assert broken["ceiling"].passed is False and broken["independence"].ran is False
    assert len(calls) == runs - 1


def test_the_gaussian_standard_error_is_the_spread_of_its_estimate_over_draws():
    from iblearn.functional import gaussian_mi

    task = sparse_gaussian(3)  # two pairs, 1.02 nats
    values, errors = [], []
    for seed in range(40):
        x, y = (t.double() for t in task.sample(1000, seed=seed))
        values.append(float(gaussian_mi(x, y, bias_correction=True)))
        errors.append(gaussian_stderr(x, y))
    spread = torch.tensor(values).std().item()  # 0.032 on these draws
    assert 0.75 < sum(errors) / len(errors) / spread < 1.33
    # Independent variables: the null's share of sum r^2 is taken off, and nothing is left.
    x, y = torch.randn(2000, 5, dtype=torch.float64), torch.randn(2000, 5, dtype=torch.float64)
    assert gaussian_stderr(x, y) < 0.01


def test_the_gaussians_interval_is_at_least_its_sampling_error():
    # Four halves read a standard error of 0.0065 on this draw (interval 0.956 - 0.982); the estimate's
    # own is 0.018.
    x, y = high_mi(1.0, 100).sample(5000, seed=2)
    result = quiet(x, y, seed=2)
    low, high = result.interval
    assert result.report.chosen == "gaussian" and result.stderr > 0.015
    assert low <= 1.0 <= high  # covers the truth
    assert 0.9 < low and high < 1.1  # and is no wider than the error allows


def _spiral(t):
    """The first two columns rotated by an angle growing with the row's norm (invertible)."""
    angle = t.norm(dim=1)
    out = t.clone()
    out[:, 0], out[:, 1] = (
        angle.cos() * t[:, 0] - angle.sin() * t[:, 1],
        angle.sin() * t[:, 0] + angle.cos() * t[:, 1],
    )
    return out


def test_ksg_above_the_gaussian_on_scores_that_look_gaussian_fails_agreement():
    # Two pairs through the normal CDF and a spiral: the scores look jointly Gaussian, the Gaussian
    # reads 0.82 of 1.02 nats, KSG 0.92.
    x, y = (_spiral(torch.special.ndtr(t.double())) for t in sparse_gaussian(3).sample(10000, seed=0))
    result = quiet(x, y)
    assert result.report.features["mardia"] < 0.03
    assert not result.report.checks["agreement"].passed and result.reliable is False
    assert result.report.chosen == "ksg" and abs(float(result) / 1.0217 - 1) < 0.1


def test_ksg_below_the_gaussian_on_scores_that_look_gaussian_is_its_bias():
    # A Gaussian 5 x 5: KSG reads 0.70 of 1.02 nats, the Gaussian 1.03.
    x, y = sparse_gaussian(5).sample(2000, seed=0)
    result = quiet(x, y)
    figures = result.report.checks["agreement"].figures
    assert figures["ksg"] < 0.8 * figures["gaussian"]
    assert result.report.checks["agreement"].passed and result.reliable and result.report.chosen == "gaussian"


def test_a_point_mass_takes_ksg_and_a_rounded_gaussian_is_no_point_mass():
    # Half of each x_i exactly 0: the Gaussian on normal scores read the 3 x 3 14% low and reliable; a
    # Gaussian rounded to 0.01 has ties everywhere but no value on more than about 1% of the rows.
    x, y = zero_inflated(3).sample(2000, seed=0)
    result = quiet(x, y)
    assert (
        result.report.features["atom"] > 0.4
        and result.report.chosen == "ksg"
        and "point mass" in result.report.why
    )
    assert "agreement" not in result.report.checks
    x, y = (torch.round(t * 100) / 100 for t in dense_gaussian(3).sample(2000, seed=0))
    result = quiet(x, y)
    assert result.report.features["ties"] > 0.5 and result.report.features["atom"] < 0.02
    assert result.report.chosen == "gaussian"


def test_the_random_rotation_of_the_checks_follows_the_datas_device():
    """The rotation is drawn on the CPU generator (the same seed mixes alike everywhere) and moved to the
    data: on another device (meta here, a GPU in use) the product must not mix devices."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    from iblearn.estimation.auto import rotate

    class OneDevice(TorchDispatchMode):  # meta tensors mix with the CPU's silently: refuse it here
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            found = {a.device for a in tree_leaves((args, kwargs)) if isinstance(a, torch.Tensor) and a.ndim}
            assert len(found) <= 1, f"{func} mixes {found}"
            return func(*args, **(kwargs or {}))

    t = torch.randn(20, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with OneDevice():
        assert rotate(t.to("meta"), torch.Generator().manual_seed(1), False).device.type == "meta"


@pytest.mark.parametrize(("dims", "dof", "rho", "seed"), [(5, 3, 0.5, 1), (2, 5, 0.0, 0), (5, 8, 0.5, 0)])
def test_a_student_t_copula_is_never_a_reliable_gaussian_estimate(dims, dof, rho, seed):
    # The Gaussian reads 25 - 100% low here and KSG in 4 - 10 dims low too, so their agreement
    # vouched for a wrong number; the magnitudes of the scores show the copula is not Gaussian.
    task = student_t(dims, dims, dof=dof, rho=rho)
    result = quiet(*task.sample(2000, seed=seed))
    low, high = result.interval
    assert result.reliable is False or low <= task.mutual_information <= high, result.describe()
    if result.report.chosen == "gaussian":
        assert result.report.checks["gaussian copula"].passed is False and "gaussian copula" in result.caveat


def test_the_copula_check_passes_on_gaussian_copulas():
    for seed in range(3):
        x, y = dense_gaussian(4).sample(2000, seed=seed)
        result = quiet(torch.exp(x), y**3, seed=seed)
        assert result.report.checks["gaussian copula"].passed and result.reliable, result.describe()


def test_too_few_rows_for_the_checks_are_never_reliable():
    # At N = 16 a Gaussian with rho 0.6 read -0.138 with interval (0, 0.10), truth 0.223, reliable.
    x, y = bivariate_normal(0.6).sample(16, seed=1)
    result = quiet(x, y, seed=1)
    assert result.reliable is False and "too few" in result.caveat
    assert quiet(*bivariate_normal(0.6).sample(64, seed=1)).reliable


def test_the_value_is_float64_as_its_checks():
    x, y = dense_gaussian(2).sample(500, seed=0)
    assert quiet(x.double(), y.double()).value.dtype == torch.float64
    assert quiet(*bivariate_normal().sample(500, seed=0)).value.dtype == torch.float64


def test_checks_that_cannot_run_on_the_data_are_not_applicable_not_an_error():
    # A 50 x 50 Gaussian at N = 300: two copies of a half (150 rows) have 200 dimensions.
    g = torch.Generator().manual_seed(0)
    z = torch.randn(300, 50, generator=g, dtype=torch.float64)
    result = quiet(z + 0.5 * torch.randn(300, 50, generator=g, dtype=torch.float64), z)
    additivity = result.report.checks["additivity"]
    assert additivity.passed is None and "too many dimensions for 150 rows" in str(additivity)
    assert "inf" not in result.describe()


def test_labels_that_rarely_repeat_are_refused_with_the_count():
    # 1,997 classes on 2,000 rows said "no class occurs more than once" (from a check's half), or
    # "k=3 needs more than 3 samples, got N=3".
    x = torch.randn(2000, 1, generator=torch.Generator().manual_seed(0))
    labels = torch.cat([torch.arange(1997), torch.tensor([0, 1, 2])])
    with pytest.raises(
        ValueError, match="y: only 6 of the 2000 rows are in a class that occurs more than once"
    ):
        auto_estimate(x, labels)


def test_a_gaussian_on_a_subspace_is_a_gaussian_copula():
    # Four pairs mapped linearly into 100 dimensions a side, as a wide layer's activations lie: its
    # normal scores, whitened in all 200 dimensions, read magnitudes z 38.7 and were flagged; in the
    # rows' own rank the copula check passes and the estimate holds the truth.
    task = high_mi(2.0, 100)
    result = quiet(*task.sample(5000, seed=0))
    assert result.report.chosen == "gaussian" and result.report.checks["gaussian copula"].passed, (
        result.describe()
    )
    low, high = result.interval
    assert result.reliable and low <= task.mutual_information <= high


def test_the_checks_gaussian_on_whitened_rows_is_the_gaussian_estimate():
    from iblearn.estimation.auto import gaussian_on_bases
    from iblearn.functional import gaussian_mi
    from iblearn.functional.gaussian import canonical_bases

    g = torch.Generator().manual_seed(0)
    z = torch.randn(400, 3, generator=g, dtype=torch.float64)
    x = torch.cat([z, z[:, :1] - z[:, 1:2]], dim=1)  # 4 columns of rank 3
    y = z[:, :2] @ torch.randn(2, 5, generator=g, dtype=torch.float64) + torch.randn(400, 5, generator=g)
    wx, wy = canonical_bases(x, y)
    assert (wx.shape[1], wy.shape[1]) == (3, 5)
    torch.testing.assert_close(wx.T @ wx / 400, torch.eye(3, dtype=torch.float64))
    rows = torch.randperm(400, generator=g)[:200]
    for a, b in ((x[rows], y[rows]), (x[rows], y[rows.flip(0)])):  # a half, and its pairs shuffled
        expected = float(gaussian_mi(a, b, bias_correction=True))
        assert abs(gaussian_on_bases(*canonical_bases(a, b)) - expected) < 1e-10
    half = gaussian_on_bases(wx[rows], wy[rows])
    assert abs(half - float(gaussian_mi(x[rows], y[rows], bias_correction=True))) < 1e-10


@pytest.mark.parametrize("n, linear", [(601, True), (600, True), (600, False)])
def test_the_gaussians_checks_from_second_moments_are_the_refitted_ones(n, linear):
    from functools import partial

    from iblearn.estimation.auto import GaussianReruns, gaussian_on_bases, rotate
    from iblearn.estimation.autocheck import Reruns
    from iblearn.functional.gaussian import canonical_bases

    x, y = dense_gaussian(4).sample(n, seed=1)
    wx, wy = canonical_bases(x, y)
    rotate = partial(rotate, scores=not linear)

    def remap(a, b, g):
        return rotate(a, g), rotate(b, g)

    def checks(reruns):
        found, stderr, half = run_checks(reruns, wx, wy, 0.5, ceiling=("none", math.inf), remap=remap, seed=3)
        return {k: c.figures for k, c in found.items()}, stderr, half

    moments = checks(GaussianReruns(wx, wy, remap, linear))
    refitted = checks(Reruns(gaussian_on_bases, wx, wy, remap))
    assert moments[0].keys() == refitted[0].keys()
    for name, figures in refitted[0].items():
        for key, value in figures.items():
            assert moments[0][name][key] == pytest.approx(value, abs=1e-9), (name, key)
    assert moments[1:] == pytest.approx(refitted[1:], abs=1e-9)


def test_a_dependence_through_a_square_or_cube_takes_ksg_or_unsettles_the_gaussian():
    # y_0 = sin(2 x_0) + noise among Gaussian columns: the joint looks Gaussian (Mardia about 0) and
    # the Gaussian reads a tenth of what one KSG on the pair reads. In 3 x 2 the rule takes KSG; in
    # 8 x 4 (beyond KSG's 10 dimensions) the Gaussian stays, and its linearity check fails.
    g = torch.Generator().manual_seed(0)
    x, y = (
        torch.randn(3000, 8, generator=g, dtype=torch.float64),
        torch.randn(3000, 4, generator=g, dtype=torch.float64),
    )
    y[:, 0] = torch.sin(2 * x[:, 0]) + 0.5 * y[:, 0]
    small = quiet(x[:, :3], y[:, :2])
    assert small.report.chosen == "ksg" and "square or cube" in small.report.why
    wide = quiet(x, y)
    assert wide.report.chosen == "gaussian" and wide.reliable is False
    assert wide.report.checks["linearity"].passed is False and "linearity" in wide.caveat


def spun(n: int, seed: int, speed: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """benchmark-mi's spiral of a sparse Gaussian 25 x 25 (two pairs at correlation 0.8, the MI of the
    Gaussian, 1.0217 nats, kept: the maps are invertible): x's plane (0, 1) and y's plane (1, 2) turned
    by an angle of ``speed`` over 25 times each side's squared norm. ``speed`` 0: the Gaussian itself."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 25, generator=g, dtype=torch.float64)
    y = torch.randn(n, 25, generator=g, dtype=torch.float64)
    y[:, :2] = 0.8 * x[:, :2] + 0.6 * y[:, :2]
    for t, (i, j) in ((x, (0, 1)), (y, (1, 2))):
        turn = speed / 25 * t.square().sum(1)
        c, s = torch.cos(turn), torch.sin(turn)
        t[:, i], t[:, j] = c * t[:, i] - s * t[:, j], s * t[:, i] + c * t[:, j]
    return x, y


def test_a_dependence_that_turns_with_magnitude_unsettles_the_gaussian():
    """benchmark-mi's spiral in 25 x 25: the normal scores look jointly Gaussian (the turn keeps each
    side's norm) and no column depends on another through its square or cube, so the Gaussian stays and
    reads a fifth low; what it leaves turns with x's squared norm, which the linearity check's canonical
    test reads. The Gaussian unturned passes it."""
    truth = -math.log(1 - 0.8**2)  # two pairs at 0.8
    x, y = spun(5000, 0)
    turned = quiet(x, y)
    assert turned.report.chosen == "gaussian" and turned.reliable is False
    assert float(turned) < 0.9 * truth and not turned.interval[0] <= truth <= turned.interval[1]
    linear = turned.report.checks["linearity"]
    assert linear.passed is False and linear.figures["canonical p (corrected)"] < 1e-10
    assert linear.figures["p (corrected)"] > autocheck.NONLINEAR_P  # the squares and cubes see nothing
    x, y = spun(5000, 0, speed=0.0)
    plain = quiet(x, y)
    assert plain.reliable and plain.report.checks["linearity"].passed
    assert plain.report.checks["linearity"].figures["canonical p (corrected)"] > autocheck.NONLINEAR_P
    # Read once the Gaussian is chosen: KSG's checks have no use for it.
    x, y = student_t(2, 2, dof=1.0).sample(1000, seed=0)
    heavy = quiet(x, y)
    assert heavy.report.chosen == "ksg" and "canonical bend" not in heavy.report.features


def test_one_column_a_side_reads_no_joint_features_the_rule_would_not_read():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2000, 2, dtype=torch.float64, generator=g)
    y = x + torch.randn(2000, 2, dtype=torch.float64, generator=g)
    one, two = quiet(x[:, :1], y[:, :1]), quiet(x, y)
    assert one.report.chosen == "ksg" and "one column each" in one.report.why
    joint = {"mardia", "rank"}
    assert not joint & set(one.report.features) and joint <= set(two.report.features)
