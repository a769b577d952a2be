"""Network inference by multivariate transfer entropy: every target's sources (:mod:`.target`), in
parallel and resumable, then the correction across targets.

Surrogates keep each series' own dynamics and break only its alignment with the target: with
several trials of one length and ``trials! >= n_permutations``, the candidate's realisations from a
permuted order of the trials (IDTxl's swap of replications); otherwise, within each trial, a new series
drawn afresh, of a kind chosen process by process. For a process that mixes in time for its trial, a
new series of its autoregressive fit (order by Akaike's criterion), started at a stretch of the trial
and driven by the fit's innovations drawn with replacement (the sieve bootstrap, in place of IDTxl's
permutation of samples in time, which would break the autocorrelation). For a process that mixes too
slowly for its trial (:func:`iblearn.functional.serial.mixing`: fewer than
:data:`~iblearn.functional.serial.MIN_BLOCKS` blocks of its dependence, or an autocorrelation not died
out within sqrt(T) steps) or whose lowest frequencies rise as a long memory's do (its memory exponent,
:func:`iblearn.functional.serial.memory_exponent`, above :data:`~iblearn.functional.serial.LONG_MEMORY`),
a new series of its own spectrum (the trial and its mirror image, its phases drawn afresh), which keeps
the slowest components of a long memory that a fit of the order a short trial allows drops: with the
fit's series, independent 1/f noise passes as coupled more often than alpha. The spectrum's series
cost more CPU than the compiled sieve and find fewer true edges in short series, so the sieve stays
where it holds the series' law. ``surrogates="autoregressive"`` or
``"fourier"`` draws one kind for every process. Shifted copies of the trial would be few distinct
series where it holds only a few spans of its memory (a root near 1), and independent processes would
pass as coupled at the corrected levels about twice as often as alpha; the fit's and the spectrum's
series are independent of one another given the data. The omnibus test's lags of one source process
are windows of one such series, which keeps their dependence on one another. A process that mixes
too slowly for its trial is warned about: its surrogates rest on few effective samples. The kinds
chosen are part of the settings every target runs with and of a checkpoint's key. Each target's
and each candidate's surrogates are drawn from a seed derived from ``seed``, the target, the step and
the candidate, never from a worker, so the result is the same for every ``n_jobs`` and backend, bit
for bit.

KSG's surrogates on a device (``device=``): all surrogates of a candidate at once by brute-force counts
in torch there (:func:`~iblearn.functional.knn.cmi_batched.ksg_cmi_batched`), for a GPU, in place of
one at a time by the exact compiled search, where a maximum statistic stops as soon as its outcome is
settled. The surrogates drawn and the neighbour counts are the same, so the edges and p-values are too
(on the CPU bit for bit; elsewhere a surrogate's mean of digamma terms may differ in its last bits). The
Gaussian and copula estimators are batched on the CPU whatever the device. The device is not part of a
checkpoint's key: a run may resume on another device.
"""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from dataclasses import asdict
from typing import Any

import numpy as np
import torch

from iblearn import _checks as V
from iblearn._settings import LEVEL, SETTINGS, Interval, Options, setting
from iblearn._threads import one_thread
from iblearn.estimation.choose import choose_network
from iblearn.functional.cmi_surrogates import KSG_K, drop_spare, surrogate_kind
from iblearn.functional.serial import LONG_MEMORY, MIN_BLOCKS, Mixing, lag_linearity, memory_exponent, mixing
from iblearn.network.embedding import SPARE_STEPS, Embedded, as_trials, check_lags, embed, normal_scores
from iblearn.network.result import NetworkResult
from iblearn.network.target import Settings, TargetResult, checked_target, infer_target
from iblearn.parallel import check_n_jobs, iter_batches, store_for
from iblearn.records import BatchStore

METHODS = ("auto", "ksg", "gaussian", "copula")
#: The surrogates a caller may ask for (:func:`infer_network`'s ``surrogates``).
SURROGATES = ("auto", "fourier", "autoregressive", "trials")


def infer_network(
    data: Any,
    max_lag: int = 5,
    min_lag: int = 1,
    method: str = "auto",
    n_permutations: int = 200,
    alpha: float = 0.05,
    fdr: bool = True,
    seed: int = 0,
    n_jobs: int | None = None,
    progress: bool = False,
    checkpoint: str | os.PathLike[str] | None = None,
    device: str | torch.device | None = None,
    picks: Any = None,
    targets: Any = None,
    surrogates: str = "auto",
) -> NetworkResult:
    """The directed network of ``data``'s processes by multivariate transfer entropy, the algorithm of
    Novelli et al. (2019; IDTxl's ``MultivariateTE``). For each target process Y, with Y_t its present:

    (a) the target's past: among Y_{t-1}, ..., Y_{t-max_lag}, the variable of largest ``I(Y_{t-l}; Y_t |
        chosen)`` joins the chosen set while a maximum statistic says it is significant: its CMI is
        compared with the largest CMI of all remaining candidates in each surrogate, the p-value being
        ``(1 + #{surrogate maxima >= it}) / (1 + n_permutations)``;
    (b) the sources: every X_{t-l} of every other process X and lag l in [min_lag, max_lag], chosen
        the same way, conditioning on everything chosen so far (the target's past included);
    (c) pruning: the chosen source variable of least CMI given all other chosen variables is removed
        while a minimum statistic (its CMI against the least of all chosen sources' CMI in each
        surrogate) is not significant;
    (d) omnibus: the TE of all chosen source variables together given the target's past, against
        surrogates of the sources permuted together; the target's p-value is the larger of this test's
        and the first source's maximum statistic's (b), whose null holds the selection (the omnibus
        test alone runs on the data that chose the sources, and reads noise as a network);
    (e) the p-values of all targets (1 for a target without sources) corrected by Benjamini-Hochberg at
        ``alpha`` (``fdr=True``) or by Holm's step-down at ``alpha`` (``fdr=False``); a target that
        fails gives no edges. Either way, where no process drives another, the chance of any edge is at
        most alpha; a warning says before the run where ``n_permutations`` is too few for one target
        alone to pass the first corrected level, ``alpha / P``.

    Targets run apart (a cluster's job array, one job a few targets): ``targets=[...]`` runs steps
    (a)-(d) for those targets only, writes each to ``checkpoint`` and returns a partial result
    (``complete`` False, no edges: (e) needs every target); a later call on all targets
    (``targets=None``) with the same folder, data and settings reads them back, runs any still missing
    and corrects across all P targets, giving the network one call would, bit for bit.

    Surrogates keep each series' own dynamics and break only its alignment with the target (module
    notes).

    Estimators (:mod:`iblearn.functional.cmi_surrogates`): ``"ksg"``, Frenzel-Pompe kNN CMI with exact
    neighbours and k = 4 on the residuals of a linear fit on the conditioning set; ``"gaussian"``,
    linear (Granger) TE; ``"copula"``, the Gaussian estimate on normal scores; ``"auto"``, Gaussian
    where the processes and their one-step joint look Gaussian by the automatic estimator's rule
    (every column's skew and kurtosis, Mardia's kurtosis of the joint) and no lagged value acts on a
    present more through its square and cube than linearly (:func:`auto_method`), else KSG.

    Args:
        data: ``(T, P)`` samples, one process a column (an array, a tensor, a pandas or Polars frame),
            or a list of trials of ``(T_r, P)``; an xarray ``DataArray`` whose dimensions name time
            (``time``), the processes (``channel``, ``process``, ``variable``) and optionally the
            trials (``trial``, ``epoch``), in any order; an MNE ``Raw`` (one trial, or one a stretch
            between its spans annotated bad) or ``Epochs`` (one trial an epoch). The processes'
            names (columns, channels, a coordinate) are kept in the result's ``names``.
        max_lag, min_lag: the source lags searched, ``1 <= min_lag <= max_lag``; the target's own past
            is searched over lags 1 to ``max_lag``.
        method: ``"auto"``, ``"ksg"``, ``"gaussian"`` or ``"copula"``.
        n_permutations: surrogates of every test, at most 10^6.
        alpha: the level of every test and of the correction across targets.
        fdr: Benjamini-Hochberg across targets (the false discovery rate at ``alpha``), else Holm's
            step-down (the family-wise error rate at ``alpha``).
        seed: the seed every surrogate's seed is derived from.
        n_jobs: targets run in parallel through joblib (None: one after another, or as a
            ``joblib.parallel_config`` context says, e.g. a Dask cluster's backend). Each target's
            search keeps the surrogates it lays out for its next rounds, up to
            :data:`~iblearn.network.target.KEPT_BYTES` (256 MiB) a target running.
        progress: print one line to stderr as each target finishes.
        checkpoint: a folder: each finished target is written there atomically as JSON, and a run
            given the same folder, data and settings reads the finished targets back. A folder of
            another run (other data or settings), or one that holds files but no run's key, is refused,
            as is a target's file that does not carry this run's key or holds what no run could write
            (a lag beyond ``max_lag``, a process that does not exist, a p-value of other surrogates),
            each by a ValueError naming the file.
        device: None, KSG's surrogates one at a time by the exact compiled search; a torch device
            (``"cuda"``, ``"cpu"``), a candidate's surrogates at once in torch there (module notes).
        picks: the channels of an MNE ``Raw`` or ``Epochs`` (MNE's ``picks``: names, types, indices);
            None, its data channels, those marked bad left out.
        targets: the target processes to run, distinct indices in ``[0, P)``; None, every process.
            Unless they are all of them, the result is partial (above): give ``checkpoint`` to merge
            it later.
        surrogates: ``"auto"``, trials in permuted orders where the trials are of one length and
            ``trials! >= n_permutations``, else, process by process, each trial a phase-randomised
            series where the process mixes too slowly for its trial or its lowest frequencies rise
            as a long memory's do (1/f), and a new
            series of its autoregressive fit (the sieve bootstrap) for the others (module notes): the
            result's ``settings["surrogates"]`` is then ``"autoregressive"`` and
            ``settings["fourier"]`` lists the processes drawn by their spectrum;
            ``"autoregressive"``, the fit's series for every process; ``"fourier"``, the
            phase-randomised series for every process, at several times the CPU of the compiled sieve
            and with fewer true edges found in short series (a hundred samples); ``"trials"``, trials
            permuted, refused where they are too few.

    Returns:
        :class:`~iblearn.network.result.NetworkResult`; partial (``complete`` False) where ``targets``
        leaves processes out.
    """
    trials, names = _read_data(data, picks)
    if hasattr(data, "n_times") and len(trials) > 1:  # an MNE Raw, cut at its spans annotated bad
        trials = _embeddable(trials, max_lag)
    min_lag, max_lag = check_lags(min_lag, max_lag, trials)
    V.choice(method, "method", METHODS)
    n_permutations, alpha = _checked_test(n_permutations, alpha)
    which = _checked_targets(targets, trials[0].shape[1])
    _warn_if_too_few(n_permutations, alpha, trials[0].shape[1])
    fdr, progress = V.flag(fdr, "fdr"), V.flag(progress, "progress")
    seed, n_jobs = setting("seed", seed), check_n_jobs(n_jobs)
    device = _checked_device(device)
    chosen, reason = (method, "asked for") if method != "auto" else auto_method(trials, min_lag, max_lag)
    emb = embed(normal_scores(trials) if chosen == "copula" else trials, max_lag)
    kind = _surrogate_kind(surrogates, emb.segments, n_permutations)
    slow = _slow_processes(trials) if kind != "trials" else {}
    # Chosen for the data: phase-randomised surrogates for the processes that mix too slowly for the
    # autoregressive fit a trial allows or whose lowest frequencies rise as a long memory's do, the
    # fit's for the others.
    auto = surrogates == "auto" and kind == "autoregressive"
    fourier = tuple(sorted(set(slow) | set(_long_memory(trials)))) if auto else ()
    _warn_if_slow(slow, trials, kind, fourier)
    st = Settings(min_lag, max_lag, chosen, n_permutations, alpha, seed, kind, fourier)
    store = store_for(checkpoint, trials, asdict(st))
    results = _run_targets(emb, st, device, n_jobs, progress, store, which)
    complete = len(results) == emb.n_processes
    # The correction needs every target's p-value: a partial result keeps its targets' tests and
    # gives no edge until a call on all targets.
    p_values = [r.omnibus_p if r.sources else 1.0 for r in results]
    significant = corrected(p_values, alpha, fdr) if complete else [False] * len(results)
    settings = asdict(st) | dict(fdr=fdr, method_reason=reason, surrogates=kind, device=device)
    settings["p_floor"] = 1 / (n_permutations + 1)  # the least p-value a target can reach
    if chosen == "ksg":
        settings["k"] = KSG_K
    return NetworkResult(emb.n_processes, tuple(results), tuple(significant), settings, names, complete)


def _surrogate_kind(asked: Any, segments: tuple[int, ...], n_permutations: int) -> str:
    """The surrogates ``asked`` for (:data:`SURROGATES`), ``"auto"`` resolved by the trials."""
    asked = Options(SURROGATES)(asked, "surrogates")
    fits = surrogate_kind(segments, n_permutations)
    if asked == "auto":
        return fits
    if asked == "trials" and fits != "trials":
        raise ValueError(
            "surrogates: 'trials' needs trials of one length whose orders number at least "
            f"n_permutations={n_permutations}; got {len(segments)} trial(s) of lengths "
            f"{sorted(set(segments))}"
        )
    return str(asked)


def _checked_targets(targets: Any, p: int) -> list[int]:
    """``targets`` as the distinct processes it names, ascending (None: all ``p``)."""
    if targets is None:
        return list(range(p))
    if isinstance(targets, str | bytes) or not isinstance(targets, list | tuple | range | np.ndarray):
        raise ValueError(f"targets: expected a list of process indices or None, got {targets!r}")
    values = list(targets)
    if not values:
        raise ValueError("targets: names no target; give at least one process index, or None for all")
    if not all(isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) for v in values):
        raise ValueError(f"targets: expected integers (process indices), got {targets!r}")
    if not all(0 <= v < p for v in values):
        raise ValueError(f"targets: each must lie between 0 and {p - 1} ({p} processes), got {values}")
    if len(set(values)) != len(values):
        raise ValueError(f"targets: a process is listed twice in {values}")
    return sorted(int(v) for v in values)


def _read_data(data: Any, picks: Any) -> tuple[list[np.ndarray], tuple[str, ...] | None]:
    """``data``'s trials as float64 ``(T_r, P)`` arrays, read from the libraries users hold series in
    (:func:`~iblearn.estimation.reading.read_trials`), and the processes' names where it has them."""
    from iblearn.estimation.reading import read_trials

    pieces, names = read_trials(data, "data", picks)
    trials = as_trials(pieces)
    if names is not None and len(names) != trials[0].shape[1]:
        raise ValueError(f"data: {len(names)} names for {trials[0].shape[1]} processes")
    return trials, None if names is None else tuple(names)


def _embeddable(trials: list[np.ndarray], max_lag: Any) -> list[np.ndarray]:
    """The stretches of a Raw between its spans annotated bad that are long enough to embed at
    ``max_lag`` (all of them where none is, for :func:`check_lags` to name)."""
    lag = V.positive_int(max_lag, "max_lag")
    return [t for t in trials if len(t) > lag + SPARE_STEPS] or trials


def _checked_device(device: Any) -> str | None:
    """``device`` as the name of a torch device that holds tensors here (None stays None)."""
    if device is None:
        return None
    try:
        place = torch.device(device)
        torch.empty(0, device=place)
    except (RuntimeError, TypeError, AssertionError) as err:  # torch says AssertionError without CUDA
        raise ValueError(f"device: cannot place tensors on {device!r} ({err})") from err
    if place.type == "meta":
        raise ValueError("device: 'meta' tensors hold no values to count neighbours in")
    return str(place)


def _checked_test(n_permutations: Any, alpha: Any) -> tuple[int, float]:
    """``n_permutations`` and ``alpha`` checked: a level in (0, 1) that so many surrogates can reach,
    the smallest p-value being ``1 / (1 + n_permutations)``."""
    # At least one surrogate here, within the ceiling of every permutation count.
    n_permutations = int(Interval(int, 1)(n_permutations, "n_permutations"))
    SETTINGS["n_permutations"].check(n_permutations, "n_permutations")
    alpha = float(LEVEL(alpha, "alpha"))
    if n_permutations < 1 / alpha:
        raise ValueError(
            f"n_permutations: {n_permutations} surrogates cannot give a p-value below alpha={alpha}"
        )
    return n_permutations, alpha


def _warn_if_too_few(n_permutations: int, alpha: float, p: int) -> None:
    """A warning where the least p-value a target can reach, ``1 / (1 + n_permutations)``, is above the
    first level of the correction across ``p`` targets, ``alpha / p``: a target alone then never
    passes, and one is found only beside others (Benjamini-Hochberg) or never (Holm)."""
    if 1 / (1 + n_permutations) > alpha / p:
        warnings.warn(
            f"n_permutations: {n_permutations} surrogates give p-values of at least "
            f"1/{n_permutations + 1} = {1 / (n_permutations + 1):.3g}, above alpha / P = {alpha / p:.3g} for "
            f"{p} targets: a target's sources pass the correction across targets only beside others; "
            f"use at least {math.ceil(p / alpha) - 1} surrogates",
            UserWarning,
            stacklevel=3,
        )


def _slow_processes(trials: list[np.ndarray]) -> dict[int, tuple[int, Mixing]]:
    """The processes that mix too slowly for a trial (:func:`iblearn.functional.serial.mixing`: fewer
    than :data:`~iblearn.functional.serial.MIN_BLOCKS` blocks of their dependence, or an autocorrelation
    not died out within sqrt(T) steps), each with the first such trial and its mixing."""
    slow: dict[int, tuple[int, Mixing]] = {}
    for p in range(trials[0].shape[1]):
        for r, trial in enumerate(trials):
            mix = mixing([trial[:, p]])
            if mix is not None and (not mix.decayed or len(trial) / mix.block < MIN_BLOCKS):
                slow[p] = (r, mix)
                break
    return slow


def _long_memory(trials: list[np.ndarray]) -> list[int]:
    """The processes whose memory exponent over their trials
    (:func:`~iblearn.functional.serial.memory_exponent`) is above
    :data:`~iblearn.functional.serial.LONG_MEMORY`: their lowest frequencies rise as a long memory's
    do, which an autoregressive fit of the order a trial allows flattens."""
    exponents = [memory_exponent([t[:, p] for t in trials]) for p in range(trials[0].shape[1])]
    return [p for p, d in enumerate(exponents) if d is not None and d > LONG_MEMORY]


def _warn_if_slow(
    slow: dict[int, tuple[int, Mixing]], trials: list[np.ndarray], kind: str, fourier: tuple[int, ...]
) -> None:
    """A warning where a process mixes too slowly for its trial (:func:`_slow_processes`): its
    surrogates (``kind``, or phase-randomised for the processes ``fourier``) rest on few effective
    samples, so the tests' levels are least sure there."""
    if not slow:
        return
    p, (r, mix) = next(iter(slow.items()))
    spectrum = p in fourier or kind == "fourier"
    where = f"trial {r} of data" if len(trials) > 1 else "data"
    hint = "" if spectrum or kind != "autoregressive" else ", or (long memory, 1/f) surrogates='auto'"
    drawn = "phase-randomised surrogates" if spectrum else "surrogates"
    more = f" (and {len(slow) - 1} more)" if len(slow) > 1 else ""
    warnings.warn(
        f"data: process {p} of {where}{more} mixes too slowly for its "
        f"{len(trials[r])} steps (integrated autocorrelation time {mix.tau:.3g}, about "
        f"{mix.effective:.3g} effective samples): its {drawn} rest on few effective samples, and the "
        f"tests' levels are least sure; use longer or more trials, difference the series{hint}",
        UserWarning,
        stacklevel=3,
    )


def auto_method(trials: list[np.ndarray], min_lag: int, max_lag: int) -> tuple[str, str]:
    """What ``method="auto"`` takes for ``trials`` searched at lags ``min_lag`` - ``max_lag``, and why
    (:func:`~iblearn.estimation.choose.choose_network`): from the processes' present and one-step past
    over every trial, their normal scores, and how each lagged value acts on each present."""
    now = np.concatenate([t[1:] for t in trials])
    before = np.concatenate([t[:-1] for t in trials])
    lags = list(range(min_lag, max_lag + 1))
    stats = lag_linearity(trials, lags)
    lagged = None if stats is None else (*stats, lags)
    return choose_network(now, before, normal_scores([now, before]), lagged)


def _finished(store: BatchStore | None, j: int, st: Settings, n_processes: int) -> TargetResult | None:
    """Target ``j``'s result as the checkpoint holds it, every field checked (:func:`checked_target`)
    and the record bound to this run by its key; None where it is not there."""
    if store is None:
        return None
    return store.read_record(f"target_{j}.json", lambda d: checked_target(d, j, n_processes, st))


def _job(emb: Embedded, j: int, st: Settings, device: str | None) -> TargetResult:
    # One thread: the work is many small products and neighbour searches, which threads only slow.
    with one_thread():
        return infer_target(emb, j, st, device)


def _run_targets(
    emb: Embedded,
    st: Settings,
    device: str | None,
    n_jobs: int | None,
    progress: bool,
    store: BatchStore | None,
    which: list[int],
) -> list[TargetResult]:
    """The results of the targets ``which`` (ascending): those the checkpoint holds read back, the
    others run (in parallel where ``n_jobs`` says) and written there as each finishes."""
    p = emb.n_processes
    results: dict[int, TargetResult] = {}
    for j in which:
        if (done := _finished(store, j, st, p)) is not None:
            results[j] = done
    todo = [j for j in which if j not in results]
    start = time.perf_counter()
    for j, r in zip(todo, iter_batches(_job, [(emb, j, st, device) for j in todo], n_jobs), strict=True):
        results[j] = r
        if store is not None:
            store.write_record(f"target_{j}.json", r.to_json())
        if progress:
            print(
                f"target {j}: {len(r.sources)} source variables, past {list(r.past)} "
                f"({len(results)}/{len(which)} targets, {time.perf_counter() - start:.1f} s)",
                file=sys.stderr,
            )
    drop_spare()  # the memory the targets' surrogates were laid out in
    return [results[j] for j in which]


def benjamini_hochberg(p_values: list[float], alpha: float) -> list[bool]:
    """Which hypotheses Benjamini & Hochberg (1995) reject at false discovery rate ``alpha``: the k
    smallest p-values, k the largest with ``p_(k) <= k alpha / m``."""
    m = len(p_values)
    order = np.argsort(p_values, kind="stable")
    below = [i for i in range(m) if p_values[order[i]] <= (i + 1) * alpha / m]
    keep = set(order[: below[-1] + 1].tolist()) if below else set()
    return [i in keep for i in range(m)]


def holm(p_values: list[float], alpha: float) -> list[bool]:
    """Which hypotheses Holm's (1979) step-down rejects at family-wise error rate ``alpha``: the k
    smallest p-values, k the largest with ``p_(i) <= alpha / (m - i + 1)`` for every ``i <= k``."""
    m = len(p_values)
    order = np.argsort(p_values, kind="stable")
    k = 0
    while k < m and p_values[order[k]] <= alpha / (m - k):
        k += 1
    keep = set(order[:k].tolist())
    return [i in keep for i in range(m)]


def corrected(p_values: list[float], alpha: float, fdr: bool) -> list[bool]:
    """Per target, whether its p-value stands the correction across all targets (those without sources
    counted, at p = 1): Benjamini-Hochberg where ``fdr``, else Holm."""
    return benjamini_hochberg(p_values, alpha) if fdr else holm(p_values, alpha)
