"""The reproductions under torchrun: outside it nothing acts; under ``torchrun --nproc_per_node 2`` (gloo)
a tiny MOLE run (Adult; Mutagenicity, whose ranks hold different numbers of nodes) writes the metrics
one process writes, once, and rank 0 alone prints the table; a rank that hangs or raises leaves no other
waiting (the process group's timeout, the failing rank named)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from iblearn import distributed
from iblearn.experiments import torchrun
from iblearn.records import RunFolder

TINY = ["reproduce", "mole", "--quick", "--set", "test_size=200", "--set", "epochs=1"]
TINY += ["--set", "tsne_samples=0"]
TASKS = {  # settings, and the rows one process writes
    "adult": (['tasks=["adult"]', "train_size=400"], ["adult|bp|0", "adult|matrix|0"]),
    # Each rank's graphs hold a different number of nodes: MINE on node representations weighs them.
    "mutagenicity": (
        ['tasks=["mutagenicity"]', 'estimators=["gmi+mine"]', "train_size=128", "test_size=64"],
        ["mutagenicity|bp|0", "mutagenicity|gmi+mine|0"],
    ),
}


def test_outside_torchrun_nothing_acts(tmp_path, monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    rows = torch.arange(7)
    with torchrun.joined("cpu"):
        assert (distributed.rank(), distributed.world_size()) == (0, 1)
        assert torch.equal(torchrun.shard(rows), rows)
        torchrun.refuse("cora", "one graph")  # no error in one process
    assert RunFolder(tmp_path).writer


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS)
def test_mole_under_torchrun_writes_what_one_process_writes(tmp_path, task):
    from iblearn.data.graphs import load_tu
    from iblearn.data.tabular import load_adult

    try:
        load_adult() if task == "adult" else load_tu("Mutagenicity", download=False)
    except (OSError, ValueError, ImportError) as err:
        pytest.skip(f"needs the {task} data set ({err})")
    settings, keys = TASKS[task]
    args = [*TINY, *(arg for setting in settings for arg in ("--set", setting))]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def run(*launcher: str, out: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", *launcher, "iblearn.cli", *args, "--out", str(tmp_path / out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    run(out="one")
    printed = run("torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", out="two")
    assert printed.count("records:") == 1  # rank 0 alone reports
    ranks, single = RunFolder(tmp_path / "two").metrics(), RunFolder(tmp_path / "one").metrics()
    assert [r["key"] for r in ranks] == keys  # each row once
    for a, b in zip(ranks, single, strict=True):
        assert float(a["test_acc"]) == pytest.approx(float(b["test_acc"]), abs=1e-9)
        assert float(a["train_acc"]) == pytest.approx(float(b["train_acc"]), abs=1e-9)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _failing_worker(rank: int, _init_method: str, out: str, ports: list[int]) -> None:
    """Rank 1 hangs (first group) and then raises (second group); rank 0 waits in a collective."""
    import io
    import time

    from iblearn.estimators import InfoNCE

    torch.set_num_threads(1)
    os.environ.update(
        {"RANK": str(rank), "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "IBLEARN_DIST_TIMEOUT": "2"}
    )
    seen: dict[str, object] = {}
    for case, port in zip(("hang", "raise"), ports, strict=True):
        os.environ["MASTER_PORT"] = str(port)
        open(f"{out}.ready-{case}-{rank}", "w").close()  # both ranks start each group together
        while not os.path.exists(f"{out}.ready-{case}-{1 - rank}"):
            time.sleep(0.05)
        stderr, sys.stderr = sys.stderr, io.StringIO()
        start = time.monotonic()
        try:
            with torchrun.joined("cpu"):
                if rank == 0:
                    InfoNCE(2, 2).loss(torch.randn(4, 2), torch.randn(4, 2))  # waits on rank 1
                elif case == "hang":
                    time.sleep(5)  # in no collective: rank 0 must give up after the timeout
                else:
                    raise ValueError("bad rows")
        except Exception as err:
            seen[case] = (type(err).__name__, str(err)[:200], time.monotonic() - start)
        finally:
            seen[f"{case}-stderr"] = sys.stderr.getvalue()  # type: ignore[attr-defined]
            sys.stderr = stderr
    torch.save(seen, f"{out}.{rank}")


@pytest.mark.slow  # 37 s here: two process groups, a 5 s hang
def test_a_rank_that_hangs_or_raises_leaves_no_other_waiting(tmp_path):
    from tests.distributed import run_two_ranks

    out = str(tmp_path / "fail")
    run_two_ranks(_failing_worker, out, [_free_port(), _free_port()], timeout=120)
    r0, r1 = (torch.load(f"{out}.{r}", weights_only=False) for r in range(2))
    # A hung rank 1: rank 0's collective fails after IBLEARN_DIST_TIMEOUT (2 s), not never.
    assert r0["hang"][0] in ("RuntimeError", "DistBackendError") and r0["hang"][2] < 5
    assert "iblearn: rank 0 of 2 failed" in r0["hang-stderr"]
    # A raising rank 1 is named, and rank 0 fails too instead of waiting (measured: 0.4 s, "Connection
    # closed by peer").
    assert r1["raise"][:2] == ("ValueError", "bad rows")
    assert "iblearn: rank 1 of 2 failed: ValueError: bad rows" in r1["raise-stderr"]
    assert "raise" in r0 and r0["raise"][2] < 60
