"""SMILE (Song & Ermon 2020): a critic trained on the Jensen-Shannon objective, MI reported as the DV
bound with the partition term's density ratios clipped."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

from torch import Tensor, nn

from iblearn import _checks as V
from iblearn.estimators.base import Bound, SettingCheck, passed_on
from iblearn.estimators.critics import Hidden
from iblearn.estimators.neural.bound import BoundEstimator
from iblearn.estimators.neural.settings import HIDDEN, LR
from iblearn.functional.bounds import js_bound, smile_bound


class SMILE(BoundEstimator):
    """SMILE (Song & Ermon 2020, "Understanding the limitations of variational mutual information
    estimators", ICLR; as the authors' code computes it, :func:`~iblearn.functional.smile_bound`):
    ``E_P[T] - log E_Q[clip(exp T, e^-tau, e^tau)]``.

    The critic is trained on the Jensen-Shannon objective (:func:`~iblearn.functional.js_bound`), whose
    optimum is the log density ratio, as the paper's reference code trains it (the JS value with the DV
    gap added as a constant); the estimate is :func:`~iblearn.functional.smile_bound` of that critic,
    pooled over the data. Clipping the partition term bounds its variance, which for plain DV grows
    exponentially with the MI (their central result).

    How it differs from :class:`MINE`'s ``clip``: MINE clips the scores of both terms (the DV bound of
    the critic ``clip(T)``, still a lower bound, never above ``2 * clip``) and trains on DV; SMILE clips
    only the partition term (the joint term keeps ``T``), so it is not a bound for a finite tau (the
    clipping moves the estimate either way): ``bound`` is None, not ``"lower"``. It is DV as tau goes
    to infinity.

    Args:
        clip: tau, the density ratios of the partition term are clipped to ``[e^-tau, e^tau]``.
        x_dim, y_dim, critic, hidden, y_classes, lr, n_negatives, eval_batch_size, average, seed: as for
            :class:`~iblearn.estimators.neural.base.NeuralEstimator`, and so are ``base``, ``validation``,
            ``patience`` and ``eval_every``.

    Example:
        >>> from iblearn.data import bivariate_normal
        >>> x, y = bivariate_normal().sample(4000, seed=0)
        >>> est = SMILE(1, 1, hidden=(64,), lr=3e-3, clip=1.0).fit(x.float(), y.float(), steps=300)
        >>> 0.2 < float(est(x.float(), y.float())) < 0.6  # truth 0.4133; clipped at tau = 1, it is no bound
        True
    """

    capturable_step = True

    name = "smile"
    labels_y = True
    bound: ClassVar[Bound] = None
    class_sums = False  # js_bound takes softplus of the marginal scores: a log weight is no weight there

    setting_checks: ClassVar[Mapping[str, SettingCheck]] = {"clip": V.positive}

    def __init__(
        self,
        x_dim: int | None = None,
        y_dim: int | None = None,
        *,
        # Song & Ermon (2020) report tau = 1 and 5; 5 is the one their later comparisons (and
        # benchmark-mi, Czyz et al. 2023) use.
        clip: float = 5.0,
        y_classes: int | None = None,
        n_negatives: int = 8,
        critic: nn.Module | str = "concat",
        hidden: Hidden = HIDDEN,
        lr: float = LR,
        eval_batch_size: int = 1024,
        average: float | None = 0.01,
        seed: int = 0,
        validation: float = 0.2,
        patience: int = 4,
        eval_every: int = 250,
        base: float = math.e,
    ) -> None:
        self.clip = clip  # checked on assignment: setting_checks
        super().__init__(**passed_on(locals(), BoundEstimator))

    def objective(self, x: Tensor, y: Tensor) -> Tensor:
        return js_bound(*self._scores(x, y, 1, self.trainer.shuffles))

    def _pooled(self, joint: Tensor, marginal: Tensor) -> Tensor:
        return smile_bound(joint, marginal, self.clip)
