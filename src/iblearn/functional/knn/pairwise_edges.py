"""What a sparse all-pairs MI call returns, and the reductions that build it from tiles of pairs: the
top K of each row, edges above a cutoff, Benjamini-Hochberg over all pairs and ARACNE's pruning.

Every function here is pure numpy on small arrays (a tile's values, a result's edges); none of them
holds a ``P x P`` matrix.

References:
    Y. Benjamini, Y. Hochberg. Controlling the false discovery rate: a practical and powerful approach
    to multiple testing. J. R. Stat. Soc. B 57, 289-300 (1995).
    A. A. Margolin et al. ARACNE: an algorithm for the reconstruction of gene regulatory networks in a
    mammalian cellular context. BMC Bioinformatics 7 (Suppl 1), S7 (2006).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

#: The largest P that :meth:`PairwiseEdges.to_dense` builds unless told otherwise (a float64 matrix of
#: 800 MB).
DENSE_LIMIT = 10_000


@dataclass(frozen=True)
class PairwiseEdges:
    """The part of the all-pairs KSG matrix a sparse :func:`~iblearn.functional.pairwise_mi` call keeps.

    Attributes:
        n_variables: P, the number of columns.
        values: nats; ``(P, K)`` for ``top_k`` (each row's K largest, by value and then by column
            index), else ``(E,)``, one a kept edge.
        indices: ``(P, K)`` int64 columns of ``values`` for ``top_k`` (-1 where ARACNE dropped the
            entry, its value then NaN); None otherwise.
        edges: ``(E, 2)`` int64 pairs ``(i, j)``, ``i < j``, in ascending order; None for ``top_k``.
        p_values: ``(E,)`` p-values of the edges for ``fdr``; None otherwise.
        settings: how the result was made (mode, its parameter, k, variant, the null's moments).
    """

    n_variables: int
    values: Tensor
    indices: Tensor | None = None
    edges: Tensor | None = None
    p_values: Tensor | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dense(self, max_variables: int = DENSE_LIMIT) -> Tensor:
        """The ``(P, P)`` float64 matrix holding the kept values at both ``(i, j)`` and ``(j, i)``, NaN
        elsewhere; ValueError where P exceeds ``max_variables`` (its memory is 8 P^2 bytes)."""
        p = self.n_variables
        if p > max_variables:
            raise ValueError(
                f"to_dense: a {p:,} x {p:,} float64 matrix needs {8 * p * p / 1e9:.1f} GB, more than "
                f"max_variables={max_variables:,} allows; read values and indices (or edges) instead"
            )
        out = torch.full((p, p), float("nan"), dtype=torch.float64)
        if self.indices is not None:
            rows = torch.arange(p).unsqueeze(1).expand_as(self.indices)
            keep = self.indices >= 0
            i, j, v = rows[keep], self.indices[keep], self.values[keep]
        else:
            edges = self.edges if self.edges is not None else torch.empty((0, 2), dtype=torch.int64)
            i, j, v = edges[:, 0], edges[:, 1], self.values
        out[i, j] = v.to(torch.float64)
        out[j, i] = v.to(torch.float64)
        return out


def row_top_k(
    values: NDArray[np.float64], columns: NDArray[np.int64], k: int
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Each row's ``k`` largest of ``values`` (``(r, c)``; -inf marks a place that is no pair), ordered
    by value and then by column (``columns``, ``(c,)``), padded with ``(-inf, -1)`` where c < k."""
    r, c = values.shape
    cols = np.broadcast_to(columns, (r, c))
    if c < k:
        values = np.concatenate([values, np.full((r, k - c), -np.inf)], axis=1)
        cols = np.concatenate([cols, np.full((r, k - c), -1, dtype=np.int64)], axis=1)
        return merge_top_k(values, np.ascontiguousarray(cols), k)
    # A partition finds each row's k-th value; rows with no tie across it (nearly all) sort only their
    # k candidates, the others all their columns.
    kth = np.partition(values, c - k, axis=1)[:, c - k]
    above = values >= kth[:, None]
    plain = above.sum(axis=1) == k
    out_v, out_i = np.empty((r, k)), np.empty((r, k), dtype=np.int64)
    where = np.nonzero(above[plain])[1].reshape(-1, k)
    out_v[plain], out_i[plain] = merge_top_k(
        np.take_along_axis(values[plain], where, 1), np.take_along_axis(cols[plain], where, 1), k
    )
    if not plain.all():
        out_v[~plain], out_i[~plain] = merge_top_k(values[~plain], np.ascontiguousarray(cols[~plain]), k)
    return out_v, out_i


def merge_top_k(
    values: NDArray[np.float64], indices: NDArray[np.int64], k: int
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """The first ``k`` of each row of ``(values, indices)`` by decreasing value, ties to the smaller
    index (-1, the padding, last)."""
    # -1 pads only at -inf: a real column never loses a tie to padding.
    order = np.lexsort((np.where(indices < 0, np.iinfo(np.int64).max, indices), -values), axis=1)[:, :k]
    return np.take_along_axis(values, order, 1), np.take_along_axis(indices, order, 1)


def bh_kept(p_values: NDArray[np.float64], n_tests: int, q: float) -> NDArray[np.bool_]:
    """Benjamini-Hochberg at level ``q`` over ``n_tests`` hypotheses of which ``p_values`` are the
    smallest (every p-value left out is larger than these): reject the R smallest, R the largest r with
    p_(r) <= r q / n_tests."""
    order = np.argsort(p_values, kind="stable")
    ranked = p_values[order]
    below = np.nonzero(ranked <= np.arange(1, len(ranked) + 1) * q / n_tests)[0]
    kept = np.zeros(len(p_values), dtype=bool)
    if len(below):
        kept[order[: below[-1] + 1]] = True
    return kept


def aracne_kept(edges: NDArray[np.int64], values: NDArray[np.float64], tolerance: float) -> NDArray[np.bool_]:
    """ARACNE's data processing inequality on an undirected graph: in every triangle (i, j, l) of
    ``edges`` the weakest edge is dropped where its MI is below the other two's smaller one by more
    than ``tolerance`` nats (minet's ``eps``). Every triangle is judged on the input graph, so the
    order of the edges changes nothing.

    Args:
        edges: ``(E, 2)`` pairs ``i != j``, each undirected edge once.
        values: ``(E,)`` MI of each edge.
        tolerance: nats, >= 0.

    Returns:
        ``(E,)`` mask of the edges kept.
    """
    weight: dict[tuple[int, int], float] = {}
    neighbours: dict[int, set[int]] = {}
    for (a, b), v in zip(edges.tolist(), values.tolist(), strict=True):
        weight[(a, b)] = weight[(b, a)] = v
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    kept = np.ones(len(edges), dtype=bool)
    for e, (a, b) in enumerate(edges.tolist()):
        v = weight[(a, b)]
        for c in neighbours[a] & neighbours[b]:
            if v < min(weight[(a, c)], weight[(b, c)]) - tolerance:
                kept[e] = False
                break
    return kept


def checked_tile(
    part: dict[str, NDArray[Any]],
    starts: tuple[int, int],
    sizes: tuple[int, int],
    keep: tuple[str, float],
) -> dict[str, NDArray[Any]]:
    """``part``, a tile's reduction read back from a checkpoint, if it is one that tile could have given:
    its fields, shapes and dtypes; ``"above"``, each edge a pair of the tile (``i < j`` on the diagonal)
    listed once, its value finite and above the cutoff; ``"top_k"``, each row's K entries another
    variable of the tile's other side (or ``(-inf, -1)`` padding), none twice, values finite and in
    descending order. Raises ValueError saying what does not fit."""
    (a0, b0), (na, nb) = starts, sizes
    same = a0 == b0
    mode, parameter = keep
    if mode == "above":
        _fields(part, {"i", "j", "v"})
        i, j, v = (_array(part, name, kind, 1) for name, kind in (("i", "i"), ("j", "i"), ("v", "f")))
        if not len(i) == len(j) == len(v):
            raise ValueError(f"i, j, v: expected one length, got {len(i)}, {len(j)} and {len(v)}")
        inside = (i >= a0) & (i < a0 + na) & (j >= b0) & (j < b0 + nb) & ((i < j) if same else True)
        if not inside.all():
            raise ValueError(f"i, j: a pair outside the tile of rows {a0}.. and columns {b0}..")
        if len(np.unique(np.stack([i, j], 1), axis=0)) != len(i):
            raise ValueError("i, j: a pair is listed twice")
        if not (np.isfinite(v).all() and (v > parameter).all()):
            raise ValueError(f"v: a value that is not finite, or not above the cutoff {parameter!r}")
        return part
    k = int(parameter)
    sides = [("row", na, b0, nb)] + ([] if same else [("col", nb, a0, na)])
    _fields(part, {f"{side}_{f}" for side, *_ in sides for f in ("v", "i")})
    for side, rows, other, width in sides:
        values, index = _array(part, f"{side}_v", "f", 2), _array(part, f"{side}_i", "i", 2)
        if values.shape != (rows, k) or index.shape != (rows, k):
            raise ValueError(
                f"{side}_v, {side}_i: expected shape {(rows, k)}, got {values.shape}, {index.shape}"
            )
        mine = (b0 if side == "col" else a0) + np.arange(rows)[:, None]
        inside = (index >= other) & (index < other + width)
        # -inf marks no pair: padding (-1), or a diagonal tile's variable itself where K reaches it.
        real = inside & (index != mine) & np.isfinite(values)
        if not np.where(values == -np.inf, (index == -1) | inside, real).all():
            raise ValueError(
                f"{side}_i, {side}_v: an entry is no variable of the tile, or its value is not finite"
            )
        if (np.diff(values, axis=1) > 0).any():
            raise ValueError(f"{side}_v: a row's values are not in descending order")
        if any(len(set(r[r >= 0].tolist())) != int((r >= 0).sum()) for r in index):
            raise ValueError(f"{side}_i: a row lists a variable twice")
    return part


def _fields(part: dict[str, NDArray[Any]], names: set[str]) -> None:
    if set(part) != names:
        raise ValueError(f"expected the arrays {', '.join(sorted(names))}, got {', '.join(sorted(part))}")


def _array(part: dict[str, NDArray[Any]], name: str, kind: str, ndim: int) -> NDArray[Any]:
    a = part[name]
    if a.dtype.kind != kind or a.ndim != ndim:
        raise ValueError(
            f"{name}: expected a {ndim}-d array of kind {kind!r}, got {a.dtype} of shape {a.shape}"
        )
    return a
