"""MI between node representations and the input graph: DGI (Velickovic et al. 2019) and GMI
(Peng et al. 2020).

Both are called as ``est(h, graph)``: ``h (N, D)`` node representations, ``graph`` a torch-geometric
``Data`` or ``Batch`` (anything with ``.x (N, F)`` and ``.edge_index (2, E)``, optionally ``.batch``), an
iblearn :class:`~iblearn.data.graphs.GraphBatch`, or a tuple ``(x, edge_index[, batch])``; the same graph
in any of these forms gives the same estimate. The math is plain torch (``index_add``), so
torch-geometric (the ``graph`` extra) is needed for its data sets and layers, not for these estimators.

* GMI estimates I(H; X) on the graph: feature MI (FMI), a Jensen-Shannon critic ``h_i^T W x_j`` on every
  edge (self-loops included) weighted by ``w_ij = sigmoid(h_i . h_j)``, with negatives from shuffled
  features; plus topology MI (TMI), a cross-entropy that makes ``w_ij`` predict the edges. The reported
  estimate is the DV bound of the FMI critic (nats per node-neighbour pair). A network trained with GMI
  maximizes GMI's objective itself, weighted FMI plus ``tmi_weight`` TMI (:meth:`GMI.module_objective`):
  TMI depends on h alone, so it reaches the network and not the critic. MOLE uses it on its first graph
  layer, "the MI between two graphs" (Li & Pei 2023, App. A.2).
* DGI estimates the MI between each node's representation and the graph summary
  ``s = sigmoid(mean h)``, with a bilinear critic and negatives from the encoder run on shuffled
  features; so it needs the ``encoder``.

Under ``torch.distributed`` (:mod:`iblearn.distributed`) a rank's rows are **its own
graphs**: each rank passes a graph (one, or a ``Batch`` of several) whose edges join its own nodes, and
the global batch is the disjoint union of every rank's graphs in rank order, what one process would get
from ``Batch.from_data_list`` of all of them. A graph cannot be split over ranks (an edge between two
ranks' nodes has no index on either), and need not be: ranks may hold different numbers of nodes and
edges. Negatives shuffle the features of every rank's nodes (gathered), with the permutation of the
global batch drawn alike on every rank; each rank's bound is its share of the means over every rank's
edges or nodes (:func:`~iblearn.distributed.share_of_mean`) and of GMI's weight sum, and
``log E_Q[exp T]`` is over every rank's negatives, so the mean over ranks of the per-rank values and
gradients is the single-process one on the union. ``est(h, graph)`` reports that value on every rank.
A rank that passes the whole graph, as every other rank does, counts it once per rank (a transductive
graph such as Cora is one graph: train on it in one process, or give each rank its own graphs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn import distributed
from iblearn._modes import evaluating
from iblearn.data.graphs import GraphBatch, call_on_graph, is_graph, node_graph, with_features
from iblearn.estimators.base import MIEstimate, SettingCheck
from iblearn.estimators.critics import seeded
from iblearn.estimators.neural.bound import BoundEstimator
from iblearn.estimators.neural.inputs import as_input, param_dtype
from iblearn.estimators.neural.negatives import derangements
from iblearn.functional.bounds import dv_bound, js_bound, log_mean_exp

Graph = tuple[Tensor, Tensor, Tensor | None]
# A checked graph as the estimators pass it on: (x, edge_index, batch) and the object it came from when
# that was a torch-geometric one (DGI runs its encoder on it); a plain tuple, as ``detached`` keeps it.
Checked = tuple[Tensor, Tensor, Tensor | None, Any]


def as_graph(graph: Any, name: str = "graph") -> Graph:
    """``(x, edge_index, batch)`` from a torch-geometric Data object or a tuple, checked."""
    if isinstance(graph, tuple):  # not a list: est(h, [...]) would read as rows of samples
        if len(graph) not in (2, 3):
            raise ValueError(f"{name}: expected (x, edge_index) or (x, edge_index, batch)")
        x, edge_index, batch = graph[0], graph[1], graph[2] if len(graph) == 3 else None
    elif hasattr(graph, "x") and hasattr(graph, "edge_index"):
        x, edge_index, batch = graph.x, graph.edge_index, getattr(graph, "batch", None)
    else:
        raise ValueError(
            f"{name}: expected a graph with .x and .edge_index, or a tuple, got {type(graph).__name__}"
        )
    x = V.continuous(x, f"{name}.x")
    edges = V.as_tensor(edge_index, f"{name}.edge_index")
    if edges.is_floating_point() or edges.ndim != 2 or edges.shape[0] != 2:
        raise ValueError(
            f"{name}.edge_index: expected integer indices of shape (2, E), got {tuple(edges.shape)}"
        )
    V.same_device((f"{name}.x", x), (f"{name}.edge_index", edges))
    if edges.numel() and (int(edges.min()) < 0 or int(edges.max()) >= len(x)):
        raise ValueError(f"{name}.edge_index: node indices must lie in [0, {len(x)})")
    if batch is not None:
        batch = V.labels(batch, f"{name}.batch")
        V.same_device((f"{name}.x", x), (f"{name}.batch", batch))
        V.same_length((f"{name}.x", x), (f"{name}.batch", batch))
    return x, edges.long(), batch


class BilinearCritic(nn.Module):
    """``T(a, b) = a^T W b``, scored row by row."""

    separable = False

    def __init__(self, a_dim: int, b_dim: int) -> None:
        super().__init__()
        self.weight = nn.Linear(b_dim, a_dim, bias=False)

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        return (a * self.weight(b)).sum(dim=1)


def encoder_call(value: Any, name: str) -> Callable[[Tensor, Tensor], Tensor]:
    if not callable(value):
        raise ValueError(f"{name}: expected a callable encoder(x, edge_index) -> h")
    return value  # type: ignore[no-any-return]


class _GraphEstimator(BoundEstimator):
    """Graph estimators see the whole graph at every step."""

    accepts = frozenset({"graph"})
    graph_y = True

    def __init__(
        self,
        rep_dim: int,
        feature_dim: int | None = None,
        *,
        lr: float = 1e-3,
        seed: int = 0,
        base: float = math.e,
    ) -> None:
        self.rep_dim = V.positive_int(rep_dim, "rep_dim")  # the width of the node representations h
        # The width of the node features the critic takes (GMI; None: not the critic's input).
        self.feature_dim = None if feature_dim is None else V.positive_int(feature_dim, "feature_dim")
        super().__init__(lr=lr, average=None, seed=seed, base=base)

    def build_critic(self) -> nn.Module:
        """``h^T W x`` (GMI: h against the node features) or ``h^T W s`` (DGI: h against the graph
        summary, so ``feature_dim`` is None), drawn from ``seed``."""
        return seeded(lambda: BilinearCritic(self.rep_dim, self.feature_dim or self.rep_dim), self.seed)

    def _inputs(self, x: Any, y: Any) -> tuple[Tensor, Any]:
        h = V.continuous(as_input(x, "h", param_dtype(self.critic)), "h")
        graph: Checked = (*as_graph(y), None if isinstance(y, tuple) else y)
        if h.ndim != 2 or h.shape[1] != self.rep_dim:
            raise ValueError(
                f"h: expected node representations (N, {self.rep_dim}) (rep_dim), got {tuple(h.shape)}"
            )
        if self.feature_dim is not None and graph[0].shape[1] != self.feature_dim:
            raise ValueError(
                f"graph.x: expected {self.feature_dim} features per node (feature_dim), "
                f"got {tuple(graph[0].shape)}"
            )
        if V.same_length(("h", h), ("graph.x", graph[0])) < 2:
            raise ValueError("graph: at least 2 nodes are needed to form negative pairs")
        device = self._device()
        if h.device != device or graph[0].device != device:
            raise ValueError(f"h, graph: must be on the critic's device {device}")
        return h, graph

    def _batches(self, x: Any, y: Any, batch_size: int, seed: int) -> Iterator[tuple[Any, Any]]:
        while True:
            yield x, y

    def _weighed(self, bound: Tensor, x: Tensor) -> Tensor:
        return bound  # the bounds weigh every rank's nodes and edges themselves (distributed.share_of_mean)

    def _pooled(self, joint: Tensor, marginal: Tensor) -> Tensor:
        # DV of the JS-trained critic (see iblearn.estimators.JS); under torch.distributed this rank's
        # share of the mean of the joint scores, and log E_Q over every rank's negatives.
        if not distributed.is_distributed():
            return dv_bound(joint, marginal)
        return distributed.share_of_mean(joint) - log_mean_exp(distributed.gather(marginal))

    def mi(self, x: Any, y: Any) -> Tensor:
        # A rank's graphs are not rows to pool on one rank: each scores its own, and the shares are
        # summed (the module's docstring), even where an estimate is otherwise computed locally.
        with distributed.across_ranks():
            h, graph = self._inputs(x, y)
            value = self._pooled(*self._pair_scores(h, graph, torch.Generator().manual_seed(0)))
            if distributed.is_distributed():  # the sum of the shares, with this rank's share's gradient
                value = value + (distributed.mean_over_ranks(value) - value.detach())
            return self._finite(value, "estimate")

    def _everyone(self, x: Any, y: Any) -> tuple[Any, Any]:
        return x, y  # a rank's graphs stay its own: mi sums every rank's share of the bound

    def forward(self, x: Any, y: Any, **request: Any) -> MIEstimate:
        result = super().forward(x, y, **request)
        if not distributed.in_process_group():
            return result
        with distributed.across_ranks():  # the nodes of every rank's graphs
            return replace(result, n_samples=distributed.offset_and_total(result.n_samples)[1])

    def _shuffled(self, x: Tensor, perm: Callable[[int], Tensor]) -> Tensor:
        """``x`` at the rows ``perm(N)`` picks for this rank's nodes, a permutation of all N nodes (of
        every rank's graphs, whose features are gathered, under ``torch.distributed``)."""
        offset, total = distributed.offset_and_total(len(x), x.device)
        rows = perm(total)[offset : offset + len(x)].to(x.device)
        return distributed.gather(x)[rows]

    def batch_mi(self, x: Any, y: Any) -> Tensor:
        h, graph = self._inputs(x, y)
        return self._finite(self._pooled(*self._pair_scores(h, graph, self.trainer.shuffles)), "bound")

    def _pair_scores(self, h: Tensor, graph: Checked, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        raise NotImplementedError


class GMI(_GraphEstimator):
    """Graphical mutual information between node representations and input node features.

    Args:
        rep_dim, feature_dim: sizes of h and of the graph's node features.
        tmi_weight: weight (>= 0) of the topology term in the training objective.
        lr, seed, base: as for :class:`iblearn.estimators.MINE`.
    """

    name = "gmi"

    setting_checks: ClassVar[Mapping[str, SettingCheck]] = {"tmi_weight": V.nonnegative}

    def __init__(
        self,
        rep_dim: int,
        feature_dim: int,
        *,
        tmi_weight: float = 1.0,
        lr: float = 1e-3,
        seed: int = 0,
        base: float = math.e,
    ) -> None:
        self.tmi_weight = tmi_weight  # checked on assignment: setting_checks
        # GMI's critic takes the node features: a width it needs.
        super().__init__(rep_dim, V.positive_int(feature_dim, "feature_dim"), lr=lr, seed=seed, base=base)

    @staticmethod
    def _edges(n: int, edge_index: Tensor) -> tuple[Tensor, Tensor]:
        loops = torch.arange(n, device=edge_index.device)
        return torch.cat([edge_index[0], loops]), torch.cat([edge_index[1], loops])

    def _pair_scores(self, h: Tensor, graph: Checked, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        x, edge_index = (
            graph[0].to(h.dtype),
            graph[1],
        )  # node features are the critic's other input: numpy gives float64
        src, dst = self._edges(len(x), edge_index)
        shuffled = self._shuffled(x, lambda n: derangements(n, 1, gen)[0])  # no node keeps its own
        return self.scorer(h[src], x[dst]), self.scorer(h[src], shuffled[dst])

    def objective(self, h: Tensor, graph: Any) -> Tensor:
        """GMI's objective (Peng et al. 2020): FMI as the JS bound of every edge's critic score
        weighted by ``w_ij``, minus ``tmi_weight`` times TMI's cross-entropy of ``w_ij`` against the
        edges. The critic trains on it with h detached (only the FMI term moves it); the network that
        makes h trains on it through :meth:`module_objective`."""
        x, edge_index = graph[0], graph[1]
        src, dst = self._edges(len(x), edge_index)
        pos, neg = self._pair_scores(h, graph, self.trainer.shuffles)
        w = torch.sigmoid((h[src] * h[dst]).sum(dim=1))
        weighted = (w * -F.softplus(-pos)).sum() - (w * F.softplus(neg)).sum()
        fmi = weighted / distributed.sum_over_ranks(w.sum())
        fmi = fmi * distributed.world_size()  # this rank's share: the mean over ranks is the weighted mean
        # TMI: w_ij = sigmoid(h_i . h_j) should say which pairs are edges (random pairs as non-edges),
        # pairs of nodes of all ranks' graphs, drawn for all their edges, this rank scoring its share.
        nodes = distributed.offset_and_total(len(x), x.device)
        edges = distributed.offset_and_total(len(src), x.device)
        rand = torch.randint(0, nodes[1], (2, edges[1]), generator=self.trainer.shuffles).to(x.device)
        rand = rand[:, edges[0] : edges[0] + len(src)]
        everyone = distributed.gather(h)
        tmi = distributed.share_of_mean(F.softplus(-(h[src] * h[dst]).sum(dim=1)))
        tmi = tmi + distributed.share_of_mean(F.softplus((everyone[rand[0]] * everyone[rand[1]]).sum(dim=1)))
        return fmi - self.tmi_weight * tmi

    def module_objective(self, x: Any, y: Any) -> Tensor:
        """What a network that produces ``h = x`` maximizes: :meth:`objective`, with gradients to h
        through the critic's scores, the weights ``w_ij`` and the topology term.

        ``batch_mi`` (the DV bound of the unweighted scores) is the estimate, not GMI's objective: a
        module trained on it never saw ``w_ij`` nor the topology term, and ``tmi_weight`` 0 and 5 gave
        bit-identical weights.
        """
        h, graph = self._inputs(x, y)
        return self._finite(self.objective(h, graph), "objective")


class DGI(_GraphEstimator):
    """Deep Graph Infomax: MI between node representations and the graph summary.

    Args:
        encoder: ``encoder(x, edge_index) -> h`` (a torch-geometric layer or model such as ``GCNConv``), or
            a module whose forward takes the graph (a ``Data``) and returns h or the graph with h as its
            ``.x`` (:func:`iblearn.data.graphs.call_on_graph`); run on shuffled features for the negatives
            (with gradients only when h itself carries them, i.e. when the encoder is being trained).
        rep_dim: size of h.
        lr, seed, base: as for :class:`iblearn.estimators.MINE`.

    :meth:`fit` and the estimate ``est(h, graph)`` run the encoder in eval mode, its modes restored
    after, so that measuring moves none of its BatchNorm statistics and applies no dropout.
    ``train_step``, ``loss`` and ``batch_mi`` run it in whatever mode it is in, as training the encoder
    needs.

    Not a bound on the MI: the negatives pair the summary with the encoder's output on shuffled
    features, not with representations drawn independently of it, so the DV value of the trained
    critic measures how far the real pairs are from those corrupted ones (Velickovic et al. 2019's
    objective), and ``bound`` is None.
    """

    name = "dgi"
    bound = None

    encoder: Callable[[Tensor, Tensor], Tensor]

    def __init__(
        self,
        encoder: Callable[[Tensor, Tensor], Tensor],
        rep_dim: int,
        *,
        lr: float = 1e-3,
        seed: int = 0,
        base: float = math.e,
    ) -> None:
        # The caller's network: held as a value, not registered as a submodule.
        self.__dict__["encoder"] = encoder_call(encoder, "encoder")
        super().__init__(rep_dim, lr=lr, seed=seed, base=base)

    def fit(self, x: Any, y: Any = None, **options: Any) -> DGI:
        """As :meth:`NeuralEstimator.fit`, with the encoder in eval mode meanwhile."""
        with evaluating(self.encoder):
            super().fit(x, y, **options)
        return self

    def mi(self, x: Any, y: Any) -> Tensor:
        with evaluating(self.encoder):
            return super().mi(x, y)

    @staticmethod
    def summary(h: Tensor, batch: Tensor | None) -> Tensor:
        """``sigmoid(mean h)`` per graph, repeated for each of its nodes."""
        if batch is None:
            return torch.sigmoid(h.mean(dim=0, keepdim=True)).expand_as(h)
        graphs = int(batch.max()) + 1
        sums = torch.zeros(graphs, h.shape[1], dtype=h.dtype, device=h.device).index_add(0, batch, h)
        counts = torch.bincount(batch, minlength=graphs).clamp_min(1).to(h.dtype)
        return torch.sigmoid(sums / counts[:, None])[batch]

    def _pair_scores(self, h: Tensor, graph: Checked, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        x, edge_index, batch, source = graph
        shuffled = self._shuffled(x, lambda n: torch.randperm(n, generator=gen)).to(h.dtype)  # numpy: f64
        # The encoder sees a Data it was given with all its attributes, the features shuffled.
        corrupted_graph = (
            with_features(source, shuffled)
            if is_graph(source)
            else GraphBatch(shuffled, edge_index, node_graph((x, edge_index, batch)))
        )
        with torch.set_grad_enabled(h.requires_grad and torch.is_grad_enabled()):
            corrupted = call_on_graph(self.encoder, corrupted_graph)
        corrupted = corrupted.x if is_graph(corrupted) else corrupted
        s = self.summary(h, batch)
        return self.scorer(h, s), self.scorer(corrupted, s)

    def objective(self, h: Tensor, graph: Any) -> Tensor:
        pos, neg = self._pair_scores(h, graph, self.trainer.shuffles)
        if not distributed.is_distributed():
            return js_bound(pos, neg)
        return distributed.share_of_mean(-F.softplus(-pos)) - distributed.share_of_mean(F.softplus(neg))
