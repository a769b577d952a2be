"""KSG's neighbour counts n_x, n_y (Kraskov et al. 2004, eq. 8) of pairs of single columns on a GPU, in
one Triton kernel that searches each row's neighbours along the sorted columns, as the CPU's scans do.

The brute-force kernel (:mod:`iblearn.functional.knn.fused`) reads every column of a pair for every
row twice: N^2 distances a pair. For two single columns most of them are not needed:

* **The k-th neighbour.** A program holds a block of consecutive rows in the order of the sorted x and
  walks the tiles of columns outwards from it, first to the right, then to the left, keeping each row's
  k + 1 smallest joint distances (the row itself at 0 among them) as the brute-force kernel keeps them.
  It stops on a side once, for every row of the block, the distance in x alone to the next column of
  that side is at least the row's current k-th distance: a difference of floats only grows with the
  minuend, so every column beyond is at least as far in x, hence in the max-norm, and cannot change
  the k + 1 smallest. The rows of a block are neighbours in x, so they share most of their window.
* **The counts.** n_x(i) = #{j != i : |x_j - x_i| < eps_i} are the columns of one run of the sorted x
  around row i (the same monotonicity), found by bisection with that very comparison, and the same
  in y on y's sorted copy: about 2 log2 N loads a row instead of N.

The distances and comparisons are the same float64 operations as the brute-force kernel's and
:func:`~iblearn.functional.knn.neighbors.chebyshev` (a difference, its absolute value, a maximum), so
the counts are equal to theirs, ties and repeated rows included; each pair's counts are written in the
order of the rows, so the terms are averaged as the brute-force kernel's are.

Off unless ``IBLEARN_SORTED_KSG=1``: its speed against the brute-force kernel is for a device to
measure (``benchmarks/gpu_check.py``'s ``pairwise_*`` rows take both). ``TRITON_INTERPRET=1`` runs it
on CPU tensors (the tests).
"""

from __future__ import annotations

import os

import torch
from torch import Tensor

from iblearn.functional.knn import fused

if fused.HAVE_TRITON:
    import triton  # type: ignore[import-untyped,import-not-found,unused-ignore]
    import triton.language as tl  # type: ignore[import-untyped,import-not-found,unused-ignore]

    from iblearn.functional.knn.fused import keep_smallest

#: Whether pairs of single columns on a GPU take this kernel rather than the brute-force one.
ENABLED = os.environ.get("IBLEARN_SORTED_KSG", "0") == "1"
#: Rows a program (consecutive in the sorted x: fewer rows share a narrower window), columns a tile,
#: warps a program.
BLOCK_ROWS = 128
BLOCK_COLS = 4
NUM_WARPS = 2


def usable(dims: tuple[int, int], device: torch.device, k: int, variant: int) -> bool:
    """Whether this kernel counts a group of pairs of these dimensions: :data:`ENABLED`, single columns
    both, and what :func:`iblearn.functional.knn.fused.enabled` asks."""
    return ENABLED and dims == (1, 1) and fused.enabled(device, k, variant)


class SortedColumns:
    """Single columns ``(M, N)`` of prepared float64 samples with what the kernel reads of them: each
    column sorted, the row at each place of the sorted column and the place of each row."""

    def __init__(self, columns: Tensor) -> None:
        self.values = columns.contiguous()
        self.sorted, self.order = self.values.sort(dim=1)
        places = torch.arange(columns.shape[1], device=columns.device).expand_as(self.order)
        self.place = torch.empty_like(self.order).scatter_(1, self.order, places)


def ksg_counts_sorted_pairs(
    columns: SortedColumns,
    index: Tensor,
    k: int,
    *,
    block_rows: int = BLOCK_ROWS,
    block_cols: int = BLOCK_COLS,
) -> tuple[Tensor, Tensor]:
    """n_x and n_y of KSG eq. (8) for the pairs ``(columns[a], columns[b])``, every row ``(a, b)`` of
    ``index``.

    Args:
        columns: the prepared single columns, on one device (CUDA, or the CPU under
            ``TRITON_INTERPRET=1``).
        index: ``(P, 2)`` int64 slots ``(a, b)``, on that device.
        k: neighbours, 1 <= k <= :data:`iblearn.functional.knn.fused.MAX_K`, k < N.
        block_rows, block_cols: the kernel's tile, powers of two.

    Returns:
        ``(P, N)`` int64 counts in the order of the rows, equal to
        :func:`~iblearn.functional.knn.counts.ksg_counts_brute`'s for each pair.
    """
    n = columns.values.shape[1]
    nx = torch.empty(index.shape[0], n, dtype=torch.int64, device=index.device)
    ny = torch.empty_like(nx)
    steps = (n + 1).bit_length()  # halvings that close a range of up to n + 1 places
    for s in range(0, index.shape[0], fused.MAX_GRID_Y):
        part = index[s : s + fused.MAX_GRID_Y].contiguous()
        grid = (triton.cdiv(n, block_rows), part.shape[0])
        _sorted_counts_kernel[grid](
            columns.values, columns.sorted, columns.order, columns.place, part, nx[s:], ny[s:], n,
            steps, K1=k + 1, KP=triton.next_power_of_2(k + 1), BM=block_rows, BN=block_cols,
            num_warps=NUM_WARPS,
        )  # fmt: skip
    return nx, ny


if fused.HAVE_TRITON:

    @triton.jit  # type: ignore[untyped-decorator,misc,unused-ignore]
    def _offer(best, kth, xi, yi, xj, yj, valid, slot, tile):  # type: ignore[no-untyped-def]
        """The columns of a tile offered to each row's kept distances (as the brute-force kernel keeps
        them: :func:`~iblearn.functional.knn.fused.keep_smallest`); returns both updated."""
        d = tl.maximum(tl.abs(xj[:, None] - xi[None, :]), tl.abs(yj[:, None] - yi[None, :]))
        d = tl.where(valid, d, float("inf"))
        return keep_smallest(best, kth, d, tl.sum((d < kth[None, :]).to(tl.int32)), slot, tile)

    @triton.jit  # type: ignore[untyped-decorator,misc,unused-ignore]
    def _count_within(run, at, v, eps, n, steps):  # type: ignore[no-untyped-def]
        """#{j : |run[j] - v| < eps} for a sorted ``run`` of ``n`` values whose place ``at`` holds ``v``:
        the first place right of ``at`` at least eps above v, less the first place left of it (or at it)
        less than eps below, each found by bisection (both conditions are monotone along the run)."""
        lo = at
        hi = tl.zeros_like(at) + n
        for _ in range(0, steps):
            mid = (lo + hi) // 2
            far = tl.load(run + tl.minimum(mid, n - 1)) - v >= eps
            hi = tl.where((lo < hi) & far, mid, hi)
            lo = tl.where((lo < hi) & ~far, mid + 1, lo)
        right = lo
        lo = tl.zeros_like(at)
        hi = at + 1
        for _ in range(0, steps):
            mid = (lo + hi) // 2
            near = v - tl.load(run + tl.minimum(mid, n - 1)) < eps
            hi = tl.where((lo < hi) & near, mid, hi)
            lo = tl.where((lo < hi) & ~near, mid + 1, lo)
        return tl.maximum(right - lo, 0)  # 0 where eps is 0: no column, not even the row itself

    @triton.jit  # type: ignore[untyped-decorator,misc,unused-ignore]
    def _sorted_counts_kernel(  # type: ignore[no-untyped-def]
        values, sorted_, order, place, index, nx, ny, n, steps,
        K1: tl.constexpr, KP: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr,
    ):  # fmt: skip
        """Program (i, p): the places i*BM ... of the sorted x of pair p, whose x is column
        ``index[p, 0]`` and y column ``index[p, 1]`` of the ``(M, n)`` stacks. K1 = k + 1 distances kept
        a row, in KP (a power of two) slots."""
        inf = float("inf")
        p = tl.program_id(1).to(tl.int64)
        n64 = n.to(tl.int64)
        xa = tl.load(index + 2 * p).to(tl.int64) * n64  # offsets of the pair's columns in the stacks
        yb = tl.load(index + 2 * p + 1).to(tl.int64) * n64
        start = tl.program_id(0).to(tl.int64) * BM
        places = start + tl.arange(0, BM)
        rmask = places < n64
        at = tl.minimum(places, n64 - 1)
        xi = tl.load(sorted_ + xa + at)
        row = tl.load(order + xa + at)
        yi = tl.load(values + yb + row)
        tile = tl.arange(0, BN).to(tl.int64)
        slot = tl.arange(0, KP)[:, None]
        # Slots past K1 hold -1, which is never the largest, so never replaced.
        best = tl.where(slot < K1, tl.full([KP, BM], inf, tl.float64), -1.0)
        kth = tl.max(best, axis=0)
        # Rightwards from the block's first place, the block itself first.
        hi = start
        go = hi < n64
        while go:
            cols = hi + tile
            cmask = cols < n64
            at_cols = tl.minimum(cols, n64 - 1)
            xj = tl.load(sorted_ + xa + at_cols)
            yj = tl.load(values + yb + tl.load(order + xa + at_cols))
            best, kth = _offer(best, kth, xi, yi, xj, yj, cmask[:, None] & rmask[None, :], slot, tile)
            hi += BN
            gap = tl.load(sorted_ + xa + tl.minimum(hi, n64 - 1)) - xi
            go = (hi < n64) & (tl.sum((rmask & (gap < kth)).to(tl.int32)) > 0)
        # Leftwards from the place before the block.
        lo = start
        gap = xi - tl.load(sorted_ + xa + tl.maximum(lo - 1, 0))
        go = (lo > 0) & (tl.sum((rmask & (gap < kth)).to(tl.int32)) > 0)
        while go:
            cols = lo - BN + tile
            cmask = cols >= 0
            at_cols = tl.maximum(cols, 0)
            xj = tl.load(sorted_ + xa + at_cols)
            yj = tl.load(values + yb + tl.load(order + xa + at_cols))
            best, kth = _offer(best, kth, xi, yi, xj, yj, cmask[:, None] & rmask[None, :], slot, tile)
            lo -= BN
            gap = xi - tl.load(sorted_ + xa + tl.maximum(lo - 1, 0))
            go = (lo > 0) & (tl.sum((rmask & (gap < kth)).to(tl.int32)) > 0)
        # eps = kth; the counts of KSG eq. 8 less the row itself, stored in the order of the rows.
        cx = _count_within(sorted_ + xa, at, xi, kth, n64, steps)
        cy = _count_within(sorted_ + yb, tl.load(place + yb + row), yi, kth, n64, steps)
        tl.store(nx + p * n64 + row, cx - 1, mask=rmask)
        tl.store(ny + p * n64 + row, cy - 1, mask=rmask)
