"""The held-out split behind a neural estimate: split the rows, fit a critic with early stopping,
estimate on the rows it never saw, with a standard error (:func:`split_estimate`, what
:func:`iblearn.estimate_mi` does for a named method).

A bound evaluated on the rows its critic was fitted to rewards memorizing them, and is no bound; so the
estimate is on held-out test rows, and the critic kept is the one that did best on a further validation
share of the training rows (:meth:`iblearn.estimators.neural.NeuralEstimator.fit`).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn._settings import setting
from iblearn.estimation.verdict import estimator_verdict, flagged
from iblearn.estimators.base import Estimator, MIEstimate
from iblearn.estimators.neural import NeuralEstimator
from iblearn.estimators.neural.inputs import refuse_constant
from iblearn.estimators.registry import REGISTRY, get_estimator
from iblearn.functional.scale import power_of_two_scale

#: How :func:`fit_on_split` standardizes float samples.
STANDARDIZE = ("moments", "ranks", "none")


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
    standardize: str = "ranks",
) -> tuple[Tensor, Tensor, dict[str, int]]:
    """Fit ``est``'s critic on a random ``1 - test`` of the rows and return the other rows to estimate on.

    Float samples are standardized (the MI does not change; the critic's default learning rate assumes
    unit-scale inputs): ``standardize="ranks"`` (the default) each column through its normal scores on
    the training rows (:func:`normal_scores`: heavy tails become Gaussian ones), ``"moments"`` with the
    training rows' mean and spread, ``"none"`` not at all. Ranks by default: a heavy-tailed sample's
    few far rows set its spread and squeeze the rest towards 0 (benchmark-mi's Student-t tasks: the
    figures in docs/benchmarks.md), and where there are no heavy tails the two agree. The critic holds
    out its own validation share of the training rows (``est.validation``) to stop early and keep its
    best weights.

    Args:
        est: a neural estimator (:class:`iblearn.estimators.neural.NeuralEstimator`).
        x, y: samples as rows; y may be integer class labels.
        test: the share of rows held out for the estimate, in (0, 1).
        steps, batch_size: at most this many training steps of this many rows.
        seed: seeds the split, the batches and the negatives.
        progress: called as ``progress(step, loss)`` after every training step (the CLI's progress bar).
        standardize: ``"moments"``, ``"ranks"`` or ``"none"`` (above).

    Returns:
        The standardized test rows ``(x, y)`` and the split, ``{"train", "validation", "test"}`` row counts.

    Raises:
        ValueError: ``test`` outside (0, 1) or leaving fewer than 2 rows on a side, or a bad sample
            (named): NaN or Inf, whatever ``standardize`` is, or a constant variable.
    """
    if not isinstance(est, NeuralEstimator):
        raise ValueError(f"estimator: {est.name} has no critic to fit")
    V.choice(standardize, "standardize", STANDARDIZE)
    setting("test", test)
    xt, yt = V.as_tensor(x, "x"), V.as_tensor(y, "y")
    for name, t in (("x", xt), ("y", yt)):
        if t.is_floating_point():  # before the standardization, which would map NaN to finite scores
            V.continuous(t, name, allow_grid=True)
    refuse_constant(xt, yt)
    n = V.same_length(("x", xt), ("y", yt))
    n_test = round(n * test)
    if min(n_test, n - n_test) < 2:
        raise ValueError(f"test: {test:g} of {n} rows leaves fewer than 2 on one side")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(setting("seed", seed))).to(xt.device)
    train, held = order[n_test:], order[:n_test]

    def standardized(t: Tensor) -> Tensor:
        if not t.is_floating_point() or standardize == "none":
            return t  # class labels
        if standardize == "ranks":
            return normal_scores(t, t[train])
        # An exact power of two first: the squares of a standard deviation overflow from about 1e154.
        t = t / power_of_two_scale(t, dim=0).to(t.dtype)
        spread = t[train].std(dim=0)
        return (t - t[train].mean(dim=0)) / torch.where(spread > 0, spread, 1.0)

    xt, yt = standardized(xt), standardized(yt)
    est.fit(xt[train], yt[train], steps=steps, batch_size=batch_size, seed=seed, progress=progress)
    n_validation = round(len(train) * est.validation)
    split = {"train": len(train) - n_validation, "validation": n_validation, "test": n_test}
    return xt[held], yt[held], split


def normal_scores(t: Tensor, reference: Tensor) -> Tensor:
    """Each column of ``t`` through its empirical distribution function on ``reference``'s rows and the
    standard normal quantile: ``Phi^-1((r + 1/2) / (n + 1))``, r the mid-rank of a value among the n
    reference values (ties share a rank). A strictly increasing map of each column, so on the reference
    rows the MI of a continuous pair is unchanged (Kraskov et al. 2004, eq. 1 is invariant under such
    maps); heavy tails become Gaussian ones. The same map (fitted on ``reference``) serves held-out rows,
    so a critic trained on the reference rows sees them alike. For estimation only: the map depends on
    the sample, so a critic trained on the transformed rows does not score raw ones.
    """
    ref = reference.reshape(len(reference), -1)
    values = t.reshape(len(t), -1)
    ordered = ref.sort(dim=0).values.T.contiguous()  # (d, n)
    rows = values.T.contiguous()  # (d, m)
    below = torch.searchsorted(ordered, rows, side="left")
    upto = torch.searchsorted(ordered, rows, side="right")
    u = ((below + upto).to(torch.float64) / 2 + 0.5) / (len(ref) + 1)
    z = math.sqrt(2) * torch.special.erfinv(2 * u - 1)
    return z.T.to(t.dtype if t.is_floating_point() else torch.float32).reshape(t.shape)


#: A neural critic's training steps at most, unless the caller says otherwise.
STEPS = 3000


def split_estimate(
    x: Any,
    y: Any,
    method: str,
    *,
    test: float = 0.2,
    steps: int = STEPS,
    batch_size: int = 256,
    n_resamples: int = 20,
    n_permutations: int = 0,
    seed: int = 0,
    standardize: str = "ranks",
    progress: Callable[[int, float], None] | None = None,
    **settings: Any,
) -> MIEstimate:
    """I(X; Y) by the registered estimator ``method`` (:func:`method_name`): for a neural one, the rows
    split, the critic fitted with early stopping on the training share (:func:`fit_on_split`, which
    calls ``progress(step, loss)`` after each step) and the bound on the held-out test rows, with a
    standard error; for a non-parametric one, every row. A p-value against independence from
    ``n_permutations`` permutations. What :func:`iblearn.estimate_mi` does for a named method (its
    arguments)."""
    xt, yt = V.as_tensor(x, "x"), V.as_tensor(y, "y")
    method = method_name(method)
    call = {"n_resamples": n_resamples, "n_permutations": n_permutations, "seed": seed}
    if not REGISTRY[method].trainable:
        return measured(built(method, settings, seed), (xt, yt), **call)
    if xt.ndim < 2:
        xt = xt[:, None]
    labels = not yt.is_floating_point()
    if labels:
        settings.setdefault("y_classes", int(yt.max()) + 1 if yt.numel() else 1)
    elif yt.ndim < 2:
        yt = yt[:, None]
    dims = {"x_dim": int(xt[0].numel())} | ({} if labels else {"y_dim": int(yt[0].numel())})
    est = built(method, dims | settings, seed)  # a user's own x_dim or y_dim is theirs to give
    n_test = round(len(xt) * test) if isinstance(test, float) and 0 < test < 1 else 0
    if n_resamples and est.resampling == "half" and 2 <= n_test < 4:
        raise ValueError(
            f"test: {test:g} of {len(xt)} rows leaves {n_test} to estimate on, and a standard error by "
            "half-sampling (n_resamples) needs at least 4 (2 a half); pass more rows, a larger test, "
            "or n_resamples=0"
        )
    x_test, y_test, split = fit_on_split(
        est,
        xt,
        yt,
        test=test,
        steps=steps,
        batch_size=batch_size,
        seed=seed,
        standardize=standardize,
        progress=progress,
    )
    result = measured(est, (x_test, y_test), **call)
    result = replace(result, report=replace(result.report, split=split))
    if isinstance(batch_size, int) and batch_size > split["train"]:
        result = flagged(
            result,
            est.name,
            f"batch_size {batch_size} is more than the {split['train']} training rows, so every step "
            "trained on all of them (and a contrastive bound drew its negatives from them alone); "
            "pass more rows or a smaller batch_size",
        )
    return result


def measured(est: Estimator, samples: tuple[Any, ...], **call: Any) -> MIEstimate:
    """``est`` called on ``samples`` (x, y, and z for conditional MI) with the ``call``'s keywords
    (:meth:`iblearn.estimators.base.Estimator.forward`), and judged from the figures it returns
    (:func:`iblearn.estimation.verdict.estimator_verdict`): what every named estimator gives the front
    door."""
    x, y, *z = samples
    result = est(x, y, **call) if not z else est(x, y, z=z[0], **call)
    return estimator_verdict(est, result, samples, int(call.get("n_resamples") or 0))


def method_name(text: str) -> str:
    """The registry name of ``text``: a registry or class name in any case (``"KSG"``, ``"MixedKSG"``,
    ``"mine-f"``); anything else raises ValueError naming ``method``, with the closest names."""
    names = {key: key for key in REGISTRY} | {cls.__name__.lower(): key for key, cls in REGISTRY.items()}
    key = text.lower().replace("-", "_") if isinstance(text, str) else repr(text)
    for candidate in (key, key.replace("_", "")):
        if candidate in names:
            return names[candidate]
    close = difflib.get_close_matches(key, list(names), n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(dict.fromkeys(names[c] for c in close))}? " if close else ""
    raise ValueError(f"method: unknown estimator {text!r}; {hint}known: {', '.join(sorted(REGISTRY))}")


def built(method: str, settings: dict[str, Any], seed: int) -> Estimator:
    """The registered estimator ``method`` with ``settings``, seeded by ``seed`` where it takes a seed
    and none is given."""
    if REGISTRY[method].seeded:
        settings = {"seed": seed} | settings
    return get_estimator(method, **settings)


def takes_labels(method: str) -> bool:
    """Whether the registered estimator ``method`` reads an integer y as class labels (MixedKSG, and a
    critic with ``y_classes``), rather than as numbers."""
    method = method_name(method)
    return REGISTRY[method].labels_y


def __getattr__(name: str) -> Any:
    if name == "estimate_mi":
        raise AttributeError(
            "iblearn.estimation.split.estimate_mi is iblearn.estimate_mi, in iblearn.estimate"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
