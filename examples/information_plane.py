"""The information plane of a small tanh network, and the MI of its trained layers.

The task follows Shwartz-Ziv & Tishby (2017): X is one of the 4,096 patterns of 12 bits, all equally
likely, and Y a fixed binary function of X. X is discrete, so the binned I(X; T) is a well-defined
quantity here (paper 003, Sec. 4.2), unlike for continuous inputs (Theorem 1; iblearn warns there).

    python examples/information_plane.py            # 3,000 epochs, under a minute on one CPU thread
    python examples/information_plane.py --quick    # 100 epochs, a few seconds

It writes the picture (information_plane.png) and the points (information_plane.csv) to --out.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import torch
from torch import nn

from iblearn.analysis import InformationPlane
from iblearn.data.bits import twelve_bit_task
from iblearn.estimators import MixedKSG


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds: fewer epochs")
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

    # The plane is measured on all 4,096 patterns: X is then uniform over them, H(X) = log 4096.
    plane = InformationPlane(net, tanh_layers, x, y, ixt="binning", ity="binning", input_kind="discrete")
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
    result.plot(args.out / "information_plane.png", title="12-bit task, tanh MLP")
    result.to_csv(args.out / "information_plane.csv")

    with torch.no_grad():
        accuracy = (net(x).argmax(1) == y).float().mean()
    print(f"trained {epochs} epochs, accuracy on all patterns {float(accuracy):.3f}")
    print(f"layer  I(X;T) binned  I(T;Y) binned  I(T;Y) MixedKSG   [{result.unit}; H(Y) = log 2 = 0.693]")
    last = {p.layer: p for p in result.points if p.epoch == result.points[-1].epoch}
    for name in tanh_layers:
        with torch.no_grad():
            t = net[: int(name) + 1](x)  # the layer's output on every pattern
        ity = MixedKSG(k=3)(t.double(), y)  # a second, kNN-based reading of I(T; Y)
        print(f"{name:>5}  {last[name].ixt:13.3f}  {last[name].ity:13.3f}  {float(ity):15.3f}")
    print(f"wrote {args.out / 'information_plane.png'} and {args.out / 'information_plane.csv'}")


if __name__ == "__main__":
    main()
