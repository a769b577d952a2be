"""The neural package's parts: settings in the constructor's order, a bound in one small class, the
weight average scored with and never swapped in."""

from __future__ import annotations

import inspect

import pytest
import torch
from torch import Tensor

from iblearn.estimators import (
    DIM,
    GMI,
    JS,
    LMI,
    MINE,
    NWJ,
    REGISTRY,
    InfoNCE,
    MINEf,
    NeuralEstimator,
)
from iblearn.estimators.neural import BoundEstimator, RepresentationEstimator, Trainer
from iblearn.functional.bounds import dv_bound


def _data(n: int = 400):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 1, generator=g)
    return x, x + 0.5 * torch.randn(n, 1, generator=g)


def test_settings_are_the_keywords_the_constructor_takes_in_its_order():
    est = MINE(2, 1, hidden=[8], rate=0.1)
    assert est.hidden == (8,)  # checked and normalized
    order = (
        "x_dim y_dim objective rate clip y_classes n_negatives critic hidden lr eval_batch_size average seed "
        "validation patience eval_every base"
    )
    assert list(est.settings()) == order.split()  # each class's own before those it passes on
    assert "objective" not in MINEf().settings()
    assert set(DIM().settings()) == set(
        "mode objective module_bound embed_dim hidden lr eval_batch_size seed base".split()
    )
    assert GMI(4, 2).settings()["feature_dim"] == 2
    with pytest.raises(ValueError, match="eval_batch_size: an evaluation batch needs 2 samples"):
        NeuralEstimator(eval_batch_size=1)


def test_the_shared_neural_settings_are_listed_once_for_the_bounds_that_take_no_others():
    """NeuralEstimator's signature is the bounds' (y_classes and n_negatives among its settings):
    BoundEstimator restates none of it, and a family that draws no negatives holds the defaults."""
    assert "__init__" not in vars(BoundEstimator)
    assert inspect.signature(NWJ) == inspect.signature(NeuralEstimator) == inspect.signature(JS)
    assert NWJ(1, y_classes=3, n_negatives=2).y_dim == 3  # one-hot labels: their width
    with pytest.raises(ValueError, match="n_negatives: expected a positive integer"):
        NeuralEstimator(n_negatives=0)
    lmi = LMI(2, 2, hidden=(8,), latent=2)
    assert (lmi.y_classes, lmi.n_negatives) == (None, 8) and "y_classes" not in lmi.settings()


def test_js_and_infonce_are_bounds_of_their_own_not_nwj():
    assert not issubclass(JS, NWJ) and not issubclass(InfoNCE, NWJ)
    assert JS.__bases__ == (BoundEstimator,) == InfoNCE.__bases__


NEURAL = sorted(name for name, cls in REGISTRY.items() if issubclass(cls, NeuralEstimator))
REPRESENTATIONS = {"lmi", "mienf", "minde"}


def test_every_neural_estimator_lives_in_the_neural_package_and_is_a_bound_or_a_representation():
    assert len(NEURAL) == 16 and REPRESENTATIONS < set(NEURAL)
    for name in NEURAL:
        cls = REGISTRY[name]
        assert cls.__module__.startswith("iblearn.estimators.neural."), name
        assert issubclass(cls, RepresentationEstimator) == (name in REPRESENTATIONS), name
        assert issubclass(cls, BoundEstimator) == (name not in REPRESENTATIONS), name


def test_a_representation_estimator_is_no_bound():
    assert not issubclass(RepresentationEstimator, BoundEstimator)
    assert RepresentationEstimator.bound is None and not RepresentationEstimator.differentiable
    for part in ("_scores", "_pooled", "class_sums", "_training_bound"):
        assert not hasattr(RepresentationEstimator, part), part


def test_the_estimator_holds_its_trainer_and_hands_it_training():
    x, y = _data()
    est = NWJ(1, 1, hidden=(8,), eval_every=10)
    assert isinstance(est.trainer, Trainer) and est.trainer.average is not None
    est.fit(x, y, steps=20, batch_size=64)
    assert est.history is est.trainer.history and est.history.steps == [10, 20]
    assert int(est.steps_done) == est.history.best_step
    assert est.trainer.optimizer.state_dict() is not None
    assert LMI(2, 2, hidden=(8,), latent=2).trainer.average is None  # no weight average by default


def test_a_new_bound_is_a_name_an_objective_and_a_pooled_bound():
    class DV(BoundEstimator):  # DV trained on itself: biased gradients, but a bound all the same
        name = "dv"

        def objective(self, x: Tensor, y: Tensor) -> Tensor:
            return dv_bound(*self._scores(x, y, 1, self.trainer.shuffles))

        def _pooled(self, joint: Tensor, marginal: Tensor) -> Tensor:
            return dv_bound(joint, marginal)

    x, y = _data()
    est = DV(1, 1, hidden=(16,), lr=3e-3).fit(x, y, steps=150, batch_size=128)
    assert 0.1 < float(est(x, y)) < 0.9  # truth 0.80 nats
    assert type(est)(**est.settings()).settings() == est.settings()


def test_the_average_scores_the_estimate_and_the_live_critic_stays_in_place():
    x, y = _data()
    est = MINE(1, 1, hidden=(8,), lr=1e-2).fit(x, y, steps=20, batch_size=64)
    seen = []
    est.averaged.net[-1].register_forward_hook(lambda *_: seen.append("averaged"))  # the last layer
    est.critic.net[-1].register_forward_hook(lambda *_: seen.append("critic"))
    live = est.critic
    est(x, y)
    assert set(seen) == {"averaged"} and est.critic is live and est.scorer is live
    seen.clear()
    est.batch_mi(x, y)
    assert set(seen) == {"critic"}
