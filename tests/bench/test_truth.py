"""benchmarks/truth.py: every task has an iblearn estimator, a small run writes its rows, table and
figure and resumes without redoing a row, and the leaderboard's scoring."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from iblearn.data import exact_tasks

# The script imports its folder's _prelude first, as `python benchmarks/truth.py` finds it.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from benchmarks import truth
from benchmarks.truth import LIBRARY, applies


def test_every_task_has_an_iblearn_estimator_and_every_estimator_a_task():
    used = set()
    for task in exact_tasks():
        names = [e for e in LIBRARY if applies(e, truth.describe(task, 100))]
        assert any(e.startswith("iblearn") for e in names), task.name
        used |= set(names)
    assert used == set(LIBRARY)


@pytest.mark.slow
def test_a_small_run_writes_and_resumes(tmp_path):
    argv = [
        "--sizes",
        "300",
        "--seeds",
        "0",
        "--tasks",
        "cmi-gauss-1x1x1",
        "te-lag3",
        "ii-discrete-and",
        "--estimators",
        "iblearn Gaussian",
        "iblearn plug-in",
        "--results",
        str(tmp_path),
        "--timeout",
        "60",
    ]
    truth.main(argv)
    rows = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text().splitlines()]
    assert {(r["task"], r["estimator"]) for r in rows} == {
        ("cmi-gauss-1x1x1", "iblearn Gaussian"),
        ("te-lag3", "iblearn Gaussian"),
        ("ii-discrete-and", "iblearn plug-in"),
    }
    assert all(r["status"] == "ok" and r["error"] == pytest.approx(r["estimate"] - r["truth"]) for r in rows)
    assert (tmp_path / "leaderboard.png").stat().st_size > 5_000
    assert "## N = 300" in (tmp_path / "table.md").read_text()
    truth.main([*argv, "--resume"])
    assert len((tmp_path / "rows.jsonl").read_text().splitlines()) == len(rows)
    assert len(json.loads((tmp_path / "provenance.json").read_text())["runs"]) == 2


def row(task, estimator, estimate, truth_value, family="cmi", seed=0):
    return {
        "task": task,
        "family": family,
        "measure": "cmi",
        "n": 5000,
        "seed": seed,
        "estimator": estimator,
        "truth": truth_value,
        "estimate": estimate,
        "seconds": 0.1,
        "error": estimate - truth_value,
        "status": "ok",
    }


def test_the_scoring():
    assert truth.tolerance(0.2) == 0.03 and truth.tolerance(-1.0) == pytest.approx(0.1)
    rows = [
        row("a", "iblearn KSG", 1.05, 1.0),
        row("a", "iblearn Gaussian", 1.5, 1.0),
        row("a", "NPEET-plus", 1.2, 1.0),
        row("b", "iblearn KSG", 0.5, 0.1),
        row("b", "iblearn Gaussian", 0.12, 0.1),
        row("b", "NPEET-plus", 0.2, 0.1),
        row("c", "iblearn KSG", 2.0, 0.1),
        row("c", "iblearn Gaussian", 2.0, 0.1),
        row("c", "NPEET-plus", 2.0, 0.1),
    ]
    summary = truth.summarize(rows)
    assert summary[("cmi", 5000, "iblearn KSG")]["share"] == pytest.approx(1 / 3)
    assert truth.best_iblearn(summary, "cmi", 5000) == "iblearn KSG"  # the tie broken by the median error
    both, chosen = truth.with_best(rows)
    assert chosen == {("cmi", 5000): "iblearn KSG"}
    assert sorted(r["estimate"] for r in both if r["estimator"] == truth.BEST) == [0.5, 1.05, 2.0]
    assert [t for t, _, _ in truth.everyone_fails(rows, 5000)] == ["c"]
    (h,) = truth.head_to_head(both, "cmi", 5000, truth.BEST)
    assert h["peer"] == "NPEET-plus" and h["peer_better_on"] == [] and h["ours_share"] == pytest.approx(1 / 3)


def test_the_leaderboard_counts_every_row_it_holds_and_says_how_many_are_wide(tmp_path):
    """Rows of a kNN estimator on a task wider than --max-knn-dim, measured by a run with a higher limit,
    are in the table and its summary, and the table says how many there are."""
    rows = [
        {"task": "high-mi-2nats-100d", "family": "mi", "measure": "mi", "n": 1000, "seed": 0, "truth": 2.0}
        | {"estimator": e, "estimate": v, "error": v - 2.0, "seconds": 1.0, "status": "ok"}
        for e, v in (("iblearn KSG", 2.05), ("iblearn Gaussian", 1.0))
    ]
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    truth.render(tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["leaderboard"]["1000"]["mi"]["iblearn KSG"]["share"] == 1.0
    assert "1 row(s) of kNN estimators on wider tasks" in (tmp_path / "table.md").read_text()
