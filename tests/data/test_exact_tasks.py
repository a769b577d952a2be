"""The tasks with exact answers: every truth against an independent computation, by Monte Carlo of its
definition (the mean of the pointwise information over samples, within 4 standard errors) or by a
second closed form, and the interface (shapes, labels, reproducible draws, the conventions of the
estimators the truths are for)."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch

from iblearn.data import (
    FAMILIES,
    PID_PARTS,
    ais_samples,
    exact_tasks,
    get_exact_task,
    standard_tasks,
    te_samples,
)
from iblearn.data.tasks import gaussian as G
from iblearn.data.tasks.labels import class_densities
from iblearn.data.tasks.series import var_autocovariances
from iblearn.data.tasks.student import student_entropy_part
from iblearn.data.tasks.tables import CMI_DIMS
from iblearn.functional import gaussian_cmi_from_cov, gaussian_mi_from_cov
from iblearn.functional.gaussian_classes import classes_mi
from iblearn.functional.knn.transfer import embedding

torch.set_num_threads(1)
LOG2 = math.log(2)


def monte_carlo(task, n: int, seed: int = 1) -> tuple[float, float]:
    values = task.pointwise(*task.sample_numpy(n, seed))
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


def assert_monte_carlo(tasks, n: int) -> None:
    failed = []
    for task in tasks:
        mean, se = monte_carlo(task, n)
        if abs(mean - task.truth) > 4 * se + 1e-9:  # a pointwise value constant in the samples: se = 0
            failed.append(f"{task.name}: truth {task.truth:.4f}, Monte Carlo {mean:.4f} +- {se:.4f}")
    assert not failed, "\n".join(failed)


# ------------------------------------------------------------------------------------------ the registry
def test_registry_counts_and_names():
    tasks = exact_tasks()
    counts = Counter(t.family for t in tasks)
    assert len(tasks) >= 100
    assert counts["cmi"] >= 25 and counts["te"] >= 10 and counts["multivariate"] >= 30 and counts["mi"] >= 16
    assert counts["ais"] >= 10
    assert len({t.name for t in tasks}) == len(tasks)
    assert set(counts) == set(FAMILIES)
    assert get_exact_task("te-lag3").options == {"lag": 3, "history": 1}
    high = [t for t in exact_tasks("cmi") if t.truth > 3]
    assert high, "a high-CMI task (over 3 nats)"
    assert {t.measure for t in exact_tasks("multivariate")} >= {"tc", "dtc", "o", "s", "ii", *PID_PARTS}


def test_bad_names_and_arguments():
    with pytest.raises(ValueError, match="name"):
        get_exact_task("no-such-task")
    with pytest.raises(ValueError, match="family"):
        exact_tasks("entropy")
    with pytest.raises(ValueError, match=r"^n:"):
        get_exact_task("cmi-gauss-1x1x1").sample(0)
    with pytest.raises(ValueError, match="task"):
        te_samples(get_exact_task("cmi-gauss-1x1x1"), np.zeros(10), np.zeros(10))
    with pytest.raises(ValueError, match="task"):
        ais_samples(get_exact_task("te-lag3"), np.zeros(10))
    with pytest.raises(ValueError, match="series"):
        ais_samples(get_exact_task("ais-var1-y-history3"), np.zeros(4))


def test_every_task_samples_reproducibly_with_its_arrays():
    arity = {"mi": 2, "cmi": 3, "te": 2, "cte": 3, "ais": 1, "ii": 3, "tc": 1, "dtc": 1, "o": 1, "s": 1}
    for task in exact_tasks():
        a, b, c = task.sample(40, seed=3), task.sample(40, seed=3), task.sample(40, seed=4)
        assert len(a) == arity.get(task.measure, 3), task.name
        start = max(task.options.get("lag", 0), task.options.get("history", 0))
        for i, t in enumerate(a):
            assert t.shape[0] == 40 + start, task.name
            assert t.dtype == (torch.int64 if i in task.labels else torch.float64), task.name
            assert bool(torch.isfinite(t.double()).all()), task.name
        assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True)), task.name
        assert not all(torch.equal(u, v) for u, v in zip(a, c, strict=True)), task.name


# ------------------------------------------------------------------------------- Monte Carlo of each truth
REPRESENTATIVES = (
    "cmi-gauss-3x3x3-warped",
    "cmi-discrete-z-3class",
    "cmi-student-2x2x2-dof2",
    "cmi-t-copula-1x1x1-dof2",
    "cmi-high-3pairs-rho0.97",
    "te-lag3-warped",
    "te-chain-direct-given-z",
    "ais-var1-y-history3-warped",
    "o-gauss-5-warped",
    "dtc-synergy-5",
    "ii-discrete-and",
)


def test_representatives_by_monte_carlo():
    assert_monte_carlo([get_exact_task(name) for name in REPRESENTATIVES], 10_000)


@pytest.mark.slow
def test_every_truth_by_monte_carlo():
    assert_monte_carlo([t for t in exact_tasks() if t.pointwise is not None], 40_000)


# --------------------------------------------------------------------------------- second closed forms
def schur_cmi(cov: np.ndarray, dx: int, dy: int) -> float:
    """I(X; Y | Z) as the MI of the conditional covariance of (X, Y) given Z (a Schur complement)."""
    a, z = slice(0, dx + dy), slice(dx + dy, None)
    cond = cov[a, a] - cov[a, z] @ np.linalg.solve(cov[z, z], cov[z, a])
    return float(gaussian_mi_from_cov(torch.from_numpy(cond), dx))


def test_gaussian_cmi_by_the_schur_complement_and_functional():
    for dims in CMI_DIMS:
        cov = G.cmi_cov(*dims)
        truth = get_exact_task("cmi-gauss-{}x{}x{}".format(*dims)).truth
        assert truth == pytest.approx(schur_cmi(cov, dims[0], dims[1]), abs=1e-10)
        assert truth == pytest.approx(
            float(gaussian_cmi_from_cov(torch.from_numpy(cov), *dims[:2])), abs=1e-10
        )
    for name, pairs, rho in (("cmi-high-3pairs-rho0.97", 3, 0.97), ("cmi-high-5pairs-rho0.95", 5, 0.95)):
        assert get_exact_task(name).truth == pytest.approx(-pairs / 2 * math.log(1 - rho**2), abs=1e-10)
    for task in exact_tasks("cmi"):
        if task.name.endswith("-warped"):
            assert task.truth == get_exact_task(task.name.removesuffix("-warped")).truth
        if task.name.endswith("-0"):
            assert task.truth == pytest.approx(0.0, abs=1e-12)


def test_student_cmi_by_the_chain_rule_of_student_mi():
    # I(X; Y | Z) = I(X; Y, Z) - I(X; Z), each a Student-t MI of e(d):
    # with identity dispersion and 1 dof, I(A; B) = e(dA) + e(dB) - e(dA + dB).
    e = student_entropy_part
    expected = (e(2, 1.0) + e(4, 1.0) - e(6, 1.0)) - (e(2, 1.0) + e(2, 1.0) - e(4, 1.0))
    assert get_exact_task("cmi-student-2x2x2-dof1-identity").truth == pytest.approx(expected, abs=1e-12)


def test_discrete_z_truth_is_the_class_weighted_sum():
    rho = (0.6, -0.3)
    expected = sum(0.5 * -0.5 * math.log(1 - r**2) for r in rho)
    assert get_exact_task("cmi-discrete-z-2class").truth == pytest.approx(expected, abs=1e-12)


def ma_autocovariance(coefs: np.ndarray, h: int, terms: int = 3000) -> np.ndarray:
    """Gamma(h) of a VAR(1) by its moving-average sum, sum_j A^(j+h) A^j' (unit noise)."""
    out, power = np.zeros_like(coefs), np.linalg.matrix_power(coefs, h)
    right = np.eye(len(coefs))
    for _ in range(terms):
        out += power @ right.T
        power, right = coefs @ power, coefs @ right
    return out


def test_var_autocovariance_by_its_moving_average_sum():
    coefs = np.array([[0.6, 0.0, 0.0], [0.7, 0.5, 0.0], [0.4, 0.5, 0.5]])
    for h, gamma in enumerate(var_autocovariances([coefs], np.eye(3), 3)):
        np.testing.assert_allclose(gamma, ma_autocovariance(coefs, h), atol=1e-10)


def test_te_of_a_var1_pair_by_residual_variances():
    # y_t = b y_(t-1) + c x_(t-1) + e: TE = 1/2 log(Var(y_t | y_(t-1)) / 1), the second variance that of e.
    a, b = 0.6, 0.5
    for c in (0.1, 0.5, 0.9):
        coefs = np.array([[a, 0.0], [c, b]])
        g0, g1 = ma_autocovariance(coefs, 0), ma_autocovariance(coefs, 1)
        residual = g0[1, 1] - g1[1, 1] ** 2 / g0[1, 1]
        assert get_exact_task(f"te-var1-c{c:g}").truth == pytest.approx(0.5 * math.log(residual), abs=1e-9)
    # the chain given z and the reverse direction act through nothing: 0
    for name in ("te-chain-given-z-0", "te-var1-c0.5-reverse-0", "te-independent-ar0.9-0"):
        assert get_exact_task(name).truth == pytest.approx(0.0, abs=1e-12)


def test_te_samples_follow_transfer_entropy():
    for task in exact_tasks("te"):
        series = task.sample(60, seed=0)
        present, source, given = te_samples(task, *series)
        assert present.shape[0] == 60
        if task.measure == "te":
            ours = embedding(series[0], series[1], task.options["lag"], task.options["history"], 3)
            for mine, theirs in zip((present, source, given), ours, strict=True):
                np.testing.assert_array_equal(mine, theirs.numpy())


def test_ais_by_the_linear_prediction_error():
    """A Gaussian series' AIS is ``log(gamma_0 / v_h) / 2``, v_h the error variance of its best linear
    prediction from ``h`` past samples (the Yule-Walker equations on its autocovariances)."""
    from iblearn.data.tasks.tables import AIS_TABLE, PROCESSES

    for row in AIS_TABLE:
        coefs = PROCESSES[row.process]
        gammas = var_autocovariances(coefs, np.eye(coefs[0].shape[0]), row.history)
        auto = [g[row.target[0], row.target[0]] for g in gammas]
        h = row.history
        toeplitz = np.array([[auto[abs(i - j)] for j in range(h)] for i in range(h)])
        error = auto[0] - np.array(auto[1:]) @ np.linalg.solve(toeplitz, np.array(auto[1:]))
        assert get_exact_task(row.name).truth == pytest.approx(0.5 * math.log(auto[0] / error), abs=1e-10)
    # an AR(1) in closed form; a longer history adds nothing to it
    for name in ("ais-ar0.9", "ais-ar0.9-history2", "ais-ar0.9-warped"):
        assert get_exact_task(name).truth == pytest.approx(-0.5 * math.log(1 - 0.81), abs=1e-12)


def test_ais_samples_follow_active_information_storage():
    from iblearn.functional import gaussian_mi
    from iblearn.functional.information_dynamics import active_information_storage

    for task in exact_tasks("ais"):
        (series,) = task.sample(200, seed=0)
        present, past = ais_samples(task, series)
        assert present.shape == (200, 1) and past.shape == (200, task.options["history"])
        ours = active_information_storage(series, history=task.options["history"], method="gaussian")
        assert float(ours) == pytest.approx(
            float(gaussian_mi(torch.from_numpy(present), torch.from_numpy(past))), rel=1e-9
        )


def chain_rule_measures(cov: np.ndarray) -> dict[str, float]:
    """TC as the chain of MIs sum_i I(X_i; X_<i), S as sum_i I(X_i; X_-i), one column a variable."""
    m = len(cov)
    t = torch.from_numpy(cov)

    def mi(first: list[int], second: list[int]) -> float:
        idx = first + second
        return float(gaussian_mi_from_cov(t[idx][:, idx], len(first)))

    tc = sum(mi([i], list(range(i))) for i in range(1, m))
    s = sum(mi([i], [j for j in range(m) if j != i]) for i in range(m))
    return {"tc": tc, "s": s, "dtc": s - tc, "o": 2 * tc - s, "ii": 2 * tc - s}


def test_gaussian_multivariate_by_the_chain_rule():
    covs = {
        "gauss-3": G.random_correlation(3, "multi-gauss-3", 1.5),
        "gauss-5": G.random_correlation(5, "multi-gauss-5", 1.5),
        "gauss-8": G.random_correlation(8, "multi-gauss-8", 1.5),
        "redundant-3": G.redundant_cov(3, 1.0),
        "redundant-5": G.redundant_cov(5, 1.0),
        "redundant-10": G.redundant_cov(10, 1.0),
        "synergy-3": G.synergy_cov(3, 0.5),
        "synergy-5": G.synergy_cov(5, 0.5),
        "synergy-10": G.synergy_cov(10, 0.5),
    }
    checked = 0
    for task in exact_tasks("multivariate"):
        measure, _, system = task.name.partition("-")
        system = system.removesuffix("-warped")
        if system in covs and measure in ("tc", "dtc", "o", "s", "ii"):
            assert task.truth == pytest.approx(chain_rule_measures(covs[system])[measure], abs=1e-9), (
                task.name
            )
            checked += 1
    assert checked >= 20


def regression_mi(cov: np.ndarray, sources: list[int]) -> float:
    """I(X_S; T) = -1/2 log(1 - R^2), R^2 of the linear regression of T (the last column) on X_S."""
    c = cov[np.ix_(sources, [-1])][:, 0]
    r2 = c @ np.linalg.solve(cov[np.ix_(sources, sources)], c) / cov[-1, -1]
    return -0.5 * math.log(1 - r2)


def test_gaussian_pid_by_regression():
    systems = {
        "pid-gauss-sum": (G.pid_cov(0.0, 1.0, 1.0, 0.5), [0], [1]),
        "pid-gauss-correlated": (G.pid_cov(0.5, 1.0, 0.5, 0.5), [0], [1]),
        "pid-gauss-second": (G.pid_cov(0.3, 0.3, 1.0, 0.7), [0], [1]),
        "pid-gauss-2d-sources": (G.random_correlation(5, "pid-gauss-2d-sources", 1.5), [0, 1], [2, 3]),
    }
    for name, (cov, s1, s2) in systems.items():
        one, two, joint = regression_mi(cov, s1), regression_mi(cov, s2), regression_mi(cov, s1 + s2)
        red = min(one, two)
        parts = dict(zip(PID_PARTS, (red, one - red, two - red, joint - one - two + red), strict=True))
        for part, value in parts.items():
            task = f"{name}-{part.removeprefix('pid-')}"
            if task in {t.name for t in exact_tasks("multivariate")}:
                assert get_exact_task(task).truth == pytest.approx(value, abs=1e-10), task


# Values of the literature (in bits, times log 2): Williams & Beer 2010, Timme et al. 2014, dit's docs.
DISCRETE = {
    "tc-discrete-xor": 1,
    "dtc-discrete-xor": 2,
    "o-discrete-xor": -1,
    "s-discrete-xor": 3,
    "ii-discrete-xor": -1,
    "pid-synergy-discrete-xor": 1,
    "pid-redundancy-discrete-and": 0.311278124459133,  # 3/4 log2(4/3)... : h(1/4) - 1/2 bits
    "pid-synergy-discrete-and": 0.5,
    "pid-synergy-discrete-or": 0.5,
    "tc-discrete-copy": 2,
    "pid-redundancy-discrete-copy": 1,
    "o-discrete-rdn": 1,
    "pid-redundancy-discrete-rdn": 1,
    "pid-unique-1-discrete-unq": 1,
    "ii-discrete-sum": -0.5,
    "pid-synergy-discrete-sum": 1,
    "pid-redundancy-discrete-rdnxor": 1,
    "pid-synergy-discrete-rdnxor": 1,
    "o-discrete-parity-5": -3,
    "tc-discrete-parity-5": 1,
    "o-discrete-copies-5": 3,
}


def test_discrete_systems_against_the_literature():
    h = -(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75))
    assert DISCRETE["pid-redundancy-discrete-and"] == pytest.approx(h - 0.5)
    for name, bits in DISCRETE.items():
        assert get_exact_task(name).truth == pytest.approx(bits * LOG2, abs=1e-12), name
    assert get_exact_task("tc-discrete-and").truth == pytest.approx(h * LOG2, abs=1e-12)  # H(Y), X1, X2 free


def test_mi_family_is_the_standard_tasks():
    mine = {t.name: t for t in exact_tasks("mi")}
    for task in standard_tasks():
        assert mine[task.name].truth == task.mutual_information
        x, y = mine[task.name].sample(30, seed=2)
        x2, y2 = task.sample(30, seed=2)
        assert torch.equal(x, x2) and torch.equal(y, y2)


def test_one_task_type_for_every_family():
    """MI tasks and the tasks with exact answers are one type: dims give each array's width, labels its
    dtype, and an MI view of a task of another measure is refused, not made up."""
    from iblearn.data import Task

    for task in exact_tasks():
        assert isinstance(task, Task)
        arrays = task.sample(7, seed=0)
        assert task.dims == tuple(1 if a.ndim == 1 else a.shape[1] for a in arrays), task.name
        assert all((a.dtype == torch.int64) == (i in task.labels) for i, a in enumerate(arrays)), task.name
    mi = get_exact_task("categorical-uniform-5")
    assert (mi.dim_x, mi.dim_y, mi.y_discrete, mi.mutual_information) == (1, 1, True, mi.truth)
    with pytest.raises(ValueError, match="task"):
        _ = get_exact_task("cmi-gauss-1x1x1").mutual_information


# ------------------------------------------------------------------------------ class means given labels
def mixture_mi_by_adaptive_quadrature(weights, means) -> float:
    """h(X) - h(X | Y) with h(X) = -int f log f by scipy's adaptive quadrature (1 or 2 dimensions), an
    integral over x rather than over the noise, as the tasks' Gauss-Hermite rule takes it."""
    from scipy import integrate, stats

    p = np.asarray(weights, dtype=float) / np.sum(weights)
    mu = np.asarray(means, dtype=float).reshape(len(p), -1)
    dim = mu.shape[1]
    comps = [stats.multivariate_normal(m, np.eye(dim)) for m in mu]

    def minus_f_log_f(*v: float) -> float:
        f = sum(w * c.pdf(np.array(v)) for w, c in zip(p, comps, strict=True))
        return -f * math.log(f) if f > 0 else 0.0

    lo, hi = mu.min(axis=0) - 12, mu.max(axis=0) + 12
    if dim == 1:
        h = integrate.quad(minus_f_log_f, lo[0], hi[0], points=mu[:, 0].tolist(), epsabs=1e-13, limit=400)[0]
    else:
        h = integrate.dblquad(
            lambda b, a: minus_f_log_f(a, b), lo[0], hi[0], lo[1], hi[1], epsabs=1e-10, epsrel=1e-10
        )[0]
    return h - dim / 2 * math.log(2 * math.pi * math.e)


def test_class_means_truths_by_adaptive_quadrature():
    from iblearn.data.tasks.labels import _triangle

    cases = {
        "labels-class-means-2-shift1": ([0.5, 0.5], [[0.0], [1.0]]),
        "labels-class-means-2-shift4": ([0.5, 0.5], [[0.0], [4.0]]),
        "labels-class-means-2-p0.8-shift2": ([0.8, 0.2], [[0.0], [2.0]]),
        "labels-class-means-3-triangle-2d": ([1, 1, 1], _triangle(2.0)),
    }
    for name, (weights, means) in cases.items():
        expected = mixture_mi_by_adaptive_quadrature(weights, means)
        assert get_exact_task(name).truth == pytest.approx(expected, abs=1e-8), name


def test_class_means_limits_and_draws():
    from iblearn.data.tasks.labels import class_means

    same = class_means("same", [0.3, 0.7], np.zeros((2, 2)), "")
    assert same.truth == pytest.approx(0.0, abs=1e-12)  # one density for both labels
    p = [0.2, 0.3, 0.5]
    apart = class_means("apart", p, np.array([[0.0, 0.0], [60.0, 0.0], [0.0, 60.0]]), "")
    assert apart.truth == pytest.approx(-sum(q * math.log(q) for q in p), abs=1e-9)  # H(Y)
    assert get_exact_task("labels-class-means-2-shift4").truth < LOG2
    with pytest.raises(ValueError, match="weights"):
        class_means("one", [1.0], np.zeros((1, 1)), "")
    x, y = get_exact_task("labels-class-means-2-p0.8-shift2").sample(20_000, seed=0)
    assert x.dtype == torch.float64 and y.dtype == torch.int64 and tuple(x.shape) == (20_000, 1)
    assert float((y == 1).double().mean()) == pytest.approx(0.2, abs=0.01)
    assert float(x[y == 1].mean() - x[y == 0].mean()) == pytest.approx(2.0, abs=0.05)
    x, y = get_exact_task("labels-class-means-3-triangle-2d").sample(30, seed=0)
    assert tuple(x.shape) == (30, 2) and set(y.tolist()) <= {0, 1, 2}


def densities_mi_in_x(weights, locs, scales, dof=None) -> float:
    """sum_k p_k int phi_k log(phi_k / f) dx by scipy's adaptive quadrature over x, each half-line
    apart, with scipy's own densities: another variable and another code than the tasks' rule on the
    classes' quantiles."""
    from scipy import integrate, stats

    p = np.asarray(weights, dtype=float) / np.sum(weights)
    comps = [
        stats.norm(m, s) if dof is None else stats.t(dof, loc=m, scale=s)
        for m, s in zip(locs, scales, strict=True)
    ]
    total = 0.0
    for w, c in zip(p, comps, strict=True):

        def term(x: float, c=c) -> float:
            f = sum(q * d.pdf(x) for q, d in zip(p, comps, strict=True))
            return c.pdf(x) * (c.logpdf(x) - math.log(f)) if c.pdf(x) > 0 else 0.0

        total += w * sum(
            integrate.quad(term, a, b, limit=500, epsabs=1e-13)[0] for a, b in ((-np.inf, 0), (0, np.inf))
        )
    return total


def test_class_densities_truths_by_quadrature_over_x():
    cases = {
        "labels-student-2-shift2-dof3": ([1, 1], [0.0, 2.0], [1.0, 1.0], 3.0),
        "labels-cauchy-2-shift4": ([1, 1], [0.0, 4.0], [1.0, 1.0], 1.0),
        "labels-spread-2-sd1-sd3": ([1, 1], [0.0, 0.0], [1.0, 3.0], None),
        "labels-unequal-4": ([0.7, 0.15, 0.1, 0.05], [0.0, 1.5, -2.0, 4.0], [1.0, 0.5, 2.0, 1.0], None),
    }
    for name, case in cases.items():
        assert get_exact_task(name).truth == pytest.approx(densities_mi_in_x(*case), abs=1e-9), name
    # Equal spreads of normal classes: the class-means rule's Gauss-Hermite truth, and ten labels on a
    # line in five or twenty dimensions hold what they hold on the line.
    ten = get_exact_task("labels-many-10-shift1").truth
    assert ten == pytest.approx(classes_mi([1.0] * 10, np.arange(10.0)[:, None]), abs=1e-9)
    for dim in (5, 20):
        assert get_exact_task(f"labels-class-means-10-diagonal-{dim}d").truth == pytest.approx(ten, abs=1e-9)


def test_class_spreads_truth_by_quadrature_over_x():
    """Three labels on a triangle with spreads 1, 1.5 and 2: h(X) by adaptive quadrature of -f log f over
    the plane, less h(X | Y) in closed form, against the per-class Gauss-Hermite truth; and in one
    dimension the class-densities rule's truth."""
    from scipy import integrate

    from iblearn.data.tasks.labels import _triangle, class_spreads

    mu, scale, p = _triangle(2.0), np.array([1.0, 1.5, 2.0]), np.full(3, 1 / 3)

    def minus_f_log_f(b: float, a: float) -> float:
        x = np.array([a, b])
        f = p @ (np.exp(-0.5 * ((x - mu) ** 2).sum(1) / scale**2) / (2 * math.pi * scale**2))
        return -f * math.log(f) if f > 0 else 0.0

    h_x = integrate.dblquad(minus_f_log_f, -15, 15, -15, 15, epsabs=1e-10)[0]
    h_given = float(p @ np.log(2 * math.pi * math.e * scale**2))
    assert get_exact_task("labels-spreads-3-triangle-2d").truth == pytest.approx(h_x - h_given, abs=1e-8)
    line = class_spreads("line", [1, 3], np.array([[0.0], [1.0]]), [1.0, 2.5], "")
    assert line.truth == pytest.approx(densities_mi_in_x([1, 3], [0.0, 1.0], [1.0, 2.5], None), abs=1e-9)
    # One mean: the spreads alone, through the chi-squared across the (empty) span.
    same = class_spreads("same", [1, 1], np.zeros((2, 1)), [1.0, 3.0], "")
    assert same.truth == pytest.approx(densities_mi_in_x([1, 1], [0.0, 0.0], [1.0, 3.0], None), abs=1e-9)
    # Ten columns: the mean of the pointwise information over 200,000 draws, within 4 standard errors.
    task = get_exact_task("labels-spreads-5-line-10d")
    x, y = task.sample(200_000, seed=1)
    values = task.pointwise(x, y)
    assert abs(values.mean() - task.truth) < 4 * values.std() / math.sqrt(len(values))
    with pytest.raises(ValueError, match="weights"):  # means spanning three dimensions
        class_spreads("solid", [1] * 4, np.r_[np.zeros((1, 3)), np.eye(3)], [1.0] * 4, "")
    x, y = get_exact_task("labels-spreads-3-triangle-2d").sample(30_000, seed=0)
    ratio = x[y == 2].std(dim=0) / x[y == 0].std(dim=0)
    assert tuple(x.shape) == (30_000, 2) and ratio.tolist() == pytest.approx([2.0, 2.0], rel=0.03)


def test_class_means_truth_is_read_in_the_span_of_the_means():
    from iblearn.data.tasks.labels import _triangle

    flat = classes_mi([1, 2, 3], _triangle(2.0))
    rotation = np.linalg.qr(np.random.default_rng(0).standard_normal((5, 5)))[0]
    lifted = np.c_[_triangle(2.0), np.full((3, 3), 7.0)] @ rotation  # moved off 0 and turned in 5 dims
    assert classes_mi([1, 2, 3], lifted) == pytest.approx(flat, abs=1e-12)


def test_class_densities_limits_and_draws():
    same = class_densities("same", [0.3, 0.7], [1.0, 1.0], [2.0, 2.0], "", dof=3.0)
    assert same.truth == pytest.approx(0.0, abs=1e-12)  # one density for both labels
    p = [0.2, 0.3, 0.5]
    apart = class_densities("apart", p, [0.0, 100.0, 200.0], [1.0, 1.0, 1.0], "")
    assert apart.truth == pytest.approx(-sum(q * math.log(q) for q in p), abs=1e-9)  # H(Y)
    with pytest.raises(ValueError, match="weights"):
        class_densities("one", [1.0], [0.0], [1.0], "")
    with pytest.raises(ValueError, match="weights"):
        class_densities("short", [0.5, 0.5], [0.0], [1.0, 1.0], "")
    with pytest.raises(ValueError, match="scales"):
        class_densities("flat", [0.5, 0.5], [0.0, 1.0], [1.0, 0.0], "")
    x, y = get_exact_task("labels-spread-2-sd1-sd3").sample(40_000, seed=0)
    assert x.dtype == torch.float64 and y.dtype == torch.int64 and tuple(x.shape) == (40_000, 1)
    assert float(x[y == 1].std() / x[y == 0].std()) == pytest.approx(3.0, rel=0.03)
    x, y = get_exact_task("labels-unequal-4").sample(40_000, seed=0)
    shares = torch.bincount(y, minlength=4).double() / len(y)
    assert torch.allclose(shares, torch.tensor([0.7, 0.15, 0.1, 0.05], dtype=torch.float64), atol=0.01)


def test_class_means_by_monte_carlo():
    assert_monte_carlo([t for t in exact_tasks("mi") if t.name.startswith("labels-")], 40_000)
