"""Paper 003's demonstrations: exact values by hand, and the claims of Secs. 4 and 5."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from iblearn.analysis import ib_noisy
from iblearn.data.vision import ImageData
from iblearn.experiments import ReproduceOptions, ib_theory
from iblearn.experiments.ib_theory import plane as ib_plane
from tests.experiments.kill import assert_resumes_exactly


def h2(*p: float) -> float:
    return -sum(q * math.log2(q) for q in p if q > 0)


def test_fig1_discrete_by_hand() -> None:
    pts, masses, classes = np.array(ib_theory.POINTS), np.array(ib_theory.MASSES), np.array(ib_theory.CLASSES)
    # a = 0.2, b = 0.3: 0.1 -> 0 (Y=0), 0.35 -> 0.15 (Y=1), 0.6 and 0.85 -> 0.3 (one of each class)
    ixy, iyy = ib_theory.fig1_discrete(0.2, 0.3, pts, masses, classes)
    assert ixy == pytest.approx(h2(0.2, 0.3, 0.5))
    assert iyy == pytest.approx(h2(0.45, 0.55) - 0.5 * 1.0)
    assert ib_theory.fig1_discrete(0.0, 0.0, pts, masses, classes) == (0.0, 0.0)  # f = 0


def test_fig1_continuous_is_infinite_exactly_where_the_ramp_holds_mass() -> None:
    # ramp (0.3, 0.4) = the second interval; atoms: 0 <- first interval (Y=0), b <- third and fourth
    ixy, iyy = ib_theory.fig1_continuous(0.3, 0.1)
    assert math.isinf(ixy) and iyy == pytest.approx(h2(0.45, 0.55) - 0.5 * 1.0)
    ixy, iyy = ib_theory.fig1_continuous(0.45, 0.05)  # ramp in the gap: atoms 0 (Y=0: .2, Y=1: .3) and b
    assert ixy == pytest.approx(1.0) and iyy == pytest.approx(h2(0.45, 0.55) - 0.5 * h2(0.4, 0.6) - 0.5)


def test_fig1_grids_are_piecewise_constant() -> None:
    grids = ib_theory.fig1_grids(ib_theory.Config(), seed=0)
    summary = ib_theory._fig1_summary(grids)
    for kind in ("discrete", "dataset"):
        assert summary[kind]["infinite cells"] == 0
        assert summary[kind]["distinct I(X;Y~)"] <= 25  # of 441 cells
    assert 0 < summary["continuous"]["infinite cells"] < 441
    assert np.isfinite(grids["continuous"][..., 1]).all()


def test_remedies_tell_the_fig2_nets_apart_as_sec5_says() -> None:
    rows = {r["net"].split(" ")[0]: r for r in ib_theory.examples(ib_theory.Config(), seed=0)}
    f1, f2, f3 = rows["f'"], rows["f''"], rows["f'''"]
    for r in (f2, f3):  # plain functional: identical
        assert r["plain I(X;T)"] == pytest.approx(f1["plain I(X;T)"])
        assert r["plain I(Y;T)"] == pytest.approx(f1["plain I(Y;T)"])  # = H(Y): perfect precision
    assert (
        f1["decision I(Y;T)"] == pytest.approx(f1["plain I(Y;T)"]) and f2["decision I(Y;T)"] < 0.05
    )  # eq. (6) separates
    assert f3["decision I(Y;T)"] == pytest.approx(f1["decision I(Y;T)"])  # ... but not robustness
    assert f1["input noise I(Y;T)"] > f3["input noise I(Y;T)"] + 0.1  # a stochastic net does
    assert rows["f^II"]["accuracy under input noise"] > rows["f^I"]["accuracy under input noise"]


def test_eq5_closed_form_matches_ksg_and_shrinks_with_the_weights() -> None:
    rows = ib_theory.linear_layer(ib_theory.Config(linear_n=3000), seed=0)
    for r in rows:
        assert r["KSG"] == pytest.approx(r["eq. (5)"], abs=0.08, rel=0.05)  # KSG's high-MI bias
    closed = [r["eq. (5)"] for r in rows]
    assert closed == sorted(closed) and closed[0] < 0.05


def test_run_writes_the_records(tmp_path: Path) -> None:
    plane = ib_plane.Config(train_size=200, eval_size=100, epochs=1, records=1, runs=("tanh",))
    path = ib_theory.run(ReproduceOptions(out=tmp_path), ib_theory.Config(linear_n=500, plane=plane))
    results = json.loads((path / "results.json").read_text())
    assert set(results["plane"]["tanh"]) == {"eval_acc", "binning", "KSG", "noisy"}
    assert "Fig. 1" in (path / "table.md").read_text()
    for name in ("fig1_grid.png", "plane_tanh_noisy.png", "metrics.csv", "config.json"):
        assert (path / name).exists()
    again = ib_theory.run(
        ReproduceOptions(out=tmp_path, resume=True), ib_theory.Config(linear_n=500, plane=plane)
    )
    assert (again / "metrics.csv").read_text() == (path / "metrics.csv").read_text()  # nothing retrained


def test_a_run_killed_at_random_writes_resumes_to_the_rows_of_an_unbroken_run(
    tmp_path: Path, monkeypatch
) -> None:
    def fake(name: str, split: str) -> ImageData:  # MNIST's pickle takes seconds to read: random images
        gen = torch.Generator().manual_seed(0 if split == "train" else 1)
        images = torch.randint(0, 256, (150, 1, 28, 28), dtype=torch.uint8, generator=gen)
        return ImageData(images, torch.randint(0, 10, (150,), generator=gen), name, split)

    monkeypatch.setattr(ib_plane, "load_images", fake)
    plane = ib_plane.Config(train_size=100, eval_size=50, epochs=1, records=1, runs=("tanh",))
    config = ib_theory.Config(examples_n=100, linear_n=200, plane=plane)
    assert_resumes_exactly(ib_theory.run, config, tmp_path, kills=1)


def test_the_stochastic_runs_add_noise_to_the_last_hidden_layer_and_the_ib_run_its_mi() -> None:
    """Paper 003, Sec. 5.3 as the stochastic runs train: eta fed forward from the last hidden layer L, and
    for "tanh stochastic IB" the cross-entropy plus beta I(X; L + eta) of that eta; the plain runs train
    on exactly the cross-entropy of the whole net."""
    config = ib_plane.Config(widths=(6, 5, 3), ib_beta=0.5, stochastic_std=0.2)
    torch.manual_seed(0)
    net = ib_plane.mlp("tanh", config.widths)
    x, y = torch.rand(32, 1, 28, 28), torch.arange(32) % 4
    plain = ib_plane.loss(net, x, y, config, "tanh")
    assert torch.equal(plain, torch.nn.functional.cross_entropy(net(x), y))
    hidden = net[:7](x)  # Flatten, then Linear and Tanh thrice: the last hidden layer
    torch.manual_seed(1)
    eta = 0.2 * torch.randn_like(hidden)
    noisy_ce = torch.nn.functional.cross_entropy(net[7:](hidden + eta), y)
    torch.manual_seed(1)
    assert torch.equal(ib_plane.loss(net, x, y, config, "tanh stochastic"), noisy_ce)
    term = ib_noisy(hidden, y, noise_std=0.2).ixl
    assert 0 < float(term.detach()) <= math.log(32)  # X uniform over the batch
    torch.manual_seed(1)
    remedy = ib_plane.loss(net, x, y, config, "tanh stochastic IB")
    assert float(remedy.detach()) == pytest.approx(float((noisy_ce + 0.5 * term).detach()), rel=1e-6)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"linear_n": 3}, "linear_n"),
        ({"output_noise": 0.0}, "output_noise"),
        # The planes' KSG (k = 3) on the evaluation images, and their three hidden layers: each died once
        # Fig. 1, the examples and the linear layer were done, in the first plane.
        ({"plane": {"eval_size": 3}}, "plane.eval_size"),
        ({"plane": {"widths": [8, 4]}}, "plane.widths"),
    ],
)
def test_a_config_its_parts_cannot_run_is_refused_before_the_run_starts(
    tmp_path: Path, overrides: dict[str, object], field: str
) -> None:
    """KSG with k = 3 needs more than 3 rows, the noisy form a noise above 0, and the planes three hidden
    layers: the command's ranges (at least 1, at least 0, a list of widths) let them through."""
    options = ReproduceOptions(out=tmp_path / "run", overrides=overrides)
    with pytest.raises(ValueError, match=rf"^--set {re.escape(field)}: "):
        ib_theory.run(options)
    assert not (tmp_path / "run").exists()
