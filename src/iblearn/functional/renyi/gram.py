"""Gram matrices of samples for the matrix-based Renyi functional (:mod:`iblearn.functional.renyi.entropy`):
the Gaussian kernel at a width set by a rule or given as a number, the channels of a feature map
(Yu et al. 2020), the delta kernel of labels, and the kernel of a graph's adjacency vectors.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn.functional.scale import power_of_two_scale

KernelWidth = float | Literal["silverman", "median"]
#: How channels enter one Gram matrix: False (flatten them), True or "product" (Yu et al. 2020), "mean".
Channels = bool | Literal["product", "mean"]
#: The median heuristic separates dependent from independent samples far better than Silverman's rule,
#: whose width shrinks with N toward a nearly diagonal Gram matrix (entropies near log N); the figures:
#: docs/design.md, "Measurements behind the code".
DEFAULT_SIGMA: KernelWidth = "median"
#: The median rule looks at pairwise distances among at most this many samples (a fixed random subset).
MEDIAN_SAMPLES = 1024
#: Samples in these dtypes are upcast to float32 before the kernel: a half-precision Gram matrix rounds
#: the exponents' products and exp to 3 digits, which biases MI (docs/design.md, "Measurements").
HALF = (torch.float16, torch.bfloat16)


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
    held fixed, maximizing I(T; X) mostly grows the scale of T, which the next batch's width undoes;
    docs/design.md, "Measurements behind the code", gives what it did to MOLE's conv layers.)
    """
    rule = _checked_rule(rule)
    if not isinstance(rule, str):
        return rule
    t = _flat(V.continuous(x, "x", allow_grid=True)).detach()
    scale = power_of_two_scale(t)  # see _scaled
    width = float(_rule_width(t / scale.to(t.dtype), str(rule))) * float(scale)
    if not width > 0:
        raise ValueError("x: all samples are identical, so no kernel width can be set from them")
    return width


def _checked_rule(rule: KernelWidth, name: str = "sigma") -> KernelWidth:
    """A width rule ("silverman", "median") or a positive number, else a ValueError naming ``name``."""
    if isinstance(rule, str):
        V.choice(rule, name, ("silverman", "median"))
        return rule
    return V.positive(rule, name)


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
    middle = _median_apart(pairs)
    if middle is None:
        raise ValueError(f"{name}: all samples are identical, so no kernel width can be set from them")
    return middle.sqrt().to(t.dtype)  # positive: _median_apart saw positive pairs


def _median_apart(pairs: Tensor) -> Tensor | None:
    """The median of squared distances ``pairs``, or where most pairs coincide (a mostly silent ReLU
    unit, the nodes of a dense graph) the median of the non-zero ones; None where every pair coincides."""
    middle = pairs.median()
    if float(middle.detach()) == 0:
        if not bool((pairs > 0).any()):
            return None
        middle = pairs[pairs > 0].median()
    return middle


def _scaled(x: Tensor, rule: KernelWidth, name: str, sigma: str = "sigma") -> Tensor | None:
    """Flat samples ``x`` divided by their kernel width (a number, or a rule's differentiable width), or
    None when every row is the same (the caller uses the all-ones kernel of a point mass); ``sigma`` is
    the name of the width's argument.

    First divided by an exact power of two near their largest magnitude, and a given width with them:
    the squared distances of the rules overflow from about 1e154 (a false "all samples are identical"
    at 1e200) and vanish below 1e-154 (MI 0.0 for 0.666 at 1e-200). A point mass is found by comparing
    the rows, not by a standard deviation that underflows. A given width so far below the data that
    their squared norms overflow the dtype is refused: the kernel's exponent would be inf - inf.
    """
    rule = _checked_rule(rule, sigma)
    if len(x) > 1 and bool((x.detach() == x.detach()[:1]).all()):  # one row: the rule says what it needs
        return None
    scale = power_of_two_scale(x).to(x.dtype)
    x = x / scale
    x = x - x.mean(dim=0)  # before the width divides: an offset far above the spread would round away
    if not isinstance(rule, str):
        x = x / (rule / float(scale))
        # 4 |z|^2: the exponent's dot product sums |z_i|^2 + |z_j|^2 terms of both signs
        if not bool(torch.isfinite(4 * (x.detach() * x.detach()).sum(dim=1)).all()):
            raise ValueError(f"{sigma}: {rule!r} is too small for {name}'s scale in {x.dtype}")
        return x
    width = _rule_width(x, rule, name)
    if rule == "median" or float(width.detach()) > 0:  # the median rule checked its width itself
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
      gradient to train on). The mean keeps one channel's scale.
      As a training loss on sparse ReLU channels, prefer ``sigma="silverman"``: the median rule falls
      back to the non-zero pairs when most pairs coincide, so its width jumps as activations cross zero
      and the loss is discontinuous (docs/results/mole.md: what it does to MOLE's encoders).
    * half-precision ``x`` (float16, bfloat16): upcast to float32 first, so K is float32, as are the
      entropies (see :func:`~iblearn.functional.matrix_entropy`).
    * a sample (or a channel) whose rows are all identical: the all-ones kernel (a point mass; a dead
      ReLU channel drops out of the product) instead of an error, so that training can go on.
    * integer ``x (N,)`` (labels): the delta kernel ``[x_i == x_j]``, for which the matrix entropy is
      exactly the Renyi entropy of the label frequencies.
    """
    return checked_gram(x, sigma, channels, "x")


def checked_gram(
    x: Any, sigma: KernelWidth, channels: Channels, name: str, sigma_name: str = "sigma"
) -> Tensor:
    """:func:`gram_matrix`, its errors naming the argument ``name`` and the width's ``sigma_name``."""
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
        parts = [_scaled(_flat(c), sigma, name, sigma_name) for c in t.unbind(1)]
        root = math.sqrt(t.shape[1]) if channels == "mean" else 1.0
        scaled = [p / root for p in parts if p is not None]
        if not scaled:
            return torch.ones(t.shape[0], t.shape[0], dtype=t.dtype, device=t.device)
        return _gaussian_kernel(torch.cat(scaled, dim=1), 1.0)
    flat = _scaled(_flat(t), sigma, name, sigma_name)
    if flat is None:  # every sample the same: one point mass, entropy 0
        return torch.ones(t.shape[0], t.shape[0], dtype=t.dtype, device=t.device)
    return _gaussian_kernel(flat, 1.0)


def joint_gram(*grams: Tensor) -> Tensor:
    """Hadamard product of Gram matrices: the Gram matrix of their variables taken jointly."""
    prod = grams[0]
    for g in grams[1:]:
        prod = prod * g
    return prod


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
    off = ~torch.eye(n, dtype=torch.bool, device=sq.device)
    # a squared distance's median is the median distance's square
    width2 = _median_apart(sq[off]) if n > 1 else None
    if width2 is None:  # one node, or every node's row the same (a complete graph): one point
        return torch.ones(n, n, dtype=dtype, device=sq.device)
    return torch.exp(-sq / (2 * width2))
