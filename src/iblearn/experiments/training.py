"""What the reproductions' training loops share: per-module optimizers, seeded and sharded batches,
an epoch of plain supervised training, and the accuracy of a classifier."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iblearn.experiments import torchrun
from iblearn.training import Batch
from iblearn.training.greedy import OptimizerFactory


def module_optimizers(n: int, lr: float, output_lr: float | None) -> Sequence[OptimizerFactory]:
    """Adam factories for ``train_greedy(optimizer=...)``: ``lr`` for the first ``n - 1`` modules,
    ``output_lr`` for the last (the output module; ``lr`` where None)."""
    head = lr if output_lr is None else output_lr
    return [partial(torch.optim.Adam, lr=lr)] * (n - 1) + [partial(torch.optim.Adam, lr=head)]


def split_rows(order: Tensor, batch_size: int) -> list[Tensor]:
    """``order`` cut into batches of ``batch_size``, a lone last row joined to the batch before it: a
    batch of one row has no spread, which batch norm, a kernel width rule and negative pairs refuse."""
    parts = list(torch.split(order, batch_size))
    if len(parts) > 1 and len(parts[-1]) == 1:
        parts[-2:] = [torch.cat(parts[-2:])]
    return parts


def sharded_batches(x: Tensor, y: Tensor, batch_size: int, seed: int) -> Callable[[int], list[Batch]]:
    """The batches of each epoch, as ``train_greedy`` takes them (a function of the epoch): the rows in
    an order seeded by ``seed`` and the epoch, cut into batches of ``batch_size``. Under torchrun each
    rank takes its equal part of every batch, so that a global batch holds ``batch_size`` rows."""

    def batches(epoch: int) -> list[Batch]:
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed * 1000 + epoch))
        parts = [torchrun.shard(i) for i in split_rows(order, batch_size)]
        return [Batch(x[i], y[i]) for i in parts if len(i)]

    return batches


@torch.no_grad()
def accuracy(model: nn.Module, x: Tensor, y: Tensor, device: torch.device) -> float:
    """Percent of ``x`` classified as ``y``, in chunks of 1,000."""
    model.eval()
    hits = sum(
        int((model(x[i : i + 1000].to(device)).argmax(dim=1) == y[i : i + 1000].to(device)).sum())
        for i in range(0, len(x), 1000)
    )
    return 100 * hits / len(x)


def train_epoch(
    model: nn.Module,
    optimizer: Any,
    x: Tensor,
    y: Tensor,
    batch_size: int,
    gen: torch.Generator,
    device: torch.device,
) -> dict[str, float]:
    model.train()
    total, hits = 0.0, 0
    for idx in split_rows(torch.randperm(len(x), generator=gen), batch_size):
        xb, yb = x[idx].to(device), y[idx].to(device)
        optimizer.zero_grad()
        out = model(xb)
        loss = F.cross_entropy(out, yb)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(idx)
        hits += int((out.argmax(dim=1) == yb).sum())
    return {"train_loss": total / len(x), "train_acc": 100 * hits / len(x)}
