"""A torch-geometric GCN trained module by module with MOLE's objectives (paper 001) by train_greedy.

MOLE gives each module its own objective and isolates the gradients between them: the first graph
convolution (encoder-like) maximizes I(T; X) with GMI, the second (decoder-like) I(T; Y) with MINE,
and the output layer minimizes cross-entropy. The layers are torch-geometric's ``GCNConv``;
``train_greedy`` passes iblearn's ``GraphBatch`` (``.x``, ``.edge_index``, ``.batch``) between modules,
so each torch-geometric layer is wrapped to take and return one (``PyGLayer`` below).

    python examples/mole_graph.py            # Cora (public split), 200 epochs a module, about 3 minutes
    python examples/mole_graph.py --quick    # a synthetic 4-block graph of 400 nodes, a few seconds

Needs torch-geometric (`pip install 'iblearn[graph]'`). Cora is read from $IBLEARN_DATA/Cora or
downloaded once (iblearn.data.graphs.load_cora).
"""

from __future__ import annotations

import argparse

import torch
from torch import nn
from torch_geometric.nn import GCNConv
from torch_geometric.utils import stochastic_blockmodel_graph, to_undirected

from iblearn.data.graphs import GraphBatch, NodeData, load_cora
from iblearn.training import Batch, CrossEntropy, InfoMax, Standardize, train_greedy


class PyGLayer(nn.Module):
    """A torch-geometric layer ``conv(x, edge_index)`` as a module of train_greedy: GraphBatch in and out."""

    def __init__(self, conv: nn.Module, dropout: float = 0.5) -> None:
        super().__init__()
        self.conv, self.dropout = conv, nn.Dropout(dropout)

    def forward(self, g: GraphBatch) -> GraphBatch:
        return g.with_x(torch.relu(self.conv(self.dropout(g.x), g.edge_index)))


class NodeOutput(nn.Module):
    """Logits per node: the output module, standardized input then a linear layer."""

    def __init__(self, in_dim: int, classes: int) -> None:
        super().__init__()
        self.standardize, self.linear = Standardize(), nn.Linear(in_dim, classes)

    def forward(self, g: GraphBatch) -> torch.Tensor:
        return self.linear(self.standardize(g).x)


def synthetic_graph(seed: int = 0) -> NodeData:
    """4 blocks of 100 nodes, denser within blocks; noisy 16-d features that hint at the block."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # stochastic_blockmodel_graph draws from the global generator
    sizes, p = [100] * 4, torch.full((4, 4), 0.005) + 0.045 * torch.eye(4)
    edge_index = to_undirected(stochastic_blockmodel_graph(sizes, p))
    y = torch.arange(4).repeat_interleave(100)
    x = torch.randn(4, 16, generator=gen)[y] + 2.0 * torch.randn(400, 16, generator=gen)
    perm = torch.randperm(400, generator=gen)
    train, val, test = (torch.zeros(400, dtype=torch.bool) for _ in range(3))
    train[perm[:80]], val[perm[80:200]], test[perm[200:]] = True, True, True
    graph = GraphBatch(x, edge_index, torch.zeros(400, dtype=torch.long))
    return NodeData(graph, y, train, val, test)


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a synthetic graph, 30 epochs a module")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # many small operations: one thread is fastest, above all on shared cores

    data = synthetic_graph(args.seed) if args.quick else load_cora()
    features, classes, width = data.graph.x.shape[1], int(data.y.max()) + 1, 64
    torch.manual_seed(args.seed)
    modules = [
        PyGLayer(GCNConv(features, width)),  # encoder-like
        PyGLayer(GCNConv(width, width)),  # decoder-like
        NodeOutput(width, classes),
    ]
    objectives = [
        InfoMax("input", "gmi", rep_dim=width, feature_dim=features, seed=args.seed),  # I(T1; X), GMI
        InfoMax("label", "mine", x_dim=width, y_classes=classes, hidden=(128,), seed=args.seed),  # I(T2; Y)
        CrossEntropy(),
    ]
    # One graph: every epoch is one full-graph step, on the labelled (training) nodes only.
    batches = [Batch(data.graph, data.y, data.train_mask)]
    result = train_greedy(
        modules,
        objectives,
        batches,
        epochs=30 if args.quick else 200,
        mode="sequential",  # module 1 to the end, frozen, then module 2, ...
        optimizer=[lambda p: torch.optim.Adam(p, lr=1e-3)] * 2 + [lambda p: torch.optim.Adam(p, lr=1e-2)],
    )
    for k, history in enumerate(result.histories):
        last = history[-1]
        print(f"module {k}: " + ", ".join(f"{key} {value:.4g}" for key, value in last.items()))

    g = data.graph
    with torch.no_grad():
        for module in modules:
            module.eval()
            g = module(g)
    accuracy = float((g.argmax(1)[data.test_mask] == data.y[data.test_mask]).float().mean())
    print(f"test accuracy {accuracy:.4f} on {int(data.test_mask.sum())} nodes")
    return accuracy


if __name__ == "__main__":
    main()
