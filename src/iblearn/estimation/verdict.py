"""Whether to believe an estimate: the one place that decides ``reliable`` and writes the reasons.

An estimate is reliable (``reliable=True``) only where self-checks that can see the failure at hand
ran and none failed; a failed check, an estimate impossible for its data (:func:`impossible_verdict`),
rows in time order or too few rows make it unreliable (``reliable=False``), the reasons in its
``caveat``, with an :class:`~iblearn.estimators.UnreliableEstimateWarning`; where no check ran it is
"not checked" (``reliable=None``). Each kind of measure has its verdict here: :func:`mi_verdict`
(MI and conditional MI, numbers or labels, by ``method="auto"``), :func:`estimator_verdict` (a
named estimator's, from the figures it returns), :func:`series_verdict` (transfer entropy, information
storage), :func:`many_verdict` (the measures among many variables and the PID's parts) and
:func:`checks_verdict` (any estimate from its checks alone: entropies, the PID of labels); the checks
themselves run in :mod:`iblearn.estimation.autocheck` and :mod:`iblearn.estimation.probe`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from torch import Tensor

from iblearn import _checks as V
from iblearn.estimation.autocheck import FLOOR, HALF_DATA, SHARE, Check, linearity_check
from iblearn.estimation.probe import probed
from iblearn.estimators.base import Estimator, MIEstimate
from iblearn.estimators.neural.base import NeuralEstimator
from iblearn.estimators.reliability import UnreliableEstimateWarning, discrete_ceiling, label_entropy
from iblearn.functional import Estimate, inference
from iblearn.functional.multivariate.estimate import NON_NEGATIVE
from iblearn.functional.multivariate.inputs import MAGNITUDES_Z, ScalarCheck
from iblearn.functional.serial import MIN_BLOCKS, ordered_rows

__all__ = [
    "ADVICE",
    "BIASED",
    "BIAS_SES",
    "DETERMINED",
    "DRIFT",
    "DRIFT_ADVICE",
    "LABELS_ADVICE",
    "LINEAR",
    "LINEAR_GIVEN",
    "MANY_ADVICE",
    "OVERFITTED",
    "RELIABLE_ROWS",
    "SERIES_ADVICE",
    "TAIL_SHARE",
    "bias_why",
    "caveat",
    "checked",
    "checks_verdict",
    "estimator_verdict",
    "figures_verdict",
    "flagged",
    "heavy_tails",
    "impossible_verdict",
    "in_order",
    "many_verdict",
    "mi_verdict",
    "not_finite",
    "parts_verdict",
    "scalar_why",
    "series_figures_verdict",
    "series_verdict",
    "slow_why",
    "tails_why",
    "uncovered",
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

#: The check that a series' mean holds still (:func:`~iblearn.estimation.series.drift_checks`), and what
#: to do where it fails: a longer series of a trend only moves the estimate further.
DRIFT = "stationary mean"
DRIFT_ADVICE = "the estimate follows the series' length here: difference or detrend the series"

#: What to do where a check of a measure among many variables failed.
MANY_ADVICE = "the estimate may be biased here: use more rows, or fewer variables"


#: An estimate this far below 0 (nats), or beyond a ceiling by this much, is flagged, unless two standard
#: errors reach further: nearer, it is what the noise of an estimate on a few thousand held-out rows gives
#: at independence (MINE on independent normals, N = 2,000: -0.02).
BELOW_ZERO = 0.05
#: An estimate below half its critic's bound on training rows, by more than this many nats, is flagged:
#: the critic has fitted its training rows (InfoNCE on 25 x 25 dims: 5.4 nats there, -5.6 held out).
BELOW_TRAINING = 0.1

#: Share of the rows repeating another row exactly from which a kNN estimate of a measure among many
#: variables is not taken as reliable: a repeated row is its own nearest neighbour at the jitter's
#: distance, and with every row repeated five times independent columns read a total correlation of
#: 10.8 nats.
REPEATED = 0.01

#: What to do about an impossible value of a neural estimate.
OVERFITTED = (
    "the critic has overfitted (too few rows, or too many steps) or met heavy tails: fit on more rows, "
    "with more held out (validation), a smaller critic (hidden) or a lower lr, or standardize the inputs"
)

#: What to do about an impossible value of a non-parametric estimate.
BIASED = (
    "the estimator is biased on these data (too few rows for their dimensions, a k too large for N, or "
    "variables it does not model): use more rows, fewer dimensions, or an estimator that fits the data"
)

_KIND = {
    "lower": "a lower bound on the MI",
    "upper": "an upper bound on the MI",
    None: "an estimate of the MI",
}


#: Standard errors beyond which the bias an estimate's trend with N allows makes it unreliable
#: (:func:`bias_why`): within them, the calibration tasks' intervals keep their coverage
#: (docs/design.md, "Measurements behind the code").
BIAS_SES = 2.0

#: Share of a column's rows in its tail (:func:`iblearn.functional.inference.tail_share`) from which it
#: is heavy-tailed: estimates on such raw rows read low while their intervals stay narrow
#: (docs/design.md, "Measurements behind the code").
TAIL_SHARE = 0.01

#: Why the Gaussian estimate of x and y linearly related (``report.features["linear"]``) is infinite.
LINEAR = (
    "y is a linear function of x to float64's resolution (a canonical correlation of 1): continuous "
    "variables so related share infinite information, and the Gaussian estimate and its interval are "
    "infinite; where the values are few or repeated, estimate them as labels"
)

#: Why the Gaussian estimate of I(X; Y | Z) with y a linear function of x and z is infinite.
LINEAR_GIVEN = (
    "y is a linear function of x and z to float64's resolution (a partial canonical correlation of 1: "
    "y's variance given x and z is round-off): continuous variables so related share infinite "
    "information given z, and the Gaussian estimate and its interval are infinite; where the values "
    "are few or repeated, estimate them as labels"
)

#: Why a transfer entropy whose target is a linear function of the pasts is no estimate.
DETERMINED = (
    "the target's present is a linear function of its past and the source's past (and the condition's) "
    "to float64's resolution: a deterministic continuous target has infinite transfer entropy"
)


def bias_why(value: float, stderr: float, half: float | None, n_resamples: int) -> str | None:
    """Why an estimate is not reliable for its bias, or None: where the bias its trend with N allows
    beyond the noise of the halves' mean (:func:`iblearn.functional.inference.bias_reach`) exceeds
    :data:`BIAS_SES` standard errors, the estimate still moves with N by more than its sampling error,
    and how far it has to go is a guess."""
    if half is None or n_resamples < 2:
        return None
    far = inference.bias_reach(value, stderr, half, n_resamples)
    if abs(far) <= BIAS_SES * stderr:
        return None
    return (
        f"the estimate still moves with N (half the rows read {half:.4g}, all {value:.4g}): a bias of up to "
        f"{abs(far):.2g} nats may remain, more than {BIAS_SES:g} standard errors ({stderr:.2g}); use more "
        "rows, fewer dimensions, or an estimator that fits the data"
    )


def tails_why(name: str, share: float) -> str | None:
    """Why an estimate on the raw rows of ``name`` is not reliable where ``share`` of a column's rows
    lie in its tail (:func:`iblearn.functional.inference.tail_share`), beyond :data:`TAIL_SHARE`; else
    None."""
    if share <= TAIL_SHARE:
        return None
    return (
        f"{name} is heavy-tailed ({share:.1%} of a column's rows beyond {inference.TAIL_SDS:g} robust "
        "standard deviations): an estimate on the raw rows is biased by the tails and its interval "
        "does not cover; estimate on normal scores (iblearn.estimate_mi does) instead"
    )


def heavy_tails(samples: Sequence[Any], names: Sequence[str]) -> str | None:
    """Why the rows of ``samples`` (arrays or tensors, rows first) are too heavy-tailed for an estimate
    on them to be reliable, or None: the first of them with more than :data:`TAIL_SHARE` of a column's
    rows in its tail (:func:`tails_why`). Integer (label) samples are skipped. The remedy is an
    estimate on each column's normal scores (ranks), which no monotone map changes."""
    for sample, name in zip(samples, names, strict=True):
        if (why := tails_why(name, inference.tail_share(sample))) is not None:
            return why
    return None


def scalar_why(check: ScalarCheck) -> str | None:
    """Why the Gaussian closed form of two single columns is not their MI, or None where it and KSG on
    the same columns agree within the check's tolerance."""
    if abs(check.closed - check.knn) <= check.tolerance:
        return None
    return (
        f"the Gaussian closed form reads {check.closed:.4g} nats where KSG on the same columns reads "
        f"{check.knn:.4g} (tolerance {check.tolerance:.3g}): a dependence that is not Gaussian (in its "
        "copula), which the closed form misses"
    )


def uncovered(figures: dict[str, float], names: Sequence[str]) -> str | None:
    """Why a named estimator's interval is not to be trusted on samples named ``names``, from the
    ``figures`` of them it measured (:meth:`~iblearn.estimators.base.Estimator.coverage`), or None:
    a sample's tails (``"tails <name>"``, :func:`tails_why`); magnitudes that depend on each other
    beyond a Gaussian's (``"magnitudes"``, the z of
    :func:`~iblearn.functional.multivariate.inputs.magnitude_dependence`, beyond
    :data:`~iblearn.functional.multivariate.inputs.MAGNITUDES_Z`); the closed form and KSG apart on
    two single columns (``"closed"``, ``"knn"``, ``"tolerance"``: :func:`scalar_why`). The Gaussian
    closed form misses the last two."""
    for name in names:
        if (why := tails_why(name, figures.get(f"tails {name}", 0.0))) is not None:
            return why
    z = figures.get("magnitudes", 0.0)
    if abs(z) > MAGNITUDES_Z:
        return (
            f"{', '.join(names)}: their magnitudes depend on each other beyond a Gaussian's (z = "
            f"{z:.1f}: heavy joint tails, a shared scale), which the Gaussian closed form misses"
        )
    if "closed" in figures:
        disagreement = scalar_why(ScalarCheck(figures["closed"], figures["knn"], figures["tolerance"]))
        if disagreement is not None:
            return f"{', '.join(names)}: {disagreement}; use KSG"
    return None


def slow_why(features: dict[str, float], names: Sequence[str], n: int) -> str | None:
    """Why no blockwise error of ``n`` steps of the series ``names`` can be trusted, from the figures
    of their mixing (:func:`iblearn.functional.serial.slow_figures`), or None where none are there."""
    if "slow block" not in features:
        return None
    root = "" if features["slow decayed"] else "; the autocorrelation has not died out within sqrt(N) steps"
    return (
        f"{' and '.join(names)} mix too slowly for {n} steps (integrated autocorrelation time "
        f"{features['slow tau']:.3g}, about {features['slow effective']:.3g} effective samples{root}): a "
        f"block that holds their dependence ({int(features['slow block'])} steps) leaves fewer than "
        f"{MIN_BLOCKS} blocks for a blockwise error (a root near 1 or a random walk has no stationary law "
        "to estimate); use a longer series, or difference a random walk"
    )


def series_figures_verdict(est: Estimate, names: Sequence[str]) -> Estimate:
    """``est``, a transfer entropy or an information storage of the series ``names`` by a named
    method, flagged (without a warning: a named method is not checked) from the figures in
    ``est.report.features``: a target its pasts determine (``"determined"``, :data:`DETERMINED`);
    series mixing too slowly for a blockwise error (:func:`slow_why`); and, where its maker recorded
    them, a trend with N that allows a bias beyond its sampling error (``"half"``, ``"resamples"``:
    :func:`bias_why`) or heavy-tailed raw series (``"tails <name>"``: :func:`tails_why`)."""
    f = est.report.features
    why = DETERMINED if f.get("determined") else slow_why(f, names, est.n_samples)
    if why is None and "half" in f:
        why = bias_why(float(est), est.stderr or 0.0, f["half"], int(f["resamples"]))
    for name in names:
        why = why or tails_why(name, f.get(f"tails {name}", 0.0))
    return est if why is None else replace(est, reliable=False, caveat=why)


def parts_verdict(est: Estimate) -> Estimate:
    """``est``, a part of the PID by a redundancy other than MMI
    (:func:`iblearn.estimation.many.pid_parts`), flagged (without a warning) where it is not finite,
    or where its trend with N over the halves of the rows allows a bias beyond their sampling error
    (``report.features``: ``"half"``, ``"stderr"``, ``"resamples"``; :func:`bias_why`)."""
    f, value = est.report.features, float(est)
    why = None if math.isfinite(value) else f"{est.measure} of {value} nats: not a number the data support"
    if why is None and "half" in f:
        why = bias_why(value, f["stderr"], f["half"], int(f["resamples"]))
    return est if why is None else replace(est, reliable=False, caveat=why)


def caveat(checks: dict[str, Check], advice: str) -> str | None:
    """Which checks failed, and ``advice``; None if none did."""
    failed = [str(c) for c in checks.values() if c.passed is False]
    return None if not failed else "; ".join(failed) + f"; {advice}"


def impossible_verdict(
    result: MIEstimate,
    name: str,
    base: float,
    *,
    training_best: float | None = None,
    entropy: float | None = None,
    entropy_of: str = "H(Y)",
    advice: str = OVERFITTED,
) -> MIEstimate:
    """``result`` (in log ``base``) flagged (``reliable=False``, with why in ``caveat``) and warned about
    where it is impossible for the data it came from, whatever the estimator (bound or not); ``result``
    itself where it is not. Impossible, beyond an allowance of :data:`BELOW_ZERO` nats or two standard
    errors (the larger):

    * below 0: no MI is negative (the critic overfitted, or met heavy tails);
    * above ``entropy``, H(Y) of the labels evaluated
      (:func:`~iblearn.estimators.reliability.label_entropy`; or ``entropy_of``, the entropy of a
      discrete x or y: :func:`~iblearn.estimators.reliability.discrete_ceiling`), which no MI with them
      exceeds;
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
        why += OVERFITTED
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
    warnings.warn(
        f"{name}: unreliable estimate: {why}", UnreliableEstimateWarning, stacklevel=V.outside_stacklevel()
    )
    caveat = why if result.caveat is None else f"{result.caveat}; and {why}"
    return replace(result, reliable=False, caveat=caveat)


def estimator_verdict(
    estimator: Estimator, result: MIEstimate, samples: Sequence[Any], n_resamples: int
) -> MIEstimate:
    """``result`` of a named ``estimator`` on ``samples`` (x, y and a condition z where it has one)
    judged from the figures it returns, flagged (and warned about) where it is no estimate:

    * of a neural estimator: impossible for its data (:func:`impossible_verdict`: against 0, H(Y) of
      labels, its ceiling, log N for a lower bound, and the bound on training rows that ``fit``
      recorded at the kept critic), with a critic's remedies;
    * of any other: a trend with N, over ``n_resamples`` halves, that allows a bias beyond its sampling
      error (:func:`bias_why`), or data its interval does not cover (:func:`uncovered`, from the
      figures of :meth:`~iblearn.estimators.base.Estimator.coverage`); then impossible for its data
      (against 0, and H(X) or H(Y) of a discrete x or y); then rows in time order (:func:`in_order`).

    It takes reliability away only: an estimate none of these flags stays "not checked".
    """
    if result.report.features.get("linear") and not math.isfinite(float(result)):
        # The Gaussian estimate of linearly related variables: that reason, not the arithmetic's, is
        # the verdict.
        return flagged(result, estimator.name, LINEAR if len(samples) < 3 else LINEAR_GIVEN)
    names = ("x", "y", "z")[: len(samples)]
    rows = [
        V.as_tensor(s, n) if isinstance(s, Tensor | np.ndarray | list) else None
        for s, n in zip(samples, names, strict=True)
    ]
    x, y = rows[0], rows[1]
    name, base = estimator.name, estimator.base
    if isinstance(estimator, NeuralEstimator):
        best = (
            estimator.history.best if estimator.history is not None and estimator.bound == "lower" else None
        )
        entropy = label_entropy(y) if estimator.y_classes is not None else None
        return impossible_verdict(
            result, name, base, training_best=None if best is None else best[0], entropy=entropy
        )
    if n_resamples and not estimator.trainable and result.stderr is not None:
        # The estimate, its standard error and its halves' mean in nats, as the interval read them.
        nats = math.log(base)
        value, stderr = float(result) * nats, result.stderr * nats
        half = None if result.bias is None else value + result.bias * nats
        why = bias_why(value, stderr, half, n_resamples)
        if why is None:
            kept = [(t, n) for t, n in zip(rows, names, strict=True) if t is not None]
            kept_names = [n for _, n in kept]
            why = uncovered(estimator.coverage([t for t, _ in kept], kept_names), kept_names)
        result = result if why is None else flagged(result, name, why)
    entropy, of = discrete_ceiling(x, y) or (None, "")  # conditional MI too is at most H(X) and H(Y)
    result = impossible_verdict(result, name, base, entropy=entropy, entropy_of=of, advice=BIASED)
    return in_order(result, name, (x, y), ("x", "y"))


def checked(result: MIEstimate) -> MIEstimate:
    """``result`` said reliable (``reliable=True``) after self-checks that can see the failure at hand
    ran and none failed; ``result`` itself where something flagged it already (``reliable=False``)."""
    return result if result.reliable is False else replace(result, reliable=True)


def checks_verdict(est: Estimate, checks: dict[str, Check], advice: str) -> Estimate:
    """``est`` reliable where every one of ``checks`` that ran passed, else flagged with the failed ones
    and ``advice`` (:func:`caveat`)."""
    why_not = caveat(checks, advice)
    return checked(est if why_not is None else flagged(est, "auto", why_not))


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
    est = impossible_verdict(
        est,
        "auto",
        math.e,
        entropy=ceiling[0] if ceiling else None,
        entropy_of=ceiling[1] if ceiling else "H(Y)",
        advice=BIASED,
    )
    why_not = caveat(checks, advice)
    if why_not is not None:
        est = flagged(est, "auto", why_not)
    est = in_order(est, "auto", samples, names)
    n = est.n_samples
    if n < RELIABLE_ROWS:
        est = flagged(
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
    of its own (the unit root of an information storage; the drift of a series' mean, whose failure
    asks for :data:`DRIFT_ADVICE` in place of the series' general advice).

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
    drifts = checks.get(DRIFT)
    est = checks_verdict(est, checks, DRIFT_ADVICE if drifts and drifts.passed is False else SERIES_ADVICE)
    feats = {**(features or {}), "n": n}
    return replace(est, report=replace(est.report, chosen=chosen, why=why, checks=checks, features=feats))


def figures_verdict(est: Estimate) -> Estimate:
    """``est``, a measure among many variables or a part of the PID by a named method
    (:func:`iblearn.functional.multivariate_estimate`, :func:`iblearn.functional.pid_estimate`),
    flagged from the figures of its data in ``est.report.features``: not finite; a share of
    :data:`REPEATED` rows or more repeating another exactly (KSG); normal scores that are not a
    Gaussian copula (the magnitudes' z beyond
    :data:`~iblearn.functional.multivariate.inputs.MAGNITUDES_Z`; the Gaussian and copula methods);
    for two single columns, the closed form and KSG on them apart
    (:class:`~iblearn.functional.multivariate.inputs.ScalarCheck`); and, with an interval, raw rows
    with heavy tails, or a trend with N that allows a bias beyond its sampling error; a measure that is
    never negative below 0 beyond its error. It takes reliability away only."""
    f = est.report.features
    value, stderr = float(est), est.stderr or 0.0
    resampled = "resamples" in f
    why = None
    if not math.isfinite(value):
        why = f"{est.measure} of {value} nats: not a number the data support"
    elif f.get("repeated", 0.0) >= REPEATED:
        why = (
            f"{f['repeated']:.0%} of the rows repeat another row exactly: a kNN estimate counts the repeats "
            "as neighbours at zero distance, which inflates it without bound; drop the repeated rows, or "
            "use method='copula'"
        )
    elif abs(f.get("magnitudes", 0.0)) > MAGNITUDES_Z:
        why = (
            f"the variables' magnitudes depend on each other beyond what a Gaussian copula allows (z = "
            f"{f['magnitudes']:.1f}: heavy joint tails, a shared scale), information that the {est.method} "
            "estimate misses; use method='ksg'"
        )
    elif "closed" in f and (scalar := scalar_why(ScalarCheck(f["closed"], f["knn"], f["tolerance"]))):
        why = f"{scalar}; use method='ksg'"
    elif resampled and (tails := tails_why("x", f.get("tails", 0.0))) is not None:
        why = tails
    elif resampled and (bias := bias_why(value, stderr, f.get("half"), int(f["resamples"]))):
        why = bias
    elif est.measure in NON_NEGATIVE and value < -max(BELOW_ZERO, 2 * stderr):
        why = (
            f"{est.measure} of {value:.4g} nats, below 0 beyond its sampling error (it is never "
            "negative): the estimator is biased on these data; use more rows or fewer dimensions"
        )
    return est if why is None else replace(est, reliable=False, caveat=why)


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
    if chosen != "ksg" and (linear := linearity_check(feats)) is not None:
        checks["linearity"] = linear
    est = checks_verdict(est, checks, MANY_ADVICE)
    return replace(est, report=replace(est.report, chosen=chosen, why=why, checks=checks, features=feats))
