"""The tasks of ``iblearn reproduce mole`` (Li & Pei 2023, Table 1): Adult, MNIST, Mutagenicity and Cora as
training batches per epoch (each rank's part under torchrun), evaluation sets and the network of each,
and the accuracy of a network on them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from iblearn.data.graphs import load_cora, load_tu
from iblearn.data.tabular import load_adult
from iblearn.data.vision import load_mnist, to_float
from iblearn.experiments import torchrun
from iblearn.experiments.mole.config import ESTIMATORS, Config
from iblearn.experiments.training import accuracy as tensor_accuracy
from iblearn.experiments.training import sharded_batches
from iblearn.models import mole as nets
from iblearn.training import Batch

CPU = torch.device("cpu")


@dataclass
class Task:
    """Training batches per epoch, evaluation sets, and the network."""

    name: str
    train: Any
    test: Any
    make_modules: Any
    kinds: tuple[str, ...]  # "encoder", "decoder", "output" per module
    feature_dims: tuple[int, ...]  # output width of each module (for MINE critics)
    input_dim: int
    classes: int
    gmi_module: int | None = None  # the module GMI trains in "gmi+mine" (App. A.2)


def _subset(x: Tensor, y: Tensor, n: int | None) -> tuple[Tensor, Tensor]:
    if n is None or n >= len(x):
        return x, y
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:n]
    return x[idx], y[idx]


def load_task(name: str, config: Config) -> Task:
    if name == "adult":
        tr, te = load_adult()
        return Task(
            name,
            _subset(tr.x, tr.y, config.train_size),
            _subset(te.x, te.y, config.test_size),
            nets.adult_mlp,
            ("encoder", "decoder", "output"),
            (64, 16, 2),
            104,
            2,
        )
    if name == "mnist":
        itr, ite = load_mnist("train"), load_mnist("test")
        return Task(
            name,
            _subset(to_float(itr.images), itr.labels, config.train_size),
            _subset(to_float(ite.images), ite.labels, config.test_size),
            nets.mnist_cnn,
            ("encoder", "encoder", "decoder", "output"),
            (32 * 13 * 13, 64 * 5 * 5, 128, 10),
            784,
            10,
        )
    if name == "mutagenicity":
        data = load_tu("Mutagenicity")
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
        split = int(0.8 * len(data))
        train, test = order[:split], order[split:]
        if config.train_size:
            train, test = train[: config.train_size], test[: config.test_size or len(test)]
        return Task(
            name,
            (data, train),
            (data, test),
            nets.mutagenicity_mpgnn,
            ("encoder", "encoder", "decoder", "output"),
            (64, 64, 64, 2),
            14,
            2,
            gmi_module=1,
        )
    if name == "cora":
        return Task(
            name,
            load_cora(),
            None,
            nets.cora_gcn,
            ("encoder", "decoder", "output"),
            (64, 64, 7),
            1433,
            7,
            gmi_module=0,
        )
    raise ValueError(f"tasks: unknown task {name!r}; known: {', '.join(ESTIMATORS)}")


def epoch_batches(task: Task, config: Config, seed: int) -> Any:
    """The batches of an epoch, as a function of the epoch: ``train_greedy``'s ``batches``."""
    if task.name == "cora":
        torchrun.refuse("cora", "one graph, which cannot be split over ranks")
        data = task.train
        return lambda epoch: [Batch(data.graph, data.y, data.train_mask)]
    if task.name == "mutagenicity":
        data, graphs = task.train

        def graph_batches(epoch: int) -> list[Batch]:
            # Under torchrun each rank takes its equal part of every batch's graphs; their numbers of
            # nodes differ, which the estimators weigh (iblearn.distributed.rank_weight).
            order = graphs[
                torch.randperm(len(graphs), generator=torch.Generator().manual_seed(seed * 1000 + epoch))
            ]
            parts = [torchrun.shard(part.sort().values) for part in torch.split(order, 64)]
            return [Batch(*data.batch(part)) for part in parts if len(part)]

        return graph_batches
    x, y = task.train
    return sharded_batches(x, y, config.batch_size, seed)


@torch.no_grad()
def accuracy(net: nn.Module, task: Task, split: str, device: torch.device = CPU) -> float:
    net.eval()
    if task.name == "cora":
        data = task.train
        mask = data.train_mask if split == "train" else data.test_mask
        predicted = net(data.graph.to(device)).argmax(1).cpu()
        return 100 * float((predicted[mask] == data.y[mask]).float().mean())
    if task.name == "mutagenicity":
        data, graphs = task.train if split == "train" else task.test
        hits = sum(int((net(g.to(device)).argmax(1).cpu() == y).sum()) for g, y in data.batches(graphs, 256))
        return 100 * hits / len(graphs)
    x, y = task.train if split == "train" else task.test
    return tensor_accuracy(net, x, y, device)


def sample_for_tsne(task: Task, n: int) -> tuple[Any, Tensor]:
    """Up to about ``n`` test inputs and their labels (Cora: the whole graph) for the t-SNE plots."""
    if task.name == "cora":
        return task.train.graph, task.train.y
    if task.name == "mutagenicity":
        data, graphs = task.test
        return data.batch(graphs[: max(1, n // 30)].sort().values)
    x, y = task.test
    return x[:n], y[:n]
