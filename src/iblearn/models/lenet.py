"""The networks of Vasudevan (2020)'s experiments: a LeNet-5-style model for MNIST (Sec. 4, Fig. 2: "two sets
of convolution and pooling blocks followed by 2 fully connected layers separated by a Dropout layer",
ReLU, softmax output) and a small VGG-style model for the deeper runs. Widths are ours; the paper's
figure with them did not survive extraction.

Both are ``nn.Sequential`` with named layers; :data:`LAYER_GROUPS` lists, per network, the parameter
groups of layer-wise MIDecayLR and the module whose output each group's MI is measured at.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from torch import nn


def lenet5(in_channels: int = 1, classes: int = 10, size: int = 28) -> nn.Sequential:
    side = ((size - 4) // 2 - 4) // 2
    return nn.Sequential(
        OrderedDict(
            [
                ("conv1", nn.Conv2d(in_channels, 32, 5)),
                ("relu1", nn.ReLU()),
                ("pool1", nn.MaxPool2d(2)),
                ("conv2", nn.Conv2d(32, 64, 5)),
                ("relu2", nn.ReLU()),
                ("pool2", nn.MaxPool2d(2)),
                ("flatten", nn.Flatten()),
                ("fc1", nn.Linear(64 * side * side, 128)),
                ("relu3", nn.ReLU()),
                ("dropout", nn.Dropout(0.5)),
                ("fc2", nn.Linear(128, classes)),
            ]
        )
    )


def small_vgg(in_channels: int = 1, classes: int = 10, size: int = 28) -> nn.Sequential:
    """Three VGG blocks (3x3 convolutions, batch norm, ReLU, max-pool), then 256 units, dropout, logits."""
    layers: list[tuple[str, nn.Module]] = []
    channels = [in_channels, 32, 64, 128]
    for b in range(3):
        for c in range(2 if b < 2 else 1):
            layers += [
                (
                    f"conv{b + 1}_{c + 1}",
                    nn.Conv2d(channels[b] if c == 0 else channels[b + 1], channels[b + 1], 3, padding=1),
                ),
                (f"bn{b + 1}_{c + 1}", nn.BatchNorm2d(channels[b + 1])),
                (f"relu{b + 1}_{c + 1}", nn.ReLU()),
            ]
        layers.append((f"pool{b + 1}", nn.MaxPool2d(2)))
    side = size // 8
    layers += [
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(128 * side * side, 256)),
        ("relu_fc", nn.ReLU()),
        ("dropout", nn.Dropout(0.5)),
        ("fc2", nn.Linear(256, classes)),
    ]
    return nn.Sequential(OrderedDict(layers))


#: For each network: (parameter-name prefixes of a group, the module whose output is that group's T).
LAYER_GROUPS: dict[str, list[tuple[tuple[str, ...], str]]] = {
    "lenet5": [(("conv1",), "pool1"), (("conv2",), "pool2"), (("fc1",), "relu3"), (("fc2",), "fc2")],
    "small_vgg": [
        (("conv1_", "bn1_"), "pool1"),
        (("conv2_", "bn2_"), "pool2"),
        (("conv3_", "bn3_"), "pool3"),
        (("fc1",), "relu_fc"),
        (("fc2",), "fc2"),
    ],
}
MODELS = {"lenet5": lenet5, "small_vgg": small_vgg}


def layer_groups(model: nn.Module, name: str, lr: float) -> tuple[list[dict[str, Any]], list[str]]:
    """Parameter groups, one per layer of :data:`LAYER_GROUPS`, and the modules their MI is read at."""
    groups: list[dict[str, Any]] = []
    taps = []
    params = dict(model.named_parameters())
    for prefixes, tap in LAYER_GROUPS[name]:
        members = [p for n, p in params.items() if n.startswith(prefixes)]
        groups.append({"params": members, "lr": lr})
        taps.append(tap)
    if sum(len(g["params"]) for g in groups) != len(params):
        raise ValueError(f"name: the layer groups of {name} do not cover the model's parameters")
    return groups, taps


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
