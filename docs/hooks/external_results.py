"""MkDocs hook: publish ``benchmarks/results/`` (outside ``docs/``) with the site.

``docs/benchmarks.md`` and ``docs/results/estimators.md`` link to the benchmark tables with paths that
leave ``docs/`` (``../benchmarks/results/...``), which are right when the Markdown is read in the
repository. This hook adds the tables, plots and their data (JSON, CSV) under ``benchmark-results/``
in the site and points those links there, so both readings work and ``mkdocs build --strict`` still
fails on any other broken link.
"""

from __future__ import annotations

import html
import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files, InclusionLevel

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
PREFIX = "benchmark-results"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def on_files(files: Files, config: Any) -> Files:
    for path in sorted(RESULTS.rglob("*")):
        if path.suffix in (".md", ".png", ".json", ".csv") and path.is_file():
            uri = f"{PREFIX}/{path.relative_to(RESULTS).as_posix()}"
            files.append(
                File.generated(config, uri, abs_src_path=str(path), inclusion=InclusionLevel.NOT_IN_NAV)
            )
    return files


HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _title(page: Any, markdown: str) -> str:
    """A run folder's ``table.md`` (or ``status.md``), or a page in a benchmark's folder, is titled by
    its folder, then its first heading: many tables share a heading, and one with none would be titled
    "Table" in search. Its first-level heading, which search shows, says the folder too."""
    uri = page.file.src_uri
    published = uri.startswith(f"{PREFIX}/") and uri.count("/") > 1
    if not (published or posixpath.basename(uri) in ("table.md", "status.md")) or "title" in page.meta:
        return markdown
    folder = posixpath.dirname(uri)
    for prefix, name in (("results/", "results"), (f"{PREFIX}/", "benchmarks")):
        if folder.startswith(prefix):
            folder = f"{name}/{folder.removeprefix(prefix)}"
    heading = HEADING.search(markdown)
    what = heading.group(1).replace("`", "") if heading else posixpath.basename(uri).removesuffix(".md")
    what = re.sub("[<>]", "", html.unescape(what))  # the theme prints the title as it is: no markup
    page.meta["title"] = f"{folder}: {what}"
    return re.sub(r"\A(\s*)# ", lambda m: f"{m[1]}# {folder}: ", markdown, count=1)


#: Code, which Markdown shows as written: fenced blocks and inline spans.
CODE = re.compile(r"^(```|~~~).*?^\1|(`+).*?\2", re.S | re.M)


def escaped(text: str) -> str:
    """A record's Markdown with ``&``, ``<`` and ``>`` escaped as HTML outside code: a results file
    adds no markup to the site."""
    out, last = [], 0
    for m in CODE.finditer(text):
        out += [html.escape(text[last : m.start()], quote=False), m.group(0)]
        last = m.end()
    return "".join([*out, html.escape(text[last:], quote=False)])


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    uri = page.file.src_uri
    if uri.startswith(f"{PREFIX}/") or posixpath.basename(uri) in ("table.md", "status.md"):
        markdown = escaped(markdown)  # a record written by a run, published as it is
    markdown = _title(page, markdown)
    page_dir = posixpath.dirname(page.file.src_uri)
    depth = len(page_dir.split("/")) if page_dir else 0

    def fix(match: re.Match[str]) -> str:
        target = match.group(1)
        # where the link lands, relative to the repository root (docs/ is one level down)
        resolved = posixpath.normpath(posixpath.join("docs", page_dir, target))
        if not resolved.startswith("benchmarks/results/"):
            return match.group(0)
        inside = f"{PREFIX}/{resolved.removeprefix('benchmarks/results/')}"
        return f"]({'../' * depth}{inside})"

    return LINK.sub(fix, markdown)
