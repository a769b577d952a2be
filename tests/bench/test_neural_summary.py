"""The neural benchmark: its scoring (error per (task, estimator), a tie where both libraries diverge),
its re-runs of a subset, and its argument checks."""

from __future__ import annotations

import benchmarks.runners.neural as neural
import pytest
from benchmarks.runners import bench_neural, merge_neural
from benchmarks.runners.neural import neural_table, summarize

from iblearn.records import read_json, write_json


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


def test_paired_verdicts_call_a_difference_only_where_a_t_test_rejects_none():
    rows = [_row("consistent", 0.90 + 0.001 * s, 0.80, s) for s in range(3)]  # ours closer every seed
    rows += [_row("noisy", 0.90 + 0.3 * (-1) ** s, 0.85, s) for s in range(3)]  # no consistent order
    rows += [_row("diverged", -1e33, 0.9, s) for s in range(3)]
    summary, totals = summarize(rows)
    verdicts = {e["task"]: e["verdict"] for e in summary}
    assert verdicts == {"consistent": "better", "noisy": "tie", "diverged": "worse"}
    assert (totals["significantly_better"], totals["significantly_worse"]) == (1, 1)
    assert "worse on 1 and better on 1" in neural_table(summary, totals)
    one_seed, _ = summarize([_row("once", 0.5, 0.95, 0)])
    assert one_seed[0]["verdict"] == "tie"  # one seed says nothing about noise


def test_a_rerun_replaces_its_own_rows_and_keeps_the_rest(tmp_path, monkeypatch):
    first, second = neural.TASKS[:2]
    old = [
        {**_row(t, 0.5, 0.5, s), "estimator": "mine", "commit": "old"}
        for t in (first, second)
        for s in range(3)
    ]
    write_json(tmp_path / "neural_estimators.json", {"quick": False, "rows": old})
    seen = {}

    def fake_run(*, quick, kinds, tasks, seeds, on_row):
        seen.update(kinds=kinds, tasks=tasks, seeds=seeds)
        for s in range(seeds):
            on_row({**_row(first, 0.9, 0.5, s), "estimator": "mine", "commit": "new"})

    monkeypatch.setattr(neural, "run_neural", fake_run)
    bench_neural(tmp_path, estimators=("mine",), tasks=(first,), seeds=2)
    assert seen == {"kinds": ("mine",), "tasks": (first,), "seeds": 2}
    rows = read_json(tmp_path / "neural_estimators.json")["rows"]
    assert [(r["task"], r["seed"], r["commit"]) for r in rows] == [
        (first, 0, "new"), (first, 1, "new"), (first, 2, "old"),
        (second, 0, "old"), (second, 1, "old"), (second, 2, "old"),
    ]  # fmt: skip


def test_bad_arguments_name_themselves(tmp_path):
    for kwargs, name in [
        ({"estimators": ("smile",)}, "estimators"),
        ({"tasks": ("cifar",)}, "tasks"),
        ({"seeds": 0}, "seeds"),
    ]:
        with pytest.raises(ValueError, match=f"^{name}:"):
            bench_neural(tmp_path, **kwargs)


def test_merged_runs_are_summarized_as_one_grid_and_a_row_in_two_is_refused(tmp_path):
    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "out"
    write_json(a / "neural_estimators.json", {"rows": [_row("x", 0.9, 0.8, s) for s in range(10)]})
    write_json(b / "neural_estimators.json", {"rows": [_row("y", 0.5, 0.9, s) for s in range(3)]})
    merge_neural([a, b], out, seeds=3)
    merged = read_json(out / "neural_estimators.json")
    assert sorted((r["task"], r["seed"]) for r in merged["rows"]) == [(t, s) for t in "xy" for s in range(3)]
    assert merged["totals"]["iblearn_error_no_worse"] == 1  # x ours, y theirs
    with pytest.raises(ValueError, match=r"^sources:"):
        merge_neural([a, a], out)
