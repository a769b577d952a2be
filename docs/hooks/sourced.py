"""Numbers on the site, read from the committed results files when the site is built.

A page that sets ``render_macros: true`` in its front matter is rendered by mkdocs-macros with the
helpers below, so a figure is written as where it comes from and how it is printed::

    {% set r = one("benchmarks/results/estimators_scaling.json", n=1000000, method="iblearn KSG") %}
    {{ r.seconds | fixed(1) }} s, {{ (r.seconds / 60 - 1) | pct(2) }} over a minute

and cannot disagree with its file. A page that also sets ``sourced: true`` is checked: a measurement it
writes as text (a number with a unit, a percentage, a ratio, or a decimal of two or more places) fails
the build (``unsourced``). A figure quoted from a paper is written ``{{ paper("66.55") }}``: its source
is the paper, named beside it. ``tests/test_sourced_numbers.py`` runs the same check on every page.

Only files under ``benchmarks/results/`` and ``docs/results/`` can be read: those are the records.
What a page inserts from them is escaped as HTML (outside code spans), so a results file cannot add
markup to the site, and a figure that is not finite (NaN, an infinity) fails the build, naming the
file and the key it came from.
"""

from __future__ import annotations

import csv
import html
import json
import math
import re
import statistics
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RECORDS = ("benchmarks/results/", "docs/results/")


# ----------------------------------------------------------------------------------------- reading ---
def _number(text: str) -> Any:
    """A CSV cell as a number where it is one (an int where it has no point), else the text."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


class NonFinite(float):
    """A NaN or infinity read from a results file, with where it was read (``source``): printing it,
    or a figure made from it, fails the build naming that place."""

    source: str

    def __new__(cls, value: float, source: str) -> NonFinite:
        made = super().__new__(cls, value)
        made.source = source
        return made


def _tagged(value: Any, path: str, key: str = "") -> Any:
    """``value`` with each non-finite float replaced by a :class:`NonFinite` naming ``path`` and its key."""
    if isinstance(value, float) and not math.isfinite(value):
        return NonFinite(value, f"{path}, key {key or '(the file)'}")
    if isinstance(value, dict):
        return {k: _tagged(v, path, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_tagged(v, path, f"{key}.{i}" if key else str(i)) for i, v in enumerate(value)]
    return value


def finite(x: Any) -> Any:
    """``x`` where it is not a float or is a finite one; else ValueError naming where it came from."""
    if isinstance(x, float) and not math.isfinite(x):
        where = x.source if isinstance(x, NonFinite) else "a figure computed from a results file"
        raise ValueError(f"{where}: {x} is not a finite figure; a page prints numbers only")
    return x


#: Code, which Markdown shows as written: fenced blocks and inline spans.
_CODE_SPAN = re.compile(r"^(```|~~~).*?^\1|(`+).*?\2", re.S | re.M)


def escaped(text: str) -> str:
    """``text`` from a results file made safe to insert into Markdown: ``&``, ``<`` and ``>`` escaped as
    HTML outside code (inside it Markdown shows the characters as they are)."""
    out, last = [], 0
    for m in _CODE_SPAN.finditer(text):
        out += [html.escape(text[last : m.start()], quote=False), m.group(0)]
        last = m.end()
    return "".join([*out, html.escape(text[last:], quote=False)])


def _finalize(value: Any) -> Any:
    """What every ``{{ ... }}`` prints: text escaped (:func:`escaped`), numbers only finite ones."""
    if isinstance(value, str):
        return escaped(value)
    return finite(value)


_NONFINITE_CELL = re.compile(r"(?<![\w.])[-+]?(?:nan|inf|infinity)(?:%|x)?(?![\w.])", re.I)


def _checked_table(path: str, text: str) -> str:
    """A committed table's text, refused where a cell holds a non-finite figure."""
    for i, line in enumerate(text.splitlines(), start=1):
        if line.startswith("|") and (m := _NONFINITE_CELL.search(_CODE_SPAN.sub(" ", line))):
            raise ValueError(f"{path}, line {i}: {m.group(0)} is not a finite figure: {line.strip()}")
    return text


@cache
def _load(path: str) -> Any:
    if not path.startswith(RECORDS) or ".." in Path(path).parts:
        raise ValueError(f"{path!r}: a sourced number is read from benchmarks/results/ or docs/results/")
    file = ROOT / path
    if not file.is_file():
        raise FileNotFoundError(f"{path}: no such committed results file")
    text = file.read_text(encoding="utf-8")
    if file.suffix == ".json":
        return _tagged(json.loads(text), path)
    if file.suffix == ".jsonl":
        return _tagged([json.loads(line) for line in text.splitlines() if line.strip()], path)
    if file.suffix == ".csv":
        return _tagged(
            [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(text.splitlines())], path
        )
    raise ValueError(f"{path}: read .json, .jsonl or .csv")


def table_md(path: str, provenance: bool = False, heading: bool = False) -> str:
    """A committed ``table.md`` as it is, less (unless asked for) its first heading and its last line,
    the "_Run on ..." provenance, which the page states in its words."""
    if not path.startswith(RECORDS) or not path.endswith(".md") or ".." in Path(path).parts:
        raise ValueError(f"{path!r}: a table is read from benchmarks/results/ or docs/results/")
    text = (ROOT / path).read_text(encoding="utf-8").strip()
    if text.startswith("# ") and not heading:
        text = text.split("\n", 1)[1].strip()
    if not provenance and "\n\n_Run on " in text:
        text = text.split("\n\n_Run on ")[0].rstrip()
    return _checked_table(path, text)


def md_table(path: str, after: str = "", index: int = 0) -> str:
    """The ``index``-th Markdown table of a committed ``.md`` (after the first line that contains
    ``after``, if given), as it is: a page quotes a run's table without retyping it."""
    text = table_md(path, provenance=True, heading=True)
    lines = text.splitlines()
    if after:
        found = [i for i, line in enumerate(lines) if after in line]
        if not found:
            raise LookupError(f"{path}: no line with {after!r}")
        lines = lines[found[0] + 1 :]
    blocks: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            blocks.append("\n".join(current))
            current = []
    if index >= len(blocks):
        raise LookupError(f"{path}: no table {index} after {after!r}")
    return blocks[index]


def _cells(line: str) -> list[str]:
    """A table row's cells, split at the pipes that are not escaped (``I(X;Y\\|Z)`` is one cell)."""
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def table_cell(path: str, row: Sequence[str], column: str, index: int = 0) -> str:
    """The cell under ``column`` in the row whose first cells are ``row``, in the ``index``-th table of
    a committed ``.md`` (a figure the run's table prints, the paper's beside its own)."""
    lines = md_table(path, index=index).splitlines()
    header = _cells(lines[0])
    for line in lines[2:]:
        cells = _cells(line)
        if cells[: len(row)] == list(row):
            return cells[header.index(column)]
    raise LookupError(f"{path}: no row {list(row)}")


def script(module: str, *calls: str) -> Any:
    """What a benchmark script computes from its committed rows: ``benchmarks/<module>.py`` imported
    and its functions applied in turn (``script("auto_rule", "rows", "regimes", "report")`` is
    ``report(regimes(rows()))``), so a page prints the script's table rather than a copy of it."""
    import importlib
    import sys

    folder = str(ROOT / "benchmarks")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    value: Any = None
    for i, name in enumerate(calls):
        function = getattr(importlib.import_module(module), name)
        value = function() if i == 0 else function(value)
    return value


def data(path: str, *keys: str | int) -> Any:
    """The file's content (JSON, JSON lines, or CSV rows with numbers as numbers), then ``keys`` into it."""
    value = _load(path)
    for key in keys:
        value = value[key]
    return value


def _matches(row: dict[str, Any], where: dict[str, Any]) -> bool:
    return all(k in row and (row[k] == v or str(row[k]) == str(v)) for k, v in where.items())


def rows(path: str, *keys: str | int, **where: Any) -> list[dict[str, Any]]:
    """The rows of a file (a list, or a dict's ``rows``; ``keys`` go further in) with ``where``'s values."""
    value = data(path, *keys)
    if isinstance(value, dict):
        value = value["rows"]
    found = [r for r in value if _matches(r, where)]
    if not found:
        raise LookupError(f"{path}: no row with {where}")
    return found


def one(path: str, *keys: str | int, **where: Any) -> dict[str, Any]:
    """The one row with ``where``'s values; more than one is an error (the page would be ambiguous)."""
    found = rows(path, *keys, **where)
    if len(found) != 1:
        raise LookupError(f"{path}: {len(found)} rows with {where}, not one")
    return found[0]


def prefixed(items: Iterable[dict[str, Any]], key: str, prefix: str) -> list[dict[str, Any]]:
    """The rows whose ``key`` starts with ``prefix`` (a run folder's "task|method|seed" keys)."""
    return [r for r in items if str(r[key]).startswith(prefix)]


def pluck(items: Iterable[dict[str, Any]], key: str) -> list[Any]:
    """``key`` of every row."""
    return [r[key] for r in items]


# ---------------------------------------------------------------------------------------- statistics ---
def median(values: Sequence[float]) -> float:
    """The median (the mean of the two middle values for an even count)."""
    return statistics.median(values)


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values)


def sd(values: Sequence[float]) -> float:
    """The sample standard deviation (n - 1)."""
    return statistics.stdev(values)


def se(values: Sequence[float]) -> float:
    """The standard error of the mean, sd / sqrt(n)."""
    return statistics.stdev(values) / math.sqrt(len(values))


def diffs(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """``a - b`` pair by pair (paired seeds)."""
    if len(a) != len(b):
        raise ValueError(f"{len(a)} against {len(b)} values: not paired")
    return [x - y for x, y in zip(a, b, strict=True)]


def ratios(items: Iterable[dict[str, Any]], top: str, bottom: str) -> list[float]:
    """``top / bottom`` of every row."""
    return [r[top] / r[bottom] for r in items]


def cpu_median(method: str, path: str, task: str, key: str = "seconds") -> float:
    """The median of ``key`` over the rows of ``method`` on ``task`` (a filter: methods | map(...))."""
    return statistics.median(r[key] for r in rows(path, task=task, method=method))


def cpu_median_of(task: str, path: str, method: str, key: str = "seconds") -> float:
    """The same, mapped over tasks."""
    return cpu_median(method, path, task, key)


# ---------------------------------------------------------------------------------------- formatting ---
def fixed(x: float, digits: int = 2) -> str:
    """``digits`` places, thousands separated: 1,234.57."""
    return f"{finite(x):,.{digits}f}"


def signed(x: float, digits: int = 2) -> str:
    """With its sign: +0.32, -1.27."""
    return f"{finite(x):+,.{digits}f}"


def pct(x: float, digits: int = 1) -> str:
    """A fraction as a percentage: 0.004 -> 0.4%."""
    return f"{100 * finite(x):,.{digits}f}%"


def times(x: float, digits: int = 1) -> str:
    """A ratio: 22.2x."""
    return f"{finite(x):,.{digits}f}x"


def than(ratio: float, digits: int = 1, up: str = "faster", down: str = "slower") -> str:
    """A ratio of times (theirs over ours) with its direction read from it: 1.7x faster, 1.4x slower
    (the inverse of 0.71), so the word cannot contradict the figure."""
    ratio = finite(ratio)
    return f"{ratio:,.{digits}f}x {up}" if ratio >= 1 else f"{1 / ratio:,.{digits}f}x {down}"


def verdict(value: float, goal: float, at_least: bool = True, yes: str = "met", no: str = "not met") -> str:
    """Whether ``value`` reaches ``goal`` (at least it, or with ``at_least=False`` at most it), in words
    computed from the figures the page prints beside them."""
    return yes if (finite(value) >= goal if at_least else finite(value) <= goal) else no


def sig(x: float, digits: int = 3) -> str:
    """``digits`` significant figures, never in exponent form: 0.0783, 12.8, 199."""
    if finite(x) == 0:
        return str(x)
    places = max(digits - 1 - math.floor(math.log10(abs(x))), 0)
    return f"{round(x, places):,.{places}f}"


def exp(x: float, digits: int = 0) -> str:
    """Exponent form, as the pages write small differences: 5e-7, 2.2e-9."""
    mantissa, power = f"{finite(x):.{digits}e}".split("e")
    return f"{mantissa}e{int(power)}"


def span(values: Iterable[float], digits: int = 1, unit: str = "") -> str:
    """The range of ``values``: "40.6 - 52.6 s" (one value alone where all round the same)."""
    values = [finite(v) for v in values]
    lo, hi = f"{min(values):,.{digits}f}", f"{max(values):,.{digits}f}"
    return (lo if lo == hi else f"{lo} - {hi}") + (f" {unit}" if unit else "")


def count(n: int) -> str:
    """An integer, thousands separated: 1,000,000."""
    return f"{n:,}"


def paper(text: Any) -> str:
    """A figure quoted from a paper (named beside it on the page), not from a results file."""
    return str(text)


def given(text: Any) -> str:
    """A setting, tolerance, goal or bound the page states (an input of a run or a test, not a
    measurement): ``{{ given("1e-10") }}``."""
    return str(text)


def _own_commit(record: Any) -> str | None:
    """The one commit a record names for all of itself (``meta.commit``, ``environment.git_commit``,
    ``provenance.git_commit``, ``recorded.git_commit`` or ``commit``), shortened; None where it names
    none."""
    paths = (
        ("meta", "commit"),
        ("environment", "git_commit"),
        ("provenance", "git_commit"),
        ("recorded", "git_commit"),
        ("commit",),
    )
    for keys in paths:
        value: Any = record
        try:
            for key in keys:
                value = value[key]
        except (KeyError, TypeError):
            continue
        if value:
            return str(value)[:7]
    return None


def commit(path: str) -> str:
    """The commit a results file records, shortened to 7 characters: ``meta.commit``,
    ``environment.git_commit``, ``provenance.git_commit``, ``recorded.git_commit`` or ``commit``, else
    its rows' ``commit`` or its runs' ``git_commit`` (one, or each in their order of first appearance,
    joined by ", ")."""
    record = data(path)
    own = _own_commit(record)
    if own:
        return own
    for part, field in (("rows", "commit"), ("runs", "git_commit")):
        found = record.get(part) if isinstance(record, dict) else record
        if isinstance(found, list):
            shas = dict.fromkeys(str(r[field])[:7] for r in found if isinstance(r, dict) and r.get(field))
            if shas:
                return ", ".join(shas)
    raise LookupError(f"{path}: records no commit")


def _run_sources(folder: Path, record: Any) -> list[tuple[str, list[str]]]:
    """(commit, sources) of each run behind a record whose runs name their own sources: the record's
    ``runs``, else those of its folder's ``provenance.json`` or ``config.json``, where any run holds
    ``sources`` (the code behind the rows of that run that remain; empty where later runs measured
    them all again). A run without ``sources`` has the folder's ``sources.json``. None where no run
    names its sources. (A record that names one commit of its own is compared from it instead.)"""
    records = [record] + [
        json.loads(f.read_text()) for f in (folder / "provenance.json", folder / "config.json") if f.exists()
    ]
    for found in records:
        runs = found.get("runs") if isinstance(found, dict) else None
        if isinstance(runs, list) and any(isinstance(r, dict) and "sources" in r for r in runs):
            listed = folder / "sources.json"
            default = json.loads(listed.read_text()) if listed.exists() else []
            return [(str(r.get("git_commit") or ""), r.get("sources", default)) for r in runs]
    return []


def _changes(sha: str, sources: Sequence[str]) -> list[str] | None:
    """The commits since ``sha`` that changed ``sources`` (None where ``sha`` is not in the history)."""
    import subprocess

    log = subprocess.run(
        ["git", "log", "--format=%h", f"{sha}..HEAD", "--", *sources],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return log.stdout.split() if log.returncode == 0 else None


def changed_since(path: str) -> str:
    """A note where the code behind a results file's figures has changed since the commit it records:
    the paths in ``sources.json`` (or a ``provenance.json``'s ``sources``) of the file's folder,
    compared by ``git log <commit>..HEAD``, from the first commit where the figures ran at several;
    empty where none changed (or no source list is there). Where the runs behind the record name
    their own sources (:func:`_run_sources`: iblearn's rows and the peers' rows of one folder), each
    group of runs with one source list is compared from its first run's commit."""
    folder = (ROOT / path).parent
    groups: dict[tuple[str, ...], list[str]] = {}
    record = data(path)
    for sha, sources in [] if _own_commit(record) else _run_sources(folder, record):
        if sources:
            groups.setdefault(tuple(sources), []).append(sha[:7])
    if not groups:
        listed = folder / "sources.json"
        sources = json.loads(listed.read_text()) if listed.exists() else None
        if sources is None and (folder / "provenance.json").exists():
            sources = json.loads((folder / "provenance.json").read_text()).get("sources")
        if not sources:
            return ""
        try:
            groups = {tuple(sources): commit(path).split(", ")}
        except LookupError:
            return "_The commit these figures ran at is not recorded._"
    stale = []
    for sources, shas in groups.items():
        shas = list(dict.fromkeys(shas))
        if not shas[0]:
            return "_The commit these figures ran at is not recorded._"
        changes = _changes(shas[0], sources)
        if changes is None:
            return f"_Commit {shas[0]}, which these figures ran at, is not in this checkout's history._"
        if changes:
            named = ", ".join(f"`{s}`" for s in sources)
            stale.append((f"since commit {shas[0]} ({len(changes)} commit(s) to {named})", shas))
    if not stale:
        return ""
    if len(groups) == 1:
        text, shas = stale[0]
        ran_at = (
            "that commit" if len(shas) == 1 else f"the {len(shas)} commits they ran at, {shas[0]} the first"
        )
        return f"_The code behind these figures has changed {text}; the figures are those of {ran_at}._"
    return (
        f"_The code behind some of these figures has changed {'; and '.join(t for t, _ in stale)}; "
        "each group of rows is that of the commits its runs ran at._"
    )


HELPERS = (
    changed_since,
    table_md,
    md_table,
    table_cell,
    script,
    data,
    rows,
    one,
    prefixed,
    pluck,
    median,
    mean,
    sd,
    se,
    diffs,
    ratios,
    fixed,
    signed,
    pct,
    times,
    than,
    verdict,
    sig,
    exp,
    span,
    count,
    paper,
    given,
    commit,
)
FILTERS = (
    cpu_median,
    cpu_median_of,
    prefixed,
    pluck,
    fixed,
    signed,
    pct,
    times,
    than,
    sig,
    exp,
    span,
    count,
    median,
    mean,
    sd,
    se,
)


# ------------------------------------------------------------------------------------------- checking ---
_STRIP = [
    re.compile(r"\A---\n.*?\n---\n", re.S),  # front matter
    re.compile(r"^(```|~~~).*?^\1", re.S | re.M),  # fenced code
    re.compile(r"\{\{.*?\}\}", re.S),  # macros: their numbers come from files
    re.compile(r"\{%.*?%\}", re.S),
    re.compile(r"\{#.*?#\}", re.S),
    re.compile(r"\$\$.*?\$\$", re.S),  # math: formulas, not measurements
    re.compile(r"\$[^$\n]+\$"),
    re.compile(r"`[^`\n]+`"),  # inline code: names, settings, commands
    re.compile(r"\]\([^)]*\)"),  # link targets
    re.compile(r"<!--.*?-->", re.S),
]
UNIT = (
    r"(?:%|x\b|\s?(?:s|ms|us|µs|ns|seconds?|min|minutes?|hours?|nats?|bits?"
    r"|KiB|MiB|GiB|KB|MB|GB|dB|points?|times)\b)"
)
_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
MEASUREMENT = re.compile(
    # 12.8 s, 0.40%, 22.2x, 3,885 MiB, 14.6 times; a range of them: 1.4-5.6x, 2 - 3 s
    rf"(?<![\w.\-/]){_NUMBER}(?:\s?[-–]\s?{_NUMBER})?{UNIT}"
    r"|(?<![\w.\-/])\d+\.\d{2,}(?![\w.])"  # a bare decimal of two or more places: 0.013, 77.11
    # an agreement in exponent form: to 3e-9, within 2e-15, by 5e-7, 1e-3 nats (a setting, lr 1e-3, is not)
    rf"|(?:(?<=\bto\s)|(?<=\bwithin\s)|(?<=\bby\s))\d+(?:\.\d+)?[eE][-+]?\d+(?![\w.])|\d+(?:\.\d+)?[eE][-+]?\d+{UNIT}"
    r"|(?<![\w.\-/])\d*\.\d+(?=\s+of\b)"  # a share: 0.9 of its CPU time
)
#: A verdict typed beside a rendered figure: the figure may change with its file, the word would not.
VERDICT = re.compile(
    r"\}\}\s*(?:faster|slower)\b"  # {{ r | times }} faster
    r"|\}\}[\s,(|]*(?:met|not met|missed|within (?:the |its |a )?goal)\b",  # 3.50x, within the goal; | met
    re.I,
)


def unsourced(markdown: str) -> list[str]:
    """The measurements a page writes as text (outside macros, code, math and link targets), and the
    verdicts it types beside a rendered figure (``{{ r | times }} faster``, ``| {{ x }} | met |``):
    a verdict comes from the figure's data, as :func:`than` and :func:`verdict` make it."""
    verdicts = [m.group(0) for m in VERDICT.finditer(_STRIP[1].sub(" ", _STRIP[0].sub(" ", markdown)))]
    for pattern in _STRIP:
        markdown = pattern.sub(" ", markdown)
    return [m.group(0).strip() for m in MEASUREMENT.finditer(markdown)] + [
        f"verdict by hand: {v}" for v in verdicts
    ]


def render(markdown: str) -> str:
    """A page as the site shows it (its front matter left out), for the tests: the same helpers under
    plain Jinja, undefined names an error as in the build."""
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, finalize=_finalize)
    env.globals.update({f.__name__: f for f in HELPERS})
    env.filters.update({f.__name__: f for f in FILTERS})
    return env.from_string(_STRIP[0].sub("", markdown)).render()


def page(path: str) -> str:
    """``docs/<path>`` as rendered, when its front matter asks for it; as written otherwise."""
    text = (ROOT / "docs" / path).read_text(encoding="utf-8")
    front = _STRIP[0].match(text)
    return render(text) if front and "render_macros: true" in front.group(0) else text


# ------------------------------------------------------------------------------------- mkdocs-macros ---
def define_env(env: Any) -> None:
    for f in HELPERS:
        env.macro(f)
    for f in FILTERS:
        env.filter(f)


def on_pre_page_macros(env: Any) -> None:
    """A page that says ``sourced: true`` fails the build where it writes a measurement by hand."""
    env.env.finalize = _finalize  # every inserted value: escaped text, finite numbers
    if env.page.meta.get("sourced"):
        found = unsourced(env.markdown)
        if found:
            raise ValueError(
                f"{env.page.file.src_uri}: {len(found)} measurement(s) written by hand, not read from a "
                f"results file: {', '.join(found[:10])}"
            )
