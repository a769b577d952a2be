"""The reference networks of Han et al. (2023) (Sec. IV-A), each split at its bottleneck into (f, g).

The paper gives layer counts and activations, not widths; the widths here are ours (stated in each
docstring) and the experiment's records carry them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def binary_mlp(width: int = 8) -> tuple[nn.Sequential, nn.Sequential]:
    """Binary classification (Fig. 3): 4 hidden layers of 8 sigmoid units, bottleneck in the middle.

    f: 2 -> 8 -> 8 (z = the second hidden layer); g: 8 -> 8 -> 1, sigmoid output for the MSE loss.
    """
    f = nn.Sequential(nn.Linear(2, width), nn.Sigmoid(), nn.Linear(width, width), nn.Sigmoid())
    g = nn.Sequential(
        nn.Linear(width, width),
        nn.Sigmoid(),
        nn.Linear(width, width),
        nn.Sigmoid(),
        nn.Linear(width, 1),
        nn.Sigmoid(),
    )
    return f, g


def conv_classifier(
    in_channels: int = 1, classes: int = 10, width: int = 32, size: int = 32
) -> tuple[nn.Sequential, nn.Sequential]:
    """Image classification (Table 2): f = 4 conv layers with ReLU, g = an MLP with 2 hidden layers.

    f: conv3x3(w) ReLU, conv3x3(w) ReLU, maxpool, conv3x3(2w) ReLU, conv3x3(2w) ReLU, maxpool, flatten;
    the bottleneck is the flattened feature map. g: 256 and 128 hidden units with ReLU, then the logits.
    """
    f = nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, width, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(2 * width, 2 * width, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
    )
    features = 2 * width * (size // 4) ** 2
    g = nn.Sequential(
        nn.Linear(features, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, classes)
    )
    return f, g


class VAEEncoder(nn.Module):
    """Encoder f of the denoising VAE: 5 conv layers and 2 linear layers, LeakyReLU and batch norm,
    giving (mu, sigma) of the latent Gaussian (sigma = softplus, kept positive). 32 x 32 inputs."""

    def __init__(self, in_channels: int = 1, latent: int = 128, width: int = 32) -> None:
        super().__init__()
        chans = [in_channels, width, width, 2 * width, 2 * width, 4 * width]
        layers: list[nn.Module] = []
        for i in range(5):  # the first keeps 32 x 32, the next four halve it: 32 -> 2
            stride = 1 if i == 0 else 2
            layers += [
                nn.Conv2d(chans[i], chans[i + 1], 3 if i == 0 else 4, stride, 1),
                nn.BatchNorm2d(chans[i + 1]),
                nn.LeakyReLU(0.2),
            ]
        self.conv = nn.Sequential(*layers, nn.Flatten())
        self.fc = nn.Sequential(
            nn.Linear(4 * width * 4, 256), nn.BatchNorm1d(256), nn.LeakyReLU(0.2), nn.Linear(256, 2 * latent)
        )

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu, raw = self.fc(self.conv(x)).chunk(2, dim=1)
        return mu, F.softplus(raw) + 1e-4


class VAEDecoder(nn.Module):
    """Decoder g: a linear layer to 2 x 2 maps, then 5 (transposed) conv layers with batch norm and
    Tanh activations, output in [-1, 1]."""

    def __init__(self, out_channels: int = 1, latent: int = 128, width: int = 32) -> None:
        super().__init__()
        self.width = width
        self.fc = nn.Linear(latent, 4 * width * 4)
        chans = [4 * width, 2 * width, 2 * width, width, width]
        layers: list[nn.Module] = []
        for i in range(4):  # 2 -> 32
            layers += [
                nn.ConvTranspose2d(chans[i], chans[i + 1], 4, 2, 1),
                nn.BatchNorm2d(chans[i + 1]),
                nn.Tanh(),
            ]
        layers += [nn.Conv2d(width, out_channels, 3, padding=1), nn.Tanh()]
        self.deconv = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.deconv(self.fc(z).view(-1, 4 * self.width, 2, 2))


def denoising_vae(in_channels: int = 1, latent: int = 128, width: int = 32) -> tuple[VAEEncoder, VAEDecoder]:
    """The denoising VAE of Table 2 (right) and Table 3: latent 128, reconstruct the clean image."""
    return VAEEncoder(in_channels, latent, width), VAEDecoder(in_channels, latent, width)


def psnr(reconstruction: Tensor, target: Tensor, data_range: float = 2.0) -> Tensor:
    """Peak signal-to-noise ratio in dB, per image averaged; ``data_range`` 2 for images in [-1, 1]."""
    mse = ((reconstruction - target) ** 2).flatten(1).mean(dim=1).clamp_min(1e-12)
    return (10 * torch.log10(data_range**2 / mse)).mean()
