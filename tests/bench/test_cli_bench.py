"""`iblearn bench` runs the checkout's entry point, ``python -m benchmarks``, in a process of its own
(the command imports nothing from outside the package), and says how to get it outside a checkout."""

from __future__ import annotations

import subprocess
import sys

import benchmarks.__main__ as entry

from iblearn import cli
from iblearn.cli import bench


def test_bench_runs_the_checkouts_entry_point_with_the_commands_arguments(tmp_path, monkeypatch):
    assert bench.checkout() == bench.CHECKOUT  # the tests run in a checkout
    ran = []

    def run(argv, cwd, check):
        ran.append((argv, cwd))
        return subprocess.CompletedProcess(argv, 3)

    monkeypatch.setattr(bench.subprocess, "run", run)
    monkeypatch.chdir(tmp_path)  # the results folder is the caller's, whatever folder the benchmarks run in
    code = cli.main(
        ["--threads", "1", "bench", "estimators", "--quick", "--only", "speed", "--results", "out"]
    )
    assert code == 3  # the benchmarks' own exit status
    cli.main(["bench", "neural", "--restart", "--results", "out"])
    common = [sys.executable, "-m", "benchmarks"]
    assert ran[0] == (
        [
            *common,
            "estimators",
            "--results",
            str(tmp_path / "out"),
            "--threads",
            "1",
            "--only=speed",
            "--quick",
        ],
        bench.CHECKOUT,
    )
    assert ran[1][0] == [*common, "neural", "--results", str(tmp_path / "out"), "--threads", "1", "--restart"]


def test_the_entry_point_runs_what_the_command_asks(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(
        entry.runners, "bench_speed", lambda results, quick: calls.append(("speed", quick)) or ""
    )
    monkeypatch.setattr(
        entry.runners,
        "bench_accuracy",
        lambda results, quick, resume, progress: calls.append(("accuracy", quick, resume)) or "",
    )
    assert entry.main(["estimators", "--quick", "--results", str(tmp_path / "r"), "--threads", "1"]) == 0
    assert entry.main(["estimators", "--only=accuracy", "--restart", "--results", str(tmp_path / "r")]) == 0
    assert calls == [("speed", True), ("accuracy", True, True), ("accuracy", False, False)]
    assert (tmp_path / "r").is_dir()


def test_outside_a_checkout_bench_says_how_to_get_the_benchmarks(tmp_path, monkeypatch, capsys):
    assert bench.checkout(tmp_path) is None
    monkeypatch.setattr(bench, "checkout", lambda: None)
    assert cli.main(["bench", "estimators", "--quick", "--results", str(tmp_path)]) == 2
    message = capsys.readouterr().err
    assert "source checkout" in message and "make bench" in message
    assert not any(tmp_path.iterdir())  # nothing written


def test_the_entry_point_writes_the_committed_results_only_when_asked(tmp_path, monkeypatch, capsys):
    folders = []
    monkeypatch.setattr(entry.runners, "bench_speed", lambda results, quick: folders.append(results) or "")
    monkeypatch.setattr("benchmarks.runners.script.SCRATCH", tmp_path / "_scratch")
    assert entry.main(["estimators", "--only=speed"]) == 0
    assert folders == [tmp_path / "_scratch"]
    for argv in (["--results", str(entry.RESULTS)], ["--quick", "--write-results"]):
        try:
            entry.main(["estimators", "--only=speed", *argv])
        except SystemExit as stop:
            assert stop.code == 2 and "--write-results" in capsys.readouterr().err
        else:
            raise AssertionError(argv)
