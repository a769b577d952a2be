"""The documentation site as a reader sees it: built, served on loopback, opened in headless Chromium.

The site is the one `make test` built (``IBLEARN_SITE_DIR``), or is built here with ``mkdocs build
--strict``. The browser is Debian's chromium (``make setup`` installs it as root) driven by Playwright
(the docs extra); without either the test skips with the reason, unless ``IBLEARN_REQUIRE_BROWSER``
is set, where a skip would hide the check and it fails instead.
"""

from __future__ import annotations

import functools
import html as html_text
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# What Chromium needs on a machine with no display and a closed network.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
API_PAGES = ["estimators", "functional", "optim", "training", "analysis", "data", "records"]
#: The packages and edge modules whose every public name has an entry in the API reference.
PUBLIC_PACKAGES = (
    "estimators",
    "functional",
    "optim",
    "training",
    "analysis",
    "data",
    "sklearn",
    "estimation",
    "network",
    "neuro",
    "genes",
    "tigramite",
)
ROLE = re.compile(r":(class|meth|func|attr|mod|data|exc):`")
TIMEOUT_MS = 30_000
#: The longest line a code block may hold. The theme's grid, widened to 72rem by
#: docs/stylesheets/extra.css, shows 107 columns of code in a window 1,440 px wide or wider (87 at
#: 1,280 px, 80 in the theme's own 61rem grid); ``test_a_code_block_shows_its_columns`` measures it.
CODE_COLUMNS = 100
TAG = re.compile(r"<[^>]+>")


def _missing(what: str) -> None:
    if os.environ.get("IBLEARN_REQUIRE_BROWSER"):
        pytest.fail(f"{what}, and IBLEARN_REQUIRE_BROWSER is set; `make setup` run as root installs it")
    pytest.skip(f"{what}; `make setup` run as root installs it")


@pytest.fixture(scope="module")
def site() -> Iterator[Path]:
    if given := os.environ.get("IBLEARN_SITE_DIR"):
        yield Path(given)
        return
    with tempfile.TemporaryDirectory() as out:
        build = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", out],
            cwd=ROOT,
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
            capture_output=True,
            text=True,
        )
        assert build.returncode == 0, build.stderr[-3000:]
        yield Path(out)


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=site))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def page(base_url: str) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        _missing("no chromium found")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (the docs extra)")
    with sync_playwright() as pw:  # each launch gets a fresh profile (user data dir) of its own
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, timeout=TIMEOUT_MS)
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        tab.set_default_timeout(TIMEOUT_MS)
        tab.base_url = base_url
        yield tab
        browser.close()


def _open(page: Any, path: str) -> None:
    response = page.goto(page.base_url + path)
    assert response is not None and response.ok, path


@pytest.mark.parametrize("name", API_PAGES)
def test_api_page_shows_examples_as_code_and_roles_as_links(page: Any, name: str) -> None:
    _open(page, f"api/{name}/")
    article = page.locator("article")
    text = article.inner_text()
    assert not ROLE.search(text), ROLE.search(text)
    assert article.locator("blockquote").count() == 0  # what `>>>` read as Markdown becomes
    # Every doctest prompt is inside a code block, never in prose.
    prompts_outside_code = page.evaluate(
        """() => [...document.querySelectorAll("article p, article li, article td")]
                 .filter(e => e.textContent.includes(">>>") && !e.closest("pre, code")).length"""
    )
    assert prompts_outside_code == 0
    assert article.locator("pre code", has_text=">>>").count() >= 1
    assert article.locator("a.autorefs-internal").count() >= 1
    # The page's own words and the module's docstring do not say the same thing twice.
    intro = page.evaluate(
        """() => [...document.querySelectorAll(
                   "article > p, article > .doc-module > .doc-contents > p")].map(e => e.textContent)"""
    )
    sentences = [s.strip() for p in intro for s in re.split(r"(?<=[.:])\s", p) if len(s.strip()) > 20]
    assert len(sentences) == len(set(sentences)), sentences


def test_a_role_links_to_the_object_it_names(page: Any) -> None:
    _open(page, "api/estimators/")
    href = page.evaluate(
        """() => document.getElementById("iblearn.estimators.KSG").parentElement
                 .querySelector("a.autorefs-internal[href*='ksg_mi']").getAttribute("href")"""
    )
    assert href.endswith("functional/#iblearn.functional.ksg_mi")


@pytest.mark.parametrize("path", ["", "api/functional/", "guide/multivariate/", "api/sklearn/"])
def test_math_renders(page: Any, path: str) -> None:
    _open(page, path)
    formulas = page.locator(".arithmatex").count()
    assert formulas > 0
    page.wait_for_function(
        "n => document.querySelectorAll('.arithmatex mjx-container svg').length === n", arg=formulas
    )
    assert page.locator("mjx-merror").count() == 0
    text = page.locator("article").inner_text()
    assert "\\frac" not in text and "\\psi" not in text
    assert "``" not in text  # a docstring's formula set apart is typeset, not shown as code


def test_a_results_page_shows_numbers_rendered_from_its_file(page: Any) -> None:
    """The estimators page's figures are read from its folder's results.json when the site is built."""
    from tests.docs_pages import numbers

    row = numbers().one(
        "docs/results/estimators/results.json",
        "summary",
        task="dense-gaussian-25x25",
        method="iblearn GaussianMI",
    )
    _open(page, "results/estimators/")
    text = " ".join(page.locator("article").inner_text().split())
    assert f"reads {row['bias']:+.2f}" in text
    assert f"{row['mean']:.4f}" in text  # the table, included from table.md
    assert "{{" not in text and "{%" not in text
    _open(page, "benchmarks/")
    big = numbers().one("benchmarks/results/estimators_scaling.json", n=1000000, method="iblearn KSG")
    text = " ".join(page.locator("article").inner_text().split())
    assert f"no here, by {100 * (big['seconds'] / 60 - 1):.2f}%" in text


def test_search_returns_a_result(page: Any) -> None:
    _open(page, "")
    page.locator("label.md-search__icon, .md-search__input").first.click()
    page.locator("input.md-search__input").fill("InformationPlane")
    result = page.locator(".md-search-result__item a").first
    result.wait_for()
    assert "analysis" in result.get_attribute("href")


def test_results_pages_show_their_figures(page: Any, site: Path) -> None:
    shown = 0
    for folder in sorted((site / "results").iterdir()):
        if not folder.is_dir() or not list(folder.rglob("*.png")):
            continue
        _open(page, f"results/{folder.name}/")
        images = page.locator("article img")
        assert images.count() >= 1, f"results/{folder.name}: no figure shown"
        page.wait_for_load_state("load")
        broken = page.evaluate(
            "() => [...document.querySelectorAll('article img')]"
            ".filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
        )
        assert broken == [], broken
        shown += 1
    assert shown >= 5


def test_docstrings_read_as_markdown_without_a_browser(caplog: pytest.LogCaptureFixture) -> None:
    import griffe

    sys.path.insert(0, str(ROOT / "docs" / "hooks"))
    try:
        import sphinx_docstrings as hook
    finally:
        sys.path.pop(0)
    package = griffe.load("iblearn", search_paths=[ROOT / "src"])
    ksg = package["estimators.nonparametric.KSG"]
    text = hook.rewrite(ksg, ksg.docstring.value)
    assert "\nExamples:\n    >>> " in text and ":func:" not in text
    assert '<autoref identifier="iblearn.functional.ksg_mi" optional><code>iblearn.functional.ksg_mi<' in text
    assert hook.rewrite(ksg, "See :class:`torch.Tensor`.") == "See `torch.Tensor`."  # not iblearn's
    with caplog.at_level("WARNING"):
        assert hook.rewrite(ksg, "See :class:`NoSuchThing`.") == "See `NoSuchThing`."
    assert "NoSuchThing" in caplog.text  # a warning, which fails the strict build


def test_a_docstring_formula_reads_as_tex() -> None:
    sys.path.insert(0, str(ROOT / "docs" / "hooks"))
    try:
        import sphinx_docstrings as hook
    finally:
        sys.path.pop(0)
    assert hook.tex("I = psi(N) - < psi(N_c) > + < psi(k) >") == (
        r"I = \psi(N) - \langle \psi(N_c) \rangle + \langle \psi(k) \rangle"
    )
    assert hook.tex("1/2 (log det S_xz - log det S)") == r"\tfrac{1}{2} (\log \det S_{xz} - \log \det S)"
    block = "Text:\n\n    ``I = -1/2 sum_i log(1 - r_i^2)``,\n\nmore"
    assert hook._formulas(block) == "Text:\n\n$$\nI = -\\tfrac{1}{2} \\sum_i \\log(1 - r_i^2),\n$$\n\nmore"
    # a :math: role is TeX already: typeset inline as written
    assert hook.MATH.sub(hook.inline_math, r"plug-in, :math:`-\sum_i \hat p_i`, biased") == (
        r"plug-in, $-\sum_i \hat p_i$, biased"
    )


def test_every_public_name_has_an_entry_in_the_api_reference(site: Path) -> None:
    """Each name a package exports (its ``__all__``) has an anchor on the site, so it can be linked."""
    import importlib

    anchors: set[str] = set()
    for html in (site / "api").rglob("index.html"):
        anchors |= set(re.findall(r'id="(iblearn\.[\w.]+)"', html.read_text(encoding="utf-8")))
    for package in PUBLIC_PACKAGES:
        module = importlib.import_module(f"iblearn.{package}")
        for name in module.__all__:
            # Documented where it is defined: the package itself, one of its modules, or (a name it
            # re-exports) the module that defines it.
            obj = getattr(module, name)
            homes = {f"{getattr(obj, '__module__', '')}.{name}", f"iblearn.functional.{name}"}
            found = {a for a in anchors if a.startswith(f"iblearn.{package}.") and a.endswith(f".{name}")}
            assert found or homes & anchors, f"iblearn.{package}.{name}"
    assert "iblearn.estimation.auto.auto_estimate" in anchors


def _text(fragment: str) -> str:
    return html_text.unescape(TAG.sub("", fragment))


def test_no_table_is_left_as_raw_text_and_no_code_line_overflows(site: Path) -> None:
    """A table whose rows do not parse (a cell with an unescaped ``|``) reaches the page as a paragraph
    of pipes; a code line longer than :data:`CODE_COLUMNS` is cut at the block's edge."""
    raw, long = [], []
    for page in sorted(site.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        name = str(page.relative_to(site))
        for paragraph in re.findall(r"<p>(.*?)</p>", text, flags=re.S):
            plain = _text(paragraph).strip()
            if plain.startswith("|") and " | " in plain:
                raw.append(f"{name}: {plain[:80]}")
        for block in re.findall(r"<pre[^>]*>(.*?)</pre>", text, flags=re.S):
            long += [
                f"{name}: {line[:70]}..."
                for line in _text(block).splitlines()
                if len(line.rstrip()) > CODE_COLUMNS
            ]
    assert raw == []
    assert long == []


def test_a_code_block_shows_its_columns(page: Any) -> None:
    """The limit above is what the theme shows: a line of :data:`CODE_COLUMNS` characters fits the code
    block without scrolling in a window 1,440 px wide."""
    page.set_viewport_size({"width": 1440, "height": 900})
    try:
        _open(page, "guide/exact-ib/")
        fits = page.evaluate(
            """n => { const code = document.querySelector("article pre > code");
                      const saved = code.textContent; code.textContent = "x".repeat(n);
                      const fits = code.scrollWidth <= code.clientWidth; code.textContent = saved;
                      return fits; }""",
            CODE_COLUMNS,
        )
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})
    assert fits
