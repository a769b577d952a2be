"""One call for a number: split the rows, fit a critic with early stopping, estimate on the rows it never
saw, with a standard error (issue 26), as torch-mist's ``estimate_mi`` and scikit-learn's
``mutual_info_regression`` give one.

A bound evaluated on the rows its critic was fitted to rewards memorizing them, and is no bound; so the
estimate is on held-out test rows, and the critic kept is the one that did best on a further validation
share of the training rows (:meth:`iblearn.estimators.neural.NeuralEstimator.fit`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn.estimators.base import Estimator, MIEstimate
from iblearn.estimators.neural import NeuralEstimator
from iblearn.estimators.registry import REGISTRY, get_estimator
from iblearn.functional._scale import power_of_two_scale


def fit_on_split(
    est: Estimator,
    x: Any,
    y: Any,
    *,
    test: float = 0.2,
    steps: int = 3000,
    batch_size: int = 256,
    seed: int = 0,
    progress: Callable[[int, float], None] | None = None,
) -> tuple[Tensor, Tensor, dict[str, int]]:
    """Fit ``est``'s critic on a random ``1 - test`` of the rows and return the other rows to estimate on.

    Float samples are standardized with the training rows' mean and spread (the MI does not change; the
    critic's default learning rate assumes unit-scale inputs). The critic holds out its own validation
    share of the training rows (``est.validation``) to stop early and keep its best weights.

    Args:
        est: a neural estimator (:class:`iblearn.estimators.neural.NeuralEstimator`).
        x, y: samples as rows; y may be integer class labels.
        test: the share of rows held out for the estimate, in (0, 1).
        steps, batch_size: at most this many training steps of this many rows.
        seed: seeds the split, the batches and the negatives.
        progress: called as ``progress(step, loss)`` after every training step (the CLI's progress bar).

    Returns:
        The standardized test rows ``(x, y)`` and the split, ``{"train", "validation", "test"}`` row counts.

    Raises:
        ValueError: ``test`` outside (0, 1) or leaving fewer than 2 rows on a side, or a bad sample.
    """
    if not isinstance(est, NeuralEstimator):
        raise ValueError(f"estimator: {est.name} has no critic to fit")
    if isinstance(test, bool) or not isinstance(test, int | float) or not 0 < test < 1:
        raise ValueError(f"test: the share of rows held out must lie strictly between 0 and 1, got {test!r}")
    xt, yt = V.as_tensor(x, "x"), V.as_tensor(y, "y")
    n = V.same_length(("x", xt), ("y", yt))
    n_test = round(n * test)
    if min(n_test, n - n_test) < 2:
        raise ValueError(f"test: {test:g} of {n} rows leaves fewer than 2 on one side")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(V.seed(seed))).to(xt.device)
    train, held = order[n_test:], order[:n_test]

    def standardized(t: Tensor) -> Tensor:
        if not t.is_floating_point():
            return t  # class labels
        # An exact power of two first: the squares of a standard deviation overflow from about 1e154.
        t = t / power_of_two_scale(t, dim=0).to(t.dtype)
        spread = t[train].std(dim=0)
        return (t - t[train].mean(dim=0)) / torch.where(spread > 0, spread, 1.0)

    xt, yt = standardized(xt), standardized(yt)
    est.fit(xt[train], yt[train], steps=steps, batch_size=batch_size, seed=seed, progress=progress)
    n_validation = round(len(train) * est.validation)
    split = {"train": len(train) - n_validation, "validation": n_validation, "test": n_test}
    return xt[held], yt[held], split


def estimate_mi(
    x: Any,
    y: Any,
    method: str = "mine",
    *,
    test: float = 0.2,
    steps: int = 3000,
    batch_size: int = 256,
    n_resamples: int = 20,
    seed: int = 0,
    **settings: Any,
) -> MIEstimate:
    """I(X; Y) in one call: split, fit with early stopping, estimate on held-out rows, standard error.

    For a neural ``method`` (``"mine"``, ``"infonce"``, ``"nwj"``, ...) the rows are split into training
    (of which the critic holds out ``validation``, 0.2 by default, to stop early on) and ``test``
    (:func:`fit_on_split`), and the estimate is the bound on the test rows; it is flagged
    (``reliable=False``, with a warning) where it cannot be read as an estimate. Other estimators
    (``"ksg"``, ``"gaussian"``) have nothing to fit and estimate on every row.

    Args:
        x, y: samples as rows, ``(N, dx)`` and ``(N, dy)``; y may be ``(N,)`` integer class labels.
        method: a registry name (:func:`iblearn.estimators.get_estimator`).
        test: the share of rows the estimate is on (neural methods).
        steps: at most this many training steps (fewer when the validation bound stops improving).
        batch_size: rows per training step.
        n_resamples: resamples behind the standard error (half-sampling jackknife for neural
            estimators); 0 for none.
        seed: seeds the critic, the split, the batches and the resampling.
        **settings: the estimator's own settings (``hidden=(64,)``, ``lr=1e-4``, ``validation=0.3``).

    Returns:
        The estimate, naming its estimator (``estimator``) and, for neural methods, the rows behind it
        (``split``: ``{"train", "validation", "test"}`` counts).

    Example:
        >>> from iblearn.data.synthetic import bivariate_normal
        >>> x, y = bivariate_normal().sample(2000, seed=0)
        >>> result = estimate_mi(x, y, "mine", steps=300, hidden=(32,), lr=2e-3)
        >>> result.estimator, result.split
        ('mine', {'train': 1280, 'validation': 320, 'test': 400})
    """
    xt, yt = V.as_tensor(x, "x"), V.as_tensor(y, "y")
    if method not in REGISTRY or not REGISTRY[method].trainable:
        est = get_estimator(method, **settings)  # names an unknown method
        return est(xt, yt, n_resamples=n_resamples, seed=seed)
    if xt.ndim < 2:
        xt = xt[:, None]
    labels = not yt.is_floating_point()
    if labels:
        settings.setdefault("y_classes", int(yt.max()) + 1 if yt.numel() else 1)
    elif yt.ndim < 2:
        yt = yt[:, None]
    settings.setdefault("seed", seed)
    dims = {"x_dim": int(xt[0].numel())} | ({} if labels else {"y_dim": int(yt[0].numel())})
    est = get_estimator(method, **dims, **settings)
    x_test, y_test, split = fit_on_split(
        est, xt, yt, test=test, steps=steps, batch_size=batch_size, seed=seed
    )
    result = est(x_test, y_test, n_resamples=n_resamples, seed=seed)
    return replace(result, split=split)
