"""Gene x gene mutual information on an AnnData: :func:`mi_network`, each gene's K strongest partners
by the KSG estimate (Kraskov et al. 2004), stored as a sparse symmetric matrix in ``adata.varp`` and
returned as a table of edges.

How the matrix is read. The genes go to the streamed all-pairs estimate that
:func:`iblearn.functional.pairwise_mi` runs with ``top_k``
(:mod:`iblearn.functional.knn.pairwise_stream`), in tiles of :data:`BLOCK` x :data:`BLOCK` genes:
for each tile only its two blocks of columns are dense (cells x 2 :data:`BLOCK` float64), so a sparse
matrix is never densified whole and the gene x gene matrix never exists (memory O(genes K + cells x 2
:data:`BLOCK`)). As a tile's columns are read, each gene's values go to their normal scores
``Phi^-1(rank / (N + 1))``, the ties (the zeros of counts) ranked in an order drawn at random from
``(seed, gene)`` (:func:`~iblearn.functional.knn.pairwise_stream.normal_scores`): a monotone map of
each gene, which leaves the MI of continuous values unchanged. A gene's scores, and the jitter KSG
adds to them (from ``seed`` plus the gene's index), are the same in every tile, so the network is what
:func:`iblearn.functional.pairwise_mi` with ``top_k`` gives on the whole matrix of scores, to the last
bit, and each gene's top K is merged tile by tile.

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

from iblearn.estimation.libraries import anndata_matrix
from iblearn.functional.knn.options import KNNOptions
from iblearn.functional.knn.pairwise_edges import bh_kept
from iblearn.functional.knn.pairwise_stream import (
    Columns,
    ksg_null,
    normal_scores,
    null_draws,
    null_moments,
    null_tail,
    streamed_pairwise_mi,
)

__all__ = ["BLOCK", "mi_network"]

#: Genes a block: two are dense at a time.
BLOCK = 256
#: Genes ranked at once as a block is read.
SCORED_COLUMNS = 32


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
        seed: seeds the order of tied values, KSG's jitter and the null.
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
    top = streamed_pairwise_mi(
        _scored_columns(matrix, seed),
        k,
        1,
        KNNOptions(seed=seed),
        "top_k",
        int(top_k),
        tile=BLOCK,
        caller=("mi_network", "adata.X"),
    )
    i, j, v = _edges(top.values.numpy(), np.asarray(top.indices))
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


def _scored_columns(matrix: Any, seed: int) -> Columns:
    """The matrix as :class:`~iblearn.functional.knn.pairwise_stream.Columns` of normal scores: the
    columns asked for made dense (float64), checked, and ranked with ties in an order drawn from
    ``(seed, gene)`` (:func:`~iblearn.functional.knn.pairwise_stream.normal_scores`)."""

    def read(columns: np.ndarray) -> torch.Tensor:
        out = torch.empty((matrix.shape[0], len(columns)), dtype=torch.float64)
        # A few columns dense at a time: ranking holds several arrays of the columns' size.
        for start in range(0, len(columns), SCORED_COLUMNS):
            some = columns[start : start + SCORED_COLUMNS]
            block = matrix[:, some]
            values = np.asarray(block.toarray() if hasattr(block, "toarray") else block, dtype=np.float64)
            if not np.isfinite(values).all():
                raise ValueError("adata: the matrix holds NaN or Inf")
            out[:, start : start + len(some)] = normal_scores(torch.from_numpy(values), seed, some)
        return out

    return Columns((int(matrix.shape[0]), int(matrix.shape[1])), read, ())


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
