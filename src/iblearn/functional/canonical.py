"""The canonical Gaussian pair: the base distribution of normalizing-flow MI (MIENF).

Any jointly Gaussian (X, Y) is brought by an invertible affine map of each variable (canonical
correlation analysis) to standard normal coordinates ``xi`` and ``eta`` in which only the pairs
``(xi_j, eta_j)`` are correlated, at ``rho_j``: the covariance ``[[I, diag(rho)], [diag(rho), I]]``,
block-tridiagonal in the interleaved order. A flow per variable absorbs those maps, so this base loses
no generality for Gaussian latents, and its MI is a sum of per-pair terms (Butakov et al. 2024, "Mutual
information estimation via normalizing flows", NeurIPS; the tridiagonal base of their
"tridiag-N-MIENF"; the paper's text was not at hand, so no section or equation is cited).

With ``m = len(rho)`` pairs, the first m coordinates of each side pair up; the rest are independent
standard normals. All functions take float tensors and return nats.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from iblearn import _checks as V

_LOG_2PI = math.log(2 * math.pi)


def canonical_gaussian_mi(rho: Any) -> Tensor:
    """``I = -1/2 sum_j log(1 - rho_j^2)``: the MI of the canonical pair with correlations ``rho``.

    Example:
        >>> round(float(canonical_gaussian_mi(torch.tensor([0.75]))), 4)  # the bivariate normal
        0.4133
    """
    r = _rho(rho)
    return -0.5 * torch.log1p(-r * r).sum()


def canonical_gaussian_pmi(xi: Any, eta: Any, rho: Any) -> Tensor:
    """Pointwise MI ``log p(xi, eta) - log p(xi) - log p(eta)`` of each row under the canonical pair,
    ``(N,)``: per pair ``-1/2 log(1 - r^2) - (r^2 (a^2 + b^2) - 2 r a b) / (2 (1 - r^2))``. Its mean
    under the pair is :func:`canonical_gaussian_mi`; its mean over other data is the MI that the
    Gaussian with these correlations assigns them, an estimate where the data are near that Gaussian.

    Args:
        xi: ``(N, dx)`` latents of x; eta: ``(N, dy)`` latents of y.
        rho: ``(m,)`` correlations in (-1, 1), ``m <= min(dx, dy)``.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> a = torch.randn(200_000, 1, generator=g, dtype=torch.float64)
        >>> b = 0.75 * a + (1 - 0.75**2) ** 0.5 * torch.randn(200_000, 1, generator=g, dtype=torch.float64)
        >>> round(float(canonical_gaussian_pmi(a, b, torch.tensor([0.75])).mean()), 2)
        0.41
    """
    a, b, r = _pairs(xi, eta, rho)
    q = 1 - r * r
    return (-0.5 * torch.log(q) - (r * r * (a * a + b * b) - 2 * r * a * b) / (2 * q)).sum(dim=1)


def canonical_gaussian_log_prob(xi: Any, eta: Any, rho: Any) -> Tensor:
    """``log p(xi, eta)`` of each row under the canonical pair, ``(N,)``: the standard normal densities
    of both sides plus :func:`canonical_gaussian_pmi`."""
    x, y = V.continuous(xi, "xi"), V.continuous(eta, "eta")
    log_std = -0.5 * ((x * x).sum(dim=1) + (y * y).sum(dim=1) + (x.shape[1] + y.shape[1]) * _LOG_2PI)
    return log_std + canonical_gaussian_pmi(x, y, rho)


def canonical_basis(x: Any, y: Any, eps: float = 1e-6) -> tuple[Tensor, Tensor, Tensor]:
    """The linear maps to canonical coordinates (canonical correlation analysis): ``(A, B, rho)`` with
    ``A (dx, dx)``, ``B (dy, dy)`` invertible such that ``xi = (x - mean) A^T`` and ``eta = (y - mean)
    B^T`` have (sample) identity covariance and cross-covariance ``diag(rho)``, ``rho`` the
    ``min(dx, dy)`` canonical correlations, largest first. Covariances get ``eps`` times the mean
    variance on their diagonal, so a rank-deficient variable still has an invertible map.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(5000, 2, generator=g, dtype=torch.float64)
        >>> mix = torch.tensor([[1.0, 2.0], [0.0, 1.0]], dtype=torch.float64)
        >>> y = x @ mix + torch.randn(5000, 2, generator=g, dtype=torch.float64)
        >>> a, b, rho = canonical_basis(x, y)
        >>> xi, eta = (x - x.mean(0)) @ a.T, (y - y.mean(0)) @ b.T
        >>> bool(torch.allclose((xi.T @ eta) / 5000, torch.diag(rho), atol=1e-6))
        True
    """
    xt, yt = V.continuous(x, "x").to(torch.float64), V.continuous(y, "y").to(torch.float64)
    n = V.same_length(("x", xt), ("y", yt))
    xt, yt = xt - xt.mean(dim=0), yt - yt.mean(dim=0)

    def whitening(t: Tensor) -> Tensor:
        cov = t.T @ t / n
        ridge = eps * cov.diagonal().mean().clamp_min(1e-300)
        cov = cov + ridge * torch.eye(len(cov), dtype=cov.dtype, device=cov.device)
        evals, evecs = torch.linalg.eigh(cov)
        return (evecs / evals.sqrt()) @ evecs.T  # cov^(-1/2), symmetric

    wx, wy = whitening(xt), whitening(yt)
    u, rho, vh = torch.linalg.svd(wx @ (xt.T @ yt / n) @ wy)
    a, b = u.T @ wx, vh @ wy
    # Each pair of canonical directions has a sign of its own, which LAPACK and cuSOLVER choose
    # differently: fixed here (each row of A with its largest entry positive, B's row of the same pair
    # flipped with it, B's other rows by their own largest entry), so that the basis is the same on any
    # device.
    sa, sb = _row_signs(a), _row_signs(b)
    sb[: len(rho)] = sa[: len(rho)]
    return a * sa[:, None], b * sb[:, None], rho


def _row_signs(m: Tensor) -> Tensor:
    """The sign of each row's entry of largest magnitude (1 for a zero row)."""
    s = torch.sign(m.gather(1, m.abs().argmax(dim=1, keepdim=True))[:, 0])
    return torch.where(s == 0, torch.ones_like(s), s)


def _rho(rho: Any) -> Tensor:
    r = V.as_tensor(rho, "rho")
    if r.ndim != 1 or not r.is_floating_point():
        raise ValueError(f"rho: expected a 1-d float tensor of correlations, got shape {tuple(r.shape)}")
    if not bool(((r > -1) & (r < 1)).all()):
        raise ValueError("rho: correlations must lie strictly within (-1, 1)")
    return r


def _pairs(xi: Any, eta: Any, rho: Any) -> tuple[Tensor, Tensor, Tensor]:
    """The paired coordinates ``xi[:, :m]``, ``eta[:, :m]`` and ``rho``, checked."""
    x, y, r = V.continuous(xi, "xi"), V.continuous(eta, "eta"), _rho(rho)
    V.same_length(("xi", x), ("eta", y))
    m = len(r)
    if m > min(x.shape[1], y.shape[1]):
        raise ValueError(
            f"rho: {m} correlations for latents of {x.shape[1]} and {y.shape[1]} dimensions; "
            "at most the smaller"
        )
    return x[:, :m], y[:, :m], r.to(x.dtype)
