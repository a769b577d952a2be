"""Work on a real Dask cluster of 2 worker processes (one thread each) through joblib's Dask backend,
against the same work in one process; prints ``same`` or how the two differ.

Modes (the arguments; none, the first two): ``pairwise``, a pairwise MI matrix; ``network``, a network
inferred by ``infer_network``, its targets run as the cluster's tasks; ``network100``, the same for a
network of 100 processes.

A script with a main guard, run by the tests in a subprocess: worker processes are started by
spawning, which imports the caller's main module again.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import joblib
import numpy as np
import torch


def _pairwise() -> tuple[Callable[[int | None], Any], Callable[[Any, Any], str | None]]:
    import iblearn.functional as ibf

    x = torch.randn(400, 12, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    off = ~np.eye(12, dtype=bool)

    def compare(serial: Any, on_cluster: Any) -> str | None:
        a, b = serial.numpy()[off], on_cluster.numpy()[off]
        if np.isfinite(a).all() and np.array_equal(a, b):
            return None
        return f"differ by {np.nanmax(np.abs(a - b))}"

    return lambda jobs: ibf.pairwise_mi(x, n_jobs=jobs), compare


def _network() -> tuple[Callable[[int | None], Any], Callable[[Any, Any], str | None]]:
    import warnings

    from iblearn.network import infer_network
    from iblearn.network.simulate import random_var_network

    x = random_var_network(6, 600, seed=2).data
    warnings.filterwarnings("ignore", "n_permutations", UserWarning)  # few surrogates, on purpose

    def compare(serial: Any, on_cluster: Any) -> str | None:
        if serial.edges and on_cluster == serial:
            return None
        return f"serial {serial!r}, on the cluster {on_cluster!r}"

    return lambda jobs: infer_network(
        x, max_lag=2, method="gaussian", n_permutations=100, n_jobs=jobs
    ), compare


def _network100() -> tuple[Callable[[int | None], Any], Callable[[Any, Any], str | None]]:
    """A network of 100 processes, 100 targets as the cluster's tasks (a slow test's mode)."""
    import warnings

    from iblearn.network import infer_network
    from iblearn.network.simulate import random_var_network

    x = random_var_network(100, 400, seed=2).data
    warnings.filterwarnings("ignore", "n_permutations", UserWarning)  # few surrogates, on purpose

    def compare(serial: Any, on_cluster: Any) -> str | None:
        return None if on_cluster == serial else f"serial {serial!r}, on the cluster {on_cluster!r}"

    return lambda jobs: infer_network(
        x, max_lag=1, method="gaussian", n_permutations=40, n_jobs=jobs
    ), compare


MODES = {"pairwise": _pairwise, "network": _network}
#: Modes run only when named.
NAMED_ONLY = {"network100": _network100}


def main(modes: list[str]) -> int:
    from distributed import Client, LocalCluster

    torch.set_num_threads(1)
    works = [(MODES | NAMED_ONLY)[mode]() for mode in modes or list(MODES)]
    serial = [work(1) for work, _ in works]  # one job in this process
    # One cluster for every mode: starting its workers (each imports torch) is most of the time.
    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None)
    with cluster, Client(cluster), joblib.parallel_backend("dask"):
        on_cluster = [work(None) for work, _ in works]  # the backend's workers
    differs = [
        d for (_, compare), a, b in zip(works, serial, on_cluster, strict=True) if (d := compare(a, b))
    ]
    print("; ".join(differs) or "same")
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
