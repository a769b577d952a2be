"""A torch-geometric GCN trained module by module with MOLE's objectives (paper 001) by train_greedy.

MOLE gives each module its own objective and isolates the gradients between them: the first graph
convolution (encoder-like) maximizes I(T; X) with GMI, the second (decoder-like) I(T; Y) with MINE,
and the output layer minimizes cross-entropy. Everything is torch-geometric as you would write it:
the graph is a ``Data`` (labels ``.y``, labelled nodes ``.train_mask``), the modules are ``GCNConv``
blocks built with ``torch_geometric.nn.Sequential``; ``train_greedy`` calls each as
``module(x, edge_index)`` and passes the graph on with the new node features.

    python examples/mole_graph.py            # Cora (public split), 200 epochs a module, 2-6 minutes
    python examples/mole_graph.py --quick    # a synthetic 4-block graph of 400 nodes, a few seconds

Needs torch-geometric (`pip install 'iblearn[graph]'`). Cora is read from $IBLEARN_DATA/Cora or
downloaded once (iblearn.data.graphs.load_cora).
"""

from __future__ import annotations

import argparse

import torch
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv, Sequential
from torch_geometric.utils import stochastic_blockmodel_graph, to_undirected

from iblearn.data.graphs import load_cora
from iblearn.training import CrossEntropy, InfoMax, Standardize, apply_modules, train_greedy


def gcn(in_dim: int, out_dim: int, dropout: float = 0.5) -> Sequential:
    """Dropout, a graph convolution, ReLU: one module of the network."""
    return Sequential(
        "x, edge_index",
        [(nn.Dropout(dropout), "x -> x"), (GCNConv(in_dim, out_dim), "x, edge_index -> x"), nn.ReLU()],
    )


def synthetic_graph(seed: int = 0) -> Data:
    """4 blocks of 100 nodes, denser within blocks; noisy 16-d features that hint at the block."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # stochastic_blockmodel_graph draws from the global generator
    sizes, p = [100] * 4, torch.full((4, 4), 0.005) + 0.045 * torch.eye(4)
    edge_index = to_undirected(stochastic_blockmodel_graph(sizes, p))
    y = torch.arange(4).repeat_interleave(100)
    x = torch.randn(4, 16, generator=gen)[y] + 2.0 * torch.randn(400, 16, generator=gen)
    perm = torch.randperm(400, generator=gen)
    train_mask, test_mask = torch.zeros(400, dtype=torch.bool), torch.zeros(400, dtype=torch.bool)
    train_mask[perm[:80]], test_mask[perm[200:]] = True, True
    return Data(x=x, edge_index=edge_index, y=y, train_mask=train_mask, test_mask=test_mask)


def cora() -> Data:
    """Cora's public split as a torch-geometric Data (torch_geometric.datasets.Planetoid gives the same)."""
    cora = load_cora()
    graph = cora.graph
    return Data(
        x=graph.x, edge_index=graph.edge_index, y=cora.y, train_mask=cora.train_mask, test_mask=cora.test_mask
    )


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a synthetic graph, 30 epochs a module")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # many small operations: one thread is fastest, above all on shared cores

    data = synthetic_graph(args.seed) if args.quick else cora()
    features, classes, width = data.num_features, int(data.y.max()) + 1, 64
    torch.manual_seed(args.seed)
    modules = [
        gcn(features, width),  # encoder-like
        gcn(width, width),  # decoder-like
        # the output layer: logits per node from standardized features (fitted once, on frozen input)
        Sequential("x", [(Standardize(), "x -> x"), (nn.Linear(width, classes), "x -> x")]),
    ]
    objectives = [
        InfoMax("input", "gmi", rep_dim=width, feature_dim=features, seed=args.seed),  # I(T1; X), GMI
        InfoMax("label", "mine", x_dim=width, y_classes=classes, hidden=(128,), seed=args.seed),  # I(T2; Y)
        CrossEntropy(),
    ]
    # One graph: every epoch is one full-graph step; the labels count on .train_mask's nodes only.
    result = train_greedy(
        modules,
        objectives,
        data,
        epochs=30 if args.quick else 200,
        mode="sequential",  # module 1 to the end, frozen, then module 2, ...
        optimizer=[lambda p: torch.optim.Adam(p, lr=1e-3)] * 2 + [lambda p: torch.optim.Adam(p, lr=1e-2)],
    )
    for k, history in enumerate(result.histories):
        last = history[-1]
        print(f"module {k}: " + ", ".join(f"{key} {value:.4g}" for key, value in last.items()))

    with torch.no_grad():
        logits = apply_modules(modules, data).x  # trained modules are frozen, in eval mode
    accuracy = float((logits.argmax(1)[data.test_mask] == data.y[data.test_mask]).float().mean())
    print(f"test accuracy {accuracy:.4f} on {int(data.test_mask.sum())} nodes")
    return accuracy


if __name__ == "__main__":
    main()
