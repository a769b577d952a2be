"""The result of an information bottleneck solver (:class:`IBCurve`) and its upper concave envelope
(drawing it is :func:`iblearn.analysis.plot_ib_curve`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from iblearn import _checks as V

_TINY = 1e-300


@dataclass(frozen=True)
class IBCurve:
    """Points of an information bottleneck curve, one per beta, in nats.

    Attributes:
        betas: ``(B,)`` the trade-off parameters, increasing.
        i_xt, i_ty, h_t: ``(B,)`` I(X; T), I(T; Y) and H(T) of the solution at each beta (for a Gaussian
            joint H(T) is a differential entropy and is NaN: the curve does not depend on it).
        encoders: ``(B, |X|, |T|)`` the encoders q(t|x) (for a Gaussian joint, the matrices A of
            T = A X + xi, xi standard normal, ``(B, dx, dx)``).
        critical_betas: ``(K,)`` increasing: for the IB, the betas at which the continuing solution
            loses its second-order stability and T gains a value (a first-order jump can come before,
            see the module's text); for the DIB, where the optimal partition changes; for a Gaussian
            joint, where T gains a dimension.
        h_x, i_xy: H(X) and I(X; Y), the data-processing bounds I(X; T) <= H(X), I(T; Y) <= I(X; Y)
            (H(X) is infinite for a Gaussian joint).
        method: ``"ib"``, ``"dib"``, ``"gib"`` or ``"gaussian"``; alpha: the generalized IB's alpha.
    """

    betas: Tensor
    i_xt: Tensor
    i_ty: Tensor
    h_t: Tensor
    encoders: Tensor
    critical_betas: Tensor
    h_x: float
    i_xy: float
    method: str
    alpha: float = 1.0
    lagrangian: Tensor = field(default_factory=lambda: torch.empty(0, dtype=torch.float64))

    def __repr__(self) -> str:
        """One line: the method, the encoders' shape, the betas and the critical betas (the tensors
        themselves are attributes)."""
        method = f"gib, alpha={self.alpha:g}" if self.method == "gib" else self.method
        betas = self.betas.tolist()
        span = f"beta {betas[0]:.4g} to {betas[-1]:.4g}" if betas else "no beta"
        critical = [_shown(b, 5) for b in self.critical_betas.tolist()]
        shown = ", ".join(critical[:6]) + (f", ... ({len(critical)} in all)" if len(critical) > 6 else "")
        return (
            f"IBCurve({method}, {len(betas)} points, {span}, encoders {tuple(self.encoders.shape)}, "
            f"critical betas [{shown}], I(X; Y) = {_shown(self.i_xy, 4)} nats)"
        )

    def envelope(self) -> tuple[Tensor, Tensor]:
        """The upper concave envelope of the curve's points and (0, 0): I(X; T) and I(T; Y) ``(K,)`` of
        its vertices, increasing. Every point on it is achievable (time-sharing between two encoders,
        or for the IB a T that is a mixture), so it is a certified lower bound on the true curve."""
        return upper_envelope(self.i_xt, self.i_ty)

    def i_ty_at(self, i_xt: Any) -> Tensor:
        """The envelope's I(T; Y) at given I(X; T) (linear between vertices, flat past the last)."""
        ex, ey = self.envelope()
        return _interp(_values(i_xt, "i_xt"), ex, ey)


def _shown(value: float, digits: int) -> str:
    """``value`` to ``digits`` significant digits, rounded first to 12: a computed value's last bits
    differ between CPUs (LAPACK's and the kernels' paths for their instruction sets) and must not move a
    printed digit, as 1.5624999999999998 and 1.5625000000000002 would at a digit's half."""
    return f"{float(f'{value:.12g}'):.{digits}g}"


def _values(value: Any, name: str) -> Tensor:
    """``value`` as float64: real, finite numbers (a boolean is not one), or a ValueError naming ``name``."""
    t = V.as_tensor(value, name)
    if t.dtype == torch.bool or t.is_complex() or not bool(torch.isfinite(t.detach()).all()):
        raise ValueError(f"{name}: expected finite real numbers, got {value!r}")
    return t.detach().to(torch.float64)


def _interp(at: Tensor, ex: Tensor, ey: Tensor) -> Tensor:
    i = torch.searchsorted(ex, at.clamp(0, float(ex[-1]))).clamp(1, len(ex) - 1) if len(ex) > 1 else None
    if i is None:
        return torch.full_like(at, float(ey[0]))
    x0, x1, y0, y1 = ex[i - 1], ex[i], ey[i - 1], ey[i]
    w = ((at.clamp(0, float(ex[-1])) - x0) / (x1 - x0).clamp_min(_TINY)).clamp(0, 1)
    return y0 + w * (y1 - y0)


def upper_envelope(x: Any, y: Any) -> tuple[Tensor, Tensor]:
    """The upper concave envelope of points ``(x, y)`` and the origin, as its vertices sorted by x, up to
    the first of largest y (an envelope of achievable points, so nondecreasing).

    Example:
        >>> ex, ey = upper_envelope(torch.tensor([1.0, 2.0, 2.0]), torch.tensor([1.0, 1.25, 0.5]))
        >>> ex.tolist(), ey.tolist()
        ([0.0, 1.0, 2.0], [0.0, 1.0, 1.25])
    """
    x, y = _values(x, "x").flatten().cpu(), _values(y, "y").flatten().cpu()
    if len(x) != len(y):
        raise ValueError(f"y: has {len(y)} values for the {len(x)} of x; give one y a point")
    xs = torch.cat([torch.zeros(1, dtype=torch.float64), x])
    ys = torch.cat([torch.zeros(1, dtype=torch.float64), y])
    order = torch.argsort(xs * 0 + ys, descending=True, stable=True)
    order = order[torch.argsort(xs[order], stable=True)]
    xs, ys = xs[order], ys[order]
    # The Pareto front first (each point above every point left of it), then Andrew's monotone chain.
    front = ys > torch.cat([torch.tensor([-math.inf], dtype=torch.float64), torch.cummax(ys, 0).values[:-1]])
    px, py = xs[front].tolist(), ys[front].tolist()
    hull: list[tuple[float, float]] = []
    for point in zip(px, py, strict=True):
        while len(hull) >= 2:
            (ax_, ay), (bx, by) = hull[-2], hull[-1]
            if (bx - ax_) * (point[1] - ay) - (by - ay) * (point[0] - ax_) >= 0:  # b is on or below a-point
                hull.pop()
            else:
                break
        hull.append(point)
    return (
        torch.tensor([h[0] for h in hull], dtype=torch.float64),
        torch.tensor([h[1] for h in hull], dtype=torch.float64),
    )
