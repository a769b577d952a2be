"""Paper 004's figure: per method, the mean over seeds and the band between the lowest and highest seed."""

from __future__ import annotations

import pytest

from iblearn.experiments.mi_lr import report
from iblearn.records import RunFolder


def test_the_figure_draws_each_methods_mean_over_seeds_and_its_band(tmp_path):
    pytest.importorskip("matplotlib")
    folder = RunFolder(tmp_path)
    for seed, shift in ((0, 0.0), (1, 1.0)):
        for epoch in (1, 2):
            common = {"epoch": epoch, "train_loss": 0.1, "train_acc": 90}
            folder.append_metrics(
                {"key": f"mnist|lenet5|mi-layerwise|{seed}", **common, "acc": 97 + epoch + shift, "lr": 0.1,
                 "lr_0": 0.1, "lr_1": 0.01 * epoch, "mi_0": 1.0, "mi_1": 2.0 + shift}
            )  # fmt: skip
            folder.append_metrics({"key": f"mnist|lenet5|adam|{seed}", **common, "acc": 96, "lr": 1e-3})
    folder.append_metrics({"key": "grid|mnist|lenet5|adam|0.001", "epoch": 1, "acc": 10, "lr": 1e-3})
    fig = report.plot(folder)
    assert folder.file("mi_lr.png").exists()
    acc, lr, mi = fig.axes
    lines = {line.get_label(): list(line.get_ydata()) for line in acc.get_lines()}
    assert lines == {"mnist lenet5 adam": [96, 96], "mnist lenet5 mi-layerwise": [98.5, 99.5]}  # no grid run
    assert len(acc.collections) == 2  # a band for each method with two seeds
    assert [line.get_label() for line in lr.get_lines()] == [
        "mnist lenet5 adam",
        "mnist lenet5 mi-layerwise layer 0",  # the layer-wise schedule: each layer's LR, not "lr"
        "mnist lenet5 mi-layerwise layer 1",
    ]
    assert [list(line.get_ydata()) for line in mi.get_lines()] == [[2.5, 2.5]]  # the last layer's I(T; Y)
