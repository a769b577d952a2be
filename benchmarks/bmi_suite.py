"""benchmark-mi's 40 tasks (Czyz et al. 2023, "Beyond Normal") through iblearn's estimators and
benchmark-mi's own, side by side: N = 10,000 rows, 3 seeds, a table per task and a
summary (on how many tasks each library's best estimator lies within 10% or 0.1 nats of the truth;
how often iblearn's neural estimators are as close as benchmark-mi's; the seconds each took).

benchmark-mi needs numpy<2 and jax (the ``bench`` extra), iblearn numpy 2 and torch, so the two run in
two environments on the same samples, drawn once with benchmark-mi and saved as ``.npy``. Its 0.1.3
draws with ``pip install benchmark-mi==0.1.3 jax==0.4.30 jaxlib==0.4.30`` (a later jax lacks the
``jax.core.pp_eqn_rules`` that the equinox it installs reads)::

    BENCH=/path/to/venv-with-benchmark-mi/bin/python
    $BENCH benchmarks/bmi_suite.py draw DIR                       # 40 tasks x 3 seeds, N = 10,000
    python benchmarks/bmi_suite.py run DIR --library iblearn      # iblearn's estimators
    $BENCH benchmarks/bmi_suite.py run DIR --library bmi          # benchmark-mi's
    python benchmarks/bmi_suite.py report DIR [--out benchmarks/results/bmi_suite.md]
    python benchmarks/bmi_suite.py pair DIR --bmi-python $BENCH --tasks ... --rows FOLDER
    python benchmarks/bmi_suite.py pair DIR --rows FOLDER         # the table of the pairs so far

``pair`` times the two libraries' neural estimators paired in time, for the speed comparison: for each
seed, task and estimator (MINE, InfoNCE, NWJ; ``--seeds``) it runs one library's fit and then the other's, one
process after the other on the same core (which goes first alternates), so that both meet the same
load; then it prints and writes ``FOLDER/paired.md``, the ratio of benchmark-mi's seconds to iblearn's
per pair. Resumable like ``run``.

``run`` appends one JSON line per (library, estimator, task, seed) to ``DIR/rows-LIBRARY.jsonl``
(``--rows FOLDER``: there instead; benchmarks/results/bmi_suite holds the committed ones),
written whole and flushed to disk, and skips the rows already there: kill it and run it again to go
on. Seeds are the outer loop, so a partial run covers every task at seed 0 first. ``--quick``: four
tasks, seed 0, 300 training steps (benchmark-mi's neural estimators too): to check that it all runs.

iblearn runs as a new user would: ``KSG()``, ``GaussianMI()`` and ``Binning()`` (1 x 1 tasks) on every
row; ``estimate_mi(x, y, method)`` for MINE, NWJ and InfoNCE (fit on 80% of the rows with early
stopping, the estimate on the other 20%), all with their defaults. (MixedKSG needs a discrete
variable: no task has one.) benchmark-mi's estimators with their defaults (neural: half the rows to
train, the best test bound every 250 of at most 10,000 steps; KSG with k = 5 and 10, the first).
One thread each (``--threads``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

SEEDS = (0, 1, 2)
N = 10_000
QUICK_TASKS = (
    "1v1-bimodal-0.75",
    "multinormal-dense-25-25-0.5",
    "student-identity-2-2-1",
    "spiral-multinormal-sparse-5-5-2-2.0",
)
IBLEARN = ("ksg", "gaussian", "binning", "mine", "nwj", "infonce")
BMI = ("ksg", "cca", "mine", "infonce", "nwj", "dv")
NEURAL = ("mine", "nwj", "infonce", "dv")
LIBRARIES = ("iblearn", "bmi")


def draw(folder: Path, n: int, seeds: tuple[int, ...]) -> None:
    """Every task's samples for every seed, ``TASK.sSEED.{x,y}.npy``, and ``truth.json`` (the true MI
    and the widths, in benchmark-mi's order)."""
    import bmi

    folder.mkdir(parents=True, exist_ok=True)
    truth = {}
    for name, task in bmi.benchmark.BENCHMARK_TASKS.items():
        for seed in seeds:
            stem = folder / f"{name}.s{seed}"
            if not Path(f"{stem}.y.npy").exists():
                x, y = task.sample(n, seed=seed)
                np.save(f"{stem}.x.npy", np.asarray(x, dtype=np.float32))
                np.save(f"{stem}.y.npy", np.asarray(y, dtype=np.float32))
        truth[name] = {"mi": float(task.mutual_information), "dx": task.dim_x, "dy": task.dim_y}
        print(name, truth[name], flush=True)
    (folder / "truth.json").write_text(json.dumps(truth, indent=1))


def done_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSON-lines file; a last line cut off by a kill is ignored (and run again)."""
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return rows


def append_row(path: Path, row: dict[str, Any]) -> None:
    """One row as one line, in one write to a file opened for appending, flushed to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if os.fstat(fd).st_size:  # a line cut off by a kill gets its own line, ignored on reading
            with open(path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    os.write(fd, b"\n")
        os.write(fd, (json.dumps(row) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def iblearn_estimate(
    method: str, x: np.ndarray, y: np.ndarray, seed: int, steps: int, test: float = 0.2
) -> dict[str, Any]:
    from iblearn import estimate_mi
    from iblearn.estimators import get_estimator

    if method in ("ksg", "gaussian", "binning"):
        result = get_estimator(method)(x, y)
        return {"estimate": float(result)}
    result = estimate_mi(x, y, method, test=test, steps=steps, n_resamples=0, seed=seed)
    return {"estimate": float(result), "reliable": result.reliable, "test": test}


def bmi_estimate(method: str, x: np.ndarray, y: np.ndarray, seed: int, steps: int) -> dict[str, Any]:
    from bmi import estimators as E

    neural = {"max_n_steps": steps, "seed": seed, "verbose": False}
    make = {
        "ksg": lambda: E.KSGEnsembleFirstEstimator(neighborhoods=(5, 10)),
        "cca": E.CCAMutualInformationEstimator,
        "mine": lambda: E.MINEEstimator(**neural),
        "infonce": lambda: E.InfoNCEEstimator(**neural),
        "nwj": lambda: E.NWJEstimator(**neural),
        "dv": lambda: E.DonskerVaradhanEstimator(**neural),
    }
    return {"estimate": float(make[method]().estimate(x, y))}


def applies(library: str, method: str, spec: dict[str, Any]) -> bool:
    return not (library == "iblearn" and method == "binning" and spec["dx"] + spec["dy"] > 2)


def run(
    folder: Path,
    library: str,
    methods: tuple[str, ...],
    quick: bool,
    threads: int,
    only: tuple[str, ...] = (),
    seeds: tuple[int, ...] = SEEDS,
    rows: Path | None = None,
    test: float = 0.2,
) -> None:
    if library == "iblearn":
        import torch

        torch.set_num_threads(threads)
        estimate: Callable[..., dict[str, Any]] = partial(iblearn_estimate, test=test)
    else:
        os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
        estimate = bmi_estimate
    truth = json.loads((folder / "truth.json").read_text())
    tasks = QUICK_TASKS if quick else tuple(t for t in truth if not only or t in only)
    seeds = seeds[:1] if quick else seeds
    steps = 300 if quick else (3000 if library == "iblearn" else 10_000)
    out = (rows or folder) / f"rows-{library}{'-quick' if quick else ''}.jsonl"
    done = {(r["estimator"], r["task"], r["seed"]) for r in done_rows(out)}
    for seed in seeds:
        for name in tasks:
            spec = truth[name]
            todo = [m for m in methods if (m, name, seed) not in done and applies(library, m, spec)]
            if not todo:
                continue
            x, y = (np.load(folder / f"{name}.s{seed}.{v}.npy") for v in "xy")
            for method in todo:
                start = time.perf_counter()
                try:
                    row = estimate(method, x, y, seed, steps)
                except Exception as error:  # a diverged critic is a result too
                    row = {"estimate": math.nan, "error": f"{type(error).__name__}: {error}"[:300]}
                row = {
                    "library": library,
                    "estimator": method,
                    "task": name,
                    "seed": seed,
                    "truth": spec["mi"],
                    **row,
                    "seconds": time.perf_counter() - start,
                    "steps": steps if method in NEURAL else None,
                    "n": len(x),
                }
                append_row(out, row)
                print(
                    f"{library:7s} {method:8s} s{seed} {name:46s} {spec['mi']:6.3f} "
                    f"{row['estimate']:9.3f} {row['seconds']:7.1f} s",
                    flush=True,
                )


def close(estimate: float, truth: float) -> bool:
    """Within 10% or 0.1 nats of the truth (the suite's looser criterion)."""
    return math.isfinite(estimate) and abs(estimate - truth) <= max(0.1, 0.1 * truth)


def report(folder: Path, quick: bool, where: Path | None = None) -> str:
    """A table per task (mean and sd over seeds, seconds) and the summary, as Markdown."""
    tag = "-quick" if quick else ""
    rows = [r for lib in ("iblearn", "bmi") for r in done_rows((where or folder) / f"rows-{lib}{tag}.jsonl")]
    truth = json.loads((folder / "truth.json").read_text())
    cells: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        cells.setdefault((r["task"], r["library"], r["estimator"]), []).append(r)

    def mean(task: str, lib: str, est: str) -> float:
        values = [r["estimate"] for r in cells.get((task, lib, est), [])]
        return float(np.mean(values)) if values else math.nan

    def seconds(task: str, lib: str, est: str) -> float:
        return float(np.mean([r["seconds"] for r in cells.get((task, lib, est), [])] or [math.nan]))

    tasks = [t for t in truth if any(k[0] == t for k in cells)]
    lines = ["# benchmark-mi's tasks, iblearn and benchmark-mi side by side", ""]
    # Side by side only where both libraries have run a task on a seed: the summary is over those
    # (task, seed) pairs, means over their seeds; a partial run compares like with like.
    both = {(r["task"], r["seed"]) for r in rows if r["library"] == "iblearn"} & {
        (r["task"], r["seed"]) for r in rows if r["library"] == "bmi"
    }
    common: dict[tuple[str, str, str], list[float]] = {}
    for r in rows:
        if (r["task"], r["seed"]) in both:
            common.setdefault((r["task"], r["library"], r["estimator"]), []).append(r["estimate"])
    shared = [t for t in truth if any(k[0] == t for k in common)]
    nonparametric = {"iblearn": ("ksg", "gaussian", "binning"), "bmi": ("ksg", "cca")}

    def best_close(lib: str, only: tuple[str, ...] | None = None) -> int:
        hits = 0
        for t in shared:
            means = [
                float(np.mean(v))
                for (tt, ll, e), v in common.items()
                if tt == t and ll == lib and (only is None or e in only)
            ]
            hits += any(close(m, truth[t]["mi"]) for m in means)
        return hits

    neural_pairs = [("mine", "mine"), ("nwj", "nwj"), ("infonce", "infonce")]
    as_close = {m: [0, 0] for m, _ in neural_pairs}
    speed: dict[str, list[float]] = {m: [] for m, _ in neural_pairs}
    for t in shared:
        mi = truth[t]["mi"]
        for ib, peer in neural_pairs:
            a, b = common.get((t, "iblearn", ib)), common.get((t, "bmi", peer))
            if a and b:
                as_close[ib][1] += 1
                ea, eb = abs(float(np.mean(a)) - mi), abs(float(np.mean(b)) - mi)
                as_close[ib][0] += bool(ea <= eb + 1e-12)
                speed[ib].append(seconds(t, "bmi", peer) / seconds(t, "iblearn", ib))
    flagged_negative = [0, 0]
    for r in rows:
        if r["library"] == "iblearn" and r["estimator"] in NEURAL:
            if r["estimate"] < -0.05 or not math.isfinite(r["estimate"]):
                flagged_negative[0] += 1
                flagged_negative[1] += r.get("reliable") is False or not math.isfinite(r["estimate"])
    n_rows = {lib: sum(r["library"] == lib for r in rows) for lib in LIBRARIES}
    ksg_seconds = {
        (r["library"], r["task"], r["seed"]): r["seconds"]
        for r in rows
        if r["estimator"] == "ksg" and (r["task"], r["seed"]) in both
    }
    ratios = [
        ksg_seconds[("bmi", t, sd)] / max(ksg_seconds[("iblearn", t, sd)], 1e-9)
        for (lib, t, sd) in ksg_seconds
        if lib == "bmi" and ("iblearn", t, sd) in ksg_seconds
    ]
    ksg_speed = (
        f"median {np.median(ratios):.0f}x ({min(ratios):.0f} - {max(ratios):.0f}x, {len(ratios)} pairs)"
        if ratios
        else "-"
    )
    own = {
        lib: sum(
            any(close(mean(t, lib, e), truth[t]["mi"]) for (tt, ll, e) in cells if tt == t and ll == lib)
            for t in tasks
        )
        for lib in ("iblearn", "bmi")
    }
    lines += [
        f"Rows: iblearn {n_rows['iblearn']}, benchmark-mi {n_rows['bmi']}; (task, seed) pairs both "
        f"libraries ran: {len(both)}, on {len(shared)} of {len(truth)} tasks. Close: the mean over "
        "those seeds within 10% or 0.1 nats of the truth.",
        "",
        "| on the tasks both ran | tasks where the library's best estimator is close | its best "
        "non-parametric one (iblearn KSG, GaussianMI, Binning; benchmark-mi KSG, CCA) |",
        "|---|---|---|",
        f"| iblearn | {best_close('iblearn')} of {len(shared)} | "
        f"{best_close('iblearn', nonparametric['iblearn'])} of {len(shared)} |",
        f"| benchmark-mi | {best_close('bmi')} of {len(shared)} | "
        f"{best_close('bmi', nonparametric['bmi'])} of {len(shared)} |",
        "",
        f"KSG, benchmark-mi's seconds / iblearn's on the same (task, seed): {ksg_speed}.",
        "",
        f"Over every row each library has (not side by side): iblearn close on {own['iblearn']} of "
        f"{len(tasks)} tasks, benchmark-mi on {own['bmi']}.",
        "",
        "| iblearn neural | as close as benchmark-mi's (tasks both ran) | benchmark-mi's seconds / "
        "iblearn's (median, range) |",
        "|---|---|---|",
    ]
    for m, (k, n) in as_close.items():
        s = speed[m]
        ratio = f"{np.median(s):.2f} ({min(s):.2f} - {max(s):.2f})" if s else "-"
        lines.append(f"| {m} | {k} of {n} | {ratio} |")
    lines += [
        "",
        f"iblearn neural estimates below -0.05 nats or not finite: {flagged_negative[0]}, of which "
        f"flagged (reliable=False) or an error: {flagged_negative[1]}.",
        "",
    ]
    ests = {lib: sorted({e for (_, ll, e) in cells if ll == lib}) for lib in LIBRARIES}
    for t in tasks:
        mi = truth[t]["mi"]
        lines += [f"## {t} (truth {mi:.3f} nats)", "", "| library | estimator | mean | sd | seeds | s |"]
        lines.append("|---|---|---|---|---|---|")
        for lib in LIBRARIES:
            for e in ests[lib]:
                got = cells.get((t, lib, e))
                if not got:
                    continue
                v = np.array([r["estimate"] for r in got])
                mark = " *" if close(float(v.mean()), mi) else ""
                lines.append(
                    f"| {lib} | {e} | {v.mean():.3f}{mark} | {v.std():.3f} | {len(v)} | "
                    f"{seconds(t, lib, e):.1f} |"
                )
        lines.append("")
    return "\n".join(lines)


PAIRED = ("mine", "infonce", "nwj")


def pair(folder: Path, bmi_python: str, tasks: tuple[str, ...], rows: Path, seeds: tuple[int, ...]) -> None:
    """Each (seed, task, estimator) fitted by both libraries one after the other, alternating which
    goes first, into ``rows``; seeds are the outer loop, as in ``run``."""
    import subprocess
    import sys

    jobs = [(seed, t, m) for seed in seeds for t in tasks for m in PAIRED]
    for i, (seed, task, method) in enumerate(jobs):
        order = (("iblearn", sys.executable), ("bmi", bmi_python))
        for library, python in order if i % 2 == 0 else order[::-1]:
            args = ["run", str(folder), "--library", library, "--methods", method, "--tasks", task]
            subprocess.run([python, __file__, *args, "--seeds", str(seed), "--rows", str(rows)], check=True)


def paired_rows(rows: Path) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every (iblearn row, benchmark-mi row) of the same task, estimator and seed in the folder ``rows``."""
    got = {
        (r["library"], r["task"], r["estimator"], r["seed"]): r
        for lib in LIBRARIES
        for r in done_rows(rows / f"rows-{lib}.jsonl")
    }
    return [(r, got[("bmi", *key[1:])]) for key, r in got.items() if key[0] == "iblearn"]


def paired_table(rows: Path, tasks: tuple[str, ...] = ()) -> str:
    """The pairs in ``rows`` (those of ``tasks``, or all): estimates (* within 10% or 0.1 nats),
    seconds, the time ratio (benchmark-mi over iblearn) and a summary, per pair and per task (each
    library's best neural estimator by its mean over the seeds both ran); also written to paired.md."""
    got = {
        (r["library"], r["task"], r["estimator"], r["seed"]): r
        for lib in LIBRARIES
        for r in done_rows(rows / f"rows-{lib}.jsonl")
    }
    tasks = tasks or tuple(dict.fromkeys(t for (lib, t, _, _) in got if lib == "iblearn"))
    seeds = sorted({s for (*_, s) in got})
    pairs = [
        (got[("iblearn", t, m, s)], got[("bmi", t, m, s)])
        for s in seeds
        for t in tasks
        for m in PAIRED
        if ("iblearn", t, m, s) in got and ("bmi", t, m, s) in got
    ]

    def error(r: dict[str, Any]) -> float:
        return abs(r["estimate"] - r["truth"]) if math.isfinite(r["estimate"]) else math.inf

    def cell(r: dict[str, Any]) -> str:
        return f"{r['estimate']:.3f}{' *' if close(r['estimate'], r['truth']) else ''} | {r['seconds']:.1f}"

    lines = [
        "| task | estimator | seed | truth | iblearn | s | benchmark-mi | s | time ratio (bmi / iblearn) |"
    ]
    lines.append("|---|---|---|---|---|---|---|---|---|")
    ratios = [b["seconds"] / a["seconds"] for a, b in pairs]
    for (a, b), ratio in zip(pairs, ratios, strict=True):
        lines.append(
            f"| {a['task']} | {a['estimator']} | {a['seed']} | {a['truth']:.3f} | {cell(a)} | {cell(b)} "
            f"| {ratio:.2f} |"
        )
    if pairs:
        n = len(pairs)
        best = _best_paired(pairs)
        lines += [
            "",
            f"{n} pairs on {len({a['task'] for a, _ in pairs})} tasks, seeds "
            f"{', '.join(str(s) for s in sorted({a['seed'] for a, _ in pairs}))}. iblearn at least as close "
            f"to the truth: {sum(error(a) <= error(b) for a, b in pairs)} of {n}; within 10% or 0.1 nats: "
            f"iblearn {sum(close(a['estimate'], a['truth']) for a, _ in pairs)}, benchmark-mi "
            f"{sum(close(b['estimate'], b['truth']) for _, b in pairs)}. Tasks where iblearn's best neural "
            f"estimator (mean over seeds) is at least as close as benchmark-mi's best: "
            f"{sum(mine <= theirs for mine, theirs in best.values())} of {len(best)}. Time ratio median "
            f"{np.median(ratios):.2f}, range {min(ratios):.2f} - {max(ratios):.2f}; iblearn faster in "
            f"{sum(r > 1 for r in ratios)} of {n}; seconds in all: iblearn "
            f"{sum(a['seconds'] for a, _ in pairs):.0f}, benchmark-mi "
            f"{sum(b['seconds'] for _, b in pairs):.0f}.",
        ]
    text = "\n".join(lines)
    (rows / "paired.md").write_text(text + "\n")
    return text


def _best_paired(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, tuple[float, float]]:
    """Per task, each library's smallest error of an estimator's mean estimate over the seeds paired."""
    estimates: dict[tuple[str, str, str], list[float]] = {}
    truth = {}
    for a, b in pairs:
        truth[a["task"]] = a["truth"]
        for lib, r in (("iblearn", a), ("bmi", b)):
            estimates.setdefault((lib, r["task"], r["estimator"]), []).append(r["estimate"])

    def best(lib: str, task: str) -> float:
        errors = [
            abs(np.mean(v) - truth[task]) for (lb, t, _), v in estimates.items() if (lb, t) == (lib, task)
        ]
        return min((e if math.isfinite(e) else math.inf) for e in errors)

    return {t: (best("iblearn", t), best("bmi", t)) for t in truth}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("draw", "run", "report", "pair"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--library", choices=("iblearn", "bmi"), default="iblearn")
    parser.add_argument("--methods", nargs="+", help="a subset of the library's estimators")
    parser.add_argument("--tasks", nargs="+", default=[], help="run: these tasks only")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS), help="run, pair: these seeds")
    parser.add_argument(
        "--rows", type=Path, help="the folder of the rows-LIBRARY.jsonl files (default: the samples')"
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--test", type=float, default=0.2, help="run, iblearn: the share of rows a neural estimate is on"
    )
    parser.add_argument("--out", type=Path, help="report: write the Markdown here too")
    parser.add_argument(
        "--bmi-python", help="pair: the interpreter that has benchmark-mi (without it: the table only)"
    )
    args = parser.parse_args()
    if args.command == "draw":
        draw(args.folder, N, SEEDS)
    elif args.command == "run":
        methods = tuple(args.methods or (IBLEARN if args.library == "iblearn" else BMI))
        run(
            args.folder,
            args.library,
            methods,
            args.quick,
            args.threads,
            tuple(args.tasks),
            tuple(args.seeds),
            args.rows,
            args.test,
        )
    elif args.command == "pair":
        if not args.rows:
            parser.error("pair needs --rows")
        if args.bmi_python:  # without it, the table of the pairs already run
            if not args.tasks:
                parser.error("pair needs --tasks to run")
            args.rows.mkdir(parents=True, exist_ok=True)
            pair(args.folder, args.bmi_python, tuple(args.tasks), args.rows, tuple(args.seeds))
        print(paired_table(args.rows, tuple(args.tasks)))
    else:
        text = report(args.folder, args.quick, args.rows)
        if args.out:
            args.out.write_text(text + "\n")
        print(text)


if __name__ == "__main__":
    main()
