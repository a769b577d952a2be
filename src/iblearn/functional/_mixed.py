"""The brute-force counts of MixedKSG (Ross 2014), :func:`iblearn.functional.mixed_ksg_mi` on the
``"brute"`` backend: for each sample i of class c, its radius r_i (the distance to its k-th nearest
neighbour within c) and m_i = #{j != i : d(x_i, x_j) <= r_i} over every class.

The work is in two passes over the samples sorted by class:

1. Within each class, chunks of its rows against its own members: the k-th neighbour's distance and
   the count of the class's own members within it, from the same float64 numbers, so the neighbour
   itself is counted exactly. These are the numbers the single pass over whole rows gave before
   (``_cdist`` is given the whole sample's largest norm for its tie bound, and a distance does not
   depend on which columns share its block: tested). A tenth of the distance matrix with 10 classes.
2. Against the other classes, counts only, from a float32 copy (half the bytes, a matrix product about
   2.8x as fast as float64 in 64 dimensions: 0.026 against 0.074 s for 1,000 rows at N = 10,000):
   an entry is counted where its float32 value lies below r_i by more than a bound on float32's
   rounding, left out where it lies above by more, and the few in between (about one a row) are
   recomputed in float64 from the differences, as ``_cdist`` recomputes near-ties.

For the max-norm every answer is the float64 number the single pass gave, so the counts are the
same. For the Euclidean norm the entries recomputed in pass 2 are differences, where the single pass
had matrix-product numbers: a count can differ from the single pass's only where another class's point
lies within float64 rounding (about 1e-15 relative) of the radius.

The float32 bounds (Higham, Accuracy and Stability of Numerical Algorithms, 2002, Sec. 3.1): rounding
x to float32 and a d-term dot product err by at most gamma_d (|a|^2 + |b|^2) in a squared Euclidean
distance, and by eps (|a|_inf + |b|_inf) in a max-norm distance. The margin used is 8 (d + 4) eps_32
times that scale, several times the bound. Data whose scale float32 cannot hold (norms beyond 1e18 or
below 1e-10) take the same path in float64.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from iblearn.functional._neighbors import CHUNK_BYTES, HAVE_KERNEL, Metric, _cdist

if HAVE_KERNEL:
    from iblearn.functional import _maxnorm

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
    ends = torch.cumsum(sizes, 0).tolist()
    classes = list(zip([0, *ends[:-1]], ends, strict=True))
    radius = torch.empty(n, dtype=x.dtype, device=x.device)
    m = torch.empty(n, dtype=torch.int64, device=x.device)
    norm2 = (xs * xs).sum(1)
    for c0, c1 in classes:
        _within(xs, c0, c1, int(ks[c0]), metric, norm2.max(), radius, m)
    f = _Filter(xs, norm2, metric)
    rows_per_chunk = max(1, CHUNK_BYTES // (f.low.element_size() * n * 2))
    for c0, c1 in classes:
        for r0 in range(c0, c1, rows_per_chunk):
            rows = torch.arange(r0, min(c1, r0 + rows_per_chunk), device=x.device)
            m[rows] += f.cross_counts(rows, (c0, c1), radius[rows])
    out = torch.empty_like(m)
    out[order] = m
    return out


def _within(
    xs: Tensor, c0: int, c1: int, k: int, metric: Metric, norm2_max: Tensor, radius: Tensor, m: Tensor
) -> None:
    """Pass 1 on the class at sorted positions ``[c0, c1)``: write its radii and own-class counts."""
    members = xs[c0:c1]
    # torch.cdist takes the matrix product when either side has more than 25 rows; the single pass
    # had the whole sample as columns, so it took it from N = 26 on.
    mode = "use_mm_for_euclid_dist" if len(xs) > 25 else "donot_use_mm_for_euclid_dist"
    rows_per_chunk = max(1, CHUNK_BYTES // (8 * len(members) * 3))
    for r0 in range(c0, c1, rows_per_chunk):
        rows = torch.arange(r0, min(c1, r0 + rows_per_chunk), device=xs.device)
        dist = _cdist(xs[rows], members, metric, rows - c0, b_norm2_max=norm2_max, mode=mode)
        own = torch.arange(len(rows), device=xs.device)
        dist[own, rows - c0] = -1.0  # self first
        r = torch.topk(dist, k + 1, dim=1, largest=False).values[:, k]
        radius[rows] = r
        m[rows] = (dist <= r[:, None]).sum(dim=1, dtype=torch.int32).long() - 1  # int32: twice as fast


class _Filter:
    """Pass 2: the data in the precision it is filtered in, and what every chunk of rows shares."""

    def __init__(self, xs: Tensor, norm2: Tensor, metric: Metric) -> None:
        self.xs, self.metric = xs, metric
        self.size = norm2 if metric == "euclidean" else xs.abs().amax(1)  # float64, per row
        lo, hi = _F32_RANGE
        fits = lo < float(self.size.max()) < hi and xs.dtype == torch.float64
        self.low = xs.to(torch.float32) if fits else xs
        self.eps = torch.finfo(self.low.dtype).eps
        if metric == "euclidean":
            # [b, |b|^2]: its product with [a, -1/2] is a.b - |b|^2 / 2 (see cross_counts).
            self.cols = torch.cat([self.low, (self.low * self.low).sum(1, keepdim=True)], 1).T.contiguous()

    def cross_counts(self, rows: Tensor, own: tuple[int, int], r: Tensor) -> Tensor:
        """For ``rows``, the points of other classes within ``r`` (inclusive), exactly.

        Euclidean: one product of ``[a, -1/2]`` with ``[b, |b|^2]`` gives ``g = a.b - |b|^2 / 2``, and
        ``|a - b|^2 = |a|^2 - 2 g`` is below a bound exactly where g is above a per-row threshold, so
        the filter is one comparison per entry (no matrix of squared distances is formed)."""
        xs, low = self.xs, self.low
        margin = 8 * (xs.shape[1] + 4) * self.eps * (self.size[rows] + self.size.max())
        if self.metric == "euclidean":
            half = torch.full((len(rows), 1), -0.5, dtype=low.dtype, device=low.device)
            value = torch.cat([low[rows], half], 1) @ self.cols
            na, target = self.size[rows], r * r
            # |a - b|^2 < target - margin  <=>  g > (na - target + margin) / 2, and so on.
            sure = ((na - target + margin) / 2).to(low.dtype)[:, None]
            maybe = ((na - target - margin) / 2).to(low.dtype)[:, None]
        else:
            value = -torch.cdist(low[rows], low, p=float("inf"))
            sure, maybe = (margin - r).to(low.dtype)[:, None], (-r - margin).to(low.dtype)[:, None]
        counts, possible = _band(value, sure, maybe, own)
        unsure = torch.nonzero(possible > counts)[:, 0]
        if not len(unsure):
            return counts
        band = (value[unsure] >= maybe[unsure]) & (value[unsure] <= sure[unsure])
        band[:, own[0] : own[1]] = False
        near_i, near_j = torch.nonzero(band, as_tuple=True)
        near_i = unsure[near_i]
        step = max(1, CHUNK_BYTES // (8 * xs.shape[1]))  # many where many rows coincide
        for s in range(0, len(near_i), step):
            i, j = near_i[s : s + step], near_j[s : s + step]
            diff = xs[rows[i]] - xs[j]
            exact = diff.norm(dim=1) if self.metric == "euclidean" else diff.abs().amax(dim=1)
            counts.index_add_(0, i, (exact <= r[i]).to(counts.dtype))
        return counts


def _band(value: Tensor, sure: Tensor, maybe: Tensor, own: tuple[int, int]) -> tuple[Tensor, Tensor]:
    """Per row, outside the columns ``own``: the entries > ``sure`` and those >= ``maybe``."""
    if HAVE_KERNEL and value.dtype == torch.float32 and value.device.type == "cpu":
        b, n = value.shape
        out_sure, out_maybe = np.empty(b, dtype=np.int64), np.empty(b, dtype=np.int64)
        _maxnorm.band_count(
            value.contiguous().numpy(),
            b,
            n,
            sure.contiguous().numpy(),
            maybe.contiguous().numpy(),
            own[0],
            own[1],
            out_sure,
            out_maybe,
        )
        return torch.from_numpy(out_sure), torch.from_numpy(out_maybe)
    mine = value[:, own[0] : own[1]]
    counts = (value > sure).sum(dim=1) - (mine > sure).sum(dim=1)
    return counts, (value >= maybe).sum(dim=1) - (mine >= maybe).sum(dim=1)
