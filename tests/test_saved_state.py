"""States saved by earlier versions of the library still load and go on as the run that saved them
would have: estimators' state dicts, greedy training's and the reproductions' checkpoints, and the LR
range test's checkpoint (tests/saved/README.md says what each file holds)."""

from __future__ import annotations

import json
import shutil
import sys
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

from iblearn.estimators import REGISTRY
from iblearn.experiments.run_checkpoint import RunCheckpoint
from iblearn.records import RunFolder
from iblearn.training import Batch, CrossEntropy, InfoMax, train_greedy

SAVED = Path(__file__).parent / "saved"
sys.path.insert(0, str(Path(__file__).parent / "optim"))


def _load(name):
    return torch.load(SAVED / name, weights_only=True)


@pytest.mark.parametrize("name", ["mine", "infonce", "smile", "lmi"])
def test_an_estimators_saved_state_dict_loads_and_estimates_the_same(name):
    saved = _load("estimators.pt")
    entry = saved["estimators"][name]
    est = REGISTRY[name](**entry["settings"])
    est.load_state_dict(entry["state"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a 20-step critic's estimate may be flagged: the number counts
        got = float(est(saved["x"][300:], saved["y"][300:]))
    # float32 critics: torch's kernels for another instruction set (AVX2 against AVX-512) sum in
    # another order, a few 1e-7 apart; a state that failed to load misses by far more.
    assert got == pytest.approx(entry["estimate"], rel=1e-5, abs=1e-5)


def _greedy_data():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (300,), generator=g)
    x = torch.randn(300, 10, generator=g)
    x[:, :3] += 2.0 * y[:, None].float()
    return lambda epoch: [Batch(x[i : i + 100], y[i : i + 100]) for i in range(0, 300, 100)]


def _greedy_net():
    torch.manual_seed(0)
    modules = [
        nn.Sequential(nn.Linear(10, 16), nn.ReLU()),
        nn.Sequential(nn.Linear(16, 8), nn.ReLU()),
        nn.Linear(8, 2),
    ]
    objectives = [
        InfoMax("input", "renyi"),
        InfoMax("label", "mine", x_dim=8, y_classes=2, seed=0),
        CrossEntropy(),
    ]
    return modules, objectives


def _numbers(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def _same(ours, saved):
    """Equal, with each number to float32 round-off: the saved states were written on another CPU,
    whose vector width changes the order of a reduction and so the last digits of a loss or estimate."""
    if isinstance(ours, dict):
        return (
            isinstance(saved, dict)
            and ours.keys() == saved.keys()
            and all(_same(ours[k], saved[k]) for k in ours)
        )
    if isinstance(ours, (list, tuple)):
        return len(ours) == len(saved) and all(_same(a, b) for a, b in zip(ours, saved, strict=True))
    try:
        return float(ours) == pytest.approx(float(saved), rel=1e-4, abs=1e-6, nan_ok=True)
    except (TypeError, ValueError):
        return ours == saved


def test_a_saved_greedy_checkpoint_resumes_as_the_run_never_stopped(tmp_path):
    reference, objectives = _greedy_net()
    train_greedy(reference, objectives, _greedy_data(), epochs=2, run=RunFolder(tmp_path / "ref"))
    (tmp_path / "run").mkdir()
    shutil.copy(SAVED / "greedy-checkpoint.pt", tmp_path / "run" / "greedy-checkpoint.pt")
    shutil.copy(SAVED / "greedy-metrics.csv", tmp_path / "run" / "metrics.csv")
    modules, objectives = _greedy_net()
    result = train_greedy(
        modules, objectives, _greedy_data(), epochs=2, run=RunFolder(tmp_path / "run", resume=True)
    )
    assert [len(h) for h in result.histories] == [2, 2, 2]
    assert _same(
        _numbers(RunFolder(tmp_path / "run").metrics()), _numbers(RunFolder(tmp_path / "ref").metrics())
    )
    for ours, theirs in zip(modules, reference, strict=True):
        for a, b in zip(ours.state_dict().values(), theirs.state_dict().values(), strict=True):
            assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)


def _linear():
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    return model, optimizer, torch.optim.lr_scheduler.StepLR(optimizer, 1, 0.5)


def _train(checkpoint, model, optimizer, scheduler, epochs):
    for epoch in epochs:
        optimizer.zero_grad()
        loss = model(torch.randn(8, 3)).pow(2).mean()
        loss.backward()
        optimizer.step()
        scheduler.step()
        checkpoint.save(epoch, [model], optimizer, {"loss": loss.item()}, scheduler)


def test_a_saved_run_checkpoint_resumes_as_the_run_never_stopped(tmp_path):
    reference = _linear()
    _train(RunCheckpoint(RunFolder(tmp_path / "ref"), "task|method|0"), *reference, range(1, 5))
    run = RunFolder(tmp_path / "run", resume=True)
    checkpoint = RunCheckpoint(run, "task|method|0")
    shutil.copy(SAVED / "run-checkpoint.pt", run.file(checkpoint.file))
    shutil.copy(SAVED / "run-metrics.csv", run.file("metrics.csv"))
    model, optimizer, scheduler = _linear()
    torch.manual_seed(123)  # the checkpoint's RNG state replaces this
    done = checkpoint.epochs_done([model], optimizer, scheduler, epochs=4)
    assert done == 2
    _train(checkpoint, model, optimizer, scheduler, range(done + 1, 5))
    # The saved weights were written on another CPU, whose kernels round otherwise: float32 round-off.
    assert torch.allclose(model.weight, reference[0].weight, rtol=1e-4, atol=1e-6)
    assert scheduler.get_last_lr() == reference[2].get_last_lr()
    assert _same(RunFolder(tmp_path / "run").metrics(), RunFolder(tmp_path / "ref").metrics())


@pytest.mark.parametrize("name", ["lr-range-5.pt", "lr-range-10.pt"])
def test_a_saved_lr_range_checkpoint_resumes_as_the_test_never_stopped(name):
    from test_lr_range_resume import Tiny

    saved = _load(name)
    reference = json.loads((SAVED / "lr-range-result.json").read_text())
    tiny = Tiny()
    tiny.batches.set_state(saved["batches"])
    torch.manual_seed(12345)  # another process: the checkpoint's RNG state replaces this
    test = tiny.test()
    test.load_state_dict(saved)  # what the mi-lr reproduction saved: records, state (and its batches)
    while not test.done:
        test.step()
    result = test.result()
    assert _same(json.loads(json.dumps(result.summary)), reference["summary"])
    assert _same(json.loads(json.dumps(result.curves)), reference["curves"])
    assert _same([result.lr_min, result.lr_max, result.lr_top, result.epsilon], reference["range"])
