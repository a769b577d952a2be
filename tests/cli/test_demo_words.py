"""The demo's sentences, written from a run's results: they name the rows the table shows as winning,
with the table's numbers."""

from __future__ import annotations

import re

import pytest

from iblearn.cli import demo_words as words


def _numbers(text: str) -> list[str]:
    return re.findall(r"\d+\.\d+", text)


def _accuracies(task: str, test_acc: dict[str, float]) -> list[dict]:
    """Summary rows of one seed a method, with these test accuracies (and the same training ones)."""
    return [
        {"task": task, "method": m, "seeds": 1, "train_acc": (acc, 0.0), "test_acc": (acc, 0.0)}
        for m, acc in test_acc.items()
    ]


def _binary(method, reached, when, acc, seeds=1):
    row = {"part": "binary", "dataset": "2d", "optimizer": "SGD", "method": method, "seeds": seeds}
    row |= {"epoch": 5000, "diverged": 0, "reached_95": reached, "train_acc": (acc, 0.0)}
    row |= {"train_loss": (0.1, 0.0)}
    if when is not None:
        row["iterations_to_95"] = (when, 0.0)
    return row


#: The run the demo once described as "the split-rate control and plain SGD at lr 10 are about as fast".
PROXIMAL = [
    _binary("baseline lr=0.1", 0, None, 85.8),
    _binary("baseline lr=10", 1, 487.0, 99.9),
    _binary("split-lr backprop gamma=100", 0, None, 53.3),
    _binary("ours gamma=100", 1, 331.0, 97.1),
    _binary("ours literal gamma=100", 0, None, 50.2),
    _binary("first-order gamma=100", 1, 199.0, 92.2),
]


def test_the_proximal_sentence_states_what_the_table_shows():
    from iblearn.experiments.proximal import Config
    from iblearn.experiments.proximal.report import table

    text = words.proximal_words({"summary": PROXIMAL})
    assert "split-lr backprop gamma=100 reached 95% in 0 of 1, final accuracy 53.3%" in text
    assert "baseline lr=10 reached 95% in 1 of 1 at iteration 487, final accuracy 99.9%" in text
    assert "the first to 95% is first-order gamma=100" in text
    assert "ours gamma=100 is faster than baseline lr=0.1" in text and "1 seed" in text
    printed = table(PROXIMAL, {}, Config.demo())
    assert all(n in printed for n in _numbers(text))


def test_the_proximal_sentence_says_when_ours_is_slower():
    rows = [_binary("baseline lr=0.1", 2, 300.0, 99.0, 2), _binary("ours gamma=100", 1, 900.0, 90.0, 2)]
    text = words.proximal_words({"summary": rows})
    assert "ours gamma=100 is slower than baseline lr=0.1" in text and "2 seeds" in text


def test_the_mi_lr_sentence_takes_the_gap_from_the_printed_accuracies():
    from iblearn.experiments.mi_lr import Config
    from iblearn.experiments.mi_lr.report import table

    summary = [
        {"dataset": "mnist", "model": "lenet5", "method": m, "seeds": 1, "epochs": 3}
        | {"best_test_acc": acc, "final_mean": acc, "final_sd": 0.0}
        for m, acc in (("mi-global", 86.996), ("adam", 88.004))
    ]
    ranges = {"mnist|lenet5": {"lr_min": 0.01, "lr_max": 0.3, "lr_top": 0.1, "epsilon": 0.5}}
    text = words.mi_lr_words({"summary": summary, "ranges": ranges})
    assert "MIDecayLR ended 1.00 points below Adam (87.00 against 88.00" in text  # as printed
    assert "[0.01, 0.3]" in text
    printed = table(summary, ranges, {}, Config.demo())
    assert "87.00" in printed and "88.00" in printed
    summary[0]["best_test_acc"] = 89.5
    assert "1.50 points above Adam (89.50 against 88.00" in words.mi_lr_words({"summary": summary})


def test_the_mole_sentence_gives_the_tables_gap_and_the_best_row():
    from iblearn.experiments.mole import Config, table

    summary = _accuracies("mnist", {"bp": 90.104, "matrix": 91.3, "mine": 88.0})
    text = words.mole_words({"summary": summary})
    assert "against backpropagation (90.10% test accuracy, 1 seed)" in text
    assert "MOLE (matrix) +1.20 points, MOLE (mine) -2.10 points" in text
    assert "the best is MOLE (matrix)" in text
    printed = table(summary, Config.demo())
    assert all(n in printed for n in _numbers(text))


def test_the_layerwise_sentence_names_the_objectives():
    summary = _accuracies("mnist 1%", {"ce": 80.0, "iyl": 79.5, "ib": 81.25})
    text = words.layerwise_words({"summary": summary})
    assert "I(Y;L) layer by layer -0.50 points, the IB objective layer by layer +1.25 points" in text
    assert "the best is the IB objective layer by layer" in text


def test_the_aamine_sentence_follows_the_order_at_zero_noise():
    from iblearn.experiments.aamine_noise import table

    final = [
        {"noise_var": v, "critic": c, "estimate": e}
        for v, c, e in (
            (0.0, "AA-MINE", 1.2344),
            (0.0, "MINE", 1.5),
            (1.0, "AA-MINE", 0.3),
            (1.0, "MINE", 0.25),
        )
    ]
    text = words.aamine_words({"final": final})
    assert "AA-MINE ends below plain MINE at noise variance 0 (1.234 against 1.500 nats)" in text
    assert "at 1 AA-MINE falls (0.300 nats) and the two lie 0.050 nats apart" in text
    results = {
        "final": final,
        "zero_noise_growth_second_half": {"AA-MINE": 0.1, "MINE": 0.0},
        "claim_aa_keeps_growing_at_zero_noise": None,
        "claim_aa_above_mine_at_zero_noise": False,
        "claim_aa_falls_with_noise": True,
    }
    printed = table(results)
    assert all(n in printed for n in _numbers(text.split("apart")[0].replace("0.050", "")))


def test_the_estimators_sentence_counts_the_green_rows_and_names_the_worst():
    summary = [
        {"task": "gaussian", "method": "iblearn ksg", "n": 1000, "truth": 0.5, "runs": 2}
        | {"mean": 0.52, "sd": 0.01, "bias": 0.02, "seconds": 0.1},
        {"task": "gaussian-25d", "method": "iblearn ksg", "n": 1000, "truth": 2.0, "runs": 2}
        | {"mean": 1.5, "sd": 0.01, "bias": -0.5, "seconds": 0.1},
        {"task": "gaussian-25d", "method": "peer", "n": 1000, "truth": 2.0, "runs": 0},
    ]
    text = words.estimators_words({"summary": summary})
    assert "1 of 2 rows are within 5% of the truth (mean of 2 seeds)" in text
    assert "largest bias is -0.5000 nats, ksg on gaussian-25d (truth 2.0000)" in text


def test_the_ib_theory_sentence_spans_the_planes():
    layer = {"ixt_start": 1.0, "ixt_peak": 1.0, "ixt_end": 0.5, "ity_end": 1.0}
    results = {
        "linear": [
            {"scale of W": 0.1, "eq. (5)": 0.0338, "KSG": 0.0443},
            {"scale of W": 1, "eq. (5)": 1.0, "KSG": 1.0},
        ],
        "plane": {
            "tanh": {"eval_acc": 0.9, "binning": {"2": layer | {"compression": 2.4046}}},
            "relu": {"eval_acc": 0.9, "KSG": {"2": layer | {"compression": 0.0014}}},
        },
    }
    text = words.ib_theory_words(results)
    assert "differ by at most 0.010 nats over 2 scales of W" in text  # 0.044 - 0.034, as printed
    assert "from 0.001 (KSG, relu) to 2.405 nats (binning, tanh)" in text


@pytest.mark.parametrize(
    "section", ["estimators", "aamine", "proximal", "mi-lr", "mole", "layerwise-ib", "ib-theory"]
)
def test_every_section_has_words_that_take_an_empty_run(section):
    from iblearn.cli import DEMO_SECTIONS

    empty = {"summary": [], "final": [], "linear": [], "plane": {}, "ranges": {}}
    assert DEMO_SECTIONS[section].words(empty).endswith(".")


def test_the_proximal_sentence_states_the_instabilities_the_table_shows():
    from iblearn.experiments.proximal import Config
    from iblearn.experiments.proximal.report import table

    rows = [dict(r) for r in PROXIMAL]
    rows[3] |= {"worst_after_95": (48.2, 0.0), "drops_after_95": (2910.0, 0.0)}
    rows[5] |= {"worst_after_95": (61.5, 0.0), "drops_after_95": (53.0, 0.0)}
    rows[1] |= {"worst_after_95": (93.5, 0.0), "drops_after_95": (0.0, 0.0)}
    text = words.proximal_words({"summary": rows})
    assert (
        "ours gamma=100 reached 95% in 1 of 1 at iteration 331, then 2910 iterations below 90% (worst 48.2%)"
        in text
    )
    assert "baseline lr=10 reached 95% in 1 of 1 at iteration 487, final accuracy 99.9%" in text  # no drop
    assert "ours gamma=100 (2910 iterations), first-order gamma=100 (53 iterations) fell below 90%" in text
    printed = table(rows, {}, Config.demo())
    assert all(n in printed for n in _numbers(text))
    assert "2910" in printed


def test_the_binary_tasks_settings_say_full_batch():
    from iblearn.experiments.proximal import Config
    from iblearn.experiments.proximal.report import table

    settings = next(
        line for line in table(PROXIMAL, {}, Config.demo()).splitlines() if line.startswith("Settings")
    )
    assert "full batch" in settings and "batch 128" not in settings


def test_the_layerwise_sentence_names_a_dead_layer():
    from iblearn.experiments.layerwise_ib import Config
    from iblearn.experiments.layerwise_ib.report import table

    summary = _accuracies("mnist 1%", {"ce": 82.4, "iyl": 85.2, "ib": 85.55})
    figure = {
        "100": {"distinct": 22, "samples": 300, "commonest": 279, "active_units": 5, "units": 256}
        | {"majority_acc": 19.333},
        "0.001": {"distinct": 300, "samples": 300, "commonest": 1, "active_units": 232, "units": 256}
        | {"majority_acc": 100.0},
    }
    text = words.layerwise_words({"summary": summary, "figure_3": figure})
    assert "at beta = 100 the first layer is dead: 279 of 300 test images share one output" in text
    assert "5 of 256 units active, majority-label accuracy 19.3%" in text
    assert "at beta = 0.001 it keeps 300 distinct outputs of 300, 232 of 256 units active" in text
    printed = table(summary, Config.demo(), figure)
    assert all(n in printed for n in _numbers(text))


def test_the_demos_figures_of_full_runs_are_in_the_committed_results():
    """What a section says of the full runs quotes numbers that the committed results tables print."""
    from pathlib import Path

    from iblearn.cli.demo import DEMO_SECTIONS

    results = Path(__file__).resolve().parents[2] / "docs" / "results"
    printed = "\n".join(p.read_text(encoding="utf-8") for p in results.rglob("table.md"))
    for section in DEMO_SECTIONS.values():
        for number in re.findall(r"[+-]?\d+\.\d\d", section.meaning):
            assert number in printed, (section.reproduction, number)
