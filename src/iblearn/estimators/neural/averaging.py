"""Weight averaging of a critic: what a neural estimator reports with.

The averaged critic is a second module (``est.averaged``, saved in the state dict beside the live
``est.critic``); :class:`WeightAverage` updates it after each training step, and the estimator scores
with it when it reports an estimate (``NeuralEstimator.scorer``). Neither module is ever put in the
other's place.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn


def frozen(module: nn.Module) -> nn.Module:
    """``module`` with its parameters out of autograd (a lazy one's once it is materialized)."""
    for p in module.parameters():
        if not isinstance(p, nn.parameter.UninitializedParameter):
            p.requires_grad_(False)
    return module


def averaged_copy(critic: nn.Module) -> nn.Module:
    """A frozen copy of ``critic`` to hold its average."""
    return frozen(copy.deepcopy(critic))


class WeightAverage:
    """Polyak-Ruppert averaging (Polyak & Juditsky 1992), exponentially weighted: after each step,
    ``averaged <- averaged + rate * (live - averaged)``, starting from the first step's weights.

    The last iterate of a stochastic-gradient critic jitters around its optimum, and every jitter
    lowers a variational bound; the average sits closer to the optimum. On the neural benchmark's
    tasks (2,000 steps, the critic of the benchmark, 6 seeds) a rate of 0.01 lowered InfoNCE's RMSE
    from 0.0073 to 0.0051 nats on the bivariate normal and from 0.0258 to 0.0215 on the 2-pair 5x5
    Gaussian, MINE's from 0.286 to 0.248 at 4 nats in 100 dimensions (4 seeds); 0.001 averages over
    too much of the trajectory and was worse than the last iterate.

    Args:
        live: the critic being trained.
        averaged: its frozen copy (:func:`averaged_copy`), which receives the average.
        rate: the averaging rate, in (0, 1]; 1 keeps the last iterate.
    """

    def __init__(self, live: nn.Module, averaged: nn.Module, rate: float) -> None:
        self.live, self.averaged, self.rate = live, averaged, rate
        self._tensors: tuple[list[Tensor], list[Tensor], list[tuple[Tensor, Tensor]]] | None = None

    def forget(self) -> None:
        """Drop the tensors held: ``.to()`` and its kin, and loading a state dict, put new ones in place."""
        self._tensors = None

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Fold the live weights in after training step ``step`` (1 for the first)."""
        if step == 1:  # also materializes a lazy critic's copy
            self.averaged.load_state_dict(self.live.state_dict())
            frozen(self.averaged)
            return
        if self._tensors is None:  # the tensors as they stand now, as the optimizer holds them
            self._tensors = (
                list(self.averaged.parameters()),
                list(self.live.parameters()),
                list(zip(self.averaged.buffers(), self.live.buffers(), strict=True)),
            )
        averaged, live, buffers = self._tensors
        torch._foreach_lerp_(averaged, live, self.rate)
        for avg, current in buffers:
            avg.copy_(current)  # buffers (BatchNorm statistics) are copied, not averaged
