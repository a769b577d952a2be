"""Latent MI (Gowri et al. 2024): KSG on low-dimensional embeddings that a cross-predictive
autoencoder learns; and the shared machinery of estimators that learn a representation first."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn.estimators.base import Bound
from iblearn.estimators.critics import Hidden, flat, seeded
from iblearn.estimators.neural import fitting
from iblearn.estimators.neural.base import NeuralEstimator
from iblearn.estimators.neural.inputs import refuse_constant
from iblearn.estimators.neural.settings import NeuralSettings
from iblearn.functional.knn import ksg_mi, ksg_pmi

#: Standardized inputs are clipped to this many standard deviations, as the paper's code does: one
#: outlying row would otherwise dominate the squared reconstruction error.
CLIP = 10.0


class Standardize(nn.Module):
    """``(t - mean) / std``, clipped to ``[-clip, clip]``; mean and std are buffers (saved in the state
    dict), set from the training rows by :meth:`calibrate` (identity before)."""

    mean: Tensor
    scale: Tensor

    def __init__(self, dim: int, clip: float = CLIP) -> None:
        super().__init__()
        self.clip = clip
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))

    @torch.no_grad()
    def calibrate(self, t: Tensor) -> None:
        rows = flat(t).to(self.mean.dtype)
        std = rows.std(dim=0, unbiased=False)
        self.mean.copy_(rows.mean(dim=0))
        self.scale.copy_(torch.where(std > 0, std, torch.ones_like(std)))

    def forward(self, t: Tensor) -> Tensor:
        return ((flat(t) - self.mean) / self.scale).clamp(-self.clip, self.clip)


def leaky_mlp(widths: Sequence[int], *, dropout: float = 0.0, last: bool = False) -> nn.Sequential:
    """Linear layers through ``widths`` with LeakyReLU(0.2) between them (and after the last if ``last``),
    each preceded by dropout if ``dropout``; Xavier-uniform weights and zero biases (the paper's code)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        if dropout:
            layers.append(nn.Dropout(dropout))
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
        self.x_scale, self.y_scale = Standardize(x_dim), Standardize(y_dim)
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


class RepresentationEstimator(NeuralEstimator):
    """Machinery of the estimators that learn a representation of x and y and read the MI off it (latent
    MI, MIENF): the network is the ``critic`` (trained, averaged and saved as a critic is), ``objective``
    what training maximizes (no bound: ``fit`` watches it on the held-out rows and keeps the best
    network), :meth:`_estimate` the MI from the representation of the data. ``fit`` first sets the
    network's input standardization from its rows (a DataLoader: left as it is)."""

    accepts = frozenset({"vector"})
    differentiable = False
    bound: ClassVar[Bound] = None
    fixed: ClassVar[Mapping[str, Any]] = {"y_classes": None, "n_negatives": 8}

    def _estimate(self, x: Tensor, y: Tensor) -> Tensor:
        raise NotImplementedError

    def _training_bound(self, loss: Tensor) -> Tensor:
        # The loss is no estimate; a loss of NaN or Inf is caught all the same.
        return torch.zeros(())

    def fit(self, x: Any, y: Any = None, **options: Any) -> NeuralEstimator:  # type: ignore[override]
        """Train the network: :meth:`NeuralEstimator.fit`'s arguments, with held-out rows and early
        stopping on ``objective``; the first call also sets the input standardization from ``x, y``."""
        if int(self.steps_done) == 0 and isinstance(x, Tensor | np.ndarray) and y is not None:
            xt, yt = self._inputs(x, y)
            refuse_constant(xt, yt)  # its standardization would divide by a spread of 0
            for net in (self.critic, self.averaged):
                if net is not None:
                    net.calibrate(xt, yt)  # type: ignore[operator]
        return super().fit(x, y, **options)

    def _watched(self, *parts: tuple[Tensor, Tensor]) -> list[float]:
        """``objective`` on each of ``parts`` with the network that reports, in eval mode (no dropout)."""
        with fitting.watching(self):
            return [float(self.objective(*self._inputs(*part))) for part in parts]

    def _in_batches(self, fn: Callable[[Tensor, Tensor], Any], x: Tensor, y: Tensor) -> list[Any]:
        """``fn`` on consecutive batches of ``eval_batch_size`` rows, in order."""
        size = self.eval_batch_size
        return [fn(x[i : i + size], y[i : i + size]) for i in range(0, len(x), size)]

    def batch_mi(self, x: Any, y: Any) -> Tensor:
        xt, yt = self._inputs(x, y)
        return self._finite(self._estimate(xt, yt), "estimate", (xt, yt))

    def mi(self, x: Any, y: Any) -> Tensor:
        xt, yt = self._inputs(x, y)
        with torch.no_grad():
            return self._finite(self._estimate(xt, yt), "estimate", (xt, yt))


@dataclass(frozen=True, kw_only=True)
class NetworkSettings(NeuralSettings):
    """:class:`NeuralSettings` of a :class:`RepresentationEstimator`, whose network is its ``critic``:
    the default network, named by ``critic``'s default, is built on ``x_dim``, ``y_dim`` and a sequence
    of ``hidden`` widths by :meth:`make_network`; y is continuous, so ``y_classes`` is refused. A family
    checks its own fields in :meth:`check`."""

    #: For the errors: why the network takes continuous y only, and why it needs both widths.
    continuous_y: ClassVar[str]
    both_widths: ClassVar[str]

    def __post_init__(self) -> None:
        if self.y_classes is not None:
            raise ValueError(f"y_classes: {self.continuous_y}, not class labels")
        super().__post_init__()
        self.check()
        if isinstance(self.critic, str):
            V.choice(self.critic, "critic", (self.network(),))
            for dim in ("x_dim", "y_dim"):
                if getattr(self, dim) is None:
                    raise ValueError(f"{dim}: {self.both_widths}; pass x_dim and y_dim")
                self._set(dim, V.positive_int(getattr(self, dim), dim))

    @classmethod
    def network(cls) -> str:
        """The default network's name: ``critic``'s default."""
        return cast(str, next(f.default for f in fields(cls) if f.name == "critic"))

    def check(self) -> None:
        """Check (and normalize) the family's own fields, after the shared ones."""

    def build_critic(self) -> nn.Module:
        if isinstance(self.critic, nn.Module):
            return self.critic
        x_dim, y_dim, hidden = self.x_dim, self.y_dim, self.hidden
        if x_dim is None or y_dim is None or not isinstance(hidden, tuple):  # __post_init__ makes them so
            raise ValueError(
                f"x_dim, y_dim, hidden: the {self.network()} needs both widths and a sequence of widths"
            )
        return seeded(lambda: self.make_network(x_dim, y_dim, hidden), self.seed)

    def make_network(self, x_dim: int, y_dim: int, hidden: tuple[int, ...]) -> nn.Module:
        """The default network, for inputs of ``x_dim`` and ``y_dim`` columns."""
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class LMISettings(NetworkSettings):
    """:class:`NeuralSettings` of latent MI, with the paper's code's defaults (its ``lmi.estimate``).

    Attributes:
        critic: ``"autoencoder"`` (:class:`CrossAutoencoder` of ``x_dim``, ``y_dim``, ``latent``,
            ``hidden``), or a module with its ``forward(x, y) -> (z_x, z_y)``, ``losses(x, y) ->
            (auto, cross)`` and ``calibrate(x, y)``.
        hidden: encoder widths, reversed for the decoders (the paper's 1024, 512, 256).
        latent: dimensions of each embedding (the code's ``N_dims``, 8).
        k: KSG's neighbours on the embeddings (the code's 4).
        alpha, lam: weights of the self-reconstruction and the cross-prediction errors (1 and 1).
        dropout: before each layer of the cross-decoders (0.5).
    """

    critic: nn.Module | str = "autoencoder"
    hidden: Hidden | int = (1024, 512, 256)
    latent: int = 8
    k: int = 4
    alpha: float = 1.0
    lam: float = 1.0
    dropout: float = 0.5
    lr: float = 1e-4
    average: float | None = None  # the code keeps the weights of the best validation loss, unaveraged

    continuous_y = "the autoencoder reconstructs continuous y"
    both_widths = "the autoencoder reconstructs both variables"

    def check(self) -> None:
        self._set("latent", V.positive_int(self.latent, "latent"))
        self._set("k", V.positive_int(self.k, "k"))
        for name in ("alpha", "lam"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
                raise ValueError(f"{name}: expected a finite weight >= 0, got {value!r}")
            self._set(name, float(value))
        if self.alpha == 0 and self.lam == 0:
            raise ValueError("alpha, lam: both 0 leaves nothing to train the encoders on")
        if (
            isinstance(self.dropout, bool)
            or not isinstance(self.dropout, int | float)
            or not 0 <= self.dropout < 1
        ):
            raise ValueError(f"dropout: expected a rate in [0, 1), got {self.dropout!r}")

    def make_network(self, x_dim: int, y_dim: int, hidden: tuple[int, ...]) -> nn.Module:
        return CrossAutoencoder(x_dim, y_dim, self.latent, hidden, self.dropout)


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
        hidden, latent, k, alpha, lam, dropout: :class:`LMISettings`.
        lr, eval_batch_size, average, seed, base, validation, patience, eval_every: as for
            :class:`~iblearn.estimators.neural.base.NeuralEstimator` (``lr`` the paper's 1e-4; no
            weight average).

    Example:
        >>> from iblearn.data.synthetic import dense_gaussian
        >>> x, y = dense_gaussian(3).sample(3000, seed=0)  # 3 x 3 dims, all correlated at 0.5
        >>> est = LMI(3, 3, hidden=(32,), latent=2, lr=3e-3).fit(x[:2000], y[:2000], steps=300)
        >>> 0.3 < float(est(x[2000:], y[2000:])) < 0.5  # truth 0.4133
        True
    """

    name = "lmi"
    Settings = LMISettings
    config: LMISettings

    def objective(self, x: Tensor, y: Tensor) -> Tensor:
        if not self.training:
            auto, cross = self.scorer.losses(x, y)  # type: ignore[operator]
        else:
            # Dropout draws from torch's global generator: seeded here from the estimator's own, which
            # fit seeds and the state dict saves, so that training is reproducible and continues alike
            # after a reload; the global generator is left as it was.
            seed = int(torch.randint(2**62, (), generator=self._shuffles))
            devices = [x.device.index or 0] if x.device.type == "cuda" else []
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(seed)
                auto, cross = self.scorer.losses(x, y)  # type: ignore[operator]
        return -(self.config.alpha * auto + self.config.lam * cross)

    def embed(self, x: Any, y: Any) -> tuple[Tensor, Tensor]:
        """The embeddings ``(z_x, z_y)`` of the rows of x and y, ``(N, latent)`` each, by the network
        that reports (evaluation batches, no gradient)."""
        xt, yt = self._inputs(x, y)
        with self.reporting(), torch.no_grad():
            parts = self._in_batches(self.scorer, xt, yt)
        zx, zy = (torch.cat(part) for part in zip(*parts, strict=True))
        return zx, zy

    def _estimate(self, x: Tensor, y: Tensor) -> Tensor:
        return ksg_mi(*self.embed(x, y), self.config.k)

    def pointwise(self, x: Any, y: Any) -> Tensor:
        """KSG's per-sample terms on the embeddings, ``(N,)`` float64 nats (in ``base``), whose mean is
        the estimate (:func:`~iblearn.functional.ksg_pmi`): the paper's pointwise MI values."""
        return ksg_pmi(*self.embed(x, y), self.config.k) / math.log(self.base)
