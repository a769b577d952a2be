"""A network result's printed forms: one short line for the result, the table by ``summary()``."""

from __future__ import annotations

from iblearn.network.result import NetworkResult
from iblearn.network.target import TargetResult


def _result(n_edges: int) -> NetworkResult:
    """A result of ten processes whose target 9 has ``n_edges`` sources at lag 1."""
    sources = tuple((s, 1) for s in range(n_edges))
    rich = TargetResult(9, (1, 2), sources, (0.05,) * n_edges, (0.001,) * n_edges, 0.3, 0.001)
    empty = [TargetResult(t, (1,), (), (), (), 0.0, 1.0) for t in range(9)]
    settings = {"method": "gaussian", "max_lag": 3, "n_permutations": 200, "method_reason": "x" * 200}
    return NetworkResult(10, (*empty, rich), (False,) * 9 + (True,), settings)


def test_the_repr_is_one_short_line():
    text = repr(_result(7))
    assert "\n" not in text and len(text) < 160, text
    assert text.startswith("NetworkResult(10 processes, 7 edges: 0->9 lag 1, 1->9 lag 1")
    assert "... 3 more" in text and "method gaussian" in text
    assert repr(_result(0)) == "NetworkResult(10 processes, 0 edges; method gaussian)"


def test_summary_is_the_table():
    result = _result(2)
    table = result.summary()
    assert str(result) == table
    rows = table.splitlines()
    assert rows[0] == repr(result)
    assert [r.split()[:3] for r in rows[3:5]] == [["0", "9", "1"], ["1", "9", "1"]]
    assert float(rows[3].split()[3]) == 0.05
    assert len(rows) == 3 + 2 + 2 + 10
