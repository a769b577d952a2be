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

import numpy as np

__all__ = ["ROWS", "linearity"]

#: Rows :func:`linearity` reads at the most (spread evenly over the rows): its statistics grow with the
#: rows, so more only sharpen what this many already show.
ROWS = 20_000


def linearity(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """How each column of ``y`` ``(N, dy)`` depends on each column of ``x`` ``(N, dx)``: each column of
    ``y`` regressed linearly on all of ``x``; ``linear[i, j]``, the squared t statistic of column j's
    coefficient in column i's regression; ``nonlinear[i, j]``, ``N`` times the sum of the squared
    correlations of that regression's residuals with column j's standardized second and third
    Hermite polynomials, chi-square with 2 degrees of freedom where the regression is right (module
    notes). Both ``(dy, dx)``; None where the rows are too few (under four a coefficient) or a column
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
    step = -(-len(y) // ROWS)  # evenly spaced rows
    y, x = y[::step], x[::step]
    # Each column over its largest magnitude: no square overflows or vanishes, and no statistic changes.
    y, x = (a / np.abs(a).max(0).clip(np.finfo(np.float64).tiny) for a in (y, x))
    n, cols = x.shape
    spread = x.std(0)
    if n < 4 * (cols + 1) or not (spread > 0).all():
        return None
    z = (x - x.mean(0)) / spread
    design = np.column_stack([np.ones(n), z])
    gram_inv = np.linalg.pinv(design.T @ design, hermitian=True)
    beta = gram_inv @ (design.T @ y)
    resid = y - design @ beta
    var = (resid**2).sum(0) / (n - cols - 1)
    linear = (beta[1:] ** 2 / np.outer(np.diag(gram_inv)[1:], np.where(var > 0, var, np.inf))).T
    # He2 and He3 of a standard normal are orthogonal to every linear term of a Gaussian x, and the
    # residuals of the right model to every function of x.
    hermite = np.concatenate([z**2 - 1, z**3 - 3 * z], axis=1)
    hermite = hermite - hermite.mean(0)
    norms = np.linalg.norm(resid, axis=0)[:, None] * np.linalg.norm(hermite, axis=0)
    corr = (resid.T @ hermite) / norms.clip(1e-300)
    return linear, n * (corr[:, :cols] ** 2 + corr[:, cols:] ** 2)
