"""The brute-force counts of MixedKSG (Ross 2014), :func:`iblearn.functional.mixed_ksg_mi` on the
``"brute"`` backend: for each sample i of class c, its radius r_i (the distance to its k-th nearest
neighbour within c) and m_i = #{j != i : d(x_i, x_j) <= r_i} over every class.

The work is in two passes over the samples sorted by class:

1. Within each class, chunks of its rows against its own members: the k-th neighbour's distance and
   the count of the class's own members within it, from the same float64 numbers, so the neighbour
   itself is counted exactly. These are the numbers one pass over whole rows would give
   (``cdist`` is given the whole sample's largest norm for its tie bound, and a distance does not
   depend on which columns share its block: tested). A tenth of the distance matrix with 10 classes.
2. Against the other classes, counts only, from a float32 copy (half the bytes, a faster matrix
   product: docs/design.md, "Measurements behind the code"),
   each class's rows against the classes after it, so that every block of the matrix is computed once
   and counted for its rows and for its columns (faster than rows against every other class): an
   entry is counted where its float32 value lies below the radius
   by more than a bound on float32's rounding, left out where it lies above by more, and the few in
   between (about one a row) are recomputed in float64 from the differences, as ``cdist``
   recomputes near-ties.

For the max-norm every answer is the float64 number the single pass gave, so the counts are the
same. For the Euclidean norm the entries recomputed in pass 2 are differences, where the single pass
had matrix-product numbers: a count can differ from the single pass's only where another class's point
lies within float64 rounding (about 1e-15 relative) of the radius.

The float32 bounds (Higham, Accuracy and Stability of Numerical Algorithms, 2002, Sec. 3.1): rounding
x to float32 and a d-term dot product err by at most gamma_d (|a|^2 + |b|^2) in a squared Euclidean
distance, and by eps (|a|_inf + |b|_inf) in a max-norm distance. The margin used is 8 (d + 4) eps_32
times that scale, several times the bound. Data whose scale float32 cannot hold (norms beyond 1e18 or
below 1e-10) take the same path in float64.

Blocks take :func:`~iblearn.functional.knn.neighbors.chunk_bytes` of the device. The entries to recompute
are found by ``nonzero``, so on a GPU each block reads their number to the host: one wait a block (on
an H100 one estimate on 5,000 and on 20,000 rows of 3 classes made the same 29 copies to the host),
not one a row.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from iblearn.functional.knn.neighbors import (
    HAVE_KERNEL,
    Metric,
    cdist,
    chebyshev,
    chunk_bytes,
    fill_self,
)

if HAVE_KERNEL:
    from iblearn.functional.knn import _maxnorm

#: Squared norms (Euclidean) or largest coordinates (max-norm) within which a float32 copy represents
#: the data without overflow or underflow swamping the margin.
_F32_RANGE = (1e-10, 1e18)


def mixed_counts_brute(x: Tensor, lab: Tensor, k_i: Tensor, metric: Metric) -> Tensor:
    """m_i of :func:`iblearn.functional.mixed_ksg_mi`: for every row of ``x (N, d)``, the number of
    other rows within the distance to its ``k_i``-th nearest neighbour of its own class ``lab``."""
    n = x.shape[0]
    order = torch.sort(lab, stable=True).indices
    xs, ks = x[order], k_i[order]
    _, sizes = torch.unique_consecutive(lab[order], return_counts=True)
    ends = torch.cumsum(sizes, 0)
    starts = ends - sizes
    # One copy to the host for the classes' bounds and neighbour counts (not one a class).
    bounds = torch.stack([starts, ends, ks[starts]], 1).tolist()
    radius = torch.empty(n, dtype=x.dtype, device=x.device)
    m = torch.empty(n, dtype=torch.int64, device=x.device)
    norm2 = (xs * xs).sum(1)
    budget = chunk_bytes(x.device)
    for c0, c1, k in bounds:
        _within(xs, c0, c1, k, metric, norm2.max(), radius, m, budget)
    f = _Filter(xs, norm2, metric, budget)
    rows_per_chunk = max(1, budget // (f.low.element_size() * n * 2))
    classes = [(c0, c1) for c0, c1, _ in bounds]
    for c0, c1 in classes[:-1]:
        for r0 in range(c0, c1, rows_per_chunk):
            rows = torch.arange(r0, min(c1, r0 + rows_per_chunk), device=x.device)
            mine, theirs = f.pair_counts(rows, c1, radius)
            m[rows] += mine
            m[c1:] += theirs
    out = torch.empty_like(m)
    out[order] = m
    return out


def _within(
    xs: Tensor,
    c0: int,
    c1: int,
    k: int,
    metric: Metric,
    norm2_max: Tensor,
    radius: Tensor,
    m: Tensor,
    budget: int,
) -> None:
    """Pass 1 on the class at sorted positions ``[c0, c1)``: write its radii and own-class counts."""
    members = xs[c0:c1]
    # torch.cdist takes the matrix product when either side has more than 25 rows; the single pass
    # had the whole sample as columns, so it took it from N = 26 on.
    mode = "use_mm_for_euclid_dist" if len(xs) > 25 else "donot_use_mm_for_euclid_dist"
    rows_per_chunk = max(1, budget // (8 * len(members) * 3))
    for r0 in range(c0, c1, rows_per_chunk):
        rows = torch.arange(r0, min(c1, r0 + rows_per_chunk), device=xs.device)
        dist = cdist(xs[rows], members, metric, rows - c0, b_norm2_max=norm2_max, mode=mode)
        fill_self(dist, rows - c0, -1.0)  # self first
        r = torch.topk(dist, k + 1, dim=1, largest=False).values[:, k]
        radius[rows] = r
        m[rows] = (dist <= r[:, None]).sum(dim=1, dtype=torch.int32).long() - 1  # int32: twice as fast


class _Filter:
    """Pass 2: the data in the precision it is filtered in, and what every chunk of rows shares."""

    def __init__(self, xs: Tensor, norm2: Tensor, metric: Metric, budget: int) -> None:
        self.xs, self.metric, self.budget = xs, metric, budget
        self.size = norm2 if metric == "euclidean" else xs.abs().amax(1)  # float64, per row
        lo, hi = _F32_RANGE
        fits = lo < float(self.size.max()) < hi and xs.dtype == torch.float64
        self.low = xs.to(torch.float32) if fits else xs
        self.eps = torch.finfo(self.low.dtype).eps
        if metric == "euclidean":
            # [b, |b|^2]: its product with [a, -1/2] is a.b - |b|^2 / 2 (see cross_counts).
            self.cols = torch.cat([self.low, (self.low * self.low).sum(1, keepdim=True)], 1).T.contiguous()

    def pair_counts(self, rows: Tensor, later: int, radius: Tensor) -> tuple[Tensor, Tensor]:
        """For ``rows`` (one class) against the points from position ``later`` on (the classes after
        it), exactly: how many of those lie within each row's radius, and of how many rows each of
        those lies within its own radius. Each pair of classes is computed once, for both.

        Euclidean: one product of ``[a, -1/2]`` with ``[b, |b|^2]`` gives ``g = a.b - |b|^2 / 2``, and
        ``|a - b|^2 = |a|^2 - 2 g`` is below a bound exactly where g is above a per-row threshold, or
        ``g - |a|^2 / 2`` above a per-column one, so the filter is one comparison per entry and
        direction (no matrix of squared distances is formed)."""
        xs, low, n = self.xs, self.low, len(self.xs)
        cols = torch.arange(later, n, device=xs.device)
        r, rc = radius[rows], radius[later:]
        big = self.size.max()
        m_r = 8 * (xs.shape[1] + 4) * self.eps * (self.size[rows] + big)
        m_c = 8 * (xs.shape[1] + 4) * self.eps * (self.size[later:] + big)
        if self.metric == "euclidean":
            half = torch.full((len(rows), 1), -0.5, dtype=low.dtype, device=low.device)
            value = torch.cat([low[rows], half], 1) @ self.cols[:, later:]
            na, t_r, t_c = self.size[rows], r * r, rc * rc
            # |a - b|^2 < t - m  <=>  g > (na - t + m) / 2  <=>  g - na / 2 > (m - t) / 2, and so on.
            sure, maybe = (na - t_r + m_r) / 2, (na - t_r - m_r) / 2
            shift, c_sure, c_maybe = na / 2, (m_c - t_c) / 2, (-m_c - t_c) / 2
        else:
            value = -chebyshev(low[rows], low[later:])
            sure, maybe, shift = m_r - r, -r - m_r, torch.zeros_like(r)
            c_sure, c_maybe = m_c - rc, -rc - m_c
        f = [t.to(low.dtype) for t in (sure, maybe, shift, c_sure, c_maybe)]
        counts, possible, c_counts, c_possible = _band(value, *f)
        # The few entries within the margin, recomputed in float64 from the differences.
        unsure = torch.nonzero(possible > counts)[:, 0]
        if len(unsure):
            block = value[unsure]
            i, j = torch.nonzero((block >= f[1][unsure, None]) & (block <= f[0][unsure, None]), as_tuple=True)
            within = self._exact(rows[unsure[i]], cols[j]) <= r[unsure[i]]
            counts.index_add_(0, unsure[i], within.to(counts.dtype))
        unsure = torch.nonzero(c_possible > c_counts)[:, 0]
        if len(unsure):
            block = value[:, unsure] - f[2][:, None]
            i, j = torch.nonzero((block >= f[4][unsure]) & (block <= f[3][unsure]), as_tuple=True)
            within = self._exact(rows[i], cols[unsure[j]]) <= rc[unsure[j]]
            c_counts.index_add_(0, unsure[j], within.to(c_counts.dtype))
        return counts, c_counts

    def _exact(self, i: Tensor, j: Tensor) -> Tensor:
        """The float64 distances of the pairs ``(i[p], j[p])``, from the differences, as ``cdist``
        recomputes near-ties; in pieces, since they are many where many rows coincide."""
        step = max(1, self.budget // (8 * self.xs.shape[1]))
        out = []
        for s in range(0, len(i), step):
            diff = self.xs[i[s : s + step]] - self.xs[j[s : s + step]]
            out.append(diff.norm(dim=1) if self.metric == "euclidean" else diff.abs().amax(dim=1))
        return torch.cat(out) if out else torch.empty(0, dtype=self.xs.dtype, device=self.xs.device)


def _band(
    value: Tensor, sure: Tensor, maybe: Tensor, shift: Tensor, c_sure: Tensor, c_maybe: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Per row i: the entries > ``sure[i]`` and those >= ``maybe[i]``; per column j: the entries whose
    ``value - shift[i]`` is > ``c_sure[j]`` and those >= ``c_maybe[j]``."""
    if HAVE_KERNEL and value.dtype == torch.float32 and value.device.type == "cpu":
        b, n = value.shape
        out = [np.zeros(k, dtype=np.int64) for k in (b, b, n, n)]
        args = [t.contiguous().numpy() for t in (value, sure, maybe, shift, c_sure, c_maybe)]
        _maxnorm.band_count(args[0], b, n, *args[1:], *out)
        return tuple(torch.from_numpy(o) for o in out)  # type: ignore[return-value]
    shifted = value - shift[:, None]
    return (
        (value > sure[:, None]).sum(dim=1),
        (value >= maybe[:, None]).sum(dim=1),
        (shifted > c_sure).sum(dim=0),
        (shifted >= c_maybe).sum(dim=0),
    )
