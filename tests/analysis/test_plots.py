"""The library's plots leave the user's matplotlib alone and return their figures."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402

from iblearn.analysis.information_plane import InformationPlaneResult, PlanePoint  # noqa: E402
from iblearn.optim import LRRange, plot_range  # noqa: E402


@pytest.fixture
def notebook_backend() -> Iterator[str]:
    """A backend other than Agg, standing in for a notebook's inline one; restored afterwards."""
    import matplotlib.pyplot as plt

    before = matplotlib.get_backend()
    plt.close("all")  # figures an earlier test left in pyplot are not this test's
    plt.switch_backend("svg")
    yield "svg"
    plt.close("all")
    plt.switch_backend(before)


def flat_plane() -> InformationPlaneResult:
    """Two layers; the second sits at H(Y) with 1e-12 jitter (an axis that once read '1e-12+2.29145914')."""
    points = []
    for epoch in range(4):
        points.append(PlanePoint(epoch, "net.2", 1.0 + 0.5 * epoch, 0.5 + 0.3 * epoch))
        points.append(PlanePoint(epoch, "net.4", 6.2146, 2.29145914 + 1e-12 * epoch))
    return InformationPlaneResult(tuple(points), "binning", "binning", "nats")


def lr_range() -> LRRange:
    summary = [
        {"trial": 0, "lr": lr, "crashed": False, "final_train_acc": acc}
        for lr, acc in ((1e-3, 20.0), (1e-2, 60.0), (1e-1, 30.0))
    ]
    curves = [
        {"trial": 0, "lr": lr, "epoch": e, "train_acc": 10.0 * e} for lr in (1e-3, 1e-2) for e in range(3)
    ]
    return LRRange(1e-3, 1e-1, 1e-2, 0.0, summary=summary, curves=curves)


def test_plots_keep_the_backend_open_no_pyplot_figure_and_return_their_figure(notebook_backend, tmp_path):
    import matplotlib.pyplot as plt

    figures = [flat_plane().plot(), plot_range(lr_range()), flat_plane().plot(tmp_path / "plane.png")]
    assert matplotlib.get_backend() == notebook_backend
    assert plt.get_fignums() == []  # nothing left open in pyplot, nothing shown twice in a notebook
    assert all(isinstance(fig, Figure) for fig in figures)
    assert (tmp_path / "plane.png").stat().st_size > 0


def test_plane_layers_in_distinct_colours_with_a_legend_and_no_offset_notation():
    fig = flat_plane().plot()
    fig.canvas.draw()
    (ax,) = fig.axes
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["net.2", "net.4"]
    colours = {
        line.get_label(): line.get_color() for line in ax.get_lines() if not line.get_label().startswith("_")
    }
    assert len(set(colours.values())) == 2
    for axis in (ax.xaxis, ax.yaxis):
        assert axis.get_offset_text().get_text() == ""
    low, high = ax.get_ylim()
    assert high - low > 0.1  # the flat layer is a flat line at its value, not a 1e-12 zoom


def test_range_plot_has_integer_epoch_ticks(tmp_path: Path):
    fig = plot_range(lr_range(), tmp_path / "range.png")
    fig.canvas.draw()
    ticks = fig.axes[1].get_xticks()
    assert all(float(t).is_integer() for t in ticks)
    assert (tmp_path / "range.png").stat().st_size > 0


def test_the_ib_curve_plot_names_a_bad_curve_or_base(tmp_path: Path):
    import torch

    from iblearn.analysis import plot_ib_curve
    from iblearn.functional import ib_curve

    curve = ib_curve(torch.tensor([[0.3, 0.1], [0.1, 0.5]]))
    for base in (1.0, 0.0, -2.0, float("inf"), "2"):
        with pytest.raises(ValueError, match=r"^base: "):
            plot_ib_curve(curve, base=base)
    for bad in (None, torch.zeros(3)):
        with pytest.raises(TypeError, match=r"^curve: "):
            plot_ib_curve(bad)
    with pytest.raises(ValueError, match=r"^path: .* is a folder"):  # matplotlib wrote <folder>.png beside it
        plot_ib_curve(curve, tmp_path)
    nan = float("nan")
    for bad in (
        dataclasses.replace(curve, i_ty=curve.i_ty.clone().fill_(nan)),
        dataclasses.replace(curve, i_xt=torch.cat([curve.i_xt[:-1], curve.i_xt.new_tensor([nan])])),
        dataclasses.replace(curve, i_xy=nan),
        dataclasses.replace(curve, h_x=nan),
    ):
        with pytest.raises(ValueError, match=r"^curve: .*NaN"):
            plot_ib_curve(bad)
    one = ib_curve(torch.tensor([[0.5, 0.0], [0.0, 0.5]]), betas=[1.0])  # a curve of one point
    assert isinstance(plot_ib_curve(one, tmp_path / "one.png", base=2), Figure)
    assert (tmp_path / "one.png").stat().st_size > 0
