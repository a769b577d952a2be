"""``iblearn estimate X --measure entropy`` and ``--measure ais``: the front door's entropy of labels
and active information storage of a series, from one file, as Python gives them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from iblearn import estimate
from iblearn.cli import main
from tests.cli import strict_json

torch.set_num_threads(1)


@pytest.fixture
def files(tmp_path):
    """A CSV of a column of names and a column of numbers; an AR(1) series as .npy."""
    r = np.random.default_rng(0)
    names = r.choice(["ant", "bee", "cat"], size=400, p=[0.5, 0.3, 0.2])
    lines = ["kind,w"] + [f"{n},{v:.6f}" for n, v in zip(names, r.normal(size=400), strict=True)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    series = np.zeros(600)
    for t in range(1, 600):
        series[t] = 0.8 * series[t - 1] + r.standard_normal()
    np.save(tmp_path / "s.npy", series)
    return tmp_path, names, series


def test_entropy_of_a_column_of_names_is_the_front_doors(files, capsys):
    path, names, _ = files
    assert main(["estimate", str(path / "t.csv"), "--x-cols", "kind", "--measure", "entropy", "--json"]) == 0
    record = strict_json(capsys.readouterr().out)
    assert record["value"] == pytest.approx(float(estimate("entropy", list(names))), abs=1e-12)
    assert record["measure"] == "entropy"
    assert main(["estimate", str(path / "t.csv"), "--x-cols", "kind", "--measure", "entropy"]) == 0
    assert capsys.readouterr().out.startswith("H(kind) = ")  # the header names the variable


def test_entropy_by_a_named_estimator(files, capsys):
    path, names, _ = files
    args = ["estimate", str(path / "t.csv"), "--x-cols", "kind", "--measure", "entropy", "--method", "nsb"]
    assert main([*args, "--json"]) == 0
    record = strict_json(capsys.readouterr().out)
    assert record["method"] == "nsb"
    assert record["value"] == pytest.approx(float(estimate("entropy", list(names), method="nsb")), abs=1e-12)


def test_entropy_of_integral_floats_beyond_int64_keeps_them_apart(tmp_path, capsys):
    # Two labels written as floats past 2^63: H = log 2, as the same labels as small integers give.
    (tmp_path / "ids.csv").write_text("id\n" + "1e19\n3e19\n" * 100)
    assert main(["estimate", str(tmp_path / "ids.csv"), "--measure", "entropy", "--json"]) == 0
    record = strict_json(capsys.readouterr().out)
    assert record["value"] == pytest.approx(float(estimate("entropy", np.arange(200) % 2)), abs=1e-12)


def test_ais_of_a_series_is_the_front_doors(files, capsys):
    path, _, series = files
    assert main(["estimate", str(path / "s.npy"), "--measure", "ais", "--history", "2", "--json"]) == 0
    record = strict_json(capsys.readouterr().out)
    assert record["value"] == pytest.approx(float(estimate("ais", series, history=2)), abs=1e-12)
    # AR(1) with coefficient 0.8: A = -log(1 - 0.64) / 2 = 0.51 nats
    assert record["value"] == pytest.approx(0.51, abs=0.1)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--x-cols", "w", "--measure", "entropy"], "X: --measure entropy takes class labels"),
        (
            ["--x-cols", "kind", "--measure", "entropy", "--y-cols", "w"],
            "--y-cols: --measure entropy takes one",
        ),
        (["--x-cols", "w", "--measure", "ais", "--lag", "2"], "--lag: only with --measure te"),
        (
            ["--x-cols", "w", "--measure", "entropy", "--history", "2"],
            "--history: only with --measure te or ais",
        ),
        (
            ["--x-cols", "w", "--measure", "ais", "--resamples", "20"],
            "--resamples: the automatic method draws its own resamples",
        ),
    ],
)
def test_bad_input_is_refused_naming_the_option(files, capsys, extra, message):
    path, _, _ = files
    assert main(["estimate", str(path / "t.csv"), *extra]) == 2
    assert message in capsys.readouterr().err.replace("\n", " ")


def test_an_npy_of_class_names_is_read_as_labels_as_a_tables_names_are(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "names.npy", np.where(x > 0, "pos", "neg"))
    np.save(tmp_path / "codes.npy", (x > 0).astype(np.int64))
    said = []
    for y in ("names.npy", "codes.npy"):
        assert main(["estimate", str(tmp_path / "x.npy"), str(tmp_path / y), "--json"]) == 0
        said.append(json.loads(capsys.readouterr().out)["value"])
    assert said[0] == said[1]


def test_the_automatic_series_measures_take_permutations(files, tmp_path, capsys):
    path, _, series = files
    source = np.random.default_rng(1).standard_normal(600)
    target = np.concatenate([[0.0], 0.6 * source[:-1]]) + 0.8 * np.random.default_rng(2).standard_normal(600)
    np.save(tmp_path / "x.npy", source)
    np.save(tmp_path / "y.npy", target)
    te = ["estimate", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--measure", "te"]
    assert main([*te, "--permutations", "19", "--json"]) == 0
    record = strict_json(capsys.readouterr().out)
    expected = estimate("te", source, target, n_permutations=19)
    assert record["p_value"] == expected.p_value <= 2 / 20 and record["report"]["n_permutations"] == 19
    assert record["value"] == pytest.approx(float(expected), abs=1e-12)
    assert record["report"]["chosen"] == "gaussian"
    assert main([*te, "--permutations", "19", "--option", "null=shift"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "from 19 permutations" in printed and "shifted in time" in printed
    ais = ["estimate", str(path / "s.npy"), "--measure", "ais", "--permutations", "19", "--json"]
    assert main(ais) == 0
    record = strict_json(capsys.readouterr().out)
    assert record["p_value"] == estimate("ais", series, n_permutations=19).p_value <= 2 / 20
