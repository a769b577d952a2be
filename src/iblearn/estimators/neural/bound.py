"""The base of the variational bounds: a critic, the objective it maximizes on a batch, and the bound
reported from its scores pooled over the data.

Three things are kept apart (the lesson of torch-mist): ``loss(x, y)``, the critic's training loss on a
batch (for MINE its gradient is the bias-corrected one, and its value is not an estimate);
``batch_mi(x, y)``, the bound on a batch, differentiable, for use as a training signal for a network; and
``est(x, y)``, the reported estimate on data, pooled over all of it, with the critic's weights averaged
over training. A bound family is a subclass of :class:`BoundEstimator` that defines
:meth:`~.base.NeuralEstimator.objective` (what the critic maximizes on a batch, its negatives drawn
from ``self.trainer.shuffles``) and :meth:`BoundEstimator._pooled` (the bound reported from all joint
and marginal scores); see :mod:`.nwj` for one in full. Training (the optimizer, the weight average,
``fit``'s loop) is the trainer's (:mod:`.trainer`), and a bound touches none of it. Under
``torch.distributed`` each rank passes its own rows and draws its negatives from every rank's
(:mod:`iblearn.distributed`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar

import torch
from torch import Tensor

from iblearn import distributed
from iblearn.estimators.base import Bound, MIEstimate
from iblearn.estimators.neural import fitting
from iblearn.estimators.neural.base import NeuralEstimator
from iblearn.estimators.neural.negatives import scores


class BoundEstimator(NeuralEstimator):
    """A variational bound on the MI: a critic trained on :meth:`objective`, reporting :meth:`_pooled`
    of its joint and marginal scores over the data.

    Its settings are :class:`~.base.NeuralEstimator`'s, ``y_classes`` and ``n_negatives`` among them
    (a bound that needs no others takes that signature as it is: NWJ, JS, FLO).
    """

    differentiable = True
    bound: ClassVar[Bound] = "lower"
    #: Whether the marginal term sums over the classes of integer labels y (:func:`.negatives.class_scores`):
    #: only for bounds that see the marginal scores through exp(T) alone, where weights are log offsets.
    class_sums: ClassVar[bool] = False

    def _scores(
        self, x: Tensor, y: Tensor, n_shuffles: int, gen: torch.Generator | None
    ) -> tuple[Tensor, Tensor]:
        """Joint scores (N,) and marginal scores (flat) of :attr:`scorer` (see :func:`.negatives.scores`)."""
        by_class = self.class_sums and self.y_classes is not None
        return scores(self.scorer, x, y, n_shuffles, gen, by_class=by_class)

    def _pooled(self, joint: Tensor, marginal: Tensor) -> Tensor:
        """The reported bound from joint and marginal scores pooled over the data."""
        raise NotImplementedError

    @staticmethod
    def _every_rank(marginal: Tensor) -> Tensor:
        """The marginal scores of every rank under ``torch.distributed`` (else these): a partition term
        ``log E_Q[exp T]`` is then the one over all rows, the same on every rank
        (:mod:`iblearn.distributed`)."""
        return distributed.gather(marginal, "marginal")

    @staticmethod
    def _columns(x: Tensor, y: Tensor) -> Tensor:
        """The y that x's rows are scored against by an all-pairs bound: y itself, or under
        ``torch.distributed`` every rank's y, this rank's first (its positives stay on the diagonal)."""
        if not distributed.is_distributed():
            return y
        return distributed.gather(y, "y").roll(-distributed.offset_and_total(len(x), x.device)[0], 0)

    def _batch_bound(self, loss: Tensor) -> Tensor | None:
        """The bound on the batch that a training loss stands for: minus the loss, where the critic is
        trained on the bound itself (MINE's loss is a gradient surrogate, and says otherwise)."""
        return -loss.detach()

    def watched_bounds(self, *parts: tuple[Tensor, Tensor]) -> list[float]:
        """The bound (nats) on each of ``parts`` as an estimate reports it (the averaged critic); under
        ``torch.distributed``, on every rank's rows of them, so every rank takes the same decisions."""
        with self.trainer.watching(self):
            everyone = [self._everyone(*part) for part in parts]
            with distributed.single_process():
                return [float(self.mi(*part)) for part in everyone]

    def batch_mi(self, x: Any, y: Any) -> Tensor:
        """The reported bound on one batch, differentiable w.r.t. the inputs (a training signal)."""
        xt, yt = self._inputs(x, y)
        bound = self._pooled(*self._scores(xt, yt, self.n_negatives, self.trainer.shuffles))
        return self._finite(self._weighed(bound, xt), "bound", (xt, yt))

    def mi(self, x: Any, y: Any) -> Tensor:
        """The bound on all the data, scores pooled across the evaluation batches
        (:func:`.fitting.eval_parts`). Shuffles use a fixed generator, so the estimate is reproducible.
        """
        xt, yt = self._inputs(x, y)
        gen = torch.Generator().manual_seed(0)
        parts = [self._scores(xt[idx], yt[idx], self.n_negatives, gen) for idx in self._eval_parts(xt)]
        joint, marginal = (torch.cat(part) for part in zip(*parts, strict=True))
        return self._finite(self._pooled(joint, marginal), "estimate", (xt, yt))

    def _eval_parts(self, x: Tensor) -> tuple[Tensor, ...]:
        return fitting.eval_parts(len(x), self.eval_batch_size, x.device)

    def _batch_mean(self, x: Tensor, y: Tensor, bound: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
        """``bound`` on each evaluation batch, weighted by its rows: for bounds that do not pool scores
        (InfoNCE's log-softmax is per batch)."""
        terms = [bound(x[idx], y[idx]) * len(idx) for idx in self._eval_parts(x)]
        return self._finite(torch.stack(terms).sum() / len(x), "estimate", (x, y))

    def _batch_limit(self, result: MIEstimate) -> MIEstimate:
        """``result`` with its ceiling: InfoNCE on a batch of B never exceeds log B."""
        largest = max(len(idx) for idx in self._eval_parts(torch.empty(result.n_samples)))
        return replace(result, report=replace(result.report, limit=math.log(largest) / math.log(self.base)))
