"""Exact partial information decompositions of a discrete joint distribution ``p[x_1, ..., x_n, t]``.

``I(X_1, ..., X_n; T)`` is split over the redundancy lattice (Williams & Beer 2010); for two sources
into the information both carry (redundancy), each alone (unique) and only both together (synergy):

    I(X1, X2; T) = redundancy + unique_1 + unique_2 + synergy,
    I(X_i; T) = redundancy + unique_i.

A redundancy measure fixes the split. ``"mmi"``: ``min_i I(X_i; T)`` (Barrett 2015). ``"min"``:
Williams & Beer's I_min, the mean over t of the least specific information. ``"broja"``: the unique
information ``min_Q I_Q(X1; T | X2)`` over the tables with p's ``(x_i, t)`` marginals (Bertschinger et
al. 2014), solved with a certified gap. ``"ccs"``: the common change in surprisal (Ince 2017).
``"dep"``: the least gain of ``I(X1, X2; T)`` from adding the constraint ``(X_i, T)`` over the
dependency lattice (James, Emenheiser & Crutchfield 2018). ``"sx"``: shared exclusion (Makkeh,
Gutknecht & Wibral 2021), which may be negative (misinformative).

References:
    N. Bertschinger, J. Rauh, E. Olbrich, J. Jost, N. Ay. Quantifying unique information. Entropy 16,
    2161 (2014).
    R. James, J. Emenheiser, J. Crutchfield. Unique information via dependency constraints. J. Phys.
    A 52, 014002 (2018).
    See :mod:`._pid_measures` for the others.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn.functional.multivariate import _pid_measures as M
from iblearn.functional.multivariate._broja import solve_broja
from iblearn.functional.multivariate._pid_lattice import Antichain, by_name, moebius
from iblearn.functional.multivariate.core import PIDParts

Redundancy = Literal["mmi", "min", "broja", "ccs", "dep", "sx"]
REDUNDANCIES: tuple[Redundancy, ...] = ("mmi", "min", "broja", "ccs", "dep", "sx")
#: The measures defined on the whole lattice of any number of sources.
LATTICE_MEASURES: dict[str, Callable[[np.ndarray, Any], float]] = {
    "mmi": M.mmi,
    "min": M.i_min,
    "ccs": M.i_ccs,
    "sx": M.i_sx,
}
#: A joint table must sum to 1 within this.
SUM_TOLERANCE = 1e-6
#: BROJA's certified gap (nats) above which a warning says the optimum was not certified: 1e-6 bits.
BROJA_GAP_WARNING = 1e-6 * math.log(2)


def probability_table(p: Any, name: str = "p", *, min_ndim: int = 3) -> np.ndarray:
    """``p`` as a float64 numpy table of nonnegative entries summing to 1, or a ValueError naming it."""
    t = V.as_tensor(p, name)
    if t.is_complex() or t.dtype == torch.bool:
        raise ValueError(f"{name}: expected a table of probabilities, got dtype {t.dtype}")
    a = t.detach().cpu().to(torch.float64).numpy()
    if a.ndim < min_ndim or 0 in a.shape:
        raise ValueError(
            f"{name}: expected a joint table p[x_1, ..., x_n, t] with at least {min_ndim - 1} sources "
            f"and a target, got shape {a.shape}"
        )
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: contains NaN or Inf")
    if (a < 0).any():
        raise ValueError(f"{name}: has negative entries (min {a.min():.3g}); probabilities are >= 0")
    if abs(a.sum() - 1) > SUM_TOLERANCE:
        raise ValueError(f"{name}: must sum to 1, sums to {a.sum():.9g}")
    return a / a.sum()


def _scalar(v: float) -> Tensor:
    return torch.tensor(v, dtype=torch.float64)


def _from_uniques(i1: float, i2: float, joint: float, u1: float, u2: float) -> PIDParts:
    red = 0.5 * ((i1 - u1) + (i2 - u2))  # the two are equal; the mean spreads their round-off
    return PIDParts(*map(_scalar, (red, u1, u2, joint - red - u1 - u2)))


def broja_pid(p: Any) -> tuple[PIDParts, float]:
    """The BROJA decomposition of ``p[x1, x2, t]`` and the certified bound (nats) on its error: the
    synergy ``I(X1, X2; T) - min_Q I_Q(X1, X2; T)`` is exact to within it, and so is each part.

    Example:
        >>> and_gate = torch.zeros(2, 2, 2)
        >>> for x1, x2 in [(0, 0), (0, 1), (1, 0), (1, 1)]:
        ...     and_gate[x1, x2, x1 & x2] = 0.25
        >>> parts, gap = broja_pid(and_gate)
        >>> round(float(parts.synergy) / math.log(2), 6), gap < 1e-9  # bits
        (0.5, True)
    """
    a = probability_table(p)
    if a.ndim != 3:
        raise ValueError(f"p: BROJA is defined here for two sources, p[x1, x2, t]; got {a.ndim - 1} sources")
    i1, i2, joint = (M.mutual_information(a, s) for s in ([0], [1], [0, 1]))
    sol = solve_broja(a)
    return _from_uniques(i1, i2, joint, sol.joint_mi - i2, sol.joint_mi - i1), sol.gap


def pid_distribution(p: Any, redundancy: Redundancy = "mmi") -> PIDParts:
    """The partial information decomposition of a two-source joint distribution ``p[x1, x2, t]``.

    Args:
        p: joint probability table of shape ``(|X1|, |X2|, |T|)``, nonnegative, summing to 1.
        redundancy: ``"mmi"``, ``"min"``, ``"broja"``, ``"ccs"``, ``"dep"`` or ``"sx"`` (see the module).

    Returns:
        :class:`~iblearn.functional.PIDParts` in nats; the parts sum to ``I(X1, X2; T)``.

    Raises:
        ValueError: p not a probability table of two sources and a target; an unknown redundancy.

    Example:
        >>> copy = torch.zeros(2, 2, 4)  # T = (X1, X2), the sources independent fair bits
        >>> for x1 in range(2):
        ...     for x2 in range(2):
        ...         copy[x1, x2, 2 * x1 + x2] = 0.25
        >>> [round(float(v) / math.log(2), 6) for v in pid_distribution(copy, "ccs")]  # bits
        [0.0, 1.0, 1.0, 0.0]
        >>> round(float(pid_distribution(copy, "mmi").redundancy) / math.log(2), 6)
        1.0
    """
    V.choice(redundancy, "redundancy", REDUNDANCIES)
    a = probability_table(p)
    if a.ndim != 3:
        raise ValueError(
            f"p: pid_distribution takes two sources, p[x1, x2, t]; got {a.ndim - 1}: use pid_lattice"
        )
    if redundancy == "broja":
        parts, gap = broja_pid(a)
        if gap > BROJA_GAP_WARNING:
            warnings.warn(
                f"BROJA's optimum is certified only to {gap:.3g} nats", RuntimeWarning, stacklevel=2
            )
        return parts
    i1, i2, joint = (M.mutual_information(a, s) for s in ([0], [1], [0, 1]))
    if redundancy == "dep":
        return _from_uniques(i1, i2, joint, *M.dep_uniques(a))
    red = LATTICE_MEASURES[redundancy](a, [[0], [1]])
    return PIDParts(*map(_scalar, (red, i1 - red, i2 - red, joint - i1 - i2 + red)))


def pid_lattice(p: Any, redundancy: Literal["mmi", "min", "ccs", "sx"] = "mmi") -> dict[str, Tensor]:
    """The atoms of the redundancy lattice of ``n >= 2`` sources of ``p[x_1, ..., x_n, t]``.

    Each node is an antichain of sets of sources, named as dit names them (sources from 1):
    ``"{1}{2}{3}"`` is what all three carry, ``"{1}{23}"`` what X1 and the pair (X2, X3) both carry,
    ``"{123}"`` what only all three together carry. The atoms sum to ``I(X_1, ..., X_n; T)``.

    Args:
        p: joint probability table ``(|X_1|, ..., |X_n|, |T|)``, nonnegative, summing to 1.
        redundancy: a measure defined on the whole lattice: ``"mmi"``, ``"min"``, ``"ccs"`` or ``"sx"``.

    Returns:
        dict from node name to a 0-d float64 tensor in nats (4 nodes for 2 sources, 18 for 3, 166 for 4).

    Example:
        >>> p = torch.zeros(2, 2, 2, 2)  # T = X1 xor X2 xor X3
        >>> for x in range(8):
        ...     b = [(x >> i) & 1 for i in range(3)]
        ...     p[b[0], b[1], b[2], sum(b) % 2] = 1 / 8
        >>> atoms = pid_lattice(p, "mmi")
        >>> bits = float(atoms["{123}"]) / math.log(2), float(sum(atoms.values())) / math.log(2)
        >>> tuple(round(b, 6) for b in bits)
        (1.0, 1.0)
    """
    V.choice(redundancy, "redundancy", tuple(LATTICE_MEASURES))
    a = probability_table(p)
    measure = LATTICE_MEASURES[redundancy]

    def red(node: Antichain) -> float:
        return measure(a, node)

    return {k: _scalar(v) for k, v in by_name(moebius(red, a.ndim - 1)).items()}


def nats_to_bits(v: float | Tensor) -> float:
    """A value in nats as bits."""
    return float(v) / math.log(2)
