"""Whether a conditional mean is linear: the score test of a linear regression against its regressors'
squares and cubes, and the test of canonical variates against the cubes of the other side's and their
turning with its magnitude.

Where variables are jointly Gaussian, each one's mean given the others is linear in them, and a
Gaussian estimate of their information reads all of it. Where a variable depends on another through a
nonlinear function (``sin(2 x)``, ``tanh(2 x)``), a linear regression leaves part of that dependence
in its residuals, and a Gaussian estimate misses it. Under the linear model the residuals are
independent of every function of the regressors, so their correlation with the regressors' second and
third Hermite polynomials is about ``N(0, 1 / N)``: ``N`` times its square, summed over the two, is
chi-square with 2 degrees of freedom (a Lagrange-multiplier test: Luukkonen, Saikkonen & Terasvirta
1988 test a linear autoregression so, against the lagged values' powers).

Where x and y have several columns, a dependence can also bend along a direction that mixes them, and
turn with the magnitude of a variable: benchmark-mi's spiral rotates the plane of x's informative
columns by an angle growing with ``|x|^2`` (Czyz et al. 2023), so each column's mean given x is nearly
linear and the squares and cubes of single columns see little. To first order in the turn,
``R(a + b (|x|^2 - c)) u = R(a) u + b (|x|^2 - c) R'(a) u``: the products of x's canonical variates with
its centred squared norm explain part of what a linear regression of y's canonical variates on x leaves;
and where the informative columns are squashed before they turn (its normal-CDF spiral), the cubes of
x's canonical variates do (:func:`canonical_bend`).

References:
    P. Czyz, F. Grabowski, J. Vogt, N. Beerenwinkel, A. Marx. Beyond normal: on the evaluation of
    mutual information estimators. NeurIPS 2023.
    R. Luukkonen, P. Saikkonen, T. Terasvirta. Testing linearity against smooth transition
    autoregressive models. Biometrika 75, 491 (1988).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy import stats

__all__ = [
    "COLUMNS",
    "ROWS",
    "RTOL",
    "Bend",
    "CanonicalBend",
    "bend_between",
    "canonical_bend",
    "linearity",
    "strongest_bend",
]

#: Rows :func:`linearity` reads at the most (spread evenly over the rows): at 2,000 a square or cube
#: that explains 2% of a column (about 0.01 nats a Gaussian estimate misses) reads a statistic near 40,
#: p about 2e-9, below 1e-3 after a correction over hundreds of pairs; more rows only sharpen that.
ROWS = 2_000
#: Share of a column's variance at or below which what a linear regression leaves of it is round-off
#: (as :func:`~iblearn.functional.gaussian.gaussian_mi`'s ``rtol`` reads ``1 - rho^2``).
RTOL = 1e-9
#: Columns a side :func:`strongest_bend` reads at the most (spread evenly): every column where KSG
#: could take an estimate (10 dimensions) and a little beyond, but not hundreds, whose regressions cost
#: more than the estimate they vouch for.
COLUMNS = 16


def linearity(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """How each column of ``y`` ``(N, dy)`` depends on each column of ``x`` ``(N, dx)``: each column of
    ``y`` regressed linearly on all of ``x``; ``linear[i, j]``, the squared t statistic of column j's
    coefficient in column i's regression; ``nonlinear[i, j]``, ``N`` times the sum of the squared
    correlations of that regression's residuals with column j's standardized second and third
    Hermite polynomials, chi-square with 2 degrees of freedom where the regression is right (module
    notes). Both ``(dy, dx)``; ``nonlinear`` 0 for a column of ``y`` that is a linear function of ``x``
    to round-off (:data:`RTOL`); None where the rows are too few (under four a coefficient) or a column
    of ``x`` is constant.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal((2000, 2))
        >>> y = np.sin(2 * x[:, :1]) + rng.standard_normal((2000, 1))
        >>> linear, nonlinear = linearity(y, x)
        >>> bool(nonlinear[0, 0] > max(linear[0, 0], 30.0)), bool(nonlinear[0, 1] < 30.0)
        (True, True)
    """
    y, x = np.asarray(y, dtype=np.float64), np.asarray(x, dtype=np.float64)
    step = max(1, -(-len(y) // ROWS))  # evenly spaced rows
    y, x = y[::step], x[::step]
    n, cols = x.shape
    if n < 4 * (cols + 1):
        return None
    # Each column over its largest magnitude: no square overflows or vanishes, and no statistic changes.
    y, x = (a / np.abs(a).max(0).clip(np.finfo(np.float64).tiny) for a in (y, x))
    spread = x.std(0)
    if not (spread > 0).all():
        return None
    z = (x - x.mean(0)) / spread
    # The regression through the eigenvectors of the design's Gram matrix, those above 1e-12 of the
    # largest kept (singular values above 1e-6 of the largest): columns that repeat others (a variable on
    # a subspace) leave its residuals as they are.
    design = np.column_stack([np.ones(n), z])
    eigen, vectors = np.linalg.eigh(design.T @ design)
    keep = eigen > 1e-12 * eigen[-1]
    eigen, vectors = eigen[keep], vectors[:, keep]
    gram_inv = (vectors / eigen) @ vectors.T
    beta = gram_inv @ (design.T @ y)
    resid = y - design @ beta
    var = (resid**2).sum(0) / max(1, n - len(eigen))
    linear = (beta[1:] ** 2 / np.outer(np.diag(gram_inv)[1:], np.where(var > 0, var, np.inf))).T
    # He2 and He3 of a standard normal are orthogonal to every linear term of a Gaussian x, and the
    # residuals of the right model to every function of x.
    square = z * z
    hermite = np.concatenate([square - 1, z * (square - 3)], axis=1)
    hermite = hermite - hermite.mean(0)
    norms = np.linalg.norm(resid, axis=0)[:, None] * np.linalg.norm(hermite, axis=0)
    corr = (resid.T @ hermite) / norms.clip(1e-300)
    nonlinear = n * (corr[:, :cols] ** 2 + corr[:, cols:] ** 2)
    # A linear function of x to round-off (1 - R^2 at most RTOL): its residuals are rounding, whose
    # correlations say nothing.
    exact = (resid**2).sum(0) <= RTOL * ((y - y.mean(0)) ** 2).sum(0)
    nonlinear[exact] = 0.0
    return linear, nonlinear


class Bend(NamedTuple):
    """The strongest dependence of a column of y on a column of x through its square or cube."""

    #: the Lagrange-multiplier statistic (chi-square with 2 degrees of freedom under linearity)
    statistic: float
    #: its p-value times the pairs tested (Bonferroni), at most 1
    p_value: float
    #: the column of y, and the column of x it depends on
    response: int
    regressor: int


def strongest_bend(y: np.ndarray, x: np.ndarray, responses: Sequence[int] | None = None) -> Bend | None:
    """The largest statistic of :func:`linearity` of the columns ``responses`` of ``y`` (None: all) on
    ``x``, each on at most :data:`COLUMNS` of x's columns (spread evenly) and at most that many
    responses, with its p-value corrected over every pair tested; None where :func:`linearity` gives
    none. ``x`` may be ``y`` itself: each response is then regressed on the other columns.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal((2000, 3))
        >>> y = np.sin(2 * x[:, 1:2]) + rng.standard_normal((2000, 1))
        >>> bend = strongest_bend(y, x)
        >>> (bend.response, bend.regressor), bend.p_value < 1e-6
        ((0, 1), True)
    """

    def spread(d: int) -> list[int]:
        return sorted({round(i) for i in np.linspace(0, d - 1, min(d, COLUMNS))})

    rows = list(range(y.shape[1])) if responses is None else list(responses)
    rows = [rows[i] for i in spread(len(rows))]
    step = max(1, -(-len(y) // ROWS))  # the rows linearity reads, before the columns are copied
    same = x is y
    y, x = y[::step], x[::step]
    best: Bend | None = None
    tests = 0
    if not same:  # every response on the same columns: one regression
        cols = spread(x.shape[1])
        stats = linearity(y[:, rows], x[:, cols])
        if stats is None:
            return None
        at = np.unravel_index(int(np.argmax(stats[1])), stats[1].shape)
        best = Bend(float(stats[1][at]), 0.0, rows[int(at[0])], cols[int(at[1])])
        tests = stats[1].size
    for r in rows if same else ():
        others = [j for j in spread(x.shape[1]) if j != r]
        stats = linearity(y[:, r : r + 1], x[:, others])
        if stats is None:
            return None
        nonlinear = stats[1][0]
        tests += len(others)
        top = int(np.argmax(nonlinear))
        if best is None or nonlinear[top] > best.statistic:
            best = Bend(float(nonlinear[top]), 0.0, r, others[top])
    if best is None:
        return None
    # chi-square with 2 degrees of freedom: its survival function is exp(-s / 2)
    return best._replace(p_value=min(1.0, math.exp(-best.statistic / 2) * tests))


def bend_between(x: np.ndarray, y: np.ndarray) -> tuple[Bend, str] | None:
    """The stronger of :func:`strongest_bend` of y on x and of x on y, its p-value corrected over both,
    and which it is (``"y on x"`` or ``"x on y"``); None where either gives none."""
    on_x, on_y = strongest_bend(y, x), strongest_bend(x, y)
    if on_x is None or on_y is None:
        return None
    bend, side = (on_y, "x on y") if on_y.statistic > on_x.statistic else (on_x, "y on x")
    return bend._replace(p_value=min(1.0, 2 * bend.p_value)), side


class CanonicalBend(NamedTuple):
    """The strongest dependence of a canonical variate of one side on the cubes of the other side's
    canonical variates and their products with that side's squared norm, beyond the linear regression
    on that side."""

    #: the share of the regression's residual variance the cubes and products explain
    share: float
    #: its p-value (the F test of the cubes and products, exact for Gaussian residuals) times the tests,
    #: at most 1
    p_value: float
    #: canonical pairs tested: the canonical correlations above the largest of shuffled rows'
    pairs: int


def _basis(t: np.ndarray) -> np.ndarray:
    """An orthonormal basis of the centred columns of ``t``, of their rank (eigenvalues of their Gram
    matrix above 1e-12 of the largest, as :func:`linearity` keeps; an SVD of the rows costs ten times
    more)."""
    t = t / np.abs(t).max(0).clip(np.finfo(np.float64).tiny)
    t = t - t.mean(0)
    eigen, vectors = np.linalg.eigh(t.T @ t)
    keep = eigen > 1e-12 * max(eigen[-1], np.finfo(np.float64).tiny) if eigen.size else eigen > 0
    return (t @ vectors[:, keep]) / np.sqrt(eigen[keep])


def canonical_bend(x: np.ndarray, y: np.ndarray) -> CanonicalBend | None:
    """Whether the dependence of ``x`` ``(N, dx)`` and ``y`` ``(N, dy)`` bends along its canonical
    directions or turns with the magnitude of either (module notes). Where x and y are jointly Gaussian,
    each canonical variate of y is a linear function of x plus a Gaussian residual independent of x, so
    the share ``R^2`` of that residual that the cubes of x's k canonical variates and their products
    with x's centred squared norm explain is ``Beta(k, (N - 1 - dx - 2 k) / 2)`` (the F test of 2 k
    added regressors), and the same with the sides exchanged; the smallest p-value, times the tests, is
    the test's. The canonical pairs (``k``) are those whose correlation exceeds the largest of x against
    y's rows shuffled (seed 0). At most :data:`ROWS` rows, spread evenly. None where no canonical pair
    stands out, or the rows are too few for the regressions (twice the columns of a side and the pairs).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal((4000, 6))
        >>> y = x[:, :2] + 0.5 * rng.standard_normal((4000, 2))
        >>> turn = 0.5 * ((x**2).sum(1) - 6)  # the angle grows with |x|^2
        >>> c, s = np.cos(turn), np.sin(turn)
        >>> spun = np.column_stack([c * y[:, 0] - s * y[:, 1], s * y[:, 0] + c * y[:, 1]])
        >>> canonical_bend(x, spun).p_value < 1e-6, canonical_bend(x, y).p_value > 1e-3
        (True, True)
    """
    y, x = np.asarray(y, dtype=np.float64), np.asarray(x, dtype=np.float64)
    step = max(1, -(-len(y) // ROWS))
    x, y = x[::step], y[::step]
    n = len(x)
    if n < 2 * (x.shape[1] + y.shape[1]) + 8:
        return None
    wx, wy = _basis(x), _basis(y)
    if not (wx.shape[1] and wy.shape[1]):
        return None
    left, rho, right = np.linalg.svd(wx.T @ wy)
    null = np.linalg.svd(wx.T @ wy[np.random.default_rng(0).permutation(n)], compute_uv=False)
    k = int((rho > null.max()).sum())
    if k == 0:
        return None
    u, v = wx @ left[:, :k], wy @ right[:k].T
    best: tuple[float, float] = (0.0, 1.0)
    for w, a, b in ((wx, u, v), (wy, v, u)):
        # w is orthonormal and centred: the regression on [1, w] is the projection onto w.
        resid = b - w @ (w.T @ b)
        norm = (w**2).sum(1)
        bent = np.concatenate([a**3, a * (norm - norm.mean())[:, None]], axis=1)
        bent -= bent.mean(0) + w @ (w.T @ bent)
        basis = _basis(bent) if np.abs(bent).max() > 0 else bent[:, :0]
        df, rest = basis.shape[1], n - 1 - w.shape[1] - basis.shape[1]
        if df == 0 or rest < 1:
            continue
        share = ((basis.T @ resid) ** 2).sum(0) / np.maximum((resid**2).sum(0), np.finfo(np.float64).tiny)
        p_values = stats.beta.sf(share, df / 2, rest / 2)
        top = int(np.argmin(p_values))
        if p_values[top] < best[1]:
            best = (float(share[top]), float(p_values[top]))
    return CanonicalBend(best[0], min(1.0, best[1] * 2 * k), k)
