"""Figures on the site come from the committed results files.

A page with ``render_macros: true`` in its front matter is rendered at build time by
``docs/hooks/sourced.py``; one that also says ``sourced: true`` may write no measurement by hand (the
build fails on it, and so does this test). ``SOURCED`` lists the pages that must keep the check; every
page has it but the tables runs wrote (records) and those in ``STILL_BY_HAND``.
"""

from __future__ import annotations

import re

import pytest

from tests.docs_pages import DOCS, numbers, page

SOURCED = {
    "guide/multivariate.md",
    "guide/pid.md",
    "guide/many-variables.md",
    "guide/extending.md",
    "guide/distributed.md",
    "guide/reliability.md",
    "guide/feature-selection.md",
    "guide/auto.md",
    "guide/tigramite.md",
    "benchmarks.md",
    "benchmarks/truth.md",
    "guide/choosing-an-estimator.md",
    "examples.md",
    "papers/002-layerwise-ib.md",
    "results/README.md",
    "results/estimators.md",
    "results/aamine-noise.md",
    "results/mi-lr.md",
    "results/layerwise-ib.md",
    "results/ib-theory.md",
    "results/mole.md",
    "results/proximal.md",
    "index.md",
    *(f"api/{name}.md" for name in ("analysis", "cli", "data", "estimators", "functional", "optim")),
    *(f"api/{name}.md" for name in ("estimation", "records", "sklearn", "training")),
    *(
        f"papers/{name}.md"
        for name in ("index", "000-proximal-split", "001-mole", "003-ib-theory", "004-mi-lr")
    ),
}


def _front(path: str) -> str:
    text = (DOCS / path).read_text(encoding="utf-8")
    match = re.match(r"\A---\n(.*?)\n---\n", text, re.S)
    return match.group(1) if match else ""


PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md") if "hooks" not in p.parts)
RENDERED = [p for p in PAGES if "render_macros: true" in _front(p)]


# Pages that still write figures by hand, and how many: the count may fall, never rise. The design
# notes' measurements are the A/B runs behind choices in the code, kept beside their reasons.
STILL_BY_HAND = {"design.md": 42}
#: Tables a run wrote beside its results (``docs/results/<page>/<run>/table.md``): records themselves.
RECORDS = [p for p in PAGES if p.startswith("results/") and p.endswith("/table.md")]


@pytest.mark.parametrize("path", sorted(STILL_BY_HAND))
def test_a_page_not_yet_converted_gains_no_figure_by_hand(path):
    found = numbers().unsourced((DOCS / path).read_text(encoding="utf-8"))
    assert len(found) <= STILL_BY_HAND[path], (path, len(found))


CHECKED = sorted(p for p in PAGES if "sourced: true" in _front(p))


def test_every_page_is_sourced_but_the_records_and_the_listed():
    """A new page with a figure either renders it from a results file (``sourced: true``) or fails."""
    assert set(PAGES) - set(CHECKED) - set(RECORDS) == set(STILL_BY_HAND)


def test_the_listed_pages_stay_sourced():
    """A listed page cannot drop the check unseen; a new page may add it (and is checked below)."""
    assert SOURCED <= set(CHECKED)
    assert all("render_macros: true" in _front(p) for p in CHECKED)  # the build checks rendered pages


@pytest.mark.parametrize("path", CHECKED)
def test_a_sourced_page_writes_no_measurement_by_hand(path):
    assert numbers().unsourced((DOCS / path).read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", RENDERED)
def test_a_rendered_page_renders_from_its_files(path):
    text = page(path)
    assert "{{" not in text and "{%" not in text


def test_the_check_finds_a_figure_typed_by_hand():
    unsourced = numbers().unsourced
    found = unsourced("took 60.2 s, 0.3% over; 22.4x the estimator, 3,885 MiB, 0.013 nats, seed 3, k = 3")
    assert found == ["60.2 s", "0.3%", "22.4x", "3,885 MiB", "0.013 nats"]
    # read from a file, in code, in math, in a link or a name: not written by hand
    assert unsourced("{{ r.seconds | fixed(1) }} s, `lr=0.013`, $0.25 I$, [a](x/0.25.md), task-0.75") == []
    assert unsourced('{{ paper("66.55") }} against the paper') == []


def test_the_check_finds_ranges_times_exponents_and_shares_typed_by_hand():
    found = numbers().unsourced(
        "1.4-5.6x slower, 14.6 times faster, agrees to 3e-9 nats, 0.9 of its CPU time"
    )
    assert found == ["1.4-5.6x", "14.6 times", "3e-9", "0.9"]
    assert numbers().unsourced("within 2e-15 of them, equal to\n4e-15, 1e-3 nats") == [
        "2e-15",
        "4e-15",
        "1e-3 nats",
    ]
    # a setting is not a measurement: lr 5e-4, a noise of 1e-10; one stated as given is marked so
    assert numbers().unsourced('Adam 5e-4, noise of size 1e-10, to {{ given("1e-10") }}') == []


def test_the_check_finds_a_verdict_typed_beside_a_rendered_figure():
    unsourced = numbers().unsourced
    assert len(unsourced("{{ r | times }}, within the goal of {{ g | times }}")) == 1
    assert len(unsourced("| {{ r | times }} | met |")) == 1
    assert len(unsourced("{{ r | times }} faster than NPEET")) == 1
    assert unsourced("{{ than(r) }} than NPEET; | {{ verdict(r, 10) }} |") == []


def test_a_computed_verdict_follows_its_figure():
    n = numbers()
    assert n.than(1.74) == "1.7x faster" and n.than(0.5) == "2.0x slower"
    assert n.verdict(9.0, 10) == "not met" and n.verdict(12.0, 10) == "met"
    assert n.verdict(3.5, 3, at_least=False) == "not met"


def test_a_rendered_figure_is_its_files():
    text = page("results/estimators.md")
    row = numbers().one(
        "docs/results/estimators/results.json",
        "summary",
        task="dense-gaussian-25x25",
        method="iblearn GaussianMI",
    )
    assert f"reads {row['bias']:+.2f}" in " ".join(text.split())


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value[:3] for k in _keys(v)}
    return set()


def test_every_results_record_says_its_commit_machine_and_date():
    """A JSON record under the results folders names the commit it ran at, the machine and the date, or
    says that the run did not record one (``commit_from``, ``machine_from``, ``date_from``); in a
    benchmark's folder its ``provenance.json`` or ``results.json`` may say it for the folder's files."""
    import json

    from tests.docs_pages import ROOT

    records = [
        p
        for p in (ROOT / "benchmarks" / "results").rglob("*.json")
        if p.name not in {"config.json", "truth.json", "diagnosis.json"}
    ] + list((ROOT / "docs" / "results").rglob("results.json"))  # a run folder's other files are its steps
    assert len(records) > 80
    for path in records:
        keys = _keys(json.loads(path.read_text(encoding="utf-8")))
        for sibling in ("provenance.json", "results.json"):  # a folder's record speaks for its files
            if (path.parent / sibling).exists() and path.parent != ROOT / "benchmarks" / "results":
                keys |= _keys(json.loads((path.parent / sibling).read_text(encoding="utf-8")))
        where = path.relative_to(ROOT)
        assert any("commit" in k for k in keys), where
        assert keys & {"platform", "machine", "cpu", "gpu", "machine_from"}, where
        assert any("date" in k or k == "started" for k in keys), where
