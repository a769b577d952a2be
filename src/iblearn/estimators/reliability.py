"""When an estimate is no estimate: a critic that diverged (an error), and an estimate that is impossible
for the data it came from or otherwise cannot be read as one (a warning, and ``reliable=False`` with a
``caveat`` on the :class:`~iblearn.estimators.MIEstimate`: :func:`judged`).

These judgements only ever take reliability away: an estimate none of them flags is still "not
checked" (``reliable=None``), as nothing here can see a bias or an interval that misses. Only the
self-checks of ``method="auto"`` make an estimate reliable (:mod:`iblearn.estimation.verdict`), where
they ran and every one passed."""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from iblearn.estimators.estimate import MIEstimate
from iblearn.functional.discrete import discrete_entropy
from iblearn.functional.serial import ordered_rows


class CriticDivergedError(RuntimeError):
    """The critic's loss or estimate became NaN or Inf, or too large to be anything but divergence."""


#: A loss or estimate beyond this many times the nats that one sample can hold (the smaller of x's and
#: y's: each float is one of 2^bits values; labels, log of the classes; at least 1 nat) is divergence.
#: No bound on a sample can exceed that information; a critic can push a lower bound far below 0, but
#: not 100 times beyond it without having diverged (MINE at lr=1e6 printed -1.8e24 nats, InfoNCE at
#: lr=1e8 -7.7e33).
IMPLAUSIBLE = 100

#: An estimate this far below 0 (nats), or beyond a ceiling by this much, is flagged, unless two standard
#: errors reach further: nearer, it is what the noise of an estimate on a few thousand held-out rows gives
#: at independence (MINE on independent normals, N = 2,000: -0.02).
BELOW_ZERO = 0.05
#: An estimate below half its critic's bound on training rows, by more than this many nats, is flagged:
#: the critic has fitted its training rows (InfoNCE on 25 x 25 dims: 5.4 nats there, -5.6 held out).
BELOW_TRAINING = 0.1

_OVERFITTED = (
    "the critic has overfitted (too few rows, or too many steps) or met heavy tails: fit on more rows, "
    "with more held out (validation), a smaller critic (hidden) or a lower lr, or standardize the inputs"
)

BIASED = (
    "the estimator is biased on these data (too few rows for their dimensions, a k too large for N, or "
    "variables it does not model): use more rows, fewer dimensions, or an estimator that fits the data"
)

_KIND = {
    "lower": "a lower bound on the MI",
    "upper": "an upper bound on the MI",
    None: "an estimate of the MI",
}


class UnreliableEstimateWarning(UserWarning):
    """An estimate that cannot be read as one: impossible for the data it came from (below 0 beyond its
    sampling error, above a ceiling), or far below its training value."""


def not_diverged(value: Tensor, limit: float, what: str, steps: int) -> Tensor:
    """``value``, unless it is NaN or Inf or beyond ``limit`` (:func:`plausible`): then ``what`` (the
    estimator's name and the quantity) shows a critic diverged after ``steps`` training steps, and
    :class:`CriticDivergedError` says so; a number would hide it."""
    finite = bool(torch.isfinite(value).all())
    if not (finite and float(value.detach().abs().max()) <= limit):
        beyond = f" (beyond {limit:.6g} nats)" if finite else ""
        raise CriticDivergedError(
            f"{what} is {float(value.detach()):.6g}{beyond} after {steps} training steps; the critic "
            "has diverged"
        )
    return value


def plausible(x: Any, y: Any, y_classes: int | None) -> float:
    """:data:`IMPLAUSIBLE` times the nats one sample of x or y can hold, the smaller: its floats' bits
    (log 2 each), or log of the classes for labels; at least 1 nat."""
    caps = [math.log(y_classes)] if y_classes else []
    for t in (x,) if y_classes else (x, y):
        if isinstance(t, Tensor) and t.is_floating_point() and t.ndim:
            caps.append(t[0].numel() * torch.finfo(t.dtype).bits * math.log(2))
    return IMPLAUSIBLE * max(min(caps, default=math.inf), 1.0)


def label_entropy(y: Any) -> float | None:
    """H(Y) in nats of integer labels ``y`` as observed (plug-in, with Miller and Madow's (m - 1) / 2N
    for the m classes seen, so that it is not below the truth on average), None for anything else: no
    MI with the labels exceeds it."""
    if not isinstance(y, Tensor) or y.is_floating_point() or y.is_complex() or not y.numel():
        return None
    return float(discrete_entropy(y.reshape(len(y), -1).long().cpu(), correction="miller-madow"))


#: A variable with at most this share of distinct rows is taken as discrete (H of its values observed is
#: then a ceiling of its MI with anything); continuous samples have about N distinct rows.
DISCRETE_SHARE = 0.1


def discrete_ceiling(x: Any, y: Any) -> tuple[float, str] | None:
    """The smaller of H(X) and H(Y) in nats (plug-in, with Miller and Madow's correction), over those of
    ``x`` and ``y`` that are discrete: integer labels, or floats with at most :data:`DISCRETE_SHARE` of
    their rows distinct (one-hot labels, a few levels); with its name, ``"H(X)"`` or ``"H(Y)"``. None if
    neither is discrete. No MI exceeds it."""
    ceilings = []
    for name, t in (("H(X)", x), ("H(Y)", y)):
        if not isinstance(t, Tensor) or t.ndim == 0 or not t.numel() or t.is_complex():
            continue
        rows = t.detach().reshape(len(t), -1).cpu()
        if not rows.is_floating_point():
            ceilings.append((float(discrete_entropy(rows.long(), correction="miller-madow")), name))
            continue
        # A row-wise unique sorts whole rows (as long as the estimate itself at N = 1,000): the first
        # column alone, a fraction of that, rules out continuous samples, whose values are all distinct.
        if _many_distinct(rows, DISCRETE_SHARE * len(rows)):
            continue
        values, codes = torch.unique(rows, dim=0, return_inverse=True)
        if len(values) <= DISCRETE_SHARE * len(rows):
            ceilings.append((float(discrete_entropy(codes, correction="miller-madow")), name))
    return min(ceilings, default=None)


def _many_distinct(rows: Tensor, share: float) -> bool:
    """Whether the first column of ``rows`` ``(N, d)`` holds more than ``share`` distinct values. Its
    first ``floor(share) + 1`` values all distinct settle it, by a sort of those alone: continuous
    samples' first values are distinct, and a sort of all N values costs as much as a kNN estimate."""
    if rows.dtype in (torch.float32, torch.float64):
        head = np.sort(rows.numpy()[: math.floor(share) + 1, 0])
        # Sorted, any NaN comes last: ends that are finite leave equal neighbours as the only ties.
        if np.isfinite(head[0]) and np.isfinite(head[-1]) and bool((head[1:] != head[:-1]).all()):
            return True
    return len(torch.unique(rows[:, 0])) > share


def judged(
    result: MIEstimate,
    name: str,
    base: float,
    *,
    training_best: float | None = None,
    entropy: float | None = None,
    entropy_of: str = "H(Y)",
    advice: str = _OVERFITTED,
) -> MIEstimate:
    """``result`` (in log ``base``) flagged (``reliable=False``, with why in ``caveat``) and warned about
    where it is impossible for the data it came from, whatever the estimator (bound or not); ``result``
    itself where it is not. Impossible, beyond an allowance of :data:`BELOW_ZERO` nats or two standard
    errors (the larger):

    * below 0: no MI is negative (the critic overfitted, or met heavy tails);
    * above ``entropy``, H(Y) of the labels evaluated (:func:`label_entropy`; or ``entropy_of``, the
      entropy of a discrete x or y: :func:`discrete_ceiling`), which no MI with them exceeds;
    * a lower bound above log N of its N rows: no lower bound estimated from N samples can show more
      (McAllester & Stratos 2020, "Formal limitations on the measurement of mutual information");
    * at ``result.limit``, a ceiling of the estimator itself (InfoNCE's log B): the MI may be anything
      above it;
    * a lower bound below half ``training_best``, its critic's bound on training rows (nats), by more
      than :data:`BELOW_TRAINING` nats: the critic fits its training rows and not the distribution.

    ``advice`` ends the caveat of the first two: what to do about it (by default, a critic's remedies).
    A value, standard error or interval that is not a finite number is never reliable
    (:func:`not_finite`).
    """
    if (why := not_finite(result)) is not None:
        return flagged(result, name, why)
    nats = float(result) * math.log(base)
    allowance = max(BELOW_ZERO, 2 * (result.stderr or 0.0) * math.log(base))
    lower = result.bound == "lower"
    log_n = math.log(result.n_samples) if result.n_samples > 1 else 0.0
    limit = None if result.limit is None else result.limit * math.log(base)
    why = None
    if nats < -allowance:
        what = _KIND[result.bound]
        why = f"{what} of {nats:.4g} nats, below 0 beyond its sampling error; {advice}"
    elif entropy is not None and nats > entropy + allowance:
        why = (
            f"{nats:.4g} nats, above {entropy_of} = {entropy:.4g} nats of the discrete values evaluated, "
            f"which no MI with them exceeds; {advice}"
        )
    elif limit is not None and nats > limit - allowance:
        batch = round(math.exp(limit))
        why = (
            f"{nats:.4g} nats, at the ceiling log B = {limit:.4g} that {name} cannot exceed on evaluation "
            f"batches of B = {batch} rows: the MI may be anything above it; evaluate on more rows a batch "
            "(eval_batch_size), or use a bound without that ceiling (MINE, NWJ)"
        )
    elif lower and nats > log_n + allowance:
        why = (
            f"{nats:.4g} nats, above log N = {log_n:.4g} of the N = {result.n_samples} rows evaluated, more "
            "than any lower bound estimated from N samples can show (McAllester & Stratos 2020); the critic "
            "has fitted these rows: estimate on rows it was not trained on, and on more of them"
        )
    elif lower and training_best is not None and nats < 0.5 * training_best - BELOW_TRAINING:
        why = f"{nats:.4g} nats, far below the critic's {training_best:.4g} on its training rows; "
        why += _OVERFITTED
    return flagged(result, name, why) if why is not None else result


def not_finite(result: MIEstimate) -> str | None:
    """Why ``result`` cannot be read as an estimate for a number in it that is not finite (NaN or
    infinite: the estimator's arithmetic overflowed or met a degenerate sample), or None."""
    numbers = {"value": float(result), "standard error": result.stderr}
    numbers |= dict(zip(("interval's low end", "interval's high end"), result.interval or (), strict=False))
    bad = [f"its {what} is {v}" for what, v in numbers.items() if v is not None and not math.isfinite(v)]
    if not bad:
        return None
    return f"{', '.join(bad)}: not a finite number, so no estimate; check the data and the settings"


def in_order(result: MIEstimate, name: str, samples: Sequence[Any], names: Sequence[str]) -> MIEstimate:
    """``result`` flagged and warned about where the rows of ``samples`` look like successive samples of
    series rather than independent draws (:func:`iblearn.functional.serial.ordered_rows`): an estimator
    that takes rows as independent reads a dependence between two slowly varying series where there is
    none, and its interval is too narrow; the caveat points to the series estimates."""
    why = ordered_rows(samples, names)
    return result if why is None else flagged(result, name, why)


def flagged(result: MIEstimate, name: str, why: str) -> MIEstimate:
    """``result`` with ``reliable=False`` and ``why`` as its caveat (after any it had), warned about."""
    warnings.warn(f"{name}: unreliable estimate: {why}", UnreliableEstimateWarning, stacklevel=_outside())
    caveat = why if result.caveat is None else f"{result.caveat}; and {why}"
    return replace(result, reliable=False, caveat=caveat)


def _outside() -> int:
    """The ``stacklevel`` that points a warning issued by the caller at the first frame outside iblearn
    and torch: the user's ``est(x, y)``, however many estimator and Module layers lie between."""
    frame, level = sys._getframe(2), 2
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(("iblearn.", "torch.")):
        frame, level = frame.f_back, level + 1
    return level
