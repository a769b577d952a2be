"""What lets :func:`~iblearn.training.train_greedy` resume: its modules, critics, optimizers, RNG and
histories in one :class:`~iblearn.records.Checkpoint` after every epoch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from iblearn import distributed
from iblearn.records import Checkpoint, RunFolder
from iblearn.training import ranks
from iblearn.training.objectives import Objective


class GreedyCheckpoint:
    """Everything greedy training needs to continue: every module and critic, the optimizers, the RNG,
    and the histories so far.

    The checkpoint is written before the epoch's metrics row(s), so a kill between the two loses a row;
    on resume the rows of metrics.csv are rebuilt from the checkpoint's histories (only rows with a
    ``module`` column are this loop's; others in the folder are left alone). A folder opened without
    ``resume=True`` starts over.
    """

    FILE = "greedy-checkpoint.pt"

    def __init__(
        self,
        run: RunFolder | None,
        modules: Sequence[nn.Module],
        objectives: Sequence[Objective],
        optimizers: Sequence[torch.optim.Optimizer],
        mode: str,
    ) -> None:
        self.run, self.modules, self.objectives, self.optimizers = run, modules, objectives, optimizers
        self.mode = mode
        self.checkpoint = Checkpoint(run, self.FILE)

    def _objects(self) -> dict[str, Any]:
        estimators = [list(o.estimators()) for o in self.objectives]
        return {"modules": list(self.modules), "estimators": estimators, "optimizers": list(self.optimizers)}

    def save(
        self, k: int, epoch: int, histories: list[list[dict[str, float]]], rows: list[int] | None = None
    ) -> None:
        """After module k's epoch: the state with the ``histories`` so far first, then the epoch's
        row(s) of ``rows`` (default [k]); under torchrun by rank 0 alone, with every rank's RNG state."""
        if self.run is None:
            return
        every_rng = ranks.rng_states()  # a collective: before rank 0 goes its own way
        if distributed.rank() != 0:
            return
        state = {"module": k, "epoch": epoch, "rank_rng": every_rng or [], "histories": histories}
        self.checkpoint.save(state, random=True, **self._objects())
        self.run.extend_metrics([{"module": j, **histories[j][-1]} for j in rows or [k]])

    def resume(self, histories: list[list[dict[str, float]]], epochs: Sequence[int]) -> tuple[int, int]:
        """(module, epoch) to start from; restores the state, and ``histories`` (in place), of a killed run. A
        checkpoint this run could not have written raises ValueError naming the file."""
        if self.run is None:
            return 0, 0
        run = self.run
        writer = distributed.rank() == 0
        if not run.resume:
            if writer:
                self.checkpoint.remove()
                run.drop_metrics(lambda r: bool(r.get("module")))
            return 0, 0
        state = self.checkpoint.load()
        if state is None:
            if writer:
                run.drop_metrics(lambda r: bool(r.get("module")))
            return 0, 0
        k: Any = state.get("module")
        epoch: Any = state.get("epoch")
        in_range = type(k) is int and 0 <= k < len(epochs) and type(epoch) is int and 0 <= epoch < epochs[k]
        if not in_range:
            self.checkpoint.refuse(f"module {k!r}, epoch {epoch!r} is not a step of this run")
        self.checkpoint.restore(state, random=True, **self._objects())
        with self.checkpoint.restoring():
            saved = state["histories"]
            if len(saved) != len(self.modules):
                raise ValueError(f"{len(saved)} histories for {len(self.modules)} modules")
            rows = self._rows(saved)
        histories[:] = saved
        if writer:
            run.drop_metrics(lambda r: bool(r.get("module")))
            run.extend_metrics(rows)
        return k, epoch + 1

    def _rows(self, histories: list[list[dict[str, float]]]) -> list[dict[str, Any]]:
        """The metrics rows in the order they were written: module by module, or epoch by epoch."""
        if self.mode == "sequential":
            return [{"module": j, **row} for j, h in enumerate(histories) for row in h]
        return [{"module": j, **h[e]} for e in range(len(histories[0])) for j, h in enumerate(histories)]
