"""The demo's length in the README and in ``iblearn demo --help`` is the committed measurement's."""

from __future__ import annotations

import json
import re
from pathlib import Path

from iblearn.cli.demo import DEMO_HELP

ROOT = Path(__file__).resolve().parents[2]
RECORD = json.loads((ROOT / "benchmarks" / "results" / "demo" / "time.json").read_text())
SAID = re.compile(r"about (\d+) minutes of CPU time on one thread, measured on a 2-core machine")


def _minutes() -> int:
    return round(RECORD["cpu_s"] / 60)


def test_the_record_says_where_and_how_it_was_measured():
    env = RECORD["environment"]
    assert env["git_commit"] and env["date"] and env["machine"].endswith("2 CPUs") and env["cpu_threads"] == 1
    assert abs(RECORD["cpu_s"] - RECORD["cpu_user_s"] - RECORD["cpu_system_s"]) < 0.01


def test_the_readme_quotes_the_record():
    found = SAID.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert found and all(int(m) == _minutes() for m in found)
    assert "benchmarks/results/demo/" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_help_quotes_the_record():
    found = SAID.findall(DEMO_HELP)
    assert found == [str(_minutes())], DEMO_HELP


def test_the_threads_help_points_to_public_documentation():
    from iblearn.cli import build_parser

    text = build_parser().format_help()
    assert "_threads" not in text and "docs/api/cli.md" in text
