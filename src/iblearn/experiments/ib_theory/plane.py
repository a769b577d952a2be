"""Information planes of a small MNIST MLP: the estimator decides the picture (Saxe et al. 2018), and a
ProximalSplit run against its baseline (Han et al. 2023, Sec. V: "measure the MI of the bottleneck").

Each run trains the MLP 784-16-8-4-10 (tanh or ReLU; small layers, so that binning is not simply log N)
with Adam and records, with :class:`~iblearn.analysis.InformationPlane`, I(X; T) and I(T; Y) of the
three hidden layers on a fixed evaluation sample with three estimators: binning (30 bins over each
layer's range), KSG with MixedKSG, and the noisy form (Gaussian noise of 0.5 times the layer's spread,
about Saxe et al.'s variance 0.1 for tanh units).

The runs "tanh stochastic" and "tanh stochastic IB" are the same net made stochastic as Amjad & Geiger (2019),
Sec. 5.3 proposes: Gaussian noise eta ~ N(0, stochastic_std^2 I) is added to the last hidden layer L in
training and L + eta is fed to the output layer (evaluation and the planes take L without noise). The
first trains on the cross-entropy alone; the second adds ``ib_beta`` times the compression term
I(X; L + eta) of that same eta (eq. 4 with the precision term replaced by the cross-entropy, as Sec. 5.4
allows), computed on each batch by :func:`~iblearn.analysis.ib_noisy` (X uniform over the batch,
differentiable in L). With noise only in the functional (Sec. 5.4) and a deterministic net, the penalty
is gamed by the scale of L (see docs/results/ib-theory.md): inside the net the noise makes shrinking L
cost accuracy.
Runs resume whole: a run whose rows are all in ``metrics.csv`` is not trained again.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from iblearn.analysis import InformationPlane, InformationPlaneResult, PlanePoint, ib_noisy
from iblearn.analysis.information_plane import XMethod, YMethod
from iblearn.data.vision import load_images, to_float
from iblearn.experiments.options import check_float32, check_names, check_noise_std, check_rate_float32
from iblearn.optim import ProximalSplit
from iblearn.records import RunFolder, markdown_table

ESTIMATORS: dict[str, tuple[XMethod, YMethod]] = {
    "binning": ("binning", "binning"),
    "KSG": ("ksg", "mixed_ksg"),
    "noisy": ("noisy", "noisy"),
}
#: The neighbours of the planes' KSG (ksg_mi's default, which InformationPlane takes).
KSG_K = 3
LAYERS = ["2", "4", "6"]  # the activations after each hidden linear layer
# "tanh" is the baseline of ProximalSplit and of the stochastic nets: Adam, same seed
RUNS = ("tanh", "relu", "tanh ProximalSplit", "tanh stochastic", "tanh stochastic IB")


@dataclass(frozen=True)
class Config:
    train_size: int = 2000
    eval_size: int = 500
    epochs: int = 30
    records: int = 10  # record times, log-spaced over the epochs (plus epoch 0)
    widths: tuple[int, ...] = (16, 8, 4)
    batch_size: int = 64
    lr: float = 1e-3
    beta: float = 10.0  # ProximalSplit (Han et al. (2023)'s beta); split after the second hidden layer
    noise_scale: float = 0.5  # the noisy estimator's noise, relative to each layer's spread
    stochastic_std: float = 0.3  # the stochastic nets' noise on the last hidden layer (tanh units)
    ib_beta: float = 0.01  # "tanh stochastic IB": weight of I(X; L + eta)
    runs: tuple[str, ...] = RUNS

    def __post_init__(self) -> None:
        check_names("runs", self.runs, RUNS)
        check_rate_float32("lr", [self.lr])
        check_float32("beta", [self.beta])
        check_float32("ib_beta", [self.ib_beta])
        check_noise_std("stochastic_std", self.stochastic_std)  # added to tanh units
        # Checked before the run starts: the planes would refuse them only once Fig. 1, the examples and
        # the linear layer are done.
        if len(self.widths) < len(LAYERS):
            raise ValueError(
                f"widths: the planes record {len(LAYERS)} hidden layers, so at least {len(LAYERS)} widths, "
                f"got {list(self.widths)}"
            )
        if self.eval_size <= KSG_K:
            raise ValueError(
                f"eval_size: the planes' KSG (k = {KSG_K}) needs more than {KSG_K} evaluation images, "
                f"got {self.eval_size}"
            )

    @classmethod
    def full(cls) -> Config:
        return cls(train_size=10000, eval_size=1000, epochs=100, records=20)


def mlp(act: str, widths: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten()]
    previous = 784
    for w in widths:
        layers += [nn.Linear(previous, w), nn.Tanh() if act == "tanh" else nn.ReLU()]
        previous = w
    return nn.Sequential(*layers, nn.Linear(previous, 10))


def record_epochs(config: Config) -> list[int]:
    return sorted(
        {0, *np.unique(np.geomspace(1, config.epochs, config.records).round().astype(int)).tolist()}
    )


def train_run(name: str, config: Config, seed: int, data: tuple[torch.Tensor, ...]) -> list[dict[str, Any]]:
    x, y, xe, ye = data
    torch.manual_seed(seed)
    net = mlp("relu" if name == "relu" else "tanh", config.widths)
    planes = {
        est: InformationPlane(
            net, LAYERS, xe, ye, ixt=ixt, ity=ity, noise_scale=config.noise_scale, input_kind="continuous"
        )
        for est, (ixt, ity) in ESTIMATORS.items()
    }
    split = name.endswith("ProximalSplit")
    if split:
        f, g = net[:5], net[5:]
        opt: torch.optim.Optimizer = ProximalSplit(
            f.parameters(), g.parameters(), lr_backward=config.lr, lr_forward=config.lr, beta=config.beta
        )
    else:
        opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    gen = torch.Generator().manual_seed(seed)
    when = set(record_epochs(config))
    for epoch in range(config.epochs + 1):
        if epoch in when:
            with warnings.catch_warnings():  # binning and KSG of a tanh layer: Theorem 1, said in the text
                warnings.simplefilter("ignore", UserWarning)
                for plane in planes.values():
                    plane.record(epoch)
        if epoch == config.epochs:
            break
        for idx in torch.randperm(len(y), generator=gen).split(config.batch_size):
            if split:

                def closure(idx: torch.Tensor = idx) -> tuple[torch.Tensor, torch.Tensor]:
                    z = f(x[idx])
                    return F.cross_entropy(g(z), y[idx]), z

                opt.step(closure)  # type: ignore[arg-type]
            else:
                opt.zero_grad()
                loss(net, x[idx], y[idx], config, name).backward()
                opt.step()
    with torch.no_grad():
        acc = float((net(xe).argmax(1) == ye).float().mean())
    return [
        {
            "run": name,
            "estimator": est,
            "epoch": p.epoch,
            "layer": p.layer,
            "ixt": p.ixt,
            "ity": p.ity,
            "eval_acc": acc,
        }
        for est, plane in planes.items()
        for p in plane.result().points
    ]


def loss(net: nn.Sequential, x: torch.Tensor, y: torch.Tensor, config: Config, run: str) -> torch.Tensor:
    """The cross-entropy; for the stochastic runs with eta added to the last hidden layer L, and for
    "tanh stochastic IB" plus ``ib_beta`` I(X; L + eta) (see the module docstring)."""
    if not run.startswith("tanh stochastic"):
        return F.cross_entropy(net(x), y)
    split = 2 * len(config.widths) + 1  # Flatten, then (Linear, activation) per hidden layer
    hidden = net[:split](x)
    ce = F.cross_entropy(net[split:](hidden + config.stochastic_std * torch.randn_like(hidden)), y)
    if run != "tanh stochastic IB":
        return ce
    return ce + config.ib_beta * ib_noisy(hidden, y, noise_std=config.stochastic_std).ixl


def run(folder: RunFolder, config: Config, options: Any) -> dict[str, Any]:
    """Train the runs not yet in ``folder``'s metrics, then summarize every run's planes and plot them."""
    train, test = load_images("mnist", "train"), load_images("mnist", "test")
    gen = torch.Generator().manual_seed(options.seed)
    keep = torch.randperm(len(train.labels), generator=gen)[: config.train_size]
    data = (
        to_float(train.images[keep]),
        train.labels[keep],
        to_float(test.images[: config.eval_size]),
        test.labels[: config.eval_size],
    )
    expected = len(ESTIMATORS) * len(LAYERS) * len(record_epochs(config))
    for name in config.runs:
        rows = [r for r in folder.metrics() if r["run"] == name]
        if len(rows) == expected:
            continue
        folder.drop_metrics(lambda r, name=name: r["run"] == name)  # type: ignore[misc]
        for row in train_run(name, config, options.seed, data):
            folder.append_metrics(row)
        options.tell(f"information plane: {name}")
    rows = folder.metrics()
    summary = summarize(rows)
    plot(folder, rows)
    return summary


def summarize(rows: list[dict[str, str]]) -> dict[str, Any]:
    """Per run, estimator and layer: I(X; T) at the start, its peak and at the end, and I(T; Y) at the end.
    "Compression" is the fall of I(X; T) from its peak to the end."""
    out: dict[str, Any] = {}
    for r in rows:
        out.setdefault(r["run"], {"eval_acc": float(r["eval_acc"])}).setdefault(
            r["estimator"], {}
        ).setdefault(r["layer"], []).append((int(r["epoch"]), float(r["ixt"]), float(r["ity"])))
    for run_name, per_est in out.items():
        for est, per_layer in per_est.items():
            if est == "eval_acc":
                continue
            for layer, pts in per_layer.items():
                pts.sort()
                ixt = [p[1] for p in pts]
                per_layer[layer] = {
                    "ixt_start": ixt[0],
                    "ixt_peak": max(ixt),
                    "ixt_end": ixt[-1],
                    "compression": max(ixt) - ixt[-1],
                    "ity_end": pts[-1][2],
                }
        out[run_name] = per_est
    return out


def table(summary: dict[str, Any]) -> str:
    rows = []
    for run_name, per_est in summary.items():
        for est, per_layer in per_est.items():
            if est == "eval_acc":
                continue
            for layer, s in per_layer.items():
                rows.append(
                    [
                        run_name,
                        f"{per_est['eval_acc']:.3f}",
                        est,
                        f"hidden {LAYERS.index(layer) + 1}",
                        *(
                            f"{s[k]:.3f}"
                            for k in ("ixt_start", "ixt_peak", "ixt_end", "compression", "ity_end")
                        ),
                    ]
                )
    return "\n\n".join(
        [
            "## Information planes of an MLP 784-16-8-4-10 on MNIST (nats)",
            "I(X; T) of a deterministic tanh layer is infinite (Theorem 1): the binning and KSG columns "
            'measure their estimator. Compare how much "compression" (fall of I(X; T) from its peak) each '
            "shows.",
            markdown_table(
                [
                    "run",
                    "test acc",
                    "estimator",
                    "layer",
                    "I(X;T) start",
                    "peak",
                    "end",
                    "compression",
                    "I(T;Y) end",
                ],
                rows,
            ),
        ]
    )


def plot(folder: RunFolder, rows: list[dict[str, str]]) -> None:
    for run_name in dict.fromkeys(r["run"] for r in rows):
        for est in ESTIMATORS:
            pts = tuple(
                PlanePoint(
                    int(r["epoch"]),
                    f"hidden {LAYERS.index(r['layer']) + 1}",
                    float(r["ixt"]),
                    float(r["ity"]),
                )
                for r in rows
                if r["run"] == run_name and r["estimator"] == est
            )
            result = InformationPlaneResult(pts, *ESTIMATORS[est], unit="nats")
            slug = run_name.replace(" ", "_").replace("(", "").replace(")", "")
            result.plot(folder.file(f"plane_{slug}_{est}.png"), title=f"{run_name}, {est}")
