"""InfoNCE (van den Oord et al. 2018): every other sample of a batch is a negative."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from iblearn import _checks as V
from iblearn.estimators.base import MIEstimate
from iblearn.estimators.neural import distributed
from iblearn.estimators.neural.base import NeuralEstimator
from iblearn.estimators.neural.negatives import all_pair_scores
from iblearn.estimators.neural.settings import NeuralSettings, Setting
from iblearn.functional.bounds import infonce_bound, infonce_bound_chunked


@dataclass(frozen=True, kw_only=True)
class InfoNCESettings(NeuralSettings):
    """:class:`NeuralSettings` and InfoNCE's ``chunk`` (rows of the score matrix at a time; None: all)."""

    critic: nn.Module | str = "separable"
    chunk: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.chunk is not None:
            self._set("chunk", V.positive_int(self.chunk, "chunk"))


class InfoNCE(NeuralEstimator):
    """InfoNCE (van den Oord et al. 2018): every other sample of a batch is a negative.

    The estimate on B samples can never exceed log B; ``est(...)`` reports that ceiling in
    ``MIEstimate.limit`` (B = ``eval_batch_size``, or N if smaller). The default critic is separable, so
    a batch's B x B scores cost one matrix product; ``chunk`` switches training and evaluation to the
    memory-linear form of :func:`iblearn.functional.bounds.infonce_bound_chunked` for large batches.
    Other settings as for :class:`~iblearn.estimators.neural.base.NeuralEstimator`.
    """

    name = "infonce"
    config: InfoNCESettings
    chunk = Setting[int | None]()

    Settings = InfoNCESettings

    def _matrix_bound(self, x: Tensor, y: Tensor) -> Tensor:
        """InfoNCE on one batch, all pairs (chunked when asked). Under ``torch.distributed``, this rank's
        rows against the columns of every rank (its own first, so the positives stay on the diagonal):
        the mean over its rows of the terms one process sums over all rows (:mod:`.distributed`)."""
        ceiling = 0.0  # log of the columns over log of the rows, which the chunked form adds
        if distributed.active():
            rank, _ = distributed.world()
            y = distributed.gather(y, "y").roll(-rank * len(x), 0)
            ceiling = math.log(len(y)) - math.log(len(x))

        def rows(idx: Tensor) -> Tensor:
            return self._pairs(x[idx.to(x.device)], y)

        if self.chunk is not None and len(x) > self.chunk:
            bound = infonce_bound_chunked(rows, len(x), self.chunk)
            return bound + ceiling if ceiling else bound
        return infonce_bound(self._pairs(x, y))

    def _pairs(self, x: Tensor, y: Tensor) -> Tensor:
        return all_pair_scores(self.scorer, x, y)

    def objective(self, x: Tensor, y: Tensor) -> Tensor:
        return self._matrix_bound(x, y)

    def batch_mi(self, x: Any, y: Any) -> Tensor:
        xt, yt = self._inputs(x, y)
        return self._finite(self._matrix_bound(xt, yt), "bound", (xt, yt))

    def mi(self, x: Any, y: Any) -> Tensor:
        return self._batch_mean(*self._inputs(x, y), self._matrix_bound)

    def forward(self, x: Any, y: Any, **request: Any) -> MIEstimate:
        return self._batch_limit(super().forward(x, y, **request))
