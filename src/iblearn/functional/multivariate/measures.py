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

from collections.abc import Sequence
from typing import Any, Unpack

from torch import Tensor

from iblearn.functional.multivariate.core import MeasureKeywords, MeasureOptions, measure


def total_correlation(
    x: Any,
    blocks: Sequence[Sequence[int]] | None = None,
    **options: Unpack[MeasureKeywords],
) -> Tensor:
    """Total correlation (multi-information) ``TC = sum_i h(X_i) - h(X)`` in nats: the KL divergence
    of the joint from the product of its marginals, 0 exactly when the variables are independent.

    Args:
        x: ``(N, d)`` floating-point samples.
        blocks: column indices of each variable (``[[0, 1], [2], [3, 4]]``); None: each column alone.
        **options: ``method`` (``"ksg"``, ``"gaussian"`` or ``"copula"``: see the module's notes), ``k``,
            ``bias_correction`` and the kNN settings
            (:class:`~iblearn.functional.multivariate.core.MeasureKeywords`).

    Returns:
        0-d float64 tensor, nats. Not clipped at 0.

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> z = torch.randn(2000, 1, generator=g)
        >>> x = z + torch.randn(2000, 3, generator=g)  # three noisy copies of z
        >>> round(float(total_correlation(x, method="gaussian")), 2)  # truth: log(2) / 2 = 0.347
        0.35
        >>> abs(float(total_correlation(x)) - 0.347) < 0.05  # KSG
        True
    """
    return measure(x, blocks, "total_correlation", MeasureOptions(**options))


def dual_total_correlation(
    x: Any,
    blocks: Sequence[Sequence[int]] | None = None,
    **options: Unpack[MeasureKeywords],
) -> Tensor:
    """Dual total correlation ``DTC = h(X) - sum_i h(X_i | X_-i) = sum_i I(X_i; X_-i) - TC`` in nats:
    the information shared by at least two of the variables. Arguments as for :func:`total_correlation`.

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(5000, 2, generator=g)
        >>> x = torch.cat([x, x.sum(1, keepdim=True) + 0.5 * torch.randn(5000, 1, generator=g)], 1)
        >>> bool(dual_total_correlation(x) > total_correlation(x))  # y = x1 + x2: synergy
        True
    """
    return measure(x, blocks, "dual_total_correlation", MeasureOptions(**options))


def o_information(
    x: Any,
    blocks: Sequence[Sequence[int]] | None = None,
    **options: Unpack[MeasureKeywords],
) -> Tensor:
    """O-information ``O = TC - DTC`` in nats (Rosas et al. 2019, eq. 5): positive when redundancy
    dominates the dependencies among the variables, negative when synergy does; 0 for two variables.
    For three it equals the interaction information. Arguments as for :func:`total_correlation`.

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> z = torch.randn(3000, 1, generator=g)
        >>> o = o_information(z + torch.randn(3000, 3, generator=g))  # three noisy copies of one source
        >>> bool(0.05 < o < 0.15)  # truth: (5 log 2 - 3 log 3) / 2 = 0.085
        True
    """
    return measure(x, blocks, "o_information", MeasureOptions(**options))


def s_information(
    x: Any,
    blocks: Sequence[Sequence[int]] | None = None,
    **options: Unpack[MeasureKeywords],
) -> Tensor:
    """S-information ``S = TC + DTC = sum_i I(X_i; X_-i)`` in nats (Rosas et al. 2019, eq. 6): the
    total amount of dependency, redundant and synergistic alike. Arguments as for
    :func:`total_correlation`.

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(2000, 3, generator=g)
        >>> abs(float(s_information(x))) < 0.05  # independent variables
        True
    """
    return measure(x, blocks, "s_information", MeasureOptions(**options))
