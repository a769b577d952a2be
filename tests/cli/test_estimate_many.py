"""iblearn estimate --measure: information among groups of a file's columns, its uncertainty, strict
JSON, and errors that name the option."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import iblearn.functional as ibf
from iblearn.cli import main
from tests.cli import strict_json

torch.set_num_threads(1)


@pytest.fixture
def table(tmp_path):
    """a, b, c: noisy copies of one source (redundant); s1, s2 and y = s1 + s2 + noise (synergistic);
    kind: class names."""
    rng = np.random.default_rng(0)
    n = 400
    z = rng.normal(size=(n, 1))
    copies = z + 0.5 * rng.normal(size=(n, 3))
    s = rng.normal(size=(n, 2))
    y = s.sum(1) + 0.3 * rng.normal(size=n)
    kinds = np.array(["p", "q"])[rng.integers(0, 2, n)]
    lines = ["a,b,c,s1,s2,y,kind"]
    lines += [",".join(f"{v:.17g}" for v in (*copies[i], *s[i], y[i])) + f",{kinds[i]}" for i in range(n)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    np.save(tmp_path / "t.npy", np.column_stack([copies, s, y]))
    return tmp_path, np.column_stack([copies, s, y])


def test_o_information_of_groups_equals_the_function(table, capsys):
    path, values = table
    args = ["estimate", str(path / "t.csv"), "--measure", "o_information", "--groups", "a,b;c;s1"]
    assert main([*args, "--json", "--resamples", "4", "--permutations", "9"]) == 0
    record = strict_json(capsys.readouterr().out)
    expected = ibf.multivariate_estimate(
        "o_information", torch.as_tensor(values), [[0, 1], [2], [3]], n_resamples=4, n_permutations=9
    )
    assert record["value"] == pytest.approx(float(expected), abs=1e-12)
    assert record["stderr"] == pytest.approx(expected.stderr, abs=1e-12)
    assert record["p_value"] == expected.p_value and record["permutations"] == 9
    assert record["groups"] == [["a", "b"], ["c"], ["s1"]] and record["method"] == "ksg"
    assert "independent" in record["null"] and record["stderr_method"] == "half-sampling jackknife"


def test_every_column_alone_by_default_in_the_units_asked(table, capsys):
    path, values = table
    args = ["estimate", str(path / "t.npy"), "--measure", "total_correlation", "--method", "gaussian"]
    assert main([*args, "--base", "2", "--json"]) == 0
    record = strict_json(capsys.readouterr().out)
    nats = float(ibf.total_correlation(torch.as_tensor(values), method="gaussian"))
    assert record["value"] == pytest.approx(nats / np.log(2), abs=1e-12) and record["unit"] == "bits"
    assert len(record["groups"]) == 6


def test_base_given_alone_keeps_a_named_method_that_reports_in_it(table, capsys):
    # As for I(X; Y): --base is a named method's setting, so it keeps ksg rather than auto's nats.
    path, values = table
    args = ["estimate", str(path / "t.npy"), "--measure", "total_correlation", "--groups", "0;1;2"]
    assert main([*args, "--base", "2", "--json"]) == 0
    record = strict_json(capsys.readouterr().out)
    nats = float(ibf.total_correlation(torch.as_tensor(values[:, :3])))
    assert record["method"] == "ksg" and record["unit"] == "bits"
    assert record["value"] == pytest.approx(nats / np.log(2), abs=1e-12)
    assert main([*args, "--base", "2"]) == 0
    assert " bits" in capsys.readouterr().out
    assert main([*args, "--method", "auto", "--base", "2"]) == 2
    assert "--base: not an option of method auto" in capsys.readouterr().err


def test_text_output_names_the_measure_and_the_test(table, capsys):
    path, _ = table
    args = ["estimate", str(path / "t.csv"), "--measure", "o_information", "--groups", "a;b;c"]
    assert main([*args, "--method", "copula", "--resamples", "5", "--permutations", "19"]) == 0
    text = capsys.readouterr().out
    assert (
        text.startswith("O-information = 0.")
        and "(standard error, bootstrap; at least the Gaussian's" in text
    )
    assert "delta method, 5 resamples)" in text
    assert "p = 0.05" in text and "null: the variables mutually independent" in text
    assert "variables: 'a' | 'b' | 'c'" in text


def test_pid_prints_its_parts(table, capsys):
    path, values = table
    args = [
        "estimate",
        str(path / "t.csv"),
        "--measure",
        "pid",
        "--groups",
        "s1;s2;y",
        "--method",
        "gaussian",
    ]
    assert main([*args, "--json"]) == 0
    record = strict_json(capsys.readouterr().out)
    parts = ibf.pid(*(torch.as_tensor(values[:, [j]]) for j in (3, 4, 5)), method="gaussian")
    assert record["value"] == pytest.approx(float(parts.total), abs=1e-12)
    assert record["parts"]["synergy"]["value"] == pytest.approx(float(parts.synergy), abs=1e-12)
    assert main(args) == 0
    text = capsys.readouterr().out
    assert text.startswith("I(X1, X2; T) = ") and "  synergy = " in text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--groups", "a;b;zz"], "--groups: no column 'zz'"),
        (["--groups", "a;b;kind"], "--groups: a column holds names"),
        (["--groups", "a;;b"], "--groups: an empty group"),
        (["--groups", "a;b;a"], "--groups: column 'a' is in more than one place"),
        (["--groups", "a;b;c", "--method", "mine"], "--method: expected one of 'ksg', 'gaussian', 'copula'"),
        (["--groups", "a;b;c", "--y-cols", "s1"], "--y-cols: --measure takes its variables"),
        (["--groups", "a;b;c", "--x-cols", "a"], "--x-cols: --groups names the columns"),
        (["--groups", "a"], "--groups: information among variables needs at least 2"),
        (["--groups", "a;b;c", "--resamples", "1"], "--resamples: a standard error needs at least 2"),
        (
            ["--groups", "a;b;c", "--option", "colour=1"],
            "--option colour: not an option of estimate('o_information'",
        ),
        (["--groups", "a;b;c", "--k", "0"], "--k: expected a positive integer, got 0"),
        (["--groups", "a;b;c", "--option", "k=0"], "--option k: expected a positive integer, got 0"),
        (["--groups", "a;b;c", "--seed", str(2**70)], "--seed: must lie in [-2^63, 2^64)"),
        (["--groups", "a;b;c", "--option", "x=1"], "--option x: not an option of estimate('o_information'"),
        (["--groups", "a;b;c", "--option", "blocks=1"], "--option: blocks is not a setting"),
        (["--groups", "a;b;c", "--option", "measure=pid"], "--option: measure is not a setting"),
        (["--groups", "a;b;c", "--option", "k=20", "--k", "5"], "--option: k=20 and --k 5 disagree"),
        (["--groups", "a;b;c", "--option", "method=mine"], "--option method: expected one of"),
        (["--groups", "a;b;cc"], "--groups: no column 'cc'; did you mean 'c'?"),
    ],
)
def test_bad_input_is_refused_naming_the_option(table, capsys, extra, message):
    path, _ = table
    assert main(["estimate", str(path / "t.csv"), "--measure", "o_information", *extra]) == 2
    assert any(m in capsys.readouterr().err for m in message.split("|"))


def test_pid_and_groups_need_each_other(table, capsys):
    path, _ = table
    assert main(["estimate", str(path / "t.csv"), "--measure", "pid", "--groups", "a;b"]) == 2
    assert "error: --groups: pid takes 3 groups" in capsys.readouterr().err  # named once
    assert main(["estimate", str(path / "t.csv"), "--groups", "a;b"]) == 2
    assert "give --measure too" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: not one of --measure's choices
        main(["estimate", str(path / "t.csv"), "--measure", "renyi_entropy"])
    assert "--measure: invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "setting"),
    [("k=20", {"k": 20}), ("method=gaussian", {"method": "gaussian"}), ("seed=4", {"seed": 4})],
)
def test_settings_given_as_options_are_the_ones_used(table, capsys, option, setting):
    path, values = table
    args = ["estimate", str(path / "t.csv"), "--measure", "total_correlation", "--groups", "a;b;c"]
    assert main([*args, "--option", option, "--json"]) == 0
    record = strict_json(capsys.readouterr().out)
    expected = ibf.total_correlation(torch.as_tensor(values[:, :3]), **setting)
    assert record["value"] == pytest.approx(float(expected), abs=1e-12)
    key, value = next(iter(setting.items()))
    assert (record[key] if key in ("method", "seed") else record["settings"][key]) == value


def test_a_nan_without_groups_names_x_not_groups(tmp_path, capsys):
    values = np.random.default_rng(0).normal(size=(50, 3))
    values[4, 1] = np.nan
    np.save(tmp_path / "nan.npy", values)
    assert main(["estimate", str(tmp_path / "nan.npy"), "--measure", "total_correlation"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: X:") and "--groups" not in err


def test_a_header_naming_two_columns_is_refused(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = "\n".join(",".join(f"{v:.6f}" for v in rng.normal(size=3)) for _ in range(40))
    (tmp_path / "dup.csv").write_text("a,b,a\n" + rows + "\n")
    args = ["estimate", str(tmp_path / "dup.csv"), "--measure", "total_correlation", "--groups", "a;b"]
    assert main(args) == 2
    assert "--groups: the header names 2 columns 'a' (0, 2)" in capsys.readouterr().err


def test_a_nonfinite_measure_fails_naming_it(table, capsys, monkeypatch):
    import dataclasses

    real = ibf.multivariate_estimate
    nan = torch.tensor(float("nan"))
    monkeypatch.setattr(
        ibf, "multivariate_estimate", lambda *a, **k: dataclasses.replace(real(*a, **k), value=nan)
    )
    args = ["estimate", str(table[0] / "t.csv"), "--measure", "o_information", "--groups", "a;b;c"]
    assert main(args) == 2
    assert "not a finite estimate" in capsys.readouterr().err
    assert main([*args, "--json"]) == 2
    assert strict_json(capsys.readouterr().out)["nonfinite"]
