"""Information among many variables: total correlation, dual total correlation, O- and S-information,
interaction information, and the two-source partial information decomposition.

For m variables X = (X_1, .., X_m), each a column or a block of columns, with X_-i all but X_i:

    TC(X)  = sum_i h(X_i) - h(X)                  total correlation (multi-information)
    DTC(X) = sum_i h(X_-i) - (m - 1) h(X)         dual total correlation (binding information)
           = sum_i I(X_i; X_-i) - TC(X)
    O(X)   = TC(X) - DTC(X)                       O-information: > 0 redundancy dominates, < 0 synergy
    S(X)   = TC(X) + DTC(X) = sum_i I(X_i; X_-i)  S-information

Three estimators, chosen by ``method``:

* ``"ksg"``: Kraskov et al. (2004)'s m-variable generalization of their algorithm 1 (Sec. II.C), one
  max-norm radius eps per sample from the joint space (the distance to its k-th neighbour) and strict
  counts n_i of the samples within eps in each variable's space:
  ``TC = psi(k) + (m - 1) psi(N) - < sum_i psi(n_i + 1) >``. With the same radius, ``I(X_i; X_-i)`` is
  KSG's eq. (8) on the counts n_i and n_-i (the space of X_-i), so S is a sum of KSG estimates and
  DTC = S - TC, O = 2 TC - S: no term is a separately estimated entropy, and their biases cancel as in
  KSG (``DTC = (m - 1) psi(k) + psi(N) - < sum_i psi(n_-i + 1) >``).
* ``"gaussian"``: the closed form of the Gaussian with the sample covariance, ``h(S) = 1/2 log det
  Sigma_S`` up to terms that cancel, each log-determinant made unbiased for Gaussian data by the Wishart
  terms of :func:`~iblearn.functional.gaussian.wishart_digammas` (``bias_correction=True``).
* ``"copula"``: the Gaussian-copula estimate (Ince et al. 2017): each column replaced by
  ``Phi^-1(rank / (N + 1))``, then the Gaussian closed form, with the same bias correction: the default
  estimate of hoi (``"gc"``) and of THOI, which both correct the bias too.

All estimates are 0-d float64 tensors in nats.

References:
    A. Kraskov, H. Stoegbauer, P. Grassberger. Estimating mutual information. Phys. Rev. E 69, 066138
    (2004), eqs. (8) and (16).
    F. Rosas, P. Mediano, M. Gastpar, H. Jensen. Quantifying high-order interdependencies via
    multivariate extensions of the mutual information. Phys. Rev. E 100, 032305 (2019).
    A. Barrett. Exploration of synergistic and redundant information sharing in static and dynamical
    Gaussian systems. Phys. Rev. E 91, 052802 (2015): the minimum-MI (MMI) redundancy.
    R. Ince et al. A statistical framework for neuroimaging data analysis based on mutual information
    estimated via a Gaussian copula. Hum. Brain Mapp. 38, 1541 (2017).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from scipy.stats import rankdata
from torch import Tensor

from iblearn import _checks as V
from iblearn._measures import MEASURE_TABLE as MEASURE_TABLE
from iblearn._measures import MeasureSpec as MeasureSpec
from iblearn.functional._scale import constant_columns, power_of_two_scale
from iblearn.functional.gaussian import gaussian_mi, wishart_digammas
from iblearn.functional.knn.engine import (
    Backend,
    Ties,
    checked_blocks,
    count_within,
    digamma_f64,
    knn_max_tree_dim,
    ksg_from_counts,
    ksg_mi,
    kth_neighbour,
    pick_backend,
    prepare_samples,
    psi,
)

Method = Literal["ksg", "gaussian", "copula"]
METHODS: tuple[Method, ...] = ("ksg", "gaussian", "copula")


class PIDParts(NamedTuple):
    """The four parts of I(X1, X2; T): they sum to it (:attr:`total`). Each a 0-d tensor in nats."""

    redundancy: Tensor
    unique_1: Tensor
    unique_2: Tensor
    synergy: Tensor

    @property
    def total(self) -> Tensor:
        """I(X1, X2; T), the sum of the parts."""
        return self.redundancy + self.unique_1 + self.unique_2 + self.synergy


# ------------------------------------------------------------------------------------------------ inputs
def split_variables(x: Any, blocks: Sequence[Sequence[int]] | None) -> list[Tensor]:
    """The variables of ``x (N, d)``: its ``blocks`` of columns, or each column alone; at least two."""
    t = V.continuous(x, "x")
    if t.ndim != 2:
        raise ValueError(f"x: expected (N, d) samples, got shape {tuple(t.shape)}")
    cols = [[j] for j in range(t.shape[1])] if blocks is None else checked_blocks(blocks, t.shape[1])
    if len(cols) < 2:
        raise ValueError(
            f"x: information among variables needs at least 2 variables (columns or blocks), got {len(cols)}"
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
    # Rows of contiguous memory, sorted by numpy: faster than torch.sort (docs/design.md, "Measurements").
    columns = np.ascontiguousarray(t.detach().cpu().to(torch.float64).numpy().T)
    n = columns.shape[1]
    order = np.argsort(columns, axis=1)
    ascending = np.take_along_axis(columns, order, axis=1)
    if (ascending[:, 1:] == ascending[:, :-1]).any():
        ranks = rankdata(columns, axis=1)
    else:
        ranks = np.empty_like(columns)
        np.put_along_axis(ranks, order, np.arange(1.0, n + 1.0)[None, :], axis=1)
    return torch.special.ndtri(torch.from_numpy(ranks / (n + 1)).T).to(t.device)


#: |z| of :func:`magnitude_dependence` beyond which normal scores are not taken as a Gaussian copula
#: (Gaussian copulas of 2 - 20 columns at N = 2,000 read within +-2.1; Student-t copulas with 8 degrees
#: of freedom 6 - 24, with 30 degrees 3 - 12 where 4 x 4 columns or more).
MAGNITUDES_Z = 4.0


def magnitude_dependence(scores: Tensor, split: int, *, whitened: bool = False) -> float:
    """A test of the Gaussian copula on what it leaves out: with the normal scores ``(N, d)`` whitened
    in order (by the Cholesky factor of their correlation), the first ``split`` whitened columns and the
    rest are independent standard normals under a Gaussian copula, so their squared norms are
    independent; a shared scale (a Student-t copula, heavy joint tails) makes them dependent, and that
    dependence is information that every Gaussian and Gaussian-copula estimate misses (for a Student-t
    with uncorrelated X and Y, all of I(X; Y)).

    Args:
        scores: ``(N, d)``.
        split: the first ``split`` columns against the rest.
        whitened: each side's columns are already centred with identity covariance (the rows'
            :func:`~iblearn.functional.gaussian.canonical_bases`): the rest is then whitened from its
            regression on the first, without a product of all the columns.

    Returns:
        sqrt(N) times the Spearman correlation of the two squared norms: about standard normal under a
        Gaussian copula; beyond :data:`MAGNITUDES_Z` in size the copula is not Gaussian.
    """
    t = scores.detach().to(torch.float64)
    if whitened:
        x, y = t[:, :split], t[:, split:]
        cross = x.T @ y / len(t)
        residual = y - x @ cross  # given x, whose covariance is the identity
        chol, info = torch.linalg.cholesky_ex(
            torch.eye(y.shape[1], dtype=t.dtype, device=t.device) - cross.T @ cross
        )
        if bool(info):  # a canonical correlation of 1: no density
            return math.inf
        a = x.square().sum(1)
        b = torch.linalg.solve_triangular(chol, residual.T, upper=False).square().sum(0)
    else:
        t = t - t.mean(dim=0)
        chol, info = torch.linalg.cholesky_ex(t.T @ t / len(t))
        if bool(info):  # linearly dependent scores: no Gaussian copula has a density there
            return math.inf
        white = torch.linalg.solve_triangular(chol, t.T, upper=False).T
        a, b = white[:, :split].square().sum(1), white[:, split:].square().sum(1)
    ra, rb = (torch.from_numpy(rankdata(v.cpu().numpy())) for v in (a, b))
    rho = float(torch.corrcoef(torch.stack([ra, rb]))[0, 1])
    return rho * math.sqrt(len(t))


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
    """The Gaussian closed form beside KSG on the same two single columns (:func:`scalar_check`)."""

    closed: float
    knn: float
    tolerance: float

    def reach(self, stderr: float) -> tuple[float, float]:
        """Where the MI may lie by KSG's reading: as far again beyond it as it is from the closed form
        (both read a non-Gaussian copula low, the closed form lower), and two standard errors (the
        closed form's, ``stderr``) about that."""
        gap = abs(self.knn - self.closed) + 2 * stderr
        return self.knn - gap, self.knn + gap

    @property
    def why(self) -> str | None:
        """Why the closed form is not the MI, or None where the two agree within the tolerance."""
        if abs(self.closed - self.knn) <= self.tolerance:
            return None
        return (
            f"the Gaussian closed form reads {self.closed:.4g} nats where KSG on the same columns reads "
            f"{self.knn:.4g} (tolerance {self.tolerance:.3g}): a dependence that is not Gaussian (in its "
            "copula), which the closed form misses"
        )


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


# ---------------------------------------------------------------------------------------------- the core
def combine(h_marginal: Tensor, h_rest: Tensor, h_joint: Tensor) -> tuple[Tensor, Tensor]:
    """``(TC, DTC)`` from the entropies of each variable ``(..., m)``, of all but each ``(..., m)`` and
    of all ``(...)``."""
    m = h_marginal.shape[-1]
    return h_marginal.sum(-1) - h_joint, h_rest.sum(-1) - (m - 1) * h_joint


def logdet_correction(n: int, d: int, like: Tensor) -> Tensor:
    """``E log det S - log det Sigma`` for the sample covariance S (divisor n) of n Gaussian rows in d
    dimensions: ``sum_{j=1..d} psi((n - j) / 2) + d log(2 / n)`` (:func:`wishart_digammas`)."""
    return wishart_digammas(n, d, like).sum() + d * math.log(2 / n)


def half_logdet(cov: Tensor, n: int, bias_correction: bool) -> Tensor:
    """``1/2 log det`` of a batch of sample covariances ``(..., d, d)`` of n rows (divisor n), made
    unbiased for Gaussian data if ``bias_correction``: the Gaussian entropy up to ``d/2 log(2 pi e)``,
    which cancels from TC and DTC."""
    logdet = torch.linalg.slogdet(cov)[1]
    if bias_correction:
        logdet = logdet - logdet_correction(n, cov.shape[-1], logdet)
    return 0.5 * logdet


#: Smallest eigenvalue of the columns' correlation matrix at which the Gaussian closed forms still hold:
#: below it some column is, to round-off, a linear function of others, the joint has no density and
#: TC, DTC and S are infinite (O undefined). At 1e-10 the dependent columns alone hold 11.5 nats.
SINGULAR = 1e-10


def column_labels(variables: list[Tensor], names: list[str]) -> list[str]:
    """One label a column of the variables side by side: the variable's name, with the column's index
    where it has several."""
    return [
        name if v.shape[1] == 1 else f"({name})[{j}]" if ", " in name else f"{name}[{j}]"
        for v, name in zip(variables, names, strict=True)
        for j in range(v.shape[1])
    ]


def correlation(t: Tensor, labels: list[str]) -> tuple[Tensor, Tensor]:
    """The sample correlation matrix of the columns of ``t (N, d)`` and their log standard deviations
    (divisor N), at any scale float64 holds (each column divided by a power of two near its largest
    magnitude first, which is exact, so no square overflows or underflows).

    Raises:
        ValueError: the columns are linearly dependent to round-off (the smallest eigenvalue of their
            correlation matrix below :data:`SINGULAR`), naming the columns involved by ``labels``.
    """
    t = t.detach().to(torch.float64)
    scale = power_of_two_scale(t, dim=0)
    t = t / scale
    t = t - t.mean(dim=0)
    sd = (t.square().mean(dim=0)).sqrt()
    t = t / sd
    corr = t.T @ t / t.shape[0]
    eigenvalues, vectors = torch.linalg.eigh(corr)
    if float(eigenvalues[0]) < SINGULAR:
        # The columns that carry the null direction are the ones that depend on each other.
        weights = vectors[:, 0].abs()
        involved = [labels[j] for j in torch.nonzero(weights > 0.1 * weights.max()).flatten().tolist()]
        raise ValueError(
            f"{', '.join(involved)}: linearly dependent columns (the smallest eigenvalue of their "
            f"correlation matrix is {float(eigenvalues[0]):.2g}): their joint has no density, so its "
            "Gaussian total correlation is infinite and the O-information undefined; drop the redundant "
            "column, or use method='ksg'"
        )
    return corr, torch.log(sd) + torch.log(scale)


def _gaussian_tc_dtc(
    variables: list[Tensor], names: list[str], copula: bool, bias_correction: bool
) -> tuple[Tensor, Tensor]:
    t = torch.cat(variables, dim=1).detach().to(torch.float64)
    if copula:
        t = copula_normal(t)
    n = t.shape[0]
    if n <= t.shape[1] + 1:
        raise ValueError(f"x: {t.shape[1]} columns need more than {t.shape[1] + 1} samples, got N={n}")
    # TC and DTC do not depend on the columns' scales (each column's log-variance enters the marginal
    # and the joint terms alike), so the correlation matrix serves: it neither overflows nor underflows.
    cov, _ = correlation(t, column_labels(variables, names))
    edges = np.cumsum([0] + [v.shape[1] for v in variables])
    cols = [list(range(a, b)) for a, b in itertools.pairwise(edges.tolist())]

    def h(keep: list[int]) -> Tensor:
        return half_logdet(cov[keep][:, keep], n, bias_correction)

    rest = [[c for j, block in enumerate(cols) if j != i for c in block] for i in range(len(cols))]
    return combine(
        torch.stack([h(c) for c in cols]), torch.stack([h(r) for r in rest]), h(list(range(t.shape[1])))
    )


def ksg_counts(
    prepared: list[Tensor], k: int, backend: Backend, rest: bool
) -> tuple[list[Tensor], list[Tensor]]:
    """Per-sample strict counts within the joint k-th neighbour's max-norm radius: in each variable's
    space, and (if ``rest``) in the space of all the other variables."""
    dim = sum(v.shape[1] for v in prepared)
    how = pick_backend(backend, prepared[0].device, dim, knn_max_tree_dim("chebyshev"))
    eps, _ = kth_neighbour(prepared, k, "chebyshev", how)

    def count(parts: list[Tensor]) -> Tensor:
        return count_within(torch.cat(parts, dim=1), eps, "chebyshev", how, inclusive=False)

    marginal = [count([v]) for v in prepared]
    if not rest:
        return marginal, []
    if len(prepared) == 2:  # the rest of one variable is the other: its counts are already there
        return marginal, marginal[::-1]
    return marginal, [count(prepared[:i] + prepared[i + 1 :]) for i in range(len(prepared))]


def ksg_tc_dtc(prepared: list[Tensor], k: int, backend: Backend, dual: bool) -> tuple[Tensor, Tensor]:
    """KSG's ``(TC, DTC)`` of prepared variables; see the module's notes. Without ``dual`` the counts
    in the spaces of X_-i are skipped and DTC is NaN (callers that read only TC)."""
    m, n = len(prepared), prepared[0].shape[0]
    marginal, rest = ksg_counts(prepared, k, backend, dual)
    tc = psi(k) + (m - 1) * psi(n) - digamma_f64(torch.stack(marginal) + 1).sum(0).mean()
    if not dual:
        return tc, torch.full_like(tc, float("nan"))
    s = torch.stack([ksg_from_counts(a, b, k, 1) for a, b in zip(marginal, rest, strict=True)]).sum()
    return tc, s - tc


def tc_dtc(
    variables: list[Tensor],
    names: list[str],
    method: Method,
    *,
    k: int,
    dual: bool,
    bias_correction: bool,
    standardize: bool,
    ties: Ties,
    backend: Backend,
    seed: int,
) -> tuple[Tensor, Tensor]:
    """``(TC, DTC)`` of checked variables by ``method`` (for KSG, DTC is NaN unless ``dual``)."""
    V.choice(method, "method", METHODS)
    bias_correction = V.flag(bias_correction, "bias_correction")
    if method == "ksg":
        prepared, k = prepare_samples(
            list(zip(names, variables, strict=True)), k, standardize=standardize, ties=ties, seed=seed
        )
        return ksg_tc_dtc(prepared, k, backend, dual)
    check_not_constant(variables, names)
    return _gaussian_tc_dtc(variables, names, method == "copula", bias_correction)


def _measure(x: Any, blocks: Any, method: Method, name: str, **options: Any) -> Tensor:
    """The measure ``name`` of :data:`MEASURE_TABLE` among the variables of ``x``."""
    spec = MEASURE_TABLE[name]
    variables = split_variables(x, blocks)
    names = [f"x (variable {i})" for i in range(len(variables))]
    return spec.of(*tc_dtc(variables, names, method, dual=spec.dtc != 0, **options))


# ------------------------------------------------------------------------------------------ the measures
def total_correlation(
    x: Any,
    blocks: Sequence[Sequence[int]] | None = None,
    *,
    method: Method = "ksg",
    k: int = 3,
    bias_correction: bool = True,
    standardize: bool = True,
    ties: Ties = "jitter",
    backend: Backend = "auto",
    seed: int = 0,
) -> Tensor:
    """Total correlation (multi-information) ``TC = sum_i h(X_i) - h(X)`` in nats: the KL divergence
    of the joint from the product of its marginals, 0 exactly when the variables are independent.

    Args:
        x: ``(N, d)`` floating-point samples.
        blocks: column indices of each variable (``[[0, 1], [2], [3, 4]]``); None: each column alone.
        method: ``"ksg"``, ``"gaussian"`` or ``"copula"`` (see the module's notes).
        k: neighbours in the joint space (``"ksg"``), 1 <= k < N.
        bias_correction: Wishart bias correction of the log-determinants (``"gaussian"``, ``"copula"``).
        standardize, ties, backend: as for :func:`~iblearn.functional.ksg_mi` (``"ksg"``).
        seed: seeds the jitter (variable i from ``seed + i``).

    Returns:
        0-d float64 tensor, nats. Not clipped at 0.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> z = torch.randn(2000, 1, generator=g)
        >>> x = z + torch.randn(2000, 3, generator=g)  # three noisy copies of z
        >>> round(float(total_correlation(x, method="gaussian")), 2)  # truth: log(2) / 2 = 0.347
        0.35
        >>> abs(float(total_correlation(x)) - 0.347) < 0.05  # KSG
        True
    """
    options = dict(k=k, bias_correction=bias_correction, standardize=standardize, ties=ties, backend=backend)
    return _measure(x, blocks, method, "total_correlation", seed=seed, **options)


def dual_total_correlation(
    x: Any,
    blocks: Sequence[Sequence[int]] | None = None,
    *,
    method: Method = "ksg",
    k: int = 3,
    bias_correction: bool = True,
    standardize: bool = True,
    ties: Ties = "jitter",
    backend: Backend = "auto",
    seed: int = 0,
) -> Tensor:
    """Dual total correlation ``DTC = h(X) - sum_i h(X_i | X_-i) = sum_i I(X_i; X_-i) - TC`` in nats:
    the information shared by at least two of the variables. Arguments as for :func:`total_correlation`.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(5000, 2, generator=g)
        >>> x = torch.cat([x, x.sum(1, keepdim=True) + 0.5 * torch.randn(5000, 1, generator=g)], 1)
        >>> bool(dual_total_correlation(x) > total_correlation(x))  # y = x1 + x2: synergy
        True
    """
    options = dict(k=k, bias_correction=bias_correction, standardize=standardize, ties=ties, backend=backend)
    return _measure(x, blocks, method, "dual_total_correlation", seed=seed, **options)


def o_information(
    x: Any,
    blocks: Sequence[Sequence[int]] | None = None,
    *,
    method: Method = "ksg",
    k: int = 3,
    bias_correction: bool = True,
    standardize: bool = True,
    ties: Ties = "jitter",
    backend: Backend = "auto",
    seed: int = 0,
) -> Tensor:
    """O-information ``O = TC - DTC`` in nats (Rosas et al. 2019, eq. 5): positive when redundancy
    dominates the dependencies among the variables, negative when synergy does; 0 for two variables.
    For three it equals the interaction information. Arguments as for :func:`total_correlation`.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> z = torch.randn(3000, 1, generator=g)
        >>> o = o_information(z + torch.randn(3000, 3, generator=g))  # three noisy copies of one source
        >>> bool(0.05 < o < 0.15)  # truth: (5 log 2 - 3 log 3) / 2 = 0.085
        True
    """
    options = dict(k=k, bias_correction=bias_correction, standardize=standardize, ties=ties, backend=backend)
    return _measure(x, blocks, method, "o_information", seed=seed, **options)


def s_information(
    x: Any,
    blocks: Sequence[Sequence[int]] | None = None,
    *,
    method: Method = "ksg",
    k: int = 3,
    bias_correction: bool = True,
    standardize: bool = True,
    ties: Ties = "jitter",
    backend: Backend = "auto",
    seed: int = 0,
) -> Tensor:
    """S-information ``S = TC + DTC = sum_i I(X_i; X_-i)`` in nats (Rosas et al. 2019, eq. 6): the
    total amount of dependency, redundant and synergistic alike. Arguments as for
    :func:`total_correlation`.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(2000, 3, generator=g)
        >>> abs(float(s_information(x))) < 0.05  # independent variables
        True
    """
    options = dict(k=k, bias_correction=bias_correction, standardize=standardize, ties=ties, backend=backend)
    return _measure(x, blocks, method, "s_information", seed=seed, **options)
