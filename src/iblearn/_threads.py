"""How many CPU threads torch and the BLAS/OpenMP pools of numpy and scikit-learn may use."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from iblearn import _checks as V


def limit_threads(n: int, name: str = "threads") -> None:
    """Use ``n`` threads in torch's intra-op pool and in every BLAS/OpenMP pool threadpoolctl can reach.

    ``n`` may not exceed the CPU count (``os.cpu_count()``): more threads than cores only wait on each
    other, and a pool of tens of thousands stalls the process before the BLAS libraries fail to start
    theirs. A ValueError names ``name`` (the command's ``--threads``).

    iblearn's jobs are mostly many small operations (Gram matrices and eigendecompositions of a batch,
    small critics), for which a parallel region costs more than it gives, and costs far more when the
    cores are shared: each region waits for its slowest thread, and a thread the scheduler has parked
    behind another process holds it up: on shared cores two threads made a small eigendecomposition
    hundreds of times slower (docs/design.md, "Measurements behind the code").
    """
    V.positive_int(n, name)
    cores = os.cpu_count() or 1
    if n > cores:
        raise ValueError(f"{name}: at most the {cores} CPU cores of this machine, got {n}")
    torch.set_num_threads(n)
    _pool_limits(n)


#: threadpoolctl's view of the process's BLAS/OpenMP libraries, with the count of imported modules
#: it was taken at. Finding the libraries reads every loaded object's file (5-10 ms, more than a small
#: fit it wraps), so the view is kept while no module has been imported since: native libraries come
#: with imports (numpy's OpenBLAS, torch's OpenMP, scipy's own BLAS).
_controller: tuple[int, Any] | None = None


def _pool_limits(n: int) -> Any:
    """The BLAS/OpenMP pools on ``n`` threads: threadpoolctl's limiter (None without threadpoolctl)."""
    global _controller
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # threadpoolctl comes with scikit-learn; without it only torch is limited
        return None
    modules = len(sys.modules)
    if _controller is None or _controller[0] != modules:
        _controller = (modules, ThreadpoolController())
    return _controller[1].limit(limits=n)


@contextmanager
def one_thread() -> Iterator[None]:
    """torch and the BLAS/OpenMP pools on one thread while inside, the counts before restored on leaving.

    torch's count (an OpenMP setting) belongs to the thread that sets it, so each thread of a process
    (joblib's threading backend) holds and restores its own.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    limiter = _pool_limits(1)
    try:
        yield
    finally:  # in reverse: the limiter's originals were read after torch was set to one thread
        if limiter is not None:
            limiter.restore_original_limits()
        torch.set_num_threads(before)


@contextmanager
def one_torch_thread(small: bool = True) -> Iterator[None]:
    """torch's intra-op pool on one thread while inside where ``small`` (else nothing changes), the
    caller's count restored on leaving.

    For small torch work called often (a kNN estimate on a few thousand rows): each parallel region of
    such work costs more than it gives, and on shared cores far more. torch's setting alone costs
    nothing to change, where reaching the BLAS/OpenMP pools (:func:`one_thread`) costs milliseconds.
    """
    before = torch.get_num_threads()
    if small:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
