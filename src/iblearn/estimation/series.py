"""Transfer entropy for the front door: the series path, checked as series.

``method="auto"`` takes :func:`iblearn.functional.transfer_entropy_estimate` (KSG's conditional MI with
the target's past partialled out, the blockwise jackknife's interval over blocks as long as the series'
autocorrelation asks) and checks it as a series allows: the source circularly shifted against the
target by more than a block (a shift keeps each series whole and breaks only their alignment) reads
about 0, the trend from half the blocks to all of them stays within the tolerance, and no estimate
exceeds log N. Rows of a series are not exchangeable, so the row-shuffling checks of
:mod:`iblearn.estimators.autocheck` do not apply.

With a ``condition`` (other series whose past may explain the transfer), the estimate is
I(target_t; source_{t-lag} | target's past, condition's past), the condition's ``history`` past steps
beside the target's, by KSG's conditional MI, with the same blockwise interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypedDict, Unpack

import torch

from iblearn import _checks as V
from iblearn import functional as ibf
from iblearn.estimators import reliability
from iblearn.estimators.autocheck import FLOOR, SHARE, Check, caveat
from iblearn.functional import Estimate, inference
from iblearn.functional.serial import series_blocks

__all__ = ["SeriesKeywords", "SeriesOptions", "probed", "series_verdict", "te_auto", "te_method"]

#: Halves of the blocks behind the automatic estimate's standard error: each costs about half an
#: estimate, and with the shifted half the whole stays within four estimates.
RESAMPLES = 4
ADVICE = "the estimate may be biased here: use a longer series, or a shorter history"
_CEILING = "no transfer entropy exceeds log N"


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


def te_method(source: Any, target: Any, *, method: str, condition: Any = None, **options: Any) -> Estimate:
    """Transfer entropy by a named method: ``"ksg"``, :func:`iblearn.functional.transfer_entropy_estimate`
    (:class:`SeriesKeywords`, ``n_resamples``, and ``n_permutations``, ``null``, ``standardize``,
    ``ties``, ``backend``, ``n_jobs`` as there)."""
    V.choice(method, "method", ("ksg",))
    n_resamples = options.pop("n_resamples", 0)
    o = SeriesOptions(**{key: options.pop(key) for key in SeriesKeywords.__annotations__ if key in options})
    if condition is not None:
        if options:
            raise ValueError(f"{sorted(options)[0]}: not an option of a conditional transfer entropy")
        return _conditional(source, target, condition, o.lag, o.history, o.k, n_resamples, o.seed)
    return ibf.transfer_entropy_estimate(
        source, target, o.lag, o.history, o.k, n_resamples=n_resamples, seed=o.seed, **options
    )


def te_auto(
    source: Any, target: Any, *, condition: Any = None, **options: Unpack[SeriesKeywords]
) -> Estimate:
    """Transfer entropy from ``source`` to ``target`` (given ``condition``), checked as series (module
    notes), with the blockwise interval.

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(1000, 1, generator=g)
        >>> y = torch.cat([torch.zeros(1, 1), 0.8 * x[:-1]]) + 0.6 * torch.randn(1000, 1, generator=g)
        >>> est = te_auto(x, y)
        >>> est.report.chosen, est.reliable, est.interval[0] > 0.3
        ('ksg', True, True)
    """
    o = SeriesOptions(**options)
    lag, history, k, seed = o.lag, o.history, o.k, V.seed(o.seed)
    if condition is None:
        est = ibf.transfer_entropy_estimate(source, target, lag, history, k, n_resamples=RESAMPLES, seed=seed)
        why = "series: KSG's conditional MI with the target's past partialled out, blockwise interval"
    else:
        est = _conditional(source, target, condition, lag, history, k, RESAMPLES, seed)
        why = "series given a condition: KSG's conditional MI, both pasts partialled out"
    src = V.continuous(source, "source")
    n = len(src)
    half = n // 2

    def shifted() -> float:
        # The source shifted by a quarter of the series (more than a block) on its first half.
        shifted_args = (torch.roll(src[:half], max(half // 2, 1), 0), V.continuous(target, "target")[:half])
        if condition is None:
            return float(ibf.transfer_entropy(*shifted_args, lag, history, k, seed=seed))
        cond = V.continuous(condition, "condition")[:half]
        return float(_conditional(*shifted_args, cond, lag, history, k, 0, seed))

    shift_text = "the source circularly shifted against the target (on half the series) reads about 0"
    return series_verdict(est, n, ("independence", "shifted", shifted, shift_text), _CEILING, why)


def series_verdict(
    est: Estimate, n: int, probe: tuple[str, str, Callable[[], float], str], ceiling: str, why: str
) -> Estimate:
    """``est`` of a series of ``n`` steps with its checks, flagged where one fails: the ``probe``
    (check name, figure name, its estimate on half the series, what it shows) reads about 0, no
    estimate exceeds log N (``ceiling`` says of what), and half of the blocks give about the same. The
    probe, which costs half an estimate, runs only where the estimate is otherwise reliable: elsewhere
    no reading of it would change the verdict, and the report says it was not run.

    The tolerance is max(FLOOR, 1.5 / sqrt(N / 2), SHARE * |estimate|) plus twice the standard error.
    """
    value, stderr = float(est), est.stderr or 0.0
    tolerance = max(FLOOR, 1.5 / math.sqrt(n // 2), SHARE * abs(value)) + 2 * stderr
    checks = {
        "ceiling": Check(
            "ceiling",
            value <= math.log(n) + max(FLOOR, 2 * stderr),
            {"estimate": value, "log N": math.log(n)},
            ceiling,
            max(FLOOR, 2 * stderr),
        ),
    }
    if est.bias is not None:
        checks["half data"] = Check(
            "half data",
            abs(est.bias) <= tolerance,
            {"bias": est.bias},
            "half of the blocks give about the same; a change is a bias that shrinks as the series grows",
            tolerance,
        )
    checks = {probe[0]: probed(est, checks, probe, tolerance), **checks}
    why_not = caveat(checks, ADVICE)
    if why_not is not None:
        est = reliability.flagged(est, "auto", why_not)
    return replace(est, report=replace(est.report, chosen="ksg", why=why, checks=checks, features={"n": n}))


def probed(
    est: Estimate,
    checks: dict[str, Check],
    probe: tuple[str, str, Callable[[], float], str],
    tolerance: float,
) -> Check:
    """The ``probe`` check (name, figure name, its estimate under the null, what it shows): its
    estimate within ``tolerance`` of 0; not run where ``est`` is already unreliable or one of
    ``checks`` failed, as the verdict is then settled."""
    name, figure, estimate, text = probe
    failed = [c.name for c in checks.values() if c.passed is False]
    if not est.reliable or failed:
        why = f"{', '.join(failed)} failed" if failed else f"it is unreliable already ({est.caveat})"
        return Check(
            name, None, {}, text, why_not=f"{why}: the estimate is unreliable whatever it reads", ran=False
        )
    value = estimate()
    return Check(name, abs(value) <= tolerance, {figure: value}, text, tolerance)


def _conditional(
    source: Any, target: Any, condition: Any, lag: int, history: int, k: int, n_resamples: int, seed: int
) -> Estimate:
    """I(target_t; source_{t-lag} | target's past, condition's past) with a blockwise interval: the
    condition's ``history`` past steps beside the target's, all partialled out of the present and the
    source as the unconditional estimate does (a linear fit, which leaves the conditional MI as it is)."""
    from iblearn.functional.knn.transfer import embedding, partialled

    present, past_source, past_target = embedding(source, target, lag, history, k)
    _, _, past_condition = embedding(source, condition, lag, history, k)
    present, past_source, given = partialled(
        present, past_source, torch.cat([past_target, past_condition], 1)
    )

    def te(rows: Any) -> float:
        return float(ibf.ksg_cmi(present[rows], past_source[rows], given[rows], k, seed=seed))

    n = len(present)
    value = te(slice(None))
    fields: dict[str, Any] = {}
    if n_resamples:
        block, slow = series_blocks([source, target, condition], ["source", "target", "condition"], n)
        res = inference.resampled(te, n, n_resamples, "block", seed, block)
        span, bias = inference.interval(
            value, res.stderr, half=res.half, n_resamples=res.n_resamples, floor=0.0
        )
        fields = dict(
            stderr=res.stderr,
            stderr_method=res.method,
            interval=span,
            confidence=inference.CONFIDENCE,
            bias=bias,
        )
        if slow is not None:
            fields |= dict(reliable=False, caveat=slow)
    return Estimate(torch.tensor(value, dtype=torch.float64), n, "ksg", measure="transfer_entropy", **fields)
