"""Greedy, gradient-isolated training: a network as an ordered list of modules, each trained on its own
objective (see :mod:`iblearn.training.objectives`), never on a gradient from a later module.

Two modes:

* ``"sequential"`` (Elad et al. 2019, and MOLE's "each module is sequentially trained from the input module to
  the output module"): module k trains for its epochs, then is frozen (``requires_grad=False``, eval
  mode), then module k + 1. Earlier modules run under ``torch.no_grad``, so memory holds one module's
  activations and critics, not the network's.
* ``"isolated"``: every module trains on every batch, its input ``detach()``-ed at the boundary, so no
  gradient crosses from one module to another (gradient isolation, as in Greedy InfoMax).

Graphs: a batch's input may be an iblearn ``GraphBatch`` or a torch-geometric ``Data`` / ``Batch`` (a
``DataLoader`` of them, or one ``Data``, may stand for ``batches``), and a module may be a
torch-geometric layer or model, its forward taking ``(x, edge_index)`` (``GCNConv``,
``torch_geometric.nn.Sequential("x, edge_index", ...)``), or a module that takes the graph itself: each
is run as :func:`iblearn.data.graphs.call_on_graph` says, and the graph passes on to the next module
with the new node features.

Before the first step the whole pipeline runs once on the first batch: a module that cannot take its
predecessor's output, an objective that cannot take a module's output (e.g. a graph estimator on a
vector), or a role list of the wrong length raises ``ValueError`` there. With a run folder, every epoch
is recorded and checkpointed (modules, critics, optimizer, RNG), and a killed run resumes.

Under ``torchrun`` (an initialized process group) each rank passes its own batches and N ranks train as
one process on the concatenation of their batches: rank 0's weights to start with, each module's
gradients averaged over the ranks after its own backward pass (gradient isolation kept), objectives
over every rank's rows, histories averaged, the run folder written by rank 0 (:mod:`.ranks`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn import distributed
from iblearn._modes import evaluating
from iblearn.data.graphs import call_on_graph, is_graph, with_features
from iblearn.estimators.standardize import Standardize
from iblearn.records import RunFolder
from iblearn.training import ranks
from iblearn.training._greedy_checkpoint import GreedyCheckpoint
from iblearn.training.objectives import Activation, Batch, Objective, kind

Batches = Callable[[int], Iterable[Batch]]
OptimizerFactory = Callable[[Any], torch.optim.Optimizer]


@dataclass
class GreedyResult:
    """Per-module training histories (one dict per epoch: the objective's numbers, seconds)."""

    histories: list[list[dict[str, float]]] = field(default_factory=list)


def apply_module(module: nn.Module, t: Activation) -> Activation:
    """``module(t)``, or for a graph ``t`` :func:`~iblearn.data.graphs.call_on_graph`: a torch-geometric
    layer gets ``(x, edge_index)`` and its output goes on as the graph with new node features."""
    return call_on_graph(module, t) if is_graph(t) else module(t)  # type: ignore[no-any-return]


def apply_modules(modules: Sequence[nn.Module], x: Activation, upto: int | None = None) -> Activation:
    """The network's output (or module ``upto``'s input): the modules applied in order, as
    :func:`train_greedy` applies them."""
    for module in modules[:upto]:
        x = apply_module(module, x)
    return x


def check_pipeline(modules: Sequence[nn.Module], objectives: Sequence[Objective], batch: Batch) -> None:
    """Run the network once, module by module, and check that every objective can take its module's output."""
    if len(modules) != len(objectives):
        raise ValueError(
            f"objectives: {len(objectives)} objectives for {len(modules)} modules; give one per module"
        )
    t: Activation = batch.x
    # A dry run must leave no trace: no BatchNorm statistics updated, no random numbers drawn (dropout).
    rows = _rows(t)
    devices = [rows.device.index or 0] if rows.is_cuda else []
    with torch.no_grad(), torch.random.fork_rng(devices=devices), evaluating(nn.ModuleList(modules)):
        for k, (module, objective) in enumerate(zip(modules, objectives, strict=True)):
            before = f"shape {tuple(t.shape)}" if isinstance(t, torch.Tensor) else f"a {kind(t)}"
            try:
                t = apply_module(module, t)
            except (RuntimeError, TypeError, ValueError, AttributeError, IndexError) as err:
                raise ValueError(f"modules[{k}]: cannot take its input ({before}): {err}") from err
            what = kind(t)
            if what not in objective.accepts:
                raise ValueError(
                    f"objectives[{k}]: {objective.name} cannot take modules[{k}]'s output, a {what} "
                    f"(it takes {', '.join(sorted(objective.accepts))})"
                )


def train_greedy(
    modules: Sequence[nn.Module],
    objectives: Sequence[Objective],
    batches: Batches | Iterable[Batch],
    *,
    epochs: int | Sequence[int] = 1,
    mode: str = "sequential",
    optimizer: OptimizerFactory | Sequence[OptimizerFactory] = lambda p: torch.optim.Adam(p, lr=1e-3),
    critic_steps: int = 1,
    device: torch.device | str = "cpu",
    run: RunFolder | None = None,
    progress: Callable[[str], None] | None = None,
) -> GreedyResult:
    """Train ``modules`` greedily; returns the per-module histories.

    Args:
        modules: the network, in order; the output of module k is the input of module k + 1.
        objectives: one per module.
        batches: ``batches(epoch) -> iterable of Batch``, or an iterable re-read every epoch (a DataLoader
            of ``Batch`` or of ``(x, y)`` pairs, a torch-geometric ``DataLoader`` of graphs with labels
            ``.y``), or one torch-geometric ``Data`` (its ``.y``, and its ``.train_mask`` where it has
            one, as the labelled nodes).
        epochs: epochs per module (one number for all, or one per module; in isolated mode the first).
        mode: ``"sequential"`` or ``"isolated"``.
        optimizer: builds a module's optimizer from its parameters (one factory for all, or one per
            module: the output module of MOLE solves a convex problem on frozen features and can take a
            larger step than the information objectives before it).
        critic_steps: critic updates per module update (adversarial alternation, Elad et al. (2019) Sec. 4).
        device: where to train.
        run: a run folder to record and checkpoint into; one opened with ``resume=True`` continues a
            killed run from its checkpoint, any other starts over.
        progress: called with a message after every epoch (on rank 0 alone under torchrun).

    Under ``torch.distributed`` every rank calls it with its own batches (the same number on each, a
    ``DistributedSampler``'s share: its epoch is set here each epoch) and the same modules, objectives
    and ``run`` (see :mod:`.ranks`); every rank ends with the same weights and histories.
    """
    per_module, factories = _checked_schedule(modules, epochs, mode, optimizer)
    V.positive_int(critic_steps, "critic_steps")
    if progress is not None and not callable(progress):
        raise ValueError(f"progress: expected a callable progress(message) or None, got {progress!r}")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device: {device!r} is not a torch device ({err})") from None
    for m in modules:
        m.to(device)
    for objective in objectives:
        for est in objective.estimators():
            est.to(device)
    get = _batch_source(batches)
    check_pipeline(modules, objectives, next(iter(get(0))).to(device))
    ranks.same_run(run)
    ranks.broadcast([*modules, *(e for o in objectives for e in o.estimators())])
    result = GreedyResult([[] for _ in modules])
    optimizers = [_built(make, m, k) for k, (make, m) in enumerate(zip(factories, modules, strict=True))]
    state = GreedyCheckpoint(run, modules, objectives, optimizers, mode)
    start = state.resume(result.histories, per_module)
    _check_trainable(modules, per_module, mode, start)
    loop = _Loop(modules, objectives, optimizers, get, critic_steps, device, result, state)
    tell = progress if distributed.rank() == 0 else None
    if mode == "isolated":
        loop.isolated(start[1], per_module[0], tell)
    else:
        loop.sequential(start, per_module, tell)
    return result


def _checked_schedule(
    modules: Sequence[nn.Module],
    epochs: int | Sequence[int],
    mode: str,
    optimizer: OptimizerFactory | Sequence[OptimizerFactory],
) -> tuple[list[int], list[OptimizerFactory]]:
    """The epochs and the optimizer factory of each module, checked with ``mode``; a ValueError names
    the argument at fault."""
    if mode not in ("sequential", "isolated"):
        raise ValueError(f"mode: expected 'sequential' or 'isolated', got {mode!r}")
    if not modules:
        raise ValueError("modules: is empty; give the network as a list of its modules, in order")
    per_module = (
        [epochs] * len(modules)
        if isinstance(epochs, int)
        else list(epochs)
        if isinstance(epochs, list | tuple)
        else []
    )
    if len(per_module) != len(modules) or any(
        isinstance(e, bool) or not isinstance(e, int) or e < 0 for e in per_module
    ):
        raise ValueError(
            f"epochs: expected one non-negative count per module ({len(modules)}), got {epochs!r}"
        )
    for k, module in enumerate(modules):
        if not any(True for _ in module.parameters()):  # torch's optimizers refuse an empty list
            raise ValueError(
                f"modules[{k}]: has no parameters, and each module trains its own; fold a module "
                "without parameters (an activation) into the one before it"
            )
    if callable(optimizer):
        factories = [optimizer] * len(modules)
    else:
        factories = list(optimizer) if isinstance(optimizer, list | tuple) else []
    if len(factories) != len(modules) or not all(callable(f) for f in factories):
        raise ValueError(
            f"optimizer: expected a factory params -> optimizer, or one per module ({len(modules)}), "
            f"got {optimizer!r}"
        )
    if mode == "isolated" and any(isinstance(m, Standardize) for module in modules for m in module.modules()):
        raise ValueError(
            "modules: Standardize needs mode='sequential' (its input must be frozen when fitted)"
        )
    return per_module, factories


def _check_trainable(
    modules: Sequence[nn.Module], per_module: list[int], mode: str, start: tuple[int, int]
) -> None:
    """Every module that has epochs left to train from ``start`` has a parameter that requires a
    gradient. A module before ``start`` may be frozen: a run resumed in its own process froze the
    modules it finished."""
    start_module, start_epoch = start
    for k, module in enumerate(modules):
        first = start_epoch if mode == "isolated" or k == start_module else 0
        epochs = per_module[0] if mode == "isolated" else per_module[k]
        trains = (mode == "isolated" or k >= start_module) and epochs > first
        if trains and not any(p.requires_grad for p in module.parameters()):
            raise ValueError(
                f"modules[{k}]: has no trainable parameters (all requires_grad=False) but {epochs} "
                "epochs to train; give it 0 epochs, or unfreeze it (module.requires_grad_(True)): "
                "train_greedy freezes each module it has trained"
            )


@dataclass
class _Loop:
    """The epochs of a greedy run: every module at once (isolated) or one module after another
    (sequential), each epoch checkpointed into the run's state."""

    modules: Sequence[nn.Module]
    objectives: Sequence[Objective]
    optimizers: list[torch.optim.Optimizer]
    get: Batches
    critic_steps: int
    device: torch.device
    result: GreedyResult
    state: GreedyCheckpoint

    def _epoch(self, trained: list[int], epoch: int) -> None:
        _epoch(
            self.modules,
            self.objectives,
            self.optimizers,
            trained,
            self.get(epoch),
            self.critic_steps,
            self.device,
            self.result,
            epoch,
        )

    def isolated(self, start_epoch: int, epochs: int, progress: Callable[[str], None] | None) -> None:
        """Every module trained on every batch, each on its own objective (gradient-isolated)."""
        every = list(range(len(self.modules)))
        histories = self.result.histories
        for epoch in range(start_epoch, epochs):
            self._epoch(every, epoch)
            self.state.save(0, epoch, histories, every)
            _tell(progress, f"epoch {epoch + 1}: " + ", ".join(f"{h[-1]}" for h in histories))

    def sequential(
        self, start: tuple[int, int], per_module: list[int], progress: Callable[[str], None] | None
    ) -> None:
        """Module k trained for its epochs, then frozen, before module k + 1; a resumed run skips the
        modules ``start`` says are done, and starts its module at ``start``'s epoch."""
        start_module, start_epoch = start
        for k, module in enumerate(self.modules):
            if k < start_module:
                _freeze(module)
                continue
            _fit_standardizers(self.modules, k, self.get, self.device)
            for epoch in range(start_epoch if k == start_module else 0, per_module[k]):
                self._epoch([k], epoch)
                self.state.save(k, epoch, self.result.histories)
                _tell(progress, f"module {k} epoch {epoch + 1}: {self.result.histories[k][-1]}")
            _freeze(module)


def _rows(t: Activation) -> Tensor:
    return t.x if is_graph(t) else t


def _fit_standardizers(modules: Sequence[nn.Module], k: int, get: Batches, device: torch.device) -> None:
    """Fit every unfitted :class:`Standardize` in module k on its input over the first epoch's batches,
    before module k trains. Batches are drawn only then: starting a DataLoader's pass draws from the
    global RNG, and a resumed run must draw exactly what the uninterrupted one did."""
    pending = [m for m in modules[k].modules() if isinstance(m, Standardize) and not m.fitted]
    if pending:
        with torch.no_grad():
            inputs = [apply_modules(modules, b.to(device).x, k) for b in get(0)]
        for m in pending:
            m.fit(inputs)


def _built(make: OptimizerFactory, module: nn.Module, k: int) -> torch.optim.Optimizer:
    optimizer = make(module.parameters())
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(
            f"optimizer: the factory returned {optimizer!r} for modules[{k}], not a torch.optim.Optimizer"
        )
    return optimizer


def _as_batch(b: Any) -> Batch:
    """A batch as given (a Batch, a graph with labels ``.y``, or an ``(x, y)`` pair) as a Batch."""
    if is_graph(b):
        return _graph_batch(b)
    if not isinstance(b, Batch) and (what := V.not_a_pair(b)) is not None:
        raise ValueError(f"batches: a batch is a {what}; yield (x, y) pairs, Batch(x, y) or labelled graphs")
    x, y = (b.x, b.y) if isinstance(b, Batch) else b
    if not isinstance(y, Tensor) or not (isinstance(x, Tensor) or is_graph(x)):
        raise ValueError(
            f"batches: a batch holds x a {type(x).__name__} and y a {type(y).__name__}; both must be "
            "tensors (labels as integer class indices)"
        )
    return b if isinstance(b, Batch) else Batch(x, y)


def _batch_source(batches: Batches | Iterable[Batch] | Any) -> Batches:
    if isinstance(batches, Iterator):
        raise ValueError(
            "batches: a one-shot iterator (a generator) runs dry after the first epoch; pass a list, "
            "a DataLoader, or a function epoch -> batches"
        )
    if is_graph(batches):  # one torch-geometric Data: every epoch is one full-graph step
        batches = [batches]
    source = batches if callable(batches) and not hasattr(batches, "__iter__") else lambda _: batches

    def epoch_batches(epoch: int) -> Iterator[Batch]:
        empty = True
        sampler = getattr(batches, "sampler", None)
        if callable(getattr(sampler, "set_epoch", None)):  # a DistributedSampler: each epoch its order
            sampler.set_epoch(epoch)  # type: ignore[union-attr]
        for b in source(epoch):
            empty = False
            yield _as_batch(b)
        if empty:
            raise ValueError(f"batches: epoch {epoch} has no batches")

    return epoch_batches


def _graph_batch(graph: Any) -> Batch:
    """A torch-geometric ``Data`` or ``Batch`` as a Batch: its labels ``.y`` and, where it has one (a node
    classification split), its ``.train_mask`` of the labelled nodes."""
    y, mask = getattr(graph, "y", None), getattr(graph, "train_mask", None)
    if not isinstance(y, Tensor):
        raise ValueError(
            f"batches: a graph ({type(graph).__name__}) needs its labels as .y, or pass Batch(graph, y, mask)"
        )
    return Batch(graph, y, mask if isinstance(mask, Tensor) else None)


def _freeze(module: nn.Module) -> None:
    module.requires_grad_(False)
    module.eval()


def _average(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = {k for r in rows for k in r}
    return {k: sum(r[k] for r in rows if k in r) / sum(1 for r in rows if k in r) for k in sorted(keys)}


def _epoch(
    modules: Sequence[nn.Module],
    objectives: Sequence[Objective],
    optimizers: Sequence[torch.optim.Optimizer],
    trained: Sequence[int],
    batches: Iterable[Batch],
    critic_steps: int,
    device: torch.device,
    result: GreedyResult,
    epoch: int,
) -> None:
    """One epoch of the ``trained`` modules (consecutive: one in sequential mode, all in isolated mode),
    each on its own objective; the modules before them run frozen."""
    for k in trained:
        modules[k].train()
        objectives[k].sync()
    start = time.perf_counter()
    rows: dict[int, list[dict[str, float]]] = {k: [] for k in trained}
    for batch in ranks.everyone_steps(batches, epoch):
        batch = batch.to(device)
        with torch.no_grad():
            t = apply_modules(modules, batch.x, trained[0])  # frozen modules: no activations kept
        for k in trained:
            t = apply_module(modules[k], _detach(t))  # the boundary: no gradient reaches module k - 1
            rows[k].append(_step(modules[k], objectives[k], optimizers[k], batch, t, critic_steps))
    for k in trained:
        result.histories[k].append(ranks.mean_row(_history_row(epoch, rows[k], start)))


def _step(
    module: nn.Module,
    objective: Objective,
    opt: torch.optim.Optimizer,
    batch: Batch,
    t: Activation,
    critic_steps: int,
) -> dict[str, float]:
    """The critics' steps on the detached output t, then the module's step on its objective (its
    gradients averaged over the ranks under torchrun, as a DDP wrapper of the module alone would)."""
    for _ in range(critic_steps):
        objective.critic_step(batch, _detach(t))
    loss, metrics = objective.loss(batch, t)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    distributed.average_gradients(module)
    opt.step()
    return metrics


def _history_row(epoch: int, rows: list[dict[str, float]], start: float) -> dict[str, float]:
    return {"epoch": epoch + 1, **_average(rows), "seconds": time.perf_counter() - start}


def _detach(t: Activation) -> Activation:
    return with_features(t, t.x.detach()) if is_graph(t) else t.detach()  # type: ignore[union-attr]


def _tell(progress: Callable[[str], None] | None, message: str) -> None:
    if progress:
        progress(message)
