"""What every measure among many variables is made of: the entropies' sums of total correlation and
dual total correlation by each estimator (KSG's counts in the joint radius; the Gaussian's and the
copula's log-determinants, bias-corrected), and the one path of a measure named in the measure table.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from iblearn import _checks as V
from iblearn._measures import MEASURE_TABLE as MEASURE_TABLE
from iblearn._measures import MeasureSpec as MeasureSpec
from iblearn.functional.gaussian import wishart_digammas
from iblearn.functional.knn.engine import (
    Backend,
    KNNKeywords,
    KNNOptions,
    count_within,
    digamma_f64,
    knn_max_tree_dim,
    ksg_from_counts,
    kth_neighbour,
    pick_backend,
    prepare_samples,
    psi,
    ranked_columns,
)
from iblearn.functional.multivariate.inputs import check_not_constant, copula_normal, split_variables
from iblearn.functional.scale import power_of_two_scale

Method = Literal["ksg", "gaussian", "copula"]
METHODS: tuple[Method, ...] = ("ksg", "gaussian", "copula")


class MeasureKeywords(KNNKeywords, total=False):
    """The keywords of a measure among many variables, as its ``**options`` take them: the kNN settings
    (:class:`~iblearn.functional.knn.options.KNNKeywords`; variable i is jittered from ``seed + i``) and

    Keys:
        method: ``"ksg"``, ``"gaussian"`` or ``"copula"`` (see :mod:`iblearn.functional.multivariate`).
        k: neighbours in the joint space (``"ksg"``), 1 <= k < N.
        bias_correction: Wishart bias correction of the log-determinants (``"gaussian"``, ``"copula"``).
    """

    method: Method
    k: int
    bias_correction: bool


@dataclass(frozen=True)
class MeasureOptions(KNNOptions):
    """The settings of a measure among many variables, checked: :class:`MeasureKeywords` with defaults."""

    method: Method = "ksg"
    k: int = 3
    bias_correction: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        V.choice(self.method, "method", METHODS)
        object.__setattr__(self, "bias_correction", V.flag(self.bias_correction, "bias_correction"))


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

    def __repr__(self) -> str:
        # Plain numbers: four tensor reprs with their dtypes bury the values. Local parts (one value
        # a sample) show their means and shape; a part that rounds to zero prints as 0, not -0 (a
        # solver's -1e-12 is not a negative part).
        local = self.redundancy.dim() > 0
        values = (float(p.double().mean()) if local else float(p) for p in self)
        body = ", ".join(
            f"{name}={round(v, 4) + 0.0:.4f}" for name, v in zip(self._fields, values, strict=True)
        )
        where = f"means of {tuple(self.redundancy.shape)} local values, " if local else ""
        return f"PIDParts({body}, {where}nats)"


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


def _gaussian_blocks(
    variables: list[Tensor], names: list[str], copula: bool
) -> tuple[Tensor, int, list[list[int]], list[list[int]]]:
    """The correlation matrix of the variables side by side (of their normal scores if ``copula``), N,
    and each variable's columns and the rest's."""
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
    rest = [[c for j, block in enumerate(cols) if j != i for c in block] for i in range(len(cols))]
    return cov, n, cols, rest


def _gaussian_tc_dtc(
    variables: list[Tensor], names: list[str], copula: bool, bias_correction: bool
) -> tuple[Tensor, Tensor]:
    cov, n, cols, rest = _gaussian_blocks(variables, names, copula)

    def h(keep: list[int]) -> Tensor:
        return half_logdet(cov[keep][:, keep], n, bias_correction)

    return combine(
        torch.stack([h(c) for c in cols]), torch.stack([h(r) for r in rest]), h(list(range(cov.shape[0])))
    )


def gaussian_delta_stderr(variables: list[Tensor], names: list[str], spec: MeasureSpec) -> float:
    """The first-order standard error of the Gaussian estimate of ``spec``'s measure, ``tc TC + dtc
    DTC``, among ``variables`` as the closed form reads them (the rows, or the copula's normal scores),
    by the delta method.

    Each entropy is ``1/2 log det S_A`` of a block A of the covariance S (up to constants that cancel),
    so the measure is ``sum_A w_A 1/2 log det S_A``: TC weighs each variable's block +1 and the whole
    -1, DTC each block of all but one variable +1 and the whole -(m - 1). Its gradient in S is
    ``G = sum_A w_A S_A^-1 / 2``, each inverse set in its block. The sample covariance of N Gaussian
    rows has ``Cov(S_ij, S_kl) = (S_ik S_jl + S_il S_jk) / N`` to first order (Anderson 2003, *An
    Introduction to Multivariate Statistical Analysis*, ch. 3), so the estimate's variance is
    ``2 tr((G S)^2) / N``. For two single columns of correlation r, the MI's r^2 / N. The value does
    not change with the columns' scales, so the correlation matrix stands for S; normal scores estimate
    a Gaussian copula's correlations as efficiently as Gaussian rows do (Klaassen & Wellner 1997, "Efficient
    estimation in the bivariate normal copula model", Bernoulli 3), so the copula's estimate has the same
    first-order error."""
    cov, n, cols, rest = _gaussian_blocks(variables, names, False)
    whole = list(range(cov.shape[0]))
    blocks = [(c, spec.tc) for c in cols] + [(r, spec.dtc) for r in rest]
    blocks.append((whole, -spec.tc - spec.dtc * (len(cols) - 1)))
    gradient = torch.zeros_like(cov)
    for keep, weight in blocks:
        if weight:
            index = torch.tensor(keep)
            gradient[index[:, None], index] += weight * torch.linalg.inv(cov[index][:, index]) / 2
    product = gradient @ cov
    return math.sqrt(max(2 * float(torch.trace(product @ product)) / n, 0.0))


def ksg_counts(
    prepared: list[Tensor],
    k: int,
    backend: Backend,
    rest: bool,
    orders: list[NDArray[np.int64]] | None = None,
) -> tuple[list[Tensor], list[Tensor]]:
    """Per-sample strict counts within the joint k-th neighbour's max-norm radius: in each variable's
    space, and (if ``rest``) in the space of all the other variables. ``orders``: each single-column
    variable's ascending order, where known (its counts' layout then takes it without a sort)."""
    dim = sum(v.shape[1] for v in prepared)
    how = pick_backend(backend, prepared[0].device, dim, knn_max_tree_dim("chebyshev"))
    eps, _ = kth_neighbour(prepared, k, "chebyshev", how)

    def count(parts: list[Tensor], order: NDArray[np.int64] | None = None) -> Tensor:
        return count_within(torch.cat(parts, dim=1), eps, "chebyshev", how, inclusive=False, order=order)

    known: list[NDArray[np.int64] | None] = [None] * len(prepared) if orders is None else list(orders)
    marginal = [count([v], order) for v, order in zip(prepared, known, strict=True)]
    if not rest:
        return marginal, []
    if len(prepared) == 2:  # the rest of one variable is the other: its counts are already there
        return marginal, marginal[::-1]
    return marginal, [count(prepared[:i] + prepared[i + 1 :]) for i in range(len(prepared))]


def ksg_tc_dtc(
    prepared: list[Tensor],
    k: int,
    backend: Backend,
    dual: bool,
    orders: list[NDArray[np.int64]] | None = None,
) -> tuple[Tensor, Tensor]:
    """KSG's ``(TC, DTC)`` of prepared variables; see the module's notes. Without ``dual`` the counts
    in the spaces of X_-i are skipped and DTC is NaN (callers that read only TC); ``orders`` as for
    :func:`ksg_counts`."""
    m, n = len(prepared), prepared[0].shape[0]
    marginal, rest = ksg_counts(prepared, k, backend, dual, orders)
    tc = psi(k) + (m - 1) * psi(n) - digamma_f64(torch.stack(marginal) + 1).sum(0).mean()
    if not dual:
        return tc, torch.full_like(tc, float("nan"))
    s = torch.stack([ksg_from_counts(a, b, k, 1) for a, b in zip(marginal, rest, strict=True)]).sum()
    return tc, s - tc


def ksg_tc_dtc_ranked(
    columns: list[Tensor], keys: list[NDArray[np.int64]], size: int, opts: MeasureOptions, dual: bool
) -> tuple[Tensor, Tensor] | None:
    """``tc_dtc`` by KSG of single CPU columns whose orders are known, the same values to the last bit
    without sorting them: ``keys`` as for :func:`~iblearn.functional.knn.ksg.ranked_column`, one a
    column (their ranks among ``size`` rows). None where the shortcut does not hold (settings other
    than the defaults, :func:`~iblearn.functional.knn.ksg.ranked_column` declines, ``k`` out of range):
    the caller then calls :func:`tc_dtc`, which gives those values or the error."""
    n = len(columns[0])
    if opts.method != "ksg" or not opts.default_settings() or not 1 <= opts.k < n:
        return None
    found = ranked_columns(columns, keys, size, opts.seed)
    if found is None:
        return None
    prepared, orders = found
    return ksg_tc_dtc([torch.from_numpy(a) for a in prepared], opts.k, opts.backend, dual, orders)


def tc_dtc(
    variables: list[Tensor], names: list[str], opts: MeasureOptions, *, dual: bool
) -> tuple[Tensor, Tensor]:
    """``(TC, DTC)`` of checked variables by ``opts.method`` (for KSG, DTC is NaN unless ``dual``)."""
    if opts.method == "ksg":
        named = list(zip(names, variables, strict=True))
        prepared, k = prepare_samples(
            named, opts.k, standardize=opts.standardize, ties=opts.ties, seed=opts.seed
        )
        return ksg_tc_dtc(prepared, k, opts.backend, dual)
    check_not_constant(variables, names)
    return _gaussian_tc_dtc(variables, names, opts.method == "copula", opts.bias_correction)


def measure(x: Any, blocks: Any, name: str, opts: MeasureOptions) -> Tensor:
    """The measure ``name`` of :data:`MEASURE_TABLE` among the variables of ``x``."""
    spec = MEASURE_TABLE[name]
    variables = split_variables(x, blocks)
    names = [f"x (variable {i})" for i in range(len(variables))]
    return spec.of(*tc_dtc(variables, names, opts, dual=spec.dtc != 0))
