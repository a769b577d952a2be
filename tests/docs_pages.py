"""The documentation pages as the site shows them: a page whose front matter says ``render_macros: true``
has its figures rendered from the committed results files by ``docs/hooks/sourced.py``, as the build
does; the tests that compare a page with its files read it here."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


@cache
def numbers() -> ModuleType:
    spec = importlib.util.spec_from_file_location("iblearn_docs_numbers", DOCS / "hooks" / "sourced.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def page(path: str) -> str:
    """``docs/<path>`` as rendered (once a session: the files it renders from do not change during one,
    and a page read by many tests took 0.1 - 0.5 s of Jinja each time)."""
    return numbers().page(path)
