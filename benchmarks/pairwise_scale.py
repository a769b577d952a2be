"""All pairs of thousands of variables streamed in tiles: the cost of a pair beside the dense matrix's,
and FastPairMI's shape (9,563 variables x 336 rows) with planted dependencies, against its goals.

    python benchmarks/pairwise_scale.py [--columns 1000] [--repeats 5] [--measured 768] [--write-results]
    python benchmarks/pairwise_scale.py --keep-fastpairmi ...   # part 1 only; part 2's record kept
    python benchmarks/pairwise_scale.py --full 2 [--write-results]

One thread, thread CPU time (``time.thread_time``) throughout; k = 3.

1. The cost of a pair, under each instruction set of the compiled kernel that the CPU runs
   (``kernel_isa()``: portable, avx2, avx512; the rows of other processors the record holds are
   kept): ``pairwise_mi(x)`` (the dense matrix) and
   ``pairwise_mi(x, top_k=10)`` (the streamed tiles) on the same ``--columns`` x 336 Gaussian columns
   (groups of 4 sharing a source), each timed once in turn in a child process whose IBLEARN_SIMD names
   the set; the sets alternate, each in turn first, for ``--repeats`` rounds, and each row is the
   median of its set's. The top 10 of the dense matrix's rows are checked to be the streamed ones.
   Goal: at most 0.025 ms a pair, on every set the CPU runs (a CPU with AVX2 and no AVX-512 runs the
   avx2 row's kernels).
2. FastPairMI's shape: 9,563 columns x 336 rows, 200 planted pairs among the first 400 columns
   (columns 2i and 2i + 1; 100 linear with correlations spread over [0.2, 0.9], 100 non-linear:
   sine, square, absolute value and a quarter-period cosine, noise levels spread over [0.1, 1.5])
   and independent standard normal columns elsewhere. The first ``--measured`` columns (every
   planted pair among them) are streamed, ``threshold`` mode at the FDR null's cutoff for q = 0.05, in
   tiles of 256: the time a pair there, times the 45.7 million pairs of the whole, on two cores is the
   predicted wall time (every pair costs the same at a fixed N). Recall: the planted pairs among the
   edges Benjamini-Hochberg keeps at q = 0.05 with the whole problem's number of tests (the pairs not
   measured are independent by construction, so leaving their p-values out can only lower the
   recall), and among each planted column's top 10 in the measured block. Peak memory: the process's
   maximum resident size, and the streamed state's size predicted for the whole (sorted columns and
   ranks, the top-K arrays, one tile's counts).

3. With ``--full J``, the whole of FastPairMI's shape as a user runs it: ``pairwise_mi(x, fdr=0.05,
   n_jobs=J, checkpoint=...)`` on all 9,563 columns (every pair computed, the null included), with its
   wall time, the CPU time of the process and of its workers, and the largest resident size of any of
   them; recall of the planted pairs among the edges it keeps. The wall time counts only on an
   otherwise idle machine: the load average before and after is recorded beside it.

Writes results.json (config, every timing, provenance) and table.md under benchmarks/results/pairwise_scale/
(scratch unless --write-results).
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from joblib.externals.loky import get_reusable_executor

import iblearn.functional as ibf
from benchmarks.runners import script
from benchmarks.runners.script import cpu_model
from iblearn.functional.knn import bivariate, kernel_isa, pairwise_stream
from iblearn.functional.knn.options import KNNOptions
from iblearn.functional.knn.pairwise_edges import bh_kept
from iblearn.records import environment, markdown_table, read_json, write_json

ROWS, FULL_COLUMNS, PLANTED, TOP_K, Q = 336, 9563, 200, 10, 0.05
OUT = Path(__file__).parent / "results" / "pairwise_scale"
GOALS = {"ms_per_pair": 0.025, "fastpairmi_seconds": 600.0, "peak_gb": 2.0}


def grouped(rows: int, m: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    source = rng.normal(size=(rows, -(-m // 4)))
    return torch.from_numpy(np.repeat(source, 4, axis=1)[:, :m] + rng.normal(size=(rows, m)))


def planted(rows: int, m: int, seed: int) -> tuple[torch.Tensor, list[dict[str, Any]]]:
    """Standard normal columns, with PLANTED pairs (2i, 2i + 1) of varied kind and strength."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, m))
    pairs = []
    shapes: list[Callable[[np.ndarray], np.ndarray]] = [
        np.sin,
        np.square,
        np.abs,
        lambda u: np.cos(u * np.pi / 2),
    ]
    for i in range(PLANTED):
        a, b = 2 * i, 2 * i + 1
        if i < PLANTED // 2:
            rho = 0.2 + 0.7 * i / (PLANTED // 2 - 1)
            x[:, b] = rho * x[:, a] + np.sqrt(1 - rho**2) * x[:, b]
            pairs.append({"pair": [a, b], "kind": "linear", "strength": rho})
        else:
            j = i - PLANTED // 2
            noise = 1.5 - 1.4 * j / (PLANTED // 2 - 1)
            f = shapes[j % len(shapes)]
            x[:, b] = f(2 * x[:, a]) + noise * x[:, b]
            pairs.append({"pair": [a, b], "kind": ["sine", "square", "abs", "cosine"][j % 4], "noise": noise})
    return torch.from_numpy(x), pairs


def per_pair(columns: int) -> dict[str, Any]:
    """One timing of each form in this process, under its kernel's instruction set."""
    x = grouped(ROWS, columns, seed=0)
    pairs = columns * (columns - 1) // 2
    ibf.pairwise_mi(x[:, :32]), ibf.pairwise_mi(x[:, :32], top_k=TOP_K)  # first calls' imports and tables
    start = time.thread_time()
    dense = ibf.pairwise_mi(x)
    dense_s = time.thread_time() - start
    start = time.thread_time()
    top = ibf.pairwise_mi(x, top_k=TOP_K)
    stream_s = time.thread_time() - start
    d = dense.clone()
    d.fill_diagonal_(-float("inf"))
    values, indices = torch.sort(d, dim=1, descending=True, stable=True)
    same = bool(torch.equal(values[:, :TOP_K], top.values) and torch.equal(indices[:, :TOP_K], top.indices))
    return {
        "columns": columns,
        "pairs": pairs,
        "dense_thread_seconds": dense_s,
        "streamed_thread_seconds": stream_s,
        "dense_ms_per_pair": 1e3 * dense_s / pairs,
        "streamed_ms_per_pair": 1e3 * stream_s / pairs,
        "top_k_equals_dense": same,
        "isa": kernel_isa(),
    }


def per_pair_by_isa(columns: int, repeats: int) -> list[dict[str, Any]]:
    """:func:`per_pair` in a child process per instruction set the CPU runs, the sets alternating (each
    in turn first) for ``repeats`` rounds: a row per set, the medians of its runs and every run."""
    sets = script.isa_sets() or ["portable"]  # without the kernel: the general search, one row
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in sets}
    for r in range(repeats):
        for isa in sets[r % len(sets) :] + sets[: r % len(sets)]:
            done = script.under_isa(isa, [__file__, "--per-pair-child", "--columns", str(columns)])
            if done.returncode != 0:
                raise RuntimeError(f"the child under {isa} failed:\n{done.stderr}")
            runs[isa].append(json.loads(done.stdout.splitlines()[-1]))
    rows = []
    for isa, got in runs.items():
        rows.append(
            {
                "isa": got[0]["isa"],
                "cpu": cpu_model(),
                "columns": columns,
                "pairs": got[0]["pairs"],
                "repeats": len(got),
                "dense_ms_per_pair": statistics.median(g["dense_ms_per_pair"] for g in got),
                "streamed_ms_per_pair": statistics.median(g["streamed_ms_per_pair"] for g in got),
                "dense_ms_runs": [g["dense_ms_per_pair"] for g in got],
                "streamed_ms_runs": [g["streamed_ms_per_pair"] for g in got],
                "top_k_equals_dense": all(g["top_k_equals_dense"] for g in got),
                "asked": isa,
            }
        )
    return rows


def fastpairmi(measured: int) -> dict[str, Any]:
    x, truth = planted(ROWS, FULL_COLUMNS, seed=1)
    start = time.thread_time()
    null = pairwise_stream.ksg_null(ROWS, 3, 1, pairwise_stream.NULL_PERMUTATIONS, seed=0)
    null_s = time.thread_time() - start
    moments = pairwise_stream.null_moments(null)
    tail = pairwise_stream.null_tail(moments)
    cutoff = float(tail.isf(Q))
    scores = pairwise_stream.normal_scores(x[:, :measured])
    start = time.thread_time()
    edges = pairwise_stream.streamed_pairwise_mi(scores, 3, 1, KNNOptions(), "threshold", cutoff)
    stream_s = time.thread_time() - start
    start = time.thread_time()
    top = pairwise_stream.streamed_pairwise_mi(scores, 3, 1, KNNOptions(), "top_k", TOP_K)
    top_s = time.thread_time() - start
    total = FULL_COLUMNS * (FULL_COLUMNS - 1) // 2
    pairs = measured * (measured - 1) // 2
    if edges.edges is None or top.indices is None:
        raise RuntimeError("expected an edge list and a top-k table")
    kept = bh_kept(tail.sf(edges.values.numpy()), total, Q)
    found = {tuple(e) for e in edges.edges[torch.from_numpy(kept)].tolist()}
    neighbours = top.indices
    in_top = [
        int(b in neighbours[a].tolist() or a in neighbours[b].tolist()) for a, b in (t["pair"] for t in truth)
    ]
    for t, hit in zip(truth, in_top, strict=True):
        t["fdr_kept"] = tuple(t["pair"]) in found
        t["in_top_k"] = bool(hit)
    per_pair_s = stream_s / pairs
    state = FULL_COLUMNS * ROWS * 16 + FULL_COLUMNS * TOP_K * 16 + bivariate.BLOCK_COUNTS * 16
    return {
        "columns": FULL_COLUMNS,
        "measured_columns": measured,
        "measured_pairs": pairs,
        "total_pairs": total,
        "null_thread_seconds": null_s,
        "threshold_thread_seconds": stream_s,
        "top_k_thread_seconds": top_s,
        "ms_per_pair": 1e3 * per_pair_s,
        "predicted_one_core_seconds": per_pair_s * total,
        "predicted_two_core_seconds": per_pair_s * total / 2,
        "false_edges": len(found - {tuple(t["pair"]) for t in truth}),
        "recall_fdr": float(np.mean([t["fdr_kept"] for t in truth])),
        "recall_top_k": float(np.mean(in_top)),
        "recall_fdr_linear": float(np.mean([t["fdr_kept"] for t in truth if t["kind"] == "linear"])),
        "recall_fdr_nonlinear": float(np.mean([t["fdr_kept"] for t in truth if t["kind"] != "linear"])),
        "max_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        "predicted_state_gb": state / 1e9,
        "planted": truth,
    }


def full(jobs: int) -> dict[str, Any]:
    """The whole problem through the public call on ``jobs`` worker processes (section 3)."""
    x, truth = planted(ROWS, FULL_COLUMNS, seed=1)
    load_before = os.getloadavg()
    start_self, start_children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        edges = ibf.pairwise_mi(x, fdr=Q, n_jobs=jobs, checkpoint=folder)
    wall = time.perf_counter() - start
    get_reusable_executor().shutdown(wait=True)  # the workers' CPU and memory count once they are reaped
    end_self, end_children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )

    def cpu(a: Any, b: Any) -> float:
        return (b.ru_utime - a.ru_utime) + (b.ru_stime - a.ru_stime)

    found = {tuple(e) for e in edges.edges.tolist()}
    planted_pairs = {tuple(t["pair"]) for t in truth}
    return {
        "jobs": jobs,
        "pairs": FULL_COLUMNS * (FULL_COLUMNS - 1) // 2,
        "wall_seconds": wall,
        "cpu_seconds_process": cpu(start_self, end_self),
        "cpu_seconds_workers": cpu(start_children, end_children),
        "max_rss_gb": max(end_self.ru_maxrss, end_children.ru_maxrss) / 1e6,
        "edges_kept": len(found),
        "false_edges": len(found - planted_pairs),
        "recall_fdr": len(found & planted_pairs) / len(planted_pairs),
        "null_draws": edges.settings["n_permutations"],
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }


def full_table(run: dict[str, Any]) -> str:
    rows = [
        [
            "wall seconds, 9,563 x 336, all pairs",
            f"{run['wall_seconds']:.0f}",
            f"{run['jobs']} worker processes",
        ],
        [
            "CPU seconds (process + workers)",
            f"{run['cpu_seconds_process'] + run['cpu_seconds_workers']:.0f}",
            "",
        ],
        ["max resident GB (any process)", f"{run['max_rss_gb']:.2f}", f"goal < {GOALS['peak_gb']}"],
        ["recall, BH q = 0.05", f"{run['recall_fdr']:.3f}", f"{run['false_edges']} false edges"],
        [
            "load average before, after",
            f"{run['load_average_before'][0]:.1f}, {run['load_average_after'][0]:.1f}",
            "1 minute",
        ],
    ]
    return markdown_table(["quantity", "value", "note"], rows)


def per_pair_table(rows: list[dict[str, Any]], goal: float) -> str:
    """Part 1: a line per instruction set, with the CPU it ran on."""
    lines = [
        [
            r["isa"],
            f"{r['dense_ms_per_pair']:.4f}",
            f"{r['streamed_ms_per_pair']:.4f}",
            "met" if max(r["dense_ms_per_pair"], r["streamed_ms_per_pair"]) <= goal else "not met",
            str(r["top_k_equals_dense"]),
            f"{r['columns']} x {ROWS}, median of {r['repeats']}",
            r["cpu"] or "-",
        ]
        for r in rows
    ]
    header = ["kernel set", "ms a pair, dense", "ms a pair, top-k", f"goal <= {goal}", "top-k = dense's"]
    return markdown_table([*header, "runs", "CPU"], lines)


def table(results: dict[str, Any]) -> str:
    b, g = results["fastpairmi"], results["goals"]
    rows = [
        [
            "ms a pair, FastPairMI shape (measured block)",
            f"{b['ms_per_pair']:.4f}",
            f"{b['measured_columns']} columns",
        ],
        [
            "predicted seconds, 9,563 x 336 on 2 cores",
            f"{b['predicted_two_core_seconds']:.0f}",
            f"goal < {g['fastpairmi_seconds']:.0f}",
        ],
        [
            "recall, BH q = 0.05 (all pairs' tests)",
            f"{b['recall_fdr']:.3f}",
            f"{b['false_edges']} false edges",
        ],
        ["recall, top-10", f"{b['recall_top_k']:.3f}", ""],
        ["max resident GB (measured run)", f"{b['max_rss_gb']:.2f}", f"goal < {g['peak_gb']}"],
    ]
    return markdown_table(["quantity", "value", "note"], rows)


def main() -> None:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_output(OUT)
    parser.add_argument("--columns", type=script.positive_int, default=1000)
    parser.add_argument("--repeats", type=script.positive_int, default=5, help="rounds of part 1's sets")
    parser.add_argument("--measured", type=script.positive_int, default=768)
    parser.add_argument(
        "--keep-fastpairmi", action="store_true", help="part 1 only; part 2 as the committed record has it"
    )
    parser.add_argument("--per-pair-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--full", type=script.positive_int, metavar="JOBS", help="the whole problem on JOBS workers"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.full:
        run = {"config": {"rows": ROWS, "columns": FULL_COLUMNS, "k": 3, "fdr": Q}, **full(args.full)}
        run.update(cpu=cpu_model(), environment=environment())
        args.out.mkdir(parents=True, exist_ok=True)
        write_json(args.out / "full.json", run)
        (args.out / "full.md").write_text(full_table(run) + "\n", encoding="utf-8")
        print(full_table(run))
        return
    if args.per_pair_child:
        print(json.dumps(per_pair(args.columns)))
        return
    config = {"rows": ROWS, "columns": args.columns, "repeats": args.repeats, "k": 3, "top_k": TOP_K}
    per_isa = per_pair_by_isa(args.columns, args.repeats)
    if (args.out / "results.json").is_file():  # other processors' rows kept: one record of each CPU seen
        here = cpu_model()
        earlier = read_json(args.out / "results.json")["per_pair"]
        per_isa = [r for r in earlier if r["cpu"] != here and r["columns"] == args.columns] + per_isa
    if args.keep_fastpairmi:
        committed = read_json(OUT / "results.json")
        part2 = {
            "cpu": committed.get("cpu"),
            "environment": committed["environment"],
            **committed["fastpairmi"],
        }
        config["measured"] = committed["config"]["measured"]
    else:
        part2 = {**fastpairmi(args.measured), "cpu": cpu_model(), "environment": environment()}
        config["measured"] = args.measured
    results = {
        "config": config,
        "goals": GOALS,
        "per_pair": per_isa,
        "fastpairmi": part2,
        "cpu": cpu_model(),
        "environment": environment(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "config.json", results["config"])
    write_json(args.out / "results.json", results)
    text = per_pair_table(per_isa, GOALS["ms_per_pair"]) + "\n\n" + table(results) + "\n"
    (args.out / "table.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
