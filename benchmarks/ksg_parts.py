"""Where the time of KSG on the 5x5 Gaussian goes (the speed table's case: k = 3, max-norm, N = 10,000,
standardized and jittered as ``ksg_mi`` prepares them): the k-th neighbour search in the 10-d joint
space and the two counts in the 5-d marginals, by the compiled kernel and by the fallback where none is
built (scipy's k-d tree for the search, sorted-window counting), and the whole ``ksg_mi`` on one thread
and on two; and how far the k-th neighbour lies and how many points one or two coordinates leave a
query to check::

    python benchmarks/ksg_parts.py [--repeats 7] [--out benchmarks/results/ksg_parts]

The parts: thread CPU time, one thread, the two paths alternated, best of ``--repeats``; each pair must
give the same radii and counts. Threads: wall-clock time (a second thread's work is not the calling
thread's CPU time), one and two alternated, best of ``--repeats``, the same value to the last bit.
Writes ``results.json`` (rows, settings, provenance) and ``table.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import _prelude  # noqa: F401  (one thread, before numpy and torch)
from benchmarks.runners import script
from iblearn._provenance import environment
from iblearn.data import dense_gaussian
from iblearn.functional import ksg_mi
from iblearn.functional.knn import neighbors as _neighbors
from iblearn.functional.knn.ksg import prepare_samples
from iblearn.functional.knn.neighbors import count_within, kth_neighbour
from iblearn.records import atomic_write_text, markdown_table

N, K = 10_000, 3


def timed(fn: Callable[[], Any], timer: Callable[[], float]) -> tuple[Any, float]:
    start = timer()
    out = fn()
    return out, timer() - start


def parts(xp: torch.Tensor, yp: torch.Tensor, kernel: bool) -> dict[str, Callable[[], Any]]:
    def with_kernel(fn: Callable[[], Any]) -> Callable[[], Any]:
        def call() -> Any:
            saved, _neighbors.HAVE_KERNEL = _neighbors.HAVE_KERNEL, kernel
            try:
                return fn()
            finally:
                _neighbors.HAVE_KERNEL = saved

        return call

    eps = kth_neighbour([xp, yp], K, "chebyshev", "tree")[0]
    return {
        "k-th neighbour, 10-d joint": with_kernel(lambda: kth_neighbour([xp, yp], K, "chebyshev", "tree")[0]),
        "count, 5-d x": with_kernel(lambda: count_within(xp, eps, "chebyshev", "tree", inclusive=False)),
        "count, 5-d y": with_kernel(lambda: count_within(yp, eps, "chebyshev", "tree", inclusive=False)),
        "ksg_mi, whole": with_kernel(lambda: ksg_mi(xp, yp, K)),
    }


def pruning(xp: torch.Tensor, yp: torch.Tensor) -> dict[str, float]:
    """The mean k-th neighbour radius in the joint space (the samples are standardized: in standard
    deviations), and the mean share of the points a query must still check once one or two coordinates
    prune the candidates (those within its radius in the first coordinate, and in the first two)."""
    joint = torch.cat([xp, yp], 1)
    eps = kth_neighbour([xp, yp], K, "chebyshev", "tree")[0]
    one = two = 0.0
    for rows in torch.arange(len(joint)).split(1000):
        near = (joint[rows, None, :2] - joint[None, :, :2]).abs() <= eps[rows, None, None]
        one += float(near[..., 0].double().mean(1).sum())
        two += float(near.all(-1).double().mean(1).sum())
    return {"mean_radius": float(eps.mean()), "share_one": one / len(joint), "share_two": two / len(joint)}


def main() -> None:
    parser = script.Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_output(Path(__file__).parent / "results" / "ksg_parts")
    args = parser.parse_args()
    if not _neighbors.HAVE_KERNEL:
        raise SystemExit("the compiled kernel is not built here: nothing to compare the fallback with")
    torch.set_num_threads(1)
    x, y = dense_gaussian(5).sample(N, seed=0)
    (xp, yp), _ = prepare_samples([("x", x), ("y", y)], K, standardize=True, ties="jitter", seed=0)
    kernel, fallback = parts(xp, yp, True), parts(xp, yp, False)
    rows = []
    for name in kernel:
        times: dict[str, float] = {"kernel": float("inf"), "fallback": float("inf")}
        values = {}
        for i in range(args.repeats):  # alternated, each in turn first
            order = ("kernel", "fallback") if i % 2 == 0 else ("fallback", "kernel")
            for path in order:
                fn = kernel[name] if path == "kernel" else fallback[name]
                values[path], seconds = timed(fn, time.thread_time)
                times[path] = min(times[path], seconds)
        if not torch.equal(torch.as_tensor(values["kernel"]), torch.as_tensor(values["fallback"])):
            raise RuntimeError(f"{name}: the kernel and the fallback differ")
        rows.append({"part": name, "kernel_s": times["kernel"], "fallback_s": times["fallback"]})
    threads: dict[int, float] = {1: float("inf"), 2: float("inf")}
    value: dict[int, float] = {}
    for i in range(args.repeats):
        for n in (1, 2) if i % 2 == 0 else (2, 1):
            torch.set_num_threads(n)
            out, seconds = timed(lambda: float(ksg_mi(xp, yp, K)), time.perf_counter)
            value[n], threads[n] = out, min(threads[n], seconds)
    torch.set_num_threads(1)
    if value[1] != value[2]:
        raise RuntimeError(f"ksg_mi: {value[1]!r} on one thread, {value[2]!r} on two")
    settings = {"n": N, "k": K, "task": "dense_gaussian(5), seed 0", "repeats": args.repeats}
    record = {
        "settings": settings,
        "provenance": environment(),
        "rows": rows,
        "threads": {"one_s": threads[1], "two_s": threads[2], "value": value[1]},
        "pruning": pruning(xp, yp),
    }
    table = markdown_table(
        ["part (5x5 Gaussian, N = 10,000)", "compiled kernel, s", "fallback, s", "fallback / kernel"],
        [
            [
                r["part"],
                f"{r['kernel_s']:.3f}",
                f"{r['fallback_s']:.3f}",
                f"{r['fallback_s'] / r['kernel_s']:.1f}x",
            ]
            for r in rows
        ],
    )
    table += (
        f"\n\nksg_mi by the kernel, wall-clock: {threads[1]:.3f} s on one thread, {threads[2]:.3f} s on two"
        f" (same value, {value[1]:.6f} nats).\n"
    )
    p = record["pruning"]
    table += (
        f"\nMean k-th neighbour radius {p['mean_radius']:.3f} sd; points left to check by one pruning"
        f" coordinate {100 * p['share_one']:.1f}%, by two {100 * p['share_two']:.1f}%.\n"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "results.json", json.dumps(record, indent=1) + "\n")
    atomic_write_text(args.out / "table.md", table)
    print(table)


if __name__ == "__main__":
    main()
