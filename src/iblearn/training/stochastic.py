"""Stochastic layers and the Variational Information Bottleneck: the remedies of Amjad & Geiger (2019, 5.3).

For a deterministic network with continuous input, I(X; L) is infinite (Amjad & Geiger 2019, Theorem 1).
Adding noise with an absolutely continuous distribution to L makes it finite, and makes I(Y; L) reward
representations whose classes stay apart under the noise (robust, simply decodable ones).

* :class:`GaussianNoise` and :class:`UniformNoise`: additive noise with a fixed or learned scale,
  active in training and, if asked, at evaluation.
* :class:`VIBHead` and :func:`vib_loss`: the Variational Information Bottleneck of Alemi et al. (2017),
  the standard stochastic bottleneck: z ~ N(mu(x), diag sigma(x)^2), loss CE + beta KL(q(z|x) || N(0, I)).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iblearn import _checks as V


class AdditiveNoise(nn.Module):
    """``x + scale * noise`` in training (and in eval with ``at_eval``), else ``x``: the base of
    :class:`GaussianNoise` and :class:`UniformNoise`, each giving its ``noise``. A network holding one
    has a finite I(X; L) after it (:func:`iblearn.analysis.diagnose_ib` reads it so)."""

    def __init__(self, scale: float, *, learn_scale: bool = False, at_eval: bool = False) -> None:
        super().__init__()
        if not (isinstance(scale, int | float) and not isinstance(scale, bool) and scale > 0):
            raise ValueError(f"scale: expected a positive number, got {scale!r}")
        log_scale = torch.tensor(math.log(float(scale)))
        # A learned scale lives in log space so that it stays positive.
        self.log_scale = nn.Parameter(log_scale) if learn_scale else nn.Buffer(log_scale)
        self.at_eval = at_eval

    @property
    def scale(self) -> Tensor:
        return self.log_scale.exp()

    def noise(self, like: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        if not (self.training or self.at_eval):
            return x
        return x + self.scale.to(x.dtype) * self.noise(x)

    def extra_repr(self) -> str:
        learned = isinstance(self.log_scale, nn.Parameter)
        return f"scale={float(self.scale):.4g}, learn_scale={learned}, at_eval={self.at_eval}"


class GaussianNoise(AdditiveNoise):
    """``x + scale * N(0, I)``; ``learn_scale=True`` makes the scale a parameter (Amjad & Geiger 2019,
    Sec. 5.3).

    Example:
        >>> layer = GaussianNoise(0.1).eval()
        >>> bool((layer(torch.ones(3)) == 1).all())  # off at evaluation unless at_eval=True
        True
    """

    def noise(self, like: Tensor) -> Tensor:
        return torch.randn_like(like)


class UniformNoise(AdditiveNoise):
    """``x + scale * U(-1/2, 1/2)``: uniform noise of width ``scale`` (Amjad & Geiger 2019, Sec. 5.3's
    example)."""

    def noise(self, like: Tensor) -> Tensor:
        return torch.rand_like(like) - 0.5


class VIBHead(nn.Module):
    """Stochastic bottleneck z ~ N(mu(h), diag sigma(h)^2) and a linear classifier (Alemi et al. 2017).

    ``forward(h)`` returns ``(logits, mu, log_var)``. In training z is drawn (reparameterized): with
    ``samples > 1`` the logits have a leading axis of draws, ``(samples, N, classes)``, since eq. (8)
    averages the cross-entropy over draws, not the logits (:func:`vib_loss` takes either shape). At
    evaluation the logits are taken at z = mu, ``(N, classes)``.

    Example:
        >>> head = VIBHead(8, bottleneck=2, classes=3)
        >>> logits, mu, log_var = head(torch.randn(5, 8))
        >>> tuple(logits.shape), tuple(mu.shape)
        ((5, 3), (5, 2))
    """

    def __init__(self, in_features: int, bottleneck: int, classes: int, *, samples: int = 1) -> None:
        super().__init__()
        for value, name in ((in_features, "in_features"), (bottleneck, "bottleneck"), (classes, "classes")):
            V.positive_int(value, name)
        V.positive_int(samples, "samples")
        self.encode = nn.Linear(in_features, 2 * bottleneck)
        self.classify = nn.Linear(bottleneck, classes)
        self.samples = samples

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mu, log_var = self.encode(h).chunk(2, dim=-1)
        if not self.training:
            return self.classify(mu), mu, log_var
        std = (0.5 * log_var).exp()
        if self.samples == 1:
            return self.classify(mu + std * torch.randn_like(mu)), mu, log_var
        z = mu + std * torch.randn(self.samples, *mu.shape, dtype=mu.dtype, device=mu.device)
        return self.classify(z), mu, log_var


def vib_loss(logits: Tensor, target: Tensor, mu: Tensor, log_var: Tensor, beta: float = 1e-3) -> Tensor:
    """Cross-entropy + beta * KL(N(mu, diag exp(log_var)) || N(0, I)), batch means (Alemi et al. 2017,
    eq. 8; their default beta = 1e-3). The KL term is a variational upper bound on I(X; Z).

    ``logits`` is ``(N, classes)``, or ``(draws, N, classes)`` for several draws of z per sample: the
    cross-entropy is then averaged over the draws, eq. (8)'s Monte Carlo estimate of E_z[-log q(y|z)].

    Example:
        >>> z = torch.zeros(4, 2)
        >>> float(vib_loss(torch.zeros(4, 2), torch.tensor([0, 1, 0, 1]), z, z, beta=1.0))  # log 2 + 0
        0.6931471824645996
    """
    if not (isinstance(beta, int | float) and not isinstance(beta, bool) and beta >= 0):
        raise ValueError(f"beta: expected a number >= 0, got {beta!r}")
    kl = 0.5 * (mu.pow(2) + log_var.exp() - 1 - log_var).sum(dim=-1).mean()
    if logits.dim() == 3:  # draws of z: the mean cross-entropy over draws and samples
        logits, target = logits.flatten(0, 1), target.repeat(logits.shape[0])
    return F.cross_entropy(logits, target) + beta * kl
