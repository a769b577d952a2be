"""Two ranks (gloo, CPU) equal one process on the concatenated batch for GMI, DGI and AA-MINE, and
``fit`` from a DataLoader with a DistributedSampler equals one process on the concatenated batches.

For the graph estimators a rank's rows are its own graphs (of different sizes here: 5 nodes on rank 0,
two graphs of 3 and 4 on rank 1), and the single process sees their disjoint union. Each rank's value
is its share: the mean over ranks is the single-process value and gradient (the critic's, the
encoder's, and the node representations' as a network in DDP receives them), and every rank trains the
same critic and reports the same estimate. One spawn checks them all."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from iblearn.distributed import average_gradients
from iblearn.estimators import AAMINE, DGI, GMI, InfoNCE
from tests.distributed import on_two_ranks

STEPS = 3
CLOSE = {"rtol": 1e-10, "atol": 1e-12}


class Encoder(nn.Module):
    """A one-layer graph convolution: ``tanh(W x_i + sum_{j -> i} V x_j)``."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.own, self.neighbours = nn.Linear(3, 4), nn.Linear(3, 4, bias=False)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        messages = torch.zeros(len(x), 3, dtype=x.dtype).index_add(0, edge_index[1], x[edge_index[0]])
        return torch.tanh(self.own(x) + self.neighbours(messages))


def graphs() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Rank 0's graph (5 nodes) and rank 1's batch of two (3 and 4 nodes): (x, edge_index, batch)."""
    gen = torch.Generator().manual_seed(1)
    ring = torch.tensor([[0, 1, 2, 3, 4, 1], [1, 2, 3, 4, 0, 3]])
    pair = torch.tensor([[0, 1, 3, 4, 5, 6], [1, 2, 4, 5, 6, 3]])
    x0, x1 = (torch.randn(n, 3, generator=gen, dtype=torch.float64) for n in (5, 7))
    return [(x0, ring, torch.zeros(5, dtype=torch.long)), (x1, pair, torch.tensor([0, 0, 0, 1, 1, 1, 1]))]


def union() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The disjoint union of every rank's graphs, as one process (Batch.from_data_list) sees them."""
    (x0, e0, b0), (x1, e1, b1) = graphs()
    return torch.cat([x0, x1]), torch.cat([e0, e1 + len(x0)], 1), torch.cat([b0, b1 + 1])


def graph_case(name: str, graph: tuple[torch.Tensor, ...]) -> dict[str, Any]:
    """What a rank (or the single process) measures with GMI or DGI on its graph."""
    encoder = Encoder().double()
    est = (GMI(4, 3, tmi_weight=0.5) if name == "gmi" else DGI(encoder, 4)).double()
    est.trainer.shuffles.manual_seed(3)
    x, edges, batch = graph
    # Rank 0 passes a single graph as (x, edge_index), rank 1 its batch of two with the batch vector.
    g = (x, edges) if int(batch.max()) == 0 else (x, edges, batch)
    h = encoder(x, edges)
    h.retain_grad()
    objective = est.module_objective(h, g) if name == "gmi" else est.objective(h, est._inputs(h, g)[1])
    objective.backward()
    out: dict[str, Any] = {
        "objective": objective.detach(),
        "h_grad": h.grad.clone(),
        "encoder_grad": [p.grad.clone() for p in encoder.parameters()],
        "critic_grad": [p.grad.clone() for p in est.critic.parameters()],
    }
    est.critic.zero_grad()
    out["loss"] = est.loss(h.detach(), g).detach()
    out["batch_mi"] = est.batch_mi(h.detach(), g).detach()
    out["steps"] = [est.train_step(h.detach(), g) for _ in range(STEPS)]
    out["weights"] = [p.detach().clone() for p in est.critic.parameters()]
    estimate = est(h.detach(), g)
    out["estimate"], out["n"] = float(estimate), estimate.n_samples
    return out


def aamine_case(x: torch.Tensor) -> dict[str, Any]:
    """AA-MINE on the rows ``x``: y = subnet(x) + noise, the noise of the global batch."""
    torch.manual_seed(0)
    subnet = nn.Sequential(nn.Linear(2, 2), nn.Tanh()).double()
    est = AAMINE(subnet, 0.3, hidden=(8,), n_negatives=3).double()
    est.trainer.shuffles.manual_seed(3)
    out: dict[str, Any] = {"loss": est.loss(x, None).detach()}
    est.critic.zero_grad()
    xg = x.clone().requires_grad_(True)
    bound = est.batch_mi(xg)
    bound.backward()
    out["batch_mi"], out["x_grad"] = bound.detach(), xg.grad.clone()
    out["subnet_grad"] = [p.grad.clone() for p in subnet.parameters()]
    est.critic.zero_grad()
    out["steps"] = [est.train_step(x) for _ in range(STEPS)]
    out["weights"] = [t.clone() for t in est.state_dict().values() if isinstance(t, torch.Tensor)]
    out["estimate"] = float(est(x))
    return out


def rows() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(16, 2, generator=gen, dtype=torch.float64)
    return x, x + 0.5 * torch.randn(16, 2, generator=gen, dtype=torch.float64)


def fitted(batches: Any, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    est = InfoNCE(2, 2, hidden=(8,)).double()
    # A parameter the bound does not depend on (the last bias of one side of a separable critic adds a
    # constant to a row's scores, which InfoNCE cancels) gets a gradient of rounding noise, which Adam
    # scales up to steps of lr: its weights after training are not compared.
    est.loss(*next(iter(batches))).backward()
    idle = {k for k, p in est.critic.named_parameters() if p.grad.abs().max() < 1e-12}
    est.critic.zero_grad()
    est.fit(batches, steps=STEPS, seed=4)
    weights = {k: p.detach().clone() for k, p in est.critic.named_parameters() if k not in idle}
    return {"weights": weights, "estimate": float(est(x, y))}


def worker(rank: int) -> dict[str, Any]:
    results = {name: graph_case(name, graphs()[rank]) for name in ("gmi", "dgi")}
    for name in ("gmi", "dgi"):  # what a network in DDP does to the encoder's gradients
        encoder_grad = results[name]["encoder_grad"]
        holder = nn.ParameterList([nn.Parameter(torch.zeros_like(g)) for g in encoder_grad])
        for p, g in zip(holder, encoder_grad, strict=True):
            p.grad = g
        average_gradients(holder)
    x, _ = rows()
    results["aamine"] = aamine_case(x[rank * 6 : (rank + 1) * 6])
    ds = TensorDataset(*rows())
    loader = DataLoader(ds, batch_size=4, sampler=DistributedSampler(ds, shuffle=False), drop_last=True)
    x, y = rows()  # est: each rank its shard, the estimate over all of them
    results["fit"] = fitted(loader, x[rank::2], y[rank::2])
    return results


# Two ranks are two processes that import torch: several seconds of CPU; the neural estimators'
# two-rank test (tests/estimators/test_neural_ddp.py) keeps the shared DDP path in the default suite.
@pytest.mark.slow
def test_two_ranks_equal_one_process_on_the_union_of_their_graphs_and_batches(tmp_path):
    ranks = on_two_ranks(worker, tmp_path)
    for name in ("gmi", "dgi"):
        single = graph_case(name, union())
        r0, r1 = (r[name] for r in ranks)
        for key in ("objective", "loss", "batch_mi"):  # the mean over ranks is the single-process value
            torch.testing.assert_close((r0[key] + r1[key]) / 2, single[key], **CLOSE, msg=f"{name} {key}")
        torch.testing.assert_close(torch.cat([r0["h_grad"], r1["h_grad"]]) / 2, single["h_grad"], **CLOSE)
        for a, b, s in zip(r0["critic_grad"], r1["critic_grad"], single["critic_grad"], strict=True):
            torch.testing.assert_close((a + b) / 2, s, **CLOSE, msg=f"{name} critic gradient")
        for r in (r0, r1):
            for a, s in zip(r["encoder_grad"], single["encoder_grad"], strict=True):
                torch.testing.assert_close(a, s, **CLOSE, msg=f"{name} encoder gradient")
            torch.testing.assert_close(torch.tensor(r["steps"]), torch.tensor(single["steps"]), **CLOSE)
            for a, s in zip(r["weights"], single["weights"], strict=True):
                torch.testing.assert_close(a, s, **CLOSE, msg=f"{name} weights after {STEPS} steps")
            assert r["estimate"] == pytest.approx(single["estimate"], rel=1e-10, abs=1e-12), name
            assert r["n"] == single["n"] == 12
    x, _ = rows()
    single = aamine_case(x[:12])
    r0, r1 = (r["aamine"] for r in ranks)
    for key in ("loss", "batch_mi"):
        torch.testing.assert_close((r0[key] + r1[key]) / 2, single[key], **CLOSE, msg=f"aamine {key}")
    torch.testing.assert_close(torch.cat([r0["x_grad"], r1["x_grad"]]) / 2, single["x_grad"], **CLOSE)
    for a, b, s in zip(r0["subnet_grad"], r1["subnet_grad"], single["subnet_grad"], strict=True):
        torch.testing.assert_close((a + b) / 2, s, **CLOSE, msg="aamine subnet gradient")
    for r in (r0, r1):
        torch.testing.assert_close(torch.tensor(r["steps"]), torch.tensor(single["steps"]), **CLOSE)
        for a, s in zip(r["weights"], single["weights"], strict=True):
            torch.testing.assert_close(a, s, **CLOSE, equal_nan=True, msg="aamine weights")
        assert r["estimate"] == pytest.approx(single["estimate"], rel=1e-10, abs=1e-12)
    # A DistributedSampler without shuffling deals rank r the rows r, r + 2, ...: one process sees, at
    # each step, rank 0's batch then rank 1's.
    x, y = rows()
    batches = [
        (
            torch.cat([x[i : i + 8 : 2], x[i + 1 : i + 8 : 2]]),
            torch.cat([y[i : i + 8 : 2], y[i + 1 : i + 8 : 2]]),
        )
        for i in (0, 8)
    ]
    single = fitted(batches, torch.cat([x[0::2], x[1::2]]), torch.cat([y[0::2], y[1::2]]))
    for r in (ranks[0]["fit"], ranks[1]["fit"]):
        assert r["weights"].keys() == single["weights"].keys()
        for k, s in single["weights"].items():
            torch.testing.assert_close(r["weights"][k], s, **CLOSE, msg=f"fit from a DistributedSampler: {k}")
        assert r["estimate"] == pytest.approx(single["estimate"], rel=1e-10, abs=1e-12)
