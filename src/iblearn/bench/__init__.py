"""Benchmarks of iblearn against its peers (the ``bench`` extra): accuracy against known truth, speed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iblearn.bench.accuracy import AccuracyConfig, accuracy_table, plot_accuracy, run_accuracy, summarize
from iblearn.bench.methods import all_methods, describe
from iblearn.bench.speed import run_speed, single_thread, speed_table
from iblearn.records import RunFolder, write_json


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
    single_thread()
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


def bench_neural(results_dir: Path, *, quick: bool = False, progress: Any = None) -> str:
    """iblearn's neural estimators against torch-mist's; writes ``neural_estimators.json``/``.md``."""
    from iblearn.bench.neural import neural_table, run_neural
    from iblearn.bench.neural import summarize as summarize_neural

    rows = run_neural(quick=quick, progress=progress)
    summary, totals = summarize_neural(rows)
    table = neural_table(summary, totals)
    write_json(
        results_dir / "neural_estimators.json",
        {"quick": quick, "rows": rows, "summary": summary, "totals": totals},
    )
    (results_dir / "neural_estimators.md").write_text(table, encoding="utf-8")
    return table


__all__ = [
    "AccuracyConfig",
    "bench_accuracy",
    "bench_neural",
    "bench_speed",
    "run_accuracy",
    "run_speed",
    "summarize",
]
