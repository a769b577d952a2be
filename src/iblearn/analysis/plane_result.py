"""What an :class:`~iblearn.analysis.InformationPlane` recorded: the points (epoch, layer, I(X; T),
I(T; Y)), how they were measured, the exact IB curve of the data where asked for, and the points as CSV
or as a picture of the plane."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from typing import Any

from iblearn import _plotting
from iblearn.analysis.ib import draw_ib_curve
from iblearn.functional.ib import IBCurve
from iblearn.records import atomic_write_text


@dataclass(frozen=True)
class PlanePoint:
    epoch: int
    layer: str
    ixt: float
    ity: float
    ixt_given_y: float | None = None  # I(T; X | Y), where the recorder was asked for it


@dataclass(frozen=True)
class InformationPlaneResult:
    """The recorded points (in the recorder's unit) and how they were measured; where the recorder was
    asked for it, the exact IB curve of the data's joint (``bound``, in nats) and the factor that turns
    nats into the points' unit (``per_nat``: 1 / log base)."""

    points: tuple[PlanePoint, ...]
    ixt_method: str
    ity_method: str
    unit: str
    bound: IBCurve | None = None
    per_nat: float = 1.0

    def layers(self) -> list[str]:
        return list(dict.fromkeys(p.layer for p in self.points))

    def gaps(self) -> list[float]:
        """Each point's distance below the IB curve, in the points' unit: the curve's I(T; Y) at the
        point's I(X; T) (its concave envelope, flat past its end) less the point's I(T; Y). A point of a
        representation of these data that is measured exactly lies on or below the curve (gap >= 0); a
        negative gap is an estimator's error (or a curve for other data)."""
        if self.bound is None:
            raise ValueError("bound: the plane was recorded without the IB curve (see InformationPlane)")
        ixt = [p.ixt / self.per_nat for p in self.points]
        at = self.bound.i_ty_at(ixt).tolist()
        return [a * self.per_nat - p.ity for a, p in zip(at, self.points, strict=True)]

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """The points as CSV text (``epoch,layer,ixt,ity``, then ``ixt_given_y`` where recorded), also
        written atomically to ``path``."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        conditional = any(p.ixt_given_y is not None for p in self.points)
        w.writerow(["epoch", "layer", "ixt", "ity"] + ["ixt_given_y"] * conditional)
        w.writerows(
            [p.epoch, p.layer, f"{p.ixt:.6g}", f"{p.ity:.6g}"]
            + ([f"{p.ixt_given_y:.6g}"] if p.ixt_given_y is not None else [])
            for p in self.points
        )
        if path is not None:
            atomic_write_text(path, buf.getvalue())
        return buf.getvalue()

    def plot(self, path: str | os.PathLike[str] | None = None, *, title: str = "") -> Any:
        """I(X; T) against I(T; Y): one path per layer in its own colour (legend), from a hollow marker
        at the first epoch to a filled one at the last, each end labelled with its epoch; where recorded,
        the exact IB curve of the data (black) with the data-processing bounds H(X) and I(X; Y) (grey).

        Returns the matplotlib ``Figure`` (shown inline in a notebook) and writes it to ``path`` if
        given; the user's matplotlib backend is left as it was. Needs matplotlib (``iblearn[plot]``).
        """
        fig, axes = _plotting.figure(figsize=(5.5 if self.bound is None else 7.0, 4.2))
        ax = axes[0, 0]
        if self.bound is not None:
            draw_ib_curve(self.bound, ax, scale=self.per_nat)
        for i, layer in enumerate(self.layers()):
            pts = [p for p in self.points if p.layer == layer]
            color = f"C{i % 10}"
            xs, ys = [p.ixt for p in pts], [p.ity for p in pts]
            ax.plot(xs, ys, color=color, lw=1.2, marker=".", ms=5, label=layer)
            ax.plot(xs[:1], ys[:1], ls="", marker="o", ms=7, mfc="none", color=color)
            ax.plot(xs[-1:], ys[-1:], ls="", marker="o", ms=7, color=color)
            for p in (pts[0], pts[-1]) if len(pts) > 1 else pts[:1]:
                ax.annotate(
                    f"{p.epoch}", (p.ixt, p.ity), fontsize=6, xytext=(3, 3), textcoords="offset points"
                )
        if self.points:
            epochs = sorted({p.epoch for p in self.points})
            # with the curve drawn the plane fills up from its lower left: the legend goes to the right
            outside = {"loc": "center left", "bbox_to_anchor": (1, 0.5)} if self.bound is not None else {}
            ax.legend(
                title=f"layer (epoch {epochs[0]}: hollow, {epochs[-1]}: filled)",
                fontsize=7,
                title_fontsize=7,
                **outside,
            )
        ax.set_xlabel(f"I(X; T) [{self.unit}, {self.ixt_method}]")
        ax.set_ylabel(f"I(T; Y) [{self.unit}, {self.ity_method}]")
        ax.set_title(title or "information plane")
        return _plotting.finish(fig, path, dpi=120)
