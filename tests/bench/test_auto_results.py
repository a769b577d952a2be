"""auto's committed benchmark: table.md regenerates from rows.jsonl, the guide's table is those rows'
counts, and the ceiling the guide quotes is what the committed benchmark-mi rows give."""

from __future__ import annotations

import importlib
import json
import statistics
from pathlib import Path

import pytest

from tests.docs_pages import page

ROOT = Path(__file__).resolve().parents[2]
AUTO = ROOT / "benchmarks" / "results" / "auto"
LABELS = {"benchmark-mi": "benchmark-mi's 40", "high-dimensional": "high-dimensional 19"}


@pytest.fixture
def scripts(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    return lambda name: importlib.import_module(name)


def _rows(auto) -> list[dict]:
    rows = [json.loads(line) for line in (AUTO / "rows.jsonl").read_text().splitlines()]
    return sorted(rows, key=lambda r: (auto.FAMILIES.index(r["family"]), r["n"], r["seed"]))


def test_the_table_regenerates_from_the_rows(scripts):
    auto = scripts("auto")
    committed = (AUTO / "table.md").read_text(encoding="utf-8")
    assert committed.endswith(auto.table(_rows(auto)))


def test_the_guides_table_is_the_rows_counts(scripts):
    auto = scripts("auto")
    rows, guide = _rows(auto), page("guide/auto.md")
    for family, n in dict.fromkeys((r["family"], r["n"]) for r in rows):
        mine = [r for r in rows if r["family"] == family and r["n"] == n]
        m, within, covers = len(mine), sum(r["within_10"] for r in mine), sum(r["covers"] for r in mine)
        off = [r for r in mine if r["off_25"]]
        cells = (
            f"| {LABELS.get(family, family)}, {n:,} ({m}) | {within} ({100 * within / m:.0f}%) | "
            f"{covers} ({100 * covers / m:.0f}%) | {len(off)} | **{sum(r['reliable'] for r in off)}** |"
        )
        assert cells in guide, cells
        ratio = statistics.median(r["auto_seconds"] / max(r["alone_seconds"], 1e-6) for r in mine)
        assert f"| {ratio:.1f}x (" in guide.split(cells, 1)[1].splitlines()[0], (cells, ratio)


def test_the_ceiling_on_benchmark_mi_is_the_committed_rows(scripts):
    lines = scripts("auto_rule").ceiling().splitlines()
    assert lines[0].startswith("- seed 0: within 10% on 31 of 40 tasks, the best of 12 estimators")
