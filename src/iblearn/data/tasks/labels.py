"""Tasks of a continuous X and class labels Y (MI): Y = k with probability ``p_k``, then X from the
class's density, sampled as ``(x, y)``, x float64 ``(N, d)`` and y int64 ``(N,)``, as a classifier's
features and its labels are. Two builders: :func:`class_means`, X ~ N(mu_k, I) in any dimension, and
:func:`class_densities`, one column whose class densities differ in place, spread and tails (a
Student t within each class), where a class's own Gaussian is no longer the shape.

The truth is I(X; Y) = h(X) - h(X | Y) = sum_k p_k E_k[log phi_k(X) - log f(X)], f = sum_j p_j phi_j.
For the class means it is a Gaussian expectation of a smooth function: with X = mu_k + Z under class
k and d_kj = mu_k - mu_j, ``log phi_j(X) - log phi_k(X) = -Z.d_kj - |d_kj|^2 / 2`` (the quadratic
terms cancel), so

    I = -sum_k p_k E_Z[log sum_j p_j exp(-Z.d_kj - |d_kj|^2 / 2)],   Z ~ N(0, I_d),

the expectation of a log-sum-exp of affine functions of Z, which Gauss-Hermite quadrature gives to
about 1e-12 where the means span one or two dimensions
(:func:`~iblearn.functional.gaussian_classes.classes_mi`; the tests compare it with adaptive quadrature
of -f log f). For the class densities, each class's term is an integral over
its own quantiles (:func:`class_densities_mi`; the tests compare it with adaptive quadrature over x).
Either is computed once, when the task is built.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import integrate
from scipy.special import gammaln, logsumexp, ndtri, roots_genlaguerre, stdtrit

from iblearn.data.tasks.base import Array, Task
from iblearn.functional.gaussian_classes import classes_mi


def class_means(name: str, weights: Sequence[float], means: Array, description: str) -> Task:
    """Labels Y with probabilities ``weights`` and X ~ N(means[Y], I) (``means`` ``(K, d)``); the truth by
    :func:`~iblearn.functional.gaussian_classes.classes_mi`, the pointwise information
    ``log phi_y(x) - log f(x)``."""
    p = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    mu = np.asarray(means, dtype=np.float64).reshape(len(p), -1)
    if len(p) < 2 or (p <= 0).any():
        raise ValueError(f"weights: need at least two positive class weights, got {list(weights)!r}")
    dim = mu.shape[1]

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        y = rng.choice(len(p), size=n, p=p)
        return mu[y] + rng.standard_normal((n, dim)), y.astype(np.int64)

    def pointwise(x: Any, y: Any) -> Array:
        x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        log_phi = -0.5 * ((x[:, None, :] - mu[None]) ** 2).sum(axis=2)  # (N, K), constants cancel
        return log_phi[np.arange(len(x)), np.asarray(y)] - logsumexp(log_phi + np.log(p), axis=1)

    truth = classes_mi(p, mu)
    return Task(name, "mi", truth, description, sampler, (dim, 1), labels=(1,), pointwise=pointwise)


def _log_density(x: Array, loc: Array, scale: Array, dof: float | None) -> Array:
    """``log phi_k(x)`` of each class (columns) at each x (rows): x = loc + scale T, T standard normal
    or Student t of ``dof`` degrees of freedom."""
    t = (np.asarray(x, dtype=np.float64).reshape(-1, 1) - loc) / scale
    if dof is None:
        core = -0.5 * t**2 - 0.5 * math.log(2 * math.pi)
    else:
        c = gammaln((dof + 1) / 2) - gammaln(dof / 2) - 0.5 * math.log(dof * math.pi)
        core = c - (dof + 1) / 2 * np.log1p(t**2 / dof)
    return core - np.log(scale)


def class_densities_mi(
    weights: Sequence[float], locs: Sequence[float], scales: Sequence[float], dof: float | None = None
) -> float:
    """I(X; Y) in nats of one column X = locs[Y] + scales[Y] T (T standard normal or, with ``dof``,
    Student t), P(Y = k) = weights[k] (normalized): ``sum_k p_k int phi_k log(phi_k / f)``, each class's
    term by adaptive quadrature on its own quantiles, ``int_0^1 log(phi_k / f)(F_k^-1(u)) du``, which
    keeps the heavy tails and the narrow classes on a bounded range.

    Example:
        >>> round(class_densities_mi([0.5, 0.5], [0.0, 40.0], [1.0, 1.0]) / math.log(2), 6)  # apart: H(Y)
        1.0
    """
    p = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    loc, scale = np.asarray(locs, dtype=np.float64), np.asarray(scales, dtype=np.float64)
    quantile = ndtri if dof is None else lambda u: stdtrit(dof, u)

    def log_ratio(u: float, k: int) -> float:
        logs = _log_density(loc[k] + scale[k] * quantile(u), loc, scale, dof)[0]
        top = logs.max()  # logsumexp by hand: the quadrature calls this thousands of times
        return float(logs[k] - top - math.log(float(p @ np.exp(logs - top))))

    # The nodes stay inside (0, 1): the tails' ends are the integrand's integrable endpoints.
    return float(
        sum(
            p[k] * integrate.quad(log_ratio, 0, 1, args=(k,), epsabs=1e-12, limit=400)[0]
            for k in range(len(p))
        )
    )


def class_densities(
    name: str,
    weights: Sequence[float],
    locs: Sequence[float],
    scales: Sequence[float],
    description: str,
    dof: float | None = None,
) -> Task:
    """Labels Y with probabilities ``weights`` and one column X = locs[Y] + scales[Y] T, T standard
    normal or, with ``dof``, Student t of ``dof`` degrees of freedom; the truth by
    :func:`class_densities_mi`, the pointwise information ``log phi_y(x) - log f(x)``."""
    p = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    if len(p) < 2 or (p <= 0).any() or not len(p) == len(locs) == len(scales):
        raise ValueError(
            f"weights: need at least two positive class weights, one for each of locs and scales, got "
            f"{list(weights)!r}"
        )
    loc, scale = np.asarray(locs, dtype=np.float64), np.asarray(scales, dtype=np.float64)
    if (scale <= 0).any():
        raise ValueError(f"scales: each class's scale must be positive, got {list(scales)!r}")

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        y = rng.choice(len(p), size=n, p=p)
        t = rng.standard_normal(n) if dof is None else rng.standard_t(dof, size=n)
        return (loc[y] + scale[y] * t)[:, None], y.astype(np.int64)

    def pointwise(x: Any, y: Any) -> Array:
        logs = _log_density(x, loc, scale, dof)  # (N, K)
        return logs[np.arange(len(logs)), np.asarray(y)] - logsumexp(logs, b=p, axis=1)

    truth = class_densities_mi(weights, locs, scales, dof)
    return Task(name, "mi", truth, description, sampler, (1, 1), labels=(1,), pointwise=pointwise)


def class_spreads(
    name: str, weights: Sequence[float], means: Array, scales: Sequence[float], description: str
) -> Task:
    """Labels Y with probabilities ``weights`` and X ~ N(means[Y], scales[Y]^2 I) (``means`` ``(K, d)``,
    in any number of columns, on a line or a plane): classes that differ in spread as well as place,
    off the model of one covariance. The truth is each class's expectation of ``log phi_k - log f``:
    with x = mu_k + s_k z, ``|x - mu_j|^2`` is the squared distance within the means' span plus
    ``s_k^2 R``, R the chi-squared of z's d - m columns across it (m the span's dimensions), so the
    expectation is Gauss-Hermite quadrature over the span (:data:`SPREAD_NODES` nodes a dimension) times
    generalized Gauss-Laguerre quadrature over R (:data:`RADIUS_NODES` nodes); the pointwise information
    ``log phi_y(x) - log f(x)``."""
    p = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    mu = np.asarray(means, dtype=np.float64).reshape(len(p), -1)
    scale = np.asarray(scales, dtype=np.float64)
    dim = mu.shape[1]
    _, sv, vt = np.linalg.svd(mu - mu[0], full_matrices=False)
    span = vt[: int((sv > 1e-12 * max(1.0, float(np.abs(mu).max()))).sum())]
    if len(p) < 2 or (p <= 0).any() or len(scale) != len(p) or (scale <= 0).any() or len(span) > 2:
        raise ValueError(
            f"weights: need at least two positive class weights, a positive scale each and means on a line "
            f"or a plane, got weights {list(weights)!r}, scales {list(scales)!r}, means spanning "
            f"{len(span)} dimensions"
        )
    across = dim - len(span)

    def log_phi(x: Array) -> Array:  # (N, K): log phi_k(x), constants included (the scales differ)
        sq = ((x[:, None, :] - mu[None]) ** 2).sum(axis=2)
        return -0.5 * sq / scale**2 - dim * np.log(scale) - 0.5 * dim * math.log(2 * math.pi)

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        y = rng.choice(len(p), size=n, p=p)
        return mu[y] + scale[y, None] * rng.standard_normal((n, dim)), y.astype(np.int64)

    def pointwise(x: Any, y: Any) -> Array:
        logs = log_phi(np.asarray(x, dtype=np.float64).reshape(len(x), -1))
        return logs[np.arange(len(logs)), np.asarray(y)] - logsumexp(logs, b=p, axis=1)

    m = len(span)
    z, wz = np.zeros((1, 0)), np.ones(1)  # one mean for every class: no span to integrate over
    if m:
        nodes, w = np.polynomial.hermite_e.hermegauss(SPREAD_NODES)
        z = np.stack(np.meshgrid(*[nodes] * m, indexing="ij"), axis=-1).reshape(-1, m)
        wz = np.prod(np.stack(np.meshgrid(*[w] * m, indexing="ij"), axis=-1).reshape(-1, m), axis=1)
        wz = wz / (2 * math.pi) ** (m / 2)
    radius, wr = np.zeros(1), np.ones(1)
    if across:  # R = 2 t, t ~ Gamma(across / 2): E g(R) = sum_i w_i g(2 t_i) / Gamma(across / 2)
        t, wr = roots_genlaguerre(RADIUS_NODES, across / 2 - 1)
        radius, wr = 2 * t, wr / math.gamma(across / 2)
    at = (mu - mu[0]) @ span.T  # (K, m): the means within the span
    truth = 0.0
    for k in range(len(p)):
        within = ((at[k] + scale[k] * z)[:, None, :] - at[None]) ** 2  # (nodes, K, m)
        sq = within.sum(axis=2)[:, None, :] + scale[k] ** 2 * radius[None, :, None]  # (nodes, radii, K)
        logs = -0.5 * sq / scale**2 - dim * np.log(scale)
        terms = logs[..., k] - logsumexp(logs, b=p, axis=2)
        truth += p[k] * float(wz @ terms @ wr)
    return Task(name, "mi", truth, description, sampler, (dim, 1), labels=(1,), pointwise=pointwise)


#: Gauss-Hermite nodes a dimension of the means' span for :func:`class_spreads`' truth (the tests compare
#: it with adaptive quadrature over x).
SPREAD_NODES = 200
#: Generalized Gauss-Laguerre nodes for the chi-squared across the span: one mean and spreads 1 and 3 in
#: one column (a chi-squared of one degree of freedom) differ from the class-densities rule's adaptive
#: truth by 2.5e-7 at 80 nodes, 3.5e-10 at 160 and 1.4e-12 at 300.
RADIUS_NODES = 300


def _triangle(side: float) -> Array:
    """The corners of an equilateral triangle of ``side``, centred on 0."""
    angles = np.pi / 2 + 2 * np.pi * np.arange(3) / 3
    return side / math.sqrt(3) * np.c_[np.cos(angles), np.sin(angles)]


def label_tasks() -> list[Task]:
    """The class-means tasks: two balanced labels 1 and 4 standard deviations apart, two labels at
    0.8 / 0.2, three labels on a triangle in two dimensions, ten labels on the diagonal of five and of
    twenty dimensions; five labels on the diagonal of ten dimensions and ten on that of twenty with
    spreads 1 to 2, and three on that triangle with spreads 1, 1.5 and 2; and the class-densities tasks
    of one column: heavy tails within a class (Student t of 3 and of 1 degree of freedom), classes that
    differ only in spread, ten labels, and four unequally likely labels of unequal spreads.

    Example:
        >>> [(t.name, round(t.truth, 4)) for t in label_tasks()][:2]
        [('labels-class-means-2-shift1', 0.1114), ('labels-class-means-2-shift4', 0.6327)]
    """
    two = "two equally likely labels, x ~ N({:g} label, 1); I = h(x) - h(x | label) by quadrature"
    return [
        class_means("labels-class-means-2-shift1", [0.5, 0.5], np.array([[0.0], [1.0]]), two.format(1)),
        class_means("labels-class-means-2-shift4", [0.5, 0.5], np.array([[0.0], [4.0]]), two.format(4)),
        class_means(
            "labels-class-means-2-p0.8-shift2",
            [0.8, 0.2],
            np.array([[0.0], [2.0]]),
            "labels 0 and 1 with probabilities 0.8 and 0.2, x ~ N(2 label, 1); MI by quadrature",
        ),
        class_means(
            "labels-class-means-3-triangle-2d",
            [1, 1, 1],
            _triangle(2.0),
            "three equally likely labels, x ~ N(mu_label, I_2), the means the corners of an "
            "equilateral triangle of side 2; MI by Gauss-Hermite quadrature in two dimensions",
        ),
        *(
            class_means(
                f"labels-class-means-10-diagonal-{dim}d",
                [1.0] * 10,
                np.arange(10.0)[:, None] * np.full(dim, 1 / math.sqrt(dim)),
                f"ten equally likely labels, x ~ N(label u, I_{dim}), u the unit diagonal of {dim} "
                "dimensions: every column carries a little of the label, as a layer's units do; MI by "
                "quadrature along u",
            )
            for dim in (5, 20)
        ),
        class_spreads(
            "labels-spreads-5-line-10d",
            [1] * 5,
            np.arange(5.0)[:, None] * np.full(10, 1.5 / math.sqrt(10)),
            [1.0, 1.25, 1.5, 1.75, 2.0],
            "five equally likely labels 1.5 apart on the diagonal of 10 dimensions, x ~ N(mu_label, "
            "s_label^2 I_10), the spreads 1 to 2: a layer's classes off one covariance in many columns; MI "
            "by quadrature along the diagonal and over the chi-squared across it",
        ),
        class_spreads(
            "labels-spreads-10-line-20d",
            [1] * 10,
            np.arange(10.0)[:, None] * np.full(20, 1 / math.sqrt(20)),
            list(np.linspace(1.0, 2.0, 10)),
            "ten equally likely labels a standard deviation apart on the diagonal of 20 dimensions, x ~ "
            "N(mu_label, s_label^2 I_20), the spreads 1 to 2: a hundred rows a class at N = 1,000 leave "
            "each class's covariance barely estimated; MI by quadrature along the diagonal and over the "
            "chi-squared across it",
        ),
        class_spreads(
            "labels-spreads-3-triangle-2d",
            [1, 1, 1],
            _triangle(2.0),
            [1.0, 1.5, 2.0],
            "three equally likely labels, x ~ N(mu_label, s_label^2 I_2), the means the corners of an "
            "equilateral triangle of side 2 and the spreads 1, 1.5 and 2: classes off one covariance; MI "
            "by Gauss-Hermite quadrature in two dimensions",
        ),
        class_densities(
            "labels-student-2-shift2-dof3",
            [0.5, 0.5],
            [0.0, 2.0],
            [1.0, 1.0],
            "two equally likely labels, x = 2 label + t, t Student t of 3 degrees of freedom; MI by "
            "quadrature",
            dof=3.0,
        ),
        class_densities(
            "labels-cauchy-2-shift4",
            [0.5, 0.5],
            [0.0, 4.0],
            [1.0, 1.0],
            "two equally likely labels, x = 4 label + t, t standard Cauchy (no mean, no variance); MI "
            "by quadrature",
            dof=1.0,
        ),
        class_densities(
            "labels-spread-2-sd1-sd3",
            [0.5, 0.5],
            [0.0, 0.0],
            [1.0, 3.0],
            "two equally likely labels with one mean, x ~ N(0, 1) or N(0, 9): the label moves only the "
            "spread; MI by quadrature",
        ),
        class_densities(
            "labels-many-10-shift1",
            [1.0] * 10,
            [float(k) for k in range(10)],
            [1.0] * 10,
            "ten equally likely labels, x ~ N(label, 1); MI by quadrature",
        ),
        class_densities(
            "labels-unequal-4",
            [0.7, 0.15, 0.1, 0.05],
            [0.0, 1.5, -2.0, 4.0],
            [1.0, 0.5, 2.0, 1.0],
            "four labels with probabilities 0.7, 0.15, 0.1 and 0.05, x ~ N(0, 1), N(1.5, 0.25), "
            "N(-2, 4) and N(4, 1); MI by quadrature",
        ),
    ]
