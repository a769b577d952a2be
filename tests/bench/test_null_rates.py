"""The rates the null benchmarks count: their Clopper-Pearson intervals and verdicts against alpha, and
network_null_lags' cells from its rows."""

import pytest
from benchmarks.runners import script


def test_the_interval_of_no_hits_and_of_all_hits_is_the_exact_binomial_tail():
    # P(0 hits in n) = (1 - high)^n = 0.025 at the upper end; by symmetry for n hits.
    low, high = script.clopper_pearson(0, 50)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 50), rel=1e-9)
    low, high = script.clopper_pearson(50, 50)
    assert high == 1.0 and low == pytest.approx(0.025 ** (1 / 50), rel=1e-9)


def test_the_interval_holds_the_share_and_narrows_with_more_trials():
    low, high = script.clopper_pearson(5, 100)
    wide = script.clopper_pearson(1, 20)
    assert low < 0.05 < high and high - low < wide[1] - wide[0]
    assert script.clopper_pearson(5, 100, tail=0.05)[1] < high  # a 90% interval is narrower


@pytest.mark.parametrize(
    ("share", "interval", "verdict"),
    [
        (0.09, (0.06, 0.12), "above alpha"),
        (0.01, (0.001, 0.04), "at most alpha"),
        (0.04, (0.01, 0.09), "at most alpha seen (not proven)"),
        (0.06, (0.03, 0.1), "above alpha seen (not proven)"),
    ],
)
def test_the_verdict_reads_the_interval_against_alpha(share, interval, verdict):
    assert script.level_verdict(share, interval, 0.05) == verdict


def test_lags_cells_count_runs_and_targets_at_alpha():
    import network_null_lags as b

    def target(p, sources=()):
        return {name: p for name in ("omnibus", "joint", "edge", "one process", "two processes")} | {
            "sources": [list(s) for s in sources]
        }

    rows = [
        {
            "edges": 2,
            "fourier": [0],
            "cpu_seconds": 1.0,
            "targets": [target(0.01, [(0, 1), (0, 2)]), target(0.5)],
        },
        {
            "edges": 0,
            "fourier": [0],
            "cpu_seconds": 3.0,
            "targets": [target(0.2, [(0, 1), (2, 1)]), target(1.0)],
        },
    ]
    c = b.cell(rows, 0.05)
    assert (c["family"]["hits"], c["family"]["count"]) == (1, 2)
    assert (c["omnibus"]["hits"], c["omnibus"]["count"]) == (1, 4)
    assert c["several lags of one process"] == 1 and c["mixed kinds in an omnibus test"] == 1
    assert c["cpu_seconds"] == 2.0
