"""What the page helpers (docs/hooks/) insert from a results file: text escaped as HTML, so a results
file adds no markup to the site, and a figure that is not finite fails the build naming the file and
the key."""

from __future__ import annotations

import importlib.util
import json
from types import SimpleNamespace

import pytest

from tests.docs_pages import DOCS, numbers


@pytest.fixture
def records(tmp_path, monkeypatch):
    """A checkout whose benchmarks/results/r.json holds markup and a NaN, and r/table.md a table."""
    folder = tmp_path / "benchmarks" / "results"
    (folder / "r").mkdir(parents=True)
    record = {"rows": [{"name": "<script>alert(1)</script>", "img": '<img src=x onerror="alert(1)">'}]}
    record["rows"].append({"name": "nan row", "value": float("nan"), "ratio": float("inf")})
    (folder / "r.json").write_text(json.dumps(record))
    (folder / "r" / "table.md").write_text(
        "# T\n\n| a | b |\n|---|---|\n| <b onmouseover=x>1</b> | `a<b` |\n"
    )
    (folder / "bad.md").write_text("| a | ratio |\n|---|---|\n| x | infx |\n")
    hooks = numbers()
    monkeypatch.setattr(hooks, "ROOT", tmp_path)
    hooks._load.cache_clear()
    yield hooks
    hooks._load.cache_clear()


def test_text_from_a_results_file_is_escaped(records):
    text = records.render('{{ one("benchmarks/results/r.json", name="<script>alert(1)</script>").name }}')
    assert text == "&lt;script&gt;alert(1)&lt;/script&gt;"
    text = records.render('{{ data("benchmarks/results/r.json", "rows", 0, "img") }}')
    assert "<img" not in text and "&lt;img" in text
    table = records.render('{{ table_md("benchmarks/results/r/table.md") }}')
    assert "<b " not in table and "&lt;b onmouseover=x&gt;1&lt;/b&gt;" in table and "`a<b`" in table


@pytest.mark.parametrize(
    "page",
    [
        '{{ data("benchmarks/results/r.json", "rows", 1, "value") }}',
        '{{ data("benchmarks/results/r.json", "rows", 1, "value") | fixed(2) }}',
        '{{ one("benchmarks/results/r.json", name="nan row").ratio | pct }}',
        '{{ one("benchmarks/results/r.json", name="nan row").ratio | times }}',
        '{{ one("benchmarks/results/r.json", name="nan row").value | sig }}',
    ],
)
def test_a_nonfinite_figure_fails_naming_the_file_and_key(records, page):
    with pytest.raises(
        ValueError, match=r"benchmarks/results/r\.json, key rows\.1\.(value|ratio): (nan|inf) is not"
    ):
        records.render(page)


def test_a_figure_made_from_a_nonfinite_one_fails_too(records):
    with pytest.raises(ValueError, match="not a finite figure"):
        records.render('{{ (data("benchmarks/results/r.json", "rows", 1, "ratio") - 1) | pct }}')


def test_a_committed_table_with_a_nonfinite_cell_fails_naming_it(records):
    with pytest.raises(ValueError, match=r"bad\.md, line 3: infx is not a finite figure"):
        records.render('{{ md_table("benchmarks/results/bad.md") }}')


def test_a_published_record_is_escaped():
    spec = importlib.util.spec_from_file_location("external_results", DOCS / "hooks" / "external_results.py")
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    page = SimpleNamespace(file=SimpleNamespace(src_uri="benchmark-results/x/table.md"), meta={})
    markdown = "# Run <script>x</script>\n\n| a |\n|---|\n| <img src=x onerror=alert(1)> |\n"
    out = hook.on_page_markdown(markdown, page, None, None)
    assert "<script>" not in out and "<img" not in out and "&lt;img src=x onerror=alert(1)&gt;" in out
    assert "<" not in page.meta["title"]


@pytest.mark.parametrize("path", ["benchmarks/calibration.md", "benchmarks/truth.md", "guide/exact-ib.md"])
def test_the_wide_results_tables_are_split_to_fit_a_page(path):
    """At 1280 px a table of more than 8 columns of figures scrolls (figures do not wrap): the pages that
    quote the widest results split them."""
    from tests.docs_pages import page

    for line in page(path).splitlines():
        if line.startswith("|") and not line.startswith("|--"):
            assert line.count("|") - 1 <= 8, (path, line)
