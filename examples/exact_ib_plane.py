"""Layers of a small network against the exact IB curve of their data, at every epoch.

The task follows Shwartz-Ziv & Tishby (2017): X is one of the 4,096 patterns of 12 bits, all equally
likely, and Y a fixed binary function of X. X is discrete, so the binned I(X; T) of a layer is H(T) of
its bins, a well-defined quantity (Amjad & Geiger 2019, Sec. 4.2), and every layer is a representation
T = f(X): its point can lie on or below the IB curve of p(x, y), never above. The curve here is the
diagonal I(T; Y) = I(X; T) up to H(Y) = log 2 (Y is a function of X: T = Y is optimal), so a layer's
distance below it is what its bins keep of X beyond the label.

    python examples/exact_ib_plane.py            # 200 epochs, under half a minute on one CPU thread
    python examples/exact_ib_plane.py --quick    # 20 epochs, a few seconds

It writes the picture (exact_ib_plane.png) and the points (exact_ib_plane.csv) to --out.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import torch
from torch import nn

from iblearn.analysis import InformationPlane
from iblearn.data.bits import twelve_bit_task


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds: fewer epochs")
    parser.add_argument("--out", type=Path, default=Path("runs/example-exact-ib-plane"))
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
    tanh_layers = [str(i) for i, m in enumerate(net) if isinstance(m, nn.Tanh)]

    # bound=True: the IB curve of the data's joint (each of the 4,096 patterns against its label).
    plane = InformationPlane(
        net, tanh_layers, x, y, ixt="binning", ity="binning", input_kind="discrete", base=2, bound=True
    )
    epochs = 20 if args.quick else 200
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    plane.record(epoch=0)
    for epoch in range(1, epochs + 1):
        for batch in torch.split(train[torch.randperm(len(train))], 128):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
            opt.step()
        plane.record(epoch)  # every epoch: temporary hooks, eval mode, no_grad

    result = plane.result()
    args.out.mkdir(parents=True, exist_ok=True)
    result.plot(args.out / "exact_ib_plane.png", title="12-bit task: layers and the IB curve")
    result.to_csv(args.out / "exact_ib_plane.csv")

    gaps = result.gaps()
    by_layer: dict[str, list[float]] = {name: [] for name in tanh_layers}
    for p, gap in zip(result.points, gaps, strict=True):
        by_layer[p.layer].append(gap)
    with torch.no_grad():
        accuracy = (net(x).argmax(1) == y).float().mean()
    assert result.bound is not None
    print(f"trained {epochs} epochs, accuracy on all patterns {float(accuracy):.3f}")
    print(f"the IB curve: I(X;Y) = {result.bound.i_xy * result.per_nat:.3f} bits, H(X) = 12 bits")
    print("layer  I(X;T)  I(T;Y)  below the curve (first epoch -> last) [bits]")
    first_last = {name: (round(g[0], 3) + 0.0, round(g[-1], 3) + 0.0) for name, g in by_layer.items()}
    last = {p.layer: p for p in result.points if p.epoch == epochs}
    for name in tanh_layers:
        gap0, gap1 = first_last[name]
        print(f"{name:>5}  {last[name].ixt:6.3f}  {last[name].ity:6.3f}  {gap0:.3f} -> {gap1:.3f}")
    print(f"wrote {args.out / 'exact_ib_plane.png'} and {args.out / 'exact_ib_plane.csv'}")
    return by_layer


if __name__ == "__main__":
    main()
