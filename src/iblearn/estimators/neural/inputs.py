"""What a neural estimator accepts: rows of x and y as tensors of its critic's dtype, integer labels
one-hot encoded, on its critic's device; and the small conversions its training step needs.

A wrong shape, a sample-count mismatch, a non-finite value, values beyond the critic's dtype, or labels
outside ``[0, y_classes)`` raise ValueError naming the argument (:mod:`iblearn._checks`); so does a
constant variable where an estimate or a fit is asked of it (:func:`refuse_constant`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn.functional.scale import constant_columns


def param_dtype(module: Any) -> torch.dtype:
    """The dtype of ``module``'s first floating-point parameter (the default dtype if it has none)."""
    if isinstance(module, nn.Module):
        for p in module.parameters():
            if p.is_floating_point():
                return p.dtype
    return torch.get_default_dtype()


def as_input(value: Any, name: str, dtype: torch.dtype) -> Tensor:
    """``value`` as a tensor, cast to ``dtype`` if floating-point: users pass numpy's float64 (or
    float16 activations) to a float32 critic. Finite values too large for ``dtype`` would become Inf in
    the cast: they raise, saying so, rather than being reported as an Inf the user never passed."""
    t = V.as_tensor(value, name)
    if not t.is_floating_point():
        return t
    cast = t.to(dtype)
    if t.dtype != dtype and t.numel() and not bool(torch.isfinite(cast).all()):
        finite = t[torch.isfinite(t)]
        top, kind = float(finite.abs().max()) if finite.numel() else 0.0, str(dtype).removeprefix("torch.")
        if top > torch.finfo(dtype).max:
            raise ValueError(
                f"{name}: values up to {top:.3g} overflow {kind}, the critic's dtype (largest "
                f"{torch.finfo(dtype).max:.3g}); standardize them first "
                "(estimate_mi's standardize='ranks' or 'moments'), or use a float64 critic (est.double())"
            )
    return cast


def refuse_constant(x: Any, y: Any) -> None:
    """Raise where ``x`` or ``y`` (rows) is constant: a constant variable carries no information, so its
    MI with anything is 0, and an estimator would report its own noise (or divide by its zero spread), as
    the nearest-neighbour estimators refuse it. Samples that are not rows (graphs, ``y`` None), that
    hold NaN or Inf, or that are not floats (x) or labels (y) are left to the checks that name those."""
    for name, value in (("x", x), ("y", y)):
        if not isinstance(value, Tensor | np.ndarray) or value.ndim == 0 or len(value) < 2:
            continue
        t = V.as_tensor(value, name)
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            continue
        if not t.is_floating_point():
            if name == "x" or t.is_complex():
                continue
            if bool((t == t[:1]).all()):
                raise ValueError(f"{name}: every sample has the same label; its MI with anything is 0")
        elif bool(constant_columns(t.reshape(len(t), -1)).all()):
            raise ValueError(
                f"{name}: every column is constant; its MI with anything is 0, and no estimate is made of it"
            )


def checked_pair(
    x: Any,
    y: Any,
    *,
    dtype: torch.dtype,
    device: torch.device,
    y_classes: int | None,
    x_dim: int | None,
    y_dim: int | None,
) -> tuple[Tensor, Tensor]:
    """``x`` and ``y`` as a critic of ``dtype`` on ``device`` takes them: at least 2 rows (a negative
    pair needs two), ``x_dim`` and ``y_dim`` features per row where given, integer labels ``y`` one-hot
    encoded to ``y_classes`` columns (and only where ``y_classes`` is given)."""
    xt = V.continuous(as_input(x, "x", dtype), "x", allow_grid=True)
    yt = as_input(y, "y", dtype)
    if not yt.is_floating_point():
        if y_classes is None:
            raise ValueError("y: integer labels need y_classes (the number of classes) to be one-hot encoded")
        lab = V.labels(yt, "y")
        if int(lab.min()) < 0 or int(lab.max()) >= y_classes:
            raise ValueError(
                f"y: labels must lie in [0, {y_classes}), got {int(lab.min())}..{int(lab.max())}"
            )
        yt = F.one_hot(lab, y_classes).to(xt.dtype)
    elif y_classes is not None:
        raise ValueError(f"y: with y_classes set, y must hold integer class labels, got {yt.dtype} values")
    else:
        yt = V.continuous(yt, "y", allow_grid=True)
    n = V.same_length(("x", xt), ("y", yt))
    if n < 2:
        raise ValueError(f"x: at least 2 samples are needed to form negative pairs, got {n}")
    for name, t, dim in (("x", xt, x_dim), ("y", yt, y_dim)):
        if dim is not None and t[0].numel() != dim:
            raise ValueError(
                f"{name}: the critic takes {dim} features per sample ({name}_dim), got shape {tuple(t.shape)}"
            )
    for name, t in (("x", xt), ("y", yt)):
        if t.device != device:
            raise ValueError(f"{name}: is on {t.device} but the critic is on {device}; move one of them")
    return xt, yt


def wants_grad(*values: Any) -> bool:
    """Whether any tensor among ``values`` (or in a tuple of them, or a graph's ``.x``) requires grad."""
    for v in values:
        if isinstance(v, tuple | list) and wants_grad(*v):
            return True
        t = v.x if isinstance(getattr(v, "x", None), Tensor) else v
        if isinstance(t, Tensor) and t.requires_grad:
            return True
    return False


def detached(value: Any) -> Any:
    """Tensors (or tuples of them, as graphs are) cut from autograd: a critic step trains the critic only."""
    if isinstance(value, Tensor):
        return value.detach()
    if isinstance(value, tuple):
        return tuple(detached(v) for v in value)
    return value
