"""Options every reproduction takes, and the run-folder conventions they share."""

from __future__ import annotations

import dataclasses
import math
import shutil
import statistics
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iblearn.experiments import torchrun
from iblearn.records import Checkpoint, RunFolder
from iblearn.training import Batch
from iblearn.training.greedy import OptimizerFactory


@dataclass(frozen=True)
class ReproduceOptions:
    """The common command-line options of ``iblearn reproduce``.

    Attributes:
        full: the real reproduction (``--full``) instead of the few-minute ``--quick`` one.
        out: run folder; default ``runs/<name>-quick`` or ``runs/<name>-full``.
        seed: first seed; runs with several seeds use ``seed, seed + 1, ...``.
        device: ``"cpu"`` or ``"cuda"``.
        resume: continue a killed run from its records instead of starting over.
        overrides: config fields to change from the preset (``--set KEY=VALUE``), e.g.
            ``{"tasks": ["cora"], "seeds": 5}``; lists become tuples (nested ones too) where the field
            holds a tuple.
        progress: called with a short message as work completes (the CLI draws a progress bar).
        planned: called with the config a run resolved (preset and overrides), before any work; the
            CLI sizes its progress bar from it (``config.progress_steps()``).
    """

    full: bool = False
    out: Path | None = None
    seed: int = 0
    device: str = "cpu"
    resume: bool = False
    overrides: Mapping[str, Any] = field(default_factory=dict, hash=False)
    progress: Callable[[str], None] | None = field(default=None, compare=False)
    planned: Callable[[Any], None] | None = field(default=None, compare=False)

    def configure(self, config: Any) -> Any:
        """``config`` (a frozen dataclass) with :attr:`overrides` applied; a key it lacks, or a value
        that does not fit its field, raises ValueError naming ``--set KEY``."""
        if self.overrides:
            config = _replace(config, self.overrides, "")
        if self.planned:
            self.planned(config)
        return config

    def run_folder(self, name: str, *, nested: str | None = None) -> RunFolder:
        """The run folder: :attr:`out`, or ``runs/<name>-quick`` / ``runs/<name>-full``. Without
        :attr:`resume` the run starts over, so nothing of an earlier one is continued or reported: its
        metrics, checkpoints, results and table go, and so does the sub-folder ``nested`` where a run
        under torchrun keeps the checkpoints of its parts (rank 0 removes it; every rank waits for that).
        """
        path = self.out or Path("runs") / f"{name}-{'full' if self.full else 'quick'}"
        run = RunFolder(path, resume=self.resume)
        if not self.resume:
            run.truncate_metrics(0)
            for stale in [*run.path.glob("checkpoint*.pt"), run.file("results.json"), run.file("table.md")]:
                stale.unlink(missing_ok=True)
            if nested is not None and run.writer:
                shutil.rmtree(run.path / nested, ignore_errors=True)
        if nested is not None:
            torchrun.barrier()
        return run

    def tell(self, message: str) -> None:
        """Report that a piece of work is done, to :attr:`progress` where the caller gave one."""
        if self.progress:
            self.progress(message)

    def torch_device(self) -> torch.device:
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"device: expected 'cpu' or 'cuda', got {self.device!r}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device: 'cuda' was asked for, but torch sees no CUDA device")
        return torch.device(self.device)


# Every number in the reproductions' configs is a count, a size, a rate or a scale: none may be
# negative, and an integer count of 0 would run nothing, except in these fields, where 0 turns a part off.
ZERO_COUNTS = frozenset({"tsne_samples", "min_steps", "first_seed"})
# No count here is meant to reach this: a larger one (seeds=1e20, sizes=[1e11]) would run for ever or
# die in an allocation, so it is refused before anything runs.
MAX_COUNT = 10**8


def _replace(config: Any, overrides: Mapping[str, Any], prefix: str) -> Any:
    """``dataclasses.replace`` from JSON values, checked against the preset's types and ranges; a
    nested config takes a JSON object of its own fields."""
    fields = [f.name for f in dataclasses.fields(config)]
    hints = typing.get_type_hints(type(config))
    changes = {}
    for key, value in overrides.items():
        name = prefix + key
        if key not in fields:
            raise ValueError(
                f"--set {name}: {type(config).__name__} has no such field; it has {', '.join(fields)}"
            )
        current = getattr(config, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ValueError(f"--set {name}: expected a JSON object of {type(current).__name__}'s fields")
            changes[key] = _replace(current, value, name + ".")
            continue
        changes[key] = _tuples(value)
        optional = type(None) in typing.get_args(hints[key])
        if value is None and optional:
            continue
        template = current if current is not None else _template(hints[key])
        if template is not None and not _fits(value, template):
            expected = _kind(template) + (" or null" if optional else "")
            raise ValueError(f"--set {name}: expected {expected} (the preset has {current!r}), got {value!r}")
        minimum = 1 if type(template) is int and key not in ZERO_COUNTS else 0
        if _below(value, minimum):
            raise ValueError(f"--set {name}: must be >= {minimum}, got {value!r}")
        if _above(value, MAX_COUNT):
            raise ValueError(f"--set {name}: must be at most {MAX_COUNT:,}, got {value!r}")
        if (
            value == []
            and isinstance(current, tuple)
            and current
            and all(isinstance(c, str) for c in current)
        ):
            raise ValueError(
                f"--set {name}: must name at least one of its choices (the preset has {current!r})"
            )
    return dataclasses.replace(config, **changes)


def _template(hint: Any) -> Any:
    """A value of the type an optional field holds when it is set (``int | None``: an int)."""
    kinds = [k for k in typing.get_args(hint) if k is not type(None)]
    return {int: 1, float: 1.0, str: ""}.get(kinds[0]) if len(kinds) == 1 else None


def _below(value: Any, minimum: int) -> bool:
    """Whether a number in ``value`` is below ``minimum`` (list items: below zero)."""
    if isinstance(value, list):
        return any(_below(v, 0) for v in value)
    return isinstance(value, int | float) and not isinstance(value, bool) and value < minimum


def _above(value: Any, maximum: int) -> bool:
    """Whether an integer in ``value`` (list items too) is above ``maximum``."""
    if isinstance(value, list):
        return any(_above(v, maximum) for v in value)
    return isinstance(value, int) and not isinstance(value, bool) and value > maximum


def _fits(value: Any, current: Any) -> bool:
    """Whether a JSON value has the type of the preset's value, list items included."""
    if isinstance(current, tuple):
        if not isinstance(value, list):
            return False
        kinds = {type(c) for c in current}
        if len(kinds) == 1:  # a list of one kind: tasks, widths, (name, fraction) pairs
            return all(_fits(v, current[0]) for v in value)
        if kinds:  # a record such as (name, fraction): item by item
            return len(value) == len(current) and all(
                _fits(v, c) for v, c in zip(value, current, strict=True)
            )
        return True  # an empty preset says nothing
    if isinstance(current, bool):
        return isinstance(value, bool)
    if isinstance(current, int | float):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        return ok and (isinstance(current, float) or isinstance(value, int))
    return isinstance(value, type(current))


def _kind(value: Any) -> str:
    if isinstance(value, tuple):
        return "a JSON list"
    return "true or false" if isinstance(value, bool) else type(value).__name__


def _tuples(value: Any) -> Any:
    """JSON lists as tuples, nested ones too (configs are frozen: their sequences are tuples)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


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


def module_optimizers(n: int, lr: float, output_lr: float | None) -> Sequence[OptimizerFactory]:
    """Adam factories for ``train_greedy(optimizer=...)``: ``lr`` for the first ``n - 1`` modules,
    ``output_lr`` for the last (the output module; ``lr`` where None)."""
    head = lr if output_lr is None else output_lr
    return [partial(torch.optim.Adam, lr=lr)] * (n - 1) + [partial(torch.optim.Adam, lr=head)]


def sharded_batches(x: Tensor, y: Tensor, batch_size: int, seed: int) -> Callable[[int], list[Batch]]:
    """The batches of each epoch, as ``train_greedy`` takes them (a function of the epoch): the rows in
    an order seeded by ``seed`` and the epoch, cut into batches of ``batch_size``. Under torchrun each
    rank takes its equal part of every batch, so that a global batch holds ``batch_size`` rows."""

    def batches(epoch: int) -> list[Batch]:
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed * 1000 + epoch))
        parts = [torchrun.shard(i) for i in torch.split(order, batch_size)]
        return [Batch(x[i], y[i]) for i in parts if len(i)]

    return batches


@torch.no_grad()
def accuracy(model: nn.Module, x: Tensor, y: Tensor, device: torch.device) -> float:
    """Percent of ``x`` classified as ``y``, in chunks of 1,000."""
    model.eval()
    hits = sum(
        int((model(x[i : i + 1000].to(device)).argmax(dim=1) == y[i : i + 1000].to(device)).sum())
        for i in range(0, len(x), 1000)
    )
    return 100 * hits / len(x)


def summarize_runs(rows: Iterable[dict[str, str]], metrics: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows keyed ``"task|method|seed"`` grouped by (task, method): each metric's (mean, sd) over seeds."""
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    for r in rows:
        task, method, _ = r["key"].split("|")
        groups.setdefault((task, method), []).append(r)
    out = []
    for (task, method), rs in groups.items():
        entry: dict[str, Any] = {"task": task, "method": method, "seeds": len(rs)}
        for metric in metrics:
            values = [float(r[metric]) for r in rs]
            entry[metric] = (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0)
        out.append(entry)
    return out


def train_epoch(
    model: nn.Module,
    optimizer: Any,
    x: Tensor,
    y: Tensor,
    batch_size: int,
    gen: torch.Generator,
    device: torch.device,
) -> dict[str, float]:
    model.train()
    total, hits = 0.0, 0
    for idx in torch.split(torch.randperm(len(x), generator=gen), batch_size):
        xb, yb = x[idx].to(device), y[idx].to(device)
        optimizer.zero_grad()
        out = model(xb)
        loss = F.cross_entropy(out, yb)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(idx)
        hits += int((out.argmax(dim=1) == yb).sum())
    return {"train_loss": total / len(x), "train_acc": 100 * hits / len(x)}
