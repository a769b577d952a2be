"""Sampling tasks whose mutual information is known in closed form.

Each :class:`Task` samples ``(x, y)`` reproducibly from a seed and carries ``mutual_information`` in
nats, so a test or benchmark reads ``assert float(est(x, y)) == approx(task.mutual_information, ...)``
(the pattern of the bmi benchmark, Czyz et al. 2023, whose task definitions these follow). Continuous
samples are float64 ``(N, d)``; a discrete variable is int64 ``(N,)`` and always comes second.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from scipy import integrate, stats
from scipy.special import digamma, gammaln
from torch import Tensor

from iblearn import _checks as V
from iblearn.functional.gaussian import gaussian_mi_from_cov

Sampler = Callable[[int, np.random.Generator], tuple[NDArray[Any], NDArray[Any]]]


@dataclass(frozen=True)
class Task:
    """A joint distribution of (X, Y) with known I(X; Y).

    Attributes:
        name: short identifier, e.g. ``"dense-gaussian-5x5"``.
        mutual_information: I(X; Y) in nats.
        dim_x, dim_y: dimensions (``dim_y = 1`` with ``y_discrete`` for labels ``(N,)``).
        description: how the task is built and where its MI comes from.
        sampler: ``(n, numpy Generator) -> (x, y)`` arrays.
        y_discrete: whether y is integer labels.
    """

    name: str
    mutual_information: float
    dim_x: int
    dim_y: int
    description: str
    sampler: Sampler = field(repr=False, compare=False)
    y_discrete: bool = False

    def sample(self, n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
        """``n`` samples, reproducible from ``seed``."""
        V.positive_int(n, "n")
        x, y = self.sampler(n, np.random.default_rng(seed))
        ty = (
            torch.as_tensor(y, dtype=torch.int64)
            if self.y_discrete
            else torch.as_tensor(y, dtype=torch.float64)
        )
        return torch.as_tensor(x, dtype=torch.float64), ty


def _split(xy: NDArray[Any], dim_x: int) -> tuple[NDArray[Any], NDArray[Any]]:
    return xy[:, :dim_x], xy[:, dim_x:]


def gaussian(cov: NDArray[Any], dim_x: int, name: str, description: str) -> Task:
    """Zero-mean Gaussian with joint covariance ``cov``; the first ``dim_x`` coordinates are X."""
    cov = np.asarray(cov, dtype=np.float64)
    chol = np.linalg.cholesky(cov)
    mi = float(gaussian_mi_from_cov(torch.from_numpy(cov), dim_x))

    def sampler(n: int, rng: np.random.Generator) -> tuple[NDArray[Any], NDArray[Any]]:
        return _split(rng.standard_normal((n, cov.shape[0])) @ chol.T, dim_x)

    return Task(name, mi, dim_x, cov.shape[0] - dim_x, description, sampler=sampler)


def bivariate_normal(rho: float = 0.75) -> Task:
    """Standard bivariate normal with correlation rho: I = -1/2 log(1 - rho^2) (0.4133 for 0.75)."""
    return gaussian(
        np.array([[1.0, rho], [rho, 1.0]]),
        1,
        f"bivariate-normal-{rho:g}",
        "standard bivariate normal; I = -log(1 - rho^2) / 2",
    )


def dense_gaussian(dim: int, corr: float = 0.5) -> Task:
    """X, Y each ``dim``-dimensional; every pair of the 2*dim coordinates has correlation ``corr``.

    I = 1/2 (2 log det S_d - log det S_2d), det of the n x n equicorrelation matrix being
    (1 - c)^(n-1) (1 + (n - 1) c).
    """
    n = 2 * dim
    cov = np.full((n, n), corr) + (1 - corr) * np.eye(n)
    return gaussian(
        cov,
        dim,
        f"dense-gaussian-{dim}x{dim}",
        f"all {n} coordinates pairwise correlated at {corr:g}; closed-form log-determinants",
    )


def sparse_gaussian(dim: int, n_pairs: int = 2, rho: float = 0.8) -> Task:
    """X_i and Y_i correlated at rho for i < n_pairs, all else independent noise:
    I = -n_pairs/2 log(1 - rho^2) (1.0217 for two pairs at 0.8), whatever ``dim``."""
    cov = np.eye(2 * dim)
    for i in range(n_pairs):
        cov[i, dim + i] = cov[dim + i, i] = rho
    return gaussian(
        cov,
        dim,
        f"{n_pairs}-pair-gaussian-{dim}x{dim}",
        f"{n_pairs} pairs (x_i, y_i) at correlation {rho:g}, the other coordinates noise",
    )


def additive_uniform(eps: float) -> Task:
    """X ~ U(0, 1), Y = X + U(-eps, eps).

    I = h(Y) - log(2 eps) with h(Y) from the trapezoidal density of Y:
    I = eps - log(2 eps) for eps <= 1/2, and 1 / (4 eps) otherwise.
    """
    mi = eps - math.log(2 * eps) if eps <= 0.5 else 1 / (4 * eps)

    def sampler(n: int, rng: np.random.Generator) -> tuple[NDArray[Any], NDArray[Any]]:
        x = rng.uniform(0, 1, (n, 1))
        return x, x + rng.uniform(-eps, eps, (n, 1))

    return Task(f"additive-uniform-{eps:g}", mi, 1, 1, "Y = X + U(-eps, eps), X ~ U(0, 1)", sampler=sampler)


def categorical_uniform(m: int = 5) -> Task:
    """C ~ Categorical(m) uniform, X ~ U(C, C + 2); sampled as ``(x, c)``, the labels second.

    I = log m - (m - 1)/m log 2 (Gao et al. 2017, Sec. 5; 1.0549 for m = 5).
    """
    mi = math.log(m) - (m - 1) / m * math.log(2)

    def sampler(n: int, rng: np.random.Generator) -> tuple[NDArray[Any], NDArray[Any]]:
        c = rng.integers(0, m, n)
        return (c + rng.uniform(0, 2, n))[:, None], c

    return Task(
        f"categorical-uniform-{m}",
        mi,
        1,
        1,
        "labels C ~ Cat(m), X ~ U(C, C+2)",
        y_discrete=True,
        sampler=sampler,
    )


def _student_entropy_part(dim: int, dof: float) -> float:
    """Entropy of a standard multivariate Student-t minus its dispersion and (nu pi)^(d/2) terms,
    which cancel in the MI (Arellano-Valle et al. 2013)."""
    half = 0.5 * (dof + dim)
    return float(gammaln(0.5 * dof) - gammaln(half) + half * (digamma(half) - digamma(0.5 * dof)))


def student_t(dim_x: int = 2, dim_y: int = 2, dof: float = 1.0, rho: float = 0.0) -> Task:
    """Multivariate Student-t whose dispersion has correlation ``rho`` between x_i and y_i (the first
    min(dx, dy) pairs) and identity elsewhere: X and Y depend on each other through the correlation and
    through the shared scale, even where uncorrelated. I = I_G(R) + e(dx) + e(dy) - e(dx + dy), with
    I_G the Gaussian MI of the dispersion matrix R and e of :func:`_student_entropy_part`
    (Arellano-Valle et al. 2013; 0.4320 nats for 2 x 2, 1 degree of freedom and rho 0, bmi's
    "Student-t 2 x 2 (dof=1)")."""
    if not -1 < rho < 1:
        raise ValueError(f"rho: expected a correlation in (-1, 1), got {rho!r}")
    shape = np.eye(dim_x + dim_y)
    for i in range(min(dim_x, dim_y)):
        shape[i, dim_x + i] = shape[dim_x + i, i] = rho
    mi = (
        float(gaussian_mi_from_cov(torch.from_numpy(shape), dim_x))
        + _student_entropy_part(dim_x, dof)
        + _student_entropy_part(dim_y, dof)
        - _student_entropy_part(dim_x + dim_y, dof)
    )
    dist = stats.multivariate_t(loc=np.zeros(dim_x + dim_y), shape=shape, df=dof)

    def sampler(n: int, rng: np.random.Generator) -> tuple[NDArray[Any], NDArray[Any]]:
        return _split(np.atleast_2d(dist.rvs(size=n, random_state=rng)).reshape(n, -1), dim_x)

    return Task(
        f"student-t-{dim_x}x{dim_y}-dof{dof:g}" + (f"-rho{rho:g}" if rho else ""),
        mi,
        dim_x,
        dim_y,
        "multivariate Student-t" + (f", dispersion correlation {rho:g}" if rho else ", identity dispersion"),
        sampler=sampler,
    )


def sign_mixture(dim: int = 1, rho: float = 0.8) -> Task:
    """Half the (x_i, y_i) pairs at correlation +rho, half at -rho (one sign a row, shared by its
    ``dim`` pairs): every correlation is 0 and both marginals are N(0, I), so a Gaussian estimate reads
    0, yet X and Y are dependent.

    With p = (phi_+ + phi_-) / 2 and r_+- = phi_+- / (phi(x) phi(y)), by the symmetry y -> -y,
    I = E_+[log(r_+ (1 + r_- / r_+) / 2)] = dim I_rho - log 2 + E_+[log(1 + exp(-2 rho S / (1 - rho^2)))]
    with I_rho = -1/2 log(1 - rho^2) and S = sum_i x_i y_i under the + component, where
    S = ((1 + rho) A - (1 - rho) B) / 2 with A, B independent chi-square(dim) (x_i y_i = (u^2 - v^2) / 2,
    u, v = (x_i +- y_i) / sqrt 2). The expectation is a double integral over sqrt A and sqrt B, which
    are chi-distributed (smooth at 0), by Gauss-Legendre quadrature.
    """
    V.positive_int(dim, "dim")
    if not 0 < rho < 1:
        raise ValueError(f"rho: must be in (0, 1), got {rho!r}")
    chi = stats.chi(dim)
    # Gauss-Legendre in each of sqrt A, sqrt B on [0, chi's 1 - 1e-14 quantile]: 256 nodes agree with
    # adaptive quadrature to 1e-14 (dim 1 and 3), in milliseconds where the adaptive takes seconds.
    nodes, weights = np.polynomial.legendre.leggauss(256)
    upper = float(chi.isf(1e-14))
    root = (nodes + 1) * upper / 2
    mass = chi.pdf(root) * weights * upper / 2
    s = ((1 + rho) * root[:, None] ** 2 - (1 - rho) * root[None, :] ** 2) / 2
    softplus = float((np.logaddexp(0.0, -2 * rho / (1 - rho**2) * s) * mass[:, None] * mass[None, :]).sum())
    mi = -dim / 2 * math.log(1 - rho**2) - math.log(2) + softplus
    cov = np.array([[1.0, rho], [rho, 1.0]])
    chol = np.linalg.cholesky(cov)

    def sampler(n: int, rng: np.random.Generator) -> tuple[NDArray[Any], NDArray[Any]]:
        pairs = rng.standard_normal((n, dim, 2)) @ chol.T
        sign = rng.choice([-1.0, 1.0], size=(n, 1))
        return pairs[..., 0], sign * pairs[..., 1]

    return Task(
        f"sign-mixture-{dim}x{dim}",
        mi,
        dim,
        dim,
        f"two Gaussians, the {dim} pairs at correlation +{rho:g} or -{rho:g} (one sign a row); "
        "no correlation, MI by quadrature",
        sampler=sampler,
    )


def zero_inflated(dim: int = 1, p_zero: float = 0.5, noise: float = 0.5) -> Task:
    """A discrete-continuous mixture: each X_i is exactly 0 with probability ``p_zero`` (a point mass,
    as dropouts in single-cell counts), else N(0, 1); Y_i = X_i + ``noise`` * N(0, 1), the coordinates
    independent.

    Y_i given X_i is N(X_i, noise^2) whichever way X_i was drawn, so
    I = dim (h(Y_1) - 1/2 log(2 pi e noise^2)), with Y_1's density p_zero N(0, noise^2) +
    (1 - p_zero) N(0, 1 + noise^2) and h(Y_1) by quadrature.
    """
    V.positive_int(dim, "dim")
    if not 0 <= p_zero < 1:
        raise ValueError(f"p_zero: must be in [0, 1), got {p_zero!r}")
    if not noise > 0:
        raise ValueError(f"noise: must be positive, got {noise!r}")
    parts = (stats.norm(scale=noise), stats.norm(scale=math.sqrt(1 + noise**2)))

    def minus_p_log_p(v: float) -> float:
        p = p_zero * parts[0].pdf(v) + (1 - p_zero) * parts[1].pdf(v)
        return float(-p * math.log(p)) if p > 0 else 0.0

    edge = 40 * math.sqrt(1 + noise**2)
    h = integrate.quad(minus_p_log_p, -edge, edge, points=[0.0], epsabs=1e-12, limit=200)[0]
    mi = dim * (h - 0.5 * math.log(2 * math.pi * math.e * noise**2))

    def sampler(n: int, rng: np.random.Generator) -> tuple[NDArray[Any], NDArray[Any]]:
        x = rng.standard_normal((n, dim)) * (rng.random((n, dim)) >= p_zero)
        return x, x + noise * rng.standard_normal((n, dim))

    return Task(
        f"zero-inflated-{dim}x{dim}",
        mi,
        dim,
        dim,
        f"X_i = 0 with probability {p_zero:g}, else N(0, 1); Y = X + {noise:g} N(0, I); MI by quadrature",
        sampler=sampler,
    )


def high_mi(nats: float, dim: int, n_pairs: int = 4) -> Task:
    """A ``n_pairs``-pair Gaussian holding ``nats`` nats, each side pushed through a fixed random
    injective linear map into ``dim`` dimensions (the MI is unchanged by the maps). The samples lie on
    an ``n_pairs``-dimensional subspace of each side, like the activations of a wide layer."""
    if dim < n_pairs:
        raise ValueError(f"dim: must be at least n_pairs={n_pairs}, got {dim}")
    rho = math.sqrt(1 - math.exp(-2 * nats / n_pairs))
    name = f"high-mi-{nats:g}nats-{dim}d"
    # The maps are fixed per task (seeded from its name); only the draws change with the seed.
    maps = np.random.default_rng(int(hashlib.sha256(name.encode()).hexdigest()[:8], 16))
    a, b = maps.standard_normal((dim, n_pairs)), maps.standard_normal((dim, n_pairs))

    def sampler(n: int, rng: np.random.Generator) -> tuple[NDArray[Any], NDArray[Any]]:
        zx = rng.standard_normal((n, n_pairs))
        zy = rho * zx + math.sqrt(1 - rho**2) * rng.standard_normal((n, n_pairs))
        return zx @ a.T, zy @ b.T

    return Task(
        name, nats, dim, dim, f"{n_pairs} pairs at rho={rho:.4f}, mapped into {dim} dims", sampler=sampler
    )


def standard_tasks() -> list[Task]:
    """The benchmark tasks, in a fixed order."""
    return [
        bivariate_normal(0.75),
        dense_gaussian(5),
        dense_gaussian(25),
        sparse_gaussian(3),
        sparse_gaussian(5),
        sparse_gaussian(25),
        additive_uniform(0.1),
        additive_uniform(0.75),
        categorical_uniform(5),
        student_t(2, 2, 1.0),
        *(high_mi(nats, dim) for dim in (100, 784) for nats in (2.0, 4.0, 8.0)),
    ]


def get_task(name: str) -> Task:
    """A standard task by name."""
    tasks = {t.name: t for t in standard_tasks()}
    if name not in tasks:
        raise ValueError(f"name: unknown task {name!r}; known: {', '.join(tasks)}")
    return tasks[name]
