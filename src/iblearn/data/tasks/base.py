"""The one task type (:class:`Task`) and what every family of tasks builds on: the measures written as
signed sums of entropies, the invertible warps of columns, and the fixed per-task random generator.

Each measure on variables ``X_1 .. X_m`` (groups of columns) is ``sum_S c_S h(X_S)``:

    MI     I(A; B)          = h(A) + h(B) - h(A, B)
    CMI    I(X; Y | Z)      = h(X, Z) + h(Y, Z) - h(X, Y, Z) - h(Z)
    TC                      = sum_i h(X_i) - h(X)
    DTC                     = sum_i h(X_-i) - (m - 1) h(X)
    O = TC - DTC,  S = TC + DTC,  II(X; Y; Z) = O of the three

so one list of terms gives both the truth (the entropies in closed form) and the pointwise information
whose mean is the truth (``-sum_S c_S log p(x_S)``), which the tests average over samples.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from iblearn import _checks as V

Array = NDArray[Any]
Sampler = Callable[[int, np.random.Generator], tuple[Array, ...]]
Pointwise = Callable[..., Array]
Terms = list[tuple[float, tuple[int, ...]]]
FAMILIES = ("cmi", "te", "ais", "multivariate", "mi", "pid")
PID_PARTS = ("pid-redundancy", "pid-unique-1", "pid-unique-2", "pid-synergy")
#: The measures written as sums of entropies (:func:`entropy_terms`).
SUMS = ("mi", "cmi", "tc", "dtc", "o", "s", "ii")
#: The measures whose variables are the columns (or ``blocks``) of one array.
ONE_ARRAY = ("tc", "dtc", "o", "s")


def family_of(measure: str) -> str:
    """The family a measure belongs to: ``"mi"``, ``"cmi"``, ``"pid"`` (a whole PID), ``"te"`` (TE and
    conditional TE), ``"ais"`` (active information storage) or ``"multivariate"`` (the rest)."""
    if measure in ("mi", "cmi", "pid", "ais"):
        return measure
    return "te" if measure in ("te", "cte") else "multivariate"


@dataclass(frozen=True)
class Task:
    """A distribution whose value of one information measure is known exactly.

    Attributes:
        name: unique identifier, e.g. ``"cmi-gauss-3x3x3"`` or ``"bivariate-normal-0.75"``.
        measure: what ``truth`` is a value of (see :mod:`iblearn.data.tasks`).
        truth: the measure's exact value, nats.
        description: how the task is built and where the truth comes from.
        sampler: ``(n, numpy Generator) -> arrays``.
        dims: the width of each array (1 for an array of labels).
        labels: positions of the arrays that are int64 class labels.
        options: the measure's settings (``lag``, ``history`` of a series; ``blocks`` of the variables).
        pointwise: the information of each sample, whose mean is ``truth``; None where no density is
            written down (PID parts, a minimum of two means, the MI tasks).
    """

    name: str
    measure: str
    truth: float
    description: str
    sampler: Sampler = field(repr=False, compare=False)
    dims: tuple[int, ...] = ()
    labels: tuple[int, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict, compare=False)
    pointwise: Pointwise | None = field(default=None, repr=False, compare=False)

    @property
    def family(self) -> str:
        """``"cmi"``, ``"te"``, ``"ais"``, ``"multivariate"``, ``"mi"`` or ``"pid"`` (:func:`family_of` the
        measure)."""
        return family_of(self.measure)

    @property
    def mutual_information(self) -> float:
        """I(X; Y) in nats: the truth of an MI task."""
        if self.measure != "mi":
            raise ValueError(f"task: {self.name!r} is a {self.measure} task, not an MI task")
        return self.truth

    @property
    def dim_x(self) -> int:
        """The width of the first array."""
        return self.dims[0]

    @property
    def dim_y(self) -> int:
        """The width of the second array (1 for labels)."""
        return self.dims[1]

    @property
    def y_discrete(self) -> bool:
        """Whether the second array is int64 class labels."""
        return 1 in self.labels

    def sample(self, n: int, seed: int = 0) -> tuple[Tensor, ...]:
        """The measure's arrays for ``n`` samples, reproducible from ``seed``: float64, the arrays in
        ``labels`` int64."""
        arrays = self.sample_numpy(n, seed)
        return tuple(
            torch.as_tensor(a, dtype=torch.int64 if i in self.labels else torch.float64)
            for i, a in enumerate(arrays)
        )

    def sample_numpy(self, n: int, seed: int = 0) -> tuple[Array, ...]:
        """As :meth:`sample`, numpy arrays (what a library without torch takes)."""
        V.positive_int(n, "n")
        if V.seed(seed, "seed") < 0:
            raise ValueError(f"seed: numpy's generators take seeds >= 0, got {seed}")
        return tuple(np.asarray(a) for a in self.sampler(n, np.random.default_rng(seed)))


def in_range(value: Any, name: str, low: float, high: float | None = None) -> float:
    """A parameter of a distribution: a real number in the open interval ``(low, high)`` (above ``low``
    alone if ``high`` is None), as a float."""
    v = V.real_number(value, name)
    if not (v > low and (v < high if high is not None else math.isfinite(v))):
        where = f"({low:g}, {high:g})" if high is not None else f"a finite number > {low:g}"
        raise ValueError(f"{name}: must be {'in ' * (high is not None)}{where}, got {value!r}")
    return v


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


def warp(v: Array, warps: Sequence[str], inverse: bool = False) -> Array:
    """Each column ``j`` of ``v`` through ``WARPS[warps[j]]`` (its inverse with ``inverse``)."""
    out = np.empty_like(v)
    for j, w in enumerate(warps):
        out[:, j] = WARPS[w][1 if inverse else 0](v[:, j])
    return out


def cycle(names: Sequence[str], d: int) -> tuple[str, ...]:
    """``d`` warps, ``names`` repeated in turn."""
    return tuple(names[j % len(names)] for j in range(d))


def rng_for(name: str) -> np.random.Generator:
    """Fixed per task (seeded from its name): covariances and maps do not change with the sample seed."""
    return np.random.default_rng(int(hashlib.sha256(name.encode()).hexdigest()[:8], 16))


def groups_of(*dims: int) -> list[list[int]]:
    """Consecutive groups of columns of the widths ``dims``: ``groups_of(1, 2)`` is ``[[0], [1, 2]]``."""
    edges = np.cumsum([0, *dims]).tolist()
    return [list(range(a, b)) for a, b in itertools.pairwise(edges)]


# ------------------------------------------------------------------------------ measures as entropies
def entropy_terms(measure: str, groups: Sequence[Sequence[int]]) -> Terms:
    """``[(c_S, columns of S), ...]`` with ``measure = sum_S c_S h(X_S)`` over the variables ``groups``
    (column indices). ``mi`` takes two groups, ``cmi`` and ``ii`` three (x, y, z)."""
    g = [tuple(int(c) for c in cols) for cols in groups]
    allc = tuple(c for cols in g for c in cols)
    if measure == "mi":
        return [(1.0, g[0]), (1.0, g[1]), (-1.0, g[0] + g[1])]
    if measure == "cmi":
        x, y, z = g
        return [(1.0, x + z), (1.0, y + z), (-1.0, x + y + z), (-1.0, z)]
    m = len(g)
    tc: Terms = [(1.0, cols) for cols in g] + [(-1.0, allc)]
    rest = [tuple(c for j, cols in enumerate(g) if j != i for c in cols) for i in range(m)]
    dtc: Terms = [(1.0, r) for r in rest] + [(-(m - 1.0), allc)]
    if measure == "tc":
        return tc
    if measure == "dtc":
        return dtc
    if measure in ("o", "ii"):
        return tc + [(-c, s) for c, s in dtc]
    if measure == "s":
        return tc + dtc
    raise ValueError(f"measure: expected one of {', '.join(SUMS)}, got {measure!r}")


def measure_value(terms: Terms, entropy: Callable[[tuple[int, ...]], float]) -> float:
    """``sum_S c_S h(X_S)`` with ``entropy(S)``."""
    return float(sum(c * entropy(cols) for c, cols in terms))


def pointwise_value(terms: Terms, logpdf: Callable[[tuple[int, ...]], Array]) -> Array:
    """``-sum_S c_S log p(x_S)`` per row: its mean is the measure."""
    return -sum(c * logpdf(cols) for c, cols in terms)  # type: ignore[return-value]


def truth_of(
    measure: str, groups: Sequence[Sequence[int]], entropy: Callable[[tuple[int, ...]], float]
) -> float:
    """The measure's value over ``groups`` with ``entropy(S)``; a PID part from three MIs (the minimum-MI
    redundancy of Barrett 2015)."""
    if measure in PID_PARTS:
        g0, g1, gt = groups
        one = measure_value(entropy_terms("mi", [g0, gt]), entropy)
        two = measure_value(entropy_terms("mi", [g1, gt]), entropy)
        joint = measure_value(entropy_terms("mi", [list(g0) + list(g1), gt]), entropy)
        redundancy = min(one, two)
        parts = (redundancy, one - redundancy, two - redundancy, joint - one - two + redundancy)
        return float(parts[PID_PARTS.index(measure)])
    return measure_value(entropy_terms(measure, groups), entropy)


def pointwise_of(
    measure: str,
    groups: Sequence[Sequence[int]],
    logpdf: Callable[[Array, tuple[int, ...]], Array],
    prepare: Callable[[Array], Array],
) -> Pointwise | None:
    """The pointwise information of the measure over ``groups`` (None for a PID part): the arrays are
    stacked, passed through ``prepare`` (undoing warps), and scored with ``logpdf(v, columns)``."""
    if measure in PID_PARTS:
        return None
    terms = entropy_terms(measure, groups)

    def pointwise(*arrays: Any) -> Array:
        v = prepare(np.hstack([np.asarray(a, dtype=np.float64).reshape(len(a), -1) for a in arrays]))
        return pointwise_value(terms, lambda cols: logpdf(v, cols))

    return pointwise


def density_task(
    name: str,
    measure: str,
    groups: Sequence[Sequence[int]],
    truth: float,
    description: str,
    sampler: Sampler,
    logpdf: Callable[[Array, tuple[int, ...]], Array],
    prepare: Callable[[Array], Array],
) -> Task:
    """A task of continuous arrays cut from the columns of one joint density: ``measure`` over
    ``groups``, the pointwise information from ``logpdf`` after ``prepare`` (:func:`pointwise_of`)."""
    pointwise = pointwise_of(measure, groups, logpdf, prepare)
    dims, options = dims_of(measure, groups), options_of(measure, groups)
    return Task(name, measure, truth, description, sampler, dims, (), options, pointwise)


def arrays_of(measure: str, groups: Sequence[Sequence[int]]) -> list[list[int]]:
    """The columns of each array the measure takes (in order: the groups tile the columns)."""
    if measure in ONE_ARRAY:
        return [[c for g in groups for c in g]]
    return [list(g) for g in groups]


def options_of(measure: str, groups: Sequence[Sequence[int]]) -> dict[str, Any]:
    """``blocks`` for a measure of one array whose variables span several columns."""
    if measure in ONE_ARRAY and any(len(g) > 1 for g in groups):
        return {"blocks": [list(g) for g in groups]}
    return {}


def split(v: Array, measure: str, groups: Sequence[Sequence[int]]) -> tuple[Array, ...]:
    """The measure's arrays cut from the columns of ``v``."""
    return tuple(v[:, cols] for cols in arrays_of(measure, groups))


def dims_of(measure: str, groups: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """The width of each of the measure's arrays."""
    return tuple(len(cols) for cols in arrays_of(measure, groups))
