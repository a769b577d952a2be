"""I(X; Y) and I(X; Y | Z) for the front door: the automatic rule and the named estimators.

MI's automatic rule is :func:`iblearn.estimation.auto.auto_estimate`. Conditional MI's takes the same
rule and the same checks with the conditional candidates: KSG's conditional form (Frenzel & Pompe
2007) and the bias-corrected Gaussian by the chain rule, I(X; Y | Z) = I(X; (Y, Z)) - I(X; Z), each
term bias-corrected (:func:`iblearn.functional.gaussian_mi`). The checks see the rows as x against
(y, z): shuffling (y, z) together against x gives 0, an invertible map of x and one of y and of z
apart leave it unchanged, two copies side by side hold twice it, and half the rows the same.

Reference:
    S. Frenzel, B. Pompe. Partial mutual information for coupling analysis of multivariate time
    series. Phys. Rev. Lett. 99, 204101 (2007).
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import cache
from typing import Any

import numpy as np
import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn import functional as ibf
from iblearn._settings import setting
from iblearn.estimation.auto import (
    TERMS_FLOOR,
    RankedMI,
    RankedReruns,
    auto_estimate,
    enough_rows,
    linear_estimate,
    rotate,
)
from iblearn.estimation.auto_discrete import labels_estimate
from iblearn.estimation.auto_gaussian import copula_check, gaussian_stderr
from iblearn.estimation.autocheck import HALVES, INTERVAL, MI, interval, linearity_check, run_checks
from iblearn.estimation.choose import CMI_NAMES, choose, features, marginals_gaussian
from iblearn.estimation.split import built, measured, method_name, split_estimate
from iblearn.estimation.verdict import LABELS_ADVICE, mi_verdict
from iblearn.functional import Estimate
from iblearn.functional.gaussian import canonical_bases
from iblearn.functional.inference import CONFIDENCE
from iblearn.functional.knn.engine import cmi_terms_ranked, ksg_cmi_ranked
from iblearn.functional.multivariate.inputs import Ranked, ranked_normal

__all__ = ["cmi_auto", "cmi_method", "mi_auto", "mi_method"]


def mi_auto(x: Any, y: Any, *, k: int = 3, neural_steps: int = 0, seed: int = 0) -> Estimate:
    """I(X; Y) by :func:`iblearn.estimation.auto.auto_estimate` (its rule, checks and interval)."""
    return auto_estimate(x, y, k=k, neural_steps=neural_steps, seed=seed)


def mi_method(x: Any, y: Any, *, method: str, **settings: Any) -> Estimate:
    """I(X; Y) by a named estimator (:func:`iblearn.estimation.split.split_estimate`, settings as there:
    a neural one fitted on part of the rows and estimated on the rest)."""
    return split_estimate(x, y, method, **settings)


#: The keywords of an estimator's call (:meth:`iblearn.estimators.base.Estimator.forward`), apart
#: from those that build the estimator.
CALL = ("n_resamples", "n_permutations", "seed", "n_jobs")


def cmi_method(x: Any, y: Any, z: Any, *, method: str, **settings: Any) -> Estimate:
    """I(X; Y | Z) by a named estimator that takes a condition (``"ksg"``, ``"gaussian"``), with a
    standard error (``n_resamples``) and a local-permutation p-value (``n_permutations``); the other
    ``settings`` build the estimator."""
    from iblearn.estimators.conditional import Conditional

    call = {name: settings.pop(name) for name in CALL if name in settings}
    est = built(method_name(method), settings, call.get("seed", 0))
    if not isinstance(est, Conditional):
        raise ValueError(f"method: {method} does not estimate conditional MI; use ksg or gaussian")
    return measured(est, (x, y, z), **call)


def _split(b: Tensor, dy: int, width: int) -> tuple[Tensor, Tensor]:
    """(y, z) of rows ``b`` that hold ``(y, z)`` once, or several copies side by side."""
    v = b.reshape(len(b), -1, width)
    return v[:, :, :dy].reshape(len(b), -1), v[:, :, dy:].reshape(len(b), -1)


def _rows(value: Any, name: str) -> Tensor:
    """``value`` as float rows ``(N, d)``; class labels as their values (ties jittered by KSG)."""
    t = V.as_tensor(value, name)
    t = t.reshape(len(t), -1) if t.dim() else t
    if t.is_floating_point():
        V.continuous(t, name, allow_grid=True)
    V.not_constant(t, name)
    return t.double()


def cmi_auto(x: Any, y: Any, z: Any, *, k: int = 3, seed: int = 0) -> Estimate:
    """I(X; Y | Z) by the automatic rule (module notes), checked, with an interval and a report.

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> z = torch.randn(1000, 1, generator=g)
        >>> x, y = z + torch.randn(1000, 1, generator=g), z + torch.randn(1000, 1, generator=g)
        >>> est = cmi_auto(x, y, z)
        >>> est.report.chosen, est.interval[0] <= 0.02
        ('gaussian', True)
    """
    seed, k = setting("seed", seed), setting("k", k)
    codes = [ibf.class_codes(v, name) for v, name in ((x, "x"), (y, "y"), (z, "z"))]
    xt, yt, zt = _rows(x, "x"), _rows(y, "y"), _rows(z, "z")
    if all(c is not None for c in codes):
        n = V.same_length(("x", xt), ("y", yt), ("z", zt))
        enough_rows(n, x=xt, y=yt, z=zt)
        est = labels_estimate([c for c in codes if c is not None], "cmi", seed)
        return mi_verdict(est, est.report.checks, (xt, yt, zt), ("x", "y", "z"), advice=LABELS_ADVICE)
    n = V.same_length(("x", xt), ("y", yt), ("z", zt))
    enough_rows(n, x=xt, y=yt, z=zt)
    V.neighbours(k, n // 2 - 1)
    dy, width = yt.shape[1], yt.shape[1] + zt.shape[1]

    def plain(a: Tensor, b: Tensor) -> float:
        return float(ibf.ksg_cmi(a, *_split(b, dy, width), k, seed=seed))

    # The spread of KSG's per-row terms over sqrt(N), from the count that makes its estimate on all
    # the scores (where it ran): the floor of its standard error.
    spread: list[float] = []

    def ksg(a: Tensor, b: Tensor) -> float:
        if a is not scores()[0] or b is not scores()[1]:
            return plain(a, b)
        ranked = None if reruns is None else cmi_terms_ranked(a, b[:, :1], b[:, 1:], reruns.ranks, n, k, seed)
        terms = (
            ibf.ksg_cmi(a, *_split(b, dy, width), k, seed=seed, local=True)
            if ranked is None
            else torch.from_numpy(ranked)
        )
        spread.append(float(terms.std()) / math.sqrt(n))
        return float(terms.mean())

    def gaussian(a: Tensor, b: Tensor) -> float:
        yb, zb = _split(b, dy, width)
        whole = ibf.gaussian_mi(a, torch.cat([yb, zb], dim=1), bias_correction=True)
        return float(whole - ibf.gaussian_mi(a, zb, bias_correction=True))

    @cache
    def ranked() -> list[Ranked]:
        return [ranked_normal(t) for t in (xt, yt, zt)]

    @cache
    def scores() -> tuple[Tensor, Tensor]:
        sx, sy, sz = (r.scores for r in ranked())
        return sx, torch.cat([sy, sz], dim=1)

    # KSG on single columns of scores takes their order from their ranks (where it is chosen).
    reruns: RankedReruns | None = None
    if xt.shape[1] == yt.shape[1] == zt.shape[1] == 1 and all(c is None for c in codes):
        rx, ry, rz = (r.ranks for r in ranked())
        if rx is not None and ry is not None and rz is not None:
            # Where ksg_cmi_ranked declines, the reruns take ksg_cmi itself (ksg would ask them again).
            reruns = RankedReruns(
                plain, *scores(), lambda a, b, g: (a, b), [rx[0], ry[0], rz[0]], ranked_cmi(n, k, seed)
            )

    feats = features(
        xt, torch.cat([yt, zt], dim=1), scores, lambda: np.concatenate([r.ascending for r in ranked()])
    )
    chosen, why, mi, agreement, value = choose(scores, feats, (ksg, gaussian), CMI_NAMES, dy)
    raw = chosen == "gaussian" and marginals_gaussian(feats)
    data = (xt, torch.cat([yt, zt], dim=1)) if raw else scores()
    if raw:
        value = None  # the candidates ran on the scores

    def remap(a: Tensor, b: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor]:
        # x mapped alone, y and z each alone: a map that mixes y with z changes I(X; Y | Z). One column
        # a variable has no map that moves its normal scores: the check does not apply.
        if max(a.shape[1], dy, b.shape[1] - dy) == 1 and not raw:
            return a, b
        y_z = (rotate(b[:, :dy], g, not raw), rotate(b[:, dy:], g, not raw))
        return rotate(a, g, not raw), torch.cat(y_z, 1)

    value = mi(*data) if value is None else value
    if chosen == "gaussian" and math.isinf(value):
        return linear_estimate(n, xt.device, "cmi", why, feats)
    top = (
        ("log N", math.log(n))
        if chosen == "ksg"
        else ("a Gaussian estimate has no ceiling at log N", math.inf)
    )
    checked: MI | RankedReruns = mi
    if reruns is not None and chosen == "ksg" and data[0] is reruns.x and data[1] is reruns.y:
        checked = RankedReruns(plain, *data, remap, reruns.ranks, reruns.ranked)
    floor = spread[-1] if chosen == "ksg" and spread else None
    return _checked(
        checked, data, value, top, remap, chosen, why, feats, agreement, (xt, yt, zt), dy, seed, floor
    )


def ranked_cmi(n: int, k: int, seed: int) -> RankedMI:
    """KSG's conditional MI of x against (y, z), one column each, by
    :func:`~iblearn.functional.knn.engine.ksg_cmi_ranked` (``k``, ``seed``, keys among ``n`` rows)."""
    return lambda a, b, keys, orders: ksg_cmi_ranked(a, b[:, :1], b[:, 1:], keys, n, k, seed, orders)


def _checked(
    mi: MI | RankedReruns,
    data: tuple[Tensor, Tensor],
    value: float,
    top: tuple[str, float],
    remap: Any,
    chosen: str,
    why: str,
    feats: dict[str, float],
    agreement: Any,
    samples: tuple[Tensor, Tensor, Tensor],
    dy: int,
    seed: int,
    terms_stderr: float | None = None,
) -> Estimate:
    """The conditional estimate ``value`` with the checks of :mod:`iblearn.estimation.autocheck`, its
    interval and verdict; KSG's standard error held at least at ``terms_stderr``, its per-row terms'
    spread over sqrt(N), where given (as for MI: the halves' few degrees of freedom read far below it
    on some draws)."""
    settled = [agreement.name] if agreement is not None and agreement.passed is False else []
    checks, stderr, _ = run_checks(mi, *data, value, ceiling=top, remap=remap, seed=seed, settled=settled)
    method = HALVES
    if chosen == "gaussian":
        # The partial canonical correlations: those of x's and y's residuals on z.
        zt = data[1][:, dy:]
        z1 = torch.cat([zt, torch.ones(len(zt), 1, dtype=zt.dtype, device=zt.device)], dim=1)
        rx, ry = (t - z1 @ torch.linalg.lstsq(z1, t).solution for t in (data[0], data[1][:, :dy]))
        stderr = max(stderr, gaussian_stderr(rx, ry))
        method += "; at least the Gaussian's asymptotic standard error by the delta method"
        checks["gaussian copula"] = copula_check(*canonical_bases(*data))
        if (linear := linearity_check(feats)) is not None:
            checks["linearity"] = linear
    elif terms_stderr is not None:
        stderr, method = max(stderr, terms_stderr), f"{method}; at least {TERMS_FLOOR}"
    if agreement is not None:
        checks[agreement.name] = agreement
    low, high = interval(value, stderr, checks, top[1])
    est = Estimate(
        torch.tensor(value, dtype=torch.float64, device=data[0].device),
        len(data[0]),
        chosen,
        measure="cmi",
        stderr=stderr,
        stderr_method=method,
    )
    est = mi_verdict(est, checks, samples, ("x", "y", "z"))
    report = replace(
        est.report, chosen=chosen, why=why, checks=checks, features=feats, interval_method=INTERVAL
    )
    return replace(est, interval=(low, high), confidence=CONFIDENCE, report=report)
