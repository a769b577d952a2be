"""Benchmark runners and peer adapters: iblearn against its peers (the ``bench`` extra), accuracy against
known truth, speed, and the costs of its training procedures.

Not part of the installed package (DESIGN.md, "Layers"): the scripts in benchmarks/, the tests in
tests/bench/ and ``iblearn bench`` import it from the root of a source checkout.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.runners.peers import all_methods
from benchmarks.runners.speed import run_speed, speed_table
from iblearn._threads import limit_threads
from iblearn.experiments.estimators.accuracy import (
    AccuracyConfig,
    accuracy_table,
    describe,
    plot_accuracy,
    run_accuracy,
    summarize,
)
from iblearn.records import RunFolder, read_json, write_json


def bench_speed(results_dir: Path, *, quick: bool = False) -> str:
    """Run the speed comparisons; writes ``estimators_speed.json``/``.md``; returns the table."""
    results = run_speed(quick=quick)
    table = speed_table(results)
    write_json(results_dir / "estimators_speed.json", {"quick": quick, "results": results})
    (results_dir / "estimators_speed.md").write_text(table, encoding="utf-8")
    return table


def bench_accuracy(
    results_dir: Path, *, quick: bool = False, resume: bool = True, progress: Any = None
) -> str:
    """Run (or resume) the accuracy grid into ``results_dir/estimators_accuracy``; returns the table."""
    limit_threads(1)
    config = AccuracyConfig(sizes=(1000,), seeds=2) if quick else AccuracyConfig()
    run = RunFolder(results_dir / ("estimators_accuracy_quick" if quick else "estimators_accuracy"))
    if not resume:
        run.truncate_metrics(0)
    methods = all_methods()
    run.write_config({"accuracy": config, "methods": [describe(m) for m in methods]})
    summary = summarize(run_accuracy(config, methods, run, progress=progress))
    table = accuracy_table(summary)
    run.write_table(table)
    run.write_results({"summary": summary})
    plot_accuracy(summary, str(run.file("accuracy.png")))
    return table


def bench_neural(
    results_dir: Path,
    *,
    quick: bool = False,
    estimators: Sequence[str] = (),
    tasks: Sequence[str] = (),
    seeds: int | None = None,
    progress: Any = None,
) -> str:
    """iblearn's neural estimators against torch-mist's; writes ``neural_estimators.json``/``.md``.

    Rows already in the results file (same ``quick``) stay until a new row for the same (task,
    estimator, seed) replaces them, so a killed run leaves the old results plus what it finished; every
    row records the commit that produced it. With ``estimators`` or ``tasks``, only those are run again;
    ``seeds`` replaces the 3 seeds of the full grid.
    """
    from benchmarks.runners.neural import KINDS, TASKS, neural_table, run_neural
    from benchmarks.runners.neural import summarize as summarize_neural

    kinds = tuple(estimators) or KINDS
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"estimators: expected names among {KINDS}, got {kind!r}")
    for task in tasks:
        if task not in TASKS:
            raise ValueError(f"tasks: expected names among {TASKS}, got {task!r}")
    if seeds is not None and seeds < 1:
        raise ValueError(f"seeds: expected a positive count, got {seeds}")
    path = results_dir / "neural_estimators.json"
    old = read_json(path)["rows"] if path.exists() and read_json(path)["quick"] == quick else []
    old = [r for r in old if r["task"] in TASKS and r["estimator"] in KINDS]  # the grid as it is now
    rows: list[dict[str, Any]] = []

    def key(r: dict[str, Any]) -> tuple[str, str, int]:
        return r["task"], r["estimator"], r["seed"]

    def merged() -> list[dict[str, Any]]:
        done = {key(r) for r in rows}
        order = {name: i for i, name in enumerate(TASKS)}
        return sorted(
            [r for r in old if key(r) not in done] + rows,
            key=lambda r: (order[r["task"]], KINDS.index(r["estimator"]), r["seed"]),
        )

    def save(row: dict[str, Any]) -> None:
        rows.append(row)
        summary, totals = summarize_neural(merged())
        write_json(path, {"quick": quick, "rows": merged(), "summary": summary, "totals": totals})
        if progress:
            progress(f"{row['task']} {row['estimator']} seed={row['seed']}")

    run_neural(quick=quick, kinds=kinds, tasks=tasks, seeds=seeds, on_row=save)
    table = neural_table(*summarize_neural(merged()))
    (results_dir / "neural_estimators.md").write_text(table, encoding="utf-8")
    return table


def merge_neural(sources: Sequence[Path], results_dir: Path, *, seeds: int | None = None) -> str:
    """The rows of earlier neural runs (``neural_estimators.json`` in each of ``sources``), those of
    seeds below ``seeds`` where given, summarized into ``results_dir`` as one grid; no training. A
    (task, estimator, seed) found in two sources is refused: the merge would hide which one counts."""
    from benchmarks.runners.neural import neural_table
    from benchmarks.runners.neural import summarize as summarize_neural

    rows: list[dict[str, Any]] = []
    for source in sources:
        rows += [
            r
            for r in read_json(source / "neural_estimators.json")["rows"]
            if seeds is None or r["seed"] < seeds
        ]
    keys = [(r["task"], r["estimator"], r["seed"]) for r in rows]
    if len(set(keys)) != len(keys):
        raise ValueError("sources: a (task, estimator, seed) row appears in more than one of them")
    summary, totals = summarize_neural(rows)
    write_json(
        results_dir / "neural_estimators.json",
        {
            "quick": False,
            "sources": [str(s) for s in sources],
            "seeds": seeds,
            "rows": rows,
            "summary": summary,
            "totals": totals,
        },
    )
    table = neural_table(summary, totals)
    (results_dir / "neural_estimators.md").write_text(table, encoding="utf-8")
    return table


__all__ = [
    "AccuracyConfig",
    "bench_accuracy",
    "bench_neural",
    "bench_speed",
    "merge_neural",
    "run_accuracy",
    "run_speed",
    "summarize",
]
