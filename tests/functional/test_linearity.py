"""Whether a conditional mean is linear (the score test of a linear regression against its regressors'
squares and cubes), of independent rows and of each process's present on the lagged values:
chi-square with 2 degrees of freedom where the regression is right, far above it and above the linear
statistic for a dependence through sin(2 x), and below the linear statistic for a mostly linear one
(tanh). The canonical test (cubes of canonical variates, their turning with magnitude): at its level on
Gaussians, far below it on a spiral and on a bend along a direction that mixes the columns."""

from __future__ import annotations

import numpy as np
import pytest

from iblearn.functional.linearity import canonical_bend, linearity
from iblearn.functional.serial import lag_linearity


def coupled(f, t: int = 3000, seed: int = 0) -> np.ndarray:
    """Three processes with memory 0.3: process 0 drives process 2 at lag 2 through ``f``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((t + 200, 3))
    for step in range(2, len(x)):
        x[step] += 0.3 * x[step - 1]
        x[step, 2] += 0.6 * f(x[step - 2, 0])
    return x[200:]


def test_a_linear_autoregression_reads_as_chi_square_with_two_degrees():
    stats = [lag_linearity([coupled(lambda v: v, seed=s)], [1, 2])[1] for s in range(20)]
    pooled = np.concatenate([s.ravel() for s in stats])
    assert pooled.shape == (20 * 3 * 3 * 2,)
    # chi-square(2): mean 2, and exp(-s / 2) uniform (5% beyond 5.99)
    assert 1.6 < pooled.mean() < 2.4
    assert 0.01 < (pooled > 5.99).mean() < 0.1


def test_a_nonmonotone_coupling_reads_at_its_source_and_lag_above_its_linear_part():
    linear, nonlinear = lag_linearity([coupled(lambda v: np.sin(2 * v))], [1, 2])
    assert linear.shape == nonlinear.shape == (3, 3, 2)  # [target, source, lag]
    assert nonlinear[2, 0, 1] > max(linear[2, 0, 1], 100.0)
    others = np.ones_like(nonlinear, dtype=bool)
    others[2, 0, 1] = False
    others[2, 0, 0] = False  # the source's memory carries a little of it to lag 1
    assert nonlinear[others].max() < 25.0


def test_a_mostly_linear_coupling_reads_below_its_linear_part():
    linear, nonlinear = lag_linearity([coupled(np.tanh)], [1, 2])
    assert nonlinear[2, 0, 1] < linear[2, 0, 1]


def test_trials_pool_and_too_few_rows_or_a_constant_column_give_none():
    x = coupled(lambda v: np.sin(2 * v))
    pooled = lag_linearity([x[:1500], x[1500:]], [2])
    assert pooled is not None and pooled[1][2, 0, 0] > 50.0
    assert lag_linearity([x[:20]], [1, 2]) is None
    flat = x.copy()
    flat[:, 1] = 1.0
    assert lag_linearity([flat], [1]) is None


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_the_statistics_do_not_depend_on_scale(scale):
    x = coupled(lambda v: np.sin(2 * v))
    ref = lag_linearity([x], [1, 2])
    got = lag_linearity([x * scale], [1, 2])
    assert ref is not None and got is not None
    for a, b in zip(ref, got, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_independent_rows_read_at_the_column_they_depend_on():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4000, 3))
    y = np.column_stack([np.sin(2 * x[:, 1]), 0.8 * x[:, 0]]) + rng.standard_normal((4000, 2))
    linear, nonlinear = linearity(y, x)
    assert linear.shape == nonlinear.shape == (2, 3)
    assert nonlinear[0, 1] > max(linear[0, 1], 100.0)
    assert linear[1, 0] > 1000.0 and nonlinear[1, 0] < 20.0
    assert nonlinear[0, [0, 2]].max() < 20.0


def test_no_rows_one_row_or_a_constant_regressor_give_none():
    from iblearn.functional.linearity import bend_between, strongest_bend

    for n in (0, 1, 7):
        assert linearity(np.zeros((n, 1)), np.ones((n, 2))) is None
        assert strongest_bend(np.zeros((n, 2)), np.zeros((n, 2))) is None
    x = np.random.default_rng(0).standard_normal((500, 2))
    assert bend_between(x[:, :1], np.ones((500, 1))) is None


def _gaussian_pair(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.standard_normal((n, 4))
    y = rng.standard_normal((n, 3))
    y[:, :2] = 0.6 * x[:, :2] + 0.8 * y[:, :2]
    return x, y


def _turned(x: np.ndarray, y: np.ndarray, speed: float) -> np.ndarray:
    """y's first two columns turned by an angle growing with x's squared norm."""
    turn = speed * ((x**2).sum(1) - x.shape[1])
    c, s = np.cos(turn), np.sin(turn)
    out = y.copy()
    out[:, 0], out[:, 1] = c * y[:, 0] - s * y[:, 1], s * y[:, 0] + c * y[:, 1]
    return out


def test_the_canonical_test_holds_its_level_on_gaussians():
    # Corrected over 2 k tests (Bonferroni): at most 5% of Gaussian draws below 0.05, and not far fewer
    # (two canonical pairs stand out: four tests).
    rng = np.random.default_rng(0)
    found = [canonical_bend(*_gaussian_pair(1000, rng)) for _ in range(200)]
    assert all(m is not None and m.pairs >= 2 for m in found)
    ps = np.array([m.p_value for m in found])
    assert 0.005 <= (ps < 0.05).mean() <= 0.08
    assert (ps < 1e-3).sum() <= 1


def test_a_turn_with_magnitude_reads_far_beyond_the_level_either_way_round():
    rng = np.random.default_rng(1)
    x, y = _gaussian_pair(3000, rng)
    y = _turned(x, y, 0.15)
    assert canonical_bend(x, y).p_value < 1e-10
    assert canonical_bend(y, x).p_value < 1e-10


def test_a_bend_along_a_mixed_direction_reads_far_beyond_the_level():
    # y depends on the mean of x's eight columns through tanh: each column alone carries an eighth of
    # the direction, whose square and cube the single columns' test sees far less of.
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3000, 8))
    y = rng.standard_normal((3000, 2))
    y[:, 0] = np.tanh(2 * x.mean(1) * np.sqrt(8)) + 0.3 * y[:, 0]
    bent = canonical_bend(x, y)
    assert bent is not None and bent.pairs == 1 and bent.p_value < 1e-10
    assert bent.p_value < min(1.0, np.exp(-linearity(y, x)[1].max() / 2) * 16)


def test_the_canonical_test_does_not_depend_on_scale_or_shift():
    rng = np.random.default_rng(2)
    x, y = _gaussian_pair(1500, rng)
    y = _turned(x, y, 0.05)
    base = canonical_bend(x, y)
    moved = canonical_bend(x * 1e6 + 3.0, y * 1e-6 - 2.0)
    assert base is not None and moved is not None and base.pairs == moved.pairs
    assert moved.share == pytest.approx(base.share, rel=1e-8)
    assert moved.p_value == pytest.approx(base.p_value, rel=1e-6)


def test_the_canonical_test_gives_none_without_a_canonical_pair_or_rows():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((2000, 3)), rng.standard_normal((2000, 3))
    assert canonical_bend(x, y) is None  # independent: no canonical correlation above the shuffled rows'
    x, y = _gaussian_pair(20, rng)
    assert canonical_bend(x, y) is None  # 20 rows for 4 + 3 columns
    assert canonical_bend(np.zeros((500, 2)), rng.standard_normal((500, 2))) is None  # a constant side
