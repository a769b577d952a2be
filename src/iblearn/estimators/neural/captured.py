"""``fit``'s training steps on a CUDA device, captured once in a CUDA graph and replayed.

A critic's training step is many small kernels, and on a GPU it is bound by launching them and by
the host's reads of the loss that judge it (finite, plausible): eagerly, InfoNCE's step on batches of
256 ran slower on an H100 and on an H200 than on one thread of their CPUs (``benchmarks/results/gpu``).
Here the step is captured once (PyTorch's CUDA graphs, Adam in its capturable form) and replayed for a
chunk of steps, the batch's rows and negatives read from buffers on the device, each step's loss and
its judgement written to the device and read once a chunk.

It is the same training: the batches come from the same seeded stream as the eager steps', the
negatives from the trainer's ``shuffles`` in the same order, drawn on the host ahead of the chunk; the
step's arithmetic is the eager step's. Where a replayed step diverges, the estimator goes back to its
state before the chunk and takes the chunk's steps eagerly, so the error names the step, and the
estimator stands before it, as in eager training.

What may be captured is the estimator's to say (``capturable_step``): a step with no read to the host,
no draw but the derangements of :func:`~.negatives.drawn`, and shapes that do not depend on the data.
A critic given as a module is part of the step: one that reads to the host cannot be captured (a
warning, and eager steps), and one that draws on the host would replay its first draw; such a critic
trains with ``IBLEARN_CUDA_GRAPHS=0``, or draws on its device (whose generator the graph advances).
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn import distributed
from iblearn.estimators.neural import negatives
from iblearn.estimators.neural.averaging import WeightAverage
from iblearn.estimators.neural.contract import TrainingTarget
from iblearn.estimators.neural.fitting import batch_orders

_T = TypeVar("_T")

#: Whether ``fit`` replays captured steps on a CUDA device: on unless ``IBLEARN_CUDA_GRAPHS=0``.
ENABLED = os.environ.get("IBLEARN_CUDA_GRAPHS", "1") != "0"
#: Eager steps before the capture, on the capture's stream (PyTorch's CUDA graphs ask for a few: the
#: optimizer's state and the libraries' workspaces exist before it); they also record the negatives a
#: step draws.
WARMUP = 3
#: The most steps replayed between two reads of their losses (the size of the buffers on the device).
CHUNK = 250


def capturable(est: TrainingTarget, x: Any, y: Any, steps: int) -> bool:
    """Whether ``fit`` of ``steps`` steps on rows ``x``, ``y`` replays a captured step: a CUDA device,
    row tensors, an estimator whose step may be captured, outside ``torch.distributed``, and more steps
    than the warm-up."""
    return (
        ENABLED
        and bool(getattr(est, "capturable_step", False))
        and isinstance(x, Tensor)
        and isinstance(y, Tensor)
        and x.is_cuda
        and steps > WARMUP
        and not distributed.is_distributed()
    )


class _Optimizer(Protocol):
    @property
    def adam(self) -> torch.optim.Optimizer | None: ...


class _Trainer(Protocol):
    """What the captured steps use of :class:`~.trainer.Trainer` (which builds them)."""

    shuffles: torch.Generator

    @property
    def average(self) -> WeightAverage | None: ...

    @property
    def optimizer(self) -> _Optimizer: ...

    def step(self, est: TrainingTarget, x: Any, y: Any) -> float: ...


class StepGraph:
    """A training step captured once in a CUDA graph and replayed in chunks of up to :data:`CHUNK`
    steps: the captured step reads its batch's row indices and its negatives from buffers on the device
    at :attr:`cursor`, which each replay advances by one.

    Its eager warm-up steps (:meth:`warm_up`) run on the capture's stream and record the derangements a
    step draws; the capture (:meth:`capture`) serves them from the buffers; :meth:`replay` fills the
    buffers for a chunk, from the batches' orders and the trainer's generator in the order the eager
    steps would draw them, then replays. One critic's fit (:class:`CapturedSteps`) and the stacked
    critics' (:mod:`.stacked`) each capture their own step in one.

    Args:
        size: the rows of a batch.
        device: the CUDA device.

    Attributes:
        warm: the warm-up steps taken.
        steady: whether the warm-up steps drew alike (a step that draws otherwise each time cannot be
            replayed).
        cursor: the step within the chunk, on the device (what a captured step reads and writes at).
    """

    def __init__(self, size: int, device: torch.device) -> None:
        self.size, self.device = size, device
        self.stream = torch.cuda.Stream(device)
        self.warm, self.steady = 0, True
        self.draws: list[tuple[int, int, int]] = []  # a step's derangements: n, count, drawn
        self.index = self.cursor = torch.empty(0)
        self.perms: list[Tensor] = []

    def warm_up(self, step: Callable[[], _T]) -> _T:
        """``step()`` eagerly on the capture's stream, the derangements it draws recorded."""
        calls: list[tuple[int, int, int]] = []

        def record(n: int, count: int, gen: torch.Generator | None, device: torch.device) -> list[Tensor]:
            perms = [p.to(device) for p in negatives.derangements(n, count, gen)]
            calls.append((n, count, len(perms)))
            return perms

        self.stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(self.stream), negatives.drawing_from(record):
            value = step()
        torch.cuda.current_stream(self.device).wait_stream(self.stream)
        self.warm += 1
        if self.warm > 1 and calls != self.draws:
            self.steady = False
        self.draws = calls
        return value

    def capture(self, adam: torch.optim.Optimizer, body: Callable[[Tensor], None]) -> torch.cuda.CUDAGraph:
        """``body(idx)``, one training step on the batch of rows ``idx`` stepping ``adam``, captured with
        the cursor's advance; raises what the capture raises (a read to the host in the step)."""
        self.index = torch.zeros((CHUNK, self.size), dtype=torch.long, device=self.device)
        self.perms = [
            torch.zeros((CHUNK, k, n), dtype=torch.long, device=self.device) for n, _, k in self.draws
        ]
        self.cursor = torch.zeros(1, dtype=torch.long, device=self.device)
        served = iter(range(len(self.draws)))

        def serve(n: int, count: int, gen: torch.Generator | None, device: torch.device) -> list[Tensor]:
            call = next(served)
            if self.draws[call][:2] != (n, count):
                raise RuntimeError("the captured step draws other negatives than its warm-up")
            return list(self.perms[call].index_select(0, self.cursor)[0].unbind(0))

        graph = torch.cuda.CUDAGraph()
        for group in adam.param_groups:
            group["capturable"] = True
        adam.zero_grad(set_to_none=True)
        self.stream.wait_stream(torch.cuda.current_stream(self.device))
        try:
            with negatives.drawing_from(serve), torch.cuda.graph(graph, stream=self.stream):
                body(self.index.index_select(0, self.cursor)[0])
                self.cursor.add_(1)
        finally:
            for group in adam.param_groups:
                group["capturable"] = False  # eager steps after this one: Adam's plain form
            torch.cuda.current_stream(self.device).wait_stream(self.stream)
        return graph

    def replay(self, graph: torch.cuda.CUDAGraph, orders: list[Tensor], gen: torch.Generator) -> None:
        """``graph`` replayed once for each batch of ``orders`` (at most :data:`CHUNK`), the negatives
        drawn from ``gen`` as the eager steps draw them."""
        count = len(orders)
        self.index[:count].copy_(torch.stack(orders))
        drawn: list[list[Tensor]] = [[] for _ in self.draws]
        for _ in range(count):
            for call, (n, k, _) in enumerate(self.draws):
                drawn[call].append(torch.stack(negatives.derangements(n, k, gen)))
        for buffer, perms in zip(self.perms, drawn, strict=True):
            buffer[:count].copy_(torch.stack(perms))
        self.cursor.zero_()
        for _ in range(count):
            graph.replay()


def warn_eager(name: str, error: Exception) -> None:
    """The warning of a training step that could not be captured (eager steps follow)."""
    warnings.warn(
        f"{name}: its training step could not be captured in a CUDA graph ({error}); "
        "fit goes on with eager steps",
        RuntimeWarning,
        stacklevel=5,
    )


class CapturedSteps:
    """The training steps of one ``fit`` on a CUDA device: :data:`WARMUP` eager steps, then a step
    captured and replayed in chunks (:meth:`steps`, :class:`StepGraph`).

    Args:
        trainer: the estimator's trainer, whose step the eager steps are.
        est: the estimator.
        x, y: the training rows (tensors on the device, as ``fit`` was given them).
        batch_size, seed: as ``fit``'s.

    Attributes:
        replayed: the steps replayed so far.
    """

    def __init__(
        self, trainer: _Trainer, est: TrainingTarget, x: Tensor, y: Tensor, batch_size: int, seed: int
    ):
        self.trainer, self.est = trainer, est
        self.raw = (V.as_tensor(x, "x"), V.as_tensor(y, "y"))  # what an eager step is given
        self.x, self.y = (t.detach() for t in est.checked_inputs(x, y))  # what the captured step reads
        self.orders = batch_orders(len(self.x), batch_size, seed)
        self.steps_graph = StepGraph(min(batch_size, len(self.x)), self.x.device)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.failed = False  # the capture failed, or a replayed step diverged: eager from then on
        self.replayed = 0
        # Each step's loss and divergence, written by the captured step at its cursor.
        self.losses = self.bad = torch.empty(0)

    def steps(self, count: int) -> list[float]:
        """Up to ``count`` training steps (at least one), their losses."""
        if self.failed:
            return [self._eager(next(self.orders))]
        if self.steps_graph.warm < WARMUP:
            value = self.steps_graph.warm_up(lambda: self._eager(next(self.orders)))
            self.failed = not self.steps_graph.steady
            return [value]
        if self.graph is None:
            adam = self.trainer.optimizer.adam  # created by the warm-up's steps
            self.graph = None if adam is None else self._capture(adam)
            if self.graph is None:
                return [self._eager(next(self.orders))]
        return self._replay(self.graph, min(count, CHUNK))

    def _eager(self, idx: Tensor) -> float:
        x, y = self.raw
        idx = idx.to(x.device)
        return self.trainer.step(self.est, x[idx], y[idx])

    def _capture(self, adam: torch.optim.Optimizer) -> torch.cuda.CUDAGraph | None:
        """One training step captured (:meth:`StepGraph.capture`), writing its loss and whether it
        diverged at the cursor; None (eager steps from then on, :attr:`failed`) where the step cannot
        be captured."""
        est, trainer, device = self.est, self.trainer, self.x.device
        self.losses = torch.zeros(CHUNK, dtype=torch.float64, device=device)
        self.bad = torch.zeros(CHUNK, dtype=torch.bool, device=device)
        limit = est.plausible_limit(self.x, self.y)
        graphed = self.steps_graph

        def body(idx: Tensor) -> None:
            loss, bound = est.batch_loss(self.x.index_select(0, idx), self.y.index_select(0, idx))
            bad = ~torch.isfinite(loss)
            if bound is not None:
                bad = bad | ~(bound.abs() <= limit)
            self.bad.index_copy_(0, graphed.cursor, bad.reshape(1))
            self.losses.index_copy_(0, graphed.cursor, loss.detach().reshape(1).double())
            loss.backward()
            adam.step()
            est.steps_done.add_(1)
            if trainer.average is not None:
                trainer.average.update(2)  # any step after the first: the average moves

        try:
            return graphed.capture(adam, body)
        except Exception as error:  # a step that cannot be captured (a read to the host in it) trains eagerly
            warn_eager(est.name, error)
            self.failed = True
            return None

    def _replay(self, graph: torch.cuda.CUDAGraph, count: int) -> list[float]:
        """``count`` replayed steps of ``graph``; where one diverged, the chunk again eagerly from its
        start."""
        before = copy.deepcopy(self.est.state_dict())  # the negatives' generator's state too
        orders = [next(self.orders) for _ in range(count)]
        self.steps_graph.replay(graph, orders, self.trainer.shuffles)
        read = torch.cat([self.losses[:count], self.bad[:count].double()]).cpu()
        if not bool(read[count:].any()):
            self.replayed += count
            return read[:count].tolist()
        # A step diverged: back to the state before the chunk, and the chunk's steps eagerly, the
        # diverging one raising as it does in eager training.
        self.est.load_state_dict(before)
        self.failed, self.graph = True, None
        return [self._eager(idx) for idx in orders]
