"""Tables of results, as Markdown."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

#: A code span, inside which Markdown shows a pipe as it is and does not split a cell on it.
_CODE = re.compile(r"(`+).*?\1")


def _escaped(text: str) -> str:
    """``text`` as one cell: a pipe outside code is escaped (``I(X;Y|Z)`` would split the row), a line
    break is a space."""
    out, last = [], 0
    for m in _CODE.finditer(text):
        out += [text[last : m.start()].replace("|", r"\|"), m.group(0)]
        last = m.end()
    return "".join([*out, text[last:].replace("|", r"\|")]).replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table, each cell escaped so that it stays one cell."""

    def cell(v: Any) -> str:
        return _escaped(f"{v:.4g}" if isinstance(v, float) else str(v))

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
