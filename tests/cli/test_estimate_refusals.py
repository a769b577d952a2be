"""iblearn estimate: the refusals of the front door reach the command as one line and status 2, and
one rule for --seed whatever the measure."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from iblearn.cli import main

torch.set_num_threads(1)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    np.savetxt(tmp_path / "xy.csv", np.c_[x, x + rng.normal(size=300)], delimiter=",")
    np.savetxt(tmp_path / "const.csv", np.c_[np.ones(300), x], delimiter=",")
    return tmp_path


@pytest.mark.parametrize("measure", [[], ["--measure", "te"]])
def test_a_seed_out_of_range_is_refused_for_every_measure(files, capsys, measure) -> None:
    seed = str(2**70)
    code = main(
        ["estimate", str(files / "xy.csv"), "--x-cols", "0", "--y-cols", "1", "--seed", seed, *measure]
    )
    assert code == 2 and "--seed: must lie in [-2^63, 2^64)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["--x-cols", "0", "--y-cols", "1"],
        ["--x-cols", "0", "--y-cols", "1", "--measure", "te"],
        ["--measure", "total_correlation"],
    ],
)
def test_a_constant_column_is_one_line_and_status_2(files, capsys, args) -> None:
    code = main(["estimate", str(files / "const.csv"), *args])
    err = capsys.readouterr().err
    assert code == 2 and ("constant" in err or "same label" in err) and "Traceback" not in err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_named_as_one_not_as_missing(tmp_path, capsys) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for args in (["--y-cols", "1"], ["--measure", "total_correlation"]):
        assert main(["estimate", str(fifo), *args]) == 2
        assert "named pipe (FIFO)" in " ".join(capsys.readouterr().err.split())


@pytest.mark.parametrize(
    "name, text, said",
    [
        (
            "euro.csv",
            "a;b\n0,5;1,25\n1,5;2,0\n",
            "separated by semicolons; iblearn reads a .csv file with commas",
        ),
        ("tabs.csv", "a\tb\n0.5\t1.25\n1.5\t2.0\n", "separated by tabs"),
        ("bare.csv", "0.5;1.25\n1.5;2.0\n", "separated by semicolons"),
        (
            "commas.txt",
            "a,b\n0.5,1.25\n1.5,2.0\n",
            "separated by commas; iblearn reads a .txt file with spaces",
        ),
    ],
)
def test_a_table_of_another_separator_is_named_not_read_as_one_column(tmp_path, capsys, name, text, said):
    (tmp_path / name).write_text(text)
    assert main(["estimate", str(tmp_path / name), "--y-cols", "1"]) == 2
    assert f"X: '{tmp_path / name}' reads as one column, its fields {said}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, said",
    [
        (["--x-cols", "0", "--y-cols", "0"], "--y-cols: column 0 is X's too"),
        (["--x-cols", "0,1", "--y-cols", "-1"], "--y-cols: column 1 is X's too"),
        (["--x-cols", "0", "--y-cols", "1", "--cond", "1"], "--cond: column 1 is Y's too"),
        (["--y-cols", "1", "--cond", "0", "--x-cols", "0"], "--cond: column 0 is X's too"),
    ],
)
def test_a_column_on_two_sides_of_the_estimate_is_refused(files, capsys, args, said) -> None:
    assert main(["estimate", str(files / "xy.csv"), *args]) == 2
    assert said in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, said",
    [
        (["--k", "3", "--option", "k=5"], "--option: k=5 and --k 3 disagree"),
        (["--base", "2", "--option", "base=10"], "--option: base=10 and --base 2.0 disagree"),
    ],
)
def test_a_setting_given_as_a_flag_and_an_option_differently_is_refused(files, capsys, args, said) -> None:
    xy = ["estimate", str(files / "xy.csv"), "--x-cols", "0", "--y-cols", "1", "--method", "ksg"]
    assert main([*xy, *args]) == 2
    assert said in capsys.readouterr().err
    assert main([*xy, "--k", "5", "--option", "k=5"]) == 0  # the same value twice is one setting


def test_an_empty_column_selector_names_no_column_rather_than_all(files, capsys) -> None:
    assert main(["estimate", str(files / "xy.csv"), "--x-cols", "", "--y-cols", "1"]) == 2
    assert "--x-cols: no column ''" in capsys.readouterr().err


def test_files_of_different_lengths_are_named_as_the_command_names_them(tmp_path, capsys) -> None:
    np.save(tmp_path / "x.npy", np.arange(30.0))
    np.save(tmp_path / "y.npy", np.arange(20.0))
    assert main(["estimate", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--method", "ksg"]) == 2
    assert "sample counts differ: X has 30, Y has 20" in capsys.readouterr().err


def test_files_read_transposed_are_named_as_the_command_names_them(tmp_path, capsys) -> None:
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.standard_normal((3, 300)))
    np.save(tmp_path / "y.npy", rng.standard_normal((3, 300)))
    assert main(["estimate", str(tmp_path / "x.npy"), str(tmp_path / "y.npy")]) == 2
    said = capsys.readouterr().err
    assert "X: 3 row(s) (X is 3 x 300, Y is 3 x 300): samples are rows; transposed?" in said


@pytest.mark.parametrize("args", [["--method", "ksg"], ["--y-type", "continuous"], []])
def test_a_bfloat16_tensor_file_is_read_as_its_values(tmp_path, capsys, args) -> None:
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(size=300))
    y = (x + torch.tensor(rng.normal(size=300))).bfloat16()
    torch.save(x, tmp_path / "x.pt")
    torch.save(y, tmp_path / "y.pt")
    torch.save(y.float(), tmp_path / "y32.pt")
    assert main(["estimate", str(tmp_path / "x.pt"), str(tmp_path / "y.pt"), "--json", *args]) == 0
    read = capsys.readouterr().out
    assert main(["estimate", str(tmp_path / "x.pt"), str(tmp_path / "y32.pt"), "--json", *args]) == 0
    assert read == capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [["{x}", "{y}", "--method", "ksg"], ["{x}", "--y-cols", "y"], ["{x}", "--measure", "total_correlation"]],
)
def test_a_tensor_file_holding_a_dict_is_named_with_its_keys_and_what_to_save(tmp_path, capsys, args) -> None:
    rng = np.random.default_rng(0)
    torch.save({"x": torch.tensor(rng.normal(size=(300, 2))), "y": torch.zeros(300)}, tmp_path / "d.pt")
    np.save(tmp_path / "y.npy", rng.normal(size=300))
    files = {"x": str(tmp_path / "d.pt"), "y": str(tmp_path / "y.npy")}
    assert main(["estimate", *(a.format(**files) for a in args)]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert "d.pt' holds a dict (keys 'x', 'y'), not one tensor" in said and "torch.save(" in said


def test_an_array_file_of_python_objects_says_to_save_numbers(tmp_path, capsys) -> None:
    np.save(tmp_path / "x.npy", np.array([[1.0, 2.0], [3.0, 4.0]] * 50, dtype=object))
    assert main(["estimate", str(tmp_path / "x.npy"), "--y-cols", "1", "--method", "ksg"]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert "x.npy' holds Python objects (dtype object)" in said and "astype(float)" in said
