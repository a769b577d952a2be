"""``iblearn estimate`` goes through the front door: for the same files and seed it prints the record
the Python call returns (``to_dict()``), for CMI, transfer entropy and a measure among many variables."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from iblearn import estimate
from iblearn.cli import main

torch.set_num_threads(1)


def _record(capsys) -> dict:
    record = json.loads(capsys.readouterr().out)
    assert record.pop("nonfinite") is None
    return record


def _same(record: dict, est) -> None:
    expected = json.loads(json.dumps(est.to_dict(), default=str))
    assert record == expected


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(300, 1))
    x = z + rng.normal(size=(300, 1))
    y = z + 0.5 * x + rng.normal(size=(300, 1))
    s = rng.normal(size=300)
    t = np.zeros(300)
    for i in range(1, 300):
        t[i] = 0.5 * t[i - 1] + 0.6 * s[i - 1] + 0.5 * rng.normal()
    d = rng.normal(size=(300, 1)) + rng.normal(size=(300, 4))
    arrays = {"x": x, "y": y, "z": z, "s": s[:, None], "t": t[:, None], "d": d}
    for name, a in arrays.items():
        np.save(tmp_path / f"{name}.npy", a)
    return tmp_path, arrays


def test_the_command_and_python_give_the_same_cmi(files, capsys):
    path, a = files
    assert (
        main(
            [
                "estimate",
                str(path / "x.npy"),
                str(path / "y.npy"),
                "--cond",
                str(path / "z.npy"),
                "--json",
                "--seed",
                "3",
            ]
        )
        == 0
    )
    _same(_record(capsys), estimate("cmi", a["x"], a["y"], a["z"], seed=3))


def test_the_command_and_python_give_the_same_transfer_entropy(files, capsys):
    path, a = files
    args = [
        "estimate",
        str(path / "s.npy"),
        str(path / "t.npy"),
        "--measure",
        "te",
        "--history",
        "2",
        "--json",
    ]
    assert main(args) == 0
    _same(_record(capsys), estimate("te", a["s"], a["t"], history=2))
    assert main(["estimate", str(path / "s.npy"), str(path / "t.npy"), "--lag", "2"]) == 2
    assert "--lag: only with --measure te" in capsys.readouterr().err


def test_the_command_and_python_give_the_same_o_information(files, capsys):
    path, a = files
    assert main(["estimate", str(path / "d.npy"), "--measure", "o_information", "--json"]) == 0
    _same(_record(capsys), estimate("o_information", torch.as_tensor(a["d"], dtype=torch.float64)))
    assert main(["estimate", str(path / "d.npy"), "--measure", "o_information"]) == 0
    assert "chosen because" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("options", "call"),
    [
        (
            ["--method", "KSG", "--k", "4", "--resamples", "4", "--permutations", "9", "--seed", "2"],
            {"k": 4, "n_resamples": 4, "n_permutations": 9, "seed": 2},
        ),
        (
            ["--method", "infonce", "--steps", "20", "--batch-size", "64"],
            {"steps": 20, "batch_size": 64},
        ),
    ],
)
def test_a_named_method_is_the_python_call_with_that_method(files, capsys, options, call):
    """``--method NAME`` is ``estimate("mi", x, y, method=NAME)``: a class name in any case, the
    permutations' p-value, and a neural critic fitted on part of the rows (its training shown)."""
    path, a = files
    assert main(["estimate", str(path / "x.npy"), str(path / "y.npy"), *options, "--json"]) == 0
    record = _record(capsys)
    steps: list[int] = []
    est = estimate(
        "mi", a["x"], a["y"], method=options[1], progress=lambda done, loss: steps.append(done), **call
    )
    _same(record, est)
    if options[1] == "infonce":
        assert record["report"]["split"] == {"train": 192, "validation": 48, "test": 60}
        assert steps and steps[-1] <= 20
    else:
        assert record["method"] == "ksg" and record["p_value"] is not None and record["stderr"] > 0
