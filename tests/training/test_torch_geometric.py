"""torch-geometric as users hold it: a ``Data`` / ``Batch`` wherever iblearn takes a graph, layers whose
forward takes ``(x, edge_index)`` as modules of train_greedy, and the same numbers as iblearn's own
``GraphBatch``. The rules of :func:`call_on_graph` are checked first without torch-geometric."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import Tensor, nn

from iblearn.data.graphs import GraphBatch, call_on_graph, node_graph
from iblearn.estimators import DGI, GMI
from iblearn.models.mole import GCNLayer, MessagePassing, NodeOutput
from iblearn.training import Batch, CrossEntropy, InfoMax, apply_modules, train_greedy


def ring(n: int, offset: int = 0) -> Tensor:
    src = torch.arange(n)
    dst = (src + 1) % n
    return torch.stack([torch.cat([src, dst]), torch.cat([dst, src])]) + offset


class Conv(nn.Module):
    """A graph convolution in torch-geometric's style, in plain torch: forward(x, edge_index)."""

    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.lin = nn.Linear(i, o)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        agg = torch.zeros_like(x).index_add(0, edge_index[1], x[edge_index[0]])
        return torch.relu(self.lin(x + agg))


class Wrapped(nn.Module):
    """What a user had to write before: the same convolution taking and returning a GraphBatch."""

    def __init__(self, conv: Conv) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, g: GraphBatch) -> GraphBatch:
        return g.with_x(self.conv(g.x, g.edge_index))


class Graph:
    """A graph object that is neither a GraphBatch nor torch-geometric's: .x, .edge_index, an edge weight."""

    def __init__(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor) -> None:
        self.x, self.edge_index, self.edge_weight = x, edge_index, edge_weight


def test_call_on_graph_passes_what_the_forward_names():
    g = torch.Generator().manual_seed(0)
    graph = Graph(torch.randn(4, 2, generator=g), ring(4), torch.rand(8, generator=g))
    seen = {}

    def weighted(x, edge_index, edge_weight=None, batch=None):
        seen.update(edge_weight=edge_weight, batch=batch)
        return 2 * x

    out = call_on_graph(weighted, graph)
    assert isinstance(out, Graph) and out is not graph and out.edge_index is graph.edge_index
    assert torch.equal(out.x, 2 * graph.x) and torch.equal(graph.x, graph.x)  # the input is left alone
    assert seen["edge_weight"] is graph.edge_weight
    assert torch.equal(seen["batch"], torch.zeros(4, dtype=torch.long))  # one graph: it holds no batch
    readout = call_on_graph(lambda x, edge_index, batch: x.sum(0, keepdim=True), GraphBatch(*g3()))
    assert isinstance(readout, Tensor) and readout.shape == (1, 2)  # one row per graph: as it is
    assert call_on_graph(lambda graph: graph.x.shape, graph) == (4, 2)  # one argument: the graph
    assert call_on_graph(lambda graph, scale=2: graph.x.shape, graph) == (4, 2)


def g3() -> tuple[Tensor, Tensor, Tensor]:
    return torch.ones(3, 2), ring(3), torch.zeros(3, dtype=torch.long)


def test_node_graph_of_a_single_graph_is_zeros():
    assert torch.equal(node_graph(Graph(torch.ones(3, 1), ring(3), torch.ones(6))), torch.zeros(3).long())


def _node_task(n: int = 60, seed: int = 0) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = torch.randn(n, 5, generator=g) + y[:, None].float()
    mask = torch.rand(n, generator=g) < 0.5
    return x, ring(n), y, mask


def _objectives(features: int, width: int) -> list:
    return [
        InfoMax("input", "gmi", rep_dim=width, feature_dim=features),
        InfoMax("label", "mine", x_dim=width, y_classes=3, hidden=(16,)),
        CrossEntropy(),
    ]


def _trained(modules, batches, mode="sequential"):
    result = train_greedy(modules, _objectives(5, 8), batches, epochs=2, mode=mode)
    return [{k: v for k, v in row.items() if k != "seconds"} for h in result.histories for row in h]


@pytest.mark.parametrize("mode", ["sequential", "isolated"])
def test_a_module_taking_x_and_edge_index_trains_as_its_graphbatch_wrapper(mode):
    x, edges, y, mask = _node_task()
    graph = GraphBatch(x, edges, torch.zeros(len(x), dtype=torch.long))
    torch.manual_seed(0)
    plain = [Conv(5, 8), Conv(8, 8), NodeOutput(8, 3)]
    wrapped = copy.deepcopy(plain)
    wrapped[:2] = [Wrapped(m) for m in wrapped[:2]]
    rows = _trained(plain, [Batch(graph, y, mask)], mode)
    assert rows == _trained(wrapped, [Batch(graph, y, mask)], mode)
    for a, b in zip(nn.ModuleList(plain).parameters(), nn.ModuleList(wrapped).parameters(), strict=True):
        assert torch.equal(a, b)


# ------------------------------------------------------------------------------ with torch-geometric
def pyg():
    return pytest.importorskip("torch_geometric", reason="needs the graph extra")


def _data(n: int = 60, seed: int = 0):
    x, edges, y, mask = _node_task(n, seed)
    return pyg().data.Data(x=x, edge_index=edges, y=y, train_mask=mask)


def _gcn(i: int, o: int):
    tg = pyg()
    block = [(nn.Dropout(0.2), "x -> x"), (tg.nn.GCNConv(i, o), "x, edge_index -> x"), nn.ReLU()]
    return tg.nn.Sequential("x, edge_index", block)


@pytest.mark.parametrize("mode", ["sequential", "isolated"])
def test_a_data_object_trains_as_the_same_graphbatch(mode):
    """GCNConv blocks on a PyG Data (labels .y, labelled nodes .train_mask) and on the equivalent
    GraphBatch: the same histories and the same weights, bit for bit."""
    data = _data()
    graph = GraphBatch(data.x, data.edge_index, torch.zeros(data.num_nodes, dtype=torch.long))
    torch.manual_seed(0)
    modules = [_gcn(5, 8), _gcn(8, 8), NodeOutput(8, 3)]
    twins = copy.deepcopy(modules)
    torch.manual_seed(1)
    rows = _trained(modules, data, mode)  # one Data stands for the batches: one full-graph step an epoch
    torch.manual_seed(1)
    assert rows == _trained(twins, [Batch(graph, data.y, data.train_mask)], mode)
    for a, b in zip(nn.ModuleList(modules).parameters(), nn.ModuleList(twins).parameters(), strict=True):
        assert torch.equal(a, b)
    nn.ModuleList(modules + twins).eval()  # isolated training leaves them in training mode: dropout
    logits = apply_modules(modules, data)
    assert logits.shape == (60, 3) and torch.equal(logits, apply_modules(twins, graph))


class Pool(nn.Module):
    """A readout in torch-geometric's style: forward(x, edge_index, batch), one row per graph."""

    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.lin = nn.Linear(i, o)

    def forward(self, x: Tensor, edge_index: Tensor, batch: Tensor) -> Tensor:
        return self.lin(pyg().nn.global_mean_pool(x, batch))


def test_a_pyg_dataloader_of_graphs_trains_as_the_same_graphbatches():
    tg = pyg()
    g = torch.Generator().manual_seed(2)
    graphs = [
        tg.data.Data(x=torch.randn(n, 5, generator=g), edge_index=ring(n), y=torch.tensor([n % 2]))
        for n in (5, 6, 7, 8, 9, 10)
    ]
    loader = tg.loader.DataLoader(graphs, batch_size=3)  # not shuffled: both runs see the same batches
    same = [Batch(GraphBatch(b.x, b.edge_index, b.batch), b.y) for b in loader]
    torch.manual_seed(0)
    modules = [tg.nn.GCNConv(5, 8), tg.nn.GCNConv(8, 8), Pool(8, 2)]
    twins = copy.deepcopy(modules)

    def objectives():
        return [
            InfoMax("input", "gmi", rep_dim=8, feature_dim=5),
            InfoMax("label", "mine", x_dim=8, y_classes=2, hidden=(16,)),
            CrossEntropy(),
        ]

    a = train_greedy(modules, objectives(), loader, epochs=2)
    b = train_greedy(twins, objectives(), same, epochs=2)
    strip = [[{k: v for k, v in r.items() if k != "seconds"} for r in h] for h in a.histories]
    assert strip == [[{k: v for k, v in r.items() if k != "seconds"} for r in h] for h in b.histories]
    assert apply_modules(modules, next(iter(loader))).shape == (3, 2)  # one row per graph


def test_graph_estimators_give_the_same_estimate_for_a_data_and_a_graphbatch():
    tg = pyg()
    g = torch.Generator().manual_seed(3)
    parts = [tg.data.Data(x=torch.randn(30, 4, generator=g), edge_index=ring(30)) for _ in range(2)]
    batch = tg.data.Batch.from_data_list(parts)
    graph = GraphBatch(batch.x, batch.edge_index, batch.batch)
    h = torch.tanh(batch.x @ torch.randn(4, 6, generator=g))
    gmi_a, gmi_b = GMI(6, 4, lr=1e-2).fit(h, batch, steps=20), GMI(6, 4, lr=1e-2).fit(h, graph, steps=20)
    assert float(gmi_a(h, batch)) == float(gmi_b(h, graph)) == float(gmi_b(h, tuple(graph)))
    torch.manual_seed(0)
    conv = tg.nn.GCNConv(4, 6)
    dgi_a, dgi_b = DGI(conv, 6).fit(h, batch, steps=20), DGI(conv, 6).fit(h, graph, steps=20)
    assert float(dgi_a(h, batch)) == float(dgi_b(h, graph))
    torch.testing.assert_close(dgi_a.batch_mi(h, batch), dgi_b.batch_mi(h, graph), rtol=0, atol=0)

    class OnData(nn.Module):  # a model whose forward takes the Data: the same convolution
        def __init__(self) -> None:
            super().__init__()
            self.conv = conv

        def forward(self, data):
            return self.conv(data.x, data.edge_index)

    on_data = DGI(OnData(), 6).fit(h, batch, steps=20)
    assert float(on_data(h, batch)) == float(dgi_a(h, batch))


def test_the_hand_written_layers_compute_their_pyg_counterparts():
    """The docstrings of GCNLayer and MessagePassing name GCNConv and GraphConv as the same layers."""
    tg = pyg()
    g = torch.Generator().manual_seed(4)
    graph = GraphBatch(torch.randn(12, 3, generator=g), ring(12), torch.zeros(12, dtype=torch.long))
    ours = GCNLayer(3, 4, dropout=0.0)
    theirs = tg.nn.GCNConv(3, 4)
    with torch.no_grad():
        theirs.lin.weight.copy_(ours.linear.weight)
        ours.linear.bias.zero_()  # GCNConv adds its bias after propagating, GCNLayer before
        theirs.bias.zero_()
    torch.testing.assert_close(ours(graph).x, torch.relu(theirs(graph.x, graph.edge_index)))
    mp = MessagePassing(3, 4)
    conv = tg.nn.GraphConv(3, 4, aggr="add")
    with torch.no_grad():
        conv.lin_rel.weight.copy_(mp.nbr_weight.weight)
        conv.lin_rel.bias.copy_(mp.self_weight.bias)
        conv.lin_root.weight.copy_(mp.self_weight.weight)
    torch.testing.assert_close(mp(graph).x, torch.relu(conv(graph.x, graph.edge_index)))


def test_bad_graph_input_is_named():
    tg = pyg()
    data = _data()
    objectives = _objectives(5, 8)
    with pytest.raises(ValueError, match=r"batches: a graph \(Data\) needs its labels as \.y"):
        train_greedy([_gcn(5, 8)], objectives[:1], tg.data.Data(x=data.x, edge_index=data.edge_index))
    with pytest.raises(ValueError, match=r"modules\[0\]: cannot take its input \(a graph\)"):
        train_greedy([tg.nn.GCNConv(7, 8)], objectives[:1], data)  # 5 features, not 7
    with pytest.raises(ValueError, match=r"modules\[0\]: cannot take its input \(shape \(60, 5\)\)"):
        train_greedy([tg.nn.GCNConv(5, 8)], [CrossEntropy()], [Batch(data.x, data.y)])  # no edges
    with pytest.raises(
        ValueError, match=r"objectives\[0\]: I\(T;X\) by gmi cannot take modules\[0\]'s output, a vector"
    ):
        train_greedy([Pool(5, 8)], objectives[:1], data)  # a readout's rows are graphs, not nodes
