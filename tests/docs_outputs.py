"""Shown outputs in the documentation's Python examples, checked against what the examples print.

In a fenced ```python block of README.md or a page under docs/, a comment that starts with ``#>`` is
what the ``print(...)`` before it prints: on the print's own line (one printed line), or on the comment
lines right below the print (one ``#>`` line a printed line; a plain ``#`` comment on the print's
line is prose and is not compared). The tests run each block once, record what each print call
printed, and compare it with what the page shows:

- text equal, any run of white space (a line break too) counted as one space, so that a long output
  may be wrapped over several ``#>`` lines;
- each number within **two units of its last shown digit** (``0.5852`` matches 0.5850 to 0.5854,
  ``0.40`` matches 0.38 to 0.42; a number shown with fewer digits than printed is a rounding of it,
  and ``...`` right after a number marks the digits left out); a number shown without a decimal point
  or exponent (a count, a sample size) must be printed exactly.

``IBLEARN_UPDATE_DOC_OUTPUTS=1`` makes the same tests rewrite the shown outputs in place from the run
instead of comparing (each number at the precision the page showed where the text still matches),
and ``python tests/docs_outputs.py [FILE ...]`` does it for README.md and the guide pages at once.
"""

from __future__ import annotations

import ast
import builtins
import io
import math
import os
import re
import sys
import textwrap
import tokenize
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
UPDATE = os.environ.get("IBLEARN_UPDATE_DOC_OUTPUTS", "") not in ("", "0")
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
NUMBER = re.compile(r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)")
UNITS_OF_TOLERANCE = 2
#: A rewritten output is wrapped to the columns a code block shows (tests/test_docs_site.py); the
#: comparison counts a line break as a space, so the wrapped output still matches.
COLUMNS = 100
WRAP = {"break_long_words": False, "break_on_hyphens": False, "replace_whitespace": False}


@dataclass
class Shown:
    """One print call and the output a page shows for it."""

    first: int  # the file's lines of the call
    last: int
    comments: list[int]  # the file's lines that hold its ``#>`` comments
    trailing: bool  # one ``#>`` on the call's own last line
    text: str
    column: int = 0  # where a trailing ``#>`` starts on its line


@dataclass
class Block:
    path: Path
    index: int
    start: int  # the file's line of the block's first line of code
    source: str
    shown: list[Shown] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.path.name}:{self.start}"


def blocks(path: Path) -> list[Block]:
    """The ```python blocks of ``path``, each with its shown outputs."""
    text = path.read_text(encoding="utf-8")
    found = []
    for i, m in enumerate(FENCE.finditer(text)):
        block = Block(path, i, text[: m.start(1)].count("\n") + 1, m.group(1))
        block.shown = _shown(block)
        found.append(block)
    return found


def _shown(block: Block) -> list[Shown]:
    offset = block.start - 1
    calls = [
        (node.lineno + offset, (node.end_lineno or node.lineno) + offset)
        for node in ast.walk(ast.parse(block.source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
    ]
    marks: dict[int, tuple[str, int, bool]] = {}  # line -> (text, column, alone on its line)
    for tok in tokenize.generate_tokens(io.StringIO(block.source).readline):
        if tok.type == tokenize.COMMENT and tok.string.startswith("#>"):
            alone = tok.line.lstrip().startswith("#")
            marks[tok.start[0] + offset] = (tok.string[2:].removeprefix(" "), tok.start[1], alone)
    shown: list[Shown] = []
    lines = block.source.splitlines()
    for line in sorted(marks):
        text, column, alone = marks[line]
        where = f"{block.path.name}, line {line}"
        if alone and shown and shown[-1].comments[-1] == line - 1:
            if shown[-1].trailing:
                raise ValueError(f"{where}: an output of several lines starts on the line below its print")
            shown[-1].comments.append(line)
            shown[-1].text += "\n" + text
            continue
        target = line if not alone else line - 1
        call = next((c for c in calls if c[1] == target), None)
        if call is None:
            code = lines[line - offset - 1].strip()
            raise ValueError(f"{where}: a '#>' output follows no print(...) ({code!r})")
        shown.append(Shown(call[0], call[1], [line], not alone, text, column))
    return shown


def run(block: Block, namespace: dict[str, Any]) -> dict[int, str]:
    """Run ``block`` in ``namespace`` (its line numbers the file's) and return what each print call
    printed, by the call's first line. What it prints still goes to stdout."""
    printed: dict[int, list[str]] = defaultdict(list)
    filename = str(block.path)
    starts = sorted((s.first, s.last) for s in block.shown)

    def recording_print(*args: Any, **kwargs: Any) -> None:
        builtins.print(*args, **kwargs)
        if kwargs.get("file") not in (None, sys.stdout):
            return
        frame = sys._getframe(1)
        if frame.f_code.co_filename != filename:
            return
        out = io.StringIO()
        builtins.print(*args, **{**kwargs, "file": out})
        line = frame.f_lineno
        first = next((a for a, b in starts if a <= line <= b), line)
        printed[first].append(out.getvalue())

    namespace.setdefault("__builtins__", builtins)
    namespace["print"] = recording_print
    code = compile("\n" * (block.start - 1) + block.source, filename, "exec")
    exec(code, namespace)
    return {line: "".join(parts) for line, parts in printed.items()}


# --------------------------------------------------------------------------------------- comparing ---
def _parts(text: str) -> tuple[list[str], list[str]]:
    pieces = NUMBER.split(" ".join(text.split()))
    return pieces[0::2], pieces[1::2]


def _unit(number: str) -> float | None:
    """Two units of the last digit ``number`` shows; None for an integer (compared exactly)."""
    mantissa, _, exponent = number.lower().partition("e")
    if "." not in mantissa and not exponent:
        return None
    places = len(mantissa.partition(".")[2])
    return UNITS_OF_TOLERANCE * 10.0 ** (int(exponent or 0) - places)


def mismatch(shown: str, printed: str) -> str | None:
    """Why ``printed`` is not the ``shown`` output (None where it is, by the rule above)."""
    texts, numbers = _parts(shown)
    got_texts, got_numbers = _parts(printed)
    texts = [t.removeprefix("...") if i else t for i, t in enumerate(texts)]
    if texts != got_texts or len(numbers) != len(got_numbers):
        return "the text differs"
    for want, got in zip(numbers, got_numbers, strict=True):
        unit = _unit(want)
        if (unit is None and float(got) != float(want)) or (
            unit is not None and not abs(float(got) - float(want)) <= unit * (1 + 1e-9)
        ):
            tolerance = "exactly" if unit is None else f"within {unit:g}"
            return f"{got} is not {want} ({tolerance})"
    return None


def check(block: Block, printed: dict[int, str]) -> list[str]:
    """Each shown output of ``block`` that its run did not print, with why."""
    problems = []
    for shown in block.shown:
        got = printed.get(shown.first)
        if got is None:
            problems.append(f"{block.path.name}, line {shown.first}: this print(...) never ran")
            continue
        why = mismatch(shown.text, got.rstrip("\n"))
        if why:
            problems.append(
                f"{block.path.name}, line {shown.first}: {why}\n  shown:   {shown.text!r}\n"
                f"  printed: {got.rstrip(chr(10))!r}"
            )
    return problems


# --------------------------------------------------------------------------------------- rewriting ---
def _rounded_like(shown: str, printed: str) -> str:
    """``printed`` with each number at the precision ``shown`` gave it, where the text is the same."""
    texts, numbers = _parts(shown)
    got_texts, got_numbers = _parts(printed)
    plain = [t.removeprefix("...") if i else t for i, t in enumerate(texts)]
    if plain != got_texts or len(numbers) != len(got_numbers) or "\n" in printed:
        return printed
    out = [texts[0]]
    for want, got, text in zip(numbers, got_numbers, texts[1:], strict=True):
        places = len(want.lower().partition("e")[0].partition(".")[2])
        fewer = _unit(want) is not None and "e" not in want.lower() and places < len(got.partition(".")[2])
        out += [f"{float(got):.{places}f}" if fewer and math.isfinite(float(got)) else got, text]
    return "".join(out)


def update(block: Block, printed: dict[int, str]) -> bool:
    """Rewrite ``block``'s shown outputs in its file from ``printed``; True where anything changed.
    The file is read again, so that blocks rewritten before (whose line counts may change) are found."""
    current = blocks(block.path)[block.index]
    shift = current.start - block.start
    lines = block.path.read_text(encoding="utf-8").split("\n")
    changed = False
    for shown in sorted(current.shown, key=lambda s: -s.first):
        got = printed.get(shown.first - shift)
        if got is None or mismatch(shown.text, got.rstrip("\n")) is None:
            continue
        new = _rounded_like(shown.text, got.rstrip("\n")).split("\n")
        first = lines[shown.comments[0] - 1]
        if shown.trailing and len(new) == 1 and shown.column + 3 + len(new[0]) <= COLUMNS:
            lines[shown.comments[0] - 1] = first[: shown.column] + "#> " + new[0]
        else:
            code = first[: shown.column].rstrip() if shown.trailing else ""
            below = code or first
            indent = below[: len(below) - len(below.lstrip())]
            width = COLUMNS - len(indent) - 3
            wrapped = [part for x in new for part in textwrap.wrap(x, width, **WRAP) or [""]]
            lines[shown.comments[0] - 1 : shown.comments[-1]] = [
                *([code] if code else []),
                *(f"{indent}#> {x}" for x in wrapped),
            ]
        changed = True
    if changed:
        block.path.write_text("\n".join(lines), encoding="utf-8")
    return changed


def check_or_update(block: Block, printed: dict[int, str]) -> list[str]:
    """The test's step: compare (or, under IBLEARN_UPDATE_DOC_OUTPUTS=1, rewrite and report nothing)."""
    if UPDATE:
        update(block, printed)
        return []
    return check(block, printed)


#: The pages whose examples show outputs: README.md and the site's pages that run as examples.
def pages() -> list[Path]:
    docs = ROOT / "docs"
    return [docs / "index.md", *sorted(docs.glob("guide/*.md")), *sorted(docs.glob("papers/*.md"))]


def main(argv: list[str], before: Callable[[], None] = lambda: None) -> int:
    """Rewrite the shown outputs of the files named (README.md and every page of :func:`pages` by
    default): README's blocks each alone, as a user pastes one; a page's in order, in one namespace."""
    import tempfile

    import torch

    torch.set_num_threads(1)
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).parent:
        del sys.path[0]  # tests/ would shadow packages it mirrors (tests/sklearn)
    os.chdir(tempfile.mkdtemp())  # an example may write a file (README's CSV for the command)
    files = [Path(a).resolve() for a in argv] or [ROOT / "README.md", *pages()]
    for path in files:
        namespace: dict[str, Any] = {"__name__": "docs"}
        torch.manual_seed(0)
        for block in blocks(path):
            if path.name == "README.md":  # each block alone, as tests/test_readme.py runs it
                namespace = {"__name__": "readme"}
                torch.manual_seed(0)
            before()
            changed = update(block, run(block, namespace))
            print(f"{block.id}: {'rewritten' if changed else 'as shown'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
