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
from iblearn.estimation.verdict import series_figures_verdict, series_verdict
from iblearn.functional import Estimate, inference
from iblearn.functional.knn.transfer import embedding, partialled
from iblearn.functional.multivariate.inputs import copula_normal
from iblearn.functional.scale import power_of_two_scale
from iblearn.functional.serial import MIN_BLOCKS, series_blocks

__all__ = [
    "SeriesKeywords",
    "SeriesOptions",
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
    return copula_normal(V.continuous(value, name).double())


def te_method(source: Any, target: Any, *, method: str, condition: Any = None, **options: Any) -> Estimate:
    """Transfer entropy by a named method: ``"ksg"``, :func:`iblearn.functional.transfer_entropy_estimate`
    (:class:`SeriesKeywords`, ``n_resamples``, and ``n_permutations``, ``null``, ``standardize``,
    ``ties``, ``backend``, ``n_jobs`` as there); ``"gaussian"`` or ``"copula"``, the Gaussian
    conditional MI of the lagged samples (of each series' normal scores for ``"copula"``), with
    :class:`SeriesKeywords` and ``n_resamples``."""
    V.choice(method, "method", METHODS)
    n_resamples = options.pop("n_resamples", 0)
    o = SeriesOptions(**{key: options.pop(key) for key in SeriesKeywords.__annotations__ if key in options})
    est: Estimate
    if method != "ksg" or condition is not None:
        if options:
            what = "a conditional transfer entropy" if method == "ksg" else f"method={method!r}"
            raise ValueError(f"{sorted(options)[0]}: not an option of {what}")
        series = _series(source, target, condition, method)
        est = _lagged_estimate(*series, o.lag, o.history, o.k, method, n_resamples, o.seed)
    else:
        est = ibf.transfer_entropy_estimate(
            source, target, o.lag, o.history, o.k, n_resamples=n_resamples, seed=o.seed, **options
        )
    return series_figures_verdict(est, _names(condition))


def te_auto(
    source: Any, target: Any, *, condition: Any = None, **options: Unpack[SeriesKeywords]
) -> Estimate:
    """Transfer entropy from ``source`` to ``target`` (given ``condition``), by the method the lagged
    samples ask for, checked as series (module notes), with the blockwise interval.

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
    present, past_source, given = _lagged(*_series(source, target, condition, "gaussian"), lag, history, k)
    names = "source's past, target's present, target's past" + (
        ", condition's past" * (condition is not None)
    )
    lagged = torch.cat([past_source, present, given], 1).double()
    chosen, rule, feats = choose_many(
        lagged, responses=range(past_source.shape[1], lagged.shape[1] - given.shape[1])
    )
    src, tgt, cond = _series(source, target, condition, chosen)
    if chosen == "ksg" and cond is None:
        est = ibf.transfer_entropy_estimate(
            src, tgt, lag, history, k, n_resamples=RESAMPLES["ksg"], seed=seed
        )
    else:
        est = _lagged_estimate(src, tgt, cond, lag, history, k, chosen, RESAMPLES[chosen], seed)
    n, half = len(src), len(src) // 2

    def shifted() -> float:
        # The source shifted by a quarter of the series (more than a block) on its first half.
        shifted_source = torch.roll(src[:half], max(half // 2, 1), 0)
        samples = _lagged(shifted_source, tgt[:half], None if cond is None else cond[:half], lag, history, k)
        return _cmi_of_rows(samples, k, chosen, seed)[0](slice(None))

    est = series_figures_verdict(est, _names(condition))
    why = f"series, the lagged samples ({names}) by the rule: {rule.rsplit(': ', 1)[0]}; {_HOW[chosen]}"
    shift_text = "the source circularly shifted against the target (on half the series) reads about 0"
    probe = ("independence", "shifted", shifted, shift_text)
    return series_verdict(est, n, probe, _CEILING, why, chosen=chosen, features=feats)


def _names(condition: Any) -> tuple[str, ...]:
    """The series of a transfer entropy, as its verdict names them."""
    return ("source", "target") if condition is None else ("source", "target", "condition")


def lag_one_bound(series: Tensor) -> tuple[float, float]:
    """The lag-1 least-squares coefficient ``a`` of the series (``(T,)``), less its downward bias
    (1 + 3a) / T (Kendall 1954), and its upper bound two standard errors up, ``a + 2 sqrt((1 - a^2) /
    T)`` (at most 1): from 500 to 2,000 AR(1) series at a = 0.5 to 0.97 and T = 300 to 1,000, the
    coefficient lies above its bound in 1.7 - 2.5% of them."""
    x = series.detach().double().cpu().reshape(-1)
    x = x / power_of_two_scale(x)  # exact, and no square of 1e-200 vanishes nor of 1e200 overflows
    x = x - x.mean()
    n = len(x)
    denominator = float(x[:-1] @ x[:-1])
    a = float(x[1:] @ x[:-1]) / denominator if denominator > 0 else 0.0
    a = a + (1 + 3 * a) / n
    return a, min(a + 2 * math.sqrt(max(1 - a * a, 0.0) / n), 1.0)


def unit_root_threshold(n: int) -> float:
    """The largest upper bound of the lag-1 coefficient of a series of ``n`` steps that
    :func:`unit_root_check` passes: ``(n - MIN_BLOCKS) / (n + MIN_BLOCKS)``, where ``n (1 - a) / (1 + a)``
    leaves :data:`~iblearn.functional.serial.MIN_BLOCKS` effective samples."""
    return (n - MIN_BLOCKS) / (n + MIN_BLOCKS)


def unit_root_check(series: Tensor) -> Check:
    """Whether the series (``(T,)``) is clear of a unit root: the upper bound of its lag-1 coefficient
    (:func:`lag_one_bound`) leaves at least :data:`~iblearn.functional.serial.MIN_BLOCKS` effective
    samples ``T (1 - a) / (1 + a)``. Near a root of 1 the coefficient's law is not normal (Dickey &
    Fuller 1979) and the storage, about ``-1/2 log(1 - a^2)``, turns on where in that law the sample
    fell: an AR(0.99) of 500 steps reads 1.2 - 2.1 nats for a truth of 1.96, and no blockwise interval
    holds it.
    """
    a, upper = lag_one_bound(series)
    n = series.numel()
    effective = n * (1 - upper) / (1 + upper)
    return Check(
        "unit root",
        upper <= unit_root_threshold(n),
        {"lag-1 coefficient": a, "its upper bound": upper, "effective samples": effective},
        f"the series' lag-1 coefficient, two standard errors up, leaves at least {MIN_BLOCKS} effective "
        "samples T (1 - a) / (1 + a); nearer a root of 1 no interval of the storage holds",
    )


def _series(source: Any, target: Any, condition: Any, method: str) -> tuple[Tensor, Tensor, Tensor | None]:
    """The series a ``method`` reads: as given (float64, each in units of an exact power of two, so that
    no square of a value of 1e-200 or 1e200 vanishes or overflows) for ``"gaussian"``, else each series'
    normal scores."""

    def as_given(value: Any, name: str) -> Tensor:
        t = V.continuous(value, name).double()
        return t / power_of_two_scale(t)

    take = as_given if method == "gaussian" else normal_scores
    cond = None if condition is None else take(condition, "condition")
    src, tgt = take(source, "source"), take(target, "target")
    V.same_length(("source", src), ("target", tgt), *(() if cond is None else (("condition", cond),)))
    return src, tgt, cond


def _lagged(
    source: Tensor, target: Tensor, condition: Tensor | None, lag: int, history: int, k: int
) -> tuple[Tensor, Tensor, Tensor]:
    """The target's present, the source's past, and the target's past with the condition's ``history``
    past steps beside it: the samples of the (conditional) transfer entropy."""
    present, past_source, given = embedding(source, target, lag, history, k)
    if condition is not None:
        given = torch.cat([given, embedding(source, condition, lag, history, k)[2]], 1)
    return present, past_source, given


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
    source: Tensor,
    target: Tensor,
    condition: Tensor | None,
    lag: int,
    history: int,
    k: int,
    method: str,
    n_resamples: int,
    seed: int,
) -> Estimate:
    """The transfer entropy of the lagged samples of the series (:func:`_lagged`) by ``method``
    (:func:`_cmi_of_rows`), with the blockwise jackknife's interval from ``n_resamples`` halves of the
    blocks (none where 0), each block as long as the series' autocorrelation asks; in
    ``report.features``, ``"determined"`` where the pasts determine the target (an infinite transfer
    entropy) and the figures of a mixing too slow for enough blocks
    (:func:`~iblearn.functional.serial.slow_figures`), which the verdict reads
    (:func:`~iblearn.estimation.verdict.series_figures_verdict`)."""
    samples = _lagged(source, target, condition, lag, history, k)
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
        series = [source, target] + ([] if condition is None else [condition])
        block, slow = series_blocks(series, n)
        res = inference.resampled(te, n, n_resamples, "block", seed, block)
        # A blockwise spread rests on the blocks: with fewer blocks than resamples, theirs are its
        # degrees of freedom.
        span, bias = inference.interval(
            value, res.stderr, half=res.half, n_resamples=min(res.n_resamples, -(-n // block)), floor=0.0
        )
        fields = dict(
            stderr=res.stderr,
            stderr_method=res.method,
            interval=span,
            confidence=inference.CONFIDENCE,
            bias=bias,
        )
    est = Estimate(torch.tensor(value, dtype=torch.float64), n, method, measure="transfer_entropy", **fields)
    return replace(est, report=replace(est.report, features=slow)) if slow else est
