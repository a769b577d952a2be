"""One task with an exact answer (:class:`ExactTask`) and the builders of its kinds (Gaussian, Student-t,
discrete systems, series): the pieces :mod:`iblearn.data.exact_families` makes its tasks of, below the
registry of :mod:`iblearn.data.exact_tasks`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import Tensor

from iblearn import _checks as V
from iblearn.data import _exact_math as M

Array = M.Array
Sampler = Callable[[int, np.random.Generator], tuple[Array, ...]]
Pointwise = Callable[..., Array]
FAMILIES = ("cmi", "te", "multivariate", "mi")
PID_PARTS = ("pid-redundancy", "pid-unique-1", "pid-unique-2", "pid-synergy")


@dataclass(frozen=True)
class ExactTask:
    """A distribution whose value of one information measure is known exactly.

    Attributes:
        name: unique identifier, e.g. ``"cmi-gauss-3x3x3"``.
        family: ``"cmi"``, ``"te"``, ``"multivariate"`` or ``"mi"``.
        measure: what ``truth`` is a value of (see the module's table).
        truth: the measure's exact value, nats.
        description: how the task is built and where the truth comes from.
        sampler: ``(n, numpy Generator) -> arrays``.
        labels: positions of the arrays that are int64 class labels.
        options: the measure's settings (``lag``, ``history`` of a series; ``blocks`` of the variables).
        pointwise: the information of each sample, whose mean is ``truth``; None where no density is
            written down (PID parts, a minimum of two means).
    """

    name: str
    family: str
    measure: str
    truth: float
    description: str
    sampler: Sampler = field(repr=False, compare=False)
    labels: tuple[int, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict, compare=False)
    pointwise: Pointwise | None = field(default=None, repr=False, compare=False)

    def sample(self, n: int, seed: int = 0) -> tuple[Tensor, ...]:
        """The measure's arrays for ``n`` samples, reproducible from ``seed``."""
        arrays = self.sample_numpy(n, seed)
        return tuple(
            torch.as_tensor(a, dtype=torch.int64 if i in self.labels else torch.float64)
            for i, a in enumerate(arrays)
        )

    def sample_numpy(self, n: int, seed: int = 0) -> tuple[Array, ...]:
        """As :meth:`sample`, numpy arrays (what a library without torch takes)."""
        V.positive_int(n, "n")
        V.seed(seed, "seed")
        return self.sampler(n, np.random.default_rng(seed))


# ------------------------------------------------------------------------------------------------ warps
#: Invertible maps applied to each column, ``name: (forward, inverse)``: a measure between variables
#: is unchanged by an invertible map of each variable, so a warped task keeps its truth.
WARPS: dict[str, tuple[Callable[[Array], Array], Callable[[Array], Array]]] = {
    "none": (lambda v: v, lambda v: v),
    "cube": (lambda v: v**3, np.cbrt),
    "exp": (np.exp, np.log),
    "sinh": (lambda v: np.sinh(2 * v), lambda v: np.arcsinh(v) / 2),
    "sigmoid": (lambda v: 1 / (1 + np.exp(-v)), lambda v: np.log(v) - np.log1p(-v)),
}


def _warp(v: Array, warps: Sequence[str], inverse: bool = False) -> Array:
    out = np.empty_like(v)
    for j, w in enumerate(warps):
        out[:, j] = WARPS[w][1 if inverse else 0](v[:, j])
    return out


def _cycle(names: Sequence[str], d: int) -> tuple[str, ...]:
    return tuple(names[j % len(names)] for j in range(d))


def _rng_for(name: str) -> np.random.Generator:
    """Fixed per task (seeded from its name): covariances and maps do not change with the sample seed."""
    return np.random.default_rng(int(hashlib.sha256(name.encode()).hexdigest()[:8], 16))


# ------------------------------------------------------------------------------------ generic builders
def _arrays_of(measure: str, groups: Sequence[Sequence[int]]) -> list[list[int]]:
    """The columns of each array the measure takes (in order: the groups tile the columns)."""
    if measure in ("tc", "dtc", "o", "s"):
        return [[c for g in groups for c in g]]
    return [list(g) for g in groups]


def _options(measure: str, groups: Sequence[Sequence[int]]) -> dict[str, Any]:
    if measure in ("tc", "dtc", "o", "s") and any(len(g) > 1 for g in groups):
        return {"blocks": [list(g) for g in groups]}
    return {}


def _truth(
    measure: str, groups: Sequence[Sequence[int]], entropy: Callable[[tuple[int, ...]], float]
) -> float:
    if measure in PID_PARTS:
        g0, g1, gt = groups
        one = M.measure_value(M.entropy_terms("mi", [g0, gt]), entropy)
        two = M.measure_value(M.entropy_terms("mi", [g1, gt]), entropy)
        joint = M.measure_value(M.entropy_terms("mi", [list(g0) + list(g1), gt]), entropy)
        redundancy = min(one, two)
        parts = (redundancy, one - redundancy, two - redundancy, joint - one - two + redundancy)
        return float(parts[PID_PARTS.index(measure)])
    return M.measure_value(M.entropy_terms(measure, groups), entropy)


def _pointwise(
    measure: str,
    groups: Sequence[Sequence[int]],
    logpdf: Callable[[Array, tuple[int, ...]], Array],
    prepare: Callable[[Array], Array],
) -> Pointwise | None:
    if measure in PID_PARTS:
        return None
    terms = M.entropy_terms(measure, groups)

    def pointwise(*arrays: Any) -> Array:
        v = prepare(np.hstack([np.asarray(a, dtype=np.float64).reshape(len(a), -1) for a in arrays]))
        return M.pointwise_value(terms, lambda cols: logpdf(v, cols))

    return pointwise


def _split(v: Array, measure: str, groups: Sequence[Sequence[int]]) -> tuple[Array, ...]:
    return tuple(v[:, cols] for cols in _arrays_of(measure, groups))


def gaussian_task(
    name: str,
    family: str,
    measure: str,
    cov: Array,
    groups: Sequence[Sequence[int]],
    description: str,
    warps: Sequence[str] | None = None,
) -> ExactTask:
    """Zero-mean Gaussian with covariance ``cov`` over the variables ``groups`` (which tile the columns in
    order), each column then through its ``warps`` (:data:`WARPS`); the truth from the log-determinants,
    ``h(X_S) = 1/2 log det(2 pi e Sigma_S)`` in nats, combined as the measure asks.

    Example:
        >>> c = np.array([[1.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 1.0]])
        >>> t = gaussian_task("partial", "cmi", "cmi", c, [[0], [1], [2]], "partial correlation 1/3")
        >>> round(t.truth, 4)  # -1/2 log(1 - 1/9)
        0.0589
    """
    cov = np.asarray(cov, dtype=np.float64)
    d = cov.shape[0]
    warps = tuple(warps or ("none",) * d)
    chol = np.linalg.cholesky(cov)
    truth = _truth(measure, groups, lambda cols: M.gaussian_entropy(cov, cols))

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        return _split(_warp(rng.standard_normal((n, d)) @ chol.T, warps), measure, groups)

    def logpdf(v: Array, cols: tuple[int, ...]) -> Array:
        return M.gaussian_logpdf(v[:, list(cols)], cov[np.ix_(cols, cols)])

    pointwise = _pointwise(measure, groups, logpdf, lambda v: _warp(v, warps, inverse=True))
    return ExactTask(
        name, family, measure, truth, description, sampler, (), _options(measure, groups), pointwise
    )


def _t_to_normal(v: Array, scale: Array, dof: float) -> Array:
    """Each column's Student-t margin mapped to N(0, 1), by tails (accurate far out)."""
    return np.sign(v) * stats.norm.isf(stats.t.sf(np.abs(v) / scale, dof))


def _normal_to_t(v: Array, scale: Array, dof: float) -> Array:
    return np.sign(v) * stats.t.isf(stats.norm.sf(np.abs(v)), dof) * scale


def student_task(
    name: str,
    family: str,
    measure: str,
    dispersion: Array,
    dof: float,
    groups: Sequence[Sequence[int]],
    description: str,
    normal_margins: bool = False,
) -> ExactTask:
    """Centred multivariate Student-t (dispersion, ``dof``): every marginal is a t with the same ``dof``,
    so each entropy is ``1/2 log det`` of its block plus ``d/2 log(nu pi)`` plus e(d) (Arellano-Valle
    et al. 2013). With ``normal_margins`` each column is mapped to N(0, 1) (a t copula with Gaussian
    margins: the same truth).

    Example:
        >>> t = student_task("t", "mi", "mi", np.eye(4), 1.0, [[0, 1], [2, 3]], "uncorrelated, dependent")
        >>> round(t.truth, 4)  # e(2) + e(2) - e(4), bmi's Student-t 2 x 2 with 1 dof
        0.4319
    """
    disp = np.asarray(dispersion, dtype=np.float64)
    d = disp.shape[0]
    chol = np.linalg.cholesky(disp)
    scale = np.sqrt(np.diag(disp))
    truth = _truth(measure, groups, lambda cols: M.student_entropy(disp, cols, dof))

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        g = rng.standard_normal((n, d)) @ chol.T
        v = g / np.sqrt(rng.chisquare(dof, (n, 1)) / dof)
        return _split(_t_to_normal(v, scale, dof) if normal_margins else v, measure, groups)

    def logpdf(v: Array, cols: tuple[int, ...]) -> Array:
        return M.student_logpdf(v[:, list(cols)], disp[np.ix_(cols, cols)], dof)

    def prepare(v: Array) -> Array:
        return _normal_to_t(v, scale, dof) if normal_margins else v

    pointwise = _pointwise(measure, groups, logpdf, prepare)
    return ExactTask(
        name, family, measure, truth, description, sampler, (), _options(measure, groups), pointwise
    )


def discrete_task(
    name: str, measure: str, outcomes: Array, probs: Array, groups: Sequence[Sequence[int]], description: str
) -> ExactTask:
    """A pmf over integer ``outcomes (K, d)`` with ``probs (K,)``; the truth by sums over it,
    ``H(X_S) = -sum p log p`` in nats. The arrays are int64 labels (one ``(N, d)`` array for TC, DTC, O
    and S, a ``(N,)`` per variable otherwise).

    Example:
        >>> xor = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]])
        >>> t = discrete_task("xor", "o", xor, np.ones(4), [[0], [1], [2]], "XOR")
        >>> round(t.truth / float(np.log(2)), 6)  # -1 bit: synergy
        -1.0
    """
    outcomes = np.asarray(outcomes, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64) / np.sum(probs)
    truth = _truth(measure, groups, lambda cols: M.discrete_entropy(outcomes, probs, cols))
    arrays = _arrays_of(measure, groups)

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        v = outcomes[rng.choice(len(probs), size=n, p=probs)]
        return tuple(v[:, cols] if len(arrays) == 1 else v[:, cols[0]] for cols in arrays)

    def logpdf(v: Array, cols: tuple[int, ...]) -> Array:
        return M.discrete_logpmf(v.astype(np.int64), outcomes, probs, cols)

    pointwise = _pointwise(measure, groups, logpdf, lambda v: v)
    labels = tuple(range(len(arrays)))
    return ExactTask(
        name,
        "multivariate",
        measure,
        truth,
        description,
        sampler,
        labels,
        _options(measure, groups),
        pointwise,
    )


def te_samples(task: ExactTask, *series: Any) -> tuple[Array, Array, Array]:
    """The three arguments of the conditional MI that a ``te`` or ``cte`` task's truth is a value of:
    the target's present ``(n, d_t)``, the source at ``lag`` ``(n, d_s)``, and what is conditioned on:
    the target's ``history`` past samples (most recent first), then the condition's, as
    :func:`iblearn.functional.transfer_entropy` builds them.

    Example:
        >>> from iblearn.data.exact_tasks import get_exact_task
        >>> task = get_exact_task("te-var1-c0.5")
        >>> present, source, given = te_samples(task, *task.sample_numpy(500, seed=0))
        >>> present.shape, source.shape, given.shape
        ((500, 1), (500, 1), (500, 1))
    """
    if task.measure not in ("te", "cte"):
        raise ValueError(f"task: expected a te or cte task, got measure {task.measure!r}")
    if len(series) != (3 if task.measure == "cte" else 2):
        raise ValueError(f"series: a {task.measure} task takes {2 + (task.measure == 'cte')} series")
    return embed(series, int(task.options["lag"]), int(task.options["history"]))


def embed(series: Sequence[Any], lag: int, history: int) -> tuple[Array, Array, Array]:
    """:func:`te_samples` of ``(source, target)`` or ``(source, target, condition)`` series."""
    arrays = [np.asarray(s, dtype=np.float64).reshape(len(s), -1) for s in series]
    source, target = arrays[0], arrays[1]
    length = len(target)
    start = max(lag, history)
    if length <= start + 1:
        raise ValueError(f"series: {length} steps leave no samples after lag={lag}, history={history}")
    pasts = [target[start - j : length - j] for j in range(1, history + 1)]
    if len(arrays) == 3:
        pasts += [arrays[2][start - j : length - j] for j in range(1, history + 1)]
    return target[start:], source[start - lag : length - lag], np.hstack(pasts)
