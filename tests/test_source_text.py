"""What the source's comments and docstrings say: papers by authors and year, and measurements in the
documentation rather than beside the code (docs/design.md, "Style")."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "iblearn"

# A time measured: "4.8 s", "131 ms", "2 - 3 us", "2.5x faster".
NUMBER = r"\d(?:[\d.]|,\d{3})*"
TIMING = re.compile(
    rf"\b{NUMBER}(?: - {NUMBER})? (?:ms|us|µs|ns|s|seconds|minutes)\b(?![\w(^])"
    rf"|\b{NUMBER}x (?:faster|slower|as fast)"
)
PAPER_NUMBER = re.compile(r"\b[pP]aper 00\d\b")


def _prose(text: str) -> list[str]:
    """The comments and the docstrings of a module's source ``text``."""
    found = [
        t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(text)):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            found += [
                s.value.value
                for s in body
                if isinstance(s, ast.Expr)
                and isinstance(s.value, ast.Constant)
                and isinstance(s.value.value, str)
            ]
    return found


def _matches(pattern: re.Pattern[str], src: Path = SRC) -> list[str]:
    return [
        f"{path.relative_to(src)}: {m.group(0)}"
        for path in sorted(src.rglob("*.py"))
        for text in _prose(path.read_text(encoding="utf-8"))
        for m in pattern.finditer(text)
    ]


def test_papers_are_cited_by_authors_and_year():
    """A reader outside this repository cannot look up "paper 002"; "Elad et al. (2019)" they can."""
    assert _matches(PAPER_NUMBER) == []


def test_timing_notes_live_in_the_documentation():
    """A comment gives the rule and its reason; the figures measured behind it are in docs/design.md
    ("Measurements behind the code") or docs/benchmarks.md, at most 8 left beside the code."""
    assert len(_matches(TIMING)) <= 8, _matches(TIMING)


def test_the_checks_see_a_paper_number_and_a_timing(tmp_path):
    (tmp_path / "m.py").write_text(
        '"""As paper 004 says."""\n# took 4.8 s on one thread, 2.5x faster\nx = "paper 003"\n'
    )
    assert _matches(PAPER_NUMBER, tmp_path) == ["m.py: paper 004"]
    assert _matches(TIMING, tmp_path) == ["m.py: 4.8 s", "m.py: 2.5x faster"]
