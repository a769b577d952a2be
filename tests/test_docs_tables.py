"""Every Markdown table the site publishes stays a table: no cell splits its row.

A pipe inside a cell (``I(X;Y|Z)``, ``|value - ours|``) ends the cell unless it is escaped; a header row
with one cell more than its separator row is not a table at all, and the page shows its raw text.
The table writer (``iblearn.records.markdown_table``) escapes every cell; this test reads each committed
table as the site's Markdown does.
"""

from __future__ import annotations

import re
from pathlib import Path

from iblearn.records import markdown_table
from tests.docs_pages import numbers, page

ROOT = Path(__file__).resolve().parents[1]
CODE = re.compile(r"(`+).*?\1")
SEPARATOR = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def cells(row: str) -> int:
    """How many cells Python-Markdown's tables reads in ``row``: pipes in code spans and escaped ones
    do not split."""
    plain = CODE.sub(lambda m: "x" * len(m.group(0)), row.strip()).replace("\\|", "xx")
    return len(plain.strip("|").split("|"))


def broken_rows(text: str) -> list[str]:
    """The rows of ``text``'s tables whose cell count is not their separator row's."""
    found, block = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if len(block) >= 2 and SEPARATOR.match(block[1]):
            found += [row for row in block if cells(row) != cells(block[1])]
        block = []
    return found


def test_a_pipe_in_a_cell_is_escaped_and_the_row_keeps_its_cells():
    table = markdown_table(["dims", "I(X;Y|Z)", "|value - ours|"], [["1x1", "`a|b`", "x\ny"]])
    assert table.splitlines()[0] == r"| dims | I(X;Y\|Z) | \|value - ours\| |"
    assert table.splitlines()[2] == "| 1x1 | `a|b` | x y |"  # a code span keeps its pipe; no line break
    assert broken_rows(table) == []
    assert broken_rows("| a | I(X;Y|Z) |\n|---|---|\n| 1 | 2 |\n") == ["| a | I(X;Y|Z) |"]


def test_a_quoted_cell_reads_an_escaped_pipe_as_one():
    assert numbers()._cells(r"| 1x1 | I(X;Y\|Z) | 0.5 |") == ["1x1", "I(X;Y|Z)", "0.5"]


COMMITTED = sorted(
    p
    for folder in ("benchmarks/results", "docs/results")
    for p in (ROOT / folder).rglob("*.md")
    if "_scratch" not in p.parts
)


def _as_shown(path: Path) -> str:
    """A page under docs/ rendered as the site renders it (its figures read from their files)."""
    if path.is_relative_to(ROOT / "docs"):
        return page(str(path.relative_to(ROOT / "docs")))
    return path.read_text(encoding="utf-8")


def test_every_committed_table_keeps_its_cells():
    broken = {str(p.relative_to(ROOT)): broken_rows(_as_shown(p)) for p in COMMITTED}
    assert len(COMMITTED) > 50
    assert {path: rows for path, rows in broken.items() if rows} == {}
