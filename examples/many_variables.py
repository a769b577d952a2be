"""A mutual-information network of many variables on a Dask cluster: the MI of every pair of columns,
then the pairs that share the most, as edges.

``pairwise_mi`` cuts the pairs into batches and runs them through joblib; inside
``joblib.parallel_backend("dask")`` the batches go to the workers of a ``dask.distributed`` cluster,
here a LocalCluster on this machine (on a real cluster, pass the scheduler's address to ``Client``).
The matrix is the same, bit for bit, as one process computes. Without dask installed
(``pip install iblearn[dask]``) the batches run on this machine's cores through joblib instead.

    python examples/many_variables.py            # 60 columns x 5,000 rows, 2 worker processes
    python examples/many_variables.py --quick    # 12 columns x 1,000 rows, 2 worker threads
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

import joblib
import numpy as np
import torch

import iblearn.functional as ibf


def network_data(rows: int, columns: int, seed: int) -> np.ndarray:
    """Columns in groups of 3 driven by a common source; column 3g + 2 the square of the source, which a
    correlation misses and MI does not."""
    rng = np.random.default_rng(seed)
    source = rng.normal(size=(rows, -(-columns // 3)))
    x = np.repeat(source, 3, axis=1)[:, :columns] + 0.5 * rng.normal(size=(rows, columns))
    squares = x[:, 2::3].shape[1]
    x[:, 2::3] = source[:, :squares] ** 2 + 0.3 * rng.normal(size=(rows, squares))
    return x


@contextlib.contextmanager
def cluster(quick: bool) -> Iterator[str]:
    """joblib's Dask backend on a LocalCluster of 2 workers, or joblib's own processes without dask."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        with joblib.parallel_config(n_jobs=2):
            yield "joblib, 2 local jobs (dask not installed)"
        return
    # Threads start in a moment (the quick run); processes are what a real run wants.
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=not quick, dashboard_address=None) as local,
        Client(local),
        joblib.parallel_backend("dask"),
    ):
        yield f"a Dask LocalCluster of 2 {'threads' if quick else 'processes'}"


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="12 columns x 1,000 rows, worker threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows, columns = (1000, 12) if args.quick else (5000, 60)
    x = network_data(rows, columns, args.seed)
    with cluster(args.quick) as where:
        mi = ibf.pairwise_mi(x, progress=True)
    serial = ibf.pairwise_mi(x, n_jobs=1)
    same = bool(torch.equal(mi.nan_to_num(), serial.nan_to_num()))
    print(f"{columns * (columns - 1) // 2} pairs on {where}; the same matrix as one process: {same}")
    upper = np.triu_indices(columns, 1)
    values = mi.numpy()[upper]
    order = np.argsort(values)[::-1]
    edges = [(int(upper[0][i]), int(upper[1][i]), float(values[i])) for i in order[:columns]]
    print("strongest edges (nats):", ", ".join(f"{a}-{b} {v:.2f}" for a, b, v in edges[:8]))
    within = sum(a // 3 == b // 3 for a, b, _ in edges)
    print(f"{within} of the {len(edges)} strongest edges join columns of one group")
    return {"same_as_serial": same, "edges": edges, "within_groups": within, "where": where}


if __name__ == "__main__":
    main()
