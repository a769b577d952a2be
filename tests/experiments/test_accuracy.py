"""The accuracy grid: rows recorded one by one, resumed after a kill without redoing or losing any."""

from __future__ import annotations

import pytest

from iblearn.experiments import REPRODUCTIONS, ReproduceOptions
from iblearn.experiments.estimators.accuracy import (
    AccuracyConfig,
    Method,
    accuracy_table,
    grid_size,
    ours,
    run_accuracy,
    summarize,
)
from iblearn.records import RunFolder
from tests.experiments.kill import Killed, assert_resumes_exactly, kill_after

CONFIG = AccuracyConfig(tasks=("bivariate-normal-0.75", "categorical-uniform-5"), sizes=(200,), seeds=2)


def test_a_killed_run_resumes_where_it_stopped(tmp_path):
    run = RunFolder(tmp_path)
    with pytest.raises(Killed):
        run_accuracy(CONFIG, ours(), run, progress=kill_after(3))
    assert len(RunFolder(tmp_path).metrics()) == 3
    rows = run_accuracy(CONFIG, ours(), RunFolder(tmp_path))
    assert (
        len(rows) == grid_size(CONFIG, ours()) == 10
    )  # (KSG, Gaussian, Binning) + (MixedKSG, Binning), 2 seeds
    keys = [(r["task"], r["method"], r["n"], r["seed"]) for r in rows]
    assert len(set(keys)) == len(keys)


def test_unavailable_and_failing_methods_are_rows_not_crashes(tmp_path):
    def boom(x, y):
        raise RuntimeError("broken peer")

    methods = [
        Method("missing", lambda t: True, boom, requires="no_such_module_xyz"),
        Method("failing", lambda t: True, boom),
        Method("nan", lambda t: True, lambda x, y: float("nan")),
    ]
    rows = run_accuracy(
        AccuracyConfig(tasks=("bivariate-normal-0.75",), sizes=(50,), seeds=1), methods, RunFolder(tmp_path)
    )
    notes = {r["method"]: r["note"] for r in rows}
    assert notes["missing"].startswith("unavailable: ModuleNotFoundError")
    assert notes["failing"] == "failed: RuntimeError: broken peer"
    assert "| failing |" in accuracy_table(summarize(rows))
    assert "non-finite estimate on 1 of 1 runs" in accuracy_table(summarize(rows))


def test_reproduction_writes_the_conventional_run_folder(tmp_path):
    path = REPRODUCTIONS["estimators"](ReproduceOptions(out=tmp_path / "run"), CONFIG)
    for name in ("config.json", "metrics.csv", "results.json", "table.md"):
        assert (path / name).is_file(), name
    assert "bivariate-normal-0.75" in (path / "table.md").read_text()


def test_the_reproduction_killed_at_random_writes_resumes_to_the_rows_of_an_unbroken_run(tmp_path):
    assert_resumes_exactly(REPRODUCTIONS["estimators"], CONFIG, tmp_path)


def test_a_runs_config_json_reruns_that_run(tmp_path):
    """``--config`` of an estimators run's config.json (its fields nested under "accuracy", beside the
    methods it describes) reruns that run, as it does for the other reproductions; --set still wins."""
    from iblearn.cli import main
    from iblearn.records import read_json

    small = AccuracyConfig(tasks=("bivariate-normal-0.75",), sizes=(60,), seeds=1, first_seed=4)
    first = REPRODUCTIONS["estimators"](ReproduceOptions(out=tmp_path / "first"), small)
    assert (
        main(
            [
                "reproduce",
                "estimators",
                "--config",
                str(first / "config.json"),
                "--out",
                str(tmp_path / "again"),
            ]
        )
        == 0
    )
    assert read_json(tmp_path / "again" / "config.json") == read_json(first / "config.json")
    args = ["--config", str(first / "config.json"), "--set", "sizes=[50]", "--out", str(tmp_path / "set")]
    assert main(["reproduce", "estimators", *args]) == 0
    assert read_json(tmp_path / "set" / "config.json")["accuracy"]["sizes"] == [50]
