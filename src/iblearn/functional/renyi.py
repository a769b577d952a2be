"""Matrix-based Renyi alpha-entropy functional (Giraldo, Rao & Principe 2014) and its multivariate
extension (Yu et al. 2020), the "matrix-based" estimator that MOLE trains with (paper 001, Sec. 4).

For N samples, a kernel Gram matrix K normalized to trace one, ``A = K / tr(K)``, plays the role of a
density; its eigenvalues play the role of probabilities:

    S_alpha(A) = 1 / (1 - alpha) * log tr(A^alpha) = 1 / (1 - alpha) * log sum_i lambda_i(A)^alpha

    S_alpha(A, B) = S_alpha(A o B / tr(A o B))         (joint entropy; o is the Hadamard product)

    I_alpha(A; B) = S_alpha(A) + S_alpha(B) - S_alpha(A, B)

Several variables (the channels of a feature map) enter a joint entropy through the Hadamard product
of their Gram matrices (Yu et al. 2020, "Multivariate extension of matrix-based Renyi's alpha-order
entropy functional", TPAMI). Everything here is differentiable, so it can be a training loss.
Entropies are in nats (natural log).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn.functional._scale import power_of_two_scale

KernelWidth = float | Literal["silverman", "median"]
#: How channels enter one Gram matrix: False (flatten them), True or "product" (Yu et al. 2020), "mean".
Channels = bool | Literal["product", "mean"]
#: The median heuristic separates dependent from independent samples far better than Silverman's rule,
#: whose width shrinks with N toward a nearly diagonal Gram matrix (entropies near log N): at N = 1000 in
#: 10 dimensions, MI of a noisy copy vs. an independent sample was 0.77 vs 0.23 (median), 3.90 vs 3.50
#: (Silverman).
DEFAULT_SIGMA: KernelWidth = "median"
#: The median rule looks at pairwise distances among at most this many samples (a fixed random subset).
MEDIAN_SAMPLES = 1024
#: Samples in these dtypes are upcast to float32 before the kernel: a bfloat16 Gram matrix (exponent
#: products and exp rounded to 3 digits) biased MI by 12% on 300 samples of a 64-dim x.
HALF = (torch.float16, torch.bfloat16)
#: Yu et al. use alpha slightly above 1 to approximate Shannon entropy while keeping the Renyi form.
DEFAULT_ALPHA = 1.01
#: Eigenvalues under N_FLOOR * machine epsilon * the largest are round-off, not spectrum.
N_FLOOR = 64


def _flat(x: Tensor) -> Tensor:
    return x.reshape(x.shape[0], -1)


def _sq_dists(x: Tensor) -> Tensor:
    """Pairwise squared Euclidean distances (for the median rule)."""
    sq = (x * x).sum(dim=1)
    return (sq[:, None] + sq[None, :] - 2 * x @ x.T).clamp_min(0)


def _gaussian_kernel(x: Tensor, sigma: float | Tensor) -> Tensor:
    """``exp(-||x_i - x_j||^2 / (2 sigma^2))`` in two passes over the N x N matrix.

    The exponent ``z_i.z_j - h_i - h_j`` (z = x / sigma, h = |z|^2 / 2) is one matrix product of
    ``[z, -h, 1]`` and ``[z, 1, -h]``, so no N x N bias is ever built; then one in-place exp.
    The columns are centred first: the expansion subtracts terms of the size of |z|^2, so an offset
    much larger than the spread (a saturated tanh layer near 1, in float32) would otherwise cancel
    the distances away. Round-off can still leave the diagonal a hair off 1; harmless, since every
    entropy below normalizes by the actual trace.
    """
    z = (x - x.mean(dim=0)) / sigma
    h = 0.5 * (z * z).sum(dim=1, keepdim=True)
    one = torch.ones_like(h)
    exponent = torch.cat([z, -h, one], dim=1) @ torch.cat([z, one, -h], dim=1).T
    return exponent.clamp_max_(0).exp_()  # a squared distance is never negative


def kernel_width(x: Any, rule: KernelWidth = DEFAULT_SIGMA) -> float:
    """A Gaussian kernel width for samples ``x (N, ...)``, from a rule or a given number.

    * ``"median"`` (default): the median pairwise Euclidean distance (the median heuristic of kernel
      dependence measures), over at most :data:`MEDIAN_SAMPLES` samples; when more than half of the
      pairs coincide, the median of the non-zero distances. When those samples are all the same but
      others are not (a unit silent on all of them), the median of the non-zero distances of every
      sample to them.
    * ``"silverman"``: ``s * N^(-1/(4 + d))``, Silverman's rule in the form Yu et al. (2019) use, with
      their empirical factor taken as the data's scale s = sqrt(total variance).
    * a positive number: used as it is.

    Both rules scale with the data, so scaling x leaves every entropy unchanged. Inside the entropies a
    rule's width is differentiated through, like the kernel itself: the entropies are then functions of
    x that do not change with its scale, and their gradient has no component along it. (With the width
    held fixed, maximizing I(T; X) mostly grows the scale of T, which the next batch's width undoes:
    measured on MOLE's MNIST conv layers, the MI fell while the activations grew a hundredfold.)
    """
    if not isinstance(rule, str):
        return V.positive(rule, "sigma")
    V.choice(rule, "sigma", ("silverman", "median"))
    t = _flat(V.continuous(x, "x", allow_grid=True)).detach()
    scale = power_of_two_scale(t)  # see _scaled
    width = float(_rule_width(t / scale.to(t.dtype), str(rule))) * float(scale)
    if not width > 0:
        raise ValueError("x: all samples are identical, so no kernel width can be set from them")
    return width


def _rule_width(t: Tensor, rule: str, name: str = "x") -> Tensor:
    """The width of :func:`kernel_width` for flat samples, as a 0-d tensor that carries t's gradient."""
    n, d = t.shape
    if n < 2:
        raise ValueError(f"{name}: a kernel width rule ({rule!r}) needs at least 2 samples, got N={n}")
    t64 = t.to(torch.float64)
    if rule == "silverman":
        return (t64.var(dim=0, unbiased=False).sum().sqrt() * n ** (-1.0 / (4 + d))).to(t.dtype)
    # Centred, as in the kernel: under an offset far above the spread the expansion in _sq_dists would
    # cancel the distances. On the coordinate-wise median, a value the data takes: rows at the most
    # common value (a mostly silent unit) become exact zeros, as do their distances (the mean would
    # leave them round-off, a width of 1e-10 instead of a median of the non-zero distances).
    t64 = t64 - t64.median(dim=0).values
    sub = t64
    if n > MEDIAN_SAMPLES:
        gen = torch.Generator().manual_seed(0)
        sub = t64[torch.randperm(n, generator=gen)[:MEDIAN_SAMPLES].to(t.device)]
    pairs = _sq_dists(sub)[torch.triu_indices(len(sub), len(sub), 1, device=t.device).unbind()]
    if n > MEDIAN_SAMPLES and bool((sub == sub[0]).all()):
        # The subset is one point, though the sample need not be: a unit active on a few rows, all
        # outside it. Those few rows' distances to the rest are then most of the sample's non-zero pairs.
        pairs = ((t64 - sub[0]) ** 2).sum(dim=1)
    if float(pairs.detach().median()) == 0 and bool((pairs > 0).any()):
        pairs = pairs[pairs > 0]  # most pairs coincide (a mostly silent ReLU unit)
    return pairs.median().sqrt().to(t.dtype)


def _scaled(x: Tensor, rule: KernelWidth, name: str) -> Tensor | None:
    """Flat samples ``x`` divided by their kernel width (a number, or a rule's differentiable width), or
    None when every row is the same (the caller uses the all-ones kernel of a point mass).

    First divided by an exact power of two near their largest magnitude, and a given width with them:
    the squared distances of the rules overflow from about 1e154 (a false "all samples are identical"
    at 1e200) and vanish below 1e-154 (MI 0.0 for 0.666 at 1e-200). A point mass is found by comparing
    the rows, not by a standard deviation that underflows.
    """
    if len(x) > 1 and bool((x.detach() == x.detach()[:1]).all()):  # one row: the rule says what it needs
        if not isinstance(rule, str):
            kernel_width(x, rule)  # the width is still checked
        return None
    scale = power_of_two_scale(x).to(x.dtype)
    x = x / scale
    x = x - x.mean(dim=0)  # before the width divides: an offset far above the spread would round away
    if not isinstance(rule, str):
        x = x / (kernel_width(x, rule) / float(scale))
        if not bool(torch.isfinite(x.detach()).all()):
            raise ValueError(f"sigma: {rule!r} is too small for {name}'s scale in {x.dtype}")
        return x
    width = _rule_width(x, V.choice(rule, "sigma", ("silverman", "median")), name)
    if float(width.detach()) > 0:
        return x / width
    raise ValueError(f"{name}: all samples are identical, so no kernel width can be set from them")


def gram_matrix(x: Any, sigma: KernelWidth = DEFAULT_SIGMA, *, channels: Channels = False) -> Tensor:
    """Kernel Gram matrix ``K (N, N)`` of a sample, with unit diagonal; the entropy functions use it
    normalized to unit trace, ``A = K / tr(K)`` (they divide by the trace themselves).

    * floating-point ``x (N, ...)``: Gaussian kernel ``exp(-||x_i - x_j||^2 / (2 sigma^2))`` on the
      flattened samples.
    * ``channels=True`` or ``"product"``, ``x (N, C, ...)``: the multivariate extension, the Hadamard
      product of the C channels' Gram matrices, each with its own width from ``sigma`` (summed in the
      exponent, so it does not underflow).
    * ``channels="mean"``: their geometric mean, the product's C-th root (each width times sqrt(C)), again
      a Gaussian kernel. With a rule-based width every channel's kernel is about exp(-1/2) between two
      typical samples, so the product is about exp(-C/2): for a 32-channel feature map the Gram matrix
      is the identity to four decimals, every entropy is log N, and I(T; X) = S(X) whatever T is (no
      gradient to train on; measured on MNIST conv features). The mean keeps one channel's scale.
      As a training loss on sparse ReLU channels, prefer ``sigma="silverman"``: the median rule falls
      back to the non-zero pairs when most pairs coincide, so its width jumps as activations cross zero
      and the loss is discontinuous (docs/results/mole.md measures it).
    * half-precision ``x`` (float16, bfloat16): upcast to float32 first, so K is float32, as are the
      entropies (see :func:`matrix_entropy`).
    * a sample (or a channel) whose rows are all identical: the all-ones kernel (a point mass; a dead
      ReLU channel drops out of the product) instead of an error, so that training can go on.
    * integer ``x (N,)`` (labels): the delta kernel ``[x_i == x_j]``, for which the matrix entropy is
      exactly the Renyi entropy of the label frequencies.
    """
    return _gram(x, sigma, channels, "x")


def _gram(x: Any, sigma: KernelWidth, channels: Channels, name: str) -> Tensor:
    """:func:`gram_matrix`, its errors naming the argument ``name``."""
    t = V.as_tensor(x, name)
    if not torch.is_floating_point(t):
        lab = V.labels(t, name)
        return (lab[:, None] == lab[None, :]).to(torch.get_default_dtype())
    t = V.continuous(t, name, allow_grid=True)
    if t.dtype in HALF:
        t = t.float()
    V.choice(channels, "channels", (False, True, "product", "mean"))
    if channels:
        if t.ndim < 3:
            raise ValueError(f"{name}: channels={channels!r} needs shape (N, C, ...), got {tuple(t.shape)}")
        # Scaling each channel by its own width turns the product of the channels' kernels into one
        # kernel of width 1 on the scaled, concatenated channels: one exp, no underflowing product.
        # A channel constant over the batch (a dead ReLU) has an all-ones kernel: it drops out of the product.
        parts = [_scaled(_flat(t[:, c]), sigma, name) for c in range(t.shape[1])]
        root = math.sqrt(t.shape[1]) if channels == "mean" else 1.0
        scaled = [p / root for p in parts if p is not None]
        if not scaled:
            return torch.ones(t.shape[0], t.shape[0], dtype=t.dtype, device=t.device)
        return _gaussian_kernel(torch.cat(scaled, dim=1), 1.0)
    flat = _scaled(_flat(t), sigma, name)
    if flat is None:  # every sample the same: one point mass, entropy 0
        return torch.ones(t.shape[0], t.shape[0], dtype=t.dtype, device=t.device)
    return _gaussian_kernel(flat, 1.0)


def matrix_entropy(k: Tensor, alpha: float = DEFAULT_ALPHA) -> Tensor:
    """S_alpha(A) in nats of ``A = K / tr(K)``, for a symmetric positive semi-definite ``K``.

    ``alpha = 2`` uses ``tr(A^2) = ||K||_F^2 / tr(K)^2`` (no eigendecomposition); ``alpha = 1`` is the
    von Neumann entropy ``-sum lambda log lambda``; other alphas go through ``eigvalsh``, whose backward
    pass is stable even for repeated eigenvalues; eigenvalues at round-off level count as zero.

    As the eigenvalues sum to one, ``sum lambda^alpha = 1 + sum lambda (lambda^(alpha - 1) - 1)``, so

        S_alpha(A) = log1p(sum_i lambda_i expm1((alpha - 1) log lambda_i)) / (1 - alpha),

    which keeps its precision as alpha tends to 1 (and tends to the von Neumann entropy), where
    ``log(sum lambda^alpha) / (1 - alpha)`` cancels: float32 at alpha = 1 + 1e-6 was 0.03 nats off.
    When ``sum lambda^alpha < 1/2`` (large alpha) the log of the sum is the accurate form and is used.
    """
    return _matrix_entropy(_psd_matrix(k), V.positive(alpha, "alpha"))


def _matrix_entropy(k: Tensor, alpha: float) -> Tensor:
    """:func:`matrix_entropy` of a matrix built here (a Gram matrix of checked samples, or a product of
    such), without the checks a user's matrix gets: they read the N x N matrix several times over, more
    work than the alpha = 2 entropy itself."""
    if k.dtype in HALF:
        k = k.float()  # eigvalsh has no half-precision kernel, and a log of such eigenvalues, little sense
    if alpha == 2.0:
        return 2 * torch.log(torch.trace(k)) - 2 * torch.log(torch.linalg.vector_norm(k))
    return _spectrum_entropy(_eigvalsh(k), alpha)


def _spectrum_entropy(lam: Tensor, alpha: float) -> Tensor:
    """S_alpha of the eigenvalues ``lam`` of a positive semi-definite matrix, normalized here to sum to
    one (see :func:`matrix_entropy`)."""
    # Eigenvalues below the round-off floor are zeros that came out a hair off; drop them (raising them
    # to the floor instead adds (N - rank) * floor^alpha, visible for alpha < 1), and normalize the rest
    # to sum to one, as probabilities do (else the dropped mass, times 1 / (1 - alpha), shows in float32).
    # The double where keeps the dropped ones' gradient at zero instead of 0 * inf.
    real = lam > torch.finfo(lam.dtype).eps * N_FLOOR * lam.max().detach()
    lam = torch.where(real, lam, torch.zeros_like(lam))
    lam = lam / lam.sum()
    safe = torch.where(real, lam, torch.ones_like(lam))
    if alpha == 1.0:
        return -torch.where(real, safe * torch.log(safe), torch.zeros_like(lam)).sum()
    # The dropped eigenvalues are 0 in lam and 1 in safe: their terms, and gradients, are 0.
    excess = (lam * torch.expm1((alpha - 1) * torch.log(safe))).sum()  # sum lambda^alpha - 1
    if float(excess.detach()) > -0.5:
        return torch.log1p(excess) / (1 - alpha)
    return torch.log(torch.where(real, safe**alpha, torch.zeros_like(lam)).sum()) / (1 - alpha)


def _labels(x: Any, name: str) -> Tensor | None:
    """The checked labels of an integer sample (whose Gram matrix is the delta kernel), else None."""
    t = V.as_tensor(x, name)
    return None if torch.is_floating_point(t) else V.labels(t, name)


def _entropy(k: Tensor, alpha: float, labels: Tensor | None) -> Tensor:
    """:func:`matrix_entropy` of the Gram matrix ``k`` of a sample, or of ``labels``: the delta kernel's
    matrix has one eigenvalue per class, its count (an all-ones block), so the entropy is that of the
    class frequencies, without an eigenproblem (which LAPACK solves slowly there: 45 s in float32 for
    1,737 rows of 2 classes, against 3 s for a Gaussian Gram matrix of that size)."""
    alpha = V.positive(alpha, "alpha")
    if labels is None or alpha == 2.0:
        return _matrix_entropy(k, alpha)
    return _spectrum_entropy(torch.unique(labels, return_counts=True)[1].to(k.dtype), alpha)


def _joint_entropy(a: Tensor, b: Tensor, alpha: float, la: Tensor | None, lb: Tensor | None) -> Tensor:
    """S_alpha(A, B) from the Gram matrices ``a``, ``b`` and the labels of either side, if labels: the
    joint matrix ``a * [l_i == l_j]`` is then block diagonal over the classes, so its eigenvalues are
    those of the classes' blocks, solved one class at a time (smaller, and no block of zeros to solve)."""
    k = joint_gram(a, b)
    labels = la if la is not None else lb
    alpha = V.positive(alpha, "alpha")
    if labels is None or alpha == 2.0:
        return _matrix_entropy(k, alpha)
    if la is not None and lb is not None:  # both labels: the classes are the pairs of labels
        return _entropy(k, alpha, torch.unique(torch.stack([la, lb], 1), dim=0, return_inverse=True)[1])
    blocks = [torch.nonzero(labels == c).squeeze(1) for c in torch.unique(labels)]
    return _spectrum_entropy(torch.cat([_eigvalsh(k[i][:, i]) for i in blocks]), alpha)


def _eigvalsh(k: Tensor) -> Tensor:
    """``eigvalsh``, retried in float64 where LAPACK's float32 solver does not converge.

    The float32 solver failed (error code 162, "ill-conditioned or too many repeated eigenvalues") on a
    batch's node Gram matrix (about 2,000 nodes) in MOLE's matrix-based Mutagenicity run, in the first
    epoch of its decoder module, whose labels' matrix has two distinct rows (such matrices now take the
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
    triangle only, and ignored a NaN in the other), symmetric, with a positive trace (a zero matrix gave
    an entropy of inf)."""
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
    if not float(torch.trace(k.detach())) > 0:
        raise ValueError(
            "k: its trace is not positive; a positive semi-definite Gram matrix has a positive one"
        )
    return k


def joint_gram(*grams: Tensor) -> Tensor:
    """Hadamard product of Gram matrices: the Gram matrix of their variables taken jointly."""
    prod = grams[0]
    for g in grams[1:]:
        prod = prod * g
    return prod


def renyi_entropy(
    x: Any, alpha: float = DEFAULT_ALPHA, sigma: KernelWidth = DEFAULT_SIGMA, *, channels: Channels = False
) -> Tensor:
    """Matrix-based Renyi entropy S_alpha of a sample, in nats (at most log N).

    Example:
        >>> labels = torch.tensor([0, 0, 1, 1])  # two equally frequent classes
        >>> round(float(renyi_entropy(labels, alpha=2)), 4)  # log 2
        0.6931
    """
    return _entropy(gram_matrix(x, sigma, channels=channels), alpha, _labels(x, "x"))


def renyi_joint_entropy(
    x: Any,
    y: Any,
    alpha: float = DEFAULT_ALPHA,
    sigma_x: KernelWidth = DEFAULT_SIGMA,
    sigma_y: KernelWidth = DEFAULT_SIGMA,
    *,
    channels_x: Channels = False,
    channels_y: Channels = False,
) -> Tensor:
    """Joint matrix-based Renyi entropy S_alpha(A, B) in nats."""
    a, b = _pair(_gram(x, sigma_x, channels_x, "x"), _gram(y, sigma_y, channels_y, "y"))
    return _joint_entropy(a, b, alpha, _labels(x, "x"), _labels(y, "y"))


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
) -> Tensor:
    """Matrix-based Renyi MI ``I_alpha = S(A) + S(B) - S(A, B)`` in nats.

    At most min(S(A), S(B)), since S(A, B) >= max(S(A), S(B)) (Giraldo et al. 2014). It is not
    bounded below by 0: the functional is not subadditive. At alpha = 2, with unit-diagonal kernels,
    ``I = log(N^2 sum(Kx^2 Ky^2) / (sum(Kx^2) sum(Ky^2)))``, negative when the squared kernel entries
    of x and y covary negatively over the pairs; in small samples of weakly dependent variables it
    can be (e.g. -0.03 nats at N = 7, in the tests).

    With ``normalize=True``, divided by min(S(A), S(B)): the normalized form of Yu et al. (2021,
    "Measuring dependence with matrix-based entropy functional", the two-variable case of their
    normalized total correlation), at most 1 (and, like I, slightly negative in such cases). When x or
    y is a point mass (constant, or a single class) both S and I are 0, and so is the normalized MI.

    Args:
        x, y: floating-point samples ``(N, ...)``, or integer labels ``(N,)`` (delta kernel).
        alpha: the Renyi order.
        sigma_x, sigma_y: kernel widths or rules (see :func:`kernel_width`).
        channels_x, channels_y: treat dimension 1 as channels (multivariate extension; see
            :func:`gram_matrix`).
        normalize: return the normalized MI.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(500, 2, generator=g)
        >>> float(renyi_mi(x, x + 0.1 * torch.randn(500, 2, generator=g))) > float(
        ...     renyi_mi(x, torch.randn(500, 2, generator=g)))
        True
    """
    a, b = _pair(_gram(x, sigma_x, channels_x, "x"), _gram(y, sigma_y, channels_y, "y"))
    la, lb = _labels(x, "x"), _labels(y, "y")
    sa, sb = _entropy(a, alpha, la), _entropy(b, alpha, lb)
    mi = sa + sb - _joint_entropy(a, b, alpha, la, lb)
    if not normalize:
        return mi
    if bool((a == 1).all()) or bool((b == 1).all()):  # the Gram matrix of a point mass
        return mi * 0.0  # 0, not 0 / 0 (nor round-off / round-off); keeps the graph for backward
    return mi / torch.minimum(sa, sb)


def _pair(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Two Gram matrices checked to match, in a common dtype."""
    if a.shape != b.shape:
        raise ValueError(f"sample counts differ: x has {a.shape[0]}, y has {b.shape[0]} (samples are rows)")
    if a.device != b.device:
        raise ValueError(f"arguments are on different devices: x on {a.device}, y on {b.device}")
    dtype = torch.promote_types(a.dtype, b.dtype)
    return a.to(dtype), b.to(dtype)


def adjacency_gram(edge_index: Any, n: int, *, dtype: torch.dtype = torch.float32) -> Tensor:
    """Gram matrix ``(n, n)`` of the nodes' adjacency vectors: the Gaussian kernel on the rows ``a_i``
    of ``A + I`` at the median pairwise distance between distinct nodes (the median rule).

    The self-loop makes every row differ from every other, so two isolated nodes are not one point.
    Squared distances come from the sparse rows, ``|a_i| + |a_j| - 2 a_i . a_j``, the inner products
    summed over each row's non-zeros (no ``n^3`` product: Cora has 2,708 nodes). The graph is data,
    not a parameter: there is no gradient.

    Args:
        edge_index: ``(2, E)`` integer node pairs (either direction; the rows are made symmetric).
        n: number of nodes.
        dtype: of the result.
    """
    edges = V.as_tensor(edge_index, "edge_index")
    if edges.is_floating_point() or edges.ndim != 2 or edges.shape[0] != 2:
        raise ValueError(f"edge_index: expected integer indices of shape (2, E), got {tuple(edges.shape)}")
    n = V.positive_int(n, "n")
    if edges.numel() and (int(edges.min()) < 0 or int(edges.max()) >= n):
        raise ValueError(f"edge_index: node indices must lie in [0, {n})")
    loops = torch.arange(n, device=edges.device)
    rows = torch.cat([edges[0], edges[1], loops])
    cols = torch.cat([edges[1], edges[0], loops])
    dense = torch.zeros(n, n, dtype=dtype, device=edges.device)
    dense[rows, cols] = 1.0  # 0/1: an edge listed twice is one edge
    i, j = dense.nonzero(as_tuple=True)
    inner = torch.zeros_like(dense).index_add_(0, i, dense[j])  # a_i . a_k = sum over j in a_i of a_jk
    sizes = dense.sum(dim=1)
    sq = (sizes[:, None] + sizes[None, :] - 2 * inner).clamp_min(0)
    if n == 1:
        return torch.ones(1, 1, dtype=dtype, device=sq.device)
    off = ~torch.eye(n, dtype=torch.bool, device=sq.device)
    width2 = sq[off].median()  # a squared distance's median is the median distance's square
    return torch.exp(-sq / (2 * width2))


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
    vector, as paper 001 (Sec. 4) extends the estimator to graphs "by involving the adjacent vector":

        I(T; X, A) = S(K_t) + S(K_x o K_a) - S(K_t o K_x o K_a)

    with ``K_a`` from :func:`adjacency_gram`. Without the adjacency (``renyi_mi(t, x)``) two nodes with
    the same features are one input whatever their neighbourhoods.

    Args:
        t: node representations ``(N, ...)``.
        x: node features ``(N, ...)``.
        edge_index: ``(2, E)`` integer node pairs.
        alpha: the Renyi order.
        sigma_t, sigma_x: kernel widths or rules for t and x (see :func:`kernel_width`).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(40, 3, generator=g)
        >>> ring = torch.stack([torch.arange(40), (torch.arange(40) + 1) % 40])
        >>> bool(renyi_graph_mi(x, x, ring) > renyi_graph_mi(torch.randn(40, 3, generator=g), x, ring))
        True
    """
    kt, kx = _pair(_gram(t, sigma_t, False, "t"), _gram(x, sigma_x, False, "x"))
    ka = adjacency_gram(edge_index, kt.shape[0], dtype=kt.dtype).to(kt.device)
    kxa = joint_gram(kx, ka)
    alpha = V.positive(alpha, "alpha")
    return (
        _matrix_entropy(kt, alpha) + _matrix_entropy(kxa, alpha) - _matrix_entropy(joint_gram(kt, kxa), alpha)
    )
