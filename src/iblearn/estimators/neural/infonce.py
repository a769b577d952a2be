"""InfoNCE (van den Oord et al. 2018): every other sample of a batch is a negative."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn.estimators.base import MIEstimate, SettingCheck, passed_on
from iblearn.estimators.critics import Hidden
from iblearn.estimators.neural.bound import BoundEstimator
from iblearn.estimators.neural.negatives import all_pair_scores
from iblearn.estimators.neural.settings import HIDDEN, LR
from iblearn.functional.bounds import infonce_bound, infonce_bound_chunked


class InfoNCE(BoundEstimator):
    """InfoNCE (van den Oord et al. 2018): every other sample of a batch is a negative.

    The estimate on B samples can never exceed log B; ``est(...)`` reports that ceiling in
    ``MIEstimate.limit`` (B = ``eval_batch_size``, or N if smaller).

    The critic's scores pass through ``clip * tanh(score / clip)`` (``clip=5`` by default; None: as
    they are), in training and in the estimate. InfoNCE is a lower bound on the MI for every critic, so
    the bounded one's is still one; but its scores span at most ``2 * clip``, so the estimate is at
    most ``log B - log(1 + (B - 1) exp(-2 clip))``: 0.05 nats below log B at B = 1,024, and about
    ``2 * clip`` nats for very large B. The bound is what keeps heavy tails from breaking training: on
    Cauchy-like inputs (benchmark-mi's Student-t with one degree of freedom) a far-out pair's score
    grew without limit and the unbounded critic diverged within 100 steps, also at lr 1e-4 (clip 5:
    0.414 for 0.432 nats). The default critic is separable, so
    a batch's B x B scores cost one matrix product; ``chunk`` switches training and evaluation to the
    memory-linear form of :func:`iblearn.functional.bounds.infonce_bound_chunked` for large batches.
    Other settings as for :class:`~iblearn.estimators.neural.base.NeuralEstimator`.
    """

    capturable_step = True

    name = "infonce"
    labels_y = True

    setting_checks: ClassVar[Mapping[str, SettingCheck]] = {
        "chunk": V.optional(V.positive_int),
        "clip": V.optional(V.positive),
    }

    def __init__(
        self,
        x_dim: int | None = None,
        y_dim: int | None = None,
        *,
        critic: nn.Module | str = "separable",
        chunk: int | None = None,  # rows of the score matrix at a time; None: all
        # Bounded scores: on heavy tails (benchmark-mi's Student-t tasks, raw inputs) the unbounded
        # critic diverges, and clip 5 costs next to nothing elsewhere (the figures in docs/benchmarks.md).
        clip: float | None = 5.0,
        y_classes: int | None = None,
        n_negatives: int = 8,
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
        self.chunk = chunk  # each checked on assignment: setting_checks
        self.clip = clip
        super().__init__(**passed_on(locals(), BoundEstimator))

    def _matrix_bound(self, x: Tensor, y: Tensor) -> Tensor:
        """InfoNCE on one batch, all pairs (chunked when asked). Under ``torch.distributed``, this rank's
        rows against the columns of every rank (its own first, so the positives stay on the diagonal):
        the mean over its rows of the terms one process sums over all rows (:mod:`iblearn.distributed`)."""
        y = self._columns(x, y)
        ceiling = math.log(len(y)) - math.log(len(x))  # the columns' log over the rows', for the chunked form

        def rows(idx: Tensor) -> Tensor:
            return self._pairs(x[idx.to(x.device)], y)

        if self.chunk is not None and len(x) > self.chunk:
            bound = infonce_bound_chunked(rows, len(x), self.chunk)
            return bound + ceiling if ceiling else bound
        return infonce_bound(self._pairs(x, y))

    def _pairs(self, x: Tensor, y: Tensor) -> Tensor:
        scores = all_pair_scores(self.scorer, x, y)
        if self.clip is None:
            return scores
        return self.clip * torch.tanh(scores / self.clip)

    def objective(self, x: Tensor, y: Tensor) -> Tensor:
        return self._matrix_bound(x, y)

    def batch_mi(self, x: Any, y: Any) -> Tensor:
        xt, yt = self._inputs(x, y)
        return self._finite(self._weighed(self._matrix_bound(xt, yt), xt), "bound", (xt, yt))

    def mi(self, x: Any, y: Any) -> Tensor:
        return self._batch_mean(*self._inputs(x, y), self._matrix_bound)

    def _limited(self, result: MIEstimate) -> MIEstimate:
        return self._batch_limit(result)
