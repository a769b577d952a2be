"""KSG's estimate from neighbour counts (Kraskov et al. 2004, eqs. 8 and 9) and the counts themselves
on prepared samples: by the tree searches, or in chunks of the brute-force distance matrices (on a GPU
with Triton, variant 1 by the fused kernel of :mod:`iblearn.functional.knn.fused`). Shared by
:func:`~iblearn.functional.ksg_mi` and the functions that count neighbours as it does (pairs of
variables, conditional and multivariate measures).

All counts and estimates are float64 tensors on the samples' device.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from iblearn.functional.knn import bivariate, fused
from iblearn.functional.knn.formula import (
    digamma_f64,
    ksg_constant,
    ksg_count_terms,
    ksg_from_counts,
    ksg_terms,
    psi,
)
from iblearn.functional.knn.neighbors import (
    PART_POINTS,
    chebyshev,
    chunk_bytes,
    count_within,
    fill_self,
    kth_neighbour,
    smallest,
)


def ksg_counts_tree(x: Tensor, y: Tensor, k: int, variant: int) -> tuple[Tensor, Tensor]:
    """n_x and n_y of KSG on prepared CPU samples by the tree searches; for two single columns by the
    compiled kernel's grid (:mod:`iblearn.functional.knn.bivariate`), which gives the same counts, where
    the tree searches would run on one thread (the grid counts one pair on one)."""
    one_thread = torch.get_num_threads() == 1 or x.shape[0] <= PART_POINTS
    if one_thread and bivariate.usable([x, y]):
        counts = bivariate.pair_counts(*bivariate.sorted_ranks([x, y]), [(0, 1)], k, variant)
        if counts is not None:  # else distances overflow, which the general search reports
            return torch.from_numpy(counts[0][0]), torch.from_numpy(counts[1][0])
    eps, idx = kth_neighbour([x, y], k, "chebyshev", "tree")
    if variant == 1:
        nx = count_within(x, eps, "chebyshev", "tree", inclusive=False)
        ny = count_within(y, eps, "chebyshev", "tree", inclusive=False)
    else:
        nx = count_within(x, _spread(x, idx), "chebyshev", "tree", inclusive=True)
        ny = count_within(y, _spread(y, idx), "chebyshev", "tree", inclusive=True)
    return nx, ny


def _spread(v: Tensor, idx: Tensor) -> Tensor:
    """Largest max-norm distance from each point to its neighbours ``idx (N, k)``: eps_x of KSG eq. (9)."""
    return (v[:, None, :] - v[idx]).abs().amax(dim=(1, 2))


def ksg_counts_brute(x: Tensor, y: Tensor, k: int, variant: int) -> tuple[Tensor, Tensor]:
    """n_x and n_y of KSG in one pass over chunks of the two distance matrices (each is computed once:
    in hundreds of dimensions the max-norm distances are nearly all the work). On a GPU with Triton,
    variant 1 by the fused kernel of :mod:`iblearn.functional.knn.fused` (the same counts)."""
    if fused.usable(x, y, k, variant):
        nx_b, ny_b = fused.ksg_counts_fused(x, y, k)
        return nx_b[0], ny_b[0]
    nx, ny = [], []
    for rows in row_chunks(x.shape[0], 4, x.device):
        dx = chebyshev(x[rows], x)
        dy = chebyshev(y[rows], y)
        cx, cy = ksg_chunk_counts(dx, dy, rows, k, variant)
        nx.append(cx)
        ny.append(cy)
    return torch.cat(nx), torch.cat(ny)


def row_chunks(n: int, blocks: int, device: torch.device) -> Iterator[Tensor]:
    """The row indices ``0 .. n - 1`` in consecutive chunks, each small enough that ``blocks`` float64
    matrices of (its rows, n) fit in :func:`~iblearn.functional.knn.neighbors.chunk_bytes` (one row at
    least)."""
    rows_per_chunk = max(1, chunk_bytes(device) // (8 * n * blocks))
    for start in range(0, n, rows_per_chunk):
        yield torch.arange(start, min(n, start + rows_per_chunk), device=device)


def ksg_chunk_counts(dx: Tensor, dy: Tensor, rows: Tensor, k: int, variant: int) -> tuple[Tensor, Tensor]:
    """n_x and n_y of KSG for the points ``rows``, from their rows ``(..., R, N)`` of the max-norm
    distance matrices of x and y (leading dimensions broadcast: one x against a batch of pairings)."""
    joint = torch.maximum(dx, dy)
    fill_self(joint, rows, -1.0)  # self first
    if variant == 1:  # eps alone, whichever neighbours tie at it: no tie pass (nor its wait on a GPU)
        eps = torch.topk(joint, k + 1, dim=-1, largest=False).values[..., k:]
        return (dx < eps).sum(dim=-1) - 1, (dy < eps).sum(dim=-1) - 1
    # Ties by index, as on the tree: variant 2's eps_x, eps_y depend on which neighbours are taken.
    _, idx = smallest(joint.reshape(-1, joint.shape[-1]), k + 1)
    idx = idx[:, 1:].reshape(*joint.shape[:-1], k)
    ex = dx.expand_as(joint).gather(-1, idx).amax(dim=-1, keepdim=True)
    ey = dy.expand_as(joint).gather(-1, idx).amax(dim=-1, keepdim=True)
    return (dx <= ex).sum(dim=-1) - 1, (dy <= ey).sum(dim=-1) - 1


__all__ = [
    "digamma_f64",
    "ksg_chunk_counts",
    "ksg_constant",
    "ksg_count_terms",
    "ksg_counts_brute",
    "ksg_counts_tree",
    "ksg_from_counts",
    "ksg_terms",
    "psi",
    "row_chunks",
]
