"""Two processes with DistributedDataParallel (gloo, CPU) take the same steps as one process on the
concatenated batch: f and g each in their own DDP wrapper, for both orders and every constraint."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from iblearn.optim import ProximalSplit
from tests.distributed import run_two_ranks

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


def worker(rank: int, init_method: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=2)
    x, y = data()
    results = {}
    for order, constraint in SETTINGS:
        f, g = nets()
        fd, gd = DDP(f), DDP(g)
        train(fd, gd, x[rank * 4 : rank * 4 + 4], y[rank * 4 : rank * 4 + 4], order, constraint)
        results[f"{order}-{constraint}"] = [p.detach().clone() for p in [*f.parameters(), *g.parameters()]]
    if rank == 0:
        torch.save(results, out)
    dist.destroy_process_group()


def test_two_ranks_equal_one_process_on_the_concatenated_batch(tmp_path):
    if not dist.is_available():
        pytest.skip("torch.distributed is not available")
    out = str(tmp_path / "ddp.pt")
    run_two_ranks(worker, out)
    distributed = torch.load(out, weights_only=True)
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
