"""The paper 004 reproduction on a tiny configuration: every method runs, the range test is cached,
a killed run resumes, the table stands beside the paper's numbers."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import torch

import iblearn.experiments.mi_lr as exp
from iblearn.experiments import REPRODUCTIONS, ReproduceOptions
from iblearn.records import Checkpoint, RunFolder, read_json
from tests.experiments.kill import Killed, assert_resumes_exactly, image_loader, kill_at

# The quick preset on the fake images: fewer epochs, samples and learning rates, one grid point each.
TINY = replace(
    exp.Config.quick(),
    epochs=2,
    train_size=100,
    test_size=50,
    val_size=50,
    mi_samples=100,
    range_lrs=(0.01, 0.1),
    grid={"adam": (1e-3,), "rmsprop": (1e-3,), "step-sgd": (0.1,), "lars": (1.0,)},
    sensitivity=(60,),
)


@pytest.fixture(autouse=True)
def _tiny_data(monkeypatch):
    monkeypatch.setattr(exp, "load_images", image_loader(400, 150, high=100))


def test_runs_every_method_resumes_and_tabulates(tmp_path):
    with pytest.raises(Killed):
        exp.run(ReproduceOptions(out=tmp_path, progress=kill_at("mnist lenet5 rmsprop")), TINY)
    assert (tmp_path / "lr_range-mnist-lenet5.json").exists()
    before = len(RunFolder(tmp_path).metrics())
    path = exp.run(ReproduceOptions(out=tmp_path, resume=True), TINY)
    rows = RunFolder(path).metrics()
    assert len(rows) > before
    keys = {r["key"] for r in rows}
    for method in exp.METHODS:
        assert f"mnist|lenet5|{method}|0" in keys
    assert {"mnist|lenet5|mi-global n=60 fixed|0", "mnist|lenet5|mi-global n=60 re-estimated|0"} <= keys
    layerwise = [r for r in rows if r["key"] == "mnist|lenet5|mi-layerwise|0"]
    assert all(r["lr_3"] != "" and r["mi_3"] != "" for r in layerwise)  # four groups, four MIs
    adam = [r for r in rows if r["key"].startswith(("mnist|lenet5|adam", "grid|mnist|lenet5|adam"))]
    # I(T; Y) measured for the alternatives' runs too (their curves beside the schedules'), not the grid's
    assert {r["key"].startswith("grid") for r in adam if r["mi_0"] != ""} == {False}
    assert all(r["mi_0"] != "" for r in adam if not r["key"].startswith("grid"))
    table = (path / "table.md").read_text()
    assert "99.27" in table and "LR range test" in table
    results = read_json(path / "results.json")
    assert set(results["ranges"]["mnist|lenet5"]) == {"lr_min", "lr_max", "lr_top", "epsilon"}
    assert REPRODUCTIONS["mi-lr"] is exp.run


def test_the_mi_driven_lr_follows_the_scheduler():
    rows = [r for r in RunFolder(_run_tiny()).metrics() if r["key"] == "mnist|lenet5|mi-global|0"]
    assert [r["epoch"] for r in rows] == ["1", "2"] and float(rows[0]["mi_0"]) >= 0


def _run_tiny():
    import tempfile

    out = tempfile.mkdtemp()
    return exp.run(
        ReproduceOptions(out=out),
        replace(TINY, methods=("mi-global",), sensitivity=()),
    )


def test_a_run_killed_at_random_writes_resumes_to_the_rows_of_an_unbroken_run(tmp_path):
    assert_resumes_exactly(exp.run, TINY, tmp_path, kills=1)


def test_ixy_is_h_y_by_default_or_paper_004s_ksg_estimate(tmp_path, monkeypatch):
    from dataclasses import replace

    asked = []

    def ixy(self, *, estimate=False):
        asked.append(estimate)
        raise Killed

    monkeypatch.setattr(exp.MIProbe, "ixy", ixy)
    for choice in ("entropy", "ksg"):
        with pytest.raises(Killed):
            exp.run(ReproduceOptions(out=tmp_path / choice), replace(TINY, ixy=choice))
    assert asked == [False, True]
    with pytest.raises(ValueError, match="ixy: expected one of entropy, ksg, got 'mine'"):
        exp.run(ReproduceOptions(out=tmp_path / "bad"), replace(TINY, ixy="mine"))
    with pytest.raises(ValueError, match="range_restart: expected one of candidate, smallest"):
        exp.run(ReproduceOptions(out=tmp_path / "bad"), replace(TINY, range_restart="first"))


# 1e30 diverges: I(T; Y) is NaN after its first epoch, a crash in trial 0, and trial 1 restarts from it.
CRASHING = replace(TINY, range_lrs=(0.03, 1e30), range_trials=2)
RANGE = "lr_range-mnist-lenet5.json"
CHECKPOINT = "checkpoint-lr_range-mnist-lenet5.pt"


def _range_job(out, config=CRASHING):
    data = exp.load("mnist", config)
    assert not isinstance(data, str)
    probe = exp.MIProbe(*data["train"], n=config.mi_samples, seed=0)
    return exp.Job(RunFolder(out), "mnist", "lenet5", data, config, probe, probe.ixy(), torch.device("cpu"))


@pytest.mark.parametrize(
    ("kill", "lost"),
    [
        # Its records: epochs 0, 1, 2 of 0.03, epochs 0 and 1 (the crash) of 1e30, the same in trial 1.
        # The 3rd write killed, the test goes on inside 0.03 after its first epoch, its dropout masks and
        # batches after those of that epoch, and trains its 2nd epoch again; the 6th, after the crash,
        # with trial 1 (nothing lost: that write is its epoch 0, before training).
        (3, 1),
        pytest.param(6, 0, marks=pytest.mark.slow),
    ],
)
def test_a_range_test_killed_after_an_epoch_resumes_to_the_unbroken_result(tmp_path, monkeypatch, kill, lost):
    trained = []
    epoch = exp.train_epoch
    monkeypatch.setattr(exp, "train_epoch", lambda *args: trained.append(1) or epoch(*args))
    exp.range_test(_range_job(tmp_path / "unbroken"), 0)
    unbroken, total = read_json(tmp_path / "unbroken" / RANGE), len(trained)
    tested = [(r["trial"], r["lr"], r["crashed"]) for r in unbroken["summary"]]
    assert tested == [(0, 0.03, False), (0, 1e30, True), (1, 1e30, True)]
    assert not (tmp_path / "unbroken" / CHECKPOINT).exists()  # the cache says everything
    save, calls = Checkpoint.save, []

    def killing(self, state, **objects):
        calls.append(self.name)
        if len(calls) == kill:
            raise Killed
        save(self, state, **objects)

    out, trained[:] = tmp_path / "killed", []
    with monkeypatch.context() as patch, pytest.raises(Killed):
        patch.setattr(Checkpoint, "save", killing)
        exp.range_test(_range_job(out), 0)
    assert set(calls) == {CHECKPOINT} and not (out / RANGE).exists()
    with pytest.raises(ValueError, match=f"{CHECKPOINT}: state: record 0 is trial 0, lr 0.03, epoch 0"):
        exp.range_test(_range_job(out, replace(CRASHING, range_lrs=(0.01, 1e30))), 0)
    torch.manual_seed(kill)  # another process, another global RNG
    exp.range_test(_range_job(out), 0)
    assert read_json(out / RANGE) == unbroken
    assert len(trained) == total + lost  # at most the epoch in flight is trained again
    assert not (out / CHECKPOINT).exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"range_epochs": 1}, "--set range_epochs: Algorithm 2 needs at least 2 epochs per candidate, got 1"),
        ({"mi_samples": 5}, "--set mi_samples: MIProbe needs at least 10 samples, got 5"),
    ],
)
def test_the_range_test_and_probe_minimums_are_refused_naming_the_field(overrides, message):
    # Before the data is read: the range test and the probe would refuse them later, naming their own
    # arguments (epochs, n), not the field that was set.
    with pytest.raises(ValueError, match=re.escape(message)):
        ReproduceOptions(overrides=overrides).configure(exp.Config.quick())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        # The whole training set (400 fake images) held out: nothing left to train on, which died in the
        # MI probe's sample or the first epoch.
        ({"train_size": None, "val_size": 400}, "--set val_size: 400 of the 400 mnist training images held"),
        ({"train_size": None, "val_size": 395}, "--set val_size: 395 of the 400 mnist training images held"),
        # 350 + 100 > 400: the validation rows came out of the training rows, 300 of the 350 asked for.
        ({"train_size": 350, "val_size": 100}, "--set train_size: 350 training and 100 validation images"),
        # The probe of 200 samples took all 100 training rows: a sensitivity row of n=200 measured n=100.
        ({"sensitivity": [60, 200]}, "--set sensitivity: a sample of 200 from the 100 training images"),
    ],
)
def test_sizes_the_data_set_cannot_hold_are_refused_before_anything_runs(tmp_path, overrides, message):
    options = ReproduceOptions(out=tmp_path / "run", overrides=overrides)
    with pytest.raises(ValueError, match=re.escape(message)):
        exp.run(options, TINY)
    assert not (tmp_path / "run").exists()


def test_the_largest_sizes_the_data_set_holds_are_taken(tmp_path, monkeypatch):
    monkeypatch.setattr(exp, "range_test", lambda *_: (_ for _ in ()).throw(Killed()))
    for i, overrides in enumerate(
        [
            {"train_size": None, "val_size": 390, "sensitivity": [10]},
            {"train_size": 350, "val_size": 50, "sensitivity": [350]},
        ]
    ):
        with pytest.raises(Killed):  # the checks passed: the run reached its range test
            exp.run(ReproduceOptions(out=tmp_path / str(i), overrides=overrides), TINY)
