"""Greedy training under ``torch.distributed`` (``torchrun``): what :func:`~iblearn.training.train_greedy`
does on each rank so that N ranks train as one process on the concatenation of their batches.

* At the start every module and every estimator takes rank 0's weights and buffers (as
  ``DistributedDataParallel`` does when it wraps a module), so that ranks seeded differently still
  start alike.
* After a module's backward pass its gradients are averaged over the ranks, module by module (each
  module is its own network under gradient isolation: what a DDP wrapper per module does, one
  all-reduce a step; a frozen module, which DDP refuses to wrap, has nothing to average). The critics
  average theirs in their own training step (:mod:`iblearn.distributed`).
* The objectives see each rank's rows and share negatives and normalizers across ranks
  (:mod:`iblearn.training.objectives`), so the mean over ranks of a module's loss and gradient is the
  single-process one.
* Every epoch's numbers (the history rows) are averaged over the ranks: the single-process numbers,
  the same on every rank. Only rank 0 writes the run folder and calls ``progress``; every rank
  resumes from the folder's checkpoint, so every rank must be handed it.
* Each step first checks that every rank still has a batch: a rank whose data ran out early would
  otherwise leave the others waiting in a collective.

Outside a process group (or in a group of one) every function here does nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

import torch
from torch import nn

from iblearn import distributed

T = TypeVar("T")

__all__ = ["broadcast", "everyone_steps", "mean_row", "rng_states", "same_run"]


def _device() -> torch.device:
    """Where this process's collectives take their tensors: its GPU under NCCL, else the CPU."""
    if torch.distributed.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _flags(flag: bool) -> list[bool]:
    """``flag`` of every rank, in rank order."""
    mine = torch.tensor([flag], dtype=torch.long, device=_device())
    every = [torch.empty_like(mine) for _ in range(distributed.world_size())]
    torch.distributed.all_gather(every, mine)
    return [bool(f) for f in every]


def broadcast(modules: Iterable[nn.Module]) -> None:
    """Rank 0's parameters and buffers into every rank's ``modules`` (in place)."""
    if not distributed.is_distributed():
        return
    with torch.no_grad():
        for module in modules:
            for t in [*module.parameters(), *module.buffers()]:
                if not torch.nn.parameter.is_lazy(t) and t.numel():  # lazy layers: seeded at 1st call
                    torch.distributed.broadcast(t.data, src=0)


def same_run(run: Any) -> None:
    """Check that every rank was handed a run folder, or none.

    Raises:
        ValueError: some ranks have one and some not (naming them): rank 0 writes it, and every rank
            resumes from its checkpoint.
    """
    if not distributed.is_distributed():
        return
    flags = _flags(run is not None)
    if len(set(flags)) > 1:
        with_run = [r for r, f in enumerate(flags) if f]
        raise ValueError(
            f"run: handed to ranks {with_run} only; pass the run folder on every rank (rank 0 writes it, "
            "every rank resumes from its checkpoint)"
        )


def everyone_steps(batches: Iterable[T], epoch: int) -> Iterator[T]:
    """``batches``, one at a time, as long as every rank has one.

    Raises:
        ValueError: the ranks hold different numbers of batches this epoch (naming the ranks that ran
            out): give every rank the same number (a ``DistributedSampler`` with ``drop_last=True``).
    """
    if not distributed.is_distributed():
        yield from batches
        return
    it = iter(batches)
    done = 0
    while True:
        batch = next(it, None)
        flags = _flags(batch is not None)
        if not any(flags):
            return
        if not all(flags):
            out = [r for r, f in enumerate(flags) if not f]
            raise ValueError(
                f"batches: ranks {out} ran out after {done} batches in epoch {epoch} while others had more; "
                "every rank needs the same number of batches (a DistributedSampler with drop_last=True)"
            )
        done += 1
        yield batch  # type: ignore[misc]


def mean_row(row: dict[str, float]) -> dict[str, float]:
    """``row``'s numbers averaged over the ranks (every rank holds the same keys, in the same order)."""
    if not distributed.is_distributed():
        return row
    keys = list(row)
    values = torch.tensor([float(row[k]) for k in keys], dtype=torch.float64, device=_device())
    torch.distributed.all_reduce(values)
    values = values.cpu() / distributed.world_size()
    return {k: (row[k] if k == "epoch" else float(v)) for k, v in zip(keys, values.tolist(), strict=True)}


def rng_states() -> Sequence[torch.Tensor] | None:
    """Every rank's CPU RNG state (for a checkpoint), None outside a process group."""
    if not distributed.is_distributed():
        return None
    mine = torch.get_rng_state().to(_device())
    every = [torch.empty_like(mine) for _ in range(distributed.world_size())]
    torch.distributed.all_gather(every, mine)
    return [state.cpu() for state in every]
