"""Whether to believe an estimate: the one place that decides ``reliable`` and writes the reasons.

An estimate is reliable (``reliable=True``) only where self-checks that can see the failure at hand
ran and none failed; a failed check, an estimate impossible for its data, rows in time order or too
few rows make it unreliable (``reliable=False``), the reasons in its ``caveat``; where no check ran it
is "not checked" (``reliable=None``). Each kind of measure has its verdict here: :func:`mi_verdict`
(MI and conditional MI, numbers or labels), :func:`series_verdict` (transfer entropy, information
storage), :func:`many_verdict` (the measures among many variables and the PID's parts) and
:func:`checks_verdict` (any estimate from its checks alone: entropies, the PID of labels); the checks
themselves run in :mod:`iblearn.estimation.autocheck` and :mod:`iblearn.estimation.probe`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from torch import Tensor

from iblearn.estimation.autocheck import FLOOR, HALF_DATA, SHARE, Check
from iblearn.estimation.probe import probed
from iblearn.estimators import reliability
from iblearn.estimators.base import MIEstimate
from iblearn.functional import Estimate, inference

__all__ = [
    "ADVICE",
    "LABELS_ADVICE",
    "MANY_ADVICE",
    "RELIABLE_ROWS",
    "SERIES_ADVICE",
    "caveat",
    "checked",
    "checks_verdict",
    "many_verdict",
    "mi_verdict",
    "series_verdict",
]

#: Fewest rows at which an estimate can be reliable: below, halves too small for the checks to see a
#: bias let 5 - 13% of the intervals miss the truth on bivariate Gaussians at N = 16 (60 seeds each,
#: rho 0.6 and 0.9, 2 x 2 at rho 0.5), against at most 2 of 60 at N = 32.
RELIABLE_ROWS = 32

#: What to do where a check of MI or conditional MI failed.
ADVICE = (
    "the estimate may be biased here: use more rows, or an estimator that fits these data (the guide's "
    "Choosing an estimator page); the interval includes the bias the checks found"
)

#: What to do where a check of labels' estimate failed.
LABELS_ADVICE = (
    "the labels' joint is too undersampled for the estimate and its interval: use more rows, or merge rare "
    "classes"
)

#: What to do where a check of a series' measure failed.
SERIES_ADVICE = "the estimate may be biased here: use a longer series, or a shorter history"

#: What to do where a check of a measure among many variables failed.
MANY_ADVICE = "the estimate may be biased here: use more rows, or fewer variables"


def caveat(checks: dict[str, Check], advice: str) -> str | None:
    """Which checks failed, and ``advice``; None if none did."""
    failed = [str(c) for c in checks.values() if c.passed is False]
    return None if not failed else "; ".join(failed) + f"; {advice}"


def checked(result: MIEstimate) -> MIEstimate:
    """``result`` said reliable (``reliable=True``) after self-checks that can see the failure at hand
    ran and none failed; ``result`` itself where something flagged it already (``reliable=False``)."""
    return result if result.reliable is False else replace(result, reliable=True)


def checks_verdict(est: Estimate, checks: dict[str, Check], advice: str) -> Estimate:
    """``est`` reliable where every one of ``checks`` that ran passed, else flagged with the failed ones
    and ``advice`` (:func:`caveat`)."""
    why_not = caveat(checks, advice)
    return checked(est if why_not is None else reliability.flagged(est, "auto", why_not))


def mi_verdict(
    est: MIEstimate,
    checks: dict[str, Check],
    samples: tuple[Tensor, ...],
    names: tuple[str, ...],
    ceiling: tuple[float, str] | None = None,
    advice: str = ADVICE,
) -> MIEstimate:
    """``est`` judged as every automatic estimate is: impossible for its data (below 0 beyond its error,
    above ``ceiling``, the entropy of labels), a failed check, rows in time order, or fewer than
    :data:`RELIABLE_ROWS` rows make it unreliable, with why; where none does, the checks ran and
    passed, and it is reliable."""
    est = reliability.judged(
        est,
        "auto",
        math.e,
        entropy=ceiling[0] if ceiling else None,
        entropy_of=ceiling[1] if ceiling else "H(Y)",
        advice=reliability.BIASED,
    )
    why_not = caveat(checks, advice)
    if why_not is not None:
        est = reliability.flagged(est, "auto", why_not)
    est = reliability.in_order(est, "auto", samples, names)
    n = est.n_samples
    if n < RELIABLE_ROWS:
        est = reliability.flagged(
            est,
            "auto",
            f"{n} rows: halves of {n // 2} are too few for the checks to see a bias (at N = 16 up to 13% "
            f"of the intervals miss the truth); use at least {RELIABLE_ROWS} rows",
        )
    return checked(est)


def series_verdict(
    est: Estimate,
    n: int,
    probe: tuple[str, str, Callable[[], float], str],
    ceiling: str,
    why: str,
    *,
    chosen: str = "ksg",
    features: dict[str, float] | None = None,
    more: dict[str, Check] | None = None,
) -> Estimate:
    """``est`` of a series of ``n`` steps by ``chosen`` with its checks, flagged where one fails: the
    ``probe`` (check name, figure name, its estimate on half the series, what it shows) reads about 0,
    no estimate exceeds log N (``ceiling`` says of what), and half of the blocks give about the same.
    The probe, which costs half an estimate, runs only where the estimate is otherwise reliable:
    elsewhere no reading of it would change the verdict, and the report says it was not run. The
    report carries ``why`` and the rule's ``features`` with ``n``; ``more`` are checks the measure ran
    of its own (the unit root of an information storage).

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
        **(more or {}),
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
    est = checks_verdict(est, checks, SERIES_ADVICE)
    feats = {**(features or {}), "n": n}
    return replace(est, report=replace(est.report, chosen=chosen, why=why, checks=checks, features=feats))


def many_verdict(
    est: Estimate, shuffled: Any, chosen: str, why: str, feats: dict[str, float], null: str
) -> Estimate:
    """``est`` with its checks (``shuffled(rows)``: the measure on a half of the rows under the null),
    the caveat of any that failed, and the report."""
    n = est.n_samples
    value, stderr = float(est), est.stderr or 0.0
    rows = inference.rng(seed=0, stream=inference.PERMUTATION, i=0).permutation(n)[: n // 2]
    tolerance = max(FLOOR, 1.5 / math.sqrt(n // 2), SHARE * abs(value)) + 2 * stderr
    checks = {}
    if est.bias is not None:
        checks["half data"] = Check(
            "half data",
            abs(est.bias) <= tolerance,
            {"bias": est.bias},
            HALF_DATA,
            tolerance,
        )
    probe = ("independence", "shuffled", lambda: shuffled(rows), f"{null} reads about 0")
    checks = {"independence": probed(est, checks, probe, tolerance), **checks}
    est = checks_verdict(est, checks, MANY_ADVICE)
    return replace(est, report=replace(est.report, chosen=chosen, why=why, checks=checks, features=feats))
