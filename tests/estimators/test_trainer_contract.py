"""The trainer's contract is minimal: a module with the members :class:`TrainingTarget` declares, and no
more, is trained by the same :class:`Trainer` as every neural estimator (a step, ``fit``'s loop with
held-out rows, its best state kept)."""

from __future__ import annotations

import inspect
import itertools
import math

import torch
from torch import Tensor, nn

from iblearn.estimators.neural.base import NeuralEstimator
from iblearn.estimators.neural.contract import BatchLoss, TrainingTarget
from iblearn.estimators.neural.trainer import Trainer

torch.set_num_threads(1)


def _own_members(cls: type) -> set[str]:
    """What ``cls`` declares beyond nn.Module: annotations and functions."""
    mine = set(inspect.get_annotations(cls))
    mine |= {n for n, v in cls.__dict__.items() if inspect.isfunction(v) or isinstance(v, property)}
    return mine - set(vars(nn.Module))


def test_the_contract_is_what_the_trainer_calls():
    assert issubclass(NeuralEstimator, TrainingTarget)
    assert _own_members(TrainingTarget) == {
        "name",
        "steps_done",
        "lr",
        "checked_inputs",
        "batch_loss",
        "plausible_limit",
        "training_batches",
        "watched_bounds",
    }


class Mean(TrainingTarget):
    """Fits the mean of x by least squares: the 'bound' is minus the squared error."""

    name = "mean"

    def __init__(self) -> None:
        super().__init__()
        self.lr = 0.05
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))
        self.critic = nn.Linear(1, 1, bias=False)

    def checked_inputs(self, x, y):
        return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)

    def batch_loss(self, x, y) -> BatchLoss:
        loss = ((self.critic(torch.ones_like(x)) - x) ** 2).mean()
        return BatchLoss(loss, -loss.detach())

    def plausible_limit(self, x, y) -> float:
        return math.inf

    def training_batches(self, x, y, batch_size, seed):
        for start in itertools.cycle(range(0, len(x) - batch_size + 1, batch_size)):
            yield x[start : start + batch_size], y[start : start + batch_size]

    def watched_bounds(self, *parts: tuple[Tensor, Tensor]) -> list[float]:
        with torch.no_grad():
            return [-float(((self.critic(torch.ones_like(x)) - x) ** 2).mean()) for x, _ in parts]


def test_a_module_with_the_contracts_members_alone_is_trained_by_the_trainer():
    target = Mean()
    trainer = Trainer(target.critic, None, None)
    x = 3.0 + torch.randn(200, 1, generator=torch.Generator().manual_seed(0))
    settings = {"validation": 0.25, "patience": 50, "eval_every": 10}
    trainer.fit(target, x, x, steps=200, batch_size=20, seed=0, progress=None, **settings)
    assert trainer.history is not None and trainer.history.best_step is not None
    assert abs(target.critic.weight.item() - float(x.mean())) < 0.2
    assert int(target.steps_done) == trainer.history.best_step
    assert not target.training  # left in evaluation mode, as after an estimator's fit
