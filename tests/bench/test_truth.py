"""benchmarks/truth.py: every task has an iblearn estimator, a small run writes its rows, table and
figure and resumes without redoing a row, and the leaderboard's scoring."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from iblearn.data import exact_tasks, get_exact_task, te_samples

# The script imports its folder's _prelude first, as `python benchmarks/truth.py` finds it.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from benchmarks import truth
from benchmarks.runners import truth_estimators as te
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


def auto_row(task, estimate, truth_value, lower, upper, reliable, family="cmi", seed=0):
    return row(task, truth.truth_auto.AUTO, estimate, truth_value, family, seed) | {
        "lower": lower,
        "upper": upper,
        "reliable": reliable,
        "chosen": "ksg",
        "caveat": None if reliable else "a check failed",
    }


def test_the_auto_rows_are_scored_with_their_intervals_and_against_every_other():
    """iblearn auto's share, the coverage of its reliable intervals, its head to head against iblearn
    best and a peer on the rows both ran, the tasks it misses with the iblearn estimator within, the
    goals; the single-estimator oracle leaves it out."""
    ta = truth.truth_auto
    rows = [
        auto_row("a", 1.05, 1.0, 0.95, 1.1, True),  # within, covers
        auto_row("b", 0.5, 0.1, 0.4, 0.6, True),  # misses, reliable, does not cover
        auto_row("c", 2.0, 0.1, 1.0, 3.0, False),  # misses, unreliable: no coverage counted
        row("a", "iblearn KSG", 1.05, 1.0),
        row("b", "iblearn KSG", 0.12, 0.1),
        row("c", "iblearn KSG", 2.0, 0.1),
        row("a", "NPEET-plus", 1.2, 1.0),
        row("b", "NPEET-plus", 0.11, 0.1),
    ]
    assert ta.covers(auto_row("d", 0.01, -4.4e-16, 0.0, 0.03, True))  # a zero truth, rounded below 0
    both, _ = truth.with_best(rows)
    s = ta.summary(both, truth.within)["5000"]
    assert s["cmi"]["share"] == pytest.approx(1 / 3) and s["cmi"]["reliable"] == pytest.approx(2 / 3)
    assert s["suite"]["coverage"] == pytest.approx(1 / 2) and s["cmi"]["chosen"] == {"ksg": 3}
    assert s["cmi"]["goal"] == 0.85 and [m["task"] for m in s["cmi"]["missed"]] == ["b", "c"]
    assert ta.others(both, "cmi", 5000, truth.BEST) == [truth.BEST, "NPEET-plus"]
    best = ta.against(both, "cmi", 5000, truth.BEST, truth.within)
    assert (
        best["tasks"] == 3
        and best["other_share"] == pytest.approx(2 / 3)
        and best["other_better_on"] == ["b"]
    )
    peer = ta.against(both, "cmi", 5000, "NPEET-plus", truth.within)
    assert peer["tasks"] == 2 and peer["auto_share"] == 0.5 and peer["other_share"] == 0.5
    assert [(m["task"], m["within"]) for m in ta.misses(both, "cmi", 5000, truth.within)] == [
        ("b", ["iblearn KSG", truth.BEST]),
        ("c", []),
    ]
    (goal, coverage) = ta.goals(both, ("cmi",), truth.BEST, truth.within)
    assert "33% (goal 85%): not met" in goal and "iblearn best 67% against 33%" in goal
    assert "cover the truth on 50%" in coverage and "not met" in coverage
    # the oracle over single estimators: KSG within on a and b, whatever auto reads
    assert truth.summary_json(truth.summarize(both), both, {("cmi", 5000): "iblearn KSG"}, rows)["iblearn"][
        "5000"
    ]["cmi"]["any_iblearn_share"] == pytest.approx(2 / 3)


@pytest.mark.filterwarnings("ignore:auto. unreliable estimate")
def test_the_front_door_runs_every_kind_of_task():
    """iblearn auto on a task of each measure's shape (a conditional TE, the interaction information of
    three variables, a part of a continuous PID and of a discrete one, MI against labels): an estimate,
    its interval, verdict and choice."""
    for name in (
        "te-chain-given-z-0",
        "ii-gauss-3",
        "pid-gauss-sum-synergy",
        "ii-discrete-and",
        "categorical-uniform-5",
    ):
        task = get_exact_task(name)
        arrays = task.sample_numpy(400, seed=0)
        a = [v.astype(np.int64) if i in task.labels else v.astype(np.float64) for i, v in enumerate(arrays)]
        e = list(te_samples(task, *arrays)) if task.measure in ("te", "cte") else []
        out = te.estimate("iblearn auto", task.measure, a, e, dict(task.options))
        assert set(out) == {"estimate", *truth.truth_auto.FIELDS}, name
        assert out["lower"] <= out["upper"] and isinstance(out["reliable"], bool) and out["chosen"], name
