"""The MI of every pair of variables, read as their users hold them: :func:`pairwise_mi` reads the data
through the conversion layer (:func:`iblearn.estimation.reading.read_samples`: numpy, torch, pandas,
Polars, an xarray ``DataArray``, an MNE ``Raw``/``Epochs`` with its channels as the variables, an
``AnnData`` with its genes as the variables, ``.X`` or a layer, dense or sparse), runs
:func:`iblearn.functional.pairwise_mi` on the numbers, and keeps the variables' names in
:class:`PairwiseMI`. The values are those of the bare array, to the last bit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Unpack

import numpy as np
import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn import functional as ibf
from iblearn._settings import setting
from iblearn.estimation.libraries import sparse_samples
from iblearn.estimation.reading import not_transposed, read_samples
from iblearn.functional.knn.engine import checked_blocks
from iblearn.functional.knn.options import KNNKeywords, KNNOptions
from iblearn.functional.knn.pairwise import sparse_form
from iblearn.functional.knn.pairwise_edges import PairwiseEdges
from iblearn.functional.knn.pairwise_stream import Columns, streamed_pairwise_mi
from iblearn.parallel import Progress, reporter

__all__ = ["READ_BLOCK", "PairwiseMI", "pairwise_mi"]

#: Variables a side of a tile of a sparse matrix's pairs: two such blocks of columns are dense at a time.
READ_BLOCK = 256


@dataclass(frozen=True)
class PairwiseMI:
    """What :func:`pairwise_mi` returns: the matrix (or its sparse part) and the variables' names.

    Attributes:
        mi: as :func:`iblearn.functional.pairwise_mi` returns it: the ``(m, m)`` float64 tensor in
            nats (NaN on the diagonal), or a :class:`~iblearn.functional.knn.pairwise_edges.PairwiseEdges`
            with ``top_k``, ``threshold`` or ``fdr``.
        names: one a variable (a column, or a block joined by ``+``), in the order of ``mi``'s rows;
            None where the data named none (a numpy array, a tensor).
    """

    mi: Tensor | PairwiseEdges
    names: tuple[str, ...] | None = None

    def label(self, i: int) -> str | int:
        """Variable ``i``'s name, or ``i`` itself where the data named none."""
        return i if self.names is None else self.names[i]

    def to_pandas(self) -> Any:
        """A pandas DataFrame: the dense matrix with the names as index and columns; a sparse result
        one row an edge, ``variable``, ``partner``, ``mi`` (nats) and ``p_value`` where ``fdr`` gave
        them.

        Raises:
            ImportError: naming the package where pandas is not installed.
        """
        try:
            import pandas as pd  # type: ignore[import-untyped]
        except ImportError as err:
            raise ImportError("to_pandas needs pandas: pip install pandas") from err
        if isinstance(self.mi, Tensor):
            labels = [self.label(i) for i in range(self.mi.shape[0])]
            return pd.DataFrame(self.mi.cpu().numpy(), index=labels, columns=labels)
        edges = self.mi
        if edges.indices is not None:
            rows = np.arange(edges.n_variables)[:, None].repeat(edges.indices.shape[1], axis=1)
            keep = (edges.indices >= 0).cpu().numpy()
            i, j = rows[keep], edges.indices.cpu().numpy()[keep]
            values = edges.values.cpu().numpy()[keep]
        else:
            pairs = edges.edges.cpu().numpy() if edges.edges is not None else np.empty((0, 2), np.int64)
            i, j, values = pairs[:, 0], pairs[:, 1], edges.values.cpu().numpy()
        frame = pd.DataFrame(
            {
                "variable": [self.label(int(a)) for a in i],
                "partner": [self.label(int(b)) for b in j],
                "mi": values.astype(np.float64),
            }
        )
        if edges.p_values is not None:
            frame["p_value"] = edges.p_values.cpu().numpy()
        return frame


def pairwise_mi(
    data: Any,
    blocks: Sequence[Sequence[int | str]] | Mapping[str, Sequence[int | str]] | None = None,
    k: int = 3,
    variant: int = 1,
    *,
    layer: str | None = None,
    picks: Any = None,
    n_jobs: int | None = None,
    progress: Progress = False,
    checkpoint: str | os.PathLike[str] | None = None,
    top_k: int | None = None,
    threshold: float | None = None,
    fdr: float | None = None,
    aracne: float | None = None,
    **options: Unpack[KNNKeywords],
) -> PairwiseMI:
    """The KSG estimate of I(X_i; X_j) for every pair of variables of ``data``, with their names: the
    matrix :func:`iblearn.functional.pairwise_mi` gives on the same numbers.

    Args:
        data: samples as rows, one column a variable: an array or tensor ``(N, d)``, a pandas or
            Polars frame (its columns), an xarray ``DataArray`` (dimensions named time, channel and
            optionally trial, in any order: its channels; else rows its first dimension and
            variables its last), an MNE ``Raw`` or ``Epochs`` (its channels; an epoch's time points
            after another's), an ``AnnData`` (its genes across cells), a scipy sparse matrix. A sparse
            matrix (or an ``AnnData``'s) is read a tile at a time, two blocks of :data:`READ_BLOCK`
            variables dense at once, never whole, for the same values, with ``top_k``,
            ``threshold`` or ``fdr`` too.
        blocks: variables of several columns: lists of columns (indices, or names where ``data``
            names its columns), each block named by its columns' names joined by ``+``; or a mapping
            from a block's name to its columns. None: each column a variable.
        k, variant, n_jobs, progress, checkpoint, top_k, threshold, fdr, aracne, **options: as for
            :func:`iblearn.functional.pairwise_mi`.
        layer: an ``AnnData``'s layer to read instead of ``.X``.
        picks: an MNE object's channels (as MNE's ``pick`` takes them); None: its data channels,
            those marked bad left out.

    Returns:
        :class:`PairwiseMI`: ``mi`` (the matrix in nats, or its sparse part) and ``names``.

    Raises:
        ValueError: naming ``blocks`` where a name is not one of the columns, ``layer`` or ``picks``
            where ``data`` is not of the library they select in, and as
            :func:`iblearn.functional.pairwise_mi`.

    Example:
        >>> import pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> z = rng.normal(size=(1000, 2))
        >>> frame = pd.DataFrame({"a": z[:, 0], "b": z[:, 1], "c": z[:, 0] + 0.5 * rng.normal(size=1000)})
        >>> result = pairwise_mi(frame)
        >>> result.names, bool(result.to_pandas().loc["a", "c"] > 0.6)
        (('a', 'b', 'c'), True)
    """
    stored = None if picks is not None else sparse_samples(data, "data", layer=layer)
    if stored is not None:
        run = {"n_jobs": n_jobs, "progress": progress, "checkpoint": checkpoint}
        return _sparse(*stored, blocks, k, variant, run, (top_k, threshold, fdr, aracne), options)
    values, names = read_samples(data, "data", layer=layer, picks=picks)
    x = values.to_numpy(dtype=np.float64) if hasattr(values, "to_numpy") else values
    if not isinstance(x, Tensor):
        x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
    not_transposed({"data": V.continuous(x, "data")})
    columns, labels = _blocks(blocks, names)
    if columns is None:  # each column a variable; a block may hold a constant column beside others
        V.not_constant(x, "data", columns=True)
    width = x.shape[1] if x.ndim == 2 else 1
    count = len(checked_blocks(columns, width)) if columns is not None else width
    if count < 2:
        raise ValueError(f"data: pairwise MI needs at least 2 columns or blocks, got {count}")
    mi = ibf.pairwise_mi(
        x,
        columns,
        k,
        variant,
        n_jobs=n_jobs,
        progress=progress,
        checkpoint=checkpoint,
        top_k=top_k,
        threshold=threshold,
        fdr=fdr,
        aracne=aracne,
        **options,
    )
    return PairwiseMI(mi, labels)


def _sparse(
    matrix: Any,
    names: list[str] | None,
    blocks: Any,
    k: int,
    variant: int,
    run: dict[str, Any],
    forms: tuple[Any, Any, Any, Any],
    options: KNNKeywords,
) -> PairwiseMI:
    """:func:`pairwise_mi` of a scipy sparse matrix (CSC) and its columns' names, read a tile of
    columns at a time: the matrix, or with ``forms`` (``top_k``, ``threshold``, ``fdr``, ``aracne``)
    its sparse part streamed (:func:`~iblearn.functional.knn.pairwise_stream.streamed_pairwise_mi`)."""
    bad = np.flatnonzero(~np.isfinite(matrix.data))
    if len(bad):
        column = int(np.searchsorted(matrix.indptr, bad[0], side="right")) - 1
        raise ValueError(
            f"data: contains NaN or Inf (first at sample {int(matrix.indices[bad[0]])}, column {column})"
        )
    columns, labels = _blocks(blocks, names)
    cols = checked_blocks(
        columns if columns is not None else [[j] for j in range(matrix.shape[1])], matrix.shape[1]
    )
    if len(cols) < 2:
        raise ValueError(f"data: pairwise MI needs at least 2 columns or blocks, got {len(cols)}")
    form = sparse_form(len(cols), *forms, columns)
    if form is None:
        return PairwiseMI(_sparse_pairwise_mi(matrix, cols, k, variant, run, options), labels)
    edges = streamed_pairwise_mi(
        _read_columns(matrix),
        k,
        variant,
        KNNOptions(**options),
        *form,
        out=run["checkpoint"],
        aracne=forms[3],
        n_jobs=run["n_jobs"],
        progress=run["progress"],
        tile=READ_BLOCK,
    )
    return PairwiseMI(edges, labels)


def _sparse_pairwise_mi(
    matrix: Any, cols: list[list[int]], k: int, variant: int, run: dict[str, Any], options: KNNKeywords
) -> Tensor:
    """:func:`iblearn.functional.pairwise_mi`'s matrix of a scipy sparse matrix (CSC), read
    :data:`READ_BLOCK` variables a side at a time: only a tile's columns are dense, each variable is
    jittered from ``seed`` plus its index as on the whole table, so the values are the dense path's."""
    m = len(cols)
    if m < 2:
        raise ValueError(f"data: pairwise MI needs at least 2 columns or blocks, got {m}")
    seed = setting("seed", options.get("seed", 0))
    out = torch.full((m, m), float("nan"), dtype=torch.float64)
    report = reporter(run["progress"], m * (m - 1) // 2, 0, "pairs")
    starts = range(0, m, READ_BLOCK)
    for a in starts:
        for b in starts[a // READ_BLOCK :]:
            left, right = range(a, min(a + READ_BLOCK, m)), range(b, min(b + READ_BLOCK, m))
            used = list(left) if a == b else [*left, *right]
            position = {i: p for p, i in enumerate(used)}
            pairs = [(position[i], position[j]) for i in left for j in right if j > i]
            if not pairs:
                continue
            read = sorted({j for i in used for j in cols[i]})
            where = {j: c for c, j in enumerate(read)}
            dense = np.asarray(matrix[:, read].toarray(), dtype=np.float64)
            variables = [torch.from_numpy(dense[:, [where[j] for j in cols[i]]]) for i in used]
            folder = run["checkpoint"]
            values = ibf.ksg_mi_pairs(
                variables,
                pairs,
                k,
                variant,
                n_jobs=run["n_jobs"],
                checkpoint=None if folder is None else os.path.join(folder, f"tile-{a}-{b}"),
                seeds=[seed + i for i in used],
                **options,
            )
            rows = torch.tensor([used[p] for p, _ in pairs])
            columns = torch.tensor([used[q] for _, q in pairs])
            out[rows, columns] = values
            out[columns, rows] = values
            report(len(pairs))
    report(0, end=True)
    return out


def _read_columns(matrix: Any) -> Columns:
    """A scipy sparse matrix (CSC) as :class:`~iblearn.functional.knn.pairwise_stream.Columns`: a few
    columns made dense at a time, as float64, and the matrix's canonical arrays (duplicates summed,
    stored zeros dropped) as its checkpoint key, so any storage of the same values finds its folder."""
    canonical = matrix.copy()
    canonical.sum_duplicates()
    canonical.eliminate_zeros()
    key = [np.asarray(matrix.shape), canonical.indptr, canonical.indices, canonical.data]

    def read(columns: np.ndarray) -> Tensor:
        return torch.from_numpy(np.asarray(matrix[:, columns].toarray(), dtype=np.float64))

    return Columns((int(matrix.shape[0]), int(matrix.shape[1])), read, key)


def _blocks(
    blocks: Sequence[Sequence[int | str]] | Mapping[str, Sequence[int | str]] | None,
    names: list[str] | None,
) -> tuple[list[list[int]] | None, tuple[str, ...] | None]:
    """The blocks as column indices, and the variables' names (None where nothing names them)."""
    if blocks is None:
        return None, None if names is None else tuple(names)
    given = list(blocks.values()) if isinstance(blocks, Mapping) else list(blocks)
    if isinstance(blocks, str) or not all(isinstance(b, Sequence) and not isinstance(b, str) for b in given):
        raise ValueError(f"blocks: expected lists of columns, got {blocks!r}")
    where = {n: j for j, n in enumerate(names or [])}
    columns = []
    for block in given:
        indices = []
        for c in block:
            if isinstance(c, str):
                if c not in where:
                    known = ", ".join(list(where)[:6]) or "none: the data names no columns"
                    raise ValueError(f"blocks: {c!r} is not a column of data ({known})")
                indices.append(where[c])
            else:
                indices.append(c)
        columns.append(indices)
    if isinstance(blocks, Mapping):
        return columns, tuple(str(key) for key in blocks)
    if names is None:
        return columns, None
    try:
        return columns, tuple("+".join(names[j] for j in block) for block in columns)
    except (IndexError, TypeError):
        return columns, None  # the functional's check names the column out of range
