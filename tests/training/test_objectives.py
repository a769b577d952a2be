"""Objectives take any estimator through the interface it declares (estimators.base.TrainableEstimator):
no cast, no name test, no hasattr."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import Tensor

from iblearn.estimators import Estimator, MIEstimate, TrainableEstimator, as_trainable
from iblearn.training import Batch, CrossEntropy, InfoMax, train_greedy
from iblearn.training.objectives import Objective


class FakeTrainable(Estimator):
    """An estimator that is no NeuralEstimator: it records what the objective calls."""

    name = "fake"
    differentiable = True
    trainable = True

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.scale = torch.nn.Parameter(torch.ones(()))

    def mi(self, x: Any, y: Any) -> Tensor:
        raise AssertionError("a trainable estimator's training signal is batch_mi")

    def loss(self, x: Any, y: Any) -> Tensor:
        return -self.batch_mi(x, y)

    def batch_mi(self, x: Any, y: Any) -> Tensor:
        self.calls.append("batch_mi")
        return self.scale * (x.float().mean() - y.float().mean()) ** 2

    def train_step(self, x: Any, y: Any) -> float:
        self.calls.append("train_step")
        assert not x.requires_grad  # the loop detaches the module's output before a critic step
        return 0.0

    def fit(self, x: Any, y: Any = None) -> FakeTrainable:
        return self


def test_a_fake_estimator_satisfying_the_protocol_plugs_into_an_objective():
    fake = FakeTrainable()
    assert isinstance(fake, TrainableEstimator) and as_trainable(fake) is fake
    torch.manual_seed(0)
    x, y = torch.randn(40, 3), torch.randint(0, 2, (40,))
    modules = [torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh()), torch.nn.Linear(4, 2)]
    result = train_greedy(
        modules, [InfoMax("input", fake), CrossEntropy()], lambda e: [Batch(x, y)], epochs=2
    )
    assert fake.calls == ["train_step", "batch_mi"] * 2
    assert math.isfinite(result.histories[0][-1]["mi"])


def test_a_class_that_says_it_is_trainable_must_have_the_methods():
    class Broken(Estimator):
        name = "broken"
        differentiable = True
        trainable = True

    with pytest.raises(
        ValueError, match="broken says it is trainable but lacks loss, batch_mi, train_step, fit"
    ):
        InfoMax("label", Broken())
    assert as_trainable(Estimator()) is None


def test_sync_is_a_no_op_by_default_and_graph_estimators_say_they_take_a_graph():
    Objective().sync()
    from iblearn.estimators import DGI, GMI, MINE

    assert {cls: cls.graph_y for cls in (GMI, DGI, MINE)} == {GMI: True, DGI: True, MINE: False}


def test_estimate_objects_are_what_info_max_reports():
    # The non-trainable path calls mi: a plain estimator's value.
    est = InfoMax("label", "renyi")
    assert est.trainable is None
    x, y = torch.randn(30, 2), torch.randint(0, 2, (30,))
    loss, metrics = est.loss(Batch(x, y), x)
    assert float(loss) == -metrics["mi"]
    assert isinstance(est.estimator(x, torch.nn.functional.one_hot(y).float()), MIEstimate)
