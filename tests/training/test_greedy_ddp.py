"""Greedy training with two ranks (gloo, CPU) equals one process on the concatenated batches, in both
modes: the same module weights and histories on every rank, the run folder written once (by rank 0),
and a run continued from its checkpoint under two ranks ends where one process does. One spawn."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
import torch
from torch import nn

from iblearn.data.graphs import GraphBatch
from iblearn.estimators import MINE, InfoNCE
from iblearn.records import RunFolder
from iblearn.training import Batch, CrossEntropy, InfoMax, NoisyIB, Standardize, train_greedy
from tests.distributed import on_two_ranks

ROWS, BATCHES = 8, 2  # rows a rank a batch, batches an epoch
CLOSE = {"rtol": 1e-9, "atol": 1e-11}


def data() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    y = torch.randint(0, 2, (2 * ROWS * BATCHES,), generator=gen)
    x = torch.randn(len(y), 4, generator=gen, dtype=torch.float64) + y[:, None].double()
    return x, y


def batches(rank: int | None) -> list[Batch]:
    """Rank ``rank``'s batches, or (None) one process's: each the concatenation of the ranks' batches."""
    x, y = data()
    out = []
    for b in range(BATCHES):
        idx = [torch.arange((2 * b + r) * ROWS, (2 * b + r + 1) * ROWS) for r in range(2)]
        rows = idx[rank] if rank is not None else torch.cat(idx)
        out.append(Batch(x[rows], y[rows]))
    return out


def network(mode: str) -> tuple[list[nn.Module], list[Any]]:
    torch.manual_seed(0)
    modules = [
        nn.Sequential(nn.Linear(4, 6), nn.Tanh()),
        nn.Sequential(nn.Linear(6, 5), nn.Tanh()),
        nn.Sequential(Standardize(), nn.Linear(5, 2)) if mode == "sequential" else nn.Linear(5, 2),
    ]
    modules = [m.double() for m in modules]
    if mode == "sequential":  # paper 002's objective (MINE and AA-MINE), then matrix-based Renyi
        first: Any = NoisyIB(modules[0], 0.1, 0.3, 2, hidden=(8,))
        first.mine.double()
        first.aamine.double()
        second: Any = InfoMax("label", "renyi")
    else:  # MOLE's roles with neural estimators
        first = InfoMax("input", InfoNCE(6, 4, hidden=(8,)).double())
        second = InfoMax("label", MINE(y_classes=2, hidden=(8,)).double())
    return modules, [first, second, CrossEntropy()]


def train(mode: str, rank: int | None, folder: str, epochs: Any, resume: bool = False) -> dict[str, Any]:
    modules, objectives = network(mode)
    run = RunFolder(folder, resume=resume)
    result = train_greedy(
        modules,
        objectives,
        lambda epoch: batches(rank),
        epochs=epochs,
        mode=mode,
        optimizer=lambda p: torch.optim.Adam(p, lr=1e-2),
        run=run,
    )
    return {
        "weights": [t.clone() for m in modules for t in m.state_dict().values()],
        "critics": [t.clone() for o in objectives for e in o.estimators() for t in e.parameters()],
        "histories": result.histories,
    }


def graph(rank: int | None) -> tuple[GraphBatch, torch.Tensor, torch.Tensor]:
    """Rank 0's graph (5 nodes), rank 1's two (3 and 4), or (None) their union; node labels, and a mask
    of labelled nodes (3 on rank 0, 2 on rank 1)."""
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(12, 3, generator=gen, dtype=torch.float64)
    edges = torch.tensor([[0, 1, 2, 3, 4, 1, 5, 6, 8, 9, 10, 11], [1, 2, 3, 4, 0, 3, 6, 7, 9, 10, 11, 8]])
    batch = torch.tensor([0] * 5 + [1] * 3 + [2] * 4)
    y = torch.randint(0, 2, (12,), generator=gen)
    mask = torch.tensor([1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 0], dtype=torch.bool)
    nodes = {0: slice(0, 5), 1: slice(5, 12), None: slice(0, 12)}[rank]
    keep = (edges[0] >= nodes.start) & (edges[0] < nodes.stop)
    g = GraphBatch(x[nodes], edges[:, keep] - nodes.start, batch[nodes] - batch[nodes][0])
    return g, y[nodes], mask[nodes]


def graph_objectives(rank: int | None) -> dict[str, Any]:
    """Each graph objective's loss and its gradient w.r.t. the node representations, on rank ``rank``'s
    graphs: matrix-based I(T; X) with the adjacency, I(T; Y) on the labelled nodes, cross-entropy."""
    g, y, mask = graph(rank)
    torch.manual_seed(0)
    layer = nn.Linear(3, 2).double()
    out = {}
    for name, objective in (
        ("renyi-graph", InfoMax("input", "renyi")),
        ("renyi-label", InfoMax("label", "renyi")),
        ("cross-entropy", CrossEntropy()),
    ):
        h = torch.tanh(layer(g.x)).detach().requires_grad_(True)
        loss, _ = objective.loss(Batch(g, y, mask), g.with_x(h))
        loss.backward()
        out[name] = (loss.detach(), h.grad.clone())
    return out


EPOCHS = {"sequential": ([2, 1, 2], [2, 1, 3]), "isolated": (2, 3)}  # first run, then continued


def worker(rank: int, out: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for mode, (first, more) in EPOCHS.items():
        results[mode] = train(mode, rank, f"{out}-{mode}", first)
        results[f"{mode}-continued"] = train(mode, rank, f"{out}-{mode}", more, resume=True)
    results["graphs"] = graph_objectives(rank)
    with pytest.raises(ValueError, match=r"ranks \[1\] ran out after 1 batches"):
        train_greedy(
            network("isolated")[0], network("isolated")[1], [b for b in batches(rank)][: 2 - rank], epochs=1
        )
    return results


def _numbers(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


@pytest.mark.slow  # two processes, about 10 s of CPU; proximal and neural DDP stay in the default suite
def test_two_ranks_train_as_one_process_on_the_concatenated_batches(tmp_path):
    out = str(tmp_path / "ddp")
    ranks = on_two_ranks(partial(worker, out=out), tmp_path)
    single_graphs = graph_objectives(None)  # ranks of different numbers of nodes and labels
    for name, (loss, grad) in single_graphs.items():
        (l0, g0), (l1, g1) = ranks[0]["graphs"][name], ranks[1]["graphs"][name]
        torch.testing.assert_close((l0 + l1) / 2, loss, **CLOSE, msg=name)
        torch.testing.assert_close(torch.cat([g0, g1]) / 2, grad, **CLOSE, msg=f"{name} gradient")
    for mode, (first, more) in EPOCHS.items():
        single = train(mode, None, str(tmp_path / f"single-{mode}"), first)
        continued = train(mode, None, str(tmp_path / f"single-long-{mode}"), more)
        for key, reference in ((mode, single), (f"{mode}-continued", continued)):
            r0, r1 = ranks[0][key], ranks[1][key]
            for a, b in zip(r0["weights"], r1["weights"], strict=True):
                assert torch.equal(a, b), f"{key}: the ranks' weights differ"
            for a, b in zip(r0["critics"], r1["critics"], strict=True):
                assert torch.equal(a, b), f"{key}: the ranks' critics differ"
            assert r0["histories"] == r1["histories"]
            for a, s in zip(r0["weights"], reference["weights"], strict=True):
                torch.testing.assert_close(a, s, **CLOSE, msg=f"{key}: weights against one process")
            for h, s in zip(r0["histories"], reference["histories"], strict=True):
                for row, srow in zip(_numbers(h), _numbers(s), strict=True):
                    assert row.keys() == srow.keys()
                    for k in row:
                        assert row[k] == pytest.approx(srow[k], rel=1e-8, abs=1e-10), f"{key} {k}"
        # Written once: the rows of one process, each once, and the checkpoint.
        ddp, one = RunFolder(f"{out}-{mode}"), RunFolder(str(tmp_path / f"single-long-{mode}"))
        assert [r["module"] for r in ddp.metrics()] == [r["module"] for r in one.metrics()]
        assert ddp.file("greedy-checkpoint.pt").exists()
