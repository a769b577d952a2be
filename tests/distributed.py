"""Run a test's worker on two CPU ranks (gloo), with a deadline.

Spawned, not forked: forking a process whose torch thread pools are running can deadlock the child
(a CI run hung here with start_method="fork"). The deadline turns any other hang into a failure. The
ranks meet through a file, not a TCP port: a port found free and released before the ranks bind it can
be taken in between (a once-seen failure of these tests); gloo's own connections then bind port 0.

A rank that finished its work leaves through ``os._exit(0)``: the interpreter's normal shutdown ran
C++ destructors of torch's distributed state that aborted now and then ("terminate called without an
active exception", SIGABRT, after the worker had returned and saved its results; 8 of 12 runs of the
two DDP test files under torch 2.13, 1 of 10 with a barrier before ``destroy_process_group``). A
worker that raises still goes through spawn's error reporting.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def _run_and_exit(rank: int, worker: Callable[..., None], *args: Any) -> None:
    worker(rank, *args)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def run_two_ranks(worker: Callable[..., None], *args: Any, timeout: float = 240.0) -> None:
    """``worker(rank, init_method, *args)`` on ranks 0 and 1, where ``init_method`` is for
    ``torch.distributed.init_process_group``; the test fails if they take over ``timeout`` s."""
    with tempfile.TemporaryDirectory() as folder:
        init_method = (Path(folder) / "rendezvous").as_uri()
        ctx = mp.start_processes(
            _run_and_exit, args=(worker, init_method, *args), nprocs=2, start_method="spawn", join=False
        )
        deadline = time.monotonic() + timeout
        while not ctx.join(timeout=2):
            if time.monotonic() > deadline:
                for p in ctx.processes:
                    p.kill()
                pytest.fail(f"the two ranks did not finish within {timeout:.0f} s")


def on_two_ranks(worker: Callable[[int], Any], folder: str | Path, timeout: float = 240.0) -> list[Any]:
    """What ``worker(rank)`` returns on ranks 0 and 1 of a gloo process group (one torch thread each),
    in rank order, through files in ``folder``; the test is skipped where torch.distributed is not
    available."""
    if not dist.is_available():
        pytest.skip("torch.distributed is not available")
    out = str(Path(folder) / "rank")
    run_two_ranks(_in_group, worker, out, timeout=timeout)
    return [torch.load(f"{out}.{r}", weights_only=False) for r in range(2)]


def _in_group(rank: int, init_method: str, worker: Callable[[int], Any], out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=2)
    torch.save(worker(rank), f"{out}.{rank}")
