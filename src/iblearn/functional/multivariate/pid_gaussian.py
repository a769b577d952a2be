"""Partial information decompositions of a jointly Gaussian ``(X1, X2, T)`` from its covariance, sources
and target of any dimension.

Every measure splits ``I(X1, X2; T) = R + U1 + U2 + S`` with ``I(X_i; T) = R + U_i``:

- ``"mmi"``: ``R = min_i I(X_i; T)`` (Barrett 2015).
- ``"broja"``: the union information ``I_cup = min_Q I_Q(X1, X2; T)`` over the Gaussians Q with the
  ``(X_i, T)`` marginals of the covariance, ``U1 = I_cup - I(X2; T)``: the ~-PID of Venkatesh, Dutta,
  Mehta & Grover (2023), BROJA (Bertschinger et al. 2014) restricted to Gaussian Q. With the target
  standardized and each source's noise given T whitened, ``X1 = H1 T + N1``, ``X2 = H2 T + N2``, the
  free parameter is ``Sigma = Cov(N1, N2)`` with ``||Sigma||_2 <= 1`` and
  ``I_cup = min 1/2 log det(I + H2^T H2 + B^T (I - Sigma Sigma^T)^{-1} B)``, ``B = H1 - Sigma H2``.
  Written ``Sigma = L^{-1} K`` with ``L L^T = I + K K^T`` (so ``(I - Sigma Sigma^T)^{-1} = L^T L``),
  the program is unconstrained in K and solved by L-BFGS-B, then by projected gradient steps in
  Sigma until the Frank-Wolfe gap certifies the optimum (:func:`union_information`). For a univariate
  target it equals MMI (Barrett 2015).
- ``"ccs"``: Ince's (2017) common change in surprisal: the mean over the Gaussian of the local
  co-information ``c = i(x1; t) + i(x2; t) - i(x1, x2; t)`` where ``c``, ``i(x1; t)``, ``i(x2; t)`` and
  ``i(x1, x2; t)`` share one sign (the maximum-entropy distribution with the pairwise marginals of a
  Gaussian is the Gaussian itself), as phyid and NuMIT compute it: a Monte Carlo mean over
  ``n_draws`` seeded draws, whose error falls as ``1 / sqrt(n_draws)``.
- ``"dep"``: James, Emenheiser & Crutchfield's (2018) dependency-constraint unique information, in Kay
  & Ince's (2018) Gaussian form ``U1 = min(I1, I_ci - I2, I12 - I2)``, with ``I_ci`` the information
  of the Gaussian with ``X1`` and ``X2`` independent given T (``Cov(X1, X2) = S_1T S_T^{-1} S_T2``).

References:
    A. Barrett. Exploration of synergistic and redundant information sharing in static and dynamical
    Gaussian systems. Phys. Rev. E 91, 052802 (2015).
    P. Venkatesh, C. Bennett, S. Gale, T. Ramirez, G. Handy, S. Durand, S. Olsen, G. Schamberg, P.
    Grover (Venkatesh, Dutta, Mehta & Grover). Gaussian partial information decomposition: bias
    correction and application to high-dimensional data. NeurIPS (2023).
    R. Ince. Measuring multivariate redundant information with pointwise common change in surprisal.
    Entropy 19, 318 (2017).
    J. Kay, R. Ince. Exact partial information decompositions for Gaussian systems based on dependency
    constraints. Entropy 20, 240 (2018).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from scipy.optimize import OptimizeResult, minimize
from torch import Tensor

from iblearn import _checks as V
from iblearn.functional.multivariate.core import PIDParts

GaussianRedundancy = Literal["mmi", "broja", "ccs", "dep"]
GAUSSIAN_REDUNDANCIES: tuple[GaussianRedundancy, ...] = ("mmi", "broja", "ccs", "dep")
#: L-BFGS-B stops when the union information changes by less than this (relative) between iterations.
BROJA_TOLERANCE = 1e-12
#: Iterations of each stage of the union information's solver (L-BFGS-B, then projected gradient).
MAX_ITERATIONS = 2000
#: The bound on each entry of K (``||Sigma||_2 <= 1 - O(K_BOUND^-2)``).
K_BOUND = 1e3
#: The solver stops once the Frank-Wolfe gap certifies the union information to this many nats.
GAP_TOLERANCE = 1e-10
#: A certified gap above this (nats, 1e-6 bits) is reported by a warning.
GAP_WARNING = 1e-6 * math.log(2)
#: Slack of the step's decrease test, relative to f: near the optimum f's changes fall below its
#: round-off while the gradient, and with it the gap, still shrinks.
ROUND_OFF = 4 * float(np.finfo(np.float64).eps)
#: Projected steps keep ``||Sigma||_2 <= 1 - BOUNDARY``: at the boundary the noise covariance is
#: singular; the cap costs at most ``BOUNDARY * ||grad||_*`` nats of gap.
BOUNDARY = 1e-12
#: Monte Carlo draws of the CCS mean.
CCS_DRAWS = 400_000


def _logdet(a: np.ndarray) -> float:
    sign, value = np.linalg.slogdet(a)
    if sign <= 0:
        raise ValueError("cov: a block of the covariance is singular or not positive definite")
    return float(value)


def _mi(cov: np.ndarray, a: Sequence[int], b: Sequence[int]) -> float:
    """``I(A; B) = 1/2 (log det S_A + log det S_B - log det S_AB)`` in nats."""
    ab = [*a, *b]
    return 0.5 * (_logdet(cov[np.ix_(a, a)]) + _logdet(cov[np.ix_(b, b)]) - _logdet(cov[np.ix_(ab, ab)]))


def _inv_sqrt(a: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(a)
    return (v / np.sqrt(w)) @ v.T


def _channels(cov: np.ndarray, i1: list[int], i2: list[int], it: list[int]) -> tuple[np.ndarray, ...]:
    """``H1, H2`` of the whitened channels ``X_i = H_i T + N_i`` (T standardized, ``Cov(N_i) = I``)."""
    st = _inv_sqrt(cov[np.ix_(it, it)])
    out = []
    for ix in (i1, i2):
        h = cov[np.ix_(ix, it)] @ st
        noise = cov[np.ix_(ix, ix)] - h @ h.T
        out.append(_inv_sqrt(noise) @ h)
    return tuple(out)


class UnionInformation(NamedTuple):
    """The union information ``I_cup`` (nats), the noise cross-covariance ``Sigma`` attaining it and the
    Frank-Wolfe gap (nats) that certifies it: ``I_cup - gap <= min_Sigma f <= I_cup``."""

    value: float
    sigma: np.ndarray
    gap: float


def _value_gradient(h1: np.ndarray, h2: np.ndarray, sigma: np.ndarray) -> tuple[float, np.ndarray]:
    """``f(Sigma)`` and ``G = df/dSigma = W B P (B^T W Sigma - H2^T)``, ``W = (I - Sigma Sigma^T)^{-1}``
    (from Sigma's singular values, so that ``1 - s^2`` keeps its digits near the boundary),
    ``P = M^{-1}``, ``M = I + H2^T H2 + B^T W B``; ``f = inf`` where M is not positive definite."""
    u, s, _ = np.linalg.svd(sigma)
    full = np.zeros(len(sigma))
    full[: len(s)] = s
    w = (u / ((1 - full) * (1 + full))) @ u.T
    b = h1 - sigma @ h2
    m = np.eye(h1.shape[1]) + h2.T @ h2 + b.T @ w @ b
    sign, logdet = np.linalg.slogdet(m)
    if sign <= 0 or not np.isfinite(logdet):
        return math.inf, np.zeros_like(sigma)
    c = w @ b @ np.linalg.inv(m)
    return 0.5 * float(logdet), c @ (b.T @ w @ sigma - h2.T)


def frank_wolfe_gap(gradient: np.ndarray, sigma: np.ndarray) -> float:
    """``max_{||S||_2 <= 1} <G, Sigma - S> = <G, Sigma> + ||G||_*`` (the nuclear norm, dual of the
    spectral norm), which bounds ``f(Sigma) - min f`` for the convex f (see :func:`union_information`)."""
    nuclear = float(np.linalg.svd(gradient, compute_uv=False).sum())
    return max(float((gradient * sigma).sum()) + nuclear, 0.0)


def _project(sigma: np.ndarray) -> np.ndarray:
    u, s, vt = np.linalg.svd(sigma, full_matrices=False)
    return (u * np.minimum(s, 1 - BOUNDARY)) @ vt


def _certify(
    h1: np.ndarray, h2: np.ndarray, sigma: np.ndarray, tolerance: float, iterations: int
) -> UnionInformation:
    """Projected gradient steps on the ball ``||Sigma||_2 <= 1 - BOUNDARY`` (backtracking on the
    quadratic upper bound, Barzilai-Borwein trial steps) until the gap is at most ``tolerance``."""
    value, grad = _value_gradient(h1, h2, sigma)
    step, gap = 1.0, frank_wolfe_gap(grad, sigma)
    for _ in range(iterations):
        if gap <= tolerance:
            break
        while step > 1e-30:
            trial = _project(sigma - step * grad)
            trial_value, trial_grad = _value_gradient(h1, h2, trial)
            move = trial - sigma
            bound = value + float((grad * move).sum()) + float((move * move).sum()) / (2 * step)
            if trial_value <= bound + ROUND_OFF * max(1.0, abs(value)):
                break
            step /= 2
        else:
            break  # no step decreases f: the gap stands as the certificate
        curvature = float((move * (trial_grad - grad)).sum())
        step = float((move * move).sum()) / curvature if curvature > 0 else 2 * step
        sigma, value, grad = trial, trial_value, trial_grad
        gap = frank_wolfe_gap(grad, sigma)
    return UnionInformation(value, sigma, gap)


def union_information(
    h1: np.ndarray,
    h2: np.ndarray,
    *,
    tolerance: float = GAP_TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
) -> UnionInformation:
    """``I_cup = min_{||Sigma||_2 <= 1} f(Sigma)``, ``f = 1/2 log det(I + H2^T H2 + B^T (I - Sigma
    Sigma^T)^{-1} B)``, ``B = H1 - Sigma H2`` (see the module), with a certificate of optimality.

    f is convex in Sigma. Along a segment ``Sigma_l = l Sigma_a + (1 - l) Sigma_b``, the mixture
    ``Q_mix = l Q_a + (1 - l) Q_b`` of the two Gaussians keeps T and the ``(X_i, T)`` marginals, and its
    noise ``(N1, N2)``, independent of T, has the covariance of ``Q_l``; the Gaussian noise of a given
    covariance is the worst for a Gaussian input (Diggavi & Cover 2001), and I is convex in the channel
    (Cover & Thomas 2006, Theorem 2.7.4), so ``f(Sigma_l) <= I_{Q_mix} <= l f(Sigma_a) + (1 - l)
    f(Sigma_b)``. For a convex f over the ball, ``f(S) >= f(Sigma) + <G, S - Sigma>`` for every S, hence

        f(Sigma) - min f <= max_{||S||_2 <= 1} <G, Sigma - S> = <G, Sigma> + ||G||_*   (the gap),

    with ``G = W B P (B^T W Sigma - H2^T)`` (:func:`_value_gradient`). L-BFGS-B over K (the module's
    ``Sigma = L^{-1} K``) finds the optimum fast but cannot reach the boundary ``||Sigma||_2 = 1``
    (where identical channels put it); projected gradient steps in Sigma then stop when the gap is at
    most ``tolerance``. Each PID part is exact to within the gap: ``I_cup`` enters each once.

    Args:
        h1, h2: ``(d1, dt)`` and ``(d2, dt)`` whitened channels (:func:`_channels`).
        tolerance: the gap (nats) at which the solver stops.
        max_iterations: iterations of each stage.

    Returns:
        :class:`UnionInformation`: ``I_cup`` in nats, the minimizing ``Sigma`` and the certified gap.
    """
    a, b = torch.from_numpy(h1), torch.from_numpy(h2)
    d1, d2, dt = a.shape[0], b.shape[0], a.shape[1]
    base = torch.eye(dt, dtype=torch.float64) + b.T @ b
    eye_1 = torch.eye(d1, dtype=torch.float64)

    def sigma_of(k: Tensor) -> tuple[Tensor, Tensor]:
        # Sigma = L^{-1} K with L L^T = I + K K^T: then I - Sigma Sigma^T = (L^T L)^{-1}.
        chol = torch.linalg.cholesky(eye_1 + k @ k.T)
        return torch.linalg.solve_triangular(chol, k, upper=False), chol

    def objective(k: Tensor) -> Tensor:
        sigma, chol = sigma_of(k)
        lm = chol @ (a - sigma @ b)
        return 0.5 * torch.linalg.slogdet(base + lm.T @ lm)[1]

    def value_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        k = torch.tensor(x.reshape(d1, d2), dtype=torch.float64, requires_grad=True)
        value = objective(k)
        (grad,) = torch.autograd.grad(value, k)
        return float(value.detach()), grad.numpy().ravel().copy()

    def sigma_at(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return sigma_of(torch.from_numpy(x.reshape(d1, d2)))[0].numpy()

    def certified(intermediate_result: OptimizeResult) -> None:
        sigma = sigma_at(intermediate_result.x)
        if frank_wolfe_gap(_value_gradient(h1, h2, sigma)[1], sigma) <= tolerance:
            raise StopIteration

    # K is bounded so that I + K K^T stays well inside float64's precision near the boundary.
    res = minimize(
        value_grad,
        np.zeros(d1 * d2),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-K_BOUND, K_BOUND)] * (d1 * d2),
        callback=certified,
        options={"ftol": BROJA_TOLERANCE, "gtol": 1e-10, "maxiter": max_iterations},
    )
    return _certify(h1, h2, sigma_at(res.x), tolerance, max_iterations)


def _ccs_redundancy(cov: np.ndarray, i1: list[int], i2: list[int], it: list[int], draws: int) -> float:
    # Cholesky, not numpy's default SVD: where eigenvalues repeat (equal correlations), the SVD's basis
    # of their space follows the BLAS kernel's rounding, and so would the draws on each machine.
    z = np.random.default_rng(0).multivariate_normal(np.zeros(len(cov)), cov, size=draws, method="cholesky")

    def logpdf(cols: list[int]) -> np.ndarray:
        c = cov[np.ix_(cols, cols)]
        v = z[:, cols]
        quad = np.einsum("ni,ij,nj->n", v, np.linalg.inv(c), v)
        return -0.5 * (quad + _logdet(c) + len(cols) * np.log(2 * np.pi))

    lt = logpdf(it)

    def local(cols: list[int]) -> np.ndarray:
        return logpdf([*cols, *it]) - logpdf(cols) - lt

    one, two, joint = local(i1), local(i2), local([*i1, *i2])
    c = one + two - joint
    sign = np.sign(c)
    agree = (np.sign(one) == sign) & (np.sign(two) == sign) & (np.sign(joint) == sign)
    return float(np.where(agree, c, 0.0).mean())


def _indices(dims: Sequence[int], width: int) -> tuple[list[int], list[int], list[int]]:
    if len(dims) != 3 or any(not isinstance(d, int | np.integer) or d < 1 for d in dims):
        raise ValueError(f"dims: expected three positive widths (x1, x2, target), got {dims!r}")
    if sum(dims) != width:
        raise ValueError(f"dims: widths {tuple(dims)} sum to {sum(dims)}, the covariance is {width}x{width}")
    edges = np.cumsum([0, *dims]).tolist()
    return tuple(list(range(a, b)) for a, b in itertools.pairwise(edges))  # type: ignore[return-value]


def gaussian_pid(
    cov: Any,
    dims: Sequence[int] = (1, 1, 1),
    redundancy: GaussianRedundancy = "mmi",
    *,
    n_draws: int = CCS_DRAWS,
) -> PIDParts:
    """The PID of ``I(X1, X2; T)`` of a Gaussian with covariance ``cov`` over the columns
    ``(x1, x2, target)`` of widths ``dims``, by ``redundancy`` (see the module for each measure).

    Args:
        cov: ``(d, d)`` symmetric positive-definite covariance, ``d = sum(dims)``.
        dims: the widths of x1, x2 and the target, in column order.
        redundancy: ``"mmi"``, ``"broja"`` (Gaussian ~-PID), ``"ccs"`` or ``"dep"``.
        n_draws: Monte Carlo draws of the CCS mean (seeded: the result is reproducible).

    Returns:
        :class:`~iblearn.functional.PIDParts` of 0-d float64 tensors, nats.

    Raises:
        ValueError: a covariance that is not symmetric positive definite, widths that do not match it,
            or an unknown redundancy.

    Example:
        >>> cov = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 2.25]])  # t = x1 + x2 + e/2
        >>> [round(float(v), 4) for v in gaussian_pid(cov, (1, 1, 1), "broja")]  # = MMI, scalar target
        [0.2939, 0.0, 0.0, 0.8047]
    """
    V.choice(redundancy, "redundancy", GAUSSIAN_REDUNDANCIES)
    if redundancy == "broja":
        parts, gap = gaussian_broja_pid(cov, dims)
        if gap > GAP_WARNING:
            warnings.warn(
                f"Gaussian BROJA's optimum is certified only to {gap:.3g} nats", RuntimeWarning, stacklevel=2
            )
        return parts
    c = _covariance(cov)
    i1, i2, it = _indices(dims, len(c))
    one, two, joint = _mi(c, i1, it), _mi(c, i2, it), _mi(c, [*i1, *i2], it)
    if redundancy == "mmi":
        red = min(one, two)
    elif redundancy == "ccs":
        red = _ccs_redundancy(c, i1, i2, it, V.positive_int(n_draws, "n_draws"))
    else:
        ci = c.copy()
        cross = c[np.ix_(i1, it)] @ np.linalg.solve(c[np.ix_(it, it)], c[np.ix_(it, i2)])
        ci[np.ix_(i1, i2)], ci[np.ix_(i2, i1)] = cross, cross.T
        i_ci = _mi(ci, [*i1, *i2], it)
        u1 = min(one, i_ci - two, joint - two)
        red = one - u1
    return _parts(red, one, two, joint)


def _parts(red: float, one: float, two: float, joint: float) -> PIDParts:
    parts = (red, one - red, two - red, joint - one - two + red)
    return PIDParts(*(torch.tensor(v, dtype=torch.float64) for v in parts))


def _covariance(cov: Any) -> np.ndarray:
    c = V.as_tensor(cov, "cov").detach().cpu().to(torch.float64).numpy()
    if c.ndim != 2 or c.shape[0] != c.shape[1] or not np.isfinite(c).all():
        raise ValueError(f"cov: expected a finite square matrix, got shape {c.shape}")
    if not np.allclose(c, c.T, rtol=1e-10, atol=1e-12):
        raise ValueError("cov: expected a symmetric matrix")
    if np.linalg.eigvalsh(c).min() <= 0:
        raise ValueError("cov: expected a positive-definite matrix")
    return c


def gaussian_broja_pid(
    cov: Any, dims: Sequence[int] = (1, 1, 1), *, max_iterations: int = MAX_ITERATIONS
) -> tuple[PIDParts, float]:
    """The Gaussian BROJA (~-PID) of a covariance over ``(x1, x2, target)`` of widths ``dims``, and the
    gap (nats) that certifies it: the union information, and with it each part, is exact to within the
    gap. The union information lies between ``max(I_cup - gap_FW, I(X1; T), I(X2; T))``, from the
    Frank-Wolfe gap of :func:`union_information`, and the value returned, ``min(I_cup, I(X1; T) +
    I(X2; T), I(X1, X2; T))``; the gap is their difference.

    Args:
        cov: ``(d, d)`` symmetric positive-definite covariance, ``d = sum(dims)``.
        dims: the widths of x1, x2 and the target, in column order.
        max_iterations: iterations of each stage of the solver (a solve stopped early reports its gap).

    Returns:
        ``(parts, gap)``: :class:`~iblearn.functional.PIDParts` of 0-d float64 tensors and the gap, nats.

    Example:
        >>> cov = torch.tensor([[2.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, 1.0, 1.0]])  # x_i = t + n_i
        >>> parts, gap = gaussian_broja_pid(cov)  # the boundary optimum: n1 = n2
        >>> round(float(parts.redundancy), 6), gap < 1e-9
        (0.346574, True)
    """
    c = _covariance(cov)
    i1, i2, it = _indices(dims, len(c))
    one, two, joint = _mi(c, i1, it), _mi(c, i2, it), _mi(c, [*i1, *i2], it)
    union = union_information(
        *_channels(c, i1, i2, it), max_iterations=V.positive_int(max_iterations, "max_iterations")
    )
    # I_i <= I_cup <= min(I1 + I2, I_P) (BROJA's parts are nonnegative; P is feasible): the clip keeps
    # an upper bound, and the lower ones join the certificate (identical channels meet I_cup = I_i).
    value = min(max(union.value, one, two), one + two, joint)
    lower = max(union.value - union.gap, one, two)
    return _parts(one + two - value, one, two, joint), max(value - lower, 0.0)
