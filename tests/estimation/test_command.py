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
