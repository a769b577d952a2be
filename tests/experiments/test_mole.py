"""The paper 001 reproduction: the roles and estimators of Table 1 per task, and a tiny run on fake data
that trains every method, resumes after a kill and tabulates beside the paper."""

from __future__ import annotations

import pytest
import torch

import iblearn.experiments.mole as exp
from iblearn.data.graphs import GraphBatch, GraphDataset
from iblearn.experiments import REPRODUCTIONS
from iblearn.records import RunFolder
from iblearn.training import CrossEntropy, InfoMax
from tests.experiments.kill import assert_resumes_exactly, kill_at, killed_then_resumed

TINY = exp.Config(tasks=("adult", "mutagenicity"), epochs=1, seeds=1, tsne_samples=0)


def fake_adult(config: exp.Config) -> exp.Task:
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (300,), generator=g)
    x = torch.rand(300, 104, generator=g).round()
    x[:, 0] = y.float()
    return exp.Task(
        "adult",
        (x[:200], y[:200]),
        (x[200:], y[200:]),
        exp.nets.adult_mlp,
        ("encoder", "decoder", "output"),
        (64, 16, 2),
        104,
        2,
    )


def fake_molecules(config: exp.Config) -> exp.Task:
    """60 path graphs of 4 to 7 atoms; the label is whether the graph has more than five."""
    g = torch.Generator().manual_seed(1)
    sizes = torch.randint(4, 8, (60,), generator=g)
    node_graph = torch.repeat_interleave(torch.arange(60), sizes)
    starts = torch.cumsum(sizes, 0) - sizes
    edges = [
        (int(s) + i, int(s) + i + 1) for s, n in zip(starts, sizes, strict=True) for i in range(int(n) - 1)
    ]
    edge_index = torch.tensor(edges + [(b, a) for a, b in edges]).T
    x = torch.nn.functional.one_hot(torch.randint(0, 14, (len(node_graph),), generator=g), 14).float()
    data = GraphDataset(x, edge_index, node_graph, (sizes > 5).long(), "fake")
    return exp.Task(
        "mutagenicity",
        (data, torch.arange(45)),
        (data, torch.arange(45, 60)),
        exp.nets.mutagenicity_mpgnn,
        ("encoder", "encoder", "decoder", "output"),
        (64, 64, 64, 2),
        14,
        2,
        gmi_module=1,
    )


@pytest.fixture(autouse=True)
def _fake_tasks(monkeypatch):
    monkeypatch.setattr(
        exp,
        "load_task",
        lambda name, config: {"adult": fake_adult, "mutagenicity": fake_molecules}[name](config),
    )


def names(objectives):
    return [o.estimator.name if isinstance(o, InfoMax) else "ce" for o in objectives]


def test_table_1_pairs_each_module_with_its_estimator():
    graphs = fake_molecules(TINY)
    assert names(exp.objectives_for(graphs, "gmi+mine", 0)) == ["mine", "gmi", "mine", "ce"]
    assert [o.target for o in exp.objectives_for(graphs, "mine", 0)[:3]] == ["input", "input", "label"]
    mnist = exp.Task(
        "mnist",
        None,
        None,
        exp.nets.mnist_cnn,
        ("encoder", "encoder", "decoder", "output"),
        (32 * 13 * 13, 64 * 5 * 5, 128, 10),
        784,
        10,
    )
    assert names(exp.objectives_for(mnist, "dim+mine", 0)) == ["dim", "mine", "mine", "ce"]
    matrix = exp.objectives_for(mnist, "matrix", 0)
    assert [o.estimator.channels_x for o in matrix[:3]] == ["mean", "mean", False]  # multichannel on grids
    cora = exp.Task(
        "cora",
        None,
        None,
        exp.nets.cora_gcn,
        ("encoder", "decoder", "output"),
        (64, 64, 7),
        1433,
        7,
        gmi_module=0,
    )
    objectives = exp.objectives_for(cora, "gmi+mine", 0)
    assert names(objectives) == ["gmi", "mine", "ce"] and isinstance(objectives[-1], CrossEntropy)


def test_runs_every_method_resumes_and_tabulates(tmp_path):
    rows_done, path = killed_then_resumed(exp.run, TINY, tmp_path, kill_at("mutagenicity matrix"))
    done = [r["key"] for r in rows_done]
    rows = RunFolder(path).metrics()
    keys = [r["key"] for r in rows]
    assert keys[: len(done)] == done and len(keys) == len(set(keys))  # nothing retrained
    assert set(keys) == {f"{t}|{m}|0" for t in ("adult", "mutagenicity") for m in ("bp", *exp.ESTIMATORS[t])}
    assert all(0 <= float(r["test_acc"]) <= 100 for r in rows)
    table = (path / "table.md").read_text()
    assert "83.94" in table and "76.01" in table  # the paper's numbers beside ours
    assert REPRODUCTIONS["mole"] is exp.run


def test_graph_batches_keep_every_node_of_their_graphs():
    task = fake_molecules(TINY)
    data, graphs = task.train
    batch, y = data.batch(graphs[:5])
    assert isinstance(batch, GraphBatch) and batch.num_graphs == 5 and len(y) == 5
    assert len(batch.x) == int((data.node_graph < 5).sum())


def test_tsne_plots_the_input_and_every_module(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    task = fake_molecules(TINY)
    net = exp.nets.Sequential(task.make_modules())
    exp.tsne(net, task, exp.Config(tsne_samples=60), tmp_path / "t.png")
    assert (tmp_path / "t.png").stat().st_size > 10_000


def test_a_run_killed_at_random_writes_resumes_to_the_rows_of_an_unbroken_run(tmp_path):
    assert_resumes_exactly(exp.run, TINY, tmp_path)
