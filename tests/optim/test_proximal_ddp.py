"""Two processes with DistributedDataParallel (gloo, CPU) take the same steps as one process on the
concatenated batch: f and g each in their own DDP wrapper, for both orders and every constraint."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from iblearn.optim import ProximalSplit
from tests.distributed import on_two_ranks

STEPS = 3
SETTINGS = [(2, "l2"), (2, "l1"), (2, "huber"), (1, "l2"), (1, "l1")]


def nets() -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    f = nn.Sequential(nn.Linear(4, 5), nn.Tanh()).double()
    g = nn.Sequential(nn.Linear(5, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    return f, g


def data() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return torch.randn(8, 4, generator=gen, dtype=torch.float64), torch.randn(
        8, 2, generator=gen, dtype=torch.float64
    )


def train(f: nn.Module, g: nn.Module, x: torch.Tensor, y: torch.Tensor, order: int, constraint: str) -> None:
    opt = ProximalSplit(
        f.parameters(),
        g.parameters(),
        torch.optim.SGD,
        lr_backward=0.1,
        lr_forward=0.5,
        beta=2.0,
        order=order,
        constraint=constraint,
        huber_delta=0.01,
    )
    for _ in range(STEPS):

        def closure():
            z = f(x)
            return ((g(z) - y) ** 2).mean(), z

        opt.step(closure)


def worker(rank: int) -> dict[str, list[torch.Tensor]]:
    x, y = data()
    results = {}
    for order, constraint in SETTINGS:
        f, g = nets()
        fd, gd = DDP(f), DDP(g)
        train(fd, gd, x[rank * 4 : rank * 4 + 4], y[rank * 4 : rank * 4 + 4], order, constraint)
        results[f"{order}-{constraint}"] = [p.detach().clone() for p in [*f.parameters(), *g.parameters()]]
    return results


# Two ranks are two processes that import torch: several seconds of CPU; the neural estimators'
# two-rank test (tests/estimators/test_neural_ddp.py) keeps the shared DDP path in the default suite.
@pytest.mark.slow
def test_two_ranks_equal_one_process_on_the_concatenated_batch(tmp_path):
    distributed = on_two_ranks(worker, tmp_path)[0]
    x, y = data()
    for order, constraint in SETTINGS:
        f, g = nets()
        train(f, g, x, y, order, constraint)
        for p_single, p_ddp in zip(
            [*f.parameters(), *g.parameters()], distributed[f"{order}-{constraint}"], strict=True
        ):
            torch.testing.assert_close(
                p_ddp,
                p_single.detach(),
                rtol=1e-10,
                atol=1e-12,
                msg=f"order={order}, constraint={constraint}",
            )
