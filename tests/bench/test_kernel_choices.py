"""benchmarks/kc.py: each A/B pair takes the two paths it names (the constants are read at
call time), the constants come back after, and a quick run writes a table that regenerates from its
rows."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
import torch
from benchmarks import kernel_choices as kc

from iblearn import _checks
from iblearn.functional.knn import neighbors

pytestmark = pytest.mark.skipif(not neighbors.HAVE_KERNEL, reason="the compiled kernel is not built")


@pytest.fixture
def paths(monkeypatch):
    """The layouts the kernel's searches make, recorded as they are made: ``grid <points a cell>``,
    ``plane``, and ``tree <leaf>`` (the leaf the tree is built with)."""
    made: Counter[str] = Counter()
    cell, plane, tree = neighbors._cell_layout, neighbors._plane_layout, neighbors._tree_layout

    def cell_spy(x: Any, points: int | None = None) -> Any:
        made[f"grid {neighbors.CELL_POINTS if points is None else points}"] += 1
        return cell(x, points)

    def plane_spy(x: Any) -> Any:
        made["plane"] += 1
        return plane(x)

    def tree_spy(x: Any, leaf: int | None = None, float32: bool = False) -> Any:
        made[f"tree {neighbors.knn_leaf(x.shape[1]) if leaf is None else leaf}"] += 1
        return tree(x, leaf, float32)

    monkeypatch.setattr(neighbors, "_cell_layout", cell_spy)
    monkeypatch.setattr(neighbors, "_plane_layout", plane_spy)
    monkeypatch.setattr(neighbors, "_tree_layout", tree_spy)
    return made


def _search(dims: int, form: str = "") -> str:
    """The search tree's leaves in ``dims`` dimensions (the instruction set's); or those of ``form``,
    ``"longer"`` or ``"shorter"``, of the search leaves' choice there."""
    code = neighbors.knn_leaf(dims)
    short = code // 2 if code > neighbors.TREE_LEAF else code
    return f"tree {dict(longer=2 * short, shorter=short).get(form, code)}"


@pytest.mark.parametrize(
    ("case", "first", "second"),
    [
        (("grid", "gaussian", 500, 3), "grid 4", "tree 64"),
        (("grid", "lattice", 500, 6), "grid 4", _search(6)),
        (("count grid", "gaussian", 500, 3), "grid 16", "tree 256"),
        (("count grid", "lattice", 500, 2), "grid 16", "plane"),
        (("count grid", "gaussian", 500, 4), "grid 16", "tree 256"),
        (("count grid, estimates", "MI 3 x 1", 500, 4), {"grid 4", "grid 16"}, {"grid 4", "tree 256"}),
        (("count leaves", "gaussian", 500, 2), "tree 256", "tree 128"),
        (("count leaves", "gaussian", 500, 4), "tree 256", "tree 128"),
        (("search leaves", "gaussian", 500, 10), _search(10, "longer"), _search(10, "shorter")),
        (("search leaves", "gaussian", 500, 6), _search(6, "longer"), _search(6, "shorter")),
        (("search leaves", "longer", 500, 6), f"tree {min(256, 2 * neighbors.knn_leaf(6))}", _search(6)),
        (("sweep", "gaussian", 500, 2), "plane", "tree 256"),
        (
            ("leaves, estimates", "CMI 2 x 2 | 2", 500, 6),
            {_search(6), "tree 256", "grid 16"},
            {f"tree {neighbors.knn_leaf(6) // 2}", "tree 128", "grid 16"},
        ),
    ],
)
def test_each_form_takes_the_path_it_names(paths, case, first, second):
    before = {name: getattr(neighbors, name) for name in kc.CONSTANTS}
    calls, _taken = kc.arms(*case)
    a, b = kc.CHOICES[case[0]][1]
    paths.clear()  # the counts' radii were searched while the case was made
    calls[a]()
    assert set(paths) == ({first} if isinstance(first, str) else first), (case, a, paths)
    paths.clear()
    calls[b]()
    assert set(paths) == ({second} if isinstance(second, str) else second), (case, b, paths)
    assert {name: getattr(neighbors, name) for name in kc.CONSTANTS} == before


@pytest.mark.parametrize(
    "case", [("float32 search", "gaussian", 500, 8), ("float32 counts", "gaussian", 500, 5)]
)
def test_the_float32_forms_build_the_copy_they_name(monkeypatch, case):
    copies: list[bool] = []
    tree = neighbors._tree_layout

    def spy(x: Any, leaf: int | None = None, float32: bool = False) -> Any:
        copies.append(float32)
        return tree(x, leaf, float32)

    calls, taken = kc.arms(*case)
    monkeypatch.setattr(neighbors, "_tree_layout", spy)
    a, b = kc.CHOICES[case[0]][1]
    calls[a]()
    assert copies and all(copies)
    copies.clear()
    calls[b]()
    assert copies and not any(copies)
    assert taken == a == "float32"


def test_the_cmi_forms_count_as_they_name(monkeypatch):
    swept: list[int] = []
    sweep = neighbors._maxnorm.cmi_plane_count

    def spy(*args: Any) -> Any:
        swept.append(args[2])
        return sweep(*args)

    calls, taken = kc.arms("cmi sweep", "gaussian", 500, 3)
    monkeypatch.setattr(neighbors._maxnorm, "cmi_plane_count", spy)
    a, b = kc.CHOICES["cmi sweep"][1]
    one = calls[a]()
    assert swept == [500]
    swept.clear()
    assert kc.same(calls[b](), one) and not swept
    assert taken == a
    monkeypatch.setattr(neighbors, "CMI_SWEEP_MAX_N", 499)  # beyond the bound: the sweep timed, not taken
    calls, taken = kc.arms("cmi sweep", "gaussian", 500, 3)
    assert kc.same(calls[a](), one) and swept == [500]
    assert taken == b


def test_the_code_takes_what_its_constants_say(monkeypatch):
    assert kc.arms("grid", "gaussian", 300, neighbors.CELL_MAX_DIM)[1] == "grid"
    assert kc.arms("grid", "gaussian", 300, neighbors.CELL_MAX_DIM + 1)[1] == "tree"
    top = neighbors.COUNT_CELL_MAX_DIM
    assert kc.arms("count grid", "gaussian", 300, top)[1] == "grid"
    assert kc.arms("count grid", "gaussian", 300, top + 1)[1] == "tree or sweep"
    assert kc.arms("sweep", "gaussian", neighbors.PLANE_MAX_N + 1, 2)[1] == "grid"
    assert kc.arms("count leaves", "gaussian", 300, 2)[1] == "grid"
    monkeypatch.setattr(neighbors, "COUNT_CELL_MAX_DIM", 1)
    assert kc.arms("sweep", "gaussian", neighbors.PLANE_MAX_N + 1, 2)[1] == "tree"
    assert kc.arms("count leaves", "gaussian", 300, 2)[1] == "sweep"


def test_the_finiteness_checks_give_the_same_error():
    t = torch.ones(4, 3)
    t[2, 1] = float("inf")
    message = "x: contains NaN or Inf (first at sample 2)"
    assert kc.outcome(kc.finite_by_isfinite, t) == kc.outcome(_checks.finite_rows, t) == message
    clean = t[:2]
    assert kc.outcome(kc.finite_by_isfinite, clean) is clean


def test_a_quick_run_writes_a_table_that_regenerates(tmp_path):
    kc.main(["--quick", "--repeats", "1", "--out", str(tmp_path)])
    record = json.loads((tmp_path / "results.json").read_text())
    assert {r["choice"] for r in record["rows"]} == set(kc.CHOICES)
    assert record["provenance"]["kernel_isa"] == neighbors.kernel_isa()
    assert record["settings"]["constants"]["CELL_MAX_DIM"] == neighbors.CELL_MAX_DIM
    assert (tmp_path / "table.md").read_text().endswith(kc.table(record["rows"]))
