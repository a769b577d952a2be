"""Mutual information of jointly Gaussian variables: the closed form and its plug-in estimate.

For a joint covariance S = [[S_xx, S_xy], [S_yx, S_yy]]:

    I(X; Y) = 1/2 (log det S_xx + log det S_yy - log det S) = -1/2 sum_i log(1 - rho_i^2),

rho_i the canonical correlations (CCA). The first form is the ground truth of the Gaussian tasks; the
second is what :func:`gaussian_mi` estimates from samples, and it stays defined when a variable lives
on a subspace (a constant column, or a low-rank map into many dimensions).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn.functional.scale import constant_columns, power_of_two_scale


def gaussian_mi_from_cov(cov: Any, dim_x: int) -> Tensor:
    """I(X; Y) in nats for a Gaussian with covariance ``cov`` whose first ``dim_x`` coordinates are X.

    Example:
        >>> round(float(gaussian_mi_from_cov(torch.tensor([[1.0, 0.75], [0.75, 1.0]]), 1)), 4)
        0.4133
    """
    c = V.covariance(cov, "cov")
    if not V.positive_int(dim_x, "dim_x") < c.shape[0]:
        raise ValueError(f"dim_x: must be between 1 and {c.shape[0] - 1}, got {dim_x}")
    return 0.5 * (logdet(c[:dim_x, :dim_x]) + logdet(c[dim_x:, dim_x:]) - logdet(c))


def logdet(c: Tensor) -> Tensor:
    """log det of a positive definite matrix (a principal block of one is positive definite too)."""
    return 2 * torch.log(torch.diagonal(torch.linalg.cholesky(c))).sum()


def canonical_correlations(x: Any, y: Any, *, rtol: float = 1e-9) -> Tensor:
    """Sample canonical correlations of ``x (N, dx)`` and ``y (N, dy)``, largest first.

    Each variable is whitened on the span of its covariance's eigenvectors with eigenvalue above
    ``rtol`` times the largest, so constant columns and rank-deficient variables are handled; a
    correlation whose ``1 - rho^2`` is at most ``rtol`` is 1 (:func:`determined`).
    """
    return canonical_analysis(x, y, rtol=rtol).rho


class Canonical(NamedTuple):
    """What :func:`canonical_analysis` finds: the canonical correlations (largest first), the effective
    dimensions of x and y (their covariances' ranks at the tolerance) and N."""

    rho: Tensor
    dx: int
    dy: int
    n: int


def canonical_analysis(x: Any, y: Any, *, rtol: float = 1e-9) -> Canonical:
    """The sample canonical correlations of ``x (N, dx)`` and ``y (N, dy)`` with the effective dimensions
    behind them (see :func:`canonical_correlations`), as the Gaussian MI and its standard error use them."""
    return canonical_of_bases(*canonical_bases(x, y, rtol=rtol), rtol=rtol)


def canonical_of_bases(wx: Tensor, wy: Tensor, *, rtol: float = 1e-9) -> Canonical:
    """The :func:`canonical_analysis` of rows already in their :func:`canonical_bases`: the canonical
    correlations are the singular values of the bases' cross-covariance (:func:`determined` at
    ``rtol``)."""
    rho = determined(torch.linalg.svdvals(wx.T @ wy / len(wx)), rtol)
    return Canonical(rho, wx.shape[1], wy.shape[1], len(wx))


def determined(rho: Tensor, rtol: float = 1e-9) -> Tensor:
    """Canonical correlations of whitened rows (unit variance a direction) clipped to [0, 1], with those
    whose conditional variance ``1 - rho^2`` (the Schur complement: the direction's variance given the
    other side) is at most ``rtol`` set to exactly 1. That is the tolerance below which a direction
    counts as absent when a variable is whitened: a linear relation computed in float64 leaves a
    conditional variance of round-off (about 1e-15), and ``-1/2 log`` of it would read some 17 nats
    instead of ``inf``.

    Example:
        >>> determined(torch.tensor([1 - 1e-15, 0.999, 0.5], dtype=torch.float64)).tolist()
        [1.0, 0.999, 0.5]
    """
    rho = rho.clamp(0.0, 1.0)
    return torch.where(1 - rho**2 <= rtol, torch.ones_like(rho), rho)


def canonical_bases(x: Any, y: Any, *, rtol: float = 1e-9) -> tuple[Tensor, Tensor]:
    """``x (N, dx)`` and ``y (N, dy)`` each centred and whitened on its span, ``(N, rx)`` and ``(N, ry)``
    with identity covariance (divisor N): the coordinates of :func:`canonical_analysis`, in which every
    Gaussian estimate of I(X; Y) from these rows, or from a subset of them, is unchanged (it is
    invariant to an invertible linear map of each side) and the covariance has full rank.

    Each side keeps the eigenvectors of its covariance with eigenvalue above ``rtol`` times the largest,
    so constant columns and rank-deficient variables are handled.
    """
    if isinstance(rtol, bool) or not isinstance(rtol, int | float) or not 0 <= rtol < 1:
        raise ValueError(f"rtol: must be a number in [0, 1), got {rtol!r}")
    xt, yt = V.continuous(x, "x").to(torch.float64), V.continuous(y, "y").to(torch.float64)
    n = V.same_length(("x", xt), ("y", yt))
    V.same_device(("x", xt), ("y", yt))

    def whiten(t: Tensor, name: str) -> Tensor:
        # In units of an exact power of two: the products below overflow from about 1e154 (a false "is
        # constant" at 1e200) and vanish below 1e-154. Constant columns are zeroed exactly: their mean can
        # round off the value (1/3), and a constant 1e-17 would be whitened into a column of ones.
        constant = constant_columns(t)
        t = t / power_of_two_scale(t)
        t = t - t.mean(dim=0)
        t[:, constant] = 0.0
        evals, evecs = torch.linalg.eigh(t.T @ t / n)
        keep = evals > rtol * evals.max().clamp_min(torch.finfo(torch.float64).tiny)
        if not bool(keep.any()):
            raise ValueError(f"{name}: is constant; its canonical correlations are undefined")
        return t @ (evecs[:, keep] / evals[keep].sqrt())

    wx, wy = whiten(xt, "x"), whiten(yt, "y")
    if wx.shape[1] + wy.shape[1] >= n:
        raise ValueError(
            f"x, y: {wx.shape[1]} + {wy.shape[1]} effective dimensions need more than that many samples, "
            f"got N={n}; with so few samples every canonical correlation is 1"
        )
    return wx, wy


def wishart_digammas(n: int, d: int, like: Tensor) -> Tensor:
    """``psi((n - i) / 2)`` for i = 1..d (dtype and device of ``like``): with S the sample covariance of
    n Gaussian rows in d dimensions (divisor n), ``E log det S = log det Sigma + sum of these + d log(2 /
    n)``, since n S is Wishart with n - 1 degrees of freedom. The bias terms of :func:`gaussian_mi`'s
    ``bias_correction`` and of :func:`~iblearn.functional.doe_mi`'s entropy of y."""
    i = torch.arange(1, d + 1, dtype=like.dtype, device=like.device)
    return torch.special.digamma((n - i) / 2)


def gaussian_mi(x: Any, y: Any, *, rtol: float = 1e-9, bias_correction: bool = False) -> Tensor:
    """Gaussian estimate of I(X; Y) in nats from the sample canonical correlations rho_i: the plug-in
    ``-1/2 sum log(1 - rho_i^2)``, or with ``bias_correction`` the unbiased one for Gaussian data.

    The plug-in is the MI of the Gaussian with the sample's covariance. For Gaussian data it is biased
    upwards by about ``dx dy / (2 N)`` nats (0.125 at 50 x 50 and N = 10,000), which dominates in high
    dimension. ``bias_correction=True`` subtracts the bias exactly: (N - 1) times the sample covariance is
    Wishart, so ``E log det S = log det Sigma + sum_{i=1..d} psi((N - i) / 2) + d log(2 / (N - 1))``
    (the unbiased log-determinant behind the UMVU estimate of the Gaussian entropy, Ahmed & Gokhale
    1989; Misra, Singh & Demchuk 2005), and the MI, a sum of three log-determinants, gets
    ``1/2 [sum_{i=1..dx+dy} - sum_{i=1..dx} - sum_{i=1..dy}] psi((N - i) / 2)`` added (negative), with
    dx, dy the effective dimensions (those kept by ``rtol``). The corrected value can be negative at
    independence, as an unbiased estimate of 0 must be.

    For other data either is the MI of a moment-matched Gaussian (the Gaussian with the same joint
    covariance), which is neither a lower nor an upper bound in general: two noisy copies of a fair
    coin share at most log 2 nats, yet their correlation gives about 2. Returns ``inf`` when a
    canonical correlation is 1 (a deterministic linear relation): where ``1 - rho^2`` is at most
    ``rtol`` (:func:`determined`), the relation's round-off.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(20000, 1, generator=g)
        >>> y = 0.75 * x + (1 - 0.75**2) ** 0.5 * torch.randn(20000, 1, generator=g)
        >>> abs(float(gaussian_mi(x, y)) - 0.4133) < 0.02  # sd at N=20000 is about 0.005
        True
    """
    return gaussian_mi_of(canonical_analysis(x, y, rtol=rtol), bias_correction=bias_correction)


def gaussian_mi_of(canonical: Canonical, *, bias_correction: bool = False) -> Tensor:
    """:func:`gaussian_mi` from the :func:`canonical_analysis` of the rows."""
    rho, dx, dy, n = canonical
    mi = -0.5 * torch.log1p(-(rho**2)).sum()
    if not V.flag(bias_correction, "bias_correction"):
        return mi
    psi = wishart_digammas(n, dx + dy, rho)
    return mi + 0.5 * (psi.sum() - psi[:dx].sum() - psi[:dy].sum())


def gaussian_local_mi_of_bases(wx: Tensor, wy: Tensor, *, rtol: float = 1e-9) -> Tensor:
    """The local values ``(N,)`` of :func:`gaussian_mi_of` on rows in their :func:`canonical_bases`
    (each side centred with identity covariance, divisor N): per row, the log-density ratio
    ``log p(x, y) / (p(x) p(y))`` of the Gaussian with the rows' covariance. In canonical coordinates
    ``u = wx U``, ``v = wy V`` (``wx^T wy / N = U diag(rho) V^T``), pairs independent across i,

        ``i(x; y) = sum_i -1/2 log(1 - rho_i^2) + q_i``,
        ``q_i = (2 rho_i u_i v_i - rho_i^2 (u_i^2 + v_i^2)) / (2 (1 - rho_i^2))``,

    where q_i has mean ``(2 rho_i^2 - 2 rho_i^2) / (2 (1 - rho_i^2)) = 0`` over the rows (u_i and v_i have
    unit variance and correlation rho_i there), so the mean is the estimate ``-1/2 sum log(1 - rho_i^2)``.
    With one column of y it is the linear-Gaussian local information of the transfer entropy,
    ``-1/2 log(s_e^2 / s_y^2) - e^2 / (2 s_e^2) + y^2 / (2 s_y^2)``. ``inf`` for every row where a
    canonical correlation is 1 at ``rtol`` (:func:`determined`; the estimate is ``inf``).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(1000, 2, generator=g, dtype=torch.float64)
        >>> y = x[:, :1] + torch.randn(1000, 1, generator=g, dtype=torch.float64)
        >>> wx, wy = canonical_bases(x, y)
        >>> local = gaussian_local_mi_of_bases(wx, wy)
        >>> local.shape, abs(float(local.mean() - gaussian_mi(x, y))) < 1e-12
        (torch.Size([1000]), True)
    """
    n = wx.shape[0]
    u_mat, rho, vh = torch.linalg.svd(wx.T @ wy / n, full_matrices=False)
    rho = determined(rho, rtol)
    if bool((rho >= 1).any()):
        return torch.full((n,), torch.inf, dtype=wx.dtype, device=wx.device)
    u, v = wx @ u_mat, wy @ vh.T
    quad = (2 * rho * u * v - rho**2 * (u**2 + v**2)) / (2 * (1 - rho**2))
    return (-0.5 * torch.log1p(-(rho**2)) + quad).sum(dim=1)


def gaussian_entropy_from_cov(cov: Any) -> Tensor:
    """Differential entropy 1/2 log det(2 pi e S) in nats of a Gaussian with covariance ``cov``."""
    c = V.covariance(cov, "cov")
    d = c.shape[0]
    return 0.5 * (d * torch.log(torch.tensor(2 * torch.pi * torch.e, dtype=torch.float64)) + logdet(c))
