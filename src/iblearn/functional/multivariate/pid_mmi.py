"""Information among three variables: the interaction information (co-information) and the two-source
partial information decomposition with the minimum-MI redundancy; and the conditional entropy.

    II(X; Y; Z) = I(X; Y) - I(X; Y | Z)        > 0: redundancy dominates, < 0: synergy (= O-information)
    I(X1, X2; T) = redundancy + unique_1 + unique_2 + synergy,  redundancy = min(I(X1; T), I(X2; T))

Estimators as in :mod:`iblearn.functional.multivariate`. With ``method="ksg"`` every term comes from
one max-norm radius per sample in the joint (x1, x2, target) space and strict counts in its subspaces
(Frenzel & Pompe's construction, as :func:`~iblearn.functional.ksg_cmi` uses), so that the parts are
differences of terms whose biases cancel rather than of independent KSG estimates.

References:
    A. Barrett. Exploration of synergistic and redundant information sharing in static and dynamical
    Gaussian systems. Phys. Rev. E 91, 052802 (2015): for jointly Gaussian sources and a univariate
    target, the MMI redundancy is the redundancy of every PID that meets Williams & Beer's axioms and
    whose unique parts depend on the pairwise marginals only.
    P. Williams, R. Beer. Nonnegative decomposition of multivariate information. arXiv:1004.2515 (2010).
"""

from __future__ import annotations

import math
from typing import Any, Literal, Unpack

import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn._measures import MEASURE_TABLE
from iblearn.functional.discrete import class_codes
from iblearn.functional.knn.engine import (
    Backend,
    Ties,
    digamma_f64,
    kl_entropy,
    ksg_from_counts,
    mixed_ksg_mi,
    prepare_samples,
    psi,
)
from iblearn.functional.multivariate.core import (
    MeasureKeywords,
    MeasureOptions,
    PIDParts,
    column_labels,
    correlation,
    half_logdet,
    ksg_counts,
    tc_dtc,
)
from iblearn.functional.multivariate.inputs import check_not_constant, named_variables


def interaction_information(
    x: Any,
    y: Any,
    z: Any,
    **options: Unpack[MeasureKeywords],
) -> Tensor:
    """Interaction information (co-information) ``II = I(X; Y) - I(X; Y | Z)`` in nats, symmetric in
    the three variables: positive when they share redundant information, negative when two of them
    together tell more about the third than separately (synergy). It is the O-information of the three.

    Args:
        x, y, z: ``(N, d)`` or ``(N,)`` floating-point samples, the same N.
        **options: as for :func:`~iblearn.functional.total_correlation` (x, y, z jittered from ``seed``,
            ``seed + 1``, ``seed + 2``).

    Returns:
        0-d float64 tensor, nats.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x, y = torch.randn(3000, 1, generator=g), torch.randn(3000, 1, generator=g)
        >>> z = x + y + 0.3 * torch.randn(3000, 1, generator=g)
        >>> bool(interaction_information(x, y, z) < -0.5)  # synergy: x, y independent until z is known
        True
    """
    variables = named_variables(("x", x), ("y", y), ("z", z))
    tc, dtc = tc_dtc(variables, ["x", "y", "z"], MeasureOptions(**options), dual=True)
    return MEASURE_TABLE["interaction_information"].of(tc, dtc)


def mmi_pid(
    x1: Any,
    x2: Any,
    target: Any,
    **options: Unpack[MeasureKeywords],
) -> PIDParts:
    """Partial information decomposition of ``I(X1, X2; T)`` into the information the two sources give
    redundantly, each one alone, and only together (Williams & Beer 2010), with the minimum-MI
    redundancy of Barrett (2015):

        ``redundancy = min(I1, I2)``, ``unique_i = I_i - redundancy``,
        ``synergy = I(X1, X2; T) - I1 - I2 + redundancy``, with ``I_i = I(X_i; T)``.

    The parts sum to I(X1, X2; T) exactly (:attr:`PIDParts.total`); at most one unique part is
    nonzero. Estimates, so a part can be slightly negative.

    Args:
        x1, x2: ``(N, d)`` or ``(N,)`` floating-point samples of the two sources.
        target: ``(N, d)`` or ``(N,)`` floating-point samples of the target, or ``(N,)`` integer class
            labels (then each of I(X1; T), I(X2; T) and I(X1, X2; T) is a mixed KSG estimate, Ross 2014,
            and ``method`` must be ``"ksg"``).
        **options: as for :func:`~iblearn.functional.total_correlation` (x1, x2, target jittered from
            ``seed``, ``seed + 1``, ``seed + 2``).

    Returns:
        :class:`~iblearn.functional.PIDParts` ``(redundancy, unique_1, unique_2,
        synergy)``, each a 0-d float64 tensor in nats.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x1, x2 = torch.randn(5000, 1, generator=g), torch.randn(5000, 1, generator=g)
        >>> parts = mmi_pid(x1, x2, x1 + x2 + 0.5 * torch.randn(5000, 1, generator=g), method="gaussian")
        >>> [round(float(p), 2) for p in parts]  # truth: 0.29, 0, 0, 0.80
        [0.29, 0.0, 0.0, 0.79]
    """
    return pid_of(x1, x2, target, MeasureOptions(**options))


def pid_of(x1: Any, x2: Any, target: Any, opts: MeasureOptions) -> PIDParts:
    """:func:`mmi_pid` with its settings checked."""
    names = ["x1", "x2", "target"]
    labels = V.as_tensor(target, "target")
    if not labels.is_floating_point():  # class labels: each I(.; T) by the mixed KSG
        return _pid_of_labels(x1, x2, labels, opts)
    variables = named_variables(*zip(names, (x1, x2, target), strict=True))
    if opts.method == "ksg":
        named = list(zip(names, variables, strict=True))
        prepared, k = prepare_samples(
            named, opts.k, standardize=opts.standardize, ties=opts.ties, seed=opts.seed
        )
        (n1, n2, nt), (n2t, n1t, n12) = ksg_counts(prepared, k, opts.backend, rest=True)
        joint = ksg_from_counts(nt, n12, k, 1)
        # I(X_i; T) as h(X_i) + h(T) - h(X_i, T) with the joint space's radius: the log-radius terms
        # cancel, leaving the counts (Frenzel & Pompe's construction).
        n = len(nt)
        one = psi(n) + (digamma_f64(n1t + 1) - digamma_f64(n1 + 1) - digamma_f64(nt + 1)).mean()
        two = psi(n) + (digamma_f64(n2t + 1) - digamma_f64(n2 + 1) - digamma_f64(nt + 1)).mean()
    else:

        def mi(a: Tensor, b: Tensor, a_name: str, b_name: str) -> Tensor:
            return tc_dtc([a, b], [a_name, b_name], opts, dual=False)[0]

        one = mi(variables[0], variables[2], "x1", "target")
        two = mi(variables[1], variables[2], "x2", "target")
        joint = mi(torch.cat(variables[:2], dim=1), variables[2], "x1, x2", "target")
    redundancy = torch.minimum(one, two)
    return PIDParts(redundancy, one - redundancy, two - redundancy, joint - one - two + redundancy)


def _pid_of_labels(x1: Any, x2: Any, labels: Tensor, opts: MeasureOptions) -> PIDParts:
    """:func:`mmi_pid` of two continuous sources and a target of class labels, I(X1; T), I(X2; T) and
    I(X1, X2; T) each by :func:`~iblearn.functional.mixed_ksg_mi` (Ross 2014)."""
    if opts.method != "ksg":
        raise ValueError(
            "target: class labels take method='ksg' (the mixed KSG of Ross 2014), not "
            f"{opts.method!r}, whose closed forms need a continuous target"
        )
    codes = class_codes(labels, "target")
    if codes is None:
        raise ValueError("target: expected class labels (integers) or continuous samples")
    a, b = named_variables(("x1", x1), ("x2", x2))
    V.same_length(("x1", a), ("target", codes))

    def mi(x: Tensor) -> Tensor:
        return mixed_ksg_mi(x, codes, opts.k, **opts.keywords()).to(torch.float64)

    one, two, joint = mi(a), mi(b), mi(torch.cat([a, b], dim=1))
    redundancy = torch.minimum(one, two)
    return PIDParts(redundancy, one - redundancy, two - redundancy, joint - one - two + redundancy)


def conditional_entropy(
    x: Any,
    given: Any,
    *,
    method: Literal["kl", "gaussian"] = "kl",
    k: int = 3,
    bias_correction: bool = True,
    ties: Ties = "jitter",
    backend: Backend = "auto",
    seed: int = 0,
) -> Tensor:
    """Conditional differential entropy ``h(X | Z) = h(X, Z) - h(Z)`` in nats.

    ``method="kl"`` takes both entropies from :func:`~iblearn.functional.kl_entropy` (Kozachenko-
    Leonenko, max-norm; the joint's columns as given, neither standardized, since entropy depends on
    scale). Their biases come from neighbour radii in two spaces of different dimension and do not
    cancel as the terms of a KSG estimate do: expect an error of the order of 0.1 nats at a few
    thousand samples in a few dimensions, growing with the dimension. For a measure of dependence use
    the KSG functions, not differences of entropies. ``method="gaussian"``: the closed form of the
    Gaussian with the sample covariance, ``1/2 log det(2 pi e Sigma_{X|Z})``, each log-determinant
    corrected for its small-sample bias if ``bias_correction``.

    Args:
        x: ``(N, dx)`` or ``(N,)`` floating-point samples.
        given: ``(N, dz)`` or ``(N,)`` floating-point samples of the condition, the same N.
        method: ``"kl"`` or ``"gaussian"``.
        k: neighbours (``"kl"``), 1 <= k < N.
        bias_correction: Wishart bias correction (``"gaussian"``).
        ties, backend: as for :func:`~iblearn.functional.kl_entropy`.
        seed: seeds the jitter of tied distances (``"kl"``).

    Returns:
        0-d float64 tensor, nats.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> z = torch.randn(4000, 1, generator=g, dtype=torch.float64)
        >>> x = z + 0.5 * torch.randn(4000, 1, generator=g, dtype=torch.float64)
        >>> truth = 0.5 * math.log(2 * math.pi * math.e * 0.25)  # h(X | Z) = h(noise) = 0.726
        >>> abs(float(conditional_entropy(x, z, method="gaussian")) - truth) < 0.03
        True
        >>> abs(float(conditional_entropy(x, z)) - truth) < 0.1
        True
    """
    V.choice(method, "method", ("kl", "gaussian"))
    xt, zt = named_variables(("x", x), ("given", given))
    check_not_constant([xt, zt], ["x", "given"])
    if method == "gaussian":
        t = torch.cat([xt, zt], dim=1).detach().to(torch.float64)
        n, d = t.shape
        if n <= d + 1:
            raise ValueError(f"x: {d} columns of x and given need more than {d + 1} samples, got N={n}")
        # The correlation matrix, with x's scales put back (log det Sigma = log det R + 2 sum log sd):
        # a covariance of the raw columns overflows or underflows far inside float64's range.
        corr, log_sd = correlation(t, column_labels([xt, zt], ["x", "given"]))
        dz = zt.shape[1]
        correct = V.flag(bias_correction, "bias_correction")
        return (
            0.5 * (d - dz) * math.log(2 * math.pi * math.e)
            + log_sd[:-dz].sum()
            + (half_logdet(corr, n, correct) - half_logdet(corr[-dz:, -dz:], n, correct))
        )
    options: dict[str, Any] = dict(k=k, ties=ties, backend=backend, seed=seed)

    def entropy(t: Tensor, name: str) -> Tensor:
        try:
            return kl_entropy(t, **options)
        except ValueError as err:  # kl_entropy names its argument x
            raise ValueError(f"{name}: {str(err).removeprefix('x: ')}") from err

    return entropy(torch.cat([xt, zt], dim=1), "x, given") - entropy(zt, "given")
