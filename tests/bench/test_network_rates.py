"""benchmarks/network_rates.py: the planted networks, the scores and their verdict from the rows, the
kinds of false pairs, and a run that resumes with the rows it has."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from benchmarks import network_rates as nr


def test_a_planted_network_has_five_distinct_pairs_at_lags_1_2_the_same_for_every_coupling() -> None:
    graphs = []
    for coupling in nr.COUPLINGS:
        data, edges = nr.planted(coupling, 3, 300)
        assert data.shape == (300, nr.NODES) and np.isfinite(data).all()
        assert len({(s, t) for s, t, _ in edges}) == nr.EDGES
        assert all(s != t and lag in (1, 2) for s, t, lag in edges)
        graphs.append(edges)
    assert graphs[0] == graphs[1] == graphs[2]
    np.testing.assert_array_equal(nr.planted("linear", 3, 300)[0], nr.planted("linear", 3, 300)[0])
    assert nr.planted("linear", 4, 300)[1] != graphs[0]


def test_a_planted_source_drives_its_target_at_its_lag() -> None:
    data, edges = nr.planted("linear", 0, 4000)
    s, t, lag = edges[0]
    planted = abs(np.corrcoef(data[:-lag, s], data[lag:, t])[0, 1])
    assert planted > 0.2
    assert planted > abs(np.corrcoef(data[:-lag, t], data[lag:, s])[0, 1]) or (t, s) in {
        (a, b) for a, b, _ in edges
    }


def test_scores_are_the_false_share_of_found_pairs_and_the_found_share_of_planted_ones() -> None:
    truth = {(0, 1), (1, 2), (3, 4)}
    assert nr.scores({(0, 1), (1, 2), (2, 0), (4, 0)}, truth) == (pytest.approx(0.5), pytest.approx(2 / 3))
    assert nr.scores(set(), truth) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("pair", "found", "expected"),
    [
        ((1, 0), {(1, 0)}, "reversed"),
        ((0, 2), {(0, 2), (1, 2)}, "indirect"),
        ((0, 2), {(0, 2)}, "indirect, link into target missed"),
        ((2, 0), {(2, 0)}, "reversed path"),
        ((2, 3), {(2, 3)}, "common driver"),
        ((4, 0), {(4, 0)}, "unrelated"),
    ],
)
def test_a_false_pair_is_named_by_how_it_relates_to_the_planted_graph(pair, found, expected) -> None:
    truth = {(0, 1), (1, 2), (1, 3)}
    assert nr.kind(pair, truth, found) == expected


def _row(method: str, coupling: str, seed: int, fdp: float, recall: float = 1.0) -> dict[str, Any]:
    return {
        "method": method,
        "coupling": coupling,
        "seed": seed,
        "fdp": fdp,
        "recall": recall,
        "cpu_s": 1.0 + seed,
        "edges": [],
        "truth": [[0, 1, 1]],
        "commit": "abcdef0",
        "machine": "CPU A",
    }


def test_the_verdict_is_the_mean_fdp_over_seeds_against_alpha() -> None:
    rows = [_row("iblearn-ksg", "linear", s, f) for s, f in enumerate([0.0, 0.0, 0.1])]
    rows += [_row("iblearn-ksg", "monotone", s, f) for s, f in enumerate([0.2, 0.0, 0.0, 0.0])]
    out = {s["coupling"]: s for s in nr.summary(rows, alpha=0.05)}
    assert out["linear"]["fdp"] == pytest.approx(0.1 / 3) and out["linear"]["within"]
    assert out["monotone"]["fdp"] == pytest.approx(0.05) and out["monotone"]["within"]
    assert out["linear"]["fdp_sd"] == pytest.approx(np.std([0, 0, 0.1], ddof=1))
    assert out["linear"]["cpu_s"] == pytest.approx(2.0)  # the median
    assert not nr.summary([_row("iblearn-ksg", "linear", 0, 0.06)], alpha=0.05)[0]["within"]
    assert "| iblearn-ksg | linear | FDR | 3 | 0.033 ± 0.058 |" in nr.table(rows)


def test_rows_of_several_machines_say_so_where_a_median_mixes_them() -> None:
    rows = [_row("iblearn-ksg", "linear", s, 0.0) for s in range(3)]
    rows += [_row("tigramite-cmiknn", "linear", s, 0.0) | {"machine": "CPU B"} for s in range(2)]
    rows.append(_row("tigramite-cmiknn", "linear", 2, 0.0))
    assert nr.machines(rows) == [
        {"machine": "CPU A", "runs": 4, "methods": ["iblearn-ksg", "tigramite-cmiknn"]},
        {"machine": "CPU B", "runs": 2, "methods": ["tigramite-cmiknn"]},
    ]
    lines = {line.split(" | ")[0]: line for line in nr.table(rows).splitlines()}
    assert "(2 machines)" in lines["| tigramite-cmiknn"] and "machines" not in lines["| iblearn-ksg"]


def test_a_resumed_run_keeps_its_rows_and_runs_only_the_missing_ones(monkeypatch, tmp_path: Path) -> None:
    calls: list[tuple[str, str, int]] = []

    def fake(method: str, coupling: str, seed: int, *rest: Any) -> dict[str, Any]:
        calls.append((method, coupling, seed))
        return _row(method, coupling, seed, 0.0)

    monkeypatch.setattr(nr, "run_one", fake)
    argv = ["--seeds", "2", "--methods", "iblearn-gaussian", "--couplings", "linear", "--out", str(tmp_path)]
    nr.main(argv)
    assert calls == [("iblearn-gaussian", "linear", 0), ("iblearn-gaussian", "linear", 1)]
    nr.main([*argv, "--seeds", "3", "--resume"])
    assert calls[2:] == [("iblearn-gaussian", "linear", 2)]
    rows = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text().splitlines()]
    assert sorted(r["seed"] for r in rows) == [0, 1, 2]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["provenance"]["kernel_isa"] and results["summary"][0]["seeds"] == 3
    assert json.loads((tmp_path / "sources.json").read_text()) == nr.SOURCES


def test_false_pairs_a_run_are_set_beside_alpha_times_the_targets_found() -> None:
    rows = [_row("iblearn-ksg", "linear", s, 0.0) for s in range(4)]
    rows[0]["edges"] = [[0, 1, 1], [4, 3, 1], [2, 3, 2]]  # two false pairs, between unlinked processes
    rows[1]["edges"] = [[0, 1, 1]]
    (k,) = nr.false_kinds(rows)
    assert k["unrelated"] == 2 and k["seeds"] == 4
    assert k["false_a_run"] == pytest.approx(0.5)
    assert k["alpha_targets_a_run"] == pytest.approx(0.05 * 3 / 4)  # targets 1 and 3, then 1
    assert k["excess_p"] == pytest.approx(1 - np.exp(-0.15) * 1.15)  # P(Poisson(0.15) >= 2)


def test_benjamini_hochberg_over_pcmci_links_rejects_nothing_below_the_least_count_at_the_shuffle_floor() -> (
    None
):
    f = nr.shuffle_floor(100, alpha=0.05)
    assert f["least_p"] == pytest.approx(1 / 101) and f["links"] == nr.NODES * nr.NODES * 2 == 50
    assert f["first_cutoff"] == pytest.approx(0.001) and f["least_p"] > f["first_cutoff"]
    assert f["least_rejections"] == 10 and f["true_links"] == nr.EDGES + nr.NODES
    k = f["least_rejections"]
    short = [f["least_p"]] * (k - 1) + [1.0] * (f["links"] - k + 1)
    assert not any(nr.benjamini_hochberg(short, 0.05))
    enough = [f["least_p"]] * k + [1.0] * (f["links"] - k)
    assert sum(nr.benjamini_hochberg(enough, 0.05)) == k
    assert nr.shuffle_floor(200, alpha=0.05)["least_rejections"] == 5  # 50 / (0.05 x 201) = 4.98


def test_a_tigramite_run_is_read_for_its_links_at_the_floor_and_what_the_correction_rejects() -> None:
    truth = [[0, 1, 1], [1, 2, 2], [2, 3, 1], [3, 4, 2], [4, 0, 1]]
    floor = 1 / 101
    p_links = [[i, j, lag, 0.5] for j in range(5) for i in range(5) for lag in (1, 2)]
    for link in p_links:
        if link[:3] in truth[:4] or (link[0] == link[1] and link[2] == 1):
            link[3] = floor
    row = _row("tigramite-cmiknn", "non-monotone", 0, 0.0, 0.0) | {"truth": truth, "p_links": p_links}
    (f,) = nr.floor_rows([row | {"n_permutations": 100}, _row("tigramite-parcorr", "linear", 0, 0.0)])
    assert (f["at_floor"], f["planted_at_floor"], f["memories_at_floor"]) == (9, 4, 5)
    assert f["planted_p_max"] == pytest.approx(0.5) and f["rejected"] == 0
    assert "| non-monotone | 0 | 9 | 4 of 5 | 5 of 5 | 0.500 | 0 |" in nr.floor_table(
        [row | {"n_permutations": 100}]
    )


def test_a_peer_read_with_and_without_its_correction_gives_two_rows_of_the_table() -> None:
    rows = [_row("tigramite-cmiknn", "non-monotone", s, 0.0, 0.0) for s in range(2)]
    for r in rows:
        r |= {"fdp_uncorrected": 0.2, "recall_uncorrected": 0.8, "edges_uncorrected": []}
    out = {s["correction"]: s for s in nr.summary(rows)}
    assert out["FDR"]["recall"] == 0.0 and out["none"]["recall"] == pytest.approx(0.8)
    assert out["none"]["seeds"] == 2 and not out["none"]["within"]


def test_a_verdict_over_fewer_seeds_than_the_table_has_says_how_many() -> None:
    rows = [_row("iblearn-ksg", "linear", s, 0.0) for s in range(3)] + [
        _row("tigramite-cmiknn", "linear", 0, 0.0)
    ]
    text = nr.table(rows)
    assert "| iblearn-ksg | linear | FDR | 3 |" in text and "| 1.00 ± 0.00 | 2.0 | yes |" in text
    assert "| tigramite-cmiknn | linear | FDR | 1 |" in text and "| yes, over 1 of 3 seeds |" in text
