"""Griffe extension: read iblearn's Sphinx-flavoured docstrings as the Markdown mkdocstrings renders.

The docstrings are Google-style with reStructuredText inline markup, which ``help()`` and doctest read
well. At build time, without touching the sources, this extension rewrites each docstring:

- ``Example:`` (or ``Example (what it shows):``) becomes ``Examples:``, the Google section whose
  ``>>>`` lines griffe turns into code blocks (as an admonition, Markdown reads them as nested
  blockquotes);
- a role (``:class:`MIEstimate```, ``:meth:`~Estimator.loss```, ``:func:`iblearn.functional.ksg_mi```)
  becomes a cross-reference to the object it names, resolved like a name in the docstring's own
  module; a name outside iblearn (``torch.Tensor``) becomes plain code;
- a paragraph ending in ``::`` ends in ``:`` (the indented block after it is already code in Markdown);
- an indented block of inline literals (a formula set apart, ````I = psi(N) - < psi(N_c) >````), which
  Markdown would show as code with its backticks, becomes math: each literal is read as the plain-text
  formula it is (``psi`` the digamma function, ``< ... >`` a mean, ``sum_i``, ``log det``, ``1/2``)
  and typeset by MathJax, the block alone a display formula;
- a ``:math:`` role, TeX already, is typeset inline as written.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import griffe

# A warning under this name fails `mkdocs build --strict`.
_log = logging.getLogger("mkdocs.plugins.iblearn.sphinx_docstrings")

ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|mod|data|obj|exc|const):`(?P<body>[^`]+)`")
EXAMPLE = re.compile(r"^(?P<indent>[ \t]*)Examples?(?:\s*\((?P<caption>.*)\))?:[ \t]*$", re.MULTILINE)
LITERAL = re.compile(r"(?<=\S)\s*::$", re.MULTILINE)
PACKAGE = "iblearn"
INLINE_LITERAL = re.compile(r"``(?P<body>.+?)``", re.S)
MATH = re.compile(r":math:`(?P<body>[^`]+)`")
FUNCTIONS = {"psi", "log", "det", "min", "max", "sum", "exp"}
SYMBOLS = {
    "eps": r"\varepsilon",
    "alpha": r"\alpha",
    "beta": r"\beta",
    "lambda": r"\lambda",
    "sigma": r"\sigma",
    "rho": r"\rho",
    "mu": r"\mu",
}


def tex(formula: str) -> str:
    """A docstring's plain-text formula as TeX: ``psi(N) - < psi(N_c) >`` is
    ``\\psi(N) - \\langle \\psi(N_c) \\rangle``; names of three letters or more that are not functions
    are set upright."""
    out = re.sub(r"#\{(.*)\}", lambda m: r"\#\{" + m[1] + r"\}", formula)
    out = re.sub(r"(?<![\w])<\s(.+?)\s>", lambda m: r"\langle " + m[1] + r" \rangle", out)
    out = out.replace("!=", r"\neq ").replace("...", r"\ldots ")
    out = re.sub(r"(?<![\d.])(-?)1/2\b", lambda m: m[1] + r"\tfrac{1}{2}", out)
    out = out.replace(" | ", r" \mid ").replace("|", r"\vert ")

    def word(m: re.Match[str]) -> str:
        name = m[0]
        if name in FUNCTIONS:
            return "\\" + name
        return SYMBOLS.get(name, r"\mathrm{" + name + "}")

    out = re.sub(r"(?<![A-Za-z\\{])[A-Za-z]{3,}(?![A-Za-z])", word, out)
    out = re.sub(r"_([A-Za-z0-9]{2,})", r"_{\1}", out)
    return re.sub(r"\b([A-Z])(\d)\b", r"\1_\2", out)


def inline_math(match: re.Match[str]) -> str:
    """A ``:math:`` role's TeX as an inline formula for MathJax."""
    return f"${match['body']}$"


def _formulas(text: str) -> str:
    """Indented blocks of inline literals (formulas set apart) as math, the block at the paragraph's
    level: one literal alone (with its punctuation) a display formula, several inline ones."""
    blocks = re.split(r"(\n[ \t]*\n)", text)
    for i, block in enumerate(blocks):
        lines = block.split("\n")
        if not block.strip() or not all(line.startswith("    ") for line in lines if line.strip()):
            continue
        body = "\n".join(line.strip() for line in lines)
        if not body.startswith("``") or body.startswith(">>>"):
            continue
        alone = re.fullmatch(r"``(?P<body>[^`]+)``(?P<end>[.,;:]?)", body)
        if alone:
            blocks[i] = f"$$\n{tex(alone['body'])}{alone['end']}\n$$"
        else:
            blocks[i] = INLINE_LITERAL.sub(lambda m: f"${tex(m['body'])}$", body)
    return "".join(blocks)


def _target(obj: griffe.Object, name: str) -> str | None:
    """The full path of the iblearn object ``name`` means in ``obj``'s docstring; None outside iblearn.

    Raises:
        LookupError: the name means nothing where it is written (a typo, or a renamed object).
    """
    collection = obj.modules_collection
    head, _, tail = name.partition(".")
    try:  # as Python would: the object's members, then its parents' (a method may name :meth:`fit`)
        path = name if head == PACKAGE else obj.resolve(head)
    except griffe.NameResolutionError:
        if tail:  # a dotted name of another package (:func:`torch.distributed.all_gather`)
            return None
        path = _inherited(obj, head)
    if not path.startswith(f"{PACKAGE}."):
        return None
    full = f"{path}.{tail}" if tail and head != PACKAGE else path
    try:
        return collection.get_member(full).path
    except (KeyError, ValueError, griffe.AliasResolutionError) as error:
        raise LookupError(name) from error


def _inherited(obj: griffe.Object, name: str) -> str:
    """The path of ``name`` as a member its class inherits (:attr:`history` of a neural estimator)."""
    scope: griffe.Object | None = obj
    while scope is not None:
        if scope.is_class and name in scope.all_members:
            member = scope.all_members[name]
            return member.target_path if member.is_alias else member.path  # type: ignore[union-attr]
        scope = scope.parent
    raise LookupError(name)


def rewrite(obj: griffe.Object, text: str) -> str:
    """``text`` (a docstring of ``obj``) with examples as a section and roles as cross-references."""

    def role(match: re.Match[str]) -> str:
        body = match["body"].strip()
        explicit = re.fullmatch(r"(?P<title>.+?)\s*<(?P<name>[^>]+)>", body)
        if explicit:
            title, name = explicit["title"], explicit["name"]
        else:
            name = body.lstrip("~.")
            title = name.rsplit(".", 1)[-1] if body.startswith("~") else name
        name = name.lstrip("~.").removesuffix("()")
        try:
            path = _target(obj, name)
        except LookupError:
            _log.warning("%s: %s names nothing that iblearn defines or imports", obj.path, match[0])
            path = None
        if path is None:
            return f"`{title}`"
        # "optional": an object that the site does not show (a private helper) reads as plain code.
        return f'<autoref identifier="{path}" optional><code>{title}</code></autoref>'

    def example(match: re.Match[str]) -> str:
        indent, caption = match["indent"], match["caption"]
        heading = f"{indent}Examples:"
        return f"{heading}\n{indent}    {caption[0].upper()}{caption[1:]}:" if caption else heading

    # an inline literal broken over two lines is one literal (griffe would read a Returns line's second
    # half as a second item)
    text = re.sub(r"``([^`\n]+)\n[ \t]*([^`\n]+)``", r"``\1 \2``", text)
    text = _formulas(text)
    text = EXAMPLE.sub(example, text)
    text = MATH.sub(inline_math, text)
    text = ROLE.sub(role, text)
    return LITERAL.sub(":", text)


def _walk(obj: griffe.Object) -> None:
    if obj.docstring is not None:
        obj.docstring.value = rewrite(obj, obj.docstring.value)
    for member in obj.members.values():
        if not member.is_alias:
            _walk(member)  # type: ignore[arg-type]


class SphinxDocstrings(griffe.Extension):
    """Rewrites the docstrings of the package once it is loaded (names then resolve across modules)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.name == PACKAGE:
            _walk(pkg)
