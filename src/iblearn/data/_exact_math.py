"""The exact values behind :mod:`iblearn.data.exact_tasks`: every measure written as a signed sum of
entropies, and those entropies for Gaussian, Student-t and discrete joints; the stationary covariance
of a linear Gaussian vector autoregression.

Each measure on variables ``X_1 .. X_m`` (groups of columns) is ``sum_S c_S h(X_S)``:

    MI     I(A; B)          = h(A) + h(B) - h(A, B)
    CMI    I(X; Y | Z)      = h(X, Z) + h(Y, Z) - h(X, Y, Z) - h(Z)
    TC                      = sum_i h(X_i) - h(X)
    DTC                     = sum_i h(X_-i) - (m - 1) h(X)
    O = TC - DTC,  S = TC + DTC,  II(X; Y; Z) = O of the three

so one list of terms gives both the truth (the entropies in closed form) and the pointwise information
whose mean is the truth (``-sum_S c_S log p(x_S)``), which the tests average over samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import linalg
from scipy.special import digamma, gammaln

Array = NDArray[Any]
Terms = list[tuple[float, tuple[int, ...]]]
#: The measures written as sums of entropies (:func:`entropy_terms`).
SUMS = ("mi", "cmi", "tc", "dtc", "o", "s", "ii")


def entropy_terms(measure: str, groups: Sequence[Sequence[int]]) -> Terms:
    """``[(c_S, columns of S), ...]`` with ``measure = sum_S c_S h(X_S)`` over the variables ``groups``
    (column indices). ``mi`` takes two groups, ``cmi`` and ``ii`` three (x, y, z)."""
    g = [tuple(int(c) for c in cols) for cols in groups]
    allc = tuple(c for cols in g for c in cols)
    if measure == "mi":
        return [(1.0, g[0]), (1.0, g[1]), (-1.0, g[0] + g[1])]
    if measure == "cmi":
        x, y, z = g
        return [(1.0, x + z), (1.0, y + z), (-1.0, x + y + z), (-1.0, z)]
    m = len(g)
    tc: Terms = [(1.0, cols) for cols in g] + [(-1.0, allc)]
    rest = [tuple(c for j, cols in enumerate(g) if j != i for c in cols) for i in range(m)]
    dtc: Terms = [(1.0, r) for r in rest] + [(-(m - 1.0), allc)]
    if measure == "tc":
        return tc
    if measure == "dtc":
        return dtc
    if measure in ("o", "ii"):
        return tc + [(-c, s) for c, s in dtc]
    if measure == "s":
        return tc + dtc
    raise ValueError(f"measure: expected one of {', '.join(SUMS)}, got {measure!r}")


# --------------------------------------------------------------------------------------------- Gaussian
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


# ------------------------------------------------------------------------------------------- Student-t
def student_entropy_part(dim: int, dof: float) -> float:
    """e(d): the entropy of a standard d-variate Student-t less ``1/2 log det`` of its dispersion and
    ``d/2 log(nu pi)`` (Arellano-Valle, Contreras-Reyes & Genton 2013)."""
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


# -------------------------------------------------------------------------------------------- discrete
def discrete_entropy(outcomes: Array, probs: Array, cols: tuple[int, ...]) -> float:
    """H(X_S) in nats of a pmf given as distinct ``outcomes (K, d)`` with ``probs (K,)``."""
    _, inverse = np.unique(outcomes[:, list(cols)], axis=0, return_inverse=True)
    p = np.bincount(inverse.ravel(), weights=probs)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def discrete_logpmf(v: Array, outcomes: Array, probs: Array, cols: tuple[int, ...]) -> Array:
    """log p(x_S) of each row of ``v (N, d)`` (integer outcomes) under the pmf."""
    sub = outcomes[:, list(cols)]
    keys, inverse = np.unique(sub, axis=0, return_inverse=True)
    p = np.bincount(inverse.ravel(), weights=probs)
    lookup = {tuple(k): math.log(q) for k, q in zip(keys.tolist(), p.tolist(), strict=True) if q > 0}
    return np.array([lookup[tuple(row)] for row in v[:, list(cols)].tolist()])


def measure_value(terms: Terms, entropy: Callable[[tuple[int, ...]], float]) -> float:
    """``sum_S c_S h(X_S)`` with ``entropy(S)``."""
    return float(sum(c * entropy(cols) for c, cols in terms))


def pointwise_value(terms: Terms, logpdf: Callable[[tuple[int, ...]], Array]) -> Array:
    """``-sum_S c_S log p(x_S)`` per row: its mean is the measure."""
    return -sum(c * logpdf(cols) for c, cols in terms)  # type: ignore[return-value]


# ---------------------------------------------------------------------------- vector autoregression
def var_autocovariances(coefs: Sequence[Array], noise: Array, max_lag: int) -> list[Array]:
    """``Gamma(h) = Cov(s_t, s_{t-h})`` for h = 0..max_lag of the stationary VAR(p)
    ``s_t = sum_l A_l s_{t-l} + e_t``, ``e_t ~ N(0, noise)``: the companion form's covariance solves the
    discrete Lyapunov equation ``G = F G F' + Q``, and ``Cov(S_t, S_{t-h}) = F^h G``."""
    companion, q = companion_form(coefs, noise)
    if np.max(np.abs(np.linalg.eigvals(companion))) >= 1:
        raise ValueError(
            "coefs: the process is not stationary (a companion eigenvalue on or outside the unit circle)"
        )
    g = linalg.solve_discrete_lyapunov(companion, q)
    d = noise.shape[0]
    out, power = [], np.eye(companion.shape[0])
    for _ in range(max_lag + 1):
        out.append((power @ g)[:d, :d])
        power = companion @ power
    return out


def companion_form(coefs: Sequence[Array], noise: Array) -> tuple[Array, Array]:
    """The VAR(1) form ``S_t = F S_{t-1} + E_t`` of a VAR(p), S_t = (s_t, .., s_{t-p+1})."""
    d, p = noise.shape[0], len(coefs)
    companion = np.zeros((d * p, d * p))
    companion[:d] = np.hstack(coefs)
    companion[d:, :-d] = np.eye(d * (p - 1))
    q = np.zeros((d * p, d * p))
    q[:d, :d] = noise
    return companion, q


def lagged_covariance(gammas: list[Array], picks: Sequence[tuple[int, int]]) -> Array:
    """Covariance of the variables ``(component, delay)``: ``s_{t - delay}[component]`` each."""
    m = len(picks)
    out = np.empty((m, m))
    for i, (a, la) in enumerate(picks):
        for j, (b, lb) in enumerate(picks):
            h = lb - la  # Cov(s_{t-la}, s_{t-lb}) = Gamma(lb - la) for lb >= la
            out[i, j] = gammas[h][a, b] if h >= 0 else gammas[-h][b, a]
    return out


def simulate_var(coefs: Sequence[Array], noise: Array, steps: int, rng: np.random.Generator) -> Array:
    """``steps`` rows of the stationary VAR(p), started from its stationary law (no burn-in)."""
    companion, q = companion_form(coefs, noise)
    d, p = noise.shape[0], len(coefs)
    g = linalg.solve_discrete_lyapunov(companion, q)
    state = np.linalg.cholesky(g + 1e-12 * np.eye(d * p)) @ rng.standard_normal(d * p)
    shocks = rng.standard_normal((steps, d)) @ np.linalg.cholesky(noise).T
    head = np.hstack(coefs)
    out = np.empty((steps, d))
    for t in range(steps):
        new = head @ state + shocks[t]
        state = np.concatenate([new, state[:-d]])
        out[t] = new
    return out
