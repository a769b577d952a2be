"""The reproductions under ``torchrun --nproc_per_node N`` (``iblearn reproduce mole`` and
``layerwise-ib``): :func:`joined` starts the process group torchrun describes (gloo on the CPU, NCCL with
``--device cuda``, each rank on GPU ``LOCAL_RANK``), with a timeout, and names the rank in any error;
:func:`shard` cuts each global batch into the ranks' equal parts. Started any other way, nothing here
acts: one process, every batch whole.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import sys
from collections.abc import Iterator

import torch

from iblearn.distributed import rank, world_size

#: Seconds a rank waits in a collective for the others before it raises (``IBLEARN_DIST_TIMEOUT``): a
#: rank that died or hangs must not keep the others waiting for torch's default of 30 minutes (gloo)
#: while the run folder shows nothing. Rank 0's evaluation and plots (t-SNE) run while the others wait
#: at the next collective, so it is generous.
TIMEOUT = 600.0
YEAR = 365 * 24 * 3600.0


def launched_rank() -> int:
    """This process's rank as torchrun's environment gives it (``RANK``), 0 when not started by torchrun;
    known before and after the process group exists."""
    return int(os.environ.get("RANK", "0"))


@contextlib.contextmanager
def joined(device: str) -> Iterator[None]:
    """Within it, the process group torchrun's environment (``RANK``, ``WORLD_SIZE``, ...) describes,
    destroyed at the end; nothing without that environment or with a group already started.

    An exception on a rank is raised again with its rank named (``rank 1 of 2: ...``); the other ranks
    then fail in their next collective (a closed connection, or after ``IBLEARN_DIST_TIMEOUT``
    seconds), and torchrun reports the first rank that failed.
    """
    dist = torch.distributed
    if "RANK" not in os.environ or not dist.is_available() or dist.is_initialized():
        yield
        return
    timeout = _timeout(os.environ.get("IBLEARN_DIST_TIMEOUT"))
    if device == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group(
        "nccl" if device == "cuda" else "gloo", timeout=datetime.timedelta(seconds=timeout)
    )
    try:
        yield
    except Exception as err:
        failed = f"iblearn: rank {rank()} of {world_size()} failed: {type(err).__name__}: {err}"
        print(failed, file=sys.stderr)
        raise
    finally:
        with contextlib.suppress(Exception):  # a peer already gone: nothing left to tear down cleanly
            dist.destroy_process_group()


def _timeout(value: str | None) -> float:
    """Seconds from ``IBLEARN_DIST_TIMEOUT`` (:data:`TIMEOUT` when unset): a finite number above 0 and at
    most a year (timedelta holds no more than about 2.7 million years, and a collective that may wait a
    year waits forever)."""
    if value is None:
        return TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= YEAR:
        raise ValueError(
            "IBLEARN_DIST_TIMEOUT: expected the seconds a rank waits in a collective, a number in "
            f"(0, {YEAR:g}]; got {value!r}"
        )
    return seconds


def shard(rows: torch.Tensor) -> torch.Tensor:
    """This rank's part of a global batch's row indices: the batch cut into equal parts, one a rank, the
    rows beyond a multiple of the number of ranks dropped (every rank's batch has the same size); the
    whole batch in one process."""
    size = world_size()
    if size == 1:
        return rows
    return rows[: len(rows) - len(rows) % size].tensor_split(size)[rank()]


def barrier() -> None:
    """Wait for every rank (after rank 0 has cleared what a fresh start removes)."""
    if world_size() > 1:
        torch.distributed.barrier()


def refuse(task: str, why: str) -> None:
    """Raise ValueError for ``task``, which cannot run split over ranks (``why``), under torchrun."""
    if world_size() > 1:
        raise ValueError(f"tasks: {task} does not run under torchrun ({why}); run it in one process")
