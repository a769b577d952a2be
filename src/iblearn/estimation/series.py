"""Transfer entropy for the front door: the series path, chosen from the data and checked as series.

``method="auto"`` reads the lagged samples the transfer entropy is computed from (the source's past, the
target's present, the target's past and any condition's past) by the rule of the measures among many
variables (:func:`iblearn.estimation.choose.choose_many`): where they look jointly Gaussian, the
Gaussian conditional MI ``-1/2 log(1 - r^2)`` of the partial correlation (transfer entropy is Granger
causality for Gaussian variables, Barnett, Barrett & Seth 2009, eq. 4); where the normal scores of
each series look jointly Gaussian, the same of the scores (the Gaussian copula: a monotone map of a
series leaves every transfer entropy as it is, and warps and heavy tails become Gaussian); anything
else, KSG's conditional MI with the target's past partialled out
(:func:`iblearn.functional.transfer_entropy_estimate`) on each series' normal scores, as warps and
heavy tails bias the neighbour counts on the values as given. Every choice has the blockwise
jackknife's interval over blocks as long as the series' autocorrelation asks
(:func:`iblearn.functional.serial.series_blocks`), and is checked as a series allows: the source
circularly shifted against the target by more than a block (a shift keeps each series whole and breaks
only their alignment) reads about 0 by the same method, the trend from half the blocks to all of them
stays within the tolerance, and no estimate exceeds log N. Rows of a series are not exchangeable, so
the row-shuffling checks of :mod:`iblearn.estimation.autocheck` do not apply.

Trials (a list of 1-D arrays, one a trial) are each embedded alone, no lag reaching into another
trial, and their lagged samples pooled; the interval's blocks never straddle two trials (whole trials
from :data:`~iblearn.functional.serial.MIN_TRIALS` of them), and the shifted source is shifted within
each trial, on the first half of the trials.

With a ``condition`` (other series whose past may explain the transfer), the estimate is
I(target_t; source_{t-lag} | target's past, condition's past), the condition's ``history`` past steps
beside the target's.

Reference:
    L. Barnett, A. B. Barrett, A. K. Seth. Granger causality and transfer entropy are equivalent for
    Gaussian variables. Phys. Rev. Lett. 103, 238701 (2009).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypedDict, Unpack

import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn import functional as ibf
from iblearn._settings import setting
from iblearn.estimation.autocheck import Check
from iblearn.estimation.choose import choose_many
from iblearn.estimation.verdict import DRIFT, series_figures_verdict, series_verdict
from iblearn.functional import Estimate, inference
from iblearn.functional.cmi_surrogates import KSGCMI, GaussianCMI, condition
from iblearn.functional.information_dynamics import (
    NULLS,
    blockwise_fields,
    matched_trials,
    null_kind,
    permutation_fields,
    trials_of,
)
from iblearn.functional.knn.engine import KNNKeywords
from iblearn.functional.knn.transfer import embedding, partialled, within_series
from iblearn.functional.multivariate.inputs import copula_normal
from iblearn.functional.scale import power_of_two_scale
from iblearn.functional.serial import MIN_BLOCKS

__all__ = [
    "DRIFT_Z",
    "SeriesKeywords",
    "SeriesOptions",
    "Trials",
    "drift_checks",
    "lag_one_bound",
    "normal_scores",
    "te_auto",
    "te_method",
    "unit_root_check",
    "unit_root_threshold",
]

#: Halves of the blocks behind the automatic estimate's standard error, by method: KSG's each cost
#: about half an estimate, and with the shifted half the whole stays within four estimates; the closed
#: forms' cost little.
RESAMPLES = {"ksg": 4, "gaussian": 50, "copula": 50}
METHODS = ("ksg", "gaussian", "copula")
#: The most lagged samples an estimate refuses, the automatic one or a named method's: on fewer than
#: about a dozen, half of the blocks behind an interval leave KSG no k neighbours, or every resample
#: reads the same (series of 10 to 30 steps, 15 seeds, Gaussian and warped: all of 11 rows and more
#: estimated, some of 10 not).
FEWEST_ROWS = 10
#: The nulls a transfer entropy's p-value takes (:func:`te_method`).
CHOICES = ("auto", *NULLS, "local")
#: A variable's trials, each ``(T_r, d)``: one series is one trial.
Trials = list[Tensor]
_CEILING = "no transfer entropy exceeds log N"
#: How each choice estimates the transfer entropy, as the report says it.
_HOW = {
    "gaussian": "the Gaussian conditional MI (Granger causality) of the series as given",
    "copula": "the Gaussian conditional MI of each series' normal scores (Gaussian copula)",
    "ksg": "KSG's conditional MI of each series' normal scores, the target's past partialled out",
}


class SeriesKeywords(TypedDict, total=False):
    """The options transfer entropy's automatic estimate takes as ``**options``, and its named method
    beside the estimator's own.

    Keys:
        lag: steps from the source's past to the target's present.
        history: past steps of the target (and of the condition).
        k: neighbours (KSG).
        seed: seeds the resamples and the jitter.
    """

    lag: int
    history: int
    k: int
    seed: int


@dataclass(frozen=True)
class SeriesOptions:
    """:class:`SeriesKeywords` with their defaults."""

    lag: int = 1
    history: int = 1
    k: int = 3
    seed: int = 0


def normal_scores(value: Any, name: str) -> Tensor:
    """Each column of the series ``value`` replaced by its normal scores (``(T, d)`` float64): a
    monotone map of it, which leaves every transfer entropy and information storage as it is."""
    return copula_normal(V.series(value, name).double())


def te_method(source: Any, target: Any, *, method: str, condition: Any = None, **options: Any) -> Estimate:
    """Transfer entropy by a named method: ``"ksg"``, :func:`iblearn.functional.transfer_entropy_estimate`
    (:class:`SeriesKeywords`, ``n_resamples``, and ``n_permutations``, ``null`` (``"local"``, the default for
    ``"auto"``, or ``"shift"``), ``standardize``, ``ties``, ``backend``, ``n_jobs`` as there); ``"gaussian"``
    or ``"copula"``, the Gaussian conditional MI of the lagged samples (of each series' normal scores for
    ``"copula"``), with :class:`SeriesKeywords`, ``n_resamples`` and ``n_permutations``, ``null``. Of trials
    (lists of 1-D arrays, one a trial; module notes), or with a condition, ``"ksg"`` reads each series' normal
    scores and takes those four.

    The p-value of those four is against surrogates of the source
    (:func:`~iblearn.functional.information_dynamics.null_kind`): ``null="trials"``, the source's trials
    permuted against the target's; ``"shift"``, the source shifted within each trial (or the one series);
    ``"auto"``, the first where there are at least :data:`~iblearn.functional.serial.MIN_TRIALS` trials of one
    length, else the second; ``"local"`` is KSG's of one series alone, and refused elsewhere, naming why. The
    Gaussian estimate's own law (``2 N TE``, chi-squared, Granger's likelihood ratio) holds only where the
    target's ``history`` whitens its residuals, which an autocorrelated target's need not; the surrogates keep
    each series' dynamics whatever they are."""
    V.choice(method, "method", METHODS)
    trials = trials_of(source, "source") is not None or trials_of(target, "target") is not None
    null = V.null_asked(
        V.choice(options.get("null", "auto"), "null", CHOICES), options.get("n_permutations", 0), "auto"
    )
    if null == "local" and (method != "ksg" or condition is not None or trials):
        _refuse_local(f"method={method!r}" if method != "ksg" else _not_one_series(condition))
    n_resamples = options.pop("n_resamples", 0)
    o = SeriesOptions(**{key: options.pop(key) for key in SeriesKeywords.__annotations__ if key in options})
    est: Estimate
    if method != "ksg" or condition is not None or trials:
        permutations = (options.pop("n_permutations", 0), options.pop("null", "auto"))
        if options:
            what = f"method={method!r}"
            if method == "ksg":
                what = (
                    "a conditional transfer entropy"
                    if condition is not None
                    else "a transfer entropy of trials"
                )
            raise ValueError(f"{sorted(options)[0]}: not an option of {what}")
        series = _series(source, target, condition, method)
        est = _lagged_estimate(*series, o.lag, o.history, o.k, method, n_resamples, o.seed, permutations)
    else:
        known = ("n_permutations", "null", "n_jobs", *KNNKeywords.__annotations__)
        if unknown := [key for key in options if key not in known]:
            taken = sorted({"n_resamples", *SeriesKeywords.__annotations__, *known})
            raise ValueError(f"{unknown[0]}: not an option of method='ksg'; it takes {', '.join(taken)}")
        if null in ("auto", "trials"):  # one series: "trials" is refused, naming why
            options["null"] = (
                "local" if null == "auto" else null_kind(null, (1,), options.get("n_permutations", 0))
            )
        est = ibf.transfer_entropy_estimate(
            source, target, o.lag, o.history, o.k, n_resamples=n_resamples, seed=o.seed, **options
        )
    return series_figures_verdict(est, _names(condition))


def te_auto(
    source: Any,
    target: Any,
    *,
    condition: Any = None,
    n_permutations: int = 0,
    null: str = "auto",
    **options: Unpack[SeriesKeywords],
) -> Estimate:
    """Transfer entropy from ``source`` to ``target`` (given ``condition``), by the method the lagged
    samples ask for, checked as series (module notes), with the blockwise interval; with
    ``n_permutations``, the p-value of the chosen method against that many surrogates of the source, of
    the kind ``null`` as :func:`te_method` takes it (``"auto"``, ``"trials"``, ``"shift"``; KSG of one
    series without a condition keeps its own local permutation for ``"auto"``, and ``"local"`` asks for
    it: refused where the choice is another method, or the series are trials or conditioned). The test
    leaves the choice, the checks, the interval and the verdict as they are without it.

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(1000, 1, generator=g)
        >>> y = torch.cat([torch.zeros(1, 1), 0.8 * x[:-1]]) + 0.6 * torch.randn(1000, 1, generator=g)
        >>> est = te_auto(x ** 3, y)  # a warped source: its normal scores are Gaussian
        >>> est.report.chosen, est.reliable, est.interval[0] < 0.51 < est.interval[1]
        ('copula', True, True)
    """
    o = SeriesOptions(**options)
    lag, history, k, seed = o.lag, o.history, o.k, setting("seed", o.seed)
    series = _series(source, target, condition, "gaussian")
    within_series(min(len(t) for t in series[1]), lag, history)
    _enough_rows(series[1], lag, history)
    drift = drift_checks(dict(zip(("source", "target", "condition"), series, strict=True)))
    n_permutations = setting("n_permutations", n_permutations)
    permutations = (n_permutations, V.null_asked(V.choice(null, "null", CHOICES), n_permutations, "auto"))
    if null != "local":  # refused before any estimate
        null_kind(null, _segments(series[1], lag, history), permutations[0])
    elif condition is not None or len(series[1]) > 1:
        _refuse_local(_not_one_series(condition))
    present, past_source, given = _lagged(*series, lag, history, k)
    if condition is not None and _explained(past_source, given):
        raise ValueError(
            "condition: its past holds the source's past (a linear function of it to float64's "
            "resolution), so the transfer entropy given it is 0 by construction and has no interval to "
            "estimate; leave the source out of condition"
        )
    names = "source's past, target's present, target's past" + (
        ", condition's past" * (condition is not None)
    )
    lagged = torch.cat([past_source, present, given], 1).double()
    chosen, rule, feats = choose_many(
        lagged, responses=range(past_source.shape[1], lagged.shape[1] - given.shape[1])
    )
    if null == "local" and chosen != "ksg":
        _refuse_local(f"method='auto' chose {chosen!r} for these series (pass method='ksg' to test KSG's)")
    src, tgt, cond = _series(source, target, condition, chosen)
    if chosen == "ksg" and cond is None and len(tgt) == 1:
        est = ibf.transfer_entropy_estimate(
            src[0], tgt[0], lag, history, k, n_resamples=RESAMPLES["ksg"], seed=seed,
            n_permutations=permutations[0], null="shift" if null == "shift" else "local",
        )  # fmt: skip
    else:
        est = _lagged_estimate(src, tgt, cond, lag, history, k, chosen, RESAMPLES[chosen], seed, permutations)
    if len(tgt) == 1:
        n, what, counted = len(tgt[0]), "series", dict[str, float]()
    else:  # trials, each shifted within itself
        n, counted = est.n_samples, {"trials": float(len(tgt))}
        what = f"series of {int(counted['trials'])} trials, their embedded rows pooled"
    src, tgt, cond = _half(src, tgt, cond)

    def shifted() -> float:
        # The source shifted by half of each piece (more than a block) on half of the series, or of the
        # trials.
        moved = [torch.roll(t, max(len(t) // 2, 1), 0) for t in src]
        return _cmi_of_rows(_lagged(moved, tgt, cond, lag, history, k), k, chosen, seed)[0](slice(None))

    est = series_figures_verdict(est, _names(condition))
    why = f"{what}, the lagged samples ({names}) by the rule: {rule.rsplit(': ', 1)[0]}; {_HOW[chosen]}"
    shift_text = (
        "the source circularly shifted against the target (on half the series) reads about 0"
        if not counted
        else "the source circularly shifted within each trial (on half the trials) reads about 0"
    )
    probe = ("independence", "shifted", shifted, shift_text)
    return series_verdict(
        est, n, probe, _CEILING, why, chosen=chosen, features={**feats, **counted}, more=drift
    )


def _half(source: Trials, target: Trials, condition: Trials | None) -> tuple[Trials, Trials, Trials | None]:
    """The half of the series (of one series its first steps, of trials its first trials) that the
    shifted source is checked on: the first half, or where a series is constant there (a recording
    flat until its onset, on which no estimate runs) the last half, else all of it."""
    single = len(target) == 1
    n = len(target[0]) if single else len(target)
    half = n // 2 if single else -(-n // 2)

    def cut(trials: Trials, part: slice) -> Trials:
        return [trials[0][part]] if single else trials[part]

    for part in (slice(0, half), slice(n - half, n)):
        src, tgt = cut(source, part), cut(target, part)
        cond = None if condition is None else cut(condition, part)
        if not any(v is not None and _constant(v) for v in (src, tgt, cond)):
            return src, tgt, cond
    return source, target, condition


def _constant(trials: Trials) -> bool:
    """Whether a column of the pooled ``trials`` holds one value."""
    pooled = torch.cat(trials)
    return bool((pooled == pooled[0]).all(0).any())


def _not_one_series(condition: Any) -> str:
    return "a condition is given" if condition is not None else "these are trials"


def _refuse_local(why: str) -> None:
    """Refuse ``null="local"`` where the estimate is not KSG's of one series without a condition, the
    one whose surrogates permute the source's past locally (:func:`iblearn.functional.transfer_entropy_test`),
    saying ``why``."""
    raise ValueError(
        "null: 'local' (the source's past permuted among neighbours in the target's past) is the null of "
        f"KSG's transfer entropy of one series without a condition, but {why}; use null='auto', "
        "'trials' or 'shift'"
    )


def _names(condition: Any) -> tuple[str, ...]:
    """The series of a transfer entropy, as its verdict names them."""
    return ("source", "target") if condition is None else ("source", "target", "condition")


def lag_one_bound(series: Tensor | Trials) -> tuple[float, float]:
    """The lag-1 least-squares coefficient ``a`` of the series (``(T,)``, or trials of it: the pairs of
    successive steps of every trial pooled, about their pooled mean, T their steps), less its downward
    bias (1 + 3a) / T (Kendall 1954), and its upper bound two standard errors up, ``a + 2 sqrt((1 -
    a^2) / T)`` (at most 1): from 500 to 2,000 AR(1) series at a = 0.5 to 0.97 and T = 300 to 1,000,
    the coefficient lies above its bound in 1.7 - 2.5% of them."""
    trials = [series] if isinstance(series, Tensor) else series
    lengths = [t.numel() for t in trials]
    x = torch.cat([t.detach().double().cpu().reshape(-1) for t in trials])
    x = x / power_of_two_scale(x)  # exact, and no square of 1e-200 vanishes nor of 1e200 overflows
    x = x - x.mean()
    n = len(x)
    pieces = torch.split(x, lengths)
    denominator = sum(float(p[:-1] @ p[:-1]) for p in pieces)
    a = sum(float(p[1:] @ p[:-1]) for p in pieces) / denominator if denominator > 0 else 0.0
    a = a + (1 + 3 * a) / n
    return a, min(a + 2 * math.sqrt(max(1 - a * a, 0.0) / n), 1.0)


def unit_root_threshold(n: int) -> float:
    """The largest upper bound of the lag-1 coefficient of a series of ``n`` steps that
    :func:`unit_root_check` passes: ``(n - MIN_BLOCKS) / (n + MIN_BLOCKS)``, where ``n (1 - a) / (1 + a)``
    leaves :data:`~iblearn.functional.serial.MIN_BLOCKS` effective samples."""
    return (n - MIN_BLOCKS) / (n + MIN_BLOCKS)


def unit_root_check(series: Tensor | Trials) -> Check:
    """Whether the series (``(T,)``, or trials of it, whose steps pooled are T) is clear of a unit
    root: the upper bound of its lag-1 coefficient (:func:`lag_one_bound`) leaves at least
    :data:`~iblearn.functional.serial.MIN_BLOCKS` effective samples ``T (1 - a) / (1 + a)``. Near a
    root of 1 the coefficient's law is not normal (Dickey & Fuller 1979) and the storage, about
    ``-1/2 log(1 - a^2)``, turns on where in that law the sample fell: an AR(0.99) of 500 steps reads
    1.2 - 2.1 nats for a truth of 1.96, and no blockwise interval holds it.
    """
    a, upper = lag_one_bound(series)
    n = sum(t.numel() for t in ([series] if isinstance(series, Tensor) else series))
    effective = n * (1 - upper) / (1 + upper)
    return Check(
        "unit root",
        upper <= unit_root_threshold(n),
        {"lag-1 coefficient": a, "its upper bound": upper, "effective samples": effective},
        f"the series' lag-1 coefficient, two standard errors up, leaves at least {MIN_BLOCKS} effective "
        "samples T (1 - a) / (1 + a); nearer a root of 1 no interval of the storage holds",
    )


#: Standard errors by which the means of a series' two halves may differ before its mean is taken to drift.
DRIFT_Z = 4.0


def drift_checks(series: dict[str, Trials | None]) -> dict[str, Check]:
    """The check, under :data:`~iblearn.estimation.verdict.DRIFT`, that the mean of each of ``series``
    (name: its trials, ``(T,)`` or ``(T, d)``; None: not given) holds still: the means of its first and
    second halves differ by at most :data:`DRIFT_Z` standard errors of that difference, the variance
    of a half's mean of m steps read as an AR(1)'s, ``s^2 (1 + a) / ((1 - a) m)``, with ``a`` the
    series' lag-1 coefficient (:func:`lag_one_bound`, at least 0; a trend raises it, and so the
    allowance). A series with a trend has no stationary law: its pooled estimate follows the length
    of the series, and no blockwise interval holds it (an AR(0.5) with a trend of 0.005 a step, N =
    1,000: the storage's interval missed its stationary truth in 28 of 40 runs the other checks
    passed, ``benchmarks/reliable_misses.py``). Empty for trials: a mean that moves within each
    trial, the same in every trial, is the ensemble's, which the pooled replications estimate."""
    given = [trials for trials in series.values() if trials is not None]
    if any(len(trials) > 1 for trials in given):
        return {}
    worst = 0.0
    for (t,) in given:
        x = t.detach().double().cpu().reshape(len(t), -1)
        m = len(x) // 2
        for column in x.T:
            a = min(max(lag_one_bound(column)[0], 0.0), 1.0)
            first, second = column[:m], column[-m:]
            spread = float(first.var() + second.var()) / 2
            if a >= 1.0 or not spread > 0:
                continue  # a unit root (its own check) or a flat half: no standard error to read in
            error = math.sqrt(2 * spread * (1 + a) / ((1 - a) * m))
            worst = max(worst, abs(float(first.mean() - second.mean())) / error)
    check = Check(
        DRIFT,
        worst <= DRIFT_Z,
        {"largest shift of the halves' means, in standard errors": worst},
        f"the means of each series' two halves differ by at most {DRIFT_Z:g} standard errors (a trend "
        "leaves no stationary law to estimate)",
    )
    return {DRIFT: check}


def _trials(value: Any, name: str) -> Trials:
    """``value``'s trials (:func:`~iblearn.functional.information_dynamics.trials_of`), each read as
    ``(T_r, d)`` float64; one series is one trial."""
    pieces = trials_of(value, name)
    if pieces is None:
        return [V.series(value, name).double()]
    return [V.series(p, f"{name}[{r}]").double() for r, p in enumerate(pieces)]


def _series(source: Any, target: Any, condition: Any, method: str) -> tuple[Trials, Trials, Trials | None]:
    """The series a ``method`` reads, as trials: as given (float64, each in units of an exact power of
    two, so that no square of a value of 1e-200 or 1e200 vanishes or overflows) for ``"gaussian"``,
    else each series' normal scores, of its values pooled over the trials."""

    def take(value: Any, name: str) -> Trials:
        trials = _trials(value, name)
        pooled = torch.cat(trials)
        pooled = pooled / power_of_two_scale(pooled) if method == "gaussian" else copula_normal(pooled)
        return list(torch.split(pooled, [len(t) for t in trials]))

    cond = None if condition is None else take(condition, "condition")
    src, tgt = take(source, "source"), take(target, "target")
    given = [("source", src), ("target", tgt)] + ([] if cond is None else [("condition", cond)])
    if all(len(trials) == 1 for _, trials in given):
        V.same_length(*((name, trials[0]) for name, trials in given))
    for name, trials in given[::2]:  # the source and the condition, against the target
        matched_trials(name, trials, tgt, "target")
    return src, tgt, cond


def _lagged(
    source: Trials, target: Trials, condition: Trials | None, lag: int, history: int, k: int
) -> tuple[Tensor, Tensor, Tensor]:
    """The target's present, the source's past, and the target's past with the condition's ``history``
    past steps beside it: the samples of the (conditional) transfer entropy, each trial embedded alone
    (no lag reaches into another trial) and the rows pooled, trials in order."""
    parts = []
    for r in range(len(target)):
        present, past_source, given = embedding(source[r], target[r], lag, history, k)
        if condition is not None:
            given = torch.cat([given, embedding(source[r], condition[r], lag, history, k)[2]], 1)
        parts.append((present, past_source, given))
    if len(parts) == 1:
        return parts[0]
    present, past_source, given = (torch.cat(column) for column in zip(*parts, strict=True))
    return present, past_source, given


def _enough_rows(target: Trials, lag: int, history: int) -> None:
    """Refuse :data:`FEWEST_ROWS` lagged samples or fewer, naming the target and its lags."""
    rows = sum(_segments(target, lag, history))
    if rows <= FEWEST_ROWS:
        raise ValueError(
            f"target: lag={lag} and history={history} leave {rows} lagged samples of its "
            f"{sum(len(t) for t in target)} steps; an estimate and its blockwise interval need more than "
            f"{FEWEST_ROWS}: give a longer series (or more trials)"
        )


def _segments(target: Trials, lag: int, history: int) -> tuple[int, ...]:
    """The embedded rows each trial gives (:func:`_lagged`), in order."""
    return tuple(len(t) - max(lag, history) for t in target)


def _cmi_of_rows(
    samples: tuple[Tensor, Tensor, Tensor], k: int, method: str, seed: int
) -> tuple[Callable[[Any], float], int]:
    """``I(present; source's past | given)`` by ``method`` on any rows of the lagged ``samples``, and
    how many rows there are. KSG reads the present and the source's past less their linear fit on the
    given past (:func:`~iblearn.functional.knn.transfer.partialled`, which leaves the conditional MI as
    it is); the Gaussian conditional MI is that of the partial correlation."""
    present, past_source, given = partialled(*samples) if method == "ksg" else samples

    def cmi(rows: Any) -> float:
        x, y, z = present[rows], past_source[rows], given[rows]
        return float(ibf.ksg_cmi(x, y, z, k, seed=seed) if method == "ksg" else ibf.gaussian_cmi(x, y, z))

    return cmi, len(present)


def _explained(y: Tensor, *given: Tensor) -> bool:
    """Whether ``y`` is a linear function of ``given`` to float64's resolution: its residual variance
    below 1e-12 of its variance (its Gaussian conditional MI would be a log of round-off)."""
    y = y.double().reshape(len(y), -1)
    design = torch.cat([torch.ones(len(y), 1, dtype=torch.float64), *(g.double() for g in given)], 1)
    y = y - y.mean(0)
    residual = y - design @ torch.linalg.lstsq(design, y).solution
    return bool((residual.square().sum(0) <= 1e-12 * y.square().sum(0).clamp_min(1e-300)).all())


def _determined(present: Tensor, past_source: Tensor, given: Tensor) -> bool:
    """Whether the present is a linear function of the source's past and the given past (an infinite
    transfer entropy); a ValueError naming ``target`` where the given past alone fixes it, which leaves
    the source nothing to tell (the transfer entropy is undefined, 0 over 0)."""
    if _explained(present, given):
        raise ValueError(
            "target: its present is a linear function of its own past (and the condition's) to float64's "
            "resolution, so no uncertainty is left for the source to reduce: its transfer entropy is "
            "undefined; add the noise the process has, or use a longer history only where it is noisy"
        )
    return _explained(present, past_source, given)


def _lagged_estimate(
    source: Trials,
    target: Trials,
    condition: Trials | None,
    lag: int,
    history: int,
    k: int,
    method: str,
    n_resamples: int,
    seed: int,
    permutations: tuple[int, str] = (0, "auto"),
) -> Estimate:
    """The transfer entropy of the lagged samples of the series (:func:`_lagged`) by ``method``
    (:func:`_cmi_of_rows`), with the blockwise jackknife's interval from ``n_resamples`` halves of the
    blocks (none where 0), each block as long as the series' autocorrelation asks, and with
    ``permutations`` (``(n_permutations, null)``) a p-value against that many surrogates of the
    source's past (:func:`_p_value`); in
    ``report.features``, ``"determined"`` where the pasts determine the target (an infinite transfer
    entropy) and the figures of a mixing too slow for enough blocks
    (:func:`~iblearn.functional.serial.slow_figures`), which the verdict reads
    (:func:`~iblearn.estimation.verdict.series_figures_verdict`). Rows pooled from trials are resampled
    in blocks that never straddle two trials (:func:`~iblearn.functional.serial.trial_blocks`: whole
    trials where there are enough of them)."""
    segments = _segments(target, lag, history)
    n_permutations, null = permutations
    kind = null_kind(null, segments, n_permutations)
    if n_permutations and target[0].shape[1] != 1:
        raise ValueError(
            f"target: a p-value (n_permutations) reads a target of one column, got {target[0].shape[1]}"
        )
    samples = _lagged(source, target, condition, lag, history, k)
    _enough_rows(target, lag, history)
    te, n = _cmi_of_rows(samples, k, method, seed)
    if _determined(*samples):
        est = Estimate(
            torch.tensor(math.inf, dtype=torch.float64),
            n,
            method,
            measure="transfer_entropy",
            stderr=0.0,
            interval=(math.inf, math.inf),
            confidence=inference.CONFIDENCE,
        )
        return replace(est, report=replace(est.report, features={"determined": 1.0}))
    value = te(slice(None))
    fields: dict[str, Any] = {}
    slow: dict[str, float] = {}
    if n_resamples:
        series = [torch.cat(v) for v in (source, target, condition) if v is not None]
        # The Gaussian conditional MI's local values are its influence (their mean is the estimate).
        terms = None if method == "ksg" else ibf.gaussian_cmi(*samples, local=True).numpy()
        fields, slow = blockwise_fields(te, value, series, segments, n_resamples, seed, terms)
    if n_permutations:
        fields |= _p_value(samples, k, method, (segments, n_permutations, kind, seed))
    est = Estimate(torch.tensor(value, dtype=torch.float64), n, method, measure="transfer_entropy", **fields)
    return replace(est, report=replace(est.report, features=slow)) if slow else est


def _p_value(
    samples: tuple[Tensor, Tensor, Tensor], k: int, method: str, plan: tuple[tuple[int, ...], int, str, int]
) -> dict[str, Any]:
    """The p-value of the transfer entropy of the lagged ``samples`` (a target of one column) against
    surrogates of the source's past (``plan``:
    :func:`~iblearn.functional.information_dynamics.permutation_fields`), the estimate and its
    surrogates by one estimator: KSG's (with ``k``) or the Gaussian one, on the residuals of the given
    past."""
    present, past_source, given = (t.detach().cpu().numpy() for t in samples)
    eng = KSGCMI(k) if method == "ksg" else GaussianCMI()
    cond = condition(present[:, 0], given)
    return permutation_fields(eng, cond, past_source, eng.value(cond, past_source), plan)
