"""The KSG estimates of a batch of pairs of prepared variables, by the kernel that fits the batch's
device and dimensions: the bivariate scans of single columns on the CPU, the compiled tree for other
pairs on the CPU, the fused kernels on a GPU with Triton (brute force, or along the sorted columns
for pairs of single columns where that one is on), and shared max-norm distance blocks otherwise (brute
force). One function serves the dense all-pairs matrix, :func:`~iblearn.functional.ksg_mi_pairs` and
the streamed tiles on a device, so each pair's value is the same whichever of them asks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from iblearn.functional.knn import bivariate, fused, fused_sorted
from iblearn.functional.knn.counts import (
    ksg_chunk_counts,
    ksg_constant,
    ksg_count_terms,
    ksg_counts_tree,
    row_chunks,
)
from iblearn.functional.knn.neighbors import Backend, chebyshev, chunk_bytes, knn_max_tree_dim, pick_backend

#: (pairs, N) matrices alive at once while a launch's counts become terms: n_x, n_y, and the float64
#: copies and digammas of :func:`~iblearn.functional.knn.counts.ksg_count_terms`.
TERM_BLOCKS = 8


def used_rows(pairs: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The variables that ``pairs`` ``(P, 2)`` use, in ascending order, and the pairs as indices into
    them, ``(P, 2)``: a batch of pairs ships to its job the variables it uses, not all of them."""
    marked = np.zeros(int(pairs.max(initial=-1)) + 1, dtype=bool)
    marked[pairs] = True
    return np.flatnonzero(marked), (np.cumsum(marked) - 1)[pairs]  # each variable's place among them


def used_by(pairs: Sequence[tuple[int, int]]) -> tuple[list[int], list[tuple[int, int]]]:
    """:func:`used_rows` of a list of pairs, as lists."""
    used, local = used_rows(np.asarray(pairs, dtype=np.int64).reshape(-1, 2))
    return used.tolist(), [(a, b) for a, b in local.tolist()]


def all_bivariate(prepared: Sequence[Tensor], backend: Backend) -> bool:
    """Whether :func:`batch_mi` gives every pair of these prepared samples to the bivariate kernel:
    single float64 columns on the CPU, whose joint space ``backend`` does not search by brute force."""
    route = pick_backend(backend, torch.device("cpu"), 2, knn_max_tree_dim("chebyshev"))
    return bivariate.usable(prepared) and route != "brute"


def sorted_batch_mi(
    sorted_values: NDArray[np.float64],
    ranks: NDArray[np.int64],
    pairs: NDArray[np.int64],
    k: int,
    variant: int,
    backend: Backend,
) -> Any:
    """:func:`batch_mi` of single columns on the CPU, sorted once for every batch (rows of
    :func:`~iblearn.functional.knn.bivariate.sorted_ranks`), ``pairs`` ``(P, 2)`` indices into those
    rows: the bivariate kernel's values, or where a pair's distances overflow, :func:`batch_mi`'s
    answer."""
    values = bivariate.bivariate_mi(sorted_values, ranks, pairs, k, variant)
    if values is not None:
        return values
    columns = np.take_along_axis(sorted_values, ranks, axis=1)  # the prepared columns, exactly
    listed = [(a, b) for a, b in pairs.tolist()]
    return batch_mi([torch.from_numpy(c[:, None]) for c in columns], listed, k, variant, backend)


def batch_mi(
    variables: list[Any], pairs: list[tuple[int, int]], k: int, variant: int, backend: Backend
) -> Any:
    """The KSG estimate of each pair of ``variables`` (prepared samples), as numpy on the CPU.

    Each value depends on its pair alone and on the number of rows, never on the batch or on torch's
    thread count (the tree path averages its terms with numpy, whose sum does not split by threads as
    torch's does above 32,768 elements), so any cut into batches and any job count agree bit for bit.
    On a GPU the counts are still the pair's alone, their average the device's reduction.
    """
    prepared = [torch.as_tensor(v) for v in variables]
    out = np.empty(len(pairs))
    # A pair's route follows from its variables (single columns the kernel takes) and its device and
    # joint dimension (the backend), asked once each rather than once a pair: a dense matrix's batches
    # of 1-d pairs then cost little beside the kernel's scans.
    single = [bivariate.usable([v]) for v in prepared]
    routes: dict[tuple[torch.device, int], str] = {}
    brute: list[int] = []
    tree: list[int] = []
    one_d: list[int] = []
    devices = {v.device for v in prepared}
    if all(single) and len(devices) == 1:  # one route for every pair: the dense matrix's batches
        route = pick_backend(backend, devices.pop(), 2, knn_max_tree_dim("chebyshev"))
        (brute if route == "brute" else one_d).extend(range(len(pairs)))
        pairs_left: list[tuple[int, int]] = []
    else:
        pairs_left = pairs
    for p, (a, b) in enumerate(pairs_left):
        key = (prepared[a].device, prepared[a].shape[1] + prepared[b].shape[1])
        if key not in routes:
            routes[key] = pick_backend(backend, key[0], key[1], knn_max_tree_dim("chebyshev"))
        if routes[key] == "brute":
            brute.append(p)
        else:
            (one_d if single[a] and single[b] else tree).append(p)
    if one_d:
        used, local = used_by([pairs[p] for p in one_d])
        values = bivariate.bivariate_mi(
            *bivariate.sorted_ranks([prepared[i] for i in used]), local, k, variant
        )
        if values is not None:
            out[one_d] = values
        else:  # an overflow, which the general search reports
            tree = sorted(tree + one_d)
    for p in tree:
        a, b = pairs[p]
        nx, ny = ksg_counts_tree(prepared[a], prepared[b], k, variant)
        n = prepared[a].shape[0]
        out[p] = ksg_constant(n, k, variant) - ksg_count_terms(nx, ny, variant).numpy().mean()
    on_gpu = [p for p in brute if fused.usable(prepared[pairs[p][0]], prepared[pairs[p][1]], k, variant)]
    if on_gpu:
        out[on_gpu] = fused_pairs_mi(prepared, [pairs[p] for p in on_gpu], k).cpu().numpy()
        done = set(on_gpu)
        brute = [p for p in brute if p not in done]
    if brute:
        out[brute] = shared_brute_mi(prepared, [pairs[p] for p in brute], k, variant).cpu().numpy()
    return out


def shared_brute_mi(prepared: list[Tensor], pairs: list[tuple[int, int]], k: int, variant: int) -> Tensor:
    """The KSG estimate of each pair, from one max-norm distance block per variable and chunk of rows.

    A pair's counts on a chunk are reduced to the sum of its terms before the next pair's are counted,
    so that what stays alive is the blocks and one ``(len(pairs),)`` tensor whatever the number of
    pairs. Keeping every pair's counts instead, small tensors allocated between each pair's large
    temporaries, fragments the heap: a 6.3 GB peak for the 1,770 pairs of 60 columns of 500 rows,
    against 0.38 GB this way (0.47 GB for 100 columns).
    """
    n, device = prepared[0].shape[0], prepared[0].device
    used = sorted({i for pair in pairs for i in pair})
    sums = torch.zeros(len(pairs), dtype=torch.float64, device=device)
    # The blocks of every variable used, plus a pair's joint distances and comparison masks.
    for rows in row_chunks(n, len(used) + 3, device):
        dist = {i: chebyshev(prepared[i][rows], prepared[i]) for i in used}
        for p, (a, b) in enumerate(pairs):
            sums[p] += ksg_count_terms(*ksg_chunk_counts(dist[a], dist[b], rows, k, variant), variant).sum()
        del dist  # before the next chunk's blocks are computed
    return ksg_constant(n, k, variant) - sums / n


def fused_pairs_mi(prepared: list[Tensor], pairs: list[tuple[int, int]], k: int) -> Tensor:
    """The KSG estimate (variant 1) of each pair by the fused kernel: the variables of each dimension
    stacked once, coordinates first, and each group of pairs of the same two dimensions counted in one
    launch (or a few, where its counts would outgrow a chunk's memory), their terms averaged per pair on
    the device."""
    n, device = prepared[0].shape[0], prepared[0].device
    slot: dict[int, int] = {}  # variable -> its place in the stack of its dimension
    members: dict[int, list[int]] = {}
    for i in sorted({i for pair in pairs for i in pair}):
        group = members.setdefault(prepared[i].shape[1], [])
        slot[i] = len(group)
        group.append(i)
    stacks = {d: torch.stack([prepared[i].T for i in group]).contiguous() for d, group in members.items()}
    groups: dict[tuple[int, int], list[int]] = {}
    for p, (a, b) in enumerate(pairs):
        groups.setdefault((prepared[a].shape[1], prepared[b].shape[1]), []).append(p)
    out = torch.empty(len(pairs), dtype=torch.float64, device=device)
    step = max(1, chunk_bytes(device) // (8 * n * TERM_BLOCKS))
    constant = ksg_constant(n, k, 1)
    for (dx, dy), ps in groups.items():
        index = torch.tensor([(slot[pairs[p][0]], slot[pairs[p][1]]) for p in ps], device=device)
        at = torch.tensor(ps, device=device)
        # Single columns both: counted along their sorted copies where that kernel is on.
        along = fused_sorted.usable((dx, dy), device, k, 1)
        columns = fused_sorted.SortedColumns(stacks[1][:, 0]) if along else None
        for s in range(0, len(ps), step):
            if columns is None:
                nx, ny = fused.ksg_counts_pairs(stacks[dx], stacks[dy], index[s : s + step], k)
            else:
                nx, ny = fused_sorted.ksg_counts_sorted_pairs(columns, index[s : s + step], k)
            out[at[s : s + step]] = constant - ksg_count_terms(nx, ny, 1).mean(dim=1)
    return out
