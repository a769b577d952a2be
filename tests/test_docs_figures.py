"""Figures on the site say what their files say: a range covers every method it names, a ratio
compares runs on the same seeds, a ranking lists what the table ranks above, and a sentence that
cannot be sourced gives no number."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import pytest

from tests.docs_pages import numbers, page

ROOT = Path(__file__).resolve().parents[1]


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_a_range_of_fit_times_covers_every_method_it_names():
    hd = numbers().data("benchmarks/results/high_dim_mi/results.json")
    rows = hd["rows"] if isinstance(hd, dict) else hd
    seconds = [r["seconds"] for r in rows if r["method"] in ("mine", "infonce")]
    text = _flat(page("guide/choosing-an-estimator.md"))
    assert f"MINE, InfoNCE {min(seconds):.0f} - {max(seconds):.0f} s a fit" in text


@pytest.fixture(scope="module")
def network() -> tuple[str, list[dict]]:
    rows = numbers().data("benchmarks/results/network/summary.json", "rows")
    return _flat(page("benchmarks.md")), rows


def _seconds(rows: list[dict], library: str, nodes: int, seeds: set[int]) -> float:
    return statistics.median(
        r["seconds"]
        for r in rows
        if r["library"] == library and r["nodes"] == nodes and r["samples"] == 1000 and r["seed"] in seeds
    )


def test_a_ratio_of_two_libraries_compares_the_same_seeds(network):
    text, rows = network
    parcorr_seeds = {r["seed"] for r in rows if r["library"] == "tigramite-parcorr" and r["nodes"] == 20}
    parcorr = _seconds(rows, "tigramite-parcorr", 20, parcorr_seeds)
    gaussian = _seconds(rows, "iblearn-gaussian", 20, parcorr_seeds)
    assert (
        f"ParCorr took {parcorr / gaussian:.1f}x the CPU time of iblearn's Gaussian on the same seed" in text
    )
    cmiknn = [r for r in rows if r["library"] == "tigramite-cmiknn"]
    for c in cmiknn:
        ksg = _seconds(rows, "iblearn-ksg", c["nodes"], {c["seed"]})
        assert f"{c['seconds'] / ksg:.1f}x faster than that bound" in text


def test_the_1x1_rule_names_every_estimator_ahead_of_ksg():
    rule = numbers().script("auto_rule", "rows", "regimes", "summary")
    heavy = rule["heavy-tailed, 1 x 1"]
    ahead = [
        name for name, error in heavy.items() if name not in ("ksg", "ksg_signed") and error < heavy["ksg"]
    ]
    line = next(x for x in page("guide/auto.md").split("\n\n") if "**1 x 1**" in x)
    line = line[line.index("**1 x 1**") : line.index("4. **")]
    assert ahead and all(f"{name} ({100 * heavy[name]:.0f}%)" in _flat(line) for name in ahead)


def test_the_speed_of_the_gaussian_measures_is_their_files():
    text = _flat(page("guide/multivariate.md"))
    assert "thousands of times" not in text
    cpu = {
        r["method"]: r["cpu_s"]
        for r in numbers().rows("benchmarks/results/multivariate/results.json", part="o5")
    }
    assert f"`gaussian` ran {cpu['iblearn ksg'] / cpu['iblearn gaussian']:.0f}x faster" in text


def test_the_readme_types_no_speed_ratio():
    """README.md is read on GitHub, where no figure can be rendered from a file: it gives none."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    prose = re.sub(r"```.*?```", " ", text, flags=re.S)
    assert not re.findall(r"\d+(?:\.\d+)?x\s+(?:faster|slower)|\d+\s+times\s+(?:faster|slower)", prose)
