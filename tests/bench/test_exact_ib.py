"""benchmarks/exact_ib.py: its table regenerates from its committed record, and its measures of
agreement read a curve as they say (no peer needed: the peers run only in the benchmark)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import exact_ib

RESULTS = Path(exact_ib.__file__).resolve().parent / "results" / "exact_ib"


def test_the_committed_table_is_its_record():
    record = json.loads((RESULTS / "results.json").read_text(encoding="utf-8"))
    assert (RESULTS / "table.md").read_text(encoding="utf-8") == exact_ib.render(record)
    assert record["environment"]["git_commit"] and len(record["betas"]) == 50


def test_above_and_better():
    curve = (np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 1.5]))
    assert exact_ib.above((np.array([1.5]), np.array([1.25])), curve) == 0.0  # on the chord
    assert abs(exact_ib.above((np.array([1.5]), np.array([1.35])), curve) - 0.1 / np.log(2)) < 1e-12
    own = exact_ib.ours(np.array([[0.45, 0.05], [0.05, 0.45]]))
    assert exact_ib.better(own, own) == (0, 0)


def test_above_lines():
    own = exact_ib.ours(np.array([[0.45, 0.05], [0.05, 0.45]]))  # optimal: on or below its own lines
    assert abs(exact_ib.above_lines(own, own)) < 1e-9
    raised = (own[0], own[1] + 0.01)
    assert abs(exact_ib.above_lines(raised, own) - 0.01 / np.log(2)) < 1e-9


def test_the_light_search_gets_its_columns_where_the_record_has_it():
    record = json.loads((RESULTS / "results.json").read_text(encoding="utf-8"))
    for r in record["rows"]:
        r["seconds"]["anneal"], r["seconds"]["anneal_tol_1e-3"] = 0.5, 0.25
        r["embo_over_anneal"] = r["embo_over_anneal_tol_1e-3"] = 12.0
        for k in ("embo", "embo_tol_1e-3", "iblearn", "iblearn_tol_1e-3"):
            r[f"anneal_over_{k}_nats"] = -1e-3
    table = exact_ib.render(record)
    assert "| embo / anneal |" in table and "| 0.5000 | 0.2500 | 12.00 | 12.00 |" in table
    assert "| -1.00e-03 | -1.00e-03 | -1.00e-03 | -1.00e-03 |" in table
    for r in record["rows"]:  # a record of the thorough search alone: no anneal columns
        r["seconds"].pop("anneal"), r["seconds"].pop("anneal_tol_1e-3")
        for key in [k for k in r if "anneal" in k]:
            del r[key]
    assert "anneal" not in exact_ib.render(record)
