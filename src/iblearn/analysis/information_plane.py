"""The information plane: I(X; T) and I(T; Y) of chosen layers over training (Shwartz-Ziv & Tishby 2017).

A recorder, not a training procedure: at each ``record(epoch)`` it runs the model once on a fixed
evaluation sample with temporary forward hooks, under ``no_grad``, in evaluation mode, with the random
state saved and restored, then puts every module's mode back. The layers' outputs go to CPU and are
reduced to two numbers each at once, so memory is one sample's activations of the watched layers.

What the numbers mean depends on the estimator, and for a deterministic network with continuous input
the plain I(X; T) is infinite (Amjad & Geiger 2019, Theorem 1): a "compression phase" seen with binning can be
an artefact of the bins (Saxe et al. 2018). Asking for a plain estimate of a quantity :func:`diagnose_ib`
calls infinite (for the network measured: in evaluation mode) warns once and points to ``"noisy"`` or
``"quantized"``, which are well defined.

Under ``torch.distributed`` (``torchrun``) every rank calls ``record``; rank 0 measures its evaluation
sample alone (estimators then act as one process: a neural estimator does not wait on the other ranks)
and broadcasts the points, so every rank holds the same plane. A ``DistributedDataParallel`` model is
run through its inner module, whose forward waits on no other rank.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from iblearn import _checks as V
from iblearn import distributed
from iblearn import functional as ibf
from iblearn._modes import evaluating
from iblearn.analysis.ib import IBFunctional, InputKind, diagnose_ib, ib_noisy
from iblearn.analysis.plane_result import InformationPlaneResult, PlanePoint
from iblearn.estimators.base import Estimator, unit_name
from iblearn.estimators.conditional import Conditional
from iblearn.estimators.neural import NeuralEstimator
from iblearn.estimators.neural.stacked import estimate_many
from iblearn.estimators.registry import REGISTRY, get_estimator

XMethod = Literal["binning", "quantized", "ksg", "renyi", "noisy"]
YMethod = Literal["binning", "quantized", "mixed_ksg", "renyi", "noisy"]
_PLAIN = ("binning", "ksg", "renyi")  # estimates of the plain I(X; T)
#: A value within this fraction of its ceiling (log N, H(Y)) is reported as saturated: a noise scale
#: of 0.1 left I(X; T) of an MNIST layer at 6.206 for log 500 = 6.2146 (0.14% below), a flat plane.
SATURATION = 5e-3
#: The default noise of ``ixt="noisy"``: this fraction of a layer's whole spread (root of the summed unit
#: variances). Measured on MNIST (500 evaluation images, log 500 = 6.2146, H(Y) = 2.2915; MLP
#: 784-256-128-10, ReLU and tanh, Adam 1e-3 on 10,000 images; the three layers' I(X; T) / I(T; Y)):
#: 0.1 leaves every layer within 6% of log N (5.72-6.21); 0.2 moves only after training (5.98-6.17 at
#: initialization, 4.50-5.64 after 5 epochs); 0.3 moves at every epoch (5.01-5.86 at initialization,
#: 3.59-4.65 after 5 epochs) and keeps 2.07-2.20 of H(Y) in I(T; Y) of the trained layers; 0.5 blurs
#: the classes (I(T; Y) 1.42-1.74 after training). A scale of 0.1 of the root mean unit
#: variance saturates: it is 0.1 / sqrt(d) of the whole spread (0.006 for 256 units).
NOISE_SCALE = 0.3


_X_METHODS = ("binning", "quantized", "ksg", "renyi", "noisy")
_Y_METHODS = ("binning", "quantized", "mixed_ksg", "renyi", "noisy")


def _method(value: str | Estimator, name: str, own: tuple[str, ...]) -> tuple[str, Estimator | None]:
    """The method's name, and the estimator that measures it: None for the recorder's own methods
    (``own``, which take precedence over the registry's names), else an :class:`Estimator` given as
    an object or by its registry name."""
    if isinstance(value, Estimator):
        return value.name, value
    if isinstance(value, str) and value not in own and value in REGISTRY:
        return value, get_estimator(value)
    if value not in own:
        raise ValueError(
            f"{name}: expected one of {', '.join(map(repr, own))}, a registered estimator's name "
            f"({', '.join(sorted(REGISTRY))}) or an Estimator, got {value!r}"
        )
    return value, None


def _nats(est: Estimator, a: Tensor, b: Tensor) -> Tensor:
    """``est``'s estimate of I(a; b) in nats, as the recorder's own methods give it."""
    return est(a, b).value * math.log(est.base)


class InformationPlane:
    """Record I(X; T) and I(T; Y) for ``layers`` of ``model`` on a fixed sample ``(x, y)``.

    Args:
        model: any module; it is not changed (outputs, gradients, modes and random state are kept).
        layers: names (as in ``model.named_modules()``) or the modules themselves.
        x: the evaluation inputs, the shape the model takes; y: their class labels ``(N,)``.
        ixt: ``"binning"`` (each unit in ``n_bins`` bins over the layer's range, X as the sample index),
            ``"quantized"`` (the same number, read as the well-defined I(X; Q(T)) of Amjad & Geiger (2019)
            Sec. 5.4), ``"ksg"``, ``"renyi"``, or ``"noisy"`` (I(X; T + eta), eta Gaussian, see
            :func:`.ib_noisy`); or any :class:`~iblearn.estimators.Estimator`, as an object or by registry
            name (``"gaussian"``), called as ``est(x, t)`` with x flattened (an estimate of the plain I(X;
            T)). A neural estimator is fitted afresh at each record, a copy for each layer
            (:func:`~iblearn.estimators.neural.stacked.estimate_many`: the layers' critics trained at
            once, for at most ``fit_steps`` steps each, its own settings and seed 0), and reports on the
            evaluation sample.
        ity: ``"binning"``, ``"quantized"``, ``"mixed_ksg"``, ``"renyi"`` or ``"noisy"``; or an
            ``Estimator`` or registry name, called as ``est(t, y)`` with y the class labels.
        noise_scale: the noise std of ``"noisy"`` in units of the layer's root mean unit variance, as in
            :func:`.ib_noisy`. ``None`` (the default) takes ``NOISE_SCALE * sqrt(d)`` for a layer of d
            units, i.e. ``NOISE_SCALE`` of the layer's whole spread, so wide and narrow layers are blurred
            alike (see ``NOISE_SCALE`` for the measurement behind it).
        noise_std: the noise std of ``"noisy"`` as an absolute value, instead of ``noise_scale``.
        input_kind: what X is, for the Theorem 1 warning (see :func:`diagnose_ib`).
        bound: draw the exact IB curve (:func:`~iblearn.functional.ib_curve`) beside the layers: ``True``
            takes the data's joint, each distinct input row against the labels (:func:`data_joint`: the
            binning estimator's X is the sample, so a binned layer's point lies on or below it); a table
            ``(|X|, |Y|)`` gives p(x, y) directly. The result's ``bound`` and ``gaps()`` give it.
        ixt_given_y: also record I(T; X | Y), what a layer keeps of its input beyond the label:
            ``"ksg"`` (:func:`~iblearn.functional.ksg_cmi` with the labels as a discrete condition, the
            class-weighted sum of per-class KSG), or an estimator that takes ``z=`` (``KSG()``,
            ``GaussianMI()``), called as ``est(x, t, z=y)``. By the chain rule it is I(X; T) - I(T; Y)
            for a T computed from X (I(Y; T | X) = 0); like the plain I(X; T) it is infinite for a
            deterministic layer on continuous input, so its estimate measures the estimator there.
        fit_steps: the most training steps of a neural ``ixt`` or ``ity``'s critic for each layer and
            record (``fit``'s ``steps``; it stops early on its held-out rows).

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
        ixt: XMethod | str | Estimator = "binning",
        ity: YMethod | str | Estimator = "binning",
        n_bins: int = 30,  # Shwartz-Ziv & Tishby 2017
        noise_scale: float | None = None,
        noise_std: float | None = None,
        input_kind: InputKind | None = None,
        base: float = math.e,
        ixt_given_y: Literal["ksg"] | Conditional | None = None,
        bound: bool | Any = False,
        fit_steps: int = 2000,  # NeuralEstimator.fit's
    ) -> None:
        self.ixt, self._ixt_estimator = _method(ixt, "ixt", _X_METHODS)
        self.ity, self._ity_estimator = _method(ity, "ity", _Y_METHODS)
        if not (ixt_given_y in (None, "ksg") or isinstance(ixt_given_y, Conditional)):
            raise ValueError(
                f"ixt_given_y: expected None, 'ksg' or an estimator that takes z= (KSG, GaussianMI), "
                f"got {ixt_given_y!r}"
            )
        self.ixt_given_y = ixt_given_y
        V.positive_int(n_bins, "n_bins")
        self.n_bins = n_bins
        self.fit_steps = V.positive_int(fit_steps, "fit_steps")
        self._fitted: dict[tuple[str, int], Tensor] = {}
        self.noise_scale = None if noise_scale is None else V.positive(noise_scale, "noise_scale")
        self.noise_std = None if noise_std is None else V.positive(noise_std, "noise_std")
        self.scale = 1.0 / math.log(V.log_base(base, "base"))
        self.unit = unit_name(base)
        self.model = model
        # A DDP wrapper's forward waits on the other ranks, which are not measuring: its inner module.
        self._net: nn.Module = model.module if isinstance(model, DistributedDataParallel) else model
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
        self.input_kind = V.optional(V.one_of("continuous", "discrete", "dataset"))(input_kind, "input_kind")
        self.bound: ibf.IBCurve | None = None
        if isinstance(bound, str | bytes | np.bool_ | type(None)):
            raise ValueError(f"bound: expected True, False or a joint table p(x, y), got {bound!r}")
        if not (isinstance(bound, bool) and not bound):
            joint = data_joint(self.x, self.y) if bound is True else bound
            self.bound = ibf.ib_curve(joint, critical=False)
        self.points: list[PlanePoint] = []
        self._warned = False
        self._saturated: set[str] = set()
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
                self._net(self.x)
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
        if self._warned or (self.ixt not in _PLAIN and self._ixt_estimator is None):
            return
        self._warned = True
        with evaluating(self.model):  # the network record() measures, not the one being trained
            report = diagnose_ib(self._net, self.x, input_kind=self.input_kind)
        verdicts = {d.layer: d.verdict for d in report}
        infinite = [n for n in self.layers if verdicts.get(n) == "infinite"]
        if infinite:
            warnings.warn(
                f"I(X; T) is infinite for layer(s) {', '.join(infinite)} (Amjad & Geiger 2019, Theorem 1: "
                "deterministic layers, continuous input, strictly increasing activations); the "
                f"{self.ixt} estimate measures the estimator, not the network. Use ixt='noisy' or "
                "ixt='quantized' for a finite quantity.",
                UserWarning,
                stacklevel=3,
            )

    def _measure(self, t: Tensor) -> tuple[float, float, float | None]:
        if bool((t == t[0]).all()):  # a dead layer: kNN distances and noise adapted to t are undefined
            return 0.0, 0.0, None if self.ixt_given_y is None else 0.0
        x, y = self.x.reshape(len(self.x), -1).to("cpu", torch.float64), self.y.cpu()
        conditional = None
        if isinstance(self.ixt_given_y, Conditional):
            conditional = (
                float(self.ixt_given_y(x, t, z=y).value * math.log(self.ixt_given_y.base)) * self.scale
            )
        elif self.ixt_given_y == "ksg":
            conditional = float(ibf.ksg_cmi(x, t, y)) * self.scale
        codes = ibf.bin_values(t, self.n_bins)

        @functools.cache
        def noisy() -> IBFunctional:  # both terms come from one computation
            scale = NOISE_SCALE * math.sqrt(t.shape[1]) if self.noise_scale is None else self.noise_scale
            return ib_noisy(t, y, noise_scale=scale, noise_std=self.noise_std)

        ixt_est, ity_est = self._ixt_estimator, self._ity_estimator
        ixt: Callable[[], Tensor] = (
            functools.partial(_nats, ixt_est, x, t)
            if ixt_est is not None
            else {
                "binning": lambda: ibf.discrete_entropy(codes),
                "quantized": lambda: ibf.discrete_entropy(codes),
                "ksg": lambda: ibf.ksg_mi(x, t),
                "renyi": lambda: ibf.renyi_mi(x, t),
                "noisy": lambda: noisy().ixl,
            }[self.ixt]
        )
        ity: Callable[[], Tensor] = (
            functools.partial(_nats, ity_est, t, y)
            if ity_est is not None
            else {
                "binning": lambda: ibf.discrete_mi(codes, y),
                "quantized": lambda: ibf.discrete_mi(codes, y),
                "mixed_ksg": lambda: ibf.mixed_ksg_mi(t, y),
                "renyi": lambda: ibf.renyi_mi(t, y),
                "noisy": lambda: noisy().iyl,
            }[self.ity]
        )
        # A neural estimator's estimates of this record's layers were trained at once (_fit_layers).
        fitted_ixt, fitted_ity = self._fitted.get(("ixt", id(t))), self._fitted.get(("ity", id(t)))
        ixt_nats = ixt() if fitted_ixt is None else fitted_ixt
        ity_nats = ity() if fitted_ity is None else fitted_ity
        return float(ixt_nats) * self.scale, float(ity_nats) * self.scale, conditional

    def record(self, epoch: int) -> None:
        """Measure every watched layer now and keep the points under ``epoch``. A layer whose output is
        the same for every sample (a dead layer) gets ``(0, 0)``, the MI of a constant, for every method.

        Under ``torch.distributed`` every rank must call it: rank 0 measures, as one process, and every
        rank keeps rank 0's points. Should rank 0 fail, every rank raises (the others a RuntimeError
        naming rank 0), none waits.
        """
        if isinstance(epoch, bool) or not isinstance(epoch, int | np.integer) or epoch < 0:
            raise ValueError(f"epoch: expected a non-negative integer, got {epoch!r}")
        if not distributed.in_process_group():
            self._record(epoch)
            return
        payload: list[Any] = [None]
        failure: Exception | None = None
        if distributed.rank() == 0:
            try:
                with distributed.single_process():
                    payload = [("points", self._record(epoch))]
            except Exception as err:  # told to the other ranks, then raised here
                failure, payload = err, [("error", f"{type(err).__name__}: {err}")]
        torch.distributed.broadcast_object_list(payload, src=0)
        if failure is not None:
            raise failure
        what, found = payload[0]
        if what == "error":
            raise RuntimeError(f"InformationPlane.record: rank 0 failed to measure epoch {epoch}: {found}")
        if distributed.rank() != 0:
            self.points.extend(found)

    def _record(self, epoch: int) -> list[PlanePoint]:
        self._warn_if_infinite()
        captured = self._capture()
        self._fitted = self._fit_layers(list(captured.values()))
        try:
            found = [PlanePoint(int(epoch), name, *self._measure(t)) for name, t in captured.items()]
        finally:
            self._fitted = {}
        self.points.extend(found)
        self._warn_if_saturated(found)
        return found

    def _fit_layers(self, outputs: list[Tensor]) -> dict[tuple[str, int], Tensor]:
        """A neural ``ixt`` or ``ity``'s estimates (nats) of the layers' ``outputs``, every layer's critic
        trained at once (:func:`estimate_many`), by term and output (the outputs of one record); dead
        layers are left to :meth:`_measure`."""
        if not any(isinstance(e, NeuralEstimator) for e in (self._ixt_estimator, self._ity_estimator)):
            return {}  # nothing to train: no copy of the sample, no scan of the layers
        live = [t for t in outputs if not bool((t == t[0]).all())]
        x, y = self.x.reshape(len(self.x), -1).to("cpu", torch.float64), self.y.cpu()
        fitted: dict[tuple[str, int], Tensor] = {}
        for term, est, pairs in (
            ("ixt", self._ixt_estimator, [(x, t) for t in live]),
            ("ity", self._ity_estimator, [(t, y) for t in live]),
        ):
            if isinstance(est, NeuralEstimator) and live:
                found = estimate_many(est, pairs, steps=self.fit_steps)
                for t, e in zip(live, found, strict=True):
                    fitted[term, id(t)] = e.value * math.log(est.base)
        return fitted

    def _warn_if_saturated(self, points: list[PlanePoint]) -> None:
        """Warn once per layer whose I(X; T) sits at its ceiling log N (X is one of the N samples): every
        sample lands apart, so I(T; Y) is forced to its own ceiling H(Y), and the layer's point cannot
        move whatever the network does (MNIST, 500 samples, 30 bins give log 500 = 6.2146 and
        H(Y) = 2.2915 at every epoch). I(T; Y) at H(Y) alone is not warned of: a layer that separates
        the classes reaches it truly."""
        log_n = math.log(len(self.y)) * self.scale
        h_y = float(ibf.discrete_entropy(self.y.cpu())) * self.scale
        found = []
        for p in points:
            if p.layer in self._saturated or p.ixt < log_n * (1 - SATURATION):
                continue
            self._saturated.add(p.layer)
            at_h_y = (
                f" and I(T; Y) = {p.ity:.4f} at H(Y) = {h_y:.4f}" if p.ity >= h_y * (1 - SATURATION) else ""
            )
            found.append(f"{p.layer} (I(X; T) = {p.ixt:.4f}{at_h_y})")
        if not found:
            return
        cure = {
            "binning": "fewer bins (n_bins) or ixt='noisy'",
            "quantized": "fewer bins (n_bins) or ixt='noisy'",
            "noisy": "a larger noise_scale",
        }.get(str(self.ixt), "ixt='noisy'")
        warnings.warn(
            f"I(X; T) sits at its ceiling log N = {log_n:.4f} {self.unit} (N = {len(self.y)} samples) at "
            f"epoch {points[0].epoch} for layer(s) {'; '.join(found)}: the {self.ixt} estimate tells every "
            f"sample apart, so these points cannot move and the plane is flat there. Use {cure}.",
            UserWarning,
            stacklevel=3,
        )

    def result(self) -> InformationPlaneResult:
        points = tuple(self.points)
        return InformationPlaneResult(points, self.ixt, self.ity, self.unit, self.bound, self.scale)


def data_joint(x: Any, y: Any, n_bins: int | None = None) -> Tensor:
    """The joint table p(x, y) ``(|X|, |Y|)`` of a sample, each sample of weight 1/N: X each distinct
    input row, Y the class labels. The binning estimator reads I(X; T) as H(T) of a layer's bins, X the
    sample, so with the input rows as they are (``n_bins=None``) every layer's binned T is a function of
    X and its plug-in point lies on or below this joint's IB curve. ``n_bins`` bins each input unit first
    (:func:`~iblearn.functional.bin_values` over the input's range), which merges inputs a layer may still
    tell apart: the bound is then only that of the binned input.

    Example:
        >>> data_joint(torch.tensor([[0.0], [0.0], [1.0], [1.0]]), torch.tensor([0, 1, 1, 1])).tolist()
        [[0.25, 0.25], [0.0, 0.5]]
    """
    labels = V.labels(y, "y")
    inputs = V.as_tensor(x, "x")
    V.same_length(("x", inputs), ("y", labels))
    flat = inputs.reshape(len(inputs), -1).cpu()
    if n_bins is not None:
        flat = ibf.bin_values(flat.to(torch.float64), V.positive_int(n_bins, "n_bins"))
    codes = torch.unique(flat, dim=0, return_inverse=True)[1]
    classes = torch.unique(labels.cpu(), return_inverse=True)[1]
    joint = torch.zeros(int(codes.max()) + 1, int(classes.max()) + 1, dtype=torch.float64)
    joint.index_put_((codes, classes), torch.ones(len(codes), dtype=torch.float64), accumulate=True)
    return joint / len(codes)
