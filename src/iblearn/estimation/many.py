"""The measures among many variables and the PID for the front door: the automatic rule and the named
methods.

The rule reads the data as :func:`iblearn.estimation.choose.features` does, on all the columns at once:
columns that look Gaussian and a joint that does (Mardia's kurtosis within
:data:`~iblearn.estimation.choose.JOINT_GAUSSIAN` of a Gaussian's) take ``"gaussian"``; a joint whose
normal scores look Gaussian takes ``"copula"`` (a monotone map of each column leaves every measure
unchanged, and heavy tails become Gaussian ones); anything else, or a column with a point mass, takes
``"ksg"`` (in more than :data:`~iblearn.estimation.choose.KNN_DIMS` dimensions the copula, as KSG reads
far off there). The estimate is :func:`iblearn.functional.multivariate_estimate`'s with its interval
(the half-sampling jackknife for KSG, the bootstrap for the closed forms), checked on half the rows
with each variable's rows shuffled apart (every one of these measures is 0 for independent
variables; run only where the estimate is otherwise reliable, as elsewhere it would not change the
verdict) and by the trend from half the rows to all of them.

The PID of continuous samples takes the same rule and checks, by its ``redundancy``
(:func:`~iblearn.estimation.choose.choose_pid`): the minimum-MI one by the rule's method; shared
exclusion (``"sx"``) by nearest neighbours on the samples as given; BROJA, I_ccs and I_dep by the
Gaussian PID of the covariance, of the normal scores where the data do not look Gaussian. Each part's
interval beyond MMI is the inference core's over halves of the rows (:func:`pid_parts`), as for labels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cache
from typing import Any, Unpack

import numpy as np
import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn import functional as ibf
from iblearn._settings import resampling_counts, setting
from iblearn.estimation.auto import HALF_ROWS
from iblearn.estimation.choose import choose_many, choose_pid
from iblearn.estimation.pid_labels import REDUNDANCIES, label_codes, pid_labels
from iblearn.estimation.pid_labels import RESAMPLES as RESAMPLES_PID
from iblearn.estimation.verdict import figures_verdict, flagged, many_verdict, parts_verdict
from iblearn.functional import Estimate, inference
from iblearn.functional.knn.options import KNNKeywords
from iblearn.functional.multivariate.estimate import estimable
from iblearn.functional.multivariate.inputs import copula_normal, split_variables
from iblearn.functional.multivariate.pid_mmi import mmi_pid
from iblearn.functional.multivariate.pid_samples import pid_resamples, pid_spans

__all__ = [
    "NamedKeywords",
    "multivariate_auto",
    "multivariate_method",
    "pid_auto",
    "pid_method",
    "pid_parts",
]

#: The PID's parts, in :class:`~iblearn.functional.PIDParts`' order, and their total.
PARTS = ("redundancy", "unique_1", "unique_2", "synergy", "total")

#: Resamples behind the automatic interval, by method: KSG's halves cost about half an estimate each
#: (with the shuffled half, within four estimates); the closed forms' bootstrap costs little.
RESAMPLES = {"ksg": 4, "gaussian": 50, "copula": 50}


class NamedKeywords(KNNKeywords, total=False):
    """The options of a measure among many variables by a named method, as ``**options`` take them:
    :class:`~iblearn.functional.multivariate.core.MeasureKeywords` less ``method`` (named apart), with
    the resampling of :func:`iblearn.functional.multivariate_estimate`.

    Keys:
        k, bias_correction, standardize, ties, backend, seed: as for
            :func:`iblearn.functional.total_correlation`.
        n_resamples, n_permutations, n_jobs: as for :func:`iblearn.functional.multivariate_estimate`.
    """

    k: int
    bias_correction: bool
    n_resamples: int
    n_permutations: int
    n_jobs: int | None


def _estimable(measure: str, data: Any, blocks: Any) -> None:
    """Refuse, naming ``data`` or ``blocks``, data whose variables ``measure`` is not estimated of: fewer
    than two, blocks that do not fit, a count the measure does not take (``estimable``)."""
    estimable(measure, len(split_variables(data, blocks, "data")), "data" if blocks is None else "blocks")


def multivariate_method(
    measure: str, data: Any, blocks: Any = None, *, method: str, **options: Unpack[NamedKeywords]
) -> Estimate:
    """``measure`` by a named method (``"ksg"``, ``"gaussian"``, ``"copula"``):
    :func:`iblearn.functional.multivariate_estimate`, options as there, judged from the figures of
    its data (:func:`~iblearn.estimation.verdict.figures_verdict`)."""
    _estimable(measure, data, blocks)  # read here, so that what is refused is named "data" or "blocks"
    est = ibf.multivariate_estimate(measure, data, blocks, method=method, **options)  # type: ignore[arg-type]
    return figures_verdict(est)


def pid_method(
    x1: Any, x2: Any, target: Any, *, method: str, redundancy: str = "mmi", **options: Unpack[NamedKeywords]
) -> dict[str, Estimate]:
    """The PID's parts by a named method: MMI by :func:`iblearn.functional.pid_estimate`, options as
    there; another ``redundancy`` by :func:`pid_parts` (``"copula"``: the Gaussian PID of each
    variable's normal scores), which takes ``n_resamples``, ``seed`` and, for ``"sx"``, the kNN
    settings."""
    V.choice(redundancy, "redundancy", REDUNDANCIES)
    if redundancy == "mmi":
        parts = ibf.pid_estimate(x1, x2, target, method=method, **options)  # type: ignore[arg-type]
        return {name: figures_verdict(est) for name, est in parts.items()}
    settings: dict[str, Any] = dict(options)
    n_resamples, seed = settings.pop("n_resamples", 0), settings.pop("seed", 0)
    for name in ("n_permutations", "n_jobs", "bias_correction"):
        if name in settings:
            raise ValueError(
                f"{name}: redundancy={redundancy!r} takes n_resamples and seed (and by method='ksg' "
                "the kNN settings)"
            )
    return pid_parts(x1, x2, target, redundancy, method, n_resamples, seed, settings)


def pid_parts(
    x1: Any,
    x2: Any,
    target: Any,
    redundancy: str,
    method: str,
    n_resamples: int,
    seed: int,
    settings: dict[str, Any] | None = None,
) -> dict[str, Estimate]:
    """The PID's parts (redundancy, unique_1, unique_2, synergy, total) by ``redundancy`` and ``method``
    (:func:`iblearn.functional.pid`, which says which pairs exist; ``"copula"``: its
    ``"gaussian"`` on each variable's normal scores), each with its
    half-sampling interval from ``n_resamples`` halves of the rows (none where 0): the inference core's
    bias-aware :func:`~iblearn.functional.inference.interval`, the bias its trend with N reads (the
    halves' figures in ``report.features``), and the verdict of
    :func:`~iblearn.estimation.verdict.parts_verdict`: flagged where it is not finite or where that
    trend allows a bias beyond its sampling error. ``seed`` draws the halves and, by kNN, the
    jitter of ties (with ``settings``, the kNN settings of ``"sx"``).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x1, x2 = torch.randn(1000, 1, generator=g), torch.randn(1000, 1, generator=g)
        >>> parts = pid_parts(x1, x2, x1 + x2 + 0.5 * torch.randn(1000, 1, generator=g), "sx", "ksg", 20, 0)
        >>> low, high = parts["total"].interval
        >>> bool(low < 1.0986 < high)  # I(X1, X2; T) = log(1 + 2 / 0.25) / 2
        True
    """
    named = (("x1", x1), ("x2", x2), ("target", target))
    data = [V.as_tensor(_scores(v, name) if method == "copula" else v, name) for name, v in named]
    n = V.same_length(*zip(("x1", "x2", "target"), data, strict=True))
    resampling_counts(n_resamples, 0)
    options = {**(settings or {}), **({"seed": seed} if method == "ksg" else {})}
    run = "gaussian" if method == "copula" else method
    whole, halves = pid_resamples(data, redundancy, run, n_resamples, "half", seed, **options)  # type: ignore[arg-type]
    # Minimum-type parts are not smooth at a tie: their intervals are composed from smooth ones.
    spans = pid_spans(redundancy, False, data[2], whole, halves, n, "half") if n_resamples else []
    out = {}
    for j, name in enumerate(PARTS):
        est = Estimate(torch.tensor(whole[j], dtype=torch.float64), n, method, measure=name)
        if n_resamples:
            r = inference.summarize(halves[:, j].tolist(), n, "half", constant=True)
            _, bias = inference.interval(whole[j], r.stderr, half=r.half, n_resamples=n_resamples)
            est = replace(
                est,
                stderr=spans[j][0],
                interval=(spans[j][1], spans[j][2]),
                confidence=inference.CONFIDENCE,
                bias=bias,
                report=replace(
                    est.report,
                    stderr_method=f"{r.method} over {n_resamples} halves of the rows",
                    features={}
                    if r.half is None
                    else {"half": r.half, "stderr": r.stderr, "resamples": n_resamples},
                ),
            )
        out[name] = parts_verdict(est)
    return out


def _auto(method: str, k: int, seed: int) -> NamedKeywords:
    """The options of the automatic estimate by ``method``: its resamples for the interval."""
    return NamedKeywords(k=k, n_resamples=RESAMPLES[method], seed=seed)


def _scores(value: Any, name: str) -> Any:
    """A variable as KSG reads it: labels as they are, integral numbers that read as labels (MI's rule,
    :func:`~iblearn.functional.class_codes`) as their codes, other numbers as normal scores."""
    t = V.as_tensor(value, name)
    if not t.is_floating_point():
        return value
    codes = ibf.class_codes(t, name)
    return codes if codes is not None else copula_normal(t.reshape(len(t), -1).double())


def _columns(*values: Any, names: tuple[str, ...]) -> Tensor:
    parts = []
    for value, name in zip(values, names, strict=True):
        t = V.as_tensor(value, name)
        parts.append(V.finite_rows(t.reshape(len(t), -1).double(), name))
    V.same_length(*zip(names, parts, strict=True))
    return torch.cat(parts, dim=1)


def multivariate_auto(measure: str, data: Any, blocks: Any = None, *, k: int = 3, seed: int = 0) -> Estimate:
    """``measure`` among the variables of ``data`` (``blocks``: each variable's columns) by the rule
    (module notes), checked, with an interval and a report.

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> s = torch.randn(1000, 1, generator=g)
        >>> data = s + torch.randn(1000, 3, generator=g)
        >>> est = multivariate_auto("o_information", data)
        >>> est.report.chosen, est > 0
        ('gaussian', True)
    """
    seed = setting("seed", seed)
    cols = _columns(data, names=("data",))
    _estimable(measure, cols, blocks)
    k = V.neighbours(k, len(cols) // 2, rows=HALF_ROWS.format(len(cols)))
    # The rule's features and KSG read the same normal scores: made once.
    normal = cache(lambda: copula_normal(cols))
    chosen, why, feats = choose_many(cols, normal)
    if chosen == "ksg":  # each column's normal scores: a monotone map of it, which no measure sees
        cols, why = normal(), why + " on normal scores"
    est = ibf.multivariate_estimate(measure, cols, blocks, method=chosen, **_auto(chosen, k, seed))  # type: ignore[arg-type]
    est = figures_verdict(est)
    variables = [list(b) for b in blocks] if blocks is not None else [[i] for i in range(cols.shape[1])]

    def shuffled(rows: np.ndarray) -> float:
        half = cols[torch.from_numpy(rows)].clone()
        for i, block in enumerate(variables[1:], start=1):
            order = torch.from_numpy(inference.rng(seed, inference.PERMUTATION, i).permutation(len(half)))
            half[:, block] = half[order][:, block]
        fn = getattr(ibf, measure)
        if measure == "interaction_information":  # three variables as arguments
            return float(fn(*(half[:, b] for b in variables), method=chosen, k=k, seed=seed))
        return float(fn(half, blocks, method=chosen, k=k, seed=seed))

    return many_verdict(est, shuffled, chosen, why, feats, "each variable's rows shuffled apart")


def pid_auto(
    x1: Any, x2: Any, target: Any, *, redundancy: str = "mmi", k: int = 3, seed: int = 0
) -> dict[str, Estimate]:
    """The PID's parts (redundancy, unique_1, unique_2, synergy, total) by the rule on the three
    variables together, each checked (the target shuffled against the sources on half the rows: every
    part reads about 0; half the rows), with its interval and the report. Labels in all three take the
    discrete path (:mod:`iblearn.estimation.pid_labels`); continuous samples take MMI by the rule,
    ``"sx"`` by nearest neighbours, ``"broja"``, ``"ccs"`` and ``"dep"`` by the Gaussian PID, of the
    normal scores where the data do not look Gaussian (:func:`~iblearn.estimation.choose.choose_pid`)."""
    seed = setting("seed", seed)
    V.choice(redundancy, "redundancy", REDUNDANCIES)
    codes = label_codes(("x1", x1), ("x2", x2), ("target", target))
    if codes is not None:
        V.same_length(*zip(("x1", "x2", "target"), codes, strict=True))
        return pid_labels(codes, redundancy, seed)
    cols = _columns(x1, x2, target, names=("x1", "x2", "target"))
    k = V.neighbours(k, len(cols) // 2, rows=HALF_ROWS.format(len(cols)))
    vector = V.as_tensor(target, "target").reshape(len(cols), -1).shape[1] > 1
    chosen, why, feats = choose_many(cols)
    method, why, doubt = choose_pid(redundancy, chosen, why, vector)
    if redundancy == "mmi" and method == "ksg":  # normal scores, as for the other measures
        x1, x2, target = (_scores(v, name) for v, name in ((x1, "x1"), (x2, "x2"), (target, "target")))
    a, b, t = V.as_tensor(x1, "x1"), V.as_tensor(x2, "x2"), V.as_tensor(target, "target")
    if redundancy == "mmi":
        parts = ibf.pid_estimate(a, b, t, method=method, **_auto(method, k, seed))  # type: ignore[arg-type]
        parts = {name: figures_verdict(est) for name, est in parts.items()}

        def rerun(a: Tensor, b: Tensor, t: Tensor) -> dict[str, float]:
            out = mmi_pid(a, b, t, method=method, k=k, seed=seed)  # type: ignore[arg-type]
            return {name: float(getattr(out, name)) for name in PARTS}

    else:
        settings = {"k": k} if method == "ksg" else {}
        parts = pid_parts(a, b, t, redundancy, method, RESAMPLES_PID, seed, settings)

        def rerun(a: Tensor, b: Tensor, t: Tensor) -> dict[str, float]:
            return {
                name: float(e)
                for name, e in pid_parts(a, b, t, redundancy, method, 0, seed, settings).items()
            }

    shuffled = _shuffled_parts(rerun, (a, b, t), seed)
    null = "the target shuffled against the sources"
    return {
        name: many_verdict(
            est if doubt is None else flagged(est, "auto", doubt),
            shuffled(name),
            method,
            why,
            feats,
            null,
        )
        for name, est in parts.items()
    }


def _shuffled_parts(
    rerun: Callable[[Tensor, Tensor, Tensor], dict[str, float]],
    variables: tuple[Tensor, Tensor, Tensor],
    seed: int,
) -> Callable[[str], Callable[[np.ndarray], float]]:
    """``part(name)``: the function of half the rows (the verdict's) that gives part ``name`` of
    ``rerun(x1, x2, target)`` (the parts by name) with the target shuffled against the sources, the
    parts computed once for all."""
    a, b, t = variables
    null_parts: dict[str, float] = {}

    def part(name: str) -> Any:
        def rerun_part(rows: np.ndarray) -> float:
            if not null_parts:
                r = torch.from_numpy(rows)
                order = torch.from_numpy(inference.rng(seed, inference.PERMUTATION, 0).permutation(len(r)))
                null_parts.update(rerun(a[r], b[r], t[r][order]))
            return null_parts[name]

        return rerun_part

    return part
