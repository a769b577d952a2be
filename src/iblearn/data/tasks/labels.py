"""Tasks of a continuous X and class labels Y (MI): Y = k with probability ``p_k``, then X ~ N(mu_k, I),
sampled as ``(x, y)``, x float64 ``(N, d)`` and y int64 ``(N,)``, as a classifier's features and its
labels are.

The truth, I(X; Y) = h(X) - h(X | Y) = sum_k p_k E_k[log phi_k(X) - log f(X)] with f = sum_j p_j phi_j,
is a Gaussian expectation of a smooth function: with X = mu_k + Z under class k and d_kj = mu_k - mu_j,
``log phi_j(X) - log phi_k(X) = -Z.d_kj - |d_kj|^2 / 2`` (the quadratic terms cancel), so

    I = -sum_k p_k E_Z[log sum_j p_j exp(-Z.d_kj - |d_kj|^2 / 2)],   Z ~ N(0, I_d),

the expectation of a log-sum-exp of affine functions of Z, which Gauss-Hermite quadrature with
:data:`NODES` nodes a dimension gives to about 1e-12 (the tests compare it with adaptive quadrature of
-f log f, in one and two dimensions). It is computed once, when the task is built.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import logsumexp

from iblearn.data.tasks.base import Array, Task

#: Gauss-Hermite nodes a dimension: the integrand bends over a width 1 / |d_kj| around
#: Z.d_kj = -|d_kj|^2 / 2, within the nodes' reach for the separations of these tasks.
NODES = 160


def class_means_mi(weights: Sequence[float], means: Array) -> float:
    """I(X; Y) in nats of X ~ N(means[Y], I) with P(Y = k) = weights[k] (normalized), by Gauss-Hermite
    quadrature of the expectation in the module's docstring.

    Example:
        >>> round(class_means_mi([0.5, 0.5], np.array([[0.0], [40.0]])) / math.log(2), 6)  # apart: H(Y)
        1.0
    """
    p = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    mu = np.asarray(means, dtype=np.float64).reshape(len(p), -1)
    dim = mu.shape[1]
    # probabilists' Hermite: E f(Z) = sum_i w_i f(z_i) / sqrt(2 pi), Z ~ N(0, 1)
    nodes, w = np.polynomial.hermite_e.hermegauss(NODES)
    w = w / math.sqrt(2 * math.pi)
    z = np.stack(np.meshgrid(*[nodes] * dim, indexing="ij"), axis=-1).reshape(-1, dim)  # (NODES^d, d)
    wz = np.prod(np.stack(np.meshgrid(*[w] * dim, indexing="ij"), axis=-1).reshape(-1, dim), axis=1)
    total = 0.0
    for k in range(len(p)):
        d = mu[k] - mu  # (K, d): d_kj a row
        exponent = -z @ d.T - 0.5 * (d * d).sum(axis=1) + np.log(p)  # (nodes, K)
        total -= p[k] * float(wz @ logsumexp(exponent, axis=1))
    return float(total)


def class_means(name: str, weights: Sequence[float], means: Array, description: str) -> Task:
    """Labels Y with probabilities ``weights`` and X ~ N(means[Y], I) (``means`` ``(K, d)``); the truth by
    :func:`class_means_mi`, the pointwise information ``log phi_y(x) - log f(x)``."""
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

    truth = class_means_mi(p, mu)
    return Task(name, "mi", truth, description, sampler, (dim, 1), labels=(1,), pointwise=pointwise)


def _triangle(side: float) -> Array:
    """The corners of an equilateral triangle of ``side``, centred on 0."""
    angles = np.pi / 2 + 2 * np.pi * np.arange(3) / 3
    return side / math.sqrt(3) * np.c_[np.cos(angles), np.sin(angles)]


def label_tasks() -> list[Task]:
    """The class-means tasks: two balanced labels 1 and 4 standard deviations apart, two labels at
    0.8 / 0.2, three labels on a triangle in two dimensions.

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
    ]
