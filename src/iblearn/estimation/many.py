"""The measures among many variables and the PID for the front door: the automatic rule and the named
methods.

The rule reads the data as :func:`iblearn.estimators.auto.features` does, on all the columns at once:
columns that look Gaussian and a joint that does (Mardia's kurtosis within
:data:`~iblearn.estimators.auto.JOINT_GAUSSIAN` of a Gaussian's) take ``"gaussian"``; a joint whose
normal scores look Gaussian takes ``"copula"`` (a monotone map of each column leaves every measure
unchanged, and heavy tails become Gaussian ones); anything else, or a column with a point mass, takes
``"ksg"`` (in more than :data:`~iblearn.estimators.auto.KNN_DIMS` dimensions the copula, as KSG reads
far off there). The estimate is :func:`iblearn.functional.multivariate_estimate`'s with its interval
(the half-sampling jackknife for KSG, the bootstrap for the closed forms), checked on half the rows
with each variable's rows shuffled apart (every one of these measures is 0 for independent
variables; run only where the estimate is otherwise reliable, as elsewhere it would not change the
verdict) and by the trend from half the rows to all of them.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import cache
from typing import Any, Unpack

import numpy as np
import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn import functional as ibf
from iblearn.estimation.pid_labels import REDUNDANCIES, label_codes, pid_labels
from iblearn.estimation.series import probed
from iblearn.estimators import reliability
from iblearn.estimators.auto import ATOM, KNN_DIMS, features, looks_gaussian, marginals_gaussian
from iblearn.estimators.autocheck import FLOOR, HALF_DATA, SHARE, Check, caveat
from iblearn.functional import Estimate, inference
from iblearn.functional.knn.options import KNNKeywords
from iblearn.functional.multivariate.inputs import copula_normal, split_variables

__all__ = [
    "NamedKeywords",
    "choose_method",
    "multivariate_auto",
    "multivariate_method",
    "pid_auto",
    "pid_method",
]

#: Resamples behind the automatic interval, by method: KSG's halves cost about half an estimate each
#: (with the shuffled half, within four estimates); the closed forms' bootstrap costs little.
RESAMPLES = {"ksg": 4, "gaussian": 50, "copula": 50}
_ADVICE = "the estimate may be biased here: use more rows, or fewer variables"


def choose_method(cols: Tensor) -> tuple[str, str, dict[str, float]]:
    """(method, why, features) for the rows ``cols`` ``(N, d)`` of every variable (module notes)."""
    n, d = cols.shape

    @cache
    def scores() -> tuple[Tensor, Tensor]:
        z = copula_normal(cols)
        return z[:, :1], z[:, 1:]

    feats = features(cols[:, :1], cols[:, 1:], scores)
    shape = f"{d} dims, N = {n}, Mardia {feats.get('mardia', math.nan):+.3f}"
    if feats.get("atom", 0.0) >= ATOM:
        return "ksg", f"{shape}; a column has a point mass ({feats['atom']:.0%} of the rows): KSG", feats
    # Mardia's statistic over d (d + 2) has sd sqrt(8 / (d (d + 2) N)) for a Gaussian (Mardia 1970):
    # at a few hundred rows that is more than the fixed tolerance, which is then 3 of them.
    spread = 3 * math.sqrt(8 / (d * (d + 2) * n))
    if looks_gaussian(feats) or abs(feats.get("mardia", math.inf)) <= spread:
        if marginals_gaussian(feats):
            return (
                "gaussian",
                f"{shape}: the columns and the joint look Gaussian: bias-corrected Gaussian",
                feats,
            )
        return "copula", f"{shape}: the normal scores look jointly Gaussian: Gaussian copula", feats
    if d > KNN_DIMS:
        return (
            "copula",
            f"{shape}: not Gaussian, but more than {KNN_DIMS} dims for KSG: Gaussian copula",
            feats,
        )
    return "ksg", f"{shape}: not jointly Gaussian in any monotone coordinates: KSG", feats


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


def multivariate_method(
    measure: str, data: Any, blocks: Any = None, *, method: str, **options: Unpack[NamedKeywords]
) -> Estimate:
    """``measure`` by a named method (``"ksg"``, ``"gaussian"``, ``"copula"``):
    :func:`iblearn.functional.multivariate_estimate`, options as there."""
    return ibf.multivariate_estimate(measure, data, blocks, method=method, **options)  # type: ignore[arg-type]


def pid_method(
    x1: Any, x2: Any, target: Any, *, method: str, **options: Unpack[NamedKeywords]
) -> dict[str, Estimate]:
    """The PID's parts by a named method: :func:`iblearn.functional.pid_estimate`, options as there."""
    return ibf.pid_estimate(x1, x2, target, method=method, **options)  # type: ignore[arg-type]


def _auto(method: str, k: int, seed: int) -> NamedKeywords:
    """The options of the automatic estimate by ``method``: its resamples for the interval."""
    return NamedKeywords(k=k, n_resamples=RESAMPLES[method], seed=seed)


def _scores(value: Any, name: str) -> Any:
    t = V.as_tensor(value, name)
    if not t.is_floating_point() or ibf.class_codes(t, name) is not None:
        return value
    return copula_normal(t.reshape(len(t), -1).double())


def _columns(*values: Any, names: tuple[str, ...]) -> Tensor:
    parts = []
    for value, name in zip(values, names, strict=True):
        t = V.as_tensor(value, name)
        parts.append(t.reshape(len(t), -1).double())
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
    seed = V.seed(seed)
    cols = _columns(data, names=("data",))
    split_variables(cols, blocks)  # at least two variables, blocks that fit
    k = V.neighbours(k, len(cols) // 2)
    chosen, why, feats = choose_method(cols)
    if chosen == "ksg":  # each column's normal scores: a monotone map of it, which no measure sees
        cols, why = copula_normal(cols), why + " on normal scores"
    est = ibf.multivariate_estimate(measure, cols, blocks, method=chosen, **_auto(chosen, k, seed))  # type: ignore[arg-type]
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

    return _judged(est, shuffled, chosen, why, feats, "each variable's rows shuffled apart")


def pid_auto(
    x1: Any, x2: Any, target: Any, *, redundancy: str = "mmi", k: int = 3, seed: int = 0
) -> dict[str, Estimate]:
    """The PID's parts (redundancy, unique_1, unique_2, synergy, total) by the rule on the three
    variables together, each checked (the target shuffled against the sources on half the rows: every
    part reads about 0), with its interval and the report. Labels in all three take the discrete path
    (:mod:`iblearn.estimation.pid_labels`) and any ``redundancy`` of
    :data:`~iblearn.estimation.pid_labels.REDUNDANCIES`; continuous samples take the minimum-MI one."""
    seed = V.seed(seed)
    V.choice(redundancy, "redundancy", REDUNDANCIES)
    codes = label_codes(("x1", x1), ("x2", x2), ("target", target))
    if codes is not None:
        V.same_length(*zip(("x1", "x2", "target"), codes, strict=True))
        return pid_labels(codes, redundancy, seed)
    if redundancy != "mmi":
        raise ValueError(
            f"redundancy: {redundancy!r} is defined on a joint table and takes labels (integer symbols) in "
            "x1, x2 and the target; continuous samples take 'mmi'"
        )
    cols = _columns(x1, x2, target, names=("x1", "x2", "target"))
    k = V.neighbours(k, len(cols) // 2)
    chosen, why, feats = choose_method(cols)
    if chosen == "ksg":  # normal scores of the continuous variables, as for the other measures
        x1, x2, target = (_scores(v, name) for v, name in ((x1, "x1"), (x2, "x2"), (target, "target")))
        why += " on normal scores"
    parts = ibf.pid_estimate(x1, x2, target, method=chosen, **_auto(chosen, k, seed))  # type: ignore[arg-type]
    t = V.as_tensor(target, "target")
    a, b = V.as_tensor(x1, "x1"), V.as_tensor(x2, "x2")
    null_parts: dict[str, float] = {}

    def shuffled_part(name: str) -> Any:
        def rerun(rows: np.ndarray) -> float:
            if not null_parts:
                r = torch.from_numpy(rows)
                order = torch.from_numpy(inference.rng(seed, inference.PERMUTATION, 0).permutation(len(r)))
                out = ibf.pid(a[r], b[r], t[r][order], method=chosen, k=k, seed=seed)  # type: ignore[arg-type]
                null_parts.update({key: float(getattr(out, key)) for key in (*out._fields, "total")})
            return null_parts[name]

        return rerun

    return {
        name: _judged(est, shuffled_part(name), chosen, why, feats, "the target shuffled against the sources")
        for name, est in parts.items()
    }


def _judged(
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
    why_not = caveat(checks, _ADVICE)
    if why_not is not None:
        est = reliability.flagged(est, "auto", why_not)
    return replace(est, report=replace(est.report, chosen=chosen, why=why, checks=checks, features=feats))
