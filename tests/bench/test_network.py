"""benchmarks/network.py resumes per cell and records what it leaves out; network_table computes the
page's comparison with IDTxl and the 100-process prediction from the rows."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pytest
from benchmarks import network, network_table


def _row(
    library: str, nodes: int, seed: int, precision: float, recall: float, seconds: float
) -> dict[str, Any]:
    return {
        "library": library,
        "nodes": nodes,
        "samples": 1000,
        "seed": seed,
        "precision": precision,
        "recall": recall,
        "seconds": seconds,
        "targets_measured": 1,
        "commit": "abcdef0123",
    }


def test_a_run_keeps_the_cells_it_has_and_lists_a_timed_out_peer(monkeypatch, tmp_path: Path) -> None:
    calls: list[tuple[Any, ...]] = []

    def fake(library: str, nodes: int, samples: int, seed: int, *rest: Any) -> dict[str, Any]:
        calls.append((library, nodes, seed))
        if library == "idtxl":
            raise subprocess.TimeoutExpired("peer", 1.0)
        return _row(library, nodes, seed, 1.0, 1.0, 2.0)

    monkeypatch.setattr(network, "run_cell", fake)
    argv = [
        "--nodes",
        "5",
        "--seeds",
        "2",
        "--libraries",
        "iblearn-gaussian",
        "idtxl",
        "--out",
        str(tmp_path),
    ]
    network.main([*argv, "--timeout", "1"])
    assert len(calls) == 4
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [r["seed"] for r in summary["rows"]] == [0, 1]
    assert [x["reason"] for x in summary["left_out"]] == ["over 1 s", "over 1 s"]
    network.main(argv)
    assert len(calls) == 6  # only the cells left out are tried again
    assert "idtxl" in (tmp_path / "table.md").read_text()
    assert len(json.loads((tmp_path / "config.json").read_text())["runs"]) == 2


def test_against_idtxl_pairs_the_common_seeds_and_checks_both_goals() -> None:
    summary = {
        "rows": [
            _row("iblearn-ksg", 5, 0, 1.0, 1.0, 10.0),
            _row("iblearn-ksg", 5, 1, 1.0, 0.5, 30.0),
            _row("idtxl", 5, 0, 1.0, 1.0, 200.0),
            _row("idtxl", 10, 0, 1.0, 1.0, 400.0),  # no iblearn-ksg row of this size: not compared
        ]
    }
    (only,) = network_table.against_idtxl(summary)
    assert only["seeds"] == [0] and only["speed_ratio"] == pytest.approx(20.0)
    assert only["target_seconds"] == pytest.approx(2.0) and only["idtxl_target_seconds"] == pytest.approx(
        40.0
    )
    assert only["accuracy_met"] and only["speed_met"]
    summary["rows"][0]["recall"] = 0.9
    assert not network_table.against_idtxl(summary)[0]["accuracy_met"]


def test_prediction_carries_the_per_target_time_by_the_power_law_of_the_two_largest_sizes() -> None:
    rows = [_row("iblearn-ksg", n, 0, 1.0, 1.0, n * t) for n, t in ((5, 1.0), (20, 4.0), (50, 25.0))]
    got = network_table.prediction({"rows": rows})
    assert got is not None and got["from_nodes"] == [20, 50]
    exponent = math.log(25.0 / 4.0) / math.log(50 / 20)
    assert got["exponent"] == pytest.approx(exponent)
    assert got["network_seconds"] == pytest.approx(100 * 25.0 * 2**exponent)
    assert network_table.prediction({"rows": rows[:1]}) is None
    assert not got["measured"]


def test_a_measured_100_process_target_is_the_prediction_and_sizes_without_idtxl_are_named() -> None:
    rows = [_row("iblearn-ksg", n, 0, 1.0, 1.0, n * t) for n, t in ((50, 25.0), (100, 60.0))]
    got = network_table.prediction({"rows": rows})
    assert got is not None and got["measured"]
    assert got["target_seconds"] == pytest.approx(60.0) and got["network_seconds"] == pytest.approx(6000.0)
    rows.append(_row("idtxl", 50, 0, 1.0, 1.0, 5000.0))
    assert network_table.summarize({"rows": rows})["without_idtxl"] == [[100, 1000]]


def test_merge_writes_another_folders_rows_without_running_a_cell(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(network, "run_cell", lambda *a: pytest.fail("no cell is run"))
    scratch, final = tmp_path / "scratch", tmp_path / "final"
    scratch.mkdir()
    rows = [_row("iblearn-ksg", 5, 0, 1.0, 1.0, 3.0)]
    (scratch / "summary.json").write_text(json.dumps({"rows": rows, "left_out": []}))
    (scratch / "config.json").write_text(json.dumps({"runs": [{"git_commit": "abc"}]}))
    network.main(["--libraries", "--merge", str(scratch), "--out", str(final)])
    written = json.loads((final / "summary.json").read_text())
    assert written["rows"] == rows and "git_commit" not in written["provenance"]
    assert json.loads((final / "config.json").read_text())["runs"][0]["git_commit"] == "abc"
    assert (
        "| iblearn-ksg | 5 | 1,000 | 1 | 1.000 | 1.000 | 0.6 | 3.0 | 1 |" in (final / "table.md").read_text()
    )


def test_an_iblearn_cell_is_a_row_without_a_peer_version() -> None:
    row = network.run_cell("iblearn-gaussian", 3, 300, 0, None)
    assert row["peer_version"] is None and row["peer_numpy"] is None
    assert row["targets_measured"] == 3 and 0.0 <= row["recall"] <= 1.0
