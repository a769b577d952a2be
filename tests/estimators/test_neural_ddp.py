"""Two ranks (gloo, CPU) equal one process on the concatenated batch, for each neural estimator: the mean
over ranks of ``loss`` and of ``batch_mi``, their gradients (the critic's, and the inputs' as a network
wrapped in DDP would receive them), a few training steps (critic, weight average, MINE's moving
average), and ``est(x, y)`` reported alike on every rank; with equal batches, and for some estimators
with unequal ones (5 rows and 7). One spawn checks them all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from iblearn import distributed
from iblearn.estimators import DIM, JS, MINE, NWJ, InfoNCE, MINEf
from tests.distributed import on_two_ranks

# Bounds of critics that never trained, read on purpose (how a bound is computed, agrees, or is judged,
# not what it estimates): the warning that such an estimate says nothing of the data is expected.
pytestmark = pytest.mark.filterwarnings("ignore:.*taken no training step:UserWarning")

N, STEPS = 12, 3  # rows in all, training steps
SPLITS = {"even": 6, "uneven": 5}  # rank 0's rows; rank 1 has the rest
UNEVEN = ("infonce", "infonce-chunked", "nwj", "js", "mine", "mine-labels", "dim-local-js")
UNEVEN += ("dim-global-infonce",)

CASES: dict[str, Callable[[], Any]] = {
    "infonce": lambda: InfoNCE(2, 2, hidden=(8,)),
    "infonce-concat": lambda: InfoNCE(2, 2, critic="concat", hidden=(8,)),
    "infonce-chunked": lambda: InfoNCE(2, 2, hidden=(8,), chunk=4),
    "nwj": lambda: NWJ(2, 2, hidden=(8,), n_negatives=3),
    "nwj-separable": lambda: NWJ(2, 2, critic="separable", hidden=(8,)),
    "js": lambda: JS(2, 2, hidden=(8,), n_negatives=3),
    "mine": lambda: MINE(2, 2, hidden=(8,), n_negatives=3, clip=None),
    "mine-clipped-separable": lambda: MINE(2, 2, critic="separable", hidden=(8,)),
    "mine-f": lambda: MINEf(2, 2, hidden=(8,), n_negatives=3),
    "mine-labels": lambda: MINE(2, y_classes=3, hidden=(8,)),
    "nwj-labels": lambda: NWJ(2, y_classes=3, hidden=(8,)),
    "dim-local-js": lambda: DIM(embed_dim=4, hidden=8),
    "dim-local-infonce": lambda: DIM(objective="infonce", embed_dim=4, hidden=8),
    "dim-global-js": lambda: DIM(mode="global", hidden=8),
    "dim-global-infonce": lambda: DIM(mode="global", objective="infonce", hidden=8),
    "dim-grids": lambda: DIM(embed_dim=4, hidden=8),
}


def data(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows for the estimator ``name``: vectors, labels, or feature maps (DIM) with a vector or a grid."""
    gen = torch.Generator().manual_seed(1)
    if name.startswith("dim"):
        x = torch.randn(N, 2, 3, 3, generator=gen, dtype=torch.float64)
        if name == "dim-grids":
            return x, x.repeat(1, 1, 2, 2) + torch.randn(N, 2, 6, 6, generator=gen, dtype=torch.float64)
        return x, x.mean((2, 3)) + 0.5 * torch.randn(N, 2, generator=gen, dtype=torch.float64)
    x = torch.randn(N, 2, generator=gen, dtype=torch.float64)
    if name.endswith("labels"):
        return x, torch.randint(0, 3, (N,), generator=gen)
    return x, x + 0.5 * torch.randn(N, 2, generator=gen, dtype=torch.float64)


def run(name: str, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    """What each rank (or the single process) measures on its rows ``x``, ``y``."""
    est = CASES[name]().double()
    est.trainer.shuffles.manual_seed(3)
    xg = x.clone().requires_grad_(True)
    yg = y.clone().requires_grad_(True) if y.is_floating_point() else y
    loss = est.loss(x, y)
    loss.backward()
    # (a DIM critic's grid branch is unused, and never built, with a vector y)
    critic_grad = [p.grad.clone() for p in est.critic.parameters() if p.grad is not None]
    # Parameters the bound does not depend on (a last bias adds one constant to every score, which DV
    # and InfoNCE cancel) get gradients of rounding noise, which Adam scales up to steps of lr: their
    # weights after training are not compared.
    idle = {k for k, p in est.critic.named_parameters() if p.grad is not None and p.grad.abs().max() < 1e-12}
    est.critic.zero_grad()
    bound = est.batch_mi(xg, yg)
    bound.backward()
    out = {
        "loss": loss.detach(),
        "critic_grad": critic_grad,
        "batch_mi": bound.detach(),
        "x_grad": xg.grad.clone(),
        "y_grad": yg.grad.clone() if yg.is_floating_point() else None,
    }
    est.critic.zero_grad()
    out["steps"] = [est.train_step(x, y) for _ in range(STEPS)]
    out["weights"] = {
        k: t.clone()
        for k, t in est.state_dict().items()
        if isinstance(t, torch.Tensor) and not torch.nn.parameter.is_lazy(t)
    }
    out["idle"] = idle
    out["estimate"] = float(est(x, y))
    return out


def cases() -> list[tuple[str, str]]:
    return [(split, name) for split in SPLITS for name in CASES if split == "even" or name in UNEVEN]


def worker(rank: int) -> dict[tuple[str, str], Any]:
    results = {}
    for split, name in cases():
        rows = slice(0, SPLITS[split]) if rank == 0 else slice(SPLITS[split], N)
        x, y = data(name)
        results[split, name] = run(name, x[rows], y[rows])
    # Rows given as a list, or a tuple of rows, are gathered as tensors are: an estimate is on all rows.
    x, y = data("infonce")
    rows = slice(0, SPLITS["uneven"]) if rank == 0 else slice(SPLITS["uneven"], N)
    results["lists"] = distributed.every_rank_rows(x[rows].tolist(), tuple(y[rows].numpy()))
    results["list estimate"] = float(CASES["infonce"]().double()(x[rows].tolist(), y[rows].tolist()))
    with pytest.raises(ValueError, match="x: cannot be read as an array of samples"):
        distributed.every_rank_rows([[1.0], [2.0, 3.0]], y[rows])
    with pytest.raises(ValueError, match="y: every rank's rows must have the same shape"):
        distributed.gather(torch.randn(4, 2 + rank), "y")
    # a dtype that differs between the ranks aborted the process inside gloo
    with pytest.raises(ValueError, match=r"x: every rank's rows must have the same dtype .*float32.*float64"):
        distributed.gather(torch.randn(4, 2, dtype=torch.float64 if rank else torch.float32))
    with pytest.raises(ValueError, match="value: expected rows, got a 0-d tensor"):
        distributed.gather(torch.tensor(1.0), "value")
    return results


def test_two_ranks_equal_one_process_on_the_concatenated_batch(tmp_path):
    ranks = on_two_ranks(worker, tmp_path)
    close = {"rtol": 1e-10, "atol": 1e-12}
    for split, name in cases():
        single = run(name, *data(name))
        r0, r1 = (r[split, name] for r in ranks)
        name = f"{name} ({split})"
        for key in ("loss", "batch_mi"):  # the mean over ranks is the single-process value
            torch.testing.assert_close((r0[key] + r1[key]) / 2, single[key], **close, msg=f"{name} {key}")
        for a, b, s in zip(r0["critic_grad"], r1["critic_grad"], single["critic_grad"], strict=True):
            torch.testing.assert_close((a + b) / 2, s, **close, msg=f"{name} critic gradient")
        for key in ("x_grad", "y_grad"):  # a network in DDP: each rank's rows, averaged over 2 ranks
            if single[key] is not None:
                got = torch.cat([r0[key], r1[key]]) / 2
                torch.testing.assert_close(got, single[key], **close, msg=f"{name} {key}")
        for r in (r0, r1):  # every rank steps, and reports, as one process does
            torch.testing.assert_close(torch.tensor(r["steps"]), torch.tensor(single["steps"]), **close)
            for key, s in single["weights"].items():
                if key.split(".", 1)[-1] in single["idle"]:
                    continue
                a = r["weights"][key]
                torch.testing.assert_close(  # Adam's steps divide by sqrt(v): rounding grows
                    a, s, rtol=1e-8, atol=1e-10, equal_nan=True, msg=lambda m, n=name, k=key: f"{n} {k}: {m}"
                )
            assert r["estimate"] == pytest.approx(single["estimate"], rel=1e-10, abs=1e-12), name
    x, y = data("infonce")
    single = float(CASES["infonce"]().double()(x, y))
    for r in ranks:
        torch.testing.assert_close(r["lists"], (x, y), rtol=0, atol=0)
        assert r["list estimate"] == pytest.approx(single, rel=1e-10, abs=1e-12)
