"""FLO (Guo et al. 2022): the Fenchel-Legendre dual of the contrastive bound, with a u-network."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from iblearn.estimators.critics import DEFAULT_HIDDEN, ConcatCritic, seeded
from iblearn.estimators.neural.bound import BoundEstimator
from iblearn.estimators.neural.negatives import scores
from iblearn.functional.bounds import flo_bound


class FLOCritic(nn.Module):
    """The critic g (what scores pairs; ``forward`` is g's) and the u-network, one module: one Adam
    trains both, one weight average and one state dict hold both."""

    def __init__(self, g: nn.Module, u: nn.Module) -> None:
        super().__init__()
        self.g, self.u = g, u

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.g(x, y)  # type: ignore[no-any-return]


class FLO(BoundEstimator):
    """FLO (Guo et al. 2022, "Tight mutual information estimation with contrastive Fenchel-Legendre
    optimization", NeurIPS; eq. (11) of their preprint): ``1 + E[-u(x, y) - E_p(y')[exp(-u(x, y) +
    g(x, y') - g(x, y))]]``.

    A lower bound on I for every critic g and u-network u (:func:`~iblearn.functional.flo_bound`), tight
    at g the log density ratio and u minus it. Both are trained together on the bound itself, as the
    paper does; unlike InfoNCE it has no log B ceiling, and unlike DV its estimate from sampled
    negatives is unbiased (the inner mean enters linearly). u is a concat MLP of ``hidden`` (seeded
    from ``seed + 1``), whatever g is; with a ``critic`` module, g is that module.

    Negatives: a separable g scores every other row of the batch; else ``n_negatives`` re-pairings per
    row for an estimate and one for a training step. Settings as for
    :class:`~iblearn.estimators.neural.base.NeuralEstimator`.

    Example:
        >>> from iblearn.data import bivariate_normal
        >>> x, y = bivariate_normal().sample(4000, seed=0)
        >>> est = FLO(1, 1, hidden=(64,), lr=3e-3).fit(x.float(), y.float(), steps=300)
        >>> type(est.critic.u).__name__  # the u-network, trained with g on the bound
        'ConcatCritic'
        >>> 0.2 < float(est(x.float(), y.float())) < 0.5  # truth 0.4133
        True
    """

    capturable_step = True

    name = "flo"
    labels_y = True
    class_sums = False  # the negatives of a row enter per row, not as one pooled partition term

    def build_critic(self) -> nn.Module:
        """g (as named, or the module given) with a concat u-network beside it."""
        g = super().build_critic()
        hidden = self.hidden if isinstance(self.hidden, tuple) else DEFAULT_HIDDEN
        # Another seed than g's: a u-network drawn like a concat g would start as its copy.
        u = seeded(lambda: ConcatCritic(self.x_dim, self.y_dim, hidden), self.seed + 1)
        return FLOCritic(g, u)

    def _flo(self, x: Tensor, y: Tensor, n_shuffles: int, gen: torch.Generator | None) -> Tensor:
        """The bound on a batch: g's joint scores, its negatives as an (N, K) matrix, u on the joint pairs."""
        pair = self.scorer
        g: nn.Module = pair.g  # type: ignore[assignment]
        joint, marginal = scores(g, x, y, n_shuffles, gen, by_class=False)
        n = len(joint)
        if getattr(g, "separable", False):  # every off-diagonal pair, row by row
            negatives = marginal.reshape(n, -1)
        else:  # one block of N per re-pairing, row i pairing x_i
            negatives = marginal.reshape(-1, n).T
        return flo_bound(joint, negatives, pair.u(x, y))  # type: ignore[operator]

    def objective(self, x: Tensor, y: Tensor) -> Tensor:
        return self._flo(x, y, 1, self.trainer.shuffles)

    def batch_mi(self, x: Any, y: Any) -> Tensor:
        xt, yt = self._inputs(x, y)
        return self._finite(self._flo(xt, yt, self.n_negatives, self.trainer.shuffles), "bound", (xt, yt))

    def mi(self, x: Any, y: Any) -> Tensor:
        gen = torch.Generator().manual_seed(0)  # reproducible negatives
        return self._batch_mean(*self._inputs(x, y), lambda a, b: self._flo(a, b, self.n_negatives, gen))
