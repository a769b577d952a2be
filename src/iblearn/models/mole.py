"""The networks of MOLE's Table 1 (Li & Pei 2023, App. A.2) and Elad et al. (2019)'s MLP, each as a list of
modules: the units that greedy training trains one at a time. ``nn.Sequential(*modules)`` is the same network
for end-to-end backpropagation.

Graph modules take and return a graph (an iblearn :class:`~iblearn.data.graphs.GraphBatch`, or a
torch-geometric ``Data`` / ``Batch``: node representations plus the edges), written in plain torch
(``index_add``) so that the reproductions run without torch-geometric; the readout turns node
representations into one vector per graph. With torch-geometric installed, its layers do the same work
and more of it (sparse kernels, cached normalization, edge weights): :func:`~iblearn.training.train_greedy`
takes them as they are, so prefer them in a network of your own; each class below names its
counterpart. Widths not given by the papers are ours.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from iblearn.data.graphs import GraphLike, node_graph, with_features
from iblearn.training import apply_modules


def adult_mlp() -> list[nn.Module]:
    """MLP 104-64-16-2 with ReLU (App. A.2): encoder-like, decoder-like, output."""
    return [
        nn.Sequential(nn.Linear(104, 64), nn.ReLU()),
        nn.Sequential(nn.Linear(64, 16), nn.ReLU()),
        nn.Linear(16, 2),
    ]


def mnist_cnn() -> list[nn.Module]:
    """Two convolutional layers (encoder-like) and two fully connected ones (decoder-like, output)."""
    return [
        nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2)),  # 28 -> 13
        nn.Sequential(nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2)),  # 13 -> 5
        nn.Sequential(nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU()),
        nn.Linear(128, 10),
    ]


def layerwise_mlp(
    widths: tuple[int, ...] = (512, 256, 128), in_dim: int = 784, *, linear_output: bool = False
) -> list[nn.Module]:
    """Elad et al. (2019)'s three-layer MLP (widths ours; its supplementary material is not part of the text).

    Every layer is Linear + ReLU, except the last when ``linear_output``: then it is the net's output
    Y-hat with no activation, so that a linear layer post-trained on it folds into it (Sec. 4).
    """
    layers: list[nn.Module] = []
    previous = in_dim
    for i, width in enumerate(widths):
        last = linear_output and i == len(widths) - 1
        layers.append(
            nn.Sequential(
                *([nn.Flatten()] if i == 0 else []),
                nn.Linear(previous, width),
                *([] if last else [nn.ReLU()]),
            )
        )
        previous = width
    return layers


def small_convnet(in_channels: int = 1) -> list[nn.Module]:
    """Elad et al. (2019)'s conv-net stand-in (for Fashion-MNIST, in place of CIFAR-10): three conv blocks."""
    return [
        nn.Sequential(nn.Conv2d(in_channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Sequential(nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()),
    ]


class NodeLinear(nn.Module):
    """A linear layer (and activation) applied to every node's representation; with torch-geometric,
    ``torch_geometric.nn.Sequential("x", [(Linear(in_dim, out_dim), "x -> x"), ReLU()])`` is the same."""

    def __init__(self, in_dim: int, out_dim: int, activation: bool = True) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim)
        self.activation = nn.ReLU() if activation else nn.Identity()

    def forward(self, g: GraphLike) -> Any:
        return with_features(g, self.activation(self.linear(g.x)))


class MessagePassing(nn.Module):
    """``h_i' = ReLU(W_self h_i + W_nbr sum_{j in N(i)} h_j)`` (the GraphConv form of an MPNN layer).

    torch-geometric's ``GraphConv(in_dim, out_dim, aggr="add")`` followed by a ReLU computes the same
    function (its ``lin_rel`` is ``W_nbr`` with a bias, its ``lin_root`` ``W_self`` without); use it
    where torch-geometric is installed and this one where it is not (the MOLE reproduction uses this).
    """

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.self_weight = nn.Linear(in_dim, out_dim)
        self.nbr_weight = nn.Linear(in_dim, out_dim, bias=False)

    def forward(self, g: GraphLike) -> Any:
        src, dst = g.edge_index
        agg = torch.zeros_like(g.x).index_add(0, dst, g.x[src])
        return with_features(g, torch.relu(self.self_weight(g.x) + self.nbr_weight(agg)))


class GCNLayer(nn.Module):
    """Kipf & Welling's graph convolution: dropout, then ``D^-1/2 (A + I) D^-1/2 (H W + b)``, then ReLU
    (unless ``activation`` is False).

    torch-geometric's ``GCNConv(in_dim, out_dim)`` is the same convolution but for the bias, which it
    adds after propagating, and it has edge weights, cached normalization for a fixed graph and sparse
    kernels. In a network of your own, with torch-geometric installed, use it:

        Sequential("x, edge_index", [(Dropout(p), "x -> x"), (GCNConv(i, o), "x, edge_index -> x"), ReLU()])

    (``torch_geometric.nn.Sequential``); this one keeps the MOLE reproduction free of torch-geometric.
    """

    def __init__(self, in_dim: int, out_dim: int, dropout: float = 0.5, activation: bool = True) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim)
        self.dropout = nn.Dropout(dropout)
        self.activation = activation

    def forward(self, g: GraphLike) -> Any:
        n = g.x.shape[0]
        loops = torch.arange(n, device=g.x.device)
        src = torch.cat([g.edge_index[0], loops])
        dst = torch.cat([g.edge_index[1], loops])
        deg = torch.zeros(n, device=g.x.device).index_add(0, dst, torch.ones_like(dst, dtype=torch.float))
        norm = (deg[src] * deg[dst]).rsqrt()
        h = self.linear(self.dropout(g.x))
        out = torch.zeros_like(h).index_add(0, dst, h[src] * norm[:, None])
        return with_features(g, torch.relu(out) if self.activation else out)


class Readout(nn.Module):
    """Mean of each graph's node representations, then a linear layer: one output per graph
    (torch-geometric: ``global_mean_pool(x, batch)`` then ``Linear``, in a module whose forward takes
    ``(x, edge_index, batch)``)."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim)

    def forward(self, g: GraphLike) -> Tensor:
        batch = node_graph(g)
        graphs = int(batch.max()) + 1 if batch.numel() else 0
        sums = torch.zeros(graphs, g.x.shape[1], device=g.x.device).index_add(0, batch, g.x)
        counts = torch.bincount(batch, minlength=graphs).clamp_min(1).to(g.x.dtype)
        return self.linear(sums / counts[:, None])


class NodeOutput(nn.Module):
    """The last layer of a node classifier: logits per node."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim)

    def forward(self, g: GraphLike) -> Tensor:
        return self.linear(g.x)


def mutagenicity_mpgnn(features: int = 14, width: int = 64) -> list[nn.Module]:
    """Node embedding (a linear layer), two message-passing layers, then readout and the classifier."""
    return [
        NodeLinear(features, width),
        MessagePassing(width, width),
        MessagePassing(width, width),
        Readout(width, 2),
    ]


def cora_gcn(features: int = 1433, classes: int = 7, width: int = 64) -> list[nn.Module]:
    """Two graph convolutions (encoder-like, decoder-like) and a fully connected output layer."""
    return [GCNLayer(features, width), GCNLayer(width, width), NodeOutput(width, classes)]


class Sequential(nn.Module):
    """The modules composed end to end (for backpropagation baselines and AA-MINE's sub-networks), run as
    :func:`~iblearn.training.train_greedy` runs them (:func:`~iblearn.training.apply_modules`)."""

    def __init__(self, modules: list[nn.Module]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(modules)

    def forward(self, x: Tensor | GraphLike) -> Any:
        return apply_modules(list(self.layers), x)  # torch-geometric layers take (x, edge_index)
