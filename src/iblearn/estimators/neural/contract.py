"""What a neural estimator gives the :class:`~.trainer.Trainer` that trains it, and nothing more.

The trainer owns the optimizer, the weight average, early stopping, the generator of the negatives and
the loop; the estimator owns its network, its objective and what its inputs are. Between the two runs
:class:`TrainingTarget`, one way: the trainer calls its members, and the estimator never reaches into
the trainer's loop (it reads the trainer's public ``shuffles``, ``is_watching`` and ``watching()``).
:class:`~.base.NeuralEstimator` is one; a network trained some other way subclasses it to be trained by
the same :class:`~.trainer.Trainer`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, NamedTuple

from torch import Tensor, nn


class BatchLoss(NamedTuple):
    """A training step's loss on a batch and the bound it stands for.

    Attributes:
        loss: what the optimizer minimizes (for a bound, minus the bound on the batch; for MINE a
            surrogate whose gradient is the bias-corrected one).
        bound: the bound on the batch that the trainer judges for divergence against
            :meth:`TrainingTarget.plausible_limit`, detached; None where training maximizes no bound
            (then only ``loss`` is judged, for being finite).
    """

    loss: Tensor
    bound: Tensor | None


class TrainingTarget(nn.Module):
    """What the trainer needs of the module it trains: the module itself (the trainer switches it
    between training and evaluation, and keeps its best ``state_dict``), and these members. The
    settings of ``fit``'s loop (held-out share, patience, evaluation interval) are arguments of
    :meth:`~.trainer.Trainer.fit`, not members.

    Attributes:
        name: the estimator's name, in the trainer's messages.
        steps_done: a 0-d long tensor (a buffer, so it is saved): the training steps taken, which the
            trainer counts up.
        lr: the learning rate of the trainer's optimizer, read at every step.
    """

    name: ClassVar[str]
    steps_done: Tensor
    lr: float

    def checked_inputs(self, x: Any, y: Any) -> tuple[Any, Any]:
        """``x`` and ``y`` as the network takes them, checked (a ValueError naming a bad one)."""
        raise NotImplementedError

    def batch_loss(self, x: Any, y: Any) -> BatchLoss:
        """The loss of one training step on a batch of checked inputs, and its bound. It may move the
        estimator's own training state (MINE's moving average) and draw from the trainer's
        ``shuffles``."""
        raise NotImplementedError

    def plausible_limit(self, x: Any, y: Any) -> float:
        """What no bound on these inputs can exceed unless the network has diverged, in nats."""
        raise NotImplementedError

    def training_batches(self, x: Any, y: Any, batch_size: int, seed: int) -> Iterator[tuple[Any, Any]]:
        """The endless source of training batches ``fit`` draws from (rows, or a loader's batches)."""
        raise NotImplementedError

    def watched_bounds(self, *parts: tuple[Any, Any]) -> list[float]:
        """What ``fit`` keeps the best network by, on each of ``parts``: higher is better, in nats, read
        as an estimate reads it (inside the trainer's ``watching``)."""
        raise NotImplementedError
