"""Many-variable work cut into batches and run through joblib: in this process, on every core, or on a
Dask (or Ray) cluster through ``joblib.parallel_backend``, with the same results in each case.

``n_jobs`` follows joblib and scikit-learn: None runs the batches one after another in this process,
each on all of torch's threads as a single estimate does, unless a ``joblib.parallel_config`` /
``parallel_backend`` context sets the jobs (``with parallel_backend("dask"):`` spreads them over a
Dask cluster with no other change); a positive count runs that many jobs, -1 one per core. A batch
run by a job (``n_jobs`` given, or set by a context) runs on one thread, in torch and in the BLAS/OpenMP
pools threadpoolctl reaches: n jobs of many threads each would fight over the cores. Random draws
happen in this process or per item (a variable's jitter from the seed and its index), never per
job, and a batch's content never depends on the job count, so any count and backend gives the same
numbers, bit for bit.

With a checkpoint folder each finished batch is written to its own file beside a key of the data and
settings, so a run killed after hours resumes with the batches it has not finished. The folder and its
files are the records layer's (:class:`iblearn.records.BatchStore`); this module only asks it for a
batch's values and hands it the values of a finished one.

Like :mod:`iblearn.records`, the module imports none of iblearn's layers, so every layer runs its batches
through it: ``iblearn.functional``'s many-variable functions (which touch no file themselves), the
estimators' permutation nulls, network inference and the scikit-learn adapters.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import math
import numbers
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import joblib  # type: ignore[import-untyped]
import numpy as np
import torch

from iblearn._threads import one_thread
from iblearn.records import BatchStore, atomic_write_bytes, fingerprint

__all__ = [
    "PERMUTATIONS_PER_BATCH",
    "BatchStore",
    "Progress",
    "check_n_jobs",
    "iter_batches",
    "map_batches",
    "permuted_estimates",
    "reporter",
    "store_for",
    "write_arrays",
]

#: A ``progress`` argument: False, True (one line on stderr, rewritten after each batch, with the time
#: left), or a callable given ``(done, total)`` after each batch (to drive a tqdm or rich bar).
Progress = bool | Callable[[int, int], None]


def check_n_jobs(value: Any) -> int | None:
    """joblib's ``n_jobs``: None, or a nonzero integer of at most the CPU count in size (scikit-learn's
    reading of a negative count: -1 all cores, -2 all but one, down to minus the cores, one job).

    More jobs than this machine's cores (``os.cpu_count()``) are refused rather than clipped: joblib
    starts as many loky processes as asked, which only wait on each other. On a cluster backend (Dask,
    Ray) leave ``n_jobs`` None and the backend's workers set it.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value == 0:
        raise ValueError(f"n_jobs: expected None or a nonzero integer (-1 for all cores), got {value!r}")
    value, cores = int(value), os.cpu_count() or 1
    if abs(value) > cores:
        raise ValueError(
            f"n_jobs: at most the {cores} CPU cores of this machine (or -1 to -{cores}), got {value}"
        )
    return value


def _in_job(fn: Callable[..., Any], args: tuple[Any, ...], caller: int) -> Any:
    if os.getpid() == caller:  # a thread of the caller's process: the caller holds the limit
        return fn(*args)
    with one_thread():
        return fn(*args)


def _jobs(n_jobs: int | None) -> tuple[int | None, bool]:
    """What to pass joblib, and whether batches run as jobs (else in this process on torch's threads)."""
    if n_jobs is None and joblib.parallel.get_active_backend()[1] is None:
        return None, False
    return n_jobs, True


_END = object()


def iter_batches(
    fn: Callable[..., Any], batches: Iterable[tuple[Any, ...]], n_jobs: int | None
) -> Iterator[Any]:
    """``fn(*b)`` for each ``b`` of ``batches`` (read as they are needed), in order, run as ``n_jobs``
    says (see the module's notes). ``fn`` must be a module-level function (a job in another process
    receives it by name)."""
    jobs, as_jobs = _jobs(check_n_jobs(n_jobs))
    if not as_jobs:
        for b in batches:
            value = fn(*b)
            del b  # a batch's arguments are let go before the next is read
            yield value
        return
    # joblib's multiprocessing backend returns lists only: there the batches all finish first.
    backend = joblib.parallel.get_active_backend()[0]
    streams = getattr(backend, "supports_return_generator", True)
    # Jobs that run in this process take torch's thread count from the caller: a new thread takes the
    # count set last, at its first use of torch, and keeps it. So only the caller sets it. Jobs in turn
    # run while it waits for a result: one thread then, and its own code has its threads back between
    # results. Jobs on threads start ahead, as soon as they are dispatched and between results too: one
    # thread from the dispatch until the last result (the caller's code between results included).
    threads = bool(getattr(backend, "uses_threads", False))
    on_threads = threads and joblib.effective_n_jobs(jobs) > 1
    with one_thread() if on_threads else contextlib.nullcontext():
        results = iter(
            joblib.Parallel(n_jobs=jobs, return_as="generator" if streams else "list")(
                joblib.delayed(_in_job)(fn, b, os.getpid()) for b in batches
            )
        )
        while True:
            with one_thread():
                value = next(results, _END)
            if value is _END:
                return
            yield value


def map_batches(
    fn: Callable[..., Any],
    batches: Sequence[tuple[Any, ...]],
    n_jobs: int | None,
    *,
    progress: Progress = False,
    sizes: Sequence[int] | None = None,
    store: BatchStore | None = None,
    what: str = "items",
) -> list[Any]:
    """``[fn(*b) for b in batches]`` by :func:`iter_batches`, skipping what ``store`` holds.

    Args:
        fn, batches, n_jobs: as for :func:`iter_batches`.
        progress: see :data:`Progress`; counts ``sizes`` (items per batch; 1 each if None).
        store: finished batches are read from it and written to it.
        what: the items' name in the progress line.
    """
    n_jobs = check_n_jobs(n_jobs)
    batches = batches if isinstance(batches, Sequence) else list(batches)  # a generator: read once
    sizes = list(sizes) if sizes is not None else [1] * len(batches)
    if len(sizes) != len(batches):
        raise ValueError(f"sizes: {len(sizes)} sizes for {len(batches)} batches; give one a batch")
    if any(isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0 for n in sizes):
        raise ValueError(f"sizes: expected a count of items >= 0 for each batch, got {sizes}")
    results: list[Any] = [store.load(i, sizes[i]) if store is not None else None for i in range(len(batches))]
    todo = [i for i, r in enumerate(results) if r is None]
    report = reporter(progress, sum(sizes), sum(sizes) - sum(sizes[i] for i in todo), what)
    for i, value in zip(todo, iter_batches(fn, (batches[i] for i in todo), n_jobs), strict=True):
        results[i] = value
        if store is not None:
            store.save(i, value)
        report(sizes[i])
    report(0, end=True)
    return results


def reporter(progress: Progress, total: int, done: int, what: str) -> Callable[..., None]:
    """``report(step)`` after each batch of ``step`` items, ``report(0, end=True)`` at the end."""
    if progress is False:
        return lambda step, end=False: None
    if callable(progress) and not isinstance(progress, bool):
        callback = progress
        state = [done]

        def call(step: int, end: bool = False) -> None:
            if not end:
                state[0] += step
                callback(state[0], total)

        return call
    if progress is not True:
        raise ValueError(f"progress: expected True, False or a callable (done, total), got {progress!r}")
    return _line(total, done, what)


def _line(total: int, done: int, what: str) -> Callable[..., None]:
    """``elapsed, about T left: done/total items`` on one rewritten line of stderr."""
    start, first = time.monotonic(), done
    state = [done]

    def show(step: int, end: bool = False) -> None:
        if end:
            print(file=sys.stderr)
            return
        state[0] += step
        elapsed = time.monotonic() - start
        rate = (state[0] - first) / elapsed if elapsed > 0 else 0.0
        left = f", about {_duration((total - state[0]) / rate)} left" if rate > 0 else ""
        line = f"\r{_duration(elapsed)}{left}: {state[0]}/{total} {what}"
        print(line, end="", file=sys.stderr, flush=True)

    return show


def _duration(seconds: float) -> str:
    s = math.ceil(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def store_for(
    checkpoint: str | os.PathLike[str] | None, arrays: Sequence[Any], settings: dict[str, Any]
) -> BatchStore | None:
    """The :class:`BatchStore` at ``checkpoint`` for this data and these settings (None: no store)."""
    if checkpoint is None:
        return None
    if not isinstance(checkpoint, str | os.PathLike) or not str(checkpoint).strip():
        raise ValueError(
            f"checkpoint: expected a folder's path, or None for no checkpoint; got {checkpoint!r}"
        )
    return BatchStore(checkpoint, fingerprint(arrays, settings))


def write_arrays(path: str | os.PathLike[str], arrays: dict[str, Any]) -> None:
    """``arrays`` as the ``.npz`` file ``path``, written atomically (a many-variable run's result)."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


#: Permutations per batch of a permutation null.
PERMUTATIONS_PER_BATCH = 16


def permuted_estimates(
    estimate: Callable[..., Any], args: tuple[Any, ...], permutations: Iterable[Any], n_jobs: int | None
) -> list[float]:
    """``float(estimate(args[0][perm], *args[1:]))`` for each of ``permutations`` (index tensors, drawn
    here, in order, as the jobs need them), in batches run as :func:`iter_batches` says.

    The permutations are drawn in this process whatever the jobs, so the null does not depend on them.

    Args:
        estimate: a picklable callable (a module's function, an estimator's method).
        args: its arguments; the first is the one whose rows are permuted.
        permutations: the permutations, e.g. a generator of ``torch.randperm`` draws.
        n_jobs: as for :func:`iter_batches`.
    """
    drawn = iter(permutations)

    def batches() -> Iterator[tuple[Any, ...]]:
        while batch := list(itertools.islice(drawn, PERMUTATIONS_PER_BATCH)):
            yield estimate, args, batch

    return [v for values in iter_batches(_permuted_batch, batches(), n_jobs) for v in values]


def _permuted_batch(
    estimate: Callable[..., Any], args: tuple[Any, ...], permutations: list[Any]
) -> list[float]:
    first, rest = args[0], args[1:]
    return [float(estimate(first[torch.as_tensor(p).to(first.device)], *rest)) for p in permutations]
