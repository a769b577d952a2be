"""The calibration table's automatic rows: coverage where reliable, and each interval's width over the
width that the spread of its task's estimates over seeds allows."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from benchmarks import calibration


def _auto(task: str, seed: int, value: float, half_width: float, truth: float = 1.0) -> dict[str, Any]:
    return {
        "task": task,
        "family": "cmi",
        "truth": truth,
        "n": 1000,
        "seed": seed,
        "estimator": "auto",
        "value": value,
        "interval": [value - half_width, value + half_width],
        "reliable": True,
    }


def test_the_width_is_read_over_each_tasks_spread_over_seeds():
    values = [0.9, 1.0, 1.1, 1.0]
    sd = float(np.std(values, ddof=1))
    # Two tasks of one family, far apart in truth: each width is over its own task's spread.
    rows = [_auto("a", s, v, 2 * sd) for s, v in enumerate(values)]
    rows += [_auto("b", s, 10 * v, 20 * sd, truth=10.0) for s, v in enumerate(values)]
    record, table = calibration.tabulate(rows)
    (cell,) = record["cells"]
    assert cell["width_over_oracle"] == pytest.approx(4 / (2 * 1.96)) and cell["coverage_where_reliable"] == 1
    assert "width over oracle" in table and "1.02x" in table


def test_a_truth_of_zero_in_round_off_lies_inside_an_interval_held_at_zero():
    assert calibration.covers(0.0, 0.1, -1.8e-15) and not calibration.covers(0.0, 0.1, -1e-6)


def test_labels_rows_are_the_labels_estimators_under_their_own_family(tmp_path):
    import argparse

    args = argparse.Namespace(
        quick=False, sizes=[300], seeds=1, families=["labels"], auto_only=True, resume=False
    )
    calibration.measure(args, tmp_path / "rows.jsonl")
    rows = calibration.read_rows(tmp_path / "rows.jsonl", calibration.KEY)
    assert {r["task"] for r in rows} == set(calibration.TASKS["labels"])
    assert all(r["family"] == "labels" and r["measure"] == "mi" for r in rows)
    # The mixed KSG with its classes check; Gaussian classes where x has several columns and rows
    # enough (ten classes in 20 columns at N = 300 too: the rows number more than 20 times 10), of
    # their own covariances where the spreads differ and each class has the rows (ten classes in 20
    # columns at N = 300, seed 0: the smallest has 18 rows, fewer than 20: the mixed KSG).
    assert all(("classes" in r["checks"]) == (r["chosen"] == "mixed_ksg") for r in rows)
    assert {r["task"]: r["chosen"] for r in rows if r["chosen"] != "mixed_ksg"} == {
        "labels-class-means-3-triangle-2d": "gaussian_classes",
        "labels-class-means-10-diagonal-5d": "gaussian_classes",
        "labels-class-means-10-diagonal-20d": "gaussian_classes",
        "labels-spreads-3-triangle-2d": "quadratic_classes",
        "labels-spreads-5-line-10d": "quadratic_classes",
    }
    assert all("gaussian classes" in r["checks"] for r in rows if r["chosen"] != "mixed_ksg")
    record, _ = calibration.tabulate(rows)
    assert [(c["family"], c["runs"]) for c in record["cells"]] == [
        ("labels", len(calibration.TASKS["labels"]))
    ]


def test_a_resumed_run_keeps_the_families_of_the_folder_in_its_config(tmp_path):
    import argparse
    import json

    path = tmp_path / "config.json"
    settings = {"sizes": [1000, 5000], "seeds": 40, "quick": False, "auto_only": True, "copy_rows": None}
    path.write_text(json.dumps(settings | {"families": ["mi", "cmi", "te"]}))
    args = argparse.Namespace(**settings, families=["labels"], resume=True)
    assert calibration.run_config(args, path)["families"] == ["mi", "cmi", "labels", "te"]
    fresh = argparse.Namespace(**vars(args) | {"resume": False})
    assert calibration.run_config(fresh, path)["families"] == ["labels"]
    other = argparse.Namespace(**vars(args) | {"seeds": 5})  # other settings: its own families only
    assert calibration.run_config(other, path)["families"] == ["labels"]
