"""The table and figure of ``iblearn reproduce mi-lr`` (Vasudevan 2020): the paper's numbers, the summary
over seeds of a run's rows, the Markdown table and the curves of accuracy and learning rate."""

from __future__ import annotations

import math
import statistics
from typing import Any

from iblearn import _plotting
from iblearn.records import RunFolder, markdown_table

# Best test accuracy % (best of 3 seeds), Sec. 4 and Figs. 3-7.
PAPER = {
    ("mnist", "lenet5"): {
        "adam": 99.53,
        "rmsprop": 99.53,
        "mi-global": 99.27,
        "mi-layerwise": 99.39,
        "lars": 99.43,
    },
    ("cifar10", "allconvnet"): {
        "adam": 87.84,
        "rmsprop": 88.13,
        "mi-global": 88.86,
        "mi-layerwise": 87.77,
        "lars": 77.03,
    },
    ("cifar10", "vgg16"): {"adam": 89.62, "rmsprop": 87.17, "mi-global": 92.21, "step-sgd": 92.58},
}
PAPER_SENSITIVITY = {500: (92.37, 92.76), 1000: (92.21, 92.21), 2000: (92.26, 92.23)}  # fixed / re-estimated


def summarize(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Per (data set, model, method): best test accuracy over seeds (of each run's best epoch), and the
    final-epoch mean and sd."""
    runs: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        if not r["key"].startswith("grid|"):
            runs.setdefault(r["key"], []).append(r)
    groups: dict[tuple[str, str, str], list[list[dict[str, str]]]] = {}
    for key, rs in runs.items():
        dataset, name, method, _ = key.split("|")
        groups.setdefault((dataset, name, method), []).append(rs)
    out = []
    for (dataset, name, method), group in groups.items():
        best = [max(float(r["acc"]) for r in rs) for rs in group]
        final = [float(max(rs, key=lambda r: int(r["epoch"]))["acc"]) for rs in group]
        out.append(
            {
                "dataset": dataset,
                "model": name,
                "method": method,
                "seeds": len(group),
                "epochs": max(int(r["epoch"]) for rs in group for r in rs),
                "best_test_acc": max(best),
                "final_mean": statistics.fmean(final),
                "final_sd": statistics.stdev(final) if len(final) > 1 else 0.0,
            }
        )
    return out


def table(
    summary: list[dict[str, Any]],
    ranges: dict[str, dict[str, float]],
    skipped: dict[str, str],
    config: Any,
) -> str:
    lines = [
        "# Vasudevan (2020): MI-based learning-rate decay\n",
        f"{config.epochs} epochs, batch {config.batch_size}, {config.seeds} seed(s), MI on "
        f"{config.mi_samples} samples, train size {config.train_size or 'all'}. Paper: 50 epochs on MNIST; "
        "its CIFAR-10 rows (AllConvNet 350 epochs, VGG16 200) need CIFAR-10.\n",
        "## LR range test (Algorithm 2)\n",
        markdown_table(
            ["data", "model", "lr_min", "lr_max", "lr_top", "epsilon"],
            [
                [
                    *k.split("|"),
                    f"{v['lr_min']:g}",
                    f"{v['lr_max']:g}",
                    f"{v['lr_top']:g}",
                    f"{v['epsilon']:.3g}",
                ]
                for k, v in ranges.items()
            ],
        ),
        "Paper: MNIST [0.0001, 0.2]; CIFAR-10 AllConvNet [0.00075, 0.04]; VGG16 [0.0003, 0.07].\n",
        "## Best test accuracy %\n",
    ]
    rows = []
    for s in summary:
        if " n=" in s["method"]:
            continue
        paper = PAPER.get((s["dataset"], s["model"]), {}).get(s["method"])
        rows.append(
            [
                s["dataset"],
                s["model"],
                s["method"],
                s["epochs"],
                s["seeds"],
                f"{s['best_test_acc']:.2f}",
                f"{s['final_mean']:.2f} ± {s['final_sd']:.2f}",
                "-" if paper is None else f"{paper:.2f}",
            ]
        )
    lines.append(
        markdown_table(
            [
                "data",
                "model",
                "method",
                "epochs",
                "seeds",
                "best (of seeds)",
                "final, mean ± sd",
                "paper best",
            ],
            rows,
        )
    )
    sens = [s for s in summary if " n=" in s["method"]]
    if sens:
        lines.append("\n## MI sample size (paper: CIFAR-10 VGG16; here the first data set)\n")
        lines.append(
            markdown_table(
                ["MI sample", "LR range", "best test acc %", "paper best %"],
                [
                    [
                        s["method"].split("n=")[1].split()[0],
                        s["method"].split()[-1],
                        f"{s['best_test_acc']:.2f}",
                        _paper_sensitivity(s["method"]),
                    ]
                    for s in sens
                ],
            )
        )
    for what, why in skipped.items():
        lines.append(f"\n{what}: {why}")
    return "\n".join(lines) + "\n"


def _paper_sensitivity(method: str) -> str:
    n = int(method.split("n=")[1].split()[0])
    fixed, again = PAPER_SENSITIVITY.get(n, (math.nan, math.nan))
    return f"{fixed if method.endswith('fixed') else again:.2f}"


def _by_method(rows: list[dict[str, str]]) -> dict[str, dict[int, list[dict[str, str]]]]:
    """Each (data set, model, method)'s rows per epoch, one a seed."""
    out: dict[str, dict[int, list[dict[str, str]]]] = {}
    for r in rows:
        name = " ".join(r["key"].split("|")[:-1])
        out.setdefault(name, {}).setdefault(int(r["epoch"]), []).append(r)
    return out


def _band(ax: Any, epochs: dict[int, list[dict[str, str]]], column: str, label: str, **style: Any) -> None:
    """The mean over seeds of ``column`` per epoch, and the band from the lowest seed to the highest."""
    pts = sorted((e, [float(r[column]) for r in rs if r.get(column, "") != ""]) for e, rs in epochs.items())
    pts = [(e, v) for e, v in pts if v]
    if not pts:
        return
    x = [e for e, _ in pts]
    (line,) = ax.plot(x, [statistics.fmean(v) for _, v in pts], label=label, **style)
    if any(len(v) > 1 for _, v in pts):
        ax.fill_between(
            x, [min(v) for _, v in pts], [max(v) for _, v in pts], alpha=0.2, color=line.get_color()
        )


def plot(folder: RunFolder) -> Any:
    """Per epoch, for each method, the mean over seeds and the band from the lowest seed to the highest
    (Vasudevan 2020, Figs. 3-4): test accuracy; the learning rate (the layer-wise schedule's per layer, thin);
    I(T; Y) of the last layer (runs that recorded it). The figure, or None without matplotlib."""
    if not _plotting.available():
        return None
    methods = _by_method([r for r in folder.metrics() if not r["key"].startswith("grid|")])
    if not methods:
        return None
    fig, ((acc_ax, lr_ax, mi_ax),) = _plotting.figure(1, 3, figsize=(15, 4))
    for name, epochs in sorted(methods.items()):
        columns = next(iter(epochs.values()))[0]
        _band(acc_ax, epochs, "acc", name)
        layers = sorted((c for c in columns if c.startswith("lr_")), key=lambda c: int(c[3:]))
        if len(layers) < 2:
            _band(lr_ax, epochs, "lr", name)
        for col in layers if len(layers) > 1 else ():  # "lr" is the first layer's
            _band(lr_ax, epochs, col, f"{name} layer {col[3:]}", linewidth=0.8)
        mis = sorted((c for c in columns if c.startswith("mi_")), key=lambda c: int(c[3:]))
        if mis:
            _band(mi_ax, epochs, mis[-1], name)
    for ax, label in (
        (acc_ax, "test accuracy %"),
        (lr_ax, "learning rate"),
        (mi_ax, "I(T; Y) of the last layer, nats"),
    ):
        ax.set_xlabel("epoch")
        _plotting.integer_ticks(ax)
        ax.set_ylabel(label)
        ax.legend(fontsize=5)
    lr_ax.set_yscale("log")
    return _plotting.finish(fig, folder.file("mi_lr.png"))
