"""Matrix-based Renyi alpha-entropy functional (Giraldo, Rao & Principe 2014) and its multivariate
extension (Yu et al. 2020), the "matrix-based" estimator that MOLE trains with (Li & Pei 2023, Sec. 4).

For N samples, a kernel Gram matrix K normalized to trace one, ``A = K / tr(K)``, plays the role of a
density; its eigenvalues play the role of probabilities:

    S_alpha(A) = 1 / (1 - alpha) * log tr(A^alpha) = 1 / (1 - alpha) * log sum_i lambda_i(A)^alpha

    S_alpha(A, B) = S_alpha(A o B / tr(A o B))         (joint entropy; o is the Hadamard product)

    I_alpha(A; B) = S_alpha(A) + S_alpha(B) - S_alpha(A, B)

Several variables (the channels of a feature map) enter a joint entropy through the Hadamard product
of their Gram matrices (Yu et al. 2020, "Multivariate extension of matrix-based Renyi's alpha-order
entropy functional", TPAMI). Everything here is differentiable, so it can be a training loss.
Entropies are in nats (natural log). The Gram matrices and their kernel widths are in
:mod:`iblearn.functional.renyi.gram`. Each entropy other than alpha = 2 takes the spectrum of an
N x N matrix: all of it (``spectrum="exact"``, N^3 work), or from :data:`TRUNCATE_FROM` rows on its
top eigenpairs and an interval for the rest (:mod:`iblearn.functional.renyi.spectrum`, N^2 times the rank).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Literal, cast

import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn.functional.renyi.gram import (
    DEFAULT_SIGMA,
    HALF,
    Channels,
    KernelWidth,
    adjacency_gram,
    checked_gram,
    gram_matrix,
    joint_gram,
)
from iblearn.functional.renyi.spectrum import (
    N_FLOOR,
    SPECTRUM_TOL,
    TAIL_NOISE,
    log_power_sum,
    solve_truncated,
)

#: Yu et al. use alpha slightly above 1 to approximate Shannon entropy while keeping the Renyi form.
DEFAULT_ALPHA = 1.01
#: How an entropy's spectrum is found: all of it ("exact"), the top eigenpairs and a bound on the rest
#: within a tolerance ("truncated", see :mod:`iblearn.functional.renyi.spectrum`), or the first from
#: TRUNCATE_FROM rows on ("auto"). The truncated path falls back to the exact one where the tail is too
#: heavy for the tolerance.
Spectrum = Literal["auto", "exact", "truncated"]
#: From this many rows "auto" truncates the spectrum: an n x n eigendecomposition grows as n^3, the
#: truncated path as n^2 times the rank.
TRUNCATE_FROM = 8192


def matrix_entropy(
    k: Tensor,
    alpha: float = DEFAULT_ALPHA,
    *,
    spectrum: Spectrum = "auto",
    spectrum_tol: float = SPECTRUM_TOL,
) -> Tensor:
    """S_alpha(A) in nats of ``A = K / tr(K)``, for a symmetric positive semi-definite ``K``.

    ``alpha = 2`` uses ``tr(A^2) = ||K||_F^2 / tr(K)^2`` (no eigendecomposition); ``alpha = 1`` is the
    von Neumann entropy ``-sum lambda log lambda``; other alphas go through ``eigvalsh``, whose backward
    pass is stable even for repeated eigenvalues. Eigenvalues under the solver's round-off floor
    (:data:`~iblearn.functional.renyi.spectrum.N_FLOOR` times its epsilon times the largest) are each noise,
    but together they carry the rest of the trace: that mass is read as a geometric tail under the
    floor (none where it is itself round-off, as for a point mass or a low-rank matrix): in float32
    that keeps the entropies and their gradient near float64's, where dropping the tail and
    renormalizing the rest does not (docs/design.md, "Measurements behind the code"). Where the tail's
    mass is within round-off it is left out.

    As the eigenvalues sum to one, ``sum lambda^alpha = 1 + sum lambda (lambda^(alpha - 1) - 1)``, so

        S_alpha(A) = log1p(sum_i lambda_i expm1((alpha - 1) log lambda_i)) / (1 - alpha),

    which keeps its precision as alpha tends to 1 (and tends to the von Neumann entropy), where
    ``log(sum lambda^alpha) / (1 - alpha)`` loses its digits to cancellation in float32.
    When ``sum lambda^alpha < 1/2`` (large alpha) the log of the sum is the accurate form and is used,
    summed in log space,

        log sum_i lambda_i^alpha = alpha log lambda_max + log sum_i (lambda_i / lambda_max)^alpha,

    so that the entropy stays finite however large alpha is (where ``lambda^alpha`` underflows): it
    tends to ``-log lambda_max`` as alpha tends to infinity (Giraldo et al. 2014).

    ``spectrum="truncated"`` (and ``"auto"`` from :data:`TRUNCATE_FROM` rows on) takes the top
    eigenpairs by randomized subspace iteration and bounds the rest of the spectrum by its mass and
    largest value (:func:`~iblearn.functional.renyi.spectrum.truncated_entropy`, which returns the interval
    too): the estimate is within ``spectrum_tol`` nats of the entropy of the spectrum, or the exact path
    is taken where the tail is too heavy for that.
    """
    solve = _spectrum_args(spectrum, spectrum_tol)
    return _matrix_entropy(_psd_matrix(k), V.positive(alpha, "alpha"), solve)


_Solve = tuple[str, float]  # (spectrum, spectrum_tol), checked
_EXACT: _Solve = ("exact", SPECTRUM_TOL)


def _spectrum_args(spectrum: Any, tol: Any) -> _Solve:
    return V.choice(spectrum, "spectrum", ("auto", "exact", "truncated")), V.positive(tol, "spectrum_tol")


def _matrix_entropy(k: Tensor, alpha: float, solve: _Solve = _EXACT) -> Tensor:
    """:func:`matrix_entropy` of a matrix built here (a Gram matrix of checked samples, or a product of
    such), without the checks a user's matrix gets: they read the N x N matrix several times over, more
    work than the alpha = 2 entropy itself."""
    if k.dtype in HALF:
        k = k.float()  # eigvalsh has no half-precision kernel, and a log of such eigenvalues, little sense
    if alpha == 2.0:
        return 2 * torch.log(torch.trace(k)) - 2 * torch.log(torch.linalg.vector_norm(k))
    spectrum, tol = solve
    if spectrum == "truncated" or (spectrum == "auto" and k.shape[0] >= TRUNCATE_FROM):
        found = solve_truncated(k, alpha, tol)
        if found.half_width <= tol:
            return found.value
    return _spectrum_entropy(_eigvalsh(k), alpha)


def _spectrum_entropy(lam: Tensor, alpha: float) -> Tensor:
    """S_alpha of the eigenvalues ``lam`` of a positive semi-definite matrix, normalized here to sum to
    one (see :func:`matrix_entropy`), the eigenvalues under the round-off floor read as a geometric tail.

    Eigenvalues under ``N_FLOOR * eps * lambda_max`` are round-off in the solver's dtype, but their sum
    is not: ``m = 1 - sum(kept) / sum(all)`` (the sum of all is the trace). The tail that carries it is
    read as a geometric sequence under the floor (:func:`_with_tail`). Of the shapes tried on 2,048 rows
    of 2-, 10- and 20-dimensional Gaussian samples in float32, it came closest to float64: within 1e-4
    nats at alpha = 1.01 and 0.003 at alpha = 0.5, where the tail flat at the floor read up to 0.16
    nats high, the tail concentrated at the floor 0.11 low, and their middle (the truncated path's
    estimate) 0.07 off.
    """
    eps = torch.finfo(lam.dtype).eps
    top = lam.max().detach()
    real = lam > eps * N_FLOOR * top
    kept = torch.where(real, lam, torch.zeros_like(lam))
    p = _with_tail(kept, real, lam.sum(), top, eps)
    pos = p > 0
    # Terms at zero (and their gradients) are 0: the double where keeps them so instead of 0 * inf.
    safe = torch.where(pos, p, torch.ones_like(p))
    if alpha == 1.0:
        return -torch.where(pos, safe * torch.log(safe), torch.zeros_like(p)).sum()
    # The zero ones are 0 in p and 1 in safe: their terms, and gradients, are 0.
    excess = (p * torch.expm1((alpha - 1) * torch.log(safe))).sum()  # sum lambda^alpha - 1
    # Both forms, one chosen on the device (no read of excess to the host): each computed on a value
    # where it is finite (the double where again), so the other's gradient is 0, never 0 * inf.
    near = excess.detach() > -0.5
    small = torch.log1p(torch.where(near, excess, torch.zeros_like(excess)))
    large = log_power_sum(torch.where(pos, alpha * torch.log(safe), torch.full_like(p, -math.inf)))
    return torch.where(near, small, large) / (1 - alpha)


def _with_tail(kept: Tensor, real: Tensor, total: Tensor, top: Tensor, eps: float) -> Tensor:
    """The spectrum normalized to sum to one: the kept eigenvalues and, in the dropped places, the
    geometric tail ``f q^j`` (j = 1, 2, ...) under the floor ``f`` whose sum is the dropped mass ``m``,
    ``q = c / (1 + c)`` for ``c = m / f``, cut at the number of dropped places and scaled back to ``m``;
    where ``m`` is within round-off, none. (Solving for the ratio of the cut sequence instead comes no
    closer to float64: docs/design.md, "Measurements behind the code".) Nothing is read to the host (on
    a GPU a wait), so the tail is computed, as zeros, where there is none."""
    dropped = (~real).to(kept.dtype)
    count = dropped.sum()
    kept_sum = kept.sum()
    mass = 1 - kept_sum / total  # differentiable: the tail's share moves with the trace and the top
    share = top / total.detach()  # lambda_max of the normalized spectrum
    m = mass.detach()
    counts = (m > TAIL_NOISE * torch.sqrt(count) * eps * share) & (count > 0)
    c = (m / (eps * N_FLOOR * share)).clamp_min(0)
    # q^0, q^1, ... over the dropped places (the exponent counts the dropped ones before), 0 elsewhere
    w = (c / (1 + c)) ** (torch.cumsum(dropped, 0) - dropped) * dropped
    tail = mass * counts * w / w.sum().clamp_min(1.0)
    return kept / torch.where(counts, total, kept_sum) + tail


def _labels(x: Any, name: str) -> Tensor | None:
    """The checked labels of an integer sample (whose Gram matrix is the delta kernel), else None."""
    t = V.as_tensor(x, name)
    return None if torch.is_floating_point(t) else V.labels(t, name)


def _entropy(k: Tensor, alpha: float, labels: Tensor | None, solve: _Solve = _EXACT) -> Tensor:
    """:func:`matrix_entropy` of the Gram matrix ``k`` of a sample, or of ``labels``: the delta kernel's
    matrix has one eigenvalue per class, its count (an all-ones block), so the entropy is that of the
    class frequencies, without an eigenproblem (which LAPACK solves slowly for such a matrix: docs/design.md,
    "Measurements behind the code")."""
    alpha = V.positive(alpha, "alpha")
    if labels is None or alpha == 2.0:
        return _matrix_entropy(k, alpha, solve)
    return _spectrum_entropy(_class_sizes(labels).to(k.dtype), alpha)


def _class_sizes(labels: Tensor) -> Tensor:
    """The delta kernel's spectrum, unnormalized: each class's size at its first row in sorted order, 0
    elsewhere. From a sort and scans, without ``torch.unique``, whose number of classes is a read to the
    host (a wait on a GPU in every training step)."""
    s = torch.sort(labels).values
    at = torch.arange(len(s), device=s.device)
    first = torch.ones_like(s, dtype=torch.bool)
    first[1:] = s[1:] != s[:-1]
    starts = torch.where(first, at, len(s))
    after = torch.cat([starts[1:], torch.full((1,), len(s), device=s.device)])  # the next class's start
    next_start = after.flip(0).cummin(0).values.flip(0)
    return torch.where(first, next_start - at, 0)


def _joint_entropy(
    a: Tensor, b: Tensor, alpha: float, la: Tensor | None, lb: Tensor | None, solve: _Solve = _EXACT
) -> Tensor:
    """S_alpha(A, B) from the Gram matrices ``a``, ``b`` and the labels of either side, if labels: the
    joint matrix ``a * [l_i == l_j]`` is then block diagonal over the classes, so its eigenvalues are
    those of the classes' blocks, solved one class at a time (smaller, and no block of zeros to solve)."""
    alpha = V.positive(alpha, "alpha")
    if alpha == 2.0 and not a.is_cuda and a.dtype not in HALF and b.dtype == a.dtype:
        return _product_entropy2(a, b)
    k = joint_gram(a, b)
    labels = la if la is not None else lb
    if labels is None or alpha == 2.0 or k.is_cuda:
        # On a GPU one eigendecomposition of the whole matrix: the blocks' sizes are a read to the host,
        # and each block's solve another (cuSOLVER's status word).
        return _matrix_entropy(k, alpha, solve)
    if la is not None and lb is not None:  # both labels: the classes are the pairs of labels
        return _entropy(k, alpha, torch.unique(torch.stack([la, lb], 1), dim=0, return_inverse=True)[1])
    # The classes' blocks, each in row order, from one stable sort and the classes' sizes (one copy to
    # the host, where a row index per class would take one each).
    order = torch.argsort(labels, stable=True)
    sizes = torch.unique(labels, return_counts=True)[1].tolist()
    k = k[order][:, order]
    ends = itertools.accumulate(sizes)
    blocks = [k[end - size : end, end - size : end] for size, end in zip(sizes, ends, strict=True)]
    return _spectrum_entropy(torch.cat([_eigvalsh(b) for b in blocks]), alpha)


#: Elements of the Hadamard product :func:`_product_entropy2` forms at once: a block that stays in cache.
PRODUCT_BLOCK = 1 << 18


class _ProductNorm(torch.autograd.Function):
    """``||A o B||_F`` from blocks of rows of the product, with the gradient ``(A o B) o B / ||A o B||_F``
    (and its mirror for B) in whole-matrix operations: one N x N product in the backward, where the
    blocks' own backward would add each block into a fresh N x N zero matrix (N^3 / block work). The
    backward is itself differentiable (a second-order step through it, as ProximalSplit takes)."""

    @staticmethod
    def forward(ctx: Any, a: Tensor, b: Tensor) -> Tensor:
        rows = max(1, PRODUCT_BLOCK // max(a.shape[1], 1))
        blocks = [torch.linalg.vector_norm(a[i : i + rows] * b[i : i + rows]) for i in range(0, len(a), rows)]
        norm = torch.linalg.vector_norm(torch.stack(blocks))
        ctx.save_for_backward(a, b, norm)
        return norm

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:
        a, b, norm = ctx.saved_tensors
        scaled = a * b * (grad / norm)
        return (
            scaled * b if ctx.needs_input_grad[0] else None,
            scaled * a if ctx.needs_input_grad[1] else None,
        )


def _product_entropy2(a: Tensor, b: Tensor) -> Tensor:
    """S_2 of ``A o B`` normalized, ``2 log tr(A o B) - 2 log ||A o B||_F`` (the matrix entropy at
    alpha = 2, Giraldo et al. 2014), from blocks of rows of the product: on the CPU a fresh N x N product
    is an allocation the system maps page by page, which costs more than the arithmetic on it."""
    trace = (a.diagonal() * b.diagonal()).sum()
    norm = cast(Tensor, _ProductNorm.apply(a, b))  # type: ignore[no-untyped-call]
    return 2 * torch.log(trace) - 2 * torch.log(norm)


def _eigvalsh(k: Tensor) -> Tensor:
    """``eigvalsh``, retried in float64 where LAPACK's float32 solver does not converge.

    The float32 solver failed (error code 162, "ill-conditioned or too many repeated eigenvalues") on a
    batch's node Gram matrix (about 2,000 nodes) in MOLE's matrix-based Mutagenicity run, in the first
    epoch of its decoder module, whose labels' matrix has two distinct rows (such matrices take the
    class path of :func:`_entropy`, without an eigenproblem). The eigenvalues go back to the input's
    dtype, and the gradient flows through the cast.
    """
    try:
        return torch.linalg.eigvalsh(k)
    except torch.linalg.LinAlgError:  # type: ignore[attr-defined]  # exported at run time, not in the stubs
        if k.dtype == torch.float64:
            raise
        return torch.linalg.eigvalsh(k.double()).to(k.dtype)


def _psd_matrix(value: Any) -> Tensor:
    """A Gram matrix checked: square, floating-point, finite in every entry (eigvalsh reads one
    triangle only, and ignored a NaN in the other), symmetric, with 2 x 2 principal minors >= 0 (an
    indefinite matrix has no entropy), with a positive trace (a zero matrix gave an entropy
    of inf)."""
    k = V.as_tensor(value, "k")
    if not torch.is_floating_point(k):
        raise ValueError(f"k: expected a floating-point matrix, got dtype {k.dtype}")
    if k.ndim != 2 or k.shape[0] != k.shape[1] or k.shape[0] == 0:
        raise ValueError(f"k: expected a square (N, N) Gram matrix, got shape {tuple(k.shape)}")
    if not bool(torch.isfinite(k).all()):
        raise ValueError("k: contains NaN or Inf")
    # Far above the round-off of a kernel computed in k's dtype (bfloat16's eps is 0.008).
    tol = max(1e-3, 8 * torch.finfo(k.dtype).eps) * float(k.detach().abs().max())
    if float((k.detach() - k.detach().T).abs().max()) > tol:
        raise ValueError("k: is not symmetric")
    # Every 2 x 2 principal minor of a positive semi-definite matrix is >= 0: O(N^2), no eigenproblem.
    d = k.detach().diagonal()
    if bool((d < -tol).any()) or bool(
        (k.detach().abs() > (d.clamp_min(0).outer(d.clamp_min(0))).sqrt() + tol).any()
    ):
        raise ValueError(
            "k: is not positive semi-definite (a diagonal entry below 0, or an |entry| above the root of "
            "its two diagonal entries' product); pass a Gram matrix"
        )
    if not float(torch.trace(k.detach())) > 0:
        raise ValueError(
            "k: its trace is not positive; a positive semi-definite Gram matrix has a positive one"
        )
    return k


def renyi_entropy(
    x: Any,
    alpha: float = DEFAULT_ALPHA,
    sigma: KernelWidth = DEFAULT_SIGMA,
    *,
    channels: Channels = False,
    spectrum: Spectrum = "auto",
    spectrum_tol: float = SPECTRUM_TOL,
) -> Tensor:
    """Matrix-based Renyi entropy S_alpha of a sample, in nats (at most log N).

    Example:
        >>> labels = torch.tensor([0, 0, 1, 1])  # two equally frequent classes
        >>> round(float(renyi_entropy(labels, alpha=2)), 4)  # log 2
        0.6931
    """
    solve = _spectrum_args(spectrum, spectrum_tol)
    return _entropy(gram_matrix(x, sigma, channels=channels), alpha, _labels(x, "x"), solve)


def renyi_joint_entropy(
    x: Any,
    y: Any,
    alpha: float = DEFAULT_ALPHA,
    sigma_x: KernelWidth = DEFAULT_SIGMA,
    sigma_y: KernelWidth = DEFAULT_SIGMA,
    *,
    channels_x: Channels = False,
    channels_y: Channels = False,
    spectrum: Spectrum = "auto",
    spectrum_tol: float = SPECTRUM_TOL,
) -> Tensor:
    """Joint matrix-based Renyi entropy S_alpha(A, B) in nats (``spectrum``: see :func:`renyi_mi`)."""
    solve = _spectrum_args(spectrum, spectrum_tol)
    a, b = _grams(x, y, (sigma_x, sigma_y), (channels_x, channels_y))
    return _joint_entropy(a, b, alpha, _labels(x, "x"), _labels(y, "y"), solve)


def renyi_mi(
    x: Any,
    y: Any,
    alpha: float = DEFAULT_ALPHA,
    sigma_x: KernelWidth = DEFAULT_SIGMA,
    sigma_y: KernelWidth = DEFAULT_SIGMA,
    *,
    channels_x: Channels = False,
    channels_y: Channels = False,
    normalize: bool = False,
    spectrum: Spectrum = "auto",
    spectrum_tol: float = SPECTRUM_TOL,
) -> Tensor:
    """Matrix-based Renyi MI ``I_alpha = S(A) + S(B) - S(A, B)`` in nats.

    At most min(S(A), S(B)), since S(A, B) >= max(S(A), S(B)) (Giraldo et al. 2014). It is not
    bounded below by 0: the functional is not subadditive. At alpha = 2, with unit-diagonal kernels,
    ``I = log(N^2 sum(Kx^2 Ky^2) / (sum(Kx^2) sum(Ky^2)))``, negative when the squared kernel entries
    of x and y covary negatively over the pairs; in small samples of weakly dependent variables it
    can be (e.g. -0.03 nats at N = 7, in the tests). Of independent samples it reads above 0, by an
    amount that falls with N (independent 2-d Gaussians at the default alpha and widths, the mean of
    10 draws: 0.13 nats at N = 100, 0.047 at 400, 0.016 at 1,600): compare values at one N, or
    against the MI of rows shuffled apart.

    With ``normalize=True``, divided by min(S(A), S(B)): the normalized form of Yu et al. (2021,
    "Measuring dependence with matrix-based entropy functional", the two-variable case of their
    normalized total correlation), at most 1 (and, like I, slightly negative in such cases). When x or
    y is a point mass (constant, or a single class) both S and I are 0, and so is the normalized MI.

    Args:
        x, y: floating-point samples ``(N, ...)``, or integer labels ``(N,)`` (delta kernel).
        alpha: the Renyi order.
        sigma_x, sigma_y: kernel widths or rules (see :func:`~iblearn.functional.kernel_width`).
        channels_x, channels_y: treat dimension 1 as channels (multivariate extension; see
            :func:`~iblearn.functional.gram_matrix`).
        normalize: return the normalized MI.
        spectrum: ``"exact"`` (every eigenvalue), ``"truncated"`` (the top eigenpairs and a bound on the
            rest, :func:`~iblearn.functional.renyi.spectrum.truncated_entropy`; the exact path where the tail
            is too heavy), or ``"auto"``: truncated from :data:`TRUNCATE_FROM` rows on.
        spectrum_tol: the most, in nats, that each of the three entropies of a truncated spectrum may
            be off (so the MI at most three times it).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(500, 2, generator=g)
        >>> float(renyi_mi(x, x + 0.1 * torch.randn(500, 2, generator=g))) > float(
        ...     renyi_mi(x, torch.randn(500, 2, generator=g)))
        True
    """
    solve = _spectrum_args(spectrum, spectrum_tol)
    normalize = V.flag(normalize, "normalize")
    a, b = _grams(x, y, (sigma_x, sigma_y), (channels_x, channels_y))
    la, lb = _labels(x, "x"), _labels(y, "y")
    sa, sb = _entropy(a, alpha, la, solve), _entropy(b, alpha, lb, solve)
    mi = sa + sb - _joint_entropy(a, b, alpha, la, lb, solve)
    if not mi.requires_grad:
        mi = mi + _zero_in_graph(x, y)
    if not normalize:
        return mi
    if bool((a == 1).all()) or bool((b == 1).all()):  # the Gram matrix of a point mass
        return mi * 0.0  # 0, not 0 / 0 (nor round-off / round-off); keeps the graph for backward
    return mi / torch.minimum(sa, sb)


def _zero_in_graph(*inputs: Any) -> Tensor | float:
    """0, in the graph of every input that requires a gradient (a zero gradient). The Gram matrix of
    a point mass (a collapsed layer) is a constant, so its MI of 0 would otherwise stand outside the
    graph, and a training loss made of it could not back-propagate."""
    zero: Tensor | float = 0.0
    for t in inputs:
        if isinstance(t, Tensor) and t.requires_grad:
            zero = zero + (t * 0).sum()  # zeros summed: no overflow of a half-precision sum
    return zero


def _grams(x: Any, y: Any, sigmas: tuple[Any, Any], channels: tuple[Any, Any]) -> tuple[Tensor, Tensor]:
    """The Gram matrices of x and y at widths ``sigma_x``, ``sigma_y``, checked to match."""
    return _pair(
        checked_gram(x, sigmas[0], channels[0], "x", "sigma_x"),
        checked_gram(y, sigmas[1], channels[1], "y", "sigma_y"),
    )


def _pair(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Two Gram matrices checked to match, in a common dtype."""
    if a.shape != b.shape:
        raise ValueError(f"sample counts differ: x has {a.shape[0]}, y has {b.shape[0]} (samples are rows)")
    if a.device != b.device:
        raise ValueError(f"arguments are on different devices: x on {a.device}, y on {b.device}")
    dtype = torch.promote_types(a.dtype, b.dtype)
    return a.to(dtype), b.to(dtype)


def renyi_graph_mi(
    t: Any,
    x: Any,
    edge_index: Any,
    alpha: float = DEFAULT_ALPHA,
    sigma_t: KernelWidth = DEFAULT_SIGMA,
    sigma_x: KernelWidth = DEFAULT_SIGMA,
) -> Tensor:
    """Matrix-based MI between node representations and the input graph, in nats: the multivariate
    extension (Yu et al. 2020) with each node's input taken as its features jointly with its adjacency
    vector, as Li & Pei (2023) (Sec. 4) extends the estimator to graphs "by involving the adjacent vector":

        I(T; X, A) = S(K_t) + S(K_x o K_a) - S(K_t o K_x o K_a)

    with ``K_a`` from :func:`adjacency_gram`. Without the adjacency (``renyi_mi(t, x)``) two nodes with
    the same features are one input whatever their neighbourhoods.

    Args:
        t: node representations ``(N, ...)``.
        x: node features ``(N, ...)``.
        edge_index: ``(2, E)`` integer node pairs.
        alpha: the Renyi order.
        sigma_t, sigma_x: kernel widths or rules for t and x (see :func:`~iblearn.functional.kernel_width`).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(40, 3, generator=g)
        >>> ring = torch.stack([torch.arange(40), (torch.arange(40) + 1) % 40])
        >>> bool(renyi_graph_mi(x, x, ring) > renyi_graph_mi(torch.randn(40, 3, generator=g), x, ring))
        True
    """
    kt, kx = _pair(
        checked_gram(t, sigma_t, False, "t", "sigma_t"), checked_gram(x, sigma_x, False, "x", "sigma_x")
    )
    ka = adjacency_gram(edge_index, kt.shape[0], dtype=kt.dtype).to(kt.device)
    kxa = joint_gram(kx, ka)
    alpha = V.positive(alpha, "alpha")
    return (
        _matrix_entropy(kt, alpha) + _matrix_entropy(kxa, alpha) - _matrix_entropy(joint_gram(kt, kxa), alpha)
    )
