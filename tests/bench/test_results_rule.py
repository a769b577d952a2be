"""The rule for the benchmark scripts' results (benchmarks/runners/script.py): a run writes to a scratch
folder unless told, the committed folders change only with --write-results, rows are merged by key,
never dropped, and bad arguments and rows files give one line naming them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from benchmarks import calibration, truth
from benchmarks.runners import script


def _row(task: str, n: int, seed: int, estimator: str, value: float = 0.1) -> dict[str, Any]:
    return {
        "task": task,
        "family": "mi",
        "truth": 0.1,
        "n": n,
        "seed": seed,
        "estimator": estimator,
        "value": value,
    }


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """A committed calibration folder of 3 rows, a scratch root, and measuring that takes no time."""
    committed = tmp_path / "committed"
    committed.mkdir()
    rows = [
        _row("bivariate-normal-0.75", 500, 0, "ksg"),
        _row("other-task", 2000, 7, "ksg"),
        _row("x", 1, 1, "y"),
    ]
    (committed / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.setattr(calibration, "OUT", committed)
    monkeypatch.setattr(script, "SCRATCH", tmp_path / "_scratch")
    monkeypatch.setattr(
        calibration, "measure_row", lambda task, n, seed, name, est: _row(task.name, n, seed, name, 9.0)
    )
    monkeypatch.setattr(calibration, "auto_row", lambda task, n, seed: _row(task.name, n, seed, "auto", 9.0))
    monkeypatch.setattr(calibration, "tabulate", lambda rows: ({"cells": len(rows)}, "| table |\n"))
    monkeypatch.setattr(calibration, "environment", lambda: {"machine": "m", "git_commit": "c", "date": "d"})
    return committed


def test_a_quick_subset_run_leaves_the_committed_rows_byte_identical(folders, tmp_path):
    before = (folders / "rows.jsonl").read_bytes()
    assert calibration.main(["--quick", "--families", "mi"]) == 0
    assert (folders / "rows.jsonl").read_bytes() == before
    assert not (folders / "table.md").exists()
    scratch = (tmp_path / "_scratch" / "committed" / "rows.jsonl").read_text().splitlines()
    assert len(scratch) == 2 * 5 * 3  # 2 tasks, 5 seeds, KSG, copula and estimate_mi


def test_write_results_merges_rows_by_key_and_keeps_the_others(folders):
    assert calibration.main(["--sizes", "500", "--seeds", "1", "--families", "mi", "--write-results"]) == 0
    rows = [json.loads(line) for line in (folders / "rows.jsonl").read_text().splitlines()]
    keys = [(r["task"], r["n"], r["seed"], r["estimator"]) for r in rows]
    assert len(keys) == len(set(keys))
    assert ("other-task", 2000, 7, "ksg") in keys and ("x", 1, 1, "y") in keys
    replaced = next(r for r in rows if r["task"] == "bivariate-normal-0.75" and r["estimator"] == "ksg")
    assert replaced["value"] == 9.0
    assert (folders / "table.md").exists()


def test_a_committed_folder_named_by_out_needs_write_results(capsys):
    with pytest.raises(SystemExit) as stop:
        calibration.main(["--table-only", "--out", str(script.RESULTS / "calibration")])
    assert stop.value.code == 2 and "--write-results" in capsys.readouterr().err


def test_resume_drops_a_line_cut_short_and_measures_it_again(folders, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    whole = _row("bivariate-normal-0.75", 500, 0, "copula", 1.0)
    (out / "rows.jsonl").write_text(
        json.dumps(whole) + "\n" + json.dumps(_row("bivariate-normal-0.75", 500, 0, "ksg"))[:30]
    )
    assert (
        calibration.main(
            ["--sizes", "500", "--seeds", "1", "--families", "mi", "--resume", "--out", str(out)]
        )
        == 0
    )
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    kept = [r for r in rows if r["task"] == "bivariate-normal-0.75" and r["seed"] == 0]
    assert {r["estimator"]: r["value"] for r in kept} == {"copula": 1.0, "ksg": 9.0, "auto": 9.0}


@pytest.mark.parametrize(
    "line, said",
    [("[1, 2]", "JSON object"), ('{"task": "t"}', "lacks n, seed, estimator"), ("{oops", "not valid JSON")],
)
def test_a_bad_row_names_the_file_and_line(folders, tmp_path, capsys, line, said):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "rows.jsonl").write_text(line + "\n" + json.dumps(_row("t", 1, 1, "e")) + "\n")
    assert calibration.main(["--table-only", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "rows.jsonl, line 1" in err and said in err


#: Arguments each script refuses; its message names the last option given.
BAD_ARGUMENTS = {
    "calibration": [
        ["--families", "bogus"],
        ["--seeds", "0"],
        ["--sizes", "-5"],
        ["--quick", "--write-results"],
    ],
    "truth": [
        ["--families", "bogus"],
        ["--sizes", "-5"],
        ["--seeds", "-1"],
        ["--timeout", "nan"],
        ["--quick", "--write-results"],
    ],
}


@pytest.mark.parametrize(
    ("name", "argv"), [(name, argv) for name, bad in BAD_ARGUMENTS.items() for argv in bad]
)
def test_the_scripts_refuse_bad_arguments_naming_them(folders, capsys, name, argv):
    with pytest.raises(SystemExit) as stop:
        {"calibration": calibration, "truth": truth}[name].main(argv)
    said = [a for a in argv if a.startswith("--")][-1]
    assert stop.value.code == 2 and said in capsys.readouterr().err


def test_calibration_table_only_without_rows_and_out_at_a_file(folders, tmp_path, capsys):
    (folders / "rows.jsonl").unlink()
    for argv, said in ((["--table-only"], "no rows"), (["--out", str(folders / "f")], "is a file")):
        (folders / "f").write_text("")
        with pytest.raises(SystemExit) as stop:
            calibration.main(argv)
        assert stop.value.code == 2 and said in capsys.readouterr().err


def test_truth_render_names_a_bad_provenance_and_an_empty_folder(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        truth.main(["--render", "--results", str(tmp_path)])
    assert stop.value.code == 2 and "no rows" in capsys.readouterr().err
    row = {"task": "cmi-gauss-1x1x1", "family": "cmi", "truth": 0.1, "n": 300, "seed": 0, "estimator": "e"}
    row |= {"estimate": 0.1, "error": 0.0, "seconds": 1.0, "status": "ok"}
    (tmp_path / "rows.jsonl").write_text(json.dumps(row) + "\n")
    (tmp_path / "provenance.json").write_text("{not json")
    assert truth.main(["--render", "--results", str(tmp_path)]) == 1
    assert "provenance.json: not valid JSON" in capsys.readouterr().err


def test_truth_names_a_row_missing_keys(tmp_path, capsys):
    (tmp_path / "rows.jsonl").write_text('{"task": "t", "n": 1, "seed": 0, "estimator": "e"}\n')
    assert truth.main(["--render", "--results", str(tmp_path)]) == 1
    assert "rows.jsonl, line 1: the row lacks family" in capsys.readouterr().err
