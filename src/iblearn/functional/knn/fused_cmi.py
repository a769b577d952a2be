"""Frenzel and Pompe's neighbour counts n_xz, n_yz, n_z (conditional MI, Frenzel & Pompe 2007) of many
variables x_b against one y and one z on a GPU, in one Triton kernel of the brute-force kernel's design
(:mod:`iblearn.functional.knn.fused`): the surrogates of a candidate in network inference, each against
the same conditioning set.

The torch path (:func:`~iblearn.functional.knn.cmi_batched.cmi_counts_batched`) writes every sample's
N x N distance matrices to memory and reads them back several times. Here a program holds a block of
rows of one x_b and walks the columns in tiles, the max-norm distances in registers: first each row's
k + 1 smallest joint distances in (x_b, y, z) (the row itself at 0 among them, so the largest kept is
eps, the k-th neighbour's distance), then the columns strictly within eps in z, and of those, within
eps in x_b and in y (a max-norm distance in (x, z) is below eps exactly where both are). The distances
are the same float64 bits as :func:`~iblearn.functional.knn.neighbors.chebyshev`'s, so the counts equal
the torch path's. Without z the brute-force kernel itself counts (x_b against y: KSG's n_x, n_y).

On with the brute-force kernel (``IBLEARN_FUSED_KSG``, :func:`iblearn.functional.knn.fused.enabled`);
``TRITON_INTERPRET=1`` runs it on CPU tensors (the tests).

References:
    S. Frenzel, B. Pompe. Partial mutual information for coupling analysis of multivariate time series.
    Phys. Rev. Lett. 99, 204101 (2007).
"""

from __future__ import annotations

import torch
from torch import Tensor

from iblearn.functional.knn import fused

if fused.HAVE_TRITON:
    import triton  # type: ignore[import-untyped,import-not-found,unused-ignore]
    import triton.language as tl  # type: ignore[import-untyped,import-not-found,unused-ignore]

    from iblearn.functional.knn.fused import kth_distances, within_tile


def usable(x: Tensor, y: Tensor, z: Tensor | None, k: int) -> bool:
    """Whether the fused kernels count these samples (``x`` ``(B, N, d_x)``, ``y`` ``(N, d_y)``, ``z``
    ``(N, d_z)`` or None): :func:`iblearn.functional.knn.fused.enabled` on their device (variant 1), at
    most :data:`iblearn.functional.knn.fused.MAX_DIM` dimensions in all."""
    dims = x.shape[2] + y.shape[1] + (0 if z is None else z.shape[1])
    return fused.enabled(x.device, k, 1) and dims <= fused.MAX_DIM


def cmi_counts_fused(x: Tensor, y: Tensor, z: Tensor | None, k: int) -> list[Tensor]:
    """The counts of :func:`~iblearn.functional.knn.cmi_batched.cmi_counts_batched` by the fused
    kernels: ``[n_xz, n_yz, n_z]`` with z, ``[n_x, n_y]`` without, ``(B, N)`` int64 each.

    Args:
        x: ``(B, N, d_x)`` prepared float64 samples; y: ``(N, d_y)``; z: ``(N, d_z)`` or None; on one
            device (CUDA, or the CPU under ``TRITON_INTERPRET=1``).
        k: neighbours in the joint space, 1 <= k <= :data:`iblearn.functional.knn.fused.MAX_K`, k < N.
    """
    xt = x.transpose(1, 2).contiguous()  # (B, d_x, N): a tile's coordinates are consecutive loads
    yt = y.T.contiguous()[None]
    if z is None:  # x_b against y: the brute-force kernel's pairs
        index = torch.zeros(x.shape[0], 2, dtype=torch.int64, device=x.device)
        index[:, 0] = torch.arange(x.shape[0], device=x.device)
        return list(fused.ksg_counts_pairs(xt, yt, index, k))
    return _launch(xt, yt, z.T.contiguous()[None], k)


def _launch(
    xt: Tensor,
    yt: Tensor,
    zt: Tensor,
    k: int,
    block_rows: int = fused.BLOCK_ROWS,
    block_cols: int = fused.BLOCK_COLS,
) -> list[Tensor]:
    """n_xz, n_yz, n_z of every ``xt[b]`` against ``yt[0]`` and ``zt[0]`` (coordinates first)."""
    b, _, n = xt.shape
    counts = [torch.empty(b, n, dtype=torch.int64, device=xt.device) for _ in range(3)]
    for s in range(0, b, fused.MAX_GRID_Y):
        grid = (triton.cdiv(n, block_rows), min(b - s, fused.MAX_GRID_Y))
        nxz, nyz, nz = (c[s:] for c in counts)
        _cmi_counts_kernel[grid](
            xt[s:], yt, zt, nxz, nyz, nz, n,
            K1=k + 1, KP=triton.next_power_of_2(k + 1), DX=xt.shape[1], DY=yt.shape[1], DZ=zt.shape[1],
            BM=block_rows, BN=block_cols, num_warps=fused.NUM_WARPS,
        )  # fmt: skip
    return counts


if fused.HAVE_TRITON:

    @triton.jit  # type: ignore[untyped-decorator,misc,unused-ignore]
    def _cmi_counts_kernel(  # type: ignore[no-untyped-def]
        xt, yt, zt, nxz, nyz, nz, n,
        K1: tl.constexpr, KP: tl.constexpr, DX: tl.constexpr, DY: tl.constexpr, DZ: tl.constexpr,
        BM: tl.constexpr, BN: tl.constexpr,
    ):  # fmt: skip
        """Program (i, b): rows i*BM ... of ``xt[b]`` against ``yt[0]`` and ``zt[0]`` (stacks (M, D, n)).
        K1 = k + 1 distances kept a row, in KP (a power of two) slots."""
        b = tl.program_id(1).to(tl.int64)
        n64 = n.to(tl.int64)  # offsets c * n and b * D * n can pass 2^31
        rows = tl.program_id(0).to(tl.int64) * BM + tl.arange(0, BM)
        rmask = rows < n64
        at_rows = tl.minimum(rows, n64 - 1)
        xb = xt + b * DX * n64
        tile = tl.arange(0, BN)
        kth = kth_distances(xb, yt, zt, n, n64, at_rows, rmask, K1, KP, DX, DY, DZ, BM, BN)
        # eps = kth; n_z(i) = #{j != i : ||z_j - z_i|| < eps_i}, and of those the ones within eps in x and
        # in y: n_xz and n_yz (the max-norm in (x, z) and (y, z)).
        cxz = tl.zeros([BM], tl.int32)
        cyz = tl.zeros([BM], tl.int32)
        cz = tl.zeros([BM], tl.int32)
        for start in range(0, n, BN):
            cols = start + tile.to(tl.int64)
            at_cols = tl.minimum(cols, n64 - 1)
            inside = (cols < n64)[:, None] & rmask[None, :]
            near_z = within_tile(inside, zt, n64, at_rows, at_cols, kth, DZ)
            cz += tl.sum(near_z.to(tl.int32), axis=0)
            cxz += tl.sum(within_tile(near_z, xb, n64, at_rows, at_cols, kth, DX).to(tl.int32), axis=0)
            cyz += tl.sum(within_tile(near_z, yt, n64, at_rows, at_cols, kth, DY).to(tl.int32), axis=0)
        out = b * n64 + rows
        tl.store(nxz + out, (cxz - 1).to(tl.int64), mask=rmask)  # less the row itself
        tl.store(nyz + out, (cyz - 1).to(tl.int64), mask=rmask)
        tl.store(nz + out, (cz - 1).to(tl.int64), mask=rmask)
