"""The reproductions under torchrun: outside it nothing acts; under ``torchrun --nproc_per_node 2`` (gloo)
a tiny MOLE run writes the metrics one process writes, once."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from iblearn.experiments import torchrun
from iblearn.records import RunFolder

TINY = [
    "reproduce",
    "mole",
    "--quick",
    "--set",
    'tasks=["adult"]',
    "--set",
    "train_size=400",
    "--set",
    "test_size=200",
    "--set",
    "epochs=1",
    "--set",
    "tsne_samples=0",
]


def test_outside_torchrun_nothing_acts(tmp_path, monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    rows = torch.arange(7)
    with torchrun.joined("cpu"):
        assert torchrun.world() == (0, 1)
        assert torch.equal(torchrun.shard(rows), rows)
        torchrun.refuse("cora", "one graph")  # no error in one process
    assert RunFolder(tmp_path).writer


@pytest.mark.slow
def test_mole_under_torchrun_writes_what_one_process_writes(tmp_path):
    from iblearn.data.tabular import load_adult

    try:
        load_adult()
    except (OSError, ValueError, ImportError) as err:
        pytest.skip(f"needs the Adult data set ({err})")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    one = subprocess.run(
        [sys.executable, "-m", "iblearn.cli", *TINY, "--out", str(tmp_path / "one")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert one.returncode == 0, one.stderr[-2000:]
    two = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "iblearn.cli",
            *TINY,
            "--out",
            str(tmp_path / "two"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert two.returncode == 0, two.stderr[-2000:]
    ranks, single = RunFolder(tmp_path / "two").metrics(), RunFolder(tmp_path / "one").metrics()
    assert [r["key"] for r in ranks] == ["adult|bp|0", "adult|matrix|0"]  # each row once
    for a, b in zip(ranks, single, strict=True):
        assert float(a["test_acc"]) == pytest.approx(float(b["test_acc"]), abs=1e-9)
        assert float(a["train_acc"]) == pytest.approx(float(b["train_acc"]), abs=1e-9)
