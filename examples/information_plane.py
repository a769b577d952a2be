"""The information plane of a small tanh network, the MI of its trained layers, and the IB curve.

The task follows Shwartz-Ziv & Tishby (2017): X is one of the 4,096 patterns of 12 bits, all equally
likely, and Y a fixed binary function of X. X is discrete, so the binned I(X; T) of a layer is H(T) of
its bins, a well-defined quantity (Amjad & Geiger 2019, Sec. 4.2), unlike for continuous inputs
(Theorem 1; iblearn warns there).

With --bound, the plane is drawn beside the exact IB curve of p(x, y). Every layer is a representation
T = f(X): its point lies on or below that curve, never above. Y is a function of X, so the curve is the
diagonal I(T; Y) = I(X; T) up to H(Y) = log 2 (T = Y is optimal), and a layer's distance below it is what
its bins keep of X beyond the label.

    python examples/information_plane.py            # 3,000 epochs, under a minute on one CPU thread
    python examples/information_plane.py --quick    # 100 epochs, a few seconds
    python examples/information_plane.py --bound    # the same, beside the exact IB curve

It writes the picture (information_plane.png) and the points (information_plane.csv) to --out.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import torch
from torch import nn

from iblearn.analysis import InformationPlane, InformationPlaneResult
from iblearn.data.bits import twelve_bit_task
from iblearn.estimators import MixedKSG


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    """Train, record the plane, print each layer's final reading; returns each layer's distance below
    the IB curve at every recorded epoch with ``--bound`` (else an empty dict)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds: fewer epochs")
    parser.add_argument("--bound", action="store_true", help="beside the exact IB curve of the data")
    parser.add_argument("--out", type=Path, default=Path("runs/example-information-plane"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # many small operations: one thread is fastest, above all on shared cores
    torch.manual_seed(args.seed)

    x, y = twelve_bit_task(args.seed)
    train = torch.randperm(len(x))[: int(0.85 * len(x))]  # the paper's 85% training split
    widths = [12, 10, 7, 5, 4, 3]
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(widths):
        layers += [nn.Linear(a, b), nn.Tanh()]
    net = nn.Sequential(*layers, nn.Linear(widths[-1], 2))
    tanh_layers = [str(i) for i, m in enumerate(net) if isinstance(m, nn.Tanh)]  # "1", "3", "5", ...

    # The plane is measured on all 4,096 patterns: X is then uniform over them, H(X) = log 4096; with
    # bound=True, the IB curve of the same joint (each pattern against its label).
    plane = InformationPlane(
        net, tanh_layers, x, y, ixt="binning", ity="binning", input_kind="discrete", bound=args.bound
    )
    epochs, every = (100, 10) if args.quick else (3000, 100)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    plane.record(epoch=0)
    for epoch in range(1, epochs + 1):
        for batch in torch.split(train[torch.randperm(len(train))], 256):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
            opt.step()
        if epoch % every == 0:
            plane.record(epoch)  # temporary hooks, eval mode, no_grad: training is not disturbed

    result = plane.result()
    args.out.mkdir(parents=True, exist_ok=True)
    title = "12-bit task: layers and the IB curve" if args.bound else "12-bit task, tanh MLP"
    result.plot(args.out / "information_plane.png", title=title)
    result.to_csv(args.out / "information_plane.csv")

    with torch.no_grad():
        accuracy = (net(x).argmax(1) == y).float().mean()
    print(f"trained {epochs} epochs, accuracy on all patterns {float(accuracy):.3f}")
    print(f"layer  I(X;T) binned  I(T;Y) binned  I(T;Y) MixedKSG   [{result.unit}; H(Y) = log 2 = 0.693]")
    last = {p.layer: p for p in result.points if p.epoch == epochs}
    for name in tanh_layers:
        with torch.no_grad():
            t = net[: int(name) + 1](x)  # the layer's output on every pattern
        ity = MixedKSG(k=3)(t.double(), y)  # a second, kNN-based reading of I(T; Y)
        print(f"{name:>5}  {last[name].ixt:13.3f}  {last[name].ity:13.3f}  {float(ity):15.3f}")
    gaps = below_the_curve(result, tanh_layers) if args.bound else {}
    print(f"wrote {args.out / 'information_plane.png'} and {args.out / 'information_plane.csv'}")
    return gaps


def below_the_curve(result: InformationPlaneResult, layers: list[str]) -> dict[str, list[float]]:
    """Each layer's distance below the IB curve at every recorded epoch, printed first and last."""
    by_layer: dict[str, list[float]] = {name: [] for name in layers}
    for p, gap in zip(result.points, result.gaps(), strict=True):
        by_layer[p.layer].append(gap)
    assert result.bound is not None
    print(f"the IB curve: I(X;Y) = {result.bound.i_xy * result.per_nat:.3f} {result.unit}")
    print(f"layer  below the curve, first epoch -> last [{result.unit}]")
    for name, g in by_layer.items():
        print(f"{name:>5}  {round(g[0], 3) + 0.0:.3f} -> {round(g[-1], 3) + 0.0:.3f}")
    return by_layer


if __name__ == "__main__":
    main()
