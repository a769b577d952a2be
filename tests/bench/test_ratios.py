"""benchmarks/ratios.py: every case is committed with what it times and its goal, the table's verdicts
are computed from the ratios, and the cores it times against do the work they stand for."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest

from iblearn.functional import ib_curve
from iblearn.functional.cmi_surrogates import KSGCMI, condition

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "ratios" / "results.json"


@pytest.fixture
def ratios(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    return importlib.import_module("ratios")


def test_every_case_is_committed_with_its_labels_and_goal(ratios):
    record = json.loads(RESULTS.read_text(encoding="utf-8"))
    assert list(record["ratios"]) == list(ratios.CASES)
    for name, row in record["ratios"].items():
        hot, core = ratios.CASES[name][:2]
        assert (row["hot_path"], row["core_operation"]) == (hot, core)
        assert row.get("goal") == ratios.GOALS.get(name)
        assert row["ratio"] > 0 and row["repeats"] == ratios.CASES[name][3]
    assert {"pairwise_top_k", "ib_curve", "network", "door_cmi", "door_te", "door_o_information"} <= set(
        record["ratios"]
    )


def test_the_goals_are_auto_at_most_4x(ratios):
    assert set(ratios.GOALS) == {n for n in ratios.CASES if n.startswith(("auto_", "door_"))}
    assert set(ratios.GOALS.values()) == {4.0}


def _row(ratio: float, goal: float | None = None) -> dict:
    row = {"ratio": ratio, "hot_s": 0.002 * ratio, "core_s": 0.002, "repeats": 3}
    return row if goal is None else {**row, "goal": goal}


def test_the_verdicts_come_from_the_ratios(ratios):
    assert ratios.goal_verdict(_row(3.9, 4.0)) == "met"
    assert ratios.goal_verdict(_row(4.1, 4.0)) == "not met"
    assert ratios.goal_verdict(_row(9.0)) == "-"
    measured = {"door_te": _row(4.5, 4.0), "ksg": _row(1.2), "network": _row(0.7)}
    committed = {"ratios": {"door_te": {"ratio": 2.0}, "ksg": {"ratio": 1.0}}, "tolerance": 1.5}
    lines = ratios.table(measured, committed).splitlines()
    assert lines[0].split(" | ")[-4:] == ["goal", "goal met", "committed", "check |"]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    assert [c[5:] for c in cells] == [
        ["at most 4x", "not met", "2.00", "SLOWER"],
        ["-", "-", "1.00", "ok"],
        ["-", "-", "-", "new"],
    ]


def test_the_blahut_arimoto_core_reaches_the_ib_solution(ratios):
    """The core's iterations are the IB's: on the binary symmetric joint (eps 0.1, critical beta 1/0.64)
    they reach ib_curve's I(T; Y) above the critical beta and the trivial encoder below it."""
    from benchmarks.runners.ratio_cases import blahut_arimoto_ib

    p = np.array([[0.45, 0.05], [0.05, 0.45]])
    betas = np.array([1.0, 4.0])
    q = blahut_arimoto_ib(p, betas, 1_000)
    pty = q.transpose(0, 2, 1) @ p
    qt, py = pty.sum(-1), p.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        i_ty = np.nansum(pty * np.log(pty / (qt[..., None] * py)), axis=(-2, -1))
    assert i_ty[0] == pytest.approx(0.0, abs=1e-6)
    assert i_ty[1] == pytest.approx(float(ib_curve(p, [4.0]).i_ty[0]), abs=1e-6)


def test_the_network_core_counts_each_conditional_mi(ratios):
    from benchmarks.runners.ratio_cases import _network_calls

    value = KSGCMI.value
    rows = np.random.default_rng(0).standard_normal((120, 3))
    cond = condition(rows[:, 0], rows[:, 1:2])

    def run() -> None:
        engine = KSGCMI()
        engine.value(cond, rows[:, 2])
        engine.value(cond, rows[:, 1])

    assert _network_calls(run) == [(120, 1), (120, 1)]
    assert KSGCMI.value is value  # restored
