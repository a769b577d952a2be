"""Gaussian tasks: any measure of a zero-mean Gaussian (warped column by column or not), the
covariances the task tables name, and the MI tasks of the bmi benchmark (Czyz et al. 2023)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from scipy import linalg

from iblearn import _checks as V
from iblearn.data.tasks.base import (
    Array,
    Task,
    density_task,
    in_range,
    rng_for,
    split,
    truth_of,
    warp,
)
from iblearn.functional.gaussian import gaussian_mi_from_cov


def gaussian_entropy(cov: Array, cols: tuple[int, ...]) -> float:
    """h(X_S) = 1/2 log det(2 pi e Sigma_S) in nats."""
    sub = cov[np.ix_(cols, cols)]
    return 0.5 * (len(cols) * math.log(2 * math.pi * math.e) + float(np.linalg.slogdet(sub)[1]))


def gaussian_logpdf(v: Array, cov: Array, mean: Array | None = None) -> Array:
    """log N(v; mean, cov) of each row of ``v``."""
    d = cov.shape[0]
    chol = np.linalg.cholesky(cov)
    centred = v if mean is None else v - mean
    white = linalg.solve_triangular(chol, centred.T, lower=True)
    return -0.5 * (white**2).sum(0) - np.log(np.diag(chol)).sum() - 0.5 * d * math.log(2 * math.pi)


def gaussian_task(
    name: str,
    measure: str,
    cov: Array,
    groups: Sequence[Sequence[int]],
    description: str,
    warps: Sequence[str] | None = None,
) -> Task:
    """Zero-mean Gaussian with covariance ``cov`` over the variables ``groups`` (which tile the columns in
    order), each column then through its ``warps`` (:data:`~iblearn.data.tasks.base.WARPS`); the truth
    from the log-determinants, ``h(X_S) = 1/2 log det(2 pi e Sigma_S)`` in nats, combined as the
    measure asks.

    Example:
        >>> c = np.array([[1.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 1.0]])
        >>> t = gaussian_task("partial", "cmi", c, [[0], [1], [2]], "partial correlation 1/3")
        >>> round(t.truth, 4)  # -1/2 log(1 - 1/9)
        0.0589
    """
    cov = np.asarray(cov, dtype=np.float64)
    d = cov.shape[0]
    warps = tuple(warps or ("none",) * d)
    chol = np.linalg.cholesky(cov)
    truth = truth_of(measure, groups, lambda cols: gaussian_entropy(cov, cols))

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        return split(warp(rng.standard_normal((n, d)) @ chol.T, warps), measure, groups)

    def logpdf(v: Array, cols: tuple[int, ...]) -> Array:
        return gaussian_logpdf(v[:, list(cols)], cov[np.ix_(cols, cols)])

    def unwarp(v: Array) -> Array:
        return warp(v, warps, inverse=True)

    return density_task(name, measure, groups, truth, description, sampler, logpdf, unwarp)


# ------------------------------------------------------------------- covariances the tables name
def random_correlation(d: int, name: str, strength: float) -> Array:
    """A fixed random correlation matrix: ``A A' + I`` normalized, A of entries N(0, strength^2 / d)."""
    a = rng_for(name).standard_normal((d, d)) * strength / math.sqrt(d)
    cov = a @ a.T + np.eye(d)
    s = np.sqrt(np.diag(cov))
    return cov / np.outer(s, s)


def cmi_cov(dx: int, dy: int, dz: int) -> Array:
    """x = A z + u, y = B z + w, z ~ N(0, I): (u, w) a fixed random correlation R, so that I(X; Y | Z)
    is the MI of R between u and w, and A, B of entries N(0, 1 / dz)."""
    name = f"cmi-gauss-{dx}x{dy}x{dz}"
    rng = rng_for(name)
    load = np.vstack([rng.standard_normal((dx + dy, dz)) / math.sqrt(dz), np.eye(dz)])
    cov = load @ load.T
    cov[: dx + dy, : dx + dy] += random_correlation(dx + dy, name, 2.0)
    return cov


def common_cause_cov(dx: int, dy: int, dz: int, name: str) -> Array:
    """x = A z + u, y = B z + v with u, v, z independent: I(X; Y | Z) = 0, I(X; Y) > 0."""
    rng = rng_for(name)
    a, b = rng.standard_normal((dx, dz)), rng.standard_normal((dy, dz))
    load = np.vstack([a, b, np.eye(dz)])
    cov = load @ load.T
    cov[: dx + dy, : dx + dy] += np.eye(dx + dy)
    return cov


def high_cmi_cov(pairs: int, rho: float, dz: int, name: str) -> Array:
    """x = A z + u, y = B z + w, each (u_i, w_i) at correlation rho: I(X; Y | Z) = -pairs/2 log(1 - rho^2)."""
    rng = rng_for(name)
    a, b = rng.standard_normal((pairs, dz)), rng.standard_normal((pairs, dz))
    noise = np.block([[np.eye(pairs), rho * np.eye(pairs)], [rho * np.eye(pairs), np.eye(pairs)]])
    load = np.vstack([a, b, np.eye(dz)])
    cov = load @ load.T
    cov[: 2 * pairs, : 2 * pairs] += noise
    return cov


def redundant_cov(m: int, noise: float) -> Array:
    """m noisy copies of one source, x_i = s + noise e_i."""
    return np.ones((m, m)) + noise**2 * np.eye(m)


def synergy_cov(m: int, noise: float) -> Array:
    """x_1 .. x_(m-1) independent N(0, 1), x_m = their sum + noise e."""
    load = np.vstack([np.eye(m - 1), np.ones((1, m - 1))])
    cov = load @ load.T
    cov[-1, -1] += noise**2
    return cov


def pid_cov(r: float, a: float, b: float, noise: float) -> Array:
    """Sources x1, x2 at correlation r, target t = a x1 + b x2 + noise e."""
    sources = np.array([[1.0, r], [r, 1.0]])
    w = np.array([a, b])
    cross = sources @ w
    return np.block([[sources, cross[:, None]], [cross[None, :], np.array([[w @ sources @ w + noise**2]])]])


# ------------------------------------------------------------------------------------------ MI tasks
def gaussian(cov: Array, dim_x: int, name: str, description: str) -> Task:
    """Zero-mean Gaussian with joint covariance ``cov``; the first ``dim_x`` coordinates are X, the MI
    from :func:`~iblearn.functional.gaussian_mi_from_cov`."""
    cov = np.asarray(cov, dtype=np.float64)
    chol = np.linalg.cholesky(cov)
    mi = float(gaussian_mi_from_cov(torch.from_numpy(cov), dim_x))

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        xy = rng.standard_normal((n, cov.shape[0])) @ chol.T
        return xy[:, :dim_x], xy[:, dim_x:]

    return Task(name, "mi", mi, description, sampler, (dim_x, cov.shape[0] - dim_x))


def bivariate_normal(rho: float = 0.75) -> Task:
    """Standard bivariate normal with correlation rho: I = -1/2 log(1 - rho^2) (0.4133 for 0.75)."""
    rho = in_range(rho, "rho", -1, 1)
    return gaussian(
        np.array([[1.0, rho], [rho, 1.0]]),
        1,
        f"bivariate-normal-{rho:g}",
        "standard bivariate normal; I = -log(1 - rho^2) / 2",
    )


def dense_gaussian(dim: int, corr: float = 0.5) -> Task:
    """X, Y each ``dim``-dimensional; every pair of the 2*dim coordinates has correlation ``corr``.

    I = 1/2 (2 log det S_d - log det S_2d), det of the n x n equicorrelation matrix being
    (1 - c)^(n-1) (1 + (n - 1) c), positive for -1/(n - 1) < c < 1.
    """
    n = 2 * V.positive_int(dim, "dim")
    corr = in_range(corr, "corr", -1 / (n - 1), 1)
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
    V.positive_int(dim, "dim")
    if isinstance(n_pairs, bool) or not isinstance(n_pairs, int | np.integer) or not 0 <= n_pairs <= dim:
        raise ValueError(f"n_pairs: expected an integer in [0, dim={dim}], got {n_pairs!r}")
    rho = in_range(rho, "rho", -1, 1)
    cov = np.eye(2 * dim)
    for i in range(n_pairs):
        cov[i, dim + i] = cov[dim + i, i] = rho
    return gaussian(
        cov,
        dim,
        f"{n_pairs}-pair-gaussian-{dim}x{dim}",
        f"{n_pairs} pairs (x_i, y_i) at correlation {rho:g}, the other coordinates noise",
    )


def high_mi(nats: float, dim: int, n_pairs: int = 4) -> Task:
    """A ``n_pairs``-pair Gaussian holding ``nats`` nats, each side pushed through a fixed random
    injective linear map into ``dim`` dimensions (the MI is unchanged by the maps). The samples lie on
    an ``n_pairs``-dimensional subspace of each side, like the activations of a wide layer."""
    V.positive_int(n_pairs, "n_pairs")
    if V.positive_int(dim, "dim") < n_pairs:
        raise ValueError(f"dim: must be at least n_pairs={n_pairs}, got {dim}")
    if not V.real_number(nats, "nats") >= 0 or not math.isfinite(nats):
        raise ValueError(f"nats: must be a finite number >= 0, got {nats!r}")
    rho = math.sqrt(1 - math.exp(-2 * nats / n_pairs))
    if rho == 1:  # y = x to the last bit: the sample holds infinite information, not ``nats``
        raise ValueError(f"nats: {nats:g} over {n_pairs} pairs puts rho at 1 in float64")
    name = f"high-mi-{nats:g}nats-{dim}d"
    maps = rng_for(name)
    a, b = maps.standard_normal((dim, n_pairs)), maps.standard_normal((dim, n_pairs))

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        zx = rng.standard_normal((n, n_pairs))
        zy = rho * zx + math.sqrt(1 - rho**2) * rng.standard_normal((n, n_pairs))
        return zx @ a.T, zy @ b.T

    what = f"{n_pairs} pairs at rho={rho:.4f}, mapped into {dim} dims"
    return Task(name, "mi", nats, what, sampler, (dim, dim))
