"""``fit`` on a CUDA device replays a captured training step (:mod:`iblearn.estimators.neural.captured`):
the same training as eager steps, the same divergence error at the same step, faster. The pieces that
make a step capturable are tested on the CPU; the replay itself on a GPU (marked ``gpu``)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from iblearn.estimators import AAMINE, CLUB, MINE, NWJ, InfoNCE
from iblearn.estimators.neural import captured, negatives
from iblearn.estimators.neural.fitting import batch_orders, sample_batches
from iblearn.estimators.reliability import CriticDivergedError

pytestmark = pytest.mark.usefixtures("one_thread")


def _pairs(n: int, device: str = "cpu", seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    return x.to(device), (x + torch.randn(n, 3, generator=g)).to(device)


@pytest.mark.parametrize("n", [2, 3, 7])
def test_off_diagonal_is_the_boolean_mask_without_reading_its_count(n):
    m = torch.arange(n * n, dtype=torch.float32).reshape(n, n)
    assert torch.equal(negatives.off_diagonal(m), m[~torch.eye(n, dtype=torch.bool)])


def test_the_batches_are_drawn_by_their_orders():
    x, y = _pairs(50)
    batches, orders = sample_batches(x, y, 16, 3), batch_orders(50, 16, 3)
    for _ in range(7):  # over two passes: 3 batches of 16 a pass, 2 rows dropped
        idx = next(orders)
        xb, yb = next(batches)
        assert torch.equal(xb, x[idx]) and torch.equal(yb, y[idx])


def test_a_source_replaces_the_derangements_of_a_step():
    """A captured step reads its negatives from the device: a source set by ``drawing_from`` answers
    every draw of a training step, and the step's value follows what it gives."""
    x, y = _pairs(64)
    est = NWJ(3, 3, hidden=(8,))
    calls = []

    def fixed(n, count, gen, device):
        calls.append((n, count))
        return [torch.roll(torch.arange(n), 1)]

    with negatives.drawing_from(fixed):
        one = float(est.objective(x, y).detach())
        two = float(est.objective(x, y).detach())
    assert calls == [(64, 1), (64, 1)] and one == two  # no draw from the generator
    assert float(est.objective(x, y).detach()) != one  # drawn again outside


def test_mine_starts_its_moving_average_at_the_first_batch():
    x, y = _pairs(64)
    est = MINE(3, 3, hidden=(8,), rate=0.1)
    est.loss(x, y)
    first = float(est.log_ema)
    assert torch.isfinite(est.log_ema) and first == pytest.approx(float(est.log_ema))
    est.loss(x, y)
    assert float(est.log_ema) != first  # it moves after the first batch


def test_nothing_is_captured_on_the_cpu_nor_for_a_step_that_draws_on_the_host():
    x, y = _pairs(64)
    assert not captured.capturable(InfoNCE(3, 3), x, y, 100)
    assert InfoNCE.capturable_step and MINE.capturable_step and not AAMINE.capturable_step
    est = InfoNCE(3, 3, hidden=(8,), validation=0).fit(x, y, steps=5, batch_size=16)
    assert est.trainer.replayed == 0


# On a GPU.

FAMILIES = {
    "infonce": lambda: InfoNCE(3, 3, hidden=(32,), lr=1e-3),
    "nwj": lambda: NWJ(3, 3, hidden=(32,), lr=1e-3),
    "mine": lambda: MINE(3, 3, hidden=(32,), lr=1e-3),
    "club": lambda: CLUB(3, 3, hidden=(32,), lr=1e-3),
}


def _fit(make, eager: bool, monkeypatch, **fit):
    monkeypatch.setattr(captured, "ENABLED", not eager)
    x, y = _pairs(2000, "cuda")
    losses: list[tuple[int, float]] = []
    est = make().cuda().fit(x, y, progress=lambda s, v: losses.append((s, v)), **fit)
    return est, losses


@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_replayed_steps_train_as_eager_steps_do(name, monkeypatch):
    fit = dict(steps=600, batch_size=128, seed=1)
    replayed, seen = _fit(FAMILIES[name], False, monkeypatch, **fit)
    eager, seen_eager = _fit(FAMILIES[name], True, monkeypatch, **fit)
    assert eager.trainer.replayed == 0 and replayed.trainer.replayed > 500
    assert [s for s, _ in seen] == [s for s, _ in seen_eager] == list(range(1, len(seen) + 1))
    assert [v for _, v in seen] == pytest.approx([v for _, v in seen_eager], rel=1e-4, abs=1e-4)
    assert replayed.history.steps == eager.history.steps
    assert replayed.history.validation == pytest.approx(eager.history.validation, rel=1e-4, abs=1e-4)
    for a, b in zip(replayed.state_dict().values(), eager.state_dict().values(), strict=True):
        if isinstance(a, torch.Tensor):
            assert torch.allclose(a.double(), b.double(), rtol=1e-3, atol=1e-4)


class Poisoned(nn.Module):
    """A concat critic whose scores turn NaN after ``at`` calls (a buffer, saved and restored with it)."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.net, self.at = nn.Linear(6, 1), at
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))

    def forward(self, x, y):
        self.calls.add_(1)
        out = self.net(torch.cat([x, y], 1)).squeeze(1)
        return torch.where(self.calls > self.at, torch.full_like(out.detach(), float("nan")), out)


@pytest.mark.gpu
def test_a_diverging_replayed_step_raises_at_its_step_with_the_estimator_before_it(monkeypatch):
    """A critic that turns NaN at its 41st call (the 21st step: joint and negatives, two calls a step):
    replayed, the error names the step eager training names, and the critic stands as eager training
    leaves it, before that step."""
    outcomes = []
    for eager in (False, True):
        monkeypatch.setattr(captured, "ENABLED", not eager)
        x, y = _pairs(2000, "cuda")
        torch.manual_seed(0)
        est = NWJ(3, 3, critic=Poisoned(40), validation=0, average=None).cuda()
        with pytest.raises(CriticDivergedError) as error:
            est.fit(x, y, steps=100, batch_size=128)
        outcomes.append(
            (str(error.value), int(est.steps_done), [t.clone() for t in est.critic.state_dict().values()])
        )
    (message, steps, state), (message_eager, steps_eager, state_eager) = outcomes
    assert "at training step 21" in message and steps == 20
    assert message == message_eager and steps == steps_eager
    for a, b in zip(state, state_eager, strict=True):
        assert torch.allclose(a.double(), b.double(), rtol=1e-4, atol=1e-5)
