"""The partial information decomposition of samples, by any redundancy measure the data allow.

Labels (all three of x1, x2 and the target integer symbols): the plug-in joint table's exact PID by
:func:`~iblearn.functional.pid_distribution` (every measure), or, for the minimum-MI redundancy, each
of I(X1; T), I(X2; T) and I(X1, X2; T) by a bias-corrected discrete estimator
(:func:`~iblearn.functional.discrete_mi`). Continuous samples: the minimum-MI PID of
:func:`~iblearn.functional.pid` (kNN, Gaussian or copula), or the shared-exclusion one by nearest
neighbours (:func:`~iblearn.functional.ksg_sx_pid`, Ehrlich et al. 2024). For jointly Gaussian sources and a
*univariate* target, MMI is the redundancy of every PID whose unique parts depend on the (X_i, T)
marginals only, BROJA among them (Barrett 2015), so ``redundancy="broja"`` is answered by it there;
for a vector target that equivalence fails (Venkatesh & Schamberg 2022): MMI is only MMI, and
``"broja"`` is the Gaussian ~-PID of the sample covariance (:func:`~iblearn.functional.gaussian_pid`),
as are ``"ccs"`` and ``"dep"`` with ``method="gaussian"``.

References:
    A. Barrett. Exploration of synergistic and redundant information sharing in static and dynamical
    Gaussian systems. Phys. Rev. E 91, 052802 (2015).
    P. Venkatesh, G. Schamberg. Partial information decomposition via deficiency for multivariate
    Gaussians. IEEE ISIT (2022).
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn.functional.discrete import class_codes, discrete_mi
from iblearn.functional.inference import CONFIDENCE, Scheme, interval, resample_rows, summarize
from iblearn.functional.multivariate._pid_measures import i_sx_pointwise, pointwise_mi
from iblearn.functional.multivariate.core import PIDParts
from iblearn.functional.multivariate.inputs import check_not_constant, named_variables
from iblearn.functional.multivariate.pid_discrete import (
    REDUNDANCIES,
    Redundancy,
    pid_distribution,
    probability_table,
)
from iblearn.functional.multivariate.pid_gaussian import GaussianRedundancy, gaussian_pid
from iblearn.functional.multivariate.pid_mmi import pid
from iblearn.functional.multivariate.pid_sx_knn import ksg_sx_pid

#: The redundancies of continuous samples, and the methods each takes.
CONTINUOUS = {
    "mmi": ("ksg", "gaussian", "copula"),
    "broja": ("gaussian",),
    "ccs": ("gaussian",),
    "dep": ("gaussian",),
    "sx": ("ksg",),
}

#: The settings the nearest-neighbour shared-exclusion PID takes.
SX_OPTIONS = ("k", "standardize", "ties", "backend", "seed")


def _labels(x1: Any, x2: Any, target: Any) -> list[Tensor] | None:
    codes = [class_codes(v, name) for name, v in (("x1", x1), ("x2", x2), ("target", target))]
    if any(c is None for c in codes):
        return None
    out = [c for c in codes if c is not None]
    if len({len(c) for c in out}) != 1:
        raise ValueError(f"x1, x2, target: expected one length, got {[len(c) for c in out]}")
    return out


def _table(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    shape = (int(a.max()) + 1, int(b.max()) + 1, int(t.max()) + 1)
    flat = (a * shape[1] + b) * shape[2] + t
    counts = torch.bincount(flat, minlength=shape[0] * shape[1] * shape[2]).to(torch.float64)
    return (counts / counts.sum()).reshape(shape)


def _of_labels(codes: list[Tensor], redundancy: Redundancy, method: str) -> PIDParts:
    a, b, t = codes
    if method == "plugin":
        return pid_distribution(_table(a, b, t), redundancy)
    if redundancy != "mmi":
        raise ValueError(
            f"method: {redundancy!r} is the PID of a joint table, estimated here by the plug-in table "
            f"(method='plugin'); {method!r} corrects the bias of each MI, which only 'mmi' is made of"
        )
    one, two = discrete_mi(a, t, method=method), discrete_mi(b, t, method=method)  # type: ignore[arg-type]
    joint = discrete_mi(torch.stack([a, b], 1), t, method=method)  # type: ignore[arg-type]
    red = torch.minimum(one, two)
    return PIDParts(red, one - red, two - red, joint - one - two + red)


def pid_from_samples(
    x1: Any,
    x2: Any,
    target: Any,
    *,
    redundancy: Redundancy = "mmi",
    method: str | None = None,
    **options: Any,
) -> PIDParts:
    """The PID of ``I(X1, X2; T)`` from samples by the ``redundancy`` measure (see the module).

    Args:
        x1, x2, target: ``(N,)`` or ``(N, d)`` samples, the same N: all three integer symbols (labels),
            or continuous (as :func:`~iblearn.functional.pid` takes them).
        redundancy: ``"mmi"``, ``"min"``, ``"broja"``, ``"ccs"``, ``"dep"`` or ``"sx"`` for labels;
            ``"mmi"``, or ``"broja"``, ``"ccs"`` or ``"dep"`` with ``method="gaussian"`` (the
            :func:`~iblearn.functional.gaussian_pid` of the sample covariance), or ``"sx"`` with
            ``method="ksg"`` (:func:`~iblearn.functional.ksg_sx_pid`), for continuous samples.
        method: labels: ``"plugin"`` (the default; any redundancy) or a bias-corrected estimator of
            :func:`~iblearn.functional.discrete_entropy` (``"nsb"``, ``"cwj"``, ...; MMI only).
            Continuous: ``"ksg"`` (the default), ``"gaussian"`` or ``"copula"``.
        **options: for continuous samples, as :func:`~iblearn.functional.pid` takes them (``"sx"``:
            as :func:`~iblearn.functional.ksg_sx_pid` does).

    Returns:
        :class:`~iblearn.functional.PIDParts` in nats.

    Raises:
        ValueError: a redundancy or method the data do not allow, or lengths that differ.

    Example:
        >>> x1, x2 = torch.tensor([0, 0, 1, 1] * 50), torch.tensor([0, 1, 0, 1] * 50)
        >>> parts = pid_from_samples(x1, x2, 2 * x1 + x2, redundancy="ccs")  # two-bit copy
        >>> [round(float(v), 4) for v in parts]  # nats: log 2 unique to each source
        [0.0, 0.6931, 0.6931, 0.0]
    """
    if redundancy not in REDUNDANCIES:
        raise ValueError(f"redundancy: expected one of {REDUNDANCIES}, got {redundancy!r}")
    codes = _labels(x1, x2, target)
    if codes is not None and not options:
        return _of_labels(codes, redundancy, method or "plugin")
    method = method or "ksg"
    if method not in CONTINUOUS.get(redundancy, ()):
        raise ValueError(
            f"redundancy: {redundancy!r} with method={method!r} is not available for continuous samples; "
            "'mmi' takes 'ksg', 'gaussian' or 'copula', 'broja', 'ccs' and 'dep' take 'gaussian', "
            "'sx' takes 'ksg'; 'min' takes labels"
        )
    if redundancy == "sx":
        return _sx_of_samples(x1, x2, target, options)
    t = torch.as_tensor(target)
    vector_target = t.ndim == 2 and t.shape[1] > 1
    if redundancy in ("ccs", "dep") or (redundancy == "broja" and vector_target):
        if options:
            raise ValueError(
                f"options: {redundancy!r} from Gaussian samples takes none, got {sorted(options)}"
            )
        return _gaussian_of_samples(x1, x2, target, redundancy)  # type: ignore[arg-type]
    if method == "gaussian" and vector_target:
        warnings.warn(
            "pid: minimum-MI redundancy with a vector target is MMI only: Barrett's equivalence with BROJA "
            "(and every PID whose unique parts depend on the (X_i, T) marginals) holds for a univariate "
            "target",
            UserWarning,
            stacklevel=2,
        )
    return pid(x1, x2, target, method=method, **options)  # type: ignore[arg-type]


def _sx_of_samples(x1: Any, x2: Any, target: Any, options: dict[str, Any]) -> PIDParts:
    """:func:`~iblearn.functional.ksg_sx_pid`, its settings checked by name."""
    unknown = sorted(set(options) - set(SX_OPTIONS))
    if unknown:
        raise ValueError(f"options: 'sx' from continuous samples takes {SX_OPTIONS}, got {unknown}")
    return ksg_sx_pid(x1, x2, target, **options)


def _gaussian_of_samples(x1: Any, x2: Any, target: Any, redundancy: GaussianRedundancy) -> PIDParts:
    """:func:`~iblearn.functional.gaussian_pid` of the sample covariance (divisor N - 1)."""
    variables = named_variables(("x1", x1), ("x2", x2), ("target", target))
    check_not_constant(variables, ["x1", "x2", "target"])
    joint = torch.cat(variables, dim=1).detach().to(torch.float64)
    if len(joint) <= joint.shape[1] + 1:
        raise ValueError(
            f"x1, x2, target: {joint.shape[1]} columns need more than {joint.shape[1] + 1} samples"
        )
    cov = torch.cov(joint.T).reshape(joint.shape[1], joint.shape[1])
    return gaussian_pid(cov, tuple(v.shape[1] for v in variables), redundancy)


def local_pid(x1: Any, x2: Any, target: Any) -> PIDParts:
    """The local (pointwise) PID of each sample of labels by shared exclusion (I_sx, Makkeh et al.
    2021), on the plug-in table: per sample ``n``, ``redundancy[n] = i_sx(t; x1, x2)``,
    ``unique_i[n] = i(x_i; t) - redundancy[n]`` and ``synergy[n] = i(x1, x2; t) - i(x1; t) - i(x2; t)
    + redundancy[n]``. Their means are ``pid_from_samples(x1, x2, target, redundancy="sx")``. (I_ccs is
    a mean over a maximum-entropy table, not over the samples, and has no such local form.)

    Args:
        x1, x2, target: ``(N,)`` or ``(N, d)`` integer symbols, the same N.

    Returns:
        :class:`~iblearn.functional.PIDParts` of ``(N,)`` float64 tensors, nats.

    Raises:
        ValueError: samples that are not labels, or lengths that differ.

    Example:
        >>> x1, x2 = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1])
        >>> [round(float(v.mean()), 4) for v in local_pid(x1, x2, x1 ^ x2)]  # XOR, as I_sx splits it
        [-0.4055, 0.4055, 0.4055, 0.2877]
    """
    codes = _labels(x1, x2, target)
    if codes is None:
        raise ValueError("x1, x2, target: local_pid takes labels (integer symbols) in all three")
    a, b, t = codes
    table = probability_table(_table(a, b, t))
    red = i_sx_pointwise(table, [[0], [1]])
    one, two, joint = (pointwise_mi(table, axes) for axes in ([0], [1], [0, 1]))
    parts = (red, one - red, two - red, joint - one - two + red)
    return PIDParts(
        *(torch.from_numpy(np.ascontiguousarray(v[a.numpy(), b.numpy(), t.numpy()])) for v in parts)
    )


class PartInterval(NamedTuple):
    """A PID part (nats) with its resampled standard error and bias-aware interval."""

    value: float
    stderr: float
    low: float
    high: float


def pid_interval(
    x1: Any,
    x2: Any,
    target: Any,
    *,
    redundancy: Redundancy = "mmi",
    method: str | None = None,
    n_resamples: int = 50,
    scheme: Scheme = "half",
    seed: int = 0,
    confidence: float = CONFIDENCE,
    **options: Any,
) -> dict[str, PartInterval]:
    """:func:`pid_from_samples` with an interval for each part and the total, from ``n_resamples``
    resamples of the rows (the inference core's schemes: ``"half"``, half-sampling jackknife, whose
    half-data mean also gives the estimate's trend with N; ``"bootstrap"``; ``"block"`` for rows in
    time order) and its bias-aware :func:`~iblearn.functional.inference.interval`.

    Returns:
        ``{"redundancy", "unique_1", "unique_2", "synergy", "total"}`` to :class:`PartInterval`.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x1, x2 = torch.randint(0, 2, (400,), generator=g), torch.randint(0, 2, (400,), generator=g)
        >>> parts = pid_interval(x1, x2, x1 ^ x2, redundancy="broja", n_resamples=20)
        >>> parts["synergy"].low < 0.6931 < parts["synergy"].high
        True
    """
    data = [V.as_tensor(v, name) for name, v in (("x1", x1), ("x2", x2), ("target", target))]
    n = V.same_length(*zip(("x1", "x2", "target"), data, strict=True))
    V.positive_int(n_resamples, "n_resamples")

    def parts(rows: Any) -> list[float]:
        got = pid_from_samples(*(d[rows] for d in data), redundancy=redundancy, method=method, **options)
        return [*(float(v) for v in got), float(got.total)]

    whole = parts(slice(None))
    draws = [parts(torch.from_numpy(resample_rows(n, scheme, seed, i))) for i in range(n_resamples)]
    out = {}
    for j, name in enumerate(("redundancy", "unique_1", "unique_2", "synergy", "total")):
        r = summarize([d[j] for d in draws], n, scheme, constant=True)
        (low, high), _ = interval(
            whole[j], r.stderr, half=r.half, n_resamples=n_resamples, confidence=confidence
        )
        out[name] = PartInterval(whole[j], r.stderr, low, high)
    return out
