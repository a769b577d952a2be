"""KSG between one-dimensional variables, many pairs at once, on the CPU.

What a pair needs of each of its variables (the variable sorted, and each point's rank in it) is computed
once per variable however many pairs it enters; the counts of a block of pairs come from one call of the
compiled kernel. KSG's variant 1 (k up to ``SCAN_KMAX``) goes to ``_maxnorm.scan``: the joint k-th
distance by a scan outwards along the first variable's order, a vector lane a point, stopped when the
x-distance on both sides passes the k-th distance; the marginal counts by reading each sorted variable
outwards from the point, a vector of neighbours at a time (``_maxnorm_scan.h``); it also forms the
terms psi(n_x + 1) + psi(n_y + 1), so that a block's values need one mean per pair. Variant 2 needs
which points are the neighbours (ties to the smaller index) and goes to ``_maxnorm.pairs``: a grid of
cells of equal rank width for the joint k-th neighbour, bisection in the sorted variables for the
marginal counts (``_maxnorm_grid.h``). The counts are exactly those of
:func:`~iblearn.functional.knn.counts.ksg_counts_tree` on the same prepared samples, and each estimate
is formed from them as there, so the values are the same to the last bit. Without the kernel (no C
compiler at install time) the callers take the general search.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import numpy as np
import torch
from numpy.typing import NDArray

from iblearn.functional.knn import neighbors
from iblearn.functional.knn.formula import digamma_table, ksg_constant

#: Points a grid cell holds on average (its side is sqrt(CELL_POINTS * N) ranks): larger cells mean
#: fewer cells to visit and more points to read in each; a search reads about 3 x 3 cells.
CELL_POINTS = 2
#: Counts held at once (two int64 arrays of pairs x rows), so that memory does not grow with the pairs.
BLOCK_COUNTS = 2**21


def usable(columns: Sequence[torch.Tensor]) -> bool:
    """Whether the kernel can take these prepared samples: one column each, float64 on the CPU."""
    return neighbors.HAVE_KERNEL and all(
        c.ndim == 2 and c.shape[1] == 1 and c.device.type == "cpu" and c.dtype == torch.float64
        for c in columns
    )


def sorted_ranks(columns: Sequence[torch.Tensor]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Each ``(N, 1)`` column sorted, and each point's position in its sorted column: ``(m, N)`` each."""
    values = np.stack([np.asarray(c, dtype=np.float64)[:, 0] for c in columns])
    # Prepared columns hold no equal values, so any sort gives the stable sort's order, in half its time.
    order = np.argsort(values, axis=1)
    ordered = np.take_along_axis(values, order, axis=1)
    if bool((ordered[:, 1:] == ordered[:, :-1]).any()):
        order = np.argsort(values, axis=1, kind="stable")
        ordered = np.take_along_axis(values, order, axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(values.shape[1])[None, :], axis=1)
    return np.ascontiguousarray(ordered), np.ascontiguousarray(ranks)


def cell_ranks(n: int) -> int:
    """The side of a grid cell in ranks for N = ``n`` points."""
    return max(1, round((CELL_POINTS * n) ** 0.5))


def _kernel() -> Any:
    """The compiled module (built: :func:`usable` said so)."""
    from iblearn.functional.knn import _maxnorm

    return _maxnorm


def _scans(k: int, variant: int) -> bool:
    """Whether the scans of ``_maxnorm.scan`` take these settings (variant 1, k within its networks);
    else the grid of ``_maxnorm.pairs``."""
    return variant == 1 and k <= _kernel().SCAN_KMAX


def _in_threads(run: Callable[[int, int], int], count: int) -> bool:
    """``run(first, last)`` over ``[0, count)`` split between torch's threads (the kernels release the
    GIL; each part writes its own rows), as the tree searches split their points; whether no part
    overflowed."""
    parts = min(torch.get_num_threads(), count)
    if parts <= 1:
        return run(0, count) < 0
    bounds = np.linspace(0, count, parts + 1).astype(np.int64).tolist()
    with ThreadPoolExecutor(parts) as pool:
        return max(pool.map(run, bounds[:-1], bounds[1:])) < 0


def pair_counts(
    sorted_values: NDArray[np.float64],
    ranks: NDArray[np.int64],
    pairs: Sequence[tuple[int, int]],
    k: int,
    variant: int,
) -> tuple[NDArray[np.int64], NDArray[np.int64]] | None:
    """KSG's n_x and n_y (``(len(pairs), N)`` each) of each pair ``(a, b)`` of the columns given by
    :func:`sorted_ranks`; None if some pair's distances overflow float64 (the general search then says
    so)."""
    n = sorted_values.shape[1]
    block = np.ascontiguousarray(pairs, dtype=np.int64).reshape(-1, 2)
    nx = np.empty((len(block), n), dtype=np.int64)
    ny = np.empty((len(block), n), dtype=np.int64)
    kernel = _kernel()

    def run(first: int, last: int) -> int:
        at = slice(first, last)
        if _scans(k, variant):
            return kernel.scan(sorted_values, ranks, n, block[at], k, None, nx[at], ny[at])
        return kernel.pairs(sorted_values, ranks, n, block[at], k, variant, cell_ranks(n), nx[at], ny[at])

    return (nx, ny) if _in_threads(run, len(block)) else None


def _terms(
    block: NDArray[np.int64],
    sorted_values: NDArray[np.float64],
    ranks: NDArray[np.int64],
    k: int,
    variant: int,
) -> NDArray[np.float64] | None:
    """The terms ``psi(n_x + 1) + psi(n_y + 1)`` (``variant=1``; ``psi(n_x) + psi(n_y)`` for 2) of every
    point of each pair of ``block`` (``(P, 2)``), ``(P, N)``, by ``ksg_count_terms``'s digamma; None if
    some pair's distances overflow float64. The scans form variant 1's in the kernel."""
    n = sorted_values.shape[1]
    table = digamma_table(n)
    if not _scans(k, variant):
        counts = pair_counts(sorted_values, ranks, cast(Any, block), k, variant)
        if counts is None:
            return None
        shift = 1 if variant == 1 else 0
        return np.asarray(table[counts[0] + shift] + table[counts[1] + shift])
    out = np.empty((len(block), n))
    psi = np.ascontiguousarray(table[1 : n + 1])  # psi(c + 1) at c

    def run(first: int, last: int) -> int:
        return _kernel().scan(sorted_values, ranks, n, block[first:last], k, psi, out[first:last], out)

    return out if _in_threads(run, len(block)) else None


def pair_terms(
    sorted_values: NDArray[np.float64], ranks: NDArray[np.int64], k: int
) -> NDArray[np.float64] | None:
    """KSG eq. (8)'s terms ``psi(n_x + 1) + psi(n_y + 1)`` ``(N,)`` of the pair of columns 0 and 1 of
    :func:`sorted_ranks`, the same numbers as ``ksg_count_terms`` of their counts; None if its distances
    overflow float64."""
    terms = _terms(np.array([[0, 1]], dtype=np.int64), sorted_values, ranks, k, 1)
    return None if terms is None else terms[0]


def bivariate_mi(
    sorted_values: NDArray[np.float64],
    ranks: NDArray[np.int64],
    pairs: Sequence[tuple[int, int]] | NDArray[np.int64],
    k: int,
    variant: int,
) -> NDArray[np.float64] | None:
    """KSG eq. (8) (``variant=1``) or (9) of each pair ``(a, b)`` of the columns given by
    :func:`sorted_ranks`, in nats, formed from the counts as the many-pairs functions form them (each
    pair's terms averaged by numpy's mean of their row, whose pairwise sum is a 1-d mean's); None if
    some pair's distances overflow float64."""
    n = sorted_values.shape[1]
    block = np.ascontiguousarray(pairs, dtype=np.int64).reshape(-1, 2)
    out = np.empty(len(block))
    step = max(1, BLOCK_COUNTS // n)
    for first in range(0, len(block), step):
        terms = _terms(block[first : first + step], sorted_values, ranks, k, variant)
        if terms is None:
            return None
        out[first : first + len(terms)] = ksg_constant(n, k, variant) - terms.mean(axis=1)
    return out
