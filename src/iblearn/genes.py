"""Gene x gene mutual information on an AnnData: :func:`mi_network`, each gene's K strongest partners
by the KSG estimate (Kraskov et al. 2004), stored as a sparse symmetric matrix in ``adata.varp`` and
returned as a table of edges.

How the matrix is read. The cells x genes matrix (``.X`` or a layer, sparse or dense) is read in blocks
of :data:`BLOCK` genes: for each pair of blocks only those two are dense at a time (cells x 2
:data:`BLOCK` float64), so a sparse matrix is never densified whole and the gene x gene matrix never
exists (memory O(genes K + cells x 2 BLOCK)). Each gene's values go to their normal scores
``Phi^-1(rank / (N + 1))``, the ties (the zeros of counts) broken at random from ``(seed, gene)``
and the scores jittered from it as KSG jitters ties:
a monotone map of each gene, which leaves the MI of continuous values unchanged, and a gene's scores
are the same in every block pair, so each pair's value is what
:func:`iblearn.functional.pairwise_mi` gives on the whole matrix of scores. The pairs of a block pair
go to :func:`iblearn.functional.ksg_mi_pairs` in one call, and each gene's top K is merged block by
block.

Counts are used as they are: the normal scores depend on the order of a gene's values only, so a
log transform (``sc.pp.log1p``) or a per-cell normalization that keeps each gene's order within cells
changes nothing; one that changes it (normalizing by library size) does, and is the caller's choice,
made before the call. A gene with many zeros carries less information than its count suggests: its
zeros are tied, and their random order is noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from iblearn import functional as ibf
from iblearn.estimation.libraries import anndata_matrix
from iblearn.functional.knn.ksg import JITTER
from iblearn.functional.knn.pairwise_edges import bh_kept, merge_top_k
from iblearn.functional.knn.pairwise_stream import ksg_null, null_draws, null_moments, null_tail

__all__ = ["BLOCK", "mi_network"]

#: Genes a block: two are dense at a time.
BLOCK = 256


def mi_network(
    adata: Any,
    *,
    top_k: int = 10,
    layer: str | None = None,
    key: str = "mi",
    fdr: float | None = None,
    seed: int = 0,
    k: int = 3,
) -> Any:
    """Each gene's ``top_k`` partners by MI across cells, as a sparse symmetric matrix in
    ``adata.varp[key]`` and a table of edges (see the module's notes for how the matrix is read).

    Args:
        adata: an ``AnnData`` of cells x genes; ``.X`` (or ``layer``) a scipy sparse or dense matrix.
        top_k: partners kept for each gene (the largest KSG estimates, ties to the earlier gene).
        layer: the layer read instead of ``.X``. Counts are read as they are: run ``sc.pp.log1p``
            (and any normalization) before, if the analysis calls for it.
        key: where the matrix goes, ``adata.varp[key]``: scipy CSR, genes x genes, float64 nats,
            each kept edge at ``(i, j)`` and ``(j, i)``.
        fdr: a level q: the kept edges get the p-value of their estimate under independence (the
            permutation null of KSG on normal scores, as :func:`iblearn.functional.pairwise_mi` with
            ``fdr`` draws it) and only those Benjamini-Hochberg keeps at q over all genes (genes - 1)
            / 2 pairs stay (a pair outside every gene's top K is judged not kept). None: no p-values.
        seed: seeds the order of tied values and the null.
        k: neighbours of the KSG estimate.

    Returns:
        pandas ``DataFrame`` of the edges, one row a gene pair, by decreasing MI: ``gene_a``,
        ``gene_b`` (``adata.var_names``), ``mi`` (nats; KSG can read slightly below 0 on independent
        genes), and ``p_value`` where ``fdr`` is given.

    Raises:
        ValueError: naming ``adata`` where it is not an AnnData or has fewer than 2 genes, ``layer``
            where it is not one, ``top_k`` or ``fdr`` where out of range.

    Example:
        >>> import anndata as ad
        >>> rng = np.random.default_rng(0)
        >>> x = rng.poisson(3.0, size=(300, 6)).astype(float)
        >>> x[:, 1] = x[:, 0] + rng.poisson(1.0, 300)
        >>> adata = ad.AnnData(x)
        >>> adata.var_names = [f"g{i}" for i in range(6)]
        >>> edges = mi_network(adata, top_k=2)
        >>> edges.iloc[0][["gene_a", "gene_b"]].tolist(), adata.varp["mi"].shape
        (['g0', 'g1'], (6, 6))
    """
    matrix, genes = _matrix(adata, layer)
    n, p = matrix.shape
    if isinstance(top_k, bool) or not isinstance(top_k, int | np.integer) or not 0 < top_k < p:
        raise ValueError(f"top_k: expected an integer in [1, {p - 1}] (the genes less one), got {top_k!r}")
    if fdr is not None and not 0 < fdr < 1:
        raise ValueError(f"fdr: expected a level in (0, 1), got {fdr!r}")
    best_v, best_i = _top_partners(matrix, int(top_k), seed, k)
    i, j, v = _edges(best_v, best_i)
    p_values = None
    if fdr is not None:
        pairs = p * (p - 1) // 2
        tail = null_tail(null_moments(ksg_null(n, k, 1, null_draws(pairs), seed)))
        p_values = tail.sf(v)
        kept = bh_kept(p_values, pairs, float(fdr))
        i, j, v, p_values = i[kept], j[kept], v[kept], p_values[kept]
    adata.varp[key] = _symmetric(i, j, v, p)
    return _table(genes, i, j, v, p_values)


def _matrix(adata: Any, layer: str | None) -> tuple[Any, list[str]]:
    """The cells x genes matrix (sparse as CSC, whose column blocks are cheap to cut) and the names."""
    if not (hasattr(adata, "var_names") and hasattr(adata, "varp") and hasattr(adata, "layers")):
        raise ValueError(f"adata: expected an AnnData (cells x genes), got a {type(adata).__name__}")
    matrix = anndata_matrix(adata, "adata", layer)
    if matrix.shape[1] < 2:
        raise ValueError(f"adata: the MI network needs at least 2 genes, got {matrix.shape[1]}")
    if matrix.shape[0] < 2 * 3 + 2:
        raise ValueError(f"adata: {matrix.shape[0]} cells are too few for the KSG estimate")
    if hasattr(matrix, "tocsc"):
        matrix = matrix.tocsc()  # a sparse copy, no denser than the input
    return matrix, [str(g) for g in adata.var_names]


def _scores(matrix: Any, start: int, stop: int, seed: int) -> np.ndarray:
    """Genes ``start..stop`` as ``(cells, genes)`` float64 normal scores, ties broken at random from
    ``(seed, gene)``: the only dense part of the matrix."""
    block = matrix[:, start:stop]
    values = np.asarray(block.toarray() if hasattr(block, "toarray") else block, dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError("adata: the matrix holds NaN or Inf")
    n = values.shape[0]
    draws = [np.random.default_rng([seed, g]) for g in range(start, stop)]
    keys = np.stack([g.random(n) for g in draws], axis=1)
    order = np.lexsort((keys, values), axis=0)
    ranks = np.empty_like(values)
    np.put_along_axis(ranks, order, np.arange(1.0, n + 1.0)[:, None], axis=0)
    scores = torch.special.ndtri(torch.from_numpy(ranks / (n + 1))).numpy()
    # Scores on a grid tie in distance; KSG's jitter breaks such ties, here from the gene's own draws,
    # so that a gene is the same column in every block pair.
    return scores + JITTER * np.stack([g.standard_normal(n) for g in draws], axis=1)


def _top_partners(matrix: Any, top_k: int, seed: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each gene's ``top_k`` largest MI values and their genes, ``(P, K)``, merged block pair by block
    pair."""
    p = matrix.shape[1]
    best_v = np.full((p, top_k), -np.inf)
    best_i = np.full((p, top_k), -1, dtype=np.int64)
    starts = list(range(0, p, BLOCK))
    for a0 in starts:
        a1 = min(a0 + BLOCK, p)
        left = _scores(matrix, a0, a1, seed)
        for b0 in starts[starts.index(a0) :]:
            b1 = min(b0 + BLOCK, p)
            same = a0 == b0
            right = left if same else _scores(matrix, b0, b1, seed)
            tile = _tile(left, right, same, k)
            for rows, values, first in ((slice(a0, a1), tile, b0), (slice(b0, b1), tile.T, a0)):
                columns = np.broadcast_to(first + np.arange(values.shape[1]), values.shape)
                best_v[rows], best_i[rows] = merge_top_k(
                    np.concatenate([best_v[rows], values], axis=1),
                    np.concatenate([best_i[rows], columns], axis=1),
                    top_k,
                )
                if same:
                    break
    return best_v, best_i


def _tile(left: np.ndarray, right: np.ndarray, same: bool, k: int) -> np.ndarray:
    """``(a, b)`` KSG MI between the columns of ``left`` and ``right`` (-inf where no pair: a gene
    with itself), one :func:`~iblearn.functional.ksg_mi_pairs` call."""
    na, nb = left.shape[1], right.shape[1]
    columns = [torch.from_numpy(np.ascontiguousarray(c)) for c in left.T]
    if same:
        ii, jj = np.triu_indices(na, 1)
    else:
        columns += [torch.from_numpy(np.ascontiguousarray(c)) for c in right.T]
        ii, jj = np.divmod(np.arange(na * nb), nb)
    pairs = list(zip(ii.tolist(), (jj if same else na + jj).tolist(), strict=True))
    values = ibf.ksg_mi_pairs(columns, pairs, k, ties="raise").numpy()  # jittered by _scores
    tile = np.full((na, nb), -np.inf)
    tile[ii, jj] = values
    if same:
        tile[jj, ii] = values
    return tile


def _edges(best_v: np.ndarray, best_i: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The undirected edges of the top-K lists, each once as ``i < j``: genes and MI."""
    rows = np.broadcast_to(np.arange(len(best_i))[:, None], best_i.shape)
    keep = best_i >= 0
    a, b, v = rows[keep], best_i[keep], best_v[keep]
    i, j = np.minimum(a, b), np.maximum(a, b)
    _, first = np.unique(i * len(best_i) + j, return_index=True)
    order = first[np.argsort(-v[first], kind="stable")]
    return i[order], j[order], v[order]


def _symmetric(i: np.ndarray, j: np.ndarray, v: np.ndarray, p: int) -> Any:
    from scipy import sparse

    return sparse.csr_matrix((np.r_[v, v], (np.r_[i, j], np.r_[j, i])), shape=(p, p))


def _table(genes: list[str], i: np.ndarray, j: np.ndarray, v: np.ndarray, p_values: np.ndarray | None) -> Any:
    import pandas as pd  # type: ignore[import-untyped]

    names = np.asarray(genes, dtype=object)
    columns: dict[str, Any] = {"gene_a": names[i], "gene_b": names[j], "mi": v}
    if p_values is not None:
        columns["p_value"] = p_values
    return pd.DataFrame(columns)
