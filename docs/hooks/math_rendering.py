"""MkDocs hook: render the pages' TeX (``$...$``, ``$$...$$``) with MathJax from the installed package.

pymdownx.arithmatex wraps the TeX in ``<span class="arithmatex">`` / ``<div class="arithmatex">``;
this hook publishes MathJax's single-file TeX-to-SVG build, taken from the ``django-static-mathjax``
distribution of the docs extra (MathJax 3, no fonts or other files to fetch), with a configuration that
typesets only those elements. The site so renders its formulas with no network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mathjax  # the django-static-mathjax distribution: MathJax's files, no Python code
from mkdocs.structure.files import File, Files, InclusionLevel

BUNDLE = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / "tex-svg.js"
CONFIGURATION = """window.MathJax = {
  tex: {inlineMath: [["\\\\(", "\\\\)"]], displayMath: [["\\\\[", "\\\\]"]], processEscapes: true},
  options: {ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex"},
};
"""
SCRIPTS = {"javascripts/mathjax-config.js": CONFIGURATION, "javascripts/mathjax-tex-svg.js": None}


def on_config(config: Any) -> Any:
    # The configuration must run before MathJax reads it: first in the list, MathJax last.
    config.extra_javascript.extend(SCRIPTS)
    return config


def on_files(files: Files, config: Any) -> Files:
    for uri, content in SCRIPTS.items():
        if content is None:
            file = File.generated(config, uri, abs_src_path=str(BUNDLE), inclusion=InclusionLevel.NOT_IN_NAV)
        else:
            file = File.generated(config, uri, content=content, inclusion=InclusionLevel.NOT_IN_NAV)
        files.append(file)
    return files
