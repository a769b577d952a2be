"""Exact neighbour searches for the kNN estimators.

Two questions are asked of a sample: how far is each point's k-th nearest neighbour (in a product space
whose distance is the maximum of the parts' distances, as KSG needs), and how many points lie within
a radius of each point. Both are answered exactly, in float64, by one of two backends:

* ``"tree"`` (CPU): scipy's cKDTree for k-th neighbours; counts by sorting in one dimension, by
  bitset range counting for the max-norm in several dimensions (see :func:`_count_box`), and by
  cKDTree ball queries for the Euclidean norm.
* ``"brute"`` (any device): chunked pairwise distances in torch; the k-th neighbour and the counts
  come from the same distance rows, so they agree to the last bit. Memory per chunk is bounded.

``"auto"`` takes the tree on CPU up to :data:`TREE_MAX_DIM` dimensions and brute force otherwise
(on a GPU always). Counts exclude the point itself. Duplicate points are the caller's business
(see ``ties`` in :mod:`iblearn.functional.knn`): here they are assumed away.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import Tensor

from iblearn.functional import _validate as V

Metric = Literal["chebyshev", "euclidean"]
Backend = Literal["auto", "tree", "brute"]

#: Above this many dimensions a k-d tree prunes little and brute force is faster (benchmarks/).
TREE_MAX_DIM = 20
#: Working memory for one chunk of the brute-force and bitset paths.
CHUNK_BYTES = 256 * 2**20
_P = {"chebyshev": float("inf"), "euclidean": 2.0}


def pick_backend(backend: Backend, device: torch.device, dim: int) -> Literal["tree", "brute"]:
    V.choice(backend, "backend", ("auto", "tree", "brute"))
    if backend == "auto":
        return "tree" if device.type == "cpu" and dim <= TREE_MAX_DIM else "brute"
    if backend == "tree" and device.type != "cpu":
        raise ValueError(f"backend: 'tree' runs on the CPU only, got tensors on {device}")
    return backend


def _pad(x: Tensor, r: Tensor, inclusive: bool) -> Tensor:
    """Widen (inclusive) or narrow (strict) the radii by a few ulps of the coordinates.

    Window tests ``x_i - r < x_j < x_i + r`` round differently from ``|x_j - x_i| < r``; the pad makes
    the k-th neighbour, which sits exactly at distance r, fall on the intended side.
    """
    ulp = torch.finfo(torch.float64).eps * (x.abs().amax(dim=1) + r)
    return r + 4 * ulp if inclusive else r - 4 * ulp


# ----------------------------------------------------------------------------------------- k-th neighbour
def kth_neighbour(
    parts: list[Tensor], k: int, metric: Metric, backend: Literal["tree", "brute"]
) -> tuple[Tensor, Tensor]:
    """Distance to each point's k-th nearest neighbour and the indices of its k nearest.

    The distance between two points is the maximum over ``parts`` of each part's ``metric`` distance
    (for one part, just that distance). Returns ``(eps (N,), idx (N, k))``, self excluded.
    """
    if backend == "tree":
        if metric == "euclidean" and len(parts) > 1:
            raise ValueError(
                "metric: the k-d tree cannot search a max of Euclidean norms; use backend='brute'"
            )
        pts = torch.cat(parts, dim=1).numpy()
        dist, idx = cKDTree(pts).query(pts, k=k + 1, p=_P[metric])
        return torch.from_numpy(dist[:, k]), torch.from_numpy(idx[:, 1:].astype(np.int64))
    eps, idx = [], []
    for rows, dist in _distance_rows(parts, metric):
        dist[torch.arange(len(rows)), rows] = -1.0  # self first, whatever the ties
        val, ind = torch.topk(dist, k + 1, dim=1, largest=False)
        eps.append(val[:, k])
        idx.append(ind[:, 1:])
    return torch.cat(eps), torch.cat(idx)


def _distance_rows(parts: list[Tensor], metric: Metric) -> Iterator[tuple[Tensor, Tensor]]:
    """Chunks of the (max-over-parts) distance matrix, one at a time: ``(row indices, (B, N) distances)``."""
    n = parts[0].shape[0]
    rows_per_chunk = max(1, CHUNK_BYTES // (8 * n * (len(parts) + 2)))
    for start in range(0, n, rows_per_chunk):
        rows = torch.arange(start, min(n, start + rows_per_chunk), device=parts[0].device)
        dist = _cdist(parts[0][rows], parts[0], metric)
        for p in parts[1:]:
            dist = torch.maximum(dist, _cdist(p[rows], p, metric))
        yield rows, dist


def _cdist(a: Tensor, b: Tensor, metric: Metric) -> Tensor:
    # Euclidean goes through a matrix product (fast in high dimension; in float64 its rounding is far
    # below any neighbour distance). Callers take radii and counts from the same rows, so they agree.
    return torch.cdist(a, b, p=_P[metric])


# ------------------------------------------------------------------------------------------------ counts
def count_within(
    x: Tensor, radius: Tensor, metric: Metric, backend: Literal["tree", "brute"], *, inclusive: bool
) -> Tensor:
    """For each point i, the number of points j != i with ``d(x_i, x_j) < radius_i`` (``<=`` if inclusive)."""
    _n, d = x.shape
    if backend == "brute":
        counts = []
        for rows, dist in _distance_rows([x], metric):
            r = radius[rows, None]
            counts.append(((dist <= r) if inclusive else (dist < r)).sum(dim=1) - 1)
        return torch.cat(counts)
    if d == 1:
        return _count_sorted(x[:, 0], _pad(x, radius, inclusive), inclusive)
    if metric == "chebyshev":
        return _count_box(x, _pad(x, radius, inclusive), inclusive)
    ball = radius.numpy() * (1 + 8e-16) if inclusive else np.nextafter(radius.numpy(), 0)
    found = cKDTree(x.numpy()).query_ball_point(x.numpy(), ball, p=2.0, return_length=True)
    return torch.from_numpy(np.asarray(found, dtype=np.int64)) - 1


def _window(v: Tensor, r: Tensor, inclusive: bool) -> tuple[Tensor, Tensor, Tensor]:
    """Sort ``v``; for each i the window ``[lo_i, hi_i)`` of sorted positions within ``r_i`` of ``v_i``."""
    vs, order = torch.sort(v, stable=True)
    lo = torch.searchsorted(vs, v - r, right=not inclusive)
    hi = torch.searchsorted(vs, v + r, right=inclusive)
    return order, lo, hi


def _count_sorted(v: Tensor, r: Tensor, inclusive: bool) -> Tensor:
    _, lo, hi = _window(v, r, inclusive)
    return hi - lo - 1


# SWAR popcount masks; after the third step every byte holds its own bit count, then bytes are folded.
_M1, _M2, _M4 = 0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F


def _count_box(x: Tensor, r: Tensor, inclusive: bool) -> Tensor:
    """Exact max-norm counts by bitset range counting, O(N^2 d / 64) word operations.

    In each dimension the points within ``r_i`` of ``x_i`` are a contiguous window of the sorted order.
    With prefix bitsets ``P[s]`` (the set of the first s sorted points), that window is
    ``P[hi] - P[lo]``; the points inside the cube are the AND of the windows over all dimensions, and
    the count is a popcount. At N = 10,000 this is several times faster than a k-d tree ball count,
    which prunes little in 5 or more dimensions. Columns are processed in blocks to bound memory.

    Bits live in int64 words with bit 63 standing for -2**63: a prefix is a sum of distinct bits, so it
    never overflows, and the difference of two nested prefixes is exactly the window's bits.
    """
    n, d = x.shape
    windows = [_window(x[:, j], r, inclusive) for j in range(d)]
    words_per_block = max(1, min(-(-n // 64), CHUNK_BYTES // (8 * 5 * (n + 1))))
    counts = torch.zeros(n, dtype=torch.int64)
    row_ids = torch.arange(1, n + 1)
    for first in range(0, n, 64 * words_per_block):
        width = min(64 * words_per_block, n - first)
        n_words = -(-width // 64)
        acc = torch.full((n, n_words), -1, dtype=torch.int64)  # all bits set
        for order, lo, hi in windows:
            local = order - first  # column of each sorted point inside this block
            inside = (local >= 0) & (local < width)
            prefix = torch.zeros(n + 1, n_words, dtype=torch.int64)
            loc = local[inside]
            prefix[row_ids[inside], loc // 64] = torch.ones_like(loc) << (loc % 64)
            prefix = prefix.cumsum_(dim=0)
            acc.bitwise_and_(prefix[hi] - prefix[lo])
        w = acc - ((acc >> 1) & _M1)
        w = (w & _M2) + ((w >> 2) & _M2)
        w = (w + (w >> 4)) & _M4  # non-negative from here on, so >> is a logical shift
        w += w >> 8
        w += w >> 16
        w += w >> 32
        counts += (w & 0x7F).sum(dim=1)
    return counts - 1
