"""One training run of a reproduction inside its run folder, checkpointed after every epoch."""

from __future__ import annotations

from typing import Any

from torch import nn

from iblearn.records import Checkpoint, RunFolder


class RunCheckpoint:
    """One training run inside a run folder, checkpointed after every epoch.

    Rows of ``metrics.csv`` carry the run's ``key``; the checkpoint file holds the modules, the optimizer
    (and scheduler) state, the RNG state and the epoch's row. The checkpoint is written before the row,
    so a kill in between leaves a row too few, never one too many; :meth:`epochs_done` drops rows past
    the checkpoint, writes its row again if it is missing, and restores the state, so the run continues
    as if it had never stopped.
    """

    def __init__(self, run: RunFolder, key: str) -> None:
        self.run, self.key = run, key
        self.file = "checkpoint-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in key) + ".pt"
        self._checkpoint = Checkpoint(run, self.file)

    def epochs_done(
        self, modules: list[nn.Module], optimizer: Any, scheduler: Any = None, *, epochs: int
    ) -> int:
        """Epochs of ``epochs`` already done; restores their state. A checkpoint this run could not have
        written (another key, an epoch outside 1..``epochs``, missing or misshapen state) raises
        ValueError naming the file: resuming from it would report wrong rows."""
        state = self._checkpoint.load()
        done = 0
        if state is not None:
            done = self._epoch(state, epochs)
            self._checkpoint.restore(
                state, random=True, modules=modules, optimizer=optimizer, scheduler=scheduler
            )
        self.run.drop_metrics(lambda r: r.get("key") == self.key and int(r["epoch"]) > done)
        if state is not None and not self.finished(done):
            self.run.append_metrics(state["row"])
        return done

    def _epoch(self, state: dict[str, Any], epochs: int) -> int:
        epoch, row = state.get("epoch"), state.get("row")
        if type(epoch) is not int or not 1 <= epoch <= epochs:
            self._checkpoint.refuse(f"epoch {epoch!r} is not one of this run's 1..{epochs}")
        if not isinstance(row, dict) or row.get("key") != self.key or row.get("epoch") != epoch:
            self._checkpoint.refuse(f"its row is not epoch {epoch} of {self.key!r}")
        return epoch

    def save(
        self, epoch: int, modules: list[nn.Module], optimizer: Any, row: dict[str, Any], scheduler: Any = None
    ) -> None:
        full_row = {"key": self.key, "epoch": epoch, **row}
        self._checkpoint.save(
            {"epoch": epoch, "row": full_row},
            random=True,
            modules=modules,
            optimizer=optimizer,
            scheduler=scheduler,
        )
        self.run.append_metrics(full_row)

    def close(self) -> None:
        """The run is complete: its rows say everything the reproduction reports; drop the checkpoint."""
        self._checkpoint.remove()

    def finished(self, epochs: int) -> bool:
        return any(r.get("key") == self.key and int(r["epoch"]) == epochs for r in self.run.metrics())
