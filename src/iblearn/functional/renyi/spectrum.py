"""The matrix-based entropy of a large kernel matrix from its top eigenpairs and a bound on the rest.

A Gaussian Gram matrix's spectrum decays fast, so the top ``r`` eigenvalues of ``A = K / tr(K)`` carry
nearly all of its unit trace. They come from a randomized subspace iteration (Halko, Martinsson & Tropp
2011, Alg. 4.4: matrix products only) and a Rayleigh-Ritz step; the rest of the spectrum is known by
two numbers: its mass ``m = 1 - sum_{i <= r} lambda_i`` (exact, since ``tr A = 1``) and its largest
value, at most ``lambda_r``. Among all tails of ``n - r`` eigenvalues with that mass, each at most
``lambda_r``, the entropy is largest when they are equal (``m / (n - r)`` each) and smallest when they
are as few and as large as they can be (``m / lambda_r`` of them at ``lambda_r``): for every alpha,
since ``lambda^alpha`` is convex (alpha > 1) or concave (alpha < 1), and S_alpha monotone in
``sum lambda^alpha`` the other way. So

    S_alpha(A) lies in [S(top, concentrated tail), S(top, flat tail)],

an interval about ``m log(lambda_r (n - r) / m)`` nats wide at alpha near 1. The estimate is its middle;
the rank grows until the half-width is under the caller's tolerance.

The interval assumes the top Ritz values are the top eigenvalues; they are lower bounds of them
(Cauchy interlacing), equal at a converged subspace; the tests check that the exact entropy lies inside
it, and docs/design.md ("Measurements behind the code") gives how close the estimate comes. Ritz values
under the round-off floor (:data:`N_FLOOR`) are not spectrum: they join the tail, and a tail whose mass
is within round-off (:data:`TAIL_NOISE`) is none, as in the exact path. benchmarks/renyi_spectrum.py
measures the estimate, its interval and the exact paths against float64 on six data sets.

The gradient flows through the Ritz values only: the subspace ``Q`` is found without autograd and
``theta = eigvalsh(Q^T K Q) / tr(K)``, whose derivative is ``sum_i f'(theta_i) q_i q_i^T`` over the top
Ritz vectors (and the tail's mass, through the trace): at a converged subspace, the exact path's
gradient on the top eigenvectors, with the tail's eigenvectors sharing one weight.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn._settings import setting

#: Default half-width, in nats, of the interval that the truncated spectrum leaves around an entropy.
SPECTRUM_TOL = 0.01
#: The first block of the subspace iteration; it grows until the interval is narrow enough.
FIRST_RANK = 256
#: Subspace (power) iterations after the first product: one gives most of the accuracy that more would
#: (docs/design.md, "Measurements behind the code"), for one more product and QR per block.
POWER_ITERATIONS = 1
#: Of each block, this fraction is oversampling whose Ritz values are not trusted: the kept rank r is at
#: most the block less it.
OVERSAMPLE = 8
#: Eigenvalues (and Ritz values) under N_FLOOR * machine epsilon * the largest are round-off, not
#: spectrum; together they carry a mass, the tail's.
N_FLOOR = 64
#: Eigenvalues under the floor are each off by about eps * lambda_max, so their sum by about sqrt(count)
#: times that: a tail counts from TAIL_NOISE times that, else it is round-off and there is none
#: (the margin: docs/design.md, "Measurements behind the code").
TAIL_NOISE = 4.0


class SpectrumEntropy(NamedTuple):
    """A matrix entropy from a truncated spectrum, in nats.

    Attributes:
        value: the estimate, the middle of ``[lower, upper]`` (0-d, differentiable).
        lower: the entropy were the tail as concentrated as it can be.
        upper: the entropy were the tail flat.
        rank: the eigenpairs computed (the top ``rank`` taken as exact).
        tail_mass: ``1 - sum`` of the top ``rank`` eigenvalues of ``A = K / tr(K)``.
    """

    value: Tensor
    lower: Tensor
    upper: Tensor
    rank: int
    tail_mass: float

    @property
    def half_width(self) -> float:
        """Half of ``upper - lower``: the most the estimate can be off, if the top eigenvalues are exact
        (up to their round-off: a float32 tail under it counts as none, 5e-6 nats on 1,000 rows of a
        3-dimensional Gaussian sample)."""
        return 0.5 * float(self.upper.detach() - self.lower.detach())


def _excess(lam: Tensor, alpha: float) -> Tensor:
    """``sum lambda (lambda^(alpha - 1) - 1)``, the form of :func:`iblearn.functional.matrix_entropy`
    that keeps its precision near alpha = 1; ``lam`` positive."""
    return (lam * torch.expm1((alpha - 1) * torch.log(lam))).sum()


def log_power_sum(log_terms: Tensor) -> Tensor:
    """``log sum_i exp(t_i)`` of the logs ``t_i = alpha log lambda_i`` (``-inf`` for a term that is 0):
    ``alpha log lambda_max + log sum_i (lambda_i / lambda_max)^alpha``, finite where ``lambda^alpha``
    itself underflows (alpha in the thousands), so that S_alpha tends to ``-log lambda_max``."""
    return torch.logsumexp(log_terms, 0)


def _entropy(top: Tensor, mass: Tensor, tail_value: Tensor, alpha: float) -> Tensor:
    """S_alpha of the spectrum ``top`` plus ``mass / tail_value`` eigenvalues of ``tail_value`` each."""
    if alpha == 1.0:
        return -(top * torch.log(top)).sum() - mass * torch.log(tail_value)
    tail = mass * torch.expm1((alpha - 1) * torch.log(tail_value))
    total = _excess(top, alpha) + tail  # sum lambda^alpha - 1
    if float(total.detach()) > -0.5:
        return torch.log1p(total) / (1 - alpha)
    # Far from alpha = 1 the power sum itself is small, and its log the accurate form, in log space.
    some = mass > 0
    log_mass = torch.where(some, torch.log(torch.where(some, mass, torch.ones_like(mass))), -math.inf)
    log_tail = log_mass + (alpha - 1) * torch.log(tail_value)
    return log_power_sum(torch.cat([alpha * torch.log(top), log_tail.reshape(1)])) / (1 - alpha)


def _orthonormal(y: Tensor) -> Tensor:
    return torch.linalg.qr(y).Q


def top_subspace(a: Tensor, rank: int, iterations: int | None = None, seed: int = 0) -> Tensor:
    """An orthonormal ``(n, rank)`` basis of about the top eigenspace of the symmetric positive
    semi-definite ``a``, by randomized subspace iteration (Halko et al. 2011, Alg. 4.4), without autograd."""
    with torch.no_grad():
        gen = torch.Generator(device=a.device).manual_seed(seed)
        q = torch.randn(a.shape[0], rank, generator=gen, device=a.device, dtype=a.dtype)
        for _ in range((POWER_ITERATIONS if iterations is None else iterations) + 1):
            q = _orthonormal(a @ q)
    return q


def truncated_entropy(
    k: Tensor,
    alpha: float,
    tol: float = SPECTRUM_TOL,
    *,
    max_rank: int | None = None,
    seed: int = 0,
) -> SpectrumEntropy:
    """S_alpha(A) of ``A = K / tr(K)`` in nats from the top eigenpairs of ``K``, within ``tol`` nats if
    its tail allows (see the module's notes for the bound).

    Tries blocks of FIRST_RANK columns, then larger ones up to ``max_rank`` (default ``n // 4``), and
    returns the first result whose half-width is at most ``tol``, else the narrowest one seen: the caller
    decides whether to fall back to the full spectrum. Each next block is the last one doubled as often
    as the width's fall from rank r / 2 to r, were it to go on, says it takes to reach ``tol`` (at most
    three times, at least once): a Gaussian Gram matrix's widths fall by a steady factor per doubling.

    Args:
        k: a symmetric positive semi-definite ``(n, n)`` floating-point matrix with a positive trace
            (its shape, dtype, finiteness and trace are checked; its symmetry and definiteness are not).
        alpha: the Renyi order, positive and finite.
        tol: the half-width, in nats, to reach, positive.
        max_rank: the largest block of the subspace iteration, a positive integer; by default
            ``n // 4``. At least :data:`OVERSAMPLE` columns are used, at most n; a matrix of at most
            :data:`FIRST_RANK` rows is solved whole (every eigenvalue).
        seed: of the random start of the iteration.

    Raises:
        ValueError: naming the argument at fault.

    Example:
        >>> from iblearn.functional import gram_matrix, matrix_entropy
        >>> g = torch.Generator().manual_seed(0)
        >>> k = gram_matrix(torch.randn(1000, 3, generator=g, dtype=torch.float64))
        >>> found = truncated_entropy(k, alpha=1.01)
        >>> found.half_width <= 0.01
        True
        >>> bool(found.lower <= matrix_entropy(k, spectrum="exact") <= found.upper)
        True
    """
    _checked_matrix(k)
    alpha, tol = V.positive(alpha, "alpha"), V.positive(tol, "tol")
    if max_rank is not None:
        max_rank = V.positive_int(max_rank, "max_rank")
    return solve_truncated(k, alpha, tol, max_rank=max_rank, seed=setting("seed", seed))


def _checked_matrix(k: object) -> None:
    """Refuse what :func:`truncated_entropy` cannot read as a kernel matrix, naming ``k``."""
    if not isinstance(k, Tensor) or not torch.is_floating_point(k):
        raise ValueError(f"k: expected a floating-point tensor, got {type(k).__name__}")
    if k.ndim != 2 or k.shape[0] != k.shape[1] or k.shape[0] == 0:
        raise ValueError(f"k: expected a square (n, n) matrix, got shape {tuple(k.shape)}")
    if not bool(torch.isfinite(k).all()):
        raise ValueError("k: contains NaN or Inf")
    if not float(torch.trace(k.detach())) > 0:
        raise ValueError("k: its trace is not positive; a positive semi-definite kernel matrix has one")


def solve_truncated(
    k: Tensor, alpha: float, tol: float = SPECTRUM_TOL, *, max_rank: int | None = None, seed: int = 0
) -> SpectrumEntropy:
    """:func:`truncated_entropy` on arguments already checked (a Gram matrix built and checked by the
    caller)."""
    n = k.shape[0]
    trace = torch.trace(k)
    # A block of fewer than OVERSAMPLE columns has no column of oversampling, and its Ritz values are
    # not the top eigenvalues (n // 4 is even 0 for n <= 3): at least that many. A matrix of at most
    # FIRST_RANK rows is solved whole (every eigenvalue): a subspace of a fraction of so few rows is
    # far from converged on a flat spectrum, and the whole costs no more than its iteration.
    max_rank = min(n, max(max_rank if max_rank is not None else n // 4, OVERSAMPLE))
    if n <= FIRST_RANK:
        max_rank = n
    block = min(FIRST_RANK, max_rank)
    best: SpectrumEntropy | None = None
    while True:
        found, fall = _at_rank(k, trace, block, alpha, seed)
        if best is None or found.half_width < best.half_width:
            best = found
        if best.half_width <= tol or block >= max_rank:
            return best
        doublings = math.log(found.half_width / tol) / math.log(fall) if fall > 1.1 else 1.0
        block = min(block * 2 ** min(max(math.ceil(doublings), 1), 3), max_rank)


def _at_rank(k: Tensor, trace: Tensor, block: int, alpha: float, seed: int) -> tuple[SpectrumEntropy, float]:
    """The bound from one subspace of ``block`` columns, and the factor by which the interval's width fell
    from half its rank to it. The kept rank is the one of narrowest interval among the trusted Ritz
    values (all but the last ``block // OVERSAMPLE``)."""
    n = k.shape[0]
    q = top_subspace(k, block, seed=seed)
    # The Ritz values of A = K / tr(K), descending, differentiable in K (q is a constant).
    theta = (torch.linalg.eigvalsh(q.T @ k @ q) / trace).flip(0)
    trusted = block - block // OVERSAMPLE if block < n else n
    # Ritz values under the round-off floor are not spectrum (in float32 at alpha = 0.5 they added up to
    # 0.02 nats): they join the tail.
    eps = torch.finfo(k.dtype).eps
    above = int((theta[:trusted].detach() > eps * N_FLOOR * theta[0].detach()).sum())
    theta = theta[: max(above, 1)].clamp_min(torch.finfo(k.dtype).tiny)
    # The interval's width at each rank r (on detached values, in float64): the tail's largest
    # eigenvalue is at most theta_r.
    t = theta.detach().double()
    mass = (1 - torch.cumsum(t, 0)).clamp_min(0)
    rest = (n - torch.arange(1, len(t) + 1, device=t.device)).clamp_min(1)
    width = mass * torch.log((t * rest / mass.clamp_min(1e-300)).clamp_min(1))
    r = int(torch.argmin(width)) + 1
    fall = float(width[max(r // 2, 1) - 1] / width[r - 1]) if float(width[r - 1]) > 0 else 1.0
    top = theta[:r]
    m = (1 - top.sum()).clamp_min(0)
    if r >= n or float(m.detach()) <= TAIL_NOISE * math.sqrt(n - r) * eps * float(theta[0].detach()):
        value = _entropy(top / top.sum(), torch.zeros_like(m), torch.ones_like(m), alpha)
        return SpectrumEntropy(value, value.detach(), value.detach(), r, 0.0), fall
    flat = m / (n - r)
    upper = _entropy(top, m, flat, alpha)
    if float(flat.detach()) > float(theta[r - 1].detach()):
        # A tail whose mean exceeds the last kept value: the Ritz values are not the top eigenvalues (a
        # subspace far from converged, as a block of one column of a tiny matrix). Only the bounds every
        # spectrum of n values obeys hold, 0 <= S_alpha <= log n.
        bounds = torch.tensor([0.0, math.log(n)], dtype=upper.dtype, device=upper.device)
        return SpectrumEntropy(upper, bounds[0], bounds[1], r, float(m.detach())), fall
    lower = _entropy(top, m, theta[r - 1], alpha)
    value = 0.5 * (upper + lower)
    return SpectrumEntropy(value, lower.detach(), upper.detach(), r, float(m.detach())), fall
