"""The information plane: I(X; T) and I(T; Y) of chosen layers over training (Shwartz-Ziv & Tishby 2017).

A recorder, not a training procedure: at each ``record(epoch)`` it runs the model once on a fixed
evaluation sample with temporary forward hooks, under ``no_grad``, in evaluation mode, with the random
state saved and restored, then puts every module's mode back. The layers' outputs go to CPU and are
reduced to two numbers each at once, so memory is one sample's activations of the watched layers.

What the numbers mean depends on the estimator, and for a deterministic network with continuous input
the plain I(X; T) is infinite (paper 003, Theorem 1): a "compression phase" seen with binning can be an
artefact of the bins (Saxe et al. 2018). Asking for a plain estimate of a quantity :func:`diagnose_ib`
calls infinite (for the network measured: in evaluation mode) warns once and points to ``"noisy"`` or
``"quantized"``, which are well defined.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from iblearn import functional as F
from iblearn._lightning import CallbackBase
from iblearn._modes import evaluating
from iblearn.analysis.ib import IBFunctional, InputKind, diagnose_ib, ib_functional
from iblearn.estimators.base import unit_name
from iblearn.functional import _validate as V
from iblearn.records import atomic_write_text

XMethod = Literal["binning", "quantized", "ksg", "renyi", "noisy"]
YMethod = Literal["binning", "quantized", "mixed_ksg", "renyi", "noisy"]
_PLAIN = ("binning", "ksg", "renyi")  # estimates of the plain I(X; T)


@dataclass(frozen=True)
class PlanePoint:
    epoch: int
    layer: str
    ixt: float
    ity: float


@dataclass(frozen=True)
class InformationPlaneResult:
    """The recorded points (in the recorder's unit) and how they were measured."""

    points: tuple[PlanePoint, ...]
    ixt_method: str
    ity_method: str
    unit: str

    def layers(self) -> list[str]:
        return list(dict.fromkeys(p.layer for p in self.points))

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """The points as CSV text (``epoch,layer,ixt,ity``), also written atomically to ``path``."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["epoch", "layer", "ixt", "ity"])
        w.writerows([p.epoch, p.layer, f"{p.ixt:.6g}", f"{p.ity:.6g}"] for p in self.points)
        if path is not None:
            atomic_write_text(path, buf.getvalue())
        return buf.getvalue()

    def plot(self, path: str | os.PathLike[str] | None = None, *, title: str = "") -> Any:
        """I(X; T) against I(T; Y), one line per layer, points coloured by epoch (needs matplotlib)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 4))
        epochs = [p.epoch for p in self.points]
        for layer in self.layers():
            pts = [p for p in self.points if p.layer == layer]
            ax.plot([p.ixt for p in pts], [p.ity for p in pts], color="0.7", lw=0.8, zorder=1)
            sc = ax.scatter(
                [p.ixt for p in pts],
                [p.ity for p in pts],
                c=[p.epoch for p in pts],
                cmap="viridis",
                vmin=min(epochs),
                vmax=max(epochs),
                s=14,
                zorder=2,
            )
            ax.annotate(layer, (pts[-1].ixt, pts[-1].ity), fontsize=7)
        if self.points:
            fig.colorbar(sc, ax=ax, label="epoch")
        ax.set_xlabel(f"I(X; T) [{self.unit}, {self.ixt_method}]")
        ax.set_ylabel(f"I(T; Y) [{self.unit}, {self.ity_method}]")
        ax.set_title(title or "information plane")
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=120)
            plt.close(fig)
        return fig


class InformationPlane:
    """Record I(X; T) and I(T; Y) for ``layers`` of ``model`` on a fixed sample ``(x, y)``.

    Args:
        model: any module; it is not changed (outputs, gradients, modes and random state are kept).
        layers: names (as in ``model.named_modules()``) or the modules themselves.
        x: the evaluation inputs, the shape the model takes; y: their class labels ``(N,)``.
        ixt: ``"binning"`` (each unit in ``n_bins`` bins over the layer's range, X as the sample index),
            ``"quantized"`` (the same number, read as the well-defined I(X; Q(T)) of paper 003 Sec. 5.4),
            ``"ksg"``, ``"renyi"``, or ``"noisy"`` (I(X; T + eta), eta Gaussian, see :func:`ib_functional`).
        ity: ``"binning"``, ``"quantized"``, ``"mixed_ksg"``, ``"renyi"`` or ``"noisy"``.
        noise_scale, noise_std: the noise of ``"noisy"`` (relative to the layer's spread, or absolute).
        input_kind: what X is, for the Theorem 1 warning (see :func:`diagnose_ib`).

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))
        >>> plane = InformationPlane(net, ["1"], torch.randn(50, 2), torch.arange(50) % 2, ixt="quantized")
        >>> plane.record(0); plane.result().points[0].layer
        '1'
    """

    def __init__(
        self,
        model: nn.Module,
        layers: Sequence[str | nn.Module],
        x: Any,
        y: Any,
        *,
        ixt: XMethod = "binning",
        ity: YMethod = "binning",
        n_bins: int = 30,  # Shwartz-Ziv & Tishby 2017
        noise_scale: float = 0.1,
        noise_std: float | None = None,
        input_kind: InputKind | None = None,
        base: float = math.e,
    ) -> None:
        self.ixt = V.choice(ixt, "ixt", ("binning", "quantized", "ksg", "renyi", "noisy"))
        self.ity = V.choice(ity, "ity", ("binning", "quantized", "mixed_ksg", "renyi", "noisy"))
        if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
            raise ValueError(f"n_bins: expected a positive integer, got {n_bins!r}")
        self.n_bins, self.noise_scale = n_bins, V.positive(noise_scale, "noise_scale")
        self.noise_std = None if noise_std is None else V.positive(noise_std, "noise_std")
        self.scale = 1.0 / math.log(V.positive(base, "base"))
        self.unit = unit_name(base)
        self.model = model
        by_name = dict(model.named_modules())
        by_module = {id(m): n for n, m in by_name.items()}
        if isinstance(layers, str | nn.Module) or len(layers) == 0:
            raise ValueError("layers: expected a non-empty list of layer names or modules")
        self.layers: dict[str, nn.Module] = {}
        for layer in layers:
            name = layer if isinstance(layer, str) else by_module.get(id(layer))
            if name is None or name not in by_name:
                known = ", ".join(n for n in by_name if n) or "(none)"
                raise ValueError(
                    f"layers: {layer if isinstance(layer, str) else type(layer).__name__!r} "
                    f"is not a layer of the model; its layers are: {known}"
                )
            self.layers[name] = by_name[name]
        self.x = V.as_tensor(x, "x")
        self.y = V.labels(y, "y")
        V.same_length(("x", self.x), ("y", self.y))
        self.input_kind = input_kind
        self.points: list[PlanePoint] = []
        self._warned = False
        self._capture()  # fail now, naming x, if the model cannot take it

    def _capture(self) -> dict[str, Tensor]:
        out: dict[str, Tensor] = {}

        def hook(name: str) -> Any:
            def save(_m: nn.Module, _inp: Any, value: Any) -> None:
                value = value[0] if isinstance(value, tuple) else value
                out[name] = value.detach().reshape(len(value), -1).to("cpu", torch.float64)

            return save

        hooks = [m.register_forward_hook(hook(n)) for n, m in self.layers.items()]
        try:
            with evaluating(self.model), torch.no_grad(), torch.random.fork_rng(devices=[]):
                self.model(self.x)
        except (RuntimeError, TypeError) as err:
            raise ValueError(f"x: the model cannot run on it, shape {tuple(self.x.shape)} ({err})") from err
        finally:
            for h in hooks:
                h.remove()
        for name, value in out.items():
            if len(value) != len(self.y):
                raise ValueError(f"layers: {name} gives {len(value)} rows for {len(self.y)} samples")
        return out

    def _warn_if_infinite(self) -> None:
        if self._warned or self.ixt not in _PLAIN:
            return
        self._warned = True
        with evaluating(self.model):  # the network record() measures, not the one being trained
            report = diagnose_ib(self.model, self.x, input_kind=self.input_kind)
        verdicts = {d.layer: d.verdict for d in report}
        infinite = [n for n in self.layers if verdicts.get(n) == "infinite"]
        if infinite:
            warnings.warn(
                f"I(X; T) is infinite for layer(s) {', '.join(infinite)} (paper 003, Theorem 1: "
                "deterministic layers, continuous input, strictly increasing activations); the "
                f"{self.ixt} estimate measures the estimator, not the network. Use ixt='noisy' or "
                "ixt='quantized' for a finite quantity.",
                UserWarning,
                stacklevel=3,
            )

    def _measure(self, t: Tensor) -> tuple[float, float]:
        if bool((t == t[0]).all()):  # a dead layer: kNN distances and noise adapted to t are undefined
            return 0.0, 0.0
        x, y = self.x.reshape(len(self.x), -1).to("cpu", torch.float64), self.y.cpu()
        codes = F.bin_values(t, self.n_bins)

        @functools.cache
        def noisy() -> IBFunctional:  # both terms come from one computation
            return ib_functional(t, y, mode="noisy", noise_scale=self.noise_scale, noise_std=self.noise_std)

        ixt: Callable[[], Tensor] = {
            "binning": lambda: F.discrete_entropy(codes),
            "quantized": lambda: F.discrete_entropy(codes),
            "ksg": lambda: F.ksg_mi(x, t),
            "renyi": lambda: F.renyi_mi(x, t),
            "noisy": lambda: noisy().ixl,
        }[self.ixt]
        ity: Callable[[], Tensor] = {
            "binning": lambda: F.discrete_mi(codes, y),
            "quantized": lambda: F.discrete_mi(codes, y),
            "mixed_ksg": lambda: F.mixed_ksg_mi(t, y),
            "renyi": lambda: F.renyi_mi(t, y),
            "noisy": lambda: noisy().iyl,
        }[self.ity]
        return float(ixt()) * self.scale, float(ity()) * self.scale

    def record(self, epoch: int) -> None:
        """Measure every watched layer now and keep the points under ``epoch``. A layer whose output is
        the same for every sample (a dead layer) gets ``(0, 0)``, the MI of a constant, for every method."""
        self._warn_if_infinite()
        for name, t in self._capture().items():
            self.points.append(PlanePoint(int(epoch), name, *self._measure(t)))

    def result(self) -> InformationPlaneResult:
        return InformationPlaneResult(tuple(self.points), self.ixt, self.ity, self.unit)


class InformationPlaneCallback(CallbackBase):  # type: ignore[misc]
    """PyTorch Lightning adapter: records the plane after every ``every``-th training epoch (and before
    the first). Without Lightning installed it is a plain object with the same hooks."""

    def __init__(self, plane: InformationPlane, every: int = 1) -> None:
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every: expected a positive integer, got {every!r}")
        self.plane, self.every = plane, every

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self.plane.record(0)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        epoch = int(trainer.current_epoch) + 1
        if epoch % self.every == 0:
            self.plane.record(epoch)
