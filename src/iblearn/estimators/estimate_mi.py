"""The library's front door: :func:`estimate_mi`, I(X; Y) in one call, as torch-mist's ``estimate_mi``
and scikit-learn's ``mutual_info_regression`` give one: by default an estimator chosen from the data and
checked (:mod:`iblearn.estimators.auto`), or a named one through the held-out split of
:mod:`iblearn.estimators.split`.
"""

from __future__ import annotations

from typing import Any

from iblearn.estimators.auto import auto_estimate
from iblearn.estimators.base import MIEstimate
from iblearn.estimators.split import fit_on_split, split_estimate

__all__ = ["estimate_mi", "fit_on_split"]


def estimate_mi(
    x: Any,
    y: Any,
    method: str = "auto",
    *,
    test: float = 0.2,
    steps: int = 3000,
    batch_size: int = 256,
    n_resamples: int = 20,
    seed: int = 0,
    standardize: str = "ranks",
    **settings: Any,
) -> MIEstimate:
    """I(X; Y) in one call: by default an estimator chosen from the data and checked by it
    (``method="auto"``, :func:`iblearn.estimators.auto.auto_estimate`: the estimate comes with an
    ``interval``, the estimator ``chosen`` and ``why``, and its ``checks``; only ``k`` and
    ``neural_steps`` of the settings below apply to it). Or a named estimator: split, fit with early
    stopping, estimate on held-out rows, standard error.

    For a neural ``method`` (``"mine"``, ``"infonce"``, ``"nwj"``, ...) the rows are split into training
    (of which the critic holds out ``validation``, 0.2 by default, to stop early on) and ``test``
    (:func:`iblearn.estimators.split.fit_on_split`), and the estimate is the bound on the test rows; it is
    flagged (``reliable=False``, with a ``caveat`` and a warning) where it is impossible for the data or
    cannot be read as an estimate (:func:`iblearn.estimators.reliability.judged`), or where the batch
    held every training row. Input holding NaN or Inf, or a constant x or y, is refused whatever
    ``standardize`` is. Other estimators
    (``"ksg"``, ``"gaussian"``) have nothing to fit and estimate on every row.

    Args:
        x, y: samples as rows, ``(N, dx)`` and ``(N, dy)``; y may be ``(N,)`` integer class labels.
        method: ``"auto"``, or a registry name (:func:`iblearn.estimators.get_estimator`).
        test: the share of rows the estimate is on (neural methods).
        steps: at most this many training steps (fewer when the validation bound stops improving).
        batch_size: rows per training step.
        n_resamples: resamples behind the standard error (half-sampling jackknife for neural
            estimators); 0 for none.
        seed: seeds the critic, the split, the batches and the resampling.
        standardize: how float samples are standardized before the critic sees them (neural methods):
            ``"ranks"`` (normal scores, :func:`iblearn.estimators.split.normal_scores`; the default),
            ``"moments"`` (mean and spread) or ``"none"``; the MI is the same
            (:func:`iblearn.estimators.split.fit_on_split`).
        **settings: the estimator's own settings (``hidden=(64,)``, ``lr=1e-4``, ``validation=0.3``).

    Returns:
        The estimate, naming its estimator (``estimator``) and, for neural methods, the rows behind it
        (``split``: ``{"train", "validation", "test"}`` counts).

    Example:
        >>> from iblearn.data import bivariate_normal
        >>> x, y = bivariate_normal().sample(2000, seed=0)
        >>> result = estimate_mi(x, y, "mine", steps=300, hidden=(32,), lr=2e-3)
        >>> result.estimator, result.split
        ('mine', {'train': 1280, 'validation': 320, 'test': 400})
    """
    if method == "auto":
        unknown = sorted(set(settings) - {"k", "neural_steps"})
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)}: not a setting of method='auto' (it takes k, neural_steps)"
            )
        return auto_estimate(x, y, seed=seed, **settings)
    return split_estimate(
        x,
        y,
        method,
        test=test,
        steps=steps,
        batch_size=batch_size,
        n_resamples=n_resamples,
        seed=seed,
        standardize=standardize,
        **settings,
    )
