"""The partial information decomposition of samples, by any redundancy measure the data allow.

Labels (all three of x1, x2 and the target integer symbols): the plug-in joint table's exact PID by
:func:`~iblearn.functional.pid_distribution` (every measure), or, for the minimum-MI redundancy, each
of I(X1; T), I(X2; T) and I(X1, X2; T) by a bias-corrected discrete estimator
(:func:`~iblearn.functional.discrete_mi`). Continuous samples: the minimum-MI PID of
:func:`~.pid_mmi.mmi_pid` (kNN, Gaussian or copula), or the shared-exclusion one by nearest
neighbours (:func:`~.pid_sx_knn.ksg_sx_pid`, Ehrlich et al. 2024). For jointly Gaussian sources and a
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
from iblearn.functional.inference import CONFIDENCE, Scheme, resample_rows
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
from iblearn.functional.multivariate.pid_intervals import minimum_mi_spans, part_spans
from iblearn.functional.multivariate.pid_mmi import mmi_pid
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


def pid(
    x1: Any,
    x2: Any,
    target: Any,
    *,
    redundancy: Redundancy = "mmi",
    method: str | None = None,
    **options: Any,
) -> PIDParts:
    """The partial information decomposition of ``I(X1, X2; T)`` from samples, by the ``redundancy``
    measure (see the module): the one entry for samples, as :func:`~iblearn.functional.pid_distribution`
    is for a joint table.

    Args:
        x1, x2, target: ``(N,)`` or ``(N, d)`` samples, the same N: all three integer symbols (labels),
            or continuous (as :func:`~.pid_mmi.mmi_pid` takes them).
        redundancy: ``"mmi"``, ``"min"``, ``"broja"``, ``"ccs"``, ``"dep"`` or ``"sx"`` for labels;
            ``"mmi"``, or ``"broja"``, ``"ccs"`` or ``"dep"`` with ``method="gaussian"`` (the
            :func:`~iblearn.functional.gaussian_pid` of the sample covariance), or ``"sx"`` with
            ``method="ksg"`` (:func:`~.pid_sx_knn.ksg_sx_pid`), for continuous samples.
        method: labels: ``"plugin"`` (the default; any redundancy) or a bias-corrected estimator of
            :func:`~iblearn.functional.discrete_entropy` (``"nsb"``, ``"cwj"``, ...; MMI only).
            Continuous: ``"ksg"`` (the default), ``"gaussian"`` or ``"copula"``.
        **options: for continuous samples, as :func:`~.pid_mmi.mmi_pid` takes them (``"sx"``:
            as :func:`~.pid_sx_knn.ksg_sx_pid` does).

    Returns:
        :class:`~iblearn.functional.PIDParts` in nats.

    Raises:
        ValueError: a redundancy or method the data do not allow, or lengths that differ.

    Example:
        >>> x1, x2 = torch.tensor([0, 0, 1, 1] * 50), torch.tensor([0, 1, 0, 1] * 50)
        >>> parts = pid(x1, x2, 2 * x1 + x2, redundancy="ccs")  # two-bit copy
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
    return mmi_pid(x1, x2, target, method=method, **options)  # type: ignore[arg-type]


def _sx_of_samples(x1: Any, x2: Any, target: Any, options: dict[str, Any]) -> PIDParts:
    """:func:`~.pid_sx_knn.ksg_sx_pid`, its settings checked by name."""
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
    sd = cov.diagonal().sqrt()
    smallest = float(torch.linalg.eigvalsh(cov / sd[:, None] / sd[None, :]).min())
    if smallest <= 1e-12:  # the Gaussian PID's log-determinants need a joint density
        raise ValueError(
            "x1, x2, target: linearly dependent columns (the smallest eigenvalue of their correlation "
            f"matrix is {smallest:.1e}): their joint has no density, so its Gaussian PID is undefined; "
            "drop the duplicated or derived columns"
        )
    return gaussian_pid(cov, tuple(v.shape[1] for v in variables), redundancy)


def local_pid(x1: Any, x2: Any, target: Any) -> PIDParts:
    """The local (pointwise) PID of each sample of labels by shared exclusion (I_sx, Makkeh et al.
    2021), on the plug-in table: per sample ``n``, ``redundancy[n] = i_sx(t; x1, x2)``,
    ``unique_i[n] = i(x_i; t) - redundancy[n]`` and ``synergy[n] = i(x1, x2; t) - i(x1; t) - i(x2; t)
    + redundancy[n]``. Their means are ``pid(x1, x2, target, redundancy="sx")``. (I_ccs is
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


#: The names of :func:`pid_interval`'s parts, in the order of :class:`~iblearn.functional.PIDParts` and
#: then the total.
PART_NAMES = ("redundancy", "unique_1", "unique_2", "synergy", "total")
#: Nats within which a BROJA unique part is read as 0, the minimum-MI corner (well above the solver's
#: round-off, well below any information a sample resolves).
CORNER = 1e-9


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
    """:func:`pid` with an interval for each part and the total, from ``n_resamples``
    resamples of the rows (the inference core's schemes: ``"half"``, half-sampling jackknife, whose
    half-data mean also gives the estimate's trend with N; ``"bootstrap"``; ``"block"`` for rows in
    time order) and its bias-aware :func:`~iblearn.functional.inference.interval`.

    Where the redundancy is the minimum MI (``"mmi"``, and ``"broja"`` of continuous samples with a
    univariate target, which is answered by it), each part is a minimum or a maximum of smooth
    functions of the sample, and its interval is composed from theirs (:func:`minimum_mi_spans`), which
    holds at a tie ``I(X1; T) = I(X2; T)``, where the parts are not smooth; BROJA of labels takes them
    where its parts are the minimum-MI ones (:func:`broja_spans`).

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
    whole, draws = pid_resamples(data, redundancy, method, n_resamples, scheme, seed, **options)
    labels = _labels(*data) is not None and not options
    spans = pid_spans(redundancy, labels, data[2], whole, draws, n, scheme, confidence)
    return {
        name: PartInterval(float(whole[j]), stderr, low, high)
        for j, (name, (stderr, low, high)) in enumerate(zip(PART_NAMES, spans, strict=True))
    }


def pid_resamples(
    data: list[Tensor],
    redundancy: Redundancy,
    method: str | None,
    n_resamples: int,
    scheme: Scheme,
    seed: int,
    /,
    **options: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """The parts and total of :func:`pid` on the rows of ``data`` (``x1, x2, target``,
    checked) as ``(5,)``, and on each of ``n_resamples`` resamples of them drawn by
    :func:`~iblearn.functional.inference.resample_rows` under ``scheme`` and ``seed``, ``(n_resamples, 5)``;
    ``options`` (a kNN ``seed`` among them) go to :func:`pid`."""
    n = len(data[0])

    def parts(rows: Any) -> list[float]:
        got = pid(*(d[rows] for d in data), redundancy=redundancy, method=method, **options)
        return [*(float(v) for v in got), float(got.total)]

    whole = np.array(parts(slice(None)))
    draws = [parts(torch.from_numpy(resample_rows(n, scheme, seed, i))) for i in range(n_resamples)]
    return whole, np.array(draws).reshape(n_resamples, len(PART_NAMES))


def pid_spans(
    redundancy: str,
    labels: bool,
    target: Tensor,
    whole: np.ndarray,
    draws: np.ndarray,
    n: int,
    scheme: Scheme,
    confidence: float = CONFIDENCE,
) -> list[tuple[float, float, float]]:
    """The (standard error, low, high) of each part and the total (``whole``, and per resample
    ``draws``) as :func:`pid_interval` forms them for ``redundancy``: composed from smooth functions
    where the parts are the minimum-MI ones (:func:`minimum_mi_spans`: ``"mmi"``, and ``"broja"`` of
    continuous samples with a univariate ``target``), BROJA of ``labels`` by :func:`broja_spans`, and
    each part's own interval otherwise (:func:`part_spans`)."""
    if redundancy == "mmi" or (redundancy == "broja" and not labels and not _vector(target)):
        return minimum_mi_spans(whole, draws, n, scheme, confidence)
    if redundancy == "broja" and labels:
        return broja_spans(whole, draws, n, scheme, confidence)
    return part_spans(whole, draws, n, scheme, confidence)


def _vector(target: Tensor) -> bool:
    return target.ndim == 2 and target.shape[1] > 1


def broja_spans(
    whole: np.ndarray, draws: np.ndarray, n: int, scheme: Scheme, confidence: float = CONFIDENCE
) -> list[tuple[float, float, float]]:
    """The (standard error, low, high) of BROJA's parts ``(r, u1, u2, s, total)`` of labels (``whole``,
    and per resample ``draws``).

    BROJA's unique parts are non-negative and differ by ``I(X1; T) - I(X2; T)``, so its redundancy is at
    most ``min(I(X1; T), I(X2; T))``, with equality where a unique part is 0: there, the minimum-MI
    corner (within :data:`CORNER`), its parts are the minimum-MI ones and have their kink at a tie.
    Where the sample and every resample sit at the corner, the parts take :func:`minimum_mi_spans`;
    where none does, their own intervals (:func:`part_spans`); where the resamples straddle the corner,
    the union of the two, as the estimate's side of the corner is itself uncertain.
    """
    own = part_spans(whole, draws, n, scheme, confidence)
    least = np.minimum(np.append(draws[:, 1], whole[1]), np.append(draws[:, 2], whole[2]))
    if not (least <= CORNER).any():
        return own
    composed = minimum_mi_spans(whole, draws, n, scheme, confidence)
    if (least <= CORNER).all():
        return composed
    return [(s, min(lo, cl), max(hi, ch)) for (s, lo, hi), (_, cl, ch) in zip(own, composed, strict=True)]
