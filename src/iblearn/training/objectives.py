"""Per-module objectives for greedy training: one core loop (:mod:`iblearn.training.greedy`), two
families of objectives.

* MOLE (Li & Pei 2023): an encoder-like module maximizes I(T_k; X), a decoder-like one I(T_k; Y), the output
  module minimizes cross-entropy: :class:`InfoMax` with ``target="input"`` or ``"label"``, and
  :class:`CrossEntropy`.
* Layer-by-layer IB (Elad et al. 2019, eq. 2): each layer maximizes I(Y; L) - beta I(X; L + eps), I(Y; L) by
  MINE and I(X; L + eps) by AA-MINE with a copy of layers 1..k: :class:`NoisyIB`.

An objective sees a :class:`Batch` (the network's input x, labels y, an optional mask of the labelled
samples) and the module's output t. ``critic_step`` trains its estimators' critics on detached
inputs; ``loss`` returns what the module minimizes and the numbers to record.

Under ``torch.distributed`` each rank's ``loss`` is its share: the mean over ranks is the loss (and
gradient) of one process on the concatenated batch. Neural estimators share negatives across ranks
themselves; a means over rows (cross-entropy, accuracy) is each rank's part of the mean over every
rank's rows (labelled rows may differ in number); an estimator that is no mean over rows (the
matrix-based ``renyi``) is computed on every rank's rows, gathered with their gradients, and is the same
on every rank.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iblearn import distributed
from iblearn.data.graphs import GraphLike, is_graph, node_graph
from iblearn.estimators import AAMINE, DIM, GMI, MINE, Estimator, RenyiMI, as_trainable, get_estimator
from iblearn.functional.renyi import renyi_graph_mi

#: What flows between modules: a tensor, or a graph (an iblearn GraphBatch, a torch-geometric Data or Batch).
Activation = Tensor | GraphLike


@dataclass(frozen=True)
class Batch:
    """The network's input, labels (per sample, per node, or per graph), and which labels are known."""

    x: Activation
    y: Tensor
    mask: Tensor | None = None

    def to(self, device: torch.device) -> Batch:
        """The batch on ``device``; from pinned memory (a ``DataLoader(pin_memory=True)``'s batches) the
        copies run asynchronously, behind the work already queued there."""
        x = self.x.to(device, non_blocking=True) if isinstance(self.x, Tensor) else self.x.to(device)
        mask = None if self.mask is None else self.mask.to(device, non_blocking=True)
        return Batch(x, self.y.to(device, non_blocking=True), mask)


def kind(value: Activation) -> str:
    """``"graph"``, ``"grid"`` (N, C, H, W) or ``"vector"`` (N, d)."""
    if is_graph(value):
        return "graph"
    if isinstance(value, Tensor) and value.ndim == 4:
        return "grid"
    if isinstance(value, Tensor) and value.ndim == 2:
        return "vector"
    raise ValueError(
        f"activation: expected a vector (N, d), grid (N, C, H, W) or graph, got {type(value).__name__}"
        + (f" of shape {tuple(value.shape)}" if isinstance(value, Tensor) else "")
    )


def _labels_for(t: Activation, batch: Batch) -> tuple[Tensor, Tensor]:
    """Representation rows and their labels: per node for graphs (a graph's label goes to its nodes when
    the labels are per graph), only the labelled ones when there is a mask."""
    rows = t.x if is_graph(t) else t
    y = batch.y
    if is_graph(t) and len(y) != len(rows):
        y = y[node_graph(t)]  # graph classification: every node carries its graph's label
    if batch.mask is not None:
        rows, y = rows[batch.mask], y[batch.mask]
    return rows, y


class Objective:
    """Base: what a module minimizes, and the estimators (with critics) that measure it."""

    name = "objective"
    #: data kinds of the module's output this objective can take
    accepts: frozenset[str] = frozenset({"vector", "grid", "graph"})

    def estimators(self) -> list[nn.Module]:
        return []

    def critic_step(self, batch: Batch, t: Activation) -> None:
        """Train the critics one step on detached inputs (nothing to do without critics)."""

    def sync(self) -> None:
        """Called at the start of every epoch of a module's training, before its first batch: for
        estimators that hold a copy of the network to follow it (nothing to do by default)."""

    def loss(self, batch: Batch, t: Activation) -> tuple[Tensor, dict[str, float]]:
        raise NotImplementedError


class CrossEntropy(Objective):
    """The output module's objective (MOLE's last module; Elad et al. (2019)'s post-trained linear layer)."""

    name = "cross-entropy"
    accepts = frozenset({"vector", "graph"})

    def loss(self, batch: Batch, t: Activation) -> tuple[Tensor, dict[str, float]]:
        logits, y = _labels_for(t, batch)
        if y.is_floating_point():
            raise ValueError(f"batches: {self.name} needs integer class labels y, got {y.dtype}")
        if y.ndim == 2 and y.shape[1] == 1:  # (N, 1) read as (N,), as every estimator reads labels
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(f"batches: {self.name} needs class labels y of shape (N,), got {tuple(y.shape)}")
        if distributed.is_distributed():  # this rank's share of the means over every rank's rows
            loss = distributed.share_of_mean(F.cross_entropy(logits, y, reduction="none"))
            acc = distributed.share_of_mean((logits.argmax(dim=1) == y).to(logits.dtype))
            return loss, {"loss": float(loss.detach()), "acc": float(acc)}
        loss = F.cross_entropy(logits, y)
        return loss, {"loss": float(loss.detach()), "acc": float((logits.argmax(dim=1) == y).float().mean())}


class InfoMax(Objective):
    """MOLE's encoder-like (``target="input"``: maximize I(T; X)) or decoder-like (``"label"``: I(T; Y))
    objective with a differentiable estimator: matrix-based Renyi, MINE, DIM (grids), GMI (graphs).

    The module maximizes the estimator's batch bound (``batch_mi``), except for GMI and DIM, whose module
    maximizes what their critic does (``module_objective``): GMI's weighted feature MI plus topology
    MI (Peng et al. 2020), DIM's JS or InfoNCE (Hjelm et al. 2019), so that critic and module optimize
    one objective.

    Args:
        target: ``"input"`` or ``"label"``.
        estimator: an estimator object or registry name; it must be differentiable.
        adjacency: matrix-based (``renyi``) I(T; X) of a graph module: True (default) takes each node's
            input as its features jointly with its adjacency vector, Li & Pei (2023)'s graph extension
            (Sec. 4, "involving the adjacent vector"; :func:`iblearn.functional.renyi.renyi_graph_mi`);
            False compares the node representations with the node features alone. Other estimators
            and targets take no adjacency: only None or False.
        **settings: passed to the estimator when it is given by name.
    """

    def __init__(
        self, target: str, estimator: str | Estimator, *, adjacency: bool | None = None, **settings: Any
    ) -> None:
        if target not in ("input", "label"):
            raise ValueError(
                f"target: expected 'input' (encoder-like) or 'label' (decoder-like), got {target!r}"
            )
        self.target = target
        self.estimator = get_estimator(estimator, **settings) if isinstance(estimator, str) else estimator
        if not type(self.estimator).differentiable:
            raise ValueError(
                f"estimator: {self.estimator.name} is not differentiable, so it cannot train a module"
            )
        # the graph extension has no normalized form (Yu et al. 2021 normalize two variables)
        matrix = isinstance(self.estimator, RenyiMI) and target == "input" and not self.estimator.normalize
        if adjacency not in (None, True, False) or (adjacency and not matrix):
            raise ValueError(
                "adjacency: True is for the matrix-based I(T; X) (renyi without normalize, target 'input'),"
                f" got {adjacency!r}"
                f" with {self.estimator.name}, target {target!r}"
            )
        self.adjacency = matrix if adjacency is None else adjacency
        self.trainable = as_trainable(self.estimator)  # its critic is trained between the module's steps
        self.name = f"I(T;{'X' if target == 'input' else 'Y'}) by {self.estimator.name}"
        self.accepts = type(self.estimator).accepts

    def estimators(self) -> list[nn.Module]:
        return [self.estimator]

    def _pair(self, batch: Batch, t: Activation) -> tuple[Any, Any]:
        if self.target == "label":
            return _labels_for(t, batch)
        if is_graph(t):
            graph = batch.x if is_graph(batch.x) else None
            if graph is None:
                raise ValueError(
                    "target: a graph module's input I(T; X) needs the network input to be a graph"
                )
            if type(self.estimator).graph_y:
                return t.x, graph  # GMI/DGI: representations against the input graph
            return t.x, graph.x  # MINE, Renyi: node representations against node features
        return t, batch.x

    def critic_step(self, batch: Batch, t: Activation) -> None:
        if self.trainable is not None:
            self.trainable.train_step(*self._pair(batch, t))

    def loss(self, batch: Batch, t: Activation) -> tuple[Tensor, dict[str, float]]:
        if isinstance(self.estimator, RenyiMI) and self.adjacency and is_graph(t):
            return self._graph_matrix_loss(batch, t, self.estimator)
        a, b = self._pair(batch, t)
        if isinstance(self.estimator, GMI | DIM):
            value = self.estimator.module_objective(a, b)  # the critic's objective: not its estimate
            return -value, {"objective": float(value.detach())}
        mi = self._whole(a, b) if self.trainable is None else self.trainable.batch_mi(a, b)
        return -mi, {"mi": float(mi.detach())}

    def _whole(self, a: Any, b: Any) -> Tensor:
        """The estimator's MI on the batch: under ``torch.distributed`` on every rank's rows, gathered
        with their gradients, the same value on every rank (a matrix-based estimate is no mean over
        rows that ranks could share; its gradient reaches each rank's rows through the gather)."""
        if not distributed.is_distributed():
            return self.estimator.mi(a, b)
        a, b = distributed.gather(a), distributed.gather(b)
        with distributed.single_process():
            return self.estimator.mi(a, b)

    def _graph_matrix_loss(self, batch: Batch, t: GraphLike, est: RenyiMI) -> tuple[Tensor, dict[str, float]]:
        graph = batch.x
        if not is_graph(graph):
            raise ValueError("target: a graph module's input I(T; X) needs the network input to be a graph")
        rep, features, edges = t.x, graph.x, graph.edge_index
        if distributed.is_distributed():  # the disjoint union of every rank's graphs, as for GMI
            offset, _ = distributed.offset_and_total(len(features), features.device)
            rep, features = distributed.gather(rep), distributed.gather(features)
            edges = distributed.gather((edges + offset).T).T
        mi = renyi_graph_mi(rep, features, edges, est.alpha, est.sigma_x, est.sigma_y)
        return -mi, {"mi": float(mi.detach())}


LABEL_TERMS = frozenset({"summed", "re-paired"})


class _RepairingMINE(MINE):
    """MINE on integer labels whose marginal term re-pairs them instead of summing over the classes."""

    class_sums = False


class NoisyIB(Objective):
    """Elad et al. (2019), eq. (2): maximize I(Y; L) - beta I(X; L + eps), eps ~ N(0, noise_std^2 I).

    I(Y; L) by MINE (labels one-hot, its marginal term summed over the classes), I(X; L + eps) by
    AA-MINE whose critic holds a copy of layers 1..k (``subnet``), re-copied at the start of every
    epoch (:meth:`sync`) so that it follows the layer.
    The module's output t is L = subnet(x): the noise is added to it rather than running layers 1..k
    again (in greedy training the earlier layers are frozen and t comes from exactly that composition).
    The penalty is beta max(I(X; L + eps), 0): MI is never negative, so a negative AA-MINE estimate is a
    critic lagging behind the layer, and minimizing it drove one MNIST layer to 24% accuracy. The
    metrics record the estimate as it is.

    Args:
        subnet: layers 1..k composed (the layer being trained included), mapping x to L.
        beta: the trade-off; 0 gives the I(Y; L)-only ablation of Table 1.
        noise_std: std of eps.
        classes: number of classes of y.
        label_term: how MINE's marginal term for I(Y; L) treats the labels: ``"summed"`` sums exactly
            over the classes (the default), ``"re-paired"`` draws one other sample's label a sample in
            training and eight for the layer's signal (MINE's Algorithm 1). The bound is the same, its
            variance is not: on MNIST the summed term trains layers that generalize better
            (docs/results/layerwise-ib.md, "Three choices of the protocol").
        hidden, lr: of both critics.
    """

    name = "I(Y;L) - beta I(X;L+eps)"
    accepts = frozenset({"vector", "grid"})

    def __init__(
        self,
        subnet: nn.Module,
        beta: float,
        noise_std: float,
        classes: int,
        *,
        label_term: str = "summed",
        hidden: tuple[int, ...] = (256,),
        lr: float = 5e-4,
        seed: int = 0,
    ) -> None:
        if not beta >= 0:
            raise ValueError(f"beta: must be >= 0, got {beta!r}")
        if label_term not in LABEL_TERMS:
            raise ValueError(f"label_term: expected one of {sorted(LABEL_TERMS)}, got {label_term!r}")
        self.beta = float(beta)
        mine = MINE if label_term == "summed" else _RepairingMINE
        self.mine = mine(y_classes=classes, hidden=hidden, lr=lr, seed=seed)
        self.aamine = AAMINE(subnet, noise_std, hidden=hidden, lr=lr, seed=seed) if beta > 0 else None

    def estimators(self) -> list[nn.Module]:
        found: list[nn.Module] = [self.mine]
        return found + ([self.aamine] if self.aamine is not None else [])

    def sync(self) -> None:
        if self.aamine is not None:
            self.aamine.sync()

    def critic_step(self, batch: Batch, t: Activation) -> None:
        rows, y = _labels_for(t, batch)
        self.mine.train_step(rows.flatten(1), y)
        if self.aamine is not None:  # t is subnet(x): the layer's output, no need to run layers 1..k again
            self.aamine.train_step(batch.x, self.aamine.add_noise(cast(Tensor, t)))

    def loss(self, batch: Batch, t: Activation) -> tuple[Tensor, dict[str, float]]:
        rows, y = _labels_for(t, batch)
        i_yl = self.mine.batch_mi(rows.flatten(1), y)
        metrics = {"I(Y;L)": float(i_yl.detach())}
        if self.aamine is None:
            return -i_yl, metrics
        i_xl = self.aamine.batch_mi(batch.x, self.aamine.add_noise(cast(Tensor, t)))
        metrics["I(X;L+eps)"] = float(i_xl.detach())
        # I(X; L + eps) >= 0, so a negative estimate is a critic lagging behind the layer, not information
        # to remove: minimizing it chases the critic. Seen (MNIST, seed 3): -3.7, -196, then -37,280 nats
        # in the next layer, and 24% test accuracy. Below zero the penalty has no gradient.
        if not distributed.is_distributed():
            return -(i_yl - self.beta * i_xl.clamp_min(0.0)), metrics
        # Each rank's i_xl is its share: the penalty is off where the bound over all ranks is below 0.
        on = bool(distributed.mean_over_ranks(i_xl) > 0)
        return -(i_yl - self.beta * (i_xl if on else i_xl * 0.0)), metrics
