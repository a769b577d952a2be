"""iblearn estimate: strict JSON, bounded resources, label columns, column picking, the result line."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
import torch

from iblearn.cli import main
from iblearn.cli.json_out import nonfinite_estimate
from iblearn.data import bivariate_normal, categorical_uniform
from tests.cli import strict_json


@pytest.fixture
def pair(tmp_path):
    x, y = bivariate_normal().sample(300, seed=0)
    np.save(tmp_path / "x.npy", x.numpy())
    np.save(tmp_path / "y.npy", y.numpy())
    return tmp_path


@pytest.fixture
def wine(tmp_path):
    """A table whose last column is a class, as integers ('cultivar') and as names ('kind'); 'z' a
    condition; 'noise' independent of everything."""
    x, c = categorical_uniform(3).sample(300, seed=1)
    rng = np.random.default_rng(0)
    z = rng.normal(size=len(x))
    noise = rng.normal(size=len(x))
    names = np.array(["barolo", "grignolino", "barbera"])[c.numpy()]
    lines = ["alcohol,z,noise,cultivar,kind"]
    lines += [
        f"{a:.17g},{b:.17g},{n:.17g},{k},{s}"
        for a, b, n, k, s in zip(x.numpy()[:, 0] + z, z, noise, c.numpy(), names, strict=True)
    ]
    (tmp_path / "wine.csv").write_text("\n".join(lines) + "\n")
    np.save(tmp_path / "xa.npy", (x.numpy()[:, 0] + z)[:, None])
    np.save(tmp_path / "z.npy", z[:, None])
    np.save(tmp_path / "c.npy", c.numpy())
    return tmp_path


@pytest.fixture
def nan_estimate(monkeypatch):
    """Every estimator of the command returns NaN (the estimate of a setting beyond its reach)."""
    import dataclasses

    import iblearn.estimation.split as registry

    real = registry.get_estimator

    def nan_estimator(name, **settings):
        est = real(name, **settings)
        call = est.__call__
        monkeypatch.setattr(
            type(est),
            "__call__",
            lambda self, *a, **k: dataclasses.replace(call(*a, **k), value=torch.tensor(float("nan"))),
        )
        return est

    monkeypatch.setattr(registry, "get_estimator", nan_estimator)


def test_json_is_strict_where_the_estimate_is_not_finite_and_the_exit_says_it_failed(
    pair, capsys, nan_estimate
):
    args = ["estimate", str(pair / "x.npy"), str(pair / "y.npy"), "--method", "gaussian", "--json"]
    assert main(args) == 2
    printed = capsys.readouterr()
    record = strict_json(printed.out)
    assert record["value"] is None and record["nonfinite"]["value"] == "nan"
    assert "I(X;Y) = nan, not a finite estimate" in " ".join(printed.err.split())


def test_a_nonfinite_estimate_is_an_error_not_a_line_of_output(pair, capsys, nan_estimate):
    assert main(["estimate", str(pair / "x.npy"), str(pair / "y.npy"), "--method", "gaussian"]) == 2
    printed = capsys.readouterr()
    assert "nats" not in printed.out and "I(X;Y) = nan, not a finite estimate" in " ".join(
        printed.err.split()
    )
    assert nonfinite_estimate(float("inf"), "I(X;Y)").startswith("I(X;Y) = inf, not a finite estimate")
    assert nonfinite_estimate(0.5, "I(X;Y)") is None


def test_complex_samples_are_refused_naming_the_file(pair, capsys):
    np.save(pair / "c.npy", np.ones((50, 2), dtype=complex))
    assert main(["estimate", str(pair / "c.npy"), str(pair / "y.npy")]) == 2
    assert "c.npy' holds complex numbers" in " ".join(capsys.readouterr().err.split())


def test_a_setting_of_the_wrong_kind_is_refused_naming_it(pair, capsys):
    args = ["estimate", str(pair / "x.npy"), str(pair / "y.npy"), "--method", "binning"]
    assert main([*args, "--option", 'value_range="ab"']) == 2
    assert "value_range: expected (low, high), got 'ab'" in capsys.readouterr().err
    assert main([*args, "--option", 'value_range=[0, "b"]']) == 2
    assert "value_range: expected a real number, got 'b'" in capsys.readouterr().err


def test_threads_beyond_the_cores_are_refused_naming_the_option(pair, capsys):
    import torch

    from iblearn._threads import limit_threads

    before = torch.get_num_threads()
    try:
        with pytest.raises(ValueError, match="threads: at most"):
            limit_threads((os.cpu_count() or 1) + 1)
    finally:
        torch.set_num_threads(before)
    assert main(["--threads", "100000", "estimate", str(pair / "x.npy"), str(pair / "y.npy")]) == 2
    assert "--threads: at most" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:.*unreliable estimate")  # 4 training steps
@pytest.mark.parametrize("method", ["mienf", "lmi", "minde", "club", "doe"])
def test_estimators_that_need_the_widths_get_them_from_the_data(pair, capsys, method):
    args = ["estimate", str(pair / "x.npy"), str(pair / "y.npy"), "--method", method, "--steps", "4"]
    assert main([*args, "--batch-size", "32", "--option", "eval_every=2"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    # without x_dim and y_dim the estimator is not built; the front door reads them from the data
    assert f"estimator: {method}" in text and "the estimate is on the other 60" in text


def test_a_seed_out_of_range_is_refused_naming_the_option(pair, capsys):
    assert main(["estimate", str(pair / "x.npy"), str(pair / "y.npy"), "--seed", str(2**70)]) == 2
    assert "--seed: must lie in [-2^63, 2^64)" in capsys.readouterr().err


def test_a_table_above_the_size_limit_is_refused_naming_the_limit(tmp_path, capsys):
    rows = np.random.default_rng(0).normal(size=(30_000, 3))
    np.savetxt(tmp_path / "big.csv", rows, delimiter=",")  # about 2 MB
    assert main(["estimate", str(tmp_path / "big.csv"), "--y-cols", "2", "--max-mb", "1"]) == 2
    text = " ".join(capsys.readouterr().err.split())
    assert "above the limit of 1 MB" in text and "--max-mb" in text


def test_reading_a_table_takes_about_the_memory_of_its_numbers(tmp_path):
    import tracemalloc

    from iblearn.cli.inputs import _read_table

    rows = np.random.default_rng(0).normal(size=(20_000, 5))
    path = tmp_path / "t.csv"
    np.savetxt(path, rows, delimiter=",", header="a,b,c,d,e", comments="")
    tracemalloc.start()
    try:
        table = _read_table(path, "X", None, ())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The file is 2.5 MB, its numbers 0.8 MB; read whole as strings, the table peaked at 9 times the file.
    assert peak < 1.5 * rows.nbytes + 1_000_000
    np.testing.assert_allclose(table.values, rows, rtol=1e-15)


def test_a_decimal_comma_is_refused_naming_the_column_and_the_value(tmp_path, capsys):
    (tmp_path / "t.csv").write_text('x,weight\n0.1,"1,5"\n0.2,"2,25"\n0.3,"3,0"\n')
    assert main(["estimate", str(tmp_path / "t.csv"), "--y-cols", "weight"]) == 2
    text = " ".join(capsys.readouterr().err.split())
    assert "'weight'" in text and "'1,5'" in text and "decimal point" in text


@pytest.mark.parametrize("column", ["cultivar", "kind"])
def test_a_label_column_gets_auto_as_in_python_unless_a_method_is_named(wine, capsys, column):
    from iblearn.estimation import with_names
    from iblearn.estimation.auto import auto_estimate

    expected = auto_estimate(np.load(wine / "xa.npy"), np.load(wine / "c.npy"))
    table = ["estimate", str(wine / "wine.csv"), "--x-cols", "alcohol", "--y-cols", column]
    assert main([*table, "--json"]) == 0
    record = strict_json(capsys.readouterr().out)
    # the interval and the checks of the Python call, not a plain mixed KSG without them
    assert record.pop("nonfinite") is None  # the strict writer's one key of its own
    expected = with_names(expected, {"x": ("alcohol",), "y": (column,)})  # the header names the variables
    assert record == json.loads(json.dumps(expected.to_dict(), default=str))  # the Python call's own record
    assert record["report"]["chosen"] == "mixed_ksg" and record["report"]["checks"]
    assert main([*table, "--method", "ksg"]) == 2
    text = " ".join(capsys.readouterr().err.split())
    assert f"--y-cols: column '{column}' holds 3 class labels" in text and "--method mixed_ksg" in text
    # integers may be quantities; names are not
    assert main([*table, "--method", "ksg", "--y-type", "continuous"]) == (0 if column == "cultivar" else 2)


def test_a_headers_names_name_the_variables_as_a_frames_columns_do_in_python(wine, capsys):
    import pandas as pd

    from iblearn import estimate

    table = ["estimate", str(wine / "wine.csv"), "--x-cols", "alcohol", "--y-cols", "z"]
    assert main([*table, "--method", "ksg"]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    frame = pd.read_csv(wine / "wine.csv")
    expected = estimate("mi", frame["alcohol"], frame["z"], method="ksg")
    assert line.startswith("I(alcohol; z) = ")
    assert line.split(" nats")[0] == expected.describe().split(" nats")[0]
    assert main([*table, "--cond", "noise", "--method", "ksg", "--json"]) == 0
    names = strict_json(capsys.readouterr().out)["report"]["names"]
    assert names == {"x": ["alcohol"], "y": ["z"], "z": ["noise"]}


def test_arrays_and_tables_without_a_header_leave_the_variables_unnamed(pair, wine, capsys):
    assert main(["estimate", str(pair / "x.npy"), str(pair / "y.npy"), "--method", "ksg"]) == 0
    assert capsys.readouterr().out.startswith("I(X;Y) = ")
    np.savetxt(wine / "bare.csv", np.load(wine / "xa.npy")[:, 0, None] * [1, 2] + [0, 1], delimiter=",")
    # y = 2 x + 1: every resample reads the same, so no standard error (--resamples 0)
    bare = ["estimate", str(wine / "bare.csv"), "--y-cols", "1", "--method", "ksg", "--resamples", "0"]
    assert main([*bare, "--json"]) == 0
    assert strict_json(capsys.readouterr().out)["report"]["names"] is None


def test_a_continuous_column_gets_auto_and_ksg_where_its_options_are_given(wine, capsys):
    table = ["estimate", str(wine / "wine.csv"), "--x-cols", "alcohol", "--y-cols", "z", "--json"]
    assert main(table) == 0
    record = strict_json(capsys.readouterr().out)
    assert record["method"] == record["report"]["chosen"] == "ksg"
    assert record["interval"][0] <= record["value"] <= record["interval"][1]
    assert set(record["report"]["checks"]) >= {
        "independence",
        "invariance",
        "additivity",
        "half data",
        "ceiling",
    }
    assert main([*table, "--k", "5"]) == 0
    assert strict_json(capsys.readouterr().out)["method"] == "ksg"


def test_auto_prints_the_choice_and_each_check(pair, capsys):
    assert main(["estimate", str(pair / "x.npy"), str(pair / "y.npy"), "--method", "auto"]) == 0
    text = capsys.readouterr().out
    assert "95% interval" in text and "chosen because" in text and "reliable: yes" in text
    assert re.search(r"half data: pass — .*\(half \S+, estimate \S+; tolerance \S+\)", " ".join(text.split()))
    assert (
        main(
            ["estimate", str(pair / "x.npy"), str(pair / "y.npy"), "--method", "auto", "--option", "n_bins=3"]
        )
        == 2
    )
    assert (
        "--option n_bins: not an option of estimate('mi', method='auto'); it takes k, neural_steps, seed"
        in " ".join(capsys.readouterr().err.split())
    )


def test_cond_takes_columns_of_the_same_file(wine, capsys):
    files = ["estimate", str(wine / "xa.npy"), str(wine / "z.npy"), "--cond", str(wine / "c.npy")]
    assert main([*files, "--json"]) == 0
    expected = strict_json(capsys.readouterr().out)["value"]
    for cond in ("cultivar", "3", "index:3"):
        table = ["estimate", str(wine / "wine.csv"), "--x-cols", "alcohol", "--y-cols", "z", "--cond", cond]
        assert main([*table, "--json"]) == 0
        assert strict_json(capsys.readouterr().out)["value"] == pytest.approx(expected, abs=1e-9)
    # X is what --y-cols and --cond leave
    assert main(["estimate", str(wine / "wine.csv"), "--y-cols", "z", "--cond", "noise,cultivar,kind"]) == 0


@pytest.fixture
def iris(tmp_path):
    """scikit-learn's iris.csv: its first line, '150,4,setosa,...', is read as a header with a column
    named '4' (the second) beside the fifth column, index 4."""
    x, c = categorical_uniform(3).sample(150, seed=0)
    noise = np.random.default_rng(0).normal(size=(150, 3))
    lines = ["150,4,setosa,versicolor,virginica"]
    rows = zip(x.numpy()[:, 0], noise, c.numpy(), strict=True)
    lines += [f"{a:.17g},{b:.17g},{d:.17g},{e:.17g},{k}" for (a, (b, d, e), k) in rows]
    (tmp_path / "iris.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_an_index_that_is_also_a_header_name_is_the_index_with_a_warning(iris, capsys):
    base = ["estimate", str(iris / "iris.csv"), "--x-cols", "0", "--json"]
    assert main([*base, "--y-cols", "4"]) == 0
    captured = capsys.readouterr()
    picked = strict_json(captured.out)
    warning = " ".join(captured.err.split())
    assert "--y-cols: '4' is both column 4 and the name of column 1; took column 4" in warning
    assert "name:4" in warning
    assert main([*base, "--y-cols", "index:4"]) == 0
    captured = capsys.readouterr()
    assert strict_json(captured.out)["value"] == picked["value"] and captured.err == ""
    assert picked["report"]["chosen"] == "mixed_ksg"  # column 4 holds the classes
    assert main([*base, "--y-cols", "name:4"]) == 0
    assert strict_json(capsys.readouterr().out)["report"]["chosen"] == "ksg"  # the column named '4' is noise
    assert main([*base, "--y-cols", "name:7"]) == 2
    assert "--y-cols: no column named '7'" in capsys.readouterr().err


def test_the_result_line_shows_what_the_user_set_in_the_units_asked(pair, capsys):
    files = ["estimate", str(pair / "x.npy"), str(pair / "y.npy")]
    assert main(files) == 0
    text = capsys.readouterr().out
    assert "nats" in text and "base=" not in text and "2.718" not in text
    assert main([*files, "--base", "2", "--k", "5"]) == 0
    text = capsys.readouterr().out
    assert "bits" in text and re.search(r"k=5, base=2(?![.\d])", text)


def test_help_shows_no_markup(capsys):
    for argv in (["--help"], ["estimate", "--help"], ["demo", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        assert "``" not in capsys.readouterr().out


def test_a_table_with_carriage_returns_or_an_endless_line_is_read_or_refused(tmp_path, capsys):
    from iblearn.cli.inputs import MAX_LINE, _read_table

    (tmp_path / "cr.csv").write_text("a,b\r1,2\r3,4\r5,7\r", newline="")  # lines the count does not split
    np.testing.assert_array_equal(
        _read_table(tmp_path / "cr.csv", "X", None).values, [[1, 2], [3, 4], [5, 7]]
    )
    (tmp_path / "long.csv").write_text("1," * (MAX_LINE // 2) + "1\n")
    assert main(["estimate", str(tmp_path / "long.csv"), "--y-cols", "0"]) == 2
    assert "line 1 of" in capsys.readouterr().err


@pytest.mark.parametrize(
    "y, labels",
    [
        (np.arange(2000) % 50 * 1.0, False),  # 50 integral levels at N = 2,000: a quantity
        (np.arange(100) % 15 * 1.0, True),  # 15 integral levels at N = 100: classes
        (np.arange(400) % 50, True),  # integer dtype
        (np.linspace(0.0, 1.0, 200), False),  # non-integral floats
    ],
)
def test_one_rule_for_class_labels_in_the_command_the_adapters_and_auto(y, labels):
    """`iblearn estimate`'s Y, the scikit-learn adapters' discrete_target="auto" and method="auto" read
    the same columns as class labels (iblearn.functional.class_codes)."""
    import warnings

    import torch

    from iblearn.cli.inputs import Samples, label_codes
    from iblearn.estimation.auto import auto_estimate
    from iblearn.estimators import UnreliableEstimateWarning
    from iblearn.functional import class_codes
    from iblearn.sklearn._terms import discrete_target

    assert (class_codes(y) is not None) == labels
    assert (label_codes(Samples(y), "auto") is not None) == labels
    assert discrete_target(y, "auto") == labels
    noise = torch.randn(len(y), 1, generator=torch.Generator().manual_seed(0))
    x = torch.as_tensor(y).double().reshape(-1, 1) + noise
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreliableEstimateWarning)
        assert (auto_estimate(x, y).report.chosen == "mixed_ksg") == labels


def test_a_constant_column_is_one_class_for_the_command_and_the_adapters_and_refused_by_auto():
    import torch

    from iblearn.cli.inputs import Samples, label_codes
    from iblearn.estimation.auto import auto_estimate
    from iblearn.functional import class_codes
    from iblearn.sklearn._terms import discrete_target

    y = np.full(100, 3.0)
    assert class_codes(y).tolist() == label_codes(Samples(y), "auto").tolist() == [0] * 100
    assert discrete_target(y, "auto")
    with pytest.raises(ValueError, match=r"y: every (column is constant|sample has the same label)"):
        auto_estimate(torch.randn(100, 1), y)


def test_names_as_x_are_labels_for_auto_and_refused_where_they_are_not(wine, capsys):
    from iblearn.estimation.auto import auto_estimate

    table = ["estimate", str(wine / "wine.csv"), "--y-cols", "alcohol"]
    assert main([*table, "--x-cols", "kind", "--json"]) == 0  # labels on the x side: auto swaps them
    record = strict_json(capsys.readouterr().out)
    expected = auto_estimate(np.load(wine / "c.npy"), np.load(wine / "xa.npy"))
    assert record["report"]["chosen"] == "mixed_ksg" and record["value"] == pytest.approx(
        float(expected), abs=1e-9
    )
    # class names beside numbers in one variable were read as numbers
    assert main([*table, "--x-cols", "z,kind"]) == 2
    assert "--x-cols: X's columns 'z', 'kind' mix names" in " ".join(capsys.readouterr().err.split())
    assert main([*table, "--x-cols", "kind", "--method", "ksg"]) == 2
    assert "which ksg does not take as X" in " ".join(capsys.readouterr().err.split())


def test_free_text_is_refused_on_either_side(tmp_path, capsys):
    rng = np.random.default_rng(0)
    lines = ["note,proline"] + [f"tasting note {i},{rng.normal():.6f}" for i in range(60)]
    (tmp_path / "notes.csv").write_text("\n".join(lines) + "\n")
    # 60 distinct strings read 0.31 nats with every check passed
    assert main(["estimate", str(tmp_path / "notes.csv"), "--x-cols", "note", "--y-cols", "proline"]) == 2
    assert "X: column 'note' holds 60 distinct names in 60 rows" in " ".join(capsys.readouterr().err.split())
    assert main(["estimate", str(tmp_path / "notes.csv"), "--y-cols", "note", "--x-cols", "proline"]) == 2
    assert "Y: column 'note' holds 60 distinct names in 60 rows" in " ".join(capsys.readouterr().err.split())


def test_the_front_doors_names_mi_and_cmi_are_measures_of_the_command_too(wine, capsys):
    """``--measure mi`` is the default I(X;Y) and ``--measure cmi`` is ``--cond``'s I(X;Y|Z), as
    ``estimate("mi", ...)`` and ``estimate("cmi", ...)`` name them in Python."""
    files = ["estimate", str(wine / "xa.npy"), str(wine / "z.npy"), "--json"]
    for extra in ([], ["--cond", str(wine / "c.npy")]):
        assert main([*files, *extra]) == 0
        expected = strict_json(capsys.readouterr().out)
        assert main([*files, *extra, "--measure", "cmi" if extra else "mi"]) == 0
        assert strict_json(capsys.readouterr().out) == expected
    refused = [
        (["--measure", "cmi"], "--measure cmi: I(X;Y|Z) needs Z: give it with --cond"),
        (["--measure", "mi", "--cond", str(wine / "c.npy")], "--measure mi: I(X;Y) takes no --cond"),
        (["--measure", "mi", "--groups", "a;b"], "--groups: not with --measure mi"),
    ]
    for extra, message in refused:
        assert main([*files, *extra]) == 2
        assert message in " ".join(capsys.readouterr().err.split())


def test_a_first_line_of_samples_beside_a_class_name_is_read_as_samples_not_a_header(wine, capsys):
    """A table saved without its header whose first line holds names of a class column: numbers with a
    fraction are samples, so no row is lost and no variable is named after a number."""
    lines = (wine / "wine.csv").read_text().splitlines()[1:]
    (wine / "bare.csv").write_text("\n".join(lines) + "\n")
    assert main(["estimate", str(wine / "bare.csv"), "--x-cols", "0", "--y-cols", "4", "--json"]) == 0
    record = strict_json(capsys.readouterr().out)
    assert record["n_samples"] == len(lines) and record["report"]["names"] is None
    assert main(["estimate", str(wine / "wine.csv"), "--x-cols", "0", "--y-cols", "4", "--json"]) == 0
    assert strict_json(capsys.readouterr().out)["value"] == record["value"]


def test_a_named_method_takes_the_front_doors_defaults(pair, capsys):
    from iblearn import estimate

    # The command is the front door: without --resamples, a named method's standard error is the one
    # estimate(..., method=NAME) gives from Python.
    assert main(["estimate", str(pair / "x.npy"), str(pair / "y.npy"), "--method", "ksg", "--json"]) == 0
    record = strict_json(capsys.readouterr().out)
    expected = estimate("mi", np.load(pair / "x.npy"), np.load(pair / "y.npy"), method="ksg")
    assert expected.stderr is not None
    assert record["stderr"] == expected.stderr and record["interval"] == list(expected.interval)
