"""The LR range test resumed: killed after any record and loaded from its last ``state_dict``, it ends
with the summary, curves and range of a test never stopped, training only what the kill lost."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
import torch
from torch import nn

from iblearn.optim import LRRangeTest, MIProbe, lr_range_test

LRS = [0.01, 0.1, 0.3, 1.0]
CRASHES = {(0, 0.3)}  # (trial, lr) whose epochs report a NaN loss: trial 1 restarts from 0.3


class Killed(Exception):
    pass


class Tiny:
    """A linear classifier with dropout on random data: its batches come from a generator of its own,
    its initial weights and dropout masks from torch's global RNG (never seeded here)."""

    def __init__(self, crashes=frozenset(CRASHES)):
        g = torch.Generator().manual_seed(0)
        self.y = torch.randint(0, 3, (90,), generator=g)
        self.x = torch.randn(90, 4, generator=g) + 2 * nn.functional.one_hot(self.y, 4).float()
        self.probe = MIProbe(self.x, self.y, n=60, layers=["0", "2"])
        self.batches = torch.Generator().manual_seed(1)
        self.crashes, self.trial, self.trained = crashes, -1, 0

    def make_model(self, trial):
        self.trial = trial
        return nn.Sequential(nn.Linear(4, 6), nn.Dropout(0.3), nn.Linear(6, 3))

    def train_epoch(self, model, optimizer):
        self.trained += 1
        model.train()
        total, hits = 0.0, 0
        for idx in torch.randperm(90, generator=self.batches).split(30):
            optimizer.zero_grad()
            out = model(self.x[idx])
            loss = nn.functional.cross_entropy(out, self.y[idx])
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
            hits += int((out.argmax(1) == self.y[idx]).sum())
        crashed = (self.trial, optimizer.param_groups[0]["lr"]) in self.crashes
        return {"train_loss": math.nan if crashed else total / 90, "train_acc": hits / 90}

    def arguments(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The arguments of the range test on this network, for ``LRRangeTest`` and ``lr_range_test``."""
        fns = (self.make_model, self.train_epoch, self.probe.measure)
        return fns, {"ixy": [self.probe.ixy()] * 2, "lrs": LRS, "trials": 3, "epochs": 3}

    def test(self, **kwargs):
        args, settings = self.arguments()
        return LRRangeTest(*args, **settings, **kwargs)


class Saver:
    """Steps a test to its end, keeping after every record what a file would (a copy of the test's
    state and the batch generator's state); killed at its ``kill``-th record before keeping it."""

    def __init__(self, tiny, kill=None, state=None, batches=None):
        self.tiny, self.kill, self.calls = tiny, kill, 0
        self.state, self.batches = state, batches
        self.records = list(state["records"]) if state else []

    def run(self, test):
        if self.state is not None:
            test.load_state_dict(self.state)
        while not test.done:
            record = test.step()
            self.calls += 1
            if self.calls == self.kill:
                raise Killed
            self.records.append(record)
            self.state, self.batches = copy.deepcopy(test.state_dict()), self.tiny.batches.get_state()
        return test.result()

    def resume(self, tiny, kill=None):
        """Another process's test, handed this state back: a fresh harness, another global RNG."""
        torch.manual_seed(12345 if self.records else 0)  # nothing recorded: it starts as the first did
        if self.batches is not None:
            tiny.batches.set_state(self.batches)
        return Saver(tiny, kill, self.state, self.batches)


def _json(value):
    return json.dumps(value, sort_keys=True)  # NaN != NaN: compare the exact text (floats as repr)


def _same(result, reference):
    return (
        _json(result.summary) == _json(reference.summary)
        and _json(result.curves) == _json(reference.curves)
        and (result.lr_min, result.lr_max, result.lr_top, result.epsilon)
        == (reference.lr_min, reference.lr_max, reference.lr_top, reference.epsilon)
    )


@pytest.fixture(scope="module")
def unbroken():
    torch.manual_seed(0)
    tiny = Tiny()
    saver = Saver(tiny)
    return saver.run(tiny.test()), saver.records, tiny.trained


def test_lr_range_test_runs_the_same_test_to_its_end(unbroken):
    torch.manual_seed(0)
    tiny = Tiny()
    said = []
    args, settings = tiny.arguments()
    result = lr_range_test(*args, **settings, progress=said.append)
    assert _same(result, unbroken[0])
    assert said[:4] == [
        "trial 0: lr 0.01",
        "trial 0: lr 0.1",
        "trial 0: lr 0.3 crashed; next trial",
        "trial 1: lr 0.3",
    ]
    assert len(said) == len(result.summary)


def test_the_reference_crashes_and_restarts(unbroken):
    result, records, _ = unbroken
    tested = [(r["trial"], r["lr"], r["crashed"]) for r in result.summary]
    assert tested[:4] == [(0, 0.01, False), (0, 0.1, False), (0, 0.3, True), (1, 0.3, False)]
    # Every record the test made: an epoch 0 per candidate, then its rows, which are the curves.
    assert [r for r in records if r["epoch"] > 0] == result.curves
    assert sum(r["epoch"] == 0 for r in records) == len(result.summary)
    assert all(
        set(r) == {"trial", "lr", "epoch", "ity", "ity_0", "ity_1"} for r in records if r["epoch"] == 0
    )


def _kills(records):
    """Kills where the resumed test goes on differently: with nothing recorded, inside a candidate (at
    its epoch 0 and later), between two candidates of a trial, into a crash, after a crash (a new trial
    from the LR that crashed), and at the last record."""
    where = [(r["trial"], r["lr"], r["epoch"]) for r in records]
    crash = next(i for i, r in enumerate(records) if r.get("train_loss") != r.get("train_loss"))
    return sorted({1, 2, 3, where.index((0, 0.1, 0)) + 1, crash + 1, crash + 2, len(records)})


def _killed_and_resumed(kill, reference, records, trained):
    torch.manual_seed(0)
    tiny = Tiny()
    saver = Saver(tiny, kill)
    with pytest.raises(Killed):
        saver.run(tiny.test())
    again = Tiny()
    resumed = saver.resume(again)
    result = resumed.run(again.test())
    assert _same(result, reference), f"killed at record {kill}"
    assert resumed.records == records, f"killed at record {kill}"
    # A kill loses at most the epoch in flight: the killed record's, if it was an epoch's row.
    lost = records[kill - 1]["epoch"] > 0
    assert tiny.trained + again.trained == trained + lost, f"killed at record {kill}"


def test_killed_and_resumed_equals_a_test_never_stopped(unbroken):
    for kill in _kills(unbroken[1]):
        _killed_and_resumed(kill, *unbroken)


@pytest.mark.slow
def test_killed_at_every_record(unbroken):
    for kill in range(1, len(unbroken[1]) + 1):
        _killed_and_resumed(kill, *unbroken)


def test_killed_twice(unbroken):
    reference, records, _ = unbroken
    torch.manual_seed(0)
    tiny = Tiny()
    first = Saver(tiny, 9)
    with pytest.raises(Killed):
        first.run(tiny.test())
    again = Tiny()
    second = first.resume(again, kill=7)  # its 7th call: the 15th record
    with pytest.raises(Killed):
        second.run(again.test())
    last = Tiny()
    third = second.resume(last)
    assert _same(third.run(last.test()), reference)
    assert third.records == records


def test_a_state_of_every_record_trains_nothing(unbroken):
    reference, records, _ = unbroken
    tiny = Tiny()
    tiny.make_model = tiny.train_epoch = None  # called, they would fail
    test = tiny.test()
    test.load_state_dict({"records": records, "state": None})
    assert test.done
    assert _same(test.result(), reference)
    with pytest.raises(ValueError, match="step: every trial has ended"):
        test.step()


def test_a_state_this_test_could_not_have_made_fails_before_any_training(unbroken):
    _, records, _ = unbroken

    def load(records, state=None):
        tiny = Tiny()
        tiny.train_epoch = None  # a test that trained would fail otherwise
        tiny.test().load_state_dict({"records": records, "state": state})

    # Records of another set of LRs.
    other = [{**r, "lr": {0.01: 0.02}.get(r["lr"], r["lr"])} for r in records]
    with pytest.raises(ValueError, match=r"state: record 0 is trial 0, lr 0.02, epoch 0, where this test"):
        load(other)
    # The first candidate alike, then another: found before any training too.
    shifted = [r for r in records if r["lr"] != 0.1]
    with pytest.raises(ValueError, match=r"state: record 4 is trial 0, lr 0.3, epoch 0, where .* lr 0.1,"):
        load(shifted)
    with pytest.raises(ValueError, match="state: 1 records after the end of this test"):
        load([*records, records[-1]])
    with pytest.raises(ValueError, match="state: its records are a dict, not a list of records"):
        load(records[0])
    # Written as JSON text where NaN is "nan": the crash could not be judged again.
    nan = [{**r, "train_loss": "nan"} if r.get("train_loss") != r.get("train_loss") else r for r in records]
    with pytest.raises(ValueError, match=r"\(trial 0, lr 0.3, epoch 1\) has no number for train_loss"):
        load(nan)
    with pytest.raises(ValueError, match=r"record 0 \(trial 0, lr 0.01, epoch 0\) has no number for ity_0"):
        load([{"trial": 0, "lr": 0.01, "epoch": 0}])


def test_a_live_state_missing_not_of_the_last_record_or_not_fitting_is_refused():
    torch.manual_seed(0)
    tiny = Tiny()
    saver = Saver(tiny, kill=4)
    with pytest.raises(Killed):
        saver.run(tiny.test())
    records, live = saver.state["records"], saver.state["state"]  # epochs 0 - 2 of the first candidate

    def go_on(state):
        test = Tiny().test()
        test.load_state_dict(state)
        test.step()

    with pytest.raises(ValueError, match="state: needed to go on after its 3 records"):
        go_on({"records": records, "state": None})
    with pytest.raises(
        ValueError, match=r"state: of trial 0, lr 0.01, epoch 2, but its last record .* epoch 1"
    ):
        go_on({"records": records[:2], "state": live})
    with pytest.raises(ValueError, match=r"state: of trial 0, lr 0.01, epoch 2, but its last record is none"):
        go_on({"records": [], "state": live})
    with pytest.raises(ValueError, match="state: does not fit this test \\(RuntimeError"):
        go_on({"records": records, "state": {**live, "model": {"0.weight": torch.zeros(2, 2)}}})
    with pytest.raises(ValueError, match="state: does not fit this test \\(KeyError"):
        go_on({"records": records, "state": {k: v for k, v in live.items() if k != "rng"}})
