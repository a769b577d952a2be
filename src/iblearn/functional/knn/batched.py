"""KSG's neighbour counts for many pairings of the same samples at once: ``(x, y[perm])`` for each row
of a permutation matrix, as permutation nulls need them.

On a GPU with Triton, variant 1 by the fused kernel (:mod:`iblearn.functional.knn.fused`), all
pairings in one launch. Elsewhere in torch: chunks of rows, x's distances computed once a chunk, and
as many pairings a step as a chunk's memory holds, their y-distances a batch dimension through
:func:`~iblearn.functional.knn.neighbors.chebyshev`, the k-th neighbour search and the counts.
"""

from __future__ import annotations

import torch
from torch import Tensor

from iblearn.functional.knn import fused
from iblearn.functional.knn.counts import ksg_chunk_counts, row_chunks
from iblearn.functional.knn.neighbors import chebyshev, chunk_bytes

#: float64 matrices of (pairings, rows, N) alive at once in a step: y's distances, the joint ones and
#: the comparisons of the counts (x's distances, one (rows, N) matrix, are counted in the rows).
_BLOCKS = 4
#: Pairings a step on the CPU, which has no launches to save and slows as the matrices outgrow its
#: caches (docs/design.md, "Measurements behind the code").
CPU_PAIRINGS = 1


def ksg_counts_permuted(x: Tensor, y: Tensor, perms: Tensor, k: int, variant: int) -> tuple[Tensor, Tensor]:
    """n_x and n_y of KSG (eq. 8 for ``variant=1``, eq. 9 for 2) of ``(x, y[perms[b]])`` for every row b
    of ``perms``.

    Args:
        x, y: prepared float64 samples, ``(N, d_x)`` and ``(N, d_y)``, on one device.
        perms: ``(B, N)`` int64 row indices of y, on any device.
        k: neighbours; variant: 1 or 2.

    Returns:
        ``(B, N)`` int64 counts n_x and n_y on x's device, equal to
        :func:`~iblearn.functional.knn.counts.ksg_counts_brute` (and the tree's counts) of each pairing.
    """
    perms = perms.to(x.device)
    if fused.usable(x, y, k, variant):
        return fused.ksg_counts_fused(x, y, k, perms)
    n = x.shape[0]
    nx, ny = [], []
    for rows in row_chunks(n, _BLOCKS, x.device):
        dx = chebyshev(x[rows], x)
        # Pairings a step on a GPU: small samples take many at once, large ones one (rows fill a chunk).
        step = CPU_PAIRINGS
        if x.device.type != "cpu":
            step = max(1, chunk_bytes(x.device) // (8 * n * len(rows) * _BLOCKS))
        cx, cy = [], []
        for s in range(0, perms.shape[0], step):
            ys = y[perms[s : s + step]]  # (pairings, N, d_y)
            counts = ksg_chunk_counts(dx, chebyshev(ys[:, rows], ys), rows, k, variant)
            cx.append(counts[0])
            cy.append(counts[1])
        nx.append(torch.cat(cx))
        ny.append(torch.cat(cy))
    return torch.cat(nx, dim=1), torch.cat(ny, dim=1)
