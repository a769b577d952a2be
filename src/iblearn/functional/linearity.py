"""Whether a conditional mean is linear: the score test of a linear regression against its regressors'
squares and cubes.

Where variables are jointly Gaussian, each one's mean given the others is linear in them, and a
Gaussian estimate of their information reads all of it. Where a variable depends on another through a
nonlinear function (``sin(2 x)``, ``tanh(2 x)``), a linear regression leaves part of that dependence
in its residuals, and a Gaussian estimate misses it. Under the linear model the residuals are
independent of every function of the regressors, so their correlation with the regressors' second and
third Hermite polynomials is about ``N(0, 1 / N)``: ``N`` times its square, summed over the two, is
chi-square with 2 degrees of freedom (a Lagrange-multiplier test: Luukkonen, Saikkonen & Terasvirta
1988 test a linear autoregression so, against the lagged values' powers).

References:
    R. Luukkonen, P. Saikkonen, T. Terasvirta. Testing linearity against smooth transition
    autoregressive models. Biometrika 75, 491 (1988).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

__all__ = ["COLUMNS", "ROWS", "RTOL", "Bend", "bend_between", "linearity", "strongest_bend"]

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
