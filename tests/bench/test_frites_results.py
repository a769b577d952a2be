"""The committed side-by-side with frites: table.md regenerates from results.json, the record carries
its provenance and sources, and the values and the windows found agree with frites and the planted
windows."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRITES = ROOT / "benchmarks" / "results" / "frites"


def test_the_table_regenerates_from_the_record():
    script = importlib.import_module("frites_timecourse")
    results = json.loads((FRITES / "results.json").read_text(encoding="utf-8"))
    assert (FRITES / "table.md").read_text(encoding="utf-8") == script.table(results)


def test_the_record_has_provenance_sources_and_agreement():
    results = json.loads((FRITES / "results.json").read_text(encoding="utf-8"))
    prov = results["provenance"]
    assert prov["git_commit"] and prov["frites"] and prov["machine"] and "kernel_isa" in prov
    sources = json.loads((FRITES / "sources.json").read_text(encoding="utf-8"))
    assert all((ROOT / s).exists() for s in sources) and "src/iblearn/neuro.py" in sources
    assert results["agree"]
    for r in results["targets"].values():
        assert r["max_abs_difference_nats"] <= results["tolerance_nats"]
        assert r["window"]["iblearn"] == r["window"]["frites"]
        assert r["window"]["iblearn"]["channels"] == r["planted"]["channels"]
