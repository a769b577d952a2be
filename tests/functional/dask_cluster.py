"""A pairwise MI matrix on a real Dask cluster of 2 worker processes (one thread each) through joblib's
Dask backend, against the same matrix in one process; prints ``same`` or the largest difference.

A script with a main guard, run by test_parallel.py beside it in a subprocess: worker processes
are started by spawning, which imports the caller's main module again.
"""

from __future__ import annotations

import sys

import joblib
import numpy as np
import torch


def main() -> int:
    import iblearn.functional as ibf
    from distributed import Client, LocalCluster

    torch.set_num_threads(1)
    x = torch.randn(400, 12, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    serial = ibf.pairwise_mi(x, n_jobs=1)
    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None)
    with cluster, Client(cluster), joblib.parallel_backend("dask"):
        on_cluster = ibf.pairwise_mi(x)
    off = ~np.eye(12, dtype=bool)
    a, b = serial.numpy()[off], on_cluster.numpy()[off]
    if np.isfinite(a).all() and np.array_equal(a, b):
        print("same")
        return 0
    print(f"differ by {np.nanmax(np.abs(a - b))}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
