"""The IB functional I(X; L) - beta I(Y; L) of a representation, in the forms Amjad & Geiger (2019)
shows to be well defined, and a diagnosis of when the plain form is not.

For a deterministic network the plain functional is infinite for continuous X and almost every weight
(Theorem 1), and piecewise constant in the weights for discrete X or a finite data set (Sec. 4.2).
:func:`ib_decision`, :func:`ib_soft`, :func:`ib_noisy` and :func:`ib_quantized` compute the remedies of
Sec. 5, one function a form with only its own keywords (:func:`ib_functional` names the form by
``mode``); :func:`diagnose_ib` says, layer by layer, which case a network is in.

Throughout, X is the finite data set: uniform over the N given samples, each sample its own input
(the setting of information-plane studies). Then I(X; T) = H(T) for any deterministic T.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn import functional as ibf
from iblearn.functional.discrete import Strategy, bin_count
from iblearn.functional.ib import IBCurve
from iblearn.training.stochastic import AdditiveNoise, VIBHead

Mode = Literal["decision", "soft", "noisy", "quantized"]
InputKind = Literal["continuous", "discrete", "dataset"]
Verdict = Literal["infinite", "piecewise-constant", "finite", "undetermined"]


@dataclass(frozen=True)
class IBFunctional:
    """The two terms (nats, or the unit of ``base``) and ``value = ixl - beta * iyl`` (Amjad & Geiger 2019,
    eq. 4).

    ``ixl_given_y`` is I(X; L | Y), what L keeps of the input beyond the label: with X the
    data set, Y is a function of X, so the chain rule gives I(X; L) = I(Y; L) + I(X; L | Y), and it is
    computed from the same L as ``ixl`` (where ``iyl`` reads L through another noise or quantizer, it is
    not ``ixl - iyl``).
    """

    ixl: Tensor
    iyl: Tensor
    beta: float
    mode: str
    noise_std: float | None = None
    noise_std_y: float | None = None  # eta' of I(Y; L + eta'), where it differs from eta
    ixl_given_y: Tensor | None = None

    @property
    def value(self) -> Tensor:
        return self.ixl - self.beta * self.iyl


def _entropy_of_probs(p: Tensor) -> Tensor:
    return -(p * p.clamp_min(1e-30).log()).sum(dim=-1)


def _class_average(values: Tensor, y: Tensor, fn: Any) -> Tensor:
    """sum_c P(Y = c) fn(values[Y == c])."""
    classes, counts = torch.unique(y, return_counts=True)
    weights = counts.to(torch.float64) / len(y)
    return sum((w * fn(values[y == c]) for c, w in zip(classes, weights, strict=True)), weights.new_zeros(()))


def _checked(representation: Any, labels: Any, beta: Any, base: Any) -> tuple[Tensor, Tensor, float, float]:
    """The representation as (N, d), the labels on its device, beta as a float, and the factor from
    nats to ``base``."""
    b = V.real_number(beta, "beta")
    if not (math.isfinite(b) and b >= 0):
        raise ValueError(f"beta: expected a finite number >= 0, got {beta!r}")
    t = V.continuous(representation, "representation", allow_grid=True)
    t = t.reshape(t.shape[0], -1)
    y = V.labels(labels, "labels")
    V.same_length(("representation", t), ("labels", y))
    return t, y.to(t.device), b, 1.0 / math.log(V.log_base(base, "base"))


def ib_decision(
    representation: Any, labels: Any, *, beta: float = 1.0, threshold: float = 0.5, base: float = math.e
) -> IBFunctional:
    """The IB functional of the decision Y^ = delta(L) (Amjad & Geiger 2019, eq. 6, Sec. 5.1): ``L >
    threshold`` for one column, the arg-max otherwise. Then I(X; Y^) = H(Y^) <= log |Y|, and I(X; Y^ | Y) =
    H(Y^ | Y). Piecewise constant in the weights. The threshold applies to L as given (the paper's 0.5
    is for an output in [0, 1]; a logit's is 0).

    Args:
        representation: L, ``(N, d)`` (or more dimensions, flattened), of the N samples.
        labels: their classes ``(N,)``.
        beta: the weight of I(Y; L).
        threshold: of a one-column L.
        base: of the logarithm (2 for bits).

    Example:
        >>> y = torch.tensor([0, 0, 1, 1])
        >>> ib = ib_decision(torch.tensor([[0.1], [0.2], [0.8], [0.9]]), y)
        >>> round(float(ib.ixl), 4), round(float(ib.iyl), 4)  # both log 2: a perfect binary decision
        (0.6931, 0.6931)
    """
    t, y, beta, scale = _checked(representation, labels, beta, base)
    if not math.isfinite(V.real_number(threshold, "threshold")):
        raise ValueError(f"threshold: must be finite, got {threshold!r}")
    decided = (t[:, 0] > threshold).long() if t.shape[1] == 1 else t.argmax(dim=1)
    ixl, iyl = ibf.discrete_entropy(decided), ibf.discrete_mi(decided, y)
    given_y = _class_average(decided, y, ibf.discrete_entropy)
    return IBFunctional(ixl * scale, iyl * scale, beta, "decision", ixl_given_y=given_y * scale)


def ib_soft(
    representation: Any, labels: Any, *, beta: float = 1.0, logits: bool = True, base: float = math.e
) -> IBFunctional:
    """The IB functional of the soft decision (Amjad & Geiger 2019, Sec. 5.2): L as a softmax output
    (``logits= True``: softmax applied here; for one column the sigmoid), read as P(Y^ = i | x):
    I(X; Y^) = H(mean_x p) - mean_x H(p), I(Y; Y^) = H(mean_x p) - sum_c P(c) H(mean_{x in c} p), and
    I(X; Y^ | Y) = sum_c P(c) [H(mean_{x in c} p) - mean_{x in c} H(p)]. Exact and differentiable.
    Other arguments as for :func:`ib_decision`.

    Raises:
        ValueError: with ``logits=False``, rows of ``representation`` that are not probabilities.
    """
    t, y, beta, scale = _checked(representation, labels, beta, base)
    logits = V.flag(logits, "logits")
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
    given_y = _class_average(p, y, lambda q: _entropy_of_probs(q.mean(dim=0)) - _entropy_of_probs(q).mean())
    return IBFunctional(ixl * scale, iyl * scale, beta, "soft", ixl_given_y=given_y * scale)


def ib_noisy(
    representation: Any,
    labels: Any,
    *,
    beta: float = 1.0,
    noise_scale: float = 0.1,
    noise_std: float | None = None,
    noise_std_y: float | None = None,
    base: float = math.e,
) -> IBFunctional:
    """The IB functional of the noisy representation (Amjad & Geiger 2019, Sec. 5.4 and 5.3):
    I(X; L + eta) - beta I(Y; L + eta) with eta ~ N(0, s^2 I), s adapted to the statistics of L.

    L + eta is a mixture of N Gaussians; both terms use the pairwise-distance (KL) estimate of its
    entropy (Kolchinsky & Tracey 2017), I(Y; L + eta) = I(X; L + eta) - sum_c P(c) I(X; L + eta | Y = c),
    the estimator of Saxe et al. (2018), whose class average is I(X; L + eta | Y). Differentiable in L.
    The precision term may take its own noise eta' (Sec. 5.4: I(X; L + eta) and I(Y; L + eta'),
    "adapted ... w.r.t. each other").

    Args:
        noise_scale: s as this many times the root mean variance of L's units.
        noise_std: s as given, in place of ``noise_scale``.
        noise_std_y: the std of eta'; None: eta' = eta.
        representation, labels, beta, base: as for :func:`ib_decision`.

    Raises:
        ValueError: a constant representation without ``noise_std`` (no noise can be adapted to it).
    """
    t, y, beta, scale = _checked(representation, labels, beta, base)
    if noise_std is None:
        std = V.positive(noise_scale, "noise_scale") * float(t.detach().var(dim=0).mean().sqrt())
        if not std > 0:
            raise ValueError("representation: is constant, so no noise can be adapted to it; pass noise_std")
    else:
        std = V.positive(noise_std, "noise_std")
    t64 = t.to(torch.float64)

    def mixture_mi(v: Tensor) -> Tensor:
        return ibf.noisy_mi_bounds(v, std)[1]

    ixl = mixture_mi(t64)
    std_y = std if noise_std_y is None else V.positive(noise_std_y, "noise_std_y")

    def mixture_mi_y(v: Tensor) -> Tensor:
        return ibf.noisy_mi_bounds(v, std_y)[1]

    given_y = _class_average(t64, y, mixture_mi)
    if std_y == std:
        iyl = ixl - given_y
        return IBFunctional(ixl * scale, iyl * scale, beta, "noisy", std, ixl_given_y=given_y * scale)
    iyl = mixture_mi_y(t64) - _class_average(t64, y, mixture_mi_y)  # I(Y; L + eta')
    return IBFunctional(ixl * scale, iyl * scale, beta, "noisy", std, std_y, given_y * scale)


def ib_quantized(
    representation: Any,
    labels: Any,
    *,
    beta: float = 1.0,
    n_bins: int = 10,
    n_bins_y: int | None = None,
    strategy: Strategy = "uniform",
    value_range: tuple[float, float] | None = None,
    base: float = math.e,
) -> IBFunctional:
    """The IB functional of the quantized representation, I(X; Q_L(L)) - beta I(Y; Q'_L(L)) (Amjad & Geiger
    2019, Sec. 5.4, eq. 7 with Q_X the identity), and I(X; Q_L(L) | Y) = H(Q_L(L) | Y). Piecewise constant.

    Args:
        n_bins: bins per unit of Q_L, set from L itself: ``strategy`` ``"uniform"`` over its range, or
            over ``value_range``; or ``"quantile"``.
        n_bins_y: bins per unit of Q'_L; None: Q'_L = Q_L. The paper's example, Q_L four levels in
            [0, 1] and Q'_L = 1[L > 0.5]: ``n_bins=4, n_bins_y=2, value_range=(0, 1)``.
        representation, labels, beta, base: as for :func:`ib_decision`.
    """
    t, y, beta, scale = _checked(representation, labels, beta, base)
    n_bins_y = None if n_bins_y is None else bin_count(n_bins_y, "n_bins_y")
    codes = ibf.bin_values(t.detach(), n_bins, strategy=strategy, value_range=value_range)
    codes_y = (
        codes
        if n_bins_y is None
        else ibf.bin_values(t.detach(), n_bins_y, strategy=strategy, value_range=value_range)
    )
    ixl, iyl = ibf.discrete_entropy(codes), ibf.discrete_mi(codes_y, y)
    given_y = _class_average(codes, y, ibf.discrete_entropy)
    return IBFunctional(ixl * scale, iyl * scale, beta, "quantized", ixl_given_y=given_y * scale)


#: The forms of :func:`ib_functional`, by the name of its ``mode``.
FORMS = {"decision": ib_decision, "soft": ib_soft, "noisy": ib_noisy, "quantized": ib_quantized}


def ib_functional(
    representation: Any,
    labels: Any,
    *,
    mode: Mode = "noisy",
    beta: float = 1.0,
    base: float = math.e,
    **settings: Any,
) -> IBFunctional:
    """I(X; L) - beta I(Y; L) for a representation ``(N, d)`` of the N samples and their ``labels (N,)``,
    in the form ``mode`` names: :func:`ib_decision`, :func:`ib_soft`, :func:`ib_noisy` (the default) or
    :func:`ib_quantized`, each finite where the plain functional is not (Amjad & Geiger 2019, Sec. 5).

    ``settings`` are the keywords of that form's function (``threshold``; ``logits``; ``noise_scale``,
    ``noise_std``, ``noise_std_y``; ``n_bins``, ``n_bins_y``, ``strategy``, ``value_range``); one that
    belongs to another form raises TypeError.

    Example:
        >>> y = torch.tensor([0, 0, 1, 1])
        >>> ib = ib_functional(torch.tensor([[0.1], [0.2], [0.8], [0.9]]), y, mode="decision")
        >>> round(float(ib.ixl), 4), round(float(ib.iyl), 4)  # both log 2: a perfect binary decision
        (0.6931, 0.6931)
    """
    V.choice(mode, "mode", tuple(FORMS))
    form: Any = FORMS[mode]
    return form(representation, labels, beta=beta, base=base, **settings)  # type: ignore[no-any-return]


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
    """For each layer of ``model`` (leaf modules, in forward order), is I(X; L) finite? (Amjad & Geiger 2019,
    Sec. 4)

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
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    t = V.finite_rows(V.as_tensor(x, "x"), "x")
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
        if isinstance(module, AdditiveNoise | VIBHead) and (
            module.training or getattr(module, "at_eval", False)
        ):
            noisy = True
        elif (
            not (_strict(module) or isinstance(module, (*_AFFINE, *_CONV, AdditiveNoise, VIBHead)))
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


# ------------------------------------------------------------------------------ drawing the exact curve
def draw_ib_curve(curve: IBCurve, ax: Any, *, scale: float = 1.0) -> None:
    """Draw ``curve`` (its envelope, the solutions as dots) and the data-processing bounds on ``ax``,
    values multiplied by ``scale`` (``1 / log 2`` for bits)."""
    ex, ey = curve.envelope()
    if math.isfinite(curve.h_x) and curve.h_x > float(ex[-1]):  # flat from where I(T; Y) is all of I(X; Y)
        ex, ey = torch.cat([ex, ex.new_tensor([curve.h_x])]), torch.cat([ey, ey[-1:]])
    label = f"{curve.method.upper()} curve"
    ax.plot((ex * scale).tolist(), (ey * scale).tolist(), color="k", lw=1.5, label=label)
    ax.plot((curve.i_xt * scale).tolist(), (curve.i_ty * scale).tolist(), ls="", marker=".", ms=3, color="k")
    ax.axhline(curve.i_xy * scale, color="0.5", ls="--", lw=0.8, label="I(X; Y)")
    if math.isfinite(curve.h_x):
        ax.axvline(curve.h_x * scale, color="0.5", ls=":", lw=0.8, label="H(X)")


def plot_ib_curve(
    curve: IBCurve, path: str | os.PathLike[str] | None = None, *, base: float = math.e, title: str = ""
) -> Any:
    """The exact IB curve (:func:`~iblearn.functional.ib_curve`) in the information plane with its
    data-processing bounds; returns the matplotlib ``Figure`` (written to ``path`` if given). Needs
    matplotlib (``iblearn[plot]``)."""
    from iblearn import _plotting

    if not isinstance(curve, IBCurve):
        raise TypeError(
            f"curve: expected an IBCurve (iblearn.functional.ib_curve), got {type(curve).__name__}"
        )
    plotted = [torch.as_tensor(v, dtype=torch.float64).flatten() for v in (curve.i_xt, curve.i_ty)]
    if (
        not bool(torch.cat(plotted).isfinite().all())
        or not math.isfinite(curve.i_xy)
        or math.isnan(curve.h_x)
    ):
        raise ValueError(
            "curve: holds a NaN or infinite I(X; T), I(T; Y) or I(X; Y), or a NaN H(X), which cannot be "
            "plotted; plot the IBCurve that ib_curve returns"
        )
    base = V.log_base(base, "base")
    fig, axes = _plotting.figure(figsize=(5.0, 3.8))
    draw_ib_curve(curve, axes[0, 0], scale=1 / math.log(base))
    unit = "bits" if base == 2 else "nats" if base == math.e else f"log base {base:g}"
    axes[0, 0].set_xlabel(f"I(X; T) [{unit}]")
    axes[0, 0].set_ylabel(f"I(T; Y) [{unit}]")
    axes[0, 0].legend(fontsize=7)
    axes[0, 0].set_title(title or f"{curve.method.upper()} curve")
    return _plotting.finish(fig, path, dpi=120)
