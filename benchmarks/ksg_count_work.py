"""How the work of KSG's range counts must grow with N on a k-d tree (the scaling benchmark's growth goal).

KSG counts, for every point, the others within its joint k-th neighbour's radius eps in each marginal
space. For a 5x5 Gaussian the joint radius shrinks like (k/N)^(1/10), so a marginal ball holds about
N eps^5 ~ (kN)^(1/2) points, and a tree count that adds the nodes wholly inside the ball without reading
their points (as iblearn's kernel and scikit-learn's ``count_only`` do) must still open every leaf the
ball's surface cuts: in 5 dimensions about (kN)^(1/2 * 4/5) = N^0.4 of them a query, so N^1.4 in all.
This script measures that floor on the kernel's own tree (leaves of 64, ``COUNT_LEAF``), instead of
arguing it: per N, for random queries, the points in the marginal ball, the nodes a count must visit
(the children of every node the surface cuts) and the leaves and points it must test one by one, and
the kernel's own seconds a query for the k-th neighbour and for a count. Growth exponents are least
squares slopes of log value on log N over N >= 100,000, where every size is on the tree.

    python benchmarks/ksg_count_work.py [--sizes 10000 ... 1000000] [--queries 400]

Writes benchmarks/results/ksg_count_work.json and prints a table.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.spatial import cKDTree

from benchmarks.runners import script
from iblearn.data import dense_gaussian
from iblearn.functional.knn import _maxnorm
from iblearn.functional.knn.neighbors import COUNT_LEAF, _tree_layout

OUT = Path(__file__).parent / "results" / "ksg_count_work.json"


def surface_work(layout: tuple[Any, ...], c: np.ndarray, r: np.ndarray) -> tuple[float, float, float]:
    """Mean over queries ``c`` (q, d) with radii ``r`` of the nodes a strict count must visit, the
    leaves whose box the sphere cuts, and the points in those leaves."""
    _, _, d, depth, span, boxes = layout[:6]
    boxes = boxes.reshape(-1, 2, d)
    visited = np.zeros(len(c))
    cut = np.ones((len(c), 1), dtype=bool)  # the root is visited
    for level in range(depth + 1):
        first = 2**level - 1
        nodes = np.arange(first, 2 * first + 1)
        lo, hi = boxes[nodes, 0], boxes[nodes, 1]
        gap = np.maximum(lo[None] - c[:, None], c[:, None] - hi[None]).clip(min=0).max(-1)
        far = np.maximum(np.abs(lo[None] - c[:, None]), np.abs(hi[None] - c[:, None])).max(-1)
        here = cut if level == 0 else np.repeat(cut, 2, axis=1)  # children of the cut nodes
        visited += here.sum(1)
        cut = here & (gap < r[:, None]) & (far >= r[:, None])  # neither outside nor wholly inside
    sizes = span[2 * nodes + 1] - span[2 * nodes]
    return float(visited.mean()), float(cut.sum(1).mean()), float((cut * sizes[None]).sum(1).mean())


def kernel_seconds(
    layout: tuple[Any, ...], order: np.ndarray, call: str, k: int, radius: np.ndarray, q: int
) -> float:
    """Thread CPU seconds a query of the kernel's k-th neighbour search or strict count, over ``q``
    layout positions in 10 runs spread over the sample (each run a stretch of neighbouring leaves)."""
    n = len(order)
    dist, idx = np.empty((n, k)), np.empty((n, k), dtype=np.int64)
    out = np.empty(n, dtype=np.int64)
    t = time.thread_time()
    for first in np.linspace(0, n - q // 10, 10).astype(int):
        if call == "knn":
            _maxnorm.knn(layout, order, k, first, first + q // 10, dist, idx)
        else:
            _maxnorm.count(layout, radius, False, first, first + q // 10, out)
    return (time.thread_time() - t) / (q // 10 * 10)


def measure(n: int, queries: int, k: int = 3, seed: int = 0) -> dict[str, Any]:
    x, y = (((v - v.mean(0)) / v.std(0)).numpy() for v in dense_gaussian(5).sample(n, seed=seed))
    joint = np.hstack([x, y])
    pick = np.random.default_rng(seed).choice(n, queries, replace=False)
    eps = cKDTree(joint).query(joint[pick], k=k + 1, p=np.inf)[0][:, k]
    order, layout = _tree_layout(x, COUNT_LEAF, float32=True)  # count_index's
    inside = [(np.abs(x - x[i]).max(1) < e).sum() - 1 for i, e in zip(pick, eps, strict=True)]
    work = [
        surface_work(layout, x[p], e)
        for p, e in zip(np.array_split(pick, 8), np.array_split(eps, 8), strict=True)
    ]
    visited, leaves, points = np.mean(work, axis=0).tolist()
    knn_order, knn_layout = _tree_layout(joint, float32=True)  # kth_neighbour's
    all_eps = np.full(n, float(np.median(eps)))  # the count's timing: a typical radius at every query
    return {
        "n": n,
        "ball_points": float(np.mean(inside)),
        "nodes_visited": visited,
        "leaves_cut": leaves,
        "points_tested": points,
        "us_knn": 1e6 * kernel_seconds(knn_layout, knn_order, "knn", k, all_eps, queries * 10),
        "us_count": 1e6 * kernel_seconds(layout, order, "count", k, all_eps, queries * 10),
    }


def slope(rows: list[dict[str, Any]], key: str, lo: int = 100_000) -> float:
    pts = np.array([(np.log(r["n"]), np.log(r[key])) for r in rows if r["n"] >= lo])
    return float(np.polyfit(pts[:, 0], pts[:, 1], 1)[0]) if len(pts) > 1 else float("nan")


def main() -> None:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 30_000, 100_000, 300_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=400)
    parser.add_output(OUT)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for n in args.sizes:
        rows.append(measure(n, args.queries))
        print({k: round(v, 2) for k, v in rows[-1].items()}, flush=True)
    keys = ["ball_points", "nodes_visited", "leaves_cut", "points_tested", "us_knn", "us_count"]
    growth = {key: slope(rows, key) for key in keys}
    args.out.write_text(json.dumps({"rows": rows, "growth_per_query": growth}, indent=1) + "\n")
    print("| N | " + " | ".join(keys) + " |\n|---|" + "---|" * len(keys))
    for r in rows:
        print(f"| {r['n']:,} | " + " | ".join(f"{r[key]:.1f}" for key in keys) + " |")
    print("| growth a query (N >= 100,000) | " + " | ".join(f"N^{growth[key]:.2f}" for key in keys) + " |")


if __name__ == "__main__":
    main()
