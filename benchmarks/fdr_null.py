"""The all-pairs FDR null's fitted tail against a large draw of the null, by sample size.

``pairwise_mi(..., fdr=q)`` judges each pair by the upper tail of a Pearson type III law fitted to
draws of the KSG null of normal-scored independent columns (``pairwise_stream.ksg_null``), and
Benjamini-Hochberg over P pairs reads that tail near p = q / P. For each row count N this script draws
the null many times, fits the law to disjoint chunks of a few thousand to a hundred thousand of those
draws (the sizes ``pairwise_stream.null_draws`` picks), and counts how much of the rest lies beyond
each chunk's cutoff for a stated tail mass of 1e-2, 1e-3 and 1e-4: the ratio held / stated is the
factor by which the share of false edges exceeds the level asked for where the first edges are judged.
Draws are kept under the scratch folder (``fdr_null_draws/draws_<N>.npy``, not committed), so a
killed run resumes from the sizes it finished.

Run: ``python benchmarks/fdr_null.py`` (about 45 minutes of one core at the default sizes).
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import time
from typing import Any

import numpy as np
import torch

from benchmarks.runners import script
from iblearn.functional.knn import pairwise_stream
from iblearn.records import environment, markdown_table, write_json

OUT = script.RESULTS / "fdr_null"
#: Where the draws are kept between runs.
DRAWN = script.SCRATCH / "fdr_null_draws"
#: Row counts and the draws of the null made at each (a million where a draw is cheap).
DRAWS = {336: 1_000_000, 1000: 1_000_000, 3000: 500_000, 10_000: 200_000}
#: Draws each fitted law rests on: the least and the most of ``null_draws``, and one between.
FIT_SIZES = (5000, 20_000, 100_000)
#: Stated upper-tail masses.
LEVELS = (1e-2, 1e-3, 1e-4)
#: The most disjoint chunks fitted at one size.
CHUNKS = 20


def draws(n: int, count: int) -> tuple[np.ndarray, float]:
    """``count`` draws of the KSG null at N = ``n`` (k = 3, the first estimator), from the file where
    a run before made them; the thread CPU seconds they took (0 where read back)."""
    DRAWN.mkdir(parents=True, exist_ok=True)
    path = DRAWN / f"draws_{n}.npy"
    if path.exists():
        saved = np.load(path)
        if len(saved) >= count:
            return saved[:count], 0.0
    start = time.thread_time()
    values = pairwise_stream.ksg_null(n, 3, 1, count, seed=n)
    seconds = time.thread_time() - start
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, values)
    tmp.replace(path)
    return values, seconds


def held(values: np.ndarray, size: int) -> dict[str, Any]:
    """Held / stated tail mass at each of :data:`LEVELS` for the law fitted to each disjoint chunk of
    ``size`` draws, judged on all the other draws: median, least and most over the chunks."""
    chunks = min(CHUNKS, len(values) // size - 1)
    ratios: dict[float, list[float]] = {p: [] for p in LEVELS}
    for c in range(chunks):
        fit = values[c * size : (c + 1) * size]
        rest = np.concatenate([values[: c * size], values[(c + 1) * size :]])
        tail = pairwise_stream.null_tail(pairwise_stream.null_moments(fit))
        for p in LEVELS:
            ratios[p].append(float((rest > tail.isf(p)).mean() / p))
    return {
        "chunks": chunks,
        **{f"{p:g}": [float(np.median(r)), min(r), max(r)] for p, r in ratios.items()},
    }


def table(results: dict[str, Any]) -> str:
    """One row per N and fit size: held / stated at each level, median [least-most] over chunks."""
    rows = []
    for n, run in results["by_n"].items():
        for size, fit in run["fits"].items():
            cells = [f"{m:.2f} [{lo:.2f}-{hi:.2f}]" for m, lo, hi in (fit[f"{p:g}"] for p in LEVELS)]
            rows.append([n, f"{run['draws']:,}", f"{int(size):,}", fit["chunks"], *cells])
    head = ["N", "draws", "fitted to", "chunks", *(f"held / stated at {p:g}" for p in LEVELS)]
    return markdown_table(head, rows)


def main() -> None:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_output(OUT)
    parser.add_argument("--scale", type=float, default=1.0, help="draws at each N times this (a quick run)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"config": {"k": 3, "draws": DRAWS, "scale": args.scale}, "by_n": {}}
    for n, count in DRAWS.items():
        values, seconds = draws(n, int(count * args.scale))
        fits = {str(s): held(values, s) for s in FIT_SIZES if len(values) >= 2 * s}
        results["by_n"][str(n)] = {"draws": len(values), "thread_seconds": seconds, "fits": fits}
        write_json(args.out / "results.json", {**results, "environment": environment()})
        print(f"N = {n}: {len(values):,} draws, {seconds:.0f} s", flush=True)
    write_json(args.out / "config.json", results["config"])
    (args.out / "table.md").write_text(table(results) + "\n", encoding="utf-8")
    print(table(results))


if __name__ == "__main__":
    main()
