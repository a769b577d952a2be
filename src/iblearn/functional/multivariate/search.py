"""A search over subsets of variables for the most redundant and the most synergistic groups: the
O-information (or the total correlation) of every subset of the given sizes, kept to the top few.

Subsets are visited in lexicographic order, in batches whose working memory is bounded, and only the
``top`` highest and lowest values are kept, so memory does not grow with the number of subsets. The
Gaussian and copula estimators evaluate a whole batch at once from the covariance of all the columns
(batched Cholesky factorizations; a subset's ``log det Sigma_-i`` is ``log det Sigma + log P_ii`` with
P its precision, so no leave-one-out matrix is factorized); KSG runs one neighbour search per subset,
on all the threads torch is given, or its batches in parallel jobs through joblib (``n_jobs``). With
a ``checkpoint`` folder the search can be killed and resumed.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Unpack

import numpy as np
import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn._measures import MEASURE_TABLE
from iblearn.functional.knn.engine import Backend, prepare_samples
from iblearn.functional.multivariate.core import (
    MeasureKeywords,
    MeasureOptions,
    combine,
    correlation,
    ksg_tc_dtc,
    logdet_correction,
)
from iblearn.functional.multivariate.inputs import check_not_constant, copula_normal, split_variables
from iblearn.parallel import (
    BatchStore,
    Progress,
    check_n_jobs,
    iter_batches,
    reporter,
    store_for,
)

Measure = Literal[
    "o_information", "total_correlation", "dual_total_correlation", "s_information", "interaction_information"
]
Subset = tuple[int, ...]
#: The file of the search's state in its checkpoint folder.
STATE = "search.json"
#: Working memory of one batch of the Gaussian path (its covariance blocks and factors).
BATCH_BYTES = 64 * 2**20


@dataclass(frozen=True)
class SearchResult:
    """The ``top`` subsets with the highest and with the lowest values, each list best first, as
    ``(columns, value in nats)``, the columns as indices, or as names for a table that has them (a
    pandas DataFrame); ``evaluated`` subsets in all."""

    highest: list[tuple[tuple[Any, ...], float]]
    lowest: list[tuple[tuple[Any, ...], float]]
    evaluated: int


def o_information_search(
    x: Any,
    sizes: Sequence[int] = (3,),
    *,
    top: int = 10,
    measure: Measure = "o_information",
    progress: Progress = False,
    checkpoint: str | os.PathLike[str] | None = None,
    n_jobs: int | None = None,
    **options: Unpack[MeasureKeywords],
) -> SearchResult:
    """The O-information (or total correlation) of every subset of the columns of ``x`` of each size in
    ``sizes``; the ``top`` most redundant (highest O) and most synergistic (lowest O) subsets.

    Args:
        x: ``(N, d)`` floating-point samples, one variable a column; a pandas DataFrame's subsets are
            given by its column names.
        sizes: subset sizes, each from 2 to d.
        top: how many subsets to keep at each end.
        measure: a measure of :data:`iblearn._measures.MEASURE_TABLE`:
            ``"o_information"``, ``"total_correlation"``, ``"dual_total_correlation"``,
            ``"s_information"``, or ``"interaction_information"`` (subsets of 3).
        **options: as for :func:`~iblearn.functional.o_information` (each column jittered once, column j
            from ``seed + j``, so a subset's value does not depend on the others); ``method="gaussian"``
            and ``"copula"`` search no neighbours and cost far less per subset than ``"ksg"``.
        progress: True reports the subsets done and the time left (one line on stderr); a callable
            is given ``(subsets done, subsets)`` after each batch.
        checkpoint: a folder, as for :func:`~iblearn.functional.pairwise_mi`: a key of the data and
            settings, and the search so far (``search.json``, rewritten atomically after each batch); a
            search started with the same folder, data and settings resumes where the last one stopped.
            Other data or settings there are refused. Deleted by the caller.
        n_jobs: jobs for the KSG path's batches of 64 subsets through joblib, as in
            :func:`~iblearn.functional.pairwise_mi` (the Gaussian ones run in this process, a batch of
            covariances at once); the result does not depend on it.

    Returns:
        :class:`SearchResult`.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(2000, 6, generator=g)
        >>> x[:, 1:3] += x[:, :1]  # columns 0, 1, 2 share a source
        >>> x[:, 5] += x[:, 3] + x[:, 4]  # column 5 is the sum of 3 and 4
        >>> found = o_information_search(x, sizes=(3,), method="gaussian", top=1)
        >>> found.highest[0][0], found.lowest[0][0], found.evaluated
        ((0, 1, 2), (3, 4, 5), 20)
    """
    opts = MeasureOptions(**options)
    V.choice(measure, "measure", tuple(MEASURE_TABLE))
    top, n_jobs = V.positive_int(top, "top"), check_n_jobs(n_jobs)
    if not callable(progress):
        progress = V.flag(progress, "progress")
    variables = split_variables(x, None)
    d = len(variables)
    sizes = _checked_sizes(sizes, d, measure)
    state = _State.load(checkpoint, variables, _key(opts, measure, sizes, top))
    if opts.method == "ksg":
        batches = _ksg_batches(variables, sizes, measure, opts, state.done, n_jobs)
    else:
        copula, bias = opts.method == "copula", opts.bias_correction
        batches = _gaussian_batches(variables, sizes, copula, bias, measure, state.done)
    report = reporter(progress, sum(math.comb(d, s) for s in sizes), state.done, "subsets")
    for subsets, values in batches:
        state.add(subsets, values, top)
        state.save()
        report(len(values))
    report(0, end=True)
    # A table's column names in place of indices (a pandas DataFrame's columns), as a user reads them.
    names = list(getattr(x, "columns", [])) or None

    def named(entries: list[tuple[Subset, float]]) -> list[tuple[tuple[Any, ...], float]]:
        return entries if names is None else [(tuple(names[j] for j in cols), v) for cols, v in entries]

    return SearchResult(highest=named(state.highest), lowest=named(state.lowest), evaluated=state.done)


def _key(opts: MeasureOptions, measure: Measure, sizes: list[int], top: int) -> dict[str, Any]:
    """What a checkpoint of the search is of: its settings."""
    return dict(
        method=opts.method,
        measure=measure,
        k=opts.k,
        bias=opts.bias_correction,
        standardize=opts.standardize,
        ties=opts.ties,
        sizes=list(sizes),
        top=top,
        seed=opts.seed,
        backend=opts.backend,
    )


def _checked_sizes(sizes: Any, d: int, measure: Measure) -> list[int]:
    try:
        out = [V.positive_int(s, "sizes") for s in sizes]
    except TypeError:
        raise ValueError(f"sizes: expected a sequence of subset sizes, got {sizes!r}") from None
    if not out or any(not 2 <= s <= d for s in out) or len(set(out)) != len(out):
        raise ValueError(f"sizes: expected distinct sizes from 2 to the {d} columns of x, got {sizes!r}")
    fixed = MEASURE_TABLE[measure].variables
    if fixed is not None and out != [fixed]:
        label = MEASURE_TABLE[measure].label
        raise ValueError(f"sizes: the {label} is of {fixed} variables; got sizes {out}")
    return out


def _subsets(d: int, sizes: list[int], skip: int, batch: int) -> Iterator[Tensor]:
    """The subsets after the first ``skip``, in batches ``(B, s)`` of at most ``batch`` of one size."""
    for s in sizes:
        count = math.comb(d, s)
        if skip >= count:
            skip -= count
            continue
        combos = itertools.islice(itertools.combinations(range(d), s), skip, None)
        skip = 0
        while True:
            flat = np.fromiter(itertools.chain.from_iterable(itertools.islice(combos, batch)), dtype=np.int64)
            if not len(flat):
                break
            yield torch.from_numpy(flat.reshape(-1, s))


def _gaussian_batches(
    variables: list[Tensor], sizes: list[int], copula: bool, bias: bool, measure: Measure, skip: int
) -> Iterator[tuple[Tensor, Tensor]]:
    check_not_constant(variables, [f"x (variable {i})" for i in range(len(variables))])
    t = torch.cat(variables, dim=1).detach().to(torch.float64).cpu()
    if copula:
        t = copula_normal(t)
    n = t.shape[0]
    # Every subset's correlation matrix is a principal submatrix of the whole one, whose eigenvalues
    # interlace with the whole one's: one check of the whole finds every degenerate subset.
    cov, _ = correlation(t, [f"x[{j}]" for j in range(t.shape[1])])
    per_batch = max(1, BATCH_BYTES // (8 * 4 * max(sizes) ** 2))
    for idx in _subsets(t.shape[1], sizes, skip, per_batch):
        yield idx, _gaussian_subsets(cov[idx[:, :, None], idx[:, None, :]], n, bias, measure)


def _gaussian_subsets(cov: Tensor, n: int, bias: bool, measure: Measure) -> Tensor:
    """The measure of each of a batch of scalar-variable covariances ``(B, s, s)``."""
    s = cov.shape[-1]
    chol, info = torch.linalg.cholesky_ex(cov)
    if bool(info.any()):
        raise ValueError("x: some columns are linear functions of others (a singular covariance)")
    logdet = 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
    # log det Sigma_-i = log det Sigma + log (Sigma^-1)_ii (the Schur complement of the rest).
    rest = logdet[:, None] + torch.log(torch.diagonal(torch.cholesky_inverse(chol), dim1=-2, dim2=-1))
    marginal = torch.log(torch.diagonal(cov, dim1=-2, dim2=-1))
    if bias:
        logdet = logdet - logdet_correction(n, s, logdet)
        rest = rest - logdet_correction(n, s - 1, logdet)
        marginal = marginal - logdet_correction(n, 1, logdet)
    tc, dtc = combine(0.5 * marginal, 0.5 * rest, 0.5 * logdet)
    return MEASURE_TABLE[measure].of(tc, dtc)


def _ksg_batches(
    variables: list[Tensor],
    sizes: list[int],
    measure: Measure,
    opts: MeasureOptions,
    skip: int,
    n_jobs: int | None,
) -> Iterator[tuple[Tensor, Tensor]]:
    named = [(f"x (variable {i})", v) for i, v in enumerate(variables)]
    prepared, k = prepare_samples(named, opts.k, standardize=opts.standardize, ties=opts.ties, seed=opts.seed)
    backend = opts.backend
    sent: list[Tensor] = []  # the subsets of the batches handed to joblib, whose results come in order

    def jobs() -> Iterator[tuple[Any, ...]]:
        # Batches of subsets between checkpoints: one KSG search a subset, so a batch is seconds of work.
        for idx in _subsets(len(prepared), sizes, skip, 64):
            used, local = torch.unique(idx, return_inverse=True)
            sent.append(idx)
            yield [prepared[j] for j in used.tolist()], local.tolist(), k, backend, measure

    for values in iter_batches(_ksg_subsets, jobs(), n_jobs):
        yield sent.pop(0), values


def _ksg_subsets(
    variables: list[Tensor], subsets: list[list[int]], k: int, backend: Backend, measure: str
) -> Tensor:
    """The measure of each subset (indices into ``variables``) by KSG."""
    spec = MEASURE_TABLE[measure]
    values = []
    for subset in subsets:
        values.append(spec.of(*ksg_tc_dtc([variables[j] for j in subset], k, backend, spec.dtc != 0)))
    return torch.stack(values).cpu()


@dataclass
class _State:
    """The search so far: subsets done (a prefix of the order) and the top entries at each end."""

    store: BatchStore | None
    done: int
    highest: list[tuple[Subset, float]]
    lowest: list[tuple[Subset, float]]

    @classmethod
    def load(
        cls, path: str | os.PathLike[str] | None, variables: list[Tensor], settings: dict[str, Any]
    ) -> _State:
        store = store_for(path, variables, settings)
        if store is None:
            return cls(None, 0, [], [])
        sizes, top = settings["sizes"], settings["top"]
        saved = store.read_json(STATE, lambda state: _checked_state(state, len(variables), sizes, top))
        return cls(store, 0, [], []) if saved is None else cls(store, *saved)

    def add(self, subsets: Tensor, values: Tensor, top: int) -> None:
        """Merge a batch ``(B, s)`` of subsets and their values into the two ends; equal values are
        ordered by subset."""
        self.done += len(values)
        k = min(top, len(values))
        for end, largest in ((self.highest, True), (self.lowest, False)):
            picked = torch.topk(values, k, largest=largest).indices.tolist()
            end += [(tuple(subsets[i].tolist()), float(values[i])) for i in picked]
            end.sort(key=lambda e: (-e[1] if largest else e[1], e[0]))
            del end[top:]

    def save(self) -> None:
        if self.store is not None:
            self.store.write_json(STATE, {"done": self.done, "highest": self.highest, "lowest": self.lowest})


def _checked_state(
    saved: Any, d: int, sizes: list[int], top: int
) -> tuple[int, list[tuple[Subset, float]], list[tuple[Subset, float]]]:
    """The search state ``saved`` (as read from JSON), checked against what a search of ``d`` columns,
    these ``sizes`` and ``top`` can have written: a count of subsets done within their number, and at
    each end the ``min(top, done)`` best of those done, each a subset of a searched size with a finite
    value. Raises ValueError (or KeyError, TypeError) where it is not."""
    done = saved["done"]
    total = sum(math.comb(d, s) for s in sizes)
    if isinstance(done, bool) or not isinstance(done, int) or not 0 <= done <= total:
        raise ValueError(f"done: {done!r} is not a count of the {total} subsets")

    def entries(name: str) -> list[tuple[Subset, float]]:
        out = []
        for subset, value in saved[name]:
            cols = tuple(subset)
            if not all(type(i) is int for i in cols) or list(cols) != sorted(set(cols)):
                raise ValueError(f"{name}: {subset!r} is not a subset of column indices")
            if len(cols) not in sizes or cols[0] < 0 or cols[-1] >= d or _position(cols, d, sizes) >= done:
                raise ValueError(f"{name}: {subset!r} is not among the first {done} subsets searched")
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{name}: {value!r} is not the finite value of a subset")
            out.append((cols, float(value)))
        if len(out) != min(top, done):
            raise ValueError(f"{name}: {len(out)} subsets where the search keeps {min(top, done)}")
        return out

    return done, entries("highest"), entries("lowest")


def _position(subset: Subset, d: int, sizes: list[int]) -> int:
    """Where ``subset`` comes in the search's order: the sizes in turn, each in lexicographic order
    (a combination's lexicographic rank is C(d, s) - 1 - sum_i C(d - 1 - c_i, s - i))."""
    s = len(subset)
    before = sum(math.comb(d, t) for t in sizes[: sizes.index(s)])
    return before + math.comb(d, s) - 1 - sum(math.comb(d - 1 - c, s - i) for i, c in enumerate(subset))
