"""The IB functional I(X; L) - beta I(Y; L) of a representation, in the forms paper 003 (Amjad & Geiger)
shows to be well defined, and a diagnosis of when the plain form is not.

For a deterministic network the plain functional is infinite for continuous X and almost every weight
(Theorem 1), and piecewise constant in the weights for discrete X or a finite data set (Sec. 4.2).
:func:`ib_functional` computes the remedies of Sec. 5; :func:`diagnose_ib` says, layer by layer, which
case a network is in.

Throughout, X is the finite data set: uniform over the N given samples, each sample its own input
(the setting of information-plane studies). Then I(X; T) = H(T) for any deterministic T.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn import functional as ibf
from iblearn.functional.discrete import Strategy
from iblearn.training.stochastic import VIBHead, _AdditiveNoise

Mode = Literal["decision", "soft", "noisy", "quantized"]
InputKind = Literal["continuous", "discrete", "dataset"]
Verdict = Literal["infinite", "piecewise-constant", "finite", "undetermined"]


@dataclass(frozen=True)
class IBFunctional:
    """The two terms (nats, or the unit of ``base``) and ``value = ixl - beta * iyl`` (paper 003, eq. 4)."""

    ixl: Tensor
    iyl: Tensor
    beta: float
    mode: str
    noise_std: float | None = None
    noise_std_y: float | None = None  # eta' of I(Y; L + eta'), where it differs from eta

    @property
    def value(self) -> Tensor:
        return self.ixl - self.beta * self.iyl


def _entropy_of_probs(p: Tensor) -> Tensor:
    return -(p * p.clamp_min(1e-30).log()).sum(dim=-1)


def _class_average(values: Tensor, y: Tensor, fn: Any) -> Tensor:
    """sum_c P(Y = c) fn(values[Y == c])."""
    classes, counts = torch.unique(y, return_counts=True)
    weights = counts.to(values.dtype) / len(y)
    return sum((w * fn(values[y == c]) for c, w in zip(classes, weights, strict=True)), values.new_zeros(()))


def ib_functional(
    representation: Any,
    labels: Any,
    *,
    beta: float = 1.0,
    mode: Mode = "noisy",
    threshold: float = 0.5,
    logits: bool = True,
    noise_scale: float = 0.1,
    noise_std: float | None = None,
    noise_std_y: float | None = None,
    n_bins: int = 10,
    n_bins_y: int | None = None,
    strategy: Strategy = "uniform",
    value_range: tuple[float, float] | None = None,
    base: float = math.e,
) -> IBFunctional:
    """I(X; L) - beta I(Y; L) for a representation ``(N, d)`` of the N samples and their ``labels (N,)``.

    Modes (paper 003, Sec. 5), each finite where the plain functional is not:

    * ``"decision"``: eq. (6) on Y^ = delta(L): ``L > threshold`` for one column, the arg-max otherwise
      (Sec. 5.1). Then I(X; Y^) = H(Y^) <= log |Y|. Piecewise constant in the weights. The threshold
      applies to L as given (the paper's 0.5 is for an output in [0, 1]; a logit's is 0): ``logits``
      is read by ``"soft"`` only.
    * ``"soft"``: L as a softmax output (``logits=True``: softmax applied here; for one column the
      sigmoid), read as P(Y^ = i | x) (Sec. 5.2): I(X; Y^) = H(mean_x p) - mean_x H(p),
      I(Y; Y^) = H(mean_x p) - sum_c P(c) H(mean_{x in c} p). Exact and differentiable.
    * ``"noisy"``: I(X; L + eta) - beta I(Y; L + eta) with eta ~ N(0, s^2 I) (Sec. 5.4 and 5.3), s adapted
      to the statistics of L: ``noise_scale`` times the root mean variance of its units, or ``noise_std``
      as given. L + eta is a mixture of N Gaussians; both terms use the pairwise-distance (KL) estimate
      of its entropy (Kolchinsky & Tracey 2017),
      I(Y; L + eta) = I(X; L + eta) - sum_c P(c) I(X; L + eta | Y = c),
      the estimator of Saxe et al. (2018). Differentiable in L. The precision term may take its own
      noise eta' (Sec. 5.4: I(X; L + eta) and I(Y; L + eta'), "adapted ... w.r.t. each other"):
      ``noise_std_y``, the std of eta'; None: eta' = eta.
    * ``"quantized"``: I(X; Q_L(L)) - beta I(Y; Q'_L(L)) (Sec. 5.4, eq. 7 with Q_X the identity):
      Q_L has ``n_bins`` bins per unit set from L itself (``strategy`` ``"uniform"`` over its range, or
      over ``value_range``; or ``"quantile"``), Q'_L has ``n_bins_y`` (None: Q'_L = Q_L). The paper's
      example, Q_L four levels in [0, 1] and Q'_L = 1[L > 0.5]: ``n_bins=4, n_bins_y=2,
      value_range=(0, 1)``. Piecewise constant.

    Example:
        >>> y = torch.tensor([0, 0, 1, 1])
        >>> ib = ib_functional(torch.tensor([[0.1], [0.2], [0.8], [0.9]]), y, mode="decision")
        >>> round(float(ib.ixl), 4), round(float(ib.iyl), 4)  # both log 2: a perfect binary decision
        (0.6931, 0.6931)
    """
    V.choice(mode, "mode", ("decision", "soft", "noisy", "quantized"))
    if not (isinstance(beta, int | float) and not isinstance(beta, bool) and beta >= 0):
        raise ValueError(f"beta: expected a number >= 0, got {beta!r}")
    t = V.continuous(representation, "representation", allow_grid=True)
    t = t.reshape(t.shape[0], -1)
    y = V.labels(labels, "labels")
    V.same_length(("representation", t), ("labels", y))
    y = y.to(t.device)
    scale = 1.0 / math.log(V.positive(base, "base"))
    std: float | None = None
    if mode == "decision":
        decided = (t[:, 0] > threshold).long() if t.shape[1] == 1 else t.argmax(dim=1)
        ixl, iyl = ibf.discrete_entropy(decided), ibf.discrete_mi(decided, y)
    elif mode == "soft":
        t64 = t.to(torch.float64)
        if t.shape[1] == 1:
            p1 = torch.sigmoid(t64) if logits else t64
            p = torch.cat([1 - p1, p1], dim=1)
        else:
            p = torch.softmax(t64, dim=1) if logits else t64
        if not logits and bool(((p < 0).any(dim=1) | ((p.sum(dim=1) - 1).abs() > 1e-4)).any()):
            raise ValueError("representation: with logits=False, rows must be probabilities summing to 1")
        h_mean = _entropy_of_probs(p.mean(dim=0))
        ixl = h_mean - _entropy_of_probs(p).mean()
        iyl = h_mean - _class_average(p, y, lambda q: _entropy_of_probs(q.mean(dim=0)))
    elif mode == "noisy":
        if noise_std is None:
            std = V.positive(noise_scale, "noise_scale") * float(t.detach().var(dim=0).mean().sqrt())
            if not std > 0:
                raise ValueError(
                    "representation: is constant, so no noise can be adapted to it; pass noise_std"
                )
        else:
            std = V.positive(noise_std, "noise_std")
        t64 = t.to(torch.float64)

        def mixture_mi(v: Tensor) -> Tensor:
            return ibf.noisy_mi_bounds(v, std)[1]

        ixl = mixture_mi(t64)
        std_y = std if noise_std_y is None else V.positive(noise_std_y, "noise_std_y")

        def mixture_mi_y(v: Tensor) -> Tensor:
            return ibf.noisy_mi_bounds(v, std_y)[1]

        ixl_y = ixl if std_y == std else mixture_mi_y(t64)  # I(X; L + eta'), for I(Y; L + eta')
        iyl = ixl_y - _class_average(t64, y, mixture_mi_y)
        if std_y != std:
            return IBFunctional(ixl * scale, iyl * scale, float(beta), mode, std, std_y)
    else:
        codes = ibf.bin_values(t.detach(), n_bins, strategy=strategy, value_range=value_range)
        codes_y = (
            codes
            if n_bins_y is None
            else ibf.bin_values(t.detach(), n_bins_y, strategy=strategy, value_range=value_range)
        )
        ixl, iyl = ibf.discrete_entropy(codes), ibf.discrete_mi(codes_y, y)
    return IBFunctional(ixl * scale, iyl * scale, float(beta), mode, std)


# Activations for which Theorem 1 holds: bi-Lipschitz, or C^1 with a strictly positive derivative.
_STRICT = (nn.Tanh, nn.Sigmoid, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.Softplus, nn.PReLU, nn.Identity)
# Affine or injective-on-a-density maps that keep a continuous input continuous.
_AFFINE = (nn.Linear, nn.Bilinear, nn.Flatten, nn.Unflatten, nn.Dropout, nn.AvgPool1d, nn.AvgPool2d)
_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)
# Activations whose output can put mass on points (Sec. 4.1): Theorem 1 does not apply.
_FLAT = (nn.ReLU, nn.ReLU6, nn.Hardtanh, nn.Threshold, nn.MaxPool1d, nn.MaxPool2d, nn.Hardsigmoid)


def _strict(module: nn.Module) -> bool:
    """Whether ``module`` is one of Theorem 1's activations. A LeakyReLU, PReLU or ELU is only with a
    positive slope: at 0 it is a ReLU (mass on points), below 0 it is not monotone."""
    if isinstance(module, nn.LeakyReLU):
        return module.negative_slope > 0
    if isinstance(module, nn.PReLU):
        return bool((module.weight > 0).all())
    if isinstance(module, nn.ELU):
        return module.alpha > 0
    return isinstance(module, _STRICT)


@dataclass(frozen=True)
class LayerDiagnosis:
    """Whether I(X; L) of one layer's output is finite, and why; ``distinct`` is the number of distinct
    outputs over the given sample (N distinct: the finite-data I(X; L) is log N whatever the weights)."""

    layer: str
    kind: str
    verdict: Verdict
    reason: str
    distinct: int


def _layer_outputs(model: nn.Module, x: Tensor) -> list[tuple[str, nn.Module, Tensor]]:
    """Every leaf module's output on x, in the order the forward pass runs them. A VIB head counts as
    one module: its noise is inside its forward pass. Buffers a train-mode forward pass updates (BatchNorm's
    running statistics) are put back."""
    seen: list[tuple[str, nn.Module, Tensor]] = []
    hooks = []
    heads = [name for name, module in model.named_modules() if isinstance(module, VIBHead)]
    for name, module in model.named_modules():
        inside_head = any(name.startswith(f"{head}.") or (head == "" and name) for head in heads)
        if not inside_head and (isinstance(module, VIBHead) or next(module.children(), None) is None):

            def hook(m: nn.Module, _inp: Any, out: Any, name: str = name) -> None:
                if isinstance(out, tuple):  # a VIB head: (logits, mu, log_var)
                    out = out[0]
                if isinstance(out, Tensor):
                    seen.append((name, m, out.detach()))

            hooks.append(module.register_forward_hook(hook))
    buffers = [(b, b.clone()) for b in model.buffers()]
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            model(x)
    finally:
        for h in hooks:
            h.remove()
        with torch.no_grad():
            for b, saved in buffers:
                b.copy_(saved)
    return seen


def diagnose_ib(model: nn.Module, x: Any, *, input_kind: InputKind | None = None) -> list[LayerDiagnosis]:
    """For each layer of ``model`` (leaf modules, in forward order), is I(X; L) finite? (paper 003, Sec. 4)

    ``input_kind`` is what X is: ``"continuous"`` (a density, Theorem 1's setting), ``"discrete"``
    (finitely many values) or ``"dataset"`` (the empirical distribution of these samples). A sample cannot
    show which; by default floating-point ``x`` is taken as continuous and integer ``x`` as discrete.

    Verdicts: ``"infinite"`` (continuous X through affine maps and bi-Lipschitz or strictly increasing
    activations only: Theorem 1, for almost every weight; a LeakyReLU, PReLU or ELU counts only with a
    positive slope); ``"piecewise-constant"`` (discrete X or a data set: finite, and constant until two
    inputs merge or split, Sec. 4.2); ``"finite"`` (noise with a density added upstream, Sec. 5.3);
    ``"undetermined"`` (a ReLU, step or max-pool upstream: its output can put mass on points, so I(X; L)
    is finite for some weights and infinite for others).

    The model runs once on x in its current mode; its modes, buffers (BatchNorm's running statistics) and
    the random state are left as they were.
    """
    t = V.as_tensor(x, "x")
    if input_kind is None:
        input_kind = "continuous" if t.is_floating_point() else "discrete"
    V.choice(input_kind, "input_kind", ("continuous", "discrete", "dataset"))
    try:
        outputs = _layer_outputs(model, t.float() if not t.is_floating_point() else t)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"x: the model cannot run on it, shape {tuple(t.shape)} ({err})") from err
    noisy, flat = False, None  # flat: the first module Theorem 1 does not cover
    report = []
    for name, module, out in outputs:
        kind = type(module).__name__
        if isinstance(module, _AdditiveNoise | VIBHead) and (
            module.training or getattr(module, "at_eval", False)
        ):
            noisy = True
        elif (
            not (_strict(module) or isinstance(module, (*_AFFINE, *_CONV, _AdditiveNoise, VIBHead)))
            and flat is None
        ):
            flat = (name, module)
        if noisy:
            verdict: Verdict = "finite"
            reason = "noise with a density is added upstream (Sec. 5.3)"
        elif input_kind != "continuous":
            verdict, reason = "piecewise-constant", "X takes finitely many values (Sec. 4.2)"
        elif flat is None:
            verdict = "infinite"
            reason = "continuous X through affine maps and strictly increasing activations (Theorem 1)"
        else:
            verdict = "undetermined"
            why = "can put mass on points" if isinstance(flat[1], _FLAT) else "is not one Theorem 1 covers"
            reason = f"{flat[0]} ({type(flat[1]).__name__}) {why}: Theorem 1 does not apply"
        distinct = len(torch.unique(out.reshape(len(out), -1), dim=0)) if out.ndim else 1
        report.append(LayerDiagnosis(name, kind, verdict, reason, distinct))
    return report
