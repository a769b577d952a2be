"""Mutual information between a continuous X and class labels Y when each class is Gaussian with one
shared covariance (the model of linear discriminant analysis, Fisher 1936): X | Y = k ~ N(mu_k, Sigma),
P(Y = k) = p_k.

In coordinates whitened by Sigma the classes are unit Gaussians around the points m_k = Sigma^-1/2 mu_k,
and with f = sum_j p_j phi_j and d_kj = m_k - m_j, ``log phi_j(X) - log phi_k(X) = -Z.d_kj - |d_kj|^2 / 2``
under class k (X = m_k + Z, the quadratic terms cancel), so

    I(X; Y) = -sum_k p_k E_Z[log sum_j p_j exp(-Z.d_kj - |d_kj|^2 / 2)],   Z ~ N(0, I).

The noise across the span of the differences is independent of Y and carries nothing, so the expectation
is over at most K - 1 dimensions however many X has (ten classes of a 512-unit layer: nine at most).
:func:`classes_mi` computes it; :func:`gaussian_classes_mi` estimates it from samples, where it depends on
the data only through the class proportions and the Gram matrix of the whitened class means, whose
sampling bias has a closed form.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from numpy.typing import NDArray
from scipy.special import ndtri
from scipy.stats import qmc
from torch import Tensor

from iblearn import _checks as V

#: Gauss-Hermite nodes a dimension where the class means span at most :data:`GRID_DIMS` dimensions:
#: the expectation is then a quadrature to about 1e-12 (the labels tasks' tests compare it with adaptive
#: quadrature of -f log f). The integrand bends over a width 1 / |d_kj| around Z.d_kj = -|d_kj|^2 / 2,
#: within the nodes' reach for classes up to some 40 standard deviations apart.
NODES = 160
GRID_DIMS = 2
#: The nodes a dimension of the estimate's grid: against 160, 48 nodes differ by at most 5e-7 nats on
#: ten classes on a line 1 and 3 standard deviations apart, a triangle of side 2 and 8, a 3 x 3 grid of
#: classes and four unequally likely classes (the tests' configurations), far below any estimate's
#: sampling error, for a tenth of the work in two dimensions.
ESTIMATE_NODES = 48
#: Above that, the expectation is a scrambled Sobol rule of this many points (fixed seed: the same data
#: give the same number): the integrand is smooth, and its error, some 1e-4 nats on ten classes in nine
#: dimensions (the tests compare it with the grid where both apply), is far below any estimate's
#: sampling error.
QMC_POINTS = 2**13
#: Beyond 16 classes each class's expectation takes QMC_POINTS * 16 / K points (K the classes), at least
#: this many (a hundred classes: 1,024 points each, 102,400 in all).
QMC_LEAST = 2**10
#: Beyond 16 classes, the points of the first-order term of the corrected Gram's negative part (its
#: own scrambled Sobol rule): that term costs the points times the classes squared times the negative
#: eigenvalues (a hundred classes: about 1e9 multiply-adds on 1,024 points).
SPREAD_POINTS = 2**8
#: In :func:`_pass`, a scaled sum below this is taken term by term (see there).
SUM_LEAST = 1e-280
#: In :func:`_pass`, the largest scale (in nats) at which the matrix product's sum is kept.
SCALE_MOST = 256.0


def classes_mi(weights: Sequence[float] | NDArray[np.float64], means: Any) -> float:
    """I(X; Y) in nats of X ~ N(means[Y], I) with P(Y = k) = weights[k] (normalized): the module's
    expectation, in an orthonormal basis of the means' differences' span, by Gauss-Hermite quadrature in
    up to :data:`GRID_DIMS` dimensions and by a quasi-Monte Carlo rule of :data:`QMC_POINTS` points above.

    Example:
        >>> round(classes_mi([0.5, 0.5], np.array([[0.0], [40.0]])) / math.log(2), 6)  # apart: H(Y)
        1.0
    """
    return _expectation(np.asarray(weights, dtype=np.float64), np.asarray(means, dtype=np.float64))[0]


def _expectation(
    weights: NDArray[np.float64],
    means: NDArray[np.float64],
    scores: NDArray[np.float64] | None = None,
    nodes: int = NODES,
) -> tuple[float, NDArray[np.float64]]:
    """:func:`classes_mi` (``nodes`` Gauss-Hermite nodes a dimension on the grid), and for each column v
    of ``scores (K, L)`` (a score a class) the expected posterior variance of v_Y given X,
    ``E_X Var(v_Y | X)``, in the same pass (zeros without ``scores``)."""
    p = weights / weights.sum()
    mu = means.reshape(len(p), -1)
    spread = np.zeros(0 if scores is None else scores.shape[1])
    # The means in an orthonormal basis of their differences' span (the rows of vt with singular values).
    _, sv, vt = np.linalg.svd(mu - mu[0], full_matrices=False)
    dim = int((sv > 1e-12 * max(1.0, float(np.abs(mu).max()))).sum())
    if dim == 0:  # one density for every label: the posterior is the prior
        if scores is not None:
            spread = p @ scores**2 - (p @ scores) ** 2
        return 0.0, spread
    mu = mu @ vt[:dim].T
    if dim <= GRID_DIMS:
        # probabilists' Hermite: E f(Z) = sum_i w_i f(z_i) / sqrt(2 pi), Z ~ N(0, 1)
        grid, w1 = np.polynomial.hermite_e.hermegauss(nodes)
        z = np.stack(np.meshgrid(*[grid] * dim, indexing="ij"), axis=-1).reshape(-1, dim)
        w = np.prod(np.stack(np.meshgrid(*[w1] * dim, indexing="ij"), axis=-1).reshape(-1, dim), axis=1)
        w = w / (2 * math.pi) ** (dim / 2)
    else:
        # The work is the points times the classes squared: beyond 16 classes, fewer points a class.
        z = _sobol_normal(dim, max(QMC_LEAST, QMC_POINTS * 16 // max(16, len(p))))
        w = np.full(len(z), 1.0 / len(z))
    if scores is None or len(p) <= 16:
        return _pass(p, mu, z, w, scores)
    # The scores' pass costs the points times the classes squared times the scores: beyond 16 classes
    # it takes SPREAD_POINTS points of its own, for a first-order term.
    few = _sobol_normal(dim, SPREAD_POINTS)
    _, spread = _pass(p, mu, few, np.full(len(few), 1 / len(few)), scores)
    return _pass(p, mu, z, w, None)[0], spread


def _sobol_normal(dim: int, points: int) -> NDArray[np.float64]:
    """The first power of two at most ``points`` of a scrambled Sobol sequence (seed 0) in ``dim``
    dimensions, mapped to standard normals."""
    return ndtri(qmc.Sobol(dim, scramble=True, seed=0).random_base2(int(math.log2(points))))


def _pass(
    p: NDArray[np.float64],
    mu: NDArray[np.float64],
    z: NDArray[np.float64],
    w: NDArray[np.float64],
    scores: NDArray[np.float64] | None,
) -> tuple[float, NDArray[np.float64]]:
    """:func:`_expectation` on the points ``z`` with weights ``w``, the class points ``mu`` in their span.

    At X = m_k + z, ``log p_j phi_j(X) - log phi_k(X) = B_j(z) + m_k.m_j - c_k(z)`` with
    ``B_j(z) = z.m_j - |m_j|^2 / 2 + log p_j`` and ``c_k(z) = z.m_k + |m_k|^2 / 2``, so the mixture's sum
    over j for every point and class is one matrix product, ``exp(m m^T) exp(B)``: the classes squared
    times the points in multiply-adds, and only (points + classes) times the classes in exponentials
    (docs/design.md, "Measurements behind the code"). Each factor is scaled by its
    row's largest exponent, so it lies in (0, 1]; a sum of at least :data:`SUM_LEAST` has every term that
    matters in normal range (a term that underflowed is below 1e-308 of the scale). Sums below it, and
    those whose scales exceed :data:`SCALE_MOST`, are taken term by term."""
    mu = mu - p @ mu  # about their centre: the scales below, and what cancels against them, are least
    a, gram = mu @ z.T, mu @ mu.T  # a (K, M): m_j.z, classes by points (long rows: numpy's fast axis)
    norms = np.diag(gram).copy()  # the Gram's own diagonal: class k's term below cancels to log p_k
    # In place where it can be: a fresh array of this size is fresh pages from the system, whose faults
    # cost as much as the arithmetic (docs/design.md, "Measurements behind the code").
    eb = a + (np.log(p) - 0.5 * norms)[:, None]  # B_j(z)
    b_top, g_top = eb.max(axis=0), gram.max(axis=1)
    eb -= b_top
    np.exp(eb, out=eb)
    eg = np.exp(gram - g_top[:, None])
    sums = eg @ eb  # (K, M): sum_j exp(B_j(z) + m_k.m_j), scaled by g_top and b_top
    with np.errstate(divide="ignore"):
        lse = np.log(sums)
    lse += b_top
    lse += (g_top - 0.5 * norms)[:, None]
    lse -= a
    # Rounding in the sum of the scales is a few 1e-16 of their size (|m_k.z| <= |m_k| |z|); past
    # SCALE_MOST (classes tens of standard deviations apart, or the grid's outer nodes) the term-by-term
    # sum, whose class k term is log p_k exactly, keeps the result within 1e-13.
    reach = np.abs(g_top) + 0.5 * norms
    bound = np.abs(b_top) + float(reach.max()) + float(np.sqrt(norms.max())) * np.sqrt((z * z).sum(axis=1))
    redo = sums < SUM_LEAST
    wide = np.nonzero(bound > SCALE_MOST)[0]
    scale = np.abs(b_top[wide]) + reach[:, None] + np.abs(a[:, wide])
    redo[:, wide] |= scale > SCALE_MOST
    cls, pts = np.nonzero(redo) if redo.any() else (np.zeros(0, dtype=np.intp),) * 2
    # log p_j phi_j(X) - log phi_k(X) = -z.d_kj - |d_kj|^2 / 2 + log p_j, term by term
    half_sq = 0.5 * (norms[cls][:, None] + norms - 2 * gram[cls])  # |d_kj|^2 / 2
    exponent = a[:, pts].T - a[cls, pts][:, None] - half_sq + np.log(p)
    lse[cls, pts] = torch.logsumexp(torch.from_numpy(exponent), dim=1).numpy()
    total = -float(p @ lse @ w)
    if scores is None:
        return total, np.zeros(0)
    # P(Y = j | X = m_k + z) = exp(B_j + m_k.m_j) / sum: the posterior moments of each score column v
    # are matrix products too, exp(m m^T) (v exp(B)) over the sums.
    share = np.empty(scores.shape[1])
    post = np.exp(exponent - lse[cls, pts][:, None])
    for col, v in enumerate(scores.T):
        first, second = eg @ (eb * v[:, None]), eg @ (eb * (v * v)[:, None])
        with np.errstate(divide="ignore", invalid="ignore"):  # underflowed sums: term by term below
            first /= sums
            second /= sums
        first[cls, pts], second[cls, pts] = post @ v, post @ (v * v)
        second -= first * first
        share[col] = p @ second @ w
    return total, share


def gaussian_classes_mi(x: Any, labels: Any, *, bias_correction: bool = True, rtol: float = 1e-9) -> Tensor:
    """Estimate of I(X; Y) in nats for continuous ``x (N, d)`` and integer ``labels (N,)`` under the
    model of linear discriminant analysis: each class Gaussian, one covariance for all (the module's
    docstring).

    The estimate is :func:`classes_mi` of the class proportions p_k = n_k / N and of class points whose
    Gram matrix is that of the whitened class means. With the class means' deviations from the overall
    mean as the rows of D and the pooled within-class covariance S (N - K degrees of freedom), the
    plug-in Gram is ``G = D S^-1 D^T``. For Gaussian classes S is independent of the means,
    ``E S^-1 = (N - K) / (N - K - r - 1) Sigma^-1`` (Wishart, r dimensions), and each mean carries noise
    of covariance Sigma / n_k, so

        E G = (N - K) / (N - K - r - 1) [G_true + r (diag(1 / n_k) - 1 / N)],

    which ``bias_correction`` (the default) inverts: the multi-class form of the unbiased squared
    Mahalanobis distance between two classes (Lachenbruch & Mickey 1968). The corrected Gram's negative
    eigenvalues (noise where the classes do not differ) enter to first order: the MI is linear in the
    Gram at the edge of the configurations. Without the correction, classes that do not differ at all
    read about ``(K - 1) r / (2 N)`` nats in many dimensions; with it, the Gram is unbiased, and what
    bias remains is the curvature of the MI in it (second order).

    The estimate is unchanged by any invertible linear map of x (S and D change together). On classes
    that are not Gaussian with one covariance it is the MI of the model with the same class means and
    pooled covariance, which is neither a lower nor an upper bound in general: the automatic estimate
    checks the classes' shape before it takes this one. x is measured on the span of S's eigenvectors
    with eigenvalue above ``rtol`` times the largest (a constant column or a unit that copies another
    adds nothing). The work beyond the covariance grows as the classes squared, and beyond 16 classes
    the first-order term's as their cube (times a draw: docs/benchmarks/calibration.md, from
    benchmarks/results/labels_dims).

    Args:
        x: continuous samples ``(N, d)`` (``(N,)`` is one column).
        labels: integer class labels ``(N,)``.
        bias_correction: correct the Gram of the whitened class means for its sampling bias (needs
            N - K > r + 1 rows, r the dimensions kept).
        rtol: relative eigenvalue below which a direction of S is dropped.

    Raises:
        ValueError: naming ``x``, ``labels`` or ``rtol``: not continuous or not labels, lengths that
            differ, no class with two rows (no spread within a class), or too few rows for the
            correction.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> y = torch.randint(0, 2, (20000,), generator=g)
        >>> x = torch.randn(20000, 3, generator=g, dtype=torch.float64)
        >>> x[:, 0] += 4.0 * y  # two classes 4 standard deviations apart: 0.6327 nats
        >>> abs(float(gaussian_classes_mi(x, y)) - 0.6327) < 0.01
        True
    """
    xt, codes, counts = labelled_rows(x, labels, rtol)
    if len(counts) < 2:
        return torch.zeros((), dtype=torch.float64)  # one class: Y is constant
    fit = pooled_fit(xt, codes, counts, rtol)
    n, k, dof, r = fit.n, len(counts), fit.n - len(counts), fit.basis.shape[1]
    p = counts.to(torch.float64) / n
    centred = fit.means - p @ fit.means
    if r == 0:  # every class is a point: the classes at distinct points are told apart exactly
        return torch.tensor(_point_entropy(p, centred), dtype=torch.float64)
    white = centred @ fit.basis
    gram = white @ white.T
    if bias_correction:
        if dof - r - 1 <= 0:
            raise ValueError(
                f"x: {n} rows in {k} classes are too few to correct the estimate in {r} dimensions "
                f"(need N - K > {r + 1}); pass bias_correction=False for the plug-in"
            )
        gram = gram * ((dof - r - 1) / dof) - r * (torch.diag(1.0 / counts.to(torch.float64)) - 1.0 / n)
    theta, q = (v.numpy() for v in torch.linalg.eigh(0.5 * (gram + gram.T)))
    # The corrected Gram's negative part is noise where the classes do not differ: no configuration
    # of points has it, so the MI is carried past the edge of the configurations to first order, where
    # it is linear in the Gram: a new direction in which class k sits at s v_k adds
    # s^2 / 2 E_X Var(v_Y | X) (small s), and a negative eigenvalue theta takes theta / 2 of it. At
    # classes that do not differ the estimate is then unbiased to first order (clipping at 0 would read
    # about 0.04 nats for ten classes of 50 dimensions on 1,000 rows).
    below = theta < 0
    mi, spread = _expectation(p.numpy(), q * np.sqrt(theta.clip(min=0.0)), q[:, below], ESTIMATE_NODES)
    return torch.tensor(mi + 0.5 * float(theta[below] @ spread), dtype=torch.float64)


def classes_pointwise(x: Any, labels: Any, *, rtol: float = 1e-9) -> Tensor:
    """Each row's pointwise information ``log phi_y(x) - log f(x)`` under the Gaussian classes fitted by
    the sample's class means, proportions and pooled covariance (the plug-in's model, measured on the
    span that :func:`gaussian_classes_mi` keeps), ``(N,)`` float64. Their mean is the resubstitution
    estimate, biased up; their standard deviation over sqrt(N) is the estimate's first-order standard
    error (on ten classes in 5 and 20 dimensions it read 0.023 - 0.024 at N = 1,000 against a spread
    over 40 draws of 0.024, and 0.010 at 5,000 against 0.009 - 0.010).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> y = torch.randint(0, 2, (20000,), generator=g)
        >>> x = torch.randn(20000, 3, generator=g, dtype=torch.float64)
        >>> x[:, 0] += 4.0 * y
        >>> abs(float(classes_pointwise(x, y).mean()) - 0.6327) < 0.01
        True
    """
    xt, codes, counts = labelled_rows(x, labels, rtol)
    fit = pooled_fit(xt, codes, counts, rtol)
    p = counts.to(torch.float64) / fit.n
    white, centres = (fit.resid + fit.means[codes]) @ fit.basis, fit.means @ fit.basis
    log_phi = -0.5 * torch.cdist(white, centres).square()  # (N, K), the constants cancel
    return log_phi[torch.arange(fit.n), codes] - torch.logsumexp(log_phi + p.log(), dim=1)


def labelled_rows(x: Any, labels: Any, rtol: float) -> tuple[Tensor, Tensor, Tensor]:
    """``x`` as float64 rows ``(N, d)`` on the CPU, each row's class code and the classes' counts,
    checked."""
    xt = V.continuous(x, "x").reshape(len(x), -1).to(torch.float64).cpu()
    lab = V.labels(labels, "labels").cpu()
    V.same_length(("x", xt), ("labels", lab))
    if not 0.0 < rtol < 1.0:
        raise ValueError(f"rtol: expected a number in (0, 1), got {rtol!r}")
    _, codes, counts = torch.unique(lab, return_inverse=True, return_counts=True)
    if len(counts) >= 2 and len(counts) == len(xt):
        raise ValueError("labels: every class has one row: the spread within a class is unknown")
    return xt, codes, counts


class Pooled(NamedTuple):
    """The classes' means ``(K, d)``, each row's residual from its class's mean ``(N, d)``, and a basis
    ``(d, r)`` that whitens the pooled within-class covariance S (N - K degrees of freedom) on the span
    of its eigenvectors kept: ``basis.T S basis = I``; the data in units of each column's largest
    residual, which change none of the whitened figures."""

    means: Tensor
    resid: Tensor
    basis: Tensor
    n: int


def class_centres(xt: Tensor, codes: Tensor, counts: Tensor) -> tuple[Tensor, Tensor]:
    """Each class's mean ``(K, d)`` and each row's residual from its class's mean ``(N, d)``."""
    means = torch.zeros(len(counts), xt.shape[1], dtype=torch.float64).index_add_(0, codes, xt)
    means = means / counts[:, None]
    return means, xt - means[codes]


def pooled_fit(xt: Tensor, codes: Tensor, counts: Tensor, rtol: float) -> Pooled:
    means, resid = class_centres(xt, codes, counts)
    scale = resid.abs().amax(dim=0).clamp_min(torch.finfo(torch.float64).tiny)
    resid, means = resid / scale, means / scale
    evals, evecs = torch.linalg.eigh(resid.T @ resid / (len(xt) - len(counts)))
    keep = evals > rtol * evals.max().clamp_min(0.0)
    return Pooled(means, resid, evecs[:, keep] / evals[keep].sqrt(), len(xt))


def classes_shape(x: Any, labels: Any, *, rtol: float = 1e-9) -> dict[str, float]:
    """How far the classes of ``x (N, d)`` by ``labels (N,)`` are from the model of
    :func:`gaussian_classes_mi` (each class Gaussian, one covariance), as z-scores centred on 0 with a
    spread of about 1 under it. Each row's residual e_i from its class's mean, against the residuals'
    sum of squares E (N - K degrees of freedom, r dimensions kept), gives
    ``b_i = e_i' E^-1 e_i / (1 - 1 / n_k)``, which under the model is Beta(r / 2, (N - K - r) / 2)
    whatever the class (internally studentized residuals of a multivariate linear model):

    * ``"kurtosis z"``: the mean of b_i^2 against its mean under that Beta, over its standard error
      given that the b_i's weighted sum is r (Mardia's (1970) multivariate kurtosis, with the null
      moments exact for estimated means and covariance): heavy or light tails within the classes (a
      Student t's shared scale).
    * ``"spread z"``: whether the classes' mean b_i differ, by the one-way analysis of variance of b_i
      between the classes, its F statistic times the classes less one (chi-squared under the model),
      in the Wilson-Hilferty cube-root normal form: classes of different spreads.

    Classes of one row have no residual and are left out.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> y = torch.randint(0, 3, (5000,), generator=g)
        >>> x = y[:, None] + torch.randn(5000, 4, generator=g, dtype=torch.float64)
        >>> shape = classes_shape(x, y)
        >>> abs(shape["kurtosis z"]) < 4 and abs(shape["spread z"]) < 4
        True
    """
    xt, codes, counts = labelled_rows(x, labels, rtol)
    fit = pooled_fit(xt, codes, counts, rtol)
    n, r = fit.n, fit.basis.shape[1]
    several = counts[codes] > 1
    if r == 0 or len(counts) < 2 or n - len(counts) - r < 1:
        return {"kurtosis z": 0.0, "spread z": 0.0}
    dof = n - len(counts)
    size = counts[codes][several].to(torch.float64)
    b = (fit.resid[several] @ fit.basis).square().sum(dim=1) / dof / (1 - 1 / size)
    m2, spread_b2 = beta_squares(r / 2, (dof - r) / 2)
    kurtosis = (float(b.square().mean()) - m2) / math.sqrt(spread_b2 / len(b))
    _, groups = torch.unique(codes[several], return_inverse=True)
    sizes = torch.bincount(groups).to(torch.float64)
    means = torch.zeros(len(sizes), dtype=torch.float64).index_add_(0, groups, b) / sizes
    df1, df2 = len(sizes) - 1, len(b) - len(sizes)
    within = float((b - means[groups]).square().sum())
    if df1 < 1 or df2 < 1 or within <= 0.0:
        return {"kurtosis z": kurtosis, "spread z": 0.0}
    chi2 = float((sizes * (means - b.mean()).square()).sum()) / (within / df2)
    spread = ((chi2 / df1) ** (1 / 3) - (1 - 2 / (9 * df1))) / math.sqrt(2 / (9 * df1))
    return {"kurtosis z": kurtosis, "spread z": spread}


def beta_squares(a: float, c: float) -> tuple[float, float]:
    """For b ~ Beta(a, c): the mean of b^2, and its variance beyond its regression on b. Studentized
    residuals' b_i have a fixed weighted sum, so their squares' mean varies by that much (the plain
    Var(b^2) / N gave a spread of 0.2 - 0.4 over 100 draws of :func:`classes_shape`'s kurtosis z)."""
    m1, m2, m3, m4 = (math.prod((a + j) / (a + c + j) for j in range(m)) for m in (1, 2, 3, 4))
    return m2, m4 - m2**2 - (m3 - m1 * m2) ** 2 / (m2 - m1**2)


def _point_entropy(p: Tensor, centred: Tensor) -> float:
    """The entropy of the class proportions ``p`` merged where two classes sit at the same point."""
    _, which = torch.unique(centred, dim=0, return_inverse=True)
    merged = torch.zeros(int(which.max()) + 1, dtype=torch.float64).index_add_(0, which, p)
    return float(-(merged * merged.log()).sum())
