"""The entropy of labels for the front door: the discrete estimators, chosen by
:func:`iblearn.estimation.choose.choose_discrete_method` from how well the sample covers its symbols
(Chao-Wang-Jost where each symbol is seen often and little mass is unseen, NSB where the sample is
undersampled, PYM where its counts have a heavy tail), with the chosen estimator's interval, checked
on the counts (:func:`iblearn.estimation.auto_discrete.entropy_checks`: coincidences, the unseen mass,
the tail).

Where NSB or PYM reads an undersampled sample with the number of symbols unknown, the interval spans
both posteriors' intervals: NSB's Dirichlet prior over finitely many symbols and PYM's Pitman-Yor prior,
whose tail goes on without end, read the unseen tail differently, and the sample does not say which
describes it. On a Zipf law cut at K symbols that the sample starts to exhaust, PYM's own interval
reads high and misses the truth where NSB's holds it (``benchmarks/results/pym_powerlaw``)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from iblearn import _checks as V
from iblearn import functional as ibf
from iblearn.estimation.auto_discrete import entropy_checks
from iblearn.estimation.choose import choose_discrete_method
from iblearn.estimation.verdict import checks_verdict
from iblearn.functional import Estimate
from iblearn.functional.discrete import counts_of
from iblearn.functional.inference import CONFIDENCE

__all__ = ["entropy_auto", "entropy_method"]


def entropy_method(
    labels: Any,
    *,
    method: str,
    alphabet: int | None = None,
    confidence: float = CONFIDENCE,
    n_resamples: int = 200,
    seed: int = 0,
) -> Estimate:
    """H(X) of labels (rows are outcomes) by a named discrete estimator:
    :func:`iblearn.functional.discrete_entropy_estimate`, options as there."""
    return ibf.discrete_entropy_estimate(
        V.symbols(labels, "labels"),
        method=method,  # type: ignore[arg-type]
        alphabet=alphabet,
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
    )


def entropy_auto(labels: Any, *, alphabet: int | None = None, seed: int = 0) -> Estimate:
    """H(X) of labels by the estimator the sample's coverage asks for, with its interval and a report.

    Example:
        >>> import torch
        >>> est = entropy_auto(torch.arange(2000) % 4)
        >>> est.report.chosen, round(float(est), 3), est.reliable
        ('cwj', 1.387, True)
    """
    counts = counts_of(V.symbols(labels, "labels"))
    chosen, why = choose_discrete_method(counts, alphabet)
    est = ibf.discrete_entropy_estimate(counts=counts, method=chosen, alphabet=alphabet, seed=seed)  # type: ignore[arg-type]
    posteriors: dict[str, tuple[float, float]] = {}
    if chosen in ("nsb", "pym") and alphabet is None:
        other = ibf.discrete_entropy_estimate(counts=counts, method="pym" if chosen == "nsb" else "nsb")
        # Each posterior's mean and sd once, for the interval and for the priors check.
        posteriors = {e.estimator: (float(e), float(e.stderr or 0.0)) for e in (est, other) if _posterior(e)}
        est = _both_priors(est, other)
    feats = {
        "n": float(counts.sum()),
        "symbols": float((counts > 0).sum()),
        "singletons": float((counts == 1).sum()),
    }
    checks = entropy_checks(counts, chosen, alphabet, posteriors)
    est = checks_verdict(est, checks, "the sample does not pin the entropy down: draw more rows")
    return replace(est, report=replace(est.report, chosen=chosen, why=why, checks=checks, features=feats))


def _posterior(est: Estimate) -> bool:
    """Whether ``est``'s value and standard error are NSB's or PYM's posterior mean and sd."""
    return est.stderr is not None and est.report.stderr_method in ("NSB posterior", "PYM posterior")


def _both_priors(est: Estimate, other: Estimate) -> Estimate:
    """``est`` with its interval widened to hold ``other``'s posterior interval too (module notes)."""
    if est.interval is None or not all(map(math.isfinite, est.interval)):
        return est
    theirs = other.interval
    if theirs is None or not all(map(math.isfinite, theirs)):
        return est
    span = (min(est.interval[0], theirs[0]), max(est.interval[1], theirs[1]))
    how = "the hull of NSB's and PYM's posterior intervals: the two priors read the unseen tail differently"
    return replace(est, interval=span, report=replace(est.report, interval_method=how))
