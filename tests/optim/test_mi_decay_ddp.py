"""Under torch.distributed, rank 0 measures I(T; Y) and broadcasts it: every rank sets the same LRs,
although rank 1's own sample would give different values."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from torch import nn

from iblearn.optim import MIDecayLR, MIProbe
from tests.distributed import on_two_ranks


def sequence(rank: int) -> list[float]:
    torch.manual_seed(0)
    labels = torch.randint(0, 3, (400,))
    x = torch.randn(400, 4) + 2.0 * nn.functional.one_hot(labels, 4).float()
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    probe = MIProbe(x, labels, n=200, seed=rank)  # a different MI sample on each rank
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = MIDecayLR(
        opt, lr_min=1e-3, lr_max=0.2, epsilon=0.05, epochs=6, ixy=probe.ixy(), ity0=probe.measure(model)[0]
    )
    lrs = sched.get_last_lr()
    for _ in range(4):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.3 * torch.randn_like(p))  # "training"
        sched.step(probe.measure(model)[0])
        lrs += sched.get_last_lr()
    return lrs


def worker(rank: int) -> list[float]:
    lrs = sequence(rank)
    probe = MIProbe(torch.randn(20, 4), torch.arange(20) % 2, n=10)
    if rank == 0:  # a failure on rank 0 raises on every rank, instead of leaving rank 1 waiting
        probe._ity = lambda t: 1 / 0  # type: ignore[method-assign]
    with pytest.raises(ZeroDivisionError if rank == 0 else RuntimeError, match=r"division|rank 0"):
        probe.measure(nn.Linear(4, 2))
    return lrs


@pytest.mark.slow  # two processes, about 10 s of CPU; proximal and neural DDP stay in the default suite
def test_every_rank_sets_the_same_lrs(tmp_path):
    first, second = on_two_ranks(worker, tmp_path)
    assert first == second
    assert sequence(1) != first  # without the broadcast, rank 1 would have taken other steps


def batch_norm_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def ddp_worker(rank: int) -> dict[str, Any]:
    torch.manual_seed(0)
    labels = torch.randint(0, 3, (300,))
    x = torch.randn(300, 4) + nn.functional.one_hot(labels, 4).float()
    model = nn.parallel.DistributedDataParallel(batch_norm_net())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def train_step() -> None:
        opt.zero_grad()
        part = slice(50 * rank, 50 * (rank + 1))
        nn.functional.cross_entropy(model(x[part]), labels[part]).backward()
        opt.step()

    train_step()  # the wrapper's next forward broadcasts BatchNorm's buffers, a collective of all ranks
    state = copy.deepcopy(model.module.state_dict())
    probe = MIProbe(x, labels, n=200)
    values = probe.measure(model) + probe.watching(["module.1", "2"]).measure(model)
    train_step()  # the ranks still agree on their collectives
    return {"values": values, "state": state, "training": model.training}


@pytest.mark.slow  # two processes, about 7 s here
def test_a_ddp_model_with_batch_norm_is_measured_through_its_inner_module(tmp_path):
    first, second = on_two_ranks(ddp_worker, tmp_path, timeout=120)
    assert first["values"] == second["values"]
    assert first["training"] and second["training"]
    # What rank 0 measured is the single-process measurement of its inner module; wrapper and inner
    # layer names watch the same layers.
    torch.manual_seed(0)
    labels = torch.randint(0, 3, (300,))
    x = torch.randn(300, 4) + nn.functional.one_hot(labels, 4).float()
    net = batch_norm_net()
    net.load_state_dict(first["state"])
    probe = MIProbe(x, labels, n=200)
    assert first["values"] == probe.measure(net) + probe.watching(["1", "2"]).measure(net)
