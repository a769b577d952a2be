"""The paper 002 reproduction on fake images: every method trains, a killed run resumes, the table
stands beside the paper's numbers, and Fig. 3 is drawn."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import torch
from torch import nn

import iblearn.experiments.layerwise_ib as exp
from iblearn.experiments import REPRODUCTIONS, ReproduceOptions
from iblearn.records import RunFolder, read_json
from tests.experiments.kill import assert_resumes_exactly, image_loader, kill_at, killed_then_resumed

# The quick preset on the fake images (200 training, 60 test: every test image is used), two runs of a
# narrow net for one epoch.
TINY = replace(
    exp.Config.quick(),
    runs=(("mnist", 0.5), ("fashion-mnist", 0.5)),
    widths=(16, 8, 8),
    epochs=1,
    min_steps=1,
    batch_size=50,
    critic_hidden=16,
    tsne_samples=40,
)


@pytest.fixture(autouse=True)
def _tiny_data(monkeypatch):
    monkeypatch.setattr(exp, "load_images", image_loader(200, 60, high=60))


def test_runs_every_method_resumes_and_tabulates(tmp_path):
    rows_done, path = killed_then_resumed(exp.run, TINY, tmp_path, kill_at("fashion-mnist 50%|iyl|0"))
    done = [r["key"] for r in rows_done]
    keys = [r["key"] for r in RunFolder(path).metrics()]
    assert keys[: len(done)] == done and len(keys) == len(set(keys)) == 6
    table = (path / "table.md").read_text()
    assert "| mnist 50% | cross-entropy, end to end |" in table
    assert "| cifar10 100% | cross-entropy, end to end | not run (no offline copy) |  |  | 58.23 |" in table
    figure = read_json(path / "results.json")["figure_3"]
    assert set(figure) == {"100", "0.001"} and all(1 <= v["distinct"] <= 40 for v in figure.values())
    assert REPRODUCTIONS["layerwise-ib"] is exp.run


def test_small_subsets_train_for_more_epochs_and_the_head_is_linear():
    config = exp.Config(epochs=10, min_steps=2400, batch_size=100)
    assert exp.epochs_for(600, config) == 400 and exp.epochs_for(60_000, config) == 10
    _hidden, head = exp.network("mnist", torch.rand(2, 1, 28, 28), config)
    assert isinstance(head, nn.Linear) and head.in_features == config.widths[-1]
    _hidden, head = exp.network("fashion-mnist", torch.rand(2, 1, 28, 28), config)
    assert head.in_features == 64 * 3 * 3  # three conv blocks, 28 -> 14 -> 7 -> 3


def test_with_a_linear_output_the_post_trained_layer_folds_into_the_last_one():
    # Sec. 4: no non-linearity between the net's last layer and the post-trained one, so the two are
    # one linear layer and the post-training adds no capacity.
    torch.manual_seed(0)
    config = exp.Config(widths=(32, 16, 10), linear_output=True)
    hidden, head = exp.network("mnist", torch.rand(2, 1, 28, 28), config)
    last = hidden[-1][-1]
    assert isinstance(last, nn.Linear) and not any(isinstance(m, nn.ReLU) for m in hidden[-1])
    h = torch.randn(64, 16)  # inputs of the last layer
    folded = nn.Linear(16, 10)
    with torch.no_grad():
        folded.weight.copy_(head.weight @ last.weight)
        folded.bias.copy_(head.weight @ last.bias + head.bias)
        torch.testing.assert_close(head(hidden[-1](h)), folded(h))
        assert (hidden[-1](h) < 0).any()  # nothing clips the output
    assert all(isinstance(m[-1], nn.ReLU) for m in hidden[:-1])


def test_a_run_killed_at_random_writes_resumes_to_the_rows_of_an_unbroken_run(tmp_path):
    assert_resumes_exactly(exp.run, TINY, tmp_path, kills=1)


def test_beta_sweep_reads_each_folders_beta_and_its_ib_rows(tmp_path) -> None:
    for beta, accs in ((1e-3, (88.0, 89.0)), (0.1, (85.0,))):
        folder = RunFolder(tmp_path / str(beta))
        folder.write_config({"beta": beta})
        for seed, acc in enumerate(accs):
            folder.append_metrics({"key": f"mnist 1%|ib|{seed}", "train_acc": 100.0, "test_acc": acc})
        folder.append_metrics({"key": "mnist 1%|ce|0", "train_acc": 100.0, "test_acc": 50.0})  # not ib
    points = exp.beta_sweep([tmp_path / "0.001", tmp_path / "0.1"])
    assert points == {"mnist 1%": {1e-3: [88.0, 89.0], 0.1: [85.0]}}
    path = tmp_path / "sweep.png"
    if exp.plot_beta_sweep(points, {"mnist 1%": {"cross-entropy": 85.5}}, path) is not None:
        assert path.exists()


@pytest.mark.parametrize(
    ("fraction", "rows"),
    [(0.001, 1), (0.2, 40)],  # of the 200 fake training images: one row, and fewer than a batch of 50
)
def test_a_fraction_leaving_fewer_rows_than_a_batch_is_refused_before_anything_runs(tmp_path, fraction, rows):
    # One row died in MINE's first step ("x: at least 2 samples are needed to form negative pairs"),
    # after the cross-entropy baseline had trained; fewer rows than a batch trained on batches smaller
    # than the one asked for.
    options = ReproduceOptions(out=tmp_path / "run", overrides={"runs": [["mnist", fraction]]})
    message = f"--set runs: {fraction:g} of the 200 mnist training images is {rows} row"
    with pytest.raises(ValueError, match=re.escape(message) + r".* fewer than a batch \(batch_size 50\)"):
        exp.run(options, TINY)
    assert not (tmp_path / "run").exists()
