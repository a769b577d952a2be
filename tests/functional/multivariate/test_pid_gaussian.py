"""gaussian_pid: the Gaussian PIDs (MMI, the ~-PID BROJA, CCS, I_dep) against closed forms, and from
samples through pid."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from iblearn.data.tasks import exact_tasks
from iblearn.functional import gaussian_pid, pid
from iblearn.functional.multivariate.pid_gaussian import (
    GAP_TOLERANCE,
    _channels,
    _value_gradient,
    frank_wolfe_gap,
    gaussian_broja_pid,
    union_information,
)


def channel_cov(hx: np.ndarray, hy: np.ndarray) -> np.ndarray:
    """(x1, x2, t): x1 = hx t + n1, x2 = hy t + n2, t and the noises standard and independent."""
    dx, dy = hx.shape[0], hy.shape[0]
    return np.block(
        [
            [hx @ hx.T + np.eye(dx), hx @ hy.T, hx],
            [hy @ hx.T, hy @ hy.T + np.eye(dy), hy],
            [hx.T, hy.T, np.eye(hx.shape[1])],
        ]
    )


def scalar_mmi(a: float, b: float) -> np.ndarray:
    one, two = 0.5 * math.log1p(a * a), 0.5 * math.log1p(b * b)
    joint = 0.5 * math.log1p(a * a + b * b)
    red = min(one, two)
    return np.array([red, one - red, two - red, joint - one - two + red])


def test_broja_of_a_univariate_target_is_mmi_by_the_solver() -> None:
    rng = np.random.default_rng(0)
    for dims in ((1, 1, 1), (2, 3, 1)):
        a = rng.normal(size=(sum(dims), sum(dims)))
        cov = a @ a.T + np.eye(sum(dims))
        broja = np.array([float(v) for v in gaussian_pid(cov, dims, "broja")])
        mmi = np.array([float(v) for v in gaussian_pid(cov, dims, "mmi")])
        assert broja == pytest.approx(mmi, abs=1e-6)


def test_broja_of_a_vector_target_is_the_sum_of_independent_scalar_systems() -> None:
    # gpid's doubling example: two independent channels, each a scalar-target system where BROJA = MMI.
    hx, hy = np.diag([2.0, 1.0]), np.diag([1.0, math.sqrt(2)])
    cov = channel_cov(hx, hy)
    got = np.array([float(v) for v in gaussian_pid(cov, (2, 2, 2), "broja")])
    truth = scalar_mmi(2.0, 1.0) + scalar_mmi(1.0, math.sqrt(2))
    assert got == pytest.approx(truth, abs=1e-6)
    mmi = np.array([float(v) for v in gaussian_pid(cov, (2, 2, 2), "mmi")])
    assert abs(mmi[0] - truth[0]) > 0.1  # MMI is not BROJA for a vector target


def test_union_information_is_the_objective_at_its_minimizer() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=(6, 6))
    h1, h2 = _channels(a @ a.T + np.eye(6), [0, 1], [2, 3], [4, 5])
    value, sigma, _ = union_information(h1, h2)
    s = np.eye(2) - sigma @ sigma.T
    b = h1 - sigma @ h2
    direct = 0.5 * np.linalg.slogdet(np.eye(2) + h2.T @ h2 + b.T @ np.linalg.solve(s, b))[1]
    assert np.linalg.norm(sigma, 2) < 1
    assert value == pytest.approx(direct, abs=1e-9)


def gpid_systems() -> list[tuple[np.ndarray, tuple[int, int, int]]]:
    """gpid's examples (scripts/canonical_examples.py, doubling_example.py) in iblearn's column order."""
    one, zero = np.ones((1, 1)), np.zeros((1, 1))
    out = [(channel_cov(one, one), (1, 1, 1)), (channel_cov(one, zero), (1, 1, 1))]
    for rho in (0.9,):  # ri+si: x2 = t + n2, Cov(n1, n2) = rho
        cov = channel_cov(one, one)
        cov[0, 1] = cov[1, 0] = 1 + rho
        out.append((cov, (1, 1, 1)))
    for gain in (0.0, 0.99, 2.0, 3.0):
        out.append((channel_cov(np.diag([gain, 1.0]), np.diag([1.0, math.sqrt(2)])), (2, 2, 2)))
    return out


def random_systems(n: int, seed: int) -> list[tuple[np.ndarray, tuple[int, int, int]]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        dims = tuple(int(d) for d in rng.integers(1, 4, size=3))
        a = rng.normal(size=(sum(dims), sum(dims)))
        out.append((a @ a.T + np.eye(sum(dims)), dims))
    return out


def test_broja_gap_is_below_the_tolerance_on_gpid_cases_and_random_systems() -> None:
    for cov, dims in gpid_systems() + random_systems(4, seed=5):
        _, gap = gaussian_broja_pid(cov, dims)
        assert 0 <= gap <= GAP_TOLERANCE


def test_broja_boundary_optimum_is_exact() -> None:
    # x_i = t + n_i: the optimum makes n1 = n2 (||Sigma|| = 1), where L-BFGS over K alone stops short.
    parts, gap = gaussian_broja_pid(channel_cov(np.ones((1, 1)), np.ones((1, 1))))
    assert gap <= GAP_TOLERANCE
    assert float(parts.redundancy) == pytest.approx(0.5 * math.log(2), abs=1e-11)


def test_a_broja_solve_stopped_early_reports_a_larger_gap_that_still_bounds_it() -> None:
    for cov, dims in random_systems(4, seed=7):
        full, gap = gaussian_broja_pid(cov, dims)
        early, early_gap = gaussian_broja_pid(cov, dims, max_iterations=1)
        assert early_gap > max(100 * gap, 1e-8)
        # the union information is one-sided: the early one is above the optimum by at most its gap
        excess = float(full.redundancy) - float(early.redundancy)
        assert -1e-12 <= excess <= early_gap + 1e-12


def test_the_gap_gradient_is_the_objective_s() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=(7, 7))
    h1, h2 = _channels(a @ a.T + np.eye(7), [0, 1, 2], [3, 4], [5, 6])
    sigma = 0.3 * rng.normal(size=(3, 2))
    _, grad = _value_gradient(h1, h2, sigma)
    numeric = np.zeros_like(sigma)
    for i in np.ndindex(sigma.shape):
        step = np.zeros_like(sigma)
        step[i] = 1e-6
        numeric[i] = (
            _value_gradient(h1, h2, sigma + step)[0] - _value_gradient(h1, h2, sigma - step)[0]
        ) / 2e-6
    assert grad == pytest.approx(numeric, abs=1e-8)
    # the gap is the best linear decrease over the ball: attained at S = -U V^T
    u, _, vt = np.linalg.svd(grad, full_matrices=False)
    assert frank_wolfe_gap(grad, sigma) == pytest.approx(float((grad * (sigma + u @ vt)).sum()), abs=1e-12)


def test_broja_warns_when_its_optimum_is_not_certified(monkeypatch: pytest.MonkeyPatch) -> None:
    import iblearn.functional.multivariate.pid_gaussian as pg

    monkeypatch.setattr(pg, "GAP_WARNING", 0.0)
    cov, dims = random_systems(1, seed=7)[0]
    with pytest.warns(RuntimeWarning, match="certified"):
        gaussian_pid(cov, dims, "broja")


def test_dep_and_ccs_split_the_sum_of_independent_sources() -> None:
    cov = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 2.25]])
    total = 0.5 * math.log(2.25 / 0.25)
    for measure in ("dep", "ccs"):
        parts = gaussian_pid(cov, (1, 1, 1), measure, n_draws=50_000)  # type: ignore[arg-type]
        assert float(parts.total) == pytest.approx(total, abs=1e-9)
        assert float(parts.unique_1) == pytest.approx(
            float(parts.unique_2), abs=1e-9 if measure == "dep" else 0.02
        )
        mmi_red = float(gaussian_pid(cov, (1, 1, 1), "mmi").redundancy)
        assert 0 <= float(parts.redundancy) < mmi_red


def test_dep_closed_form() -> None:
    # I_dep (Kay & Ince 2018): U1 = min(I1, I_ci - I2, I12 - I2), I_ci with x1, x2 independent given t.
    cov = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 2.25]])
    one = two = 0.5 * math.log(2.25 / 1.25)
    joint = 0.5 * math.log(2.25 / 0.25)
    ci = cov.copy()
    ci[0, 1] = ci[1, 0] = 1 / 2.25
    i_ci = 0.5 * math.log(np.linalg.det(ci[:2, :2]) * 2.25 / np.linalg.det(ci))
    parts = gaussian_pid(cov, (1, 1, 1), "dep")
    assert float(parts.unique_1) == pytest.approx(min(one, i_ci - two, joint - two), abs=1e-12)


@pytest.mark.parametrize("bad", [np.eye(2), -np.eye(3), np.array([[1.0, 2.0, 0], [0, 1, 0], [0, 0, 1]])])
def test_bad_covariance_raises(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"cov|dims"):
        gaussian_pid(bad, (1, 1, 1))


def test_unknown_redundancy_raises() -> None:
    with pytest.raises(ValueError, match="redundancy"):
        gaussian_pid(np.eye(3), (1, 1, 1), "min")  # type: ignore[arg-type]


def test_from_samples_vector_target_broja_is_the_sample_covariance_pid() -> None:
    g = torch.Generator().manual_seed(0)
    t = torch.randn(4000, 2, generator=g, dtype=torch.float64)
    x1 = t @ torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64) + torch.randn(
        4000, 2, generator=g, dtype=torch.float64
    )
    x2 = t @ torch.tensor([[1.0, 0.0], [0.0, 1.4142]], dtype=torch.float64) + torch.randn(
        4000, 2, generator=g, dtype=torch.float64
    )
    parts = pid(x1, x2, t, redundancy="broja", method="gaussian")
    truth = scalar_mmi(2.0, 1.0) + scalar_mmi(1.0, math.sqrt(2))
    assert [float(v) for v in parts] == pytest.approx(truth.tolist(), abs=0.03)
    for measure in ("ccs", "dep"):
        pid(x1, x2, t, redundancy=measure, method="gaussian")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="redundancy"):
        pid(x1, x2, t, redundancy="sx", method="gaussian")


def test_pid_tasks_carry_exact_atoms() -> None:
    tasks = {t.name: t for t in exact_tasks("pid")}
    bits = math.log(2)
    assert [v / bits for v in tasks["pid-xor"].options["atoms"]["broja"]] == pytest.approx(
        [0, 0, 0, 1], abs=1e-6
    )
    assert [v / bits for v in tasks["pid-copy"].options["atoms"]["mmi"]] == pytest.approx(
        [1, 0, 0, 1], abs=1e-9
    )
    for task in tasks.values():
        for atoms in task.options["atoms"].values():
            assert sum(atoms) == pytest.approx(task.truth, abs=1e-6)
    x1, x2, t = tasks["pid-gauss-2d-sources"].sample(10, seed=0)
    assert (x1.shape, x2.shape, t.shape) == ((10, 2), (10, 2), (10, 1))
    assert tasks["pid-and"].sample(5)[0].dtype == torch.int64
