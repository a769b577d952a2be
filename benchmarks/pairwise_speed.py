"""All-pairs MI where users feel it, against its goals: iblearn's ``pairwise_mi`` beside ennemi's
``pairwise_mi`` (40 columns x 5,000 rows; goal: at least 10x) and beside a per-pair KSG on scipy's
cKDTree (30 x 3,000; goal: at least 8x), one thread each; and the matrix of 1,000 columns x 2,000 rows
on 2 jobs (goal: under 5 minutes).

    python benchmarks/pairwise_speed.py [--reps 5] [--peer-python /tmp/perfpeers/bin/python]
                                        [--slice 300] [--full-matrix]

The data: Gaussian columns in groups of 4 sharing a latent source (within a group, MI 0.22 nats a
pair), as benchmarks/many_variables.py makes them. Every method estimates KSG's MI with k = 3.

One thread: thread CPU time (``time.thread_time``) of one whole matrix, iblearn and its peer alternating
(each in turn first) for ``--reps`` repetitions; the ratio is the peer's median over iblearn's. ennemi
runs in a Python of its own (``--peer-python``: its numpy need not be the one iblearn runs on), a worker
process started once that times each matrix in its own thread and answers between iblearn's runs. The
cKDTree KSG is the textbook one (the joint k-th neighbour by ``query``, the marginal counts by
``query_ball_point``), a tree per pair and variable, in this process.

The 1,000 x 2,000 matrix: wall-clock time with ``n_jobs=2`` (joblib's processes, started before the
timing) of the first ``--slice`` columns, scaled to the 499,500 pairs by the pairs' count (every pair
costs the same: the same rows, one column a side); ``--full-matrix`` times all of it instead. The load
average is recorded beside it, since the 2 cores are shared. Writes
benchmarks/results/pairwise_speed/results.json (every timing, settings, provenance) and table.md.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import importlib.metadata
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.spatial import cKDTree
from scipy.special import digamma

import iblearn.functional as ibf
from benchmarks.runners import script
from benchmarks.runners.script import cpu_model
from iblearn.records import environment, markdown_table

OUT = Path(__file__).parent / "results" / "pairwise_speed"
GOALS = {"ennemi": 10.0, "cKDTree KSG": 8.0, "matrix_seconds": 300.0}

#: The peer's worker: loads the data, then times ennemi's matrix in its own thread on each "run" line.
ENNEMI_WORKER = """
import sys, time
import numpy as np
from ennemi import pairwise_mi
x = np.load(sys.argv[1])
print("ready", flush=True)
for line in sys.stdin:
    start = time.thread_time()
    matrix = pairwise_mi(x, k=3, max_threads=1)
    seconds = time.thread_time() - start
    np.save(sys.argv[2], np.asarray(matrix))
    print(seconds, flush=True)
"""


def columns(rows: int, m: int, seed: int) -> np.ndarray:
    """``m`` columns in groups of 4, each the group's source plus as much independent noise."""
    rng = np.random.default_rng(seed)
    source = rng.normal(size=(rows, -(-m // 4)))
    return np.repeat(source, 4, axis=1)[:, :m] + rng.normal(size=(rows, m))


def ckdtree_ksg(x: np.ndarray, y: np.ndarray, k: int = 3) -> float:
    """KSG eq. (8) for two standardized 1-d samples, with scipy's k-d tree."""
    n = len(x)
    xy = np.c_[x, y]
    eps = cKDTree(xy).query(xy, k=k + 1, p=np.inf)[0][:, k]
    r = np.nextafter(eps, 0)  # strictly within eps
    nx = cKDTree(x[:, None]).query_ball_point(x[:, None], r, p=np.inf, return_length=True) - 1
    ny = cKDTree(y[:, None]).query_ball_point(y[:, None], r, p=np.inf, return_length=True) - 1
    return float(digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1)))


def ckdtree_matrix(x: np.ndarray) -> np.ndarray:
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    z = z + 1e-10 * np.random.default_rng(0).normal(size=z.shape)
    m = z.shape[1]
    out = np.full((m, m), np.nan)
    for i in range(m):
        for j in range(i + 1, m):
            out[i, j] = out[j, i] = ckdtree_ksg(z[:, i], z[:, j])
    return out


#: Seconds of each method, one a round.
Times = dict[str, list[float]]


def thread_seconds(fn: Any, *args: Any) -> tuple[float, Any]:
    start = time.thread_time()
    out = fn(*args)
    return time.thread_time() - start, out


def iblearn_matrix(x: np.ndarray) -> np.ndarray:
    return ibf.pairwise_mi(x).numpy()


def versus_ennemi(x: np.ndarray, reps: int, python: str) -> dict[str, Any]:
    """Interleaved thread CPU times of iblearn's matrix and ennemi's (in its worker process)."""
    with tempfile.TemporaryDirectory() as folder:
        data, matrix = Path(folder) / "x.npy", Path(folder) / "ennemi.npy"
        np.save(data, x)
        worker = subprocess.Popen(
            [python, "-c", ENNEMI_WORKER, str(data), str(matrix)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
        )
        assert worker.stdin is not None and worker.stdout is not None
        if worker.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the ennemi worker did not start ({python})")

        def ennemi() -> float:
            worker.stdin.write("run\n")  # type: ignore[union-attr]
            worker.stdin.flush()  # type: ignore[union-attr]
            return float(worker.stdout.readline())  # type: ignore[union-attr]

        ours = iblearn_matrix(x)  # warm-up
        times = interleaved({"iblearn": lambda: thread_seconds(iblearn_matrix, x)[0], "ennemi": ennemi}, reps)
        theirs = np.load(matrix)
        worker.stdin.close()
        worker.wait(timeout=60)
        version = subprocess.run(
            [python, "-c", "import importlib.metadata as m; print(m.version('ennemi'))"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    return compared(x, times, ours, theirs, "ennemi", version)


def versus_ckdtree(x: np.ndarray, reps: int) -> dict[str, Any]:
    ours, theirs = iblearn_matrix(x), ckdtree_matrix(x)
    fns = {"iblearn": iblearn_matrix, "cKDTree KSG": ckdtree_matrix}
    times = interleaved({name: lambda fn=fn: thread_seconds(fn, x)[0] for name, fn in fns.items()}, reps)
    return compared(x, times, ours, theirs, "cKDTree KSG", importlib.metadata.version("scipy"))


def interleaved(timers: dict[str, Callable[[], float]], reps: int) -> Times:
    """Each timer's seconds in ``reps`` rounds, the order reversed every other round (so that load on
    a shared machine hits both alike), printed as they come."""
    times: Times = {name: [] for name in timers}
    for r in range(reps):
        for name in list(timers) if r % 2 == 0 else list(timers)[::-1]:
            seconds = timers[name]()
            times[name].append(seconds)
            print(f"  {name}: {seconds:.2f} s", flush=True)
    return times


def compared(
    x: np.ndarray, times: Times, ours: np.ndarray, theirs: np.ndarray, peer: str, version: str
) -> dict[str, Any]:
    """The record of iblearn against ``peer`` on ``x``: the times, the ratio of the median times (the
    peer's over iblearn's) and the largest difference of the two MI matrices off the diagonal."""
    off = ~np.eye(x.shape[1], dtype=bool)
    return {
        "shape": list(x.shape),
        "thread_seconds": times,
        "ratio": statistics.median(times[peer]) / statistics.median(times["iblearn"]),
        "max_abs_difference_nats": float(np.abs(ours[off] - theirs[off]).max()),
        "peer_version": version,
    }


def matrix_on_two_jobs(x: np.ndarray, slice_columns: int, full: bool) -> dict[str, Any]:
    """Wall-clock time of the matrix (or of its first ``slice_columns``, scaled by the pairs) with
    n_jobs=2, and the one-thread CPU time of those first columns."""
    m = x.shape[1]
    part = x if full else x[:, :slice_columns]
    ibf.pairwise_mi(part[:, :32], n_jobs=2)  # start the worker processes
    load_before = os.getloadavg()
    cpu_start = time.process_time()
    start = time.perf_counter()
    ibf.pairwise_mi(part, n_jobs=2)
    seconds = time.perf_counter() - start
    caller_cpu = time.process_time() - cpu_start
    load_after = os.getloadavg()
    pairs, timed = m * (m - 1) // 2, part.shape[1] * (part.shape[1] - 1) // 2
    print(f"  {part.shape[1]} columns on 2 jobs: {seconds:.1f} s wall", flush=True)
    one_thread, _ = thread_seconds(iblearn_matrix, x[:, :slice_columns])
    print(f"  {slice_columns} columns on one thread: {one_thread:.1f} s CPU", flush=True)
    sliced = slice_columns * (slice_columns - 1) // 2
    return {
        "shape": list(x.shape),
        "columns_timed": int(part.shape[1]),
        "wall_seconds": seconds,
        "caller_cpu_seconds": caller_cpu,
        "estimated_wall_seconds": seconds * pairs / timed,
        "one_thread_columns": slice_columns,
        "one_thread_cpu_seconds": one_thread,
        "estimated_two_core_seconds": one_thread * pairs / sliced / 2,
        "extrapolated": not full,
        "load_average_before": load_before,
        "load_average_after": load_after,
    }


def table(results: dict[str, Any]) -> str:
    rows = []
    for name, key in (("ennemi", "ennemi"), ("cKDTree KSG", "ckdtree")):
        r = results[key]
        t = {k: statistics.median(v) for k, v in r["thread_seconds"].items()}
        rows.append(
            [
                f"{r['shape'][1]} x {r['shape'][0]}",
                f"{name} {r['peer_version']}",
                f"{t[name]:.2f}",
                f"{t['iblearn']:.3f}",
                f"{r['ratio']:.1f}x",
                f">= {GOALS[name]:.0f}x",
                "met" if r["ratio"] >= GOALS[name] else "not met",
                f"{r['max_abs_difference_nats']:.1e}",
            ]
        )
    header = ["columns x rows", "peer", "peer s", "iblearn s", "ratio", "goal", "", "max abs diff, nats"]
    mat = results["matrix"]
    how = (
        f"the first {mat['columns_timed']} columns took {mat['wall_seconds']:.1f} s, scaled by the pairs"
        if mat["extrapolated"]
        else f"all {mat['shape'][1]} columns timed"
    )
    estimate, cpu_estimate = mat["estimated_wall_seconds"], mat["estimated_two_core_seconds"]
    prov = results["provenance"]
    lines = [
        "One thread, thread CPU time of one whole matrix (k = 3), medians of "
        f"{results['config']['reps']} interleaved repetitions each (each method in turn first).",
        "",
        markdown_table(header, rows),
        "",
        f"The matrix of {mat['shape'][1]} columns x {mat['shape'][0]} rows with `n_jobs=2`: "
        f"{estimate:.0f} s wall ({how}), with the load average (1, 5, 15 min) at "
        f"{tuple(round(v, 2) for v in mat['load_average_before'])} before and "
        f"{tuple(round(v, 2) for v in mat['load_average_after'])} after, on {os.cpu_count()} shared cores. "
        f"On one thread the first {mat.get('one_thread_columns', mat['columns_timed'])} columns took "
        f"{mat['one_thread_cpu_seconds']:.1f} s of CPU time, so two "
        f"idle cores would take {cpu_estimate:.0f} s for the whole matrix. Goal under "
        f"{GOALS['matrix_seconds']:.0f} s: {'met' if estimate < GOALS['matrix_seconds'] else 'not met'} "
        f"as measured, {'met' if cpu_estimate < GOALS['matrix_seconds'] else 'not met'} on idle cores.",
        "",
        f"_`python benchmarks/pairwise_speed.py` with {results['config']}; iblearn at commit "
        f"{prov['git_commit']}, {prov['date']}, {prov['cpu']} ({prov['machine']}), torch {prov['torch']}, "
        f"numpy {prov['numpy']}._",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--peer-python", default="/tmp/perfpeers/bin/python", help="a Python with ennemi")
    parser.add_argument(
        "--slice", type=int, default=300, help="columns of the 1,000 timed (2 jobs, 1 thread)"
    )
    parser.add_argument("--full-matrix", action="store_true", help="time all 1,000 columns on 2 jobs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_output(OUT)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    config = {k: v for k, v in vars(args).items() if k not in ("out", "peer_python")}
    print("ennemi, 40 x 5,000:", flush=True)
    ennemi = versus_ennemi(columns(5_000, 40, args.seed), args.reps, args.peer_python)
    print("cKDTree KSG, 30 x 3,000:", flush=True)
    ckdtree = versus_ckdtree(columns(3_000, 30, args.seed), args.reps)
    print("1,000 x 2,000 on 2 jobs:", flush=True)
    matrix = matrix_on_two_jobs(columns(2_000, 1_000, args.seed), args.slice, args.full_matrix)
    provenance = {**environment(), "cpu": cpu_model()}
    results = {
        "config": config,
        "goals": GOALS,
        "ennemi": ennemi,
        "ckdtree": ckdtree,
        "matrix": matrix,
        "provenance": provenance,
    }
    script.write_folder(args.out, results, table(results))
    return results


if __name__ == "__main__":
    main()
