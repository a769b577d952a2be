"""`iblearn bench` finds the runners in the source checkout, and says how to get them outside one."""

from __future__ import annotations

import sys

from iblearn import cli


def test_bench_imports_the_runners_of_the_checkout():
    runners = cli._bench_runners()
    assert runners is sys.modules["benchmarks.runners"]
    assert callable(runners.bench_accuracy) and callable(runners.all_methods)


def test_outside_a_checkout_bench_says_how_to_get_the_runners(tmp_path, monkeypatch, capsys):
    assert cli._bench_runners(tmp_path) is None
    monkeypatch.setattr(cli.bench, "_bench_runners", lambda: None)
    assert cli.main(["bench", "estimators", "--quick", "--results", str(tmp_path)]) == 2
    message = capsys.readouterr().err
    assert "source checkout" in message and "make bench" in message
    assert not any(tmp_path.iterdir())  # nothing written
