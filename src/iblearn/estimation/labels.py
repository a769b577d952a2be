"""The entropy of labels for the front door: the discrete estimators, chosen by
:func:`iblearn.estimation.choose.choose_discrete_method` from how well the sample covers its symbols
(Chao-Wang-Jost where each symbol is seen often and little mass is unseen, NSB where the sample is
undersampled, PYM where its counts have a heavy tail), with the chosen estimator's interval, checked
on the counts (:func:`iblearn.estimation.auto_discrete.entropy_checks`: coincidences, the unseen mass,
the tail)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from iblearn import functional as ibf
from iblearn.estimation.auto_discrete import entropy_checks
from iblearn.estimation.choose import choose_discrete_method
from iblearn.estimation.verdict import checks_verdict
from iblearn.functional import Estimate
from iblearn.functional.discrete import counts_of

__all__ = ["entropy_auto", "entropy_method"]


def entropy_method(labels: Any, *, method: str, **options: Any) -> Estimate:
    """H(X) of labels (rows are outcomes) by a named discrete estimator:
    :func:`iblearn.functional.discrete_entropy_estimate`, options as there."""
    return ibf.discrete_entropy_estimate(labels, method=method, **options)  # type: ignore[arg-type]


def entropy_auto(labels: Any, *, alphabet: int | None = None, seed: int = 0) -> Estimate:
    """H(X) of labels by the estimator the sample's coverage asks for, with its interval and a report.

    Example:
        >>> import torch
        >>> est = entropy_auto(torch.arange(2000) % 4)
        >>> est.report.chosen, round(float(est), 3), est.reliable
        ('cwj', 1.387, True)
    """
    counts = counts_of(labels)
    chosen, why = choose_discrete_method(counts, alphabet)
    est = ibf.discrete_entropy_estimate(counts=counts, method=chosen, alphabet=alphabet, seed=seed)  # type: ignore[arg-type]
    feats = {
        "n": float(counts.sum()),
        "symbols": float((counts > 0).sum()),
        "singletons": float((counts == 1).sum()),
    }
    checks = entropy_checks(counts, chosen, alphabet)
    est = checks_verdict(est, checks, "the sample does not pin the entropy down: draw more rows")
    return replace(est, report=replace(est.report, chosen=chosen, why=why, checks=checks, features=feats))
