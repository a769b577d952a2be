"""The NWJ bound (Nguyen, Wainwright & Jordan 2010): a whole bound family in one small file."""

from __future__ import annotations

from torch import Tensor

from iblearn.estimators.neural.bound import BoundEstimator
from iblearn.functional.bounds import nwj_bound


class NWJ(BoundEstimator):
    """The NWJ bound ``E_P[T] - E_Q[exp(T - 1)]`` (Nguyen et al. 2010), trained and reported.

    Unbiased in the batch size but high-variance when the MI is large (Poole et al. 2019). Settings as
    for :class:`~iblearn.estimators.neural.base.NeuralEstimator` (and :class:`MINE`, less ``objective``
    and ``rate``).
    """

    capturable_step = True

    name = "nwj"
    labels_y = True
    class_sums = True

    def objective(self, x: Tensor, y: Tensor) -> Tensor:
        return nwj_bound(*self._scores(x, y, 1, self.trainer.shuffles))

    def _pooled(self, joint: Tensor, marginal: Tensor) -> Tensor:
        return nwj_bound(joint, marginal)
