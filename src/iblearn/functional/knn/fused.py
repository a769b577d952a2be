"""KSG's neighbour counts n_x, n_y (Kraskov et al. 2004, eq. 8) on a GPU in one fused Triton kernel.

Brute force in torch writes every distance to memory and reads it back several times (about 60
bytes a pair); here each program holds a block of rows and walks the columns in tiles, the max-norm
distances computed in registers, twice: first keeping each row's k + 1 smallest joint distances (the
row itself at 0 among them, so the largest kept is eps, the k-th neighbour's distance), then counting
the columns strictly within eps in x and in y. The distances are the same float64 bits as
:func:`~iblearn.functional.knn.neighbors.chebyshev` (a difference and a maximum round nothing more), so
the counts equal the torch path's and the CPU tree's.

One launch counts many pairings: program (i, b) takes the rows of block i of pairing b, whose x and y
are slots of two stacks of samples named by row b of an index, so a permutation null (one x against
permuted copies of y) and the all-pairs MI of a table's columns (one stack, both sides indexing it)
are the same kernel.

Triton is optional: without it (or on the CPU, or for variant 2, whose counts need the neighbours'
indices) the torch path answers. ``TRITON_INTERPRET=1`` runs the kernel on CPU tensors (the tests).
"""

from __future__ import annotations

import os

import torch
from torch import Tensor

from iblearn.functional.knn.neighbors import chunk_bytes

try:
    import triton  # type: ignore[import-untyped,import-not-found,unused-ignore]
    import triton.language as tl  # type: ignore[import-untyped,import-not-found,unused-ignore]

    HAVE_TRITON = True
except ImportError:  # the torch path
    HAVE_TRITON = False

#: Whether ``ksg_mi`` and the permutation nulls take the kernel on a GPU (with Triton): on unless
#: ``IBLEARN_FUSED_KSG=0``. Its counts equal the CPU tree's (docs/design.md, "Measurements behind the
#: code"; benchmarks/results/gpu/).
ENABLED = os.environ.get("IBLEARN_FUSED_KSG", "1") != "0"
#: The largest k the kernel takes: it keeps k + 1 distances a row in registers (KSG recommend 2 - 4);
#: compiled for sm_90 at k = 31 they no longer fit, and the kernel runs out of local memory.
MAX_K = 15
#: Rows a program, columns a tile (powers of two), warps a program. A thread holds 4 rows and 4 columns
#: of a tile, so each column's coordinate loaded serves 4 rows. Compiled for sm_90 (ptxas, 5 + 5
#: dimensions, k = 3), a coordinate of a pair then takes about 4.3 instructions in the counting loop, two
#: of them float64 (a difference, a comparison), against 15 with one row and 16 columns a thread;
#: 255 registers, a few spilled outside the loops.
BLOCK_ROWS = 256
BLOCK_COLS = 4
NUM_WARPS = 2
#: The most dimensions of the joint space the kernel takes: each thread keeps its rows' coordinates in
#: registers (compiled for sm_90, 10 + 10 spill a little in the counting loop, 20 + 20 much).
MAX_DIM = 20
#: CUDA's limit on the second dimension of a grid: pairings a launch.
MAX_GRID_Y = 65535


def enabled(device: torch.device, k: int, variant: int) -> bool:
    """Whether the fused kernel counts for KSG on ``device`` with these settings: :data:`ENABLED`, CUDA,
    Triton, variant 1, k <= :data:`MAX_K`."""
    cuda = ENABLED and HAVE_TRITON and device.type == "cuda"
    return cuda and variant == 1 and k <= MAX_K


def usable(x: Tensor, y: Tensor, k: int, variant: int) -> bool:
    """Whether the fused kernel counts for KSG on these samples: :func:`enabled` on their device, at most
    :data:`MAX_DIM` dimensions in all."""
    return enabled(x.device, k, variant) and x.shape[1] + y.shape[1] <= MAX_DIM


def ksg_counts_fused(
    x: Tensor,
    y: Tensor,
    k: int,
    perms: Tensor | None = None,
    *,
    block_rows: int = BLOCK_ROWS,
    block_cols: int = BLOCK_COLS,
) -> tuple[Tensor, Tensor]:
    """n_x and n_y of KSG eq. (8) for ``(x, y[perms[b]])``, every row b of ``perms``.

    Args:
        x, y: prepared float64 samples ``(N, d_x)``, ``(N, d_y)`` on one device (CUDA, or the CPU
            under ``TRITON_INTERPRET=1``).
        k: neighbours, 1 <= k <= :data:`MAX_K`, k < N.
        perms: ``(B, N)`` int64 row indices of y (``y_b[i] = y[perms[b, i]]``); None for y itself.
        block_rows, block_cols: the kernel's tile, powers of two.

    Returns:
        ``(B, N)`` int64 counts (B = 1 without ``perms``), equal to
        :func:`~iblearn.functional.knn.counts.ksg_counts_brute`'s for each pairing.
    """
    n, dy = y.shape
    batches = 1 if perms is None else perms.shape[0]
    nx = torch.empty(batches, n, dtype=torch.int64, device=x.device)
    ny = torch.empty_like(nx)
    xt = x.T.contiguous()[None]  # (1, d, N): a tile's coordinates are consecutive loads
    # Each launch takes as many pairings as their permuted copies of y fit in a chunk's memory.
    step = max(1, min(MAX_GRID_Y, chunk_bytes(x.device) // (8 * n * dy)))
    for s in range(0, batches, step):
        ys = y[None] if perms is None else y[perms[s : s + step].to(x.device)]
        yt = ys.transpose(1, 2).contiguous()  # (b, d_y, N)
        index = torch.zeros(yt.shape[0], 2, dtype=torch.int64, device=x.device)
        index[:, 1] = torch.arange(yt.shape[0], device=x.device)  # x against each permuted copy
        _launch(xt, yt, index, nx[s:], ny[s:], k, block_rows, block_cols, one_x=True)
    return nx, ny


def ksg_counts_pairs(
    xt: Tensor,
    yt: Tensor,
    index: Tensor,
    k: int,
    *,
    block_rows: int = BLOCK_ROWS,
    block_cols: int = BLOCK_COLS,
) -> tuple[Tensor, Tensor]:
    """n_x and n_y of KSG eq. (8) for the pairs ``(xt[a], yt[b])``, every row ``(a, b)`` of ``index``.

    Args:
        xt, yt: stacks of prepared float64 samples, coordinates first: ``(M_x, d_x, N)`` and
            ``(M_y, d_y, N)``, contiguous, on one device (CUDA, or the CPU under ``TRITON_INTERPRET=1``);
            the same tensor for both sides where the pairs are drawn from one set of variables.
        index: ``(P, 2)`` int64 slots ``(a, b)``, on that device.
        k: neighbours, 1 <= k <= :data:`MAX_K`, k < N.
        block_rows, block_cols: the kernel's tile, powers of two.

    Returns:
        ``(P, N)`` int64 counts, equal to :func:`~iblearn.functional.knn.counts.ksg_counts_brute`'s for
        each pair; one launch for up to :data:`MAX_GRID_Y` pairs.
    """
    n = xt.shape[2]
    nx = torch.empty(index.shape[0], n, dtype=torch.int64, device=xt.device)
    ny = torch.empty_like(nx)
    for s in range(0, index.shape[0], MAX_GRID_Y):
        part = index[s : s + MAX_GRID_Y].contiguous()
        _launch(xt, yt, part, nx[s:], ny[s:], k, block_rows, block_cols, one_x=False)
    return nx, ny


def _launch(
    xt: Tensor,
    yt: Tensor,
    index: Tensor,
    nx: Tensor,
    ny: Tensor,
    k: int,
    block_rows: int,
    block_cols: int,
    *,
    one_x: bool,
) -> None:
    """One launch: pairing b of ``index`` writes its counts to rows b of ``nx`` and ``ny``; ``one_x``:
    the index is ``(0, b)`` for every b (one x against each of ``yt``)."""
    n = xt.shape[2]
    grid = (triton.cdiv(n, block_rows), index.shape[0])
    # One x against copies of y (a permutation null, or one estimate): the index is (0, b), and that
    # kernel is compiled without reading it: with x's slot read from the index it is slower
    # (docs/benchmarks.md, "On a GPU").
    _ksg_counts_kernel[grid](
        xt, yt, index, nx, ny, n,
        K1=k + 1, KP=triton.next_power_of_2(k + 1), DX=xt.shape[1], DY=yt.shape[1],
        BM=block_rows, BN=block_cols, ONE_X=one_x, num_warps=NUM_WARPS,
    )  # fmt: skip


if HAVE_TRITON:

    @triton.jit  # type: ignore[untyped-decorator,misc,unused-ignore]
    def max_norm_tile(d, pts, n, rows, cols, D: tl.constexpr):  # type: ignore[no-untyped-def]
        """``max(d, max_c |pts[c, cols] - pts[c, rows]|)`` as a (cols, rows) tile; ``pts`` is (D, n).

        Tiles are (columns, rows), the threads of a warp side by side along the rows: each thread's
        rows' coordinates stay in registers for the whole loop, and each column's coordinate loaded
        serves all its rows. Indices past the end are clamped to the last point, and the caller
        masks what they give: a load without a mask costs fewer instructions.
        """
        for c in tl.static_range(D):
            pi = tl.load(pts + c * n + rows)
            pj = tl.load(pts + c * n + cols)
            d = tl.maximum(d, tl.abs(pj[:, None] - pi[None, :]))
        return d

    @triton.jit  # type: ignore[untyped-decorator,misc,unused-ignore]
    def within_tile(inside, pts, n, rows, cols, r, D: tl.constexpr):  # type: ignore[no-untyped-def]
        """``inside & (max_c |pts[c, cols] - pts[c, rows]| < r[rows])`` as :func:`max_norm_tile`'s tile: a
        comparison a coordinate (a maximum would cost a comparison and two selects)."""
        for c in tl.static_range(D):
            pi = tl.load(pts + c * n + rows)
            pj = tl.load(pts + c * n + cols)
            inside = inside & (tl.abs(pj[:, None] - pi[None, :]) < r[None, :])
        return inside

    @triton.jit  # type: ignore[untyped-decorator,misc,unused-ignore]
    def keep_smallest(best, kth, d, left, slot, tile):  # type: ignore[no-untyped-def]
        """The distances of a tile ``d`` (columns, rows) offered to each row's K1 smallest so far
        (``best``: (slots, rows), unordered, the largest ``kth``; ``left``, the entries of ``d`` below
        their row's ``kth``, as the caller counted them; ``slot`` and ``tile`` the slots' and the tile's
        positions); returns both updated. Each turn moves the smallest entry below the K1-th value of
        each row into the place of the row's largest kept one, by position, so equal distances count
        with multiplicity."""
        while left > 0:
            m, at = tl.min(d, axis=0, return_indices=True, return_indices_tie_break_left=True)
            worst = tl.argmax(best, axis=0, tie_break_left=True)
            take = (m < kth)[None, :] & (slot == worst[None, :])
            best = tl.where(take, m[None, :], best)
            d = tl.where(tile[:, None] == at[None, :], float("inf"), d)
            kth = tl.max(best, axis=0)
            left = tl.sum((d < kth[None, :]).to(tl.int32))
        return best, kth

    @triton.jit  # type: ignore[untyped-decorator,misc,unused-ignore]
    def kth_distances(  # type: ignore[no-untyped-def]
        xb, yb, zb, n, n64, at_rows, rmask,
        K1: tl.constexpr, KP: tl.constexpr, DX: tl.constexpr, DY: tl.constexpr, DZ: tl.constexpr,
        BM: tl.constexpr, BN: tl.constexpr,
    ):  # fmt: skip
        """Each row's K1-th smallest max-norm distance in the joint space of ``xb``, ``yb`` and ``zb``
        (``(D, n)`` coordinates each; DZ = 0: no z), the row itself at 0 among them, over all n
        columns in tiles of BN: the k-th neighbour's distance eps of a block of BM rows (``n64``, n as
        int64 for the offsets; the loop runs on ``n``, as the kernels' own loops do)."""
        inf = float("inf")
        tile = tl.arange(0, BN)
        slot = tl.arange(0, KP)[:, None]
        # Each row's K1 smallest joint distances so far, unordered, as (slots, rows); slots past K1 hold
        # -1, which is never the largest, so never replaced.
        best = tl.where(slot < K1, tl.full([KP, BM], inf, tl.float64), -1.0)
        kth = tl.max(best, axis=0)
        for start in range(0, n, BN):
            cols = start + tile.to(tl.int64)
            cmask = cols < n64
            at_cols = tl.minimum(cols, n64 - 1)
            # Only entries below a row's current K1-th value change it, and most tiles have none: they
            # are found by comparisons alone, and the distances computed only where there are some.
            valid = cmask[:, None] & rmask[None, :]
            below = within_tile(valid, zb, n64, at_rows, at_cols, kth, DZ)
            below = within_tile(below, xb, n64, at_rows, at_cols, kth, DX)
            left = tl.sum(within_tile(below, yb, n64, at_rows, at_cols, kth, DY).to(tl.int32))
            if left > 0:
                d = max_norm_tile(tl.zeros([BN, BM], tl.float64), xb, n64, at_rows, at_cols, DX)
                d = max_norm_tile(d, yb, n64, at_rows, at_cols, DY)
                d = max_norm_tile(d, zb, n64, at_rows, at_cols, DZ)
                best, kth = keep_smallest(best, kth, tl.where(valid, d, inf), left, slot, tile)
        return kth

    @triton.jit  # type: ignore[untyped-decorator,misc,unused-ignore]
    def _ksg_counts_kernel(  # type: ignore[no-untyped-def]
        xt, yt, index, nx, ny, n,
        K1: tl.constexpr, KP: tl.constexpr, DX: tl.constexpr, DY: tl.constexpr,
        BM: tl.constexpr, BN: tl.constexpr, ONE_X: tl.constexpr,
    ):  # fmt: skip
        """Program (i, b): rows i*BM ... of pairing b, whose x is ``xt[index[b, 0]]`` and y
        ``yt[index[b, 1]]`` (stacks (M, D, n)); with ONE_X, x is ``xt[0]`` and y ``yt[b]``, the index
        unread. K1 = k + 1 distances kept a row, in KP (a power of two) slots."""
        b = tl.program_id(1).to(tl.int64)
        n64 = n.to(tl.int64)  # offsets c * n and slot * D * n can pass 2^31
        rows = tl.program_id(0).to(tl.int64) * BM + tl.arange(0, BM)
        rmask = rows < n64
        at_rows = tl.minimum(rows, n64 - 1)
        if ONE_X:
            xb = xt
            yb = yt + b * DY * n64
        else:
            xb = xt + tl.load(index + 2 * b).to(tl.int64) * DX * n64
            yb = yt + tl.load(index + 2 * b + 1).to(tl.int64) * DY * n64
        tile = tl.arange(0, BN)
        kth = kth_distances(xb, yb, xb, n, n64, at_rows, rmask, K1, KP, DX, DY, 0, BM, BN)
        # eps = kth; n_x(i) = #{j != i : ||x_j - x_i|| < eps_i}, the same in y (KSG eq. 8).
        cx = tl.zeros([BM], tl.int32)
        cy = tl.zeros([BM], tl.int32)
        for start in range(0, n, BN):
            cols = start + tile.to(tl.int64)
            at_cols = tl.minimum(cols, n64 - 1)
            inside = (cols < n64)[:, None] & rmask[None, :]
            cx += tl.sum(within_tile(inside, xb, n64, at_rows, at_cols, kth, DX).to(tl.int32), axis=0)
            cy += tl.sum(within_tile(inside, yb, n64, at_rows, at_cols, kth, DY).to(tl.int32), axis=0)
        tl.store(nx + b * n64 + rows, (cx - 1).to(tl.int64), mask=rmask)  # less the row itself
        tl.store(ny + b * n64 + rows, (cy - 1).to(tl.int64), mask=rmask)
