"""The README's Python examples run, each alone, as a user would paste one of them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_each_readme_example_runs_alone(block, capsys):
    """A fresh namespace per block: no block may lean on names an earlier one defined (issue 29, item 10)."""
    exec(compile(block, str(README), "exec"), {"__name__": "readme"})
    if "print(" in block:
        assert capsys.readouterr().out
