"""The variables of a measure among many: columns or blocks of columns as a list of tensors, checked;
their normal scores; and the checks on them that the estimates report (the magnitudes' dependence a
Gaussian copula leaves out, the agreement of two estimates of one number)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from numpy.typing import NDArray
from scipy.stats import rankdata
from torch import Tensor

from iblearn import _checks as V
from iblearn._measures import MEASURE_TABLE as MEASURE_TABLE
from iblearn._measures import MeasureSpec as MeasureSpec
from iblearn.functional.gaussian import gaussian_mi
from iblearn.functional.knn.engine import (
    checked_blocks,
    ksg_mi,
)
from iblearn.functional.scale import constant_columns


def split_variables(x: Any, blocks: Sequence[Sequence[int]] | None, name: str = "x") -> list[Tensor]:
    """The variables of ``x (N, d)`` (the argument ``name``, as errors name it): its ``blocks`` of
    columns, or each column alone; at least two."""
    t = V.continuous(x, name)
    if t.ndim != 2:
        raise ValueError(f"{name}: expected (N, d) samples, got shape {tuple(t.shape)}")
    cols = [[j] for j in range(t.shape[1])] if blocks is None else checked_blocks(blocks, t.shape[1])
    if len(cols) < 2:
        raise ValueError(
            f"{name}: information among variables needs at least 2 variables (columns or blocks), "
            f"got {len(cols)}"
        )
    return [t[:, c] for c in cols]


def named_variables(*named: tuple[str, Any]) -> list[Tensor]:
    """Separate arguments as variables, each checked by name and all of one length."""
    out = [V.continuous(v, name) for name, v in named]
    V.same_length(*zip([name for name, _ in named], out, strict=True))
    return out


def check_not_constant(variables: list[Tensor], names: list[str]) -> None:
    for v, name in zip(variables, names, strict=True):
        constant = constant_columns(v.detach().to(torch.float64))
        if bool(constant.any()):
            raise ValueError(
                f"{name}: has a constant column ({int(constant.nonzero()[0, 0])} of the variable); its "
                "covariance is singular and every measure of it is undefined"
            )


def copula_normal(t: Tensor) -> Tensor:
    """Each column of ``t (N, d)`` replaced by ``Phi^-1(rank / (N + 1))`` (average ranks for ties): the
    Gaussian-copula transform, float64 on t's device."""
    return ranked_normal(t)[0]


class Ranked(NamedTuple):
    """:func:`ranked_normal`'s answer: the normal scores ``(N, d)``, each column's ranks ``0 .. N - 1``
    ``(d, N)`` where no column holds a value twice (else None), and the columns sorted ``(d, N)``."""

    scores: Tensor
    ranks: NDArray[np.int64] | None
    ascending: NDArray[np.float64]


def ranked_normal(t: Tensor) -> Ranked:
    """:func:`copula_normal` of ``t (N, d)``, with what its sort finds on the way (:class:`Ranked`)."""
    # Rows of contiguous memory, sorted by numpy: faster than torch.sort (docs/design.md, "Measurements").
    columns = np.ascontiguousarray(t.detach().cpu().to(torch.float64).numpy().T)
    n = columns.shape[1]
    order = np.argsort(columns, axis=1)
    ascending = np.take_along_axis(columns, order, axis=1)
    whole = None
    if (ascending[:, 1:] == ascending[:, :-1]).any():
        ranks = rankdata(columns, axis=1)
    else:
        ranks = np.empty_like(columns)
        np.put_along_axis(ranks, order, np.arange(1.0, n + 1.0)[None, :], axis=1)
        whole = ranks.astype(np.int64) - 1
    return Ranked(torch.special.ndtri(torch.from_numpy(ranks / (n + 1)).T).to(t.device), whole, ascending)


#: |z| of :func:`magnitude_dependence` beyond which normal scores are not taken as a Gaussian copula
#: (Gaussian copulas of 2 - 20 columns at N = 2,000 read within +-2.1; Student-t copulas with 8 degrees
#: of freedom 6 - 24, with 30 degrees 3 - 12 where 4 x 4 columns or more).
MAGNITUDES_Z = 4.0


def magnitude_dependence(scores: Tensor, split: int) -> float:
    """A test of the Gaussian copula on what it leaves out: with the normal scores ``(N, d)`` whitened
    in order (by the Cholesky factor of their correlation), the first ``split`` whitened columns and the
    rest are independent standard normals under a Gaussian copula, so their squared norms are
    independent; a shared scale (a Student-t copula, heavy joint tails) makes them dependent, and that
    dependence is information that every Gaussian and Gaussian-copula estimate misses (for a Student-t
    with uncorrelated X and Y, all of I(X; Y)).

    Args:
        scores: ``(N, d)``.
        split: the first ``split`` columns against the rest (each side already whitened:
            :func:`whitened_magnitude_dependence`).

    Returns:
        sqrt(N) times the Spearman correlation of the two squared norms: about standard normal under a
        Gaussian copula; beyond :data:`MAGNITUDES_Z` in size the copula is not Gaussian.
    """
    t = scores.detach().to(torch.float64)
    t = t - t.mean(dim=0)
    chol, info = torch.linalg.cholesky_ex(t.T @ t / len(t))
    if bool(info):  # linearly dependent scores: no Gaussian copula has a density there
        return math.inf
    white = torch.linalg.solve_triangular(chol, t.T, upper=False).T
    return _rank_z(white[:, :split].square().sum(1), white[:, split:].square().sum(1))


def whitened_magnitude_dependence(x: Tensor, y: Tensor) -> float:
    """:func:`magnitude_dependence` of ``x (N, dx)`` against ``y (N, dy)``, each side's columns already
    centred with identity covariance (the rows' :func:`~iblearn.functional.gaussian.canonical_bases`):
    y is whitened from its regression on x, without a product of all the columns."""
    x, y = x.detach().to(torch.float64), y.detach().to(torch.float64)
    cross = x.T @ y / len(x)
    chol, info = torch.linalg.cholesky_ex(
        torch.eye(y.shape[1], dtype=y.dtype, device=y.device) - cross.T @ cross
    )
    if bool(info):  # a canonical correlation of 1: no density
        return math.inf
    residual = x @ cross
    torch.sub(y, residual, out=residual)  # y given x, whose covariance is the identity
    b = torch.linalg.solve_triangular(chol, residual.T, upper=False).square_().sum(0)
    return _rank_z(x.square().sum(1), b)


def _rank_z(a: Tensor, b: Tensor) -> float:
    """sqrt(N) times the Spearman correlation of ``a`` and ``b`` ``(N,)``."""
    ra, rb = (torch.from_numpy(rankdata(v.cpu().numpy())) for v in (a, b))
    rho = float(torch.corrcoef(torch.stack([ra, rb]))[0, 1])
    return rho * math.sqrt(len(a))


#: The gap between the Gaussian closed form and KSG on the same two columns beyond which the closed
#: form is not taken as the MI is the largest of three: these nats,
SCALAR_GAP_NATS = 0.03
#: this share of KSG's estimate,
SCALAR_GAP_SHARE = 0.1
#: and this many over sqrt(N). The gap's sd on Gaussians is about 0.74 / sqrt(N): bivariate Gaussians of
#: rho 0 - 0.9 at N = 500 and 2,000, 100 draws each, had none beyond it; uniform noise (0.33 nats), a
#: point mass and two opposite correlations were beyond it on 96 - 100 of 100 at N = 2,000.
SCALAR_GAP_SDS = 2.5


class ScalarCheck(NamedTuple):
    """The Gaussian closed form beside KSG on the same two single columns (:func:`scalar_check`), and
    the gap between them beyond which they disagree (the verdict's
    :func:`iblearn.estimation.verdict.scalar_why`)."""

    closed: float
    knn: float
    tolerance: float

    def reach(self, stderr: float) -> tuple[float, float]:
        """Where the MI may lie by KSG's reading: as far again beyond it as it is from the closed form
        (both read a non-Gaussian copula low, the closed form lower), and two standard errors (the
        closed form's, ``stderr``) about that."""
        gap = abs(self.knn - self.closed) + 2 * stderr
        return self.knn - gap, self.knn + gap


def scalar_check(a: Tensor, b: Tensor) -> ScalarCheck:
    """The bias-corrected Gaussian closed form of two single columns beside KSG on the same columns
    (2 - 8% off on benchmark-mi's 1 x 1 tasks), with the gap beyond which they disagree: the largest of
    :data:`SCALAR_GAP_NATS`, :data:`SCALAR_GAP_SHARE` of KSG's estimate and :data:`SCALAR_GAP_SDS` /
    sqrt(N). One column a side leaves :func:`magnitude_dependence` little to see: additive uniform
    noise, a point mass and two opposite correlations, which the copula reads 16 - 100% low, are seen
    here from N = 2,000; below, where a gap of that size is within the noise, an interval is widened to
    what KSG's reading allows (:meth:`ScalarCheck.reach`).

    Args:
        a, b: ``(N, 1)`` each, in the coordinates the closed form took (normal scores for the copula).
    """
    knn = float(ksg_mi(a, b, 3))
    return ScalarCheck(
        float(gaussian_mi(a, b, bias_correction=True)),
        knn,
        max(SCALAR_GAP_NATS, SCALAR_GAP_SHARE * abs(knn), SCALAR_GAP_SDS / math.sqrt(len(a))),
    )
