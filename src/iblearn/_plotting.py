"""Figures for the library's plots, made without pyplot.

A :class:`matplotlib.figure.Figure` built directly belongs to no backend and to no pyplot state: the
library never calls ``matplotlib.use`` (which in a notebook switched the user's inline backend to Agg,
so their next plot showed nothing), never leaves figures open, and a returned figure shows once in
Jupyter as the cell's value. ``fig.savefig`` writes files without a backend of its own choosing.
"""

from __future__ import annotations

import io
import os
from typing import Any


def available() -> bool:
    """Whether matplotlib can be imported (it is the optional ``plot`` extra)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def figure(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float]) -> tuple[Any, Any]:
    """A new figure and its axes as a 2-d array (``axes[row, col]``).

    Raises:
        ImportError: matplotlib is missing, naming the extra that installs it.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError("plotting needs matplotlib: pip install 'iblearn[plot]'") from err
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def integer_ticks(ax: Any, axis: str = "x") -> None:
    """Ticks at whole numbers only on ``axis`` (epochs, iterations: no 2.5th epoch)."""
    from matplotlib.ticker import MaxNLocator

    (ax.xaxis if axis == "x" else ax.yaxis).set_major_locator(MaxNLocator(integer=True))


def class_legend(ax: Any, dots: Any) -> None:
    """A legend of the classes a scatter plot's colours stand for, to the right of ``ax``."""
    ax.legend(*dots.legend_elements(), title="class", fontsize=6, loc="center left", bbox_to_anchor=(1, 0.5))


def finish(fig: Any, path: str | os.PathLike[str] | None = None, *, dpi: int = 110) -> Any:
    """Lay ``fig`` out, write it to ``path`` if given, and return it.

    Every linear axis shows its values as they are: no offset notation (a flat I(T; Y) was labelled
    ``1e-12+2.29145914``), and an axis whose data vary by less than a millionth of their size is
    widened to +-5% around them, so a constant reads as a flat line at its value.
    """
    from matplotlib.ticker import ScalarFormatter

    for ax in fig.axes:
        for axis, get, set_ in ((ax.xaxis, ax.get_xlim, ax.set_xlim), (ax.yaxis, ax.get_ylim, ax.set_ylim)):
            formatter = axis.get_major_formatter()
            if not isinstance(formatter, ScalarFormatter) or axis.get_scale() != "linear":
                continue
            formatter.set_useOffset(False)
            lo, hi = get()
            size = max(abs(lo), abs(hi))
            if size > 0 and abs(hi - lo) <= 1e-6 * size:
                mid = (lo + hi) / 2
                set_(mid - 0.05 * size, mid + 0.05 * size)
    fig.tight_layout()
    if path is not None:
        if os.path.isdir(path):  # savefig would write <path>.png beside the folder
            raise ValueError(f"path: {path} is a folder; name the file to write")
        from iblearn.records.atomic import atomic_write_bytes

        # Whole or not at all, as a run's other records: a run killed while it draws keeps its last picture.
        kind = os.path.splitext(path)[1].lstrip(".")
        image = io.BytesIO()
        fig.savefig(image, dpi=dpi, format=kind or "png")
        atomic_write_bytes(path if kind else f"{os.fspath(path)}.png", image.getvalue())
    return fig
