"""Latent MI (Gowri et al. 2024): KSG on low-dimensional embeddings that a cross-predictive
autoencoder learns."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn._settings import SETTINGS
from iblearn.estimators.base import SettingCheck, passed_on
from iblearn.estimators.critics import Hidden
from iblearn.estimators.neural.representation import RepresentationEstimator
from iblearn.estimators.standardize import Standardize
from iblearn.functional.knn.ksg import ksg_mi

#: Standardized inputs are clipped to this many standard deviations, as the paper's code does: one
#: outlying row would otherwise dominate the squared reconstruction error.
CLIP = 10.0


class HostDropout(nn.Dropout):
    """``nn.Dropout`` that, in training, applies the mask it is handed (:func:`host_masks`): masks drawn
    on a CPU generator, so that a seed gives the same masks on any device (a GPU's generator draws other
    numbers than the CPU's). Without one it is ``nn.Dropout``.

    Args:
        p: the dropout rate.
        width: the features of its input ``(N, width)``.
    """

    def __init__(self, p: float, width: int) -> None:
        super().__init__(p)
        self.width = width
        self.mask: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        if self.mask is None or not self.training:
            return super().forward(x)
        return x * self.mask


@contextmanager
def host_masks(net: nn.Module, rows: int, gen: torch.Generator, like: Tensor) -> Iterator[None]:
    """Within it, every :class:`HostDropout` of ``net`` in training mode applies a mask for ``rows`` rows
    drawn from ``gen`` (a CPU generator) as torch's CPU dropout draws it, ``bernoulli(1 - p) / (1 - p)``
    in ``like``'s dtype, layer after layer in the order of ``net.modules()`` (the order the cross-decoders
    run in); the masks go to ``like``'s device in one copy."""
    layers = [m for m in net.modules() if isinstance(m, HostDropout) and m.training and m.p > 0]
    masks = [
        torch.empty(rows, m.width, dtype=like.dtype).bernoulli_(1 - m.p, generator=gen).div_(1 - m.p)
        for m in layers
    ]
    if masks:
        moved = torch.cat([m.flatten() for m in masks]).to(like.device).split([m.numel() for m in masks])
        for layer, mask in zip(layers, moved, strict=True):
            layer.mask = mask.view(rows, layer.width)
    try:
        yield
    finally:
        for layer in layers:
            layer.mask = None


def leaky_mlp(widths: Sequence[int], *, dropout: float = 0.0, last: bool = False) -> nn.Sequential:
    """Linear layers through ``widths`` with LeakyReLU(0.2) between them (and after the last if ``last``),
    each preceded by dropout if ``dropout`` (:class:`HostDropout`); Xavier-uniform weights and zero
    biases (the paper's code)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        if dropout:
            layers.append(HostDropout(dropout, a))
        linear = nn.Linear(a, b)
        nn.init.xavier_uniform_(linear.weight)
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if last or i < len(widths) - 2:
            layers.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*layers)


class CrossAutoencoder(nn.Module):
    """The paired autoencoders of latent MI: encoders ``z_x = E_x(x)``, ``z_y = E_y(y)`` to ``latent``
    dimensions, decoders of each variable from its own code, and cross-decoders (with dropout) of each
    variable from the other's code. ``forward(x, y)`` returns the codes; :meth:`losses` the
    reconstruction and cross-prediction errors. Inputs are standardized by buffers (:class:`Standardize`).
    """

    def __init__(
        self, x_dim: int, y_dim: int, latent: int, hidden: Sequence[int], dropout: float = 0.5
    ) -> None:
        super().__init__()
        self.x_scale, self.y_scale = Standardize(x_dim, CLIP), Standardize(y_dim, CLIP)
        down, up = list(hidden), list(reversed(hidden))
        self.x_encoder = leaky_mlp([x_dim, *down, latent], last=True)
        self.y_encoder = leaky_mlp([y_dim, *down, latent], last=True)
        self.x_decoder = leaky_mlp([latent, *up, x_dim])
        self.y_decoder = leaky_mlp([latent, *up, y_dim])
        self.x_from_y = leaky_mlp([latent, *up, x_dim], dropout=dropout)
        self.y_from_x = leaky_mlp([latent, *up, y_dim], dropout=dropout)

    def calibrate(self, x: Tensor, y: Tensor) -> None:
        self.x_scale.calibrate(x)
        self.y_scale.calibrate(y)

    def forward(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return self.x_encoder(self.x_scale(x)), self.y_encoder(self.y_scale(y))

    def losses(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """``(auto, cross)``: mean squared errors of the self-reconstructions and of the cross-predictions
        (each the sum of x's and y's), on the standardized inputs."""
        xs, ys = self.x_scale(x), self.y_scale(y)
        zx, zy = self.x_encoder(xs), self.y_encoder(ys)
        auto = F.mse_loss(self.x_decoder(zx), xs) + F.mse_loss(self.y_decoder(zy), ys)
        cross = F.mse_loss(self.x_from_y(zy), xs) + F.mse_loss(self.y_from_x(zx), ys)
        return auto, cross


def weight(value: Any, name: str) -> float:
    """A loss weight: a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
        raise ValueError(f"{name}: expected a finite weight >= 0, got {value!r}")
    return float(value)


def dropout_rate(value: Any, name: str) -> float:
    """A dropout rate, in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ValueError(f"{name}: expected a rate in [0, 1), got {value!r}")
    return value


class LMI(RepresentationEstimator):
    """Latent MI (Gowri et al. 2024, "Approximating mutual information of high-dimensional variables
    using learned representations", NeurIPS): I(X; Y) approximated by I(E_x(X); E_y(Y)), estimated by
    KSG (:func:`~iblearn.functional.ksg_mi`) on ``latent``-dimensional embeddings.

    The embeddings come from paired autoencoders trained on ``alpha * (reconstruction error of each
    variable from its own code) + lam * (error of each predicted from the other's code)``, mean squared
    errors on standardized inputs clipped to 10 sd: ``AECross.learning_loss`` of the authors' package
    ``latentmi`` (checked against its ``models.py`` and ``lmi.py`` at commit 7bddcd5: widths 1024, 512,
    256, LeakyReLU(0.2) after every encoder layer, dropout 0.5 before every cross-decoder layer,
    Xavier weights, ``alpha = lam = 1``, Adam at 1e-4, ``k = 4``). What differs: ``latentmi`` widens
    the first layer past 2,048 inputs, standardizes on all the rows rather than the training rows,
    trains in epochs of batch 512 on half the rows (early stopping after 30 epochs without gain) and
    estimates on the other half; here ``fit``'s steps, batches and held-out share. The cross term
    makes each code keep what predicts the other variable, i.e. the shared information; by data
    processing the latent MI is at most I(X; Y) (no bound is claimed for the KSG estimate of it).
    ``fit`` trains the autoencoders, holding rows out and keeping the network with the lowest held-out
    loss (:attr:`history` holds minus that loss); ``est(x, y)`` embeds the data it is given and runs
    KSG there, so estimate on rows not trained on (the code estimates on its held-out half).
    :meth:`pointwise` gives KSG's per-sample terms, the code's pointwise MI.

    Not differentiable (neighbour counts); a measurement, not a training loss.

    Args:
        x_dim, y_dim: input widths (flattened), both required with the default network.
        critic: ``"autoencoder"`` (:class:`CrossAutoencoder` of ``x_dim``, ``y_dim``, ``latent``,
            ``hidden``), or a module with ``forward(x, y) -> (z_x, z_y)``, ``losses(x, y) -> (auto,
            cross)`` and ``calibrate(x, y)``.
        hidden: encoder widths, reversed for the decoders (the paper's 1024, 512, 256).
        latent: dimensions of each embedding (the code's ``N_dims``, 8).
        k: KSG's neighbours on the embeddings (the code's 4).
        alpha, lam: weights of the self-reconstruction and the cross-prediction errors (1 and 1).
        dropout: before each layer of the cross-decoders (0.5).
        lr, eval_batch_size, average, seed, base, validation, patience, eval_every: as for
            :class:`~iblearn.estimators.neural.base.NeuralEstimator` (``lr`` the paper's 1e-4; no
            weight average).

    Example:
        >>> from iblearn.data import dense_gaussian
        >>> x, y = dense_gaussian(3).sample(3000, seed=0)  # 3 x 3 dims, all correlated at 0.5
        >>> est = LMI(3, 3, hidden=(32,), latent=2, lr=3e-3).fit(x[:2000], y[:2000], steps=300)
        >>> 0.3 < float(est(x[2000:], y[2000:])) < 0.5  # truth 0.4133
        True
    """

    name = "lmi"
    continuous_y = "the autoencoder reconstructs continuous y"
    both_widths = "the autoencoder reconstructs both variables"

    setting_checks: ClassVar[Mapping[str, SettingCheck]] = {
        "latent": V.positive_int,
        "k": SETTINGS["k"].check,
        "alpha": weight,
        "lam": weight,
        "dropout": dropout_rate,
    }

    def __init__(
        self,
        x_dim: int | None = None,
        y_dim: int | None = None,
        *,
        critic: nn.Module | str = "autoencoder",
        hidden: Hidden = (1024, 512, 256),
        latent: int = 8,
        k: int = 4,
        alpha: float = 1.0,
        lam: float = 1.0,
        dropout: float = 0.5,
        lr: float = 1e-4,
        average: float | None = None,  # the code keeps the weights of the best validation loss
        eval_batch_size: int = 1024,
        seed: int = 0,
        validation: float = 0.2,
        patience: int = 4,
        eval_every: int = 250,
        base: float = math.e,
    ) -> None:
        self.latent, self.k = latent, k  # each checked on assignment: setting_checks
        self.alpha, self.lam = alpha, lam
        if self.alpha == 0 and self.lam == 0:
            raise ValueError("alpha, lam: both 0 leaves nothing to train the encoders on")
        self.dropout = dropout
        super().__init__(**passed_on(locals(), RepresentationEstimator))

    def make_network(self, x_dim: int, y_dim: int, hidden: tuple[int, ...]) -> nn.Module:
        return CrossAutoencoder(x_dim, y_dim, self.latent, hidden, self.dropout)

    def objective(self, x: Tensor, y: Tensor) -> Tensor:
        net = self.scorer
        if self.trainer.is_watching:  # in eval mode: no dropout, nothing drawn
            auto, cross = net.losses(x, y)  # type: ignore[operator]
        else:
            # Dropout's masks come from a seed drawn on the estimator's generator, which fit seeds and the
            # state dict saves: training is reproducible and continues alike after a reload. The default
            # network draws them on the CPU (host_masks), the same on any device; a network given as the
            # critic draws from torch's global generators, seeded alike and then left as they were.
            seed = int(torch.randint(2**62, (), generator=self.trainer.shuffles))
            devices = [x.device.index or 0] if x.device.type == "cuda" else []
            masks = host_masks(net, len(x), torch.Generator().manual_seed(seed), x)
            with torch.random.fork_rng(devices=devices), masks:
                torch.manual_seed(seed)
                auto, cross = net.losses(x, y)  # type: ignore[operator]
        return -(self.alpha * auto + self.lam * cross)

    def embed(self, x: Any, y: Any) -> tuple[Tensor, Tensor]:
        """The embeddings ``(z_x, z_y)`` of the rows of x and y, ``(N, latent)`` each, by the network
        that reports (evaluation batches, no gradient)."""
        parts = self._reported_batches(x, y)
        zx, zy = (torch.cat(part) for part in zip(*parts, strict=True))
        return zx, zy

    def _estimate(self, x: Tensor, y: Tensor) -> Tensor:
        return ksg_mi(*self.embed(x, y), self.k)

    def pointwise(self, x: Any, y: Any) -> Tensor:
        """KSG's per-sample terms on the embeddings, ``(N,)`` float64 nats (in ``base``), whose mean is
        the estimate (:func:`~iblearn.functional.ksg_mi` with ``local=True``): the paper's pointwise MI
        values."""
        return ksg_mi(*self.embed(x, y), self.k, local=True) / math.log(self.base)
