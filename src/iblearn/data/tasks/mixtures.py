"""Tasks whose variables mix kinds or components: uniform noise, labels and continuous values, sign and
zero-inflated mixtures (MI, the bmi benchmark's and Gao et al. 2017's), class-wise Gaussians given a
discrete Z and a non-linear common cause (conditional MI)."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import integrate, stats

from iblearn import _checks as V
from iblearn.data.tasks.base import Array, Task, entropy_terms, in_range, measure_value, pointwise_value
from iblearn.data.tasks.gaussian import gaussian_entropy, gaussian_logpdf


def additive_uniform(eps: float) -> Task:
    """X ~ U(0, 1), Y = X + U(-eps, eps).

    I = h(Y) - log(2 eps) with h(Y) from the trapezoidal density of Y:
    I = eps - log(2 eps) for eps <= 1/2, and 1 / (4 eps) otherwise.
    """
    eps = in_range(eps, "eps", 0)
    mi = eps - math.log(2 * eps) if eps <= 0.5 else 1 / (4 * eps)

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        x = rng.uniform(0, 1, (n, 1))
        return x, x + rng.uniform(-eps, eps, (n, 1))

    return Task(f"additive-uniform-{eps:g}", "mi", mi, "Y = X + U(-eps, eps), X ~ U(0, 1)", sampler, (1, 1))


def categorical_uniform(m: int = 5) -> Task:
    """C ~ Categorical(m) uniform, X ~ U(C, C + 2); sampled as ``(x, c)``, the labels second.

    I = log m - (m - 1)/m log 2 (Gao et al. 2017, Sec. 5; 1.0549 for m = 5).
    """
    m = V.positive_int(m, "m")
    mi = math.log(m) - (m - 1) / m * math.log(2)

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        c = rng.integers(0, m, n)
        return (c + rng.uniform(0, 2, n))[:, None], c

    what = "labels C ~ Cat(m), X ~ U(C, C+2)"
    return Task(f"categorical-uniform-{m}", "mi", mi, what, sampler, (1, 1), labels=(1,))


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
    # Gauss-Legendre in each of sqrt A, sqrt B on [0, chi's 1 - 1e-14 quantile]: 256 nodes match
    # adaptive quadrature to double precision, far faster.
    nodes, weights = np.polynomial.legendre.leggauss(256)
    upper = float(chi.isf(1e-14))
    root = (nodes + 1) * upper / 2
    mass = chi.pdf(root) * weights * upper / 2
    s = ((1 + rho) * root[:, None] ** 2 - (1 - rho) * root[None, :] ** 2) / 2
    softplus = float((np.logaddexp(0.0, -2 * rho / (1 - rho**2) * s) * mass[:, None] * mass[None, :]).sum())
    mi = -dim / 2 * math.log(1 - rho**2) - math.log(2) + softplus
    chol = np.linalg.cholesky(np.array([[1.0, rho], [rho, 1.0]]))

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        pairs = rng.standard_normal((n, dim, 2)) @ chol.T
        sign = rng.choice([-1.0, 1.0], size=(n, 1))
        return pairs[..., 0], sign * pairs[..., 1]

    what = (
        f"two Gaussians, the {dim} pairs at correlation +{rho:g} or -{rho:g} (one sign a row); "
        "no correlation, MI by quadrature"
    )
    return Task(f"sign-mixture-{dim}x{dim}", "mi", mi, what, sampler, (dim, dim))


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

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        x = rng.standard_normal((n, dim)) * (rng.random((n, dim)) >= p_zero)
        return x, x + noise * rng.standard_normal((n, dim))

    what = f"X_i = 0 with probability {p_zero:g}, else N(0, 1); Y = X + {noise:g} N(0, I); MI by quadrature"
    return Task(f"zero-inflated-{dim}x{dim}", "mi", mi, what, sampler, (dim, dim))


def class_mixture_task(
    name: str, weights: Sequence[float], classes: Sequence[tuple[Array, Array]], dx: int, description: str
) -> Task:
    """Discrete Z: Z = k with probability ``weights[k]``, then (X, Y) ~ N(mean_k, cov_k), X the first
    ``dx`` coordinates. I(X; Y | Z) = sum_k w_k I_k, I_k the Gaussian MI within class k: a sum."""
    w = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    d = classes[0][1].shape[0]
    terms = entropy_terms("mi", [list(range(dx)), list(range(dx, d))])
    per_class = [measure_value(terms, functools.partial(gaussian_entropy, cov)) for _, cov in classes]
    truth = float(np.dot(w, per_class))
    chols = [np.linalg.cholesky(cov) for _, cov in classes]

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        z = rng.choice(len(w), size=n, p=w)
        v = rng.standard_normal((n, d))
        out = np.empty((n, d))
        for k, ((mean, _), chol) in enumerate(zip(classes, chols, strict=True)):
            rows = z == k
            out[rows] = v[rows] @ chol.T + mean
        return out[:, :dx], out[:, dx:], z.astype(np.int64)

    def pointwise(x: Any, y: Any, z: Any) -> Array:
        v = np.hstack([np.asarray(x).reshape(len(x), -1), np.asarray(y).reshape(len(y), -1)])
        z = np.asarray(z)
        out = np.zeros(len(v))
        for k, (mean, cov) in enumerate(classes):
            rows = z == k
            if rows.any():

                def logpdf(cols: tuple[int, ...], r: Any = rows, m: Any = mean, c: Any = cov) -> Array:
                    idx = list(cols)
                    return gaussian_logpdf(v[r][:, idx], c[np.ix_(idx, idx)], m[idx])

                out[rows] = pointwise_value(terms, logpdf)
        return out

    return Task(name, "cmi", truth, description, sampler, (dx, d - dx, 1), (2,), {}, pointwise)


def nonlinear_common_cause() -> Task:
    """x = sin(2 z) + 0.3 u, y = z^2 + 0.3 v, z, u, v independent N(0, 1): X and Y are conditionally
    independent given Z (truth 0) yet strongly dependent, and not linearly through z."""

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        z, u, v = rng.standard_normal((3, n, 1))
        return np.sin(2 * z) + 0.3 * u, z**2 + 0.3 * v, z

    def pointwise(x: Any, y: Any, z: Any) -> Array:
        return np.zeros(len(x))  # p(x, y | z) = p(x | z) p(y | z) by construction

    what = (
        "x = sin(2z) + 0.3u, y = z^2 + 0.3v: conditionally independent given z (truth 0), dependent "
        "through a non-linear z, which a linear regression on z does not remove"
    )
    return Task("cmi-nonlinear-common-cause-0", "cmi", 0.0, what, sampler, (1, 1, 1), (), {}, pointwise)
