"""Many KSG estimates at once: the all-pairs MI matrix of the columns (or blocks of columns) of a sample,
as ennemi's ``pairwise_mi`` gives, and every layer's MI with one or more targets in one call.

The work shared between pairs: each variable is checked, standardized and jittered once
(:func:`iblearn.functional.knn.ksg.prepare`), however many pairs it enters; and where the neighbour search
is brute force (joint spaces beyond the compiled search's 128 dimensions, or tensors on a GPU) each
variable's max-norm distances are computed once per chunk of rows and batch of pairs, and every pair
takes the maximum of its two variables' distances from them, instead of computing both again for each
pair: a tile of 16 x 16 pairs of :func:`pairwise_mi` computes 32 distance matrices instead of 512, with
one running sum per pair beside them (memory does not grow with the number of pairs). The max-norm
distance in a joint space is the larger of its parts' (KSG's product space), so the counts are exactly
those of one :func:`~iblearn.functional.ksg_mi` call per pair. Pairs of two single columns on the CPU
(the all-pairs matrix of a table) go to a kernel of their own (:mod:`iblearn.functional.knn.bivariate`):
each column is sorted once for all its pairs in every batch, and a batch's pairs are counted in one call by
scans along the sorted columns (a grid search in two dimensions for variant 2), with the same counts as
the general tree. Other pairs searched by the compiled tree share only the preparation (each tree is
built on its pair's own joint space). On a GPU
with Triton (variant 1), a batch's pairs are counted by the fused kernel of
:mod:`iblearn.functional.knn.fused` in one launch: the variables of each dimension stacked once, the
pairs a ``(P, 2)`` index into the stacks, each pair's distances computed in registers and never
written, and the KSG terms reduced per pair on the device; its counts are the torch path's and the
tree's. The pairs run in batches (tiles of pairs, or consecutive pairs of :func:`ksg_mi_pairs`; larger
where the fused kernel takes them, whose launches want thousands of pairs) that ``n_jobs`` spreads over
joblib's jobs; a batch's values do not depend on the others, so the jobs change nothing in the result.

References:
    A. Kraskov, H. Stoegbauer, P. Grassberger. Estimating mutual information. Phys. Rev. E 69, 066138
    (2004), eqs. (8) and (9).
"""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Unpack

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from iblearn import _checks as V
from iblearn._settings import LEVEL
from iblearn.functional.knn import bivariate, fused, pair_batches, pairwise_stream
from iblearn.functional.knn.ksg import prepare_samples
from iblearn.functional.knn.neighbors import Backend
from iblearn.functional.knn.options import KNNKeywords, KNNOptions
from iblearn.parallel import Progress, check_n_jobs, map_batches, store_for

#: Pairs per batch of :func:`ksg_mi_pairs`, and variables per side of a tile of :func:`pairwise_mi` (a
#: batch of up to 16 x 16 pairs sharing 32 variables' distances): seconds of work a batch at 10,000 rows.
PAIRS_PER_BATCH = 256
TILE = 16
#: Rows from which a tile is TILE a side; below them it grows (up to 4 TILE) as the square root of their
#: share, so that a batch's work stays about the same as a pair's falls with N (at a few hundred rows
#: 16 x 16 pairs are milliseconds, and each batch pays its own setup).
TILE_ROWS = 10_000
#: The same where the fused kernel counts (a GPU with Triton): one launch a batch, of up to 64 x 64 pairs,
#: thousands of programs (a block of rows of a pair each) however few the rows.
FUSED_PAIRS_PER_BATCH = 4096
FUSED_TILE = 64


def ksg_mi_pairs(
    variables: Sequence[Any],
    pairs: Sequence[tuple[int, int]],
    k: int = 3,
    variant: int = 1,
    *,
    n_jobs: int | None = None,
    progress: Progress = False,
    checkpoint: str | os.PathLike[str] | None = None,
    seeds: Sequence[int] | None = None,
    **options: Unpack[KNNKeywords],
) -> Tensor:
    """KSG estimates of I(V_a; V_b) for each pair ``(a, b)`` of indices into ``variables``, sharing the
    preparation of each variable and, on the brute-force path, its distances (see the module's notes).

    Variable i is jittered from ``seed + i`` (so a pair's value equals ``ksg_mi(v_a, v_b, seed=...)``
    wherever the 1e-10 jitter decides no count, as on continuous data), or from ``seeds[i]``.

    Args:
        variables: ``(N, d_i)`` or ``(N,)`` floating-point samples, the same N for all.
        pairs: index pairs ``(a, b)``, ``a != b``.
        k, variant, **options: as for :func:`~iblearn.functional.ksg_mi` (``seed`` seeds the jitter).
        n_jobs, progress, checkpoint: as for :func:`pairwise_mi` (batches of consecutive pairs).
        seeds: each variable's jitter seed, one a variable; None: ``seed + i``. Columns of a larger
            table given their own seeds (``seed`` plus their index in it) get the values
            :func:`pairwise_mi` gives them on the whole table, so a table can be read a few columns at
            a time.

    Returns:
        ``(len(pairs),)`` float64 tensor, nats.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(1000, 1, generator=g)
        >>> y, z = x + torch.randn(1000, 1, generator=g), torch.randn(1000, 1, generator=g)
        >>> values = ksg_mi_pairs([x, y, z], [(0, 1), (0, 2)])
        >>> bool(values[0] > 0.25 and abs(values[1]) < 0.05)  # I(X; Y) = log(2) / 2 = 0.35, I(X; Z) = 0
        True
    """
    opts = KNNOptions(**options)
    if isinstance(variables, Tensor) or not isinstance(variables, Sequence) or len(variables) < 2:
        raise ValueError("variables: expected a sequence of at least 2 samples (tensors or arrays)")
    pairs = _checked_pairs(pairs, len(variables))
    named = [(f"variables[{i}]", v) for i, v in enumerate(variables)]
    size = FUSED_PAIRS_PER_BATCH if _fused(variables[0], k, variant, opts.backend) else PAIRS_PER_BATCH
    batches = [range(p, min(p + size, len(pairs))) for p in range(0, len(pairs), size)]
    if seeds is not None and len(seeds) != len(variables):
        raise ValueError(f"seeds: expected one a variable ({len(variables)}), got {len(seeds)}")
    run = _Run(n_jobs, progress, checkpoint)
    return _named_pairs_mi(named, pairs, k, variant, opts, batches, run, seeds)


def _fused(sample: Any, k: int, variant: int, backend: Backend) -> bool:
    """Whether pairs of this device and these settings go to the fused kernel (so take its batches)."""
    device = sample.device if isinstance(sample, Tensor) else torch.device("cpu")
    return backend != "tree" and fused.enabled(device, k, variant)


@dataclass(frozen=True)
class _Run:
    """How a many-pairs call runs: ``n_jobs``, ``progress`` and ``checkpoint`` as the user gave them."""

    n_jobs: int | None = None
    progress: Progress = False
    checkpoint: str | os.PathLike[str] | None = None


def _named_pairs_mi(
    named: list[tuple[str, Any]],
    pairs: Sequence[tuple[int, int]] | NDArray[np.int64],
    k: int,
    variant: int,
    opts: KNNOptions,
    batches: list[range] | None = None,
    run: _Run = _Run(),
    seeds: Sequence[int] | None = None,
) -> Tensor:
    """:func:`ksg_mi_pairs` on samples that come with the names their errors should give, ``batches``
    (ranges of consecutive indices into ``pairs``; one batch if None) run as ``run`` says, jittered
    from ``seeds``."""
    V.ksg_variant(variant)
    check_n_jobs(run.n_jobs)
    prepared, k = prepare_samples(
        named, k, standardize=opts.standardize, ties=opts.ties, seed=opts.seed, seeds=seeds
    )
    device = prepared[0].device
    index = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    batches = [range(len(index))] if batches is None else batches
    function, jobs = _pair_jobs(prepared, index, batches, k, variant, opts.backend)
    store = None
    if run.checkpoint is not None:
        settings = dict(
            pairs=index.tolist(),
            k=k,
            variant=variant,
            standardize=opts.standardize,
            ties=opts.ties,
            seed=opts.seed,
        ) | ({} if seeds is None else {"seeds": list(seeds)})
        key = {**settings, "batches": [list(b) for b in batches]}
        store = store_for(run.checkpoint, [t.cpu() for t in prepared], key)
    values = map_batches(
        function,
        jobs,
        run.n_jobs,
        progress=run.progress,
        sizes=[len(b) for b in batches],
        store=store,
        what="pairs",
    )
    out = np.empty(len(index))
    for batch, value in zip(batches, values, strict=True):
        out[batch.start : batch.stop] = torch.as_tensor(value, dtype=torch.float64).cpu().numpy()
    return torch.from_numpy(out).to(device)


def _pair_jobs(
    prepared: list[Tensor],
    index: NDArray[np.int64],
    batches: list[range],
    k: int,
    variant: int,
    backend: Backend,
) -> tuple[Any, list[tuple[Any, ...]]]:
    """The function each batch of pairs runs, and its arguments: the variables the batch uses and its
    pairs as indices into them. Single columns on the CPU are sorted once here for every batch, which
    takes its rows of them (:func:`~iblearn.functional.knn.pair_batches.sorted_batch_mi`); other
    variables go as they are, numpy on the CPU (:func:`~iblearn.functional.knn.pair_batches.batch_mi`)."""
    bivariate_kernel = pair_batches.all_bivariate(prepared, backend)
    whole = bivariate.sorted_ranks(prepared) if bivariate_kernel else None
    jobs: list[tuple[Any, ...]] = []
    for batch in batches:
        used, local = pair_batches.used_rows(index[batch.start : batch.stop])
        if whole is not None:
            jobs.append((whole[0][used], whole[1][used], local, k, variant, backend))
            continue
        shipped = [
            prepared[i].numpy() if prepared[i].device.type == "cpu" else prepared[i] for i in used.tolist()
        ]
        jobs.append((shipped, [(a, b) for a, b in local.tolist()], k, variant, backend))
    return (pair_batches.sorted_batch_mi if whole is not None else pair_batches.batch_mi), jobs


def pairwise_mi(
    x: Any,
    blocks: Sequence[Sequence[int]] | None = None,
    k: int = 3,
    variant: int = 1,
    *,
    n_jobs: int | None = None,
    progress: Progress = False,
    checkpoint: str | os.PathLike[str] | None = None,
    top_k: int | None = None,
    threshold: float | None = None,
    fdr: float | None = None,
    aracne: float | None = None,
    **options: Unpack[KNNKeywords],
) -> Any:
    """The matrix of KSG estimates of I(X_i; X_j) between the columns of ``x`` (or its ``blocks`` of
    columns), as ennemi's ``pairwise_mi`` gives: symmetric, NaN on the diagonal (a continuous variable's
    MI with itself is infinite). One :func:`ksg_mi_pairs` call over the ``m (m - 1) / 2`` pairs, in
    batches that can run in parallel (see ``n_jobs``).

    Args:
        x: ``(N, d)`` floating-point samples.
        blocks: column indices of each variable (``[[0, 1], [2], [3, 4, 5]]``); None: each column alone.
        k, variant, **options: as for :func:`ksg_mi_pairs` (block i is jittered
            from ``seed + i``).
        n_jobs: jobs for the batches (tiles of 16 x 16 pairs from 10,000 rows on, up to 64 x 64 at
            fewer rows, whose pairs cost less; 64 x 64, one launch each, where the fused kernel counts
            on a GPU) through joblib: None runs them in this process on all of
            torch's threads, unless a ``joblib.parallel_config`` or ``parallel_backend`` context
            (``"dask"`` for a cluster) sets the jobs; -1 one job per core, each on one thread. The
            matrix is the same, bit for bit, for any value and backend.
        progress: True reports the pairs done and the time left on a line of stderr; a
            callable is given ``(pairs done, pairs)`` after each batch.
        checkpoint: a folder that keeps each finished batch; a call with the same folder, data and
            settings computes only the batches not in it (a run killed after hours resumes). Deleted
            by the caller. With a sparse form (below) each finished tile's part as an ``.npz``
            shard, and the result as ``result.npz``.
        top_k, threshold, fdr: at most one; each streams the pairs in tiles of 256 x 256 columns
            and keeps part of the matrix, which never exists whole (memory O(P K + kept edges)):
            ``top_k`` each row's K largest values (ties to the smaller column), ``threshold`` the
            edges above it (nats), ``fdr`` the edges Benjamini-Hochberg keeps at that level over all
            pairs, their p-values from a permutation null of KSG on normal scores drawn once for N
            (with ``fdr`` every estimate is of the columns' normal scores; see
            :mod:`iblearn.functional.knn.pairwise_stream`). One column a variable (``blocks`` None).
            The null is drawn more often the more pairs are tested; a GPU's tiles stay on it (its notes).
        aracne: with a sparse form, ARACNE's pruning (the data processing inequality) of the kept
            edges with this tolerance in nats (0: in every triangle drop the weakest edge).

    Returns:
        ``(m, m)`` float64 tensor, nats, m the number of columns or blocks; with ``top_k``,
        ``threshold`` or ``fdr`` a :class:`~iblearn.functional.knn.pairwise_edges.PairwiseEdges`.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> z = torch.randn(2000, 2, generator=g)
        >>> x = torch.cat([z, z[:, :1] + 0.5 * torch.randn(2000, 1, generator=g)], dim=1)
        >>> m = pairwise_mi(x)
        >>> bool(m[0, 2] > 0.6 and m[0, 2] == m[2, 0] and abs(m[0, 1]) < 0.05 and m[1, 1].isnan())
        True
    """
    opts = KNNOptions(**options)
    t = V.continuous(x, "x")
    if t.ndim != 2:
        raise ValueError(f"x: expected (N, d) samples, got shape {tuple(t.shape)}")
    cols = [[j] for j in range(t.shape[1])] if blocks is None else checked_blocks(blocks, t.shape[1])
    if len(cols) < 2:
        raise ValueError(f"x: pairwise MI needs at least 2 columns or blocks, got {len(cols)}")
    m = len(cols)
    sparse = sparse_form(m, top_k, threshold, fdr, aracne, blocks)
    if sparse is not None:
        return pairwise_stream.streamed_pairwise_mi(
            t, k, variant, opts, *sparse, out=checkpoint, aracne=aracne, n_jobs=n_jobs, progress=progress
        )
    pairs, batches = _tiled_pairs(
        m, FUSED_TILE if _fused(t, k, variant, opts.backend) else cpu_tile(t.shape[0])
    )
    if blocks is None:
        named = [(f"x[:, {c[0]}]", t[:, c]) for c in cols]
    else:
        named = [(f"blocks[{i}] (columns {c} of x)", t[:, c]) for i, c in enumerate(cols)]
    run = _Run(n_jobs, progress, checkpoint)
    values = _named_pairs_mi(named, pairs, k, variant, opts, batches, run)
    return _symmetric(values, pairs, m)


def cpu_tile(n: int) -> int:
    """Variables per side of a tile of :func:`pairwise_mi` at N = ``n`` rows, where the fused kernel does
    not take them: ``TILE`` from ``TILE_ROWS`` rows on, up to 4 ``TILE`` below."""
    return int(min(4 * TILE, max(TILE, TILE * math.sqrt(TILE_ROWS / max(n, 1)))))


def _tiled_pairs(m: int, tile: int) -> tuple[NDArray[np.int64], list[range]]:
    """The pairs ``i < j`` of ``m`` variables as ``(P, 2)`` indices, tile by tile of ``tile x tile`` (the
    upper triangle's tiles, row of tiles by row; in a tile by i, then j), and each non-empty tile's
    range of rows of them: one batch a tile."""
    parts: list[NDArray[np.int64]] = []
    batches: list[range] = []
    count = 0
    for a in range(0, m, tile):
        for b in range(a, m, tile):
            na, nb = min(a + tile, m) - a, min(b + tile, m) - b
            i, j = np.triu_indices(na, 1) if a == b else np.divmod(np.arange(na * nb), nb)
            if len(i):
                parts.append(np.stack([a + i, b + j], axis=1))
                batches.append(range(count, count + len(i)))
                count += len(i)
    return np.concatenate(parts).astype(np.int64), batches


def _symmetric(values: Tensor, pairs: NDArray[np.int64], m: int) -> Tensor:
    """The ``(m, m)`` float64 matrix with ``values`` at each pair and its mirror, NaN on the diagonal."""
    out = torch.full((m, m), float("nan"), dtype=torch.float64, device=values.device)
    rows, columns = torch.from_numpy(pairs).to(values.device).T
    out[rows, columns] = values
    out[columns, rows] = values
    return out


def sparse_form(
    m: int,
    top_k: Any,
    threshold: Any,
    fdr: Any,
    aracne: Any,
    blocks: Any,
) -> tuple[str, float] | None:
    """Which sparse form :func:`pairwise_mi` is asked for, checked: ``(mode, parameter)``, or None
    for the dense matrix."""
    given = [name for name, v in (("top_k", top_k), ("threshold", threshold), ("fdr", fdr)) if v is not None]
    if not given:
        if aracne is not None:
            raise ValueError("aracne: applies to a sparse result; give top_k, threshold or fdr")
        return None
    if len(given) > 1:
        raise ValueError(f"{', '.join(given)}: give at most one of top_k, threshold and fdr")
    if blocks is not None:
        raise ValueError(f"blocks: {given[0]} streams pairs of single columns; leave blocks None")
    if top_k is not None:
        if isinstance(top_k, bool) or not isinstance(top_k, int | np.integer) or not 0 < top_k < m:
            raise ValueError(
                f"top_k: expected an integer in [1, {m - 1}] (the columns less one), got {top_k!r}"
            )
        return "top_k", int(top_k)
    if threshold is not None:
        value = V.real_number(threshold, "threshold")
        if math.isnan(value):
            raise ValueError("threshold: expected a number of nats, got nan")
        return "threshold", value
    return "fdr", float(LEVEL(fdr, "fdr"))


def layerwise_mi(
    layers: Sequence[Any],
    targets: Sequence[Any],
    k: int = 3,
    variant: int = 1,
    **options: Unpack[KNNKeywords],
) -> Tensor:
    """KSG estimates of I(T_l; Z_t) for every layer's activations T_l and every target Z_t (the input X
    and a continuous Y, as an information plane needs), in one :func:`ksg_mi_pairs` call: each target's
    distances are computed once per chunk for all layers, each layer's once for all targets.

    Args:
        layers: ``(N, d_l)`` activations of each layer (flattened beyond the first axis).
        targets: ``(N, d_t)`` continuous samples, e.g. ``[x, y]``.
        k, variant, **options: as for :func:`ksg_mi_pairs` (layers come first
            in the jitter's order, then targets).

    Returns:
        ``(len(layers), len(targets))`` float64 tensor, nats.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(1000, 2, generator=g)
        >>> t1, t2 = torch.tanh(x @ torch.randn(2, 4, generator=g)), torch.randn(1000, 3, generator=g)
        >>> m = layerwise_mi([t1, t2], [x])
        >>> m.shape, bool(m[0, 0] > 1.0 and abs(m[1, 0]) < 0.05)
        (torch.Size([2, 1]), True)
    """
    opts = KNNOptions(**options)
    for name, seq in (("layers", layers), ("targets", targets)):
        if isinstance(seq, Tensor) or not isinstance(seq, Sequence) or not seq:
            raise ValueError(f"{name}: expected a non-empty sequence of samples (tensors or arrays)")
    named = [(f"layers[{i}]", _rows(v, f"layers[{i}]")) for i, v in enumerate(layers)]
    named += [(f"targets[{j}]", v) for j, v in enumerate(targets)]
    n_layers = len(layers)
    pairs = [(i, n_layers + j) for i in range(n_layers) for j in range(len(targets))]
    values = _named_pairs_mi(named, pairs, k, variant, opts)
    return values.reshape(n_layers, len(targets))


def _rows(value: Any, name: str) -> Tensor:
    t = V.as_tensor(value, name)
    return t.reshape(t.shape[0], -1) if t.ndim > 2 else t


def _index(value: Any) -> int:
    """An integral index (a Python or numpy integer, an integer 0-d tensor); TypeError for a float,
    a string or a bool, which :func:`operator.index` alone would take as 0 or 1."""
    if isinstance(value, bool) or (isinstance(value, Tensor) and value.dtype == torch.bool):
        raise TypeError(f"not an index: {value!r}")
    return operator.index(value)


def _checked_pairs(pairs: Any, m: int) -> list[tuple[int, int]]:
    try:
        out = [(_index(a), _index(b)) for a, b in pairs]
    except (TypeError, ValueError):
        out = []
    if not out:
        raise ValueError(f"pairs: expected a non-empty sequence of (a, b) integer pairs, got {pairs!r}")
    for a, b in out:
        if not (0 <= a < m and 0 <= b < m) or a == b:
            raise ValueError(f"pairs: ({a}, {b}) is not a pair of two distinct indices in [0, {m})")
    return out


def checked_blocks(blocks: Any, d: int) -> list[list[int]]:
    try:
        out = [[_index(j) for j in block] for block in blocks]
    except (TypeError, ValueError):
        raise ValueError(f"blocks: expected sequences of integer column indices, got {blocks!r}") from None
    seen: set[int] = set()
    for block in out:
        if not block or any(not 0 <= j < d for j in block):
            raise ValueError(f"blocks: {block} is empty or not within the {d} columns of x")
        if seen & set(block):
            raise ValueError(f"blocks: column(s) {sorted(seen & set(block))} appear in two blocks")
        seen |= set(block)
    return out
