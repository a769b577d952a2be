"""All pairs of many one-dimensional variables, streamed: the KSG estimate of every pair computed in
square tiles of variables and reduced tile by tile to what the caller keeps (each row's top K, the
edges above a threshold, or the edges that Benjamini-Hochberg keeps over all pairs), so that the
``P x P`` matrix never exists: memory is O(P K + kept edges + one tile).

Each variable is prepared (standardized, jittered from ``seed + i``) and sorted once for all its pairs;
a tile's pairs go to the bivariate kernel (:mod:`iblearn.functional.knn.bivariate`) in one call, so
each value is the dense :func:`~iblearn.functional.pairwise_mi` matrix's entry, to the last bit. A
sample on a GPU (or ``backend="brute"``) stays on its device, and each tile goes whole to the kernel
the dense matrix uses there (:mod:`iblearn.functional.knn.pair_batches`: the fused kernel in one launch
a tile with Triton, shared distance blocks otherwise); only the tile's reduction comes back to the
host. A table given as :class:`Columns` (a sparse matrix's) is read a tile's columns at a time, each
prepared for the tile as on the whole table: the same values, and memory that of a tile's columns.
Tiles run through joblib (:mod:`iblearn.parallel`) and are reduced in their order, whatever the jobs:
the result is the same for every backend and job count. With an output folder each finished tile's
reduction is written to an ``.npz`` shard (atomically) beside the key of the data and settings, and a
call with the same folder computes only the tiles missing from it.

The FDR null. For independent continuous X and Y the ranks of Y given X's are a uniformly random
permutation, so the KSG estimate of their normal scores (Phi^-1(rank / (N + 1))) has one distribution
that depends on N and k only: it is drawn once, by permuting a single column of normal scores, and
serves every pair. The p-value of an estimate is the upper tail of the Pearson type III law (a shifted
gamma) with the null's mean, standard deviation and skewness: the estimate is an average of N terms,
near normal but skewed to the right at small N, where a normal fit's tail holds up to three times the
mass it claims; the tests check the fitted tail against a larger draw of the null. With ``fdr`` the
variables are replaced by their normal scores before any estimate, tied values ranked in a seeded random
order (:func:`normal_scores`), so columns of repeated values meet the same null; a constant column is
refused, as the other forms refuse it (its ties ranked at random would be a column of noise, its pairs
tested as if they were data). Rows that look like successive samples of series are warned about
(:func:`~iblearn.functional.serial.ordered_rows`): their pairs are not independent draws, and the null
does not hold for them. The first edges are judged near a p-value of q over the number of pairs, so the
null is drawn more often where more pairs are tested (:func:`null_draws`); its moments then hold the
tail the tests read.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from scipy import stats
from torch import Tensor

from iblearn import _checks as V
from iblearn.functional.knn import bivariate, neighbors, pair_batches
from iblearn.functional.knn.counts import ksg_counts_tree
from iblearn.functional.knn.formula import ksg_constant, ksg_count_terms
from iblearn.functional.knn.ksg import CONSTANT, prepare_samples
from iblearn.functional.knn.neighbors import Backend
from iblearn.functional.knn.options import KNNOptions
from iblearn.functional.knn.pairwise_edges import (
    PairwiseEdges,
    aracne_kept,
    bh_kept,
    checked_tile,
    merge_top_k,
    row_top_k,
)
from iblearn.functional.scale import constant_columns
from iblearn.functional.serial import measured_columns, ordered_rows
from iblearn.parallel import Progress, check_n_jobs, iter_batches, reporter, store_for, write_arrays

#: Variables per side of a tile: 32,640 pairs, seconds of work at a few hundred rows.
STREAM_TILE = 256
#: Permutations of the FDR null, for its mean, standard deviation and skewness, at the least ...
NULL_PERMUTATIONS = 5000
#: ... and at the most, where many pairs are tested (:func:`null_draws`).
NULL_PERMUTATIONS_MAX = 100_000
#: Tests a draw of the null answers for (:func:`null_draws`).
PAIRS_A_DRAW = 500
#: Draws of the null made at once: their columns, prepared, sorted and ranked, are what it holds.
NULL_BATCH = 5000


def normal_scores(x: Tensor, seed: int = 0, columns: NDArray[np.int64] | None = None) -> Tensor:
    """Each column of ``(N, d)`` ``x`` replaced by Phi^-1(rank / (N + 1)), ranks 1..N, tied values
    ranked in an order drawn at random from ``(seed, j)``, ``j`` the column's index in its table
    (``columns``; None: 0..d-1), so a column's scores are the same whichever columns are read with it.

    Why at random: the FDR null takes the ranks of independent columns as independent uniformly random
    permutations, which ties broken at random keep exactly. Ties broken by row order would give every
    column of repeated values ranks that rise with the row index, and any two such columns a dependence.
    """
    n, d = x.shape
    keys = np.empty((n, d))
    for i, j in enumerate(range(d) if columns is None else columns.tolist()):
        keys[:, i] = np.random.default_rng([seed % 2**64, j]).random(n)
    # A random order of the rows of each column; a stable sort of the values in that order puts tied
    # values in it.
    shuffle = torch.argsort(torch.from_numpy(keys), dim=0).to(x.device)
    by_value = torch.argsort(torch.take_along_dim(x, shuffle, dim=0), dim=0, stable=True)
    order = torch.take_along_dim(shuffle, by_value, dim=0)  # the row at each rank
    rank_of = torch.arange(n, device=x.device)[:, None].expand_as(order)
    ranks = torch.empty_like(order).scatter_(0, order, rank_of)
    return torch.special.ndtri((ranks.to(torch.float64) + 1) / (n + 1))


def not_constant(x: Tensor, columns: NDArray[np.int64]) -> Tensor:
    """``x`` ``(N, c)``, the ``columns`` of a table, refused where a column is constant, as the other
    forms refuse it when they prepare it: its normal scores would be ties ranked at random, a column
    of noise whose pairs are tested as if they were data."""
    same = constant_columns(x)
    if bool(same.any()):
        raise ValueError(f"x[:, {int(columns[int(same.nonzero()[0, 0])])}]: {CONSTANT}")
    return x


def null_draws(pairs: int) -> int:
    """Draws of the FDR null for ``pairs`` tests: Benjamini-Hochberg judges the first edges near a
    p-value of q / ``pairs``, far in the tail, where the fitted law rests on the sample skewness, whose
    noise shrinks only as one over the root of the draws (docs/design.md's measurements). One draw for
    every :data:`PAIRS_A_DRAW` tests, within :data:`NULL_PERMUTATIONS` and :data:`NULL_PERMUTATIONS_MAX`."""
    return int(min(NULL_PERMUTATIONS_MAX, max(NULL_PERMUTATIONS, pairs // PAIRS_A_DRAW)))


def ksg_null(n: int, k: int, variant: int, n_permutations: int, seed: int) -> NDArray[np.float64]:
    """KSG estimates of ``(s, s[perm])`` for ``n_permutations`` seeded permutations of the normal scores
    ``s`` of ``n`` points: the null of every pair of normal-scored independent variables of N = ``n``.
    Drawn :data:`NULL_BATCH` at a time (the permutations from one generator, the jitter of each batch's
    columns from ``seed`` as in :func:`prepare_samples`), so memory stays that of one batch."""
    s = normal_scores(torch.arange(n, dtype=torch.float64)[:, None])
    gen = torch.Generator().manual_seed(seed)
    values = []
    for start in range(0, n_permutations, NULL_BATCH):
        perms = [torch.randperm(n, generator=gen) for _ in range(min(NULL_BATCH, n_permutations - start))]
        columns = [s] + [s[p] for p in perms]
        named = [(f"null[{i}]", c) for i, c in enumerate(columns)]
        prepared, k_used = prepare_samples(named, k, standardize=True, ties="jitter", seed=seed)
        pairs = np.array([(0, b) for b in range(1, len(columns))], dtype=np.int64)
        values.append(_pairs_values(*bivariate.sorted_ranks(prepared), pairs, k_used, variant))
    return np.concatenate(values)


def null_moments(null: NDArray[np.float64]) -> dict[str, float]:
    """The mean, standard deviation and skewness of the null's draws (the last two unbiased), which
    :func:`null_tail` reads."""
    return {
        "null_mean": float(null.mean()),
        "null_sd": float(null.std(ddof=1)),
        "null_skew": float(stats.skew(null, bias=False)),
    }


def null_tail(settings: dict[str, Any]) -> Any:
    """The Pearson type III law of the null's moments in ``settings`` (scipy's frozen ``pearson3``)."""
    return stats.pearson3(settings["null_skew"], loc=settings["null_mean"], scale=settings["null_sd"])


def _pairs_values(
    sorted_values: NDArray[np.float64],
    ranks: NDArray[np.int64],
    pairs: NDArray[np.int64],
    k: int,
    variant: int,
) -> NDArray[np.float64]:
    """KSG of each pair of the sorted columns, formed as the dense matrix forms it (bit for bit)."""
    n = sorted_values.shape[1]
    constant = ksg_constant(n, k, variant)
    out = np.empty(len(pairs))
    if not neighbors.HAVE_KERNEL:
        columns = np.take_along_axis(sorted_values, ranks, axis=1)
        for p, (a, b) in enumerate(pairs.tolist()):
            xa, xb = (torch.as_tensor(columns[i])[:, None] for i in (a, b))
            out[p] = constant - ksg_count_terms(*ksg_counts_tree(xa, xb, k, variant), variant).numpy().mean()
        return out
    values = bivariate.bivariate_mi(sorted_values, ranks, pairs, k, variant)
    if values is None:
        raise ValueError("x: a pair's k-th neighbour distance overflows float64; rescale the columns")
    return values


@dataclass(frozen=True)
class _Sorted:
    """The CPU's source of a tile's values: every column sorted once, and its ranks, for the bivariate
    kernel (:func:`_pairs_values`)."""

    sorted_values: NDArray[np.float64]
    ranks: NDArray[np.int64]

    def rows(self, rows: NDArray[np.int64]) -> _Sorted:
        return _Sorted(self.sorted_values[rows], self.ranks[rows])

    def values(self, pairs: NDArray[np.int64], k: int, variant: int) -> NDArray[np.float64]:
        return _pairs_values(self.sorted_values, self.ranks, pairs, k, variant)


@dataclass(frozen=True)
class _Prepared:
    """The source of a tile's values on a GPU or by brute force: the prepared columns on their device,
    for the kernel the dense matrix takes there (:func:`~iblearn.functional.knn.pair_batches.batch_mi`:
    the fused kernel with Triton, shared distance blocks otherwise)."""

    columns: list[Tensor]
    backend: Backend

    def rows(self, rows: NDArray[np.int64]) -> _Prepared:
        return _Prepared([self.columns[r] for r in rows.tolist()], self.backend)

    def values(self, pairs: NDArray[np.int64], k: int, variant: int) -> NDArray[np.float64]:
        listed = [(a, b) for a, b in pairs.tolist()]
        return np.asarray(pair_batches.batch_mi(self.columns, listed, k, variant, self.backend))


@dataclass(frozen=True)
class Columns:
    """A table of ``shape`` ``(N, P)`` one-dimensional variables read a few columns at a time (a scipy
    sparse matrix's, never dense whole): ``read(columns)`` gives those columns' ``(N, len(columns))``
    float64 values on the CPU, and ``key`` arrays that identify the table for a checkpoint."""

    shape: tuple[int, int]
    read: Callable[[NDArray[np.int64]], Tensor]
    key: Sequence[Any]


def _source(
    x: Tensor, columns: NDArray[np.int64], k: int, opts: KNNOptions, on_device: bool
) -> _Sorted | _Prepared:
    """The tiles' source for the checked ``(N, c)`` columns ``x`` of a table, ``columns`` their indices
    in it: each prepared (jittered from ``seed`` plus its index) for its device's kernel."""
    named = [(f"x[:, {j}]", x[:, i : i + 1]) for i, j in enumerate(columns.tolist())]
    seeds = [opts.seed + j for j in columns.tolist()]
    prepared, _ = prepare_samples(
        named, k, standardize=opts.standardize, ties=opts.ties, seed=opts.seed, seeds=seeds
    )
    return _Prepared(prepared, opts.backend) if on_device else _Sorted(*bivariate.sorted_ranks(prepared))


@dataclass(frozen=True)
class _Read:
    """The source of tiles of :class:`Columns`: a tile's columns read, checked, normal-scored (with
    ``fdr``) and prepared as the same columns of the whole table are, so each value is the same."""

    table: Columns
    k: int
    opts: KNNOptions
    scores: bool
    on_device: bool

    def rows(self, rows: NDArray[np.int64]) -> _Sorted | _Prepared:
        x = V.continuous(self.table.read(rows), "x")
        if self.scores:
            x = normal_scores(not_constant(x, rows), self.opts.seed, rows)
        return _source(x, rows, self.k, self.opts, self.on_device)


def _tile_job(
    source: _Sorted | _Prepared,
    starts: tuple[int, int],
    sizes: tuple[int, int],
    k: int,
    variant: int,
    keep: tuple[str, float],
) -> dict[str, NDArray[Any]]:
    """One tile's reduction. Rows ``[0, na)`` of the source are the variables ``starts[0] + i``, the
    rest ``starts[1] + j`` (none when the tile is on the diagonal, ``starts[0] == starts[1]``). ``keep``
    is ``("top_k", K)`` or ``("above", cutoff)``."""
    (a0, b0), (na, nb) = starts, sizes
    same = a0 == b0
    ii, jj = np.triu_indices(na, 1) if same else np.divmod(np.arange(na * nb), nb)
    pairs = np.stack([ii, jj if same else na + jj], axis=1).astype(np.int64)
    values = source.values(pairs, k, variant)
    mode, parameter = keep
    if mode == "above":
        hit = values > parameter
        return {"i": a0 + ii[hit], "j": b0 + jj[hit], "v": values[hit]}
    tile = np.full((na, nb), -np.inf)
    tile[ii, jj] = values
    if same:
        tile[jj, ii] = values
    rows_v, rows_i = row_top_k(tile, b0 + np.arange(nb), int(parameter))
    out = {"row_v": rows_v, "row_i": rows_i}
    if not same:
        out["col_v"], out["col_i"] = row_top_k(
            np.ascontiguousarray(tile.T), a0 + np.arange(na), int(parameter)
        )
    return out


class _Shards:
    """The output folder (:class:`~iblearn.parallel.BatchStore`): the run's key, and one ``.npz`` shard a
    finished tile, written atomically with the key, and read back only if it carries the key and is a
    reduction its tile could have given (:func:`~iblearn.functional.knn.pairwise_edges.checked_tile`)."""

    def __init__(
        self, path: str | os.PathLike[str] | None, key: Sequence[Any], settings: dict[str, Any]
    ) -> None:
        self.store = store_for(path, key, settings)

    def load(self, t: int, tile: tuple[Any, ...]) -> dict[str, NDArray[Any]] | None:
        """Tile ``t``'s reduction, ``tile`` the starts, sizes and ``keep`` of :func:`_tile_job`."""
        if self.store is None:
            return None
        return self.store.load_arrays(f"tile-{t:07d}.npz", lambda part: checked_tile(part, *tile))

    def save(self, t: int, part: dict[str, NDArray[Any]]) -> None:
        if self.store is not None:
            self.store.save_arrays(f"tile-{t:07d}.npz", part)


def _tiles(p: int, tile: int) -> list[tuple[int, int]]:
    return [(a, b) for a in range(0, p, tile) for b in range(a, p, tile)]


def _stream(
    source: _Sorted | _Prepared | _Read,
    p: int,
    tiles: list[tuple[int, int]],
    tile: int,
    job: tuple[int, int, tuple[str, float]],
    shards: _Shards,
    n_jobs: int | None,
    progress: Progress,
) -> Iterator[tuple[tuple[int, int], dict[str, NDArray[Any]]]]:
    """Each tile's reduction, in the tiles' order: read from its shard, or computed (and written)."""
    size = {t: _tile_pairs(a, b, tile, p) for t, (a, b) in enumerate(tiles)}
    done = [shards.load(t, (tiles[t], _tile_sizes(*tiles[t], tile, p), job[2])) for t in range(len(tiles))]
    todo = [t for t, d in enumerate(done) if d is None]
    report = reporter(progress, sum(size.values()), sum(size.values()) - sum(size[t] for t in todo), "pairs")

    def args(t: int) -> tuple[Any, ...]:
        a, b = tiles[t]
        rows = np.r_[a : min(a + tile, p)] if a == b else np.r_[a : min(a + tile, p), b : min(b + tile, p)]
        return (source.rows(rows), (a, b), _tile_sizes(a, b, tile, p), *job)

    computed = iter_batches(_tile_job, (args(t) for t in todo), n_jobs)
    for t in range(len(tiles)):
        part = done[t]
        if part is None:
            part = next(computed)
            shards.save(t, part)
            report(size[t])
        yield tiles[t], part
    report(0, end=True)


def _tile_sizes(a: int, b: int, tile: int, p: int) -> tuple[int, int]:
    return min(a + tile, p) - a, min(b + tile, p) - b


def _tile_pairs(a: int, b: int, tile: int, p: int) -> int:
    na, nb = _tile_sizes(a, b, tile, p)
    return na * (na - 1) // 2 if a == b else na * nb


def streamed_pairwise_mi(
    x: Tensor | Columns,
    k: int,
    variant: int,
    opts: KNNOptions,
    mode: str,
    parameter: float,
    *,
    out: str | os.PathLike[str] | None = None,
    aracne: float | None = None,
    n_jobs: int | None = None,
    progress: Progress = False,
    tile: int = STREAM_TILE,
    n_permutations: int | None = None,
    caller: tuple[str, str] = ("pairwise_mi", "x"),
) -> PairwiseEdges:
    """:func:`~iblearn.functional.pairwise_mi`'s sparse forms on checked ``(N, P)`` samples ``x``, or
    on :class:`Columns` read a tile's columns at a time (the same values; memory one tile's columns):
    ``mode`` ``"top_k"`` (``parameter`` K), ``"threshold"`` (edges above ``parameter`` nats) or ``"fdr"``
    (level ``parameter``); see the module's notes. ``caller``: the public function and its argument
    that a warning names."""
    V.ksg_variant(variant)
    check_n_jobs(n_jobs)
    n, p = x.shape
    if n_permutations is None:
        n_permutations = null_draws(p * (p - 1) // 2)
    tile, n_permutations = V.positive_int(tile, "tile"), V.positive_int(n_permutations, "n_permutations")
    if isinstance(x, Tensor):
        x = x.detach().to(torch.float64)
    _warn_if_series(x.read if isinstance(x, Columns) else _reader(x), p, caller)
    k = V.neighbours(k, n)
    settings: dict[str, Any] = {"mode": mode, mode: parameter, "k": k, "variant": variant, "tile": tile}
    settings.update(seed=opts.seed, standardize=opts.standardize, ties=opts.ties)
    device = x.device.type if isinstance(x, Tensor) else "cpu"
    on_device = device != "cpu" or opts.backend == "brute"
    if on_device:  # the values are the device's kernel's: a checkpoint of another device does not serve
        settings.update(device=device, backend=opts.backend)
    if mode == "fdr":
        x = normal_scores(not_constant(x, np.arange(p)), opts.seed) if isinstance(x, Tensor) else x
        null = ksg_null(n, k, variant, n_permutations, opts.seed)
        settings.update(n_permutations=n_permutations, **null_moments(null))
        # Every edge BH keeps has p <= q, so a tile keeps only those with p <= q.
        keep = ("above", float(null_tail(settings).isf(parameter)))
    else:
        keep = ("top_k", parameter) if mode == "top_k" else ("above", parameter)
    if isinstance(x, Tensor):
        source: _Sorted | _Prepared | _Read = _source(x, np.arange(p), k, opts, on_device)
        shards = _Shards(out, [x.cpu()], settings)
    else:
        source = _Read(x, k, opts, mode == "fdr", on_device)
        shards = _Shards(out, x.key, settings)
    tiles = _tiles(p, tile)
    parts = _stream(source, p, tiles, tile, (k, variant, keep), shards, n_jobs, progress)
    if mode == "top_k":
        result = _top_k(parts, p, int(parameter), settings)
    else:
        result = _edges(parts, p, settings)
    if aracne is not None:
        result = pruned(result, aracne)
    if out is not None:
        _save_result(Path(out), result)
    return result


def _reader(x: Tensor) -> Callable[[NDArray[np.int64]], Tensor]:
    return lambda columns: x[:, torch.from_numpy(columns).to(x.device)]


def _warn_if_series(read: Callable[[NDArray[np.int64]], Tensor], p: int, caller: tuple[str, str]) -> None:
    """A warning where the rows look like successive samples of series
    (:func:`~iblearn.functional.serial.ordered_rows`, on the two halves of the ``p`` columns, of which
    it reads only the few ``read`` gives it): every pair estimate and the FDR null take the rows as
    independent draws, and two slowly varying series read as dependent where they are not."""
    half = (p + 1) // 2
    parts = [read(measured_columns(half)), read(half + measured_columns(p - half))]
    function, arg = caller
    why = ordered_rows(parts, [f"{arg}[:, :{half}]", f"{arg}[:, {half}:]"])
    if why is not None:
        warnings.warn(f"{function}: {why}", UserWarning, stacklevel=4)


def _top_k(
    parts: Iterator[tuple[tuple[int, int], dict[str, NDArray[Any]]]], p: int, k: int, settings: dict[str, Any]
) -> PairwiseEdges:
    values = np.full((p, k), -np.inf)
    indices = np.full((p, k), -1, dtype=np.int64)
    for (a, b), part in parts:
        for start, v, i in ((a, part["row_v"], part["row_i"]), (b, part.get("col_v"), part.get("col_i"))):
            if v is None or i is None:
                continue
            rows = slice(start, start + len(v))
            both_v, both_i = np.concatenate([values[rows], v], 1), np.concatenate([indices[rows], i], 1)
            values[rows], indices[rows] = merge_top_k(both_v, both_i, k)
    return PairwiseEdges(p, torch.from_numpy(values), indices=torch.from_numpy(indices), settings=settings)


def _edges(
    parts: Iterator[tuple[tuple[int, int], dict[str, NDArray[Any]]]], p: int, settings: dict[str, Any]
) -> PairwiseEdges:
    chunks = [(part["i"], part["j"], part["v"]) for _, part in parts]
    i, j, v = (np.concatenate([c[f] for c in chunks]) for f in range(3))
    order = np.lexsort((j, i))
    edges, values = np.stack([i[order], j[order]], axis=1).astype(np.int64), v[order]
    if settings["mode"] != "fdr":
        return PairwiseEdges(p, torch.from_numpy(values), edges=torch.from_numpy(edges), settings=settings)
    p_values = np.asarray(null_tail(settings).sf(values), dtype=np.float64)
    kept = bh_kept(p_values, p * (p - 1) // 2, settings["fdr"])
    return PairwiseEdges(
        p,
        torch.from_numpy(values[kept]),
        edges=torch.from_numpy(edges[kept]),
        p_values=torch.from_numpy(p_values[kept]),
        settings=settings,
    )


def pruned(result: PairwiseEdges, tolerance: float) -> PairwiseEdges:
    """``result`` with ARACNE's pruning (:func:`~iblearn.functional.knn.pairwise_edges.aracne_kept`)
    applied to its edges (for a top-K result, to the union of its rows' entries as undirected edges)."""
    tolerance = V.real_number(tolerance, "aracne")
    if not tolerance >= 0:
        raise ValueError(f"aracne: expected a tolerance >= 0 nats (or None for no pruning), got {tolerance}")
    settings = {**result.settings, "aracne": tolerance}
    if result.indices is None and result.edges is not None:
        kept = aracne_kept(result.edges.numpy(), result.values.numpy(), tolerance)
        p_values = None if result.p_values is None else result.p_values[kept]
        mask = torch.from_numpy(kept)
        return PairwiseEdges(
            result.n_variables,
            result.values[mask],
            edges=result.edges[mask],
            p_values=p_values,
            settings=settings,
        )
    if result.indices is None:
        return result
    indices, values = result.indices.numpy(), result.values.numpy()
    rows = np.broadcast_to(np.arange(len(indices))[:, None], indices.shape)
    real = indices >= 0
    a, b = np.minimum(rows, indices)[real], np.maximum(rows, indices)[real]
    pairs, first = np.unique(np.stack([a, b], 1), axis=0, return_index=True)
    kept_pairs = aracne_kept(pairs, values[real][first], tolerance)
    dropped = {tuple(e) for e in pairs[~kept_pairs].tolist()}
    drop = np.zeros(indices.shape, dtype=bool)
    drop[real] = [(int(u), int(w)) in dropped for u, w in zip(a, b, strict=True)]
    new_i, new_v = indices.copy(), values.copy()
    new_i[drop], new_v[drop] = -1, np.nan
    return PairwiseEdges(
        result.n_variables, torch.from_numpy(new_v), indices=torch.from_numpy(new_i), settings=settings
    )


def _save_result(folder: Path, result: PairwiseEdges) -> None:
    """The whole result as ``result.npz`` in the output folder, atomically."""
    arrays = {"values": result.values.numpy()}
    for name in ("indices", "edges", "p_values"):
        value = getattr(result, name)
        if value is not None:
            arrays[name] = value.numpy()
    write_arrays(folder / "result.npz", arrays)
