"""Active information storage for the front door: what a series' own past tells about its present,
A_X(history) = I(X_t; X_{t-1}, ..., X_{t-history}) (Lizier, Prokopenko & Zomaya 2012), by
:func:`iblearn.functional.information_dynamics.active_information_storage`.

``method="auto"`` reads the series' present and its past ``history`` steps by the rule of the measures
among many variables (:func:`iblearn.estimation.choose.choose_many`), as for transfer entropy: the
Gaussian estimate where they look jointly Gaussian, the Gaussian copula where the series' normal scores
do, else KSG on the normal scores (a monotone map of the series leaves its storage as it is); each with
the blockwise jackknife's interval, and checked as a series allows: the series with its steps shuffled
(no order, so no storage) reads about 0 on half the steps by the same method, the trend from half the
blocks to all of them stays within the tolerance, no estimate exceeds log N, and the series is clear of
a unit root (:func:`iblearn.estimation.series.unit_root_check`).

Trials (a list of 1-D arrays, one a trial) are each embedded alone and their rows pooled
(:func:`iblearn.functional.information_dynamics.active_information_storage`); the unit-root check and
the reach below read the lag-1 coefficient of the pairs of successive steps of every trial pooled.

The interval reaches up at least to the storage of a Gaussian series whose lag-1 coefficient is that
coefficient's upper bound (:func:`iblearn.estimation.series.lag_one_bound`), ``-1/2 log(1 - a^2)``:
the storage of a persistent series reads low (the coefficient's downward bias, (1 + 3a) / T, through
that steep curve) and a low reading comes with a small blockwise error (the curve is flatter there),
so the blockwise interval alone misses the truth from below (the figures are in
``benchmarks/reliable_misses.py``'s results). Near the unit-root check's threshold the bound reaches
further, as the check passes there mostly the series that read low (:func:`_storage_of_bound`). The
bound holds the storage of a Gaussian AR(1) (for which it is exact) and of any Gaussian series at
history 1, and only widens the interval.

Reference:
    J. T. Lizier, M. Prokopenko, A. Y. Zomaya. Local measures of information storage in complex
    distributed computation. Information Sciences 208, 39-54 (2012).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, TypedDict, Unpack

import torch

from iblearn._settings import setting
from iblearn.estimation.choose import choose_many
from iblearn.estimation.series import (
    RESAMPLES,
    Trials,
    drift_checks,
    lag_one_bound,
    normal_scores,
    unit_root_check,
    unit_root_threshold,
)
from iblearn.estimation.verdict import series_figures_verdict, series_verdict
from iblearn.functional import Estimate, inference
from iblearn.functional.information_dynamics import active_information_storage, series_trials

__all__ = ["StorageKeywords", "ais_auto", "ais_method"]

#: The series, as the verdict names it.
_NAMES = ("series 0",)
_SHUFFLED = "the series with its steps shuffled (on half of it), which then stores nothing, reads about 0"


class StorageKeywords(TypedDict, total=False):
    """The options of :func:`ais_method`, as ``**options`` take them: those of
    :func:`iblearn.functional.information_dynamics.active_information_storage`.

    Keys:
        history: past steps of the series.
        k: neighbours (``"ksg"``).
        n_resamples: if positive, a blockwise interval from that many resamples.
        n_permutations: if positive, a p-value against that many surrogates of the past.
        null: the surrogates: ``"trials"`` (the past of whole trials permuted against the present),
            ``"shift"`` (the past shifted within each trial), ``"auto"`` (the first where there are
            enough trials of one length: :func:`~iblearn.functional.information_dynamics.null_kind`).
        seed: seeds the resamples, the surrogates and the jitter.
    """

    history: int
    k: int
    n_resamples: int
    n_permutations: int
    null: str
    seed: int


def ais_method(series: Any, *, method: str, **options: Unpack[StorageKeywords]) -> Estimate:
    """Active information storage by a named method (``"ksg"``, ``"gaussian"``, ``"copula"``), with a
    blockwise interval (``n_resamples``) and a p-value against surrogates of the past
    (``n_permutations``, of the kind ``null``: the past of other trials, or shifted in time),
    flagged where its series mixes too slowly for the interval
    (:func:`~iblearn.estimation.verdict.series_figures_verdict`)."""
    trials = series_trials(series, "series")  # read here, so that what is refused is named "series"
    given = trials[0] if len(trials) == 1 else trials
    return series_figures_verdict(active_information_storage(given, method=method, **options), _NAMES)


def ais_auto(
    series: Any, *, history: int = 1, k: int = 4, n_permutations: int = 0, null: str = "auto", seed: int = 0
) -> Estimate:
    """Active information storage of ``series`` by the method its present and past ask for, checked
    as a series (module notes), with the blockwise interval; with ``n_permutations``, the p-value of the
    chosen method against that many surrogates of the past, of the kind ``null`` (``"auto"``,
    ``"trials"``, ``"shift"``, as :func:`ais_method` takes it). The test leaves the choice, the checks,
    the interval and the verdict as they are without it.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = np.zeros(1000)
        >>> for t in range(1, 1000):
        ...     x[t] = 0.8 * x[t - 1] + rng.standard_normal()
        >>> est = ais_auto(x)
        >>> est.report.chosen, est.reliable, est.interval[0] < 0.51 < est.interval[1]
        ('gaussian', True, True)
    """
    seed, history = setting("seed", seed), setting("history", history)
    trials = [torch.from_numpy(t) for t in series_trials(series, "series")]
    lengths = [len(t) for t in trials]
    steps = torch.cat(trials)
    n, half = len(steps), len(steps) // 2
    if min(lengths) <= history + 10:
        what = "series" if len(trials) == 1 else "trial"
        raise ValueError(f"history: {history} leaves too few samples of a {min(lengths)}-step {what}")
    more = {"unit root": unit_root_check(trials), **drift_checks({"series": trials})}
    reach = _storage_of_bound(trials)
    # present, then past; each trial embedded alone
    lagged = torch.cat(
        [torch.stack([t[history - j : len(t) - j] for j in range(history + 1)], 1) for t in trials]
    )
    chosen, rule, feats = choose_many(lagged, responses=[0])
    if chosen == "ksg":  # its normal scores: heavy tails and warps bias the neighbour counts
        steps = normal_scores(steps[:, None], "series")[:, 0]
        trials = list(torch.split(steps, lengths))
    given = trials[0] if len(trials) == 1 else trials
    est = active_information_storage(
        given, history, chosen, k=k, n_resamples=RESAMPLES[chosen], n_permutations=n_permutations, null=null,
        seed=seed,
    )  # fmt: skip
    counted = {} if len(trials) == 1 else {"trials": float(len(trials))}
    if counted:
        n = est.n_samples
    est = series_figures_verdict(est, _NAMES)
    if est.interval is not None and reach > est.interval[1]:
        est = replace(est, interval=(est.interval[0], reach))

    def shuffled() -> float:
        # The first half, or where it is constant (a recording flat until its onset), and so could not
        # move, the last half, else the whole series.
        part = next(p for p in (steps[:half], steps[-half:], steps) if not bool((p == p[0]).all()))
        order = torch.from_numpy(inference.rng(seed, inference.PERMUTATION, 0).permutation(len(part)))
        return float(active_information_storage(part[order], history, chosen, k=k, seed=seed))

    how = {
        "gaussian": "the Gaussian estimate",
        "copula": "the Gaussian estimate of its normal scores (Gaussian copula)",
        "ksg": "KSG (nearest neighbours) on its normal scores",
    }[chosen]
    what = "a series" if not counted else f"a series of {len(trials)} trials, their embedded rows pooled"
    why = (
        f"{what}, its present and its past {history} step(s) by the rule: {rule.rsplit(': ', 1)[0]}; "
        f"{how}, with the blockwise interval"
    )
    ceiling = "no information storage exceeds log N"
    probe = ("independence", "shuffled", shuffled, _SHUFFLED)
    return series_verdict(
        est, n, probe, ceiling, why, chosen=chosen, features={**feats, **counted}, more=more
    )


#: Standard errors of the lag-1 coefficient the interval reaches above it where its upper bound (two
#: of them up) lies :data:`NEAR` or more of them below the unit-root check's threshold.
REACH = 2.0
#: Standard errors below the unit-root check's threshold within which the reach grows, one more for
#: each one the bound lies closer, at most :data:`REACH_NEAR`.
NEAR = 2.0
#: The most standard errors the interval reaches above the coefficient.
REACH_NEAR = 3.5


def _storage_of_bound(steps: torch.Tensor | Trials) -> float:
    """The storage ``-1/2 log(1 - a^2)`` of a Gaussian AR(1) whose coefficient is the series' lag-1
    coefficient :data:`REACH` to :data:`REACH_NEAR` of its standard errors up
    (:func:`~iblearn.estimation.series.lag_one_bound`; beyond :data:`REACH`, at most to 1 - 1 / n,
    where ``n (1 - a)`` is 1, the scale on which n steps tell a root from 1); 0 where that lies at or
    below 0, and ``-inf`` (no reach) where the bound is 1, a unit root, where no interval holds.

    Near the unit-root check's threshold the check itself selects: of the series of a coefficient at
    or above the threshold, it passes only those that read low (AR(0.97), 500 steps: 5 of 200), and a
    reach of two standard errors misses the truth in most of those it passes (all 5; AR(0.95): 7 of
    the 42 passed, against 1 of 42 with this reach). The reach grows by one standard error for each
    one the bound lies closer than :data:`NEAR` below the threshold, to :data:`REACH_NEAR` at it;
    farther from the threshold it is :data:`REACH`, as it is where the check fails. The figures are in
    ``benchmarks/reliable_misses.py``'s results."""
    a, upper = lag_one_bound(steps)
    n = sum(t.numel() for t in ([steps] if isinstance(steps, torch.Tensor) else steps))
    stderr = math.sqrt(max(1 - a * a, 0.0) / n)
    if upper >= 1:
        return -math.inf
    below = (unit_root_threshold(n) - upper) / stderr if stderr > 0 else math.inf
    # Past the threshold the check has failed, and there is no selection to make up for.
    k = REACH if below < 0 else min(REACH + max(0.0, NEAR - below), REACH_NEAR)
    reach = min(a + k * stderr, max(upper, 1 - 1 / n))
    return -0.5 * math.log1p(-reach * reach) if reach > 0 else 0.0
