"""MIENF (Butakov et al. 2024): a normalizing flow per variable into a canonical Gaussian pair whose MI
is in closed form. The flows are zuko's (the ``flows`` extra)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from types import ModuleType
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn.estimators.base import SettingCheck, passed_on
from iblearn.estimators.critics import Hidden
from iblearn.estimators.neural import UnreliableEstimateWarning
from iblearn.estimators.neural.representation import RepresentationEstimator
from iblearn.estimators.standardize import Standardize
from iblearn.functional.canonical import (
    canonical_basis,
    canonical_gaussian_log_prob,
    canonical_gaussian_mi,
    canonical_gaussian_pmi,
)

#: |rho| of the base stays below this: at rho -> 1 the log-likelihood of a
#: deterministic pair grows without bound; 1 - 1e-6 caps one pair's MI at 6.9 nats.
RHO_MAX = 1 - 1e-6
#: rho = RHO_MAX tanh(RHO_GAIN raw): Adam moves each parameter by about lr a step, so the base's few
#: correlations learn RHO_GAIN times faster than the flows' weights. At the flows' rate they were still
#: at 0.32 of 0.8 when the flows began to overfit (2-pair Gaussian in 10 x 10 dims, 3,000 rows, lr 5e-4):
#: 0.56 nats for 1.02; with 20, 1.05 (MAF) and 1.02 (NSF), with 5, 1.05 and 0.92.
RHO_GAIN = 20.0
#: Rows whose rank ``fit`` checks: a variable on a subspace has no density (a layer's activations often
#: lie on one), and on a 4-dimensional Gaussian mapped into 100 an unchecked fit reads 149 nats for 2.
RANK_ROWS = 4096
#: Singular values below this share of the largest count as none: float32 rows that are exactly
#: dependent keep singular values near 1e-7 of the largest.
RANK_RTOL = 1e-5


def zuko() -> ModuleType:
    """The zuko package, or an ImportError that names the extra to install."""
    try:
        import zuko as module
    except ImportError as err:
        raise ImportError(
            "mienf: the normalizing flows come from zuko, which is not installed; "
            "pip install 'iblearn[flows]' (or pip install zuko)"
        ) from err
    return module


def flow_transform(features: int, kind: str, transforms: int, hidden: Hidden) -> nn.Module:
    """A lazy transform of ``features`` dimensions: ``transforms`` coupling layers (zuko's NSF, monotone
    rational-quadratic splines, or MAF, affine; two passes, i.e. coupling as in RealNVP) and then a
    learnable invertible linear map (LU), which lets the flow mix coordinates as the canonical base needs
    (the within-variable part of canonical correlation analysis). One dimension: element-wise layers."""
    z = zuko()
    cls = {"nsf": z.flows.NSF, "maf": z.flows.MAF}[kind]
    passes = 2 if features > 1 else None
    flow = cls(features, transforms=transforms, passes=passes, hidden_features=tuple(hidden))
    linear = z.flows.UnconditionalTransform(z.transforms.LULinearTransform, torch.eye(features))
    return z.lazy.LazyComposedTransform(*flow.transform.transforms, linear)  # type: ignore[no-any-return]


class FlowPair(nn.Module):
    """The flows ``xi = f_x(x)``, ``eta = f_y(y)`` (after standardizing each input) and the canonical base's
    correlations ``rho`` (``min(x_dim, y_dim)`` of them, learned). ``forward(x, y)`` returns the latents;
    :meth:`log_prob` the joint log-density of the rows under the model."""

    x_basis: Tensor
    y_basis: Tensor

    def __init__(self, x_dim: int, y_dim: int, kind: str, transforms: int, hidden: Hidden) -> None:
        super().__init__()
        self.x_scale, self.y_scale = Standardize(x_dim), Standardize(y_dim)
        self.register_buffer("x_basis", torch.eye(x_dim))
        self.register_buffer("y_basis", torch.eye(y_dim))
        self.x_flow = flow_transform(x_dim, kind, transforms, hidden)
        self.y_flow = flow_transform(y_dim, kind, transforms, hidden)
        self.raw_rho = nn.Parameter(torch.zeros(min(x_dim, y_dim)))

    @property
    def rho(self) -> Tensor:
        return RHO_MAX * torch.tanh(RHO_GAIN * self.raw_rho)

    @torch.no_grad()
    def calibrate(self, x: Tensor, y: Tensor) -> None:
        """Standardize each input from these rows, then rotate it to their canonical coordinates (a
        fixed invertible linear map: the MI is unchanged), and start ``rho`` at their canonical
        correlations: the flows start from the best Gaussian fit and need only learn what is not."""
        self.x_scale.calibrate(x)
        self.y_scale.calibrate(y)
        for name, t in (("x", self.x_scale(x)), ("y", self.y_scale(y))):
            rows = t[:RANK_ROWS].double()
            rank = int(torch.linalg.matrix_rank(rows - rows.mean(0), rtol=RANK_RTOL))
            if rank < t.shape[1]:
                warnings.warn(
                    f"mienf: {name}'s rows span {rank} of its {t.shape[1]} dimensions, so it has no density "
                    "and the flows' likelihood has no maximum (the estimate grows with training); reduce "
                    f"{name} to its {rank} principal components first (an injective map keeps the MI)",
                    UnreliableEstimateWarning,
                    stacklevel=4,
                )
        a, b, rho = canonical_basis(self.x_scale(x), self.y_scale(y))
        self.x_basis.copy_(a)
        self.y_basis.copy_(b)
        r = rho[: len(self.raw_rho)].clamp(max=RHO_MAX * math.tanh(3.0))
        self.raw_rho.copy_(torch.atanh(r / RHO_MAX) / RHO_GAIN)

    def _latents(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(xi, eta, log |det J|)`` of the standardized, rotated rows through both flows (the fixed
        maps' log-determinants are constants, left out)."""
        xi, ladj_x = self.x_flow().call_and_ladj(self.x_scale(x) @ self.x_basis.T)
        eta, ladj_y = self.y_flow().call_and_ladj(self.y_scale(y) @ self.y_basis.T)
        return xi, eta, ladj_x + ladj_y

    def forward(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        xi, eta, _ = self._latents(x, y)
        return xi, eta

    def log_prob(self, x: Tensor, y: Tensor) -> Tensor:
        """``log p(x, y)`` of each row up to a constant, ``(N,)``: the base's log-density of the latents
        plus the flows' log-determinants, without those of the fixed standardization and rotation (so
        not nats a row of x and y as given; the maximum and the MI do not depend on them)."""
        xi, eta, ladj = self._latents(x, y)
        return canonical_gaussian_log_prob(xi, eta, self.rho) + ladj


class MIENF(RepresentationEstimator):
    """MI through normalizing flows (Butakov et al. 2024, "Mutual information estimation via normalizing
    flows", NeurIPS, arXiv 2403.02187; the base of their "tridiag-N-MIENF"). Neither the paper's text
    nor its authors' estimator code was at hand to check against (their benchmark package ``mutinfo``
    builds the same canonical-pair Gaussian, ``CovViaTridiagonal``), so no section or equation is cited.
    This library's own choices: the CCA start, the parameterization of ``rho``, the input
    standardization, and the estimate as the mean pointwise MI of the rows given.

    MI is invariant under an invertible smooth map of each variable, so I(X; Y) = I(f_x(X); f_y(Y)).
    The flows f_x, f_y are trained together by maximum likelihood of the pairs under a canonical
    Gaussian base, ``xi, eta`` standard normal with only ``(xi_j, eta_j)`` correlated, at learned
    ``rho_j`` (:mod:`iblearn.functional.canonical`); where the latents are that Gaussian, the MI is
    ``-1/2 sum_j log(1 - rho_j^2)`` (:meth:`closed_form`). ``est(x, y)`` reports the mean over the given
    rows of the base's pointwise MI of their latents (:meth:`pointwise`), which is that closed form in
    expectation where the flows fit, and follows the data it is given (a permutation test or a
    resampled standard error sees the data, not only the trained ``rho``). Neither is a bound.

    ``fit`` maximizes the joint log-likelihood (up to a constant, what :attr:`history` holds) on
    held-out rows with early stopping; the first fit standardizes each input from its rows. The flows
    are zuko's: install the ``flows`` extra (``pip install 'iblearn[flows]'``).

    Args:
        x_dim, y_dim: input widths, both required.
        critic: ``"flows"`` (:class:`FlowPair` of ``x_dim``, ``y_dim``, ``flow``, ``transforms`` and
            ``hidden``), or a module with ``forward(x, y) -> (xi, eta)``, ``log_prob(x, y)``, ``rho`` and
            ``calibrate(x, y)``.
        hidden: widths of each coupling layer's conditioner.
        flow: ``"nsf"`` (spline couplings) or ``"maf"`` (affine couplings, as RealNVP).
        transforms: coupling layers per variable.
        lr, eval_batch_size, average, seed, base, validation, patience, eval_every: as for
            :class:`~iblearn.estimators.neural.base.NeuralEstimator`.

    Example:
        >>> from iblearn.data import dense_gaussian
        >>> x, y = dense_gaussian(3).sample(3000, seed=0)  # 3 x 3 dims, all correlated at 0.5
        >>> est = MIENF(3, 3, hidden=(32,), flow="maf", transforms=2, lr=3e-3)
        >>> est = est.fit(x[:2000].float(), y[:2000].float(), steps=300)
        >>> 0.3 < float(est(x[2000:].float(), y[2000:].float())) < 0.5  # truth 0.4133
        True
    """

    name = "mienf"
    continuous_y = "a flow models continuous y"
    both_widths = "a flow per variable needs its width"

    setting_checks: ClassVar[Mapping[str, SettingCheck]] = {
        "flow": V.one_of("nsf", "maf"),
        "transforms": V.positive_int,
    }

    def __init__(
        self,
        x_dim: int | None = None,
        y_dim: int | None = None,
        *,
        critic: nn.Module | str = "flows",
        hidden: Hidden = (128, 128),
        flow: str = "nsf",
        transforms: int = 3,
        lr: float = 5e-4,
        average: float | None = None,
        eval_batch_size: int = 1024,
        seed: int = 0,
        validation: float = 0.2,
        patience: int = 4,
        eval_every: int = 250,
        base: float = math.e,
    ) -> None:
        self.flow = flow  # each checked on assignment: setting_checks
        self.transforms = transforms
        super().__init__(**passed_on(locals(), RepresentationEstimator))

    def make_network(self, x_dim: int, y_dim: int, hidden: tuple[int, ...]) -> nn.Module:
        return FlowPair(x_dim, y_dim, self.flow, self.transforms, hidden)

    def objective(self, x: Tensor, y: Tensor) -> Tensor:
        return self.scorer.log_prob(x, y).mean()  # type: ignore[operator]

    def latents(self, x: Any, y: Any) -> tuple[Tensor, Tensor]:
        """The latents ``(xi, eta)`` of the rows, by the flows that report (the weight average's where
        ``average`` is set; no gradient)."""
        parts = self._reported_batches(x, y)
        xi, eta = (torch.cat(part) for part in zip(*parts, strict=True))
        return xi, eta

    def _estimate(self, x: Tensor, y: Tensor) -> Tensor:
        return self._pmi(x, y).mean()

    def _pmi(self, x: Tensor, y: Tensor) -> Tensor:
        rho = self.scorer.rho  # type: ignore[union-attr]

        def pmi(a: Tensor, b: Tensor) -> Tensor:
            xi, eta = self.scorer(a, b)
            return canonical_gaussian_pmi(xi, eta, rho)

        return torch.cat(self._in_batches(pmi, x, y))

    def pointwise(self, x: Any, y: Any) -> Tensor:
        """The base's pointwise MI of each row's latents, ``(N,)`` (in ``base``), whose mean is the
        estimate (:func:`~iblearn.functional.canonical_gaussian_pmi`)."""
        xt, yt = self._inputs(x, y)
        with self.reporting(), torch.no_grad():
            return self._pmi(xt, yt) / math.log(self.base)

    def closed_form(self) -> Tensor:
        """``-1/2 sum_j log(1 - rho_j^2)`` of the trained base (in ``base``; the weight average's where
        ``average`` is set, as the estimate): the MI where the flows made the latents exactly the canonical
        Gaussian (:func:`~iblearn.functional.canonical_gaussian_mi`)."""
        with self.reporting(), torch.no_grad():
            return canonical_gaussian_mi(self.scorer.rho) / math.log(self.base)  # type: ignore[union-attr]
