"""InformationPlane under two ranks (gloo, CPU): rank 0 measures as one process would, and every rank
holds its points, although each rank was handed a different evaluation sample; a DDP-wrapped model is
measured through its inner module; a failure on rank 0 raises on every rank instead of hanging. One
spawn."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from iblearn.analysis import InformationPlane
from iblearn.estimators import MINE
from tests.distributed import on_two_ranks


def sample(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (64,), generator=gen)
    return torch.randn(64, 3, generator=gen) + y[:, None].float(), y


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2))


def plane(net: nn.Module, seed: int, layers: list[str]) -> InformationPlane:
    # A neural estimator for I(T; Y): on rank 0 alone it must not wait on (or gather from) rank 1.
    ity = MINE(4, y_classes=2, hidden=(8,))
    return InformationPlane(net, layers, *sample(seed), ixt="binning", ity=ity, n_bins=5, fit_steps=50)


def measured(p: InformationPlane) -> list[Any]:
    p.record(0)
    p.record(1)
    return [(q.epoch, q.layer, q.ixt, q.ity) for q in p.result().points]


def worker(rank: int) -> dict[str, Any]:
    results = {"plain": measured(plane(model(), rank, ["2"]))}  # rank r's own sample: seed r
    results["ddp"] = measured(plane(DDP(model()), rank, ["module.2"]))
    broken = plane(model(), rank, ["2"])
    if rank == 0:
        broken._measure = lambda t: 1 / 0  # type: ignore[method-assign]
    with pytest.raises(ZeroDivisionError if rank == 0 else RuntimeError, match=r"division|rank 0"):
        broken.record(2)
    return results


@pytest.mark.slow  # 29 s here under load: a spawn and a DDP model
def test_rank_0_measures_and_every_rank_holds_its_points(tmp_path):
    ranks = on_two_ranks(worker, tmp_path)
    single = measured(plane(model(), 0, ["2"]))
    assert ranks[0]["plain"] == ranks[1]["plain"] == single
    assert ranks[0]["ddp"] == ranks[1]["ddp"] == [(e, "module.2", a, b) for e, _, a, b in single]
    assert single != measured(plane(model(), 1, ["2"]))  # rank 1's own sample would give other points
