"""What can go wrong in a :class:`~iblearn.optim.ProximalSplit` step, and the checks that say so.

A closure that does not return ``(loss, z)``, a bottleneck outside the graph, an operation that cannot be
differentiated twice, a loss or gradient that is not finite, and settings a state dict brings in: each
raises a ``ValueError`` (or one of the two subclasses here) naming the argument and the cure, before any
parameter moves.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn

from iblearn.optim.proximal_penalty import constraint_norm

Closure = Callable[[], tuple[Tensor, Tensor | tuple[Tensor, ...] | list[Tensor]]]


class DoubleBackwardError(ValueError):
    """An operation between the bottleneck and the loss cannot be differentiated twice (order=2)."""


class NonFiniteStepError(ValueError):
    """The closure's loss, or a gradient of the step, is NaN or infinite; no parameter was changed."""


def check_positive(**values: Any) -> None:
    """Raise ValueError naming each of ``values`` that is not a positive finite number (a bool is not one)."""
    for name, value in values.items():
        if isinstance(value, bool) or not (
            isinstance(value, int | float) and math.isfinite(value) and value > 0
        ):
            raise ValueError(f"{name}: must be positive and finite, got {value!r}")


def side_params(params: Iterable[Tensor], name: str) -> list[Tensor]:
    """``params`` (``f.parameters()``, a list of tensors) as a list, refusing what torch would take in
    another sense (a module, a tensor iterated by rows, param-group dicts) or refuse from deep within,
    and parameters on the meta device, which hold no data to step."""
    if isinstance(params, Tensor | nn.Module | str | dict) or not isinstance(params, Iterable):
        raise ValueError(
            f"{name}: expected an iterable of parameters (module.parameters()), got {type(params).__name__}"
        )
    found = list(params)
    for p in found:
        if not isinstance(p, Tensor):
            raise ValueError(f"{name}: expected parameters, got a {type(p).__name__}")
        if p.is_meta:
            raise ValueError(
                f"{name}: on the meta device, without data to step; build the optimizer after "
                "materializing the model (module.to_empty(device=...) and its initialization)"
            )
    if len({id(p) for p in found}) < len(found):
        raise ValueError(f"{name}: holds a parameter twice")
    if not found:
        raise ValueError(f"{name}: is empty")
    return found


def check_inner(optimizer: Any) -> None:
    """Refuse what is not an optimizer class whose ``step`` can be called without a closure."""
    if not (isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer)):
        raise ValueError(f"optimizer: expected a torch.optim.Optimizer class, got {optimizer!r}")
    closure = inspect.signature(optimizer.step).parameters.get("closure")
    if closure is not None and closure.default is inspect.Parameter.empty:
        raise ValueError(
            f"optimizer: {optimizer.__name__} steps only with a closure that it evaluates again, and "
            "ProximalSplit steps each side on the gradients it has computed; use a first-order optimizer"
        )


def read_closure(closure: Closure) -> tuple[Tensor, tuple[Tensor, ...]]:
    """Run ``closure`` and return its loss (0-d) and its bottleneck as a tuple of tensors in the graph."""
    out = closure()
    if not (isinstance(out, tuple | list) and len(out) == 2):
        lightning = (
            "; a closure that returns the loss alone is what PyTorch Lightning's automatic optimization "
            "passes: set self.automatic_optimization = False in the LightningModule and call "
            "self.optimizers().step(closure) in training_step (README, ProximalSplit)"
            if out is None or isinstance(out, Tensor)
            else ""
        )
        raise ValueError("closure: must return (loss, z)" + lightning)
    loss, z = out
    zs = (z,) if isinstance(z, Tensor) else tuple(z) if isinstance(z, tuple | list) else ()
    if not isinstance(loss, Tensor) or loss.numel() != 1:
        raise ValueError("closure: the loss must be a scalar tensor")
    if not loss.is_floating_point():
        raise ValueError(f"closure: the loss must be a real floating-point scalar, got {loss.dtype}")
    if not loss.requires_grad:
        raise ValueError("closure: the loss does not require grad; compute it from g(z) inside the graph")
    if not zs or not all(isinstance(t, Tensor) for t in zs):
        raise ValueError("z: must be a tensor or a tuple of tensors")
    for i, t in enumerate(zs):
        if not t.requires_grad:
            raise ValueError(
                f"z: {'member ' + str(i) + ' ' if len(zs) > 1 else ''}does not require grad; return the "
                "bottleneck as computed by f, inside the graph (not detached, not under no_grad)"
            )
    return loss.reshape(()), zs


def check_finite(loss: Tensor, params: list[Tensor]) -> None:
    """Refuse the step, before any inner optimizer has moved a parameter or its state, if the loss or
    a gradient is not finite (a finite loss of 1e38 can still overflow one); one device sync."""
    checks = [loss.isfinite(), *(p.grad.isfinite().all() for p in params if p.grad is not None)]
    if not bool(torch.stack(checks).all()):
        what = "loss" if not bool(loss.isfinite()) else "a gradient of the step"
        raise NonFiniteStepError(
            f"closure: {what} is not finite (loss {float(loss.detach()):.3g}); the step was refused "
            "and no parameter changed"
        )


def raise_double_backward(err: RuntimeError) -> None:
    """Name the operation without a double backward, if that is what ``err`` says; else re-raise."""
    text = str(err)
    named = re.search(r"derivative for '?([\w.:]+)'? is not implemented", text)
    if named or "once_differentiable" in text or "double backward" in text.lower():
        op = named.group(1) if named else "a once-differentiable function"
        raise DoubleBackwardError(
            f"closure: order=2 differentiates grad_z L a second time, but {op!r} between the "
            "bottleneck and the loss has no double backward; use order=1 or replace that operation"
        ) from err
    raise err


def raise_freed_graph(err: RuntimeError) -> None:
    """Say that the closure called ``backward()`` itself, if that is what ``err`` says; else re-raise."""
    if "backward through the graph a second time" in str(err):
        raise ValueError(
            "closure: its graph was already freed, as a backward() inside the closure does; "
            "ProximalSplit differentiates the loss itself, so return (loss, z) without calling "
            "loss.backward()"
        ) from err
    raise err


def explain_missing_gradient(zs: tuple[Tensor, ...], forward: list[Tensor], order: int) -> None:
    """Raise the reason theta got no gradient: z does not come from f, or the path through grad_z L is cut."""
    with torch.enable_grad():
        reached = torch.autograd.grad(torch.stack([z.sum() for z in zs]).sum(), forward, allow_unused=True)
    if all(g is None for g in reached):
        raise ValueError("z: no forward parameter reaches the bottleneck; does z come from f's parameters?")
    raise DoubleBackwardError(
        f"closure: the order={order} step found no path from theta to grad_z L. Either an "
        "operation between the bottleneck and the loss is not twice differentiable (a custom "
        "autograd.Function marked once_differentiable cuts the path silently), or the loss is "
        "linear in z, so that its second derivative, and with it theta's step, is zero; use order=1"
    )


def inner_name(optimizer: type) -> str:
    """The name a state dict records its inner optimizer class by."""
    return f"{optimizer.__module__}.{optimizer.__qualname__}"


def shapes(groups: list[dict[str, Any]]) -> list[list[list[int]]]:
    """The shapes of the parameters of each group, as a state dict records them."""
    return [[list(p.shape) for p in group["params"]] for group in groups]


def check_state_dict(state_dict: dict[str, Any], optimizer: type, own: list[list[list[int]]]) -> None:
    """Refuse what is not a ProximalSplit state dict; one saved over another inner ``optimizer`` class
    or for parameters of other shapes than ``own`` (which the inner optimizer would load, to fail at a
    later step or step with another's moments); and settings a tampered or foreign one would bring in
    unchecked. A state dict without ``inner`` (older) skips the optimizer and shape checks."""
    keys = {"wrapper", "forward", "backward"}
    if not isinstance(state_dict, dict) or not keys <= set(state_dict) <= keys | {"inner"}:
        raise ValueError("state_dict: not a ProximalSplit state dict (keys wrapper, forward, backward)")
    inner = state_dict.get("inner")
    if isinstance(inner, dict):
        if inner.get("optimizer") != inner_name(optimizer):
            saved = str(inner.get("optimizer")).rsplit(".", 1)[-1]
            raise ValueError(
                f"state_dict: saved from a ProximalSplit over {saved}, not {optimizer.__name__}; build it "
                f"with optimizer={saved}"
            )
        for side, saved, mine in zip(("forward", "backward"), inner.get("shapes", own), own, strict=True):
            if saved != mine:
                raise ValueError(
                    f"state_dict: its {side} parameters have shapes {saved}, this optimizer's {mine}"
                )
    for part in ("wrapper", "forward", "backward"):
        groups = state_dict[part].get("param_groups") if isinstance(state_dict[part], dict) else None
        if not isinstance(groups, list) or len(groups) != 2 - (part != "wrapper"):
            raise ValueError(f"state_dict: its {part!r} part has no ProximalSplit param_groups")
        for group in groups:
            check_positive(**{k: group.get(k) for k in ("lr", "beta", "lam", "huber_delta")})
            if group.get("order") not in (1, 2) or group.get("keep_first_order", False) not in (True, False):
                raise ValueError("state_dict: order or keep_first_order is not one ProximalSplit takes")
            constraint_norm(group.get("constraint"), group["huber_delta"])
