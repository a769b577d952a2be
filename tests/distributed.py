"""Run a test's worker on two CPU ranks (gloo), with a deadline.

Spawned, not forked: forking a process whose torch thread pools are running can deadlock the child
(a CI run hung here with start_method="fork"). The deadline turns any other hang into a failure.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
import torch.multiprocessing as mp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_two_ranks(worker: Callable[..., None], *args: Any, timeout: float = 240.0) -> None:
    """``worker(rank, port, *args)`` on ranks 0 and 1; the test fails if they take over ``timeout`` s."""
    ctx = mp.start_processes(worker, args=(free_port(), *args), nprocs=2, start_method="spawn", join=False)
    deadline = time.monotonic() + timeout
    while not ctx.join(timeout=2):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            pytest.fail(f"the two ranks did not finish within {timeout:.0f} s")
