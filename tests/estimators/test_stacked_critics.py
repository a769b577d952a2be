"""Many critics trained at once (:func:`iblearn.estimators.neural.stacked.estimate_many`): the same
estimates as the critics trained one by one, for pairs of different widths; a padded critic computes
what the unpadded one does; bad arguments named; the one-by-one path where stacking cannot be exact."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from iblearn.analysis import InformationPlane
from iblearn.estimators import KSG
from iblearn.estimators.neural import JS, MINE, NWJ, SMILE, InfoNCE, MINEf, captured
from iblearn.estimators.neural.stacked import estimate_many, fresh_copy, unstackable

torch.set_num_threads(1)
pytestmark = [
    pytest.mark.filterwarnings("ignore::iblearn.estimators.neural.UnreliableEstimateWarning"),
    pytest.mark.filterwarnings("ignore:I\\(X; T\\) is infinite"),
]

FIT = {"steps": 12, "batch_size": 16, "seed": 3}


def pairs(widths=((1, 1), (3, 2), (2, 4)), n=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    found = []
    for dx, dy in widths:
        x = torch.randn(n, dx, generator=gen)
        y = x[:, :1].repeat(1, dy) + 0.5 * torch.randn(n, dy, generator=gen)
        found.append((x, y))
    return found


def estimate_each(estimator, pairs, **fit):
    return estimate_many(estimator, pairs, stack=False, **fit)


def values(estimates):
    return torch.stack([e.value.detach() for e in estimates])


def assert_same(many, each):
    torch.testing.assert_close(values(many), values(each), rtol=1e-5, atol=1e-6)
    for a, b in zip(many, each, strict=True):
        assert (a.reliable, a.caveat, a.report.limit) == (b.reliable, b.caveat, b.report.limit)


@pytest.mark.parametrize(
    "make",
    [
        lambda: InfoNCE(hidden=(16,), eval_every=4, patience=1),
        lambda: NWJ(hidden=(16,), eval_every=4, patience=1),
        lambda: MINE(hidden=(16, 8), eval_every=5),
        lambda: MINEf(hidden=(16,), average=None, validation=0),
        lambda: JS(hidden=(16,), eval_every=6),
        lambda: SMILE(hidden=(16,), eval_every=6),
        lambda: InfoNCE(critic="concat", hidden=(16,), eval_every=6),
    ],
    ids=["infonce", "nwj", "mine", "mine_f-blind", "js", "smile", "infonce-concat"],
)
def test_stacked_equals_one_by_one(make):
    data = pairs()
    assert unstackable(make(), data) is None
    assert_same(estimate_many(make(), data, **FIT), estimate_each(make(), data, **FIT))


def test_critics_stop_early_at_their_own_steps():
    # patience 1, an evaluation every 2 steps, no average: the critics stop at different steps, each
    # restored to its best.
    data = pairs(widths=((1, 1), (2, 2), (4, 1), (1, 3)), seed=1)
    fit = {**FIT, "steps": 30}
    make = lambda: NWJ(hidden=(16,), eval_every=2, patience=1, lr=5e-2, average=None)  # noqa: E731
    each = [fresh_copy(make(), x, y).fit(x, y, **fit) for x, y in data]
    assert len({est.history.steps[-1] for est in each}) > 2  # they did stop at different steps
    alone = [est(x, y) for est, (x, y) in zip(each, data, strict=True)]
    assert_same(estimate_many(make(), data, **fit), alone)


def test_labels_as_y():
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (64,), generator=gen)
    data = [(labels[:, None] + torch.randn(64, d, generator=gen), labels) for d in (1, 5)]
    make = lambda: MINE(y_classes=3, hidden=(8,), eval_every=4)  # noqa: E731
    assert_same(estimate_many(make(), data, **FIT), estimate_each(make(), data, **FIT))


def test_zero_padded_critic_computes_what_the_unpadded_one_does():
    # Zero columns of x and zero first-layer weights for them: the same scores, zero gradients there,
    # so Adam leaves the padded weights at zero and the two critics stay the same.
    torch.manual_seed(0)
    small, wide = nn.Linear(2, 4), nn.Linear(5, 4)
    with torch.no_grad():
        wide.weight.zero_()
        wide.weight[:, :2] = small.weight
        wide.bias.copy_(small.bias)
    opt = [torch.optim.Adam(m.parameters(), lr=0.1) for m in (small, wide)]
    for _ in range(5):
        x = torch.randn(8, 2)
        padded = torch.cat([x, torch.zeros(8, 3)], dim=1)
        for o, out in zip(opt, (small(x), wide(padded)), strict=True):
            o.zero_grad()
            (out**2).sum().backward()
            o.step()
        assert torch.equal(wide.weight.grad[:, 2:], torch.zeros(4, 3))
    assert torch.equal(wide.weight[:, 2:], torch.zeros(4, 3))
    torch.testing.assert_close(wide.weight[:, :2], small.weight)


def test_bad_arguments_are_named():
    data = pairs()
    with pytest.raises(ValueError, match="pairs: expected at least one"):
        estimate_many(InfoNCE(), [])
    with pytest.raises(ValueError, match="pairs: every pair needs the same number of rows"):
        estimate_many(InfoNCE(), [data[0], (data[1][0][:50], data[1][1][:50])])
    with pytest.raises(ValueError, match="pairs: item 0 has 64 rows of x and 10 of y"):
        estimate_many(InfoNCE(), [(data[0][0], data[0][1][:10])])
    with pytest.raises(ValueError, match="estimator: expected a neural estimator"):
        estimate_many(KSG(), data)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="steps"):
        estimate_many(InfoNCE(), data, steps=0)
    with pytest.raises(ValueError, match="pairs: item 1: y: every column is constant"):
        estimate_many(InfoNCE(hidden=(8,)), [data[0], (data[1][0], torch.ones(64, 2))], **FIT)


@pytest.mark.parametrize("stack", [True, False])
def test_a_bad_sample_is_named_by_its_pair(stack):
    data = pairs()
    x = data[2][0].clone()
    x[3, 0] = float("nan")
    with pytest.raises(ValueError, match="pairs: item 2: x: contains NaN or Inf"):
        estimate_many(InfoNCE(hidden=(8,)), [*data[:2], (x, data[2][1])], stack=stack, **FIT)
    empty = (torch.empty(0, 2), torch.empty(0, 1))
    with pytest.raises(ValueError, match="pairs: item 0 has no rows"):
        estimate_many(InfoNCE(hidden=(8,)), [empty, empty], stack=stack, **FIT)


def test_pairs_of_lists_count_their_rows():
    data = pairs()
    listed = (data[0][0].tolist(), data[0][1].tolist())
    many = estimate_many(InfoNCE(hidden=(8,)), [listed, data[1]], **FIT)
    each = estimate_each(InfoNCE(hidden=(8,)), [listed, data[1]], **FIT)
    assert_same(many, each)
    with pytest.raises(ValueError, match="pairs: every pair needs the same number of rows, got \\[50, 64\\]"):
        estimate_many(InfoNCE(hidden=(8,)), [(listed[0][:50], listed[1][:50]), data[1]], **FIT)


def test_one_by_one_where_stacking_is_not_exact():
    data = pairs()
    chunked = lambda: InfoNCE(hidden=(8,), chunk=8)  # noqa: E731
    assert "chunked" in unstackable(chunked(), data)
    assert_same(estimate_many(chunked(), data, **FIT), estimate_each(chunked(), data, **FIT))
    own = lambda: NWJ(critic=_Own())  # noqa: E731  # a module of the caller's: deep copies, one by one
    same = pairs(widths=((2, 1), (2, 1)))
    assert "module" in unstackable(own(), same)
    assert_same(estimate_many(own(), same, **FIT), estimate_each(own(), same, **FIT))
    assert unstackable(InfoNCE(), data[:1]) == "one pair"


def test_a_diverging_critic_falls_back_and_raises_as_alone():
    from iblearn.estimators.neural import CriticDivergedError

    data = pairs()
    data[1] = (data[1][0] * 1e30, data[1][1])
    with pytest.raises(CriticDivergedError):
        estimate_each(NWJ(hidden=(8,), lr=10.0), data, **FIT)
    with pytest.raises(CriticDivergedError):
        estimate_many(NWJ(hidden=(8,), lr=10.0), data, **FIT)


def test_information_plane_trains_its_layers_critics_at_once():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    x = torch.randn(64, 3)
    y = (x[:, 0] > 0).long()
    ixt, ity = (lambda: InfoNCE(hidden=(8,)), lambda: MINE(y_classes=2, hidden=(8,)))
    plane = InformationPlane(net, ["1", "2"], x, y, ixt=ixt(), ity=ity(), fit_steps=12)
    plane.record(0)
    points = plane.result().points
    with torch.no_grad():
        layers = [net[1](net[0](x)).double(), net(x).double()]
    alone = (
        estimate_each(ixt(), [(x.double(), t) for t in layers], steps=12),
        estimate_each(ity(), [(t, y) for t in layers], steps=12),
    )
    for term, each in zip(("ixt", "ity"), alone, strict=True):
        found = torch.tensor([getattr(p, term) for p in points], dtype=torch.float64)
        torch.testing.assert_close(found, values(each).double(), rtol=1e-5, atol=1e-6)


class _Own(nn.Module):
    separable = False

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))

    def forward(self, x, y):
        return self.net(torch.cat([x, y], dim=1)).squeeze(1)


@pytest.mark.gpu
@pytest.mark.parametrize(
    "make",
    [
        lambda: InfoNCE(hidden=(16,), eval_every=20, patience=1),
        lambda: NWJ(hidden=(16,), eval_every=20),
        lambda: MINE(hidden=(16, 8), eval_every=25),
        lambda: InfoNCE(critic="concat", hidden=(16,), eval_every=20),
    ],
    ids=["infonce", "nwj", "mine", "infonce-concat"],
)
def test_replayed_stacked_steps_train_as_eager_ones_and_as_one_by_one(make, monkeypatch):
    """On a CUDA device the stacked step is captured and replayed: the estimates of the eager stacked
    steps and of the critics one by one, to float rounding (the concat critic draws its negatives)."""
    data = [(x.cuda(), y.cuda()) for x, y in pairs(n=512)]
    fit = {"steps": 80, "batch_size": 64, "seed": 2}
    replays = []
    replay = captured.StepGraph.replay
    monkeypatch.setattr(
        captured.StepGraph, "replay", lambda s, g, o, gen: replays.append(len(o)) or replay(s, g, o, gen)
    )
    found = estimate_many(make().cuda(), data, **fit)
    assert sum(replays) > 60  # all but the warm-up's steps, in chunks between the evaluations
    monkeypatch.setattr(captured, "ENABLED", False)
    eager = estimate_many(make().cuda(), data, **fit)
    torch.testing.assert_close(values(found), values(eager), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(
        values(found), values(estimate_each(make().cuda(), data, **fit)), rtol=1e-4, atol=1e-4
    )
