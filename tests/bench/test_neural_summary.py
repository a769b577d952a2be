"""The neural benchmark's scoring: error per (task, estimator), and a tie where both libraries diverge."""

from __future__ import annotations

from iblearn.bench.neural import neural_table, summarize


def _row(task: str, ours: float, theirs: float, seed: int) -> dict[str, float | str | int]:
    return {
        "task": task,
        "estimator": "nwj",
        "seed": seed,
        "truth": 1.0,
        "iblearn": ours,
        "torch-mist": theirs,
        "iblearn_steps_per_s": 200.0,
        "torch-mist_steps_per_s": 100.0,
    }


def test_errors_are_compared_and_a_double_divergence_is_a_tie():
    rows = [_row("a", 0.9, 0.8, s) for s in range(2)]  # ours closer
    rows += [_row("b", 0.5, 0.95, s) for s in range(2)]  # theirs closer
    rows += [_row("c", -1e33, -2e33, s) for s in range(2)]  # both diverged
    rows += [_row("d", -1e33, 0.9, s) for s in range(2)]  # only ours diverged
    summary, totals = summarize(rows)
    assert [e["task"] for e in summary] == ["a", "b", "c", "d"]
    assert totals["iblearn_error_no_worse"] == 2 and totals["pairs"] == 4
    assert totals["mean_speed_ratio"] == 2.0
    table = neural_table(summary, totals)
    assert table.count("| diverged |") == 3 and "2 of 4" in table
