"""Graph data sets: Cora (Planetoid format, node classification) and the TU Dortmund graph-kernel
format (Mutagenicity, MUTAG; graph classification), in plain tensors.

A graph, or a batch of graphs, is a :class:`GraphBatch`: node features ``x (N, F)``, ``edge_index (2, E)``
(both directions listed), and ``batch (N,)``, the graph of each node. It has ``.x`` and ``.edge_index``,
so iblearn's graph estimators and torch-geometric both read it; torch-geometric itself is not needed.
Wherever iblearn takes a graph it takes a torch-geometric ``Data`` or ``Batch`` as well (anything with
``.x`` and ``.edge_index``: :func:`is_graph`), and it runs a module on a graph as torch-geometric's
layers are run (:func:`call_on_graph`).

Cora's Planetoid files are Python pickles (no pickle-free copy of the public split exists); they are
read by :func:`iblearn.data._pickle.load_data_pickle`, which resolves only an exact list of array,
sparse-matrix and container constructors, so a tampered file cannot run code.
"""

from __future__ import annotations

import copy
import inspect
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np
import scipy.sparse
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from iblearn.data._pickle import Damaged, load_data_pickle
from iblearn.data.vision import data_root, fetch_file

if TYPE_CHECKING:
    from typing_extensions import TypeIs  # typing.TypeIs from Python 3.13

PLANETOID = "https://github.com/kimiyoung/planetoid/raw/master/data/"
TU = "https://www.chrsmrrs.com/graphkerneldatasets/"


class GraphBatch(NamedTuple):
    """Node features, edges (both directions) and the graph of each node."""

    x: Tensor
    edge_index: Tensor
    batch: Tensor

    def with_x(self, x: Tensor) -> GraphBatch:
        return GraphBatch(x, self.edge_index, self.batch)

    def to(self, device: torch.device | str) -> GraphBatch:
        return GraphBatch(self.x.to(device), self.edge_index.to(device), self.batch.to(device))

    @property
    def num_graphs(self) -> int:
        return int(self.batch.max()) + 1 if self.batch.numel() else 0


class GraphLike(Protocol):
    """What iblearn reads of a graph: a :class:`GraphBatch`, a torch-geometric ``Data`` or ``Batch``."""

    @property
    def x(self) -> Tensor: ...

    @property
    def edge_index(self) -> Tensor: ...

    def to(self, device: torch.device | str) -> Any: ...


def is_graph(value: object) -> TypeIs[GraphLike]:
    """Whether ``value`` is a graph: an object with ``.x`` and ``.edge_index`` (not a tensor)."""
    return not isinstance(value, Tensor) and hasattr(value, "x") and hasattr(value, "edge_index")


def node_graph(graph: GraphLike | tuple[Tensor, Tensor, Tensor | None]) -> Tensor:
    """The graph of each node: the graph's ``batch``, or zeros for a single graph (a ``Data`` has none);
    ``graph`` may also be a tuple ``(x, edge_index, batch or None)``."""
    x, batch = (graph[0], graph[2]) if isinstance(graph, tuple) else (graph.x, getattr(graph, "batch", None))
    return batch if isinstance(batch, Tensor) else torch.zeros(len(x), dtype=torch.long, device=x.device)


def with_features(graph: GraphLike, x: Tensor) -> Any:
    """``graph`` with node features ``x``, of the same type: a shallow copy of a torch-geometric object
    (its edges and other attributes shared, not copied), or :meth:`GraphBatch.with_x`."""
    if isinstance(graph, GraphBatch):
        return graph.with_x(x)
    out = copy.copy(graph)
    out.x = x  # type: ignore[misc]
    return out


def _graph_arguments(module: Callable[..., Any]) -> list[str] | None:
    """The parameter names of a module called as ``module(x, edge_index, ...)`` (``module(x)`` for a
    torch-geometric ``Sequential("x", ...)``), or None for a module that takes the graph itself (fewer
    than two required positional parameters)."""
    if isinstance(module, nn.DataParallel | nn.parallel.DistributedDataParallel):
        module = module.module
    declared = getattr(getattr(module, "signature", None), "param_dict", None)
    if isinstance(declared, dict):  # torch_geometric.nn.Sequential("x, edge_index", ...): forward(*args)
        return list(declared)
    params = inspect.signature(module.forward if isinstance(module, nn.Module) else module).parameters
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind is p.VAR_POSITIONAL for p in params.values()):
        return ["x", "edge_index"]
    required = [p for p in params.values() if p.kind in positional and p.default is p.empty]
    return list(params) if len(required) >= 2 else None


def call_on_graph(module: Callable[..., Any], graph: GraphLike) -> Any:
    """Run ``module`` on ``graph`` the way its forward asks.

    * A forward with two required positional parameters, as torch-geometric's layers and models have
      (``GCNConv``, ``GCN``, ``torch_geometric.nn.Sequential("x, edge_index", ...)``):
      ``module(x, edge_index)``, and by keyword each of its further parameters that the graph holds as a
      tensor (``edge_weight``, ``edge_attr``), and ``batch`` (zeros for a single graph); a
      ``Sequential("x", ...)``: ``module(x)``. Node-level output (one row per node) comes back as the
      graph with those features (:func:`with_features`), so the next module sees the edges too; other
      output (one row per graph, from a readout) as it is.
    * Any other: ``module(graph)`` (iblearn's graph modules, a model whose forward takes a ``Data``).

    Example:
        >>> conv = lambda x, edge_index: x.flip(0)
        >>> g = GraphBatch(torch.eye(3), torch.tensor([[0, 1], [1, 2]]), torch.zeros(3, dtype=torch.long))
        >>> call_on_graph(conv, g).x[0].tolist()
        [0.0, 0.0, 1.0]
    """
    names = _graph_arguments(module)
    if names is None:
        return module(graph)
    first = [graph.x, graph.edge_index][: len(names)]  # Sequential("x", ...) takes the features alone
    held = {n: node_graph(graph) if n == "batch" else getattr(graph, n, None) for n in names[len(first) :]}
    extra = {n: v for n, v in held.items() if isinstance(v, Tensor)}
    out = module(*first, **extra)
    if isinstance(out, Tensor) and out.ndim >= 1 and len(out) == len(graph.x):
        return with_features(graph, out)
    return out


def _unpickle(path: Path) -> Any:
    with path.open("rb") as f:
        try:
            return load_data_pickle(f)
        except Damaged as err:
            raise ValueError(f"{err}; delete it to download it again") from err


def _check_planetoid(
    folder: Path, y: Any, tx: Any, ty: Any, allx: Any, ally: Any, graph: Any, test_index: NDArray[Any]
) -> None:
    """The Planetoid files fit together: every index that :func:`load_cora` follows points inside."""
    sparse = {"tx": tx, "allx": allx}
    dense = {"y": y, "ty": ty, "ally": ally}
    for name, m in sparse.items():
        if not isinstance(m, scipy.sparse.csr_matrix):
            raise ValueError(f"{folder / f'ind.cora.{name}'} holds a {type(m).__name__}, not a sparse matrix")
    for name, a in dense.items():
        if not (isinstance(a, np.ndarray) and a.ndim == 2):
            raise ValueError(f"{folder / f'ind.cora.{name}'} holds no 2-D array of one-hot labels")
    n = allx.shape[0] + tx.shape[0]
    fits = (
        tx.shape[1] == allx.shape[1]
        and ty.shape[1] == ally.shape[1] == y.shape[1]
        and (ally.shape[0], ty.shape[0]) == (allx.shape[0], tx.shape[0])
        and y.shape[0] + 500 <= n
        and len(test_index) == tx.shape[0]
        and len(np.unique(test_index)) == len(test_index)
        and ((0 <= test_index) & (test_index < n)).all()
    )
    if not fits:
        raise ValueError(f"the Planetoid files in {folder} disagree in their shapes or test indices")
    if not isinstance(graph, dict) or not all(
        isinstance(a, int) and isinstance(nbrs, list) and all(isinstance(b, int) for b in nbrs)
        for a, nbrs in graph.items()
    ):
        raise ValueError(f"{folder / 'ind.cora.graph'} is not a dict of node lists")
    nodes = [a for a in graph] + [b for nbrs in graph.values() for b in nbrs]
    if nodes and not 0 <= min(nodes) <= max(nodes) < n:
        raise ValueError(f"{folder / 'ind.cora.graph'} names nodes outside 0..{n - 1}")


@dataclass(frozen=True)
class NodeData:
    """One graph with node labels and the standard split masks."""

    graph: GraphBatch
    y: Tensor
    train_mask: Tensor
    val_mask: Tensor
    test_mask: Tensor


def load_cora(*, root: str | None = None, download: bool = True) -> NodeData:
    """Cora: 2,708 nodes, 1,433 binary features (row-normalized), 7 classes, the public split of
    Yang et al. (2016): 140 training nodes (20 per class), 500 validation, 1,000 test."""
    folder = data_root(root) / "Cora" / "raw"
    names = ["x", "y", "tx", "ty", "allx", "ally", "graph", "test.index"]
    for name in names:
        path = folder / f"ind.cora.{name}"
        if not path.exists():
            if not download:
                raise FileNotFoundError(f"{path} is missing and download=False")
            fetch_file(PLANETOID + path.name, path)
    _, y, tx, ty, allx, ally, graph = (_unpickle(folder / f"ind.cora.{n}") for n in names[:7])
    index_file = folder / "ind.cora.test.index"
    try:
        test_index = np.array([int(line) for line in index_file.read_text().split()], dtype=np.int64)
    except (ValueError, OverflowError) as err:  # UnicodeDecodeError is a ValueError
        raise ValueError(f"{index_file}: not a list of node indices ({err})") from None
    _check_planetoid(folder, y, tx, ty, allx, ally, graph, test_index)
    order = np.sort(test_index)
    features = np.vstack([allx.toarray(), tx.toarray()])
    labels = np.vstack([ally, ty])
    features[test_index] = features[order]  # Kipf & Welling's reordering of the test rows
    labels[test_index] = labels[order]
    features = features / np.maximum(features.sum(axis=1, keepdims=True), 1)
    edges = {(int(a), int(b)) for a, nbrs in graph.items() for b in nbrs if a != b}
    edges |= {(b, a) for a, b in edges}
    n = features.shape[0]
    edge_index = torch.tensor(sorted(edges), dtype=torch.long).T

    def mask(idx: Any) -> Tensor:
        m = torch.zeros(n, dtype=torch.bool)
        m[torch.as_tensor(np.asarray(idx), dtype=torch.long)] = True
        return m

    return NodeData(
        GraphBatch(torch.tensor(features, dtype=torch.float32), edge_index, torch.zeros(n, dtype=torch.long)),
        torch.tensor(labels.argmax(axis=1), dtype=torch.long),
        mask(range(y.shape[0])),
        mask(range(y.shape[0], y.shape[0] + 500)),
        mask(order),
    )


@dataclass(frozen=True)
class GraphDataset:
    """Graphs in the TU format, held as one big disjoint graph; :meth:`batches` slices it."""

    x: Tensor  # (N, F) one-hot node labels
    edge_index: Tensor  # (2, E)
    node_graph: Tensor  # (N,) graph of each node
    y: Tensor  # (G,) graph labels
    name: str

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def batch(self, graphs: Tensor) -> tuple[GraphBatch, Tensor]:
        """The given graphs as one batch (renumbered 0..B-1), and their labels."""
        keep = torch.isin(self.node_graph, graphs)
        nodes = keep.nonzero()[:, 0]
        device = self.node_graph.device  # the renumberings are indexed by the data set's tensors
        new_id = torch.full((len(self.x),), -1, dtype=torch.long, device=device)
        new_id[nodes] = torch.arange(len(nodes), device=device)
        edges = self.edge_index[:, keep[self.edge_index[0]]]
        graph_id = torch.full((int(self.node_graph.max()) + 1,), -1, dtype=torch.long, device=device)
        graph_id[graphs] = torch.arange(len(graphs), device=device)
        return (GraphBatch(self.x[nodes], new_id[edges], graph_id[self.node_graph[nodes]]), self.y[graphs])

    def batches(
        self, graphs: Tensor, size: int, gen: torch.Generator | None = None
    ) -> Iterator[tuple[GraphBatch, Tensor]]:
        order = graphs[torch.randperm(len(graphs), generator=gen)] if gen is not None else graphs
        for part in torch.split(order, size):
            yield self.batch(part.sort().values)


def _tu_files(name: str, root: str | None, download: bool) -> dict[str, str]:
    """The TU text files of a data set, from $IBLEARN_DATA/<name>/<name>.zip, a folder of them, or grakel."""
    if not (isinstance(name, str) and name and Path(name).name == name and name not in (".", "..")):
        raise ValueError(f"name: expected the name of a TU data set, such as 'MUTAG', got {name!r}")
    folder = data_root(root) / name
    archive = folder / f"{name}.zip"
    parts = ("A", "graph_indicator", "graph_labels", "node_labels")
    if not archive.exists() and not (folder / f"{name}_A.txt").exists():
        import importlib.util

        spec = importlib.util.find_spec("grakel")
        bundled = (
            Path(next(iter(spec.submodule_search_locations))) / "tests" / "data" / name
            if spec and spec.submodule_search_locations
            else None
        )
        if root is None and bundled is not None and (bundled / f"{name}_A.txt").exists():
            folder = bundled
        elif download:
            fetch_file(TU + f"{name}.zip", archive)
        else:
            raise FileNotFoundError(f"{archive} is missing and download=False")
    files = {p: f"{name}_{p}.txt" for p in parts}
    if not archive.exists():
        return {p: _text((folder / f).read_bytes(), str(folder / f)) for p, f in files.items()}
    try:
        with zipfile.ZipFile(archive) as z:
            members = {Path(m).name: m for m in z.namelist()}
            lacking = [f for f in files.values() if f not in members]
            if lacking:
                raise ValueError(f"{archive} lacks {', '.join(lacking)}")
            return {p: _text(z.read(members[f]), f"{archive}: {f}") for p, f in files.items()}
    except (zipfile.BadZipFile, EOFError, zlib.error) as err:
        raise ValueError(f"{archive} is damaged ({err}); delete it to download it again") from err


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError as err:
        raise ValueError(f"{what}: not a text file ({err})") from None


def _tu_arrays(files: dict[str, str], name: str) -> tuple[NDArray[np.int64], ...]:
    """The TU files' integers (0-based ids), checked to fit together: every edge joins two of the nodes,
    every node belongs to one of the graphs."""

    def ints(part: str, text: str) -> NDArray[np.int64]:
        try:
            return np.array([int(v) for v in text.replace(",", " ").split()], dtype=np.int64)
        except (ValueError, OverflowError) as err:
            raise ValueError(f"{name}_{part}.txt: not a list of integers ({err})") from None

    lines = [line for line in files["A"].split("\n") if line.strip()]
    if any(line.count(",") != 1 for line in lines):
        raise ValueError(f"{name}_A.txt: every line must be one edge, 'i, j'")
    edges = ints("A", "\n".join(lines)).reshape(-1, 2) - 1
    node_graph = ints("graph_indicator", files["graph_indicator"]) - 1
    node_labels = ints("node_labels", files["node_labels"])
    graph_labels = ints("graph_labels", files["graph_labels"])
    n, graphs = len(node_labels), len(graph_labels)
    if len(node_graph) != n or not n or not graphs:
        raise ValueError(
            f"{name}: {len(node_graph)} graph indicators for {n} node labels and {graphs} graphs"
        )
    if edges.size and not (0 <= edges.min() <= edges.max() < n):
        raise ValueError(f"{name}_A.txt: an edge names a node outside 1..{n}")
    if not (0 <= node_graph.min() <= node_graph.max() < graphs):
        raise ValueError(f"{name}_graph_indicator.txt: a node belongs to a graph outside 1..{graphs}")
    empty = np.flatnonzero(np.bincount(node_graph, minlength=graphs) == 0)
    if len(empty):
        raise ValueError(f"{name}_graph_indicator.txt: graph {empty[0] + 1} has no nodes")
    return edges, node_graph, node_labels, graph_labels


def load_tu(name: str, *, root: str | None = None, download: bool = True) -> GraphDataset:
    """A TU Dortmund data set (e.g. ``"Mutagenicity"``: 4,337 graphs, 14 atom types, 2 classes; or
    ``"MUTAG"``): node labels one-hot encoded as features, graph labels mapped to 0..C-1. The extra
    ``_edge_gt.txt`` some copies carry is not part of the data set and is ignored."""
    edges, node_graph, node_labels, graph_labels = _tu_arrays(_tu_files(name, root, download), name)
    kinds = np.unique(node_labels)
    x = (node_labels[:, None] == kinds[None, :]).astype(np.float32)
    classes = np.unique(graph_labels)
    edge_index = np.concatenate([edges.T, edges.T[::-1]], axis=1)  # both directions (TU lists most twice)
    edge_index = np.unique(edge_index, axis=1)
    return GraphDataset(
        torch.from_numpy(x),
        torch.from_numpy(edge_index).long(),
        torch.from_numpy(node_graph).long(),
        torch.from_numpy(np.searchsorted(classes, graph_labels)).long(),
        name,
    )
