"""Run records: atomic writes, metrics rows, checkpoints, configs."""

from __future__ import annotations

import math
import os
import signal
import time

import numpy as np
import pytest
import torch

from iblearn import records
from iblearn.records import (
    RunFolder,
    atomic_write_text,
    markdown_table,
    read_json,
    write_json,
)


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    atomic_write_text(tmp_path / "a.txt", "one")
    atomic_write_text(tmp_path / "a.txt", "two")
    assert (tmp_path / "a.txt").read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_atomic_writes_get_the_mode_of_a_plain_open_and_stale_temporaries_go(tmp_path):
    atomic_write_text(tmp_path / "a.txt", "one")
    with open(tmp_path / "b.txt", "w") as f:
        f.write("one")
    assert (tmp_path / "a.txt").stat().st_mode == (tmp_path / "b.txt").stat().st_mode
    stale, fresh = tmp_path / ".metrics.csv.x.tmp", tmp_path / ".metrics.csv.y.tmp"
    stale.write_text("half")
    fresh.write_text("being written")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    RunFolder(tmp_path)
    assert not stale.exists() and fresh.exists()  # another process may still be writing the fresh one


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    write_json(path, {"a": 1})

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", broken)
    with pytest.raises(OSError):
        write_json(path, {"a": 2})
    assert read_json(path) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_json_keeps_tensors_and_non_finite_numbers_readable(tmp_path):
    write_json(tmp_path / "r.json", {"t": torch.tensor([1.0, 2.0]), "inf": math.inf, "nested": ({"x": 1},)})
    assert read_json(tmp_path / "r.json") == {"t": [1.0, 2.0], "inf": "inf", "nested": [{"x": 1}]}
    write_json(tmp_path / "n.json", {"np": np.float64("nan"), "arr": np.array([1.0, np.inf])})
    assert (tmp_path / "n.json").read_text().count('"nan"') == 1  # strict JSON: no bare NaN
    assert read_json(tmp_path / "n.json") == {"np": "nan", "arr": [1.0, "inf"]}


def test_metrics_rows_survive_a_new_folder_object_and_grow_columns(tmp_path):
    run = RunFolder(tmp_path)
    run.append_metrics({"epoch": 1, "loss": 0.5})
    run.append_metrics({"epoch": 2, "loss": 0.25, "acc": 0.9})
    again = RunFolder(tmp_path)
    assert again.metrics() == [
        {"epoch": "1", "loss": "0.5", "acc": ""},
        {"epoch": "2", "loss": "0.25", "acc": "0.9"},
    ]
    again.truncate_metrics(1)
    assert RunFolder(tmp_path).metrics() == [{"epoch": "1", "loss": "0.5", "acc": ""}]


def test_checkpoints_round_trip_with_weights_only(tmp_path):
    run = RunFolder(tmp_path)
    assert run.load_checkpoint() is None
    state = {"epoch": 3, "model": {"w": torch.arange(3.0)}, "history": [0.1, 0.2]}
    run.save_checkpoint(state)
    loaded = run.load_checkpoint()
    assert loaded["epoch"] == 3 and torch.equal(loaded["model"]["w"], torch.arange(3.0))
    assert loaded["history"] == [0.1, 0.2]


def test_results_carry_the_environment(tmp_path, monkeypatch):
    monkeypatch.setattr(records.runs, "git_commit", lambda: "at-start")
    run = RunFolder(tmp_path)
    monkeypatch.setattr(records.runs, "git_commit", lambda: "committed-while-running")
    run.write_results({"acc": 0.5}, seed=1, device="cpu")
    results = read_json(tmp_path / "results.json")
    assert results["seed"] == 1 and results["device"] == "cpu"
    assert results["environment"]["git_commit"] == "at-start"  # the code the run imported
    assert results["environment"]["torch"] == torch.__version__
    assert results["environment"]["machine"] and results["environment"]["date"].endswith("+00:00")


def test_a_table_names_what_produced_it_once_the_results_are_written(tmp_path, monkeypatch):
    monkeypatch.setattr(records.runs, "git_commit", lambda: "0123456789abcdef")
    run = RunFolder(tmp_path)
    run.write_table("| a |\n|---|\n| 1 |\n")
    assert (tmp_path / "table.md").read_text() == "| a |\n|---|\n| 1 |\n"  # nothing to name yet
    run.write_results({"acc": 0.5}, seed=3, device="cpu")
    run.write_table("| a |\n|---|\n| 1 |\n")
    last = (tmp_path / "table.md").read_text().splitlines()[-1]
    assert last.startswith("_Run on cpu, ") and "seed 3" in last and "commit 0123456" in last
    assert f"torch {torch.__version__}" in last


def test_markdown_table():
    assert markdown_table(["a", "b"], [[1, 0.123456]]) == "| a | b |\n|---|---|\n| 1 | 0.1235 |\n"


def test_a_resumed_run_refuses_a_different_config(tmp_path):
    RunFolder(tmp_path).write_config({"epochs": 2, "tasks": ["a"]})
    RunFolder(tmp_path, resume=True).write_config({"epochs": 2, "tasks": ("a",)})  # the same, as JSON
    with pytest.raises(ValueError, match=r"--resume: .*differs in: epochs"):
        RunFolder(tmp_path, resume=True).write_config({"epochs": 3, "tasks": ["a"]})
    RunFolder(tmp_path).write_config({"epochs": 3})  # a fresh start may change it


def test_a_corrupt_json_file_is_named(tmp_path):
    (tmp_path / "config.json").write_text('{"a": 1')
    with pytest.raises(ValueError, match=r"config\.json: not valid JSON"):
        read_json(tmp_path / "config.json")


def test_a_killed_writers_temporary_files_are_removed_at_once(tmp_path):
    import subprocess
    import sys

    from iblearn.records import RunFolder

    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = int(done.stdout)  # a process that has exited: its PID names no live writer
    (tmp_path / f".metrics.csv.{dead}.abc123.tmp").write_bytes(b"x" * 100)
    live = tmp_path / f".metrics.csv.{os.getpid()}.def456.tmp"
    live.write_bytes(b"y")
    RunFolder(tmp_path)
    assert [p.name for p in tmp_path.glob(".*.tmp")] == [live.name]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a readable checkpoint"),  # empty
        (b"PK\x03\x04" + bytes(range(200)), "not a readable checkpoint"),  # random bytes in a zip's clothes
        ("truncated", "not a readable checkpoint"),
        ("list", "holds a dict, found list"),
        ("payload", "not a readable checkpoint"),  # a pickle that weights_only refuses
    ],
)
def test_a_corrupt_checkpoint_is_named_not_loaded(tmp_path, content, message):
    run = RunFolder(tmp_path)
    if content == "truncated":
        run.save_checkpoint({"epoch": 1, "w": torch.ones(1000)}, "c.pt")
        data = (tmp_path / "c.pt").read_bytes()
        content = data[: len(data) // 2]
    elif content == "list":
        run.save_checkpoint({}, "c.pt")
        torch.save([1, 2], tmp_path / "c.pt")
        content = None
    elif content == "payload":
        import pickle

        class Payload:
            def __reduce__(self):
                return (os.system, ("true",))

        content = pickle.dumps(Payload(), protocol=2)
    if content is not None:
        (tmp_path / "c.pt").write_bytes(content)
    with pytest.raises(ValueError, match=rf"c\.pt: .*{message}.*delete it"):
        run.load_checkpoint("c.pt")


def test_a_checkpoint_that_is_a_link_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere.pt"
    torch.save({"epoch": 1}, elsewhere)
    run = RunFolder(tmp_path / "run")
    (tmp_path / "run" / "c.pt").symlink_to(elsewhere)
    with pytest.raises(ValueError, match=r"c\.pt: .*not a symbolic link"):
        run.load_checkpoint("c.pt")
    (tmp_path / "run" / "d.pt").symlink_to(tmp_path / "missing.pt")  # a dangling one too
    with pytest.raises(ValueError, match="symbolic link"):
        run.load_checkpoint("d.pt")


@pytest.mark.parametrize("text", ["[1, 2]", "[" * 100_000 + "]" * 100_000, '"epochs"', "\xff\xfe"])
def test_a_resumed_run_names_a_config_that_is_not_an_object_of_settings(tmp_path, text):
    (tmp_path / "config.json").write_bytes(text.encode("latin-1"))
    with pytest.raises(ValueError, match=r"config\.json(: not valid JSON| holds a JSON)"):
        RunFolder(tmp_path, resume=True).write_config({"epochs": 2})


@pytest.mark.parametrize("name", ["checkpoint.pt", "metrics.csv", "config.json", "results.json"])
@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_record_that_is_not_a_regular_file_is_named_not_opened(tmp_path, name, kind):
    """Opening a FIFO blocks until another process writes to it: the run would hang, not fail."""
    run = RunFolder(tmp_path / "run", resume=True)
    path = run.file(name)
    os.mkfifo(path) if kind == "fifo" else path.mkdir()
    calls = {
        "checkpoint.pt": lambda: run.load_checkpoint(),
        "metrics.csv": lambda: run.metrics(),
        "config.json": lambda: run.write_config({"a": 1}),
        "results.json": lambda: run.write_table("| a |\n|---|\n"),
    }
    previous = signal.signal(signal.SIGALRM, lambda *_: pytest.fail(f"{kind} {name} blocked"))
    signal.alarm(5)
    try:
        with pytest.raises(ValueError, match=f"{name}: not a regular file"):
            calls[name]()
        with pytest.raises(ValueError, match="not a regular file"):
            read_json(path)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_checkpoint_folder_holding_another_key_says_what_the_file_is_and_not_to_delete_it(tmp_path):
    from iblearn.records import BatchStore

    (tmp_path / "key").write_text("my notes\n")
    with pytest.raises(
        ValueError, match=r"expected to hold this run's fingerprint.*holds something else"
    ) as e:
        BatchStore(tmp_path, "a" * 64)
    assert "delete" not in str(e.value)
    BatchStore(tmp_path / "run", "b" * 64)
    with pytest.raises(ValueError, match="holds another run's"):
        BatchStore(tmp_path / "run", "c" * 64)


def test_a_folder_with_files_and_no_key_is_refused_and_left_as_it_is(tmp_path):
    from iblearn.records import BatchStore

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"^checkpoint: .*no 'key' file"):
        BatchStore(tmp_path, "a" * 64)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    BatchStore(tmp_path / "empty", "a" * 64)  # a new folder, or an empty one, becomes the run's
    (tmp_path / "made").mkdir()
    BatchStore(tmp_path / "made", "a" * 64)


def test_keyed_records_round_trip_and_refuse_another_runs(tmp_path):
    import numpy as np

    from iblearn.records import BatchStore

    mine, other = BatchStore(tmp_path / "a", "a" * 64), BatchStore(tmp_path / "b", "b" * 64)
    mine.write_record("r.json", {"x": 1})
    mine.save_arrays("r.npz", {"v": np.arange(3.0)})
    assert mine.read_record("r.json", dict) == {"x": 1}
    assert np.array_equal(mine.load_arrays("r.npz", lambda a: a["v"]), np.arange(3.0))
    assert mine.read_record("absent.json", dict) is None
    for name in ("r.json", "r.npz"):
        (tmp_path / "b" / name).write_bytes((tmp_path / "a" / name).read_bytes())
    with pytest.raises(ValueError, match=r"r\.json does not carry this run's key"):
        other.read_record("r.json", dict)
    with pytest.raises(ValueError, match=r"r\.npz does not carry this run's key"):
        other.load_arrays("r.npz", dict)
    (tmp_path / "a" / "r.npz").write_bytes(b"PK\x03\x04 torn")
    with pytest.raises(ValueError, match=r"^checkpoint: .*r\.npz"):
        mine.load_arrays("r.npz", dict)


@pytest.mark.parametrize(
    "data, message",
    [
        (b'key,epoch\n"x,1\n', "line 2 has another number of fields"),
        (b"epoch,loss\n1,0.5,7\n", "line 2 has another number of fields"),
        (b"\xff\xfe\x00garbage", "not a metrics table a run writes"),
    ],
)
def test_a_metrics_table_no_run_wrote_is_refused_naming_it(tmp_path, data, message):
    (tmp_path / "metrics.csv").write_bytes(data)
    with pytest.raises(ValueError, match=f"metrics.csv: {message}.*delete it"):
        RunFolder(tmp_path, resume=True).metrics()


def test_a_checkpoint_folder_under_a_file_is_refused_naming_both(tmp_path):
    from iblearn.records import BatchStore

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"checkpoint: .*notes.txt/run lies under .*notes.txt, a file"):
        BatchStore(tmp_path / "notes.txt" / "run", "a" * 64)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_write_that_fills_the_disk_names_the_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    # write() and fsync() report ENOSPC without a file name: the command printed only "No space left
    # on device", not which of the run's files it could not write.
    import errno

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(records.atomic.os, "fsync", full)
    with pytest.raises(OSError, match="No space left") as caught:
        records.atomic.atomic_write_text(tmp_path / "results.json", "{}")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(tmp_path / "results.json")
    assert list(tmp_path.iterdir()) == []


def test_a_figure_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    """A run's plots go through the same atomic write as its other records: a disk that fills while one
    is written leaves the earlier picture, names the file, and leaves no temporary."""
    import errno

    pytest.importorskip("matplotlib")
    from iblearn import _plotting

    fig, ((ax,),) = _plotting.figure(1, 1, figsize=(3, 2))
    ax.plot([0, 1], [0, 1])
    _plotting.finish(fig, tmp_path / "plot.png")
    before = (tmp_path / "plot.png").read_bytes()
    assert before.startswith(b"\x89PNG")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(records.atomic.os, "fsync", full)
    ax.plot([0, 1], [1, 0])
    with pytest.raises(OSError, match="No space left") as caught:
        _plotting.finish(fig, tmp_path / "plot.png")
    assert caught.value.filename == str(tmp_path / "plot.png")
    assert (tmp_path / "plot.png").read_bytes() == before and [p.name for p in tmp_path.iterdir()] == [
        "plot.png"
    ]
