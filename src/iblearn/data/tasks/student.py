"""Student-t tasks: any measure of a centred multivariate Student-t (or of its copula with Gaussian
margins), exact from the entropies of Arellano-Valle, Contreras-Reyes & Genton (2013)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from scipy import linalg, stats
from scipy.special import digamma, gammaln

from iblearn import _checks as V
from iblearn.data.tasks.base import Array, Task, density_task, in_range, split, truth_of
from iblearn.functional.gaussian import gaussian_mi_from_cov


def student_entropy_part(dim: int, dof: float) -> float:
    """e(d): the entropy of a standard d-variate Student-t less ``1/2 log det`` of its dispersion and
    ``d/2 log(nu pi)``, which cancel in an MI (Arellano-Valle, Contreras-Reyes & Genton 2013)."""
    half = 0.5 * (dof + dim)
    return float(gammaln(0.5 * dof) - gammaln(half) + half * (digamma(half) - digamma(0.5 * dof)))


def student_entropy(dispersion: Array, cols: tuple[int, ...], dof: float) -> float:
    """h(X_S) of a multivariate Student-t: its marginal on S is a t with the same ``dof`` and the
    dispersion's S block."""
    sub = dispersion[np.ix_(cols, cols)]
    d = len(cols)
    return (
        0.5 * float(np.linalg.slogdet(sub)[1])
        + 0.5 * d * math.log(dof * math.pi)
        + student_entropy_part(d, dof)
    )


def student_logpdf(v: Array, dispersion: Array, dof: float) -> Array:
    """log density of a centred multivariate Student-t at each row of ``v``."""
    d = dispersion.shape[0]
    chol = np.linalg.cholesky(dispersion)
    white = linalg.solve_triangular(chol, v.T, lower=True)
    q = (white**2).sum(0)
    norm = gammaln(0.5 * (dof + d)) - gammaln(0.5 * dof) - 0.5 * d * math.log(dof * math.pi)
    return norm - np.log(np.diag(chol)).sum() - 0.5 * (dof + d) * np.log1p(q / dof)


def t_to_normal(v: Array, scale: Array, dof: float) -> Array:
    """Each column's Student-t margin mapped to N(0, 1), by tails (accurate far out)."""
    return np.sign(v) * stats.norm.isf(stats.t.sf(np.abs(v) / scale, dof))


def normal_to_t(v: Array, scale: Array, dof: float) -> Array:
    """The inverse of :func:`t_to_normal`."""
    return np.sign(v) * stats.t.isf(stats.norm.sf(np.abs(v)), dof) * scale


def student_task(
    name: str,
    measure: str,
    dispersion: Array,
    dof: float,
    groups: Sequence[Sequence[int]],
    description: str,
    normal_margins: bool = False,
) -> Task:
    """Centred multivariate Student-t (dispersion, ``dof``): every marginal is a t with the same ``dof``,
    so each entropy is ``1/2 log det`` of its block plus ``d/2 log(nu pi)`` plus e(d) (Arellano-Valle
    et al. 2013). With ``normal_margins`` each column is mapped to N(0, 1) (a t copula with Gaussian
    margins: the same truth).

    Example:
        >>> t = student_task("t", "mi", np.eye(4), 1.0, [[0, 1], [2, 3]], "uncorrelated, dependent")
        >>> round(t.truth, 4)  # e(2) + e(2) - e(4), bmi's Student-t 2 x 2 with 1 dof
        0.4319
    """
    disp = np.asarray(dispersion, dtype=np.float64)
    d = disp.shape[0]
    chol = np.linalg.cholesky(disp)
    scale = np.sqrt(np.diag(disp))
    truth = truth_of(measure, groups, lambda cols: student_entropy(disp, cols, dof))

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        g = rng.standard_normal((n, d)) @ chol.T
        v = g / np.sqrt(rng.chisquare(dof, (n, 1)) / dof)
        return split(t_to_normal(v, scale, dof) if normal_margins else v, measure, groups)

    def logpdf(v: Array, cols: tuple[int, ...]) -> Array:
        return student_logpdf(v[:, list(cols)], disp[np.ix_(cols, cols)], dof)

    def prepare(v: Array) -> Array:
        return normal_to_t(v, scale, dof) if normal_margins else v

    return density_task(name, measure, groups, truth, description, sampler, logpdf, prepare)


def student_t(dim_x: int = 2, dim_y: int = 2, dof: float = 1.0, rho: float = 0.0) -> Task:
    """Multivariate Student-t whose dispersion has correlation ``rho`` between x_i and y_i (the first
    min(dx, dy) pairs) and identity elsewhere: X and Y depend on each other through the correlation and
    through the shared scale, even where uncorrelated. I = I_G(R) + e(dx) + e(dy) - e(dx + dy), with
    I_G the Gaussian MI of the dispersion matrix R and e of :func:`student_entropy_part`
    (Arellano-Valle et al. 2013; 0.4320 nats for 2 x 2, 1 degree of freedom and rho 0, bmi's
    "Student-t 2 x 2 (dof=1)")."""
    dim_x, dim_y = V.positive_int(dim_x, "dim_x"), V.positive_int(dim_y, "dim_y")
    dof, rho = in_range(dof, "dof", 0), in_range(rho, "rho", -1, 1)
    shape = np.eye(dim_x + dim_y)
    for i in range(min(dim_x, dim_y)):
        shape[i, dim_x + i] = shape[dim_x + i, i] = rho
    mi = (
        float(gaussian_mi_from_cov(torch.from_numpy(shape), dim_x))
        + student_entropy_part(dim_x, dof)
        + student_entropy_part(dim_y, dof)
        - student_entropy_part(dim_x + dim_y, dof)
    )
    chol = np.linalg.cholesky(shape)

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        # scipy's multivariate_t.rvs, in its order of draws, with a Cholesky factor: its SVD factor of a
        # dispersion with repeated eigenvalues (several pairs of one rho) follows the BLAS kernel's rounding,
        # and the rows drawn would differ from one machine to another.
        scale = np.ones(n) if np.isinf(dof) else rng.chisquare(dof, size=n) / dof
        xy = rng.standard_normal((n, dim_x + dim_y)) @ chol.T / np.sqrt(scale)[:, None]
        return xy[:, :dim_x], xy[:, dim_x:]

    return Task(
        f"student-t-{dim_x}x{dim_y}-dof{dof:g}" + (f"-rho{rho:g}" if rho else ""),
        "mi",
        mi,
        "multivariate Student-t" + (f", dispersion correlation {rho:g}" if rho else ", identity dispersion"),
        sampler,
        (dim_x, dim_y),
    )
