"""All-pairs MI of many columns: iblearn's ``pairwise_mi`` beside ennemi's ``pairwise_mi`` and
scikit-learn's ``mutual_info_regression`` over columns, on one core; iblearn on 1 and 2 jobs; and on a
Dask LocalCluster of 2 worker processes, whose matrix must equal the serial one bit for bit.

    python benchmarks/many_variables.py [--rows 10000] [--columns 200] [--subset 40] [--peer-subset 16]

The data: ``--columns`` Gaussian columns in groups of 4 sharing a latent source (within a group, MI
0.22 nats a pair), ``--rows`` rows. All three estimate KSG-type MI with k = 3 between single columns.

One core: thread CPU time (``time.thread_time``) of the matrix of a subset of the columns (``--subset``
for iblearn, ``--peer-subset`` for the peers, which are several times slower), the three alternating
in a rotating order for ``--reps`` repetitions so that the machine's load falls on all alike; each
method's time a pair (median over the repetitions) times the ``columns (columns - 1) / 2`` pairs gives
its time for the whole matrix (every pair costs the same: the same rows, one column each side).
``--full`` times iblearn on all the columns instead.

Jobs: wall-clock time of iblearn's matrix of ``--subset`` columns with ``n_jobs=1`` and ``n_jobs=2``
(joblib's loky processes, started before the timing), interleaved, with the load average beside (the
machine's cores are shared). Dask: the same matrix inside ``joblib.parallel_backend("dask")`` on a
``LocalCluster(n_workers=2, threads_per_worker=1)``. Writes benchmarks/results/many_variables/
results.json (settings, every timing, versions) and table.md.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import importlib.metadata
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import torch

import iblearn.functional as ibf
from benchmarks.runners import script
from iblearn.records import environment, markdown_table

OUT = Path(__file__).parent / "results" / "many_variables"


def columns(rows: int, m: int, seed: int) -> np.ndarray:
    """``m`` columns in groups of 4, each the group's source plus as much independent noise."""
    rng = np.random.default_rng(seed)
    source = rng.normal(size=(rows, -(-m // 4)))
    return np.repeat(source, 4, axis=1)[:, :m] + rng.normal(size=(rows, m))


def iblearn_matrix(x: np.ndarray) -> np.ndarray:
    return ibf.pairwise_mi(x).numpy()


def ennemi_matrix(x: np.ndarray) -> np.ndarray:
    from ennemi import pairwise_mi

    return pairwise_mi(x, k=3, max_threads=1)


def sklearn_matrix(x: np.ndarray) -> np.ndarray:
    """The pairs i < j by one ``mutual_info_regression`` call a column (its MI with each column before)."""
    from sklearn.feature_selection import mutual_info_regression

    m = x.shape[1]
    out = np.full((m, m), np.nan)
    for j in range(1, m):
        out[:j, j] = out[j, :j] = mutual_info_regression(x[:, :j], x[:, j], n_neighbors=3, random_state=0)
    return out


def cpu_seconds(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> tuple[float, np.ndarray]:
    start = time.thread_time()
    out = fn(x)
    return time.thread_time() - start, out


def wall_seconds(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def one_core(x: np.ndarray, subset: int, peer_subset: int, reps: int, full: bool) -> dict[str, Any]:
    """Per-pair thread CPU time of each method, rotating their order between repetitions."""
    methods = {
        "iblearn": (iblearn_matrix, x if full else x[:, :subset]),
        "ennemi": (ennemi_matrix, x[:, :peer_subset]),
        "scikit-learn": (sklearn_matrix, x[:, :peer_subset]),
    }
    per_pair: dict[str, list[float]] = {name: [] for name in methods}
    agree: dict[str, float] = {}
    names = list(methods)
    for r in range(reps):
        for name in names[r % 3 :] + names[: r % 3]:
            fn, data = methods[name]
            m = data.shape[1]
            seconds, matrix = cpu_seconds(fn, data)
            per_pair[name].append(seconds / (m * (m - 1) // 2))
            ours = iblearn_matrix(data[:, :8]) if name != "iblearn" else None
            if ours is not None:
                off = ~np.eye(8, dtype=bool)
                agree[name] = float(np.abs(matrix[:8, :8][off] - ours[off]).max())
            print(f"  {name}: {m} columns, {seconds:.2f} s CPU", flush=True)
    pairs = x.shape[1] * (x.shape[1] - 1) // 2
    return {
        "columns_timed": {name: int(methods[name][1].shape[1]) for name in methods},
        "cpu_seconds_per_pair": per_pair,
        "cpu_seconds_full_matrix": {name: statistics.median(v) * pairs for name, v in per_pair.items()},
        "max_abs_difference_from_iblearn_nats": agree,
    }


def jobs(x: np.ndarray, reps: int) -> dict[str, Any]:
    """Wall time of iblearn's matrix on 1 and 2 jobs (loky), interleaved; the matrices compared."""
    serial = ibf.pairwise_mi(x, n_jobs=1)
    ibf.pairwise_mi(x[:, :20], n_jobs=2)  # start the worker processes before timing
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {"1": [], "2": []}
    equal = True
    for r in range(reps):
        for n in ("1", "2") if r % 2 == 0 else ("2", "1"):
            seconds, matrix = wall_seconds(lambda n=n: ibf.pairwise_mi(x, n_jobs=int(n)))
            times[n].append(seconds)
            equal &= bool(torch.equal(matrix.nan_to_num(), serial.nan_to_num()))
            print(f"  n_jobs={n}: {seconds:.2f} s wall", flush=True)
    return {
        "columns": int(x.shape[1]),
        "wall_seconds": times,
        "speedup_median": statistics.median(times["1"]) / statistics.median(times["2"]),
        "equal_to_serial": equal,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }


def dask_cluster(x: np.ndarray) -> dict[str, Any]:
    """The matrix on a LocalCluster of 2 worker processes through joblib's Dask backend."""
    from distributed import Client, LocalCluster

    serial = ibf.pairwise_mi(x, n_jobs=1)
    with (
        LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster),
        joblib.parallel_backend("dask"),
    ):
        seconds, matrix = wall_seconds(lambda: ibf.pairwise_mi(x))
    equal = bool(torch.equal(matrix.nan_to_num(), serial.nan_to_num()))
    print(f"  dask: {seconds:.2f} s wall, equal to serial: {equal}", flush=True)
    return {"columns": int(x.shape[1]), "workers": 2, "wall_seconds": seconds, "equal_to_serial": equal}


def table(results: dict[str, Any]) -> str:
    """table.md from results.json's content."""
    config, core, par, dask = (results[k] for k in ("config", "one_core", "jobs", "dask"))
    env, versions = results["environment"], results["versions"]
    full = core["cpu_seconds_full_matrix"]
    wall = {n: statistics.median(v) for n, v in par["wall_seconds"].items()}
    pairs = config["columns"] * (config["columns"] - 1) // 2
    rows = [
        [
            name,
            core["columns_timed"][name],
            f"{statistics.median(core['cpu_seconds_per_pair'][name]) * 1e3:.1f}",
            f"{full[name]:.0f}",
            f"{full[name] / full['iblearn']:.1f}x",
            f"{core['max_abs_difference_from_iblearn_nats'].get(name, 0.0):.3f}",
        ]
        for name in full
    ]
    header = [
        "method (one core)",
        "columns timed",
        "ms a pair",
        f"s for {pairs} pairs",
        "vs iblearn",
        "max abs diff, nats",
    ]
    lines = [
        f"All-pairs MI, {config['columns']} columns x {config['rows']} rows (k = 3), thread CPU time, "
        f"median of {config['reps']} rotating repetitions; the full matrix's time is the time a pair "
        "times its pairs.",
        "",
        markdown_table(header, rows),
        "",
        f"iblearn on 1 and 2 jobs (loky), {par['columns']} columns: median wall {wall['1']:.2f} s and "
        f"{wall['2']:.2f} s, "
        f"{par['speedup_median']:.2f}x; matrices equal to the serial one: {par['equal_to_serial']}; "
        f"load average (1, 5, 15 min) {tuple(round(v, 2) for v in par['load_average_before'])} before, "
        f"{tuple(round(v, 2) for v in par['load_average_after'])} after, on "
        f"{os.cpu_count()} cores.",
        "",
        f"Dask LocalCluster, 2 worker processes of one thread, {dask['columns']} columns: "
        f"{dask['wall_seconds']:.2f} s wall (cluster already started); matrix equal to the serial one, bit "
        f"for bit: {dask['equal_to_serial']}.",
        "",
        f"_`python benchmarks/many_variables.py` with {config}; iblearn at commit {env['git_commit']}, torch "
        f"{env['torch']}, " + ", ".join(f"{p} {v}" for p, v in versions.items()) + f"; {env['platform']}._",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--columns", type=int, default=200)
    parser.add_argument(
        "--subset", type=int, default=40, help="iblearn's columns timed on one core, and jobs"
    )
    parser.add_argument("--peer-subset", type=int, default=16, help="the peers' columns timed")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="time iblearn on all the columns")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_output(OUT)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    x = columns(args.rows, args.columns, args.seed)
    config = {k: v for k, v in vars(args).items() if k != "out"}
    print("one core:", flush=True)
    core = one_core(x, args.subset, args.peer_subset, args.reps, args.full)
    print("jobs:", flush=True)
    par = jobs(x[:, : args.subset], args.reps)
    print("dask:", flush=True)
    dask = dask_cluster(x[:, : args.subset])
    versions = {
        p: importlib.metadata.version(p) for p in ("ennemi", "scikit-learn", "joblib", "dask", "distributed")
    }
    results = {
        "config": config,
        "one_core": core,
        "jobs": par,
        "dask": dask,
        "versions": versions,
        "environment": environment(),
    }
    script.write_folder(args.out, results, table(results))
    return results


if __name__ == "__main__":
    main()
