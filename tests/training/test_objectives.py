"""Objectives take any estimator through the interface it declares (estimators.base.TrainableEstimator):
no cast, no name test, no hasattr."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import Tensor

from iblearn.estimators import DIM, GMI, Estimator, MIEstimate, TrainableEstimator, as_trainable
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


def _ring_graph(n: int = 30, features: int = 5, seed: int = 0) -> Any:
    from iblearn.data.graphs import GraphBatch

    g = torch.Generator().manual_seed(seed)
    src = torch.arange(n)
    edges = torch.stack([torch.cat([src, (src + 1) % n]), torch.cat([(src + 1) % n, src])])
    return GraphBatch(torch.randn(n, features, generator=g), edges, torch.zeros(n, dtype=torch.long))


def _module_grad(objective: Objective, graph: Any, layer: torch.nn.Linear) -> Tensor:
    from iblearn.data.graphs import GraphBatch

    layer.zero_grad()
    t = GraphBatch(layer(graph.x), graph.edge_index, graph.batch)
    objective.loss(Batch(graph, torch.zeros(1, dtype=torch.long)), t)[0].backward()
    assert layer.weight.grad is not None
    return layer.weight.grad.clone()


def test_gmi_trains_the_module_on_its_topology_term_too():
    # The module once trained on the critic's unweighted DV bound, so tmi_weight 0 and 5 gave
    # bit-identical weights. GMI's objective (weighted FMI + tmi_weight TMI) is the module's loss now.
    graph = _ring_graph()
    layer = torch.nn.Linear(5, 8)
    grads = [
        _module_grad(InfoMax("input", "gmi", rep_dim=8, feature_dim=5, tmi_weight=w), graph, layer)
        for w in (0.0, 5.0)
    ]
    assert float((grads[0] - grads[1]).abs().max()) > 1e-3
    objective = InfoMax("input", "gmi", rep_dim=8, feature_dim=5, tmi_weight=5.0)
    assert isinstance(objective.estimator, GMI)
    h = layer(graph.x).detach()
    objective.estimator.trainer.shuffles.manual_seed(7)
    expected = objective.estimator.objective(h, (graph.x, graph.edge_index, None))
    objective.estimator.trainer.shuffles.manual_seed(7)
    loss, metrics = objective.loss(
        Batch(graph, torch.zeros(1)), type(graph)(h, graph.edge_index, graph.batch)
    )
    assert float(loss.detach()) == pytest.approx(-float(expected)) and metrics == {
        "objective": float(expected)
    }


def test_dim_trains_the_module_on_the_bound_that_module_bound_names():
    # The module once trained on InfoNCE beside a JS critic, silently. Now it is a setting:
    # "critic" trains it on the critic's own objective, "infonce" (the measured default) on InfoNCE.
    torch.manual_seed(0)
    images = torch.randn(12, 1, 8, 8)
    maps = torch.nn.Conv2d(1, 4, 3)(images)
    for kind in ("js", "infonce"):
        for module_bound in ("critic", "infonce"):
            objective = InfoMax(
                "input", "dim", objective=kind, module_bound=module_bound, hidden=16, embed_dim=8
            )
            est = objective.estimator
            assert isinstance(est, DIM)
            loss, _ = objective.loss(Batch(images, torch.zeros(12)), maps)
            inputs = est._inputs(maps, images)
            expected = est.objective(*inputs) if module_bound == "critic" else est._infonce(*inputs)
            assert float(loss) == pytest.approx(-float(expected), rel=1e-5)
    js = InfoMax("input", "dim", hidden=16, embed_dim=8).estimator
    assert float(js.module_objective(maps, images)) != pytest.approx(float(js.objective(maps, images)))
    with pytest.raises(ValueError, match="module_bound"):
        DIM(module_bound="js")


def test_matrix_based_infomax_on_a_graph_involves_the_adjacency():
    # Node representations were once compared with node features only, whatever the edges.
    from iblearn.data.graphs import GraphBatch
    from iblearn.functional import renyi_mi

    graph = _ring_graph(24, 3)
    pairs = torch.stack([torch.arange(0, 24, 2), torch.arange(1, 24, 2)])
    other = GraphBatch(graph.x, torch.cat([pairs, pairs.flip(0)], dim=1), graph.batch)
    t = torch.tanh(graph.x @ torch.randn(3, 4, generator=torch.Generator().manual_seed(1)))
    values = {}
    for name, g in (("ring", graph), ("pairs", other)):
        for adjacency in (True, False):
            objective = InfoMax("input", "renyi", adjacency=adjacency)
            values[name, adjacency] = objective.loss(
                Batch(g, torch.zeros(1)), GraphBatch(t, g.edge_index, g.batch)
            )[1]["mi"]
    assert values["ring", True] != pytest.approx(values["pairs", True], abs=1e-3)
    assert values["ring", False] == values["pairs", False] == pytest.approx(float(renyi_mi(t, graph.x)))
    assert InfoMax("input", "renyi").adjacency and not InfoMax("label", "renyi").adjacency
    with pytest.raises(ValueError, match="adjacency: True is for the matrix-based"):
        InfoMax("input", "mine", adjacency=True, x_dim=4, y_dim=3)
