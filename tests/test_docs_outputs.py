"""The Python snippets of the documentation site run, and print what their pages show they print.

Each page's ```python blocks run in order in one namespace, as a user would paste them; each ``#>``
comment is compared with what its ``print(...)`` printed, by the rule of ``tests/docs_outputs.py``
(text equal, numbers within two units of their last shown digit, integers exact).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests import docs_outputs
from tests.docs_outputs import Block, blocks, check, mismatch, run, update

PAGES = docs_outputs.pages()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_doc_snippets_run_and_print_what_they_show(page, capsys):
    namespace: dict[str, object] = {"__name__": "docs"}
    torch.manual_seed(0)
    problems = []
    for block in blocks(page):
        problems += docs_outputs.check_or_update(block, run(block, namespace))
    assert not problems, "\n".join(problems)


def test_the_guides_show_the_estimates_they_print():
    shown = [s.text for page in PAGES for block in blocks(page) for s in block.shown]
    assert sum(" nats" in text for text in shown) >= 8


# ------------------------------------------------------------------------------- the rule itself ---
@pytest.mark.parametrize(
    ("shown", "printed"),
    [
        ("0.5852 nats ± 0.0117 [gaussian, N=5000]", "0.5852 nats ± 0.0117 [gaussian, N=5000]"),
        ("0.5852 nats", "0.5854 nats"),  # two units of the last shown digit
        ("0.40 nats", "0.3812 nats"),  # shown rounder than printed
        ("((0, 1, 2), 0.17...)", "((0, 1, 2), 0.1738462)"),
        ("a  b", "a b"),  # runs of spaces
        ("1.2e-05", "1.3e-05"),
    ],
)
def test_an_output_within_the_tolerance_matches(shown, printed):
    assert mismatch(shown, printed) is None


@pytest.mark.parametrize(
    ("shown", "printed", "why"),
    [
        ("0.5852 nats ± 0.0126", "0.5852 nats ± 0.0117", "0.0117 is not 0.0126"),
        ("0.5852 nats", "0.5855 nats", "within 0.0002"),
        ("[gaussian, N=5000]", "[gaussian, N=5001]", "exactly"),
        ("True gaussian", "None gaussian", "text differs"),
        ("0.4 nats", "0.4 nats (p = 0.01)", "text differs"),
    ],
)
def test_an_output_beyond_the_tolerance_or_with_other_text_fails(shown, printed, why):
    assert why in (mismatch(shown, printed) or "")


SOURCE = """Some text.

```python
x = 0.123456
print(x)  #> 0.1235
print("a", x)  # prose, then the output below
#> a 0.5
y = 3
#> 3
```
"""


def test_a_shown_output_is_compared_and_rewritten_in_place(tmp_path, monkeypatch):
    monkeypatch.setattr(docs_outputs, "UPDATE", False)
    page = tmp_path / "page.md"
    page.write_text(SOURCE.replace("y = 3\n#> 3\n", ""), encoding="utf-8")
    (block,) = blocks(page)
    assert [(s.first, s.text, s.trailing) for s in block.shown] == [(5, "0.1235", True), (6, "a 0.5", False)]
    printed = run(block, {})
    assert printed == {5: "0.123456\n", 6: "a 0.123456\n"}
    (problem,) = check(block, printed)
    assert "line 6: 0.123456 is not 0.5" in problem
    monkeypatch.setattr(docs_outputs, "UPDATE", True)
    assert docs_outputs.check_or_update(block, printed) == []
    assert "print(x)  #> 0.1235\n" in page.read_text()  # within the tolerance: left as it was
    assert "# prose, then the output below\n#> a 0.1\n" in page.read_text()  # at the precision shown
    assert check(blocks(page)[0], printed) == []


def test_an_output_that_follows_no_print_is_refused(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(SOURCE, encoding="utf-8")
    with pytest.raises(ValueError, match="line 9: a '#>' output follows no print"):
        blocks(page)


def test_a_print_that_never_ran_is_reported(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\nif False:\n    print(1)  #> 1\n```\n", encoding="utf-8")
    (block,) = blocks(page)
    (problem,) = check(block, run(block, {}))
    assert "never ran" in problem


def test_update_writes_a_longer_output_on_lines_of_its_own(tmp_path):
    page = tmp_path / "page.md"
    two = "```python\nprint('a\\nb')  #> a\n```\n\n```python\nprint(2)  #> 3\n```\n"
    page.write_text(two, encoding="utf-8")
    first, second = blocks(page)
    printed = [run(first, {}), run(second, {})]
    assert update(first, printed[0]) and update(second, printed[1])
    rewritten = "```python\nprint('a\\nb')\n#> a\n#> b\n```\n\n```python\nprint(2)  #> 2\n```\n"
    assert page.read_text() == rewritten
    assert all(check(b, run(b, {})) == [] for b in blocks(page))


def test_update_wraps_a_long_output_to_the_columns_a_code_block_shows(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\nprint(' '.join(['word'] * 40))  #> word\n```\n", encoding="utf-8")
    (block,) = blocks(page)
    printed = run(block, {})
    update(block, printed)
    lines = page.read_text().splitlines()
    assert lines[1] == "print(' '.join(['word'] * 40))" and len(lines) == 6
    assert all(len(line) <= docs_outputs.COLUMNS for line in lines)
    assert check(blocks(page)[0], printed) == []


def test_every_page_with_examples_is_run():
    with_python = {p for p in Path(docs_outputs.ROOT / "docs").rglob("*.md") if "```python" in p.read_text()}
    assert with_python - set(PAGES) <= {docs_outputs.ROOT / "docs" / "benchmarks" / "truth.md"}
    assert isinstance(blocks(PAGES[0])[0], Block)
