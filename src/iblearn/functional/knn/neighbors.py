"""Exact neighbour searches for the kNN estimators.

Two questions are asked of a sample: how far is each point's k-th nearest neighbour (in a product space
whose distance is the maximum of the parts' distances, as KSG needs), and how many points lie within
a radius of each point. Both are answered exactly, in float64, by one of two backends:

* ``"tree"`` (CPU): for the max-norm, the compiled kernel of ``_maxnorm.c``: its k-d tree, whose
  counts add whole nodes inside the ball, in up to :data:`TREE_LOW_DIM` dimensions and from
  :data:`TREE_MIN_N` points on (:func:`uses_tree`); else points in slabs of the widest-spread
  coordinate, each slab sorted by the next widest, with vectorised distance blocks over the runs that
  can hold a neighbour; the k-th neighbour in two to :data:`CELL_MAX_DIM` dimensions on its grid of
  cells. For the Euclidean norm, and wherever the kernel was not built (no
  C compiler at install time), scipy's cKDTree, and counts in one dimension by sorting: the same
  answers, slower.
* ``"brute"`` (any device): chunked pairwise distances in torch; the k-th neighbour and the counts
  come from the same distance rows, so they agree to the last bit. Memory per chunk is bounded
  (:func:`chunk_bytes`: more on a GPU, where small chunks leave it waiting on kernel launches).

``"auto"`` takes the tree on CPU up to :data:`TREE_MAX_DIM` dimensions and brute force otherwise
(on a GPU always). Counts exclude the point itself. Duplicate points are the caller's business
(see ``ties`` in :mod:`iblearn.functional.knn.ksg`): here they are assumed away.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
import torch
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from torch import Tensor

from iblearn import _checks as V

if TYPE_CHECKING:
    from iblearn.functional.knn._maxnorm import Plane, Slabs, Tree

try:
    from iblearn.functional.knn import _maxnorm

    #: Whether the compiled max-norm kernel was built (setup.py); without it the k-d tree answers.
    HAVE_KERNEL = True
except ImportError:  # installed without a C compiler
    HAVE_KERNEL = False

Metric = Literal["chebyshev", "euclidean"]
Backend = Literal["auto", "tree", "brute"]

#: Above this many dimensions the tree searches prune little and brute force is faster (docs/benchmarks.md).
TREE_MAX_DIM = 20
#: The same for k-th neighbours alone (KSG's joint space, Kozachenko-Leonenko) with the compiled max-norm
#: search: faster than brute force up to 128 dimensions and beyond (docs/design.md, "Measurements behind
#: the code"). MixedKSG keeps :data:`TREE_MAX_DIM` with the max-norm, and with
#: Euclidean distances (scipy's tree) switches lower, as N allows (``knn.mixed_tree_dim``).
KERNEL_MAX_DIM = 128
#: Working memory for one chunk of the brute-force path on the CPU (and the least on a GPU).
CHUNK_BYTES = 256 * 2**20
#: The most working memory for one chunk on a GPU, which takes 1 / :data:`GPU_FREE_SHARE` of its free
#: memory up to this: chunks of 80 rows of 100,000 columns left an H100 waiting on kernel launches.
GPU_CHUNK_BYTES = 2 * 2**30
#: A chunk's distance blocks, those of :func:`chebyshev` and the caller's own matrices are alive at once.
GPU_FREE_SHARE = 8
_P = {"chebyshev": float("inf"), "euclidean": 2.0}


def kernel_isa() -> str | None:
    """The instruction set the compiled kernels run in this process: ``"avx512"``, ``"avx2"`` or
    ``"portable"``; None where they were not built (scipy's tree answers).

    It is the widest the CPU runs unless the environment variable ``IBLEARN_SIMD`` names a narrower one
    (``portable``, ``avx2`` or ``avx512``), read once, when the kernel is first imported; a set the CPU
    lacks falls back to the widest it runs, and a value that names none fails that import with a
    ``ValueError``. Every set gives the same answers; the narrower ones are for testing those paths on
    a wide CPU and for timing them. ``"avx512"`` is the AVX-512 copy of the pairwise scans, the other
    kernels' AVX2 copy; ``"portable"`` is the build's own target, whose pairwise scans are SSE2 on x86-64
    and two-lane vectors elsewhere (NEON on aarch64; scalar C for a compiler without GCC's vector
    extensions).

    Example:
        >>> kernel_isa() in ("avx512", "avx2", "portable", None)
        True
    """
    return _maxnorm.ISA if HAVE_KERNEL else None


def chunk_bytes(device: torch.device) -> int:
    """Working memory for one chunk of the brute-force path on ``device``: :data:`CHUNK_BYTES` on the
    CPU; on a GPU 1 / :data:`GPU_FREE_SHARE` of its free memory, within :data:`CHUNK_BYTES` and
    :data:`GPU_CHUNK_BYTES`."""
    if device.type != "cuda":
        return CHUNK_BYTES
    free, _total = torch.cuda.mem_get_info(device)
    return max(CHUNK_BYTES, min(GPU_CHUNK_BYTES, free // GPU_FREE_SHARE))


def pick_backend(
    backend: Backend, device: torch.device, dim: int, max_tree_dim: int = TREE_MAX_DIM
) -> Literal["tree", "brute"]:
    """Resolve ``"auto"``: the CPU tree up to ``max_tree_dim`` dimensions, brute force above or on a GPU."""
    V.choice(backend, "backend", ("auto", "tree", "brute"))
    if backend == "auto":
        return "tree" if device.type == "cpu" and dim <= max_tree_dim else "brute"
    if backend == "tree" and device.type != "cpu":
        raise ValueError(f"backend: 'tree' runs on the CPU only, got tensors on {device}")
    return backend


def knn_max_tree_dim(metric: Metric) -> int:
    """``max_tree_dim`` for estimators that search k-th neighbours: higher where the kernel does it."""
    return KERNEL_MAX_DIM if metric == "chebyshev" and HAVE_KERNEL else TREE_MAX_DIM


def _pad(x: Tensor, r: Tensor, inclusive: bool) -> Tensor:
    """Widen (inclusive) or narrow (strict) the radii by a few ulps of the coordinates.

    Window tests ``x_i - r < x_j < x_i + r`` round differently from ``|x_j - x_i| < r``; the pad makes
    the k-th neighbour, which sits exactly at distance r, fall on the intended side.
    """
    ulp = torch.finfo(torch.float64).eps * (x.abs().amax(dim=1) + r)
    return r + 4 * ulp if inclusive else r - 4 * ulp


# ----------------------------------------------------------------------------------------- k-th neighbour
def kth_neighbour(
    parts: list[Tensor],
    k: int,
    metric: Metric,
    backend: Literal["tree", "brute"],
    keys: NDArray[np.float64] | None = None,
) -> tuple[Tensor, Tensor]:
    """Distance to each point's k-th nearest neighbour and the indices of its k nearest.

    The distance between two points is the maximum over ``parts`` of each part's ``metric`` distance
    (for one part, just that distance). Returns ``(eps (N,), idx (N, k))``, self excluded: the first k
    of the other points ordered by (distance, index), so among neighbours at the same distance the
    smaller index wins, on the compiled kernel and brute force alike (scipy's cKDTree, the fallback
    without the kernel, states no such rule: there only the distances are exact). ``keys``: the
    :func:`column_keys` of the parts' columns side by side, where the caller knows them (the
    compiled kernel's layout reads them; the same answer).
    """
    if backend == "tree":
        if metric == "euclidean" and len(parts) > 1:
            raise ValueError(
                "metric: the k-d tree cannot search a max of Euclidean norms; use backend='brute'"
            )
        pts = torch.cat(parts, dim=1).numpy()
        if metric == "chebyshev" and HAVE_KERNEL:
            return _slab_knn(pts, k, keys)
        dist, idx = cKDTree(pts).query(pts, k=k + 1, p=_P[metric])
        return torch.from_numpy(dist[:, k]), torch.from_numpy(idx[:, 1:].astype(np.int64))
    eps, idx = [], []
    for rows, dist in _distance_rows(parts, metric):
        fill_self(dist, rows, -1.0)  # self first, whatever the ties
        val, ind = smallest(dist, k + 1)
        eps.append(val[:, k])
        idx.append(ind[:, 1:])
    return torch.cat(eps), torch.cat(idx)


def fill_self(dist: Tensor, rows: Tensor, value: float) -> Tensor:
    """``dist[..., i, rows[i]] = value`` for every row i, in place: each point's entry at its own column.

    By a scatter, since an indexed assignment of a Python number copies it to the device first, a wait
    on a GPU in every chunk of the brute-force searches."""
    return dist.scatter_(-1, rows[:, None].expand(*dist.shape[:-1], 1), value)


def smallest(dist: Tensor, m: int) -> tuple[Tensor, Tensor]:
    """The ``m`` smallest entries of each row of ``dist (B, N)`` and their columns, ascending by (value,
    column): at equal distance the smaller index first, as the compiled kernel orders neighbours.

    ``torch.topk`` picks among equal values in no stated order; its values are right, so only rows
    where more than ``m`` entries lie within the m-th value (ties straddle it: never on continuous
    data) choose again, taking the entries below it and the first columns equal to it. Whether any row
    must is one scalar read (a wait on a GPU); the tied rows' numbers are asked for only then.
    """
    val, ind = torch.topk(dist, m, dim=1, largest=False)
    tied_rows = (dist <= val[:, -1:]).sum(dim=1) > m
    if bool(tied_rows.any()):
        tied = torch.nonzero(tied_rows).flatten()
        rows, last = dist[tied], val[tied, -1:]
        at = rows == last
        need = m - (rows < last).sum(dim=1, keepdim=True)
        keep = (rows < last) | (at & (at.cumsum(dim=1, dtype=torch.int32) <= need))
        ind[tied] = torch.nonzero(keep)[:, 1].view(-1, m)  # row by row, columns ascending
        val[tied] = rows.gather(1, ind[tied])
    ind, by_index = torch.sort(ind, dim=1)  # (value, column): by column, then stably by value
    val, by_value = torch.sort(val.gather(1, by_index), dim=1, stable=True)
    return val, ind.gather(1, by_value)


def _distance_rows(parts: list[Tensor], metric: Metric) -> Iterator[tuple[Tensor, Tensor]]:
    """Chunks of the (max-over-parts) distance matrix, one at a time: ``(row indices, (B, N) distances)``."""
    n = parts[0].shape[0]
    rows_per_chunk = max(1, chunk_bytes(parts[0].device) // (8 * n * (len(parts) + 2)))
    for start in range(0, n, rows_per_chunk):
        rows = torch.arange(start, min(n, start + rows_per_chunk), device=parts[0].device)
        dist = cdist(parts[0][rows], parts[0], metric, rows)
        for p in parts[1:]:
            dist = torch.maximum(dist, cdist(p[rows], p, metric, rows))
        yield rows, dist


def chebyshev(a: Tensor, b: Tensor) -> Tensor:
    """Max-norm distances between the rows of ``a (..., R, d)`` and ``b (..., N, d)``: ``(..., R, N)``,
    exact (a difference and a maximum round nothing more), so any device gives the same bits.

    On a GPU, through the broadcast differences in blocks of columns: torch.cdist's p = inf kernel there
    is some 25 times slower (docs/design.md, "Measurements behind the code"). On the CPU, torch.cdist,
    which is as fast as the broadcast there and allocates no (R, N, d) block.
    """
    if a.device.type == "cpu":
        return torch.cdist(a, b, p=float("inf"))
    return _chebyshev_blocks(a, b)


def _chebyshev_blocks(a: Tensor, b: Tensor) -> Tensor:
    """:func:`chebyshev` by broadcast differences, in blocks of columns of at most :func:`chunk_bytes`."""
    per_col = a.element_size() * max(1, a[..., 0].numel() * a.shape[-1])
    cols = max(1, chunk_bytes(a.device) // per_col)
    blocks = [
        (a[..., :, None, :] - b[..., None, j : j + cols, :]).abs_().amax(-1)
        for j in range(0, b.shape[-2], cols)
    ]
    return blocks[0] if len(blocks) == 1 else torch.cat(blocks, dim=-1)


def cdist(
    a: Tensor,
    b: Tensor,
    metric: Metric,
    rows: Tensor,
    *,
    b_norm2_max: Tensor | None = None,
    mode: str = "use_mm_for_euclid_dist_if_necessary",
) -> Tensor:
    """Distances between the rows of ``a`` and ``b``; callers take radii and counts from the same rows.

    Euclidean goes through a matrix product, |a|^2 + |b|^2 - 2 a.b: far faster than differences in many
    dimensions, but its rounding, about eps (|a|^2 + |b|^2), swamps the squared distance of two rows
    that differ by the 1e-10 tie-breaking jitter (repeated rows: silent ReLU units, saturated tanh),
    which came out as 0 or as noise. Entries within :data:`_MM_ROUNDING` of that error are recomputed
    from the differences; they are few unless many rows coincide. ``a`` is ``b[rows]``: its points'
    distances to themselves are set to 0. ``b_norm2_max`` replaces b's largest squared norm in that
    bound (a block of columns then gets the numbers of the whole matrix); ``mode`` is torch.cdist's
    ``compute_mode``.
    """
    if metric != "euclidean":
        return chebyshev(a, b)
    dist = torch.cdist(a, b, p=_P[metric], compute_mode=mode)
    # One comparison per entry against a per-row bound (b's largest norm): a superset of the entries
    # to recompute, for the price of one pass over the matrix.
    b_max = (b * b).sum(1).max() if b_norm2_max is None else b_norm2_max
    bound = (_MM_ROUNDING * a.shape[1] * ((a * a).sum(1) + b_max)).sqrt()
    close = dist <= bound[:, None]
    fill_self(close, rows, False)
    fill_self(dist, rows, 0.0)
    i, j = torch.nonzero(close, as_tuple=True)
    dist[i, j] = (a[i] - b[j]).norm(dim=1).to(dist.dtype)
    return dist


#: Squared distances below this times d (|a|^2 + |b|^2) are recomputed from differences: far above the
#: matrix product's rounding (float64's eps is 2.2e-16) and far below the distance of any two rows that
#: are not ties.
_MM_ROUNDING = 1e-12


# ------------------------------------------------------------------------------------------------ counts
def count_within(
    x: Tensor,
    radius: Tensor,
    metric: Metric,
    backend: Literal["tree", "brute"],
    *,
    inclusive: bool,
    order: NDArray[np.int64] | None = None,
) -> Tensor:
    """For each point i, the number of points j != i with ``d(x_i, x_j) < radius_i`` (``<=`` if inclusive).

    Radii must be positive and finite: a zero radius means duplicate points, which the estimators
    remove first (``ties`` in :mod:`iblearn.functional.knn.ksg`). ``order``: for one column, its
    ascending order where known, which the compiled kernel's layout then takes without a sort
    (:func:`ordered_index`).
    """
    check_radius(radius)
    _n, d = x.shape
    if backend == "brute":
        counts = []
        for rows, dist in _distance_rows([x], metric):
            r = radius[rows, None]
            counts.append(((dist <= r) if inclusive else (dist < r)).sum(dim=1) - 1)
        return torch.cat(counts)
    if metric == "chebyshev" and HAVE_KERNEL:
        a = x.numpy()
        index = ordered_index(a, [order]) if order is not None and d == 1 else count_index(a)
        return count_in_index(index, radius.numpy(), inclusive)
    if d == 1:
        return _count_sorted(x[:, 0], _pad(x, radius, inclusive), inclusive)
    # cKDTree compares its own distances with the ball's radius by <=; the max-norm distance is exact,
    # the Euclidean one rounds, so a neighbour at exactly r_i is kept by a relative widening of 8e-16.
    ball = radius.numpy()
    if not inclusive:
        ball = np.nextafter(ball, 0)
    elif metric == "euclidean":
        ball = ball * (1 + 8e-16)
    found = cKDTree(x.numpy()).query_ball_point(x.numpy(), ball, p=_P[metric], return_length=True)
    return torch.from_numpy(np.asarray(found, dtype=np.int64)) - 1


def check_radius(radius: Tensor | NDArray[np.float64]) -> None:
    """Refuse radii that are not positive and finite: a zero radius means duplicate points, which the
    estimators remove first (``ties`` in :mod:`iblearn.functional.knn.ksg`)."""
    r = torch.as_tensor(radius)
    if not bool(((r > 0) & torch.isfinite(r)).all()):
        raise ValueError("radius: expected positive, finite radii (duplicate points give zero)")


def _window(v: Tensor, r: Tensor, inclusive: bool) -> tuple[Tensor, Tensor, Tensor]:
    """Sort ``v``; for each i the window ``[lo_i, hi_i)`` of sorted positions within ``r_i`` of ``v_i``."""
    vs, order = torch.sort(v, stable=True)
    lo = torch.searchsorted(vs, v - r, right=not inclusive)
    hi = torch.searchsorted(vs, v + r, right=inclusive)
    return order, lo, hi


def _count_sorted(v: Tensor, r: Tensor, inclusive: bool) -> Tensor:
    _, lo, hi = _window(v, r, inclusive)
    return hi - lo - 1


# --------------------------------------------------------------------------- the compiled max-norm kernel
def _slab_width(n: int) -> int:
    """Points per slab: wide enough that runs fill the 64-point distance blocks, narrow enough that a
    slab overshoots the search radius little in the first coordinate (best of 64 - 4096 at N = 1,000 -
    50,000 on this project's benchmark machine, within 10%)."""
    return max(64, int(8 * math.sqrt(n)))


def _pruning_order(x: NDArray[np.float64], keys: NDArray[np.float64] | None = None) -> NDArray[np.int64]:
    """The columns in decreasing spread: the kernel prunes by its first two, so they must spread.

    A constant column there (a dead ReLU unit) prunes nothing: every slab lies within any radius in
    it, and the search degrades to comparing all pairs (docs/design.md, "Measurements behind the
    code"). Spread is the interquartile range, so that
    a mostly silent unit, all one value but for a few rows, counts as the poor pruner it is; ties (such
    units among themselves) go by the number of rows off the median, then by position. Halves, so that
    the range does not overflow at 1e308. The max-norm distance does not depend on the order of the
    columns, so no answer changes.
    """
    keys = column_keys(x) if keys is None else keys
    return np.lexsort((np.arange(x.shape[1]), keys[1], keys[0]))


def column_keys(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """What :func:`_pruning_order` sorts the columns of ``x (N, d)`` by, ``(2, d)``: minus the spread,
    minus the rows off the median. Each column's keys are its own, so a caller that searches many
    samples sharing columns computes theirs once and passes them on (``keys``)."""
    q25, median, q75 = _quartiles(x)
    return np.stack([-(q75 / 2 - q25 / 2), -(x != median).sum(axis=0).astype(np.float64)])


def _quartiles(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``np.percentile(x, [25, 50, 75], axis=0, method="nearest")``, the same numbers, by one partial
    sort: the order statistics at ``round(q (N - 1))`` (half to even, as numpy rounds)."""
    at = np.around(np.array([0.25, 0.5, 0.75]) * (len(x) - 1)).astype(np.intp)
    return np.partition(x, at, axis=0)[at]


def _slab_layout(
    x: NDArray[np.float64], keys: NDArray[np.float64] | None = None
) -> tuple[NDArray[np.int64], Slabs]:
    """The kernel's layout: slabs of :func:`_slab_width` consecutive points in the order of the
    widest-spread column (:func:`_pruning_order`), each slab sorted by the next widest (the same
    column again in one dimension).

    Returns ``(order, (columns, n, d, bcol, width))``: position p of the layout holds point
    ``order[p]``, and ``columns`` is the ``(d, n)`` C-contiguous transpose of the points in that order,
    columns in pruning order (``keys``: :func:`column_keys` of x, if known).
    """
    n, d = x.shape
    width, bcol = _slab_width(n), min(1, d - 1)
    if d == 1:  # slabs of a sorted column, each sorted by the same column: the column sorted
        return sorted_index(x, np.argsort(x[:, 0], kind="stable"))
    x = x[:, _pruning_order(x, keys)]
    slab = np.empty(n, dtype=np.int64)
    slab[np.argsort(x[:, 0], kind="stable")] = np.arange(n) // width
    order = np.lexsort((x[:, bcol], slab))
    return order, (np.ascontiguousarray(x[order].T, dtype=np.float64), n, d, bcol, width)


def sorted_index(x: NDArray[np.float64], order: NDArray[np.int64]) -> tuple[NDArray[np.int64], Slabs]:
    """:func:`count_index` of one column ``x (N, 1)`` whose stable sort's order is known: its sorted
    layout, made without sorting."""
    n = len(x)
    return order, (np.ascontiguousarray(x[order, 0][None], dtype=np.float64), n, 1, 0, _slab_width(n))


#: In up to this many dimensions the kernel's k-d tree answers both searches at every N (in one
#: dimension the counts bisect the sorted column instead). Its query leaves walk the tree together and
#: its counts add whole nodes inside the ball, so it reads fewer points than the slab search, which
#: visits every point whose two pruning coordinates lie within the radius: a share of the sample that
#: falls only like the radius, N^-1/d. Timed against the slabs over N and the dimension on Gaussian,
#: heavy-tailed, uniform and lattice samples, with the same answers.
TREE_LOW_DIM = 12
#: In more dimensions the tree's boxes prune less, and it takes over from the slabs from this many
#: points on.
TREE_MIN_N = 100_000


def uses_tree(n: int, d: int) -> bool:
    """Whether the compiled kernel searches ``n`` points in ``d`` dimensions by its k-d tree (else by
    its slabs, whose layout reads :func:`column_keys`)."""
    return d <= TREE_LOW_DIM or n >= TREE_MIN_N


#: Points per leaf of the k-d tree of the k-th neighbour search in few dimensions (:func:`knn_leaf`).
#: Point by point, at N = 1,000,000, leaves of 8, 16 and 32 took about the same time (fewer points, more
#: boxes). The points of a query leaf walk the tree together and a leaf is left as soon as
#: all its points lie beyond the k-th distance in the dimensions read (_maxnorm_knn.h): with that, 64
#: against 32 at N = 1,000,000 (5x5 KSG's joint space, A/B, one thread) 1.39x against 1.24x the
#: point-by-point search of leaves of 32.
TREE_LEAF = 64
#: From this many dimensions on, the k-th neighbour search's leaves hold twice :data:`TREE_LEAF`, and
#: from :data:`WIDE_TREE_DIM` on four times: the more dimensions, the less a box prunes, and a longer
#: vectorised pass over a leaf costs less than the boxes it saves. In eight and nine dimensions four
#: times was the faster up to N = 20,000 and the slower from 50,000 on, by a few percent either way.
#: With the kernel's two-lane copy (``kernel_isa() == "portable"``) a pass costs more: there leaves
#: double once, from :data:`PORTABLE_LONG_LEAF_DIM` dimensions on (docs/design.md, "Measurements behind
#: the code").
LONG_LEAF_DIM = 5
#: See :data:`LONG_LEAF_DIM`.
WIDE_TREE_DIM = 10
#: See :data:`LONG_LEAF_DIM`.
PORTABLE_LONG_LEAF_DIM = 8
#: The most points a leaf of the kernel's trees holds (_maxnorm_tree.h's LEAF_MAX).
LEAF_MAX = 256
#: Points per leaf of the trees of range counts, whose query leaves walk the tree together, each leaf's
#: points tested against a node's box in one vectorised loop (_maxnorm.c, tree_count_kernel). Against the
#: point-by-point search with leaves of 32, the counts of 5x5 KSG (x's 5-d space, the joint 3rd
#: neighbour's radius, strict), one thread, interleaved by ranges of 2,000 - 3,000 queries in one process,
#: thread CPU time on loaded cores, the same counts: leaves of 64 1.42x at N = 20,000, 1.46x at 100,000,
#: 1.56x at 1,000,000 (30,000 queries in 10 ranges); leaves of 32, two leaves a walk, 1.16x, 1.26x, 1.39x.
#: With the float32 first pass, leaves of 256 count faster than 128 in 4 - 10 dimensions, from N = 5,000
#: to 300,000, with each instruction set (docs/design.md, "Measurements behind the code").
COUNT_LEAF = 256
#: Whether the trees carry a float32 copy of their leaves, which the k-th neighbour search and the range
#: counts scan first (twice the lanes), taking float64 distances only for the points a rounding bound
#: leaves undecided: the same neighbours and counts, by the derivations in _maxnorm_knn.h and
#: _maxnorm_tree.h; faster on continuous samples, and about as fast where distances tie to float32's
#: resolution (docs/design.md, "Measurements behind the code").
FLOAT32_PASS = True


def knn_leaf(d: int) -> int:
    """Points per leaf of the k-th neighbour search's tree in ``d`` dimensions (:data:`LONG_LEAF_DIM`)."""
    if kernel_isa() == "portable":
        times = 1 if d < PORTABLE_LONG_LEAF_DIM else 2
    else:
        times = 1 if d < LONG_LEAF_DIM else 2 if d < WIDE_TREE_DIM else 4
    return min(LEAF_MAX, times * TREE_LEAF)


def _tree_layout(
    x: NDArray[np.float64], leaf: int | None = None, float32: bool = False
) -> tuple[NDArray[np.int64], Tree]:
    """The kernel's k-d tree with at most ``leaf`` points a leaf (:func:`knn_leaf` if None): ``(order,
    (data, n, d, depth, span, boxes))`` as ``_maxnorm.build`` makes them (see _maxnorm.c): position p
    of the tree's layout holds point ``order[p]``. With ``float32``, the layout goes on with the data
    rounded to float32 and each leaf's largest absolute coordinate, for the float32 first pass of the
    k-th neighbour search (_maxnorm_knn.h) and of the range counts (_maxnorm_tree.h): the same answers."""
    n, d = x.shape
    leaf = knn_leaf(d) if leaf is None else leaf
    depth = max(0, math.ceil(math.log2(n / leaf))) if n > leaf else 0
    nodes = 2 ** (depth + 1) - 1
    order, span = np.empty(n, dtype=np.int64), np.empty(2 * nodes, dtype=np.int64)
    boxes, data = np.empty(2 * nodes * d), np.empty(n * d)
    _maxnorm.build(np.ascontiguousarray(x, dtype=np.float64), n, d, depth, order, span, boxes, data)
    if not float32:
        return order, (data, n, d, depth, span, boxes)
    with np.errstate(over="ignore"):  # beyond float32's range: the kernel reads only the float64 data there
        data32 = data.astype(np.float32)
    leaf_max = np.abs(boxes.reshape(nodes, 2 * d)[nodes // 2 :]).max(axis=1)
    return order, (data, n, d, depth, span, boxes, data32, leaf_max)


#: Points per part when the kernel's work is split between threads.
PART_POINTS = 2048


def _in_parts(n: int, run: Callable[[int, int], None]) -> None:
    """Call ``run(first, last)`` on consecutive parts of ``range(n)``, in ``torch.get_num_threads()``
    threads: the kernel releases the GIL, and each part writes its own rows of the outputs. Parts are
    smaller than an even split (4 per thread), since points near the centre of the data cost more."""
    threads = torch.get_num_threads()
    parts = min(4 * threads, -(-n // PART_POINTS))
    if threads == 1 or parts == 1:
        run(0, n)
        return
    bounds = np.linspace(0, n, parts + 1).astype(np.int64).tolist()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(run, bounds[:-1], bounds[1:]))  # list(): re-raises a part's error here


#: From two up to this many dimensions the kernel's k-th neighbour search runs on a grid of cells
#: (:func:`_cell_layout`, _maxnorm_cells.h) instead of the tree, at every N: the same neighbours,
#: faster; in more dimensions a search reads too many cells to gain (docs/design.md, "Measurements
#: behind the code").
CELL_MAX_DIM = 4
#: Points a cell of that grid, about: fewer make more, shorter runs to read, more make longer ones
#: (docs/design.md, "Measurements behind the code").
CELL_POINTS = 4
#: From two up to this many dimensions :func:`count_index` lays a sample out on a grid of cells for its
#: range counts (``_maxnorm.cells_count``, _maxnorm_cells.h) instead of the tree or the plane's sweep:
#: the same counts, faster; in four dimensions the tree's were the faster on Gaussian samples
#: (docs/design.md, "Measurements behind the code").
COUNT_CELL_MAX_DIM = 3
#: Points a cell of the counts' grid, about: a count's cube holds many more points than a k-th
#: neighbour's, and a larger cell adds more of them from the layout's starts without reading them.
COUNT_CELL_POINTS = 16


class Grid(NamedTuple):
    """A sample laid out on a grid of cells by ``_maxnorm.cells`` (its ``Cells``)."""

    data: NDArray[np.float64]
    n: int
    dim: int
    g: int
    bounds: NDArray[np.float64]
    start: NDArray[np.int64]


def _cell_layout(x: NDArray[np.float64], points: int | None = None) -> tuple[NDArray[np.int64], Grid]:
    """``_maxnorm.cells``' grid of ``x (N, d)``, ``g`` slices a dimension for about ``points`` points a
    cell (None: :data:`CELL_POINTS`, the k-th neighbour search's): ``(order, Grid)``, position p of its
    layout holding point ``order[p]``."""
    n, d = x.shape
    points = CELL_POINTS if points is None else points
    g = max(1, int((n / points) ** (1 / d) + 0.5))
    while g > 1 and g**d > n:  # the kernel takes at most n cells
        g -= 1
    order, bounds = np.empty(n, dtype=np.int64), np.empty(d * (g + 1))
    start, data = np.empty(g**d + 1, dtype=np.int64), np.empty(n * d)
    _maxnorm.cells(np.ascontiguousarray(x, dtype=np.float64), n, d, g, order, bounds, start, data)
    return order, Grid(data, n, d, g, bounds, start)


def _slab_knn(
    x: NDArray[np.float64], k: int, keys: NDArray[np.float64] | None = None
) -> tuple[Tensor, Tensor]:
    n, d = x.shape
    dist, idx = np.empty((n, k)), np.empty((n, k), dtype=np.int64)
    if 2 <= d <= CELL_MAX_DIM:
        order, cells = _cell_layout(x)
        _in_parts(n, lambda first, last: _maxnorm.cells_knn(cells, order, k, first, last, dist, idx))
    else:
        order, layout = _tree_layout(x, float32=FLOAT32_PASS) if uses_tree(n, d) else _slab_layout(x, keys)
        _in_parts(n, lambda first, last: _maxnorm.knn(layout, order, k, first, last, dist, idx))
    if (idx < 0).any():  # a distance overflowed to inf, so fewer than k neighbours were found
        raise ValueError("x: distances overflow float64; standardize or rescale the data")
    eps, nbr = np.empty(n), np.empty((n, k), dtype=np.int64)
    eps[order], nbr[order] = dist[:, -1], idx
    return torch.from_numpy(eps), torch.from_numpy(nbr)


#: The compiled kernel's layout of a sample for counts: ``(order, layout)``, position p holding point
#: ``order[p]`` (:func:`_slab_layout`, :func:`_tree_layout`, :func:`_plane_layout`, :func:`_cell_layout`).
CountIndex = tuple[NDArray[np.int64], "Slabs | Tree | Plane | Grid"]

#: Up to this many points, on one thread, the sweep of ``_maxnorm.plane_count`` (_maxnorm_plane.h), n log n
#: whatever the radii, counts a two-dimensional sample whose columns' orders are known
#: (:func:`ordered_index`, which lays it out from them without sorting) and conditional MI's planes
#: (:data:`CMI_SWEEP`); off the counts' grid (:data:`COUNT_CELL_MAX_DIM`), any two-dimensional sample.
#: Against the tree it was the faster up to there; beyond it, or on more than one thread, those counts
#: take the grid (:func:`count_index`), whose counts split between threads (docs/design.md, "Measurements
#: behind the code").
PLANE_MAX_N = 150_000
#: Whether :func:`cmi_column_counts` counts conditional MI's three spaces of single columns in one sweep
#: along z (``_maxnorm.cmi_plane_count``), up to :data:`CMI_SWEEP_MAX_N` points where the planes' counts
#: take the sweep, rather than the two planes on their grids and z apart: the same counts, faster
#: (docs/design.md, "Measurements behind the code").
CMI_SWEEP = True


def l2_cache_bytes(cache: Path = Path("/sys/devices/system/cpu/cpu0/cache")) -> int | None:
    """The level-2 cache of one core, in bytes, from Linux's sysfs (``size`` of the level-2 data or
    unified cache: "512K", "2048K", "2M"); None where it is not found."""
    for index in sorted(cache.glob("index*")):
        try:
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip().upper()
        except OSError:
            continue
        if level == "2" and kind in ("Data", "Unified") and size[:-1].isdigit() and size[-1] in "KM":
            return int(size[:-1]) << (10 if size[-1] == "K" else 20)
    return None


def cmi_sweep_max_n(l2_bytes: int | None) -> int:
    """The most points the one sweep counts, for a core with ``l2_bytes`` of level-2 cache: its
    bisections in x and y and its reads of two Fenwick trees go about the rows at random, and once they
    leave the cache the two planes' grids are the faster, the columns' orders known or not. 32 points a
    KB of the cache, at most 40,000: with 512 KB a core (an AMD EPYC of family 25) the sweep was as fast
    as the planes at 16,000 points and the slower from 32,000 on; on the Intel Xeon of the kernel's
    table, timed before the sweep read in order, the faster at 32,000 and the slower at 50,000
    (``benchmarks/results/kernel_choices``; docs/design.md, "Measurements behind the code"). 40,000
    where the cache's size is not known."""
    return 40_000 if l2_bytes is None else min(40_000, 32 * (l2_bytes >> 10))


#: :func:`cmi_sweep_max_n` of this machine's cores.
CMI_SWEEP_MAX_N = cmi_sweep_max_n(l2_cache_bytes())


def count_index(x: NDArray[np.float64], keys: NDArray[np.float64] | None = None) -> CountIndex:
    """The layout :func:`count_within` lays ``x (N, d)`` out in for the compiled kernel's counts: made
    once, it serves any number of radii (:func:`count_in_index`); ``keys`` as for :func:`kth_neighbour`."""
    n, d = x.shape
    if 2 <= d <= COUNT_CELL_MAX_DIM:
        return _cell_layout(x, COUNT_CELL_POINTS)
    if _on_plane(n, d):
        return _plane_layout(x)
    # In one dimension the sorted layout counts by bisection alone.
    return (
        _tree_layout(x, COUNT_LEAF, float32=FLOAT32_PASS)
        if uses_tree(n, d) and d > 1
        else _slab_layout(x, keys)
    )


def ordered_index(x: NDArray[np.float64], orders: Sequence[NDArray[np.int64]]) -> CountIndex:
    """:func:`count_index` of ``x (N, d)`` whose columns' ascending orders are known (``orders[j]``: the
    rows in the order of column j's values, strictly increasing in it): one column's sorted layout
    (:func:`sorted_index`) or the plane's, made from them without sorting, where the counts take those;
    else :func:`count_index`'s."""
    n, d = x.shape
    if d == 1:
        return sorted_index(x, orders[0])
    if not _on_plane(n, d):
        return count_index(x)
    return np.arange(n), _sorted_columns(x, orders)


def _on_plane(n: int, d: int) -> bool:
    """Whether :func:`count_index` lays ``n`` points in ``d`` dimensions out for the plane's sweep."""
    return d == 2 and n <= PLANE_MAX_N and (torch.get_num_threads() == 1 or n <= PART_POINTS)


def _plane_layout(x: NDArray[np.float64]) -> tuple[NDArray[np.int64], Plane]:
    """``_maxnorm.plane_count``'s layout of ``x (N, 2)``: :func:`_sorted_columns`, the points in their
    own order."""
    return np.arange(len(x)), _sorted_columns(x)


def _sorted_columns(x: NDArray[np.float64], orders: Sequence[NDArray[np.int64]] | None = None) -> Plane:
    """Each column of ``x (N, d)`` sorted, and each point's rank in it, ``(d, N)`` each: from the columns'
    ascending orders where known (``orders`` as for :func:`ordered_index`), else by a sort. Any sort
    serves the sweep's counts: tied values are all within a radius of one another or all beyond it."""
    n, d = x.shape
    values, ranks = np.empty((d, n)), np.empty((d, n), dtype=np.int64)
    for j, order in enumerate(np.argsort(x, axis=0).T if orders is None else orders):
        values[j], ranks[j, order] = x[order, j], np.arange(n)
    return values, ranks


def count_in_index(index: CountIndex, radius: NDArray[np.float64], inclusive: bool) -> Tensor:
    """:func:`count_within` (max-norm, compiled kernel) of the sample laid out in ``index``."""
    order, layout = index
    n = len(order)
    found, counts = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    if len(layout) == 2:  # the plane's: all points in one sweep, in their own order
        _maxnorm.plane_count(*layout, n, np.ascontiguousarray(radius, dtype=np.float64), inclusive, found)
        return torch.from_numpy(found)
    r = np.ascontiguousarray(radius[order], dtype=np.float64)
    if isinstance(layout, Grid):
        _in_parts(n, lambda first, last: _maxnorm.cells_count(layout, r, inclusive, first, last, found))
    else:
        _in_parts(n, lambda first, last: _maxnorm.count(layout, r, inclusive, first, last, found))
    counts[order] = found
    return torch.from_numpy(counts)


def cmi_column_counts(
    columns: Sequence[NDArray[np.float64]],
    radius: NDArray[np.float64],
    orders: Sequence[NDArray[np.int64]] | None = None,
) -> list[NDArray[np.int64]]:
    """Frenzel-Pompe's strict counts n_xz, n_yz and n_z (:func:`~iblearn.functional.ksg_cmi`) of single
    columns x, y, z ``(N, 1)`` each within ``radius`` (positive, finite), by the compiled kernel: where
    the planes' counts take the sweep (:func:`_on_plane`) and :data:`CMI_SWEEP` is set, all three in one
    sweep along z (``_maxnorm.cmi_plane_count``) up to :data:`CMI_SWEEP_MAX_N` points, else each in its
    own layout (:func:`count_index`); ``orders``, the columns' ascending orders where known, as for
    :func:`ordered_index`."""
    x, y, z = columns
    n, r = len(z), np.ascontiguousarray(radius, dtype=np.float64)
    if CMI_SWEEP and n <= CMI_SWEEP_MAX_N and _on_plane(n, 2):
        out = np.empty((3, n), dtype=np.int64)
        _maxnorm.cmi_plane_count(*_sorted_columns(np.hstack([x, y, z]), orders), n, r, False, *out)
        return list(out)
    z_index = count_index(z) if orders is None else ordered_index(z, orders[2:])
    indices = count_index(np.hstack([x, z])), count_index(np.hstack([y, z])), z_index
    return [count_in_index(index, r, False).numpy() for index in indices]


#: The nearest neighbours listed for each point of a fixed space (:func:`neighbour_lists`): their indices
#: ``(N, m)`` and max-norm distances ``(N, m)``, ascending, and the distance ``(N,)`` no unlisted point is
#: below (the next neighbour's).
Lists = tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]

#: The largest k :func:`listed_counts` takes (the compiled kernel's).
LISTED_KMAX = 64
#: Rows of the distance matrix held at once while the lists are made.
LIST_ROWS = 512


def neighbour_lists(x: NDArray[np.float64], m: int) -> Lists:
    """Each point's ``m`` nearest neighbours in the max-norm (self left out; ``m <= N - 2``) and the
    distance of the next, from the exact distances (``|a - b|`` per coordinate, the compiled kernel's
    numbers), a block of :data:`LIST_ROWS` rows of the distance matrix at a time."""
    return _lists(x, [(slice(None), m)])[0]


def nested_lists(points: NDArray[np.float64], ydim: int, m_yz: int, m_z: int) -> tuple[Lists, Lists]:
    """:func:`neighbour_lists` of ``points`` (y its first ``ydim`` columns, z the rest) with ``m_yz``
    and of its z columns with ``m_z``, the same arrays, from one pass over the distances: a block's z
    distances are listed, then y's columns are folded in (the max-norm of (y, z) is the larger of y's
    and z's), which spares computing z's distances twice."""
    z, yz = _lists(points, [(slice(ydim, None), m_z), (slice(0, ydim), m_yz)])
    return yz, z


def _lists(x: NDArray[np.float64], stages: list[tuple[slice, int]]) -> list[Lists]:
    """The lists after each stage, ``(columns, m)``: the stage's columns of ``x`` folded into the
    distances of the stages before, then each point's ``m`` nearest listed."""
    n = len(x)
    out = [(np.empty((n, m), dtype=np.int64), np.empty((n, m)), np.empty(n)) for _, m in stages]
    # The block and a scratch of its size, reused: each column's differences written in place.
    d, scratch = np.empty((min(LIST_ROWS, n), n)), np.empty((min(LIST_ROWS, n), n))
    for first in range(0, n, LIST_ROWS):
        rows = np.arange(first, min(n, first + LIST_ROWS))
        block, work = d[: len(rows)], scratch[: len(rows)]
        block.fill(0.0)
        for (columns, m), lists in zip(stages, out, strict=True):
            for col in x.T[columns]:
                np.subtract(col[rows, None], col[None, :], out=work)
                np.abs(work, out=work)
                np.maximum(block, work, out=block)
            block[np.arange(len(rows)), rows] = np.inf  # self last
            _nearest(block, m, rows, lists)
    return out


def _nearest(block: NDArray[np.float64], m: int, rows: NDArray[np.int64], lists: Lists) -> None:
    """The ``m`` nearest of each row of ``block`` (distances from the points ``rows`` to all) in
    ascending order, and the next one's distance, written into ``lists`` at ``rows``; read through flat
    indices, the same elements as ``take_along_axis`` reads, at less cost."""
    idx, dist, bound = lists
    width, count = block.shape[1], len(rows)
    part = np.argpartition(block, m, axis=1)[:, : m + 1]
    near = block.ravel()[part + width * np.arange(count)[:, None]]
    order = np.argsort(near, axis=1, kind="stable")
    within = order + (m + 1) * np.arange(count)[:, None]
    idx[rows] = part.ravel()[within[:, :m]]
    ascending = near.ravel()[within]
    dist[rows], bound[rows] = ascending[:, :m], ascending[:, m]


def listed_counts(
    x: NDArray[np.float64], k: int, points: NDArray[np.float64], ydim: int, yz: Lists, z: Lists
) -> tuple[NDArray[np.float64], list[NDArray[np.int64]]]:
    """Frenzel-Pompe's k-th neighbour radius in the joint space of a 1-d ``x`` ``(N,)`` and a fixed
    (y, z), ``points`` ``(N, d)`` (y its first ``ydim`` columns, z the rest), and the strict counts
    n_xz, n_yz and n_z within it (self left out): the same numbers as the k-d tree's search and counts.
    ``yz`` and ``z``: :func:`neighbour_lists` of the (y, z) and z spaces. The compiled kernel
    (``_maxnorm.listed``) scans each point's listed neighbours, and measures the few points whose radius
    reaches past their lists (in sparse regions) against all points."""
    n, d = points.shape
    eps, counts = np.empty(n), [np.empty(n, dtype=np.int64) for _ in range(3)]
    (iy, dy, by), (iz, dz, bz) = yz, z
    _maxnorm.listed(x, points, n, d, ydim, k, iy, dy, by, iy.shape[1], iz, dz, bz, iz.shape[1], eps, *counts)
    return eps, counts


def listed_counts_many(
    xs: NDArray[np.float64], k: int, points: NDArray[np.float64], ydim: int, yz: Lists, z: Lists
) -> tuple[NDArray[np.float64], list[NDArray[np.int64]]]:
    """:func:`listed_counts` of each row of ``xs`` ``(B, N)``, the same numbers, all in one call of the
    compiled kernel (``_maxnorm.listed_many``), which reads each point's listed neighbours once for a
    vector's width of candidates: radii and the counts n_xz, n_yz, n_z, ``(B, N)`` each."""
    xs = np.ascontiguousarray(xs, dtype=np.float64)
    count, n = xs.shape
    d = points.shape[1]
    eps, counts = np.empty((count, n)), [np.empty((count, n), dtype=np.int64) for _ in range(3)]
    (iy, dy, by), (iz, dz, bz) = yz, z
    _maxnorm.listed_many(
        xs, count, points, n, d, ydim, k, iy, dy, by, iy.shape[1], iz, dz, bz, iz.shape[1], eps, *counts
    )
    return eps, counts
